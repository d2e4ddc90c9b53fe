/**
 * The narrow view of the app config the `s2m` CLI needs, read from the resolved `AppConfig` (every default
 * filled in), with the config field each recommendation would change (from lib/config/sizing.ts).
 */
import { SIZING, formatConfigPath, maxReadersPerCluster, type AppConfig, type DatabaseConfig } from '../config';
import { pascal } from '../outputs';
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
  /**
   * The config field that sets `maxReaders`, which an `add-reader` recommendation raises.
   * @default 'database.autoScaling.maxReaders'
   */
  readonly maxReadersField?: string;
  /**
   * The config field that sets `readers`, which an `add-reader` recommendation raises in a Global Database secondary
   * (Aurora does not autoscale its readers).
   * @default 'database.readers'
   */
  readonly readersField?: string;
}

/** The cache tier (ElastiCache Valkey/Redis, cluster mode). */
export interface CacheView {
  /** Shards the config starts with (`cache.shards`). */
  readonly shards: number;
  /** The most shards autoscaling may run (`cache.autoScaling.maxShards`). @default - `shards` (no autoscaling) */
  readonly maxShards?: number;
  readonly replicasPerShard: number;
  readonly nodeType: string;
  /** `DatabaseMemoryUsagePercentage` (with data tiering, r6gd: `DatabaseCapacityUsagePercentage`) treated as full (evictions start near 100%). */
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
  /**
   * Per Aurora cluster, by the suffix of its `DatabaseClusterId<Suffix>` stack output (`S1` for shard `s1`,
   * `''` unsharded), when sharded: each shard's own readers and autoscaling. @default - `database` for every cluster
   */
  readonly databaseClusters?: Readonly<Record<string, DatabaseView>>;
  readonly cache?: CacheView;
  readonly queues: readonly QueueView[];
  /**
   * With a Global Database over several regions, the writer's region: Aurora autoscales readers there only, so in
   * the other regions a cluster holds `readers` (its `maxReaders` is `readers`, and more readers mean a higher
   * `readersField`).
   * @default - no Global Database: every region as configured
   */
  readonly globalDatabaseWriterRegion?: string;
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

/** The view of one Aurora cluster: its readers, their bounds, and the fields that set them. */
function clusterView(db: DatabaseConfig, shard: DatabaseConfig['shards'][number] | undefined, regionCount: number): DatabaseView {
  const autoScaling = shard ? shard.autoScaling : db.autoScaling;
  const readers = shard ? shard.readers : db.readers;
  // A shard that inherits the database's settings is resized there; one with its own, on itself.
  const ownScaling = shard !== undefined && autoScaling !== undefined && autoScaling !== db.autoScaling;
  const ownReaders = shard !== undefined && readers !== db.readers;
  const field = autoScaling
    ? (ownScaling ? SIZING.shard.maxReaders(shard!.id) : SIZING.database.maxReaders)
    : (ownReaders ? SIZING.shard.readers(shard!.id) : SIZING.database.readers);
  return {
    readers,
    maxReaders: autoScaling?.maxReaders ?? readers,
    // A global database's primary counts each secondary region against Aurora's 15 replicas.
    readerLimit: maxReadersPerCluster(db.globalDatabase.enabled, regionCount),
    shards: db.shards.length,
    targetReaderCpuPercent: autoScaling?.targetCpuPercent ?? VIEW_DEFAULTS.targetReaderCpuPercent,
    writerCpuLimitPercent: VIEW_DEFAULTS.writerCpuLimitPercent,
    maxReadersField: formatConfigPath(field),
    readersField: formatConfigPath(ownReaders ? SIZING.shard.readers(shard!.id) : SIZING.database.readers),
  };
}

/**
 * The view of a cluster in a Global Database secondary region, where Aurora does not autoscale readers: it holds
 * `readers`, which an `add-reader` recommendation raises.
 */
export function secondaryClusterView(view: DatabaseView): DatabaseView {
  return { ...view, maxReaders: view.readers, maxReadersField: view.readersField ?? formatConfigPath(SIZING.database.readers) };
}

/** Builds the CLI's view of a resolved config. */
export function capacityView(config: AppConfig): CapacityConfig {
  const services: ServiceView[] = config.services.map((s) => ({
    name: s.name,
    minCapacity: s.minCapacity,
    maxCapacity: s.maxCapacity,
    targetCpuPercent: s.targetCpuPercent,
    targetRequestsPerInstance: s.targetRequestsPerInstance,
  }));
  const db = config.database;
  const sharded = db.shards.length > 1;
  const c = config.cache;
  return {
    name: config.name,
    regions: config.regions.map((r) => r.region),
    services,
    database: clusterView(db, undefined, config.regions.length),
    ...(sharded ? { databaseClusters: Object.fromEntries(db.shards.map((shard) => [pascal(shard.id), clusterView(db, shard, config.regions.length)])) } : {}),
    cache: {
      shards: c.shards,
      ...(c.autoScaling ? { maxShards: c.autoScaling.maxShards } : {}),
      replicasPerShard: c.replicasPerShard,
      nodeType: c.nodeType,
      memoryTargetPercent: c.autoScaling?.targetMemoryPercent ?? VIEW_DEFAULTS.memoryTargetPercent,
      engineCpuTargetPercent: c.autoScaling?.targetCpuPercent ?? VIEW_DEFAULTS.engineCpuTargetPercent,
    },
    queues: config.queues.map((q) => ({
      name: q.name,
      acceptableLatencySeconds: q.acceptableLatencySeconds,
      averageProcessingSeconds: q.averageProcessingSeconds,
      maxWorkers: q.workers.maxCapacity,
    })),
    ...(db.globalDatabase.enabled && config.regions.length > 1 ? { globalDatabaseWriterRegion: db.globalDatabase.writerRegion } : {}),
  };
}
