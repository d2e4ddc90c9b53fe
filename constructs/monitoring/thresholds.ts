/**
 * Warning and critical thresholds of one alarm pair. For a signal where higher is worse (latency, CPU)
 * `warning` must be below `critical`; where lower is worse (freeable memory) it must be above.
 */
export interface SeverityThresholds {
  /** Threshold of the Warning alarm. */
  readonly warning: number;
  /** Threshold of the Critical alarm (part of the region's health composite alarm). */
  readonly critical: number;
}

/** Web tier thresholds. */
export interface WebThresholds {
  /** p99 target response time of each service, in milliseconds. */
  readonly p99LatencyMs: SeverityThresholds;
  /** 5xx responses (targets and load balancer) as % of requests, whole load balancer. */
  readonly errorRatePercent: SeverityThresholds;
}

/** Fleet thresholds, for web and worker fleets alike. */
export interface FleetThresholds {
  /** In-service instances as % of the group's maximum size: how close the fleet is to its ceiling. */
  readonly inServicePercentOfMax: SeverityThresholds;
}

/** Database thresholds (used only when a database is monitored). */
export interface DatabaseThresholds {
  /** Writer/instance CPU %. */
  readonly cpuPercent: SeverityThresholds;
  /** Replica lag of the readers, in milliseconds. */
  readonly replicaLagMs: SeverityThresholds;
  /** Global Database replication lag of a secondary region, in milliseconds. */
  readonly globalReplicationLagMs: SeverityThresholds;
  /** Commit latency, in milliseconds. */
  readonly commitLatencyMs: SeverityThresholds;
  /** Freeable memory in MiB; lower is worse, so `warning` is above `critical`. */
  readonly freeableMemoryMiB: SeverityThresholds;
}

/** Cache thresholds (used only when a cache is monitored). */
export interface CacheThresholds {
  /** Engine CPU % of the busiest node. */
  readonly cpuPercent: SeverityThresholds;
  /** Memory used for data, % of the fullest node. */
  readonly memoryPercent: SeverityThresholds;
  /** Keys evicted per minute, all nodes. */
  readonly evictionsPerMinute: SeverityThresholds;
}

/** Queue thresholds (used only when queues are monitored). */
export interface QueueThresholds {
  /** Age of the oldest message as % of the queue's acceptable latency (100 = at the latency target). */
  readonly oldestMessageAgePercentOfLatency: SeverityThresholds;
  /** Messages waiting in the dead-letter queue. */
  readonly deadLetterMessages: SeverityThresholds;
}

/** Every threshold of {@link RegionMonitoring}, by tier. */
export interface MonitoringThresholds {
  /** The load balancer and its services. */
  readonly web: WebThresholds;
  /** Web and worker fleets. */
  readonly fleets: FleetThresholds;
  /** The database. */
  readonly database: DatabaseThresholds;
  /** The cache. */
  readonly cache: CacheThresholds;
  /** The work queues. */
  readonly queues: QueueThresholds;
}

/** `MonitoringThresholds` with every tier and field optional: what users pass, merged over the defaults. */
export type MonitoringThresholdsInput = { readonly [T in keyof MonitoringThresholds]?: Partial<MonitoringThresholds[T]> };

/** Thresholds where lower is worse (the Critical threshold is below the Warning one). */
export const LOWER_IS_WORSE: ReadonlySet<string> = new Set(['database.freeableMemoryMiB']);

/**
 * Problems with a set of thresholds, as `path: message (got: value)` strings, for the construct and the
 * config validation alike: numbers must be finite and non-negative (percentages at most 100), and
 * `warning` must be below `critical` where higher is worse and above it where lower is worse.
 */
export function thresholdProblems(thresholds: MonitoringThresholds): string[] {
  const out: string[] = [];
  for (const [tier, fields] of Object.entries(thresholds) as Array<[string, Record<string, SeverityThresholds>]>) {
    for (const [field, t] of Object.entries(fields)) {
      const path = `${tier}.${field}`;
      for (const sev of ['warning', 'critical'] as const) {
        const v = t[sev];
        if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) out.push(`${path}.${sev}: must be a number ≥ 0 (got: ${JSON.stringify(v)})`);
        else if (field.endsWith('Percent') && v > 100) out.push(`${path}.${sev}: must be at most 100 (got: ${v})`);
      }
      if (typeof t.warning !== 'number' || typeof t.critical !== 'number') continue;
      if (LOWER_IS_WORSE.has(path)) {
        if (!(t.warning > t.critical)) out.push(`${path}: lower is worse, so warning must be above critical (got: warning ${t.warning}, critical ${t.critical})`);
      } else if (!(t.warning < t.critical)) {
        out.push(`${path}: higher is worse, so warning must be below critical (got: warning ${t.warning}, critical ${t.critical})`);
      }
    }
  }
  return out;
}

/** Merges partial thresholds over complete ones, tier by tier and field by field. */
export function mergeThresholds(base: MonitoringThresholds, over: MonitoringThresholdsInput | undefined): MonitoringThresholds {
  if (!over) return base;
  return {
    web: { ...base.web, ...over.web },
    fleets: { ...base.fleets, ...over.fleets },
    database: { ...base.database, ...over.database },
    cache: { ...base.cache, ...over.cache },
    queues: { ...base.queues, ...over.queues },
  };
}
