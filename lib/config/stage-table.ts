import { PRESETS, type StagePreset } from './presets';
import { STAGES, type Stage } from './types';

/** Readable row labels of preset fields (by dotted path); a field with none is shown by its path. */
export const STAGE_TABLE_LABELS: Readonly<Record<string, string>> = {
  'azs': 'AZs per region',
  'minAzs': 'fewest AZs accepted (fewer is a config error)',
  'natGateways': 'NAT gateways (or instances) per region',
  'natProvider': 'NAT: managed gateways or EC2 instances',
  'interfaceEndpoints': 'interface endpoints per region (`network.interfaceEndpoints`)',
  'minRegions': 'regions (fewer gets a `stage-regions` warning)',
  'dns.routing': 'DNS routing between regions',
  'dns.failureThreshold': 'health check failure threshold',
  'dns.requestInterval': 'health check interval (s)',
  'web.instanceType': 'web instance type',
  'web.minCapacity': 'web min capacity per service',
  'web.maxCapacity': 'web max capacity per service',
  'web.deletionProtection': 'ALB deletion protection',
};

/** `{ a: { b: 1 } }` → `[['a.b', 1]]`. */
function flatten(o: object, prefix = ''): Array<[string, unknown]> {
  return Object.entries(o).flatMap(([k, v]): Array<[string, unknown]> => {
    const path = prefix ? `${prefix}.${k}` : k;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? flatten(v as object, path) : [[path, v]];
  });
}

function cell(v: unknown): string {
  if (typeof v === 'boolean') return v ? 'on' : 'off';
  if (Array.isArray(v)) return v.length > 0 ? v.join(', ') : 'none';
  return String(v);
}

/** A row of the stage table that does not come from the presets (e.g. the floor cost `s2m cost` computes). */
export interface StageTableRow {
  /** The row's label (Markdown). */
  readonly label: string;
  /** The cell of each stage. */
  readonly values: Readonly<Record<Stage, string>>;
}

/**
 * The stage presets as a Markdown table (one row per preset field, one column per stage), for the
 * README and docs/stages.md: every tier's preset block appears as soon as it is added to `PRESETS`.
 * `rows` come first (scripts/stages.ts adds the floor cost of each stage's example config).
 */
export function renderStageTable(presets: Readonly<Record<Stage, StagePreset>> = PRESETS, rows: readonly StageTableRow[] = []): string {
  const columns = STAGES.map((s) => new Map(flatten(presets[s])));
  const paths = [...new Set(STAGES.flatMap((s) => flatten(presets[s]).map(([p]) => p)))];
  const lines = [`| | ${STAGES.join(' | ')} |`, `| --- |${STAGES.map(() => ' --- |').join('')}`];
  for (const row of rows) lines.push(`| ${row.label} | ${STAGES.map((s) => row.values[s]).join(' | ')} |`);
  for (const p of paths) lines.push(`| ${STAGE_TABLE_LABELS[p] ?? `\`${p}\``} | ${columns.map((c) => (c.has(p) ? cell(c.get(p)) : '–')).join(' | ')} |`);
  return `${lines.join('\n')}\n`;
}
