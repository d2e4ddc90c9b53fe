/**
 * Orders: written to the user's shard, read back with read-your-writes, confirmed by the worker.
 *
 * The order page must show an order the moment it was placed, even when the request lands on another server and
 * the replica it reads from lags: the user's database session (its token kept in their session) sends the read to
 * a replica only once that replica has applied the write, and to the writer until then.
 *
 * @module
 */

import { createHash, randomUUID } from 'node:crypto';
import type { DbSession, Job, Runtime } from 'scale-to-millions/runtime';
import type { Product } from './catalog';
import { JOBS_QUEUE, ORDER_PLACED, type OrderPlaced, type ShopSession } from './shop';

/** An order as the API shows it. */
export interface Order {
  readonly id: string;
  readonly userId: string;
  readonly productId: string;
  readonly quantity: number;
  readonly totalCents: number;
  readonly status: 'placed' | 'confirmed';
  readonly createdAt: string;
  readonly confirmedAt: string | null;
}

interface OrderRow {
  readonly id: string;
  readonly user_id: string;
  readonly product_id: string;
  readonly quantity: number;
  readonly total_cents: number;
  readonly status: 'placed' | 'confirmed';
  readonly created_at: Date;
  readonly confirmed_at: Date | null;
}

const COLUMNS = 'id, user_id, product_id, quantity, total_cents, status, created_at, confirmed_at';

const toOrder = (r: OrderRow): Order => ({
  id: r.id,
  userId: r.user_id,
  productId: r.product_id,
  quantity: r.quantity,
  totalCents: r.total_cents,
  status: r.status,
  createdAt: r.created_at.toISOString(),
  confirmedAt: r.confirmed_at ? r.confirmed_at.toISOString() : null,
});

/**
 * The id of an order: random, or derived from the client's `Idempotency-Key` (a UUID made of SHA-256(user, key)),
 * so a client that retries a POST whose answer it never got places the same order again, not a second one.
 */
export function orderIdFor(userId: string, idempotencyKey: string | undefined): string {
  if (idempotencyKey === undefined) return randomUUID();
  const h = createHash('sha256').update(`${userId}\0${idempotencyKey}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x80; // version 8: application-defined
  h[8] = (h[8]! & 0x3f) | 0x80; // RFC 4122 variant
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/**
 * Places an order on the user's shard and sends its job. A retry with the same id finds the order and sends the
 * job again (the worker runs a job once per order id).
 *
 * If the process dies between the insert and the send, the order stays `placed` without a job: the relay
 * (`relay.ts`) finds such orders and sends their job.
 *
 * @returns the order, and whether it was created now
 */
export async function placeOrder(rt: Runtime<ShopSession>, session: DbSession, userId: string, product: Product, quantity: number, orderId: string): Promise<{ order: Order; created: boolean }> {
  const db = rt.databaseFor(userId);
  const inserted = await db.write<OrderRow>(
    `INSERT INTO orders (id, user_id, product_id, quantity, total_cents) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING RETURNING ${COLUMNS}`,
    [orderId, userId, product.id, quantity, product.priceCents * quantity],
    { session },
  );
  let row = inserted.rows[0];
  if (row === undefined) {
    row = (await db.read<OrderRow>(`SELECT ${COLUMNS} FROM orders WHERE id = $1 AND user_id = $2`, [orderId, userId], { consistency: 'strong' })).rows[0];
    if (row === undefined) throw new Error(`order ${orderId} exists for another user`); // a UUID collision: never in practice
  }
  const job: OrderPlaced = { orderId, userId };
  // The session travels with the job: the worker reads the order even from a replica that lags.
  await rt.queue(JOBS_QUEUE).send(job, { type: ORDER_PLACED, idempotencyKey: orderId, session });
  return { order: toOrder(row), created: inserted.rows.length === 1 };
}

/** One of the user's orders (read-your-writes), or `undefined`. */
export async function getOrder(rt: Runtime<ShopSession>, session: DbSession, userId: string, orderId: string): Promise<Order | undefined> {
  const { rows } = await rt.databaseFor(userId).read<OrderRow>(`SELECT ${COLUMNS} FROM orders WHERE id = $1 AND user_id = $2`, [orderId, userId], { session });
  return rows[0] === undefined ? undefined : toOrder(rows[0]);
}

/** The user's latest orders (read-your-writes). */
export async function listOrders(rt: Runtime<ShopSession>, session: DbSession, userId: string, limit = 20): Promise<Order[]> {
  const { rows } = await rt.databaseFor(userId).read<OrderRow>(`SELECT ${COLUMNS} FROM orders WHERE user_id = $1 ORDER BY created_at DESC LIMIT $2`, [userId, limit], { session });
  return rows.map(toOrder);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Reads and checks an {@link ORDER_PLACED} job's body; throws for anything else (it will end in the dead-letter queue). */
export function orderPlacedOf(job: Job): OrderPlaced {
  if (job.type !== ORDER_PLACED) throw new Error(`unknown job type ${JSON.stringify(job.type)}`);
  const body = job.json<Partial<OrderPlaced>>();
  if (typeof body !== 'object' || body === null || typeof body.orderId !== 'string' || !UUID.test(body.orderId) || typeof body.userId !== 'string' || body.userId === '') {
    throw new Error(`malformed ${ORDER_PLACED} job: ${job.body.slice(0, 200)}`);
  }
  return { orderId: body.orderId, userId: body.userId };
}

/**
 * The worker's job: confirms the order (the example's stand-in for the slow part of an order: capturing a
 * payment, reserving stock, sending the e-mail).
 *
 * Delivery is at least once. The runtime already runs a job once per order id while the cache remembers it; the
 * database makes it exact: the status changes from `placed` to `confirmed` and the event is recorded in one
 * transaction, only if the status changed, so a duplicate that slips past the cache changes nothing.
 *
 * @returns `confirmed`, or `already` when a previous delivery did it
 * @throws when the order is not found (it may not have reached the database the worker reads yet: the message is
 *   retried, and after the queue's `maxReceiveCount` it goes to the dead-letter queue)
 */
export async function confirmOrder(rt: Runtime<ShopSession>, job: Job, worker: string): Promise<'confirmed' | 'already'> {
  const { orderId, userId } = orderPlacedOf(job);
  const db = rt.databaseFor(userId);
  // The producer's session: this read sees the order even on a replica that has not caught up with the web's write.
  const { rows } = await db.read<{ status: string }>('SELECT status FROM orders WHERE id = $1 AND user_id = $2', [orderId, userId], { session: job.session });
  if (rows[0] === undefined) throw new Error(`order ${orderId} of ${userId} not found`);
  if (rows[0].status === 'confirmed') return 'already';
  return db.transaction(async (tx) => {
    const updated = await tx.query("UPDATE orders SET status = 'confirmed', confirmed_at = now() WHERE id = $1 AND status = 'placed'", [orderId]);
    if (updated.rowCount !== 1) return 'already';
    await tx.query("INSERT INTO order_events (order_id, event, worker) VALUES ($1, 'confirmed', $2)", [orderId, worker]);
    return 'confirmed';
  });
}
