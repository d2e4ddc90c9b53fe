import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

// The offline template validator runs at every synth; the tests that assert its findings turn it on
// explicitly (see test/helpers/app.ts). Everything else synthesizes faster without it.
process.env.CDK_VALIDATION ??= 'false';

// An `App` without an outdir synthesizes into a new `cdk.out*` directory under os.tmpdir(), and tests make
// temporary files of their own (and so do the processes they spawn): put them all in one directory per test
// file, removed when the file is done, instead of leaving hundreds of megabytes in /tmp per run.
const scratch = mkdtempSync(join(tmpdir(), 's2m-test-'));
const previous = process.env.TMPDIR;
process.env.TMPDIR = scratch;
afterAll(() => {
  if (previous === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = previous;
  rmSync(scratch, { recursive: true, force: true });
});
