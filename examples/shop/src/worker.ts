/**
 * The shop's worker: consumes the jobs queue (`S2M_ROLE=worker`, `S2M_SERVICE=<queue name>`) and confirms orders.
 * A job that fails is not deleted: it comes back after its visibility timeout, and after the queue's
 * `maxReceiveCount` receives SQS moves it to the dead-letter queue (a malformed job ends there).
 *
 * @module
 */

import { hostname } from 'node:os';
import { confirmOrder } from './orders';
import { startRelay } from './relay';
import { createShopRuntime, log } from './shop';

const number = (name: string, fallback: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number (got: ${JSON.stringify(raw)})`);
  return n;
};

async function main(): Promise<void> {
  const settings = {
    concurrency: number('SHOP_WORKER_CONCURRENCY', 8),
    relay: { intervalMs: number('SHOP_RELAY_INTERVAL_MS', 60_000), afterSeconds: number('SHOP_RELAY_AFTER_SECONDS', 300) },
  };
  const rt = await createShopRuntime();
  const me = `${hostname()}:${process.pid}`;
  const relay = startRelay(rt, settings.relay);
  rt.onClose(() => relay.stop());
  log('info', 'working', { queue: rt.environment.service, version: rt.environment.version, region: rt.environment.region });
  // Until SIGTERM: then it stops receiving, lets running jobs finish (handing back what does not finish in time),
  // and lifts the instance's scale-in protection.
  await rt.runWorker(async (job) => {
    const outcome = await confirmOrder(rt, job, me);
    if (outcome === 'confirmed') log('info', 'order-confirmed', { order: job.idempotencyKey, receive: job.receiveCount });
  }, {
    concurrency: settings.concurrency,
    onError: (error, context) => log('warn', 'worker', { operation: context.operation, message: context.messageId, error: error.message }),
  }).catch(async (e: unknown) => {
    await rt.close(); // e.g. the queue's attributes cannot be read: release everything so the process can exit
    throw e;
  });
  await rt.closed;
  log('info', 'stopped', { stats: rt.stats(), relay: relay.stats });
}

main().catch((e: unknown) => {
  log('error', 'failed-to-start', { error: (e as Error).stack ?? String(e) });
  process.exitCode = 1;
});
