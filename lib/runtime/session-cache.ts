/**
 * A session store in the region's cache: the cookie holds a random id, the data lives in Valkey/Redis under the
 * id's SHA-256 (so whoever can read the cache cannot take over sessions), with a sliding TTL.
 *
 * ```ts
 * const sessions = new CacheSessionStore<{ userId: string }>(cache, { idleTimeoutSeconds: 1800 });
 * ```
 *
 * Each `load` is one round trip (`GETEX ... PX <idle timeout>`: Redis 6.2+, every Valkey), which also slides the
 * expiry. Sessions are regional: another region's cache does not have them (use {@link SealedSessionStore} for
 * users who move between regions).
 *
 * @module
 */

import { createHash, randomBytes } from 'node:crypto';
import { redisOf, type CacheClient, type RedisClient } from './cache-client';
import { SessionStoreUnavailableError, sessionTimeouts, type LoadedSession, type SessionStore } from './session';

/** Options of {@link CacheSessionStore}. */
export interface CacheSessionStoreOptions {
  /**
   * Prefix of the session keys.
   * @default 'session:'
   */
  readonly keyPrefix?: string;
  /**
   * A session unused for this long expires (sliding).
   * @default 86400 (24 hours)
   */
  readonly idleTimeoutSeconds?: number;
  /**
   * A session expires this long after its creation, however active.
   * @default 604800 (7 days)
   */
  readonly absoluteTimeoutSeconds?: number;
}

interface StoredSession {
  /** Creation time, epoch ms. */
  readonly c: number;
  /** The data. */
  readonly d: unknown;
}

const ID = /^[A-Za-z0-9_-]{43}$/;

/** Sessions in Valkey/Redis behind a random id. See the module documentation. */
export class CacheSessionStore<T = Record<string, unknown>> implements SessionStore<T> {
  public readonly kind = 'cache' as const;
  public readonly maxAgeSeconds: number;
  private readonly source: CacheClient | RedisClient;
  private readonly keyPrefix: string;
  private readonly idleMs: number;
  private readonly absoluteMs: number;

  /**
   * @param client - a {@link CacheClient} or an ioredis client
   * @param options - see {@link CacheSessionStoreOptions}
   * @throws RangeError for invalid timeouts
   */
  public constructor(client: CacheClient | RedisClient, options: CacheSessionStoreOptions = {}) {
    this.source = client;
    const { idle, absolute } = sessionTimeouts('CacheSessionStore', options.idleTimeoutSeconds, options.absoluteTimeoutSeconds);
    this.keyPrefix = options.keyPrefix ?? 'session:';
    this.idleMs = idle * 1000;
    this.absoluteMs = absolute * 1000;
    this.maxAgeSeconds = absolute;
  }

  public async create(data: T): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    const record: StoredSession = { c: Date.now(), d: data };
    // 256 random bits do not collide; NX makes sure a collision could never overwrite someone's session.
    const ok = await this.call('create', () => this.redis.set(this.key(token), JSON.stringify(record), 'PX', this.idleMs, 'NX'));
    if (ok !== 'OK') throw new Error('CacheSessionStore.create: session id collision (the random source is broken)');
    return token;
  }

  public async load(token: string | undefined): Promise<LoadedSession<T> | undefined> {
    if (token === undefined || !ID.test(token)) return undefined;
    const key = this.key(token);
    // GETEX slides the idle timeout, and is a write: a cache that takes no writes here (READONLY: a Global Datastore's
    // secondary region) answers a plain GET, and the session's expiry stays what the primary region set.
    let readOnly = false;
    const raw = await this.call('load', () => this.redis.getex(key, 'PX', this.idleMs).catch((e: unknown) => {
      if (!/\bREADONLY\b/.test((e as Error).message ?? '')) throw e;
      readOnly = true;
      return this.redis.get(key);
    }));
    if (raw === null) return undefined;
    const record = parse(raw);
    const now = Date.now();
    if (record === undefined || now - record.c >= this.absoluteMs) {
      if (!readOnly) await this.call('load', () => this.redis.del(key));
      return undefined;
    }
    const remaining = record.c + this.absoluteMs - now;
    if (remaining < this.idleMs && !readOnly) await this.call('load', () => this.redis.pexpire(key, remaining));
    return { data: record.d as T, token, renewed: false, createdAt: new Date(record.c), expiresAt: new Date(now + Math.min(this.idleMs, remaining)) };
  }

  public async save(token: string, data: T): Promise<string | undefined> {
    if (!ID.test(token)) return undefined;
    const key = this.key(token);
    const raw = await this.call('save', () => this.redis.get(key));
    const record = raw === null ? undefined : parse(raw);
    if (record === undefined) return undefined;
    const remaining = record.c + this.absoluteMs - Date.now();
    if (remaining <= 0) return undefined;
    // XX: never resurrect a session that expired or was destroyed between the read and the write.
    const ok = await this.call('save', () => this.redis.set(key, JSON.stringify({ c: record.c, d: data } satisfies StoredSession), 'PX', Math.min(this.idleMs, remaining), 'XX'));
    return ok === 'OK' ? token : undefined;
  }

  public async regenerate(token: string | undefined, data: T): Promise<string> {
    const fresh = await this.create(data);
    await this.destroy(token);
    return fresh;
  }

  public async destroy(token: string | undefined): Promise<void> {
    if (token === undefined || !ID.test(token)) return;
    await this.call('destroy', () => this.redis.del(this.key(token)));
  }

  /** The ioredis client in use (a {@link CacheClient}'s current one: it follows `retarget`). */
  private get redis(): RedisClient {
    return redisOf(this.source);
  }

  private key(token: string): string {
    return this.keyPrefix + createHash('sha256').update(token).digest('base64url');
  }

  private async call<R>(op: string, command: () => Promise<R>): Promise<R> {
    try {
      return await command();
    } catch (e) {
      throw new SessionStoreUnavailableError(`CacheSessionStore.${op}: the cache failed: ${(e as Error).message}`, e);
    }
  }
}

function parse(raw: string): StoredSession | undefined {
  try {
    const v = JSON.parse(raw) as Partial<StoredSession>;
    return typeof v === 'object' && v !== null && typeof v.c === 'number' && 'd' in v ? v as StoredSession : undefined;
  } catch {
    return undefined;
  }
}
