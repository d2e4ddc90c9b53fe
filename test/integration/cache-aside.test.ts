import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CacheAside, CacheClient } from '../../lib/runtime';
import { staticCredentials } from '../../lib/runtime/credentials';
import { Database } from '../../lib/runtime/database';
import { eventually, freePort, setReplicaApplyDelay, sleep } from './services';
import { lockReplica, onServer, waitForReplica } from './services/pg';
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
    // The load returns once all 40 first looks have missed (bounded), and 300 ms on: a look that reached the cluster
    // after the value was stored found it (a hit, not a wait shared with the waiting call: coalesced 18), once under
    // load (npm test beside 2 CPU burners).
    const allMissed = () => eventually(async () => inA.stats().misses + inB.stats().misses === 40, 10_000);
    const loader = countingLoader(() => ({ price: 42 }), 300);
    const load = (who: string) => async () => {
      const value = await loader.load(who)();
      await allMissed();
      return value;
    };
    const results = await Promise.all([
      ...Array.from({ length: 20 }, () => inA.getOrLoad('product:1', 60, load('a'))),
      ...Array.from({ length: 20 }, () => inB.getOrLoad('product:1', 60, load('b'))),
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

  it('after delete, caches a value loaded within the hold-off only until the hold-off ends, then loads again', async () => {
    // GIVEN a cached value, deleted after a write, and a loader that still returns the old row (a lagging replica)
    const namespace = unique('holdoff');
    // 1.5 s: the assertions within it take a few round trips, also on a loaded machine
    const cache = new CacheAside(a, { namespace, invalidationHoldOffMs: 1500 });
    const raw = new CacheAside(b, { namespace });
    await cache.set('product:{1}', 'v1', 60);
    let row = 'v1';
    const loads: string[] = [];
    const loader = () => { loads.push(row); return row; };
    expect(await cache.delete('product:{1}')).toBe(1);
    const deletedAt = Date.now();
    // WHEN it is read at once THEN the old row is returned and cached, but only until the hold-off ends
    expect(await cache.getOrLoad('product:{1}', 60, loader)).toBe('v1');
    expect(await raw.get('product:{1}')).toBe('v1'); // readable by other processes meanwhile, as a value
    const pttl = await a.redis.pttl(`${namespace}product:{1}`);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(1500);
    expect(await cache.getOrLoad('product:{1}', 60, loader)).toBe('v1'); // a hit, no load
    expect(cache.stats()).toMatchObject({ heldFills: 1, loads: 1 });
    // AND once the replica has the write and the hold-off is over, the next read loads it and caches it for its TTL
    row = 'v2';
    await sleep(Math.max(0, deletedAt + 1550 - Date.now()));
    expect(await cache.getOrLoad('product:{1}', 60, loader)).toBe('v2');
    expect(loads).toEqual(['v1', 'v2']);
    expect(await a.redis.pttl(`${namespace}product:{1}`)).toBeGreaterThan(50_000);
  });

  it('caches only until the hold-off ends a value whose load read before the write and stores after the delete', async () => {
    // GIVEN a load that reads the old row, and a delete while it runs; the load returns 250 ms after the delete
    // (its order forced: a 50 ms sleep before the delete against a 300 ms load left 35-85 ms of margin, and a delete
    // that came late under load made the hold-off's rest, measured below, 1875 ms)
    const namespace = unique('race');
    const [inA, inB] = [new CacheAside(a, { namespace, invalidationHoldOffMs: 2000 }), new CacheAside(b, { namespace, invalidationHoldOffMs: 2000 })];
    let loading!: () => void;
    const started = new Promise<void>((resolve) => { loading = resolve; });
    let deleted!: () => void;
    const afterDelete = new Promise<void>((resolve) => { deleted = resolve; });
    const slow = inA.getOrLoad('order:7', 60, async () => { const old = 'before'; loading(); await afterDelete; return old; });
    await started; // the load holds the lock and has read the old row
    await inB.delete('order:7');
    await sleep(250); // more than 200 ms of the 2 s hold-off are gone when the load stores: at most 1800 ms left
    deleted();
    // WHEN the load stores THEN its value expires with the hold-off, not after the 60 s TTL
    expect(await slow).toBe('before');
    const pttl = await a.redis.pttl(`${namespace}order:7`);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(1800);
    expect(inA.stats().heldFills).toBe(1);
    // AND a set replaces the hold-off
    await inA.set('order:7', 'after', 60);
    expect(await inB.get('order:7')).toBe('after');
    expect(await a.redis.pttl(`${namespace}order:7`)).toBeGreaterThan(50_000);
  });

  it('caches a "not found" loaded during a hold-off until it ends, read as absent by get', async () => {
    const namespace = unique('heldneg');
    const cache = new CacheAside(a, { namespace, invalidationHoldOffMs: 2000, negativeTtlSeconds: 30 });
    await cache.set('gone', 'was here', 60);
    await cache.delete('gone');
    expect(await cache.getOrLoad('gone', 60, () => undefined)).toBeUndefined();
    expect(await cache.get('gone')).toBeUndefined();
    expect(await cache.getOrLoad('gone', 60, () => 'not called')).toBeUndefined(); // the cached "not found"
    expect(cache.stats()).toMatchObject({ heldFills: 1, negativeHits: 1, loads: 1 });
  });

  it('keeps a value set() while a load ran, and replaces one it cannot decode', async () => {
    const namespace = unique('keep');
    const [inA, inB] = [new CacheAside(a, { namespace, ...quiet }), new CacheAside(b, { namespace })];
    // GIVEN a load of the old row, and a write-through set() of the new one while it runs
    let started!: () => void;
    const loading = new Promise<void>((resolve) => { started = resolve; });
    const slow = inA.getOrLoad('item', 60, async () => { started(); await sleep(200); return 'old'; });
    await loading; // the load holds the lock and runs
    await inB.set('item', 'new', 60);
    // THEN the loader's caller gets its value, and the cache keeps the newer one
    expect(await slow).toBe('old');
    expect(await inB.get('item')).toBe('new');
    // AND a value that cannot be decoded is replaced by the next load
    await a.redis.set(`${namespace}bad`, '{not json', 'PX', 60_000);
    expect(await inA.getOrLoad('bad', 60, () => 'fixed')).toBe('fixed');
    expect(await inB.get('bad')).toBe('fixed');
  });

  it('with invalidationHoldOffMs 0, delete removes the key and the next load is cached for its TTL', async () => {
    const namespace = unique('nohold');
    const cache = new CacheAside(a, { namespace, invalidationHoldOffMs: 0 });
    await cache.set('k', 'v1', 60);
    expect(await cache.delete('k', 'absent')).toBe(1);
    expect(await a.redis.exists(`${namespace}k`)).toBe(0);
    expect(await cache.getOrLoad('k', 60, () => 'v1')).toBe('v1');
    expect(await a.redis.pttl(`${namespace}k`)).toBeGreaterThan(50_000);
    expect(cache.stats().heldFills).toBe(0);
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
    let holding!: () => void;
    const bHeld = new Promise<void>((resolve) => { holding = resolve; });
    (redisB as unknown as { get: typeof get }).get = (async (k: string) => {
      const raw = await get(k);
      if (k === namespace + key && ++looks === 2) {
        held = true;
        holding();
        await aDone;
      }
      return raw;
    }) as typeof get;
    try {
      const fromB = inB.getOrLoad(key, 60, loader.load(key));
      await bHeld; // B has looked (found nothing) and is held before taking the lock
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

  it('serves hits from a cache that refuses writes (a Global Datastore secondary) and loads misses without errors, until it takes writes again', async () => {
    // GIVEN a cached value, then the server made a replica of a primary it cannot reach: reads work, writes answer READONLY
    const client = await CacheClient.connect({ host: '127.0.0.1', port: server.nodes[0]!.port, tls: false, clusterMode: false, username: server.user, password: server.password, ...quiet });
    const errors: string[] = [];
    try {
      // 2 s: the 20 reads below fall in one window, also on a loaded machine
      const cache = new CacheAside(client, { readOnlyRetryMs: 2000, breakerThreshold: 2, onError: (e) => errors.push(e.message) });
      await cache.set('cached', 'v', 60);
      await server.cli(server.nodes[0]!.port, 'REPLICAOF', '127.0.0.1', String(await freePort()));
      await expect(client.redis.set('probe', 'x')).rejects.toThrow(/READONLY/);
      // WHEN it is read THEN hits come from it, and misses from the loader, with no cache error and no open breaker
      for (let i = 0; i < 10; i++) {
        expect(await cache.getOrLoad('cached', 60, () => 'db')).toBe('v');
        expect(await cache.getOrLoad(`miss-${i}`, 60, () => `db-${i}`)).toBe(`db-${i}`);
      }
      expect(cache.stats()).toMatchObject({ hits: 10, misses: 10, readOnlyLoads: 10, loads: 10, errors: 0, bypassed: 0, degradedLoads: 0 });
      expect(errors).toEqual([expect.stringMatching(/^the cache refuses writes here \(READONLY/)]);
      // AND once it takes writes again (promoted), the next miss after readOnlyRetryMs stores its value
      const promotedAt = Date.now(); // the read-only window began before, at the first miss
      await server.cli(server.nodes[0]!.port, 'REPLICAOF', 'NO', 'ONE');
      await sleep(Math.max(0, promotedAt + 2050 - Date.now()));
      expect(await cache.getOrLoad('after', 60, () => 'stored')).toBe('stored');
      expect(await cache.get('after')).toBe('stored');
    } finally {
      await server.cli(server.nodes[0]!.port, 'REPLICAOF', 'NO', 'ONE').catch(() => '');
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

describe('CacheAside over a PostgreSQL replica that lags (the documented getOrLoad + delete pattern)', () => {
  const { primary, replica, user, password, database } = services.postgres;
  let db: Database;
  let cache: CacheClient;
  let releaseReplica: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    // This file injects replica lag: hold the standby for it (other files assert where reads land).
    releaseReplica = await lockReplica(services);
    await onServer(services, primary, 'CREATE TABLE IF NOT EXISTS it_catalog (id text PRIMARY KEY, price int NOT NULL)');
    await onServer(services, primary, "INSERT INTO it_catalog (id, price) VALUES ('p1', 100) ON CONFLICT (id) DO UPDATE SET price = 100");
    await waitForReplica(services);
    db = new Database({
      endpoints: { writer: primary.host, port: primary.port, databaseName: database, engine: 'postgres', authentication: 'password', role: 'primary', writeForwarding: false, source: '/it/database' },
      readers: [`${replica.host}:${replica.port}`],
      credentials: staticCredentials(user, password),
      applicationName: 'it-cache-aside',
      onError: () => undefined,
    });
    cache = await CacheClient.connect(sharedCacheTargets(services)[0]!.options);
  });
  afterAll(async () => {
    await setReplicaApplyDelay(services, 0);
    await db?.close();
    await cache?.close();
    await releaseReplica?.();
  });

  /** The price as a replica read (eventual consistency) sees it, through the cache. */
  const price = (c: CacheAside) => c.getOrLoad('product:p1', 300, async () => (await db.read<{ price: number }>('SELECT price FROM it_catalog WHERE id = $1', ['p1'])).rows[0]!.price);

  it('does not keep serving the row a lagging replica returned right after the write, once the replica has caught up', async () => {
    // GIVEN replicas that apply commits 1 s late, and the cached price
    await setReplicaApplyDelay(services, 1000);
    const held = new CacheAside(cache, { namespace: unique('lag'), invalidationHoldOffMs: 2500 });
    const plain = new CacheAside(cache, { namespace: unique('lag0'), invalidationHoldOffMs: 0 });
    for (const c of [held, plain]) expect(await price(c)).toBe(100);
    // WHEN the price changes and each cache is invalidated, and read at once (a request right after the write)
    await db.write("UPDATE it_catalog SET price = 120 WHERE id = 'p1'");
    await Promise.all([held.delete('product:p1'), plain.delete('product:p1')]);
    const invalidatedAt = Date.now();
    // THEN both return the replica's old row (the loader reads a replica)
    expect(await price(held)).toBe(100);
    expect(await price(plain)).toBe(100);
    // AND once the replica has the write and the hold-off is over, the held cache serves the new price, while
    // without a hold-off the old one stays for the whole 300 s TTL
    await waitForReplica(services);
    await sleep(Math.max(0, invalidatedAt + 2600 - Date.now()));
    expect((await db.read<{ price: number }>('SELECT price FROM it_catalog WHERE id = $1', ['p1'])).rows[0]!.price).toBe(120);
    expect(await price(held)).toBe(120);
    expect(await price(plain)).toBe(100);
    expect(held.stats()).toMatchObject({ heldFills: 1, loads: 3 });
  });
});
