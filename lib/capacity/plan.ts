/**
 * `s2m plan`: the capacity model. Turns peak load figures into per-tier sizes and a config file in the
 * repo's format. Pure functions; the formulas and their assumptions are in docs/capacity.md.
 */
import { ConfigError, PRESETS, maxReadersPerCluster, resolveConfig, type Stage } from '../config';

/** Memory (GiB) of ElastiCache node types the planner knows; others need `cacheNodeMemoryGb`. */
export const CACHE_NODE_MEMORY_GIB: Readonly<Record<string, number>> = {
  'cache.t4g.small': 1.37,
  'cache.t4g.medium': 3.09,
  'cache.m7g.large': 6.38,
  'cache.m7g.xlarge': 12.93,
  'cache.m7g.2xlarge': 26.04,
  'cache.r7g.large': 13.07,
  'cache.r7g.xlarge': 26.32,
  'cache.r7g.2xlarge': 52.82,
  'cache.r7g.4xlarge': 105.81,
  'cache.r7g.8xlarge': 209.55,
  'cache.r7g.12xlarge': 317.77,
  'cache.r7g.16xlarge': 419.09,
};

/** Share of a cache node's memory the data may use (ElastiCache reserves 25% by default). */
export const CACHE_USABLE_MEMORY = 0.75;
/** Aurora's limit of readers per cluster. */
export const MAX_READERS_PER_CLUSTER = 15;

/** One service and its share of the requests. */
export interface PlanService {
  readonly name: string;
  /** Share of the requests (the shares are normalised to sum to 1). */
  readonly share: number;
}

/** The load figures and per-unit capacities the model starts from. */
export interface PlanInput {
  readonly name: string;
  readonly stage: Stage;
  readonly regions: readonly string[];
  /** Peak dynamic requests per second at the load balancers, all regions together. */
  readonly peakRps: number;
  /** Share of database queries that are reads (0-1). */
  readonly readRatio: number;
  /** Share of reads the cache answers (0-1). */
  readonly cacheHitRatio: number;
  /** Database queries per request. */
  readonly queriesPerRequest: number;
  /** Requests per second one instance serves at the target CPU. */
  readonly rpsPerInstance: number;
  readonly targetCpuPercent: number;
  readonly instanceType: string;
  readonly services: readonly PlanService[];
  /** Queries per second one reader serves at its target CPU. */
  readonly readerQps: number;
  /** Write queries per second one writer serves at its CPU ceiling. */
  readonly writerQps: number;
  readonly cacheNodeType: string;
  /** Memory of one cache node in GiB. @default - from {@link CACHE_NODE_MEMORY_GIB} */
  readonly cacheNodeMemoryGb?: number;
  readonly cacheReplicasPerShard: number;
  /** The cache's working set in GiB (each region caches its own copy). */
  readonly workingSetGb: number;
  /** Commands per second one cache shard serves. */
  readonly cacheOpsPerShard: number;
  /** Jobs per second, all regions together. @default - no queue */
  readonly jobsPerSecond?: number;
  readonly jobSeconds: number;
  readonly acceptableLatencySeconds: number;
  readonly queueName: string;
  /** Spare capacity above the peak (0.3 = 30%). */
  readonly headroom: number;
  /** Size each region to take a failed region's share too (`n - 1` regions carry the peak). */
  readonly regionFailover: boolean;
}

/** The defaults of {@link PlanInput}'s optional figures (the CLI's option defaults). */
export const PLAN_DEFAULTS = {
  readRatio: 0.9,
  cacheHitRatio: 0.8,
  queriesPerRequest: 1,
  rpsPerInstance: 200,
  targetCpuPercent: 50,
  readerQps: 2000,
  writerQps: 1500,
  cacheNodeType: 'cache.r7g.large',
  cacheReplicasPerShard: 2,
  workingSetGb: 10,
  cacheOpsPerShard: 50_000,
  jobSeconds: 1,
  acceptableLatencySeconds: 60,
  queueName: 'jobs',
  headroom: 0.3,
} as const;

/** Planned size of one service in every region. */
export interface PlannedService {
  readonly name: string;
  readonly rps: number;
  readonly instancesAtPeak: number;
  readonly minCapacity: number;
  readonly maxCapacity: number;
  readonly targetRequestsPerInstance: number;
}

/** The model's result. */
export interface CapacityPlan {
  /** Requests per second one region must carry at the peak. */
  readonly regionRps: number;
  readonly services: readonly PlannedService[];
  readonly database: {
    readonly readQpsPerRegion: number;
    readonly writeQps: number;
    readonly shards: number;
    readonly readersAtPeak: number;
    readonly readers: number;
    readonly maxReaders: number;
  };
  readonly cache: {
    readonly opsPerRegion: number;
    readonly shardsForMemory: number;
    readonly shardsForThroughput: number;
    readonly shards: number;
    readonly replicasPerShard: number;
    readonly nodeType: string;
    readonly nodes: number;
  };
  readonly queue?: {
    readonly name: string;
    readonly jobsPerSecondPerRegion: number;
    readonly busyWorkers: number;
    readonly maxWorkers: number;
    readonly acceptableLatencySeconds: number;
    readonly averageProcessingSeconds: number;
  };
  /** Assumptions the figures break (e.g. a job longer than its latency target). */
  readonly warnings: readonly string[];
}

const ceil = (v: number): number => Math.ceil(v - 1e-9);

/** Validates the figures; throws an `Error` naming the option and the value. */
export function checkPlanInput(i: PlanInput): void {
  const bad: string[] = [];
  const positive = (name: string, v: number | undefined) => {
    if (v !== undefined && !(Number.isFinite(v) && v > 0)) bad.push(`${name} must be a positive number (got: ${v})`);
  };
  const share = (name: string, v: number) => {
    if (!(Number.isFinite(v) && v >= 0 && v <= 1)) bad.push(`${name} must be between 0 and 1 (got: ${v})`);
  };
  positive('--peak-rps', i.peakRps);
  share('--read-ratio', i.readRatio);
  share('--cache-hit-ratio', i.cacheHitRatio);
  positive('--queries-per-request', i.queriesPerRequest);
  positive('--rps-per-instance', i.rpsPerInstance);
  positive('--reader-qps', i.readerQps);
  positive('--writer-qps', i.writerQps);
  positive('--working-set-gb', i.workingSetGb);
  positive('--cache-ops-per-shard', i.cacheOpsPerShard);
  positive('--cache-node-memory-gb', i.cacheNodeMemoryGb);
  positive('--job-seconds', i.jobSeconds);
  positive('--acceptable-latency', i.acceptableLatencySeconds);
  if (i.jobsPerSecond !== undefined && !(Number.isFinite(i.jobsPerSecond) && i.jobsPerSecond >= 0)) bad.push(`--jobs-per-second must be 0 or more (got: ${i.jobsPerSecond})`);
  if (!(i.headroom >= 0 && i.headroom < 10)) bad.push(`--headroom must be between 0 and 10 (got: ${i.headroom})`);
  if (!(i.targetCpuPercent >= 10 && i.targetCpuPercent <= 90)) bad.push(`--target-cpu must be between 10 and 90 (got: ${i.targetCpuPercent})`);
  if (i.regions.length === 0) bad.push('--regions must list at least one region');
  if (i.services.length === 0 || i.services.some((s) => !(s.share > 0))) bad.push(`--services shares must be positive (got: ${i.services.map((s) => `${s.name}=${s.share}`).join(',')})`);
  if (i.cacheNodeMemoryGb === undefined && CACHE_NODE_MEMORY_GIB[i.cacheNodeType] === undefined) {
    bad.push(`--cache-node-type ${i.cacheNodeType} is not one the planner knows (${Object.keys(CACHE_NODE_MEMORY_GIB).join(', ')}); give --cache-node-memory-gb`);
  }
  if (bad.length) throw new Error(bad.join('; '));
}

/**
 * The capacity model (docs/capacity.md):
 * - regionRps = peakRps / (n - 1) with region failover and n > 1, else peakRps / n;
 * - per service: instancesAtPeak = ceil(regionRps × share / rpsPerInstance); max = ceil(instancesAtPeak × (1 + headroom)),
 *   min = max(AZs, ceil(instancesAtPeak / 4)); targetRequestsPerInstance = rpsPerInstance × 60;
 * - writes (all in the primary region): writeQps = peakRps × q × (1 - R); shards = ceil(writeQps × (1 + headroom) / writerQps);
 * - reads reaching the database per region: readQps = regionRps × q × R × (1 - H); readersAtPeak per cluster =
 *   ceil(readQps / shards / readerQps); more shards while readersAtPeak × (1 + headroom) > L;
 *   readers = max(1, ceil(readersAtPeak / 2)), maxReaders = min(L, ceil(readersAtPeak × (1 + headroom))), where L is
 *   Aurora's 15 replicas, minus the secondary regions when the stage's preset makes a global database (n > 1);
 * - cache shards = max(ceil(workingSet × (1 + headroom) / (nodeMemory × 0.75)), ceil(regionRps × q × (1 + headroom) / opsPerShard));
 * - workers: busy = jobsPerRegion × jobSeconds (Little's law); maxWorkers = ceil(busy × (1 + headroom)).
 */
export function planCapacity(i: PlanInput): CapacityPlan {
  checkPlanInput(i);
  const warnings: string[] = [];
  const n = i.regions.length;
  const carriers = i.regionFailover && n > 1 ? n - 1 : n;
  const regionRps = i.peakRps / carriers;
  const grow = 1 + i.headroom;
  const azs = PRESETS[i.stage].azs;
  const totalShare = i.services.reduce((a, s) => a + s.share, 0);

  const services: PlannedService[] = i.services.map((s) => {
    const rps = (regionRps * s.share) / totalShare;
    const instancesAtPeak = Math.max(1, ceil(rps / i.rpsPerInstance));
    const maxCapacity = Math.min(1000, Math.max(azs, ceil(instancesAtPeak * grow)));
    const minCapacity = Math.min(maxCapacity, Math.max(azs, ceil(instancesAtPeak / 4)));
    if (ceil(instancesAtPeak * grow) > 1000) warnings.push(`service ${s.name} needs ${ceil(instancesAtPeak * grow)} instances, above the 1000 per fleet the config allows: use a larger instance type`);
    return { name: s.name, rps, instancesAtPeak, minCapacity, maxCapacity, targetRequestsPerInstance: Math.round(i.rpsPerInstance * 60) };
  });

  const q = i.queriesPerRequest;
  const writeQps = i.peakRps * q * (1 - i.readRatio);
  const readQpsPerRegion = regionRps * q * i.readRatio * (1 - i.cacheHitRatio);
  // A global database's primary counts its secondaries against the 15 replicas (the config refuses more).
  const readerLimit = maxReadersPerCluster(PRESETS[i.stage].database.globalDatabase, n);
  let shards = Math.max(1, ceil((writeQps * grow) / i.writerQps));
  let readersAtPeak = Math.max(1, ceil(readQpsPerRegion / shards / i.readerQps));
  while (ceil(readersAtPeak * grow) > readerLimit) {
    shards++;
    readersAtPeak = Math.max(1, ceil(readQpsPerRegion / shards / i.readerQps));
  }
  const readers = Math.max(1, ceil(readersAtPeak / 2));
  const maxReaders = Math.min(readerLimit, Math.max(readers, ceil(readersAtPeak * grow)));

  const nodeMemory = i.cacheNodeMemoryGb ?? CACHE_NODE_MEMORY_GIB[i.cacheNodeType];
  const opsPerRegion = regionRps * q;
  const shardsForMemory = Math.max(1, ceil((i.workingSetGb * grow) / (nodeMemory * CACHE_USABLE_MEMORY)));
  const shardsForThroughput = Math.max(1, ceil((opsPerRegion * grow) / i.cacheOpsPerShard));
  const cacheShards = Math.max(shardsForMemory, shardsForThroughput);
  if (cacheShards > 500) warnings.push(`the cache needs ${cacheShards} shards, above ElastiCache's 500: use a larger node type`);

  let queue: CapacityPlan['queue'];
  if (i.jobsPerSecond !== undefined) {
    const jobsPerSecondPerRegion = i.jobsPerSecond / carriers;
    const busyWorkers = jobsPerSecondPerRegion * i.jobSeconds;
    const maxWorkers = Math.max(1, ceil(busyWorkers * grow));
    if (i.jobSeconds > i.acceptableLatencySeconds) warnings.push(`a job takes ${i.jobSeconds}s, longer than the ${i.acceptableLatencySeconds}s latency target: no number of workers meets it`);
    queue = { name: i.queueName, jobsPerSecondPerRegion, busyWorkers, maxWorkers, acceptableLatencySeconds: i.acceptableLatencySeconds, averageProcessingSeconds: i.jobSeconds };
  }

  return {
    regionRps,
    services,
    database: { readQpsPerRegion, writeQps, shards, readersAtPeak, readers, maxReaders },
    cache: { opsPerRegion, shardsForMemory, shardsForThroughput, shards: cacheShards, replicasPerShard: i.cacheReplicasPerShard, nodeType: i.cacheNodeType, nodes: cacheShards * (1 + i.cacheReplicasPerShard) },
    ...(queue ? { queue } : {}),
    warnings,
  };
}

/** A config object (JSON-ready) and the tier sections the config schema did not accept yet. */
export interface PlannedConfig {
  /** The config to write, validated by `resolveConfig`. */
  readonly config: Record<string, unknown>;
  /** Tier sections not in the config (the schema rejected them), with the first reason. */
  readonly pending: Readonly<Record<string, { readonly section: unknown; readonly reason: string }>>;
}

/**
 * Builds the config file from a plan. Starts from `base` (an existing config's raw JSON) when given:
 * its services keep their routes and get the planned sizes. The base part must pass `resolveConfig`
 * (else the `ConfigError` is thrown); each tier section (`database`, `cache`, `queues`) is kept only
 * if `resolveConfig` accepts it, else it is returned in `pending`.
 */
export function planToConfig(input: PlanInput, plan: CapacityPlan, base?: Record<string, unknown>): PlannedConfig {
  const baseServices = new Map<string, Record<string, unknown>>();
  if (base && Array.isArray(base.services)) {
    for (const s of base.services as unknown[]) {
      if (typeof s === 'object' && s !== null && typeof (s as { name?: unknown }).name === 'string') baseServices.set((s as { name: string }).name, s as Record<string, unknown>);
    }
  }
  const services = plan.services.map((s, idx) => {
    const old = baseServices.get(s.name);
    const routes = old ? {} : idx === 0 ? {} : { pathPatterns: [`/${s.name}/*`] };
    return {
      ...(old ?? { name: s.name }),
      ...routes,
      instanceType: (old?.instanceType as string | undefined) ?? input.instanceType,
      minCapacity: s.minCapacity,
      maxCapacity: s.maxCapacity,
      targetCpuPercent: input.targetCpuPercent,
      targetRequestsPerInstance: s.targetRequestsPerInstance,
    };
  });
  const regions = base && Array.isArray(base.regions)
    ? base.regions
    : input.regions.map((region, idx) => ({ region, vpcCidr: `10.${idx}.0.0/16` }));
  const core: Record<string, unknown> = { ...(base ?? {}), name: input.name, stage: input.stage, regions, services };
  delete core.database;
  delete core.cache;
  delete core.queues;
  resolveConfig(core);

  const sections: Record<string, unknown> = {
    database: { readers: plan.database.readers, maxReaders: plan.database.maxReaders, shards: plan.database.shards },
    cache: { shards: plan.cache.shards, replicasPerShard: plan.cache.replicasPerShard, nodeType: plan.cache.nodeType },
    ...(plan.queue
      ? { queues: [{ name: plan.queue.name, acceptableLatencySeconds: plan.queue.acceptableLatencySeconds, averageProcessingSeconds: plan.queue.averageProcessingSeconds, maxWorkers: plan.queue.maxWorkers }] }
      : {}),
  };
  const config = { ...core };
  const pending: Record<string, { section: unknown; reason: string }> = {};
  for (const [key, section] of Object.entries(sections)) {
    try {
      resolveConfig({ ...config, [key]: section });
      config[key] = section;
    } catch (e) {
      const first = e instanceof ConfigError ? e.issues[0] : undefined;
      const reason = first ? `${first.path}: ${first.message.split(';')[0]}` : (e as Error).message.split('\n')[0];
      pending[key] = { section, reason };
    }
  }
  return { config, pending };
}
