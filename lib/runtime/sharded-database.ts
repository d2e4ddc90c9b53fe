/**
 * The {@link Database} API keyed by a shard key: each call is routed by the `ShardRouter` of the published shard
 * map to that shard's database. A reshard (a new map epoch) moves routing on the next call, without a restart.
 *
 * ```ts
 * const shards = createShardedDatabase(topology);
 * const session = shards.session(req.session.db);
 * await shards.write(userId, 'INSERT INTO orders (id, user_id) VALUES ($1, $2)', [orderId, userId], { session });
 * const { rows } = await shards.read(userId, 'SELECT * FROM orders WHERE user_id = $1', [userId], { session });
 * ```
 *
 * Not to be confused with the construct of the same name in `scale-to-millions` (which provisions the shards):
 * this one runs on the application servers.
 *
 * @module
 */

import { Database, type DatabaseOptions, type DatabaseStats, type DbResult, type Queryable, type ReadOptions, type TransactionOptions, type WriteOptions } from './database';
import type { ShardKey } from './hash';
import type { HealthCheckDefinition } from './health';
import { DbSession } from './replication';
import type { ShardRouter } from './shard-router';
import type { DatabaseEndpoints, ShardEndpoints, TopologyChange, TopologyLoader } from './topology';

/** Options of {@link ShardedDatabase}: those of each shard's {@link Database}. */
export interface ShardedDatabaseOptions extends Omit<DatabaseOptions, 'topology' | 'endpoints' | 'select' | 'readers'> {
  /**
   * Reader hosts (`host` or `host:port`) of a shard instead of its published reader endpoint (local standbys on
   * other ports), asked at every pool rebuild of that shard; `undefined` means the published reader.
   * @default - each shard's published reader
   */
  readonly readers?: (shard: ShardEndpoints) => readonly string[] | undefined;
  /**
   * A {@link Database} already open on the cluster published under `<prefix>/database`, used for the shard whose
   * endpoints are that cluster's (shard 0, with nothing published under its own `shards/<id>`) instead of a second set
   * of pools to the same writer: on a forwarding secondary each pool holds forwarded sessions the writer counts
   * (`forwarding-pool-max`). Not closed by {@link ShardedDatabase.close}. `createRuntime` passes its `database`.
   * @default - every shard gets a database of its own
   */
  readonly database?: Database;
  /**
   * Refuse to route by a shard map not confirmed for this long (ms): every call routed by a key (`read`, `write`,
   * `transaction`, `database(key)`) and `fanOut` throws a {@link StaleShardMapRoutingError} when the last successful
   * read of the map started more than `maxShardMapAgeMs` ago (`TopologyLoader.shardMapAgeMs`). Without it a process
   * whose refreshes fail routes with its last good map for as long as they fail, and a reshard's clean-up has to
   * wait until every such process is found. With it, no call routed by a map older than the one published at `t`
   * starts after `t + maxShardMapAgeMs`. Set it above the shard-map refresh interval plus its jitter and a few failed
   * reads' worth of slack (60 s ±10 % by default: e.g. 300 000), or calls fail between two successful refreshes.
   * @default - no limit: the last good map routes however old it is
   */
  readonly maxShardMapAgeMs?: number;
}

/** A call was refused: the shard map in use was last confirmed longer ago than `maxShardMapAgeMs`. */
export class StaleShardMapRoutingError extends Error {
  /** Epoch of the map in use. */
  public readonly epoch: number;
  /** Time since the last successful read of the map started, ms. */
  public readonly ageMs: number | undefined;

  /**
   * @param epoch - epoch of the map in use
   * @param ageMs - its age
   * @param maxAgeMs - the limit
   */
  public constructor(epoch: number, ageMs: number | undefined, maxAgeMs: number) {
    super(`ShardedDatabase: the shard map in use (epoch ${epoch}) was ${ageMs === undefined ? 'never confirmed by a read' : ageMs === Number.POSITIVE_INFINITY ? 'replaced by a newer one the topology could not be built with (see the topology errors)' : `last confirmed ${Math.round(ageMs)} ms ago`}, more than maxShardMapAgeMs (${maxAgeMs} ms); refusing to route by it (a newer map may send this key elsewhere). Is Parameter Store reachable?`);
    this.name = 'StaleShardMapRoutingError';
    this.epoch = epoch;
    this.ageMs = ageMs;
  }
}

/** Options of {@link ShardedDatabase.fanOut}. */
export interface FanOutOptions<R = Record<string, unknown>> extends ReadOptions {
  /** Shards queried at once. @default 4 */
  readonly concurrency?: number;
  /** Only these shards. @default - every shard in the map */
  readonly shardIds?: readonly string[];
  /**
   * The shard key of a returned row. Given, a shard's rows whose key the map in use places on another shard are
   * dropped: during a reshard the moved rows are on both their old shard (until the clean-up deletes them) and their
   * new one, and a fan-out without it returns them twice (from the old copy, possibly stale). Aggregates
   * (`count(*)`) cannot be filtered this way: select the keys, or filter in SQL.
   * @default - every row of every shard, moved copies included
   */
  readonly keyOf?: (row: R) => ShardKey;
}

/** What {@link ShardedDatabase.fanOut} returns: every shard's rows or its error; it never throws for one shard. */
export interface FanOutResult<R> {
  /** Shards that answered, in map order. */
  readonly results: ReadonlyArray<{ readonly shardId: string; readonly rows: R[] }>;
  /** Shards that failed, with their error. */
  readonly errors: ReadonlyArray<{ readonly shardId: string; readonly error: Error }>;
  /** The map epoch the fan-out used. */
  readonly epoch: number;
}

/** Routes every call by a shard key to one shard's {@link Database}. */
export class ShardedDatabase {
  private readonly topology: TopologyLoader;
  private readonly options: ShardedDatabaseOptions;
  private readonly databases = new Map<string, Database>();
  /** Shards served by {@link ShardedDatabaseOptions.database} (not this object's to close). */
  private readonly borrowed = new Set<string>();
  private readonly unsubscribe: () => void;
  private closed = false;

  /**
   * @param topology - the loader; its shard map routes the keys
   * @param options - applied to every shard's database
   * @throws Error when the topology has no shard map
   */
  public constructor(topology: TopologyLoader, options: ShardedDatabaseOptions = {}) {
    if (topology.current.shards === undefined) {
      throw new Error(`ShardedDatabase: no shard map is published under ${topology.prefix}/database/shard-map; use Database for an unsharded app`);
    }
    const maxAge = options.maxShardMapAgeMs;
    if (maxAge !== undefined && !(Number.isFinite(maxAge) && maxAge > 0)) {
      throw new RangeError(`ShardedDatabase: maxShardMapAgeMs must be a positive number of milliseconds (got: ${maxAge})`);
    }
    this.topology = topology;
    this.options = options;
    this.unsubscribe = topology.onChange((c) => this.onChange(c));
  }

  /** The router of the map in use. */
  public get router(): ShardRouter {
    return this.topology.current.shards!.router;
  }

  /** The map's epoch in use. */
  public get epoch(): number {
    return this.router.epoch;
  }

  /** The id of the shard holding `key`. */
  public shardFor(key: ShardKey): string {
    return this.router.shardFor(key).id;
  }

  /**
   * The database of the shard holding `key`.
   * @throws StaleShardMapRoutingError when the map is older than `maxShardMapAgeMs`
   */
  public database(key: ShardKey): Database {
    this.checkMapAge();
    return this.databaseById(this.shardFor(key));
  }

  /**
   * The database of a shard by id.
   * @throws Error for an id that is not in the map
   */
  public databaseById(id: string): Database {
    let db = this.databases.get(id);
    if (db === undefined) {
      if (this.closed) throw new Error('ShardedDatabase: closed');
      if (!this.topology.current.shards!.shards.has(id)) throw new Error(`ShardedDatabase: no shard "${id}" in the shard map (epoch ${this.epoch}: ${[...this.topology.current.shards!.shards.keys()].join(', ')})`);
      if (this.isDatabaseCluster(id)) {
        this.databases.set(id, this.options.database!);
        this.borrowed.add(id);
        return this.options.database!;
      }
      const { readers, database: _database, ...options } = this.options;
      db = new Database({
        ...options,
        topology: this.topology,
        select: (t) => t.shards?.shards.get(id),
        ...(readers ? { readers: (e: DatabaseEndpoints) => readers(e as ShardEndpoints) } : {}),
      });
      this.databases.set(id, db);
    }
    return db;
  }

  /** A session for one user's request (one session covers every shard). */
  public session(token?: string | null): DbSession {
    return DbSession.fromToken(token, this.options.sessionTtlMs ?? 600_000);
  }

  /** {@link Database.read} on the shard holding `key` (a key that cannot be routed rejects, never throws). */
  public async read<R = Record<string, unknown>>(key: ShardKey, sql: string, params?: readonly unknown[], options?: ReadOptions): Promise<DbResult<R>> {
    return this.database(key).read<R>(sql, params, options);
  }

  /** {@link Database.write} on the shard holding `key`. */
  public async write<R = Record<string, unknown>>(key: ShardKey, sql: string, params?: readonly unknown[], options?: WriteOptions): Promise<DbResult<R>> {
    return this.database(key).write<R>(sql, params, options);
  }

  /** {@link Database.transaction} on the shard holding `key` (a transaction never spans shards). */
  public async transaction<T>(key: ShardKey, fn: (tx: Queryable) => Promise<T>, options?: TransactionOptions): Promise<T> {
    return this.database(key).transaction(fn, options);
  }

  /**
   * Runs one read on every shard (the rare cross-shard query: a report, an admin search). It costs one query per
   * shard, its latency is the slowest shard's, and its load grows with the shard count: keep it off the hot
   * path, and prefer a key that routes. At most `concurrency` shards are queried at once; a shard's failure is
   * reported in `errors`, not thrown.
   *
   * @param sql - the read
   * @param params - its parameters
   * @param options - consistency, session, concurrency, shard subset, keyOf (each row once during a reshard)
   */
  public async fanOut<R = Record<string, unknown>>(sql: string, params: readonly unknown[] = [], options: FanOutOptions<R> = {}): Promise<FanOutResult<R>> {
    const concurrency = options.concurrency ?? 4;
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`ShardedDatabase.fanOut: concurrency must be an integer >= 1 (got: ${concurrency})`);
    this.checkMapAge();
    const router = this.router;
    const ids = options.shardIds ?? router.shards.map((s) => s.id);
    const out: Array<{ shardId: string; rows?: R[]; error?: Error }> = ids.map((shardId) => ({ shardId }));
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < ids.length) {
        const slot = out[next++]!;
        try {
          const { rows } = await this.databaseById(slot.shardId).read<R>(sql, params, options);
          const keyOf = options.keyOf;
          // The map this fan-out reports (not one installed meanwhile) decides which copy of a moved row counts.
          slot.rows = keyOf === undefined ? rows : rows.filter((row) => router.shardFor(keyOf(row)).id === slot.shardId);
        } catch (e) {
          slot.error = e instanceof Error ? e : new Error(String(e));
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, ids.length) }, worker));
    return {
      results: out.filter((o) => o.rows !== undefined).map((o) => ({ shardId: o.shardId, rows: o.rows! })),
      errors: out.filter((o) => o.error !== undefined).map((o) => ({ shardId: o.shardId, error: o.error! })),
      epoch: router.epoch,
    };
  }

  /** Each shard's counters, by id (shards not used yet are absent). */
  public stats(): Record<string, DatabaseStats> {
    return Object.fromEntries([...this.databases].map(([id, db]) => [id, db.stats()]));
  }

  /** Health checks of every shard in the map (`database.<id>.writer`, `database.<id>.reader`). */
  public healthChecks(): Record<string, HealthCheckDefinition> {
    return Object.assign({}, ...this.router.shards.map((s) => this.databaseById(s.id).healthChecks(`database.${s.id}`))) as Record<string, HealthCheckDefinition>;
  }

  /** Closes every shard's pools (their counters stay readable through `stats()`). */
  public async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe();
    await Promise.all([...this.databases].filter(([id]) => !this.borrowed.has(id)).map(([, db]) => db.close()));
  }

  private checkMapAge(): void {
    const max = this.options.maxShardMapAgeMs;
    if (max === undefined) return;
    const age = this.topology.shardMapAgeMs();
    if (age === undefined || age > max) throw new StaleShardMapRoutingError(this.epoch, age, max);
  }

  /** Whether shard `id`'s endpoints are those published under `database/` (and a database for them was given). */
  private isDatabaseCluster(id: string): boolean {
    const t = this.topology.current;
    const shard = t.shards?.shards.get(id);
    return this.options.database !== undefined && shard !== undefined && t.database !== undefined && shard.source === t.database.source;
  }

  private onChange(change: TopologyChange): void {
    if (change.kind !== 'shards') return;
    const listed = change.topology.shards?.shards;
    for (const [id, db] of this.databases) {
      if (this.borrowed.has(id)) {
        // The shard got endpoints of its own (or left the map): the next call opens a database for it (or fails).
        if (!this.isDatabaseCluster(id)) {
          this.databases.delete(id);
          this.borrowed.delete(id);
        }
        continue;
      }
      if (listed?.has(id)) continue;
      // Out of the map: no new call routes here; requests in flight finish before the pools close.
      this.databases.delete(id);
      const t = setTimeout(() => void db.close(), this.options.drainDelayMs ?? 5000);
      t.unref();
    }
  }
}

/**
 * The sharded database of a topology.
 *
 * @param topology - the loader (see `loadTopology`)
 * @param options - applied to every shard's database
 */
export function createShardedDatabase(topology: TopologyLoader, options: ShardedDatabaseOptions = {}): ShardedDatabase {
  return new ShardedDatabase(topology, options);
}
