/**
 * `s2m cost` benchmark: for each example config, alternates an in-memory synthesis of its stacks (what the
 * command spends most of its time on) with pricing the synthesized templates (inventory + estimate), and reports
 * the medians and their ratio. Goal: pricing adds under 2 % to the synthesis, so the command costs about one
 * `cdk synth`. Writes .bench/cost.json.
 *
 *   npx tsx bench/cost.bench.ts [--runs 5] [--config global]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigFile } from '../lib/config';
import { estimateContext, estimateCost, inventoryOf, synthesizeTemplates, type StackTemplate } from '../lib/cost';
import { EXAMPLE_CONFIGS } from '../lib/cost/examples';

const ROOT = join(__dirname, '..');
const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1] ?? 0) || 5;
const only = args.includes('--config') ? args[args.indexOf('--config') + 1] : undefined;
const GOAL_RATIO = 0.02;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function timed<T>(f: () => T): { ms: number; value: T } {
  const t0 = process.hrtime.bigint();
  const value = f();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, value };
}

const results: Array<{ config: string; synthMs: number; priceMs: number; ratio: number; floor: number }> = [];
let failed = false;
for (const name of EXAMPLE_CONFIGS.filter((n) => !only || n === only)) {
  const config = loadConfigFile(join(ROOT, 'config', `${name}.json`));
  let templates: StackTemplate[] = synthesizeTemplates(config); // warm-up
  const synth: number[] = [];
  const price: number[] = [];
  let floor = 0;
  for (let i = 0; i < runs; i++) {
    const s = timed(() => synthesizeTemplates(config));
    templates = s.value;
    synth.push(s.ms);
    // Pricing is fast: repeat it so the timer resolves it, and take the per-run time.
    const p = timed(() => {
      let e;
      for (let k = 0; k < 20; k++) e = estimateCost(inventoryOf(templates), {}, estimateContext(config));
      return e!;
    });
    price.push(p.ms / 20);
    floor = p.value.floor.total;
  }
  const r = { config: name, synthMs: Math.round(median(synth)), priceMs: Number(median(price).toFixed(2)), ratio: median(price) / median(synth), floor: Math.round(floor * 100) / 100 };
  results.push(r);
  const ok = r.ratio < GOAL_RATIO;
  failed ||= !ok;
  console.log(`${name.padEnd(9)} synth ${String(r.synthMs).padStart(6)} ms  price ${r.priceMs.toFixed(2).padStart(6)} ms  ratio ${(100 * r.ratio).toFixed(2).padStart(5)} % (goal < ${100 * GOAL_RATIO} %) ${ok ? 'ok' : 'MISSED'}  floor $${r.floor}`);
}
mkdirSync(join(ROOT, '.bench'), { recursive: true });
writeFileSync(join(ROOT, '.bench', 'cost.json'), JSON.stringify({ node: process.version, date: new Date().toISOString(), runs, results }, null, 2));
process.exit(failed ? 1 : 0);
