import type { CacheConfig, CacheInput } from './sections/cache';

export type { CacheAutoScalingInput, CacheConfig, CacheGlobalDatastoreInput, CacheInput } from './sections/cache';

/**
 * The shape of a scale-to-millions config file (`config/*.json`) and of the typed API that takes the
 * same shape in code. `*Input` types are what users write (most fields optional); the resolved types,
 * returned by `resolveConfig`, have every default from the stage preset filled in.
 */

import type { QueueConfig, QueueInput } from './sections/queues';
import type { FleetFieldsConfig, FleetFieldsInput } from './sections/application';

export type {
  ApplicationConfig, ApplicationInput, ArtifactInput, AssetInput, ContainerInput, FleetEgress, FleetFieldsConfig, FleetFieldsInput,
  MachineImageInput, NodejsInput, RolloutConfig, RolloutInput,
} from './sections/application';

export type { QueueConfig, QueueInput, WorkersConfig, WorkersInput, WorkersSize } from './sections/queues';
import type { DatabaseConfig, DatabaseInput } from './sections/database';

export type { DatabaseAutoScalingInput, DatabaseConfig, DatabaseEngine, DatabaseGlobalInput, DatabaseInput, DatabaseProxyInput } from './sections/database';
export type { DatabaseShardConfig, DatabaseShardInput, DatabaseShardingConfig, DatabaseShardingInput } from './sections/sharding';
import type { EdgeConfig, EdgeInput } from './sections/edge';
import type { DnsConfig, DnsInput } from './sections/dns';

import type { MonitoringConfig, MonitoringInput } from './sections/monitoring';
import type { NetworkConfig, NetworkInput } from './sections/network';

export type { NatProviderName, NetworkConfig, NetworkInput } from './sections/network';

export type { MonitoringConfig, MonitoringInput, MonitoringThresholdsConfigInput, SeverityThresholdsInput } from './sections/monitoring';

/** Stages of growth; each sets the defaults of every tier (see `presets.ts` and the README table). */
export type Stage = 'startup' | 'growth' | 'millions' | 'global';

/** The stages, in order of growth. */
export const STAGES: readonly Stage[] = ['startup', 'growth', 'millions', 'global'];

/** One region the product runs in. */
export interface RegionInput {
  /** AWS region code, e.g. `eu-west-1`. */
  readonly region: string;
  /** Availability zones, all inside `region`. @default - the region's first zones, as many as the stage needs */
  readonly availabilityZones?: string[];
  /** The VPC's IPv4 CIDR (/16 to /22); must not overlap another region's. */
  readonly vpcCidr: string;
  /** NAT gateways in this region. @default - the network's `natGateways` */
  readonly natGateways?: number;
}

/** The public domain and the Route 53 hosted zone that holds it (given by attributes, never looked up). */
export interface DomainInput {
  /** The product's domain, e.g. `shop.example.com`; must be inside `hostedZoneName`. */
  readonly name: string;
  /** Route 53 hosted zone id, e.g. `Z0123456789ABCDEFGHIJ`. */
  readonly hostedZoneId: string;
  /** The hosted zone's name, e.g. `example.com`. */
  readonly hostedZoneName: string;
}

/** A scheduled capacity change of a fleet. */
export interface ScheduledScalingInput {
  /** Name, unique within the service. */
  readonly name: string;
  /** Cron expression in UTC, five fields (`minute hour day month weekday`), e.g. `0 8 * * MON-FRI`. */
  readonly schedule: string;
  /** New minimum capacity. @default - unchanged */
  readonly minCapacity?: number;
  /** New maximum capacity. @default - unchanged */
  readonly maxCapacity?: number;
}

/** A warm pool of pre-initialised stopped instances. */
export interface WarmPoolInput {
  /** Instances kept in the pool. @default 0 */
  readonly minSize?: number;
  /** Return scaled-in instances to the pool. @default false */
  readonly reuseOnScaleIn?: boolean;
}

/** Step scaling on average CPU, on top of target tracking, for sudden spikes. */
export interface StepScalingInput {
  /** CPU % at or above which `addInstances` instances are added at once. */
  readonly cpuAbove: number;
  /** Instances to add. */
  readonly addInstances: number;
}

/** One service (functional partition) behind the shared load balancer. */
export interface ServiceInput extends FleetFieldsInput {
  /** Lowercase name, unique: `[a-z][a-z0-9-]*`, at most 20 characters. */
  readonly name: string;
  /** Path patterns routed to this service, e.g. `["/api/*"]`. A service with neither path nor host patterns is the default one. */
  readonly pathPatterns?: string[];
  /** Host patterns routed to this service, e.g. `["api.example.com"]`. */
  readonly hostPatterns?: string[];
  /** Listener rule priority (1-50000, unique). @default - 10 × the service's position */
  readonly priority?: number;
  /** EC2 instance type, e.g. `m7g.large`. @default - stage preset */
  readonly instanceType?: string;
  /** Minimum fleet size. @default - stage preset */
  readonly minCapacity?: number;
  /** Maximum fleet size. @default - stage preset */
  readonly maxCapacity?: number;
  /** Target average CPU % for target tracking. @default 50 */
  readonly targetCpuPercent?: number;
  /** Target ALB requests per instance per minute for target tracking. @default 1000 */
  readonly targetRequestsPerInstance?: number;
  /** Port the application listens on. @default 8080 */
  readonly port?: number;
  /** Health check path. @default /health */
  readonly healthCheckPath?: string;
  /** Seconds the load balancer waits for in-flight requests before deregistering. @default 30 */
  readonly deregistrationDelaySeconds?: number;
  /** Seconds a new target ramps up its share of requests (0 = off, else 30-900). @default 0 */
  readonly slowStartSeconds?: number;
  /** Scheduled capacity changes. @default - none */
  readonly scheduledScaling?: ScheduledScalingInput[];
  /** Step scaling for spikes. @default - none */
  readonly stepScaling?: StepScalingInput;
  /** Warm pool. @default - none */
  readonly warmPool?: WarmPoolInput;
}

/** The web tier's shared load balancer. */
export interface WebInput {
  /** Deletion protection on the load balancer. @default - true from the `millions` stage on */
  readonly deletionProtection?: boolean;
  /** Idle timeout in seconds. @default 60 */
  readonly idleTimeoutSeconds?: number;
}

/** What a user writes: the config file's shape. */
export interface AppConfigInput {
  /** Lowercase name, prefix of every stack (`<name>-network-<region>`): `[a-z][a-z0-9-]*`, at most 24 characters. */
  readonly name: string;
  /** Stage of growth. @default 'startup' */
  readonly stage?: Stage;
  /** 12-digit AWS account id. @default - environment-agnostic in the account (the region is always explicit) */
  readonly account?: string;
  /** The regions; the first is the primary unless `primaryRegion` says otherwise. */
  readonly regions: RegionInput[];
  /** The primary region (holds writers). @default - the first region */
  readonly primaryRegion?: string;
  /** The public domain. @default - no domain: HTTP-only load balancers, and a warning */
  readonly domain?: DomainInput;
  /** Network defaults. */
  readonly network?: NetworkInput;
  /** The load balancer. */
  readonly web?: WebInput;
  /** Services behind the load balancer. @default - one service named `web` taking every path */
  readonly services?: ServiceInput[];
  /** The cache tier (ElastiCache Valkey/Redis OSS in every region). @default - stage preset */
  readonly cache?: CacheInput;
  /** Queues of slow work, each with a dead-letter queue and a worker fleet, in every region. @default - none */
  readonly queues?: QueueInput[];
  /** Dashboards, Warning/Critical alarms, the alarm topic and the health alarm of every region. @default - enabled, stage preset thresholds, no emails */
  readonly monitoring?: MonitoringInput;
  /** Extra tags on every resource. @default - none */
  readonly tags?: Record<string, string>;
  /** The Aurora data tier of every region. @default - stage preset */
  readonly database?: DatabaseInput;
  /** The edge: CloudFront, WAF, static assets. @default - on when a domain is configured */
  readonly edge?: EdgeInput;
  /** Multi-region DNS: routing, health checks, names (needs `domain`). @default - latency routing to every region */
  readonly dns?: DnsInput;
}

/** A region with its defaults resolved. */
export interface RegionConfig {
  readonly region: string;
  readonly availabilityZones: string[];
  readonly vpcCidr: string;
  readonly natGateways: number;
}

/** A service with its defaults resolved. */
export interface ServiceConfig extends FleetFieldsConfig {
  readonly name: string;
  /** True for the one service that takes every request no rule matches. */
  readonly isDefault: boolean;
  readonly pathPatterns: string[];
  readonly hostPatterns: string[];
  /** Listener rule priority (unused for the default service). */
  readonly priority: number;
  readonly instanceType: string;
  readonly minCapacity: number;
  readonly maxCapacity: number;
  readonly targetCpuPercent: number;
  readonly targetRequestsPerInstance: number;
  readonly port: number;
  readonly healthCheckPath: string;
  readonly deregistrationDelaySeconds: number;
  readonly slowStartSeconds: number;
  readonly scheduledScaling: ScheduledScalingInput[];
  readonly stepScaling?: StepScalingInput;
  readonly warmPool?: WarmPoolInput;
}

/** A validated config with every default filled in. */
export interface AppConfig {
  readonly name: string;
  readonly stage: Stage;
  readonly account?: string;
  readonly primaryRegion: string;
  /** Regions, primary first. */
  readonly regions: RegionConfig[];
  readonly domain?: DomainInput;
  readonly network: NetworkConfig;
  readonly web: { readonly deletionProtection: boolean; readonly idleTimeoutSeconds: number };
  readonly services: ServiceConfig[];
  readonly cache: CacheConfig;
  readonly queues: QueueConfig[];
  readonly monitoring: MonitoringConfig;
  readonly tags: Record<string, string>;
  readonly database: DatabaseConfig;
  readonly edge: EdgeConfig;
  /** Multi-region DNS (records are created only when `domain` is set). */
  readonly dns: DnsConfig;
}
