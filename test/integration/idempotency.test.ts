import { SQSClient } from '@aws-sdk/client-sqs';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  CacheClient, Idempotency, IdempotencyConflictError, IdempotencyUnavailableError, QueueWorker,
} from '../../lib/runtime';
import { motoClientConfig } from './services/aws';
import { eventually, freePort, sleep } from './services';
import { sharedCacheTargets, startPrivateRedis, type PrivateRedis } from './services/redis';
import { createTestQueue, queueDepth, sendBodies } from './services/sqs';

const services = inject('services');
const quiet = { onError: () => { /* expected */ } };
const prefix = (): string => `idem-${randomBytes(4).toString('hex')}:`;

const targets = sharedCacheTargets(services);

describe.each(targets)('Idempotency on Redis $name', ({ options }) => {
  let cache: CacheClient;
  beforeAll(async () => {
    cache = await CacheClient.connect(options);
  });
  afterAll(() => cache?.close());

  it('runs the work once; a second run with the key is a duplicate', async () => {
    const once = new Idempotency(cache, { keyPrefix: prefix() });
    let runs = 0;
    expect(await once.run('order-1', () => ++runs)).toEqual({ status: 'done', result: 1 });
    const again = await once.run('order-1', () => ++runs);
    expect(again.status).toBe('duplicate');
    expect(runs).toBe(1);
    expect(once.stats()).toMatchObject({ executed: 1, duplicates: 1 });
  });

  it('refuses a concurrent run while another holder works on the key', async () => {
    const keyPrefix = prefix();
    const [a, b] = [new Idempotency(cache, { keyPrefix }), new Idempotency(cache, { keyPrefix })];
    let release: (() => void) | undefined;
    const first = a.run('k', () => new Promise<string>((resolve) => { release = () => resolve('first'); }));
    // The work starts once the claim is in (a fixed 50 ms wait let b claim first when a's first command was slow:
    // on the cluster, its connection to the key's node and the script's first load)
    expect(await eventually(async () => release !== undefined, 10_000, 10)).toBe(true);
    const conflict = await b.run('k', () => 'second').then(() => undefined, (e: unknown) => e as IdempotencyConflictError);
    expect(conflict).toBeInstanceOf(IdempotencyConflictError);
    // The holder's lease (30 s, renewed) still runs: the caller may retry when it ends.
    expect(conflict!.retryAfterMs).toBeGreaterThan(20_000);
    expect(conflict!.retryAfterMs).toBeLessThanOrEqual(30_000);
    release!();
    expect(await first).toEqual({ status: 'done', result: 'first' });
    expect((await b.run('k', () => 'third')).status).toBe('duplicate');
  });

  it('releases the claim when the work fails, so the retry runs at once', async () => {
    const once = new Idempotency(cache, { keyPrefix: prefix() });
    await expect(once.run('k', () => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(await once.run('k', () => 'retried')).toEqual({ status: 'done', result: 'retried' });
    expect(once.stats()).toMatchObject({ failures: 1, executed: 2 });
  });

  it('renews the lease of long work, and lets a crashed holder\'s lease expire', async () => {
    const keyPrefix = prefix();
    // A 0.6 s lease, renewed every 0.15 s: one failed or late renewal is tolerated; the work is told at 0.45 s without one.
    const once = new Idempotency(cache, { keyPrefix, leaseSeconds: 0.6 });
    // Work three times longer than the lease: renewals keep others out (the intruder comes after twice the lease,
    // 0.6 s before the work ends).
    const long = once.run('long', () => sleep(1_800).then(() => 'ok'));
    await sleep(1_200);
    await expect(new Idempotency(cache, { keyPrefix }).run('long', () => 'intruder')).rejects.toThrow(IdempotencyConflictError);
    expect(await long).toEqual({ status: 'done', result: 'ok' });

    // A holder that crashed: its claim is left without renewals and expires after the lease. (Its lease's 0.6 s start
    // once the claim has been refused: set with it, a claim more than 0.6 s later, on a loaded machine, found it gone.)
    await cache.redis.set(`${keyPrefix}crashed`, 'running:dead-holder');
    await expect(once.run('crashed', () => 'x')).rejects.toThrow(IdempotencyConflictError);
    expect(await cache.redis.pexpire(`${keyPrefix}crashed`, 600)).toBe(1);
    await sleep(800);
    expect(await once.run('crashed', () => 'rerun')).toEqual({ status: 'done', result: 'rerun' });
  });

  it('tells the work when its lease was lost', async () => {
    const keyPrefix = prefix();
    const once = new Idempotency(cache, { keyPrefix, leaseSeconds: 0.3 });
    let aborted = false;
    const run = once.run('k', async ({ signal }) => {
      await cache.redis.del(`${keyPrefix}k`);
      for (let i = 0; i < 20 && !signal.aborted; i++) await sleep(50);
      aborted = signal.aborted;
    });
    await run;
    expect(aborted).toBe(true);
    expect(once.stats().leasesLost).toBe(1);
  });
});

describe('Idempotency across a cache move, a stalled cache and a read-only cache (a private server)', () => {
  let server: PrivateRedis;
  beforeAll(async () => {
    server = await startPrivateRedis(services);
  });
  afterAll(() => server?.stop());
  // The client's default command timeout (1 s), except where a stalled cache is what the test is about: with 200 ms
  // for all, a claim the read-only server answered later than that on a loaded machine failed as a cache that timed
  // out, not as the READONLY refusal that test asserts.
  const connect = (commandTimeoutMs?: number) => CacheClient.connect({
    host: '127.0.0.1', port: server.nodes[0]!.port, tls: false, clusterMode: false, username: server.user, password: server.password, ...(commandTimeoutMs ? { commandTimeoutMs } : {}), ...quiet,
  });

  it('renews the lease through the client in use after the cache client moved (retarget), so no second holder starts', async () => {
    const client = await connect();
    try {
      const keyPrefix = prefix();
      const once = new Idempotency(client, { keyPrefix, leaseSeconds: 0.6 });
      // WHEN the client moves (here to the same server: a new connection, the old one closed) while the work runs
      // three times the lease
      const long = once.run('k', async ({ signal }) => {
        await client.retarget({ host: '127.0.0.1', port: server.nodes[0]!.port, tls: false, clusterMode: false, username: server.user, password: server.password, ...quiet });
        await sleep(1_800);
        return signal.aborted;
      });
      await sleep(1_200);
      // THEN the lease is still held (renewed on the new connection): another holder is refused, the work not aborted
      await expect(new Idempotency(client, { keyPrefix }).run('k', () => 'intruder')).rejects.toThrow(IdempotencyConflictError);
      expect(await long).toEqual({ status: 'done', result: false });
      expect(once.stats().leasesLost).toBe(0);
    } finally {
      client.disconnect();
    }
  });

  it('aborts the work once no renewal succeeded for a lease: the cache stalled, another holder may start', async () => {
    const client = await connect(200);
    try {
      const once = new Idempotency(client, { keyPrefix: prefix(), leaseSeconds: 0.6 });
      let abortedAfter: number | undefined;
      const started = Date.now();
      await once.run('k', async ({ signal }) => {
        // WHEN the server stops answering (SIGSTOP) for longer than the lease
        await server.cli(server.nodes[0]!.port, 'CLIENT', 'PAUSE', '2000', 'ALL');
        for (let i = 0; i < 60 && !signal.aborted; i++) await sleep(50);
        abortedAfter = signal.aborted ? Date.now() - started : undefined;
      });
      // THEN its signal aborted a renewal interval (0.2 s) before the lease could have run out, not never
      expect(abortedAfter).toBeDefined();
      expect(abortedAfter!).toBeGreaterThanOrEqual(350);
      expect(abortedAfter!).toBeLessThan(2_000);
      expect(once.stats().leasesLost).toBe(1);
    } finally {
      await server.cli(server.nodes[0]!.port, 'CLIENT', 'UNPAUSE').catch(() => '');
      client.disconnect();
    }
  });

  it('throws by default where the cache refuses writes (as for a cache that fails), or runs the work unprotected and says so when asked to', async () => {
    const client = await connect();
    try {
      await server.cli(server.nodes[0]!.port, 'REPLICAOF', '127.0.0.1', String(await freePort()));
      await expect(new Idempotency(client, { keyPrefix: prefix() }).run('k', () => 'x')).rejects.toThrow(/refuses writes here \(READONLY/);
      const reported: string[] = [];
      const once = new Idempotency(client, { keyPrefix: prefix(), onReadOnly: 'proceed', onError: (e) => reported.push(e.message) });
      expect(await once.run('k', () => 'ran')).toEqual({ status: 'done', result: 'ran' });
      expect(await once.run('k2', () => 'ran')).toEqual({ status: 'done', result: 'ran' });
      expect(once.stats()).toMatchObject({ executed: 2, unprotected: 2, readOnly: 2 });
      expect(reported).toEqual([expect.stringMatching(/refuses writes here \(READONLY.*running the work unprotected/)]);
    } finally {
      await server.cli(server.nodes[0]!.port, 'REPLICAOF', 'NO', 'ONE').catch(() => '');
      client.disconnect();
    }
  });
});

describe('Idempotency when the cache is unreachable', () => {
  it('throws by default (the message is retried later) or runs unprotected when asked to', async () => {
    const client = await CacheClient.create({ host: '127.0.0.1', port: await freePort(), tls: false, clusterMode: false, commandTimeoutMs: 200, ...quiet });
    try {
      await expect(new Idempotency(client).run('k', () => 'x')).rejects.toThrow(IdempotencyUnavailableError);
      const proceed = new Idempotency(client, { onCacheError: 'proceed' });
      expect(await proceed.run('k', () => 'unprotected')).toEqual({ status: 'done', result: 'unprotected' });
      expect(proceed.stats()).toMatchObject({ unprotected: 1 });
    } finally {
      client.disconnect();
    }
  });
});

describe('Idempotency with the QueueWorker: a redelivered message is processed once', () => {
  const sqs = new SQSClient(motoClientConfig(services));
  let cache: CacheClient;
  beforeAll(async () => {
    cache = await CacheClient.connect(targets[1]!.options);
  });
  afterAll(async () => {
    sqs.destroy();
    await cache?.close();
  });

  it('skips the work on redelivery after the first delivery did it but failed before the delete, and dedupes a producer retry', async () => {
    const queue = await createTestQueue(sqs, { visibilityTimeout: 30, maxReceiveCount: 5 });
    const once = new Idempotency(cache, { keyPrefix: prefix() });
    const effects: string[] = [];
    const deliveries: number[] = [];
    let crashAfterWork = true;
    const worker = new QueueWorker({
      queueUrl: queue.url, sqs, waitTimeSeconds: 1, scaleInProtection: false, concurrency: 1, ...quiet,
      // Make the redelivery immediate instead of waiting out the 30 s visibility timeout.
      retryDelaySeconds: () => 0,
      handler: async (message) => {
        deliveries.push(message.receiveCount);
        const { orderId } = message.json<{ orderId: string }>();
        await once.run(`confirm:${orderId}`, () => { effects.push(orderId); });
        if (crashAfterWork) {
          crashAfterWork = false;
          throw new Error('lost the connection before the delete');
        }
      },
    });
    // The producer sent order 7 twice (a retry after a timeout): two messages, one business key.
    await sendBodies(sqs, queue.url, [JSON.stringify({ orderId: '7' }), JSON.stringify({ orderId: '7' })]);
    await worker.start();
    const deadline = Date.now() + 15_000;
    while (worker.stats().deleted < 2 && Date.now() < deadline) await sleep(50);
    const stats = await worker.stop();
    expect(stats.deleted).toBe(2);
    expect(effects).toEqual(['7']);
    expect(deliveries.length).toBe(3);
    expect(once.stats()).toMatchObject({ executed: 1, duplicates: 2 });
    expect(await queueDepth(sqs, queue.url)).toBe(0);
  });
});
