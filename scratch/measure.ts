import { Stack } from 'aws-cdk-lib';
import { readFileSync } from 'node:fs';
import { buildTestApp } from '../test/helpers/app';
process.env.CDK_VALIDATION = 'false';
const base = JSON.parse(readFileSync('config/millions.json', 'utf8'));
const [ns, nq] = process.argv.slice(2).map(Number);
base.regions = [base.regions[0]];
base.services = Array.from({ length: ns }, (_, i) => i === 0 ? { name: 'web' } : { name: `svc${i}`, pathPatterns: [`/s${i}/*`], priority: i + 1 });
const q0 = base.queues?.[0] ?? { name: 'jobs' };
base.queues = Array.from({ length: nq }, (_, i) => ({ ...q0, name: i === 0 ? q0.name : `q${i}` }));
if (base.dns?.failover) delete base.dns.failover;
if (base.database?.globalDatabase) delete base.database.globalDatabase;
if (base.cache?.globalDatastore) delete base.cache.globalDatastore;
try {
  const { app } = buildTestApp(base);
  const asm = app.synth();
  for (const s of asm.stacks) {
    const t = JSON.stringify(s.template);
    console.log(ns, nq, s.stackName, Object.keys(s.template.Resources ?? {}).length, t.length);
  }
} catch (e) { console.log(ns, nq, 'ERROR', (e as Error).message.slice(0, 300)); }
if (process.env.BREAKDOWN) {
  const { app } = buildTestApp(base);
  const st = app.synth().stacks.find((s) => s.stackName.includes('-app-'))!;
  const rows = Object.entries(st.template.Resources as Record<string, any>).map(([id, r]) => [JSON.stringify(r).length, r.Type, id] as const).sort((a, b) => b[0] - a[0]);
  for (const r of rows.slice(0, 25)) console.log(r.join(' '));
  const byType: Record<string, number> = {};
  for (const [n, t] of rows) byType[t] = (byType[t] ?? 0) + n;
  console.log(Object.entries(byType).sort((a, b) => b[1] - a[1]).slice(0, 12));
  console.log('outputs', JSON.stringify(st.template.Outputs ?? {}).length, 'params', JSON.stringify(st.template.Parameters ?? {}).length);
}
if (process.env.IDS) {
  const { app } = buildTestApp(base);
  const st = app.synth().stacks.find((s) => s.stackName.includes('-app-'))!;
  const ids = Object.entries(st.template.Resources as Record<string, any>).filter(([id]) => /svc1|Svc1/.test(id)).map(([id, r]) => `${r.Type} ${id}`);
  console.log(ids.join('\n'), ids.length);
}
