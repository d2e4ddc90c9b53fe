// @ts-check
/**
 * `npm run typecheck`: type-checks everything under tsconfig.json and keeps tsc's output (see library-build.cjs),
 * stamped with the digest of the library's inputs, for the package test to pack. Exits with tsc's status.
 */
const { execFileSync } = require('node:child_process');
const { mkdirSync, rmSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { OUT_DIR, STAMP, libraryInputsDigest } = require('./library-build.cjs');

const ROOT = join(__dirname, '..');
// The digest first: a source saved while tsc runs leaves a stamp that no longer matches, never the reverse.
const digest = libraryInputsDigest();
rmSync(OUT_DIR, { recursive: true, force: true });
try {
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.json'),
    '--outDir', OUT_DIR, '--inlineSourceMap', 'false', '--inlineSources', 'false'], { stdio: 'inherit', cwd: ROOT });
} catch {
  rmSync(OUT_DIR, { recursive: true, force: true });
  process.exit(1);
}
mkdirSync(OUT_DIR, { recursive: true });
writeFileSync(join(OUT_DIR, STAMP), `${digest}\n`);
