/** Text rendering of cost estimates and of the difference between two. */
import { table } from '../capacity/render';
import { ASSUMPTIONS, type CostAssumptions } from './assumptions';
import type { CostEstimate, CostLine, CostTotals } from './estimate';
import { COST_TIERS, type CostTier } from './inventory';

/** `1234.5` → `$1,234.50`. */
export function usd(v: number): string {
  const sign = v < -0.004 ? '-' : '';
  return `${sign}$${Math.abs(v).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

/** A signed difference: `+$12.00`, `-$3.50`, `$0.00`. */
export function signedUsd(v: number): string {
  return Math.abs(v) < 0.005 ? '$0.00' : v > 0 ? `+${usd(v)}` : usd(v);
}

function qty(v: number): string {
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString('en-US');
  return String(Number(v.toPrecision(3)));
}

function unitPrice(v: number): string {
  return `$${Number(v.toPrecision(4))}`;
}

/** Right-aligns the listed columns of rows (header included). */
function alignRight(rows: string[][], columns: number[]): string[][] {
  const widths = columns.map((c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (columns.includes(i) ? cell.padStart(widths[columns.indexOf(i)]) : cell)));
}

function indent(text: string): string {
  return text.split('\n').map((l) => `  ${l}`).join('\n');
}

function lineTable(lines: readonly CostLine[]): string {
  const rows = [['REGION', 'TIER', 'ITEM', 'QUANTITY', 'UNIT PRICE', '$/MONTH']];
  for (const l of lines) rows.push([l.region, l.tier, l.item, `${qty(l.quantity)} ${l.unit}`, `${unitPrice(l.unitPrice)}${l.source === 'derived' ? '*' : ''}`, usd(l.monthly)]);
  return indent(table(alignRight(rows, [4, 5])));
}

/** Tiers with a cost in any of `totals`. */
function usedTiers(...all: CostTotals[]): CostTier[] {
  return COST_TIERS.filter((t) => all.some((x) => Object.values(x.regions).some((r) => Math.abs(r.tiers[t]) >= 0.005)));
}

function tierTable(t: CostTotals): string {
  const tiers = usedTiers(t);
  const rows = [['REGION', ...tiers.map((x) => x.toUpperCase()), 'TOTAL']];
  for (const [region, r] of Object.entries(t.regions).filter(([, x]) => Math.abs(x.total) >= 0.005)) rows.push([region, ...tiers.map((x) => usd(r.tiers[x])), usd(r.total)]);
  rows.push(['all regions', ...tiers.map((x) => usd(Object.values(t.regions).reduce((s, r) => s + r.tiers[x], 0))), usd(t.total)]);
  return indent(table(alignRight(rows, tiers.map((_, i) => i + 1).concat(tiers.length + 1))));
}

function assumptionValue(a: CostAssumptions, key: keyof CostAssumptions, computed?: string): string {
  const v = a[key];
  if (v === undefined) return computed ?? 'computed';
  return typeof v === 'number' ? v.toLocaleString('en-US') : String(v);
}

/** Header lines naming the price table. */
export function priceHeader(e: CostEstimate): string[] {
  return [
    `Prices: ${e.priceTable.currency}, AWS on-demand list prices taken ${e.priceTable.date}, ${e.priceTable.hoursPerMonth} hours a month; * marks a price derived from us-east-1's (no listed price for the region in the table).`,
    `Source: ${e.priceTable.source}.`,
  ];
}

/** The human-readable estimate: floor lines, totals by region and tier, the load part with its assumptions. */
export function renderEstimate(e: CostEstimate, title: string): string {
  const out: string[] = [title, ...priceHeader(e), ''];
  const floor = e.lines.filter((l) => l.part === 'floor');
  const load = e.lines.filter((l) => l.part === 'load');
  out.push(`Floor (zero traffic): ${usd(e.floor.total)} a month`, lineTable(floor), '', 'Floor by region and tier ($/month):', tierTable(e.floor), '');
  const a = e.assumptions;
  out.push(`At ${a.requestsPerMonth.toLocaleString('en-US')} requests a month (${qty(e.load.averageRequestsPerSecond)}/s on average): ${usd(e.atLoad.total)} a month (floor ${usd(e.floor.total)} + load ${usd(e.atLoad.total - e.floor.total)})`);
  out.push('  Assumptions (set each with its flag, or any with --assume key=value):');
  const rows = ASSUMPTIONS.map((x) => [`  ${x.label}`, assumptionValue(a, x.key, x.key === 'albLcus' ? `computed: ${qty(e.load.lcusPerLoadBalancer)}` : x.key === 'serverlessAcus' ? 'the minimum' : undefined), x.unit, x.flag ?? `--assume ${x.key}=…`]);
  out.push(indent(table(alignRight(rows, [1]))));
  const fleets = Object.entries(e.load.fleetInstances).map(([k, v]) => `${k} ${v}`).join(', ');
  out.push(`  Derived: ${e.load.originRequestsPerMonth.toLocaleString('en-US')} requests reach the load balancers, split evenly over ${e.load.servingRegions.length} region(s)${e.load.servingRegions.length ? ` (${e.load.servingRegions.join(', ')})` : ''}${fleets ? `; average instances at this load: ${fleets}` : ''}.`);
  out.push(load.length ? lineTable(load) : '  (nothing added)', '', 'At load by region and tier ($/month):', tierTable(e.atLoad));
  if (e.unpriced.length) {
    out.push('', 'NOT PRICED (not in the totals):');
    for (const u of e.unpriced) out.push(`  ${u.region}: ${u.what} × ${u.count}`);
  }
  for (const w of e.warnings) out.push(`warning: ${w}`);
  out.push('', 'Not counted: taxes, support plans, the hosted zone (yours), free tiers and discounts, S3 storage of logs and assets, backups within the retention (free up to the cluster size), KMS and Secrets Manager API calls. See docs/cost.md.');
  return `${out.join('\n')}\n`;
}

/** The difference between two totals, by region and tier (other − base). */
export function totalsDifference(base: CostTotals, other: CostTotals): CostTotals {
  const regions: CostTotals['regions'] = {};
  for (const region of new Set([...Object.keys(base.regions), ...Object.keys(other.regions)])) {
    const b = base.regions[region];
    const o = other.regions[region];
    const tiers = Object.fromEntries(COST_TIERS.map((t) => [t, (o?.tiers[t] ?? 0) - (b?.tiers[t] ?? 0)])) as Record<CostTier, number>;
    regions[region] = { total: (o?.total ?? 0) - (b?.total ?? 0), tiers };
  }
  return { total: other.total - base.total, regions };
}

function diffTable(base: CostTotals, other: CostTotals, baseName: string, otherName: string): string {
  const diff = totalsDifference(base, other);
  const rows = [['REGION', 'TIER', baseName, otherName, 'DIFFERENCE']];
  for (const [region, d] of Object.entries(diff.regions)) {
    for (const t of COST_TIERS) {
      if (Math.abs(d.tiers[t]) < 0.005) continue;
      rows.push([region, t, usd(base.regions[region]?.tiers[t] ?? 0), usd(other.regions[region]?.tiers[t] ?? 0), signedUsd(d.tiers[t])]);
    }
  }
  rows.push(['all regions', 'total', usd(base.total), usd(other.total), signedUsd(diff.total)]);
  return indent(table(alignRight(rows, [2, 3, 4])));
}

/** The human-readable difference between two estimates: totals, then by region and tier, floor and at load. */
export function renderDifference(base: CostEstimate, other: CostEstimate, baseName: string, otherName: string): string {
  const out: string[] = [`Cost difference: ${baseName} → ${otherName}`, ...priceHeader(base), ''];
  const floorDiff = other.floor.total - base.floor.total;
  const loadDiff = other.atLoad.total - base.atLoad.total;
  out.push(`Floor: ${usd(base.floor.total)} → ${usd(other.floor.total)} a month (${signedUsd(floorDiff)}${base.floor.total > 0 ? `, ×${(other.floor.total / base.floor.total).toFixed(2)}` : ''})`);
  out.push(diffTable(base.floor, other.floor, baseName, otherName), '');
  out.push(`At ${base.assumptions.requestsPerMonth.toLocaleString('en-US')} requests a month: ${usd(base.atLoad.total)} → ${usd(other.atLoad.total)} (${signedUsd(loadDiff)})`);
  out.push(diffTable(base.atLoad, other.atLoad, baseName, otherName));
  const unpriced = [...base.unpriced.map((u) => `${baseName}: ${u.region}: ${u.what} × ${u.count}`), ...other.unpriced.map((u) => `${otherName}: ${u.region}: ${u.what} × ${u.count}`)];
  if (unpriced.length) out.push('', 'NOT PRICED (not in the totals):', ...unpriced.map((u) => `  ${u}`));
  for (const w of new Set([...base.warnings, ...other.warnings])) out.push(`warning: ${w}`);
  return `${out.join('\n')}\n`;
}
