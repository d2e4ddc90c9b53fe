/**
 * What to read for each tier of a region: resources discovered from the stack outputs (keys of
 * `lib/outputs.ts`), matched to the config by name, and the metric queries for each.
 */
import { OutputKeys, pascal } from '../outputs';
import type { CacheView, CapacityConfig, DatabaseView, QueueView, ServiceView } from './config-view';
import { VIEW_DEFAULTS } from './config-view';
import { metricStat, type MetricSpec } from './metrics';
import type { StackOutputs } from './stacks';

/** A web service found in the app stack's outputs. */
export interface WebTarget {
  readonly service: ServiceView;
  readonly fleetName: string;
  readonly targetGroupFullName?: string;
}

/** An Aurora cluster (one per shard) found in the data stack's outputs. */
export interface DatabaseTarget {
  readonly clusterId: string;
  /** Shard suffix of the output key (`''` when unsharded). */
  readonly shard: string;
  readonly database: DatabaseView;
  /**
   * In a Global Database secondary region: Aurora does not autoscale its readers (`database` holds `readers`).
   * @default false
   */
  readonly secondary?: boolean;
}

/** The cache replication group found in the data stack's outputs. */
export interface CacheTarget {
  readonly replicationGroupId: string;
  readonly cache: CacheView;
}

/** A queue found in the data stack's outputs, with its worker fleet from the app stack's. */
export interface QueueTarget {
  readonly queue: QueueView;
  readonly queueName: string;
  readonly deadLetterQueueName?: string;
  readonly workerFleetName?: string;
}

/** Everything a region's report reads. */
export interface RegionTargets {
  readonly loadBalancerFullName?: string;
  readonly web: WebTarget[];
  readonly databases: DatabaseTarget[];
  readonly cache?: CacheTarget;
  readonly queues: QueueTarget[];
  /** Configured resources the stacks do not output (not deployed yet?). */
  readonly warnings: string[];
}

/** Output keys `<prefix><Suffix>` → `Suffix` → value. */
function suffixed(outputs: StackOutputs, prefix: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(outputs)) if (k.startsWith(prefix)) out.set(k.slice(prefix.length), v);
  return out;
}

/** Finds what to read in a region from its app and data stack outputs and the config. */
export function discoverTargets(config: CapacityConfig, app: StackOutputs, data: StackOutputs, appStack: string, dataStack: string): RegionTargets {
  const warnings: string[] = [];
  const fleets = suffixed(app, OutputKeys.fleetName(''));
  const targetGroups = suffixed(app, OutputKeys.targetGroupFullName(''));
  const workerFleets = suffixed(app, OutputKeys.workerFleetName(''));
  const servicesByKey = new Map(config.services.map((s) => [pascal(s.name), s]));

  const web: WebTarget[] = [];
  for (const [key, fleetName] of fleets) {
    const service = servicesByKey.get(key) ?? {
      name: key,
      minCapacity: 0,
      maxCapacity: 0,
      targetCpuPercent: VIEW_DEFAULTS.targetCpuPercent,
      targetRequestsPerInstance: VIEW_DEFAULTS.targetRequestsPerInstance,
    };
    const tg = targetGroups.get(key);
    web.push({ service, fleetName, ...(tg ? { targetGroupFullName: tg } : {}) });
  }
  for (const s of config.services) {
    if (!fleets.has(pascal(s.name))) warnings.push(`service ${s.name}: ${appStack} has no output ${OutputKeys.fleetName(s.name)} (not deployed yet?)`);
  }

  const databases: DatabaseTarget[] = [];
  const clusters = suffixed(data, OutputKeys.databaseClusterId());
  if (clusters.size > 0) {
    const database = config.database ?? {
      readers: VIEW_DEFAULTS.readers,
      maxReaders: VIEW_DEFAULTS.maxReaders,
      readerLimit: VIEW_DEFAULTS.maxReaders,
      shards: clusters.size,
      targetReaderCpuPercent: VIEW_DEFAULTS.targetReaderCpuPercent,
      writerCpuLimitPercent: VIEW_DEFAULTS.writerCpuLimitPercent,
    };
    for (const [shard, clusterId] of [...clusters].sort((a, b) => a[0].localeCompare(b[0]))) databases.push({ clusterId, shard, database: config.databaseClusters?.[shard] ?? database });
  } else if (config.database) {
    warnings.push(`database: ${dataStack} has no output ${OutputKeys.databaseClusterId()} (not deployed yet?)`);
  }

  let cache: CacheTarget | undefined;
  const rg = data[OutputKeys.cacheReplicationGroupId];
  if (rg) {
    cache = {
      replicationGroupId: rg,
      cache: config.cache ?? {
        shards: VIEW_DEFAULTS.cacheShards,
        replicasPerShard: VIEW_DEFAULTS.replicasPerShard,
        nodeType: VIEW_DEFAULTS.nodeType,
        memoryTargetPercent: VIEW_DEFAULTS.memoryTargetPercent,
        engineCpuTargetPercent: VIEW_DEFAULTS.engineCpuTargetPercent,
      },
    };
  } else if (config.cache) {
    warnings.push(`cache: ${dataStack} has no output ${OutputKeys.cacheReplicationGroupId} (not deployed yet?)`);
  }

  const queueNames = suffixed(data, OutputKeys.queueName(''));
  const dlqNames = suffixed(data, OutputKeys.deadLetterQueueName(''));
  const queuesByKey = new Map(config.queues.map((q) => [pascal(q.name), q]));
  const queues: QueueTarget[] = [];
  for (const [key, queueName] of queueNames) {
    const queue = queuesByKey.get(key) ?? {
      name: key,
      acceptableLatencySeconds: VIEW_DEFAULTS.acceptableLatencySeconds,
      averageProcessingSeconds: VIEW_DEFAULTS.averageProcessingSeconds,
      maxWorkers: VIEW_DEFAULTS.maxWorkers,
    };
    const dlq = dlqNames.get(key);
    const worker = workerFleets.get(key);
    queues.push({ queue, queueName, ...(dlq ? { deadLetterQueueName: dlq } : {}), ...(worker ? { workerFleetName: worker } : {}) });
  }
  for (const q of config.queues) {
    if (!queueNames.has(pascal(q.name))) warnings.push(`queue ${q.name}: ${dataStack} has no output ${OutputKeys.queueName(q.name)} (not deployed yet?)`);
  }

  const lb = app[OutputKeys.loadBalancerFullName];
  return { ...(lb ? { loadBalancerFullName: lb } : {}), web, databases, ...(cache ? { cache } : {}), queues, warnings };
}

/** Metric keys, shared by the query builder and the report. */
export const MetricKeys = {
  webRequests: (service: string) => `web/${service}/requests`,
  webRequestsPerTarget: (service: string) => `web/${service}/requestsPerTarget`,
  webInService: (service: string) => `web/${service}/inService`,
  webMaxSize: (service: string) => `web/${service}/maxSize`,
  webCpu: (service: string) => `web/${service}/cpu`,
  dbReaderCpu: (cluster: string) => `db/${cluster}/readerCpu`,
  dbWriterCpu: (cluster: string) => `db/${cluster}/writerCpu`,
  dbConnections: (cluster: string) => `db/${cluster}/connections`,
  cacheMemory: 'cache/memory',
  cacheEngineCpu: 'cache/engineCpu',
  cacheEvictions: 'cache/evictions',
  cacheHitRate: 'cache/hitRate',
  cacheCommands: 'cache/commands',
  queueBacklog: (queue: string) => `queue/${queue}/backlog`,
  queueOldest: (queue: string) => `queue/${queue}/oldest`,
  queueSent: (queue: string) => `queue/${queue}/sent`,
  queueDlq: (queue: string) => `queue/${queue}/dlq`,
  workerInService: (queue: string) => `queue/${queue}/workers`,
  workerMaxSize: (queue: string) => `queue/${queue}/maxWorkers`,
};

/** A CloudWatch search over the cache's nodes (cluster-mode node ids start with the replication group id), reduced to one series. */
function cacheSearch(fn: 'MAX' | 'SUM' | 'AVG', metricNames: string[], rg: string, stat: string, period: number): MetricSpec['query'] {
  const names = metricNames.map((m) => `MetricName="${m}"`).join(' OR ');
  const escaped = rg.replace(/["\\]/g, '');
  return { Expression: `${fn}(SEARCH('{AWS/ElastiCache,CacheClusterId} (${names}) "${escaped}"', '${stat}', ${period}))`, Period: period };
}

/**
 * The cache memory signal for a node type: with data tiering (r6gd) the share of memory and SSD in use
 * (`DatabaseCapacityUsagePercentage`), since such a node keeps its memory full by design and moves values to SSD; the
 * memory share (`DatabaseMemoryUsagePercentage`) otherwise.
 */
export function cacheMemoryMetricName(nodeType: string): 'DatabaseCapacityUsagePercentage' | 'DatabaseMemoryUsagePercentage' {
  return /^cache\.r6gd\./.test(nodeType) ? 'DatabaseCapacityUsagePercentage' : 'DatabaseMemoryUsagePercentage';
}

/** The metric queries of a region, one per (resource, signal). */
export function buildQueries(t: RegionTargets, periodSeconds: number): MetricSpec[] {
  const p = periodSeconds;
  const specs: MetricSpec[] = [];
  for (const w of t.web) {
    const s = w.service.name;
    if (w.targetGroupFullName && t.loadBalancerFullName) {
      const dims = { TargetGroup: w.targetGroupFullName, LoadBalancer: t.loadBalancerFullName };
      specs.push({ key: MetricKeys.webRequests(s), query: metricStat('AWS/ApplicationELB', 'RequestCount', dims, 'Sum', p) });
      specs.push({ key: MetricKeys.webRequestsPerTarget(s), query: metricStat('AWS/ApplicationELB', 'RequestCountPerTarget', dims, 'Sum', p) });
    }
    const asg = { AutoScalingGroupName: w.fleetName };
    specs.push({ key: MetricKeys.webInService(s), query: metricStat('AWS/AutoScaling', 'GroupInServiceInstances', asg, 'Average', p) });
    specs.push({ key: MetricKeys.webMaxSize(s), query: metricStat('AWS/AutoScaling', 'GroupMaxSize', asg, 'Maximum', p) });
    specs.push({ key: MetricKeys.webCpu(s), query: metricStat('AWS/EC2', 'CPUUtilization', asg, 'Average', p) });
  }
  for (const d of t.databases) {
    const c = d.clusterId;
    specs.push({ key: MetricKeys.dbReaderCpu(c), query: metricStat('AWS/RDS', 'CPUUtilization', { DBClusterIdentifier: c, Role: 'READER' }, 'Average', p) });
    specs.push({ key: MetricKeys.dbWriterCpu(c), query: metricStat('AWS/RDS', 'CPUUtilization', { DBClusterIdentifier: c, Role: 'WRITER' }, 'Average', p) });
    specs.push({ key: MetricKeys.dbConnections(c), query: metricStat('AWS/RDS', 'DatabaseConnections', { DBClusterIdentifier: c }, 'Average', p) });
  }
  if (t.cache) {
    const rg = t.cache.replicationGroupId;
    specs.push({ key: MetricKeys.cacheMemory, query: cacheSearch('MAX', [cacheMemoryMetricName(t.cache.cache.nodeType)], rg, 'Maximum', p) });
    specs.push({ key: MetricKeys.cacheEngineCpu, query: cacheSearch('MAX', ['EngineCPUUtilization'], rg, 'Maximum', p) });
    specs.push({ key: MetricKeys.cacheEvictions, query: cacheSearch('SUM', ['Evictions'], rg, 'Sum', p) });
    specs.push({ key: MetricKeys.cacheHitRate, query: cacheSearch('AVG', ['CacheHitRate'], rg, 'Average', p) });
    specs.push({ key: MetricKeys.cacheCommands, query: cacheSearch('SUM', ['GetTypeCmds', 'SetTypeCmds'], rg, 'Sum', p) });
  }
  for (const q of t.queues) {
    const n = q.queue.name;
    const dims = { QueueName: q.queueName };
    specs.push({ key: MetricKeys.queueBacklog(n), query: metricStat('AWS/SQS', 'ApproximateNumberOfMessagesVisible', dims, 'Maximum', p) });
    specs.push({ key: MetricKeys.queueOldest(n), query: metricStat('AWS/SQS', 'ApproximateAgeOfOldestMessage', dims, 'Maximum', p) });
    specs.push({ key: MetricKeys.queueSent(n), query: metricStat('AWS/SQS', 'NumberOfMessagesSent', dims, 'Sum', p) });
    if (q.deadLetterQueueName) {
      specs.push({ key: MetricKeys.queueDlq(n), query: metricStat('AWS/SQS', 'ApproximateNumberOfMessagesVisible', { QueueName: q.deadLetterQueueName }, 'Maximum', p) });
    }
    if (q.workerFleetName) {
      const asg = { AutoScalingGroupName: q.workerFleetName };
      specs.push({ key: MetricKeys.workerInService(n), query: metricStat('AWS/AutoScaling', 'GroupInServiceInstances', asg, 'Average', p) });
      specs.push({ key: MetricKeys.workerMaxSize(n), query: metricStat('AWS/AutoScaling', 'GroupMaxSize', asg, 'Maximum', p) });
    }
  }
  return specs;
}
