import { ReceiveMessageCommand, SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { Redis, type Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { JOB_ATTRIBUTES } from '../../lib/runtime/contract';
import { WriteUnavailableError } from '../../lib/runtime/database';
import { createRuntime, type Runtime, type RuntimeOptions } from '../../lib/runtime/runtime';
import { ShardRouter } from '../../lib/runtime/shard-router';
import { QueueProducer, type Job } from '../../lib/runtime/queue-producer';
import { motoClientConfig, motoClients, putParameters, rotateSecret } from './services/aws';
import { eventually, freePort } from './services/index';
import { lockReplica, onServer } from './services/pg';
import { createTestQueue, queueDepth, type TestQueue } from './services/sqs';
import { publishLocalTopology, type LocalShard, type LocalTopology } from './services/topology';

const services = inject('services');
const { primary, replica, shard2 } = services.postgres;
const { redis } = services;
const tag = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const DB = 'it_runtime';
const DB_S2 = 'it_runtime_s2';
const quiet = (): void => undefined;
/** The shards of config/sharded.json on the local servers: s0 is the database itself, s2 another database on the primary. */
const SHARDS: LocalShard[] = [{ id: 's0', server: 'primary', database: DB }, { id: 's1', server: 'shard2', database: DB }, { id: 's2', server: 'primary', database: DB_S2 }];

/** Runs a command as the shared ACL user on one cluster node. */
async function admin(port: number, ...args: string[]): Promise<unknown> {
  const r = new Redis({ host: '127.0.0.1', port, username: redis.user, password: redis.password, lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await r.connect();
    return await r.call(args[0]!, ...args.slice(1));
  } finally {
    r.disconnect();
  }
}


function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Keys of this run's users: twelve, plus one more for each shard none of the twelve lands on. Where a key lands
 * depends on the random tag (the twelve missed s0 or s1 in about 1.6% of runs), so each shard's key is looked for with
 * the router, not assumed among the twelve.
 */
function userKeys(router: ShardRouter): { keys: string[]; on: Record<string, string> } {
  const keys = Array.from({ length: 12 }, (_, i) => `user-${tag}-${i}`);
  const on: Record<string, string> = {};
  for (const key of keys) on[router.shardFor(key).id] ??= key;
  const ids = router.map.shards.map((s) => s.id);
  for (let i = keys.length; i < 1_000 && ids.some((id) => on[id] === undefined); i++) {
    const key = `user-${tag}-${i}`;
    const id = router.shardFor(key).id;
    if (on[id] === undefined) {
      on[id] = key;
      keys.push(key);
    }
  }
  const missing = ids.filter((id) => on[id] === undefined);
  if (missing.length > 0) throw new Error(`no key of user-${tag}-0..999 lands on ${missing.join(', ')}`);
  return { keys, on };
}

type Where = { standby: boolean; port: number; db: string };
const WHERE = 'SELECT pg_is_in_recovery() AS standby, inet_server_port() AS port, current_database() AS db';

describe('createRuntime from what a synthesized data stack publishes (config/sharded.json), on the local servers', () => {
  const clients = motoClients(services);
  const sqs = new SQSClient({ ...motoClientConfig(services), maxAttempts: 2 });
  const cacheUser = `it-rt-${tag}`;
  const cachePassword = `pw-${tag}-1`;
  let queue: TestQueue;
  let local: LocalTopology;
  let releaseReplica: () => Promise<void>;
  const runtimes: Runtime<{ userId: string }>[] = [];

  const options = (prefix: string, extra: Partial<RuntimeOptions<{ userId: string }>> = {}): RuntimeOptions<{ userId: string }> => ({
    environment: { parameterPrefix: prefix, region: services.moto.region, role: 'web', service: 'web', version: 'test' },
    environmentFile: false,
    topology: { ssm: clients.ssm, secretsManager: clients.secretsManager, onError: quiet },
    queues: ['jobs'],
    readers: { [`${primary.host}:${primary.port}`]: [`${replica.host}:${replica.port}`] },
    database: { applicationName: `it-rt-${tag}`, onError: quiet },
    cache: { readyTimeoutMs: 10_000 },
    sqs,
    signals: false,
    onError: quiet,
    ...extra,
  });
  const start = async (prefix: string, extra: Partial<RuntimeOptions<{ userId: string }>> = {}): Promise<Runtime<{ userId: string }>> => {
    const rt = await createRuntime<{ userId: string }>(options(prefix, extra));
    runtimes.push(rt);
    return rt;
  };

  beforeAll(async () => {
    releaseReplica = await lockReplica(services);
    for (const [server, db] of [[primary, DB], [shard2, DB], [primary, DB_S2]] as const) {
      if ((await onServer(services, server, 'SELECT 1 FROM pg_database WHERE datname = $1', [db], 'postgres')).length === 0) {
        await onServer(services, server, `CREATE DATABASE ${db}`, [], 'postgres');
      }
      await onServer(services, server, 'CREATE TABLE IF NOT EXISTS it_rt (k text PRIMARY KEY, v text NOT NULL)', [], db);
    }
    for (const node of redis.cluster) await admin(node.port, 'ACL', 'SETUSER', cacheUser, 'on', `>${cachePassword}`, '~*', '&*', '+@all');
    queue = await createTestQueue(sqs, { visibilityTimeout: 5, maxReceiveCount: 2 });
    local = await publishLocalTopology(services, {
      prefix: `/it-rt-${tag}`,
      database: DB,
      shards: SHARDS,
      cache: { port: redis.cluster[0]!.port, username: cacheUser, password: cachePassword },
      queues: { jobs: queue },
    });
  });

  afterAll(async () => {
    for (const rt of runtimes) await rt.close();
    for (const node of redis.cluster) await admin(node.port, 'ACL', 'DELUSER', cacheUser).catch(() => undefined);
    sqs.destroy();
    await releaseReplica?.();
  });

  it('builds every part: database split, shards, cache, cache-aside, sessions in the cache, a producer, health', async () => {
    const rt = await start(local.prefix);
    expect(rt.topology.current.unrecognized).toEqual([]);
    // The read/write split, as the servers see it.
    expect((await rt.database.read<Where>(WHERE)).rows[0]).toEqual({ standby: true, port: replica.port, db: DB });
    expect((await rt.database.write<Where>(WHERE)).rows[0]).toEqual({ standby: false, port: primary.port, db: DB });
    // Shards: each key lands where the published map routes it.
    const router = ShardRouter.fromShardMap(local.shardMap as never);
    const where = { s0: `${primary.port}/${DB}`, s1: `${shard2.port}/${DB}`, s2: `${primary.port}/${DB_S2}` } as Record<string, string>;
    const users = userKeys(router);
    for (const key of users.keys) {
      const row = (await rt.databaseFor(key).write<Where>(`${WHERE}`)).rows[0]!;
      expect(`${row.port}/${row.db}`).toBe(where[router.shardFor(key).id]);
    }
    expect(rt.shards!.epoch).toBe(1);
    // Shard 0 is the cluster published under database/: its keys go through rt.database's own pools, not a second set
    expect(rt.databaseFor(users.on['s0']!)).toBe(rt.database);
    expect(rt.databaseFor(users.on['s1']!)).not.toBe(rt.database);
    // Cache, cache-aside, sessions (no sealing secret published: the cache store).
    expect(await rt.cache.ping()).toBeGreaterThanOrEqual(0);
    let loads = 0;
    const aside = rt.cacheAside(`it-rt-${tag}:`);
    for (let i = 0; i < 3; i++) expect(await aside.getOrLoad('k', 60, async () => { loads++; return { v: 1 }; })).toEqual({ v: 1 });
    expect(loads).toBe(1);
    expect(rt.sessionStore.kind).toBe('cache');
    const token = await rt.sessions.create({ userId: 'u1' });
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await rt.sessions.load(token))?.data).toEqual({ userId: 'u1' });
    // A job with the producer's session; the worker side reads it back.
    const session = rt.dbSession();
    await rt.databaseFor('user-x').write('INSERT INTO it_rt (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = excluded.v', [`job-${tag}`, 'x'], { session });
    await rt.queue('jobs').send({ k: `job-${tag}` }, { type: 'it.job', idempotencyKey: `job-${tag}`, session });
    const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.url, WaitTimeSeconds: 2, MessageAttributeNames: ['All'] }));
    const attributes = got.Messages![0]!.MessageAttributes!;
    expect(attributes[JOB_ATTRIBUTES.type]!.StringValue).toBe('it.job');
    expect(attributes[JOB_ATTRIBUTES.producer]!.StringValue).toBe('web@test');
    expect(attributes[JOB_ATTRIBUTES.dbSession]!.StringValue).toBe(session.token());
    // The deep health check: the database, every shard that is not the database itself, the cache, the topology.
    const health = await rt.health.run();
    expect(health.status).toBe('ok');
    expect(Object.keys(health.checks).sort()).toEqual(['cache', 'database.reader', 'database.s1.reader', 'database.s1.writer', 'database.s2.reader', 'database.s2.writer', 'database.writer', 'topology']);
    expect(() => rt.queue('nope')).toThrow(/no queue "nope" under \/it-rt-[^/]+\/queues \(published: jobs\)/);
  });

  it('seals sessions into the cookie when sessions/secret-arn is published', async () => {
    const sealed = await publishLocalTopology(services, {
      prefix: `/it-rt-sealed-${tag}`,
      database: DB,
      shards: SHARDS,
      cache: { port: redis.cluster[0]!.port, username: cacheUser, password: cachePassword },
      queues: { jobs: queue },
      sessionSecret: randomBytes(32).toString('hex'),
    });
    const rt = await start(sealed.prefix);
    expect(rt.sessionStore).toMatchObject({ kind: 'sealed', reason: expect.stringContaining('sessions/secret-arn is published') });
    const token = await rt.sessions.create({ userId: 'u2' });
    expect(token).toMatch(/^v1\./);
    expect((await rt.sessions.load(token))?.data).toEqual({ userId: 'u2' });
    // Another server of the same app (another region: the secret is replicated) reads it.
    const other = await start(sealed.prefix, { cache: false, database: false });
    expect((await other.sessions.load(token))?.data).toEqual({ userId: 'u2' });
    expect(other.stats().sessions?.keyRefreshes).toBe(1);
  });

  it('follows the topology: a new shard-map epoch, a rotated cache password, a moved cache endpoint', async () => {
    const rt = await start(local.prefix);
    // A reshard: every key of s2 now goes to s1.
    const map = { ...local.shardMap!, epoch: 2, shards: local.shardMap!.shards.filter((s) => s['id'] !== 's2') };
    await putParameters(clients.ssm, { [`${local.prefix}/database/shard-map`]: JSON.stringify(map) });
    await rt.topology.refresh();
    expect(rt.shards!.epoch).toBe(2);
    // (the keys include one that epoch 1 placed on s2)
    for (const key of userKeys(ShardRouter.fromShardMap(local.shardMap as never)).keys) {
      const row = (await rt.databaseFor(key).write<Where>(WHERE)).rows[0]!;
      expect(row.db === DB_S2).toBe(false);
    }
    expect(rt.health.names.filter((n) => n.startsWith('database.s'))).toEqual(['database.s1.writer', 'database.s1.reader']);

    // The cache password rotates (secret first, then the server); connections are dropped, as a failover would.
    const aside = rt.cacheAside(`it-rt-follow-${tag}:`);
    await aside.set('k', 'before', 60);
    const newPassword = `pw-${tag}-2`;
    await rotateSecret(clients.secretsManager, local.secrets.cache, { username: cacheUser, password: newPassword });
    for (const node of redis.cluster) await admin(node.port, 'ACL', 'SETUSER', cacheUser, 'resetpass', `>${newPassword}`);
    for (const node of redis.cluster) await admin(node.port, 'CLIENT', 'KILL', 'USER', cacheUser);
    expect(await eventually(async () => (await aside.get('k')) === 'before')).toBe(true);
    expect(rt.cache.stats().passwordChanges).toBe(1);

    // The cache endpoint moves (another node of the cluster as the configuration endpoint): the same CacheAside follows.
    const oldClient = rt.cache.redis;
    const connectionName = (oldClient as Cluster).options.redisOptions?.connectionName;
    expect(connectionName).toMatch(/^.+@.+$/);
    await putParameters(clients.ssm, { [`${local.prefix}/cache/port`]: String(redis.cluster[1]!.port) });
    await rt.topology.refresh();
    expect(await eventually(async () => rt.cache.endpoint === `127.0.0.1:${redis.cluster[1]!.port}`)).toBe(true);
    expect(rt.cache.redis).not.toBe(oldClient);
    expect(await aside.get('k')).toBe('before');
    expect(await eventually(async () => oldClient.status === 'end')).toBe(true);
    expect((await rt.health.run()).checks['cache']!.detail).toContain(`127.0.0.1:${redis.cluster[1]!.port}`);
    // and its connections keep their name (CLIENT LIST still tells which service holds them)
    expect((rt.cache.redis as Cluster).options.redisOptions?.connectionName).toBe(connectionName);
    // (every node connection the new client opens, and no connection of the cache user anywhere without a name; the
    // cluster client opens a node's connection at its first command, so which nodes have one depends on the keys used)
    const nodes = (rt.cache.redis as Cluster).nodes('all');
    expect(nodes.length).toBe(redis.cluster.length);
    for (const node of nodes) expect(String(await node.call('CLIENT', 'INFO'))).toContain(`name=${connectionName} `);
    for (const node of redis.cluster) {
      const mine = String(await admin(node.port, 'CLIENT', 'LIST')).split('\n').filter((line) => line.includes(` user=${cacheUser} `));
      expect(mine.length).toBeGreaterThan(0);
      expect(mine.filter((line) => / name= /.test(line))).toEqual([]);
    }
  });

  it('runs the worker: jobs with their producer session, once per idempotency key, and moves to a new queue URL', async () => {
    const prefix = `/it-rt-worker-${tag}`;
    const workQueue = await createTestQueue(sqs, { visibilityTimeout: 5, maxReceiveCount: 3 });
    await publishLocalTopology(services, {
      prefix,
      database: DB,
      shards: SHARDS,
      cache: { port: redis.cluster[0]!.port, username: redis.user, password: redis.password },
      queues: { jobs: workQueue },
    });
    const producer = await start(prefix);
    const worker = await start(prefix, { environment: { parameterPrefix: prefix, region: services.moto.region, role: 'worker', service: 'jobs', version: 'test' }, queues: undefined });
    const seen: Job[] = [];
    const running = worker.runWorker(async (job) => {
      // The producer's write is visible to a read-your-writes read, whichever server it lands on.
      const { rows } = await worker.databaseFor(job.json<{ user: string }>().user).read<{ v: string }>('SELECT v FROM it_rt WHERE k = $1', [job.idempotencyKey], { session: job.session });
      if (rows.length !== 1) throw new Error(`job ${job.idempotencyKey}: its row is not visible`);
      seen.push(job);
    }, { scaleInProtection: false, waitTimeSeconds: 1, concurrency: 4, onError: quiet });

    for (let i = 0; i < 6; i++) {
      const user = `user-${tag}-${i}`;
      const session = producer.dbSession();
      const key = `w-${tag}-${i}`;
      await producer.databaseFor(user).write('INSERT INTO it_rt (k, v) VALUES ($1, $2)', [key, 'v'], { session });
      await producer.queue('jobs').send({ user }, { type: 'it.work', idempotencyKey: key, session });
      if (i < 2) await producer.queue('jobs').send({ user }, { type: 'it.work', idempotencyKey: key, session }); // a producer's retry
    }
    expect(await eventually(async () => (await queueDepth(sqs, workQueue.url)) === 0 && seen.length >= 6, 30_000)).toBe(true);
    expect(seen.map((j) => j.idempotencyKey).sort()).toEqual(Array.from({ length: 6 }, (_, i) => `w-${tag}-${i}`).sort());
    expect(seen.every((j) => j.type === 'it.work' && j.producer === 'web@test' && j.session.hasWrites)).toBe(true);
    expect(worker.stats().worker).toMatchObject({ succeeded: 8, idempotency: { executed: 6, duplicates: 2 } });

    // The queue is replaced: the worker moves to the new URL (the old one drains).
    const moved = await createTestQueue(sqs, { visibilityTimeout: 5, maxReceiveCount: 3 });
    await putParameters(clients.ssm, { [`${prefix}/queues/jobs/url`]: moved.url });
    await worker.topology.refresh();
    await producer.topology.refresh();
    expect(producer.queue('jobs').queueUrl).toBe(moved.url);
    const session = producer.dbSession();
    await producer.databaseFor('user-moved').write('INSERT INTO it_rt (k, v) VALUES ($1, $2)', [`moved-${tag}`, 'v'], { session });
    await producer.queue('jobs').send({ user: 'user-moved' }, { type: 'it.work', idempotencyKey: `moved-${tag}`, session });
    expect(await eventually(async () => seen.length === 7, 30_000)).toBe(true);
    expect(seen[6]!.idempotencyKey).toBe(`moved-${tag}`);

    await worker.close();
    const stats = await running;
    expect(stats).toMatchObject({ succeeded: 9, inFlight: 0 });
  });

  it('drains a worker within the fleet\'s stop timeout (S2M_STOP_TIMEOUT less 5 s), handing back a job still running', async () => {
    // GIVEN a worker on a fleet whose systemd unit kills the process 7 s after SIGTERM, with a job that never ends
    const prefix = `/it-rt-stop-${tag}`;
    const workQueue = await createTestQueue(sqs, { visibilityTimeout: 30, maxReceiveCount: 3 });
    await publishLocalTopology(services, { prefix, database: DB, shards: SHARDS, cache: { port: redis.cluster[0]!.port, username: redis.user, password: redis.password }, queues: { jobs: workQueue } });
    const worker = await start(prefix, { environment: { parameterPrefix: prefix, region: services.moto.region, role: 'worker', service: 'jobs', version: 'test', stopTimeoutSeconds: 7 }, queues: undefined });
    let started = false;
    let endless: NodeJS.Timeout | undefined;
    const running = worker.runWorker(async () => {
      started = true;
      await new Promise((resolve) => { endless = setTimeout(resolve, 60_000); }); // deaf to its signal
    }, { scaleInProtection: false, waitTimeSeconds: 1, idempotency: false, onError: quiet });
    await sqs.send(new SendMessageCommand({ QueueUrl: workQueue.url, MessageBody: '{}' }));
    expect(await eventually(async () => started, 15_000)).toBe(true);
    // WHEN the runtime closes (SIGTERM)
    const closing = Date.now();
    await worker.close();
    const stats = await running;
    // THEN the job had 2 s, not the worker's 25 s default, and went back to the queue before systemd's kill
    const took = Date.now() - closing;
    expect(took).toBeGreaterThanOrEqual(1_900);
    expect(took).toBeLessThan(7_000);
    expect(stats).toMatchObject({ handedBack: 1, inFlight: 0 });
    clearTimeout(endless);
  });

  it('stops a worker whose start a close (SIGTERM) overtook, and refuses to start one once closing', async () => {
    // GIVEN a worker runtime WHEN it closes while runWorker is still starting the worker (reading the queue's attributes)
    const prefix = `/it-rt-early-close-${tag}`;
    const workQueue = await createTestQueue(sqs, { visibilityTimeout: 30, maxReceiveCount: 3 });
    await publishLocalTopology(services, { prefix, database: DB, shards: SHARDS, cache: { port: redis.cluster[0]!.port, username: redis.user, password: redis.password }, queues: { jobs: workQueue } });
    const worker = await start(prefix, { environment: { parameterPrefix: prefix, region: services.moto.region, role: 'worker', service: 'jobs', version: 'test', stopTimeoutSeconds: 7 }, queues: undefined });
    const ran: string[] = [];
    const running = worker.runWorker(async (job) => { ran.push(String(job.type)); }, { scaleInProtection: false, waitTimeSeconds: 1, idempotency: false, onError: quiet });
    const closed = worker.close();
    // THEN the worker stops (its promise settles, where it waited forever) and ran nothing against the closed clients
    const stats = await Promise.race([running, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 20_000))]);
    expect(stats).toMatchObject({ inFlight: 0 });
    await closed;
    await sqs.send(new SendMessageCommand({ QueueUrl: workQueue.url, MessageBody: '{}' }));
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(ran).toEqual([]);
    // AND a worker asked for after the close is refused
    await expect(worker.runWorker(async () => undefined, { idempotency: false })).rejects.toThrow('Runtime.runWorker: the runtime is closing');
  });

  it('defers a job whose idempotency lease a drained worker still holds: it runs when the lease ends, not a visibility timeout later, and is no failure', async () => {
    // GIVEN a worker (a 2 s drain) whose job ignores its signal, on a queue with a 30 s visibility timeout, 4 s leases
    const prefix = `/it-rt-conflict-${tag}`;
    const workQueue = await createTestQueue(sqs, { visibilityTimeout: 30, maxReceiveCount: 5 });
    await publishLocalTopology(services, { prefix, database: DB, shards: SHARDS, cache: { port: redis.cluster[0]!.port, username: redis.user, password: redis.password }, queues: { jobs: workQueue } });
    const environment = { parameterPrefix: prefix, region: services.moto.region, role: 'worker' as const, service: 'jobs', version: 'test', stopTimeoutSeconds: 7 };
    const workerOptions = { scaleInProtection: false as const, waitTimeSeconds: 1, idempotency: { leaseSeconds: 4 }, onError: quiet };
    const first = await start(prefix, { environment, queues: undefined });
    let deaf: (() => void) | undefined;
    const firstRunning = first.runWorker(() => new Promise<void>((resolve) => { deaf = resolve; }), workerOptions);
    await new QueueProducer({ queueUrl: workQueue.url, sqs }).send({}, { type: 'it.conflict', idempotencyKey: `c-${tag}` });
    try {
      expect(await eventually(async () => deaf !== undefined, 15_000)).toBe(true);
      // WHEN it drains (the job is handed back, its handler runs on and the lease stays held until the runtime is gone)
      await first.close();
      expect(await firstRunning).toMatchObject({ handedBack: 1 });
      // and the next worker receives the message at once, while the lease still runs
      const second = await start(prefix, { environment, queues: undefined });
      const ran: string[] = [];
      const secondRunning = second.runWorker((job) => { ran.push(job.idempotencyKey!); }, workerOptions);
      // THEN it runs the job once the lease has ended: well within the 30 s a failed attempt would leave it invisible
      // (and its handling is over: the handler's return is counted after the idempotency key is marked done, which a
      // check right after the handler ran met before it, under load: succeeded 0)
      expect(await eventually(async () => ran.length === 1 && second.stats().worker!.inFlight === 0, 20_000)).toBe(true);
      expect(second.stats().worker).toMatchObject({ failed: 0, succeeded: 1, idempotency: { executed: 1 } });
      expect(second.stats().worker!.deferred).toBeGreaterThanOrEqual(1);
      expect(second.stats().worker!.idempotency!.conflicts).toBeGreaterThanOrEqual(1);
      await second.close();
      expect(await secondRunning).toMatchObject({ deleted: 1, inFlight: 0 });
    } finally {
      deaf?.();
    }
  });

  it('reads the database tier again when a write is refused as unavailable here: a topology read half before, half after a switchover recovers', async () => {
    // GIVEN a runtime that read its region as a secondary without forwarding (role read before s2m evacuate rewrote it,
    // write-forwarding after), while the region is now the primary
    const prefix = `/it-rt-unavailable-${tag}`;
    await publishLocalTopology(services, { prefix, database: DB, shards: SHARDS, cache: { port: redis.cluster[0]!.port, username: redis.user, password: redis.password }, queues: { jobs: queue } });
    await putParameters(clients.ssm, { [`${prefix}/database/role`]: 'secondary', [`${prefix}/database/write-forwarding`]: 'off' });
    const rt = await start(prefix, { database: { applicationName: `it-rt-unavail-${tag}`, onError: quiet } });
    await expect(rt.database.write('SELECT 1')).rejects.toThrow(WriteUnavailableError);
    // and whose read of the database tier after that refusal finished before the switchover republished it (the race
    // made certain: this waits for that read, then reads the tier once more, still before the republish)
    expect((await rt.topology.refreshDatabase()).database?.role).toBe('secondary');
    await putParameters(clients.ssm, { [`${prefix}/database/role`]: 'primary' });
    // WHEN a write is refused again, inside the spacing of the reads after lost writes
    await expect(rt.database.write('SELECT 1')).rejects.toThrow(WriteUnavailableError);
    // THEN one read at the spacing's end (5-10 s, plus the read) finds the region primary, with no further write to
    // ask for it, and writes go through: not at the 300 s refresh. (The bound leaves room for a loaded machine.)
    expect(await eventually(async () => rt.topology.current.database?.role === 'primary', 30_000)).toBe(true);
    expect((await rt.database.write<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('refreshes the topology at once when a shard\'s writer refuses a write as read-only (a failover moved it)', async () => {
    // GIVEN a runtime whose topology reads are counted, and the user's own hook
    const ssm = motoClients(services).ssm;
    let reads = 0;
    const paths: string[] = [];
    ssm.middlewareStack.add((next) => async (args) => {
      reads++;
      paths.push(String((args.input as { Path?: string; Name?: string }).Path ?? (args.input as { Name?: string }).Name));
      return next(args);
    }, { step: 'initialize', name: 'countTopologyReads' });
    const lost: string[] = [];
    const rt = await start(local.prefix, {
      topology: { ssm, secretsManager: clients.secretsManager, onError: quiet },
      database: { applicationName: `it-rt-${tag}`, onError: quiet, onWriterLost: (e) => lost.push((e as { code?: string }).code ?? e.message) },
    });
    const before = reads;
    // WHEN a write through databaseFor(key) (the shards) fails with SQLSTATE 25006, as on a demoted writer
    const db = rt.databaseFor('user-1');
    expect(db).not.toBe(rt.database);
    await expect(db.write("BEGIN READ ONLY; INSERT INTO it_rt (k, v) VALUES ('read-only', 'x'); COMMIT")).rejects.toMatchObject({ code: '25006' });
    // THEN the user's hook heard of it and the runtime read the topology again, not at the next periodic refresh
    expect(lost).toEqual(['25006']);
    expect(await eventually(async () => reads > before, 5_000)).toBe(true);
    // (the database tier alone: the writer, role and forwarding are what a failover moves)
    expect(new Set(paths.slice(before))).toEqual(new Set([`${local.prefix}/database`]));
  });

  it('answers the deep health check with 503 when the writer is unreachable (and the shallow one with 200)', async () => {
    const prefix = `/it-rt-down-${tag}`;
    const closed = await freePort();
    await publishLocalTopology(services, {
      prefix,
      database: DB,
      shards: SHARDS,
      cache: { port: redis.cluster[0]!.port, username: redis.user, password: redis.password },
      queues: { jobs: queue },
    });
    await putParameters(clients.ssm, { [`${prefix}/database/port`]: String(closed) });
    const rt = await start(prefix, { readers: undefined, database: { pool: { connectionTimeoutMs: 1_000 }, onError: quiet } });
    const service = await rt.serve(async (_req, res) => { res.end('app'); }, { port: 0, host: '127.0.0.1' });
    const { port } = service.address;
    expect((await get(port, '/health')).status).toBe(200);
    const deep = await get(port, '/health/deep');
    expect(deep.status).toBe(503);
    const body = JSON.parse(deep.body) as { status: string; checks: Record<string, { status: string; error?: string }> };
    expect(body.status).toBe('fail');
    expect(body.checks['database.writer']).toMatchObject({ status: 'fail', error: expect.stringMatching(/ECONNREFUSED|connect/) });
    expect(body.checks['cache']!.status).toBe('ok');
    expect((await get(port, '/anything')).body).toBe('app');
  });

  it('closes everything: the HTTP server drains first, then no connection to the database or the cache is left', async () => {
    const rt = await createRuntime<{ userId: string }>(options(local.prefix, { database: { applicationName: `it-rt-close-${tag}`, onError: quiet }, cache: { connectionName: `it-rt-close-${tag}` } }));
    let started!: () => void;
    const handling = new Promise<void>((resolve) => { started = resolve; });
    const service = await rt.serve(async (_req, res) => {
      started();
      await rt.database.write('SELECT pg_sleep(0.3)');
      res.end('done');
    }, { port: 0, host: '127.0.0.1' });
    await rt.database.read('SELECT 1');
    const inFlight = get(service.address.port, '/slow');
    // Close while the request is in its handler (a fixed wait could close before the request arrived).
    await handling;
    await rt.close();
    expect(await inFlight).toEqual({ status: 200, body: 'done' });
    const left = async (): Promise<number> => {
      const [pg] = await onServer<{ n: number }>(services, primary, "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE $1", [`it-rt-close-${tag}:%`], 'postgres');
      const [r] = await onServer<{ n: number }>(services, replica, "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE $1", [`it-rt-close-${tag}:%`], 'postgres');
      const clientList = String(await admin(redis.cluster[0]!.port, 'CLIENT', 'LIST'));
      return pg!.n + r!.n + (clientList.includes(`name=it-rt-close-${tag}`) ? 1 : 0);
    };
    expect(await eventually(async () => (await left()) === 0, 5_000)).toBe(true);
  });
});
