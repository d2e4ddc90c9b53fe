/**
 * The application contract: the names under which the stacks publish what an application needs, and the
 * environment file every instance gets. The constructs that publish (data tier, fleets) and the runtime SDK
 * that reads both import this one module, so the two sides cannot drift. It imports nothing: it is safe to
 * load on an application server and in a CDK app alike.
 *
 * Layout under the app's prefix (`/<name>` in the reference app), one SSM String parameter per value:
 *
 * ```
 * /<name>/database/writer | reader | proxy | proxy-read-only | port | database-name | engine | secret-arn | ...
 * /<name>/database/shard-map                (sharded apps: the shard map JSON)
 * /<name>/database/shards/<id>/...          (each further shard: the same keys as database/)
 * /<name>/cache/endpoint | port | tls | auth-mode | username | secret-arn
 * /<name>/queues/<queue>/url | arn | name | dead-letter-url
 * /<name>/sessions/secret-arn
 * ```
 *
 * @module
 */

/** Path segments under the app prefix, one per tier. */
export const TIER_PATHS = {
  database: 'database',
  cache: 'cache',
  queues: 'queues',
  sessions: 'sessions',
} as const;

/** Keys under `<prefix>/database` (and under each `<prefix>/database/shards/<id>`). */
export const DATABASE_KEYS = {
  /**
   * Cluster (writer) endpoint host. On a Global Database secondary this is the local cluster endpoint, which is
   * inactive while the region is a secondary (it becomes the writer on promotion).
   */
  writer: 'writer',
  /** Reader endpoint host (load-balanced over the readers). */
  reader: 'reader',
  /** RDS Proxy read/write endpoint host, when there is a proxy. */
  proxy: 'proxy',
  /** RDS Proxy read-only endpoint host, when there is a proxy. */
  proxyReadOnly: 'proxy-read-only',
  /** Port, as a decimal string. */
  port: 'port',
  /** Name of the application database. */
  databaseName: 'database-name',
  /** `postgres` or `mysql`. */
  engine: 'engine',
  /** ARN of the master (administrator) credentials secret. Fleets are NOT granted it; migrations are. */
  secretArn: 'secret-arn',
  /**
   * How fleets authenticate: `iam` (each fleet connects as its own database user, {@link ENV_VARS.databaseUser},
   * with an IAM authentication token; no password exists) or `password` (a secret named by the fleet's own
   * configuration, e.g. local development).
   */
  authentication: 'authentication',
  /** `primary` (holds the writer) or `secondary` (an Aurora Global Database secondary, read-only locally). */
  role: 'role',
  /**
   * `on` when a secondary forwards writes to the primary region (Aurora global write forwarding), `off` otherwise.
   * The runtime then sends writes to this region's replicas through {@link DATABASE_KEYS.reader} (directly, not
   * through RDS Proxy, which does not support the SESSION consistency mode), with
   * `apg_write_forward.consistency_mode` set on those connections: a secondary's cluster endpoint is inactive.
   */
  writeForwarding: 'write-forwarding',
  /** Shard map JSON (sharded apps only; see `shard-map.ts`). */
  shardMap: 'shard-map',
  /** Prefix of further shards: `<prefix>/database/shards/<id>/<key>`. */
  shards: 'shards',
} as const;

/** Keys under `<prefix>/cache`. */
export const CACHE_KEYS = {
  /** Configuration endpoint (cluster mode) host. */
  endpoint: 'endpoint',
  /** Port, as a decimal string. */
  port: 'port',
  /** `required` when clients must use TLS. */
  tls: 'tls',
  /** `rbac` or `auth-token`. */
  authMode: 'auth-mode',
  /** RBAC user name (RBAC only). */
  username: 'username',
  /** ARN of the secret whose JSON holds `password` (and `username` with RBAC). */
  secretArn: 'secret-arn',
} as const;

/** Keys under `<prefix>/queues/<queue>`. */
export const QUEUE_KEYS = {
  url: 'url',
  arn: 'arn',
  name: 'name',
  /** URL of the queue's dead-letter queue. */
  deadLetterUrl: 'dead-letter-url',
} as const;

/**
 * SQS message attributes (String) between the runtime's queue producer and its worker: what a worker needs besides
 * the body to handle a job correctly. Names follow SQS's rules (letters, digits, `-`, `_`, `.`; no `AWS.`/`Amazon.`
 * prefix); a message carries at most 10 attributes, these included.
 */
export const JOB_ATTRIBUTES = {
  /** The job's kind, e.g. `order.placed`: one queue can carry several kinds. */
  type: 's2m-job-type',
  /**
   * The business key of the job (e.g. the order id). The worker runs a job once per `<type>:<key>` (the
   * idempotency helper): a producer's retry carries the same key, while SQS gives it a new message id.
   */
  idempotencyKey: 's2m-idempotency-key',
  /**
   * The producer's database session token (`DbSession.token()`, about 35 bytes per cluster written): the worker's
   * read-your-writes reads see what the producer wrote before it sent the job, even on a lagging replica.
   */
  dbSession: 's2m-db-session',
  /** `<service>@<version>` of the producer, for logs and for telling versions apart during a rollout. */
  producer: 's2m-producer',
} as const;

/** Keys under `<prefix>/sessions`. */
export const SESSION_KEYS = {
  /**
   * ARN of the secret (in this region: a replica of the primary region's) whose value seals session tokens, so a
   * session issued in one region is valid in every region.
   */
  secretArn: 'secret-arn',
} as const;

/** The environment file on every instance, written by the fleet's user data; `KEY=value` lines, no secret ever. */
export const ENV_FILE = '/etc/scale-to-millions/env';

/** Variables of {@link ENV_FILE}. */
export const ENV_VARS = {
  /** The app name (`config.name`). */
  app: 'S2M_APP',
  /** The instance's region. */
  region: 'S2M_REGION',
  /** The region holding the writers. */
  primaryRegion: 'S2M_PRIMARY_REGION',
  /** `web` (a web service) or `worker` (a queue's worker fleet). */
  role: 'S2M_ROLE',
  /** The web service's name, or the queue's name for a worker fleet. */
  service: 'S2M_SERVICE',
  /** The SSM parameter prefix of the app, e.g. `/shop`. */
  parameterPrefix: 'S2M_PARAMETER_PREFIX',
  /** The port a web service listens on. */
  port: 'S2M_PORT',
  /** The shallow health path the load balancer checks (the process is up). */
  healthPath: 'S2M_HEALTH_PATH',
  /** The deep health path Route 53 checks (writer, a reader and the cache answer within a budget). */
  deepHealthPath: 'S2M_DEEP_HEALTH_PATH',
  /** The application version the fleet was deployed with (artifact version, image tag or AMI id). */
  version: 'S2M_APP_VERSION',
  /** The fleet's own database user (IAM authentication); not a secret. */
  databaseUser: 'S2M_DATABASE_USER',
} as const;

/** Default health paths. */
export const HEALTH_PATHS = {
  shallow: '/health',
  deep: '/health/deep',
} as const;

/** `<prefix>/<tier>`. */
export function tierPrefix(prefix: string, tier: keyof typeof TIER_PATHS): string {
  return `${prefix}/${TIER_PATHS[tier]}`;
}

/** `<prefix>/queues/<queue>`. */
export function queuePrefix(prefix: string, queue: string): string {
  return `${prefix}/${TIER_PATHS.queues}/${queue}`;
}

/** `<prefix>/database/shards/<id>`. */
export function shardPrefix(prefix: string, shardId: string): string {
  return `${prefix}/${TIER_PATHS.database}/${DATABASE_KEYS.shards}/${shardId}`;
}

/**
 * Where an instance finds AWS's RDS certificate bundle (the fleet installs it). The runtime SDK trusts it for
 * database TLS when it exists; RDS certificates are not signed by a public CA, so without it a verified TLS
 * connection to RDS fails.
 */
export const DATABASE_CA_FILE = '/etc/scale-to-millions/rds-ca-bundle.pem';
