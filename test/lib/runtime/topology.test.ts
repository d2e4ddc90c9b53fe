import { GetParameterCommand, GetParametersByPathCommand, SSMClient } from '@aws-sdk/client-ssm';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { TopologyError, TopologyLoader, parseTopology, secretArnsOf } from '../../../lib/runtime/topology';

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/db-AbCdEf';
const ARN2 = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/s1-AbCdEf';
const base = {
  '/shop/database/writer': 'shop-db.cluster-c1.eu-west-1.rds.amazonaws.com',
  '/shop/database/reader': 'shop-db.cluster-ro-c1.eu-west-1.rds.amazonaws.com',
  '/shop/database/port': '5432',
  '/shop/database/database-name': 'app',
  '/shop/database/engine': 'postgres',
  '/shop/database/secret-arn': ARN,
};
const parse = (params: Record<string, string>) => parseTopology('/shop', new Map(Object.entries(params)), { region: 'eu-west-1' });
const map = (epoch: number, ids: string[]) => JSON.stringify({
  version: 1, epoch, strategy: 'hash',
  shards: ids.map((id, i) => (i === 0 ? { id, writer: base['/shop/database/writer'], port: 5432, database: 'app' } : { id, writer: `shop-db-${id}.cluster-c1.eu-west-1.rds.amazonaws.com`, port: 5432, secretArn: ARN2 })),
});

describe('parseTopology', () => {
  it('types what the stacks publish, with defaults for what older stacks do not publish', () => {
    const t = parse({ ...base, '/shop/queues/jobs/url': 'https://sqs.eu-west-1.amazonaws.com/123456789012/jobs', '/shop/sessions/secret-arn': ARN2 });
    expect(t.database).toEqual({
      writer: base['/shop/database/writer'], reader: base['/shop/database/reader'], port: 5432, databaseName: 'app', engine: 'postgres',
      authentication: 'password', secretArn: ARN, role: 'primary', writeForwarding: false, source: '/shop/database',
    });
    expect(t.queues).toEqual({ jobs: { name: 'jobs', url: 'https://sqs.eu-west-1.amazonaws.com/123456789012/jobs' } });
    expect(t.sessions).toEqual({ secretArn: ARN2 });
    expect(t.unrecognized).toEqual([]);
    expect(secretArnsOf(t)).toEqual([ARN, ARN2]);
  });

  it('reads IAM authentication, the secondary role and write forwarding', () => {
    const t = parse({ ...base, '/shop/database/authentication': 'iam', '/shop/database/role': 'secondary', '/shop/database/write-forwarding': 'on' });
    expect(t.database).toMatchObject({ authentication: 'iam', role: 'secondary', writeForwarding: true });
    expect(secretArnsOf(t)).toEqual([]); // the master secret is not the fleet's to read with IAM
  });

  it('reads the users\' statement timeout, and lets shards without their own inherit it', () => {
    expect(parse({ ...base, '/shop/database/statement-timeout': '28000' }).database?.statementTimeoutMs).toBe(28_000);
    expect(parse(base).database?.statementTimeoutMs).toBeUndefined();
    const sharded = parse({
      ...base, '/shop/database/statement-timeout': '28000', '/shop/database/shard-map': map(1, ['s0', 's1', 's2']),
      '/shop/database/shards/s2/writer': 'shop-db-s2.cluster-c1.eu-west-1.rds.amazonaws.com', '/shop/database/shards/s2/secret-arn': ARN2, '/shop/database/shards/s2/statement-timeout': '120000',
    });
    expect([...sharded.shards!.shards.values()].map((s) => [s.id, s.statementTimeoutMs])).toEqual([['s0', 28_000], ['s1', 28_000], ['s2', 120_000]]);
    expect(() => parse({ ...base, '/shop/database/statement-timeout': '28s' })).toThrow('/shop/database/statement-timeout: expected a whole number of milliseconds, at least 1 (got: "28s")');
  });

  it('reads the forwarding pools\' budget, and lets shards without their own inherit it', () => {
    const t = parse({ ...base, '/shop/database/role': 'secondary', '/shop/database/write-forwarding': 'on', '/shop/database/forwarding-pool-max': '3' });
    expect(t.database).toMatchObject({ writeForwarding: true, forwardingPoolMax: 3 });
    expect(parse(base).database?.forwardingPoolMax).toBeUndefined();
    // A shard known only from the map takes database/'s; one with its own published values takes its own
    const sharded = parse({
      ...base, '/shop/database/forwarding-pool-max': '3', '/shop/database/shard-map': map(1, ['s0', 's1', 's2']),
      '/shop/database/shards/s2/writer': 'shop-db-s2.cluster-c1.eu-west-1.rds.amazonaws.com', '/shop/database/shards/s2/secret-arn': ARN2, '/shop/database/shards/s2/forwarding-pool-max': '5',
    });
    expect([...sharded.shards!.shards.values()].map((s) => [s.id, s.forwardingPoolMax])).toEqual([['s0', 3], ['s1', 3], ['s2', 5]]);
    let err: unknown;
    try {
      parse({ ...base, '/shop/database/forwarding-pool-max': '0' });
    } catch (e) {
      err = e;
    }
    expect((err as Error).message).toContain('/shop/database/forwarding-pool-max: expected a whole number, at least 1 (got: "0")');
  });

  it('lists every problem, naming the parameter and the value', () => {
    const params = {
      ...base,
      '/shop/database/port': '54x2',
      '/shop/database/role': 'leader',
      '/shop/database/write-forwarding': 'yes',
      '/shop/cache/endpoint': 'cfg.cache.amazonaws.com',
      '/shop/cache/auth-mode': 'rbac',
      '/shop/queues/jobs/arn': 'arn:aws:sqs:eu-west-1:123456789012:jobs',
    };
    let err: unknown;
    try {
      parse(params);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TopologyError);
    const issues = (err as TopologyError).issues.map((i) => `${i.parameter}: ${i.message}`);
    expect(issues).toEqual([
      '/shop/database/port: expected a port 1-65535',
      '/shop/database/role: expected "primary" or "secondary"',
      '/shop/database/write-forwarding: expected "on" or "off"',
      '/shop/cache/username: missing: required when /shop/cache/auth-mode is "rbac"',
      '/shop/queues/jobs/url: missing: required',
    ]);
    expect((err as Error).message).toContain('/shop/database/port: expected a port 1-65535 (got: "54x2")');
  });

  it('requires the writer and, for password authentication, the secret', () => {
    expect(() => parse({ '/shop/database/port': '5432', '/shop/database/database-name': 'app' })).toThrow(
      /\/shop\/database\/writer: missing: required[\s\S]*\/shop\/database\/secret-arn: missing: required when \/shop\/database\/authentication is "password"/,
    );
  });

  it('reports parameters it does not read', () => {
    expect(parse({ ...base, '/shop/database/wirter': 'x', '/shop/cache2/endpoint': 'y' }).unrecognized).toEqual(['/shop/cache2/endpoint', '/shop/database/wirter']);
  });

  it('builds the shards from the map: shard 0 is database/, the others from their own prefix or the map entry', () => {
    const t = parse({
      ...base,
      '/shop/database/shard-map': map(3, ['s0', 's1', 's2']),
      '/shop/database/shards/s2/writer': 'shop-db-s2.cluster-c1.eu-west-1.rds.amazonaws.com',
      '/shop/database/shards/s2/reader': 'shop-db-s2.cluster-ro-c1.eu-west-1.rds.amazonaws.com',
      '/shop/database/shards/s2/port': '5432',
      '/shop/database/shards/s2/database-name': 'app',
      '/shop/database/shards/s2/secret-arn': ARN2,
    });
    expect(t.shards!.epoch).toBe(3);
    expect(t.shards!.shards.get('s0')).toMatchObject({ id: 's0', source: '/shop/database', reader: base['/shop/database/reader'] });
    expect(t.shards!.shards.get('s1')).toMatchObject({ id: 's1', writer: 'shop-db-s1.cluster-c1.eu-west-1.rds.amazonaws.com', databaseName: 'app', secretArn: ARN2 });
    expect(t.shards!.shards.get('s2')).toMatchObject({ id: 's2', source: '/shop/database/shards/s2', reader: 'shop-db-s2.cluster-ro-c1.eu-west-1.rds.amazonaws.com' });
    expect(t.shards!.router.shardFor('user:1').id).toMatch(/^s[012]$/);
  });

  it('keeps shard 0 the cluster under database/ after s2m evacuate rewrote its writer (the map still holds the deploy-time endpoint)', () => {
    // GIVEN a region deployed as a forwarding secondary (the map's shard 0 is the reader endpoint), then made the
    // primary by s2m evacuate: database/role and database/writer rewritten, the map unchanged
    const reader = 'shop-db.cluster-ro-c1.eu-west-1.rds.amazonaws.com';
    const writer = 'shop-db.cluster-c1.eu-west-1.rds.amazonaws.com';
    const shardMap = JSON.stringify({ version: 1, epoch: 1, strategy: 'hash', shards: [{ id: 's0', writer: reader, port: 5432, database: 'app' }, { id: 's1', writer: 'shop-db-s1.cluster-c1.eu-west-1.rds.amazonaws.com', port: 5432, secretArn: ARN2 }] });
    const t = parse({ ...base, '/shop/database/writer': writer, '/shop/database/role': 'primary', '/shop/database/write-forwarding': 'off', '/shop/database/shard-map': shardMap });
    // THEN shard 0 is database/ as published now: the writer, as the primary (not the stale reader endpoint)
    expect(t.shards!.shards.get('s0')).toMatchObject({ id: 's0', source: '/shop/database', writer, role: 'primary' });
  });

  it('names the shard-map parameter when the map is invalid', () => {
    expect(() => parse({ ...base, '/shop/database/shard-map': '{"version":1,"strategy":"hash","shards":[]}' })).toThrow(/\/shop\/database\/shard-map: invalid shard map/);
  });
});

describe('TopologyLoader', () => {
  const ssm = mockClient(SSMClient);
  const sm = mockClient(SecretsManagerClient);
  beforeEach(() => {
    ssm.reset();
    sm.reset();
  });
  // The mocks stub the clients' prototypes, and this worker's later files share them (isolate: false): undo them.
  afterAll(() => {
    ssm.restore();
    sm.restore();
  });

  const byPath = (params: Record<string, string>) => (input: { Path: string; NextToken?: string }) => {
    const under = Object.entries(params).filter(([n]) => n.startsWith(`${input.Path}/`)).map(([Name, Value]) => ({ Name, Value }));
    // two parameters per page, to exercise the paging
    const start = input.NextToken ? Number(input.NextToken) : 0;
    return { Parameters: under.slice(start, start + 2), ...(start + 2 < under.length ? { NextToken: String(start + 2) } : {}) };
  };
  const aws = () => ({ ssm: ssm as unknown as SSMClient, secretsManager: sm as unknown as SecretsManagerClient });

  /**
   * A loaded loader whose tier reads answer with `params` as they were when each read started; `hold()` makes the
   * reads started from then on wait, and returns what releases them.
   */
  async function loaderWithHeldReads(params: Record<string, string>): Promise<{ loader: TopologyLoader; hold: () => () => void }> {
    let held: Promise<void> | undefined;
    ssm.on(GetParametersByPathCommand).callsFake(async (input: { Path: string }) => {
      const seen = Object.entries(params).filter(([n]) => n.startsWith(`${input.Path}/`)).map(([Name, Value]) => ({ Name, Value }));
      if (held) await held;
      return { Parameters: seen };
    });
    sm.on(GetSecretValueCommand).resolves({ SecretString: '{"username":"u","password":"p"}', VersionId: 'v1' });
    const loader = new TopologyLoader({ prefix: '/shop', region: 'eu-west-1', ...aws() });
    await loader.refresh();
    const hold = (): (() => void) => {
      let release!: () => void;
      held = new Promise((r) => { release = r; });
      return () => { held = undefined; release(); };
    };
    return { loader, hold };
  }

  it('reads each tier path with GetParametersByPath (paged), the map with GetParameter, and the secrets', async () => {
    const params = { ...base, '/shop/database/shard-map': map(1, ['s0', 's1']), '/shop/queues/jobs/url': 'https://sqs.eu-west-1.amazonaws.com/1/jobs' };
    ssm.on(GetParametersByPathCommand).callsFake(byPath(params));
    ssm.on(GetParameterCommand, { Name: '/shop/database/shard-map' }).resolves({ Parameter: { Name: '/shop/database/shard-map', Value: map(1, ['s0', 's1']), Version: 1 } });
    sm.on(GetSecretValueCommand).callsFake((input: { SecretId: string }) => ({ SecretString: JSON.stringify({ username: 'u', password: input.SecretId }), VersionId: 'v1' }));
    const loader = new TopologyLoader({ prefix: '/shop', region: 'eu-west-1', ...aws() });
    const t = await loader.refresh();
    const calls = ssm.commandCalls(GetParametersByPathCommand).map((c) => `${c.args[0].input.Path}${c.args[0].input.NextToken ? `@${c.args[0].input.NextToken}` : ''}`);
    expect(calls).toEqual(['/shop/database', '/shop/database@2', '/shop/database@4', '/shop/database@6', '/shop/cache', '/shop/sessions', '/shop/queues']);
    expect(ssm.commandCalls(GetParametersByPathCommand).every((c) => c.args[0].input.Recursive && c.args[0].input.WithDecryption)).toBe(true);
    expect([...t.shards!.shards.keys()]).toEqual(['s0', 's1']);
    expect(t.queues['jobs']!.url).toBe('https://sqs.eu-west-1.amazonaws.com/1/jobs');
    expect(loader.secret(ARN)!.json).toEqual({ username: 'u', password: ARN });
    expect(loader.secret(ARN2)!.versionId).toBe('v1');
  });

  it('leaves out a tier the fleet may not read, reports it once, and reads named queues one by one', async () => {
    const errors: string[] = [];
    const params = { ...base, '/shop/queues/jobs/url': 'https://sqs.eu-west-1.amazonaws.com/1/jobs' };
    const denied = Object.assign(new Error('not authorized to perform: ssm:GetParametersByPath'), { name: 'AccessDeniedException' });
    ssm.on(GetParametersByPathCommand).callsFake((input: { Path: string }) => {
      if (input.Path === '/shop/cache') throw denied;
      return byPath(params)(input);
    });
    sm.on(GetSecretValueCommand).resolves({ SecretString: '{"username":"u","password":"p"}', VersionId: 'v1' });
    const loader = new TopologyLoader({ prefix: '/shop', region: 'eu-west-1', queues: ['jobs'], ...aws(), onError: (e) => errors.push(e.message) });
    const t = await loader.refresh();
    await loader.refresh();
    expect(t.cache).toBeUndefined();
    expect(t.queues['jobs']).toBeDefined();
    expect(ssm.commandCalls(GetParametersByPathCommand).map((c) => c.args[0].input.Path)).toContain('/shop/queues/jobs');
    expect(errors).toEqual(['not allowed to read /shop/cache (ssm:GetParametersByPath): this fleet was not given that tier; it is left out of the topology']);
  });

  it('reads only the tiers asked for', async () => {
    const params = { ...base, '/shop/sessions/secret-arn': ARN2, '/shop/queues/jobs/url': 'https://sqs.eu-west-1.amazonaws.com/1/jobs' };
    ssm.on(GetParametersByPathCommand).callsFake(byPath(params));
    sm.on(GetSecretValueCommand).resolves({ SecretString: '{"username":"u","password":"p"}', VersionId: 'v1' });
    const loader = new TopologyLoader({ prefix: '/shop', region: 'eu-west-1', tiers: ['database', 'queues'], queues: ['jobs'], ...aws() });
    const t = await loader.refresh();
    expect([...new Set(ssm.commandCalls(GetParametersByPathCommand).map((c) => c.args[0].input.Path))]).toEqual(['/shop/database', '/shop/queues/jobs']);
    expect(t.sessions).toBeUndefined();
    expect(sm.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input.SecretId)).toEqual([ARN]);
  });

  it('refreshDatabase reads the database tier alone and keeps the other tiers as last read, emitting the change', async () => {
    // GIVEN a loaded topology with a queue and a shard map
    const params: Record<string, string> = { ...base, '/shop/database/shard-map': map(1, ['s0', 's1']), '/shop/queues/jobs/url': 'https://sqs.eu-west-1.amazonaws.com/1/jobs' };
    ssm.on(GetParametersByPathCommand).callsFake((input: { Path: string; NextToken?: string }) => byPath(params)(input));
    ssm.on(GetParameterCommand, { Name: '/shop/database/shard-map' }).resolves({ Parameter: { Name: '/shop/database/shard-map', Value: map(1, ['s0', 's1']), Version: 1 } });
    sm.on(GetSecretValueCommand).resolves({ SecretString: '{"username":"u","password":"p"}', VersionId: 'v1' });
    const loader = new TopologyLoader({ prefix: '/shop', region: 'eu-west-1', ...aws() });
    await loader.refresh();
    const changes: string[] = [];
    loader.onChange((c) => changes.push(c.kind));
    ssm.resetHistory();
    sm.resetHistory();
    // WHEN the region's role changes (a switchover) and a queue is gone, and the database tier alone is read again
    params['/shop/database/role'] = 'secondary';
    params['/shop/database/write-forwarding'] = 'on';
    delete params['/shop/queues/jobs/url'];
    const t = await loader.refreshDatabase();
    // THEN only /shop/database was read (no other tier, no shard map, no secret), the new role is in place, and the
    // queue is still there as the last full read left it
    expect([...new Set(ssm.commandCalls(GetParametersByPathCommand).map((c) => c.args[0].input.Path))]).toEqual(['/shop/database']);
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(0);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(0);
    expect(t.database).toMatchObject({ role: 'secondary', writeForwarding: true });
    expect(t.queues['jobs']).toBeDefined();
    expect([...t.shards!.shards.keys()]).toEqual(['s0', 's1']);
    expect(changes).toEqual(['database', 'shards']); // (shard s0 is the database's own cluster: its role moved too)
    expect(loader.current).toBe(t);
  });

  it('refreshDatabase returns a read that started after the call, not one in flight that may predate the change (one queued read for every call)', async () => {
    // GIVEN a loaded topology whose tier reads can be held, each returning the parameters as they were when it started
    const params: Record<string, string> = { ...base };
    const { loader, hold } = await loaderWithHeldReads(params);
    let release = hold();
    // and a read of the database tier under way (the one a first lost write asked for), which read the region as primary
    const first = loader.refreshDatabase();
    await new Promise((r) => setImmediate(r));
    // WHEN s2m evacuate republishes the tier, and writes lost after that ask for the tier again
    params['/shop/database/role'] = 'secondary';
    params['/shop/database/write-forwarding'] = 'on';
    ssm.resetHistory();
    const second = loader.refreshDatabase();
    const third = loader.refreshDatabase();
    release();
    // THEN the read in flight answers as it read, and the later calls get one read that started after them
    expect((await first).database?.role).toBe('primary');
    expect(third).toBe(second);
    expect((await second).database).toMatchObject({ role: 'secondary', writeForwarding: true });
    expect(loader.current.database?.role).toBe('secondary');
    expect(ssm.commandCalls(GetParametersByPathCommand).map((c) => c.args[0].input.Path)).toEqual(['/shop/database']);
    // and so does a call made while a full refresh is in flight
    params['/shop/database/role'] = 'primary';
    release = hold();
    const full = loader.refresh();
    await new Promise((r) => setImmediate(r));
    params['/shop/database/role'] = 'secondary';
    const after = loader.refreshDatabase();
    release();
    expect((await full).database?.role).toBe('primary');
    expect((await after).database?.role).toBe('secondary');
  });

  it('refreshDatabase starts no queued read once the loader is stopped (the runtime closed meanwhile)', async () => {
    const { loader, hold } = await loaderWithHeldReads({ ...base });
    const release = hold();
    // GIVEN a read of the database tier in flight and one queued behind it
    const first = loader.refreshDatabase();
    await new Promise((r) => setImmediate(r));
    const queued = loader.refreshDatabase();
    ssm.resetHistory();
    // WHEN the loader stops, then the read in flight ends
    loader.stop();
    release();
    await first;
    // THEN the queued call answers with the topology as it is, and reads nothing
    expect((await queued).database?.role).toBe(loader.current.database?.role);
    expect(ssm.commandCalls(GetParametersByPathCommand)).toHaveLength(0);
  });

  it('refreshDatabase reads everything before the first load, and keeps the topology when its read fails', async () => {
    const errors: string[] = [];
    let fail = false;
    ssm.on(GetParametersByPathCommand).callsFake((input: { Path: string }) => {
      if (fail) throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      return byPath({ ...base, '/shop/queues/jobs/url': 'https://sqs.eu-west-1.amazonaws.com/1/jobs' })(input);
    });
    sm.on(GetSecretValueCommand).resolves({ SecretString: '{"username":"u","password":"p"}', VersionId: 'v1' });
    const loader = new TopologyLoader({ prefix: '/shop', region: 'eu-west-1', ...aws(), onError: (e) => errors.push(e.message) });
    const first = await loader.refreshDatabase();
    expect(new Set(ssm.commandCalls(GetParametersByPathCommand).map((c) => c.args[0].input.Path))).toEqual(new Set(['/shop/database', '/shop/cache', '/shop/sessions', '/shop/queues']));
    fail = true;
    expect(await loader.refreshDatabase()).toBe(first);
    expect(errors).toEqual(['could not read the topology under /shop/database in eu-west-1 (ssm:GetParametersByPath): ThrottlingException: Rate exceeded']);
  });

  it('keeps the last good topology when a refresh fails, and reports it', async () => {
    const errors: string[] = [];
    let fail = false;
    ssm.on(GetParametersByPathCommand).callsFake((input: { Path: string }) => {
      if (fail) throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      return byPath(base)(input);
    });
    sm.on(GetSecretValueCommand).resolves({ SecretString: '{"username":"u","password":"p"}', VersionId: 'v1' });
    const loader = new TopologyLoader({ prefix: '/shop', region: 'eu-west-1', ...aws(), onError: (e) => errors.push(e.message) });
    const first = await loader.refresh();
    fail = true;
    expect(await loader.refresh()).toBe(first);
    expect(errors).toEqual(['could not read the topology under /shop/database in eu-west-1 (ssm:GetParametersByPath): ThrottlingException: Rate exceeded']);
    expect(loader.status()).toMatchObject({ loaded: true, consecutiveFailures: 1 });
  });

  it('fails the first load when nothing is published under the prefix', async () => {
    ssm.on(GetParametersByPathCommand).resolves({ Parameters: [] });
    const loader = new TopologyLoader({ prefix: '/nope', region: 'eu-west-1', ...aws() });
    await expect(loader.refresh()).rejects.toThrow('no parameters under /nope in eu-west-1');
  });

  it('refreshes on its jittered interval once started, and not after stop', async () => {
    const timers: { at: number; run: () => void }[] = [];
    const clock = { t: 0, now: () => clock.t, setTimeout: (run: () => void, ms: number) => { timers.push({ at: clock.t + ms, run }); return timers.length; }, clearTimeout: () => { timers.length = 0; } };
    ssm.on(GetParametersByPathCommand).callsFake(byPath(base));
    sm.on(GetSecretValueCommand).resolves({ SecretString: '{"username":"u","password":"p"}', VersionId: 'v1' });
    const loader = new TopologyLoader({ prefix: '/shop', region: 'eu-west-1', ...aws(), clock, random: () => 1, refreshIntervalMs: 1000, jitter: 0.1 });
    await loader.refresh();
    const calls = () => ssm.commandCalls(GetParametersByPathCommand).length;
    const before = calls();
    loader.start();
    expect(timers.map((t) => t.at)).toEqual([1100]); // 1000 ms + 10 % jitter at random() = 1
    clock.t = 1100;
    timers.shift()!.run();
    await vi.waitFor(() => expect(timers).toHaveLength(1)); // the next one is scheduled only after the run settled
    expect(calls()).toBe(before * 2);
    loader.stop();
    expect(timers).toHaveLength(0);
  });

  it.each([[0, 0.1], [1000, 1]])('fails on refreshIntervalMs %s / jitter %s', (refreshIntervalMs, jitter) => {
    expect(() => new TopologyLoader({ prefix: '/shop', region: 'eu-west-1', refreshIntervalMs, jitter })).toThrow(/got: /);
  });
});
