/**
 * The runtime SDK (`scale-to-millions/runtime`): what runs on the application servers. The environment file,
 * the topology the stacks publish, PostgreSQL with a read/write split and read-your-writes sessions, the sharded
 * database, health checks, and the sharding primitives (shard-map format, hashing, routing, resharding plans).
 * See `docs/runtime.md`, `docs/application-contract.md` and `docs/sharding.md`.
 *
 * Importing this module loads neither aws-cdk-lib nor the AWS SDK nor `pg`: each is loaded on first use.
 *
 * @module
 */

export {
  MAX_SHARDS,
  SHARD_MAP_VERSION,
  ShardMapValidationError,
  formatIssue,
  formatReceived,
  parseShardMap,
  parseShardMapJson,
  serializeShardMap,
  shardMapEpoch,
  validateShardMap,
  type HashShardMap,
  type RangeBoundary,
  type RangeShardMap,
  type ShardEntry,
  type ShardMap,
  type ShardMapIssue,
  type ShardMapParseOptions,
  type ShardStrategy,
} from './shard-map';
export {
  MAX_BUCKETS,
  bucketOf,
  hash64,
  jumpConsistentHash,
  jumpConsistentHashBigInt,
  xxHash64,
  type ShardKey,
} from './hash';
export { ShardRouter, readEndpoint, writeEndpoint } from './shard-router';
export {
  ReshardingError,
  planResharding,
  type HashMove,
  type HashReshardingPlan,
  type RangeMove,
  type RangeReshardingPlan,
  type ReshardingPlan,
} from './resharding';
export {
  ShardMapLoadError,
  ShardMapLoader,
  ShardMapNotLoadedError,
  StaleShardMapError,
  systemClock,
  type ShardMapLoaderClock,
  type ShardMapLoaderOptions,
  type ShardMapLoaderStatus,
} from './shard-map-loader';
export * from './contract';
export { EnvironmentError, parseEnvFile, readEnvironment, type ReadEnvironmentOptions, type RuntimeEnvironment } from './env';
export {
  TopologyError,
  TopologyLoader,
  loadTopology,
  parseTopology,
  secretArnsOf,
  type CacheEndpoints,
  type DatabaseAuthentication,
  type DatabaseEndpoints,
  type ParseTopologyOptions,
  type QueueEndpoints,
  type SecretValue,
  type SessionEndpoints,
  type ShardEndpoints,
  type ShardTopology,
  type Topology,
  type TopologyChange,
  type TopologyIssue,
  type TopologyLoaderOptions,
  type TopologyLoaderStatus,
} from './topology';
export {
  iamCredentials,
  secretCredentials,
  staticCredentials,
  type DatabaseCredentials,
  type IamCredentialsOptions,
  type SecretCredentialsOptions,
} from './credentials';
export {
  CircuitBreaker,
  DbSession,
  POSITION_SQL,
  clusterKey,
  parsePosition,
  type CircuitBreakerOptions,
  type ReplicationMode,
  type SessionWrite,
} from './replication';
export {
  Database,
  WRITE_FORWARD_SETTING,
  WriteUnavailableError,
  createDatabase,
  isConnectionError,
  type Consistency,
  type DatabaseOptions,
  type DatabaseStats,
  type DatabaseTlsOptions,
  type DbResult,
  type ForwardingConsistency,
  type PoolOptions,
  type Queryable,
  type ReadOptions,
  type RouteReason,
  type TransactionOptions,
  type WriteOptions,
} from './database';
export {
  ShardedDatabase,
  createShardedDatabase,
  type FanOutOptions,
  type FanOutResult,
  type ShardedDatabaseOptions,
} from './sharded-database';
export { HealthCheck, type CheckResult, type HealthCheckDefinition, type HealthCheckOptions, type HealthStatus } from './health';
