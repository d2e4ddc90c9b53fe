/**
 * The safety net of "insert the order, then send its job": a web server that dies between the two leaves an order
 * `placed` with no job. Every `intervalMs` one worker (a lock in the cache picks it) looks for orders still
 * `placed` after `afterSeconds` on every shard and sends their job again. Jobs run once per order id, and the
 * confirmation is conditional in the database, so a job sent twice (the order was only slow) changes nothing.
 *
 * `afterSeconds` must be longer than the queue normally takes to get to a job (`acceptableLatencySeconds` in the
 * config), or the relay sends duplicates of jobs that are merely waiting.
 *
 * @module
 */

import { randomBytes } from 'node:crypto';
import type { Runtime } from 'scale-to-millions/runtime';
import { JOBS_QUEUE, ORDER_PLACED, log, type OrderPlaced, type ShopSession } from './shop';

/** Options of {@link startRelay}. */
export interface RelayOptions {
  /** How often one worker of the fleet looks. @default 60000 */
  readonly intervalMs?: number;
  /** An order still `placed` after this long has lost its job. @default 300 */
  readonly afterSeconds?: number;
  /** Most orders re-sent per shard and run. @default 100 */
  readonly limit?: number;
}

/** Counters of the relay. */
export interface RelayStats {
  runs: number;
  resent: number;
  errors: number;
}

const STALE = "SELECT id, user_id FROM orders WHERE status = 'placed' AND created_at < now() - make_interval(secs => $1) ORDER BY created_at LIMIT $2";

/**
 * Starts the relay (its timer does not keep the process alive).
 *
 * @returns `stop()` and the counters
 */
export function startRelay(rt: Runtime<ShopSession>, options: RelayOptions = {}): { stop: () => void; stats: RelayStats } {
  const intervalMs = options.intervalMs ?? 60_000;
  const afterSeconds = options.afterSeconds ?? 300;
  const limit = options.limit ?? 100;
  const stats: RelayStats = { runs: 0, resent: 0, errors: 0 };
  const me = randomBytes(8).toString('hex');
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  const run = async (): Promise<void> => {
    // One relay per interval across the fleet; a cache that does not answer skips this round.
    const won = await rt.cache.redis.set('shop:relay:lock', me, 'PX', intervalMs, 'NX').catch(() => null);
    if (won !== 'OK') return;
    stats.runs++;
    const stale: Array<{ id: string; user_id: string }> = [];
    if (rt.shards) {
      // A query on every shard: the costly exception, fine for a background job once a minute.
      const { results, errors } = await rt.shards.fanOut<{ id: string; user_id: string }>(STALE, [afterSeconds, limit], { consistency: 'eventual' });
      for (const r of results) stale.push(...r.rows);
      for (const e of errors) log('warn', 'relay-shard-failed', { shard: e.shardId, error: e.error.message });
    } else {
      stale.push(...(await rt.database.read<{ id: string; user_id: string }>(STALE, [afterSeconds, limit])).rows);
    }
    for (const row of stale) {
      const job: OrderPlaced = { orderId: row.id, userId: row.user_id };
      await rt.queue(JOBS_QUEUE).send(job, { type: ORDER_PLACED, idempotencyKey: row.id });
      stats.resent++;
    }
    if (stale.length > 0) log('warn', 'relay-resent', { orders: stale.map((r) => r.id) });
  };

  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      run().catch((e: unknown) => {
        stats.errors++;
        log('warn', 'relay-failed', { error: (e as Error).message });
      }).finally(schedule);
    }, intervalMs * (0.9 + Math.random() * 0.2));
    timer.unref();
  };
  schedule();
  return {
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
    stats,
  };
}
