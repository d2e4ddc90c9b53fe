/**
 * What the web service and the worker share: the session's shape, the job, the queue, the runtime they build, and
 * a one-line JSON logger (the CloudWatch agent ships stdout to the fleet's log group; Logs Insights reads JSON).
 *
 * @module
 */

import { createRuntime, type Runtime } from 'scale-to-millions/runtime';

/** What a signed-in user's session holds: ids, never records (a sealed session travels in every request). */
export interface ShopSession {
  /** The user (also the shard key of their orders). */
  readonly userId: string;
  /** The user's database session token (`DbSession.token()`): their next reads see their last writes. */
  readonly db?: string;
}

/** The queue of the jobs, by its name in the config (`queues[].name`; the reference configs call it `jobs`). */
export const JOBS_QUEUE = process.env.SHOP_JOBS_QUEUE ?? 'jobs';

/** The job sent for each order. */
export const ORDER_PLACED = 'order.placed';

/** The body of an {@link ORDER_PLACED} job. */
export interface OrderPlaced {
  readonly orderId: string;
  readonly userId: string;
}

/**
 * Local development only: reader hosts by writer, for a standby on another port of the same host
 * (`SHOP_LOCAL_READERS="127.0.0.1:5432=127.0.0.1:5433"`, several separated by `;`). A published reader endpoint names
 * a host, not a port. Unset on the fleets.
 */
export function localReaders(spec: string | undefined): Record<string, string[]> | undefined {
  if (spec === undefined || spec.trim() === '') return undefined;
  const out: Record<string, string[]> = {};
  for (const entry of spec.split(';').map((e) => e.trim()).filter(Boolean)) {
    const [writer, readers] = entry.split('=');
    if (!writer || !readers) throw new Error(`SHOP_LOCAL_READERS: expected writer=reader[,reader] entries separated by ";" (got: ${JSON.stringify(entry)})`);
    out[writer] = readers.split(',').map((r) => r.trim());
  }
  return out;
}

/**
 * The runtime of both entry points: everything from `/etc/scale-to-millions/env` and the published parameters.
 * The queue is named because fleets are granted each queue's parameters, not the whole `<prefix>/queues`.
 */
export function createShopRuntime(): Promise<Runtime<ShopSession>> {
  const readers = localReaders(process.env.SHOP_LOCAL_READERS);
  return createRuntime<ShopSession>({ queues: [JOBS_QUEUE], ...(readers ? { readers } : {}), onError: (e) => log('warn', 'runtime', { error: e.message }) });
}

/** One JSON line on stdout (or stderr for warnings and errors). */
export function log(level: 'info' | 'warn' | 'error', event: string, fields: Record<string, unknown> = {}): void {
  const line = JSON.stringify({ at: new Date().toISOString(), level, event, ...fields });
  if (level === 'info') console.log(line);
  else console.error(line);
}
