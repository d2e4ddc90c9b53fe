/**
 * The runtime SDK in one call: what an application server (a web service or a queue's worker) creates at start.
 *
 * ```ts
 * import { createRuntime, HttpError, RequestSession, sendJson } from 'scale-to-millions/runtime';
 *
 * const rt = await createRuntime<{ userId: string; db?: string }>({ queues: ['jobs'] });
 * await rt.serve(async (req, res) => {
 *   const session = await RequestSession.load(rt.sessions, req, res);
 *   const userId = session.data?.userId ?? '';
 *   const db = rt.dbSession(session.data?.db);                          // this user's last writes
 *   await rt.databaseFor(userId).write('INSERT INTO orders …', [...], { session: db });  // the user's shard
 *   await rt.queue('jobs').send({ orderId }, { type: 'order.placed', idempotencyKey: orderId, session: db });
 *   await session.save({ userId, db: db.token() });
 *   sendJson(res, 201, { orderId });
 * });
 * // worker fleet (S2M_ROLE=worker, S2M_SERVICE=jobs):  await rt.runWorker(async (job) => { … });
 * ```
 *
 * `createRuntime` reads the environment file, loads the topology (and starts its refresh), and builds from it:
 * the database (IAM or password authentication as published; TLS with the RDS bundle), the sharded database when a
 * shard map is published, the cache client, the session store (sealed tokens when `sessions/secret-arn` is
 * published, otherwise the cache-backed store), queue producers, the queue worker, and the deep health check
 * with the database, shard and cache checks registered. It follows topology changes (a new shard-map epoch, a
 * rotated secret, a moved database or cache endpoint, a new queue URL) and closes everything on `close()` or on
 * SIGTERM/SIGINT, after the HTTP server and the worker have drained. Every piece stays usable on its own.
 *
 * @module
 */

import type { SQSClient } from '@aws-sdk/client-sqs';
import { CacheAside, type CacheAsideOptions, type CacheAsideStats } from './cache-aside';
import { CacheClient, CacheRetargetSupersededError, cacheClientOptionsFromParameters, type CacheClientOptions, type CacheClientStats, type CacheParameters } from './cache-client';
import { CACHE_KEYS, ENV_FILE, ENV_VARS } from './contract';
import { createDatabase, type Database, type DatabaseOptions, type DatabaseStats } from './database';
import { EnvironmentError, readEnvironment, type RuntimeEnvironment } from './env';
import type { ShardKey } from './hash';
import { HealthCheck, type HealthCheckDefinition, type HealthCheckOptions } from './health';
import { serveHttp, type HttpService, type HttpServiceStats, type RequestHandler, type ServeOptions } from './http';
import { Idempotency, IdempotencyConflictError, type IdempotencyOptions, type IdempotencyStats } from './idempotency';
import { QueueProducer, jobOf, jobWorkKey, type Job, type QueueProducerStats } from './queue-producer';
import { SpacedTrigger, systemClock, toError } from './refresh-loop';
import { DbSession } from './replication';
import { SecretReadError, secretsManagerSecretVersions, type SecretProvider, type SecretVersions } from './secrets';
import type { SessionStore } from './session';
import { CacheSessionStore, type CacheSessionStoreOptions } from './session-cache';
import { SealedSessionStore, type SealedSessionStats, type SealedSessionStoreOptions } from './session-sealed';
import { ShardedDatabase, type ShardedDatabaseOptions } from './sharded-database';
import { loadTopology, type CacheEndpoints, type DatabaseEndpoints, type Topology, type TopologyChange, type TopologyLoader, type TopologyLoaderOptions } from './topology';
import { sqsClientConfig } from './sqs-client';
import { QueueWorker, RetryLaterError, type QueueWorkerOptions, type QueueWorkerStats } from './worker';

/** Defaults of {@link RuntimeOptions}. */
export const RUNTIME_DEFAULTS = {
  signals: ['SIGTERM', 'SIGINT'] as readonly NodeJS.Signals[],
  cacheReadyTimeoutMs: 5_000,
  cacheRetargetRetryMs: 30_000,
  sessionTtlMs: 600_000,
  exitAfterSignalMs: 2_000,
} as const;

/** The cache client's options that the topology does not give. */
export interface RuntimeCacheOptions extends Omit<CacheClientOptions, 'host' | 'port' | 'authMode' | 'username' | 'password' | 'onError' | 'ioredis'> {
  /**
   * How long start-up waits for the cache; after that the runtime starts anyway and the client keeps connecting
   * (cache-aside reads go to the database meanwhile, the deep health check reports the cache down).
   * @default 5000
   */
  readonly readyTimeoutMs?: number;
}

/** Which session store the runtime builds. */
export type SessionStoreChoice = 'auto' | 'sealed' | 'cache';

/** Options of the session store. */
export interface RuntimeSessionOptions<S> {
  /**
   * `auto`: sealed tokens when `sessions/secret-arn` is published (sessions survive a move between regions and a
   * cache outage), the cache-backed store otherwise; `sealed` or `cache` to insist (an error when it cannot be built).
   * @default 'auto'
   */
  readonly store?: SessionStoreChoice;
  /** A session unused for this long expires. @default 86400 */
  readonly idleTimeoutSeconds?: number;
  /** A session expires this long after its creation. @default 604800 */
  readonly absoluteTimeoutSeconds?: number;
  /** Further options of the sealed store. @default - its defaults */
  readonly sealed?: Omit<SealedSessionStoreOptions<S>, 'secrets' | 'idleTimeoutSeconds' | 'absoluteTimeoutSeconds'>;
  /** Further options of the cache store. @default - its defaults */
  readonly cache?: Omit<CacheSessionStoreOptions, 'idleTimeoutSeconds' | 'absoluteTimeoutSeconds'>;
}

/** Options of {@link createRuntime}. Everything is optional: on an instance the environment file says it all. */
export interface RuntimeOptions<S = Record<string, unknown>> {
  /** Values that win over the environment file and the process environment (local development, tests). @default - none */
  readonly environment?: Partial<RuntimeEnvironment>;
  /** The environment file, or `false` for none. @default - `/etc/scale-to-millions/env` (a missing file is fine) */
  readonly environmentFile?: string | false;
  /** Options of the topology loader: clients, refresh intervals. @default - its defaults */
  readonly topology?: Omit<TopologyLoaderOptions, 'prefix' | 'region' | 'environment' | 'queues' | 'tiers'>;
  /**
   * The queues this process sends to (fleets are granted each queue's parameters, not `<prefix>/queues`). A worker's
   * own queue (`S2M_SERVICE`) is always added.
   * @default - a worker: its own queue; otherwise every queue under `<prefix>/queues`, if this fleet may read that
   */
  readonly queues?: readonly string[];
  /**
   * Local development: reader hosts (`host:port`) by writer (`host:port`, or `host` for any port), for standbys a
   * published reader endpoint cannot name (a host, not a port): `{ '127.0.0.1:5432': ['127.0.0.1:5433'] }`. Applies
   * to the database and to every shard with that writer.
   * @default - the published readers
   */
  readonly readers?: Readonly<Record<string, readonly string[]>>;
  /** Options of the database, or `false` not to create one. @default - its defaults */
  readonly database?: false | Omit<DatabaseOptions, 'topology' | 'endpoints' | 'select' | 'readers'>;
  /** Options of the sharded database (on top of `database`'s), or `false` to ignore a shard map. @default - `database`'s */
  readonly shards?: false | Omit<ShardedDatabaseOptions, 'readers'>;
  /** Options of the cache client, or `false` not to connect to the cache. @default - its defaults */
  readonly cache?: false | RuntimeCacheOptions;
  /**
   * Options of the session store, or `false` for none.
   * @default - a store as {@link RuntimeSessionOptions} says on a web service; none on a worker (`S2M_ROLE=worker`:
   *   its fleet is not granted the sessions tier)
   */
  readonly sessions?: false | RuntimeSessionOptions<S>;
  /** Options of the deep health check (its paths come from the environment). @default - a 2 s budget */
  readonly health?: Omit<HealthCheckOptions, 'checks' | 'shallowPath' | 'deepPath'>;
  /** SQS client of the producers and the worker. @default - one per producer and worker, in the environment's region */
  readonly sqs?: SQSClient;
  /**
   * Signals that close the runtime (draining the HTTP server and the worker first; a second signal cuts the drains
   * short), or `false` to leave signals to you. After closing on a signal the process exits if anything else still
   * keeps it alive 2 s later.
   * @default ['SIGTERM', 'SIGINT']
   */
  readonly signals?: false | readonly NodeJS.Signals[];
  /**
   * Errors absorbed in the background (topology refreshes, idle connections, cache moves).
   * @default - one `console.warn` line each, from each part
   */
  readonly onError?: (error: Error) => void;
}

/** Options of {@link Runtime.runWorker}. */
export interface RunWorkerOptions extends Omit<QueueWorkerOptions, 'queueUrl' | 'handler' | 'sqs' | 'region'> {
  /** The queue's name in the config. @default - `S2M_SERVICE` (a worker fleet's queue) */
  readonly queue?: string;
  /**
   * How long a drain (SIGTERM: a scale-in, a refresh) lets jobs finish before handing them back.
   * @default - on a fleet, 5 s less than `S2M_STOP_TIMEOUT` (the fleet's drain timeout: a worker fleet's is its
   *   queue's visibility timeout, the longest a job may take), at least 1 s; else the worker's 25 s
   */
  readonly drainTimeoutMs?: number;
  /**
   * Run each job once per `<type>:<idempotencyKey>` (jobs whose producer set a key): a duplicate is deleted without
   * running; a job another worker is running right now (its lease held) is deferred, not failed: it comes back just
   * after the lease's remaining time (`stats().worker.deferred`, `idempotency.conflicts`). A handler must honour its
   * job's `signal`: one that runs on after its message was handed back (drain) or given up (`maxProcessingSeconds`)
   * keeps the lease, and every redelivery meanwhile is deferred again, each a receive towards `maxReceiveCount`.
   * `false` turns this off.
   * @default - on when there is a cache (the keys live there), with the helper's defaults
   */
  readonly idempotency?: false | IdempotencyOptions;
}

/** Counters of everything the runtime built (for logs and metrics). */
export interface RuntimeStats {
  /** The database, if created. */
  readonly database?: DatabaseStats;
  /** Each shard's database that was used, by id. */
  readonly shards?: Record<string, DatabaseStats>;
  /** The cache client. */
  readonly cache?: CacheClientStats;
  /** Each cache-aside, by namespace. */
  readonly cacheAside: Record<string, CacheAsideStats>;
  /** The sealed session store. */
  readonly sessions?: SealedSessionStats;
  /** Each queue producer, by queue name. */
  readonly queues: Record<string, QueueProducerStats>;
  /** The worker (summed over its queue URLs), with its idempotency counters. */
  readonly worker?: QueueWorkerStats & { readonly idempotency?: IdempotencyStats };
  /** The HTTP service. */
  readonly http?: HttpServiceStats;
  /** The topology loader. */
  readonly topology: { readonly loadedAt: number | undefined; readonly consecutiveFailures: number; readonly shardMapEpoch: number | undefined };
}

/** What the runtime chose for sessions, and why. */
export interface SessionStoreDecision {
  /** `sealed`, `cache`, or `none` (no store can be built). */
  readonly kind: 'sealed' | 'cache' | 'none';
  /** Why, in a sentence. */
  readonly reason: string;
}

/**
 * Which session store to build. Pure.
 *
 * @param topology - the topology (is `sessions/secret-arn` published?)
 * @param choice - the option
 * @param hasCache - whether there is a cache client
 * @returns the decision
 * @throws RangeError when `choice` insists on a store that cannot be built, or is not a choice
 */
export function chooseSessionStore(topology: Pick<Topology, 'sessions' | 'prefix'>, choice: SessionStoreChoice, hasCache: boolean): SessionStoreDecision {
  const sealed = topology.sessions !== undefined;
  const where = `${topology.prefix}/sessions/secret-arn`;
  switch (choice) {
    case 'sealed':
      if (!sealed) throw new RangeError(`createRuntime: sessions.store is "sealed" but ${where} is not published (got: nothing under ${topology.prefix}/sessions)`);
      return { kind: 'sealed', reason: 'asked for (sessions.store)' };
    case 'cache':
      if (!hasCache) throw new RangeError(`createRuntime: sessions.store is "cache" but there is no cache (nothing published under ${topology.prefix}/cache, or cache: false)`);
      return { kind: 'cache', reason: 'asked for (sessions.store)' };
    case 'auto':
      if (sealed) return { kind: 'sealed', reason: `${where} is published: sessions are sealed into the cookie, valid in every region` };
      if (hasCache) return { kind: 'cache', reason: `${where} is not published: sessions live in this region's cache` };
      return { kind: 'none', reason: `neither ${where} nor a cache is published` };
    default:
      throw new RangeError(`createRuntime: sessions.store must be "auto", "sealed" or "cache" (got: ${JSON.stringify(choice)})`);
  }
}

/**
 * The cache client's options for the published cache endpoints. Pure.
 *
 * @param cache - the topology's cache
 * @param extra - the password provider and further options
 * @returns the options
 */
export function cacheOptionsFromTopology(cache: CacheEndpoints, extra: Omit<CacheClientOptions, 'host' | 'port' | 'tls' | 'authMode' | 'username'> & { readonly tls?: CacheClientOptions['tls'] } = {}): CacheClientOptions {
  const { tls, ...rest } = extra;
  const parameters: CacheParameters = {
    [CACHE_KEYS.endpoint]: cache.endpoint,
    [CACHE_KEYS.port]: String(cache.port),
    [CACHE_KEYS.tls]: cache.tls ? 'required' : 'disabled',
    [CACHE_KEYS.authMode]: cache.authMode,
    ...(cache.username !== undefined ? { [CACHE_KEYS.username]: cache.username } : {}),
  };
  const options = cacheClientOptionsFromParameters(parameters, rest);
  // A private CA (or other TLS settings) only where the topology asks for TLS: the option never turns TLS off.
  return cache.tls && tls !== undefined && tls !== false ? { ...options, tls } : options;
}

/**
 * The `readers` of a database by its writer, from {@link RuntimeOptions.readers}. Pure.
 *
 * @param map - reader hosts by writer `host:port` (or `host`)
 * @returns a function of a cluster's endpoints, or `undefined` for an empty map
 * @throws RangeError naming the entry when a key or a reader is not `host` or `host:port`
 */
export function readersByWriter(map: Readonly<Record<string, readonly string[]>> | undefined): ((endpoints: DatabaseEndpoints) => readonly string[] | undefined) | undefined {
  if (map === undefined || Object.keys(map).length === 0) return undefined;
  const spec = /^[A-Za-z0-9.-]+(:\d{1,5})?$/;
  for (const [writer, readers] of Object.entries(map)) {
    if (!spec.test(writer)) throw new RangeError(`createRuntime: readers: a key must be a writer "host:port" or "host" (got: ${JSON.stringify(writer)})`);
    if (!Array.isArray(readers) || readers.length === 0 || readers.some((r) => typeof r !== 'string' || !spec.test(r))) {
      throw new RangeError(`createRuntime: readers[${JSON.stringify(writer)}] must be a non-empty list of "host:port" or "host" (got: ${JSON.stringify(readers)})`);
    }
  }
  return (e) => map[`${e.writer}:${e.port}`] ?? map[e.writer];
}

/** The queues the topology loader reads: the worker's own plus the ones named. Pure. */
export function queuesToRead(environment: Pick<RuntimeEnvironment, 'role' | 'service'>, named: readonly string[] | undefined): readonly string[] | undefined {
  const own = environment.role === 'worker' && environment.service ? [environment.service] : [];
  if (named === undefined && own.length === 0) return undefined;
  return [...new Set([...own, ...(named ?? [])])];
}

/** The tiers of the topology to read: those the options use (a worker keeps no sessions unless asked to). Pure. */
export function tiersToRead(environment: Pick<RuntimeEnvironment, 'role'>, options: { readonly cache?: false | object; readonly sessions?: false | object }): Array<'database' | 'cache' | 'sessions' | 'queues'> {
  const sessions = options.sessions === undefined ? environment.role !== 'worker' : options.sessions !== false;
  return ['database', ...(options.cache === false ? [] : ['cache' as const]), ...(sessions ? ['sessions' as const] : []), 'queues'];
}

/**
 * The configuration mistake that would otherwise surface only at the first query: IAM authentication is published
 * but no database user is known (`S2M_DATABASE_USER`). Pure.
 *
 * @throws EnvironmentError naming the parameter and the variable
 */
export function checkDatabaseIdentity(topology: Pick<Topology, 'database' | 'prefix'>, environment: Pick<RuntimeEnvironment, 'databaseUser'>, database: RuntimeOptions['database']): void {
  if (database === false || topology.database?.authentication !== 'iam') return;
  if (environment.databaseUser || database?.databaseUser || database?.credentials) return;
  throw new EnvironmentError(`${topology.prefix}/database/authentication is "iam" but ${ENV_VARS.databaseUser} is not set (neither ${ENV_FILE} nor the process environment gives the fleet's database user)`);
}

/** Same cluster (writer, port, database): a shard that is the unsharded database itself. */
function sameCluster(a: DatabaseEndpoints | undefined, b: DatabaseEndpoints | undefined): boolean {
  return a !== undefined && b !== undefined && a.writer === b.writer && a.port === b.port && a.databaseName === b.databaseName;
}

/**
 * What an application server uses, built from the published topology. Create it with {@link createRuntime}; see the
 * module documentation.
 */
export class Runtime<S = Record<string, unknown>> {
  /** The instance's environment (file, process environment, overrides). */
  public readonly environment: RuntimeEnvironment;
  /** The live topology (refreshing in the background). */
  public readonly topology: TopologyLoader;
  /** The deep health check, with the database, shard, cache and topology checks registered. */
  public readonly health: HealthCheck;
  /** Why the session store is the one it is (see {@link chooseSessionStore}). */
  public readonly sessionStore: SessionStoreDecision;

  private readonly options: RuntimeOptions<S>;
  private readonly report: (error: Error) => void;
  private readonly db: Database | undefined;
  private sharded: ShardedDatabase | undefined;
  private readonly cacheClient: CacheClient | undefined;
  private readonly store: SessionStore<S> | undefined;
  private readonly asides = new Map<string, CacheAside>();
  private readonly onces = new Map<string, Idempotency>();
  private readonly producers = new Map<string, QueueProducer>();
  private readonly closeHooks: Array<{ close: (fast: boolean) => Promise<unknown> }> = [];
  private readonly unsubscribe: Array<() => void> = [];
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private readonly shardChecks = new Set<string>();
  private readonly workerStats: { done: QueueWorkerStats[]; current: QueueWorker | undefined; once: Idempotency | undefined } = { done: [], current: undefined, once: undefined };
  private http: HttpService | undefined;
  private closing: Promise<void> | undefined;
  private markClosed!: () => void;

  /** Resolves once the runtime has closed (by `close()` or a signal): the moment to log final counters and exit. */
  public readonly closed = new Promise<void>((resolve) => {
    this.markClosed = resolve;
  });

  /** @internal use {@link createRuntime} */
  public constructor(init: {
    environment: RuntimeEnvironment;
    topology: TopologyLoader;
    options: RuntimeOptions<S>;
    cache: CacheClient | undefined;
  }) {
    const { environment, topology, options } = init;
    this.environment = environment;
    this.topology = topology;
    this.options = options;
    this.report = options.onError ?? ((e) => console.warn(`[runtime] ${e.message}`));
    this.cacheClient = init.cache;
    const current = topology.current;
    const readers = readersByWriter(options.readers);
    this.db = options.database !== false && current.database
      ? createDatabase(topology, {
        ...options.database,
        ...(readers ? { readers } : {}),
        ...(options.onError ? { onError: options.onError } : {}),
        // A write refused as read-only (or unreachable) after a failover or switchover: the region's writer, role and
        // write-forwarding changed; read them now rather than at the next periodic refresh.
        onWriterLost: (e) => { if (options.database) options.database.onWriterLost?.(e); this.refreshAfterWriterLost(); },
        onWriteUnavailable: (e) => { if (options.database) options.database.onWriteUnavailable?.(e); this.refreshAfterWriterLost(); },
      })
      : undefined;

    const noSessions = options.sessions === false ? 'sessions: false' : options.sessions === undefined && environment.role === 'worker' ? 'a worker keeps no sessions (pass sessions: {} for a store)' : undefined;
    this.sessionStore = noSessions !== undefined ? { kind: 'none', reason: noSessions } : chooseSessionStore(current, (options.sessions || {}).store ?? 'auto', this.cacheClient !== undefined);
    this.store = this.buildSessionStore();

    this.health = new HealthCheck({ ...options.health, shallowPath: environment.healthPath, deepPath: environment.deepHealthPath });
    if (this.db) for (const [name, check] of Object.entries(this.db.healthChecks())) this.health.add(name, check);
    this.syncShardChecks();
    if (this.cacheClient) {
      const cache = this.cacheClient;
      this.health.add('cache', { critical: true, run: async () => `${cache.endpoint} ${(await cache.ping()).toFixed(1)} ms` });
    }
    this.health.add('topology', {
      critical: false,
      run: async () => {
        const s = topology.status();
        if (s.consecutiveFailures > 0) throw new Error(`${s.consecutiveFailures} refresh(es) failed; serving the topology loaded at ${new Date(s.loadedAt ?? 0).toISOString()}: ${s.lastError?.message ?? ''}`);
        return `loaded ${new Date(s.loadedAt ?? 0).toISOString()}${s.shardMapEpoch !== undefined ? `, shard map epoch ${s.shardMapEpoch}` : ''}`;
      },
    });
    this.unsubscribe.push(topology.onChange((change) => this.onTopologyChange(change)));
    this.installSignals();
  }

  /**
   * The database (shard 0 of a sharded app): the read/write split with read-your-writes sessions.
   * @throws Error when nothing is published under `<prefix>/database` (or `database: false`)
   */
  public get database(): Database {
    if (this.db === undefined) throw new Error(`Runtime: no database: ${this.options.database === false ? 'database: false was given' : `nothing is published under ${this.topology.prefix}/database (or this fleet may not read it)`}`);
    return this.db;
  }

  /** The sharded database, when a shard map is published (created on first use); `undefined` otherwise. */
  public get shards(): ShardedDatabase | undefined {
    if (this.sharded === undefined && this.options.shards !== false && this.topology.current.shards !== undefined) {
      const readers = readersByWriter(this.options.readers);
      const { database, shards } = this.options;
      this.sharded = new ShardedDatabase(this.topology, {
        ...(database === false ? {} : database),
        ...shards,
        ...(readers ? { readers } : {}),
        ...(this.options.onError ? { onError: this.options.onError } : {}),
        // Shard 0 is the cluster `database` already has pools to: one set per process, not two.
        ...(this.db ? { database: this.db } : {}),
        // As for the database: a shard's writer moved (a failover, a switchover) or is unreachable; read the topology
        // now. `databaseFor(key)` writes through here, shard 0 included.
        onWriterLost: (e) => {
          (shards?.onWriterLost ?? (database ? database.onWriterLost : undefined))?.(e);
          this.refreshAfterWriterLost();
        },
        onWriteUnavailable: (e) => {
          (shards?.onWriteUnavailable ?? (database ? database.onWriteUnavailable : undefined))?.(e);
          this.refreshAfterWriterLost();
        },
      });
    }
    return this.sharded;
  }

  /**
   * The database holding `key`: its shard when a shard map is published, the database otherwise. Code written
   * against it runs unchanged when an app becomes sharded.
   *
   * @param key - the shard key (e.g. the user id)
   */
  public databaseFor(key: ShardKey): Database {
    return this.shards?.database(key) ?? this.database;
  }

  /**
   * A user's database session (their last writes), from the token kept in their session; one session covers the
   * database and every shard. Store `session.token()` again after writing.
   */
  public dbSession(token?: string | null): DbSession {
    return DbSession.fromToken(token, (this.options.database === false ? undefined : this.options.database?.sessionTtlMs) ?? RUNTIME_DEFAULTS.sessionTtlMs);
  }

  /**
   * The cache client (it follows a moved cache endpoint).
   * @throws Error when nothing is published under `<prefix>/cache` (or `cache: false`)
   */
  public get cache(): CacheClient {
    if (this.cacheClient === undefined) throw new Error(`Runtime: no cache: ${this.options.cache === false ? 'cache: false was given' : `nothing is published under ${this.topology.prefix}/cache (or this fleet may not read it)`}`);
    return this.cacheClient;
  }

  /**
   * A cache-aside over the cache, one per namespace (the first call's options win).
   *
   * @param namespace - key prefix, e.g. `catalog:`
   * @param options - see {@link CacheAsideOptions}
   */
  public cacheAside(namespace = '', options: Omit<CacheAsideOptions, 'namespace'> = {}): CacheAside {
    let aside = this.asides.get(namespace);
    if (aside === undefined) {
      aside = new CacheAside(this.cache, { ...options, namespace });
      this.asides.set(namespace, aside);
    }
    return aside;
  }

  /**
   * The session store (see {@link Runtime.sessionStore} for which, and why).
   * @throws Error when there is none
   */
  public get sessions(): SessionStore<S> {
    if (this.store === undefined) throw new Error(`Runtime: no session store: ${this.sessionStore.reason}`);
    return this.store;
  }

  /**
   * An idempotency helper on the cache, one per key prefix.
   *
   * @param options - see {@link IdempotencyOptions}
   */
  public idempotency(options: IdempotencyOptions = {}): Idempotency {
    const key = options.keyPrefix ?? '';
    let once = this.onces.get(key);
    if (once === undefined) {
      once = new Idempotency(this.cache, options);
      this.onces.set(key, once);
    }
    return once;
  }

  /**
   * A producer for a published queue (it follows a changed queue URL).
   *
   * @param name - the queue's name in the config (`<prefix>/queues/<name>`)
   * @throws Error when the topology has no such queue
   */
  public queue(name: string): QueueProducer {
    let producer = this.producers.get(name);
    if (producer === undefined) {
      this.queueUrl(name); // fails now, naming the queue, rather than at the first send
      const env = this.environment;
      producer = new QueueProducer({
        queueUrl: () => this.queueUrl(name),
        ...(env.service ? { producer: `${env.service}@${env.version ?? 'unknown'}` } : {}),
        ...(this.options.sqs ? { sqs: this.options.sqs } : { region: env.region }),
      });
      this.producers.set(name, producer);
    }
    return producer;
  }

  /**
   * Runs the queue worker of this fleet until the runtime closes (SIGTERM, or `close()`), then resolves with its
   * counters. The handler gets each message as a {@link Job} (its type, idempotency key and the producer's database
   * session read from the attributes); resolving deletes the message, throwing leaves it to a retry and, after the
   * queue's `maxReceiveCount`, the dead-letter queue. A new URL for the queue moves the worker to it (the old one
   * drains).
   *
   * @param handler - the job handler
   * @param options - see {@link RunWorkerOptions}
   * @throws Error when the queue is unknown, or when its attributes cannot be read at start
   */
  public async runWorker(handler: (job: Job) => void | Promise<void>, options: RunWorkerOptions = {}): Promise<QueueWorkerStats> {
    const name = options.queue ?? this.environment.service;
    if (!name) throw new Error('Runtime.runWorker: no queue: S2M_SERVICE (a worker fleet\'s queue) is not set; pass options.queue');
    if (this.workerStats.current) throw new Error('Runtime.runWorker: a worker is running already');
    const { queue: _queue, idempotency, ...rest } = options;
    const stop = this.environment.stopTimeoutSeconds;
    // Within the time systemd gives the process after SIGTERM, leaving 5 s to hand back what is unfinished and close.
    const workerOptions = rest.drainTimeoutMs === undefined && stop !== undefined ? { ...rest, drainTimeoutMs: Math.max(1, stop - 5) * 1_000 } : rest;
    // A worker in a Global Datastore's secondary region, whose cache takes no writes, must make progress: its keyed
    // jobs run unprotected there (reported), rather than fail into the dead-letter queue.
    const once = idempotency === false || this.cacheClient === undefined ? undefined
      : this.idempotency({ keyPrefix: `job:${name}:`, onReadOnly: 'proceed', onError: (e) => this.report(e), ...idempotency });
    this.workerStats.once = once;
    const ttl = (this.options.database === false ? undefined : this.options.database?.sessionTtlMs) ?? RUNTIME_DEFAULTS.sessionTtlMs;
    const wrapped = async (message: Parameters<QueueWorkerOptions['handler']>[0]): Promise<void> => {
      const job = jobOf(message, ttl);
      if (once === undefined || job.idempotencyKey === undefined) {
        await handler(job);
        return;
      }
      // A duplicate resolves (the message is deleted). A job running elsewhere is deferred, not failed: it comes back
      // just after the holder's lease ends (by then done, or free: a holder that was handed the message back at a drain
      // and ignored its signal keeps the lease until its process is gone), not a whole visibility timeout later.
      try {
        await once.run(jobWorkKey(job.type, job.idempotencyKey), ({ signal }) => handler({ ...job, signal: AbortSignal.any([job.signal, signal]) }));
      } catch (e) {
        if (!(e instanceof IdempotencyConflictError)) throw e;
        const delaySeconds = e.retryAfterMs === undefined ? undefined : Math.ceil(e.retryAfterMs / 1_000) + 1;
        throw new RetryLaterError(`job ${jobWorkKey(job.type, job.idempotencyKey)} is being worked on elsewhere`, { ...(delaySeconds !== undefined ? { delaySeconds } : {}), cause: e });
      }
    };
    const sqs = this.options.sqs ?? new (await import('@aws-sdk/client-sqs')).SQSClient(sqsClientConfig(this.environment.region));
    const start = async (queueUrl: string): Promise<QueueWorker> => {
      const worker = new QueueWorker({ ...workerOptions, queueUrl, handler: wrapped, sqs });
      await worker.start();
      return worker;
    };
    if (this.closing) throw new Error('Runtime.runWorker: the runtime is closing');
    let url = this.queueUrl(name);
    let worker = await start(url);
    this.workerStats.current = worker;
    let moving = Promise.resolve();
    let stopping: Promise<void> | undefined;
    const stopped = new Promise<QueueWorkerStats>((resolve) => {
      this.closeHooks.push({
        close: (fast) => {
          if (stopping) {
            if (fast) void worker.stop({ timeoutMs: 0 }); // a second signal: hand back what is left now
            return stopping;
          }
          stopping = (async () => {
            await moving;
            const stats = await worker.stop(fast ? { timeoutMs: 0 } : {});
            this.workerStats.done.push(stats);
            this.workerStats.current = undefined;
            if (this.options.sqs === undefined) sqs.destroy();
            resolve(this.sumWorkerStats());
          })();
          return stopping;
        },
      });
    });
    // A close (SIGTERM) that came while the worker started ran the close hooks before this one existed, and went on to
    // close the database and the cache: stop the worker now, handing back anything it received, so it does not run
    // jobs against closed clients until the process exits (and the returned promise settles).
    if (this.closing) void this.closeHooks[this.closeHooks.length - 1].close(true);
    // A new URL for the queue (it was replaced): start on the new one, then drain the old.
    this.unsubscribe.push(this.topology.onChange((change) => {
      if (change.kind !== 'queues' || this.closing) return;
      const next = change.topology.queues[name]?.url;
      if (next === undefined || next === url) return;
      url = next;
      moving = moving.then(async () => {
        const old = worker;
        try {
          worker = await start(next);
          this.workerStats.current = worker;
          this.workerStats.done.push(await old.stop());
        } catch (e) {
          this.report(new Error(`the worker could not move to the new URL of queue ${name} (${next}); it stays on the old one: ${toError(e).message}`, { cause: e }));
        }
      });
    }));
    return stopped;
  }

  /**
   * Serves `handler` over HTTP on `S2M_PORT` (see {@link serveHttp}): the health paths first, a keep-alive timeout
   * above the load balancer's idle timeout (`S2M_LOAD_BALANCER_IDLE_TIMEOUT`), errors mapped to status codes, and a
   * drain before the runtime closes.
   *
   * @param handler - the application
   * @param options - see {@link ServeOptions}
   * @returns the service, listening
   */
  public async serve(handler: RequestHandler, options: ServeOptions = {}): Promise<HttpService> {
    if (this.http) throw new Error('Runtime.serve: already serving');
    const idle = this.environment.loadBalancerIdleTimeoutSeconds;
    const stop = this.environment.stopTimeoutSeconds;
    const service = await serveHttp(handler, {
      port: this.environment.port ?? 8080,
      // Keep connections open longer than the load balancer does (the fleet publishes its idle timeout).
      ...(idle !== undefined ? { loadBalancerIdleTimeoutMs: idle * 1_000 } : {}),
      // In-flight requests may finish within the time systemd gives the process after SIGTERM, less 5 s to close.
      ...(stop !== undefined ? { drainTimeoutMs: Math.max(1, stop - 5) * 1_000 } : {}),
      ...options,
      health: this.health,
    });
    this.http = service;
    this.closeHooks.push({ close: (fast) => service.close(fast ? { timeoutMs: 0 } : {}) });
    return service;
  }

  /** A request handler for the health paths (`S2M_HEALTH_PATH`, `S2M_DEEP_HEALTH_PATH`): returns false for others. */
  public healthHandler(): ReturnType<HealthCheck['handler']> {
    return this.health.handler();
  }

  /**
   * Runs `close` when the runtime closes, before the database and cache close (your own server, a consumer).
   * @param close - called with `fast` true after a second signal
   */
  public onClose(close: (fast: boolean) => Promise<unknown> | void): void {
    this.closeHooks.push({ close: async (fast) => close(fast) });
  }

  /** Counters of every part (publish them as metrics, or log them at exit). */
  public stats(): RuntimeStats {
    const status = this.topology.status();
    const worker = this.workerStats.current || this.workerStats.done.length > 0 ? this.sumWorkerStats() : undefined;
    return {
      ...(this.db ? { database: this.db.stats() } : {}),
      ...(this.sharded ? { shards: this.sharded.stats() } : {}),
      ...(this.cacheClient ? { cache: this.cacheClient.stats() } : {}),
      cacheAside: Object.fromEntries([...this.asides].map(([ns, a]) => [ns, a.stats()])),
      ...(this.store instanceof SealedSessionStore ? { sessions: this.store.stats() } : {}),
      queues: Object.fromEntries([...this.producers].map(([name, p]) => [name, p.stats()])),
      ...(worker ? { worker: { ...worker, ...(this.workerStats.once ? { idempotency: this.workerStats.once.stats() } : {}) } } : {}),
      ...(this.http ? { http: this.http.stats() } : {}),
      topology: { loadedAt: status.loadedAt, consecutiveFailures: status.consecutiveFailures, shardMapEpoch: status.shardMapEpoch },
    };
  }

  /**
   * Closes everything: first the HTTP server and the worker drain (they still use the database and the cache), then
   * the topology refresh stops and the database, shards, cache and SQS clients close. Idempotent.
   */
  public close(): Promise<void> {
    this.closing ??= this.shutDown(false).finally(() => this.markClosed());
    return this.closing;
  }

  private async shutDown(fast: boolean): Promise<void> {
    this.removeSignals();
    await Promise.allSettled(this.closeHooks.map((h) => h.close(fast)));
    for (const u of this.unsubscribe.splice(0)) u();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.writerRefresh.stop();
    this.topology.stop();
    await Promise.allSettled([this.db?.close(), this.sharded?.close(), this.cacheClient?.close()]);
    for (const p of this.producers.values()) p.destroy();
  }

  private installSignals(): void {
    const signals = this.options.signals === false ? [] : this.options.signals ?? RUNTIME_DEFAULTS.signals;
    if (signals.length === 0) return;
    let received = 0;
    const handler = (): void => {
      received++;
      if (received > 1) {
        // A second signal: cut the drains short.
        for (const h of this.closeHooks) void h.close(true).catch(() => undefined);
        return;
      }
      // On a fleet, systemd kills the process S2M_STOP_TIMEOUT after the signal: exit a second before, whatever is
      // still closing (a pool waiting for a statement on a database that stopped answering), so the exit is the
      // process's own and its last lines are written.
      const stop = this.environment.stopTimeoutSeconds;
      const deadlineAt = stop === undefined ? undefined : Date.now() + Math.max(0, stop - 1) * 1_000;
      const deadline = deadlineAt === undefined ? undefined : setTimeout(() => {
        this.report(new Error(`shutdown did not finish within S2M_STOP_TIMEOUT (${stop} s) less 1 s: exiting before systemd kills the process`));
        process.exit(process.exitCode ?? 1);
      }, deadlineAt - Date.now());
      deadline?.unref();
      void this.close().finally(() => {
        clearTimeout(deadline);
        // Exit even if something of the application's keeps the event loop alive (an unref'd timer does not), by the
        // deadline at the latest: shutdown did finish.
        const wait = Math.min(RUNTIME_DEFAULTS.exitAfterSignalMs, deadlineAt === undefined ? Number.POSITIVE_INFINITY : Math.max(0, deadlineAt - Date.now()));
        setTimeout(() => process.exit(process.exitCode ?? 0), wait).unref();
      });
    };
    for (const s of signals) process.on(s, handler);
    this.removeSignals = () => {
      for (const s of signals) process.off(s, handler);
      this.removeSignals = () => undefined;
    };
  }

  private removeSignals: () => void = () => undefined;

  private queueUrl(name: string): string {
    const q = this.topology.current.queues[name];
    if (q === undefined) {
      throw new Error(`Runtime: no queue "${name}" under ${this.topology.prefix}/queues (published: ${Object.keys(this.topology.current.queues).join(', ') || 'none'}): is it in the config, and may this fleet read ${this.topology.prefix}/queues/${name}? (createRuntime({ queues: ['${name}'] }))`);
    }
    return q.url;
  }

  private sumWorkerStats(): QueueWorkerStats {
    const all = [...this.workerStats.done, ...(this.workerStats.current ? [this.workerStats.current.stats()] : [])];
    const sum = (pick: (s: QueueWorkerStats) => number): number => all.reduce((n, s) => n + pick(s), 0);
    return {
      received: sum((s) => s.received), succeeded: sum((s) => s.succeeded), failed: sum((s) => s.failed), overruns: sum((s) => s.overruns),
      deferred: sum((s) => s.deferred), deleted: sum((s) => s.deleted),
      deleteFailures: sum((s) => s.deleteFailures), deleteCalls: sum((s) => s.deleteCalls), handedBack: sum((s) => s.handedBack),
      extended: sum((s) => s.extended), extendFailures: sum((s) => s.extendFailures), receiveErrors: sum((s) => s.receiveErrors),
      emptyReceives: sum((s) => s.emptyReceives), inFlight: sum((s) => s.inFlight), maxInFlight: Math.max(0, ...all.map((s) => s.maxInFlight)),
      protection: { set: sum((s) => s.protection.set), lifted: sum((s) => s.protection.lifted), failures: sum((s) => s.protection.failures) },
    };
  }

  private buildSessionStore(): SessionStore<S> | undefined {
    if (this.sessionStore.kind === 'none') return undefined;
    const o = this.options.sessions || {};
    const timeouts = {
      ...(o.idleTimeoutSeconds !== undefined ? { idleTimeoutSeconds: o.idleTimeoutSeconds } : {}),
      ...(o.absoluteTimeoutSeconds !== undefined ? { absoluteTimeoutSeconds: o.absoluteTimeoutSeconds } : {}),
    };
    if (this.sessionStore.kind === 'cache') return new CacheSessionStore<S>(this.cacheClient!, { ...o.cache, ...timeouts });
    if (this.sessionStore.kind !== 'sealed') return undefined;
    // The ARN is read at each refresh of the keys, so a new secret published under sessions/secret-arn is followed.
    const readers = new Map<string, () => Promise<SecretVersions>>();
    const initial = this.topology.current.sessions!.secretArn;
    const sm = this.options.topology?.secretsManager;
    const secrets = (): Promise<SecretVersions> => {
      const arn = this.topology.current.sessions?.secretArn ?? initial;
      let read = readers.get(arn);
      if (read === undefined) {
        read = secretsManagerSecretVersions({ secretId: arn, ...(sm ? { client: sm } : { region: this.environment.region }) });
        readers.set(arn, read);
      }
      return read();
    };
    return new SealedSessionStore<S>({ ...o.sealed, ...timeouts, secrets });
  }

  /** Health checks of each shard that is not the database itself (`database.<id>.writer`, `.reader`). */
  private syncShardChecks(): void {
    for (const name of this.shardChecks) this.health.remove(name);
    this.shardChecks.clear();
    const shards = this.shards;
    if (shards === undefined) return;
    const main = this.topology.current.database;
    for (const [id, endpoints] of this.topology.current.shards?.shards ?? []) {
      if (this.db !== undefined && sameCluster(endpoints, main)) continue; // checked as `database.*` already
      for (const [name, check] of Object.entries(shards.databaseById(id).healthChecks(`database.${id}`))) {
        this.health.add(name, check as HealthCheckDefinition);
        this.shardChecks.add(name);
      }
    }
  }

  private onTopologyChange(change: TopologyChange): void {
    if (this.closing) return;
    if (change.kind === 'shards') {
      try {
        this.syncShardChecks();
      } catch (e) {
        this.report(new Error(`could not update the shard health checks after a shard-map change: ${toError(e).message}`, { cause: e }));
      }
    }
    if (change.kind === 'cache' && this.cacheClient) this.retargetCache(change.topology.cache, 0);
  }

  /**
   * Reads the database tier again after lost writes: at once for the first, then at most once every 5 to 10 s (a
   * random spread, so that the processes of a fleet whose writes all fail during a switchover do not read in step; a
   * burst of failing writes asks once). A write lost inside a spacing is answered by one read at its end: the read it
   * follows may have started just before `s2m evacuate` republished the tier, and without it the process would keep
   * the stale topology until its next write after the spacing, or the 5-minute refresh. Only the database tier: the
   * writer, role and forwarding are what moved.
   */
  private readonly writerRefresh = new SpacedTrigger({
    minSpacingMs: 5_000,
    spreadMs: 5_000,
    clock: systemClock,
    random: Math.random,
    run: () => this.topology.refreshDatabase(),
    onError: (e) => this.report(new Error(`topology refresh after a lost write failed: ${e.message}`, { cause: e })),
  });

  private refreshAfterWriterLost(): void {
    if (this.closing) return;
    this.writerRefresh.request();
  }

  /** Moves the cache client to the endpoints now published; retried while they stay the same. */
  private retargetCache(cache: CacheEndpoints | undefined, attempt: number): void {
    if (cache === undefined) {
      this.report(new Error(`nothing is published under ${this.topology.prefix}/cache any more: the cache client stays on ${this.cacheClient!.endpoint}`));
      return;
    }
    const options = cacheOptionsFromTopology(cache, {
      ...cacheExtras(this.options.cache),
      password: this.cachePassword(),
      ...(this.options.onError ? { onError: this.options.onError } : {}),
      connectionName: cacheConnectionName(this.options.cache, this.environment),
    });
    this.cacheClient!.retarget(options, cacheReadyTimeout(this.options.cache)).catch((e: unknown) => {
      if (e instanceof CacheRetargetSupersededError) return; // a later change moved the client (or is moving it)
      if (this.closing || JSON.stringify(this.topology.current.cache) !== JSON.stringify(cache)) return; // superseded
      this.report(new Error(`the cache moved to ${cache.endpoint}:${cache.port} but the client could not connect there (attempt ${attempt + 1}; it stays on ${this.cacheClient!.endpoint} and retries in ${RUNTIME_DEFAULTS.cacheRetargetRetryMs / 1000} s): ${toError(e).message}`, { cause: e }));
      const t = setTimeout(() => {
        this.timers.delete(t);
        if (!this.closing && JSON.stringify(this.topology.current.cache) === JSON.stringify(cache)) this.retargetCache(cache, attempt + 1);
      }, RUNTIME_DEFAULTS.cacheRetargetRetryMs);
      t.unref();
      this.timers.add(t);
    });
  }

  private cachePassword(): SecretProvider | undefined {
    return cachePasswordProvider(this.topology);
  }
}

function cacheExtras(o: RuntimeOptions['cache']): Omit<CacheClientOptions, 'host' | 'port' | 'authMode' | 'username' | 'password'> {
  if (o === undefined || o === false) return {};
  const { readyTimeoutMs: _ready, ...rest } = o;
  return rest;
}

/** The name the cache connections show in `CLIENT LIST`: the option, else `<service>@<version>` (also after a move). */
function cacheConnectionName(o: RuntimeOptions['cache'], environment: Pick<RuntimeEnvironment, 'service' | 'version'>): string {
  return (o === undefined || o === false ? undefined : o.connectionName) ?? `${environment.service ?? 'app'}@${environment.version ?? 'unknown'}`;
}

function cacheReadyTimeout(o: RuntimeOptions['cache']): number {
  return (o === false ? undefined : o?.readyTimeoutMs) ?? RUNTIME_DEFAULTS.cacheReadyTimeoutMs;
}

/**
 * The cache password from the secret the topology names (`cache/secret-arn`, JSON `password`): the value the
 * topology holds at the first call, read again at every later call (the client calls again only after the server
 * refused the password, or to connect to a moved endpoint). `undefined` when no secret is published.
 */
export function cachePasswordProvider(topology: Pick<TopologyLoader, 'current' | 'secret' | 'refreshSecret'>): SecretProvider | undefined {
  if (topology.current.cache?.secretArn === undefined) return undefined;
  let calls = 0;
  return async () => {
    const arn = topology.current.cache?.secretArn;
    if (arn === undefined) throw new SecretReadError('cache/secret-arn is no longer published');
    const value = calls++ === 0 ? topology.secret(arn) ?? (await topology.refreshSecret(arn)) : await topology.refreshSecret(arn);
    const password = value.json?.['password'];
    if (typeof password !== 'string' || password === '') {
      throw new SecretReadError(`secret ${arn} (cache/secret-arn): expected JSON with a string "password" (got: ${value.json ? `keys ${Object.keys(value.json).join(', ') || 'none'}` : 'a value that is not a JSON object'})`);
    }
    return password;
  };
}

/**
 * Builds the runtime: reads the environment, loads the topology (failing if it cannot: nothing works without it),
 * connects the cache (waiting up to `cache.readyTimeoutMs`, then carrying on while it keeps connecting), and creates
 * the rest lazily or without connecting (database pools open on first use). See the module documentation.
 *
 * @param options - see {@link RuntimeOptions}
 * @returns the runtime
 * @throws EnvironmentError for an incomplete environment; TopologyError (or the SSM error) when the topology cannot
 *   be loaded; RangeError for invalid options
 */
export async function createRuntime<S = Record<string, unknown>>(options: RuntimeOptions<S> = {}): Promise<Runtime<S>> {
  const environment = readEnvironment({
    ...(options.environmentFile !== undefined ? { file: options.environmentFile } : {}),
    ...(options.environment ? { overrides: options.environment } : {}),
  });
  readersByWriter(options.readers); // invalid entries fail before anything connects
  const queues = queuesToRead(environment, options.queues);
  const topology = await loadTopology({
    ...options.topology,
    environment,
    tiers: tiersToRead(environment, options),
    ...(queues ? { queues } : {}),
    ...(options.onError && !options.topology?.onError ? { onError: options.onError } : {}),
  });
  let cache: CacheClient | undefined;
  try {
    checkDatabaseIdentity(topology.current, environment, options.database);
    const published = topology.current.cache;
    if (published && options.cache !== false) {
      const clientOptions = cacheOptionsFromTopology(published, {
        ...cacheExtras(options.cache),
        ...(() => {
          const password = cachePasswordProvider(topology);
          return password ? { password } : {};
        })(),
        ...(options.onError ? { onError: options.onError } : {}),
        connectionName: cacheConnectionName(options.cache, environment),
      });
      cache = await CacheClient.create(clientOptions);
      await cache.ready(cacheReadyTimeout(options.cache)).catch((e: unknown) => {
        (options.onError ?? ((err: Error) => console.warn(`[runtime] ${err.message}`)))(new Error(`starting without a ready cache (it keeps connecting; cache-aside reads go to the database meanwhile): ${toError(e).message}`, { cause: e }));
      });
    }
    return new Runtime<S>({ environment, topology, options, cache });
  } catch (e) {
    topology.stop();
    cache?.disconnect();
    throw e;
  }
}
