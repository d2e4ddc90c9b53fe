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

/**
 * Connections per pool of the runtime SDK's `Database` by default (`pool.max`, and each of a forwarding secondary's
 * `forward` and `global` pools): what `s2m plan` counts a process as opening when it sizes connection budgets.
 */
export const RUNTIME_POOL_MAX = 10;

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
   * Where this region's writes go. Where the cluster holds the writer: its cluster endpoint. On an Aurora Global
   * Database secondary with write forwarding (`write-forwarding` = `on`): its reader endpoint, whose instances
   * forward each write to the writer in another region (a secondary's cluster endpoint is inactive). On a secondary
   * without forwarding: the inactive cluster endpoint, i.e. no write path in this region (only an active-passive
   * config, where DNS keeps users off read-only regions, allows that). Not the proxy: with write forwarding RDS Proxy
   * does not support SESSION read consistency, and a secondary's proxy read/write endpoint has no target.
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
  /**
   * `primary` (this region's cluster holds the writer) or `secondary` (an Aurora Global Database secondary). It follows
   * `database.globalDatabase.writerRegion`; `s2m evacuate` and `s2m restore --writer` rewrite it (with `writer` and `write-forwarding`) in every
   * region right after a switchover or failover, so re-read these three when a write fails with SQLSTATE 25006
   * (read-only transaction) or the writer cannot be reached.
   */
  role: 'role',
  /**
   * `on` when this region's writes are forwarded to the writer in another region (Aurora global write forwarding):
   * send them to {@link DATABASE_KEYS.writer} of this region, on a session that sets the read consistency first:
   * PostgreSQL `SET apg_write_forward.consistency_mode = 'SESSION'` (the default; `EVENTUAL`, `GLOBAL` or `OFF`,
   * which turns forwarding off for the session), MySQL `SET aurora_replica_read_consistency = 'SESSION'`.
   * `SESSION`: a session reads its own forwarded writes (each read waits for them to replicate back, about the
   * global replication lag, typically under a second); other sessions may read older data. `EVENTUAL`: no wait, a
   * read may miss the session's own writes. `GLOBAL`: every read waits for all writes committed before it, from
   * every region (the slowest). Forwarded statements cost a round trip to the writer's region each. Not forwarded
   * (they fail): DDL, `nextval()`/`setval()` (use UUIDs or keys made by the application), `SAVEPOINT` (which a
   * PL/pgSQL exception block uses), `LOCK`, `TRUNCATE`, `COPY`, cursors, `LISTEN`/`NOTIFY`, two-phase commit, user
   * defined functions and procedures, `VACUUM`, `ANALYZE`. Run those (migrations) in the writer's region. `off`:
   * writes go to `writer` only where `role` is `primary`.
   */
  writeForwarding: 'write-forwarding',
  /**
   * With write forwarding: the most connections each of a runtime process's two forwarding pools (`forward`,
   * `global`) should hold, as a decimal string. Each connection holds a forwarded session on the writer, which takes
   * at most 25 % of its `max_connections` from every secondary together and refuses more; the stacks divide that
   * among the secondaries' processes with every fleet at its `maxCapacity`, half for each pool, at least 1
   * (docs/aurora.md, "Connection budgets"). The runtime caps its forwarding pools at it unless the application sets
   * `forwarding.poolMax`.
   */
  forwardingPoolMax: 'forwarding-pool-max',
  /**
   * The `statement_timeout` the application's database users have on the server (`ALTER ROLE … SET`), in
   * milliseconds as a decimal string: the server cancels a statement that runs longer (SQLSTATE 57014) and the
   * connection stays usable. Published only where the stacks set it (Aurora PostgreSQL with application users). The
   * runtime's client query timeout defaults to it plus a margin, so the server, not the client, ends a slow statement.
   */
  statementTimeout: 'statement-timeout',
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
   * session issued in one region is valid in every region. Its value is JSON `{"key": "<64 letters and digits>"}`;
   * the runtime's sealed store derives the sealing key from the whole secret string (HKDF-SHA256), never uses it raw. It rotates every 30 days in the primary
   * region (replicas follow within seconds): seal with the `AWSCURRENT` version, accept the `AWSCURRENT` and
   * `AWSPREVIOUS` versions (`GetSecretValue` with `VersionStage`), and put the `VersionId` in each token so that a
   * token sealed with a version this instance has not loaded yet makes it re-read the secret before rejecting it.
   * Re-seal on use, so an active session is never older than one rotation; sessions idle for longer than that
   * need a new sign-in.
   */
  secretArn: 'secret-arn',
} as const;

/**
 * The session cookie's name (the runtime's `SESSION_COOKIE_DEFAULTS.name`). The edge forwards it to the load
 * balancers: CloudFront passes a cookie on only when its origin request policy lists it (or forwards all).
 */
export const SESSION_COOKIE_NAME = '__Host-s2m-session';

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
  /**
   * The port a web service's application listens on where it runs: the service's port, or inside a container its
   * `containerPort` (the instance publishes the service's port onto it).
   */
  port: 'S2M_PORT',
  /** The shallow health path the load balancer checks (the process is up). */
  healthPath: 'S2M_HEALTH_PATH',
  /** The deep health path Route 53 checks (writer, a reader and the cache answer within a budget). */
  deepHealthPath: 'S2M_DEEP_HEALTH_PATH',
  /** The application version the fleet was deployed with (artifact version, image tag or AMI id). */
  version: 'S2M_APP_VERSION',
  /** The fleet's own database user (IAM authentication); not a secret. */
  databaseUser: 'S2M_DATABASE_USER',
  /**
   * The idle timeout of the load balancer in front of a web service, in whole seconds (1-4000). An HTTP server's
   * keep-alive timeout must be longer, or the load balancer reuses a connection the server is closing and answers
   * 502: the runtime SDK's `serve` sets it 5 s above (at least 65 s). Absent for workers.
   */
  loadBalancerIdleTimeout: 'S2M_LOAD_BALANCER_IDLE_TIMEOUT',
  /**
   * How long the application has after SIGTERM before systemd kills it, in whole seconds: the fleet's drain timeout
   * (a worker fleet's is its queue's visibility timeout, the longest a job may take). The runtime SDK's worker drains
   * within it, 5 s earlier, to hand back what is unfinished.
   */
  stopTimeout: 'S2M_STOP_TIMEOUT',
} as const;

/**
 * The database users of the reference app's fleets (IAM database authentication, one per fleet): a web service's
 * is its name, a queue's workers' is `worker_<queue>` (dashes become underscores). A fleet reads its own from
 * {@link ENV_VARS.databaseUser}; this is how the stacks name them.
 */
export const DATABASE_USERS = {
  /** The user of web service `name`. */
  service: (name: string): string => name.replace(/-/g, '_'),
  /** The user of the workers of queue `queue`. */
  worker: (queue: string): string => `worker_${queue.replace(/-/g, '_')}`,
} as const;

/**
 * The tag of every fleet's Auto Scaling group (and its instances) holding the application version it launches
 * (the same value as {@link ENV_VARS.version}); `s2m status` reads it.
 */
export const APP_VERSION_TAG = 's2m:app-version';

/** Default health paths. */
export const HEALTH_PATHS = {
  shallow: '/health',
  deep: '/health/deep',
} as const;

/**
 * What a configurable health path may be: one exact URL path, which a load balancer path pattern matches literally
 * (no `*` or `?` wildcard, no query string) and the environment file holds as a plain word; at most 255 characters
 * (Route 53's limit).
 */
export const HEALTH_PATH_PATTERN = /^\/[A-Za-z0-9_./@:+-]{0,254}$/;

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
 * Where an instance finds AWS's RDS certificate bundle: every fleet instance downloads AWS's global bundle there at
 * boot (containers see it at the same path). The runtime SDK trusts it for database TLS, next to Node's own CAs,
 * when it exists; Aurora's certificates are not signed by a public CA, so without it a verified TLS connection to a
 * cluster endpoint fails (RDS Proxy endpoints present public certificates).
 */
export const DATABASE_CA_FILE = '/etc/scale-to-millions/rds-ca-bundle.pem';
