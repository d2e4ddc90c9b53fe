/**
 * Cold-import cost of the package, in fresh Node processes, A/B alternating in one run:
 *
 * - **entry**: `require('scale-to-millions')` (the built, lazy `dist/index.js`, see scripts/lazy-entry.ts);
 * - **every export**: the same, then every export touched, which loads every construct module;
 * - **aws-cdk-lib floor**: only the aws-cdk-lib (and constructs) modules that touching every export loads,
 *   each required in the same order in a fresh process: the modules its constructs use, without our code.
 *
 * Goal (issue 15): a cold `require('scale-to-millions')` ≤ 1.10× the floor, and no AWS SDK client, cdk-nag or
 * `aws-cdk-lib/assertions` loaded even with every export touched. "Every export" against the floor is our own
 * code's cost when a user uses everything, printed for information. The runtime sub-path
 * (`scale-to-millions/runtime`) must load no aws-cdk-lib at all. Writes .bench/require.json.
 *
 *   npx tsx bench/require.bench.ts [--rounds 15]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(__dirname, '..');
const args = process.argv.slice(2);
const rounds = Number(args[args.indexOf('--rounds') + 1] ?? 0) || 15;
const GOAL = 1.1;

/** Builds dist/ into a private directory (never the user's dist/). */
function build(outDir: string): void {
  rmSync(outDir, { recursive: true, force: true });
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', outDir, '--sourceMap', 'false'], { stdio: 'inherit' });
  execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'lazy-entry.ts'), outDir], { stdio: 'inherit' });
}

interface Sample { ms: number; modules: number; sdk: number; nag: number; assertions: number; cdkLib: number }

/** Runs `code` in a fresh node process (cwd = ROOT so node_modules resolve) and reads the JSON it prints. */
function measure(code: string): Sample {
  const probe = `
const t0 = process.hrtime.bigint();
${code}
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
const mods = Object.keys(require.cache);
const count = (s) => mods.filter((m) => m.includes(s)).length;
process.stdout.write(JSON.stringify({ ms, modules: mods.length, sdk: count('/@aws-sdk/'), nag: count('/cdk-nag/'), assertions: count('/aws-cdk-lib/assertions/'), cdkLib: count('/aws-cdk-lib/') }));`;
  const r = spawnSync(process.execPath, ['-e', probe], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`probe failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Sample;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const outDir = join(ROOT, '.bench', 'require-dist');
build(outDir);
const entry = `./${relative(ROOT, join(outDir, 'index.js'))}`;
const runtimeEntry = `./${relative(ROOT, join(outDir, 'lib', 'runtime', 'index.js'))}`;

const touchAll = `const m = require(${JSON.stringify(entry)}); for (const k of Object.keys(m)) void m[k];`;

/** The dependency modules (outside our build) that touching every export loads, in load order. */
function dependencyModules(): string[] {
  const r = spawnSync(process.execPath, ['-e', `${touchAll} process.stdout.write(JSON.stringify(Object.keys(require.cache)))`], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`probe failed: ${r.stderr}`);
  return (JSON.parse(r.stdout) as string[]).filter((m) => !m.startsWith(outDir));
}
const deps = dependencyModules();

const variants = {
  entry: `require(${JSON.stringify(entry)});`,
  everyExport: touchAll,
  floor: deps.map((m) => `require(${JSON.stringify(m)});`).join(' '),
  runtime: `require(${JSON.stringify(runtimeEntry)});`,
};
type Variant = keyof typeof variants;
const samples: Record<Variant, Sample[]> = { entry: [], everyExport: [], floor: [], runtime: [] };
for (const v of Object.keys(variants) as Variant[]) measure(variants[v]); // warm the page cache
for (let i = 0; i < rounds; i++) {
  // Alternate the order each round so drift on a noisy machine hits both sides alike.
  const order: Variant[] = i % 2 ? ['floor', 'everyExport', 'entry', 'runtime'] : ['entry', 'everyExport', 'floor', 'runtime'];
  for (const v of order) samples[v].push(measure(variants[v]));
}

const med = (v: Variant) => median(samples[v].map((s) => s.ms));
const ratio = med('entry') / med('floor');
const everyRatio = med('everyExport') / med('floor');
const last = (v: Variant) => samples[v][samples[v].length - 1];
const result = {
  rounds,
  dependencyModules: deps.length,
  medianMs: { entry: med('entry'), everyExport: med('everyExport'), floor: med('floor'), runtime: med('runtime') },
  ratio,
  everyExportRatio: everyRatio,
  goal: GOAL,
  loaded: { entry: last('entry'), everyExport: last('everyExport'), runtime: last('runtime') },
};
const all = last('everyExport');
console.log(`cold import, median of ${rounds} fresh processes each (alternating):`);
console.log(`  floor: the ${deps.length} aws-cdk-lib/constructs modules the constructs use, alone: ${med('floor').toFixed(1)} ms`);
console.log(`  require('scale-to-millions'): ${med('entry').toFixed(1)} ms = ${ratio.toFixed(2)}× the floor (goal ≤ ${GOAL}×) ${ratio <= GOAL ? 'OK' : 'MISSED'}`);
console.log(`  ... and every export touched: ${med('everyExport').toFixed(1)} ms = ${everyRatio.toFixed(2)}× the floor (our own modules' cost; no goal); ${all.modules} modules: AWS SDK ${all.sdk}, cdk-nag ${all.nag}, assertions ${all.assertions} (goal 0 each)`);
console.log(`  require('scale-to-millions/runtime'): ${med('runtime').toFixed(1)} ms, aws-cdk-lib modules loaded: ${last('runtime').cdkLib} (goal 0)`);
const heavy = all.sdk + all.nag + all.assertions;
mkdirSync(join(ROOT, '.bench'), { recursive: true });
writeFileSync(join(ROOT, '.bench', 'require.json'), `${JSON.stringify(result, null, 2)}\n`);
rmSync(outDir, { recursive: true, force: true });
if (ratio > GOAL || heavy > 0 || last('runtime').cdkLib > 0) process.exit(1);
