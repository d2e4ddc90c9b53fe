import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { pruneDirectory } from '../../lib/synth/cache';
import { validationDaemons } from '../../lib/synth/validation';
import { stopPid } from '../integration/services';

/**
 * Where the checked synths (test/helpers/checked-synth.ts) keep the template validator's results between runs, by
 * template content: a run whose templates did not change since the last run checks none of them again.
 */
export const VALIDATION_RESULTS = join(__dirname, '..', '..', 'node_modules', '.cache', 'scale-to-millions', 'test-validation');

declare module 'vitest' {
  export interface ProvidedContext {
    /** The directory of the unit run's validation daemon (0700, this run's own). */
    validationDaemonDirectory: string;
    /** The unit run's scratch directory: each worker makes its own inside (test/helpers/setup.ts). */
    scratchDirectory: string;
  }
}

/**
 * The unit project's set-up: a scratch directory for the run, removed when it ends; one validation daemon for the
 * run, shared by the checked synths of both workers (one engine set-up instead of one per worker and synth), stopped
 * by its pid when the run ends; and the results cache kept bounded.
 */
export default function setup(project: TestProject): () => Promise<void> {
  // Each worker's temporary files go in a directory of its own in here (test/helpers/setup.ts). The workers' own
  // removal at exit does not run when vitest ends them with a signal, which left about 10-200 MB in /tmp per worker
  // and run; removed here, after every worker has ended. mkdtemp makes it 0700, and the daemon's directory too, as the
  // daemon requires; directly under /tmp, so the daemon's socket path stays short.
  const scratch = mkdtempSync(join(tmpdir(), 's2m-run-'));
  const directory = join(scratch, 'daemons');
  mkdirSync(directory, { mode: 0o700 });
  project.provide('scratchDirectory', scratch);
  project.provide('validationDaemonDirectory', directory);
  mkdirSync(VALIDATION_RESULTS, { recursive: true, mode: 0o700 });
  return async () => {
    const daemons = validationDaemons(directory);
    const stopped = await Promise.all(daemons.map((d) => stopPid(d.pid, 5_000)));
    const killed = daemons.filter((_, i) => !stopped[i]);
    rmSync(scratch, { recursive: true, force: true });
    pruneDirectory(VALIDATION_RESULTS, 64 * 1024 * 1024);
    if (killed.length > 0) throw new Error(`validation daemon(s) ${killed.map((d) => d.pid).join(', ')} did not stop on SIGTERM within 5 s and were killed`);
  };
}
