import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  CacheClient, CacheSessionStore, SealedSessionStore, SessionStoreUnavailableError, readCookie, secretsManagerSecretVersions, sessionCookie,
} from '../../lib/runtime';
import { motoClientConfig } from './services/aws';
import { freePort, sleep } from './services';
import { sharedCacheTargets, startPrivateRedis, type PrivateRedis } from './services/redis';

const services = inject('services');
const quiet = { onError: () => { /* expected */ } };
const unique = (what: string): string => `${what}-${randomBytes(4).toString('hex')}`;

const targets = sharedCacheTargets(services);

describe.each(targets)('CacheSessionStore on Redis $name', ({ options }) => {
  let cache: CacheClient;
  beforeAll(async () => {
    cache = await CacheClient.connect(options);
  });
  afterAll(() => cache?.close());

  it('round-trips a session through the cookie, storing it under the hash of the id', async () => {
    const keyPrefix = `${unique('sess')}:`;
    const sessions = new CacheSessionStore<{ userId: string; cart: number[] }>(cache, { keyPrefix });
    const token = await sessions.create({ userId: 'u-1', cart: [1, 2] });
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // A web request: the browser sends the cookie back.
    const setCookie = sessionCookie(sessions, token);
    const cookieHeader = `other=1; ${setCookie.split(';')[0]}`;
    const loaded = await sessions.load(readCookie(cookieHeader, '__Host-s2m-session'));
    expect(loaded).toMatchObject({ data: { userId: 'u-1', cart: [1, 2] }, token, renewed: false });
    // Whoever reads the cache sees no usable id.
    const hashed = `${keyPrefix}${createHash('sha256').update(token).digest('base64url')}`;
    expect(await cache.redis.exists(hashed)).toBe(1);
    expect(await cache.redis.exists(`${keyPrefix}${token}`)).toBe(0);

    expect(await sessions.save(token, { userId: 'u-1', cart: [1, 2, 3] })).toBe(token);
    expect((await sessions.load(token))!.data.cart).toEqual([1, 2, 3]);
    await sessions.destroy(token);
    expect(await sessions.load(token)).toBeUndefined();
    expect(await sessions.save(token, { userId: 'u-1', cart: [] })).toBeUndefined();
    expect(await cache.redis.exists(hashed)).toBe(0);
  });

  it('regenerates the id at login: the old token is worthless', async () => {
    const sessions = new CacheSessionStore<{ userId?: string }>(cache, { keyPrefix: `${unique('fixation')}:` });
    const anonymous = await sessions.create({});
    const loggedIn = await sessions.regenerate(anonymous, { userId: 'u-9' });
    expect(loggedIn).not.toBe(anonymous);
    expect(await sessions.load(anonymous)).toBeUndefined();
    expect((await sessions.load(loggedIn))!.data).toEqual({ userId: 'u-9' });
  });

  it('slides the idle timeout on every load and expires an idle session', async () => {
    const sessions = new CacheSessionStore<{ n: number }>(cache, { keyPrefix: `${unique('idle')}:`, idleTimeoutSeconds: 2, absoluteTimeoutSeconds: 60 });
    const token = await sessions.create({ n: 1 });
    // Used every 0.7 s for 2.8 s: longer than the idle timeout, still alive (a load may come 1.3 s late).
    for (let i = 0; i < 4; i++) {
      await sleep(700);
      expect(await sessions.load(token), `load ${i}`).toBeDefined();
    }
    await sleep(2_500);
    expect(await sessions.load(token)).toBeUndefined();
  });

  it('ends a session at its absolute lifetime however active', async () => {
    const sessions = new CacheSessionStore<{ n: number }>(cache, { keyPrefix: `${unique('absolute')}:`, idleTimeoutSeconds: 1, absoluteTimeoutSeconds: 2 });
    const token = await sessions.create({ n: 1 });
    const loaded = await sessions.load(token);
    expect(loaded!.expiresAt.getTime() - loaded!.createdAt.getTime()).toBeLessThanOrEqual(2_000);
    let alive = true;
    for (let i = 0; i < 8 && alive; i++) {
      await sleep(400);
      alive = (await sessions.load(token)) !== undefined;
    }
    expect(alive).toBe(false);
  });

  it('ignores malformed cookie values without touching the cache', async () => {
    const sessions = new CacheSessionStore(cache);
    for (const bad of [undefined, '', 'short', 'x'.repeat(43) + '!', '*'.repeat(43)]) expect(await sessions.load(bad)).toBeUndefined();
  });
});

describe('CacheSessionStore when the cache is unreachable', () => {
  it('says so (SessionStoreUnavailableError: answer 503) rather than logging the user out', async () => {
    const client = await CacheClient.create({ host: '127.0.0.1', port: await freePort(), tls: false, clusterMode: false, commandTimeoutMs: 200, ...quiet });
    try {
      const sessions = new CacheSessionStore(client);
      await expect(sessions.load('A'.repeat(43))).rejects.toThrow(SessionStoreUnavailableError);
      await expect(sessions.create({})).rejects.toThrow(/CacheSessionStore\.create: the cache failed/);
    } finally {
      client.disconnect();
    }
  });
});

describe('CacheSessionStore on a cache that takes no writes (a Global Datastore secondary; a private server)', () => {
  let server: PrivateRedis;
  beforeAll(async () => {
    server = await startPrivateRedis(services);
  });
  afterAll(() => server?.stop());

  it('loads a session replicated from the primary region (a plain GET) instead of failing every request with 503', async () => {
    const client = await CacheClient.connect({ host: '127.0.0.1', port: server.nodes[0]!.port, tls: false, clusterMode: false, username: server.user, password: server.password, ...quiet });
    try {
      const sessions = new CacheSessionStore<{ userId: string }>(client);
      const token = await sessions.create({ userId: 'u1' });
      // WHEN the server becomes a replica (writes answer READONLY)
      await server.cli(server.nodes[0]!.port, 'REPLICAOF', '127.0.0.1', String(await freePort()));
      await expect(client.redis.set('probe', 'x')).rejects.toThrow(/READONLY/);
      // THEN the session loads, and its expiry is left as the primary set it
      const loaded = await sessions.load(token);
      expect(loaded?.data).toEqual({ userId: 'u1' });
      // while creating one still says the store is unavailable there
      await expect(sessions.create({ userId: 'u2' })).rejects.toThrow(SessionStoreUnavailableError);
    } finally {
      await server.cli(server.nodes[0]!.port, 'REPLICAOF', 'NO', 'ONE').catch(() => '');
      client.disconnect();
    }
  });
});

describe('SealedSessionStore with a Secrets Manager secret that rotates (moto)', () => {
  const sm = new SecretsManagerClient(motoClientConfig(services));
  afterAll(() => sm.destroy());

  it('keeps sessions across servers and a rotation: previous-key tokens accepted and re-sealed, tampered ones rejected', async () => {
    const secret = await sm.send(new CreateSecretCommand({ Name: unique('sessions'), SecretString: randomBytes(32).toString('base64') }));
    const secrets = secretsManagerSecretVersions({ secretId: secret.ARN!, client: sm });
    // Two servers (say, one per region: the secret is replicated) with their own stores.
    const regionA = new SealedSessionStore<{ userId: string }>({ secrets, minKeyRefreshIntervalMs: 0 });
    const regionB = new SealedSessionStore<{ userId: string }>({ secrets, minKeyRefreshIntervalMs: 0 });

    const token = await regionA.create({ userId: 'u-1' });
    expect((await regionB.load(token))!.data).toEqual({ userId: 'u-1' });

    // One character of the sealed body changed, in its initialization vector (every bit of it data): changing the last
    // two characters to 'BA' or 'AA' left the random token as it was when it ended in 'BA' (21 of 20000 tokens), and
    // that token then loaded
    const at = token.lastIndexOf('.') + 10;
    const tampered = token.slice(0, at) + (token[at] === 'A' ? 'B' : 'A') + token.slice(at + 1);
    expect(tampered).not.toBe(token);
    expect(await regionB.load(tampered)).toBeUndefined();

    // Rotate: AWSCURRENT gets a new value, the old one becomes AWSPREVIOUS.
    await sm.send(new PutSecretValueCommand({ SecretId: secret.ARN!, SecretString: randomBytes(32).toString('base64') }));
    const versions = await secrets();
    expect(versions.previous).toBeDefined();

    // A server that has read the rotated secret accepts the old token and re-seals it with the new key.
    const fresh = new SealedSessionStore<{ userId: string }>({ secrets });
    const migrated = await fresh.load(token);
    expect(migrated).toMatchObject({ data: { userId: 'u-1' }, renewed: true });
    expect(migrated!.token.split('.')[1]).not.toBe(token.split('.')[1]);
    expect(fresh.stats().previousKeyAccepted).toBe(1);

    // regionA still holds only the old key: the new token's key id makes it re-read the secret.
    const beforeRefresh = regionA.stats().keyRefreshes;
    expect((await regionA.load(migrated!.token))!.data).toEqual({ userId: 'u-1' });
    expect(regionA.stats().keyRefreshes).toBe(beforeRefresh + 1);
    expect(regionB.stats().rejected.tampered).toBe(1);
  });
});
