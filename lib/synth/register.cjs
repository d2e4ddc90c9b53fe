'use strict';
// The launcher of the reference app (cdk.json: `node --single-threaded-gc -r ./lib/synth/register.cjs bin/app.ts`),
// plain JavaScript because it is what lets Node run the TypeScript. Two things, both caches keyed by file content, so
// an edit is always seen and an unchanged file costs a file read:
//
// - `.ts` files are compiled by esbuild (types stripped, CommonJS out, the repository's tsconfig), and the output is
//   kept. tsx does the same, but it also lexes every JavaScript file it loads (all of aws-cdk-lib's) and runs an ESM
//   loader thread: about a second per synth here, for nothing a CommonJS app needs.
// - CommonJS modules are compiled with V8's code cache (Node 20 has no module.enableCompileCache): the bytecode
//   of a module and of the functions it ran is written when the process exits and handed back to V8 the next
//   time. V8 checks the data against the source and its own version and flags, and compiles afresh when they
//   do not match.
//
// The caches live in S2M_CACHE_DIR, or os.tmpdir()/scale-to-millions-<uid> (the directory lib/synth/cache.ts
// names). A directory another user owns is not used. S2M_CODE_CACHE=false turns the code cache off. Errors in
// the app point at the compiled lines unless source maps are on: `cdk synth --debug` (CDK_DEBUG) or
// `--enable-source-maps` turns them on.
//
// `--single-threaded-gc` (a V8 flag, not allowed in NODE_OPTIONS, hence on cdk.json's command line) has V8 collect
// garbage on the thread that made it, not on helper threads besides. A synth is one batch job with the template
// validator's engine on a second thread: the helpers only took cores and memory bandwidth from the two. Measured on
// the project's 2-core machine, alternating: 0.84x the wall time and 0.84x the CPU of a cold synth of the default
// config (bench/synth.bench.ts); the floor app, which runs through this launcher too, took 0.80x the wall time.
const Module = require('node:module');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const vm = require('node:vm');

const root = path.resolve(__dirname, '..', '..');
const cacheRoot = process.env.S2M_CACHE_DIR || path.join(os.tmpdir(), `scale-to-millions-${typeof process.getuid === 'function' ? process.getuid() : 'user'}`);

/** The named cache subdirectory, or undefined when it cannot be used (another user's, unwritable). */
function cacheDir(name) {
  const dir = path.join(cacheRoot, name);
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = fs.statSync(cacheRoot);
    if (typeof process.getuid === 'function' && st.uid !== process.getuid()) return undefined;
    return dir;
  } catch {
    return undefined;
  }
}

function hash(...parts) {
  const h = crypto.createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, 40);
}

/** Writes `data` to `file` through a temporary name, so a concurrent reader never sees half a file. */
function writeAtomic(file, data) {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch {
    try { fs.rmSync(tmp, { force: true }); } catch { /* nothing to clean */ }
  }
}

const debug = /^(1|true)$/i.test(process.env.CDK_DEBUG || '');
if (debug && typeof process.setSourceMapsEnabled === 'function') process.setSourceMapsEnabled(true);

// --- TypeScript ---
const tsCache = cacheDir('ts');
let esbuild;
let tsconfigRaw;
function compileTypeScript(source, filename) {
  esbuild ??= require(require.resolve('esbuild', { paths: [root] }));
  tsconfigRaw ??= JSON.parse(fs.readFileSync(path.join(root, 'tsconfig.json'), 'utf8'));
  return esbuild.transformSync(source, {
    loader: 'ts',
    format: 'cjs',
    target: 'node20',
    platform: 'node',
    sourcefile: filename,
    sourcemap: 'inline',
    tsconfigRaw,
  }).code;
}
const tsKey = hash(require(require.resolve('esbuild/package.json', { paths: [root] })).version, fs.readFileSync(path.join(root, 'tsconfig.json')));
Module._extensions['.ts'] = function loadTypeScript(module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  const file = tsCache && path.join(tsCache, `${hash(tsKey, filename, source)}.js`);
  let code;
  if (file) {
    try { code = fs.readFileSync(file, 'utf8'); } catch { /* not cached yet */ }
  }
  if (code === undefined) {
    code = compileTypeScript(source, filename);
    if (file) writeAtomic(file, code);
  }
  module._compile(code, filename);
};

// --- V8 code cache for CommonJS ---
/** V8's default WebAssembly tiering budget (`node --v8-options`; test/lib/synth/register.test.ts checks it). */
const V8_DEFAULT_TIERING_BUDGET = '1800000';
/** The tiering budget this process started with: its command line's, else V8's default. */
const STARTING_TIERING_BUDGET = (process.execArgv.map((a) => /^--wasm[-_]tiering[-_]budget=(\d+)$/.exec(a)).filter(Boolean).pop() || [])[1] || V8_DEFAULT_TIERING_BUDGET;
const codeCache = !/^(0|false|off)$/i.test(process.env.S2M_CODE_CACHE || '') && cacheDir('v8');
if (codeCache) {
  const compile = Module.prototype._compile;
  const flags = hash(process.version, process.arch, process.execArgv.join(' '));
  /** Scripts whose code cache is missing or was rejected: written at exit, when their functions have run. */
  const produce = [];
  Module.prototype._compile = function compileWithCodeCache(content, filename, format) {
    // ES modules, and the rare CommonJS file with a dynamic import(), take Node's own path.
    if (format === 'module' || content.includes('import(')) return compile.call(this, content, filename, format);
    const file = path.join(codeCache, `${hash(flags, filename, content)}.bin`);
    let cachedData;
    try { cachedData = fs.readFileSync(file); } catch { /* not cached yet */ }
    let script;
    try {
      // Node's own wrapper (a shebang is a comment to V8 only on the first line of a script, so blank it out).
      const source = content.startsWith('#!') ? `//${content}` : content;
      script = new vm.Script(Module.wrap(source), { filename, cachedData, importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER });
    } catch {
      // A syntax error (or ESM syntax in a .js file): Node reports it, or loads the file as ESM, its own way.
      return compile.call(this, content, filename, format);
    }
    if (cachedData === undefined || script.cachedDataRejected) produce.push({ file, script });
    const mod = this;
    const require = function require(id) { return mod.require(id); };
    require.resolve = (request, options) => Module._resolveFilename(request, mod, false, options);
    require.resolve.paths = (request) => Module._resolveLookupPaths(request, mod);
    require.main = process.mainModule;
    require.extensions = Module._extensions;
    require.cache = Module._cache;
    const wrapper = script.runInThisContext({ displayErrors: true });
    return Reflect.apply(wrapper, this.exports, [this.exports, require, this, filename, path.dirname(filename)]);
  };
  process.once('exit', () => {
    // V8 accepts a code cache only under the V8 flags it was made with, and the template validator's engine changes
    // one mid-synth (lib/synth/validation.ts: the WebAssembly tiering budget). Caches made at exit under the changed
    // flag were rejected by the next synth for every module it loaded before the engine started (about 370 here:
    // aws-cdk-lib's core and the app's own), which it compiled afresh and wrote again, at every synth. The engine
    // has stopped by now: the flag goes back to what the process started with before the caches are made.
    if (produce.length > 0) require('node:v8').setFlagsFromString(`--wasm-tiering-budget=${STARTING_TIERING_BUDGET}`);
    for (const { file, script } of produce) writeAtomic(file, script.createCachedData());
  });
}
