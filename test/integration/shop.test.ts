import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { cpSync, mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { QueueProducer } from '../../lib/runtime/queue-producer';
import { ShardRouter } from '../../lib/runtime/shard-router';
import { motoClientConfig, motoClients, putParameters } from './services/aws';
import { eventually, freePort, setReplicaApplyDelay, sleep } from './services/index';
import { lockReplica, onServer } from './services/pg';
import { queueDepth } from './services/sqs';
import { SHOP, SHOP_APP_USER, SHOP_DATABASES, bundleShop, deployShop, finalStats, runMigrate, startShopProcess, type ShopDeployment, type ShopProcess } from './services/shop';

const services = inject('services');
const pg = services.postgres;

/** Where each shard of the shop lives on the local servers. */
const SHARDS = {
  s0: { server: pg.primary, database: SHOP_DATABASES.main },
  s1: { server: pg.shard2, database: SHOP_DATABASES.main },
  s2: { server: pg.primary, database: SHOP_DATABASES.s2 },
} as const;

/** A browser-like client of one user: keeps the session cookie, talks to any of the web servers. */
class Shopper {
  public cookie: string | undefined;
  public constructor(public readonly user: string) {}

  public async call(port: number, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown>; ms: number }> {
    const started = performance.now();
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(this.cookie ? { cookie: this.cookie } : {}), ...headers },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(15_000),
    });
    for (const c of res.headers.getSetCookie()) this.cookie = c.split(';')[0];
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) as Record<string, unknown> : {}, ms: performance.now() - started };
  }
}


const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
};

describe('the example shop (examples/shop) on the local servers, bundled as the fleets run it', () => {
  const sqs = new SQSClient({ ...motoClientConfig(services), maxAttempts: 2 });
  let dir: string;
  let bundles: { web: string; worker: string };
  let deployment: ShopDeployment;
  const webs: ShopProcess[] = [];
  const workers: ShopProcess[] = [];
  const extra: ShopProcess[] = [];
  let releaseReplica: (() => Promise<void>) | undefined;
  const orders: Array<{ id: string; user: string }> = [];
  /** Orders placed outside the load (the relayed one, the cache-session user's): their jobs run too. */
  let otherOrders = 0;
  /** The shard database that holds `user`'s orders. */
  const shardOf = (user: string) => SHARDS[ShardRouter.fromShardMap(deployment.topology.shardMap as never).shardFor(user).id as keyof typeof SHARDS];
  /** Waits (bounded) until `user`'s order `id` is confirmed: its job ran on the workers. */
  const confirmed = async (user: string, id: unknown): Promise<boolean> => {
    const shard = shardOf(user);
    return eventually(async () => (await onServer<{ status: string }>(services, shard.server, 'SELECT status FROM orders WHERE id = $1', [id], shard.database))[0]?.status === 'confirmed', 30_000, 200);
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 's2m-shop-'));
    [bundles, deployment] = await Promise.all([bundleShop(join(dir, 'bundle')), deployShop(services, { sealedSessions: true, visibilityTimeout: 5, maxReceiveCount: 3 })]);
    const [webA, webB, w1, w2] = await Promise.all([
      startShopProcess('web', bundles.web, deployment),
      startShopProcess('web', bundles.web, deployment),
      // The relay looks every second here (a minute on the fleets), for orders placed more than a minute ago.
      startShopProcess('worker', bundles.worker, deployment, { SHOP_RELAY_INTERVAL_MS: '1000', SHOP_RELAY_AFTER_SECONDS: '60', SHOP_WORKER_CONCURRENCY: '4' }),
      startShopProcess('worker', bundles.worker, deployment, { SHOP_RELAY_INTERVAL_MS: '1000', SHOP_RELAY_AFTER_SECONDS: '60', SHOP_WORKER_CONCURRENCY: '4' }),
    ]);
    webs.push(webA!, webB!);
    workers.push(w1!, w2!);
  });

  afterAll(async () => {
    await Promise.all([...webs, ...workers, ...extra].map((p) => p.stop(10_000)));
    // Only the holder of the standby's lock undoes its lag: without it, the lag is another file's.
    if (releaseReplica) {
      await setReplicaApplyDelay(services, 0);
      await releaseReplica();
    }
    sqs.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('migrates idempotently, refuses an edited migration, and leaves the application user data access only', async () => {
    const again = await runMigrate(deployment.env, ['--secret-arn', deployment.masterSecretArn]);
    const runs = again.stdout.trim().split('\n').map((l) => JSON.parse(l) as { target: string; applied: string[]; alreadyApplied: number });
    expect(runs.map((r) => r.target)).toEqual(['database', 's1', 's2']);
    expect(runs.every((r) => r.applied.length === 0)).toBe(true);
    expect(runs[0]!.alreadyApplied).toBe(3); // the catalog (2) and the orders (1): the database is shard s0 too
    expect(runs[1]!.alreadyApplied).toBe(1);

    const edited = join(dir, 'migrations');
    cpSync(join(SHOP, 'migrations'), edited, { recursive: true });
    appendFileSync(join(edited, 'shard', '001_orders.sql'), '\n-- edited\n');
    writeFileSync(join(edited, 'shard', '002_later.sql'), 'ALTER TABLE orders ADD COLUMN IF NOT EXISTS note text;\n');
    const refused = await runMigrate(deployment.env, ['--secret-arn', deployment.masterSecretArn, '--dir', edited]).catch((e: { code: number; stderr: string }) => e);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/shard\/001_orders\.sql was changed after it was applied to database \(127\.0\.0\.1:\d+\/shop\): never edit an applied migration/);
    const dry = await runMigrate(deployment.env, ['--secret-arn', deployment.masterSecretArn, '--dry-run']);
    expect(dry.stdout).toContain('"event":"would-apply","target":"database","applied":[]');

    // The application's login (a member of s2m_application) reads and writes, and cannot change the schema.
    const app = new Client({ host: pg.primary.host, port: pg.primary.port, database: SHOP_DATABASES.main, ...{ user: SHOP_APP_USER.username, password: SHOP_APP_USER.password } });
    await app.connect();
    try {
      expect((await app.query('SELECT count(*)::int AS n FROM products')).rows[0]).toEqual({ n: 8 });
      await expect(app.query('CREATE TABLE it_nope (x int)')).rejects.toThrow(/permission denied/);
      await expect(app.query('DELETE FROM schema_migrations')).rejects.toThrow(/permission denied/);
    } finally {
      await app.end();
    }
  });

  // The standby's lock may be held by another file for up to lockReplica's 120 s: the test's time counts from then.
  it('serves sign-in, the catalog, orders and order pages under load with replica lag: no errors, every order page shows its order, every job runs once', { timeout: 240_000 }, async () => {
    releaseReplica = await lockReplica(services);
    await setReplicaApplyDelay(services, 1_000);
    const [a, b] = webs.map((w) => w.port!) as [number, number];
    const USERS = 8;
    const ROUNDS = 10;
    const latencies: number[] = [];
    const failures: string[] = [];
    let requests = 0;
    let pagesWithOrder = 0;
    let staleOnReplica = 0;
    const producer = new QueueProducer({ queueUrl: deployment.queue.url, sqs });
    const expect2xx = (what: string, r: { status: number; json: unknown; ms: number }, status = 200): void => {
      requests++;
      latencies.push(r.ms);
      if (r.status !== status) failures.push(`${what}: ${r.status} ${JSON.stringify(r.json)}`);
    };
    const router = ShardRouter.fromShardMap(deployment.topology.shardMap as never);

    const shopper = async (u: number): Promise<void> => {
      const s = new Shopper(`it-user-${u}`);
      expect2xx('login', await s.call(u % 2 ? a : b, 'POST', '/login', { user: s.user }));
      for (let round = 0; round < ROUNDS; round++) {
        const roundStarted = Date.now();
        // Requests alternate between the two servers: nothing about the user lives in either.
        const [here, there] = (u + round) % 2 ? [a, b] : [b, a];
        const list = await s.call(here, 'GET', '/products');
        expect2xx('products', list);
        const products = (list.json['products'] as Array<{ id: string }> | undefined) ?? [];
        const product = products[(u + round) % Math.max(1, products.length)]?.id ?? 'p-mug';
        expect2xx('product', await s.call(there, 'GET', `/products/${product}`));
        const placed = await s.call(here, 'POST', '/orders', { productId: product, quantity: 1 + (round % 3) }, round % 3 === 0 ? { 'idempotency-key': `k-${u}-${round}` } : {});
        expect2xx('place order', placed, 201);
        const id = placed.json['id'] as string;
        orders.push({ id, user: s.user });
        // What an eventual read would see right now: the standby applies the order a second late.
        const shard = SHARDS[router.shardFor(s.user).id as keyof typeof SHARDS];
        if (shard.server === pg.primary) {
          const onReplica = await onServer(services, pg.replica, 'SELECT 1 FROM orders WHERE id = $1', [id], shard.database);
          if (onReplica.length === 0) staleOnReplica++;
        }
        const page = await s.call(there, 'GET', `/orders/${id}`);
        expect2xx('order page', page);
        if (page.json['id'] === id) pagesWithOrder++;
        const mine = await s.call(here, 'GET', '/orders');
        expect2xx('order list', mine);
        if (!((mine.json['orders'] as Array<{ id: string }> | undefined) ?? []).some((o) => o.id === id)) failures.push(`order list of ${s.user} misses ${id}`);
        if (round % 4 === 1) {
          // A producer's retry of the same job (a new message id, the same order id).
          await producer.send({ orderId: id, userId: s.user }, { type: 'order.placed', idempotencyKey: id });
        }
        if (round === 1 && u === 0) {
          // A client retry of a POST whose answer was lost: the same order, not a second one.
          const retry = await s.call(there, 'POST', '/orders', { productId: product, quantity: 1 }, { 'idempotency-key': `k-${u}-0` });
          expect2xx('retried order', retry);
          if (retry.json['id'] !== orders.find((o) => o.user === s.user)!.id) failures.push('a retried POST with the same Idempotency-Key placed a second order');
        }
        // About one round a second per user: a short, steady load rather than a burst.
        await sleep(Math.max(0, 1_000 - (Date.now() - roundStarted)));
      }
    };
    // Poison: bodies that can never succeed (they must end in the dead-letter queue, after maxReceiveCount receives).
    await producer.send('this is not JSON', { type: 'order.placed', idempotencyKey: 'poison-1' });
    await producer.send({ orderId: 'x' }, { type: 'order.shipped' });
    const started = Date.now();
    await Promise.all(Array.from({ length: USERS }, (_, u) => shopper(u)));
    const seconds = (Date.now() - started) / 1000;
    await setReplicaApplyDelay(services, 0);

    expect(failures).toEqual([]);
    expect(requests).toBeGreaterThanOrEqual(USERS * (1 + ROUNDS * 5));
    expect(orders.length).toBe(USERS * ROUNDS);
    expect(pagesWithOrder).toBe(orders.length);
    expect(staleOnReplica).toBeGreaterThan(0); // the lag was real: an eventual read would have missed those orders

    // Every order's job runs exactly once: confirmed, one confirmation event, on the shard the map names.
    const byShard = new Map<string, string[]>();
    for (const o of orders) {
      const id = router.shardFor(o.user).id;
      byShard.set(id, [...(byShard.get(id) ?? []), o.id]);
    }
    expect(byShard.size).toBe(3);
    const confirmed = async (): Promise<boolean> => {
      for (const [id, ids] of byShard) {
        const shard = SHARDS[id as keyof typeof SHARDS];
        const rows = await onServer<{ n: number }>(services, shard.server, "SELECT count(*)::int AS n FROM orders WHERE id = ANY($1::uuid[]) AND status = 'confirmed'", [ids], shard.database);
        if (rows[0]!.n !== ids.length) return false;
      }
      return true;
    };
    expect(await eventually(confirmed, 60_000, 200)).toBe(true);
    for (const [id, ids] of byShard) {
      const shard = SHARDS[id as keyof typeof SHARDS];
      const events = await onServer<{ order_id: string; n: number }>(services, shard.server, "SELECT order_id::text, count(*)::int AS n FROM order_events WHERE order_id = ANY($1::uuid[]) AND event = 'confirmed' GROUP BY order_id", [ids], shard.database);
      expect(events.length).toBe(ids.length);
      expect(events.every((e) => e.n === 1)).toBe(true);
    }

    // The poison messages reached the dead-letter queue; nothing is left on the work queue.
    const dead: string[] = [];
    expect(await eventually(async () => {
      const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl: deployment.queue.deadLetterUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
      for (const m of got.Messages ?? []) {
        dead.push(m.Body ?? '');
        await sqs.send(new DeleteMessageCommand({ QueueUrl: deployment.queue.deadLetterUrl, ReceiptHandle: m.ReceiptHandle }));
      }
      return dead.length >= 2;
    }, 60_000, 200)).toBe(true);
    expect(dead.sort()).toEqual(['this is not JSON', '{"orderId":"x"}'].sort());
    // The duplicates (some wait out a visibility timeout behind a job in progress) are all handled.
    expect(await eventually(async () => (await queueDepth(sqs, deployment.queue.url)) === 0, 60_000, 200)).toBe(true);

    // The deep health check of both servers.
    for (const port of [a, b]) {
      const deep = await new Shopper('health').call(port, 'GET', '/health/deep');
      expect(deep.status).toBe(200);
      // s0 is the database itself (checked once); s2 is another database on the same server.
      expect(Object.keys(deep.json['checks'] as object).sort()).toEqual(['cache', 'database.reader', 'database.s1.reader', 'database.s1.writer', 'database.s2.reader', 'database.s2.writer', 'database.writer', 'topology']);
    }
    if (process.env.SHOP_LOAD_REPORT) {
      console.log(`shop load: ${requests} requests in ${seconds.toFixed(1)} s (${(requests / seconds).toFixed(0)}/s) by ${USERS} users, p50 ${percentile(latencies, 0.5).toFixed(1)} ms, p95 ${percentile(latencies, 0.95).toFixed(1)} ms, p99 ${percentile(latencies, 0.99).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms; ${staleOnReplica} orders not yet on the standby when their page was read`);
    }
  });

  it('sends the job of an order whose web server died before sending it (the relay)', async () => {
    const user = 'it-user-crashed';
    const shard = shardOf(user);
    const id = '00000000-0000-4000-8000-00000000c0de';
    await onServer(services, shard.server, "INSERT INTO orders (id, user_id, product_id, quantity, total_cents, created_at) VALUES ($1, $2, 'p-mug', 1, 1500, now() - interval '10 minutes') ON CONFLICT (id) DO NOTHING", [id, user], shard.database);
    otherOrders++;
    expect(await confirmed(user, id)).toBe(true);
  });

  it('keeps sessions in the cache when no sealing secret is published', async () => {
    const prefix = `${deployment.prefix}-cache-sessions`;
    const values = Object.fromEntries(Object.entries(deployment.topology.values)
      .filter(([name]) => !name.endsWith('/sessions/secret-arn'))
      .map(([name, value]) => [name.replace(deployment.prefix, prefix), value]));
    await putParameters(motoClients(services).ssm, values);
    const web = await startShopProcess('web', bundles.web, deployment, { S2M_PARAMETER_PREFIX: prefix });
    extra.push(web);
    expect(web.lines.find((l) => l['event'] === 'listening')).toMatchObject({ sessions: 'cache', sharded: true });
    const s = new Shopper('it-cache-user');
    expect((await s.call(web.port!, 'POST', '/login', { user: s.user })).status).toBe(200);
    expect(s.cookie).toMatch(/^__Host-s2m-session=[A-Za-z0-9_-]{43}$/);
    const placed = await s.call(web.port!, 'POST', '/orders', { productId: 'p-kettle' });
    expect(placed.status).toBe(201);
    otherOrders++;
    expect((await s.call(webs[0]!.port!, 'GET', `/orders/${String(placed.json['id'])}`)).status).toBe(401); // the sealed servers cannot read a cache session
    expect((await s.call(web.port!, 'GET', `/orders/${String(placed.json['id'])}`)).json['id']).toBe(placed.json['id']);
    expect((await s.call(web.port!, 'POST', '/logout')).status).toBe(200);
    expect((await s.call(web.port!, 'GET', '/orders')).status).toBe(401);
    // The order's job runs on the workers: wait for it here, or the last test may stop them before they took it and
    // count one job short.
    expect(await confirmed(s.user, placed.json['id'])).toBe(true);
  });

  it('answers the deep health check with 503 when the writer is unreachable (and the shallow one with 200)', async () => {
    const prefix = `${deployment.prefix}-writer-down`;
    const closed = String(await freePort());
    const values = Object.fromEntries(Object.entries(deployment.topology.values).map(([name, value]) => [name.replace(deployment.prefix, prefix), value]));
    values[`${prefix}/database/port`] = closed;
    await putParameters(motoClients(services).ssm, values);
    const web = await startShopProcess('web', bundles.web, deployment, { S2M_PARAMETER_PREFIX: prefix });
    extra.push(web);
    const probe = new Shopper('probe');
    expect((await probe.call(web.port!, 'GET', '/health')).status).toBe(200);
    const deep = await probe.call(web.port!, 'GET', '/health/deep');
    expect(deep.status).toBe(503);
    expect(deep.json).toMatchObject({ status: 'fail', checks: { 'database.writer': { status: 'fail' }, cache: { status: 'ok' } } });
    // A request that needs the database answers 503 (try again), not 500 (a product nobody cached yet).
    expect((await probe.call(web.port!, 'GET', `/products/p-uncached-${Date.now()}`)).status).toBe(503);
  });

  it('stops on SIGTERM: each process drains and exits 0 with its counters', async () => {
    const results = await Promise.all([...webs, ...workers].map((p) => p.stop(30_000)));
    expect(results.every((r) => r.code === 0)).toBe(true);
    for (const p of [...webs, ...workers]) expect(p.other).toEqual([]);
    const web = webs.map((w) => finalStats(w)!['stats'] as { http: { responses: Record<string, number> }; shards: Record<string, { routes: Record<string, number>; reads: Record<string, number> }>; database: { reads: Record<string, number> } });
    expect(web.every((s) => s.http.responses['5xx'] === 0)).toBe(true);
    // Read-your-writes reads met the lag and went to the writer; other reads went to the standby.
    const routes = (key: string): number => web.reduce((n, s) => n + Object.values(s.shards ?? {}).reduce((m, d) => m + (d.routes[key] ?? 0), 0), 0);
    expect(routes('ryw-replica-behind')).toBeGreaterThan(0);
    expect(web.reduce((n, s) => n + Object.values(s.shards ?? {}).reduce((m, d) => m + d.reads['replica']!, 0) + s.database.reads['replica']!, 0)).toBeGreaterThan(0);
    const worker = workers.map((w) => finalStats(w)!['stats'] as { worker: { idempotency: { executed: number; failures: number; duplicates: number } } });
    const succeeded = worker.reduce((n, s) => n + s.worker.idempotency.executed - s.worker.idempotency.failures, 0);
    const duplicates = worker.reduce((n, s) => n + s.worker.idempotency.duplicates, 0);
    // Each order's job completed once; the producer retries and the client retry were skipped.
    expect(succeeded).toBe(orders.length + otherOrders);
    expect(duplicates).toBeGreaterThanOrEqual(USERS_WITH_RETRIES);
  });
});

/** Producer retries sent in the load test: rounds 1, 5 and 9 of each of the 8 users, and one client retry. */
const USERS_WITH_RETRIES = 8 * 3 + 1;
