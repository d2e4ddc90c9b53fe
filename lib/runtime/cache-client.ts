/**
 * A Valkey/Redis client for the cache tier (ElastiCache in cluster mode, TLS, RBAC or an AUTH token), on
 * ioredis 5 (an optional peer dependency of this package, loaded on first use).
 *
 * ```ts
 * import { CacheClient, cacheClientOptionsFromParameters, secretsManagerSecret } from 'scale-to-millions/runtime';
 *
 * // `params`: the values under `/<app>/cache` (CACHE_KEYS), e.g. from the topology loader
 * const cache = await CacheClient.connect(cacheClientOptionsFromParameters(params, {
 *   password: secretsManagerSecret({ secretId: params['secret-arn'], jsonKey: 'password' }),
 * }));
 * await cache.redis.set('greeting', 'hello', 'EX', 60);   // the ioredis Cluster (or Redis) itself
 * ```
 *
 * What it does beyond a bare `new Cluster(...)`:
 *
 * - **ElastiCache cluster mode with TLS**: the cluster's nodes announce themselves by host name and their
 *   certificates name those hosts, so the client connects to the names it is given (`dnsLookup` passthrough)
 *   instead of resolving them to IP addresses first, which would fail certificate verification.
 * - **Password rotation**: authentication happens when a connection opens; after the secret is rotated, open
 *   connections stay valid but the next (re)connection answers `WRONGPASS`. The client then re-reads the password
 *   from its {@link SecretProvider} (at most once per `minPasswordRefreshIntervalMs`) and the reconnection that
 *   follows authenticates with the new one. Commands queued on the failing connection are rejected with the
 *   authentication error; retry them.
 * - **Failover without cluster mode**: a primary endpoint's connection outlives a failover (ElastiCache moves the
 *   endpoint's DNS name; the old primary, now a replica, keeps the connection and answers every write `READONLY`).
 *   A `READONLY` reply closes the connection and sends the command again on a new one, which resolves the name
 *   afresh, at most once per 5 s (a Global Datastore's secondary region answers
 *   `READONLY` for good: its writes fail as before, with a reconnection now and then). In cluster mode a demoted
 *   node answers `MOVED`, which the `Cluster` follows.
 * - **Fails fast**: a command waits at most `commandTimeoutMs` (default 1 s), so a cache that hangs degrades the
 *   callers (see `CacheAside`) instead of stalling every request. In cluster mode, a command issued while the
 *   whole cluster is (re)connecting fails at once (`Cluster isn't ready`): ioredis would queue it with no limit.
 *
 * @module
 */

import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { CACHE_KEYS } from './contract';
import type { SecretProvider } from './secrets';

/** An ioredis client: a `Cluster` in cluster mode, a `Redis` otherwise. Both have the same command API. */
export type RedisClient = Redis | Cluster;

/** How the client authenticates (`CACHE_KEYS.authMode`; `none` only for local servers without auth). */
export type CacheAuthMode = 'rbac' | 'auth-token' | 'none';

/** Defaults of {@link CacheClientOptions}. */
export const CACHE_CLIENT_DEFAULTS = {
  port: 6379,
  tls: true,
  clusterMode: true,
  connectTimeoutMs: 5_000,
  commandTimeoutMs: 1_000,
  readyTimeoutMs: 10_000,
  minPasswordRefreshIntervalMs: 1_000,
} as const;

/**
 * Connection options, named after the keys the data stack publishes under `/<app>/cache` ({@link CACHE_KEYS}).
 * {@link cacheClientOptionsFromParameters} builds them from those values.
 */
export interface CacheClientOptions {
  /** `CACHE_KEYS.endpoint`: the configuration endpoint in cluster mode, the primary endpoint otherwise. */
  readonly host: string;
  /**
   * `CACHE_KEYS.port`.
   * @default 6379
   */
  readonly port?: number;
  /**
   * `CACHE_KEYS.tls` (`required` → `true`). `true` uses Node's defaults (the system CAs, which sign ElastiCache's
   * certificates); an object is passed to `tls.connect` (e.g. `{ ca }` for a private CA).
   * @default true
   */
  readonly tls?: boolean | TlsConnectionOptions;
  /**
   * `CACHE_KEYS.authMode`.
   * @default - `rbac` when a username is given, `auth-token` when only a password is, otherwise `none`
   */
  readonly authMode?: CacheAuthMode;
  /** `CACHE_KEYS.username`: the RBAC user (required with `rbac`). @default - none */
  readonly username?: string;
  /**
   * The password (RBAC) or AUTH token: the `password` field of the secret named by `CACHE_KEYS.secretArn`. Read at
   * connect and re-read after an authentication failure, so pass a provider (e.g. `secretsManagerSecret`) rather
   * than a string when the secret rotates.
   * @default - no password (`authMode` `none`)
   */
  readonly password?: SecretProvider | string;
  /**
   * Cluster mode (an ioredis `Cluster` that follows `MOVED`/`ASK` redirections). The data stack always deploys
   * cluster mode.
   * @default true
   */
  readonly clusterMode?: boolean;
  /**
   * Send read-only commands to replicas (cluster mode). Replicas lag the primary: a read right after a write
   * may miss it.
   * @default false
   */
  readonly readFromReplicas?: boolean;
  /**
   * How long opening one connection may take.
   * @default 5000
   */
  readonly connectTimeoutMs?: number;
  /**
   * How long a command may take, queued or sent, before it is rejected (`Command timed out`). Raise it for
   * blocking commands, or use a second client for them.
   * @default 1000
   */
  readonly commandTimeoutMs?: number;
  /**
   * Minimum time between two re-reads of the password after authentication failures.
   * @default 1000
   */
  readonly minPasswordRefreshIntervalMs?: number;
  /**
   * Connection name shown by `CLIENT LIST`.
   * @default - none
   */
  readonly connectionName?: string;
  /**
   * Further ioredis options for each connection, applied under the options above (which win).
   * @default - none
   */
  readonly redisOptions?: Partial<RedisOptions>;
  /**
   * Further ioredis `Cluster` options (cluster mode), applied under the options above.
   * @default - none
   */
  readonly clusterOptions?: Partial<ClusterOptions>;
  /**
   * Connection errors (the client reconnects by itself; these are for logs and metrics), at most one per 5 seconds
   * (an outage makes ioredis report several a second per process: `stats().errors` counts them all).
   * @default - a `console.warn` line
   */
  readonly onError?: (error: Error) => void;
  /**
   * The ioredis module.
   * @default - `import('ioredis')` on first use
   */
  readonly ioredis?: typeof import('ioredis');
}

/**
 * Least time between two reconnections of a standalone client after `READONLY` replies (see {@link CacheClient}): the
 * first comes at once after a failover; a cache that refuses writes for good (a Global Datastore's secondary region)
 * is reconnected to no more often than this.
 */
const READONLY_RECONNECT_INTERVAL_MS = 5_000;

/** Counters of a {@link CacheClient}. */
export interface CacheClientStats {
  /** Errors reported by the connections (including authentication failures). */
  readonly errors: number;
  /** Authentication failures (`WRONGPASS`, `NOAUTH`). */
  readonly authFailures: number;
  /** Times the password provider was called after an authentication failure. */
  readonly passwordRefreshes: number;
  /** Of those, how many returned a password different from the one in use. */
  readonly passwordChanges: number;
  /** Completed moves to another endpoint ({@link CacheClient.retarget}). */
  readonly retargets: number;
  /** Reconnections after a `READONLY` reply (standalone: a failover demoted the node the connection was on). */
  readonly readOnlyReconnects: number;
}

/**
 * A {@link CacheClient.retarget} whose new client became ready after a later call had started: the later one decides
 * where the client is, and this one's client is closed.
 */
export class CacheRetargetSupersededError extends Error {
  /** @param message - which move was superseded */
  public constructor(message: string) {
    super(message);
    this.name = 'CacheRetargetSupersededError';
  }
}

/** The cache could not be reached in time, or refused the connection. */
export class CacheConnectError extends Error {
  /**
   * @param message - what failed
   * @param cause - the underlying error, if any
   */
  public constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'CacheConnectError';
  }
}

/** A connection to the cache tier. Use {@link CacheClient.connect} (or {@link CacheClient.create}). */
export class CacheClient {
  /**
   * Creates the client and waits until it is ready.
   *
   * @param options - see {@link CacheClientOptions}
   * @param readyTimeoutMs - how long to wait for the first connection (default 10 000)
   * @returns a ready client
   * @throws RangeError for invalid options; CacheConnectError when the cache cannot be reached in time
   */
  public static async connect(options: CacheClientOptions, readyTimeoutMs: number = CACHE_CLIENT_DEFAULTS.readyTimeoutMs): Promise<CacheClient> {
    const client = await CacheClient.create(options);
    try {
      await client.ready(readyTimeoutMs);
    } catch (e) {
      client.disconnect();
      throw e;
    }
    return client;
  }

  /**
   * Creates the client and starts connecting in the background: commands issued before it is ready wait up to
   * `commandTimeoutMs` (standalone) or fail at once (cluster mode). Use it when the application must start even
   * while the cache is down (`CacheAside` skips the cache until the client is ready).
   *
   * @param options - see {@link CacheClientOptions}
   * @returns the client, possibly not connected yet
   * @throws RangeError for invalid options; the password provider's error if the first read fails
   */
  public static async create(options: CacheClientOptions): Promise<CacheClient> {
    const settings = resolveOptions(options);
    const ioredis = options.ioredis ?? await import('ioredis');
    const password = settings.password === undefined ? undefined : await readPassword(settings.password);
    return new CacheClient(ioredis, settings, password);
  }

  /**
   * The ioredis client: use it for every command the cache-aside, session and idempotency helpers do not cover.
   * After {@link CacheClient.retarget} it is the new endpoint's client: read it when you need it, do not keep it.
   */
  public get redis(): RedisClient {
    return this.current;
  }

  /** Whether {@link CacheClient.redis} is a `Cluster`. */
  public get clusterMode(): boolean {
    return this.settings.clusterMode;
  }

  /** `host:port` of the endpoint, for messages. */
  public get endpoint(): string {
    return `${this.settings.host}:${this.settings.port}`;
  }

  private readonly ioredis: typeof import('ioredis');
  private settings: ResolvedOptions;
  private current: RedisClient;
  /** Clients of a {@link CacheClient.retarget} that are not ready yet (closed with this client). */
  private readonly pending = new Set<RedisClient>();
  /** Calls of {@link CacheClient.retarget} so far: only the latest one puts its client in use. */
  private retargetGeneration = 0;
  private readonly counters = { errors: 0, authFailures: 0, passwordRefreshes: 0, passwordChanges: 0, retargets: 0, readOnlyReconnects: 0 };
  /** When a `READONLY` reply last made a standalone client reconnect (epoch ms). */
  private readOnlyReconnectAt = Number.NEGATIVE_INFINITY;
  private password: string | undefined;
  private refreshing: Promise<void> | undefined;
  private lastRefreshAt = Number.NEGATIVE_INFINITY;
  private lastError: Error | undefined;
  /** Called when the server refused the credentials and the provider had no other password. */
  private readonly credentialsRefused = new Set<() => void>();

  private constructor(ioredis: typeof import('ioredis'), settings: ResolvedOptions, password: string | undefined) {
    this.ioredis = ioredis;
    this.settings = settings;
    this.password = password;
    this.current = this.open(settings, password);
  }

  /** Creates the ioredis client for `settings` and starts connecting. */
  private open(settings: ResolvedOptions, password: string | undefined): RedisClient {
    const ioredis = this.ioredis;
    const nodeOptions: RedisOptions = {
      ...settings.redisOptions,
      ...(settings.tls === false ? {} : { tls: settings.tls === true ? {} : settings.tls }),
      ...(settings.username !== undefined ? { username: settings.username } : {}),
      ...(password !== undefined ? { password } : {}),
      connectTimeout: settings.connectTimeoutMs,
      commandTimeout: settings.commandTimeoutMs,
      ...(settings.connectionName !== undefined ? { connectionName: settings.connectionName } : {}),
    };
    let client: RedisClient;
    if (settings.clusterMode) {
      const cluster = new ioredis.Cluster([{ host: settings.host, port: settings.port }], {
        // A Cluster queues commands while it (re)connects with no time limit (commandTimeout is per node): a cluster
        // that cannot reconnect (e.g. refused credentials) would hang every caller. Fail them at once instead.
        enableOfflineQueue: false,
        // A slot refresh opens a connection (TLS handshake, AUTH) before CLUSTER SLOTS; ioredis' 1 s default is
        // often too short for that over TLS and ends in "Failed to refresh slots cache".
        slotsRefreshTimeout: Math.max(2_000, settings.connectTimeoutMs),
        ...settings.clusterOptions,
        // ElastiCache with TLS announces nodes by host name and its certificates name those hosts: connect to the
        // names as given (resolving them to IP addresses first would fail certificate verification).
        dnsLookup: (address, callback) => callback(null, address),
        scaleReads: settings.readFromReplicas ? 'slave' : 'master',
        redisOptions: nodeOptions,
        lazyConnect: true,
      });
      cluster.on('error', (err: Error) => this.onConnectionError(err));
      cluster.on('node error', (err: Error) => this.onConnectionError(err));
      client = cluster;
    } else {
      const redis = new ioredis.Redis({
        // After a failover the primary endpoint names another node, but this connection stays on the demoted one, which
        // answers writes READONLY for as long as the connection lasts: reconnect (the name is resolved again) and resend.
        ...(settings.redisOptions.reconnectOnError === undefined ? { reconnectOnError: (err: Error) => this.reconnectOnReadOnly(err) } : {}),
        ...nodeOptions,
        host: settings.host,
        port: settings.port,
        lazyConnect: true,
      });
      redis.on('error', (err: Error) => this.onConnectionError(err));
      client = redis;
    }
    client.connect().catch(() => { /* reported through the error events; ready() reports it too */ });
    return client;
  }

  /**
   * Waits until the client is ready for commands; fails at once when the server refuses the credentials and the
   * password provider has no other password.
   *
   * @param timeoutMs - how long to wait (default 10 000)
   * @throws CacheConnectError naming the endpoint and the last connection error
   */
  public ready(timeoutMs: number = CACHE_CLIENT_DEFAULTS.readyTimeoutMs): Promise<void> {
    return this.waitReady(this.current, this.settings, timeoutMs);
  }

  /**
   * Moves to another endpoint (or other settings): connects a new client, and once it is ready makes it
   * {@link CacheClient.redis} and closes the old one after its pending replies (`QUIT`). The cache-aside, session
   * and idempotency helpers built on this client follow. Until the new client is ready the old one stays in use;
   * if it does not become ready within `readyTimeoutMs`, it is closed and the old one stays.
   *
   * @param options - the new options (e.g. the endpoint the topology now publishes)
   * @param readyTimeoutMs - how long the new client may take to become ready (default 10 000)
   * @throws RangeError for invalid options; CacheConnectError when the new client did not become ready;
   *   CacheRetargetSupersededError when a later call started before this one's client was ready (the later one decides)
   */
  public async retarget(options: CacheClientOptions, readyTimeoutMs: number = CACHE_CLIENT_DEFAULTS.readyTimeoutMs): Promise<void> {
    // The latest call wins: a move that became ready after a later one started is dropped, not put back in use.
    const generation = ++this.retargetGeneration;
    const settings = resolveOptions(options);
    const password = settings.password === undefined ? undefined : await readPassword(settings.password);
    const next = this.open(settings, password);
    this.pending.add(next);
    try {
      await this.waitReady(next, settings, readyTimeoutMs);
    } catch (e) {
      next.disconnect();
      throw e;
    } finally {
      this.pending.delete(next);
    }
    if (generation !== this.retargetGeneration) {
      void quitOrDisconnect(next);
      throw new CacheRetargetSupersededError(`CacheClient.retarget(${settings.host}:${settings.port}): superseded by a later retarget, whose endpoint stands (or, if it failed, the one in use before)`);
    }
    const old = this.current;
    this.current = next;
    this.settings = settings;
    this.password = password;
    this.lastError = undefined;
    this.counters.retargets++;
    void quitOrDisconnect(old);
  }

  private async waitReady(client: RedisClient, settings: ResolvedOptions, timeoutMs: number): Promise<void> {
    if (client.status === 'ready') return;
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error): void => {
        clearTimeout(timer);
        client.off('ready', onReady);
        client.off('end', onEnd);
        this.credentialsRefused.delete(onRefused);
        if (err) reject(err); else resolve();
      };
      const onReady = (): void => done();
      const onEnd = (): void => done(this.connectError('the connection was closed', settings));
      // The server refused the password and the provider has no other: waiting longer cannot help.
      const onRefused = (): void => done(this.connectError('the credentials were refused', settings));
      const timer = setTimeout(() => done(this.connectError(`not ready within ${timeoutMs} ms`, settings)), timeoutMs);
      client.once('ready', onReady);
      client.once('end', onEnd);
      this.credentialsRefused.add(onRefused);
    });
  }

  /** Whether commands are being sent right now (the connection is up and authenticated). */
  public get isReady(): boolean {
    return this.redis.status === 'ready';
  }

  /**
   * Round-trip time of a `PING` (to one node in cluster mode), e.g. for a deep health check.
   *
   * @returns milliseconds
   * @throws the command's error (including `Command timed out` after `commandTimeoutMs`)
   */
  public async ping(): Promise<number> {
    const start = performance.now();
    await this.redis.ping();
    return performance.now() - start;
  }

  /** Counters since creation. */
  public stats(): CacheClientStats {
    return { ...this.counters };
  }

  /** Closes the connections after pending replies (`QUIT`); falls back to a hard disconnect after 2 s. */
  public async close(): Promise<void> {
    for (const p of this.pending) p.disconnect();
    await quitOrDisconnect(this.current);
  }

  /** Closes the connections now, failing pending commands. */
  public disconnect(): void {
    for (const p of this.pending) p.disconnect();
    this.current.disconnect();
  }

  /** When a connection error was last passed to onError (epoch ms): at most one per 5 s, whoever listens. */
  private lastReportedAt = 0;

  private onConnectionError(err: Error): void {
    this.counters.errors++;
    this.lastError = err;
    if (isAuthError(err)) {
      this.counters.authFailures++;
      this.refreshPassword();
    }
    const now = Date.now();
    if (now - this.lastReportedAt < 5_000) return;
    this.lastReportedAt = now;
    this.settings.onError(err);
  }

  /** ioredis' `reconnectOnError` of a standalone client: 2 (reconnect, then resend) for `READONLY`, rate-limited. */
  private reconnectOnReadOnly(err: Error): 2 | false {
    if (!/\bREADONLY\b/.test(err.message ?? '')) return false;
    const now = Date.now();
    if (now - this.readOnlyReconnectAt < READONLY_RECONNECT_INTERVAL_MS) return false;
    this.readOnlyReconnectAt = now;
    this.counters.readOnlyReconnects++;
    return 2;
  }

  /** Re-reads the password (single-flight, rate-limited) and installs it for the next (re)connections. */
  private refreshPassword(): void {
    const provider = this.settings.password;
    if (provider === undefined || this.refreshing) return;
    const now = Date.now();
    if (now - this.lastRefreshAt < this.settings.minPasswordRefreshIntervalMs) return;
    this.lastRefreshAt = now;
    this.counters.passwordRefreshes++;
    this.refreshing = readPassword(provider).then((password) => {
      if (password !== this.password) {
        this.counters.passwordChanges++;
        this.password = password;
        this.applyPassword(password);
      } else {
        for (const refused of this.credentialsRefused) refused();
      }
    }, (e: unknown) => {
      this.settings.onError(new Error(`cache ${this.endpoint}: re-reading the password after an authentication failure failed: ${(e as Error).message}`, { cause: e }));
    }).finally(() => {
      this.refreshing = undefined;
    });
  }

  private applyPassword(password: string): void {
    if (this.clusterMode) {
      const cluster = this.redis as Cluster;
      // New node connections copy the pool's `redisOptions`; open ones (and the slot refresher, a duplicate of
      // one) read their own `options` when they reconnect.
      if (cluster.options.redisOptions) cluster.options.redisOptions.password = password;
      const pool = clusterPoolOptions(cluster);
      if (pool) pool.password = password;
      for (const node of cluster.nodes('all')) node.options.password = password;
    } else {
      (this.redis as Redis).options.password = password;
    }
  }

  private connectError(what: string, settings: ResolvedOptions = this.settings): CacheConnectError {
    const last = this.lastError ? `: ${this.lastError.message}` : '';
    const hint = this.lastError && isAuthError(this.lastError)
      ? ' (check the username and the password secret)'
      : settings.tls === false ? ' (TLS is off: an ElastiCache endpoint requires tls)' : '';
    return new CacheConnectError(`cache ${settings.host}:${settings.port} (${settings.clusterMode ? 'cluster mode' : 'standalone'}, ${settings.tls === false ? 'no TLS' : 'TLS'}, auth ${settings.authMode}): ${what}${last}${hint}`, this.lastError);
  }
}

/** `QUIT` (pending replies first), or a hard disconnect when that fails or takes more than 2 s. */
async function quitOrDisconnect(client: RedisClient): Promise<void> {
  const timer = setTimeout(() => client.disconnect(), 2_000);
  try {
    await client.quit();
  } catch {
    client.disconnect();
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The ioredis client of a {@link CacheClient}, or the ioredis client itself.
 *
 * @param client - either
 * @returns the ioredis client
 */
export function redisOf(client: CacheClient | RedisClient): RedisClient {
  return client instanceof CacheClient ? client.redis : client;
}

/**
 * ioredis' connection pool keeps the `redisOptions` object it was created with and copies it into every new node.
 * It is the same object as `cluster.options.redisOptions` in ioredis 5; set it there too in case a version copies.
 */
function clusterPoolOptions(cluster: Cluster): RedisOptions | undefined {
  const pool = (cluster as unknown as { connectionPool?: { redisOptions?: RedisOptions } }).connectionPool;
  return pool?.redisOptions;
}

/** Whether a connection or command error means the credentials were refused. */
export function isAuthError(err: unknown): boolean {
  const message = (e: unknown): string => (e instanceof Error ? e.message : String(e ?? ''));
  const test = (m: string): boolean => /\b(WRONGPASS|NOAUTH)\b|invalid username-password pair|invalid password/i.test(m);
  return test(message(err)) || test(message((err as { lastNodeError?: unknown } | undefined)?.lastNodeError));
}

async function readPassword(provider: SecretProvider | string): Promise<string> {
  const value = typeof provider === 'string' ? provider : await provider();
  if (typeof value !== 'string' || value === '') throw new RangeError(`CacheClient: the password provider returned ${value === '' ? 'an empty string' : typeof value}; expected the password`);
  return value;
}

interface ResolvedOptions {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean | TlsConnectionOptions;
  readonly authMode: CacheAuthMode;
  readonly username: string | undefined;
  readonly password: SecretProvider | string | undefined;
  readonly clusterMode: boolean;
  readonly readFromReplicas: boolean;
  readonly connectTimeoutMs: number;
  readonly commandTimeoutMs: number;
  readonly minPasswordRefreshIntervalMs: number;
  readonly connectionName: string | undefined;
  readonly redisOptions: Partial<RedisOptions>;
  readonly clusterOptions: Partial<ClusterOptions>;
  readonly onError: (error: Error) => void;
}

function resolveOptions(o: CacheClientOptions): ResolvedOptions {
  const fail = (what: string, got: unknown): never => {
    throw new RangeError(`CacheClient: ${what} (got: ${typeof got === 'function' ? 'a function' : JSON.stringify(got)})`);
  };
  if (typeof o.host !== 'string' || o.host.trim() === '') fail('host must be the cache endpoint host name', o.host);
  const port = o.port ?? CACHE_CLIENT_DEFAULTS.port;
  if (!Number.isInteger(port) || port < 1 || port > 65_535) fail('port must be an integer from 1 to 65535', o.port);
  const authMode = o.authMode ?? (o.username !== undefined ? 'rbac' : o.password !== undefined ? 'auth-token' : 'none');
  if (authMode !== 'rbac' && authMode !== 'auth-token' && authMode !== 'none') fail('authMode must be rbac, auth-token or none', o.authMode);
  if (authMode === 'rbac' && (typeof o.username !== 'string' || o.username === '')) fail('authMode rbac needs a username', o.username);
  if (authMode !== 'none' && o.password === undefined) fail(`authMode ${authMode} needs a password (a string or a provider)`, o.password);
  if (authMode === 'auth-token' && o.username !== undefined) fail('authMode auth-token takes no username (the AUTH token is a password for the default user)', o.username);
  if (authMode === 'none' && o.password !== undefined) fail('authMode none takes no password', '(a password)');
  if (o.password !== undefined && typeof o.password !== 'string' && typeof o.password !== 'function') fail('password must be a string or a function returning it', typeof o.password);
  const ms = (name: keyof CacheClientOptions, value: unknown, fallback: number): number => {
    const v = value ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) fail(`${name} must be a positive number of milliseconds`, value);
    return v as number;
  };
  const tls = o.tls ?? CACHE_CLIENT_DEFAULTS.tls;
  if (typeof tls !== 'boolean' && (tls === null || typeof tls !== 'object')) fail('tls must be true, false or tls.connect options', tls);
  return {
    host: o.host,
    port,
    tls,
    authMode,
    username: authMode === 'rbac' ? o.username : undefined,
    password: authMode === 'none' ? undefined : o.password,
    clusterMode: o.clusterMode ?? CACHE_CLIENT_DEFAULTS.clusterMode,
    readFromReplicas: o.readFromReplicas ?? false,
    connectTimeoutMs: ms('connectTimeoutMs', o.connectTimeoutMs, CACHE_CLIENT_DEFAULTS.connectTimeoutMs),
    commandTimeoutMs: ms('commandTimeoutMs', o.commandTimeoutMs, CACHE_CLIENT_DEFAULTS.commandTimeoutMs),
    minPasswordRefreshIntervalMs: ms('minPasswordRefreshIntervalMs', o.minPasswordRefreshIntervalMs, CACHE_CLIENT_DEFAULTS.minPasswordRefreshIntervalMs),
    connectionName: o.connectionName,
    redisOptions: o.redisOptions ?? {},
    clusterOptions: o.clusterOptions ?? {},
    onError: o.onError ?? ((err) => console.warn(`[CacheClient] ${o.host}:${port}: ${err.message}`)),
  };
}

/** The values published under `/<app>/cache`, keyed by {@link CACHE_KEYS} values (`endpoint`, `port`, ...). */
export type CacheParameters = Partial<Record<(typeof CACHE_KEYS)[keyof typeof CACHE_KEYS], string>>;

/**
 * Builds {@link CacheClientOptions} from the parameters the data stack publishes under `/<app>/cache`.
 *
 * @param parameters - the values by key name (`endpoint`, `port`, `tls`, `auth-mode`, `username`, `secret-arn`)
 * @param extra - the password provider (read the secret named by `secret-arn`) and any other option
 * @returns the options
 * @throws RangeError naming the parameter and the value when one is missing or malformed
 */
export function cacheClientOptionsFromParameters(parameters: CacheParameters, extra: Omit<CacheClientOptions, 'host' | 'port' | 'tls' | 'authMode' | 'username'> = {}): CacheClientOptions {
  const fail = (key: string, what: string, got: unknown): never => {
    throw new RangeError(`cache/${key}: ${what} (got: ${JSON.stringify(got)})`);
  };
  const host = parameters[CACHE_KEYS.endpoint];
  if (host === undefined || host.trim() === '') fail(CACHE_KEYS.endpoint, 'the cache endpoint is missing', host);
  const rawPort = parameters[CACHE_KEYS.port];
  const port = rawPort === undefined ? undefined : Number(rawPort);
  if (port !== undefined && (!/^\d+$/.test(rawPort!) || port < 1 || port > 65_535)) fail(CACHE_KEYS.port, 'must be a port number', rawPort);
  const rawTls = parameters[CACHE_KEYS.tls];
  if (rawTls !== undefined && rawTls !== 'required' && rawTls !== 'preferred' && rawTls !== 'disabled') fail(CACHE_KEYS.tls, 'must be required, preferred or disabled', rawTls);
  const authMode = parameters[CACHE_KEYS.authMode];
  if (authMode !== undefined && authMode !== 'rbac' && authMode !== 'auth-token' && authMode !== 'none') fail(CACHE_KEYS.authMode, 'must be rbac or auth-token', authMode);
  const username = parameters[CACHE_KEYS.username];
  if (authMode === 'rbac' && (username === undefined || username === '')) fail(CACHE_KEYS.username, `auth-mode rbac needs the RBAC user name`, username);
  return {
    ...extra,
    host: host!,
    ...(port !== undefined ? { port } : {}),
    tls: rawTls !== 'disabled',
    ...(authMode !== undefined ? { authMode: authMode as CacheAuthMode } : {}),
    ...(authMode === 'rbac' || (authMode === undefined && username !== undefined) ? { username } : {}),
  };
}
