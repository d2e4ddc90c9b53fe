/** Text rendering of reports and plans: aligned tables for a terminal, plain text when piped. */
import type { CapacityReport, TierReport } from './report';

/** Renders rows as aligned columns (first row is the header). */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ').trimEnd()).join('\n');
}

function num(v: number | null, digits = 1): string {
  if (v === null) return 'no data';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '-∞';
  const abs = Math.abs(v);
  if (abs >= 1000) return Math.round(v).toLocaleString('en-US');
  return String(Math.round(v * 10 ** digits) / 10 ** digits);
}

function load(t: TierReport): string {
  if (t.load.current === null && t.load.peak === null) return 'no data';
  return `${num(t.load.current)} ${t.load.unit} (peak ${num(t.load.peak)})`;
}

function utilization(t: TierReport): string {
  return t.utilization.map((u) => (u.value === null ? `${u.metric} no data` : `${u.metric} ${num(u.value)}${u.unit === '%' ? '%' : ` ${u.unit}`}/${num(u.target)}`)).join(', ');
}

function capacity(t: TierReport): string {
  const c = t.capacity;
  return `${num(c.current)} now, ${num(c.needed)} needed / ${num(c.max)} max ${c.unit}`;
}

function headroom(t: TierReport): string {
  if (t.headroomPercent === null) return 'no data';
  const growth = t.growthFactor === null ? '' : ` (×${num(t.growthFactor, 2)})`;
  return `${num(t.headroomPercent)}%${growth}`;
}

const MARK: Record<TierReport['status'], string> = { ok: 'ok', warn: 'WARN', critical: 'CRIT', 'no-data': '-' };

/** The human-readable report: one table per region, the bottleneck, recommendations, warnings. */
export function renderReport(report: CapacityReport): string {
  const out: string[] = [];
  out.push(`Capacity report for ${report.name}: ${report.window.start} → ${report.window.end} (period ${report.window.periodSeconds}s; headroom at the window's peak)`);
  for (const r of report.regions) {
    out.push('', `Region ${r.region}`);
    if (r.tiers.length === 0) out.push('  (no tiers found in the stack outputs)');
    else {
      const rows = [['TIER', 'RESOURCE', 'LOAD', 'UTILIZATION (peak/target)', 'CAPACITY', 'HEADROOM', 'STATUS']];
      for (const t of r.tiers) rows.push([t.tier, t.resource, load(t), utilization(t), capacity(t), headroom(t), MARK[t.status]]);
      out.push(table(rows).split('\n').map((l) => `  ${l}`).join('\n'));
    }
    for (const t of r.tiers) for (const n of t.notes) out.push(`  note: ${t.resource}: ${n}`);
    for (const w of r.warnings) out.push(`  warning: ${w}`);
    if (r.bottleneck) out.push(`  bottleneck: ${r.bottleneck.tier} ${r.bottleneck.resource} (${num(r.bottleneck.headroomPercent)}% headroom)`);
  }
  out.push('');
  const b = report.bottleneck;
  out.push(b ? `Bottleneck: ${b.region} ${b.tier} ${b.resource}, ${num(b.headroomPercent)}% headroom` : 'Bottleneck: none (no data)');
  if (report.recommendations.length === 0) out.push('Recommendations: none, every tier has at least 30% headroom');
  else {
    out.push('Recommendations:');
    for (const rec of report.recommendations) out.push(`  - ${rec.region}: ${rec.message}`);
  }
  out.push(`API calls: ${report.apiCalls.describeStacks} DescribeStacks, ${report.apiCalls.getMetricData} GetMetricData (${report.apiCalls.metricQueries} queries)`);
  return `${out.join('\n')}\n`;
}
