import { createHash } from 'node:crypto';
import { request } from 'node:http';
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { JOB_ATTRIBUTES } from '../../../lib/runtime/contract';
import { HealthCheck } from '../../../lib/runtime/health';
import { PoolSaturatedError } from '../../../lib/runtime/database';
import { HttpError, RequestSession, SERVE_DEFAULTS, readJson, readJsonObject, sendJson, serveHttp, statusForError } from '../../../lib/runtime/http';
import { jobDeduplicationId, jobMessageAttributes, jobMessageInput, jobOf } from '../../../lib/runtime/queue-producer';
import { DbSession, clusterKey } from '../../../lib/runtime/replication';
import { cacheOptionsFromTopology, cachePasswordProvider, checkDatabaseIdentity, chooseSessionStore, queuesToRead, readersByWriter, tiersToRead } from '../../../lib/runtime/runtime';
import type { LoadedSession, SessionStore } from '../../../lib/runtime/session';
import type { CacheEndpoints, DatabaseEndpoints, SecretValue, Topology } from '../../../lib/runtime/topology';
import type { QueueMessage } from '../../../lib/runtime/worker';

const SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:shop-abc';

describe('chooseSessionStore', () => {
  const sealed = { prefix: '/shop', sessions: { secretArn: SECRET } };
  const plain = { prefix: '/shop' };
  it.each([
    ['auto, secret published', sealed, 'auto', true, 'sealed'],
    ['auto, secret published, no cache', sealed, 'auto', false, 'sealed'],
    ['auto, no secret', plain, 'auto', true, 'cache'],
    ['auto, neither', plain, 'auto', false, 'none'],
    ['cache asked for although a secret is published', sealed, 'cache', true, 'cache'],
  ] as const)('%s → %s', (_name, topology, choice, hasCache, kind) => {
    expect(chooseSessionStore(topology, choice, hasCache).kind).toBe(kind);
  });

  it('says why, naming the parameter', () => {
    expect(chooseSessionStore(sealed, 'auto', true).reason).toContain('/shop/sessions/secret-arn is published');
    expect(chooseSessionStore(plain, 'auto', true).reason).toContain("/shop/sessions/secret-arn is not published: sessions live in this region's cache");
  });

  it('fails when the store asked for cannot be built, naming the option', () => {
    expect(() => chooseSessionStore(plain, 'sealed', true)).toThrow(/sessions\.store is "sealed" but \/shop\/sessions\/secret-arn is not published/);
    expect(() => chooseSessionStore(sealed, 'cache', false)).toThrow(/sessions\.store is "cache" but there is no cache/);
    expect(() => chooseSessionStore(sealed, 'redis' as never, true)).toThrow(/sessions\.store must be "auto", "sealed" or "cache" \(got: "redis"\)/);
  });
});

describe('cacheOptionsFromTopology', () => {
  const cache: CacheEndpoints = { endpoint: 'clustercfg.shop.abc.use1.cache.amazonaws.com', port: 6379, tls: true, authMode: 'rbac', username: 'app', secretArn: SECRET };

  it('maps the published endpoints onto the client options', () => {
    expect(cacheOptionsFromTopology(cache, { password: 'pw' })).toEqual({ host: cache.endpoint, port: 6379, tls: true, authMode: 'rbac', username: 'app', password: 'pw' });
    expect(cacheOptionsFromTopology({ ...cache, tls: false, authMode: 'auth-token', username: undefined }, { password: 'pw' }))
      .toEqual({ host: cache.endpoint, port: 6379, tls: false, authMode: 'auth-token', password: 'pw' });
  });

  it('takes TLS settings (a private CA) where the topology asks for TLS, and never turns TLS off', () => {
    expect(cacheOptionsFromTopology(cache, { tls: { ca: 'PEM' } }).tls).toEqual({ ca: 'PEM' });
    expect(cacheOptionsFromTopology(cache, { tls: false }).tls).toBe(true);
    expect(cacheOptionsFromTopology({ ...cache, tls: false }, { tls: { ca: 'PEM' } }).tls).toBe(false);
  });
});

describe('readersByWriter', () => {
  const endpoints = (writer: string, port: number): DatabaseEndpoints => ({
    writer, port, databaseName: 'app', engine: 'postgres', authentication: 'password', role: 'primary', writeForwarding: false, source: '/shop/database',
  });

  it('finds the readers of a writer by host:port, then by host', () => {
    const of = readersByWriter({ '127.0.0.1:5432': ['127.0.0.1:5433'], 'db.local': ['replica.local'] })!;
    expect(of(endpoints('127.0.0.1', 5432))).toEqual(['127.0.0.1:5433']);
    expect(of(endpoints('127.0.0.1', 6000))).toBeUndefined();
    expect(of(endpoints('db.local', 6000))).toEqual(['replica.local']);
    expect(readersByWriter({})).toBeUndefined();
    expect(readersByWriter(undefined)).toBeUndefined();
  });

  it('fails naming the entry when a key or a reader is not host[:port]', () => {
    expect(() => readersByWriter({ 'postgres://x': ['a'] })).toThrow(/readers: a key must be a writer "host:port" or "host" \(got: "postgres:\/\/x"\)/);
    expect(() => readersByWriter({ 'a:1': [] })).toThrow(/readers\["a:1"\] must be a non-empty list/);
    expect(() => readersByWriter({ 'a:1': ['b c'] })).toThrow(/readers\["a:1"\] .*\(got: \["b c"\]\)/);
  });
});

describe('queuesToRead', () => {
  it("adds a worker's own queue to the ones named; a web service reads what it names, or everything", () => {
    expect(queuesToRead({ role: 'worker', service: 'jobs' }, undefined)).toEqual(['jobs']);
    expect(queuesToRead({ role: 'worker', service: 'jobs' }, ['mail', 'jobs'])).toEqual(['jobs', 'mail']);
    expect(queuesToRead({ role: 'web', service: 'web' }, ['jobs'])).toEqual(['jobs']);
    expect(queuesToRead({ role: 'web', service: 'web' }, undefined)).toBeUndefined();
  });
});

describe('checkDatabaseIdentity', () => {
  const topology = (authentication: 'iam' | 'password') => ({ prefix: '/shop', database: { authentication } as DatabaseEndpoints });
  it('fails at start when IAM authentication is published and no database user is known, naming both', () => {
    expect(() => checkDatabaseIdentity(topology('iam'), { databaseUser: undefined }, undefined))
      .toThrow(/\/shop\/database\/authentication is "iam" but S2M_DATABASE_USER is not set/);
  });
  it('passes with the user from the environment or the options, with password authentication, or without a database', () => {
    expect(() => checkDatabaseIdentity(topology('iam'), { databaseUser: 'web' }, undefined)).not.toThrow();
    expect(() => checkDatabaseIdentity(topology('iam'), { databaseUser: undefined }, { databaseUser: 'web' })).not.toThrow();
    expect(() => checkDatabaseIdentity(topology('password'), { databaseUser: undefined }, undefined)).not.toThrow();
    expect(() => checkDatabaseIdentity(topology('iam'), { databaseUser: undefined }, false)).not.toThrow();
  });
});

describe('tiersToRead', () => {
  it('reads every tier on a web service, no sessions on a worker unless asked, and leaves out what is turned off', () => {
    expect(tiersToRead({ role: 'web' }, {})).toEqual(['database', 'cache', 'sessions', 'queues']);
    expect(tiersToRead({ role: undefined }, {})).toEqual(['database', 'cache', 'sessions', 'queues']);
    expect(tiersToRead({ role: 'worker' }, {})).toEqual(['database', 'cache', 'queues']);
    expect(tiersToRead({ role: 'worker' }, { sessions: {} })).toEqual(['database', 'cache', 'sessions', 'queues']);
    expect(tiersToRead({ role: 'web' }, { cache: false, sessions: false })).toEqual(['database', 'queues']);
  });
});

describe('job messages', () => {
  const writtenSession = (): DbSession => {
    const s = new DbSession();
    s.recordWrite(clusterKey('db.local', 5432), 0x16b3a58n);
    return s;
  };

  it('carry the type, the idempotency key, the producer and the session of a write', () => {
    const input = jobMessageInput('https://sqs.us-east-1.amazonaws.com/1/shop-jobs', { orderId: 'o1' }, { type: 'order.placed', idempotencyKey: 'o1', session: writtenSession() }, 'web@1.2.3');
    expect(input.MessageBody).toBe('{"orderId":"o1"}');
    expect(Object.keys(input.MessageAttributes!).sort()).toEqual([JOB_ATTRIBUTES.dbSession, JOB_ATTRIBUTES.idempotencyKey, JOB_ATTRIBUTES.producer, JOB_ATTRIBUTES.type].sort());
    expect(input.MessageAttributes![JOB_ATTRIBUTES.type]).toEqual({ DataType: 'String', StringValue: 'order.placed' });
    expect(input.MessageGroupId).toBeUndefined();
    expect(input.MessageDeduplicationId).toBeUndefined();
  });

  it('round-trip through the worker side: the worker restores the producer\'s session and its pending write', () => {
    const session = writtenSession();
    const attrs = jobMessageAttributes({ type: 't', idempotencyKey: 'k', session }, 'web@1');
    const message = { id: 'm1', body: '{}', receiveCount: 1, attributes: Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, v.StringValue!])) } as unknown as QueueMessage;
    const job = jobOf(message);
    expect(job).toMatchObject({ type: 't', idempotencyKey: 'k', producer: 'web@1', id: 'm1' });
    expect(job.session.pendingWrite(clusterKey('db.local', 5432))?.position).toBe(0x16b3a58n);
    const bare = jobOf({ ...message, attributes: {} } as QueueMessage);
    expect(bare.type).toBeUndefined();
    expect(bare.session.hasWrites).toBe(false);
  });

  it('send no session attribute for a session without writes, and strings as they are', () => {
    const input = jobMessageInput('https://q/x', 'plain text', { session: new DbSession() });
    expect(input.MessageBody).toBe('plain text');
    expect(input.MessageAttributes).toBeUndefined();
  });

  it('on a FIFO queue need a group and deduplicate by a hash of <type>:<idempotency key>, or the id given', () => {
    const fifo = 'https://sqs.us-east-1.amazonaws.com/1/shop-jobs.fifo';
    const placed = jobMessageInput(fifo, 'x', { groupId: 'u1', type: 'order.placed', idempotencyKey: 'o1' });
    expect(placed).toMatchObject({ MessageGroupId: 'u1', MessageDeduplicationId: createHash('sha256').update('order.placed:o1').digest('hex') });
    // Two types of one key are two jobs: two ids (with the key alone, SQS dropped the second within 5 minutes).
    expect(jobMessageInput(fifo, 'x', { groupId: 'u1', type: 'order.shipped', idempotencyKey: 'o1' }).MessageDeduplicationId).not.toBe(placed.MessageDeduplicationId);
    expect(jobMessageInput(fifo, 'x', { groupId: 'u1', idempotencyKey: 'o1' }).MessageDeduplicationId).toBe(jobDeduplicationId(undefined, 'o1'));
    expect(jobDeduplicationId(undefined, 'o1')).toBe(createHash('sha256').update('job:o1').digest('hex'));
    // Within SQS's rule (at most 128 characters of letters, digits, punctuation) whatever the key holds.
    expect(jobDeduplicationId('t', `${'ü '.repeat(200)}`)).toMatch(/^[0-9a-f]{64}$/);
    expect(jobMessageInput(fifo, 'x', { groupId: 'u1', idempotencyKey: 'o1', deduplicationId: 'd' }).MessageDeduplicationId).toBe('d');
    expect(jobMessageInput(fifo, 'x', { groupId: 'u1' }).MessageDeduplicationId).toBeUndefined();
    expect(() => jobMessageInput(fifo, 'x', {})).toThrow(/groupId is required on a FIFO queue .*\(got: undefined\)/);
    expect(() => jobMessageInput(fifo, 'x', { groupId: 'g', delaySeconds: 5 })).toThrow(/delaySeconds is not allowed per message on a FIFO queue \(.*\) \(got: 5\)/);
  });

  it.each([
    ['an empty body', '', {}, /body must not be empty/],
    ['a body without a JSON form', undefined, {}, /body must be a string or a value with a JSON form \(got: "undefined"\)/],
    ['a group on a standard queue', 'x', { groupId: 'g' }, /groupId is for FIFO queues only .* \(got: "g"\)/],
    ['a delay above 900 s', 'x', { delaySeconds: 901 }, /delaySeconds must be a whole number from 0 to 900 \(got: 901\)/],
    ['an empty type', 'x', { type: '' }, /type must be a non-empty string \(got: ""\)/],
    ['an attribute of the runtime', 'x', { attributes: { 's2m-job-type': 'x' } }, /names starting with "s2m-" are the runtime's \(.*\) \(got: "s2m-job-type"\)/],
    ['an attribute named AWS.x', 'x', { attributes: { 'AWS.trace': 'x' } }, /may not start with "AWS\." or "Amazon\." \(got: "AWS\.trace"\)/],
    ['eleven attributes', 'x', { type: 't', attributes: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`a${i}`, 'v'])) }, /at most 10 attributes/],
  ] as const)('fail before sending for %s', (_name, body, options, message) => {
    expect(() => jobMessageInput('https://sqs.us-east-1.amazonaws.com/1/q', body, options as never)).toThrow(message);
  });
});

describe('cachePasswordProvider', () => {
  const topology = (secret: SecretValue) => {
    let reads = 0;
    const t = {
      current: { cache: { endpoint: 'c', port: 6379, tls: true, authMode: 'rbac', username: 'app', secretArn: SECRET } } as unknown as Topology,
      secret: () => secret,
      refreshSecret: async () => {
        reads++;
        return { ...secret, json: { password: `pw-${reads}` } };
      },
      get reads() { return reads; },
    };
    return t;
  };

  it('gives the cached password first, and re-reads the secret at every later call (after a refused login)', async () => {
    const t = topology({ arn: SECRET, versionId: 'v1', value: '{"password":"pw-0"}', json: { password: 'pw-0' } });
    const provider = cachePasswordProvider(t)!;
    expect(await provider()).toBe('pw-0');
    expect(t.reads).toBe(0);
    expect(await provider()).toBe('pw-1');
    expect(t.reads).toBe(1);
  });

  it('fails naming the secret and the keys it has when there is no password in it', async () => {
    const provider = cachePasswordProvider(topology({ arn: SECRET, versionId: 'v1', value: '{"username":"app"}', json: { username: 'app' } }))!;
    await expect(provider()).rejects.toThrow(/cache\/secret-arn\): expected JSON with a string "password" \(got: keys username\)/);
  });

  it('is undefined without a published secret', () => {
    expect(cachePasswordProvider({ current: { cache: { endpoint: 'c' } } as unknown as Topology, secret: () => undefined, refreshSecret: async () => { throw new Error('no'); } })).toBeUndefined();
  });
});

describe('statusForError', () => {
  const named = (name: string): Error => Object.assign(new Error('x'), { name });
  it.each([
    [new HttpError(404, 'no such order'), 404],
    [named('SessionStoreUnavailableError'), 503],
    [named('WriteUnavailableError'), 503],
    [new PoolSaturatedError('every connection of the forward pool stayed busy'), 503],
    [named('CacheConnectError'), 503],
    [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }), 503],
    [Object.assign(new Error('duplicate key'), { code: '23505' }), 500],
    [Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' }), 503],
    [new TypeError('bug'), 500],
  ])('%s → %i', (error, status) => {
    expect(statusForError(error)).toBe(status);
  });

  it('refuses a status that is not an error status', () => {
    expect(() => new HttpError(200, 'ok')).toThrow(/status must be 400-599 \(got: 200\)/);
  });
});

/** A session store that records calls; tokens are `t<n>`, a sealed-like store re-issues on save. */
function fakeStore(reissueOnSave: boolean, renewOnLoad = false): SessionStore<{ u: string }> & { sessions: Map<string, { u: string }> } {
  const sessions = new Map<string, { u: string }>();
  let n = 0;
  return {
    kind: reissueOnSave ? 'sealed' : 'cache',
    maxAgeSeconds: 100,
    sessions,
    async create(data) { const t = `t${++n}`; sessions.set(t, data); return t; },
    async load(token): Promise<LoadedSession<{ u: string }> | undefined> {
      const data = token === undefined ? undefined : sessions.get(token);
      if (data === undefined) return undefined;
      const next = renewOnLoad ? `t${++n}` : token!;
      if (renewOnLoad) sessions.set(next, data);
      return { data, token: next, renewed: renewOnLoad, createdAt: new Date(0), expiresAt: new Date(1) };
    },
    async save(token, data) {
      if (!sessions.has(token)) return undefined;
      const next = reissueOnSave ? `t${++n}` : token;
      sessions.set(next, data);
      return next;
    },
    async regenerate(token, data) { if (token) sessions.delete(token); return this.create(data); },
    async destroy(token) { if (token) sessions.delete(token); },
  };
}

function fakeRequest(cookie?: string) {
  const headers = new Map<string, unknown>();
  const req = { headers: cookie ? { cookie } : {} } as never;
  const res = {
    getHeader: (n: string) => headers.get(n),
    setHeader: (n: string, v: unknown) => { headers.set(n, v); },
  } as unknown as ServerResponse;
  return { req, res, cookies: () => (headers.get('set-cookie') as string[] | undefined) ?? [], header: (n: string) => headers.get(n) };
}

describe('RequestSession', () => {
  it('sets the cookie at sign-in, and again only when the token changes', async () => {
    const store = fakeStore(false);
    const first = fakeRequest();
    const signedOut = await RequestSession.load(store, first.req, first.res);
    expect(signedOut.data).toBeUndefined();
    expect(await signedOut.save({ u: 'x' })).toBe(false);
    expect(first.header('cache-control')).toBeUndefined();
    // an application's own caching header, replaced once the response hands out a session
    first.res.setHeader('cache-control', 'public, max-age=60');
    await signedOut.start({ u: 'alice' });
    expect(first.cookies()).toEqual([expect.stringMatching(/^__Host-s2m-session=t1; Max-Age=100; Path=\/; Secure; HttpOnly; SameSite=Lax$/)]);
    // a response that sets the session is never kept by a shared cache (CloudFront with dynamic caching on would hand
    // it to the next anonymous visitor)
    expect(first.header('cache-control')).toBe('private, no-store');

    const next = fakeRequest('__Host-s2m-session=t1');
    const session = await RequestSession.load(store, next.req, next.res);
    expect(session.data).toEqual({ u: 'alice' });
    expect(await session.save({ u: 'alice2' })).toBe(true);
    expect(next.cookies()).toEqual([]); // a cache store keeps its token
  });

  it('sends the re-issued token of a sealed store after a save and after a renewal on load', async () => {
    const sealed = fakeStore(true, true);
    sealed.sessions.set('t0', { u: 'bob' });
    const r = fakeRequest('other=1; __Host-s2m-session=t0');
    const session = await RequestSession.load(sealed, r.req, r.res);
    expect(r.cookies().map((c) => c.split(';')[0])).toEqual(['__Host-s2m-session=t1']);
    r.res.setHeader('set-cookie', [...r.cookies(), 'theme=dark']);
    expect(session.data).toEqual({ u: 'bob' });
    await session.save({ u: 'bob+' });
    // Renewed on load (t1), then re-issued by the save (t2): only the last token is sent, other cookies stay.
    expect(r.cookies().map((c) => c.split(';')[0])).toEqual(['theme=dark', '__Host-s2m-session=t2']);
  });

  it('clears the cookie at sign-out and treats a session that expired meanwhile as signed out', async () => {
    const store = fakeStore(false);
    store.sessions.set('t9', { u: 'carol' });
    const r = fakeRequest('__Host-s2m-session=t9');
    const session = await RequestSession.load(store, r.req, r.res);
    store.sessions.clear();
    expect(await session.save({ u: 'x' })).toBe(false);
    expect(session.data).toBeUndefined();
    await session.end();
    expect(r.cookies()).toEqual([expect.stringMatching(/^__Host-s2m-session=; Max-Age=0/)]);
  });
});

/** One request to 127.0.0.1:port; resolves with the status, headers and body. */
function get(port: number, path: string, options: { method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('serveHttp', () => {
  it('answers the health paths before the handler, maps errors to statuses, and keeps connections open longer than an ALB', async () => {
    const health = new HealthCheck({ checks: { db: { critical: true, run: async () => 'ok' } } });
    const seen: string[] = [];
    const errors: number[] = [];
    const service = await serveHttp(async (req, res) => {
      seen.push(req.url!);
      if (req.url === '/missing') throw new HttpError(404, 'no such thing');
      if (req.url === '/bug') throw new Error('secret detail');
      if (req.url === '/echo') return sendJson(res, 200, await readJson(req));
      if (req.url === '/object') return sendJson(res, 200, { a: (await readJsonObject<{ a: number }>(req)).a ?? null });
      sendJson(res, 200, { ok: true });
    }, { port: 0, host: '127.0.0.1', health, onError: (_e, _r, status) => errors.push(status) });
    const { port } = service.address;
    try {
      expect((await get(port, '/health')).status).toBe(200);
      expect(JSON.parse((await get(port, '/health/deep')).body)).toMatchObject({ status: 'ok', checks: { db: { status: 'ok' } } });
      expect(seen).toEqual([]);
      expect(await get(port, '/missing')).toMatchObject({ status: 404, body: '{"error":"no such thing"}' });
      const bug = await get(port, '/bug');
      expect(bug).toMatchObject({ status: 500, body: '{"error":"internal error"}' });
      expect(bug.body).not.toContain('secret detail');
      expect((await get(port, '/echo', { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } })).body).toBe('{"a":1}');
      expect((await get(port, '/echo', { method: 'POST', body: '{', headers: { 'content-type': 'application/json' } })).status).toBe(400);
      expect((await get(port, '/echo', { method: 'POST', body: 'a=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } })).status).toBe(415);
      // readJsonObject: the fields of an object; null, an array or a scalar is the client's error (400), not a 500
      expect((await get(port, '/object', { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } })).body).toBe('{"a":1}');
      for (const body of ['null', '[1]', '3']) {
        expect(await get(port, '/object', { method: 'POST', body, headers: { 'content-type': 'application/json' } })).toMatchObject({ status: 400, body: expect.stringContaining('the request body must be a JSON object') });
      }
      expect(errors).toEqual([404, 500, 400, 415, 400, 400, 400]);
      expect(service.server.keepAliveTimeout).toBe(SERVE_DEFAULTS.keepAliveTimeoutMs);
      expect(service.server.headersTimeout).toBeGreaterThan(service.server.keepAliveTimeout);
      expect(service.stats()).toMatchObject({ requests: 11, errors: 7, clientAborts: 0, inFlight: 0, responses: { '2xx': 4, '4xx': 6, '5xx': 1 } });
    } finally {
      await service.close();
    }
  });

  it('drains: a request in flight finishes (with Connection: close), new connections are refused', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => { release = r; });
    let started!: () => void;
    const inFlight = new Promise<void>((r) => { started = r; });
    const service = await serveHttp(async (_req, res) => {
      started();
      await held;
      sendJson(res, 200, { done: true });
    }, { port: 0, host: '127.0.0.1' });
    const { port } = service.address;
    const pending = get(port, '/slow');
    await inFlight;
    const closed = service.close();
    const refused = await get(port, '/late').then(() => 'answered', (e: NodeJS.ErrnoException) => e.code);
    expect(refused).toBe('ECONNREFUSED');
    release();
    const answer = await pending;
    expect(answer.status).toBe(200);
    expect(answer.headers['connection']).toBe('close');
    await closed;
  });
});

describe('serveHttp when the client goes away mid-request', () => {
  it('reports it with status 499 (not a 503 "dependency unavailable" logged as the service\'s failure), and answers nobody', async () => {
    const reported: Array<{ status: number; message: string }> = [];
    const logged: string[] = [];
    const error = console.error;
    console.error = (...args: unknown[]) => { logged.push(args.map(String).join(' ')); };
    const service = await serveHttp(async (req, res) => sendJson(res, 200, await readJson(req)), {
      port: 0, host: '127.0.0.1', onError: (e, _r, status) => reported.push({ status, message: e.message }),
    });
    try {
      // WHEN a client sends half a body, then resets its connection
      const { connect } = await import('node:net');
      const socket = connect(service.address.port, '127.0.0.1');
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":');
      await new Promise((r) => setTimeout(r, 50));
      socket.resetAndDestroy();
      for (let i = 0; i < 50 && reported.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      // THEN onError hears a 499, the stats count a client abort, and nothing is logged as a failure
      expect(reported).toEqual([{ status: 499, message: expect.stringMatching(/aborted|ECONNRESET/) }]);
      expect(service.stats()).toMatchObject({ errors: 1, clientAborts: 1, responses: { '2xx': 0, '5xx': 0 } });
      expect(logged).toEqual([]);
    } finally {
      console.error = error;
      await service.close();
    }
  });
});

describe('serveHttp: errors of the service stay the service\'s, whatever their code', () => {
  it('answers a database\'s ECONNRESET after the body was read with 503, and a body too large with 413 (not client aborts)', async () => {
    const reported: number[] = [];
    const service = await serveHttp(async (req, res) => {
      await readJson(req, 16);
      if (req.url === '/db') throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
      sendJson(res, 200, { ok: true });
    }, { port: 0, host: '127.0.0.1', onError: (_e, _r, status) => reported.push(status) });
    const { port } = service.address;
    try {
      expect((await get(port, '/db', { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } })).status).toBe(503);
      expect((await get(port, '/big', { method: 'POST', body: JSON.stringify({ a: 'x'.repeat(100) }), headers: { 'content-type': 'application/json' } })).status).toBe(413);
      expect(reported).toEqual([503, 413]);
      expect(service.stats().clientAborts).toBe(0);
    } finally {
      await service.close();
    }
  });
});

describe('serveHttp: a handler that fails after its headers were sent', () => {
  it('cuts the response (the client sees it fail) and counts it as the failure it is', async () => {
    const service = await serveHttp(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('half');
      throw new Error('broke mid-answer');
    }, { port: 0, host: '127.0.0.1', onError: () => undefined });
    try {
      // (the body ends before its end: fetch's read fails)
      await expect(fetch(`http://127.0.0.1:${service.address.port}/`).then((r) => r.text())).rejects.toThrow();
      for (let i = 0; i < 50 && service.stats().inFlight > 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(service.stats()).toMatchObject({ errors: 1, responses: { '2xx': 0, '5xx': 1 } });
    } finally {
      await service.close();
    }
  });
});
