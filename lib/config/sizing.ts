/**
 * The sizing fields of a config: the paths `s2m plan` writes and `s2m report` recommends, in one place.
 * Every key is checked against the config's input types by the compiler, and test/lib/config/sizing.test.ts
 * checks that the validator accepts every path and that the value lands in the resolved config, so the
 * tools and the schema cannot drift apart.
 */
import type { CacheAutoScalingInput, CacheInput } from './sections/cache';
import type { DatabaseAutoScalingInput, DatabaseInput } from './sections/database';
import type { QueueInput, WorkersInput } from './sections/queues';
import type { DatabaseShardInput } from './sections/sharding';
import type { AppConfigInput, ServiceInput } from './types';

/** One step into a config: an object key, or the list item with this `name` (services, queues) or `id` (shards). */
export type ConfigPathStep = string | { readonly name: string } | { readonly id: string };

/** A path into a config, e.g. `['services', { name: 'api' }, 'maxCapacity']`. */
export type ConfigPath = readonly ConfigPathStep[];

/** `services[api].maxCapacity`: how messages, `s2m report` and docs write a path. */
export function formatConfigPath(path: ConfigPath): string {
  let out = '';
  for (const step of path) {
    if (typeof step === 'string') out += out ? `.${step}` : step;
    else out += `[${'name' in step ? step.name : step.id}]`;
  }
  return out;
}

type Loose = Record<string, unknown>;
const isObject = (v: unknown): v is Loose => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The index of a list item by `name`, or by `id` (a shard without one has the id `s<index>`). */
function itemIndex(list: unknown[], step: { readonly name: string } | { readonly id: string }): number {
  return list.findIndex((item, i) => isObject(item) && ('name' in step ? item.name === step.name : (item.id ?? `s${i}`) === step.id));
}

/** The value at `path` in a raw config, or undefined. */
export function getConfigValue(raw: unknown, path: ConfigPath): unknown {
  let v: unknown = raw;
  for (const step of path) {
    if (typeof step === 'string') v = isObject(v) ? v[step] : undefined;
    else v = Array.isArray(v) ? v[itemIndex(v, step)] : undefined;
    if (v === undefined) return undefined;
  }
  return v;
}

/**
 * Sets `value` at `path` in a raw config, creating the objects on the way; a list item must already
 * exist. Throws when a step meets something else than an object (or list) to step into.
 */
export function setConfigValue(raw: Loose, path: ConfigPath, value: unknown): void {
  let v: Loose = raw;
  path.forEach((step, i) => {
    const last = i === path.length - 1;
    if (typeof step === 'string') {
      if (last) {
        v[step] = value;
        return;
      }
      if (v[step] === undefined) v[step] = typeof path[i + 1] === 'string' ? {} : [];
      const next = v[step];
      if (!isObject(next) && !Array.isArray(next)) throw new Error(`setConfigValue: ${formatConfigPath(path.slice(0, i + 1))} is not an object (got: ${JSON.stringify(next)})`);
      v = next as Loose;
      return;
    }
    const list = v as unknown as unknown[];
    const idx = Array.isArray(list) ? itemIndex(list, step) : -1;
    if (idx < 0) throw new Error(`setConfigValue: no item ${formatConfigPath(path.slice(0, i + 1))}`);
    if (last) list[idx] = value;
    else v = list[idx] as Loose;
  });
}

/** A key of `T`, checked by the compiler. */
const key = <T>() => <K extends keyof T & string>(k: K): K => k;
const root = key<AppConfigInput>();
const svc = key<ServiceInput>();
const db = key<DatabaseInput>();
const dbScaling = key<DatabaseAutoScalingInput>();
const shard = key<DatabaseShardInput>();
const cache = key<CacheInput>();
const cacheScaling = key<CacheAutoScalingInput>();
const queue = key<QueueInput>();
const workers = key<WorkersInput>();

const service = (k: keyof ServiceInput & string) => (name: string): ConfigPath => [root('services'), { name }, svc(k)];
const shardPath = (...rest: string[]) => (id: string): ConfigPath => [root('database'), db('shards'), { id }, ...rest];

/**
 * The sizing fields: what `s2m plan` raises or lowers, and the fields `s2m report` recommends. Nothing
 * else of a config is a size: plan keeps every other byte of the file.
 */
export const SIZING = {
  service: {
    minCapacity: service('minCapacity'),
    maxCapacity: service('maxCapacity'),
    targetRequestsPerInstance: service('targetRequestsPerInstance'),
    targetCpuPercent: service('targetCpuPercent'),
  },
  database: {
    readers: [root('database'), db('readers')] as ConfigPath,
    minReaders: [root('database'), db('autoScaling'), dbScaling('minReaders')] as ConfigPath,
    maxReaders: [root('database'), db('autoScaling'), dbScaling('maxReaders')] as ConfigPath,
    /** A count, or the list of shards (plan only appends to it). */
    shards: [root('database'), db('shards')] as ConfigPath,
  },
  shard: {
    readers: shardPath(shard('readers')),
    minReaders: shardPath(shard('autoScaling'), dbScaling('minReaders')),
    maxReaders: shardPath(shard('autoScaling'), dbScaling('maxReaders')),
  },
  cache: {
    nodeType: [root('cache'), cache('nodeType')] as ConfigPath,
    shards: [root('cache'), cache('shards')] as ConfigPath,
    replicasPerShard: [root('cache'), cache('replicasPerShard')] as ConfigPath,
    minShards: [root('cache'), cache('autoScaling'), cacheScaling('minShards')] as ConfigPath,
    maxShards: [root('cache'), cache('autoScaling'), cacheScaling('maxShards')] as ConfigPath,
    minReplicasPerShard: [root('cache'), cache('autoScaling'), cacheScaling('minReplicasPerShard')] as ConfigPath,
    maxReplicasPerShard: [root('cache'), cache('autoScaling'), cacheScaling('maxReplicasPerShard')] as ConfigPath,
  },
  queue: {
    minWorkers: (name: string): ConfigPath => [root('queues'), { name }, queue('workers'), workers('minCapacity')],
    maxWorkers: (name: string): ConfigPath => [root('queues'), { name }, queue('workers'), workers('maxCapacity')],
  },
} as const;

/** Lists plan may append items to (a new service, queue or shard), besides changing sizing fields. */
export const SIZING_LISTS: readonly ConfigPath[] = [[root('services')], [root('queues')], [root('database'), db('shards')]];

/** Every sizing field with `*` for the item (`services[*].maxCapacity`), for docs and checks. */
export function sizingFieldPatterns(): string[] {
  const out: string[] = [];
  for (const group of Object.values(SIZING)) {
    for (const f of Object.values(group)) out.push(formatConfigPath(typeof f === 'function' ? f('*') : f));
  }
  return out;
}

/** True when `path` (formatted, e.g. `services[api].minCapacity`) is a sizing field. */
export function isSizingField(path: string): boolean {
  return sizingFieldPatterns().includes(path.replace(/\[[^\]]*\]/g, '[*]'));
}
