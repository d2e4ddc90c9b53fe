import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { pruneDirectory } from '../../lib/synth/cache';
import { stopValidationDaemons } from '../../lib/synth/validation';

/**
 * Where the checked synths (test/helpers/checked-synth.ts) keep the template validator's results between runs, by
 * template content: a run whose templates did not change since the last run checks none of them again.
 */
export const VALIDATION_RESULTS = join(__dirname, '..', '..', 'node_modules', '.cache', 'scale-to-millions', 'test-validation');

declare module 'vitest' {
  export interface ProvidedContext {
    /** The directory of the unit run's validation daemon (0700, this run's own). */
    validationDaemonDirectory: string;
  }
}

/**
 * The unit project's set-up: one validation daemon for the run, shared by the checked synths of both workers (one
 * engine set-up instead of one per worker and synth), stopped by its pid when the run ends, and the results cache
 * kept bounded.
 */
export default function setup(project: TestProject): () => Promise<void> {
  // mkdtemp makes the directory 0700, as the daemon requires; under /tmp, not a worker's scratch, so its socket's
  // path stays short and it outlives no worker it belongs to.
  const directory = mkdtempSync(join(tmpdir(), 's2m-daemon-'));
  project.provide('validationDaemonDirectory', directory);
  mkdirSync(VALIDATION_RESULTS, { recursive: true, mode: 0o700 });
  return async () => {
    const daemons = stopValidationDaemons(directory);
    for (let i = 0; i < 100 && daemons.some((d) => existsSync(`/proc/${d.pid}`)); i++) await new Promise((r) => setTimeout(r, 50));
    const left = daemons.filter((d) => existsSync(`/proc/${d.pid}`));
    for (const d of left) process.kill(d.pid, 'SIGKILL');
    rmSync(directory, { recursive: true, force: true });
    pruneDirectory(VALIDATION_RESULTS, 64 * 1024 * 1024);
    if (left.length > 0) throw new Error(`validation daemon(s) ${left.map((d) => d.pid).join(', ')} did not stop on SIGTERM within 5 s and were killed`);
  };
}
