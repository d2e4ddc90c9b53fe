/**
 * Synth of 50 web services in one region (test/fixtures/fifty-services.json: the app stack and five nested stacks
 * of services) through the aws-cdk CLI (`cdk synth -q`, cdk.json's launcher, validator and cdk-nag on), A/B
 * alternating with the same config cut to the services that fit in the app stack alone (no nested stack), in one
 * run: the machine is shared and noisy, so only ratios measured side by side mean much.
 *
 * Goals (issue 17): every template of the 50-service synth, the app stack and each nested one, under
 * CloudFormation's 500 resources and 1,000,000 bytes. The wall time per service of the two syntheses is printed
 * against each other (a nested stack should cost about what its services cost in the app stack; no goal is set).
 *
 *   npx tsx bench/partition.bench.ts [--rounds 3]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { appStackPlacement } from '../lib/config/limits';
import { resolveConfig, type AppConfigInput } from '../lib/config';

const ROOT = join(__dirname, '..');
const CDK_CLI = join(ROOT, 'node_modules', 'aws-cdk', 'bin', 'cdk');
const args = process.argv.slice(2);
const rounds = Number(args.includes('--rounds') ? args[args.indexOf('--rounds') + 1] : 3);
const LIMITS = { resources: 500, bytes: 1_000_000 };

const work = join(ROOT, '.bench', 'partition');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

const fifty = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'fifty-services.json'), 'utf8')) as AppConfigInput & { services: unknown[] };
const resolved = resolveConfig(fifty);
// The most services that stay in the app stack alone: the config's first ones while no nested stack is needed.
let inline = 1;
while (inline < fifty.services.length) {
  const c = resolveConfig({ ...fifty, services: fifty.services.slice(0, inline + 1) } as AppConfigInput);
  const p = appStackPlacement(c.services, c.queues);
  if (p.nestedStacks.length + p.queueStacks.length > 0) break;
  inline++;
}
const configs = {
  fifty: join(work, 'fifty.json'),
  inline: join(work, 'inline.json'),
};
writeFileSync(configs.fifty, JSON.stringify(fifty));
writeFileSync(configs.inline, JSON.stringify({ ...fifty, services: fifty.services.slice(0, inline) }));

interface Run { readonly wallMs: number; readonly outdir: string }

function synth(config: string): Run {
  const outdir = mkdtempSync(join(work, 'out-'));
  const t0 = process.hrtime.bigint();
  // No validation daemon: outside CI a synth starts one that outlives it for 10 minutes (lib/synth/index.ts), and a
  // benchmark leaves no process behind. Each synth sets up an engine of its own, on both sides of the comparison.
  const r = spawnSync(process.execPath, [CDK_CLI, 'synth', '-q', '-o', outdir, '-c', `config=${config}`], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, S2M_VALIDATION_DAEMON: 'off', CDK_DISABLE_CLI_TELEMETRY: 'true' } });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`cdk synth -c config=${config} failed (exit ${r.status}):\n${r.stderr}`);
  return { wallMs, outdir };
}

/** Resources and bytes of every template in an assembly, nested ones included. */
function templates(outdir: string): Array<{ file: string; resources: number; bytes: number }> {
  return readdirSync(outdir).filter((f) => f.endsWith('.template.json')).map((f) => {
    const text = readFileSync(join(outdir, f), 'utf8');
    return { file: f, resources: Object.keys((JSON.parse(text) as { Resources?: object }).Resources ?? {}).length, bytes: text.length };
  });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

console.log(`partition benchmark: ${resolved.services.length} services (test/fixtures/fifty-services.json) against its first ${inline} (all in the app stack), `
  + `${rounds} rounds, A/B alternating, node ${process.version}, ${os.cpus().length} cpus, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
const a: Run[] = [];
const b: Run[] = [];
for (let i = 0; i < rounds; i++) {
  a.push(synth(configs.fifty));
  b.push(synth(configs.inline));
}
let failed = false;
const all = templates(a[0].outdir);
for (const t of all.filter((x) => x.file.includes('-app-') || x.file.includes('nested'))) {
  const ok = t.resources < LIMITS.resources && t.bytes < LIMITS.bytes;
  if (!ok) failed = true;
  console.log(`  ${ok ? 'ok  ' : 'MISS'} ${t.file.padEnd(56)} ${String(t.resources).padStart(4)} resources (goal < ${LIMITS.resources})  ${String(t.bytes).padStart(8)} bytes (goal < ${LIMITS.bytes})`);
}
const wa = median(a.map((r) => r.wallMs));
const wb = median(b.map((r) => r.wallMs));
const perService = (wa / resolved.services.length) / (wb / inline);
console.log(`  wall: ${resolved.services.length} services ${(wa / 1000).toFixed(1)} s, ${inline} services ${(wb / 1000).toFixed(1)} s; `
  + `per service ${perService.toFixed(2)}× (no goal; the fixed cost of a synth is shared by more services in the first)`);
writeFileSync(join(ROOT, '.bench', 'partition.json'), JSON.stringify({ rounds, services: resolved.services.length, inline, wallMs: { fifty: a.map((r) => r.wallMs), inline: b.map((r) => r.wallMs) }, templates: all }, null, 2));
for (const r of [...a, ...b]) rmSync(r.outdir, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
