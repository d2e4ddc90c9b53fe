/**
 * `s2m plan`: the capacity model. Turns peak load figures into per-tier sizes (`plan-config.ts` merges them
 * into a config). Pure functions; the formulas and their assumptions are in docs/capacity.md.
 */
import { MAX_SHARDS_PER_REGION } from '../../constructs/sharding/defaults';
import { PRESETS, maxReadersPerCluster, type Stage } from '../config';

/** Memory (GiB) of ElastiCache node types the planner knows; others need `cacheNodeMemoryGb`. */
export const CACHE_NODE_MEMORY_GIB: Readonly<Record<string, number>> = {
  'cache.t4g.micro': 0.5,
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
  /** Requests per second one instance of this service serves at the target CPU. @default - the input's `rpsPerInstance` */
  readonly rpsPerInstance?: number;
  /** Where `rpsPerInstance` came from, for messages. @default '--rps-per-instance' */
  readonly rpsSource?: string;
}

/** The figures of {@link PlanInput} that error messages name (by the option the user typed, or the config field they came from). */
export type PlanFigure = 'jobSeconds' | 'acceptableLatencySeconds' | 'cacheNodeType' | 'cacheReplicasPerShard';

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
  /** Requests per second one instance serves at the target CPU (services without their own figure). */
  readonly rpsPerInstance: number;
  /** Target CPU % of the web fleets, written to every planned service. @default - the config's (not written) */
  readonly targetCpuPercent?: number;
  /** EC2 instance type of services the plan adds. */
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
  /** Shards that exist already: the plan never removes one (that moves data). @default 1 */
  readonly minShards?: number;
  /** Availability zones per region: the smallest fleet spreads one instance over each. @default - the stage's */
  readonly azs?: number;
  /**
   * The database is an Aurora Global Database (its secondary regions count against the primary's 15 replicas).
   * @default - the stage's preset
   */
  readonly globalDatabase?: boolean;
  /** How messages name a figure that did not come from its option (e.g. `queues[jobs].averageProcessingSeconds`). @default - the option */
  readonly labels?: Readonly<Partial<Record<PlanFigure, string>>>;
}

/** The defaults of {@link PlanInput}'s optional figures (the CLI's option defaults). */
export const PLAN_DEFAULTS = {
  readRatio: 0.9,
  cacheHitRatio: 0.8,
  queriesPerRequest: 1,
  rpsPerInstance: 200,
  instanceType: 'm7g.large',
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

/** The CLI option of each figure, the default name in messages. */
const OPTION: Readonly<Record<PlanFigure, string>> = {
  jobSeconds: '--job-seconds',
  acceptableLatencySeconds: '--acceptable-latency',
  cacheNodeType: '--cache-node-type',
  cacheReplicasPerShard: '--cache-replicas',
};

/** Most instances an Auto Scaling group of the config may have (`maxCapacity` ≤ 1000). */
export const MAX_FLEET_SIZE = 1000;
/** Most nodes of an ElastiCache cluster (shards × (1 + replicas)). */
export const MAX_CACHE_NODES = 500;
/** Most SQS visibility timeout; a queue's is at least 6 × the job time. */
const MAX_JOB_SECONDS = 43_200 / 6;

/** Planned size of one service in every region. */
export interface PlannedService {
  readonly name: string;
  readonly rps: number;
  /** Requests per second one instance serves at the target. */
  readonly rpsPerInstance: number;
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
    /** Shards the writes need (before the floor of existing shards). */
    readonly shardsForWrites: number;
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
}

const ceil = (v: number): number => Math.ceil(v - 1e-9);

/** How messages name `figure`: the option, or the config field it was read from. */
function label(i: PlanInput, figure: PlanFigure): string {
  return i.labels?.[figure] ?? OPTION[figure];
}

/** Validates the figures; throws an `Error` naming each bad option and its value. */
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
  positive(label(i, 'jobSeconds'), i.jobSeconds);
  positive(label(i, 'acceptableLatencySeconds'), i.acceptableLatencySeconds);
  if (i.jobsPerSecond !== undefined && !(Number.isFinite(i.jobsPerSecond) && i.jobsPerSecond >= 0)) bad.push(`--jobs-per-second must be 0 or more (got: ${i.jobsPerSecond})`);
  if (!(i.headroom >= 0 && i.headroom <= 10)) bad.push(`--headroom must be between 0 and 10 (got: ${i.headroom})`);
  if (i.targetCpuPercent !== undefined && !(i.targetCpuPercent >= 10 && i.targetCpuPercent <= 90)) bad.push(`--target-cpu must be between 10 and 90 (got: ${i.targetCpuPercent})`);
  if (!(Number.isInteger(i.cacheReplicasPerShard) && i.cacheReplicasPerShard >= 1 && i.cacheReplicasPerShard <= 5)) {
    bad.push(`${label(i, 'cacheReplicasPerShard')} must be a whole number from 1 to 5: Multi-AZ failover needs a replica in every shard (got: ${i.cacheReplicasPerShard})`);
  }
  if (i.regions.length === 0) bad.push('--regions must list at least one region');
  if (i.services.length === 0 || i.services.some((s) => !(s.share > 0))) bad.push(`--services shares must be positive (got: ${i.services.map((s) => `${s.name}=${s.share}`).join(',')})`);
  for (const s of i.services) positive(s.rpsSource ?? '--rps-per-instance', s.rpsPerInstance);
  if (i.cacheNodeMemoryGb === undefined && CACHE_NODE_MEMORY_GIB[i.cacheNodeType] === undefined) {
    bad.push(`${label(i, 'cacheNodeType')} is ${i.cacheNodeType}, a node type the planner does not know the memory of (it knows ${Object.keys(CACHE_NODE_MEMORY_GIB).join(', ')}); give --cache-node-memory-gb`);
  }
  if (i.jobsPerSecond !== undefined) {
    if (i.jobSeconds > MAX_JOB_SECONDS) bad.push(`${label(i, 'jobSeconds')} must be at most ${MAX_JOB_SECONDS}: a queue's visibility timeout is 6 × the job time, and SQS allows 12 hours (got: ${i.jobSeconds})`);
    if (i.acceptableLatencySeconds > 43_200) bad.push(`${label(i, 'acceptableLatencySeconds')} must be at most 43200 (12 hours) (got: ${i.acceptableLatencySeconds})`);
    if (i.jobSeconds > i.acceptableLatencySeconds) {
      bad.push(`${label(i, 'acceptableLatencySeconds')} (${i.acceptableLatencySeconds} s) is below ${label(i, 'jobSeconds')} (${i.jobSeconds} s): a message waits at least one job time, so no number of workers meets it`);
    }
  }
  if (bad.length) throw new Error(bad.length === 1 ? bad[0] : [`${bad.length} problems with the figures:`, ...bad].join('\n  '));
}

/**
 * The capacity model (docs/capacity.md):
 * - regionRps = peakRps / (n - 1) with region failover and n > 1, else peakRps / n;
 * - per service: instancesAtPeak = ceil(regionRps × share / rpsPerInstance); max = ceil(instancesAtPeak × (1 + headroom)),
 *   min = max(AZs, ceil(instancesAtPeak / 4)); targetRequestsPerInstance = rpsPerInstance × 60;
 * - writes (all in the primary region): writeQps = peakRps × q × (1 - R); shards = max(existing, ceil(writeQps × (1 + headroom) / writerQps));
 * - reads reaching the database per region: readQps = regionRps × q × R × (1 - H); readersAtPeak per cluster =
 *   ceil(readQps / shards / readerQps); more shards while readersAtPeak × (1 + headroom) > L;
 *   readers = max(1, ceil(readersAtPeak / 2)), maxReaders = min(L, ceil(readersAtPeak × (1 + headroom))), where L is
 *   Aurora's 15 replicas, minus the secondary regions when the stage's preset makes a global database (n > 1);
 * - cache shards = max(ceil(workingSet × (1 + headroom) / (nodeMemory × 0.75)), ceil(regionRps × q × (1 + headroom) / opsPerShard));
 * - workers: busy = jobsPerRegion × jobSeconds (Little's law); maxWorkers = ceil(busy × (1 + headroom)).
 * Throws an `Error` naming the options when the figures are invalid or the peak cannot be met within a
 * tier's limits (1000 instances per fleet, 10 shards per region, 500 cache nodes).
 */
export function planCapacity(i: PlanInput): CapacityPlan {
  checkPlanInput(i);
  const unmet: string[] = [];
  const n = i.regions.length;
  const carriers = i.regionFailover && n > 1 ? n - 1 : n;
  const regionRps = i.peakRps / carriers;
  const grow = 1 + i.headroom;
  const azs = i.azs ?? PRESETS[i.stage].azs;
  const totalShare = i.services.reduce((a, s) => a + s.share, 0);
  const peak = `--peak-rps ${i.peakRps}`;

  const services: PlannedService[] = i.services.map((s) => {
    const rpsPerInstance = s.rpsPerInstance ?? i.rpsPerInstance;
    const rps = (regionRps * s.share) / totalShare;
    const instancesAtPeak = Math.max(1, ceil(rps / rpsPerInstance));
    const needed = ceil(instancesAtPeak * grow);
    if (needed > MAX_FLEET_SIZE) {
      unmet.push(`${peak} needs ${needed} instances of service ${s.name} in a region (${Math.round(rps)} req/s at ${round1(rpsPerInstance)} req/s each, from ${s.rpsSource ?? '--rps-per-instance'}), above the ${MAX_FLEET_SIZE} a fleet may have: serve more per instance (a larger instance type and a higher --rps-per-instance), or spread the peak over more regions`);
    }
    const maxCapacity = Math.min(MAX_FLEET_SIZE, Math.max(azs, needed));
    const minCapacity = Math.min(maxCapacity, Math.max(azs, ceil(instancesAtPeak / 4)));
    return { name: s.name, rps, rpsPerInstance, instancesAtPeak, minCapacity, maxCapacity, targetRequestsPerInstance: Math.round(rpsPerInstance * 60) };
  });

  const q = i.queriesPerRequest;
  const writeQps = i.peakRps * q * (1 - i.readRatio);
  const readQpsPerRegion = regionRps * q * i.readRatio * (1 - i.cacheHitRatio);
  // A global database's primary counts its secondaries against the 15 replicas (the config refuses more).
  const readerLimit = maxReadersPerCluster(i.globalDatabase ?? PRESETS[i.stage].database.globalDatabase, n);
  const shardsForWrites = Math.max(1, ceil((writeQps * grow) / i.writerQps));
  let shards = Math.max(i.minShards ?? 1, shardsForWrites);
  let readersAtPeak = Math.max(1, ceil(readQpsPerRegion / shards / i.readerQps));
  while (ceil(readersAtPeak * grow) > readerLimit && shards <= MAX_SHARDS_PER_REGION) {
    shards++;
    readersAtPeak = Math.max(1, ceil(readQpsPerRegion / shards / i.readerQps));
  }
  if (shards > MAX_SHARDS_PER_REGION) {
    unmet.push(`${peak} with --read-ratio ${i.readRatio} needs more than ${MAX_SHARDS_PER_REGION} Aurora shards in a region (the most a shard map holds): ${round1(writeQps)} writes/s at --writer-qps ${i.writerQps} per writer, ${round1(readQpsPerRegion)} reads/s after the cache at --reader-qps ${i.readerQps} per reader and ${readerLimit} readers per cluster; raise --writer-qps/--reader-qps (larger instances) or --cache-hit-ratio`);
  }
  const readers = Math.max(1, ceil(readersAtPeak / 2));
  const maxReaders = Math.min(readerLimit, Math.max(readers, ceil(readersAtPeak * grow)));

  const nodeMemory = i.cacheNodeMemoryGb ?? CACHE_NODE_MEMORY_GIB[i.cacheNodeType];
  const opsPerRegion = regionRps * q;
  const shardsForMemory = Math.max(1, ceil((i.workingSetGb * grow) / (nodeMemory * CACHE_USABLE_MEMORY)));
  const shardsForThroughput = Math.max(1, ceil((opsPerRegion * grow) / i.cacheOpsPerShard));
  const cacheShards = Math.max(shardsForMemory, shardsForThroughput);
  const nodes = cacheShards * (1 + i.cacheReplicasPerShard);
  if (nodes > MAX_CACHE_NODES) {
    unmet.push(`${peak} with --working-set-gb ${i.workingSetGb} needs ${cacheShards} cache shards × (1 + ${i.cacheReplicasPerShard} replicas) = ${nodes} nodes, above ElastiCache's ${MAX_CACHE_NODES} per cluster (memory needs ${shardsForMemory} shards of ${label(i, 'cacheNodeType')} ${i.cacheNodeType}, throughput ${shardsForThroughput} at --cache-ops-per-shard ${i.cacheOpsPerShard}): use a larger node type or fewer replicas`);
  }

  let queue: CapacityPlan['queue'];
  if (i.jobsPerSecond !== undefined) {
    const jobsPerSecondPerRegion = i.jobsPerSecond / carriers;
    const busyWorkers = jobsPerSecondPerRegion * i.jobSeconds;
    const maxWorkers = Math.max(1, ceil(busyWorkers * grow));
    if (maxWorkers > MAX_FLEET_SIZE) {
      unmet.push(`--jobs-per-second ${i.jobsPerSecond} at ${i.jobSeconds} s a job (${label(i, 'jobSeconds')}) needs ${maxWorkers} workers in a region, above the ${MAX_FLEET_SIZE} a fleet may have: make jobs shorter, or split them over several queues`);
    }
    queue = { name: i.queueName, jobsPerSecondPerRegion, busyWorkers, maxWorkers, acceptableLatencySeconds: i.acceptableLatencySeconds, averageProcessingSeconds: i.jobSeconds };
  }
  if (unmet.length) throw new Error(unmet.length === 1 ? unmet[0] : [`the peak cannot be met (${unmet.length} problems):`, ...unmet].join('\n  '));

  return {
    regionRps,
    services,
    database: { readQpsPerRegion, writeQps, shardsForWrites, shards, readersAtPeak, readers, maxReaders },
    cache: { opsPerRegion, shardsForMemory, shardsForThroughput, shards: cacheShards, replicasPerShard: i.cacheReplicasPerShard, nodeType: i.cacheNodeType, nodes },
    ...(queue ? { queue } : {}),
  };
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}
