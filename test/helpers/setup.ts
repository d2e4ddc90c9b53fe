import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Runs before every test file and gives each one the same start, in a worker whose files share one process and
// module graph (the unit project's `isolate: false`).
const KEY = Symbol.for('scale-to-millions.test.setup');
const state = globalThis as unknown as Record<symbol, { validation: string | undefined } | undefined>;
let worker = state[KEY];
if (worker === undefined) {
  // An `App` without an outdir synthesizes into a new `cdk.out*` directory under os.tmpdir(), and tests make
  // temporary files of their own (and so do the processes they spawn): put them all in one directory per
  // worker, removed when it exits, instead of leaving hundreds of megabytes in /tmp per run. Per worker, not
  // per file: aws-cdk-lib keeps the temporary directory it first saw for the life of the process.
  const scratch = mkdtempSync(join(tmpdir(), 's2m-test-'));
  process.env.TMPDIR = scratch;
  process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));
  worker = { validation: process.env.CDK_VALIDATION };
  state[KEY] = worker;
}

// The offline template validator runs at every synth; the tests that assert its findings turn it on
// explicitly (see test/helpers/checked-synth.ts), for their own file only. Everything else synthesizes faster
// without it, unless the run was started with CDK_VALIDATION set.
process.env.CDK_VALIDATION = worker.validation ?? 'false';
