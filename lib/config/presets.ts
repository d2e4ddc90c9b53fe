import { MONITORING_DEFAULTS } from '../../constructs/monitoring/defaults';
import { deepFreeze } from '../../constructs/common/freeze';
import type { MonitoringThresholds } from '../../constructs/monitoring/thresholds';
import type { WorkersSize } from './sections/queues';
import type { PriceClassName } from './sections/edge';
import type { InterfaceEndpointService } from '../../constructs/network/defaults';
import type { NatProviderName } from './sections/network';
import type { Stage } from './types';

/**
 * The defaults each stage of growth sets. One place for every tier's stage-dependent default; explicit
 * config values always win.
 */
export interface StagePreset {
  /** Availability zones per region (and the minimum the stage accepts without a warning). */
  readonly azs: number;
  /** Fewest AZs the stage accepts at all. */
  readonly minAzs: number;
  /** NAT gateways (or NAT instances) per region. */
  readonly natGateways: number;
  /** NAT gateways, or NAT instances (cheaper, not managed). */
  readonly natProvider: NatProviderName;
  /**
   * Interface endpoints of every region's VPC: AWS API calls of the fleets and of secret rotation stay in the VPC,
   * survive a NAT gateway's AZ going down and pay no NAT processing (each costs per AZ and hour).
   */
  readonly interfaceEndpoints: readonly InterfaceEndpointService[];
  /** Fewest regions the stage is meant to run in (fewer gets the `stage-regions` warning). */
  readonly minRegions: number;
  /** Multi-region DNS defaults (used when a domain is configured). */
  readonly dns: {
    /** Routing policy between regions. */
    readonly routing: 'latency' | 'geolocation' | 'failover';
    /** Consecutive failed health checks before Route 53 drains a region. */
    readonly failureThreshold: number;
    /** Seconds between checks of one Route 53 checker (10 = fast failover, billed extra). */
    readonly requestInterval: 10 | 30;
  };
  /** Web fleet defaults. */
  readonly web: { readonly instanceType: string; readonly minCapacity: number; readonly maxCapacity: number; readonly deletionProtection: boolean };
  /** Cache tier defaults (node type, shards × replicas per shard, snapshot days, autoscaling on/off). */
  readonly cache: { readonly nodeType: string; readonly shards: number; readonly replicasPerShard: number; readonly snapshotRetentionDays: number; readonly autoScaling: boolean };
  /** Queue defaults: the worker fleet of each queue (min 0 = sleeps while the queue is empty). */
  readonly queues: { readonly workers: WorkersSize };
  /**
   * Aurora defaults: instance type (or `serverless`), readers, reader autoscaling on/off, global database on/off
   * (multi-region), RDS Proxy on/off, Performance Insights on/off.
   */
  readonly database: {
    readonly instanceType: string; readonly readers: number; readonly autoScaling: boolean; readonly globalDatabase: boolean;
    readonly proxy: boolean; readonly performanceInsights: boolean;
  };
  /** Edge defaults. */
  readonly edge: { readonly priceClass: PriceClassName };
  /** Alarm thresholds (Warning/Critical per signal; see docs/monitoring.md). */
  readonly monitoring: { readonly thresholds: MonitoringThresholds };
}

/**
 * Thresholds of the `millions` stage (the construct's defaults) with `web`/`fleets` overrides: small
 * fleets (startup) are at 75 % with one instance short of their maximum, so they warn later.
 */
function monitoringPreset(over: { p99LatencyMs?: [number, number]; inServicePercentOfMax?: [number, number] } = {}): { thresholds: MonitoringThresholds } {
  const t = MONITORING_DEFAULTS.thresholds;
  const pair = (p: [number, number] | undefined, base: { warning: number; critical: number }) => (p ? { warning: p[0], critical: p[1] } : base);
  return {
    thresholds: {
      ...t,
      web: { ...t.web, p99LatencyMs: pair(over.p99LatencyMs, t.web.p99LatencyMs) },
      fleets: { inServicePercentOfMax: pair(over.inServicePercentOfMax, t.fleets.inServicePercentOfMax) },
    },
  };
}

/** What the runtime SDK and secret rotation call: parameters, secrets, queues, keys, logs, credentials. */
const CORE_ENDPOINTS: readonly InterfaceEndpointService[] = ['secretsmanager', 'ssm', 'sqs', 'kms', 'logs', 'sts'];
/** Plus Session Manager, CloudWatch metrics and the workers' Auto Scaling calls. */
const ALL_FLEET_ENDPOINTS: readonly InterfaceEndpointService[] = [...CORE_ENDPOINTS, 'ssmmessages', 'ec2messages', 'monitoring', 'autoscaling'];

/** Stage presets, documented in the README's stage table. Frozen: the configs resolved from them share their objects. */
export const PRESETS: Readonly<Record<Stage, StagePreset>> = deepFreeze({
  startup: {
    azs: 2,
    minAzs: 2,
    natGateways: 1,
    natProvider: 'instance',
    interfaceEndpoints: [],
    minRegions: 1,
    dns: { routing: 'latency', failureThreshold: 3, requestInterval: 30 },
    web: { instanceType: 't4g.small', minCapacity: 2, maxCapacity: 4, deletionProtection: false },
    cache: { nodeType: 'cache.t4g.micro', shards: 1, replicasPerShard: 1, snapshotRetentionDays: 7, autoScaling: false },
    queues: { workers: { instanceType: 't4g.small', minCapacity: 0, maxCapacity: 2 } },
    database: { instanceType: 'serverless', readers: 0, autoScaling: false, globalDatabase: false, proxy: false, performanceInsights: false },
    edge: { priceClass: 'PriceClass_100' },
    monitoring: monitoringPreset({ p99LatencyMs: [1000, 3000], inServicePercentOfMax: [75, 100] }),
  },
  growth: {
    azs: 3,
    minAzs: 3,
    natGateways: 3,
    natProvider: 'gateway',
    interfaceEndpoints: CORE_ENDPOINTS,
    minRegions: 1,
    dns: { routing: 'latency', failureThreshold: 3, requestInterval: 30 },
    web: { instanceType: 'm7g.large', minCapacity: 3, maxCapacity: 12, deletionProtection: true },
    cache: { nodeType: 'cache.r7g.large', shards: 1, replicasPerShard: 1, snapshotRetentionDays: 7, autoScaling: true },
    queues: { workers: { instanceType: 'm7g.large', minCapacity: 0, maxCapacity: 10 } },
    database: { instanceType: 'r7g.large', readers: 2, autoScaling: true, globalDatabase: false, proxy: true, performanceInsights: true },
    edge: { priceClass: 'PriceClass_100' },
    monitoring: monitoringPreset({ p99LatencyMs: [800, 2000] }),
  },
  millions: {
    azs: 3,
    minAzs: 3,
    natGateways: 3,
    natProvider: 'gateway',
    interfaceEndpoints: ALL_FLEET_ENDPOINTS,
    minRegions: 1,
    dns: { routing: 'latency', failureThreshold: 3, requestInterval: 30 },
    web: { instanceType: 'm7g.large', minCapacity: 3, maxCapacity: 30, deletionProtection: true },
    cache: { nodeType: 'cache.r7g.large', shards: 2, replicasPerShard: 1, snapshotRetentionDays: 14, autoScaling: true },
    queues: { workers: { instanceType: 'm7g.large', minCapacity: 1, maxCapacity: 40 } },
    database: { instanceType: 'r7g.large', readers: 2, autoScaling: true, globalDatabase: false, proxy: true, performanceInsights: true },
    edge: { priceClass: 'PriceClass_200' },
    monitoring: monitoringPreset(),
  },
  global: {
    azs: 3,
    minAzs: 3,
    natGateways: 3,
    natProvider: 'gateway',
    interfaceEndpoints: ALL_FLEET_ENDPOINTS,
    minRegions: 2,
    dns: { routing: 'latency', failureThreshold: 3, requestInterval: 10 },
    web: { instanceType: 'm7g.xlarge', minCapacity: 6, maxCapacity: 60, deletionProtection: true },
    cache: { nodeType: 'cache.r7g.xlarge', shards: 3, replicasPerShard: 2, snapshotRetentionDays: 14, autoScaling: true },
    queues: { workers: { instanceType: 'm7g.large', minCapacity: 2, maxCapacity: 80 } },
    database: { instanceType: 'r7g.xlarge', readers: 2, autoScaling: true, globalDatabase: true, proxy: true, performanceInsights: true },
    edge: { priceClass: 'PriceClass_All' },
    monitoring: monitoringPreset({ p99LatencyMs: [400, 1200] }),
  },
});
