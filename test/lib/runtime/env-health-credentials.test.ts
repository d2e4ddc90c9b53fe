import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { iamCredentials, secretCredentials } from '../../../lib/runtime/credentials';
import { EnvironmentError, parseEnvFile, readEnvironment } from '../../../lib/runtime/env';
import { HealthCheck } from '../../../lib/runtime/health';
import type { SecretValue } from '../../../lib/runtime/topology';

describe('readEnvironment', () => {
  const dir = mkdtempSync(join(tmpdir(), 's2m-env-'));
  const file = join(dir, 'env');
  writeFileSync(file, ['# written by the fleet', 'S2M_APP=shop', 'S2M_REGION=eu-west-1', 'S2M_PARAMETER_PREFIX="/shop"', 'export S2M_PORT=8080', 'S2M_ROLE=web', 'S2M_DATABASE_USER=web_fleet', ''].join('\n'));

  it('reads the file, with the process environment and overrides on top', () => {
    expect(readEnvironment({ file, env: {} })).toMatchObject({ app: 'shop', region: 'eu-west-1', primaryRegion: 'eu-west-1', parameterPrefix: '/shop', port: 8080, role: 'web', databaseUser: 'web_fleet', deepHealthPath: '/health/deep' });
    expect(readEnvironment({ file, env: { S2M_REGION: 'us-east-1' } }).region).toBe('us-east-1');
    expect(readEnvironment({ file, env: {}, overrides: { parameterPrefix: '/dev' } }).parameterPrefix).toBe('/dev');
  });

  it('works without the file on a laptop (process environment only)', () => {
    expect(readEnvironment({ file: false, env: { S2M_PARAMETER_PREFIX: '/shop', AWS_REGION: 'eu-west-1' } })).toMatchObject({ region: 'eu-west-1', parameterPrefix: '/shop' });
  });

  it.each([
    [{ S2M_REGION: 'eu-west-1' }, /S2M_PARAMETER_PREFIX is not set/],
    [{ S2M_PARAMETER_PREFIX: '/shop' }, /S2M_REGION is not set/],
    [{ S2M_PARAMETER_PREFIX: 'shop', S2M_REGION: 'x' }, /the process environment \(S2M_PARAMETER_PREFIX\): expected an SSM path like \/shop \(got: "shop"\)/],
    [{ S2M_PARAMETER_PREFIX: '/shop', S2M_REGION: 'x', S2M_PORT: '80a' }, /S2M_PORT\): expected a port 1-65535 \(got: "80a"\)/],
    [{ S2M_PARAMETER_PREFIX: '/shop', S2M_REGION: 'x', S2M_ROLE: 'api' }, /S2M_ROLE\): expected "web" or "worker" \(got: "api"\)/],
  ])('fails naming the variable: %j', (env, message) => {
    expect(() => readEnvironment({ file: false, env })).toThrow(message);
  });

  it('names the file and line of a malformed line', () => {
    expect(() => parseEnvFile('A=1\nnot a pair\n', '/etc/x')).toThrow(EnvironmentError);
    expect(() => parseEnvFile('A=1\nnot a pair\n', '/etc/x')).toThrow('/etc/x:2: expected KEY=value (got: "not a pair")');
  });
});

describe('credentials', () => {
  it('IAM: one token per host, reused until near expiry, signed for the fleet user', async () => {
    const signed: string[] = [];
    const c = { t: 0 };
    const creds = iamCredentials({ user: 'web_fleet', region: 'eu-west-1', now: () => c.t, sign: async (h, p, u, r) => { signed.push(`${h}:${p}:${u}:${r}`); return `token-${signed.length}`; } });
    expect(await creds.user()).toBe('web_fleet');
    expect(await creds.password('w.example', 5432)).toBe('token-1');
    expect(await creds.password('w.example', 5432)).toBe('token-1');
    expect(await creds.password('r.example', 5432)).toBe('token-2');
    c.t = 600_000;
    expect(await creds.password('w.example', 5432)).toBe('token-3');
    expect(signed[0]).toBe('w.example:5432:web_fleet:eu-west-1');
    expect(() => iamCredentials({ user: 'bad user', region: 'eu-west-1' })).toThrow('(got: "bad user")');
  });

  it('password: re-reads the secret after a refused login, at most once per interval', async () => {
    let version = 1;
    let reads = 0;
    const value = (): SecretValue => ({ arn: 'a', versionId: `v${version}`, value: '', json: { username: 'app', password: `p${version}` } });
    let cached = value();
    const topology = { secret: () => cached, refreshSecret: async () => { reads++; cached = value(); return cached; } };
    const c = { t: 0 };
    const creds = secretCredentials({ secretArn: 'a', topology, now: () => c.t, minRereadIntervalMs: 5000 });
    expect(await creds.password('h', 1)).toBe('p1');
    version = 2;
    expect(await creds.onAuthenticationFailure()).toBe(true);
    expect(await creds.password('h', 1)).toBe('p2');
    expect(await creds.onAuthenticationFailure()).toBe(false); // within the interval: no storm of reads
    expect(reads).toBe(1);
  });
});

describe('password credentials after a rotation, with logins refused at once', () => {
  function rotating() {
    let version = 1;
    let reads = 0;
    let release: () => void = () => undefined;
    const value = (): SecretValue => ({ arn: 'a', versionId: `v${version}`, value: '', json: { username: 'app', password: `p${version}` } });
    let cached = value();
    const topology = {
      secret: () => cached,
      refreshSecret: async () => {
        reads++;
        await new Promise<void>((resolve) => { release = resolve; });
        cached = value();
        return cached;
      },
    };
    const c = { t: 0 };
    const creds = secretCredentials({ secretArn: 'a', topology, now: () => c.t, minRereadIntervalMs: 5000 });
    return { creds, c, rotate: () => { version++; }, release: () => release(), reads: () => reads };
  }

  it('lets the failures during the re-read wait for it, and those after it retry when their version was replaced', async () => {
    // GIVEN logins that started with v1, refused after the secret was rotated to v2
    const r = rotating();
    const stamp = r.creds.stamp!();
    expect(stamp).toBe('v1');
    r.rotate();
    // WHEN three fail while the first one's re-read is in flight, and one more just after it
    const during = [1, 2, 3].map(() => r.creds.onAuthenticationFailure(stamp));
    await Promise.resolve();
    r.release();
    expect(await Promise.all(during)).toEqual([true, true, true]);
    r.c.t = 10;
    // THEN each may retry, with one read of the secret
    expect(await r.creds.onAuthenticationFailure(stamp)).toBe(true);
    expect(r.reads()).toBe(1);
    // and a refusal of the version just read is held to the interval (the database and the secret disagree)
    expect(await r.creds.onAuthenticationFailure(r.creds.stamp!())).toBe(false);
    expect(r.reads()).toBe(1);
  });
});

describe('HealthCheck', () => {
  const servers: Server[] = [];
  afterAll(() => servers.forEach((s) => s.close()));

  it('is ok, degraded or failed by the critical checks, and times out a slow check within the budget', async () => {
    const h = new HealthCheck({ budgetMs: 100, cacheMs: 0 })
      .add('db', { critical: true, run: async () => 'writer:5432' })
      .add('reader', { critical: false, run: async () => { throw new Error('ECONNREFUSED'); } });
    const s = await h.run();
    expect(s.status).toBe('degraded');
    expect(s.checks['db']).toMatchObject({ status: 'ok', detail: 'writer:5432' });
    expect(s.checks['reader']).toMatchObject({ status: 'fail', error: 'ECONNREFUSED' });
    h.add('slow', { critical: true, run: () => new Promise(() => undefined) });
    const slow = await h.run();
    expect(slow.status).toBe('fail');
    expect(slow.checks['slow']!.error).toBe('no answer within 100 ms');
    expect(() => h.add('db', { critical: true, run: async () => undefined })).toThrow('"db" exists already');
  });

  it('serves the shallow and deep paths and leaves other paths to the app', async () => {
    let runs = 0;
    const h = new HealthCheck({ checks: { db: { critical: true, run: async () => { runs++; throw new Error('down'); } } } });
    const handle = h.handler();
    const server = createServer((req, res) => {
      if (!handle(req, res)) res.writeHead(404).end();
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const get = async (path: string) => {
      const r = await fetch(`http://127.0.0.1:${port}${path}`);
      return { code: r.status, body: (await r.text()) };
    };
    expect(await get('/health')).toEqual({ code: 200, body: '{"status":"ok"}' });
    expect(runs).toBe(0); // the shallow path checks nothing
    const deep = await get('/health/deep?x=1');
    expect(deep.code).toBe(503);
    expect(JSON.parse(deep.body)).toMatchObject({ status: 'fail', checks: { db: { status: 'fail', error: 'down' } } });
    expect((await get('/other')).code).toBe(404);
  });

  it('shows each check\'s detail and error to a request made to the process, not to one through a load balancer', async () => {
    // The deep path is reachable from the internet through the load balancer's health-check rule: host names and
    // driver errors are for the operators on the instance
    const h = new HealthCheck({ cacheMs: 0, checks: { db: { critical: true, run: async () => 'writer.internal:5432' }, cache: { critical: false, run: async () => { throw new Error('connect ECONNREFUSED 10.0.3.7:6379'); } } } });
    const handle = h.handler();
    const server = createServer((req, res) => { if (!handle(req, res)) res.writeHead(404).end(); });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/health/deep`;
    const viaBalancer = await fetch(url, { headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(viaBalancer.status).toBe(200);
    const hidden = await viaBalancer.text();
    expect(JSON.parse(hidden)).toMatchObject({ status: 'degraded', checks: { db: { status: 'ok', critical: true }, cache: { status: 'fail', critical: false } } });
    expect(hidden).not.toMatch(/writer\.internal|10\.0\.3\.7|ECONNREFUSED/);
    const direct = JSON.parse(await (await fetch(url)).text());
    expect(direct.checks).toMatchObject({ db: { detail: 'writer.internal:5432' }, cache: { error: 'connect ECONNREFUSED 10.0.3.7:6379' } });
    expect(() => new HealthCheck({ details: 'some' as never })).toThrow(/details must be direct, always or never \(got: "some"\)/);
  });
});
