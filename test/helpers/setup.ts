import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';

// Runs before every test file and gives each one the same start, in a worker whose files share one process and
// module graph (the unit project's `isolate: false`).
const KEY = Symbol.for('scale-to-millions.test.setup');
const state = globalThis as unknown as Record<symbol, { validation: string | undefined; tokens: number } | undefined>;
let worker = state[KEY];
if (worker === undefined) {
  // An `App` without an outdir synthesizes into a new `cdk.out*` directory under os.tmpdir(), and tests make
  // temporary files of their own (and so do the processes they spawn): put them all in one directory per
  // worker, inside the run's scratch directory (test/helpers/unit-global-setup.ts removes it when the run ends),
  // instead of leaving hundreds of megabytes in /tmp per run. Per worker, not per file: aws-cdk-lib keeps the
  // temporary directory it first saw for the life of the process.
  const scratch = mkdtempSync(join(inject('scratchDirectory'), 'worker-'));
  process.env.TMPDIR = scratch;
  // The synth caches (compiled TypeScript and V8 code for the synths tests start as child processes, the example
  // application's bundles) outlive the run, as a developer's own synth caches do, instead of starting empty in the
  // scratch directory: entries are keyed by content, so a warm run reuses only what did not change. The tests of the
  // caches themselves set a directory of their own.
  process.env.S2M_CACHE_DIR ??= join(__dirname, '..', '..', 'node_modules', '.cache', 'scale-to-millions', 'test-synth');
  process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));
  worker = { validation: process.env.CDK_VALIDATION, tokens: 0 };
  state[KEY] = worker;
}

// aws-cdk-lib numbers tokens with one counter per process and resolves a token's string by its number. The apps a
// worker's files share hold the numbers of the tokens made for them: a file that moved the counter back (to place
// powers of ten, test/lib/token-order.test.ts) would give new tokens those numbers, and a later file would read
// wrong values from a shared app. Caught here, at the next file, instead.
const tokens = (globalThis as { __cdkTokenMap?: { tokenCounter?: unknown } }).__cdkTokenMap?.tokenCounter;
if (typeof tokens === 'number') {
  if (tokens < worker.tokens) throw new Error(`aws-cdk-lib's token counter moved back from ${worker.tokens} to ${tokens} in an earlier test file of this worker: the apps the files share now resolve to other tokens' values`);
  worker.tokens = tokens;
}

// The offline template validator runs at every synth; the tests that assert its findings turn it on
// explicitly (see test/helpers/checked-synth.ts), for their own file only. Everything else synthesizes faster
// without it, unless the run was started with CDK_VALIDATION set.
process.env.CDK_VALIDATION = worker.validation ?? 'false';
