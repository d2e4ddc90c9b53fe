import { describe, expect, it } from 'vitest';
import { CacheAside, hashTag, jsonSerializer, lockKeyFor, type RedisClient } from '../../../lib/runtime';
import { scriptCommandName } from '../../../lib/runtime/cache-aside';

/** Redis Cluster's key slot: CRC16/XMODEM of the hash tag (or the whole key) mod 16384. */
function calculateSlot(key: string): number {
  const tagged = hashTag(key) ?? key;
  let crc = 0;
  for (const byte of Buffer.from(tagged, 'utf8')) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16_384;
}

describe('calculateSlot (the test oracle)', () => {
  // Values from CLUSTER KEYSLOT on redis-server 7.0.
  it.each([['foo', 12_182], ['bar', 5_061], ['hello', 866], ['123456789', 12_739], ['user:{42}:profile', 8_000]])('%s → %d', (key, slot) => {
    expect(calculateSlot(key)).toBe(slot);
  });
});

describe('hashTag', () => {
  it.each([
    ['user:{42}:profile', '42'],
    ['{a}{b}', 'a'],
    ['no-tag', undefined],
    ['{}empty', undefined],
    ['a{b', undefined],
    ['a}b{c}', 'c'],
    ['{{x}}', '{x'],
  ])('%s → %s (as Redis Cluster hashes it)', (key, tag) => {
    expect(hashTag(key)).toBe(tag);
  });
});

describe('lockKeyFor', () => {
  const keys = ['catalog:product:1', 'user:{42}:profile', 'a{b', '{}x', '{', 'a}b', 'odd}key{', 'x}{y}', ''];
  it.each(keys)('puts the lock of %j in the same slot whenever it says so', (key) => {
    const lock = lockKeyFor(key);
    expect(lock.key).not.toBe(key);
    if (lock.sameSlot) expect(calculateSlot(lock.key)).toBe(calculateSlot(key));
  });

  it('finds a same-slot lock for every key without a stray "}"', () => {
    for (const key of ['plain', 'with{open', 'tag{ok}', '']) {
      expect(lockKeyFor(key).sameSlot).toBe(key !== '');
    }
    expect(lockKeyFor('a}b').sameSlot).toBe(false);
    expect(lockKeyFor('{}').sameSlot).toBe(false);
  });
});

describe('jsonSerializer', () => {
  it('round-trips JSON values', () => {
    const value = { a: [1, 'two', null, { b: true }] };
    expect(jsonSerializer.deserialize(jsonSerializer.serialize(value))).toEqual(value);
  });

  it('fails clearly for a value with no JSON form', () => {
    expect(() => jsonSerializer.serialize(() => 1)).toThrow(/no JSON form; return undefined for "not found"/);
  });
});

describe('CacheAside options', () => {
  // Only defineCommand and status are touched by the constructor.
  const fake = { status: 'ready', defineCommand: () => undefined } as unknown as RedisClient;

  it.each([
    [{ ttlJitter: 1 }, /ttlJitter must be in \[0, 1\) \(got: 1\)/],
    [{ ttlJitter: -0.1 }, /ttlJitter must be in \[0, 1\) \(got: -0\.1\)/],
    [{ negativeTtlSeconds: 0 }, /negativeTtlSeconds must be a positive number of seconds \(got: 0\)/],
    [{ lockTtlMs: 0 }, /lockTtlMs must be at least 1 ms \(got: 0\)/],
    [{ lockPollMs: 50, lockPollMaxMs: 10 }, /lockPollMaxMs must be at least lockPollMs \(50\) \(got: 10\)/],
    [{ invalidationHoldOffMs: -1 }, /invalidationHoldOffMs must be a whole number of ms >= 0 \(got: -1\)/],
    [{ invalidationHoldOffMs: 0.5 }, /invalidationHoldOffMs must be a whole number of ms >= 0 \(got: 0.5\)/],
    [{ readOnlyRetryMs: -1 }, /readOnlyRetryMs must be >= 0 ms \(got: -1\)/],
    [{ breakerThreshold: 1.5 }, /breakerThreshold must be a whole number >= 1 \(got: 1\.5\)/],
  ])('fails for %j', (options, message) => {
    expect(() => new CacheAside(fake, options)).toThrow(message);
  });

  it('defines its scripts under names of their own text, so a client an earlier version defined other Lua on runs this version\'s', () => {
    const defined: string[] = [];
    // GIVEN a client with the commands of an earlier version (same names, other Lua)
    const client = {
      status: 'ready', s2mCacheTryLock: () => undefined, s2mCacheReleaseLock: () => undefined, s2mCacheStore: () => undefined,
      defineCommand(name: string) { defined.push(name); (this as unknown as Record<string, unknown>)[name] = () => undefined; },
    } as unknown as RedisClient;
    // WHEN two CacheAsides use it THEN the first defines all four under hashed names, the second none
    new CacheAside(client);
    new CacheAside(client);
    expect(defined).toHaveLength(4);
    for (const name of defined) expect(name).toMatch(/^s2mCache(TryLock|ReleaseLock|Store|Invalidate)_[0-9a-f]{8}$/);
    expect(scriptCommandName('s2mCacheStore', 'return 1')).not.toBe(scriptCommandName('s2mCacheStore', 'return 2'));
  });

  it('rejects a non-positive TTL naming the key', async () => {
    const cache = new CacheAside(fake);
    await expect(cache.getOrLoad('k', 0, () => 1)).rejects.toThrow(/getOrLoad\("k"\): ttlSeconds must be a positive number \(got: 0\)/);
  });
});

/**
 * A CacheAside over a Redis whose GETs wait until the test settles them (`pending`), with a breaker that opens at the
 * first failure and cools down for 20 ms.
 */
function hangingCache(): { pending: Array<{ resolve: (v: string | null) => void; reject: (e: Error) => void }>; cache: CacheAside } {
  const pending: Array<{ resolve: (v: string | null) => void; reject: (e: Error) => void }> = [];
  const redis = {
    status: 'ready',
    get: () => new Promise<string | null>((resolve, reject) => { pending.push({ resolve, reject }); }),
    defineCommand: () => undefined,
  } as unknown as RedisClient;
  return { pending, cache: new CacheAside(redis, { breakerThreshold: 1, breakerCooldownMs: 20, onError: () => undefined }) };
}

describe('CacheAside circuit breaker', () => {
  it('lets one call probe a cache that failed once the cooldown ends, while the others bypass it (half-open)', async () => {
    // GIVEN a cache whose commands hang until the test answers them
    const { pending, cache } = hangingCache();
    const load = (v: string) => () => v;
    // WHEN one get fails (the breaker opens) and the cooldown passes
    const first = cache.getOrLoad('a', 60, load('db-a'));
    pending.shift()!.reject(new Error('Command timed out'));
    expect(await first).toBe('db-a');
    await new Promise((r) => setTimeout(r, 30));
    // THEN of ten calls at once, one goes to the cache (and hangs), nine bypass it
    const calls = Array.from({ length: 10 }, (_, i) => cache.getOrLoad(`k${i}`, 60, load(`db-${i}`)));
    await new Promise((r) => setImmediate(r));
    expect(pending).toHaveLength(1);
    expect(cache.stats().bypassed).toBe(9);
    // AND when the probe answers (a hit), the breaker closes: the next call asks the cache again
    pending.shift()!.resolve(JSON.stringify('cached'));
    expect(await Promise.all(calls)).toEqual(['cached', ...Array.from({ length: 9 }, (_, i) => `db-${i + 1}`)]);
    const after = cache.getOrLoad('z', 60, load('db-z'));
    await new Promise((r) => setImmediate(r));
    expect(pending).toHaveLength(1);
    pending.shift()!.resolve(JSON.stringify('z-cached'));
    expect(await after).toBe('z-cached');
  });
});

describe('CacheAside circuit breaker and loads that store nothing', () => {
  it('does not spend the half-open probe on a degraded load that has nothing to store (not found, no negative caching)', async () => {
    const { pending, cache } = hangingCache();
    // GIVEN an open breaker, and a load bypassing the cache that ends after the cooldown with nothing found
    const first = cache.getOrLoad('a', 60, () => 'db-a');
    pending.shift()!.reject(new Error('Command timed out'));
    await first;
    const slow = cache.getOrLoad('b', 60, () => new Promise<undefined>((r) => setTimeout(() => r(undefined), 30)));
    expect(await slow).toBeUndefined();
    // WHEN the next call comes THEN it is the probe: it asks the cache
    const next = cache.getOrLoad('c', 60, () => 'db-c');
    await new Promise((r) => setImmediate(r));
    expect(pending).toHaveLength(1);
    pending.shift()!.resolve(JSON.stringify('cached-c'));
    expect(await next).toBe('cached-c');
  });
});
