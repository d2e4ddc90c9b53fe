/**
 * The narrow view of the app config the `s2m` CLI needs. The web tier comes from the resolved
 * `AppConfig`; the database, cache and queue tiers are read defensively (any missing or mistyped field
 * falls back to a documented default) so the CLI works whatever stage of the config schema it meets.
 */
import { maxReadersPerCluster, type AppConfig } from '../config';

/** A web service: its fleet limits and scaling targets. */
export interface ServiceView {
  readonly name: string;
  readonly minCapacity: number;
  readonly maxCapacity: number;
  /** Target average CPU % of the fleet's target tracking. */
  readonly targetCpuPercent: number;
  /** Target ALB requests per instance per minute. */
  readonly targetRequestsPerInstance: number;
}

/** The database tier (Aurora writer + readers, optionally several shards). */
export interface DatabaseView {
  /** Readers per cluster as configured (the floor of reader autoscaling). */
  readonly readers: number;
  /** Most readers per cluster reader autoscaling may add. */
  readonly maxReaders: number;
  /** Most readers a cluster may have: Aurora's 15, minus the secondary regions of a global database. */
  readonly readerLimit: number;
  /** Shards (clusters); 1 when unsharded. */
  readonly shards: number;
  /** Average reader CPU % reader autoscaling targets. */
  readonly targetReaderCpuPercent: number;
  /** Writer CPU % treated as the writer's ceiling (a writer cannot scale out; the fix is a shard). */
  readonly writerCpuLimitPercent: number;
}

/** The cache tier (ElastiCache Valkey/Redis, cluster mode). */
export interface CacheView {
  readonly shards: number;
  readonly replicasPerShard: number;
  readonly nodeType: string;
  /** `DatabaseMemoryUsagePercentage` treated as full (evictions start near 100%). */
  readonly memoryTargetPercent: number;
  /** `EngineCPUUtilization` treated as full (the engine is single-threaded per shard). */
  readonly engineCpuTargetPercent: number;
}

/** A queue and its worker fleet. */
export interface QueueView {
  readonly name: string;
  /** The longest a message may wait before a worker takes it, in seconds. */
  readonly acceptableLatencySeconds: number;
  /** How long a worker takes for one message, in seconds. */
  readonly averageProcessingSeconds: number;
  readonly maxWorkers: number;
}

/** Everything the `report` command reads from the config. */
export interface CapacityConfig {
  readonly name: string;
  /** Regions, primary first. */
  readonly regions: readonly string[];
  readonly services: readonly ServiceView[];
  readonly database?: DatabaseView;
  readonly cache?: CacheView;
  readonly queues: readonly QueueView[];
}

/** Defaults used when a tier's config does not give a value (documented in docs/capacity.md). */
export const VIEW_DEFAULTS = {
  readers: 1,
  maxReaders: 15,
  shards: 1,
  targetReaderCpuPercent: 70,
  writerCpuLimitPercent: 70,
  cacheShards: 1,
  replicasPerShard: 2,
  nodeType: 'cache.r7g.large',
  memoryTargetPercent: 80,
  engineCpuTargetPercent: 80,
  acceptableLatencySeconds: 60,
  averageProcessingSeconds: 1,
  maxWorkers: 10,
  targetCpuPercent: 50,
  targetRequestsPerInstance: 1000,
} as const;

type Loose = Record<string, unknown>;

function obj(v: unknown): Loose | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Loose) : undefined;
}

function num(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : fallback;
}

function count(v: unknown, fallback: number): number {
  if (Array.isArray(v)) return v.length;
  return num(v, fallback);
}

/**
 * Builds the CLI's view of a resolved config. `database`, `cache` and `queues` are optional and read
 * field by field: `database.readers`, `database.autoScaling.maxReaders` (else `database.maxReaders`), `database.shards` (a count or a list),
 * `database.targetReaderCpuPercent`, `database.writerCpuLimitPercent`, `database.globalDatabase.enabled`; `cache.shards`,
 * `cache.replicasPerShard`, `cache.nodeType`, `cache.memoryTargetPercent`, `cache.engineCpuTargetPercent`;
 * `queues[].name`, `queues[].acceptableLatencySeconds`, `queues[].averageProcessingSeconds`, `queues[].maxWorkers`.
 */
export function capacityView(config: AppConfig): CapacityConfig {
  const raw = config as unknown as Loose;
  const services: ServiceView[] = config.services.map((s) => ({
    name: s.name,
    minCapacity: s.minCapacity,
    maxCapacity: s.maxCapacity,
    targetCpuPercent: num(s.targetCpuPercent, VIEW_DEFAULTS.targetCpuPercent),
    targetRequestsPerInstance: num(s.targetRequestsPerInstance, VIEW_DEFAULTS.targetRequestsPerInstance),
  }));
  const db = obj(raw.database);
  const database: DatabaseView | undefined = db
    ? {
      readers: count(db.readers, VIEW_DEFAULTS.readers),
      // The resolved config keeps reader bounds under database.autoScaling; without autoscaling the
      // configured readers are the maximum.
      maxReaders: num(obj(db.autoScaling)?.maxReaders, num(db.maxReaders, db.autoScaling === undefined && typeof db.readers === 'number' ? db.readers : VIEW_DEFAULTS.maxReaders)),
      readerLimit: maxReadersPerCluster(obj(db.globalDatabase)?.enabled === true, config.regions.length),
      shards: Math.max(1, count(db.shards, VIEW_DEFAULTS.shards)),
      targetReaderCpuPercent: num(obj(db.autoScaling)?.targetCpuPercent, num(db.targetReaderCpuPercent, VIEW_DEFAULTS.targetReaderCpuPercent)),
      writerCpuLimitPercent: num(db.writerCpuLimitPercent, VIEW_DEFAULTS.writerCpuLimitPercent),
    }
    : undefined;
  const c = obj(raw.cache);
  const cache: CacheView | undefined = c
    ? {
      shards: Math.max(1, num(c.shards, VIEW_DEFAULTS.cacheShards)),
      replicasPerShard: num(c.replicasPerShard, VIEW_DEFAULTS.replicasPerShard),
      nodeType: typeof c.nodeType === 'string' ? c.nodeType : VIEW_DEFAULTS.nodeType,
      memoryTargetPercent: num(obj(c.autoScaling)?.targetMemoryPercent, num(c.memoryTargetPercent, VIEW_DEFAULTS.memoryTargetPercent)),
      engineCpuTargetPercent: num(obj(c.autoScaling)?.targetCpuPercent, num(c.engineCpuTargetPercent, VIEW_DEFAULTS.engineCpuTargetPercent)),
    }
    : undefined;
  const queues: QueueView[] = [];
  if (Array.isArray(raw.queues)) {
    for (const item of raw.queues) {
      const q = obj(item);
      if (!q || typeof q.name !== 'string') continue;
      queues.push({
        name: q.name,
        acceptableLatencySeconds: num(q.acceptableLatencySeconds, VIEW_DEFAULTS.acceptableLatencySeconds),
        averageProcessingSeconds: num(q.averageProcessingSeconds, VIEW_DEFAULTS.averageProcessingSeconds),
        maxWorkers: num(q.maxWorkers, num(obj(q.workers)?.maxCapacity, VIEW_DEFAULTS.maxWorkers)),
      });
    }
  }
  return {
    name: config.name,
    regions: config.regions.map((r) => r.region),
    services,
    ...(database ? { database } : {}),
    ...(cache ? { cache } : {}),
    queues,
  };
}
