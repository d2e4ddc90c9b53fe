import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CacheAside, CacheClient } from '../../lib/runtime';
import { freePort, sleep } from './services';
import { sharedCacheTargets, startPrivateRedis, type PrivateRedis } from './services/redis';

const services = inject('services');
const quiet = { onError: () => { /* counted in stats() */ } };
const unique = (what: string): string => `${what}-${randomBytes(4).toString('hex')}:`;

const targets = sharedCacheTargets(services);

/** A loader that counts its calls and answers after `delayMs`. */
function countingLoader<T>(value: (key: string) => T, delayMs = 0): { calls: string[]; load: (key: string) => () => Promise<T> } {
  const calls: string[] = [];
  return {
    calls,
    load: (key) => async () => {
      calls.push(key);
      if (delayMs > 0) await sleep(delayMs);
      return value(key);
    },
  };
}

describe.each(targets)('CacheAside on Redis $name', ({ options }) => {
  let a: CacheClient;
  let b: CacheClient;
  beforeAll(async () => {
    // Two clients with their own connections: to the cache they are two application processes.
    [a, b] = await Promise.all([CacheClient.connect(options), CacheClient.connect(options)]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  it('serves a repeated read set from the cache: one load per key, hit ratio 90% over 10 rounds', async () => {
    const cache = new CacheAside(a, { namespace: unique('hits') });
    const loader = countingLoader((key) => ({ key, at: 'db' }));
    const keys = Array.from({ length: 50 }, (_, i) => `item:${i}`);
    for (let round = 0; round < 10; round++) {
      for (const key of keys) expect(await cache.getOrLoad(key, 60, loader.load(key))).toEqual({ key, at: 'db' });
    }
    expect(loader.calls).toHaveLength(50);
    expect(new Set(loader.calls).size).toBe(50);
    const stats = cache.stats();
    expect(stats).toMatchObject({ hits: 450, misses: 50, loads: 50, errors: 0, bypassed: 0 });
    expect(stats.hitRatio).toBeCloseTo(0.9, 10);
  });

  it('loads once for 50 concurrent misses in one process (single-flight)', async () => {
    const cache = new CacheAside(a, { namespace: unique('flight') });
    const loader = countingLoader(() => 'v', 100);
    const results = await Promise.all(Array.from({ length: 50 }, () => cache.getOrLoad('hot', 60, loader.load('hot'))));
    expect(results.every((r) => r === 'v')).toBe(true);
    expect(loader.calls).toHaveLength(1);
    expect(cache.stats()).toMatchObject({ loads: 1, coalesced: 49 });
  });

  it('loads once for concurrent misses from two processes (the lock key), the other waits for the value', async () => {
    const namespace = unique('stampede');
    const [inA, inB] = [new CacheAside(a, { namespace }), new CacheAside(b, { namespace })];
    const loader = countingLoader(() => ({ price: 42 }), 300);
    const results = await Promise.all([
      ...Array.from({ length: 20 }, () => inA.getOrLoad('product:1', 60, loader.load('a'))),
      ...Array.from({ length: 20 }, () => inB.getOrLoad('product:1', 60, loader.load('b'))),
    ]);
    expect(results.every((r) => r.price === 42)).toBe(true);
    expect(loader.calls).toHaveLength(1);
    const waiter = loader.calls[0] === 'a' ? inB : inA;
    expect(waiter.stats()).toMatchObject({ loads: 0, lockWaits: 1, lockWaitHits: 1, lockWaitTimeouts: 0, coalesced: 19 });
  });

  it('stops waiting for a lock whose holder died after lockWaitMs and loads by itself', async () => {
    const namespace = unique('dead-holder');
    const cache = new CacheAside(a, { namespace, lockWaitMs: 150 });
    // A holder that took the lock and crashed: the lock stays for its TTL.
    await a.redis.set(`{${namespace}item}:lock`, 'crashed-holder', 'PX', 30_000);
    const loader = countingLoader(() => 'fresh');
    expect(await cache.getOrLoad('item', 60, loader.load('item'))).toBe('fresh');
    expect(loader.calls).toHaveLength(1);
    expect(cache.stats()).toMatchObject({ lockWaits: 1, lockWaitTimeouts: 1, loads: 1 });
    // The stored value serves the next caller without waiting.
    expect(await cache.getOrLoad('item', 60, loader.load('item'))).toBe('fresh');
    expect(loader.calls).toHaveLength(1);
  });

  it('passes a loader error to every waiting caller, caches nothing and releases the lock', async () => {
    const cache = new CacheAside(a, { namespace: unique('failing') });
    let calls = 0;
    const failing = async (): Promise<string> => {
      calls++;
      await sleep(50);
      throw new Error('database down');
    };
    const settled = await Promise.allSettled(Array.from({ length: 5 }, () => cache.getOrLoad('k', 60, failing)));
    expect(settled.every((s) => s.status === 'rejected' && /database down/.test(String(s.reason)))).toBe(true);
    expect(calls).toBe(1);
    // The lock was released: the next call loads at once instead of waiting lockWaitMs.
    expect(await cache.getOrLoad('k', 60, () => 'recovered')).toBe('recovered');
    expect(cache.stats()).toMatchObject({ loadErrors: 1, lockWaits: 0 });
  });

  it('caches "not found" only when asked to, for the negative TTL', async () => {
    const namespace = unique('negative');
    const plain = new CacheAside(a, { namespace });
    const loader = countingLoader(() => undefined);
    expect(await plain.getOrLoad('missing', 60, loader.load('x'))).toBeUndefined();
    expect(await plain.getOrLoad('missing', 60, loader.load('x'))).toBeUndefined();
    expect(loader.calls).toHaveLength(2);

    const negative = new CacheAside(a, { namespace, negativeTtlSeconds: 30 });
    expect(await negative.getOrLoad('gone', 60, loader.load('y'))).toBeUndefined();
    expect(await negative.getOrLoad('gone', 60, loader.load('y'))).toBeUndefined();
    expect(loader.calls).toHaveLength(3);
    expect(negative.stats().negativeHits).toBe(1);
    const ttl = await a.redis.pttl(`${namespace}gone`);
    expect(ttl).toBeGreaterThan(25_000);
    expect(ttl).toBeLessThanOrEqual(30_000);
    expect(await negative.get('gone')).toBeUndefined();
  });

  it('stores values with the TTL shortened by the jitter, never lengthened', async () => {
    const namespace = unique('jitter');
    const cache = new CacheAside(a, { namespace, ttlJitter: 0.5 });
    const ttls: number[] = [];
    for (let i = 0; i < 20; i++) {
      await cache.getOrLoad(`k${i}`, 100, () => i);
      ttls.push(await a.redis.pttl(`${namespace}k${i}`));
    }
    expect(Math.min(...ttls)).toBeGreaterThan(49_000);
    expect(Math.max(...ttls)).toBeLessThanOrEqual(100_000);
    expect(new Set(ttls.map((t) => Math.round(t / 1000))).size).toBeGreaterThan(5);
  });

  it('invalidates with delete, and get/set round-trip', async () => {
    const cache = new CacheAside(a, { namespace: unique('crud') });
    await cache.set('user:{7}:profile', { name: 'Ada' }, 60);
    expect(await cache.get('user:{7}:profile')).toEqual({ name: 'Ada' });
    expect(await cache.getOrLoad('user:{7}:profile', 60, () => ({ name: 'stale loader' }))).toEqual({ name: 'Ada' });
    expect(await cache.delete('user:{7}:profile', 'never-set')).toBe(1);
    expect(await cache.getOrLoad('user:{7}:profile', 60, () => ({ name: 'Ada Lovelace' }))).toEqual({ name: 'Ada Lovelace' });
  });

  it('loads once when another process stores the value and releases its lock between this one\'s look and its lock (keys whose lock cannot share the slot)', async () => {
    const namespace = unique('late');
    const key = 'odd}late';
    const [inA, inB] = [new CacheAside(a, { namespace }), new CacheAside(b, { namespace })];
    const loader = countingLoader(() => key, 20);
    // GIVEN B's look just before it takes the lock (its second GET of the key) answers "none" only after A has
    // loaded, stored and released its lock
    const redisB = b.redis;
    const get = redisB.get.bind(redisB);
    let releaseB!: () => void;
    const aDone = new Promise<void>((resolve) => { releaseB = resolve; });
    let looks = 0;
    let held = false;
    (redisB as unknown as { get: typeof get }).get = (async (k: string) => {
      const raw = await get(k);
      if (k === namespace + key && ++looks === 2) {
        held = true;
        await aDone;
      }
      return raw;
    }) as typeof get;
    try {
      const fromB = inB.getOrLoad(key, 60, loader.load(key));
      await new Promise((r) => setTimeout(r, 50)); // B has looked (and is held)
      expect(await inA.getOrLoad(key, 60, loader.load(key))).toBe(key);
      releaseB();
      // WHEN B goes on to take the free lock THEN it finds A's value instead of loading again
      expect(await fromB).toBe(key);
      expect(loader.calls).toHaveLength(1);
      expect(held).toBe(true);
    } finally {
      (redisB as unknown as { get: typeof get }).get = get;
    }
  });

  it('keeps stampede protection for keys with hash tags or a stray "}"', async () => {
    const namespace = unique('tags');
    for (const key of ['order:{42}:lines', 'odd}key', '{}empty-tag']) {
      const [inA, inB] = [new CacheAside(a, { namespace }), new CacheAside(b, { namespace })];
      const loader = countingLoader(() => key, 100);
      const out = await Promise.all([inA.getOrLoad(key, 60, loader.load(key)), inB.getOrLoad(key, 60, loader.load(key))]);
      expect(out).toEqual([key, key]);
      expect(loader.calls).toHaveLength(1);
    }
  });
});

describe('CacheAside when the cache is unreachable or stops', () => {
  let server: PrivateRedis;
  beforeAll(async () => {
    server = await startPrivateRedis(services);
  });
  afterAll(() => server?.stop());

  it('calls the loader when nothing listens (never connected), once per key per process', async () => {
    const client = await CacheClient.create({ host: '127.0.0.1', port: await freePort(), tls: false, clusterMode: false, ...quiet });
    try {
      const cache = new CacheAside(client, quiet);
      const loader = countingLoader((key) => `db:${key}`, 50);
      const out = await Promise.all(Array.from({ length: 10 }, () => cache.getOrLoad('k', 60, loader.load('k'))));
      expect(out.every((v) => v === 'db:k')).toBe(true);
      expect(loader.calls).toHaveLength(1);
      expect(await cache.getOrLoad('other', 60, loader.load('other'))).toBe('db:other');
      expect(cache.stats()).toMatchObject({ bypassed: 2, degradedLoads: 2, coalesced: 9, hits: 0 });
    } finally {
      client.disconnect();
    }
  });

  it('degrades to the loader while the server is stopped and uses the cache again once the client reconnects', async () => {
    const client = await CacheClient.connect({ host: '127.0.0.1', port: server.nodes[0]!.port, tls: false, clusterMode: false, username: server.user, password: server.password, ...quiet });
    try {
      const cache = new CacheAside(client, { ...quiet, breakerCooldownMs: 200 });
      expect(await cache.getOrLoad('k', 60, () => 'warm')).toBe('warm');
      expect(await cache.getOrLoad('k', 60, () => 'unused')).toBe('warm');

      await server.stopNode(0);
      let answered = 0;
      for (let i = 0; i < 20; i++) {
        expect(await cache.getOrLoad('k', 60, () => `db-${i}`)).toBe(`db-${i}`);
        answered++;
      }
      expect(answered).toBe(20);
      const stats = cache.stats();
      expect(stats.degradedLoads).toBe(20);
      expect(stats.errors + stats.bypassed).toBeGreaterThanOrEqual(20);
      await expect(cache.get('k')).rejects.toThrow();

      await server.startNode(0);
      let hitsAgain = false;
      for (let i = 0; i < 200 && !hitsAgain; i++) {
        const before = cache.stats().hits;
        await cache.getOrLoad('back', 60, () => 'reloaded');
        await cache.getOrLoad('back', 60, () => 'reloaded');
        hitsAgain = cache.stats().hits > before;
        if (!hitsAgain) await sleep(50);
      }
      expect(hitsAgain).toBe(true);
    } finally {
      client.disconnect();
    }
  });
});
