import { Duration } from 'aws-cdk-lib/core';
import { deepFreeze } from '../common/freeze';
import type { MonitoringThresholds } from './thresholds';

/** Default values of {@link RegionMonitoring}; one place for every monitoring default. Frozen: configs share its objects. */
export const MONITORING_DEFAULTS = deepFreeze({
  /** Period of every alarm and dashboard metric. */
  period: Duration.minutes(1),
  /** An alarm fires when `datapointsToAlarm` of the last `evaluationPeriods` minutes breach (3 of 5). */
  evaluationPeriods: 5,
  datapointsToAlarm: 3,
  /**
   * The 5xx rate is only evaluated when the load balancer served at least this many requests in the
   * minute, so 1 error out of 2 requests at night does not page anyone.
   */
  errorRateMinRequests: 50,
  /** Dashboard time range. */
  dashboardRange: Duration.hours(3),
  /** Thresholds when none are given (the `millions` stage preset uses the same). */
  thresholds: {
    web: {
      p99LatencyMs: { warning: 500, critical: 1500 },
      errorRatePercent: { warning: 1, critical: 5 },
    },
    fleets: {
      inServicePercentOfMax: { warning: 80, critical: 95 },
    },
    database: {
      cpuPercent: { warning: 70, critical: 90 },
      replicaLagMs: { warning: 1000, critical: 5000 },
      globalReplicationLagMs: { warning: 2000, critical: 10000 },
      commitLatencyMs: { warning: 20, critical: 100 },
      freeableMemoryMiB: { warning: 1024, critical: 256 },
    },
    cache: {
      cpuPercent: { warning: 70, critical: 90 },
      memoryPercent: { warning: 75, critical: 90 },
      evictionsPerMinute: { warning: 100, critical: 1000 },
    },
    queues: {
      oldestMessageAgePercentOfLatency: { warning: 100, critical: 300 },
      deadLetterMessages: { warning: 1, critical: 100 },
    },
  } satisfies MonitoringThresholds,
} as const);
