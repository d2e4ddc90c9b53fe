/**
 * Content-hash caching of the Node.js bundles built at synth (`ApplicationSource.nodejs`, the application users
 * function): for the fixture application and for the users handler (which bundles `pg`), alternates a build into
 * an empty cache with a cache hit, and reports the median of each, their ratio, and that the hit returns the
 * build's hash. Writes .bench/bundle.json.
 *
 *   npx tsx bench/bundle.bench.ts [--runs 9]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleNodeEntry } from '../constructs/common/bundle';

const ROOT = join(__dirname, '..');
const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1] ?? 0) || 9;
/** Goal: a cache hit costs at most a third of a build. */
const GOAL_RATIO = 1 / 3;

const ENTRIES = [
  { name: 'fixture app', entry: join(ROOT, 'test', 'fixtures', 'node-app', 'src', 'server.ts'), nodeMajor: 22, externals: [] as string[] },
  { name: 'users handler (pg)', entry: join(ROOT, 'constructs', 'aurora', 'application-users.handler.ts'), nodeMajor: 24, externals: ['@aws-sdk/*'] },
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function timed<T>(fn: () => T): { ms: number; value: T } {
  const t0 = process.hrtime.bigint();
  const value = fn();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, value };
}

let failed = false;
const results = [];
for (const e of ENTRIES) {
  const cold: number[] = [];
  const warm: number[] = [];
  let sameHash = true;
  for (let i = 0; i < runs; i++) {
    const cacheDir = mkdtempSync(join(tmpdir(), 's2m-bundle-bench-'));
    // A: a build into an empty cache; B: the same bundle again, from the cache.
    const a = timed(() => bundleNodeEntry({ entry: e.entry, nodeMajor: e.nodeMajor, externals: e.externals, cacheDir }));
    const b = timed(() => bundleNodeEntry({ entry: e.entry, nodeMajor: e.nodeMajor, externals: e.externals, cacheDir }));
    if (a.value.fromCache || !b.value.fromCache || a.value.hash !== b.value.hash) sameHash = false;
    cold.push(a.ms);
    warm.push(b.ms);
    rmSync(cacheDir, { recursive: true, force: true });
  }
  const ratio = median(warm) / median(cold);
  const ok = sameHash && ratio <= GOAL_RATIO;
  if (!ok) failed = true;
  console.log(`${e.name}: build ${median(cold).toFixed(1)} ms, cache hit ${median(warm).toFixed(1)} ms, ratio ${ratio.toFixed(3)} (goal ≤ ${GOAL_RATIO.toFixed(3)}), same hash: ${sameHash ? 'yes' : 'NO'} ${ok ? 'ok' : 'MISSED'}`);
  results.push({ name: e.name, runs, medianBuildMs: median(cold), medianHitMs: median(warm), ratio, sameHash });
}
mkdirSync(join(ROOT, '.bench'), { recursive: true });
writeFileSync(join(ROOT, '.bench', 'bundle.json'), `${JSON.stringify(results, null, 2)}\n`);
process.exit(failed ? 1 : 0);
