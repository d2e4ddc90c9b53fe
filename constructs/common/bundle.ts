import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { IConstruct } from 'constructs';
import { cacheDirectory } from './cache-dir';
import { unscopedValidationError } from './errors';

/** Options of {@link bundleNodeEntry}. */
export interface NodeBundleOptions {
  /** The entry file (`.ts` or `.js`), absolute or relative to `process.cwd()`. */
  readonly entry: string;
  /** Node.js major version the bundle targets. */
  readonly nodeMajor: number;
  /** Modules left out of the bundle (resolved at run time), e.g. `@aws-sdk/*` on Lambda. @default - none */
  readonly externals?: readonly string[];
  /**
   * Directory the bundle's input paths are taken relative to (so moving the checkout keeps the hash).
   * @default - the nearest directory above `entry` holding a package.json
   */
  readonly projectRoot?: string;
  /**
   * Where bundles are cached between synths. A cached bundle is used only when its output still has the hash
   * recorded when it was built and none of its inputs changed.
   * @default - `bundles` in this user's cache directory (`S2M_CACHE_DIR`, else `<os tmpdir>/scale-to-millions-<uid>`,
   *   0700 and owned by the user; without a usable one, every synth builds afresh)
   */
  readonly cacheDir?: string;
}

/** A bundle built (or found in the cache) by {@link bundleNodeEntry}. */
export interface NodeBundle {
  /** Directory holding `index.js` (and `index.js.map`). */
  readonly directory: string;
  /**
   * SHA-256 of everything the bundle was built from and of what was built: the content of every input file esbuild
   * read (by its path relative to the project root), the options, esbuild's version, and the bundle. It changes when
   * a source the bundle contains changes, or the bundle does (a tsconfig.json setting): use it as the asset hash.
   */
  readonly hash: string;
  /** Input files, relative to the project root, sorted. */
  readonly inputs: readonly string[];
  /** True when the bundle came from the cache without running esbuild. */
  readonly fromCache: boolean;
}

interface Manifest {
  readonly key: string;
  readonly inputs: Record<string, string>;
  /**
   * What else decided which files esbuild read: the names in each input's directory (a `dep.ts` added beside the
   * `dep.js` an import resolved to), and the `package.json`, `tsconfig.json` and `jsconfig.json` of each directory from
   * an input's up to the project root (`exports`, `main`, paths). By path relative to the root; `<dir>/` for a listing.
   */
  readonly resolution?: Record<string, string>;
  readonly hash: string;
  /** SHA-256 of each output file (index.js, index.js.map) as built. */
  readonly outputs: Record<string, string>;
}

const OUTPUT_FILES = ['index.js', 'index.js.map'];

/** The subset of esbuild's JS API used here (esbuild is loaded only when a bundle is built). */
interface EsbuildApi {
  readonly version: string;
  buildSync(options: Record<string, unknown>): { metafile?: { inputs: Record<string, unknown> }; errors: unknown[] };
}

/**
 * Bundles a Node.js entry point with esbuild's JS API, locally (no Docker), into one CommonJS file for the
 * given Node.js major, with content-hash caching: the cache remembers the inputs of the last build and their
 * hashes; when none changed, the cached bundle is returned without running esbuild, and the same
 * {@link NodeBundle.hash}. Synchronous, so it can run inside CDK's local bundling.
 *
 * Throws an error naming the entry when esbuild is not installed or the build fails.
 */
export function bundleNodeEntry(options: NodeBundleOptions): NodeBundle {
  const entry = resolve(options.entry);
  if (!existsSync(entry)) throw unscopedValidationError(`entry ${JSON.stringify(options.entry)} does not exist (resolved: ${entry})`);
  const root = options.projectRoot ? resolve(options.projectRoot) : projectRootOf(entry);
  const esbuild = loadEsbuild(options.entry);
  const settings = {
    // The cache's format: a cache entry of another format (another manifest, another hash) is never reused.
    format: 2,
    entry: relative(root, entry),
    nodeMajor: options.nodeMajor,
    externals: [...(options.externals ?? [])].sort(),
    esbuild: esbuild.version,
  };
  const key = sha256(JSON.stringify(settings));
  const cacheRoot = options.cacheDir ?? cacheDirectory('bundles') ?? mkdtempSync(join(tmpdir(), 's2m-bundle-'));
  const dir = join(cacheRoot, key.slice(0, 32));
  const cached = readManifest(dir, key);
  if (cached && inputsUnchanged(root, cached) && cached.resolution !== undefined && sameResolution(root, cached.resolution)) {
    return { directory: join(dir, 'out'), hash: cached.hash, inputs: Object.keys(cached.inputs), fromCache: true };
  }

  const staging = `${dir}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  mkdirSync(join(staging, 'out'), { recursive: true });
  let metafile: { inputs: Record<string, unknown> } | undefined;
  try {
    metafile = esbuild.buildSync({
      entryPoints: [entry],
      absWorkingDir: root,
      outfile: join(staging, 'out', 'index.js'),
      bundle: true,
      platform: 'node',
      target: `node${options.nodeMajor}`,
      format: 'cjs',
      sourcemap: true,
      sourcesContent: false,
      legalComments: 'none',
      minify: false,
      metafile: true,
      logLevel: 'silent',
      external: settings.externals,
    }).metafile;
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw Object.assign(unscopedValidationError(`esbuild could not bundle ${options.entry}: ${(e as Error).message.split('\n').slice(0, 6).join(' ')}`), { cause: e });
  }
  const inputs: Record<string, string> = {};
  for (const input of Object.keys(metafile?.inputs ?? {}).sort()) {
    const path = resolve(root, input);
    const digest = fileDigest(path);
    if (digest !== undefined) inputs[relative(root, path)] = digest;
  }
  const outputs = Object.fromEntries(OUTPUT_FILES.filter((f) => existsSync(join(staging, 'out', f))).map((f) => [f, sha256(readFileSync(join(staging, 'out', f)))]));
  // The bundle itself too: what steers resolution or compilation (a tsconfig.json, a package.json) can change it
  // with every source the same, and the asset (and the fleet's rollout) must follow.
  const hash = sha256(JSON.stringify({ settings, inputs, bundle: outputs['index.js'] }));
  const manifest: Manifest = { key, inputs, hash, outputs, resolution: resolutionOf(root, [entry, ...Object.keys(inputs).map((f) => join(root, f))]) };
  writeFileSync(join(staging, 'manifest.json'), JSON.stringify(manifest, null, 1));
  // Replace the cache entry in one rename, so a concurrent synth sees the old bundle or the new one, never half.
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dirname(dir), { recursive: true });
  try {
    renameSync(staging, dir);
  } catch {
    // Another process put the same bundle in place first: keep theirs.
    rmSync(staging, { recursive: true, force: true });
  }
  return { directory: join(dir, 'out'), hash, inputs: Object.keys(inputs), fromCache: false };
}

/** Bundles already made for each app (by its root construct), by their options. */
const perApp = new WeakMap<IConstruct, Map<string, NodeBundle>>();

/**
 * {@link bundleNodeEntry}, once per app: every construct of one app that bundles the same entry with the same
 * options gets the same bundle, checked against its sources once (an app deploys one moment of its sources), and
 * the next app checks them again.
 */
export function bundleNodeEntryForApp(scope: IConstruct, options: NodeBundleOptions): NodeBundle {
  const root = scope.node.root;
  let bundles = perApp.get(root);
  if (bundles === undefined) {
    bundles = new Map();
    perApp.set(root, bundles);
  }
  const key = JSON.stringify([resolve(options.entry), options.nodeMajor, options.externals ?? [], options.projectRoot ?? null, options.cacheDir ?? null]);
  let bundle = bundles.get(key);
  if (bundle === undefined) {
    bundle = bundleNodeEntry(options);
    bundles.set(key, bundle);
  }
  return bundle;
}

function loadEsbuild(entry: string): EsbuildApi {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('esbuild') as EsbuildApi;
  } catch {
    throw unscopedValidationError(`bundling ${entry} needs esbuild: install it in the CDK app (npm install --save-dev esbuild)`);
  }
}

function readManifest(dir: string, key: string): Manifest | undefined {
  try {
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
    if (m.key !== key || typeof m.outputs !== 'object' || m.outputs === null || !('index.js' in m.outputs)) return undefined;
    // The output must be what was built: a bundle changed (or planted) after its build is built again.
    const files = readdirSync(join(dir, 'out')).sort();
    if (JSON.stringify(files) !== JSON.stringify(Object.keys(m.outputs).sort())) return undefined;
    for (const [file, digest] of Object.entries(m.outputs)) {
      if (fileDigest(join(dir, 'out', file)) !== digest) return undefined;
    }
    return m;
  } catch {
    return undefined;
  }
}

function inputsUnchanged(root: string, m: Manifest): boolean {
  for (const [file, digest] of Object.entries(m.inputs)) {
    const path = join(root, file);
    if (fileDigest(path) !== digest) return false;
  }
  return Object.keys(m.inputs).length > 0;
}

/** Files that steer module resolution in a directory (see {@link Manifest.resolution}). */
const RESOLUTION_FILES = ['package.json', 'tsconfig.json', 'jsconfig.json'];

/** The {@link Manifest.resolution} of a build whose input files (absolute) are `files`. */
function resolutionOf(root: string, files: readonly string[]): Record<string, string> {
  const dirs = new Set(files.map((f) => dirname(f)));
  const ancestors = new Set<string>();
  for (const d of dirs) {
    for (let a = d; ; a = dirname(a)) {
      if (ancestors.has(a)) break;
      ancestors.add(a);
      const rel = relative(root, a);
      if (rel.startsWith('..') || isAbsolute(rel) || dirname(a) === a) break;
      if (rel === '') break;
    }
  }
  const out: Record<string, string> = {};
  for (const d of [...dirs].sort()) out[`${relative(root, d)}/`] = listingDigest(d);
  for (const a of [...ancestors].sort()) {
    for (const f of RESOLUTION_FILES) {
      const digest = fileDigest(join(a, f));
      if (digest !== undefined) out[relative(root, join(a, f))] = digest;
    }
  }
  return out;
}

/** Whether the directories and files of a recorded {@link Manifest.resolution} are as they were. */
function sameResolution(root: string, recorded: Record<string, string>): boolean {
  for (const [path, digest] of Object.entries(recorded)) {
    const now = path.endsWith('/') ? listingDigest(join(root, path.slice(0, -1))) : fileDigest(join(root, path));
    if (now !== digest) return false;
  }
  return true;
}

/** SHA-256 of a directory's sorted entry names ('' when it cannot be read). */
function listingDigest(dir: string): string {
  try {
    return sha256(readdirSync(dir).sort().join('\n'));
  } catch {
    return '';
  }
}

function projectRootOf(entry: string): string {
  let dir = dirname(entry);
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir || !isAbsolute(parent)) return dirname(entry);
    dir = parent;
  }
}

/** Digests of files this process has read, with the file status they were read at. */
const digests = new Map<string, { status: string; digest: string }>();

/**
 * The SHA-256 of a file's content, or undefined when it does not exist. A file whose status (device, inode, size,
 * modification and change times in nanoseconds) is what it was when this process last read it is not read again:
 * an app builds several fleets from one bundle, and a test process builds many apps. Any write to the file, or a
 * file put in its place, changes the change time, which no user can set.
 */
function fileDigest(path: string): string | undefined {
  let st;
  try {
    st = statSync(path, { bigint: true });
  } catch {
    return undefined;
  }
  if (!st.isFile()) return undefined;
  const status = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  const known = digests.get(path);
  if (known?.status === status) return known.digest;
  const digest = sha256(readFileSync(path));
  digests.set(path, { status, digest });
  return digest;
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
