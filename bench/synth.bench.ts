/**
 * Synth through the aws-cdk CLI (`cdk synth -q`, cdk.json's launcher), the reference app against its floor,
 * A/B alternating in one run (the machine is shared and noisy: only ratios measured side by side mean much).
 *
 * The floor (bench/floor/app.ts) emits the reference app's templates byte for byte as raw `CfnResource`s, through
 * the same cdk.json and launcher, with aws-cdk-lib's built-in template validator; the benchmark checks the bytes.
 * Goals (issue 17):
 *
 * - cold: the default config with an empty validation cache, wall time ≤ 1.0× the floor's;
 * - validator off on both sides (and cdk-nag off on the app's), wall time ≤ 2× the floor's;
 * - warm: the same config again, and the same config with one service changed, ≤ 4 s wall each (with the launcher's
 *   caches, the validation cache and the validation daemon warm, in a cache directory of the run's own).
 *
 * Both sides run with the launcher's compile caches warm (they share them). Prints the medians, each ratio against
 * its goal and the load average, writes .bench/synth.json, and exits non-zero when a goal is missed.
 *
 *   npx tsx bench/synth.bench.ts [--rounds 5] [--config millions] [--phases cold,off,warm]
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { stopValidationDaemons, validationDaemons } from '../lib/synth/validation';

const ROOT = join(__dirname, '..');
const CDK_CLI = join(ROOT, 'node_modules', 'aws-cdk', 'bin', 'cdk');
const args = process.argv.slice(2);
const arg = (name: string): string | undefined => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const rounds = Number(arg('--rounds') ?? 5);
const configName = arg('--config') ?? 'millions';
const phases = new Set((arg('--phases') ?? 'cold,off,warm').split(','));

const GOAL_COLD_RATIO = 1.0;
const GOAL_OFF_RATIO = 2.0;
const GOAL_WARM_SECONDS = 4.0;

const work = join(ROOT, '.bench', 'synth');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

interface Run {
  /** Wall time of the CLI, ms. */
  readonly wallMs: number;
  /** CPU of every node process of the run (CLI and app, all threads), ms. */
  readonly cpuMs: number;
  /** Peak RSS of the largest process, MiB. */
  readonly rssMiB: number;
  readonly outdir: string;
}

interface SynthOptions {
  readonly context?: Record<string, string>;
  readonly app?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly keep?: boolean;
}

/** One `cdk synth -q` in a fresh output directory. */
function synth(o: SynthOptions = {}): Run {
  const dir = mkdtempSync(join(work, 'run-'));
  const outdir = join(dir, 'cdk.out');
  const stats = join(dir, 'stats');
  mkdirSync(stats);
  const cli = [CDK_CLI, 'synth', '-q', '-o', outdir, ...Object.entries(o.context ?? {}).flatMap(([k, v]) => ['-c', `${k}=${v}`]), ...(o.app ? ['--app', o.app] : [])];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, cli, {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, S2M_VALIDATION_DAEMON: 'off', ...o.env, NODE_OPTIONS: `--require ${join(__dirname, 'rss-hook.cjs')}`, BENCH_RSS_DIR: stats, CDK_DISABLE_CLI_TELEMETRY: 'true' },
  });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`cdk synth ${cli.slice(2).join(' ')} failed (exit ${r.status}):\n${r.stderr}`);
  const samples = readdirSync(stats).map((f) => JSON.parse(readFileSync(join(stats, f), 'utf8')) as { maxRSS: number; cpuMicros: number });
  const run = {
    wallMs,
    cpuMs: samples.reduce((a, s) => a + s.cpuMicros, 0) / 1000,
    rssMiB: Math.max(...samples.map((s) => s.maxRSS)) / 1024,
    outdir,
  };
  if (!o.keep) rmSync(dir, { recursive: true, force: true });
  return run;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const load = (): number => os.loadavg()[0];
const sec = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

/** Runs `a` and `b` alternately (ABBA order, so neither always goes first), `rounds` times each. */
function alternate(a: () => Run, b: () => Run): { a: Run[]; b: Run[]; loads: number[] } {
  const out = { a: [] as Run[], b: [] as Run[], loads: [] as number[] };
  for (let i = 0; i < rounds; i++) {
    out.loads.push(load());
    if (i % 2 === 0) {
      out.a.push(a());
      out.b.push(b());
    } else {
      out.b.push(b());
      out.a.push(a());
    }
  }
  return out;
}

interface Figure {
  readonly name: string;
  readonly value: number;
  readonly goal: number;
  readonly unit: string;
  readonly load: number[];
  readonly pass: boolean;
}
const figures: Figure[] = [];
const details: Record<string, unknown> = {};

function report(name: string, a: Run[], b: Run[] | undefined, loads: number[], goal: number, unit: 'x' | 's'): void {
  const wa = median(a.map((r) => r.wallMs));
  const value = b ? wa / median(b.map((r) => r.wallMs)) : wa / 1000;
  const pass = value <= goal;
  figures.push({ name, value, goal, unit, load: loads, pass });
  const line = (label: string, runs: Run[]): string => `    ${label.padEnd(9)} wall ${sec(median(runs.map((r) => r.wallMs))).padStart(8)}  cpu ${sec(median(runs.map((r) => r.cpuMs))).padStart(8)}  peak RSS ${median(runs.map((r) => r.rssMiB)).toFixed(0).padStart(4)} MiB   (wall: ${runs.map((r) => (r.wallMs / 1000).toFixed(1)).join(', ')})`;
  console.log(`\n${name}: ${unit === 'x' ? `${value.toFixed(2)}× the floor` : `${value.toFixed(2)} s`} (goal ≤ ${goal}${unit === 'x' ? '×' : ' s'}) ${pass ? 'PASS' : 'MISS'}   load average ${loads.map((l) => l.toFixed(1)).join(', ')}`);
  console.log(line(b ? 'app' : 'runs', a));
  if (b) console.log(line('floor', b));
  details[name] = { app: a.map(({ outdir: _o, ...r }) => r), ...(b ? { floor: b.map(({ outdir: _o, ...r }) => r) } : {}), loads };
}

const cdkJson = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { app: string };
if (!cdkJson.app.includes('bin/app.ts')) throw new Error(`cdk.json app "${cdkJson.app}" does not name bin/app.ts: the floor must run through the same launcher`);
const floorApp = cdkJson.app.replace('bin/app.ts', 'bench/floor/app.ts');
const config = join('config', `${configName}.json`);

console.log(`synth benchmark: config/${configName}.json, ${rounds} rounds per figure, node ${process.version}, ${os.cpus().length} cpus, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);

// The app's templates, which the floor emits again. This first synth also warms the launcher's compile caches.
const reference = synth({ context: { config, validationCache: 'false' }, keep: true });
const floorInput = join(work, 'floor-templates');
mkdirSync(floorInput);
const manifest = JSON.parse(readFileSync(join(reference.outdir, 'manifest.json'), 'utf8')) as { artifacts: Record<string, { type: string; environment?: string; properties?: { templateFile: string } }> };
const stacks = Object.entries(manifest.artifacts).filter(([, a]) => a.type === 'aws:cloudformation:stack').map(([name, a]) => {
  const [, , account, region] = a.environment!.split('/');
  cpSync(join(reference.outdir, a.properties!.templateFile), join(floorInput, a.properties!.templateFile));
  return { name, file: a.properties!.templateFile, region, ...(account !== 'unknown-account' ? { account } : {}) };
});
writeFileSync(join(floorInput, 'stacks.json'), JSON.stringify(stacks, null, 1));
const floorEnv = { S2M_FLOOR_TEMPLATES: floorInput };

// The floor must write the same bytes, or the comparison means nothing.
const check = synth({ app: floorApp, env: floorEnv, keep: true });
for (const s of stacks) {
  if (!readFileSync(join(check.outdir, s.file)).equals(readFileSync(join(reference.outdir, s.file)))) throw new Error(`the floor's ${s.file} differs from the app's`);
}
console.log(`floor checked: ${stacks.length} templates, byte for byte (${(stacks.reduce((a, s) => a + readFileSync(join(floorInput, s.file)).length, 0) / 1024).toFixed(0)} KiB)`);

if (phases.has('cold')) {
  const r = alternate(() => synth({ context: { config, validationCache: 'false' } }), () => synth({ app: floorApp, env: floorEnv }));
  report('cold synth, app / floor', r.a, r.b, r.loads, GOAL_COLD_RATIO, 'x');
}

if (phases.has('off')) {
  const off = { CDK_VALIDATION: 'false' };
  const r = alternate(() => synth({ context: { config, nag: 'false' }, env: off }), () => synth({ app: floorApp, env: { ...floorEnv, ...off } }));
  report('validator off (and cdk-nag), app / floor', r.a, r.b, r.loads, GOAL_OFF_RATIO, 'x');
}

if (phases.has('warm')) {
  // A copy of the config, so that "one service changed" can be written without touching config/.
  const variant = join(work, `${configName}.json`);
  const original = JSON.parse(readFileSync(join(ROOT, config), 'utf8')) as { services: Array<{ name: string; maxCapacity?: number }> };
  const write = (maxCapacity?: number): void => {
    const c = structuredClone(original);
    const svc = c.services[c.services.length - 1];
    if (maxCapacity !== undefined) svc.maxCapacity = maxCapacity;
    writeFileSync(variant, JSON.stringify(c, null, 2));
  };
  // An edit–synth loop as a developer has it: the launcher's caches, the validation cache and the validation daemon
  // (lib/synth/validation.ts), all in a cache directory of this run's own, so neither the user's caches nor a daemon
  // of theirs count, and the daemon this run starts is stopped at its end.
  const cache = join(work, 'cache');
  const warmEnv = { S2M_CACHE_DIR: cache, S2M_VALIDATION_DAEMON: 'on' };
  const daemons = join(cache, 'daemons');
  try {
    write();
    synth({ context: { config: variant }, env: warmEnv });
    const running = validationDaemons(daemons);
    if (running.length !== 1) throw new Error(`expected the warm-up synth to leave one validation daemon in ${daemons}, found ${running.length}`);
    let n = 0;
    const r = alternate(
      () => { write(); return synth({ context: { config: variant }, env: warmEnv }); },
      // A new maximum every time: the templates of the changed service's stacks are new to the cache.
      () => { write(100 + n++); return synth({ context: { config: variant }, env: warmEnv }); },
    );
    report('warm synth, same config again', r.a, undefined, r.loads, GOAL_WARM_SECONDS, 's');
    report(`warm synth, one service changed (${original.services[original.services.length - 1].name}.maxCapacity)`, r.b, undefined, r.loads, GOAL_WARM_SECONDS, 's');
  } finally {
    stopValidationDaemons(daemons);
  }
}

rmSync(join(reference.outdir, '..'), { recursive: true, force: true });
rmSync(join(check.outdir, '..'), { recursive: true, force: true });
const missed = figures.filter((f) => !f.pass);
console.log(`\nGoals: ${figures.length - missed.length}/${figures.length} met${missed.length && Math.max(...figures.flatMap((f) => f.load)) > os.cpus().length ? ` (load average above ${os.cpus().length}: other processes took CPU from these runs; the goals are for a quiet machine)` : ''}`);
mkdirSync(join(ROOT, '.bench'), { recursive: true });
writeFileSync(join(ROOT, '.bench', 'synth.json'), `${JSON.stringify({ node: process.version, date: new Date().toISOString(), config: configName, rounds, figures, details }, null, 2)}\n`);
if (missed.length > 0) process.exitCode = 1;
