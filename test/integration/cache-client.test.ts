import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { randomBytes } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CacheAside, CacheClient, CacheConnectError, CacheRetargetSupersededError, CacheSessionStore, Idempotency, cacheClientOptionsFromParameters, secretsManagerSecret, type CacheClientOptions } from '../../lib/runtime';
import { CACHE_DEFAULTS } from '../../constructs/cache/defaults';
import { motoClientConfig } from './services/aws';
import { eventually } from './services';
import { startPrivateRedis, type PrivateRedis } from './services/redis';

const services = inject('services');
const { redis } = services;
const quiet = { onError: () => { /* counted in stats() */ } };
const unique = (what: string): string => `${what}-${randomBytes(4).toString('hex')}`;


/** Runs redis-cli style commands as the shared ACL user on one node. */
async function admin(port: number, ...args: (string | number)[]): Promise<unknown> {
  const r = new Redis({ host: '127.0.0.1', port, username: redis.user, password: redis.password, lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await r.connect();
    return await r.call(String(args[0]), ...args.slice(1).map(String));
  } finally {
    r.disconnect();
  }
}

describe('CacheClient against Redis standalone', () => {
  const base: CacheClientOptions = { host: '127.0.0.1', port: redis.standalone.port, tls: false, clusterMode: false, username: redis.user, password: redis.password, ...quiet };

  it('authenticates as the RBAC user and runs commands', async () => {
    const cache = await CacheClient.connect(base);
    try {
      const key = unique('standalone');
      await cache.redis.set(key, 'v', 'EX', 60);
      expect(await cache.redis.get(key)).toBe('v');
      expect(await cache.ping()).toBeGreaterThanOrEqual(0);
      expect(cache.isReady).toBe(true);
    } finally {
      await cache.close();
    }
  });

  it('fails to connect with a clear error naming the endpoint and the refused credentials', async () => {
    // Refused credentials fail the connect at once rather than after the ready timeout (60 s here).
    await expect(CacheClient.connect({ ...base, password: 'wrong' }, 60_000)).rejects.toThrow(
      new RegExp(`cache 127\\.0\\.0\\.1:${redis.standalone.port} \\(standalone, no TLS, auth rbac\\): the credentials were refused: WRONGPASS.*check the username and the password secret`),
    );
    await expect(CacheClient.connect({ ...base, clusterMode: true, port: redis.cluster[0]!.port, password: async () => 'wrong' }, 60_000)).rejects.toThrow(
      /\(cluster mode, no TLS, auth rbac\): the credentials were refused: .*check the username and the password secret/,
    );
  });

  it('connects as a user with the stacks\' access string without ioredis warning on the console at each connection', async () => {
    // GIVEN the RBAC user the stacks create: every command but the dangerous ones, except INFO (the ready check's)
    const user = unique('app');
    const admin = new Redis({ host: '127.0.0.1', port: redis.standalone.port, username: redis.user, password: redis.password });
    await admin.call('ACL', 'SETUSER', user, ...CACHE_DEFAULTS.appUserAccessString.split(' '), `>${redis.password}`);
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (...args: unknown[]) => { warnings.push(args.map(String).join(' ')); };
    try {
      const cache = await CacheClient.connect({ ...base, username: user });
      await cache.redis.set(unique('k'), 'v', 'EX', 60);
      await cache.close();
      // THEN no ready-check refusal is printed (it bypasses onError and its rate limit)
      expect(warnings.filter((w) => /ready check|NOPERM/.test(w))).toEqual([]);
    } finally {
      console.warn = warn;
      await admin.call('ACL', 'DELUSER', user);
      admin.disconnect();
    }
  });

  it('fails to connect to a port nobody listens on, with the endpoint in the message', async () => {
    const err = await CacheClient.connect({ ...base, port: 1 }, 1_500).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CacheConnectError);
    expect((err as Error).message).toMatch(/cache 127\.0\.0\.1:1 .*not ready within 1500 ms/);
  });
});

describe('CacheClient against the three-master cluster', () => {
  let cache: CacheClient;
  beforeAll(async () => {
    cache = await CacheClient.connect(cacheClientOptionsFromParameters(
      { endpoint: '127.0.0.1', port: String(redis.cluster[0]!.port), tls: 'disabled', 'auth-mode': 'rbac', username: redis.user },
      { password: redis.password, ...quiet },
    ));
  });
  afterAll(() => cache.close());

  it('spreads keys over every master (observed on the servers)', async () => {
    const prefix = unique('spread');
    for (let i = 0; i < 60; i++) await cache.redis.set(`${prefix}:${i}`, String(i), 'EX', 120);
    const perMaster = await Promise.all(redis.cluster.map(async (node) => {
      const direct = new Redis({ host: '127.0.0.1', port: node.port, username: redis.user, password: redis.password });
      try {
        const [, keys] = await direct.scan('0', 'MATCH', `${prefix}:*`, 'COUNT', 100_000);
        return keys.length;
      } finally {
        direct.disconnect();
      }
    }));
    expect(perMaster.every((n) => n > 0)).toBe(true);
    expect(perMaster.reduce((a, b) => a + b, 0)).toBe(60);
    for (let i = 0; i < 60; i++) expect(await cache.redis.get(`${prefix}:${i}`)).toBe(String(i));
  });
});

describe('CacheClient against a TLS cluster whose nodes announce host names (as ElastiCache does)', () => {
  let tlsCluster: PrivateRedis;
  beforeAll(async () => {
    tlsCluster = await startPrivateRedis(services, { masters: 3, tls: true });
  });
  afterAll(() => tlsCluster?.stop());

  const options = (): CacheClientOptions => ({
    host: 'localhost', port: tlsCluster.nodes[0]!.port, tls: { ca: tlsCluster.tls!.caPem }, username: tlsCluster.user, password: tlsCluster.password, ...quiet,
  });

  it('connects over TLS to the announced host names and verifies their certificates', async () => {
    const cache = await CacheClient.connect(options());
    try {
      const prefix = unique('tls');
      for (let i = 0; i < 30; i++) await cache.redis.set(`${prefix}:${i}`, String(i));
      expect(await cache.redis.get(`${prefix}:7`)).toBe('7');
      const nodes = (cache.redis as Cluster).nodes('master').map((n) => n.options.host);
      expect(nodes).toEqual(['localhost', 'localhost', 'localhost']);
    } finally {
      await cache.close();
    }
  });

  it('is what a bare ioredis Cluster without the dnsLookup passthrough cannot do (the reason for it)', async () => {
    const bare = new Cluster([{ host: 'localhost', port: tlsCluster.nodes[0]!.port }], {
      redisOptions: { tls: { ca: tlsCluster.tls!.caPem }, username: tlsCluster.user, password: tlsCluster.password, connectTimeout: 2_000 },
      clusterRetryStrategy: () => null,
    });
    bare.on('error', () => { /* expected */ });
    try {
      await expect(bare.set('k', 'v')).rejects.toThrow();
    } finally {
      bare.disconnect();
    }
  });

  it('follows ASK during a slot migration and MOVED after it', async () => {
    const cache = await CacheClient.connect(options());
    try {
      const tag = unique('mig');
      const [moved, stays] = [`{${tag}}moved`, `{${tag}}stays`];
      await cache.redis.set(moved, 'm');
      await cache.redis.set(stays, 's');
      const slot = Number(await cache.redis.cluster('KEYSLOT', moved));
      const ids = await Promise.all(tlsCluster.nodes.map(async (n) => (await tlsCluster.cli(n.port, 'CLUSTER', 'MYID'))));
      const ownerOf = async (): Promise<number> => {
        for (let i = 0; i < tlsCluster.nodes.length; i++) {
          const count = Number(await tlsCluster.cli(tlsCluster.nodes[i]!.port, 'CLUSTER', 'COUNTKEYSINSLOT', String(slot)));
          if (count > 0) return i;
        }
        throw new Error('no node holds the slot');
      };
      const src = await ownerOf();
      const dst = (src + 1) % tlsCluster.nodes.length;
      const [srcPort, dstPort] = [tlsCluster.nodes[src]!.port, tlsCluster.nodes[dst]!.port];
      await tlsCluster.cli(dstPort, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', ids[src]!);
      await tlsCluster.cli(srcPort, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', ids[dst]!);
      const migrated = await tlsCluster.cli(srcPort, 'MIGRATE', 'localhost', String(dstPort), '', '0', '5000', 'AUTH2', tlsCluster.user, tlsCluster.password, 'KEYS', moved);
      expect(migrated).toBe('OK');

      // The source now answers ASK for the moved key: the client must follow it to the importing node.
      expect(await tlsCluster.cli(srcPort, 'GET', moved)).toMatch(/ASK \d+ localhost:\d+/);
      expect(await cache.redis.get(moved)).toBe('m');
      expect(await cache.redis.get(stays)).toBe('s');

      await tlsCluster.cli(srcPort, 'MIGRATE', 'localhost', String(dstPort), '', '0', '5000', 'AUTH2', tlsCluster.user, tlsCluster.password, 'KEYS', stays);
      for (const n of tlsCluster.nodes) await tlsCluster.cli(n.port, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', ids[dst]!);
      // The old owner now answers MOVED: the client's slot map is stale and must follow it.
      expect(await tlsCluster.cli(srcPort, 'GET', moved)).toMatch(/MOVED \d+ localhost:\d+/);
      expect(await cache.redis.get(moved)).toBe('m');
      expect(await cache.redis.get(stays)).toBe('s');
      await cache.redis.set(moved, 'm2');
      expect(await tlsCluster.cli(dstPort, 'GET', moved)).toBe('m2');
    } finally {
      await cache.close();
    }
  });
});

describe('CacheClient after a password rotation', () => {
  const sm = new SecretsManagerClient(motoClientConfig(services));
  afterAll(() => sm.destroy());

  const targets = [
    { name: 'standalone', ports: [redis.standalone.port], clusterMode: false },
    { name: 'cluster', ports: redis.cluster.map((n) => n.port), clusterMode: true },
  ];

  it.each(targets)('re-reads the rotated secret and reconnects ($name)', async ({ ports, clusterMode }) => {
    const user = unique('rot').replace('-', '_');
    const [oldPassword, newPassword] = [unique('old'), unique('new')];
    for (const port of ports) await admin(port, 'ACL', 'SETUSER', user, 'reset', 'on', `>${oldPassword}`, '~*', '&*', '+@all');
    const secret = await sm.send(new CreateSecretCommand({ Name: unique('cache-auth'), SecretString: JSON.stringify({ username: user, password: oldPassword }) }));
    let reads = 0;
    const provider = secretsManagerSecret({ secretId: secret.ARN!, jsonKey: 'password', client: sm });
    const cache = await CacheClient.connect({
      host: '127.0.0.1', port: ports[0]!, tls: false, clusterMode, username: user, password: async () => { reads++; return provider(); }, ...quiet,
    });
    // Control: a client that holds the old password as a string cannot recover.
    const stale = await CacheClient.connect({ host: '127.0.0.1', port: ports[0]!, tls: false, clusterMode, username: user, password: oldPassword, ...quiet });
    try {
      const key = unique('rotation');
      await cache.redis.set(key, 'before', 'EX', 120);
      expect(reads).toBe(1);

      // Rotate: the secret first, then the server (as a rotation function does); then drop the open connections,
      // as a failover or node replacement would.
      await sm.send(new PutSecretValueCommand({ SecretId: secret.ARN!, SecretString: JSON.stringify({ username: user, password: newPassword }) }));
      for (const port of ports) await admin(port, 'ACL', 'SETUSER', user, 'resetpass', `>${newPassword}`);
      for (const port of ports) await admin(port, 'CLIENT', 'KILL', 'USER', user);

      expect(await eventually(async () => (await cache.redis.get(key)) === 'before')).toBe(true);
      await cache.redis.set(key, 'after', 'EX', 120);
      expect(await cache.redis.get(key)).toBe('after');
      expect(cache.stats().authFailures).toBeGreaterThanOrEqual(1);
      expect(cache.stats().passwordChanges).toBe(1);
      expect(reads).toBeGreaterThanOrEqual(2);

      expect(await eventually(async () => (await stale.redis.get(key)) === 'after', 2_000)).toBe(false);
      expect(stale.stats().authFailures).toBeGreaterThanOrEqual(1);
    } finally {
      stale.disconnect();
      await cache.close();
      for (const port of ports) await admin(port, 'ACL', 'DELUSER', user);
    }
  });
});

describe('CacheClient moved to another endpoint (retarget)', () => {
  const standalone: CacheClientOptions = { host: '127.0.0.1', port: redis.standalone.port, tls: false, clusterMode: false, username: redis.user, password: redis.password, ...quiet };
  const cluster: CacheClientOptions = { ...standalone, port: redis.cluster[0]!.port, clusterMode: true };

  it('switches the client and the helpers built on it to the new endpoint, then closes the old connection', async () => {
    const cache = await CacheClient.connect({ ...standalone, connectionName: unique('retarget') });
    const aside = new CacheAside(cache, { namespace: unique('moved') + ':' });
    const sessions = new CacheSessionStore<{ u: string }>(cache);
    const once = new Idempotency(cache, { keyPrefix: unique('once') + ':' });
    try {
      const before = cache.redis;
      expect(await aside.getOrLoad('k', 60, async () => 'from-standalone')).toBe('from-standalone');
      await cache.retarget(cluster);
      expect(cache.redis).not.toBe(before);
      expect(cache.endpoint).toBe(`127.0.0.1:${redis.cluster[0]!.port}`);
      expect(cache.clusterMode).toBe(true);
      expect(cache.stats().retargets).toBe(1);
      // The helpers follow: the cluster does not have the value, so it loads again, and stores it in the cluster.
      expect(await aside.getOrLoad('k', 60, async () => 'from-cluster')).toBe('from-cluster');
      const token = await sessions.create({ u: 'x' });
      expect((await sessions.load(token))?.data).toEqual({ u: 'x' });
      expect(await once.run('job', async () => 'ran')).toEqual({ status: 'done', result: 'ran' });
      expect((await once.run('job', async () => 'again')).status).toBe('duplicate');
      // The old client is closed once its replies are in.
      expect(await eventually(async () => before.status === 'end')).toBe(true);
    } finally {
      await cache.close();
    }
  });

  it('keeps the latest of two moves when the earlier one becomes ready last', async () => {
    // GIVEN a private server that holds its clients' commands (AUTH too) for 1.5 s, so a move to it is slow
    const slow = await startPrivateRedis(services);
    const cache = await CacheClient.connect(standalone);
    try {
      await slow.cli(slow.nodes[0]!.port, 'CLIENT', 'PAUSE', '1500', 'ALL');
      // WHEN the cache moves there, and a later topology change moves it to the cluster before that move is ready
      const first = cache.retarget({ ...standalone, port: slow.nodes[0]!.port, username: slow.user, password: slow.password }, 5_000);
      await cache.retarget(cluster);
      await expect(first).rejects.toThrow(CacheRetargetSupersededError);
      // THEN the later move stands: the earlier one's client, ready last, is dropped
      expect(cache.endpoint).toBe(`127.0.0.1:${redis.cluster[0]!.port}`);
      expect(cache.clusterMode).toBe(true);
      expect(await cache.ping()).toBeGreaterThanOrEqual(0);
    } finally {
      await cache.close();
      await slow.stop();
    }
  });

  it('keeps the old endpoint when the new one does not become ready, with the error naming the new endpoint', async () => {
    const cache = await CacheClient.connect(standalone);
    try {
      const before = cache.redis;
      const err = await cache.retarget({ ...standalone, port: 1 }, 1_000).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CacheConnectError);
      expect((err as Error).message).toMatch(/cache 127\.0\.0\.1:1 \(standalone.*not ready within 1000 ms/);
      expect(cache.redis).toBe(before);
      expect(await cache.ping()).toBeGreaterThanOrEqual(0);
      expect(cache.stats().retargets).toBe(0);
    } finally {
      await cache.close();
    }
  });
});

describe('CacheClient without cluster mode through a failover (the primary endpoint moves, the connection stays)', () => {
  it('reconnects when the node it is on answers READONLY, so writes reach the new primary instead of failing until the connection drops', async () => {
    // GIVEN two servers, and a "primary endpoint" (a TCP forwarder standing in for its DNS name) naming the first
    const [first, second] = [await startPrivateRedis(services), await startPrivateRedis(services)];
    let target = first.nodes[0]!.port;
    const sockets = new Set<Socket>();
    const endpoint = createServer((client) => {
      const upstream = connect(target, '127.0.0.1');
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('error', () => s.destroy());
        s.on('close', () => { sockets.delete(s); client.destroy(); upstream.destroy(); });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
    const cache = await CacheClient.connect({
      host: '127.0.0.1', port: (endpoint.address() as AddressInfo).port, tls: false, clusterMode: false, username: first.user, password: first.password, ...quiet,
    });
    try {
      const key = unique('failover');
      expect(await cache.redis.set(key, 'before', 'EX', 60)).toBe('OK');
      // WHEN a failover demotes the first (its open connections stay, as ElastiCache's do) and the endpoint names the second
      await first.cli(first.nodes[0]!.port, 'REPLICAOF', '127.0.0.1', String(second.nodes[0]!.port));
      target = second.nodes[0]!.port;
      // THEN the next write reaches the new primary (the caller never sees READONLY)
      expect(await cache.redis.set(key, 'after', 'EX', 60)).toBe('OK');
      expect(await second.cli(second.nodes[0]!.port, 'GET', key)).toBe('after');
      expect(cache.stats().readOnlyReconnects).toBe(1);
    } finally {
      cache.disconnect();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => endpoint.close(() => resolve()));
      await first.stop();
      await second.stop();
    }
  });
});
