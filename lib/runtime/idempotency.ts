/**
 * Do a piece of work once per key, although its trigger arrives more than once: SQS delivers at least once, and
 * producers retry. The key is claimed in Valkey/Redis (`SET NX` with a lease) before the work and marked done
 * after it, so a redelivery finds `done` and is skipped.
 *
 * ```ts
 * const once = new Idempotency(cache, { keyPrefix: 'orders:' });
 * const worker = new QueueWorker({
 *   queueUrl,
 *   handler: async (message) => {
 *     const order = message.json<{ orderId: string }>();
 *     await once.run(`confirm:${order.orderId}`, () => sendConfirmation(order));   // a business key
 *   },
 * });
 * ```
 *
 * - `done`: the work ran here; `duplicate`: it had already completed (the caller treats the message as handled).
 * - Another holder working on the same key right now: {@link IdempotencyConflictError} (leave the message; it comes
 *   back after its visibility timeout, by when the holder has finished or its lease has expired).
 * - The lease is renewed while the work runs; a crashed holder's lease expires after `leaseSeconds`, and the next
 *   delivery runs the work again (it never completed).
 * - The work failed: the claim is released at once, so the retry is not held up.
 *
 * Guarantee and its limits (docs/runtime-async.md): "at most once per key *while the cache keeps the key*". Work
 * that succeeded but whose `done` mark was not written (crash in between, cache error) runs again on redelivery;
 * keys are lost if the cache evicts them (keep `maxmemory-policy` from evicting them, or size the cache), fails
 * over before replicating them, or after `doneTtlSeconds`. For effects that must happen exactly once (money), make
 * the effect itself idempotent in the database (a unique constraint on the business key, in the same transaction).
 *
 * @module
 */

import { randomBytes } from 'node:crypto';
import { scriptCommandName } from './cache-aside';
import { redisOf, type CacheClient, type RedisClient } from './cache-client';

/** Defaults of {@link IdempotencyOptions}. */
export const IDEMPOTENCY_DEFAULTS = {
  keyPrefix: 'idempotency:',
  leaseSeconds: 30,
  doneTtlSeconds: 24 * 3600,
  onCacheError: 'throw',
} as const;

/** Options of {@link Idempotency}. */
export interface IdempotencyOptions {
  /** Prefix of the keys. @default 'idempotency:' */
  readonly keyPrefix?: string;
  /**
   * How long a claim holds without renewal; renewed every third of it while the work runs. A crashed holder
   * blocks the key this long.
   * @default 30
   */
  readonly leaseSeconds?: number;
  /**
   * How long a completion is remembered: longer than any redelivery or producer retry can arrive (SQS keeps
   * messages up to 14 days; the work queues here keep them 4 days by default).
   * @default 86400 (24 hours)
   */
  readonly doneTtlSeconds?: number;
  /**
   * When the cache cannot be reached to claim: `throw` ({@link IdempotencyUnavailableError}: the message is retried
   * later) or `proceed` (run the work unprotected, counted in `stats().unprotected`).
   * @default 'throw'
   */
  readonly onCacheError?: 'throw' | 'proceed';
  /**
   * When the cache refuses the claim as read-only (`READONLY`: a Global Datastore's secondary region, where a cache
   * takes no writes; or, for a moment, a connection to a node a failover demoted): `proceed` runs the work
   * unprotected (counted in `stats().readOnly` and `unprotected`, and reported to `onError`), as a worker in a
   * Global Datastore's secondary region must to make progress; `throw` fails it as {@link onCacheError}'s `throw`
   * does (every keyed job then fails there, and is retried). Keep per-region caches for idempotency (docs/cache.md).
   * `Runtime.runWorker` passes `proceed`.
   * @default - `onCacheError`'s choice
   */
  readonly onReadOnly?: 'throw' | 'proceed';
  /** Told when work runs unprotected because the cache refused the claim as read-only (at most once a minute). @default - nothing */
  readonly onError?: (error: Error) => void;
}

/** What {@link Idempotency.run} did. */
export type IdempotentOutcome<R> =
  | { readonly status: 'done'; readonly result: R }
  | { readonly status: 'duplicate'; readonly completedAt: Date };

/** Counters of an {@link Idempotency}. */
export interface IdempotencyStats {
  /** Work run (claimed, or unprotected). */
  readonly executed: number;
  /** Skipped: already done. */
  readonly duplicates: number;
  /** Refused: another holder is working on the key. */
  readonly conflicts: number;
  /** Work that threw (claim released). */
  readonly failures: number;
  /** Leases found taken over or expired while the work ran (it may run twice). */
  readonly leasesLost: number;
  /** Work run without a claim because the cache failed (`onCacheError: 'proceed'`) or refused writes here. */
  readonly unprotected: number;
  /** Of those, work run unprotected because the cache refused the claim as read-only (`onReadOnly: 'proceed'`). */
  readonly readOnly: number;
  /** Completions not recorded because the cache failed (a redelivery would run the work again). */
  readonly markFailures: number;
}

/** Another holder is working on the key right now. */
export class IdempotencyConflictError extends Error {
  /** The key (with prefix). */
  public readonly key: string;
  /**
   * How long the holder's lease still runs (ms), read from the cache when the claim was refused: the holder renews it
   * while its work runs, so after this the key is either done or free. `undefined` when it could not be read.
   */
  public readonly retryAfterMs: number | undefined;
  /**
   * @param key - the key
   * @param retryAfterMs - the lease's remaining time, if known
   */
  public constructor(key: string, retryAfterMs?: number) {
    super(`idempotency key ${key} is being worked on by another holder; retry later${retryAfterMs === undefined ? '' : ` (its lease runs ${retryAfterMs} ms more)`}`);
    this.name = 'IdempotencyConflictError';
    this.key = key;
    this.retryAfterMs = retryAfterMs;
  }
}

/** The cache could not be reached to claim a key (`onCacheError: 'throw'`). */
export class IdempotencyUnavailableError extends Error {
  /**
   * @param message - what failed
   * @param cause - the cache error
   */
  public constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'IdempotencyUnavailableError';
  }
}

/** Lua: claim if free, else return what holds the key. KEYS: key. ARGV: value, lease ms. */
const CLAIM = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 'claimed' end
return redis.call('GET', KEYS[1])`;

/** Lua: renew (1) or release (DEL) a lease we still hold. KEYS: key. ARGV: value, lease ms or 0 to release. */
const LEASE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '0' then return redis.call('DEL', KEYS[1]) end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])`;

interface ScriptedClient {
  s2mIdempotencyClaim(key: string, value: string, leaseMs: number): Promise<string | null>;
  s2mIdempotencyLease(key: string, value: string, leaseMs: number): Promise<number>;
}

/** The scripts, as defined on a client: name, source (one key each). */
const SCRIPTS: ReadonlyArray<readonly [keyof ScriptedClient, string]> = [
  ['s2mIdempotencyClaim', CLAIM],
  ['s2mIdempotencyLease', LEASE],
];

/** Runs work once per key. See the module documentation. */
export class Idempotency {
  private readonly source: CacheClient | RedisClient;
  /** The ioredis client the scripts were last defined on. */
  private scripted: RedisClient | undefined;
  /** Its scripts, under their names. */
  private scripts: ScriptedClient | undefined;
  private readonly keyPrefix: string;
  private readonly leaseMs: number;
  private readonly doneMs: number;
  private readonly onCacheError: 'throw' | 'proceed';
  private readonly onReadOnly: 'throw' | 'proceed';
  private readonly onError: ((error: Error) => void) | undefined;
  /** When a read-only claim was last reported (epoch ms). */
  private readOnlyReportedAt = 0;
  private readonly counters = { executed: 0, duplicates: 0, conflicts: 0, failures: 0, leasesLost: 0, unprotected: 0, readOnly: 0, markFailures: 0 };

  /**
   * @param client - a {@link CacheClient} or an ioredis client
   * @param options - see {@link IdempotencyOptions}
   * @throws RangeError for out-of-range options
   */
  public constructor(client: CacheClient | RedisClient, options: IdempotencyOptions = {}) {
    this.source = client;
    const positive = (name: string, value: number | undefined, fallback: number): number => {
      const v = value ?? fallback;
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new RangeError(`Idempotency: ${name} must be a positive number of seconds (got: ${JSON.stringify(value)})`);
      return v;
    };
    this.keyPrefix = options.keyPrefix ?? IDEMPOTENCY_DEFAULTS.keyPrefix;
    this.leaseMs = Math.round(positive('leaseSeconds', options.leaseSeconds, IDEMPOTENCY_DEFAULTS.leaseSeconds) * 1000);
    this.doneMs = Math.round(positive('doneTtlSeconds', options.doneTtlSeconds, IDEMPOTENCY_DEFAULTS.doneTtlSeconds) * 1000);
    if (this.doneMs < this.leaseMs) throw new RangeError(`Idempotency: doneTtlSeconds must be at least leaseSeconds (${this.leaseMs / 1000}) (got: ${this.doneMs / 1000})`);
    const mode = options.onCacheError ?? IDEMPOTENCY_DEFAULTS.onCacheError;
    if (mode !== 'throw' && mode !== 'proceed') throw new RangeError(`Idempotency: onCacheError must be throw or proceed (got: ${JSON.stringify(options.onCacheError)})`);
    this.onCacheError = mode;
    const readOnly = options.onReadOnly ?? mode;
    if (readOnly !== 'throw' && readOnly !== 'proceed') throw new RangeError(`Idempotency: onReadOnly must be throw or proceed (got: ${JSON.stringify(options.onReadOnly)})`);
    this.onReadOnly = readOnly;
    this.onError = options.onError;
    void this.redis; // defines the scripts now
  }

  /** The ioredis client in use: a {@link CacheClient}'s current one (it follows `retarget`), with the scripts. */
  private get redis(): RedisClient {
    const redis = redisOf(this.source);
    if (redis !== this.scripted) {
      // Each script under a name of its own text (as CacheAside does): a client shared with another version of this
      // module, which defined the same names with other Lua, runs each version's own scripts, never the other's.
      const commands = redis as unknown as Record<string, ((...args: unknown[]) => Promise<unknown>) | undefined>;
      const calls: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
      for (const [name, lua] of SCRIPTS) {
        const command = scriptCommandName(name, lua);
        if (typeof commands[command] !== 'function') redis.defineCommand(command, { numberOfKeys: 1, lua });
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
   * Runs `work` unless the key is done or being worked on.
   *
   * @param key - a message id or, better, a business key (an order id): producers' retries get new message ids
   * @param work - the work; its `signal` aborts if the lease is lost (another holder may start it)
   * @returns `done` with the result, or `duplicate`
   * @throws IdempotencyConflictError (another holder works on it), IdempotencyUnavailableError (cache down, with
   *   `onCacheError: 'throw'`), or what `work` throws (the claim is released first)
   */
  public async run<R>(key: string, work: (lease: { readonly signal: AbortSignal }) => R | Promise<R>): Promise<IdempotentOutcome<R>> {
    if (typeof key !== 'string' || key === '') throw new RangeError(`Idempotency.run: key must be a non-empty string (got: ${JSON.stringify(key)})`);
    const full = this.keyPrefix + key;
    const holder = `running:${randomBytes(12).toString('base64url')}`;
    // The client in use each time: a cache that moved (CacheClient.retarget) closed the one the claim went through.
    const scripts = (): ScriptedClient => this.script;
    let found: string | null;
    const claimedAt = Date.now();
    try {
      found = await scripts().s2mIdempotencyClaim(full, holder, this.leaseMs);
    } catch (e) {
      const readOnly = /\bREADONLY\b/.test((e as Error).message ?? '');
      if (readOnly ? this.onReadOnly === 'throw' : this.onCacheError === 'throw') {
        throw new IdempotencyUnavailableError(`Idempotency.run(${full}): the cache ${readOnly ? 'refuses writes here (READONLY: a Global Datastore secondary, or a replica)' : 'failed'}: ${(e as Error).message}`, e);
      }
      if (readOnly) {
        this.counters.readOnly++;
        if (Date.now() - this.readOnlyReportedAt >= 60_000) {
          this.readOnlyReportedAt = Date.now();
          try {
            this.onError?.(new Error(`Idempotency.run(${full}): the cache refuses writes here (READONLY: a Global Datastore secondary, or a node a failover demoted); running the work unprotected (onReadOnly: 'proceed'): a redelivery may run it again`, { cause: e }));
          } catch { /* the report's own failure does not stop the work */ }
        }
      }
      this.counters.unprotected++;
      this.counters.executed++;
      return { status: 'done', result: await work({ signal: new AbortController().signal }) };
    }
    if (found !== 'claimed') {
      if (found !== null && found.startsWith('done:')) {
        this.counters.duplicates++;
        return { status: 'duplicate', completedAt: new Date(Number(found.slice(5))) };
      }
      this.counters.conflicts++;
      // The lease's remaining time, so the caller can retry when it ends (-2: gone meanwhile; -1: no expiry, never set).
      const ttl = await this.redis.pttl(full).catch(() => undefined);
      throw new IdempotencyConflictError(full, ttl === undefined || ttl === -1 ? undefined : Math.max(0, ttl));
    }

    this.counters.executed++;
    const lost = new AbortController();
    const lose = (why: string): void => {
      if (lost.signal.aborted) return;
      this.counters.leasesLost++;
      lost.abort(new Error(`idempotency lease on ${full} was lost (${why}): another holder may start the work`));
    };
    // The lease runs until `renewedAt + leaseMs` as far as this holder knows (from before its claim was sent).
    let renewedAt = claimedAt;
    // A quarter of the lease: one renewal that fails (a command timeout, a reconnect) leaves the lease half run, which
    // the early abort below (three quarters) tolerates; two in a row do not.
    const interval = Math.max(1, Math.floor(this.leaseMs / 4));
    const renew = setInterval(() => {
      // A tick before the lease runs out (the next tick would come after it), the work is told: another holder may
      // claim it then. Renewals go on meanwhile: a cache that is only slow keeps the key from being taken.
      if (Date.now() - renewedAt >= this.leaseMs - interval) lose(`no renewal succeeded for ${Date.now() - renewedAt} ms of a ${this.leaseMs} ms lease`);
      const sent = Date.now();
      scripts().s2mIdempotencyLease(full, holder, this.leaseMs).then((renewed) => {
        if (renewed === 0) lose('expired or taken over');
        else renewedAt = Math.max(renewedAt, sent);
      }, () => { /* retried at the next tick; the lease runs until renewedAt + leaseMs */ });
    }, interval);
    renew.unref();
    let result: R;
    try {
      result = await work({ signal: lost.signal });
    } catch (e) {
      clearInterval(renew);
      this.counters.failures++;
      await scripts().s2mIdempotencyLease(full, holder, 0).catch(() => { /* it expires by itself */ });
      throw e;
    }
    clearInterval(renew);
    try {
      // Unconditional: the work completed, whoever holds the lease now.
      await this.redis.set(full, `done:${Date.now()}`, 'PX', this.doneMs);
    } catch {
      this.counters.markFailures++;
    }
    return { status: 'done', result };
  }

  /**
   * Forgets a key (done or in progress), e.g. to deliberately run the work again.
   *
   * @param key - the key, without prefix
   * @throws the cache error
   */
  public async forget(key: string): Promise<void> {
    await this.redis.del(this.keyPrefix + key);
  }

  /** Counters since creation. */
  public stats(): IdempotencyStats {
    return { ...this.counters };
  }
}
