/**
 * Cache-aside reads with stampede protection.
 *
 * ```ts
 * const catalog = new CacheAside(cache, { namespace: 'catalog:' });
 * const product = await catalog.getOrLoad(`product:${id}`, 300, () => db.read('SELECT ... WHERE id = $1', [id]));
 * // after a write: await catalog.delete(`product:${id}`);
 * ```
 *
 * `getOrLoad(key, ttlSeconds, loader)`:
 *
 * 1. `GET` the key: a hit is deserialised and returned (one round trip, nothing else).
 * 2. On a miss, concurrent callers in this process share one load (single-flight).
 * 3. Across processes, the loading caller takes a short lock (`SET <key>:lock NX PX`, in the key's hash slot, in
 *    the same script that re-checks the value). Callers elsewhere that find the lock taken poll the value with a
 *    growing interval for at most `lockWaitMs`, then load by themselves: a lock holder that died or hangs delays
 *    them, it never blocks them.
 * 4. The loaded value is stored with the TTL shortened by a random jitter (so keys loaded together do not all
 *    expire together), and the lock is released only by its holder.
 *
 * `delete(key)` after a write leaves a marker for `invalidationHoldOffMs` (default 2 s) instead of nothing: a value
 * loaded while it is there (from a replica that has not applied the write yet, or by a load that read before the
 * write) is returned and cached only until the marker would have expired, then loaded again. Without it, that value
 * would be served for its whole TTL.
 *
 * A cache that is down, slow or not yet connected never fails `getOrLoad`: it calls the loader instead (still one
 * load per key per process), counts it, and after `breakerThreshold` consecutive cache errors skips the cache for
 * `breakerCooldownMs` so requests do not each wait for a timeout. A cache that answers reads and refuses writes
 * (`READONLY`: a Global Datastore's secondary region, a replica) serves its hits; misses call the loader without
 * locking or storing for `readOnlyRetryMs`, then one tries to write again (a failover may have promoted it). `get`, `set` and `delete` do surface cache errors:
 * an invalidation that did not happen is something the caller must know.
 *
 * @module
 */

import { createHash, randomBytes } from 'node:crypto';
import { sleep } from './backoff';
import { redisOf, type CacheClient, type RedisClient } from './cache-client';

/** Turns values into the strings stored in the cache, and back. */
export interface CacheSerializer {
  /** Must return a string for every value the loaders return (other than `undefined`). */
  serialize(value: unknown): string;
  /** The inverse of `serialize`. A throw counts as a cache error and the value is reloaded. */
  deserialize(raw: string): unknown;
}

/** JSON (the default): `Date`s come back as ISO strings, `Map`/`Set`/`BigInt` are not supported. */
export const jsonSerializer: CacheSerializer = {
  serialize: (value) => {
    const text = JSON.stringify(value);
    if (text === undefined) throw new TypeError(`CacheAside: the value (${typeof value}) has no JSON form; return undefined for "not found" or pass a serializer`);
    return text;
  },
  deserialize: (raw) => JSON.parse(raw),
};

/** Defaults of {@link CacheAsideOptions}. */
export const CACHE_ASIDE_DEFAULTS = {
  namespace: '',
  ttlJitter: 0.1,
  lockTtlMs: 5_000,
  lockWaitMs: 3_000,
  lockPollMs: 10,
  lockPollMaxMs: 100,
  breakerThreshold: 5,
  breakerCooldownMs: 1_000,
  invalidationHoldOffMs: 2_000,
  readOnlyRetryMs: 30_000,
} as const;

/** Options of {@link CacheAside}. */
export interface CacheAsideOptions {
  /**
   * Prefix of every key (e.g. `catalog:`); several `CacheAside`s can share one cache.
   * @default '' (no prefix)
   */
  readonly namespace?: string;
  /**
   * How values are stored.
   * @default jsonSerializer
   */
  readonly serializer?: CacheSerializer;
  /**
   * Each stored TTL is shortened by a random fraction in [0, ttlJitter): the TTL you pass stays the upper bound of
   * staleness, and keys loaded together expire spread out.
   * @default 0.1
   */
  readonly ttlJitter?: number;
  /**
   * Cache "not found" (the loader returned `undefined`) for this many seconds, so a missing row is not looked up
   * on every request. Per call: `GetOrLoadOptions.negativeTtlSeconds`.
   * @default - not cached
   */
  readonly negativeTtlSeconds?: number;
  /**
   * Lifetime of the cross-process load lock: longer than a slow load, short enough that a crashed holder does not
   * hold up others for long (they stop waiting after `lockWaitMs` anyway).
   * @default 5000
   */
  readonly lockTtlMs?: number;
  /**
   * How long a caller waits for another process's load before loading itself.
   * @default 3000
   */
  readonly lockWaitMs?: number;
  /**
   * First poll interval while waiting; it doubles up to `lockPollMaxMs`.
   * @default 10
   */
  readonly lockPollMs?: number;
  /**
   * Longest poll interval while waiting.
   * @default 100
   */
  readonly lockPollMaxMs?: number;
  /**
   * How long after `delete()` a loaded value is cached only provisionally: until this much time after the delete has
   * passed, then it is loaded again. Loaders that read replicas (`db.read` with eventual consistency) can return the
   * row as it was before the write for as long as the replicas lag; a value they load right after the delete would
   * otherwise be served for its whole TTL. Set it above the replica lag you tolerate (`AuroraReplicaLag` is usually
   * under 100 ms; the reference app warns at 1 s). 0: `delete()` removes the key and nothing more.
   * @default 2000
   */
  readonly invalidationHoldOffMs?: number;
  /**
   * After the cache refused a write (`READONLY`: a Global Datastore secondary, or a replica), how long misses load
   * without locking or storing (not counted as errors, the breaker stays closed) before one tries to write again.
   * @default 30000
   */
  readonly readOnlyRetryMs?: number;
  /**
   * Consecutive cache errors after which the cache is skipped for `breakerCooldownMs`.
   * @default 5
   */
  readonly breakerThreshold?: number;
  /**
   * How long the cache is skipped once `breakerThreshold` errors happened in a row; then one call tries again.
   * @default 1000
   */
  readonly breakerCooldownMs?: number;
  /**
   * Cache errors that `getOrLoad` absorbed (for logs; they are counted in `stats().errors` either way).
   * @default - a `console.warn` line, at most one per 5 seconds
   */
  readonly onError?: (error: Error, key: string) => void;
  /**
   * Random source in [0, 1) for the TTL jitter.
   * @default Math.random
   */
  readonly random?: () => number;
}

/** Per-call options of {@link CacheAside.getOrLoad}. */
export interface GetOrLoadOptions {
  /** Overrides {@link CacheAsideOptions.negativeTtlSeconds} (0 turns it off for this call). */
  readonly negativeTtlSeconds?: number;
  /** Overrides {@link CacheAsideOptions.lockWaitMs}. */
  readonly lockWaitMs?: number;
}

/** Counters of a {@link CacheAside} since it was created. */
export interface CacheAsideStats {
  /** Values found in the cache. */
  readonly hits: number;
  /** Keys not in the cache (each followed by a load here, a shared load, or a wait for another process). */
  readonly misses: number;
  /** Cached "not found" answers returned. */
  readonly negativeHits: number;
  /** Loader calls (including degraded ones). */
  readonly loads: number;
  /** Loader calls that threw (the error went to the caller; nothing was cached). */
  readonly loadErrors: number;
  /** Callers that shared another caller's load in this process. */
  readonly coalesced: number;
  /** Misses that found another process loading and waited for it. */
  readonly lockWaits: number;
  /** Of those, waits that ended with the other process's value. */
  readonly lockWaitHits: number;
  /** Of those, waits that gave up after `lockWaitMs` and loaded here. */
  readonly lockWaitTimeouts: number;
  /** Cache commands that failed (connection, timeout, undecodable value). */
  readonly errors: number;
  /**
   * Loaded values stored only until the hold-off of a recent `delete()` ends (see
   * {@link CacheAsideOptions.invalidationHoldOffMs}).
   */
  readonly heldFills: number;
  /**
   * Misses loaded without locking or storing because the cache refuses writes here (`READONLY`: a Global Datastore's
   * secondary region).
   */
  readonly readOnlyLoads: number;
  /** Calls that skipped the cache because it was not connected or the breaker was open. */
  readonly bypassed: number;
  /** Loader calls made because the cache failed or was skipped. */
  readonly degradedLoads: number;
  /** `hits / (hits + misses)`, 0 before any lookup. */
  readonly hitRatio: number;
}

/**
 * Lua: the value if present (an invalidation marker is absent), else take the lock if free. KEYS: value, lock. ARGV:
 * token, lock ttl (ms), the invalidation marker.
 */
const TRY_LOCK = `
local v = redis.call('GET', KEYS[1])
if v and v ~= ARGV[3] then return {1, v} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {2} end
return {0}`;

/** Lua: delete the lock only if we still hold it. KEYS: lock. ARGV: token. */
const RELEASE_LOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * Lua: store a loaded value. Where a `delete()` left its marker (or a value stored since, under the marker's
 * prefix), only until the marker would have expired, and under the prefix. Where another value is (a `set()` while
 * this value loaded), that one stays, unless ARGV[5] is `replace` (it could not be decoded). KEYS: value. ARGV: text,
 * ttl (ms), the marker, the prefix, `replace` or ``. Returns 1 stored, 2 stored until the hold-off ends, 3 not
 * stored (the hold-off ends now), 0 kept the value there.
 */
const STORE = `
local cur = redis.call('GET', KEYS[1])
if cur and (cur == ARGV[3] or string.sub(cur, 1, #ARGV[4]) == ARGV[4]) then
  local left = redis.call('PTTL', KEYS[1])
  if left > 0 then
    redis.call('SET', KEYS[1], ARGV[4] .. ARGV[1], 'PX', math.min(left, tonumber(ARGV[2])))
    return 2
  end
  return 3
end
if cur and ARGV[5] ~= 'replace' then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

/** Lua: replace the value with the invalidation marker. KEYS: value. ARGV: the marker, hold-off (ms). Returns 1 when a value was there. */
const INVALIDATE = `
local cur = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if cur and cur ~= ARGV[1] then return 1 end
return 0`;

/** The scripts, as defined on a client: name, number of keys, source. */
const SCRIPTS: ReadonlyArray<readonly [keyof ScriptedClient, number, string]> = [
  ['s2mCacheTryLock', 2, TRY_LOCK],
  ['s2mCacheReleaseLock', 1, RELEASE_LOCK],
  ['s2mCacheStore', 1, STORE],
  ['s2mCacheInvalidate', 1, INVALIDATE],
];

/**
 * The command a script is defined under on a client: its name and the start of its SHA-1. A client that another
 * version of this module shares (defining the same name with other Lua) then runs each version's own script.
 */
export function scriptCommandName(name: string, lua: string): string {
  return `${name}_${createHash('sha1').update(lua).digest('hex').slice(0, 8)}`;
}

/** Stored for a cached "not found". No JSON text starts with a NUL character. */
const NEGATIVE = '\u0000s2m:absent';
/** What `delete()` leaves for the hold-off: read as absent. */
const INVALIDATED = '\u0000s2m:invalidated';
/** Prefix of a value stored during a hold-off (it expires when the hold-off ends). */
const HELD = '\u0000s2m:held:';

type Lookup = { readonly kind: 'value'; readonly raw: string } | { readonly kind: 'locked' } | { readonly kind: 'busy' };

interface ScriptedClient {
  s2mCacheTryLock(value: string, lock: string, token: string, ttlMs: number, marker: string): Promise<[number, string?]>;
  s2mCacheReleaseLock(lock: string, token: string): Promise<number>;
  s2mCacheStore(key: string, text: string, ttlMs: number, marker: string, prefix: string, replace: string): Promise<number>;
  s2mCacheInvalidate(key: string, marker: string, holdOffMs: number): Promise<number>;
}

/** Cache-aside reads with single-flight and cross-process stampede protection. See the module documentation. */
export class CacheAside {
  private readonly source: CacheClient | RedisClient;
  /** The ioredis client the lock scripts were last defined on. */
  private scripted: RedisClient | undefined;
  /** Its scripts, under their names. */
  private scripts: ScriptedClient | undefined;
  private readonly namespace: string;
  private readonly serializer: CacheSerializer;
  private readonly ttlJitter: number;
  private readonly negativeTtlSeconds: number | undefined;
  private readonly lockTtlMs: number;
  private readonly lockWaitMs: number;
  private readonly lockPollMs: number;
  private readonly lockPollMaxMs: number;
  private readonly breakerThreshold: number;
  private readonly breakerCooldownMs: number;
  private readonly invalidationHoldOffMs: number;
  private readonly readOnlyRetryMs: number;
  /** Until when misses neither lock nor store: the cache refused a write (`READONLY`). */
  private readOnlyUntil = 0;
  private readonly onError: (error: Error, key: string) => void;
  private readonly random: () => number;
  private readonly inflight = new Map<string, Promise<unknown>>();
  private readonly counters = {
    hits: 0, misses: 0, negativeHits: 0, loads: 0, loadErrors: 0, coalesced: 0, lockWaits: 0, lockWaitHits: 0,
    lockWaitTimeouts: 0, heldFills: 0, readOnlyLoads: 0, errors: 0, bypassed: 0, degradedLoads: 0,
  };
  private consecutiveErrors = 0;
  private openUntil = 0;

  /**
   * @param client - a {@link CacheClient} or an ioredis `Redis`/`Cluster`
   * @param options - see {@link CacheAsideOptions}
   * @throws RangeError naming the option and the value when one is out of range
   */
  public constructor(client: CacheClient | RedisClient, options: CacheAsideOptions = {}) {
    this.source = client;
    const d = CACHE_ASIDE_DEFAULTS;
    const num = (name: keyof CacheAsideOptions, value: number | undefined, fallback: number, ok: (v: number) => boolean, what: string): number => {
      const v = value ?? fallback;
      if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new RangeError(`CacheAside: ${name} must be ${what} (got: ${JSON.stringify(value)})`);
      return v;
    };
    this.namespace = options.namespace ?? d.namespace;
    if (typeof this.namespace !== 'string') throw new RangeError(`CacheAside: namespace must be a string (got: ${JSON.stringify(options.namespace)})`);
    this.serializer = options.serializer ?? jsonSerializer;
    this.ttlJitter = num('ttlJitter', options.ttlJitter, d.ttlJitter, (v) => v >= 0 && v < 1, 'in [0, 1)');
    this.negativeTtlSeconds = options.negativeTtlSeconds === undefined ? undefined
      : num('negativeTtlSeconds', options.negativeTtlSeconds, 0, (v) => v > 0, 'a positive number of seconds');
    this.lockTtlMs = num('lockTtlMs', options.lockTtlMs, d.lockTtlMs, (v) => v >= 1, 'at least 1 ms');
    this.lockWaitMs = num('lockWaitMs', options.lockWaitMs, d.lockWaitMs, (v) => v >= 0, '>= 0 ms');
    this.lockPollMs = num('lockPollMs', options.lockPollMs, d.lockPollMs, (v) => v >= 1, 'at least 1 ms');
    this.lockPollMaxMs = num('lockPollMaxMs', options.lockPollMaxMs, d.lockPollMaxMs, (v) => v >= this.lockPollMs, `at least lockPollMs (${this.lockPollMs})`);
    this.breakerThreshold = num('breakerThreshold', options.breakerThreshold, d.breakerThreshold, (v) => Number.isInteger(v) && v >= 1, 'a whole number >= 1');
    this.breakerCooldownMs = num('breakerCooldownMs', options.breakerCooldownMs, d.breakerCooldownMs, (v) => v >= 0, '>= 0 ms');
    this.readOnlyRetryMs = num('readOnlyRetryMs', options.readOnlyRetryMs, d.readOnlyRetryMs, (v) => v >= 0, '>= 0 ms');
    this.invalidationHoldOffMs = num('invalidationHoldOffMs', options.invalidationHoldOffMs, d.invalidationHoldOffMs, (v) => Number.isInteger(v) && v >= 0, 'a whole number of ms >= 0');
    this.random = options.random ?? Math.random;
    let lastWarnAt = Number.NEGATIVE_INFINITY;
    this.onError = options.onError ?? ((err, key) => {
      const now = Date.now();
      if (now - lastWarnAt < 5_000) return;
      lastWarnAt = now;
      console.warn(`[CacheAside] ${key}: ${err.message} (calling the loader instead)`);
    });
    void this.redis; // defines the lock scripts now
  }

  /** The ioredis client in use: a {@link CacheClient}'s current one (it follows `retarget`), with the lock scripts. */
  private get redis(): RedisClient {
    const redis = redisOf(this.source);
    if (redis !== this.scripted) {
      // Each script under a name of its own text: defined once per client, and never another version's script of
      // the same name (a client shared with an earlier CacheAside).
      const commands = redis as unknown as Record<string, ((...args: unknown[]) => Promise<unknown>) | undefined>;
      const calls: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
      for (const [name, keys, lua] of SCRIPTS) {
        const command = scriptCommandName(name, lua);
        if (typeof commands[command] !== 'function') redis.defineCommand(command, { numberOfKeys: keys, lua });
        calls[name] = (...args) => commands[command]!.apply(redis, args);
      }
      this.scripts = calls as unknown as ScriptedClient;
      this.scripted = redis;
    }
    return redis;
  }

  /** The scripts on the client in use. */
  private get script(): ScriptedClient {
    void this.redis;
    return this.scripts!;
  }

  /**
   * The cached value of `key`, or the loader's, stored for `ttlSeconds`. See the module documentation.
   *
   * @param key - the key, under the namespace
   * @param ttlSeconds - how long the value may be served (an upper bound: jitter only shortens it)
   * @param loader - reads the source of truth; returns `undefined` for "not found"
   * @param options - per-call overrides
   * @returns the value
   * @throws whatever the loader throws (never a cache error); RangeError for a non-positive TTL
   */
  public async getOrLoad<T>(key: string, ttlSeconds: number, loader: () => T | Promise<T>, options: GetOrLoadOptions = {}): Promise<T> {
    if (!(ttlSeconds > 0) || !Number.isFinite(ttlSeconds)) throw new RangeError(`CacheAside.getOrLoad(${JSON.stringify(key)}): ttlSeconds must be a positive number (got: ${ttlSeconds})`);
    const full = this.namespace + key;
    // A load of this key is already running here: share it (no round trip).
    const running = this.inflight.get(full);
    if (running) {
      this.counters.coalesced++;
      return running as Promise<T>;
    }
    if (!this.available()) {
      this.counters.bypassed++;
      return this.shared(full, () => this.degradedLoad(full, ttlSeconds, loader, options));
    }
    let raw: string | null;
    try {
      raw = await this.redis.get(full);
      this.consecutiveErrors = 0;
    } catch (e) {
      this.failure(e, full);
      return this.shared(full, () => this.degradedLoad(full, ttlSeconds, loader, options));
    }
    if (raw !== null && raw !== INVALIDATED) {
      const found = this.decode<T>(raw, full, true);
      if (found !== MISS) return found;
    } else {
      this.counters.misses++;
    }
    if (Date.now() < this.readOnlyUntil) return this.shared(full, () => this.readOnlyLoad(loader));
    return this.shared(full, () => this.lockedLoad(full, ttlSeconds, loader, options));
  }

  /**
   * The cached value, `undefined` when absent (or cached as not found).
   *
   * @param key - the key, under the namespace
   * @throws the cache error, or the serializer's
   */
  public async get<T>(key: string): Promise<T | undefined> {
    const stored = await this.redis.get(this.namespace + key);
    if (stored === null || stored === INVALIDATED) return undefined;
    const raw = stored.startsWith(HELD) ? stored.slice(HELD.length) : stored;
    if (raw === NEGATIVE) return undefined;
    return this.serializer.deserialize(raw) as T;
  }

  /**
   * Stores a value (write-through after an update, or warming). It replaces a `delete()`'s hold-off: the value is
   * the caller's, not a load that may have read a lagging replica.
   *
   * @param key - the key, under the namespace
   * @param value - the value (`undefined` is not storable)
   * @param ttlSeconds - lifetime (shortened by the jitter)
   * @throws the cache error, or the serializer's
   */
  public async set(key: string, value: unknown, ttlSeconds: number): Promise<void> {
    if (!(ttlSeconds > 0) || !Number.isFinite(ttlSeconds)) throw new RangeError(`CacheAside.set(${JSON.stringify(key)}): ttlSeconds must be a positive number (got: ${ttlSeconds})`);
    await this.redis.set(this.namespace + key, this.serializer.serialize(value), 'PX', this.jitteredMs(ttlSeconds));
  }

  /**
   * Removes keys, e.g. after the source of truth changed. For `invalidationHoldOffMs` after it, a value loaded for
   * the key is cached only until that time is up, then loaded again: a load from a replica that had not applied the
   * change yet, or one that read before the change, is not served for its whole TTL. A load that read before the
   * change and stores after the hold-off can still store the old value (see docs/runtime-async.md).
   *
   * @param keys - keys under the namespace
   * @returns how many held a value
   * @throws the cache error
   */
  public async delete(...keys: string[]): Promise<number> {
    let removed = 0;
    // One command per key: in cluster mode the keys live in different slots.
    for (const key of keys) {
      removed += this.invalidationHoldOffMs > 0
        ? await this.script.s2mCacheInvalidate(this.namespace + key, INVALIDATED, this.invalidationHoldOffMs)
        : await this.redis.del(this.namespace + key);
    }
    return removed;
  }

  /** Counters since creation. */
  public stats(): CacheAsideStats {
    const c = this.counters;
    const lookups = c.hits + c.misses;
    return { ...c, hitRatio: lookups === 0 ? 0 : c.hits / lookups };
  }

  /**
   * Whether a command should be tried: the client is connected and the breaker is closed, or this call is the one
   * probe of a breaker whose cooldown ended (half-open): the calls after it bypass the cache for another cooldown,
   * unless it succeeds (which closes the breaker) or fails sooner (which reopens it). Against a cache that hangs,
   * one call per cooldown waits out the command timeout, not every call that comes meanwhile.
   */
  private available(): boolean {
    if (this.redis.status !== 'ready') return false;
    if (this.consecutiveErrors < this.breakerThreshold) return true;
    const now = Date.now();
    if (now < this.openUntil) return false;
    this.openUntil = now + this.breakerCooldownMs;
    return true;
  }

  private failure(e: unknown, key: string): void {
    this.counters.errors++;
    this.consecutiveErrors++;
    if (this.consecutiveErrors >= this.breakerThreshold) this.openUntil = Date.now() + this.breakerCooldownMs;
    this.onError(e instanceof Error ? e : new Error(String(e)), key);
  }

  /** Decodes a stored value (counting a hit when `lookup`); MISS (and a counted error) when it cannot be. */
  private decode<T>(stored: string, key: string, lookup: boolean): T | typeof MISS {
    const raw = stored.startsWith(HELD) ? stored.slice(HELD.length) : stored;
    if (raw === NEGATIVE) {
      if (lookup) this.counters.negativeHits++;
      return undefined as T;
    }
    try {
      const value = this.serializer.deserialize(raw) as T;
      if (lookup) this.counters.hits++;
      return value;
    } catch (e) {
      if (lookup) this.counters.misses++;
      this.failure(new Error(`undecodable cached value, reloading: ${(e as Error).message}`, { cause: e }), key);
      return MISS;
    }
  }

  /** Runs `load` once per key in this process at a time; later callers share its result. */
  private shared<T>(key: string, load: () => Promise<T>): Promise<T> {
    const running = this.inflight.get(key);
    if (running) {
      this.counters.coalesced++;
      return running as Promise<T>;
    }
    const p = load().finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  private async lockedLoad<T>(key: string, ttlSeconds: number, loader: () => T | Promise<T>, options: GetOrLoadOptions): Promise<T> {
    const lock = lockKeyFor(key);
    const token = randomBytes(12).toString('base64url');
    const waitMs = options.lockWaitMs ?? this.lockWaitMs;
    const deadline = Date.now() + waitMs;
    let polls = 0;
    for (;;) {
      let found: Lookup;
      try {
        found = await this.tryLock(key, lock, token);
        this.consecutiveErrors = 0;
      } catch (e) {
        if (this.refusedWrite(e)) return this.readOnlyLoad(loader);
        this.failure(e, key);
        return this.degradedLoad(key, ttlSeconds, loader, options);
      }
      if (found.kind === 'value') {
        const value = this.decode<T>(found.raw, key, false);
        if (value !== MISS) {
          if (polls > 0) this.counters.lockWaitHits++;
          return value;
        }
        // Undecodable: overwrite it, lock or not.
        return this.loadAndStore(key, ttlSeconds, loader, options, true);
      }
      if (found.kind === 'locked') break;
      if (polls === 0) this.counters.lockWaits++;
      const now = Date.now();
      if (now >= deadline) {
        this.counters.lockWaitTimeouts++;
        return this.loadAndStore(key, ttlSeconds, loader, options);
      }
      await sleep(Math.min(this.lockPollMs * 2 ** polls, this.lockPollMaxMs, deadline - now));
      polls++;
    }
    try {
      return await this.loadAndStore(key, ttlSeconds, loader, options);
    } finally {
      this.releaseLock(lock, token, key);
    }
  }

  /** The value if cached; otherwise whether we took the lock (`locked`) or someone else holds it (`busy`). */
  private async tryLock(key: string, lock: LockKey, token: string): Promise<Lookup> {
    if (lock.sameSlot) {
      const [kind, raw] = await this.script.s2mCacheTryLock(key, lock.key, token, this.lockTtlMs, INVALIDATED);
      return kind === 1 ? { kind: 'value', raw: raw! } : kind === 2 ? { kind: 'locked' } : { kind: 'busy' };
    }
    // No lock key can share the value's hash slot: separate commands, same logic.
    const raw = await this.redis.get(key);
    if (raw !== null && raw !== INVALIDATED) return { kind: 'value', raw };
    if ((await this.redis.set(lock.key, token, 'PX', this.lockTtlMs, 'NX')) !== 'OK') return { kind: 'busy' };
    // Another process may have stored the value and released its lock between our GET and our SET: it stores before
    // it releases, so with the lock ours, a second look sees its value if there is one. Without it, both would load.
    const again = await this.redis.get(key);
    if (again === null || again === INVALIDATED) return { kind: 'locked' };
    this.releaseLock(lock, token, key);
    return { kind: 'value', raw: again };
  }

  /** Releases the lock if this caller still holds it; a failure is counted, and the lock expires by itself after lockTtlMs. */
  private releaseLock(lock: LockKey, token: string, key: string): void {
    this.script.s2mCacheReleaseLock(lock.key, token).catch((e: unknown) => this.failure(e, key));
  }

  /** A miss on a cache that refuses writes: the loader's value, neither locked for nor stored. */
  private async readOnlyLoad<T>(loader: () => T | Promise<T>): Promise<T> {
    this.counters.readOnlyLoads++;
    return this.load(loader);
  }

  /** Whether `e` is the cache refusing a write (`READONLY`); if so, misses stop writing for `readOnlyRetryMs`. */
  private refusedWrite(e: unknown): boolean {
    if (!(e instanceof Error) || !/\bREADONLY\b/.test(e.message)) return false;
    if (Date.now() >= this.readOnlyUntil) {
      this.readOnlyUntil = Date.now() + this.readOnlyRetryMs;
      this.onError(new Error(`the cache refuses writes here (${e.message.split('\n')[0]}): values are read from it but loaded ones not stored for ${this.readOnlyRetryMs} ms`, { cause: e }), '(read-only cache)');
    }
    this.consecutiveErrors = 0;
    return true;
  }

  private async degradedLoad<T>(key: string, ttlSeconds: number, loader: () => T | Promise<T>, options: GetOrLoadOptions): Promise<T> {
    this.counters.degradedLoads++;
    const value = await this.load(loader);
    // Best effort: the cache may be back (a transient error), and storing helps the next caller. Only a store that
    // sends something may take the breaker's probe (available() grants it).
    let payload: { text: string; ttlMs: number } | undefined;
    try {
      payload = this.payloadOf(value, ttlSeconds, options);
    } catch {
      payload = undefined; // the serializer's refusal surfaces where the value is stored for real
    }
    if (payload !== undefined && this.available()) this.send(key, payload).catch(() => { /* counted in send */ });
    return value;
  }

  private async loadAndStore<T>(key: string, ttlSeconds: number, loader: () => T | Promise<T>, options: GetOrLoadOptions, replace = false): Promise<T> {
    const value = await this.load(loader);
    await this.store(key, value, ttlSeconds, options, replace).catch(() => { /* counted in store; the value is still good */ });
    return value;
  }

  private async load<T>(loader: () => T | Promise<T>): Promise<T> {
    this.counters.loads++;
    try {
      return await loader();
    } catch (e) {
      this.counters.loadErrors++;
      throw e;
    }
  }

  /** Stores a loaded value (see STORE: a value another caller stored meanwhile stays, unless `replace`). */
  /**
   * What storing `value` sends: its text and time to live, or undefined when nothing is stored (not found, without
   * negative caching). A value the serializer cannot store throws: the caller's bug.
   */
  private payloadOf(value: unknown, ttlSeconds: number, options: GetOrLoadOptions): { text: string; ttlMs: number } | undefined {
    if (value === undefined) {
      const negative = options.negativeTtlSeconds ?? this.negativeTtlSeconds;
      if (negative === undefined || negative <= 0) return undefined;
      return { text: NEGATIVE, ttlMs: this.jitteredMs(negative) };
    }
    return { text: this.serializer.serialize(value), ttlMs: this.jitteredMs(ttlSeconds) };
  }

  private async store(key: string, value: unknown, ttlSeconds: number, options: GetOrLoadOptions, replace = false): Promise<void> {
    const payload = this.payloadOf(value, ttlSeconds, options);
    if (payload !== undefined) await this.send(key, payload, replace);
  }

  private async send(key: string, { text, ttlMs }: { text: string; ttlMs: number }, replace = false): Promise<void> {
    try {
      const stored = await this.script.s2mCacheStore(key, text, ttlMs, INVALIDATED, HELD, replace ? 'replace' : '');
      if (stored === 2) this.counters.heldFills++;
      this.consecutiveErrors = 0;
    } catch (e) {
      if (!this.refusedWrite(e)) this.failure(e, key);
      throw e;
    }
  }

  private jitteredMs(ttlSeconds: number): number {
    return Math.max(1, Math.round(ttlSeconds * 1000 * (1 - this.ttlJitter * this.random())));
  }
}

const MISS: unique symbol = Symbol('miss');

/**
 * The hash tag of a key as Redis Cluster computes it: the text between the first `{` and the next `}`, when not
 * empty. Keys with the same tag live in the same slot.
 *
 * @param key - a key
 * @returns the tag, or undefined when the whole key is hashed
 */
export function hashTag(key: string): string | undefined {
  const open = key.indexOf('{');
  if (open < 0) return undefined;
  const close = key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : undefined;
}

/** The load lock of a cached key. */
export interface LockKey {
  /** The lock's key. */
  readonly key: string;
  /** Whether it shares the value's hash slot (so one script can read the value and take the lock). */
  readonly sameSlot: boolean;
}

/**
 * The load lock of `key`: in the same hash slot (`<key>:lock` when the key has a hash tag, `{<key>}:lock`
 * otherwise), except for a key that contains `}` but no hash tag, whose lock cannot share its slot.
 *
 * @param key - the cached value's full key
 * @returns the lock key
 */
export function lockKeyFor(key: string): LockKey {
  if (hashTag(key) !== undefined) return { key: `${key}:lock`, sameSlot: true };
  return key === '' || key.includes('}') ? { key: `${key}:lock`, sameSlot: false } : { key: `{${key}}:lock`, sameSlot: true };
}
