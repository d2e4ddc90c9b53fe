import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../lib/app';
import { main } from '../../../lib/capacity/cli';
import { ExitCode } from '../../../lib/capacity/errors';
import { isSizingField, resolveConfig, type AppConfig } from '../../../lib/config';
import { parseJsonText } from '../../../lib/config/json-text';
import { testApp } from '../../helpers/app';
import { capture, mockAws, shopValues } from './helpers';

const CONFIG_DIR = join(__dirname, '..', '..', '..', 'config');
const EXAMPLES = readdirSync(CONFIG_DIR).filter((f) => f.endsWith('.json')).sort();

type Json = unknown;
const isObject = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A list item's name in a path: services and queues by `name`, shards by `id` (or `s<i>`). */
function itemKey(list: Json[], i: number, path: string): string {
  const item = list[i];
  if (!isObject(item)) return String(i);
  if (path === 'database.shards') return typeof item.id === 'string' ? item.id : `s${i}`;
  return typeof item.name === 'string' ? item.name : String(i);
}

/** Every path where `a` and `b` differ (leaves, and list items only one of them has), written like `services[api].maxCapacity`. */
function differences(a: Json, b: Json, path = ''): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  // A section or block the base leaves out (its defaults apply) is compared key by key with what plan wrote there.
  if (a === undefined && isObject(b)) return differences({}, b, path);
  if (isObject(a) && isObject(b)) {
    return [...new Set([...Object.keys(a), ...Object.keys(b)])].flatMap((k) => differences(a[k], b[k], path ? `${path}.${k}` : k));
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const out: string[] = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const list = i < a.length ? a : b;
      const p = `${path}[${itemKey(list, i, path)}]`;
      if (i >= a.length || i >= b.length) out.push(p);
      else out.push(...differences(a[i], b[i], p));
    }
    return out;
  }
  // A count of shards that became the list of shards it stands for (plus new ones) is one change.
  return [path];
}

/** What plan may change: a sizing field, or an item added to services, queues or database.shards. */
function allowed(path: string): boolean {
  return isSizingField(path) || /^(services|queues|database\.shards)\[[^\]]+\]$/.test(path);
}

// Every example config, planned for a peak that raises some sizes and lowers others, adds shards where the writes
// need them and sizes the queue's workers: the file written must keep everything but sizes, validate and synthesize.
describe.each(EXAMPLES)('s2m plan --config config/%s', (file) => {
  const path = join(CONFIG_DIR, file);
  const baseText = readFileSync(path, 'utf8');
  const base = JSON.parse(baseText) as Record<string, Json>;
  let text: string;
  let planned: Record<string, Json>;
  let resolved: AppConfig;

  beforeAll(async () => {
    const files: Record<string, string> = {};
    const io = capture(mockAws([], shopValues), { files });
    const code = await main(['plan', '--config', path, '--peak-rps', '20000', '--read-ratio', '0.9', '--jobs-per-second', '20', '--out', 'planned.json'], io.deps);
    expect(io.err()).toBe('');
    expect(code).toBe(ExitCode.ok);
    text = files['planned.json'];
    planned = JSON.parse(text) as Record<string, Json>;
  });

  it('writes a config the validator accepts', () => {
    resolved = resolveConfig(planned);
    expect(resolved.name).toBe(base.name);
  });

  it('loses nothing: every section, key and value but the sizes is as the base has it', () => {
    expect(Object.keys(planned).slice(0, Object.keys(base).length)).toEqual(Object.keys(base));
    const changed = differences(base, planned);
    expect(changed.length).toBeGreaterThan(0);
    expect(changed.filter((p) => !allowed(p))).toEqual([]);
  });

  it('keeps every section it did not resize byte for byte', () => {
    const { root } = parseJsonText(baseText);
    for (const m of root.members!) {
      if (JSON.stringify(base[m.key]) !== JSON.stringify(planned[m.key])) continue;
      expect(text).toContain(baseText.slice(m.keyStart, m.value.end));
    }
  });

  it('synthesizes', () => {
    const app = testApp();
    buildApp(app, resolveConfig(planned), { nagChecks: false });
    expect(() => app.synth()).not.toThrow();
  });
});

describe('s2m plan sizes readers by the Global Database the config has, not its stage\'s preset', () => {
  it.each([['480'], ['460'], ['450']])('plans config/millions.json (stage millions, a global database over 3 regions) within 13 readers at --reader-qps %s', async (readerQps) => {
    // 15 replicas less the 2 secondary regions: the plan took 15 from the millions preset (no global database) and
    // wrote a config the validator refused
    const files: Record<string, string> = {};
    const io = capture(mockAws([], shopValues), { files });
    const code = await main(['plan', '--config', join(CONFIG_DIR, 'millions.json'), '--peak-rps', '20000', '--read-ratio', '0.99', '--cache-hit-ratio', '0', '--reader-qps', readerQps, '--out', 'planned.json'], io.deps);
    expect(io.err()).toBe('');
    expect(code).toBe(ExitCode.ok);
    const resolved = resolveConfig(JSON.parse(files['planned.json']!) as Record<string, Json>);
    expect(resolved.database.autoScaling?.maxReaders).toBeLessThanOrEqual(13);
  });
});
