/**
 * The runtime SDK (`scale-to-millions/runtime`): what runs on the application servers. `createRuntime()` builds
 * everything below from the environment file and the published topology in one call; each part stays usable on
 * its own: the environment file, the topology the stacks publish, PostgreSQL with a read/write split and
 * read-your-writes sessions, the sharded database, the cache client, cache-aside, session stores, queue producers
 * and the queue worker, idempotency, health checks and the HTTP glue, and the sharding primitives (shard-map
 * format, hashing, routing, resharding plans). See `docs/application-contract.md` (the guide), `docs/runtime.md`,
 * `docs/runtime-async.md` and `docs/sharding.md`.
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
  TransactionAbortedError,
  WRITE_FORWARD_SETTING,
  WriteUnavailableError,
  PoolSaturatedError,
  createDatabase,
  databaseCertificateAuthorities,
  isConnectionError,
  isQueryTimeout,
  isStatementTimeout,
  STATEMENT_TIMEOUT_MARGIN_MS,
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
  StaleShardMapRoutingError,
  createShardedDatabase,
  type FanOutOptions,
  type FanOutResult,
  type ShardedDatabaseOptions,
} from './sharded-database';
export { HealthCheck, type CheckResult, type HealthCheckDefinition, type HealthCheckOptions, type HealthStatus } from './health';
export {
  SecretReadError,
  secretsManagerSecret,
  secretsManagerSecretVersions,
  type SecretProvider,
  type SecretVersions,
  type SecretsManagerSecretOptions,
} from './secrets';
export { exponentialBackoff, type ExponentialBackoffOptions } from './backoff';
export {
  CACHE_CLIENT_DEFAULTS,
  CacheClient,
  CacheConnectError,
  CacheRetargetSupersededError,
  cacheClientOptionsFromParameters,
  isAuthError,
  redisOf,
  type CacheAuthMode,
  type CacheClientOptions,
  type CacheClientStats,
  type CacheParameters,
  type RedisClient,
} from './cache-client';
export {
  CACHE_ASIDE_DEFAULTS,
  CacheAside,
  hashTag,
  jsonSerializer,
  lockKeyFor,
  type CacheAsideOptions,
  type CacheAsideStats,
  type CacheSerializer,
  type GetOrLoadOptions,
  type LockKey,
} from './cache-aside';
export {
  SESSION_DEFAULTS,
  SessionStoreUnavailableError,
  SessionTooLargeError,
  type LoadedSession,
  type SessionStore,
} from './session';
export {
  SESSION_COOKIE_DEFAULTS,
  clearSessionCookie,
  parseCookies,
  readCookie,
  serializeCookie,
  sessionCookie,
  type CookieOptions,
} from './session-cookie';
export { CacheSessionStore, type CacheSessionStoreOptions } from './session-cache';
export {
  SEALED_SESSION_DEFAULTS,
  SealedSessionStore,
  deriveSessionKey,
  openSessionToken,
  sealSessionToken,
  type SealedSession,
  type SealedSessionStats,
  type SealedSessionStoreOptions,
  type SessionKey,
  type SessionSecrets,
  type SessionTokenRejection,
} from './session-sealed';
export {
  IDEMPOTENCY_DEFAULTS,
  Idempotency,
  IdempotencyConflictError,
  IdempotencyUnavailableError,
  type IdempotencyOptions,
  type IdempotencyStats,
  type IdempotentOutcome,
} from './idempotency';
export {
  RUNTIME_DEFAULTS,
  Runtime,
  cacheOptionsFromTopology,
  cachePasswordProvider,
  checkDatabaseIdentity,
  chooseSessionStore,
  createRuntime,
  queuesToRead,
  readersByWriter,
  tiersToRead,
  type RunWorkerOptions,
  type RuntimeCacheOptions,
  type RuntimeOptions,
  type RuntimeSessionOptions,
  type RuntimeStats,
  type SessionStoreChoice,
  type SessionStoreDecision,
} from './runtime';
export {
  MAX_MESSAGE_ATTRIBUTES,
  QueueProducer,
  jobDeduplicationId,
  jobMessageAttributes,
  jobMessageInput,
  jobOf,
  jobWorkKey,
  type Job,
  type QueueProducerOptions,
  type QueueProducerStats,
  type SendJobOptions,
} from './queue-producer';
export {
  HttpError,
  HttpService,
  RequestSession,
  SERVE_DEFAULTS,
  appendSetCookie,
  keepAliveTimeoutFor,
  readJson,
  readJsonObject,
  sendJson,
  serveHttp,
  statusForError,
  type HttpServiceStats,
  type RequestHandler,
  type ServeOptions,
} from './http';
export { SQS_CLIENT_DEFAULTS, sqsClientConfig } from './sqs-client';
export { QUEUE_WORKER_DEFAULTS, QueueWorker, RetryLaterError, type QueueMessage, type QueueWorkerOptions, type QueueWorkerStats } from './worker';
export { BatchEntryError, SqsBatcher, type BatchAddOptions, type BatchCallResult, type BatchEntry, type SqsBatcherOptions } from './worker-batch';
export { AutoScalingInstanceLifecycle, type AutoScalingInstanceLifecycleOptions, type InstanceLifecycle } from './worker-lifecycle';
export {
  AutoScalingInstanceProtection,
  readInstanceIdentity,
  type AutoScalingInstanceProtectionOptions,
  type InstanceIdentity,
  type InstanceMetadataOptions,
  type InstanceProtection,
} from './worker-protection';
