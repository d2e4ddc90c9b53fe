/**
 * `npm test` as CI runs it, timed: the wall time of the whole run against issue 17's goal (≤ 60 s on a quiet
 * machine), with each step's own time (the type check, the lint, the unit and the integration tests run partly side
 * by side: scripts/test.cjs) and the CPU every process of the run used.
 *
 * `npm test` keeps what it learnt between runs in node_modules/.cache/scale-to-millions: the type check's build-info,
 * the lint's results, the template validator's results of the checked synths, the synth caches of the unit tests
 * and vitest's transformed modules.
 * A round is timed warm (as a developer's second run after an edit: the caches of an earlier run of the same sources)
 * unless `--cold`, which empties them before each round, as a clean clone (CI) starts.
 *
 * One run by default (a run is minutes); the load average before and after says how much of the machine other
 * processes took. Prints the figures, writes .bench/test-suite.json, exits non-zero when the suite fails or the
 * goal is missed.
 *
 *   npx tsx bench/test-suite.bench.ts [--rounds 1] [--cold]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');
const GOAL_SECONDS = 60;
const args = process.argv.slice(2);
const rounds = Number(args.includes('--rounds') ? args[args.indexOf('--rounds') + 1] : 1);
const cold = args.includes('--cold');
/** What npm test keeps between runs (scripts/typecheck.cjs, package.json's lint, test/helpers). */
const CACHES = ['typecheck', 'eslint', 'test-validation', 'test-synth', 'vitest-modules'].map((name) => join(ROOT, 'node_modules', '.cache', 'scale-to-millions', name));

interface Round {
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
  readonly steps: Record<string, number>;
  readonly loadBefore: number;
  readonly loadAfter: number;
}

console.log(`test-suite benchmark: npm test (node scripts/test.cjs), ${rounds} round(s), ${cold ? 'cold (caches emptied before each round, as a clean clone)' : 'warm (the caches an earlier run left)'}, node ${process.version}, ${os.cpus().length} cpus, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
const results: Round[] = [];
for (let i = 0; i < rounds; i++) {
  if (cold) for (const dir of CACHES) rmSync(dir, { recursive: true, force: true });
  const loadBefore = os.loadavg()[0];
  const started = process.hrtime.bigint();
  // /usr/bin/time's %U and %S cover every child the run waited for (tsc, eslint, the vitest workers, the servers).
  const r = spawnSync('/usr/bin/time', ['-f', 'S2M_CPU %U %S', process.execPath, join(ROOT, 'scripts', 'test.cjs')], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' }, maxBuffer: 256 * 1024 * 1024 });
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.error) throw new Error(`could not run /usr/bin/time (Debian package "time"): ${r.error.message}`);
  const out = `${r.stdout}${r.stderr}`;
  if (r.status !== 0) {
    console.error(out.slice(-4000));
    console.error(`npm test failed (exit ${r.status}): the benchmark times a passing suite`);
    process.exit(1);
  }
  const cpu = /S2M_CPU ([\d.]+) ([\d.]+)/.exec(out);
  const steps = Object.fromEntries([...out.matchAll(/^✔ (.+) passed in ([\d.]+) s$/gm)].map((m) => [m[1], Number(m[2])]));
  results.push({ wallSeconds, cpuSeconds: cpu ? Number(cpu[1]) + Number(cpu[2]) : NaN, steps, loadBefore, loadAfter: os.loadavg()[0] });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const wall = median(results.map((r) => r.wallSeconds));
const pass = wall <= GOAL_SECONDS;
const cpu = median(results.map((r) => r.cpuSeconds));
const cpus = os.cpus().length;
console.log(`\nnpm test${cold ? ' (cold)' : ' (warm)'}: ${wall.toFixed(1)} s wall (goal ≤ ${GOAL_SECONDS} s on a quiet machine) ${pass ? 'PASS' : 'MISS'}   CPU ${cpu.toFixed(1)} s on ${cpus} cpus`);
// The CPU the run used, spread over every core with none idle: no order of the steps finishes sooner on this machine.
const floor = cpu / cpus;
console.log(`CPU floor: ${floor.toFixed(1)} s (CPU / cpus, the least wall time any schedule of this work takes here) ${floor <= GOAL_SECONDS ? `within the goal: scheduling can close the rest` : `above the goal: only less CPU meets it`}`);
for (const [name, seconds] of Object.entries(results[0].steps)) console.log(`    ${name.padEnd(20)} ${seconds.toFixed(1).padStart(6)} s`);
const load = Math.max(...results.map((r) => Math.max(r.loadBefore, r.loadAfter)));
console.log(`load average ${results.map((r) => `${r.loadBefore.toFixed(1)} → ${r.loadAfter.toFixed(1)}`).join(', ')}${load > 2 ? ' (above 2: other processes took CPU from this run; the goal is for a quiet machine)' : ''}`);
mkdirSync(join(ROOT, '.bench'), { recursive: true });
writeFileSync(join(ROOT, '.bench', 'test-suite.json'), `${JSON.stringify({ goalSeconds: GOAL_SECONDS, cold, wallSeconds: wall, cpuFloorSeconds: floor, pass, rounds: results }, null, 2)}\n`);
process.exit(pass ? 0 : 1);
