/**
 * PostgreSQL access with a read/write split (node-postgres `pg`, an optional peer dependency): a writer pool,
 * reader pools, and reads routed by the consistency they need.
 *
 * ```ts
 * const topology = await loadTopology();
 * const db = createDatabase(topology);                      // follows the published endpoints and secrets
 *
 * // a request
 * const session = db.session(req.session.db);              // the user's last writes, from their session store
 * await db.write('INSERT INTO orders (id, user_id) VALUES ($1, $2)', [id, userId], { session });
 * const { rows } = await db.read('SELECT * FROM orders WHERE user_id = $1', [userId], { session }); // sees the insert
 * req.session.db = session.token();
 *
 * await db.read('SELECT * FROM products WHERE id = $1', [pid]);  // eventual: any healthy reader
 * ```
 *
 * Consistency of a read (see docs/runtime.md for the exact guarantees):
 *
 * - `eventual` (the default without a session): a healthy reader, round-robin; the writer if none is healthy.
 * - `read-your-writes` (the default with a session): like `eventual` unless the session wrote to this cluster
 *   within its window; then a reader only once it has applied that write (positions compared, see
 *   `replication.ts`), otherwise the writer. On a Global Database secondary with write forwarding, such reads run
 *   with `apg_write_forward.consistency_mode = GLOBAL`.
 * - `strong`: the writer (on a forwarding secondary: a `GLOBAL` read; on a secondary without forwarding: an
 *   error, there is no writer in the region).
 *
 * A reader that fails at the connection level is skipped (a circuit breaker per reader, `readRetries` more
 * attempts on the next reader, then the writer); SQL errors are the caller's and are never retried.
 * `stats()` counts where reads went and why.
 *
 * @module
 */

import { existsSync, readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import type { Pool, PoolConfig, QueryResult } from 'pg';
import { DATABASE_CA_FILE, DATABASE_KEYS, ENV_FILE, ENV_VARS, RUNTIME_POOL_MAX } from './contract';
import { parseEnvFile } from './env';
import { toError } from './refresh-loop';
import { iamCredentials, secretCredentials, type DatabaseCredentials } from './credentials';
import {
  CircuitBreaker,
  DETECT_AURORA_SQL,
  DbSession,
  POSITION_SQL,
  clusterKey,
  parsePosition,
  replayablePosition,
  type CircuitBreakerOptions,
  type ReplicationMode,
} from './replication';
import type { HealthCheckDefinition } from './health';
import type { DatabaseEndpoints, Topology, TopologyChange, TopologyLoader } from './topology';

/** How fresh a read must be. */
export type Consistency = 'eventual' | 'read-your-writes' | 'strong';

/** `apg_write_forward.consistency_mode` values a forwarding session may use. */
export type ForwardingConsistency = 'SESSION' | 'EVENTUAL' | 'GLOBAL';

/** The session setting Aurora PostgreSQL global write forwarding reads. */
export const WRITE_FORWARD_SETTING = 'apg_write_forward.consistency_mode';

/** Rows of a statement. */
export interface DbResult<R> {
  /** The rows returned. */
  readonly rows: R[];
  /** Rows returned or affected. */
  readonly rowCount: number;
}

/** Something statements can be run on: a transaction. */
export interface Queryable {
  /** Runs one statement (`$1`-style parameters). */
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<DbResult<R>>;
}

/** Options of a read. */
export interface ReadOptions {
  /** @default - `read-your-writes` with a session, `eventual` without */
  readonly consistency?: Consistency;
  /** The user's session (see {@link Database.session}). Required for `read-your-writes`. */
  readonly session?: DbSession;
}

/** Options of a write. */
export interface WriteOptions {
  /** Record the write in this session, so its later reads see it. @default - not recorded */
  readonly session?: DbSession;
}

/** Options of a transaction. */
export interface TransactionOptions extends WriteOptions {
  /** `BEGIN` isolation level. @default - the server's (read committed) */
  readonly isolation?: 'read committed' | 'repeatable read' | 'serializable';
}

/** Settings of one connection pool. */
export interface PoolOptions {
  /** Most connections. @default 10 */
  readonly max?: number;
  /** Idle connections are closed after this long, ms. @default 30000 */
  readonly idleTimeoutMs?: number;
  /** Waiting for a connection fails after this long, ms. @default 5000 */
  readonly connectionTimeoutMs?: number;
  /**
   * A statement whose answer has not arrived after this long fails, in ms, with `Query read timeout`
   * ({@link isQueryTimeout}), and its connection is closed, never reused (the statement may still be on it). This
   * bounds how long a server that vanished without closing its connections (an Availability Zone lost, a network
   * partition) holds a request: TCP alone retransmits for about 15 minutes. The timeout is the statement's failure,
   * not the server's: a slow statement on a healthy server looks the same, so a read is not tried on another server,
   * no circuit breaker counts it, and {@link DatabaseOptions.onWriterLost} is not called. A server that did vanish is
   * found by the next new connection to it, which fails within `connectionTimeoutMs` (then reads move elsewhere and
   * the writer counts as lost); until then each idle pooled connection to it costs one request this timeout, at most
   * `max` of them, unless keepalive dropped it first. It is the client's limit: closing the connection does not stop
   * the statement on the server, which goes on running it, with its transaction and locks, until it tries to send a
   * result; the server's `statement_timeout` (the application users' role setting, published as
   * `statement-timeout`) stops it there, answering SQLSTATE 57014 ({@link isStatementTimeout}) on a connection that
   * stays usable. So keep this above the server's timeout, which the default does. `0` turns it off.
   * @default - the published `statement-timeout` + 2000 ({@link STATEMENT_TIMEOUT_MARGIN_MS}), else 30000
   */
  readonly queryTimeoutMs?: number;
  /**
   * TCP keepalive probes start once a connection has sent and received nothing for this long, in ms, so an idle
   * pooled connection to a server that vanished is found dead and closed rather than handed to a request. How far
   * apart the probes are and how many go unanswered before the connection is dropped are the operating system's
   * (Linux: `net.ipv4.tcp_keepalive_intvl` and `tcp_keepalive_probes`). `0` leaves the first probe to the operating
   * system too (Linux: after 2 hours).
   * @default 5000
   */
  readonly keepAliveInitialDelayMs?: number;
}

/** TLS settings of the database connections (node `tls.connect` options). */
export interface DatabaseTlsOptions {
  /**
   * Trusted CA certificates (PEM); they replace Node's own.
   * @default - {@link databaseCertificateAuthorities}: Node's CAs and, when present, the RDS bundle at {@link DATABASE_CA_FILE}
   */
  readonly ca?: string | Buffer | Array<string | Buffer>;
  /** Verify the server's certificate and host name. @default true */
  readonly rejectUnauthorized?: boolean;
}

/** Why a read went where it went (the keys of {@link DatabaseStats.routes}). */
export type RouteReason =
  | 'eventual'
  | 'ryw-no-pending-write'
  | 'ryw-caught-up'
  | 'ryw-replica-behind'
  | 'ryw-no-position'
  | 'ryw-global'
  | 'strong'
  | 'strong-global'
  | 'no-reader'
  | 'no-healthy-reader'
  | 'reader-failed';

/** Counters since the database was created. */
export interface DatabaseStats {
  /** Reads served by a reader, by the writer, and by a `GLOBAL` forwarding session. */
  readonly reads: { readonly replica: number; readonly writer: number; readonly global: number };
  /** Reads by the reason they went where they went. */
  readonly routes: Readonly<Record<RouteReason, number>>;
  /** Statements through {@link Database.write}. */
  readonly writes: number;
  /** Transactions committed. */
  readonly transactions: number;
  /** Writes and transactions that failed because the writer moved (SQLSTATE 25006) or could not be reached. */
  readonly writerLost: number;
  /**
   * Writer pools replaced because a connection of theirs was read-only (SQLSTATE 25006): its idle siblings were opened
   * to the same demoted instance, so they are closed rather than handed to the next writes.
   */
  readonly writerPoolResets: number;
  /** Reader attempts that failed at the connection level. */
  readonly readerFailures: number;
  /** Reader position queries. */
  readonly positionChecks: number;
  /** Retries after the database refused the credentials. */
  readonly authRetries: number;
  /** Pool sets built (1 + endpoint or secret changes). */
  readonly poolRebuilds: number;
}

/** Options of {@link Database}. */
export interface DatabaseOptions {
  /**
   * The live topology: secrets, the region, and (unless `endpoints` is given) the endpoints, followed on change.
   * @default - none: `endpoints` and `credentials` are required
   */
  readonly topology?: TopologyLoader;
  /** Fixed endpoints (local development, tests). @default - `select(topology.current)` */
  readonly endpoints?: DatabaseEndpoints;
  /** Which endpoints of the topology to follow. @default - `(t) => t.database` */
  readonly select?: (topology: Topology) => DatabaseEndpoints | undefined;
  /** How to log in. @default - from `endpoints.authentication`: IAM tokens for `databaseUser`, or the secret */
  readonly credentials?: DatabaseCredentials;
  /** The fleet's database user for IAM authentication. @default - `S2M_DATABASE_USER` */
  readonly databaseUser?: string;
  /** TLS, or `false` for none (only allowed without IAM). @default - verified TLS, except to loopback hosts */
  readonly ssl?: false | DatabaseTlsOptions;
  /**
   * `application_name` prefix, visible in `pg_stat_activity`: `<prefix>:writer`, `:reader`, `:forward`, `:global`, and
   * `:writer:health`, ... for the health checks' connections.
   * @default - `S2M_SERVICE`, else `app`
   */
  readonly applicationName?: string;
  /** The writer pool (and the forwarding pools). @default - see {@link PoolOptions}: 10 connections, 30 s query timeout */
  readonly pool?: PoolOptions;
  /** Each reader pool. @default - see {@link PoolOptions}: 10 connections, 30 s query timeout */
  readonly readerPool?: PoolOptions;
  /**
   * Reader hosts (`host` or `host:port`) instead of the published reader endpoint (a published endpoint names a host,
   * not a port: a local standby on another port needs this), or a function of the endpoints in use, asked again at
   * every pool rebuild (an endpoint change); `undefined` from it means the published reader.
   * @default - the topology's
   */
  readonly readers?: readonly string[] | ((endpoints: DatabaseEndpoints) => readonly string[] | undefined);
  /** How write positions are taken. @default 'auto': `aurora` on Aurora PostgreSQL, else `postgres` */
  readonly replication?: 'auto' | ReplicationMode;
  /** The per-reader circuit breaker. @default - 2 failures open it for 5 s */
  readonly circuitBreaker?: CircuitBreakerOptions;
  /** More readers to try after one fails, before the writer. @default 1 */
  readonly readRetries?: number;
  /** A reader found behind a session's write is asked again after this long, ms. @default 10 */
  readonly replicaRecheckMs?: number;
  /** How long a session tracks a write (see {@link DbSession}), ms. @default 600000 */
  readonly sessionTtlMs?: number;
  /** Global Database secondaries with write forwarding. */
  readonly forwarding?: {
    /** `apg_write_forward.consistency_mode` of the writing sessions. @default 'SESSION' */
    readonly consistency?: ForwardingConsistency;
    /** After a forwarded write, the session's read-your-writes reads use `GLOBAL` for this long, ms. @default 30000 */
    readonly readYourWritesWindowMs?: number;
    /**
     * Most connections of each of the two forwarding pools (`forward` and `global`) of this process. Each holds a
     * forwarded session on the writer while it lives, and the writer takes at most 25 % of its `max_connections` from
     * every secondary together (`apg_write_forward.max_forwarding_connections_percent`), refusing more: `s2m plan`
     * prints how many sessions each process of a config's fleets may hold (docs/aurora.md, "Connection budgets").
     * @default - `pool.max` (10), capped at the region's published `forwarding-pool-max` (the stacks' budget)
     */
    readonly poolMax?: number;
  };
  /** Old pools are closed this long after a rebuild, so requests that hold them finish, ms. @default 5000 */
  readonly drainDelayMs?: number;
  /**
   * How long a {@link Database.healthChecks} ping may take in all, connecting and its answer, in ms. They use
   * a connection of their own per pool (opened by the first check, closed after the pool's `idleTimeoutMs` unused,
   * and after a failed check), never one of the application's, so a pool its queries fill does not make the instance
   * report itself down. Keep it below the {@link HealthCheck}'s `budgetMs`.
   * @default 1500
   */
  readonly healthCheckTimeoutMs?: number;
  /** Errors of idle connections and of background work. @default - `console.warn` */
  readonly onError?: (error: Error) => void;
  /**
   * Called when a write or a transaction fails because the endpoint no longer takes writes (SQLSTATE 25006, a
   * read-only transaction: the writer moved in a failover or a Global Database switchover) or cannot be reached;
   * the statement's error is rethrown either way. `createRuntime` refreshes the topology here, so the next write
   * goes where the region's `writer`, `role` and `write-forwarding` now point.
   * @default - nothing
   */
  readonly onWriterLost?: (error: Error) => void;
  /**
   * Called when a write, a transaction or a `strong` read is refused because the region's published topology says it
   * takes no writes (a secondary without write forwarding: {@link WriteUnavailableError}). `createRuntime` reads the
   * database tier again here too (rate-limited): a process can read the three parameters a switchover rewrites
   * across two pages of `GetParametersByPath`, half before and half after, and keep a region that takes writes as
   * one that does not.
   * @default - nothing
   */
  readonly onWriteUnavailable?: (error: WriteUnavailableError) => void;
  /** The `pg` module. @default - `require('pg')`, loaded on first use */
  readonly pg?: { Pool: new (config: PoolConfig) => Pool };
}

/**
 * PostgreSQL rolled a transaction back at `COMMIT`: a statement in it had failed and the callback caught that
 * statement's error and went on. After a failed statement the transaction is aborted; `COMMIT` then answers
 * `ROLLBACK` without an error, so nothing of the transaction was written, the statements before the failed one
 * included. {@link Database.transaction} throws this instead of resolving as if it had committed. To go on past an
 * expected error (a duplicate key) inside a transaction, use `INSERT ... ON CONFLICT`, or a `SAVEPOINT` and
 * `ROLLBACK TO SAVEPOINT` around the statement.
 */
export class TransactionAbortedError extends Error {
  /** SQLSTATE `25P02`, in_failed_sql_transaction, as `pg`'s errors carry theirs. */
  public readonly code = '25P02';
  /** @param message - why */
  public constructor(message: string) {
    super(message);
    this.name = 'TransactionAbortedError';
  }
}

/** A write (or a strong read) was asked of a region that has no writer. */
export class WriteUnavailableError extends Error {
  /** @param message - why */
  public constructor(message: string) {
    super(message);
    this.name = 'WriteUnavailableError';
  }
}

/**
 * A write (or a transaction) waited `pool.connectionTimeoutMs` for a connection of a pool whose every connection was
 * busy, while the pool completed other statements: too many at once for the pool's size (on a forwarding secondary,
 * its `forwarding-pool-max`). The writer answers, so this is no lost writer, and {@link DatabaseOptions.onWriterLost}
 * is not called; retry later, or size the pool. The same when every connection of the pool was held by the
 * application with no statement running on it: transactions waiting in their callbacks, typically for a statement sent
 * through the `Database` instead of the callback's `tx` (it needs another connection of the pool, and on a pool of one,
 * a forwarding secondary's, waits for the transaction's own). A wait during which nothing completed and statements were
 * running (connections hung on a writer that stopped answering) fails with pg's own error, as a lost writer.
 */
export class PoolSaturatedError extends Error {
  /** @param message - which pool, how many connections, how long it waited; @param options - the pool's own error as `cause` */
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PoolSaturatedError';
  }
}

/** pg-pool's answer to a connection request that waited `connectionTimeoutMillis` in the queue of a full pool. */
function isPoolSaturated(e: unknown): boolean {
  return /timeout exceeded when trying to connect/.test((e as { message?: string } | undefined)?.message ?? '');
}

interface Target {
  readonly role: 'writer' | 'reader' | 'forward' | 'global';
  readonly host: string;
  readonly port: number;
  /** The pool's size (`max`). */
  readonly max: number;
  /**
   * Statements the pool has answered (completed, or failed with the server's own error): a wait for a connection
   * during which this grew was for a busy pool, not a hung one.
   */
  served: number;
  /**
   * Connections checked out (a transaction, a write with a session) with no statement running on them: the application
   * holds them, between its statements. A wait for a connection while all of the pool's are held so is no lost writer.
   */
  held: number;
  /** The pool in use: replaced (see `resetWriterPool`) when the writer turned out to be read-only. */
  pool: Pool;
  /** A new pool with the same settings. */
  readonly open: () => Pool;
  /** The health check's own pool of one connection, so that its ping never waits behind the application's queries. */
  readonly probe: Pool;
  readonly breaker?: CircuitBreaker;
  /** Readers: the highest position known to be applied. */
  watermark?: bigint;
  checkedAt?: number;
  check?: Promise<bigint | undefined>;
}

interface PoolSet {
  readonly endpoints: DatabaseEndpoints;
  readonly key: string;
  readonly mode: 'primary' | 'forwarding' | 'secondary';
  /** Writes (primary: the writer or proxy; forwarding: the local replicas). */
  readonly write?: Target;
  /** `GLOBAL` reads on a forwarding secondary. */
  readonly global?: Target;
  readonly readers: Target[];
  /** Where reads go when no reader can serve. */
  readonly fallback?: Target;
  replication?: Promise<ReplicationMode>;
}

/** How a region's pool set writes: to its writer (`primary`), through forwarding replicas, or not at all. */
function poolSetMode(endpoints: DatabaseEndpoints): PoolSet['mode'] {
  return endpoints.role === 'primary' ? 'primary' : endpoints.writeForwarding ? 'forwarding' : 'secondary';
}

/**
 * Whether a writer connection reached an instance that takes no writes: a hot standby or an Aurora reader (in
 * recovery), or a server or session set read-only.
 */
const WRITER_READ_ONLY_SQL = "SELECT pg_is_in_recovery() OR current_setting('transaction_read_only') = 'on' AS read_only";

const CONNECTION_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', '57P01', '57P02', '57P03', '53300', '08000', '08001', '08003', '08004', '08006']);

/**
 * The write's endpoint no longer takes writes (SQLSTATE 25006 `read_only_sql_transaction`: it was demoted in a failover
 * or a switchover) or cannot be reached.
 */
export function isWriterLost(e: unknown): boolean {
  return isReadOnly(e) || isConnectionError(e);
}

/** SQLSTATE 25006 `read_only_sql_transaction`: the server (or the session) takes no writes. */
function isReadOnly(e: unknown): boolean {
  return (e as { code?: unknown } | undefined)?.code === '25006';
}

/** A failure that is the endpoint's, not the statement's: the read may be tried elsewhere. */
export function isConnectionError(e: unknown): boolean {
  const err = e as { code?: string; message?: string } | undefined;
  if (err?.code !== undefined && CONNECTION_ERROR_CODES.has(err.code)) return true;
  const msg = err?.message ?? '';
  // RDS Proxy's read/write endpoint of a cluster with no writer instance (a Global Database secondary, such as the
  // primary a switchover just demoted) answers every request with this message (Aurora User Guide, "Using RDS Proxy
  // with Aurora global databases"); AWS documents no SQLSTATE for it. A write there has lost its writer, like a 25006.
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection refused|the database system is (starting up|shutting down|in recovery)|doesn't have any associated read\/write instances/i.test(msg);
}

/**
 * The statement's answer did not arrive within {@link PoolOptions.queryTimeoutMs} (`Query read timeout`): the
 * statement's failure, slow or on a server that vanished, which one cannot be told. Its connection is closed.
 */
export function isQueryTimeout(e: unknown): boolean {
  return /Query read timeout/.test((e as { message?: string } | undefined)?.message ?? '');
}

/**
 * How much longer than the server's `statement_timeout` (the published `statement-timeout`) the client waits by
 * default for a statement's answer, ms: the server cancels first and answers 57014, unless it vanished.
 */
export const STATEMENT_TIMEOUT_MARGIN_MS = 2000;

/**
 * The server canceled the statement (SQLSTATE 57014, `query_canceled`): its `statement_timeout` (the application
 * users' role setting, or `SET LOCAL`), or a `pg_cancel_backend`. The server's answer: its transaction is rolled back,
 * and the connection stays open and usable. An HTTP handler's error answers 503.
 */
export function isStatementTimeout(e: unknown): boolean {
  return (e as { code?: string } | undefined)?.code === '57014';
}

/** A pool build that a later topology change's build overtook (internal: never reaches the application). */
class SupersededBuild extends Error {
  public constructor() {
    super('Database: the pool build was superseded by a later topology change');
    this.name = 'SupersededBuild';
  }
}

function isAuthError(e: unknown): boolean {
  const code = (e as { code?: string } | undefined)?.code;
  return code === '28P01' || code === '28000';
}

/** A standby canceled the read to apply WAL: the writer can answer it. */
function isRecoveryConflict(e: unknown): boolean {
  const err = e as { code?: string; message?: string } | undefined;
  return err?.code === '40001' && /conflict with recovery/i.test(err.message ?? '');
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

function hostPort(spec: string, defaultPort: number): { host: string; port: number } {
  const m = /^(.+):(\d+)$/.exec(spec);
  return m ? { host: m[1]!, port: Number(m[2]) } : { host: spec, port: defaultPort };
}

const ROUTES: readonly RouteReason[] = ['eventual', 'ryw-no-pending-write', 'ryw-caught-up', 'ryw-replica-behind', 'ryw-no-position', 'ryw-global', 'strong', 'strong-global', 'no-reader', 'no-healthy-reader', 'reader-failed'];

/**
 * The certificate authorities database TLS trusts by default: Node's own (Mozilla's, which include the Amazon
 * roots of the public ACM certificates RDS Proxy endpoints present) and, when `file` exists, AWS's RDS bundle
 * (Aurora instances' certificates, which no public CA signs). A `ca` option replaces Node's list, so the bundle
 * alone would break verified connections to a proxy.
 *
 * @param file - the RDS bundle; {@link DATABASE_CA_FILE}, which the fleets install, by default
 * @returns the PEM certificates, or undefined (Node's own) when there is no bundle
 */
export function databaseCertificateAuthorities(file: string = DATABASE_CA_FILE): string[] | undefined {
  return existsSync(file) ? [...rootCertificates, readFileSync(file, 'utf8')] : undefined;
}

/**
 * One database cluster (or shard): a writer pool, reader pools, read routing by consistency, sessions that
 * read their own writes, and transactions. Create it with {@link createDatabase} (from the topology) or
 * `new Database({ endpoints, credentials })`.
 */
export class Database {
  private readonly options: DatabaseOptions;
  private readonly onError: (error: Error) => void;
  private readonly onWriterLost: ((error: Error) => void) | undefined;
  private readonly counters = {
    reads: { replica: 0, writer: 0, global: 0 },
    routes: Object.fromEntries(ROUTES.map((r) => [r, 0])) as Record<RouteReason, number>,
    writes: 0,
    transactions: 0,
    writerLost: 0,
    writerPoolResets: 0,
    readerFailures: 0,
    positionChecks: 0,
    authRetries: 0,
    poolRebuilds: 0,
  };
  private credentials: DatabaseCredentials | undefined;
  private current: PoolSet | undefined;
  private building: Promise<PoolSet>;
  /** How many builds started: a build that finishes after a later one started is superseded (see {@link build}). */
  private builds = 0;
  /** Whether the pools' query timeouts were compared with the server's statement timeout (once per database). */
  private timeoutsChecked = false;
  private rr = 0;
  private closed = false;
  private unsubscribe: (() => void) | undefined;
  /** Pools replaced (by a topology change, or a writer found read-only), closed after `drainDelayMs` (or by `close()`). */
  private readonly draining = new Map<ReturnType<typeof setTimeout>, Pool[]>();

  /**
   * @param options - see {@link DatabaseOptions}
   * @throws Error when neither endpoints nor a topology with a database is given
   */
  public constructor(options: DatabaseOptions) {
    this.options = options;
    this.onError = options.onError ?? ((e) => console.warn(`[database] ${e.message}`));
    this.onWriterLost = options.onWriterLost;
    validatePoolOptions('pool', options.pool);
    validatePoolOptions('readerPool', options.readerPool);
    const forwardingMax = options.forwarding?.poolMax;
    if (forwardingMax !== undefined && !(Number.isInteger(forwardingMax) && forwardingMax >= 1)) {
      throw new RangeError(`Database: forwarding.poolMax must be a whole number of connections, at least 1 (got: ${forwardingMax})`);
    }
    const healthTimeout = options.healthCheckTimeoutMs;
    if (healthTimeout !== undefined && !(Number.isFinite(healthTimeout) && healthTimeout >= 1)) {
      throw new RangeError(`Database: healthCheckTimeoutMs must be a number of milliseconds, at least 1 (got: ${healthTimeout})`);
    }
    const endpoints = options.endpoints ?? this.selected(options.topology?.current);
    if (endpoints === undefined) {
      throw new Error(options.topology
        ? `Database: the topology under ${options.topology.prefix} has no database endpoints (nothing published under ${options.topology.prefix}/database)`
        : 'Database: give endpoints (and credentials) or a topology');
    }
    this.building = this.build(endpoints);
    this.building.catch(() => undefined); // surfaced by the first operation
    if (options.topology && options.endpoints === undefined) {
      this.unsubscribe = options.topology.onChange((c) => this.onTopologyChange(c));
    }
  }

  /** The endpoints in use. */
  public get endpoints(): DatabaseEndpoints | undefined {
    return this.current?.endpoints;
  }

  /**
   * A session for one user's request: restores their earlier writes from a token (see {@link DbSession}).
   * @param token - what `session.token()` returned on their previous request
   */
  public session(token?: string | null): DbSession {
    return DbSession.fromToken(token, this.options.sessionTtlMs ?? 600_000);
  }

  /**
   * Runs a read where its consistency allows (see the module documentation).
   *
   * @param sql - one statement, `$1`-style parameters
   * @param params - the parameters
   * @param options - consistency and session
   * @returns the rows
   * @throws the statement's error; WriteUnavailableError for `strong` in a secondary region without forwarding
   */
  public read<R = Record<string, unknown>>(sql: string, params: readonly unknown[] = [], options: ReadOptions = {}): Promise<DbResult<R>> {
    // The hot path: no extra await once the pools exist (the benchmark holds this to raw pg's cost).
    const set = this.closed ? undefined : this.current;
    if (set === undefined) return this.pools().then((s) => this.route<R>(s, sql, params, options));
    try {
      return this.route<R>(set, sql, params, options);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Where a read goes; throws synchronously for a bad request (the caller turns that into a rejection). */
  private route<R>(set: PoolSet, sql: string, params: readonly unknown[], options: ReadOptions): Promise<DbResult<R>> {
    const consistency = options.consistency ?? (options.session ? 'read-your-writes' : 'eventual');
    if (consistency === 'strong') {
      if (set.mode === 'forwarding') return this.readOn<R>(set.global!, sql, params, 'strong-global');
      if (set.mode === 'secondary') throw this.noWriter(set, 'a strong read');
      return this.readOn<R>(set.write!, sql, params, 'strong');
    }
    if (consistency === 'read-your-writes') {
      const session = options.session;
      if (session === undefined) throw new TypeError("Database.read: consistency 'read-your-writes' needs a session (db.session(token)); use 'eventual' or 'strong' without one");
      const pending = set.mode === 'secondary' ? undefined : session.pendingWrite(set.key);
      if (pending !== undefined) {
        if (set.mode === 'forwarding') {
          const window = this.options.forwarding?.readYourWritesWindowMs ?? 30_000;
          if (Date.now() - pending.at <= window) return this.readOn<R>(set.global!, sql, params, 'ryw-global');
        } else if (pending.position === undefined) {
          return this.readOn<R>(set.fallback!, sql, params, 'ryw-no-position');
        } else {
          return this.readCaughtUp<R>(set, pending.position, sql, params);
        }
      }
      return this.readAnyReader<R>(set, sql, params, 'ryw-no-pending-write');
    }
    if (consistency !== 'eventual') throw new TypeError(`Database.read: consistency must be 'eventual', 'read-your-writes' or 'strong' (got: ${JSON.stringify(consistency)})`);
    return this.readAnyReader<R>(set, sql, params, 'eventual');
  }

  /**
   * Runs one statement on the writer (on a forwarding secondary: forwarded by a local replica).
   *
   * @param sql - the statement
   * @param params - its parameters
   * @param options - the session to record the write in
   * @returns the result
   * @throws WriteUnavailableError in a secondary region without write forwarding
   */
  public async write<R = Record<string, unknown>>(sql: string, params: readonly unknown[] = [], options: WriteOptions = {}): Promise<DbResult<R>> {
    const set = await this.pools();
    const target = this.writeTarget(set);
    const pool = target.pool;
    this.counters.writes++;
    const session = options.session;
    const seen = target.served;
    const run = session === undefined
      // A plain write's only wait is for a connection of this pool.
      ? this.query<R>(target, sql, params).catch((e: unknown) => { throw this.saturatedOr(target, e, seen); })
      : this.withClient(target, async (client) => {
        const r = await client.query(sql, params as unknown[]);
        await this.recordWrite(set, client, session);
        return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
      });
    return run.catch((e: unknown) => this.writeFailed(e, target, pool));
  }

  /**
   * A failed write: when the writer moved or is unreachable, replaces a read-only writer's pool and tells
   * {@link DatabaseOptions.onWriterLost}; then rethrows.
   *
   * @param pool - the pool the write used (`target.pool` when it started)
   */
  private writeFailed(e: unknown, target: Target, pool: Pool): never {
    if (e instanceof PoolSaturatedError) throw e;
    if (isWriterLost(e)) {
      this.counters.writerLost++;
      // A new pool only where the endpoint's DNS may have moved to another instance: a forwarding secondary's pools
      // reach the region's own replicas, which refuse a write when forwarding is off or the statement is one Aurora
      // does not forward; a new pool would reach them again (the topology refresh below is what helps there).
      if (isReadOnly(e) && target.role === 'writer') this.resetWriterPool(target, pool);
      try {
        this.onWriterLost?.(toError(e));
      } catch (hookError) {
        this.onError(new Error(`onWriterLost threw: ${toError(hookError).message}`, { cause: hookError }));
      }
    }
    throw e;
  }

  /**
   * Runs `fn` in a transaction on the writer: `BEGIN`, your statements, `COMMIT` (or `ROLLBACK` when `fn`
   * throws, and the error is rethrown). Keep it short: it holds a writer connection throughout. When a statement
   * failed and `fn` caught its error, PostgreSQL has aborted the transaction and rolls it back at `COMMIT`: this
   * then throws {@link TransactionAbortedError} rather than returning as if it had committed.
   *
   * @param fn - the work; run statements through its `tx`
   * @param options - session and isolation level
   * @returns what `fn` returned
   */
  public async transaction<T>(fn: (tx: Queryable) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const set = await this.pools();
    const target = this.writeTarget(set);
    const pool = target.pool;
    const isolation = options.isolation;
    if (isolation !== undefined && !['read committed', 'repeatable read', 'serializable'].includes(isolation)) {
      throw new TypeError(`Database.transaction: isolation must be 'read committed', 'repeatable read' or 'serializable' (got: ${JSON.stringify(isolation)})`);
    }
    return this.withClient(target, async (client) => {
      let open = true;
      // (errors of the writer itself reach writeFailed below)
      const tx: Queryable = {
        query: async <R>(sql: string, params: readonly unknown[] = []) => {
          if (!open) throw new Error('Database.transaction: the transaction is over; run statements inside the callback');
          const r = await client.query(sql, params as unknown[]);
          return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
        },
      };
      await client.query(isolation ? `BEGIN ISOLATION LEVEL ${isolation.toUpperCase()}` : 'BEGIN');
      let out: T;
      try {
        out = await fn(tx);
        // The callback caught a statement's connection error and went on: nothing more can run on this connection.
        if (client.broken !== undefined) throw client.broken;
        const commit = await client.query('COMMIT');
        if (commit.command === 'ROLLBACK') {
          throw new TransactionAbortedError('Database.transaction: PostgreSQL rolled the transaction back at COMMIT, because a statement in it failed and the callback went on after its error; nothing of it was written');
        }
      } catch (e) {
        open = false;
        // A connection that failed (or timed out with a statement still on it) is closed, not reused: the server rolls
        // back when it goes. A ROLLBACK sent on it would wait behind that statement for a query timeout more.
        // A connection that goes back to the pool is rolled back first: the callback's own error, or a statement's (a
        // PoolSaturatedError too: a statement through the Database that waited for this transaction's own connection).
        // One that is closed instead (its own connection failed or timed out, or the callback met a connection error
        // elsewhere, which withClient treats as the writer's) is not: the server rolls back when it goes, and a ROLLBACK
        // on a hung connection would wait a query timeout more.
        if (client.broken === undefined && !isWriterLost(e) && !isQueryTimeout(e)) await client.query('ROLLBACK').catch(() => undefined);
        throw e;
      }
      open = false;
      this.counters.transactions++;
      if (options.session) await this.recordWrite(set, client, options.session);
      return out;
    }).catch((e: unknown) => this.writeFailed(e, target, pool));
  }

  /** Counters of where reads went and why. */
  public stats(): DatabaseStats {
    return { ...this.counters, reads: { ...this.counters.reads }, routes: { ...this.counters.routes } };
  }

  /**
   * Health checks for {@link HealthCheck}: `database.writer` (critical; it fails when the writer endpoint reaches an
   * instance that takes no writes, in recovery or read-only, as it does for a while after a failover; on a forwarding
   * secondary it pings the region's replica its writes are forwarded through, which cannot tell whether the cluster
   * forwards them (only a write can); in a secondary region without forwarding it reports that there is no
   * writer) and `database.reader` (not critical where the writer can take the reads: the SDK falls back to it;
   * critical in a secondary region without forwarding, where the readers are the region's only database). Which is
   * critical follows the region's role as it is when the checks run.
   *
   * @param prefix - name prefix of the checks
   */
  public healthChecks(prefix = 'database'): Record<string, HealthCheckDefinition> {
    const checks: Record<string, HealthCheckDefinition> = {};
    const budgetMs = this.options.healthCheckTimeoutMs ?? 1500;
    // One deadline for the whole ping: connecting and the answer are each bounded by it too (the probe pool's
    // settings), but in turn they could take it twice.
    const ping = (pick: (s: PoolSet) => Target | undefined, what: string): Promise<string> => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the ${what} did not answer within ${budgetMs} ms (healthCheckTimeoutMs)`)), budgetMs);
      });
      return Promise.race([pingOnce(pick, what), late]).finally(() => clearTimeout(timer));
    };
    const pingOnce = async (pick: (s: PoolSet) => Target | undefined, what: string): Promise<string> => {
      const set = await this.pools();
      const t = pick(set);
      if (t === undefined) return `no ${what} in this region`;
      // Its own connection: one from the application's pool would wait behind the application's queries when they
      // fill it (up to connectionTimeoutMs), beyond the check's budget, and a busy region would report itself down.
      const client = await this.retryingAuth(() => t.probe.connect());
      let broken: Error | undefined;
      // As in withClient: the connection ending while checked out must not be an uncaught 'error'.
      const onConnectionError = (e: Error): void => { broken ??= e; };
      client.on('error', onConnectionError);
      try {
        if (what === 'writer' && t.role === 'writer') {
          // A writer endpoint that reaches a reader (a failover or a switchover demoted the instance its DNS still
          // names) answers SELECT 1 but refuses every write.
          const r = await client.query(WRITER_READ_ONLY_SQL);
          if ((r.rows[0] as { read_only?: boolean } | undefined)?.read_only !== false) {
            throw new Error(`${t.host}:${t.port} takes no writes: it reached a read-only instance (a reader, or a writer demoted by a failover or a switchover)`);
          }
        } else {
          await client.query('SELECT 1');
        }
      } catch (e) {
        broken = toError(e); // the next check opens a new connection, resolving the endpoint again
        throw e;
      } finally {
        client.release(broken);
        client.removeListener('error', onConnectionError);
      }
      t.breaker?.onSuccess();
      return `${t.host}:${t.port}`;
    };
    // Which check is critical is the region's role when the checks run, not when they are registered: the pools may
    // still be building then (createRuntime registers them at once), and a switchover changes the role later.
    const mode = (): PoolSet['mode'] | undefined => {
      if (this.current) return this.current.mode;
      const endpoints = this.options.endpoints ?? this.selected(this.options.topology?.current);
      return endpoints === undefined ? undefined : poolSetMode(endpoints);
    };
    checks[`${prefix}.writer`] = {
      get critical() { return mode() !== 'secondary'; },
      run: () => ping((s) => s.write, 'writer'),
    };
    checks[`${prefix}.reader`] = {
      get critical() { return mode() === 'secondary'; },
      run: () => ping((s) => s.readers[0] ?? s.fallback, 'reader'),
    };
    return checks;
  }

  /**
   * Closes every pool (waits for checked-out connections), also those in use while a rebuild (a topology change) was
   * still in flight, and the ones it built, and stops following the topology.
   */
  public async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe?.();
    const retired = [...this.draining];
    this.draining.clear();
    for (const [t] of retired) clearTimeout(t);
    // The set in use: a rebuild in flight (a topology change) would have retired it once done, but a build that
    // finishes after close() ends its own pools and fails instead, so the set it was to replace is ended here.
    const inUse = this.current;
    const built = await this.building.catch(() => undefined);
    const sets = [...new Set([inUse, built, this.current])].filter((x): x is PoolSet => x !== undefined);
    const pools = [...new Set([...retired.flatMap(([, p]) => p), ...sets.flatMap(poolsOf)])];
    await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
  }

  // ---------------------------------------------------------------------------------------------------------

  private selected(t: Topology | undefined): DatabaseEndpoints | undefined {
    if (t === undefined) return undefined;
    return (this.options.select ?? ((x: Topology) => x.database))(t);
  }

  private async pools(): Promise<PoolSet> {
    if (this.closed) throw new Error('Database: closed');
    return this.current ?? (await this.building);
  }

  private onTopologyChange(change: TopologyChange): void {
    if (this.closed) return;
    const next = this.selected(change.topology);
    if (next === undefined) return;
    const current = this.current?.endpoints;
    const endpointsChanged = JSON.stringify(poolRelevant(current)) !== JSON.stringify(poolRelevant(next));
    const ourSecret = change.kind === 'secret' && change.secretArn !== undefined && change.secretArn === next.secretArn;
    if (!endpointsChanged && !ourSecret) return;
    if (endpointsChanged) this.credentials = undefined; // the authentication may have changed too
    this.building = this.build(next);
    this.building.catch((e: unknown) => {
      if (e instanceof SupersededBuild) return; // a later change's build replaces it
      this.onError(new Error(`could not rebuild the database pools after a topology change (the old ones stay in use): ${toError(e).message}`, { cause: e }));
    });
  }

  /**
   * Says once (through `onError`) when a pool's own `queryTimeoutMs` disagrees with the server's published statement
   * timeout: above it, statements between the two are canceled by the server (57014), which an application that
   * raised the client timeout for long statements did not expect; below it, the client gives up first and the
   * statement goes on running on the server (connections beyond the pool's `max`).
   */
  private checkQueryTimeouts(endpoints: DatabaseEndpoints): void {
    const server = endpoints.statementTimeoutMs;
    if (server === undefined || this.timeoutsChecked) return;
    this.timeoutsChecked = true;
    for (const [name, pool] of [['pool', this.options.pool], ['readerPool', this.options.readerPool]] as const) {
      const client = pool?.queryTimeoutMs;
      if (client === undefined) continue;
      if (client === 0 || client > server + STATEMENT_TIMEOUT_MARGIN_MS) {
        this.onError(new Error(`Database: ${name}.queryTimeoutMs is ${client === 0 ? 'off' : `${client} ms`}, but the server cancels statements after ${server} ms (${endpoints.source}/${DATABASE_KEYS.statementTimeout}, the users' statement_timeout): longer statements fail with 57014. Raise database.statementTimeoutSeconds, or run them with SET LOCAL statement_timeout in a transaction`));
      } else if (client < server) {
        this.onError(new Error(`Database: ${name}.queryTimeoutMs is ${client} ms, below the server's statement timeout of ${server} ms (${endpoints.source}/${DATABASE_KEYS.statementTimeout}): a statement the client gives up on goes on running on the server, holding a connection beyond the pool's max. Leave queryTimeoutMs unset (it follows the server's), or lower database.statementTimeoutSeconds`));
      }
    }
  }

  private retire(pools: Pool[]): void {
    if (this.closed) {
      // A rebuild that finished just as close() began: close() has drained already, and no request is served now.
      for (const p of pools) p.end().catch(() => undefined);
      return;
    }
    const t = setTimeout(() => {
      this.draining.delete(t);
      for (const p of pools) p.end().catch(() => undefined);
    }, this.options.drainDelayMs ?? 5000);
    t.unref();
    this.draining.set(t, pools);
  }

  /**
   * The writer answered SQLSTATE 25006 on a connection of `failed`: the endpoint's instance was demoted (a failover or
   * a switchover) and every connection the pool opened before now likely reaches it too, also when the published
   * endpoints have not changed (the cluster endpoint's DNS moves on its own). The target gets a new pool, whose
   * connections resolve the endpoint again; the old one ends at once when nothing waits on it (its idle connections
   * close, those in use close when released), or after `drainDelayMs` when requests are queued on it. Once per pool:
   * the concurrent failures of the same pool replace it once.
   */
  private resetWriterPool(target: Target, failed: Pool): void {
    if (this.closed || target.pool !== failed) return;
    target.pool = target.open();
    target.held = 0; // the old pool's checked-out connections are not the new pool's
    this.counters.writerPoolResets++;
    if (failed.waitingCount === 0) failed.end().catch(() => undefined);
    else this.retire([failed]);
  }

  private credentialsFor(endpoints: DatabaseEndpoints): DatabaseCredentials {
    if (this.options.credentials) return this.options.credentials;
    const topology = this.options.topology;
    if (endpoints.authentication === 'iam') {
      const user = this.options.databaseUser ?? topology?.environment?.databaseUser ?? process.env[ENV_VARS.databaseUser] ?? envFileValue(ENV_VARS.databaseUser);
      if (!user) throw new Error(`${endpoints.source}/authentication is "iam" but no database user is known: ${ENV_VARS.databaseUser} is in neither ${ENV_FILE} nor the process environment (or pass databaseUser)`);
      const region = topology?.region ?? process.env['AWS_REGION'];
      if (!region) throw new Error('IAM database authentication needs the region: pass a topology (or set AWS_REGION)');
      return iamCredentials({ user, region });
    }
    if (!endpoints.secretArn || !topology) {
      throw new Error(`${endpoints.source}: password authentication needs the credentials secret and a topology to read it (or pass credentials)`);
    }
    return secretCredentials({ secretArn: endpoints.secretArn, topology });
  }

  /**
   * Builds the pools of `endpoints` and puts them in use, retiring the set in use before. Of builds that overlap (two
   * topology changes in quick succession) the last one started wins: an earlier one that finishes later ends its own
   * pools and fails with {@link SupersededBuild}, so it neither installs stale endpoints over newer ones nor leaves a
   * set that nothing retires.
   */
  private async build(endpoints: DatabaseEndpoints): Promise<PoolSet> {
    const generation = ++this.builds;
    const pg = this.options.pg ?? loadPg();
    const credentials = (this.credentials ??= this.credentialsFor(endpoints));
    const user = await credentials.user();
    const o = this.options;
    const app = o.applicationName ?? o.topology?.environment?.service ?? process.env[ENV_VARS.service] ?? 'app';
    const healthTimeout = o.healthCheckTimeoutMs ?? 1500;
    this.checkQueryTimeouts(endpoints);
    const make = (role: Target['role'], host: string, port: number, settings?: Record<string, string>): Target => {
      const ssl = this.ssl(host, credentials);
      const p = role === 'reader' ? o.readerPool : o.pool;
      const max = role === 'forward' || role === 'global' ? forwardingPoolMax(o, endpoints) : p?.max ?? RUNTIME_POOL_MAX;
      const open = (probe = false): Pool => {
        const pool = new pg.Pool({
          host,
          port,
          database: endpoints.databaseName,
          user,
          password: () => credentials.password(host, port),
          ssl,
          application_name: `${app}:${role}${probe ? ':health' : ''}`.slice(0, 63),
          ...(settings ? { options: Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`).join(' ') } : {}),
          max,
          idleTimeoutMillis: p?.idleTimeoutMs ?? 30_000,
          connectionTimeoutMillis: p?.connectionTimeoutMs ?? 5000,
          query_timeout: p?.queryTimeoutMs ?? (endpoints.statementTimeoutMs !== undefined ? endpoints.statementTimeoutMs + STATEMENT_TIMEOUT_MARGIN_MS : 30_000),
          keepAlive: true,
          keepAliveInitialDelayMillis: p?.keepAliveInitialDelayMs ?? 5000,
          ...(probe ? { max: 1, connectionTimeoutMillis: healthTimeout, query_timeout: healthTimeout } : {}),
        });
        pool.on('error', (e) => this.onError(new Error(`idle ${probe ? 'health check' : role} connection to ${host}:${port} failed: ${e.message}`, { cause: e })));
        return pool;
      };
      return { role, host, port, max, served: 0, held: 0, pool: open(), open: () => open(), probe: open(true), ...(role === 'reader' ? { breaker: new CircuitBreaker(o.circuitBreaker) } : {}) };
    };
    const explicitReaders = typeof o.readers === 'function' ? o.readers(endpoints) : o.readers;
    const readerSpecs = explicitReaders
      ? explicitReaders.map((r) => hostPort(r, endpoints.port))
      : [endpoints.proxyReadOnly ?? endpoints.reader].filter((h): h is string => h !== undefined).map((host) => ({ host, port: endpoints.port }));
    const readers = readerSpecs.map((r) => make('reader', r.host, r.port));
    const key = clusterKey(endpoints.writer, endpoints.port);
    let set: PoolSet;
    const writes = poolSetMode(endpoints);
    if (writes === 'primary') {
      const write = make('writer', endpoints.proxy ?? endpoints.writer, endpoints.port);
      set = { endpoints, key, mode: 'primary', write, readers, fallback: write };
    } else if (writes === 'forwarding') {
      // A secondary's cluster (writer) endpoint is inactive: its replicas forward the writes. Direct to the
      // reader endpoint, never through RDS Proxy, which does not support SESSION consistency.
      const host = endpoints.reader ?? endpoints.writer;
      const mode = o.forwarding?.consistency ?? 'SESSION';
      if (!['SESSION', 'EVENTUAL', 'GLOBAL'].includes(mode)) {
        throw new TypeError(`Database: forwarding.consistency must be 'SESSION', 'EVENTUAL' or 'GLOBAL' (got: ${JSON.stringify(mode)})`);
      }
      const write = make('forward', host, endpoints.port, { [WRITE_FORWARD_SETTING]: mode });
      const global = make('global', host, endpoints.port, { [WRITE_FORWARD_SETTING]: 'GLOBAL' });
      set = { endpoints, key, mode: 'forwarding', write, global, readers, fallback: global };
    } else {
      set = { endpoints, key, mode: 'secondary', readers };
    }
    if (this.closed) {
      await Promise.all(poolsOf(set).map((p) => p.end().catch(() => undefined)));
      throw new Error('Database: closed');
    }
    if (generation !== this.builds) {
      await Promise.all(poolsOf(set).map((p) => p.end().catch(() => undefined)));
      throw new SupersededBuild();
    }
    const previous = this.current;
    this.current = set;
    this.counters.poolRebuilds++;
    if (previous) this.retire(poolsOf(previous));
    return set;
  }

  private ssl(host: string, credentials: DatabaseCredentials): PoolConfig['ssl'] {
    const opt = this.options.ssl;
    if (opt === false) {
      if (credentials.kind === 'iam' && !isLoopback(host)) throw new Error(`Database: IAM authentication requires TLS; ssl: false is not allowed for ${host}`);
      return false;
    }
    if (opt === undefined && isLoopback(host) && credentials.kind !== 'iam') return false;
    const ca = opt?.ca ?? databaseCertificateAuthorities();
    return { rejectUnauthorized: opt?.rejectUnauthorized ?? true, ...(ca !== undefined ? { ca } : {}) };
  }

  private writeTarget(set: PoolSet): Target {
    if (set.write === undefined) throw this.noWriter(set, 'a write');
    return set.write;
  }

  private noWriter(set: PoolSet, what: string): WriteUnavailableError {
    const e = new WriteUnavailableError(
      `${what} cannot run in this region: ${set.endpoints.source} is a Global Database secondary without write forwarding (${set.endpoints.source}/write-forwarding is "off"). Send it to the primary region, or turn write forwarding on`,
    );
    try {
      this.options.onWriteUnavailable?.(e);
    } catch (hookError) {
      this.onError(new Error(`onWriteUnavailable threw: ${toError(hookError).message}`, { cause: hookError }));
    }
    return e;
  }

  private count(target: Target, reason: RouteReason): void {
    this.counters.routes[reason]++;
    if (target.role === 'reader') this.counters.reads.replica++;
    else if (target.role === 'global') this.counters.reads.global++;
    else this.counters.reads.writer++;
  }

  private readOn<R>(target: Target, sql: string, params: readonly unknown[], reason: RouteReason): Promise<DbResult<R>> {
    const seen = target.served;
    return this.query<R>(target, sql, params).then((r) => {
      this.count(target, reason);
      return r;
    }, (e: unknown) => { throw this.saturatedOr(target, e, seen); });
  }

  /** Readers in round-robin order, starting at a rotating offset. */
  private readerOrder(set: PoolSet): Target[] {
    const n = set.readers.length;
    if (n <= 1) return set.readers;
    const start = this.rr++ % n;
    return [...set.readers.slice(start), ...set.readers.slice(0, start)];
  }

  private async readAnyReader<R>(set: PoolSet, sql: string, params: readonly unknown[], reason: RouteReason): Promise<DbResult<R>> {
    if (set.readers.length === 0) return this.readFallback<R>(set, sql, params, 'no-reader');
    const attempts = 1 + (this.options.readRetries ?? 1);
    let tried = 0;
    let failed = false;
    let lastError: unknown;
    for (const reader of this.readerOrder(set)) {
      if (tried >= attempts) break;
      if (!reader.breaker!.tryAcquire()) continue;
      tried++;
      const seen = reader.served;
      try {
        const r = await this.query<R>(reader, sql, params);
        reader.breaker!.onSuccess();
        this.count(reader, reason);
        return r;
      } catch (e) {
        if (!this.tryElsewhere(reader, e, seen)) throw e;
        failed = true;
        lastError = e;
      }
    }
    return this.readFallback<R>(set, sql, params, failed ? 'reader-failed' : 'no-healthy-reader', lastError);
  }

  private async readFallback<R>(set: PoolSet, sql: string, params: readonly unknown[], reason: RouteReason, lastError?: unknown): Promise<DbResult<R>> {
    if (set.fallback === undefined) {
      if (lastError !== undefined) throw lastError;
      throw new Error(`no reader of ${set.endpoints.source} is available (${reason}) and this secondary region has no writer to fall back to`);
    }
    return this.readOn<R>(set.fallback, sql, params, reason);
  }

  /** Read-your-writes with a pending write at `position`: a reader that has applied it, else the writer. */
  private async readCaughtUp<R>(set: PoolSet, position: bigint, sql: string, params: readonly unknown[]): Promise<DbResult<R>> {
    const mode = await this.replicationMode(set);
    if (mode === 'none') return this.readOn<R>(set.fallback!, sql, params, 'ryw-no-position');
    for (const reader of this.readerOrder(set)) {
      if (!reader.breaker!.tryAcquire()) continue;
      let watermark = reader.watermark;
      if (watermark === undefined || watermark < position) {
        const recheck = this.options.replicaRecheckMs ?? 10;
        if (reader.checkedAt === undefined || Date.now() - reader.checkedAt >= recheck || reader.check !== undefined) {
          const seen = reader.served;
          try {
            watermark = await this.readerPosition(reader, mode);
          } catch (e) {
            if (!this.tryElsewhere(reader, e, seen)) {
              this.onError(new Error(`reader position query on ${reader.host} failed (reads of sessions with pending writes go to the writer): ${toError(e).message}`, { cause: e }));
            }
            continue;
          }
        }
      }
      if (watermark === undefined || watermark < position) {
        reader.breaker!.onSuccess();
        continue;
      }
      const seen = reader.served;
      try {
        const r = await this.query<R>(reader, sql, params);
        reader.breaker!.onSuccess();
        this.count(reader, 'ryw-caught-up');
        return r;
      } catch (e) {
        if (this.tryElsewhere(reader, e, seen)) continue;
        throw e;
      }
    }
    return this.readOn<R>(set.fallback!, sql, params, 'ryw-replica-behind');
  }

  /**
   * Classifies a reader's error: the reader's own failure (its breaker counts it) or a recovery conflict mean
   * "try elsewhere" (true); anything else is the statement's (false: the caller rethrows it). A wait for a connection
   * of the reader's full pool during which the pool answered statements (more than `seen`) is the reader being busy, not
   * failing: tried elsewhere, but its breaker does not count it, so a burst does not send every read to the fallback
   * (on a forwarding secondary, a pool capped at its forwarding-pool-max).
   */
  private tryElsewhere(reader: Target, e: unknown, seen: number): boolean {
    // The statement's (slow, or its server gone): not tried again elsewhere, and not the reader's failure or success.
    if (isQueryTimeout(e)) {
      reader.breaker!.onInconclusive();
      return false;
    }
    if (isPoolSaturated(e) && reader.served > seen) {
      reader.breaker!.onInconclusive();
      return true;
    }
    if (isConnectionError(e)) {
      reader.breaker!.onFailure();
      this.counters.readerFailures++;
      return true;
    }
    reader.breaker!.onSuccess();
    return isRecoveryConflict(e);
  }

  /** The reader's applied position (single flight per reader). */
  private readerPosition(reader: Target, mode: Exclude<ReplicationMode, 'none'>): Promise<bigint | undefined> {
    reader.check ??= (async () => {
      try {
        this.counters.positionChecks++;
        const r = await reader.pool.query(POSITION_SQL[mode].reader);
        reader.served++;
        const text = (r.rows[0] as { lsn?: string | null } | undefined)?.lsn;
        const position = text == null ? undefined : parsePosition(text);
        reader.checkedAt = Date.now();
        if (position !== undefined && (reader.watermark === undefined || position > reader.watermark)) reader.watermark = position;
        return reader.watermark;
      } finally {
        reader.check = undefined;
      }
    })();
    return reader.check;
  }

  /**
   * How the set's servers report positions (`replication`, or detected once per pool set). Detection asks `on` when
   * given: a write passes the writer connection it holds, so that it needs no second connection from a pool its
   * siblings may have exhausted. Otherwise (a read) it asks the readers, then the writer: a read of a session with a
   * pending write must not fail only because the writer cannot be reached while a reader can serve it.
   */
  private replicationMode(set: PoolSet, on?: Connection): Promise<ReplicationMode> {
    const configured = this.options.replication ?? 'auto';
    if (configured !== 'auto') return Promise.resolve(configured);
    set.replication ??= (async () => {
      const servers: Connection[] = on ? [on] : [...set.readers.map((r) => r.pool), ...(set.write ? [set.write.pool] : [])];
      let failure: unknown = new Error('no server in this region to ask how it replicates');
      for (const server of servers) {
        try {
          const r = await server.query(DETECT_AURORA_SQL);
          const row = r.rows[0] as { aurora?: boolean; allowed?: boolean } | undefined;
          if (!row?.aurora) return 'postgres';
          if (row.allowed === false) {
            // Every session write would fail to read its position, and say so: say it once, and read the sessions'
            // writes from the writer (as for a cluster without positions).
            this.onError(new Error(`${set.endpoints.source}: this database user may not call aurora_replica_status(), which read-your-writes needs to find a reader that has a write: those reads go to the writer (GRANT EXECUTE ON FUNCTION aurora_replica_status() TO the application's role to use the readers)`));
            return 'none';
          }
          return 'aurora';
        } catch (e) {
          failure = e;
        }
      }
      set.replication = undefined; // try again next time
      throw failure;
    })();
    return set.replication;
  }

  private async recordWrite(set: PoolSet, client: Connection, session: DbSession): Promise<void> {
    if (set.mode === 'forwarding') {
      session.recordWrite(set.key, undefined);
      return;
    }
    let position: bigint | undefined;
    try {
      const mode = await this.replicationMode(set, client);
      if (mode !== 'none') {
        const r = await client.query(POSITION_SQL[mode].write);
        const text = (r.rows[0] as { lsn?: string | null } | undefined)?.lsn;
        position = text == null ? undefined : parsePosition(text);
        if (position !== undefined && mode === 'postgres') position = replayablePosition(position);
      }
    } catch (e) {
      // The write is committed; without its position the session reads from the writer for its window.
      this.onError(new Error(`could not read the write position (this session reads from the writer for a while): ${toError(e).message}`, { cause: e }));
    }
    session.recordWrite(set.key, position);
  }

  /**
   * Runs `op`; when the database refused the credentials and they could be re-read, runs `retry` (default: `op`)
   * once. `stamp`: the credentials' {@link DatabaseCredentials.stamp} before the login `op` may make.
   */
  private async retryingAuth<T>(op: () => Promise<T>, retry: () => Promise<T> = op, stamp = this.credentials?.stamp?.()): Promise<T> {
    try {
      return await op();
    } catch (e) {
      if (!(isAuthError(e) && this.credentials && (await this.credentials.onAuthenticationFailure(stamp)))) throw e;
      this.counters.authRetries++;
      return retry();
    }
  }

  private query<R>(target: Target, sql: string, params: readonly unknown[]): Promise<DbResult<R>> {
    const served = (r: { rows: unknown[]; rowCount: number | null }): DbResult<R> => {
      target.served++;
      return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
    };
    // The server's own error (not the connection's, not a wait for one) is an answer too.
    const answered = (e: unknown): never => {
      if (!isConnectionError(e) && !isQueryTimeout(e)) target.served++;
      throw e;
    };
    // The credentials the login (if the query needs one) starts from: a refusal retries when newer ones arrived since.
    const stamp = this.credentials?.stamp?.();
    return target.pool.query(sql, params as unknown[]).then(
      served,
      (e: unknown) => this.retryingAuth(() => Promise.reject(e), () => target.pool.query(sql, params as unknown[]), stamp).then(served),
    ).catch(answered);
  }

  /**
   * `e` as a {@link PoolSaturatedError} when it is pg-pool's answer to a wait for a connection of `target`'s full pool
   * during which the pool answered statements (more than `seen`), or which ended with every connection of the pool held
   * by the application with no statement running on it (`target.held`); else `e` itself (a pool that answered nothing
   * may hold connections still opening or hung on a writer that stopped answering: a lost writer, as before).
   */
  private saturatedOr(target: Target, e: unknown, seen: number): unknown {
    if (!isPoolSaturated(e)) return e;
    const o = this.options;
    const waited = `pool.connectionTimeoutMs (${o.pool?.connectionTimeoutMs ?? 5000} ms)`;
    if (target.held >= target.max) {
      // Nobody waited on the server: every connection was checked out and idle in the application's hands, typically
      // transactions whose callbacks wait for this very statement (a deadlock the timeout ends).
      return new PoolSaturatedError(`Database: all ${target.max} connections of the ${target.role} pool to ${target.host}:${target.port} were held by the application with no statement running on them for ${waited}: transactions waiting in their callbacks. A statement through the Database inside a transaction's callback needs another connection of the same pool, and waits for the one the transaction holds: run it through the callback's tx, or give the pool more connections`, { cause: e });
    }
    if (target.served <= seen) return e;
    const endpoints = this.current?.endpoints;
    const capped = (target.role === 'forward' || target.role === 'global') && o.forwarding?.poolMax === undefined
      && endpoints?.forwardingPoolMax !== undefined && endpoints.forwardingPoolMax < (o.pool?.max ?? RUNTIME_POOL_MAX);
    const cap = capped ? ` (capped at the region's forwarding-pool-max: docs/aurora.md, "Connection budgets")` : '';
    return new PoolSaturatedError(`Database: all ${target.max} connections of the ${target.role} pool to ${target.host}:${target.port}${cap} were serving other statements for ${waited}: too many at once for the pool`, { cause: e });
  }

  /**
   * Runs `fn` on a writer connection of its own. The connection goes back to the pool unless the writer was lost on it
   * (unreachable, or read-only: SQLSTATE 25006), or one of its statements failed at the connection level, also when
   * `fn` caught that error (a statement that timed out is still on the connection): then it is closed, or the pool,
   * whose idle list is last in first out, would hand the same connection to the next write at once.
   */
  private async withClient<T>(target: Target, fn: (client: CheckedOut) => Promise<T>): Promise<T> {
    const seen = target.served;
    const from = target.pool;
    const client = await this.retryingAuth(() => target.pool.connect()).catch((e: unknown) => { throw this.saturatedOr(target, e, seen); });
    let broken: Error | undefined;
    // A checked-out client's connection that ends (the server terminated it: a failover, FATAL 57P01) emits 'error' on
    // the client, which the pool listens to only while the client is idle: unheard, it is an uncaught exception that
    // ends the process. Here it marks the connection broken; the statement running on it fails by itself.
    const onConnectionError = (e: Error): void => { broken ??= e; };
    client.on('error', onConnectionError);
    // Held (target.held) while checked out with no statement running on it, until released; counted for the pool it
    // came from only while that pool is the target's (resetWriterPool starts the count afresh with the new pool).
    const hold = (n: number): void => {
      if (target.pool === from) target.held += n;
    };
    let running = 0;
    let released = false;
    hold(1);
    const settled = (): void => {
      if (--running === 0 && !released) hold(1);
    };
    const connection: CheckedOut = {
      query: (sql, params) => {
        if (running++ === 0 && !released) hold(-1);
        return client.query(sql, params).then((r) => {
          target.served++;
          settled();
          return r;
        }, (e: unknown) => {
          if (isConnectionError(e) || isQueryTimeout(e)) broken ??= toError(e);
          else target.served++;
          settled();
          throw e;
        });
      },
      get broken() { return broken; },
    };
    try {
      return await fn(connection);
    } catch (e) {
      if (isWriterLost(e) || isQueryTimeout(e)) broken ??= toError(e);
      throw e;
    } finally {
      released = true;
      if (running === 0) hold(-1);
      client.release(broken);
      client.removeListener('error', onConnectionError);
    }
  }
}

/** A variable of the instance's environment file, if the file exists and has it. */
function envFileValue(name: string): string | undefined {
  if (!existsSync(ENV_FILE)) return undefined;
  return parseEnvFile(readFileSync(ENV_FILE, 'utf8'))[name] || undefined;
}

/** A connection (or a pool), as {@link Database} queries it. */
interface Connection {
  query(sql: string, params?: unknown[]): Promise<QueryResult>;
}

/** A connection checked out by `withClient`. */
interface CheckedOut extends Connection {
  /** The connection-level error one of its statements failed with (the connection is closed when released). */
  readonly broken: Error | undefined;
}

/**
 * The endpoints as far as the pools built from them differ: a region that does not forward (a primary, or a secondary
 * without forwarding) has no forwarding pools, so a new `forwarding-pool-max` there (every member publishes it, and it
 * changes with any fleet's maximum) rebuilds nothing.
 */
function poolRelevant(e: DatabaseEndpoints | undefined): DatabaseEndpoints | undefined {
  if (e === undefined || poolSetMode(e) === 'forwarding' || e.forwardingPoolMax === undefined) return e;
  const { forwardingPoolMax: _ignored, ...rest } = e;
  return rest;
}

/**
 * Connections of each forwarding pool: the application's `forwarding.poolMax`, else `pool.max` (10) capped at the
 * budget the stacks published for the region (`forwarding-pool-max`).
 */
function forwardingPoolMax(o: DatabaseOptions, endpoints: DatabaseEndpoints): number {
  return o.forwarding?.poolMax ?? Math.min(o.pool?.max ?? RUNTIME_POOL_MAX, endpoints.forwardingPoolMax ?? Number.POSITIVE_INFINITY);
}

const POOL_TIMES = ['idleTimeoutMs', 'connectionTimeoutMs', 'queryTimeoutMs', 'keepAliveInitialDelayMs'] as const;

/** Throws a RangeError naming the option for a pool setting that is not a count or a duration. */
function validatePoolOptions(name: 'pool' | 'readerPool', p: PoolOptions | undefined): void {
  if (p === undefined) return;
  if (p.max !== undefined && !(Number.isInteger(p.max) && p.max >= 1)) {
    throw new RangeError(`Database: ${name}.max must be a whole number of connections, at least 1 (got: ${p.max})`);
  }
  for (const key of POOL_TIMES) {
    const v = p[key];
    if (v !== undefined && !(Number.isFinite(v) && v >= 0)) {
      throw new RangeError(`Database: ${name}.${key} must be a number of milliseconds, 0 or more (got: ${v})`);
    }
  }
}

function poolsOf(set: PoolSet): Pool[] {
  return [set.write, set.global, ...set.readers].flatMap((t) => (t ? [t.pool, t.probe] : []));
}

function loadPg(): { Pool: new (config: PoolConfig) => Pool } {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require('pg') as { Pool: new (config: PoolConfig) => Pool; default?: { Pool: new (config: PoolConfig) => Pool } };
    return mod.default ?? mod;
  } catch (e) {
    throw new Error(`the database runtime needs node-postgres: npm install pg (an optional peer dependency of scale-to-millions): ${toError(e).message}`, { cause: e });
  }
}

/**
 * The database of a topology, following its endpoint and secret changes.
 *
 * @param topology - the loader (see `loadTopology`)
 * @param options - see {@link DatabaseOptions}
 * @returns the database
 */
export function createDatabase(topology: TopologyLoader, options: Omit<DatabaseOptions, 'topology'> = {}): Database {
  return new Database({ ...options, topology });
}
