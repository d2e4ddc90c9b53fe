/**
 * Whole-process synthesis benchmark: for each example config, runs `cdk synth -q -c config=...` (the aws-cdk
 * CLI, which runs bin/app.ts through tsx) several times after one warm-up, and reports the median wall time
 * and the median peak RSS of the largest process (the app). AWS's template validator and cdk-nag run, as in
 * every real synth. Writes .bench/synth.json.
 *
 *   npx tsx bench/synth.bench.ts [--runs 5] [--config startup]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

const ROOT = join(__dirname, '..');
const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1] ?? 0) || 5;
const only = args.includes('--config') ? args[args.indexOf('--config') + 1] : undefined;

interface Result { config: string; runs: number; wallMs: number[]; rssMiB: number[]; medianWallMs: number; medianRssMiB: number; stacks: number }

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function synthOnce(configFile: string): { wallMs: number; rssMiB: number; stacks: number } {
  const out = mkdtempSync(join(tmpdir(), 's2m-bench-'));
  const assembly = join(out, 'cdk.out');
  const rssDir = join(out, 'rss');
  mkdirSync(rssDir);
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [CDK_CLI, 'synth', '-q', '-c', `config=${configFile}`, '-o', assembly], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: `--require ${join(__dirname, 'rss-hook.cjs')}`, BENCH_RSS_DIR: rssDir, CDK_DISABLE_CLI_TELEMETRY: 'true' },
    encoding: 'utf8',
  });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`synth of ${configFile} failed (exit ${r.status}):\n${r.stderr}`);
  const rssMiB = Math.max(...readdirSync(rssDir).map((f) => Number(readFileSync(join(rssDir, f), 'utf8')))) / 1024;
  const stacks = readdirSync(assembly).filter((f) => f.endsWith('.template.json')).length;
  rmSync(out, { recursive: true, force: true });
  return { wallMs, rssMiB, stacks };
}

const CDK_CLI = join(ROOT, 'node_modules', 'aws-cdk', 'bin', 'cdk');

const configs = readdirSync(join(ROOT, 'config')).filter((f) => f.endsWith('.json')).filter((f) => !only || basename(f, '.json') === only).sort();
const results: Result[] = [];
for (const file of configs) {
  const configFile = join('config', file);
  synthOnce(configFile); // warm-up (tsx transform cache, page cache)
  const samples = Array.from({ length: runs }, () => synthOnce(configFile));
  const r: Result = {
    config: basename(file, '.json'),
    runs,
    wallMs: samples.map((s) => Math.round(s.wallMs)),
    rssMiB: samples.map((s) => Math.round(s.rssMiB)),
    medianWallMs: Math.round(median(samples.map((s) => s.wallMs))),
    medianRssMiB: Math.round(median(samples.map((s) => s.rssMiB))),
    stacks: samples[0].stacks,
  };
  results.push(r);
  console.log(`${r.config.padEnd(12)} stacks=${String(r.stacks).padStart(3)}  median wall ${(r.medianWallMs / 1000).toFixed(2).padStart(6)} s  median peak RSS ${String(r.medianRssMiB).padStart(5)} MiB  (runs: ${r.wallMs.join(', ')} ms)`);
}
mkdirSync(join(ROOT, '.bench'), { recursive: true });
writeFileSync(join(ROOT, '.bench', 'synth.json'), JSON.stringify({ node: process.version, date: new Date().toISOString(), results }, null, 2));
