// @ts-check
/**
 * The library build that `npm run typecheck` leaves behind, and how to tell whether it is still the build of the
 * sources as they are.
 *
 * `npm run typecheck` compiles everything (tsconfig.json: the library, tests, benchmarks, scripts, examples) and has
 * tsc write its output here instead of discarding it. tsc emits each file the same under tsconfig.json as under
 * tsconfig.build.json (same compiler options but the source maps), so the library's part of it is `npm run build`'s
 * dist/ without source maps. test/package.test.ts packs that instead of compiling the library a second time, when
 * its digest of the inputs still matches; otherwise it compiles the library itself.
 */
const { createHash } = require('node:crypto');
const { readdirSync, readFileSync, statSync } = require('node:fs');
const { join, relative } = require('node:path');

const ROOT = join(__dirname, '..');
/** Where `npm run typecheck` writes tsc's output. */
const OUT_DIR = join(ROOT, 'node_modules', '.cache', 'scale-to-millions', 'typecheck');
/** The file in OUT_DIR holding the digest of the inputs it was built from. */
const STAMP = 'library-inputs.sha256';
/** What the library build (tsconfig.build.json) compiles, relative to the root: these are copied as dist/. */
const LIBRARY = ['index.ts', 'bin', 'constructs', 'lib'];

/** @param {string} path @param {string[]} files */
function walk(path, files) {
  if (statSync(path).isDirectory()) {
    for (const name of readdirSync(path).sort()) walk(join(path, name), files);
  } else {
    files.push(path);
  }
}

/** SHA-256 over every file of the library's sources, the TypeScript configs, package.json and tsc's version. */
function libraryInputsDigest() {
  const files = [];
  for (const entry of [...LIBRARY, 'tsconfig.json', 'tsconfig.build.json', 'package.json']) walk(join(ROOT, entry), files);
  const hash = createHash('sha256');
  hash.update(`typescript ${require('typescript/package.json').version}\n`);
  for (const file of files) hash.update(`${relative(ROOT, file)}\n`).update(readFileSync(file)).update('\n');
  return hash.digest('hex');
}

/** The compiled library in OUT_DIR if it was built from the sources as they are now, else undefined. */
function freshLibraryBuild() {
  try {
    return readFileSync(join(OUT_DIR, STAMP), 'utf8').trim() === libraryInputsDigest() ? OUT_DIR : undefined;
  } catch {
    return undefined;
  }
}

module.exports = { OUT_DIR, STAMP, LIBRARY, libraryInputsDigest, freshLibraryBuild };
