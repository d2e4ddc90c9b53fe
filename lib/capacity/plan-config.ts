/**
 * `s2m plan` writes its sizes into a config as a merge: it raises or lowers the sizing fields it owns
 * (`SIZING` in lib/config/sizing.ts) and keeps everything else of the file byte for byte: key order,
 * formatting, sections it knows nothing of. The result is validated before it is returned.
 */
import {
  ConfigError,
  PRESETS,
  SIZING,
  formatConfigPath,
  getConfigValue,
  resolveConfig,
  setConfigValue,
  stageWarningId,
  type AppConfig,
  type ConfigPath,
} from '../config';
import { pascalId } from '../../constructs/sharding';
import { patchText } from './json-edit';
import { AURORA_POSTGRES_MAX_CONNECTIONS, FORWARDED_SESSIONS_PERCENT, forwardedSessionBudget, forwardingPoolMax } from '../config/limits';
import { DATABASE_KEYS, RUNTIME_POOL_MAX } from '../runtime/contract';
import type { CapacityPlan, PlanInput } from './plan';

/** The config a plan starts from (`--config`). */
export interface PlanBase {
  /** The file's text, kept byte for byte outside the sizes the plan changes. */
  readonly text: string;
  /** The file's JSON. */
  readonly raw: Record<string, unknown>;
  /** The file's config with its defaults resolved. */
  readonly resolved: AppConfig;
}

/** One sizing field the plan changed. */
export interface SizeChange {
  /** e.g. `services[api].maxCapacity`. */
  readonly path: string;
  /** The value in effect before (the config's, or its default); `undefined` for an item the plan adds. */
  readonly from: unknown;
  readonly to: unknown;
}

/** The merged config. */
export interface PlannedConfig {
  /** The config (JSON-ready), validated by `resolveConfig`. */
  readonly config: Record<string, unknown>;
  /** The file to write: the base's text with only the changes applied, or a new file. */
  readonly text: string;
  /** Every sizing field the plan changed, in order. */
  readonly changes: readonly SizeChange[];
  /** What the plan kept on purpose, and what to do next (e.g. backfill a new shard). */
  readonly notes: readonly string[];
}

type Loose = Record<string, unknown>;
const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** A new config for `input` when no base is given: name, stage, regions and the planned services. */
function freshBase(input: PlanInput): PlanBase {
  const raw: Loose = {
    name: input.name,
    stage: input.stage,
    regions: input.regions.map((region, idx) => ({ region, vpcCidr: `10.${idx}.0.0/16` })),
    services: input.services.map((s, idx) => ({
      name: s.name,
      ...(idx === 0 ? {} : { pathPatterns: [`/${s.name}/*`] }),
      instanceType: input.instanceType,
    })),
  };
  return { text: `${JSON.stringify(raw, null, 2)}\n`, raw, resolved: resolveConfig(raw) };
}

/**
 * Merges `plan` into `base` (a new config when absent). Sizing fields only: services' capacities and
 * request targets, database readers, reader autoscaling bounds and shards (only ever more), cache node
 * type, shards, replicas and their autoscaling bounds, the queue's worker capacity; a planned service or
 * queue the base lacks is added. Throws `ConfigError` when the base is invalid, and an `Error` if the
 * merged config does not validate (a bug: every input is checked before).
 */
export function planToConfig(input: PlanInput, plan: CapacityPlan, base?: PlanBase): PlannedConfig {
  const fresh = base === undefined;
  const from = base ?? freshBase(input);
  const before = from.resolved;
  const out = structuredClone(from.raw) as Loose;
  const changes: SizeChange[] = [];
  const notes: string[] = [];

  /** Writes `to` at `path` unless the value in effect is already `to`; `was` is the value in effect. */
  const set = (path: ConfigPath, to: unknown, was: unknown): void => {
    const written = getConfigValue(out, path);
    // A base leaves a default in place when it already is the planned size; a new file says every size.
    if (same(written === undefined && !fresh ? was : written, to)) return;
    setConfigValue(out, path, to);
    changes.push({ path: formatConfigPath(path), from: was, to });
  };

  mergeServices(input, plan, before, out, set, changes, notes, fresh);
  mergeDatabase(plan, before, out, set, changes, notes, fresh);
  mergeCache(plan, before, out, set, notes);
  if (plan.queue) mergeQueue(plan.queue, before, out, set, changes, notes);

  let resolved: AppConfig;
  try {
    resolved = resolveConfig(out);
  } catch (e) {
    const issues = e instanceof ConfigError ? e.message.split('\n').slice(1).join('; ') : (e as Error).message;
    throw new Error(`the planned config does not validate (a bug in s2m plan, please report it): ${issues}`, { cause: e });
  }
  checkApplied(plan, resolved);
  notes.push(...forwardingNotes(resolved));
  const text = fresh ? `${JSON.stringify(out, null, 2)}\n` : patchText(from.text, from.raw, out);
  if (!same(JSON.parse(text), out)) throw new Error('the planned config file does not hold the planned config (a bug in s2m plan, please report it)');
  return { config: out, text, changes, notes };
}

type Setter = (path: ConfigPath, to: unknown, was: unknown) => void;

function mergeServices(input: PlanInput, plan: CapacityPlan, before: AppConfig, out: Loose, set: Setter, changes: SizeChange[], notes: string[], fresh: boolean): void {
  // A config without `services` has one implicit service `web`; it is written out when the plan sizes it.
  if (!Array.isArray(out.services)) out.services = [{ name: 'web' }];
  const list = out.services as Loose[];
  const priorities = before.services.filter((s) => !s.isDefault).map((s) => s.priority);
  let nextPriority = Math.max(0, ...priorities) + 10;
  for (const s of plan.services) {
    const existing = before.services.find((b) => b.name === s.name);
    // A schedule that sets one bound only, and a warm pool, must fit the service's other bound (the validator's rule).
    const schedules = existing?.scheduledScaling ?? [];
    let max = s.maxCapacity;
    const floor = Math.max(0, ...schedules.filter((x) => x.maxCapacity === undefined).map((x) => x.minCapacity ?? 0), existing?.warmPool?.minSize ?? 0);
    if (floor > max) {
      notes.push(`services[${s.name}].maxCapacity is held at ${floor}, above the ${max} the peak needs: its scheduled scaling or warm pool needs that many`);
      max = floor;
    }
    let min = s.minCapacity;
    const ceiling = Math.min(max, ...schedules.filter((x) => x.minCapacity === undefined).map((x) => x.maxCapacity ?? max));
    if (ceiling < min) {
      notes.push(`services[${s.name}].minCapacity is held at ${ceiling}, below the ${min} planned: a scheduled action lowers the maximum to ${ceiling}`);
      min = ceiling;
    }
    const cpu = input.targetCpuPercent !== undefined ? { targetCpuPercent: input.targetCpuPercent } : {};
    if (!list.some((x) => x.name === s.name)) {
      // A service the base lacks: routed by /<name>/* with a priority after every other rule, every size written.
      const item = { name: s.name, pathPatterns: [`/${s.name}/*`], priority: nextPriority, instanceType: input.instanceType, minCapacity: min, maxCapacity: max, targetRequestsPerInstance: s.targetRequestsPerInstance, ...cpu };
      list.push(item);
      changes.push({ path: `services[${s.name}]`, from: undefined, to: structuredClone(item) });
      nextPriority += 10;
      continue;
    }
    const preset = PRESETS[before.stage].web;
    set(SIZING.service.minCapacity(s.name), min, existing?.minCapacity ?? preset.minCapacity);
    set(SIZING.service.maxCapacity(s.name), max, existing?.maxCapacity ?? preset.maxCapacity);
    set(SIZING.service.targetRequestsPerInstance(s.name), s.targetRequestsPerInstance, existing?.targetRequestsPerInstance ?? 1000);
    if (input.targetCpuPercent !== undefined) set(SIZING.service.targetCpuPercent(s.name), input.targetCpuPercent, existing?.targetCpuPercent ?? 50);
  }
  if (!fresh) {
    for (const b of before.services) {
      if (!plan.services.some((s) => s.name === b.name)) notes.push(`services[${b.name}] is kept as it is: --services gives it no share of the load`);
    }
  }
}

function mergeDatabase(plan: CapacityPlan, before: AppConfig, out: Loose, set: Setter, changes: SizeChange[], notes: string[], fresh: boolean): void {
  const d = plan.database;
  const db = before.database;
  const rawShards = getConfigValue(out, SIZING.database.shards);
  if (db.autoScaling) {
    const hasMin = getConfigValue(out, SIZING.database.minReaders) !== undefined;
    set(SIZING.database.readers, d.readers, db.readers);
    set(SIZING.database.maxReaders, d.maxReaders, db.autoScaling.maxReaders);
    if (hasMin) set(SIZING.database.minReaders, d.readers, db.autoScaling.minReaders);
  } else {
    set(SIZING.database.readers, d.maxReaders, db.readers);
    if (d.maxReaders !== d.readers) notes.push(`database.autoScaling is off, so database.readers holds the peak's ${d.maxReaders} readers all the time; with reader autoscaling ${d.readers} would be kept warm`);
  }
  const secondaries = db.globalDatabase.enabled ? before.regions.filter((r) => r.region !== db.globalDatabase.writerRegion).map((r) => r.region) : [];
  if (db.autoScaling && secondaries.length > 0 && d.maxReaders > d.readers) {
    notes.push(`Aurora does not autoscale a Global Database secondary's readers: ${secondaries.join(', ')} keep database.readers (${d.readers}) readers, where their reads at the peak need ${d.maxReaders}; only ${db.globalDatabase.writerRegion} scales to database.autoScaling.maxReaders. Raise database.readers to ${d.maxReaders} if the secondaries must carry the peak (the writer region then keeps that many warm too)`);
  }
  // Shards that set their own readers or autoscaling get the same per-cluster sizes.
  if (Array.isArray(rawShards)) {
    db.shards.forEach((shard, idx) => {
      const item = (rawShards as Loose[])[idx];
      if (typeof item !== 'object' || item === null) return;
      const scaling = item.autoScaling;
      if (scaling === false || (scaling === undefined && !db.autoScaling)) {
        if (item.readers !== undefined) set(SIZING.shard.readers(shard.id), d.maxReaders, shard.readers);
        return;
      }
      if (item.readers !== undefined) set(SIZING.shard.readers(shard.id), d.readers, shard.readers);
      if (typeof scaling === 'object' && scaling !== null && shard.autoScaling) {
        if ((scaling as Loose).maxReaders !== undefined) set(SIZING.shard.maxReaders(shard.id), d.maxReaders, shard.autoScaling.maxReaders);
        if ((scaling as Loose).minReaders !== undefined) set(SIZING.shard.minReaders(shard.id), d.readers, shard.autoScaling.minReaders);
      }
    });
  }
  const existing = db.shards.length;
  if (d.shards > existing) {
    if (fresh) {
      set(SIZING.database.shards, d.shards, existing);
      return;
    }
    // New shards join outside the shard map: the application routes no key to them until their data is
    // copied over and they are listed (inShardMap: true) with a new shardMapEpoch (docs/sharding-infra.md).
    // An id must not name the same resources as an existing one (`s-3` and `s3` are both `ShardS3`).
    const taken = new Set(db.shards.map((s) => pascalId(s.id)));
    const added: Loose[] = [];
    for (let k = existing; added.length < d.shards - existing; k++) if (!taken.has(pascalId(`s${k}`))) added.push({ id: `s${k}`, inShardMap: false });
    const was = rawShards;
    const list = Array.isArray(was) ? [...(was as unknown[])] : db.shards.map((s) => ({ id: s.id }));
    const shards = [...list, ...added];
    setConfigValue(out, SIZING.database.shards, shards);
    changes.push({ path: formatConfigPath(SIZING.database.shards), from: was ?? existing, to: shards });
    notes.push(`database.shards: ${added.map((a) => a.id).join(', ')} added with inShardMap: false, because the writes need ${d.shards} shards; copy their keys over, then set inShardMap: true and bump database.shardMapEpoch (docs/sharding-infra.md, "Adding a shard")`);
  } else if (d.shardsForWrites < existing && !fresh) {
    notes.push(`database.shards stays at ${existing} (the writes need ${d.shardsForWrites}): the plan never removes a shard, that moves its data`);
  }
}

function mergeCache(plan: CapacityPlan, before: AppConfig, out: Loose, set: Setter, notes: string[]): void {
  const c = plan.cache;
  const cache = before.cache;
  set(SIZING.cache.nodeType, c.nodeType, cache.nodeType);
  set(SIZING.cache.shards, c.shards, cache.shards);
  set(SIZING.cache.replicasPerShard, c.replicasPerShard, cache.replicasPerShard);
  // Explicit autoscaling bounds move just enough to hold the planned size (unset ones follow it).
  const scaling = getConfigValue(out, ['cache', 'autoScaling']) as Loose | undefined;
  if (cache.autoScaling && scaling) {
    const bound = (path: ConfigPath, value: unknown, ok: (v: number) => boolean, to: number, was: number) => {
      if (typeof value === 'number' && !ok(value)) {
        set(path, to, was);
        notes.push(`${formatConfigPath(path)} moves to ${to} to hold the planned size`);
      }
    };
    bound(SIZING.cache.minShards, scaling.minShards, (v) => v <= c.shards, c.shards, cache.autoScaling.minShards);
    bound(SIZING.cache.maxShards, scaling.maxShards, (v) => v >= c.shards, c.shards, cache.autoScaling.maxShards);
    bound(SIZING.cache.minReplicasPerShard, scaling.minReplicasPerShard, (v) => v <= c.replicasPerShard, c.replicasPerShard, cache.autoScaling.minReplicasPerShard);
    bound(SIZING.cache.maxReplicasPerShard, scaling.maxReplicasPerShard, (v) => v >= c.replicasPerShard, c.replicasPerShard, cache.autoScaling.maxReplicasPerShard);
  }
}

function mergeQueue(q: NonNullable<CapacityPlan['queue']>, before: AppConfig, out: Loose, set: Setter, changes: SizeChange[], notes: string[]): void {
  const preset = PRESETS[before.stage].queues.workers;
  const existing = before.queues.find((x) => x.name === q.name);
  if (!existing) {
    const item = {
      name: q.name,
      averageProcessingSeconds: q.averageProcessingSeconds,
      acceptableLatencySeconds: q.acceptableLatencySeconds,
      workers: { maxCapacity: Math.max(q.maxWorkers, preset.minCapacity) },
    };
    if (!Array.isArray(out.queues)) out.queues = [];
    (out.queues as Loose[]).push(item);
    changes.push({ path: `queues[${q.name}]`, from: undefined, to: structuredClone(item) });
    return;
  }
  for (const [field, kept, used] of [['averageProcessingSeconds', existing.averageProcessingSeconds, q.averageProcessingSeconds], ['acceptableLatencySeconds', existing.acceptableLatencySeconds, q.acceptableLatencySeconds]] as const) {
    if (kept !== used) notes.push(`queues[${q.name}].${field} stays ${kept} (not a size); the workers are sized for the ${used} s given`);
  }
  const rawMin = getConfigValue(out, SIZING.queue.minWorkers(q.name));
  let max = q.maxWorkers;
  if (rawMin === undefined) max = Math.max(max, existing.workers.minCapacity);
  else if (typeof rawMin === 'number' && rawMin > max) set(SIZING.queue.minWorkers(q.name), max, existing.workers.minCapacity);
  set(SIZING.queue.maxWorkers(q.name), max, existing.workers.maxCapacity);
}

/** Every planned size is what the merged config resolves to (defaults included). */
function checkApplied(plan: CapacityPlan, r: AppConfig): void {
  const wrong: string[] = [];
  for (const s of plan.services) {
    const got = r.services.find((x) => x.name === s.name);
    if (!got || got.minCapacity > s.minCapacity || got.maxCapacity < s.maxCapacity || got.targetRequestsPerInstance !== s.targetRequestsPerInstance) wrong.push(`services[${s.name}]`);
  }
  if (r.database.shards.length < plan.database.shards) wrong.push('database.shards');
  if (r.cache.shards !== plan.cache.shards || r.cache.nodeType !== plan.cache.nodeType || r.cache.replicasPerShard !== plan.cache.replicasPerShard) wrong.push('cache');
  if (plan.queue) {
    const q = r.queues.find((x) => x.name === plan.queue!.name);
    if (!q || q.workers.maxCapacity < plan.queue.maxWorkers) wrong.push(`queues[${plan.queue.name}]`);
  }
  if (wrong.length) throw new Error(`the planned config does not hold the planned sizes of ${wrong.join(', ')} (a bug in s2m plan, please report it)`);
}

/**
 * What the planned fleets may ask of an Aurora PostgreSQL writer through write forwarding: the sessions each runtime
 * process in the secondaries may hold (docs/aurora.md, "Connection budgets"), and the pool size the data stacks
 * publish for it, when that is less than the runtime opens by default; nothing when the default fits or nothing
 * forwards.
 */
export function forwardingNotes(config: AppConfig): string[] {
  const b = forwardedSessionBudget(config);
  const poolMax = forwardingPoolMax(config);
  if (!b || poolMax === undefined) return [];
  const w = b.writers.reduce((a, x) => (x.sessions < a.sessions ? x : a));
  if (poolMax >= RUNTIME_POOL_MAX) return [];
  const writer = w.instanceType === 'serverless' ? `a Serverless v2 writer at ${config.database.serverlessMaxCapacity} ACUs` : `a db.${w.instanceType} writer`;
  const head = `write forwarding: at their maxCapacity the fleets of the ${b.secondaries.length} secondary region(s) (${b.secondaries.join(', ')}) run up to ${b.processes} runtime processes (${b.processesPerRegion} per region), and ${writer}${config.database.shards.length > 1 ? ` (shard ${w.shard})` : ''} takes ${w.sessions} forwarded sessions from all of them (${FORWARDED_SESSIONS_PERCENT} % of max_connections, about ${w.maxConnections})`;
  // A writer at Aurora's ceiling of connections gains none from a larger class.
  const larger = w.maxConnections < AURORA_POSTGRES_MAX_CONNECTIONS ? 'a larger writer (database.instanceType)' : undefined;
  if (b.sessionsPerProcess < 1) {
    return [`${head}: fewer than one per process, so a peak of writes from the secondaries is refused (the synth warns: ${stageWarningId('forwarded-sessions')}). Choose ${larger ? `${larger} or ` : ''}smaller fleets`];
  }
  const published = `the data stacks publish ${DATABASE_KEYS.forwardingPoolMax} ${poolMax}, and the runtime holds each of a process's two forwarding pools (forward and global) to it instead of ${RUNTIME_POOL_MAX} connections, unless the application sets forwarding.poolMax`;
  const short = 2 * poolMax > b.sessionsPerProcess;
  return [`${head}: ${b.sessionsPerProcess} per process; ${published}${short ? ` (${2 * poolMax} a process, still more than ${b.sessionsPerProcess}: ${larger ? `${larger} or ` : ''}smaller fleets would fit)` : ''}. A forwarded write that finds its pool full waits for a connection (pool.connectionTimeoutMs) rather than being refused`];
}
