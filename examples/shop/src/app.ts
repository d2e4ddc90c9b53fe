/**
 * The shop's HTTP API (plain Node `http`, JSON in and out). The health paths are answered before this handler by
 * the runtime's server.
 *
 * | request | what it does |
 * | --- | --- |
 * | `POST /login {"user"}` | signs in (a new session; authentication itself is your identity provider's job) |
 * | `POST /logout` | signs out |
 * | `GET /products`, `GET /products/:id` | the catalog, from the cache (cache-aside over the readers) |
 * | `POST /orders {"productId", "quantity"}` | places an order on the user's shard and queues its job; `Idempotency-Key` makes retries safe |
 * | `GET /orders`, `GET /orders/:id` | the user's orders, read-your-writes: a new order is there on every server |
 *
 * Nothing is kept in this process between requests: any instance can serve any request.
 *
 * @module
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, RequestSession, readJsonObject, sendJson, type RequestHandler, type Runtime } from 'scale-to-millions/runtime';
import { Catalog } from './catalog';
import { getOrder, listOrders, orderIdFor, placeOrder } from './orders';
import type { ShopSession } from './shop';

const USER = /^[A-Za-z0-9_.@-]{1,64}$/;
const ID = /^[A-Za-z0-9_.-]{1,64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The request handler of the web service. */
export function shopHandler(rt: Runtime<ShopSession>): RequestHandler {
  const catalog = new Catalog(rt);

  /** The signed-in user's session, or 401. */
  const signedIn = async (req: IncomingMessage, res: ServerResponse): Promise<{ session: RequestSession<ShopSession>; data: ShopSession }> => {
    const session = await RequestSession.load(rt.sessions, req, res);
    if (session.data === undefined) throw new HttpError(401, 'sign in first: POST /login');
    return { session, data: session.data };
  };

  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://shop.invalid');
    // The reference app routes /api/* to a service of its own (functional partitioning: its own fleet and scaling);
    // it runs this same application, so the API answers under both prefixes.
    const parts = url.pathname.replace(/^\/api(?=\/|$)/, '').split('/').filter(Boolean);
    const route = `${req.method} /${parts[0] ?? ''}${parts.length > 1 ? '/:id' : ''}`;
    const id = parts[1] ?? '';
    if (parts.length > 2 || (parts.length === 2 && !ID.test(id))) throw new HttpError(404, `no such resource: ${url.pathname}`);

    switch (route) {
      case 'GET /':
        return sendJson(res, 200, { service: rt.environment.service ?? 'shop', version: rt.environment.version ?? 'dev', links: ['/products', '/orders', '/login'] });

      case 'POST /login': {
        const { user } = await readJsonObject<{ user: unknown }>(req);
        if (typeof user !== 'string' || !USER.test(user)) throw new HttpError(400, `"user" must be 1-64 letters, digits or _.@- (got: ${JSON.stringify(user)})`);
        const session = await RequestSession.load(rt.sessions, req, res);
        // A new session id at sign-in: a token planted before (session fixation) is worthless afterwards.
        await session.start({ userId: user });
        return sendJson(res, 200, { user });
      }

      case 'POST /logout': {
        const session = await RequestSession.load(rt.sessions, req, res);
        await session.end();
        return sendJson(res, 200, { user: null });
      }

      case 'GET /products':
        return sendJson(res, 200, { products: await catalog.list() });

      case 'GET /products/:id': {
        const product = await catalog.product(id);
        if (product === undefined) throw new HttpError(404, `no product ${id}`);
        return sendJson(res, 200, product);
      }

      case 'POST /orders': {
        const { session, data } = await signedIn(req, res);
        const { productId, quantity = 1 } = await readJsonObject<{ productId: unknown; quantity: unknown }>(req);
        if (typeof productId !== 'string' || !ID.test(productId)) throw new HttpError(400, `"productId" must be a product id (got: ${JSON.stringify(productId)})`);
        if (typeof quantity !== 'number' || !Number.isInteger(quantity) || quantity < 1 || quantity > 100) throw new HttpError(400, `"quantity" must be a whole number from 1 to 100 (got: ${JSON.stringify(quantity)})`);
        const product = await catalog.product(productId);
        if (product === undefined) throw new HttpError(400, `no product ${productId}`);
        const key = req.headers['idempotency-key'];
        if (key !== undefined && (typeof key !== 'string' || !/^[\x21-\x7e]{1,128}$/.test(key))) throw new HttpError(400, 'Idempotency-Key must be 1-128 visible ASCII characters');
        const db = rt.dbSession(data.db);
        const { order, created } = await placeOrder(rt, db, data.userId, product, quantity, orderIdFor(data.userId, key));
        // The user's next requests, on any server, read this write: keep the session's position with them.
        await session.save({ ...data, db: db.token() });
        return sendJson(res, created ? 201 : 200, order, { location: `/orders/${order.id}` });
      }

      case 'GET /orders': {
        const { data } = await signedIn(req, res);
        return sendJson(res, 200, { orders: await listOrders(rt, rt.dbSession(data.db), data.userId) });
      }

      case 'GET /orders/:id': {
        if (!UUID.test(id)) throw new HttpError(404, `no order ${id}`);
        const { data } = await signedIn(req, res);
        const order = await getOrder(rt, rt.dbSession(data.db), data.userId, id);
        if (order === undefined) throw new HttpError(404, `no order ${id}`);
        return sendJson(res, 200, order);
      }

      default:
        throw new HttpError(parts.length <= 2 && ['', 'login', 'logout', 'products', 'orders'].includes(parts[0] ?? '') ? 405 : 404, `no route for ${req.method} ${url.pathname}`);
    }
  };
}
