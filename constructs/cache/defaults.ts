import { Duration, RemovalPolicy } from 'aws-cdk-lib/core';
import * as logs from 'aws-cdk-lib/aws-logs';

/** The engines a `CacheCluster` runs. */
export type CacheEngine = 'valkey' | 'redis';

/** Default values of the `CacheCluster` construct, in one place. */
export const CACHE_DEFAULTS = {
  /** Engine: Valkey (open source, cheaper per node than Redis OSS on ElastiCache). */
  engine: 'valkey' as CacheEngine,
  /** Engine version per engine: the current major of each. */
  engineVersion: { valkey: '8.1', redis: '7.1' } as Readonly<Record<CacheEngine, string>>,
  /** Node type. */
  nodeType: 'cache.r7g.large',
  /** Shards (node groups). */
  shards: 2,
  /** Replicas per shard (Multi-AZ needs at least one). */
  replicasPerShard: 1,
  /** Port (Valkey's and Redis's own). */
  port: 6379,
  /** How long automatic snapshots are kept (whole days, 0-35). */
  snapshotRetention: Duration.days(7),
  /** Weekly maintenance window (UTC), away from the snapshot window. */
  maintenanceWindow: 'sun:05:00-sun:06:00',
  /** Daily snapshot window (UTC). */
  snapshotWindow: '03:00-04:00',
  /** Retention of the slow and engine log groups. */
  logRetention: logs.RetentionDays.ONE_MONTH,
  /** Removal policy of the replication group. */
  removalPolicy: RemovalPolicy.SNAPSHOT,
  /** Target tracking: engine CPU % and memory % (used memory counted for eviction). */
  targetCpuPercent: 60,
  targetMemoryPercent: 70,
  /** The target values ElastiCache Auto Scaling accepts for its predefined metrics (inclusive). */
  targetPercentRange: { min: 35, max: 70 },
  /** Cooldowns of the target tracking policies. */
  scaleOutCooldown: Duration.minutes(5),
  scaleInCooldown: Duration.minutes(15),
  /** Name of the application user (RBAC). */
  appUserName: 'app',
  /**
   * The application user's Redis ACL rules: every key and command except the dangerous category (FLUSHALL, KEYS,
   * CONFIG, DEBUG, ...), but INFO: the client's ready check sends it at every connection (it waits while a node loads
   * its data), and a refusal is printed on the console each time.
   */
  appUserAccessString: 'on ~* +@all -@dangerous +info',
} as const;
