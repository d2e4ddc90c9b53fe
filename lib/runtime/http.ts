/**
 * A web service's HTTP side: a Node `http` server with the health paths in front of the application, settings
 * that suit an ALB, a graceful drain on shutdown, errors mapped to status codes, and the session cookie of a
 * request ({@link RequestSession}). No framework: the handler is a plain `(req, res)` function, so any router (or
 * framework adapter) fits behind it.
 *
 * ```ts
 * const service = await serveHttp(async (req, res) => {
 *   const session = await RequestSession.load(sessions, req, res);
 *   if (!session.data) throw new HttpError(401, 'sign in first');
 *   sendJson(res, 200, { user: session.data.userId });
 * }, { port: 8080, health });
 * // on SIGTERM: await service.close();   (createRuntime's `serve` does this for you)
 * ```
 *
 * - **Behind an ALB**, the server's keep-alive timeout must be longer than the load balancer's idle timeout (60 s by
 *   default, up to 4000 s), or the ALB reuses a connection Node is closing and answers 502. Node's default is 5 s;
 *   here 5 s above `loadBalancerIdleTimeoutMs` (the fleet's `S2M_LOAD_BALANCER_IDLE_TIMEOUT` under `Runtime.serve`),
 *   at least 65 s, and `headersTimeout` above that.
 * - **Drain**: `close()` stops accepting connections, answers in-flight requests with `Connection: close`, closes
 *   idle keep-alive connections, waits up to `drainTimeoutMs`, then closes what is left.
 * - **Errors**: a handler that throws gets a JSON error answer: {@link HttpError}'s status, 503 when a dependency is
 *   unavailable (the session store, a region without a writer, the database or cache connection), 500 otherwise.
 *   The message of a 500 is not sent to the client (it is passed to `onError`).
 *
 * @module
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isConnectionError, isQueryTimeout, isStatementTimeout } from './database';
import type { HealthCheck } from './health';
import { SESSION_COOKIE_DEFAULTS, clearSessionCookie, readCookie, sessionCookie, type CookieOptions } from './session-cookie';
import type { LoadedSession, SessionStore } from './session';

/** Defaults of {@link ServeOptions}. */
export const SERVE_DEFAULTS = {
  port: 8080,
  /** The least keep-alive timeout: above an ALB's default idle timeout (60 s). */
  keepAliveTimeoutMs: 65_000,
  /** How much longer than the load balancer's idle timeout connections are kept open. */
  keepAliveMarginMs: 5_000,
  drainTimeoutMs: 10_000,
  maxBodyBytes: 1_048_576,
} as const;

/** An error with the HTTP status the client should get (4xx: its message is sent). */
export class HttpError extends Error {
  /** The status code. */
  public readonly status: number;
  /**
   * @param status - 400-599
   * @param message - sent to the client for 4xx statuses
   */
  public constructor(status: number, message: string) {
    super(message);
    if (!Number.isInteger(status) || status < 400 || status > 599) throw new RangeError(`HttpError: status must be 400-599 (got: ${status})`);
    this.name = 'HttpError';
    this.status = status;
  }
}

const UNAVAILABLE = new Set(['SessionStoreUnavailableError', 'WriteUnavailableError', 'PoolSaturatedError', 'CacheConnectError', 'IdempotencyUnavailableError']);

/**
 * The status a handler's error answers with: {@link HttpError}'s own, 503 when a dependency is unavailable (the
 * session store, a region without a writer, a refused or failed database connection, a database pool with every
 * connection busy, a statement that timed out on the client or was canceled by the server's statement timeout), 500
 * otherwise. Pure.
 */
export function statusForError(error: unknown): number {
  if (error instanceof HttpError) return error.status;
  const name = (error as { name?: string } | undefined)?.name;
  if (name !== undefined && UNAVAILABLE.has(name)) return 503;
  if (isConnectionError(error) || isQueryTimeout(error) || isStatementTimeout(error)) return 503;
  return 500;
}

/** A request handler: resolve once the response is sent (or throw, see {@link statusForError}). */
export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** Options of {@link serveHttp}. */
export interface ServeOptions {
  /** Port to listen on (0: any free port). @default - `S2M_PORT` from the environment, else 8080 */
  readonly port?: number;
  /** Address to listen on. @default - every interface */
  readonly host?: string;
  /** Answers `/health` and `/health/deep` (its paths) before the handler sees the request. @default - none */
  readonly health?: HealthCheck;
  /**
   * The idle timeout of the load balancer in front, ms: the keep-alive timeout is set above it (see
   * `keepAliveTimeoutMs`). `Runtime.serve` passes the fleet's (`S2M_LOAD_BALANCER_IDLE_TIMEOUT`).
   * @default 60000 (an ALB's default)
   */
  readonly loadBalancerIdleTimeoutMs?: number;
  /**
   * Keep-alive timeout, ms: must exceed `loadBalancerIdleTimeoutMs`, or the load balancer reuses connections the
   * server is closing (502).
   * @default - `loadBalancerIdleTimeoutMs` + 5000, at least 65000
   */
  readonly keepAliveTimeoutMs?: number;
  /** How long `close()` lets in-flight requests finish. @default 10000 */
  readonly drainTimeoutMs?: number;
  /**
   * A handler's errors (with the status answered): 5xx ones are yours to log; the client gets no detail.
   * @default - one `console.error` line for each 5xx
   */
  readonly onError?: (error: Error, req: IncomingMessage, status: number) => void;
}

/** Counters of an {@link HttpService}. */
export interface HttpServiceStats {
  /** Requests received (health checks included). */
  readonly requests: number;
  /** Requests in progress. */
  readonly inFlight: number;
  /** Answers by status class. */
  readonly responses: { readonly '2xx': number; readonly '3xx': number; readonly '4xx': number; readonly '5xx': number };
  /** Handler errors (answered by {@link statusForError}). */
  readonly errors: number;
  /**
   * Of those, requests the client gave up on before its body or the answer was through (its connection reset):
   * reported to `onError` with status 499, not answered and not logged as the service's failure.
   */
  readonly clientAborts: number;
}

/** A listening HTTP server (see {@link serveHttp}). */
export class HttpService {
  /** The Node server. */
  public readonly server: Server;
  private readonly options: ServeOptions;
  private readonly inFlight = new Set<ServerResponse>();
  private readonly counters = { requests: 0, errors: 0, clientAborts: 0, responses: { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 } };
  /** The error each request's stream failed with, if it did (the client went away while its body was read). */
  private readonly clientErrors = new WeakMap<IncomingMessage, Error>();
  private draining: Promise<void> | undefined;

  /** @internal use {@link serveHttp} */
  public constructor(handler: RequestHandler, options: ServeOptions) {
    this.options = options;
    const health = options.health?.handler();
    this.server = createServer((req, res) => {
      this.counters.requests++;
      this.inFlight.add(res);
      if (this.draining) res.setHeader('connection', 'close');
      res.once('close', () => {
        this.inFlight.delete(res);
        // Responses sent whole, by status class (a connection that closed before the answer sent none).
        if (!res.writableFinished) return;
        const cls = `${Math.floor(res.statusCode / 100)}xx` as keyof HttpServiceStats['responses'];
        if (cls in this.counters.responses) this.counters.responses[cls]++;
      });
      if (health?.(req, res)) return;
      // The request stream's own error (the client reset the connection while its body was read): only that error,
      // thrown by the handler as it is, counts as the client's abort (see fail).
      req.once('error', (e) => { this.clientErrors.set(req, e); });
      let result: void | Promise<void>;
      try {
        result = handler(req, res);
      } catch (e) {
        this.fail(e, req, res);
        return;
      }
      if (result && typeof result.then === 'function') result.then(undefined, (e: unknown) => this.fail(e, req, res));
    });
    this.server.keepAliveTimeout = keepAliveTimeoutFor(options);
    // Node requires headersTimeout > keepAliveTimeout, or it can cut a reused connection's next request short.
    this.server.headersTimeout = this.server.keepAliveTimeout + 1_000;
  }

  /** Where it listens (after `listen`). */
  public get address(): AddressInfo {
    return this.server.address() as AddressInfo;
  }

  /** Counters since the start. */
  public stats(): HttpServiceStats {
    return { ...this.counters, inFlight: this.inFlight.size, responses: { ...this.counters.responses } };
  }

  /** @internal */
  public listen(port: number, host: string | undefined): Promise<this> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this);
      });
    });
  }

  /**
   * Stops accepting connections and lets in-flight requests finish (up to `drainTimeoutMs`, or `timeoutMs`), then
   * closes every connection. Idempotent; a call with `timeoutMs: 0` during a drain cuts it short.
   */
  public close(options: { readonly timeoutMs?: number } = {}): Promise<void> {
    if (this.draining) {
      if (options.timeoutMs === 0) this.server.closeAllConnections();
      return this.draining;
    }
    const timeoutMs = options.timeoutMs ?? this.options.drainTimeoutMs ?? SERVE_DEFAULTS.drainTimeoutMs;
    this.draining = new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.server.closeAllConnections(), timeoutMs);
      timer.unref();
      this.server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      // Keep-alive connections of requests in progress close once their response is sent.
      for (const res of this.inFlight) {
        if (!res.headersSent) res.setHeader('connection', 'close');
        else res.once('finish', () => res.socket?.end());
      }
      this.server.closeIdleConnections();
    });
    return this.draining;
  }

  private fail(e: unknown, req: IncomingMessage, res: ServerResponse): void {
    const error = e instanceof Error ? e : new Error(String(e));
    this.counters.errors++;
    // The client went away mid-request (reading its body failed with the stream's own error, thrown as it is): no
    // dependency failed, and nobody is left to answer. 499 as nginx names it, for onError only. Any other error (a
    // database's ECONNRESET, a 413 of readJson) is the service's, whatever the client did meanwhile.
    if (e === this.clientErrors.get(req)) {
      this.counters.clientAborts++;
      this.options.onError?.(error, req, 499);
      res.statusCode = 499;
      res.destroy();
      return;
    }
    const status = statusForError(error);
    if (status >= 500) {
      (this.options.onError ?? ((err, r, s) => console.error(`[http] ${r.method} ${r.url} → ${s}: ${err.stack ?? err.message}`)))(error, req, status);
    } else {
      this.options.onError?.(error, req, status);
    }
    if (res.headersSent) {
      // Half a response: the client must see it fail. Counted as the failure it is (the close handler counts only
      // responses sent whole).
      const cls = `${Math.floor(status / 100)}xx` as keyof HttpServiceStats['responses'];
      if (cls in this.counters.responses) this.counters.responses[cls]++;
      res.destroy(error);
      return;
    }
    const message = status < 500 ? error.message : status === 503 ? 'a dependency is unavailable: try again' : 'internal error';
    sendJson(res, status, { error: message });
  }
}

/**
 * The keep-alive timeout of a server behind a load balancer whose idle timeout is `loadBalancerIdleTimeoutMs`:
 * `keepAliveTimeoutMs` when given (it must exceed the idle timeout), else 5 s more than the idle timeout, at least
 * 65 s. Pure.
 *
 * @throws RangeError for an idle timeout that is not 1 s-4000 s, or a keep-alive timeout that does not exceed it
 */
export function keepAliveTimeoutFor(options: Pick<ServeOptions, 'loadBalancerIdleTimeoutMs' | 'keepAliveTimeoutMs'>): number {
  const idle = options.loadBalancerIdleTimeoutMs;
  if (idle !== undefined && (!Number.isInteger(idle) || idle < 1_000 || idle > 4_000_000)) {
    throw new RangeError(`serveHttp: loadBalancerIdleTimeoutMs must be whole ms from 1000 to 4000000, an ALB's range (got: ${JSON.stringify(idle)})`);
  }
  const keepAlive = options.keepAliveTimeoutMs;
  if (keepAlive === undefined) return Math.max(SERVE_DEFAULTS.keepAliveTimeoutMs, (idle ?? 60_000) + SERVE_DEFAULTS.keepAliveMarginMs);
  if (!Number.isInteger(keepAlive) || keepAlive <= (idle ?? 0)) {
    throw new RangeError(`serveHttp: keepAliveTimeoutMs must be whole ms above the load balancer's idle timeout (${idle ?? 0} ms), or it answers 502 on connections the server closes (got: ${JSON.stringify(keepAlive)})`);
  }
  return keepAlive;
}

/**
 * Serves `handler` over HTTP (see the module documentation).
 *
 * @param handler - the application
 * @param options - see {@link ServeOptions}
 * @returns the service, listening
 */
export function serveHttp(handler: RequestHandler, options: ServeOptions = {}): Promise<HttpService> {
  const port = options.port ?? SERVE_DEFAULTS.port;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new RangeError(`serveHttp: port must be 0-65535 (got: ${JSON.stringify(options.port)})`);
  keepAliveTimeoutFor(options); // a wrong timeout fails here, before the server listens
  return new HttpService(handler, options).listen(port, options.host);
}

/** Sends a JSON body with `status` (no caching: answers are per user). */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/**
 * Reads a JSON request body (at most `maxBytes`).
 *
 * @throws HttpError 413 for a larger body, 415 for another content type, 400 for malformed JSON
 */
export async function readJson<T = unknown>(req: IncomingMessage, maxBytes: number = SERVE_DEFAULTS.maxBodyBytes): Promise<T> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) throw new HttpError(415, `expected content-type application/json (got: ${JSON.stringify(type)})`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw new HttpError(413, `request body above ${maxBytes} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as T;
  } catch {
    throw new HttpError(400, 'the request body is not valid JSON');
  }
}

/**
 * Reads a JSON request body that must be an object (`{ … }`), so its fields can be read at once: `null`, an array
 * or a scalar is the client's error, not a `TypeError` (500) in the handler.
 *
 * @throws HttpError 400 for another JSON value, and as {@link readJson} does
 */
export async function readJsonObject<T extends object = Record<string, unknown>>(req: IncomingMessage, maxBytes: number = SERVE_DEFAULTS.maxBodyBytes): Promise<Partial<T>> {
  const body = await readJson<unknown>(req, maxBytes);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, `the request body must be a JSON object (got: ${body === null ? 'null' : Array.isArray(body) ? 'an array' : typeof body})`);
  }
  return body as Partial<T>;
}

/**
 * Adds a `Set-Cookie` header without dropping the other cookies set; an earlier value of the same cookie in this
 * response is replaced (a renewed token, then a saved one: only the last is sent). The response becomes
 * `Cache-Control: private, no-store`: a shared cache (CloudFront with dynamic caching on) must never keep a response
 * that hands out a session, or the next visitor with the same cache key (an anonymous one) would get that session.
 */
export function appendSetCookie(res: ServerResponse, cookie: string): void {
  const prev = res.getHeader('set-cookie');
  const list = prev === undefined ? [] : Array.isArray(prev) ? prev : [String(prev)];
  const name = cookie.slice(0, cookie.indexOf('=') + 1);
  res.setHeader('set-cookie', [...list.filter((c) => !c.startsWith(name)), cookie]);
  res.setHeader('cache-control', 'private, no-store');
}

/**
 * The session of one request, behind its cookie: load it once, then `save`, `start` (sign-in) or `end` (sign-out);
 * each sets or clears the cookie when the token changes (a sealed token is re-issued on every change and on
 * renewal, a cache token at sign-in), which is the step that is easy to forget.
 */
export class RequestSession<S> {
  /**
   * Loads the session named by the request's cookie (a renewed token is sent back at once).
   *
   * @param store - the session store
   * @param req - the request
   * @param res - its response (for `Set-Cookie`)
   * @param cookie - the cookie's name and attributes @default {@link SESSION_COOKIE_DEFAULTS}
   * @throws SessionStoreUnavailableError when the store's backend is down (answer 503, not "signed out")
   */
  public static async load<S>(store: SessionStore<S>, req: IncomingMessage, res: ServerResponse, cookie: CookieOptions & { readonly name?: string } = {}): Promise<RequestSession<S>> {
    const token = readCookie(req.headers.cookie, cookie.name ?? SESSION_COOKIE_DEFAULTS.name);
    const loaded = await store.load(token);
    const session = new RequestSession(store, res, cookie, loaded);
    if (loaded?.renewed) appendSetCookie(res, sessionCookie(store, loaded.token, cookie));
    return session;
  }

  private token: string | undefined;
  private current: S | undefined;

  private constructor(private readonly store: SessionStore<S>, private readonly res: ServerResponse, private readonly cookie: CookieOptions & { readonly name?: string }, loaded: LoadedSession<S> | undefined) {
    this.token = loaded?.token;
    this.current = loaded?.data;
  }

  /** The session's data; `undefined` when there is no (valid) session: the user is signed out. */
  public get data(): S | undefined {
    return this.current;
  }

  /**
   * Replaces the data of the current session.
   * @returns false when there is no session any more (expired meanwhile): treat the user as signed out
   */
  public async save(data: S): Promise<boolean> {
    if (this.token === undefined) return false;
    const next = await this.store.save(this.token, data);
    if (next === undefined) {
      this.token = undefined;
      this.current = undefined;
      return false;
    }
    if (next !== this.token) appendSetCookie(this.res, sessionCookie(this.store, next, this.cookie));
    this.token = next;
    this.current = data;
    return true;
  }

  /** Signs in: a new session (a new id, so a token planted before sign-in is worthless) with `data`. */
  public async start(data: S): Promise<void> {
    this.token = await this.store.regenerate(this.token, data);
    this.current = data;
    appendSetCookie(this.res, sessionCookie(this.store, this.token, this.cookie));
  }

  /** Signs out: ends the session and clears the cookie. */
  public async end(): Promise<void> {
    await this.store.destroy(this.token);
    this.token = undefined;
    this.current = undefined;
    appendSetCookie(this.res, clearSessionCookie(this.cookie));
  }
}
