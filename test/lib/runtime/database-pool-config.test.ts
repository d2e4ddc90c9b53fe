import type { PoolConfig } from 'pg';
import { describe, expect, it } from 'vitest';
import { staticCredentials } from '../../../lib/runtime/credentials';
import { Database, PoolSaturatedError, type DatabaseOptions } from '../../../lib/runtime/database';
import type { DatabaseEndpoints, Topology, TopologyChange, TopologyLoader } from '../../../lib/runtime/topology';

/**
 * The settings each `pg` pool is created with (a `pg` module that records them; no server). What they do against a
 * server that stops answering is tested in test/integration/database.test.ts; TCP keepalive cannot be, on loopback
 * (the kernel answers the probes), so its settings are asserted here.
 */
const endpoints: DatabaseEndpoints = {
  writer: 'shop-db.cluster-c1.eu-west-1.rds.amazonaws.com',
  reader: 'shop-db.cluster-ro-c1.eu-west-1.rds.amazonaws.com',
  port: 5432, databaseName: 'app', engine: 'postgres', authentication: 'password', role: 'primary', writeForwarding: false, source: '/shop/database',
};

function recordingPg(): { configs: PoolConfig[]; pg: NonNullable<DatabaseOptions['pg']> } {
  const configs: PoolConfig[] = [];
  class Pool {
    public constructor(config: PoolConfig) {
      configs.push(config);
    }
    public on(): this {
      return this;
    }
    public async end(): Promise<void> {}
    public async query() {
      return { rows: [], rowCount: 0 };
    }
  }
  return { configs, pg: { Pool } as unknown as NonNullable<DatabaseOptions['pg']> };
}

/** The pool configs of a database, by role (`writer`, `reader`, `writer:health`, ...), once its pools are built. */
async function poolConfigs(options: Partial<DatabaseOptions> = {}): Promise<Record<string, PoolConfig>> {
  const { configs, pg } = recordingPg();
  const db = new Database({ endpoints, credentials: staticCredentials('u', 'p'), ssl: false, pg, onError: () => undefined, ...options });
  await db.read('SELECT 1');
  await db.close();
  return Object.fromEntries(configs.map((c) => [String(c.application_name).split(':').slice(1).join(':'), c]));
}

describe('Database pool settings', () => {
  it('turns TCP keepalive on and bounds every statement by default, on the writer and reader pools', async () => {
    // WHEN a database is created without pool options
    const { writer, reader } = await poolConfigs();
    // THEN both pools probe idle connections after 5 s and time statements out after 30 s
    for (const config of [writer, reader]) {
      expect(config).toMatchObject({ keepAlive: true, keepAliveInitialDelayMillis: 5000, query_timeout: 30_000, connectionTimeoutMillis: 5000 });
    }
  });

  it('waits 2 s longer than the server\'s published statement timeout by default, so the server cancels first', async () => {
    // GIVEN users whose statement_timeout the stacks set to 120 s and published
    const published = { ...endpoints, statementTimeoutMs: 120_000 };
    // WHEN a database is created without a query timeout, and with one
    const { writer, reader } = await poolConfigs({ endpoints: published });
    const own = await poolConfigs({ endpoints: published, pool: { queryTimeoutMs: 5000 } });
    // THEN the client waits the server's timeout plus the margin; the application's own setting wins
    for (const config of [writer, reader]) expect(config).toMatchObject({ query_timeout: 122_000 });
    expect(own.writer).toMatchObject({ query_timeout: 5000 });
  });

  it('takes the writer and reader pools\' settings from pool and readerPool', async () => {
    const { writer, reader } = await poolConfigs({
      pool: { queryTimeoutMs: 60_000, keepAliveInitialDelayMs: 1000 },
      readerPool: { queryTimeoutMs: 0 },
    });
    expect(writer).toMatchObject({ keepAlive: true, keepAliveInitialDelayMillis: 1000, query_timeout: 60_000 });
    expect(reader).toMatchObject({ keepAlive: true, keepAliveInitialDelayMillis: 5000, query_timeout: 0 });
  });

  it('gives the health check a pool of one connection per target, with short timeouts', async () => {
    // WHEN a database is created with the default health timeout, and with another
    const defaults = await poolConfigs();
    const custom = await poolConfigs({ healthCheckTimeoutMs: 800 });
    // THEN each target has a one-connection pool of its own for the check, which waits 1.5 s at most to connect and
    // to be answered (below the HealthCheck's 2 s budget)
    expect(Object.keys(defaults).sort()).toEqual(['reader', 'reader:health', 'writer', 'writer:health']);
    for (const role of ['writer:health', 'reader:health']) {
      expect(defaults[role]).toMatchObject({ max: 1, connectionTimeoutMillis: 1500, query_timeout: 1500, keepAlive: true });
      expect(custom[role]).toMatchObject({ max: 1, connectionTimeoutMillis: 800, query_timeout: 800 });
    }
  });

  it('sizes the forwarding pools of a secondary by forwarding.poolMax, leaving the reader pool alone', async () => {
    // GIVEN a forwarding secondary's endpoints (its replicas forward the writes to the writer in another region)
    const secondary: DatabaseEndpoints = { ...endpoints, role: 'secondary', writeForwarding: true };
    // WHEN its database is created with and without a forwarding pool size
    const defaults = await poolConfigs({ endpoints: secondary });
    const capped = await poolConfigs({ endpoints: secondary, pool: { max: 8 }, readerPool: { max: 12 }, forwarding: { poolMax: 2 } });
    // THEN the forward and global pools, each holding forwarded sessions on the writer, take poolMax, and pool.max
    // (10 by default) without it; readers keep readerPool.max
    expect([defaults.forward?.max, defaults.global?.max, defaults.reader?.max]).toEqual([10, 10, 10]);
    expect([capped.forward?.max, capped.global?.max, capped.reader?.max]).toEqual([2, 2, 12]);
    // (a primary's writer pool takes pool.max, never poolMax: its writes go to the local writer or proxy)
    expect((await poolConfigs({ pool: { max: 8 }, forwarding: { poolMax: 2 } })).writer?.max).toBe(8);
  });

  it('caps the forwarding pools at the forwarding-pool-max the stacks published, unless the application sets its own', async () => {
    // GIVEN a secondary whose stacks budgeted 3 forwarding connections per pool and process
    const secondary: DatabaseEndpoints = { ...endpoints, role: 'secondary', writeForwarding: true, forwardingPoolMax: 3 };
    // THEN the default pools (10) hold 3; a smaller pool.max stays smaller; forwarding.poolMax is the application's word
    const byDefault = await poolConfigs({ endpoints: secondary });
    expect([byDefault.forward?.max, byDefault.global?.max, byDefault.reader?.max]).toEqual([3, 3, 10]);
    const smaller = await poolConfigs({ endpoints: secondary, pool: { max: 2 } });
    expect([smaller.forward?.max, smaller.global?.max]).toEqual([2, 2]);
    const own = await poolConfigs({ endpoints: secondary, forwarding: { poolMax: 6 } });
    expect([own.forward?.max, own.global?.max]).toEqual([6, 6]);
    // A primary's writer pool is not a forwarding pool: the published budget leaves it alone
    expect((await poolConfigs({ endpoints: { ...endpoints, forwardingPoolMax: 3 } })).writer?.max).toBe(10);
  });

  it('rebuilds its pools for a new forwarding-pool-max only where it forwards: a primary keeps its pools', async () => {
    // GIVEN databases that follow a topology, one in a primary region and one in a forwarding secondary
    const follow = async (base: DatabaseEndpoints) => {
      const { configs, pg } = recordingPg();
      let listener: ((c: TopologyChange) => void) | undefined;
      const topologyOf = (database: DatabaseEndpoints) => ({ database }) as unknown as Topology;
      const loader = { prefix: '/shop', region: 'eu-west-1', current: topologyOf(base), onChange: (fn: (c: TopologyChange) => void) => { listener = fn; return () => undefined; } } as unknown as TopologyLoader;
      const db = new Database({ topology: loader, credentials: staticCredentials('u', 'p'), ssl: false, pg, onError: () => undefined });
      await db.read('SELECT 1');
      // WHEN the stacks publish a new budget for the forwarding pools (a fleet's maximum changed)
      const next = topologyOf({ ...base, forwardingPoolMax: (base.forwardingPoolMax ?? 0) + 2 });
      listener!({ kind: 'database', topology: next, previous: topologyOf(base) });
      await db.read('SELECT 1');
      const rebuilds = db.stats().poolRebuilds;
      await db.close();
      return { rebuilds, forward: configs.filter((c) => String(c.application_name) === 'app:forward').map((c) => c.max) };
    };
    // THEN only the forwarding secondary builds its pools again, with the new size
    expect(await follow({ ...endpoints, forwardingPoolMax: 1 })).toEqual({ rebuilds: 1, forward: [] });
    expect(await follow({ ...endpoints, role: 'secondary', writeForwarding: true, forwardingPoolMax: 1 })).toEqual({ rebuilds: 2, forward: [1, 3] });
  });

  it('says once when a pool\'s own query timeout disagrees with the server\'s published statement timeout', async () => {
    const errorsWith = async (options: Partial<DatabaseOptions>): Promise<string[]> => {
      const errors: string[] = [];
      await poolConfigs({ endpoints: { ...endpoints, statementTimeoutMs: 28_000 }, onError: (e) => errors.push(e.message), ...options });
      return errors;
    };
    // a pool raised for long reports: the server cancels them at 28 s now
    expect(await errorsWith({ readerPool: { queryTimeoutMs: 120_000 } })).toEqual([expect.stringMatching(/^Database: readerPool\.queryTimeoutMs is 120000 ms, but the server cancels statements after 28000 ms \(\/shop\/database\/statement-timeout.*57014/)]);
    expect(await errorsWith({ pool: { queryTimeoutMs: 0 } })).toEqual([expect.stringMatching(/^Database: pool\.queryTimeoutMs is off, but the server cancels/)]);
    // a pool that gives up before the server does: the statement runs on
    expect(await errorsWith({ pool: { queryTimeoutMs: 5_000 } })).toEqual([expect.stringMatching(/^Database: pool\.queryTimeoutMs is 5000 ms, below the server's statement timeout of 28000 ms/)]);
    // the default, or one within the margin: nothing to say
    expect(await errorsWith({})).toEqual([]);
    expect(await errorsWith({ pool: { queryTimeoutMs: 29_000 } })).toEqual([]);
  });

  it('of two overlapping rebuilds keeps the later topology\'s pools, and ends every set it does not keep', async () => {
    // GIVEN a database following a topology, whose credentials answer a rebuild's user() only when the test says so
    const ended: string[] = [];
    const hosts: string[] = [];
    class Pool {
      private readonly host: string;
      public constructor(config: PoolConfig) {
        this.host = String(config.host);
        hosts.push(this.host);
      }
      public on(): this {
        return this;
      }
      public async end(): Promise<void> {
        ended.push(this.host);
      }
      public async query() {
        return { rows: [{ host: this.host }], rowCount: 1 };
      }
    }
    const users: Array<() => void> = [];
    let first = true;
    const credentials = {
      kind: 'static' as const,
      user: () => (first ? ((first = false), Promise.resolve('u')) : new Promise<string>((resolve) => users.push(() => resolve('u')))),
      password: async () => 'p',
      onAuthenticationFailure: async () => false,
    };
    let listener: ((c: TopologyChange) => void) | undefined;
    const topologyOf = (writer: string) => ({ database: { ...endpoints, reader: undefined, writer } }) as unknown as Topology;
    const loader = { prefix: '/shop', region: 'eu-west-1', current: topologyOf('a'), onChange: (fn: (c: TopologyChange) => void) => { listener = fn; return () => undefined; } } as unknown as TopologyLoader;
    const errors: string[] = [];
    const db = new Database({ topology: loader, credentials, ssl: false, pg: { Pool } as unknown as NonNullable<DatabaseOptions['pg']>, drainDelayMs: 0, onError: (e) => errors.push(e.message) });
    expect((await db.write<{ host: string }>('SELECT 1')).rows).toEqual([{ host: 'a' }]);
    // WHEN the writer moves to b, then to c before b's pools are built, and c's build finishes first
    listener!({ kind: 'database', topology: topologyOf('b'), previous: topologyOf('a') });
    listener!({ kind: 'database', topology: topologyOf('c'), previous: topologyOf('b') });
    expect(users).toHaveLength(2);
    users[1]();
    await new Promise((resolve) => setTimeout(resolve, 20));
    users[0]();
    await new Promise((resolve) => setTimeout(resolve, 20));
    // THEN the later topology's pools serve (b's, finished last, did not replace them), a's were retired and b's ended
    expect((await db.write<{ host: string }>('SELECT 1')).rows).toEqual([{ host: 'c' }]);
    expect(ended.filter((h) => h === 'a').length).toBe(hosts.filter((h) => h === 'a').length);
    expect(ended.filter((h) => h === 'b').length).toBe(hosts.filter((h) => h === 'b').length);
    expect(ended.filter((h) => h === 'c')).toEqual([]);
    expect(errors).toEqual([]);
    await db.close();
  });

  it.each([
    ['pool', { queryTimeoutMs: -1 }, /Database: pool\.queryTimeoutMs must be a number of milliseconds, 0 or more \(got: -1\)/],
    ['readerPool', { keepAliveInitialDelayMs: Number.NaN }, /Database: readerPool\.keepAliveInitialDelayMs must be .* \(got: NaN\)/],
    ['pool', { connectionTimeoutMs: Number.POSITIVE_INFINITY }, /pool\.connectionTimeoutMs must be .* \(got: Infinity\)/],
    ['pool', { max: 0 }, /Database: pool\.max must be a whole number of connections, at least 1 \(got: 0\)/],
    ['healthCheckTimeoutMs', 0, /Database: healthCheckTimeoutMs must be a number of milliseconds, at least 1 \(got: 0\)/],
    ['forwarding', { poolMax: 1.5 }, /Database: forwarding\.poolMax must be a whole number of connections, at least 1 \(got: 1\.5\)/],
  ] as const)('fails when %s is %o', (name, value, message) => {
    const { pg } = recordingPg();
    expect(() => new Database({ endpoints, credentials: staticCredentials('u', 'p'), ssl: false, pg, [name]: value })).toThrow(RangeError);
    expect(() => new Database({ endpoints, credentials: staticCredentials('u', 'p'), ssl: false, pg, [name]: value })).toThrow(message);
  });
});

/**
 * A `pg` whose every `query` waits until the test settles it: the order in which a pool answers and a wait for one of
 * its connections times out is the test's, not a clock's.
 */
function scriptedPg(): { pending: Array<{ sql: string; resolve: () => void; reject: (e: Error) => void }>; released: Array<Error | undefined>; pg: NonNullable<DatabaseOptions['pg']> } {
  const pending: Array<{ sql: string; resolve: () => void; reject: (e: Error) => void }> = [];
  /** What each checked-out connection was released with (an error: closed instead of given back). */
  const released: Array<Error | undefined> = [];
  const query = (sql: string) => new Promise((resolve, reject) => {
    pending.push({ sql, resolve: () => resolve({ rows: [], rowCount: 0, command: sql.split(' ')[0] }), reject });
  });
  class Pool {
    public on(): this {
      return this;
    }
    public async end(): Promise<void> {}
    public query(sql: string) {
      return query(sql);
    }
    /** A connection at once (the test scripts a wait for one as a query's rejection). */
    public async connect() {
      return { query, on() {}, removeListener() {}, release: (e?: Error) => { released.push(e); } };
    }
  }
  return { pending, released, pg: { Pool } as unknown as NonNullable<DatabaseOptions['pg']> };
}

describe('Database: a busy pool against a lost writer', () => {
  const waitedOut = () => new Error('timeout exceeded when trying to connect');
  const settle = () => new Promise((r) => setImmediate(r));
  /** A primary's database over the scripted `pg`, counting the writers it reports lost. */
  const scripted = (options: Partial<DatabaseOptions> = {}) => {
    const { pending, released, pg } = scriptedPg();
    const counts = { lost: 0 };
    const db = new Database({ endpoints, credentials: staticCredentials('u', 'p'), ssl: false, pg, readers: [], onWriterLost: () => { counts.lost++; }, onError: () => undefined, ...options });
    return { pending, released, db, counts };
  };
  /** Settles the pending statement `sql`, once it is pending. */
  const answer = async (pending: ReturnType<typeof scriptedPg>['pending'], sql: string, error?: Error) => {
    for (let i = 0; i < 20 && !pending.some((p) => p.sql === sql); i++) await settle();
    const at = pending.findIndex((p) => p.sql === sql);
    expect(pending.map((p) => p.sql)).toContain(sql);
    const [next] = pending.splice(at, 1);
    if (error) next!.reject(error);
    else next!.resolve();
  };

  it('counts a write and a transaction that RDS Proxy refuses for want of a writer (the proxy of a demoted primary) as lost writers', async () => {
    // GIVEN a region still published as the primary, whose proxy's cluster a switchover just made a secondary: the
    // proxy's read/write endpoint answers every request with this (Aurora User Guide, RDS Proxy with global databases)
    const noWriter = () => new Error("The target group doesn't have any associated read/write instances");
    const { pending, db, counts } = scripted();
    // WHEN a write and a transaction fail with it
    const write = db.write('INSERT lost');
    await answer(pending, 'INSERT lost', noWriter());
    await expect(write).rejects.toThrow(/associated read\/write instances/);
    const tx = db.transaction(async (t) => t.query('INSERT in-tx'));
    await answer(pending, 'BEGIN', noWriter());
    await expect(tx).rejects.toThrow(/associated read\/write instances/);
    // THEN each told onWriterLost (createRuntime reads the database tier again, where s2m evacuate republishes it)
    expect([counts.lost, db.stats().writerLost]).toEqual([2, 2]);
    await db.close();
  });

  it('fails a write whose wait for a connection timed out while the pool answered others as saturated, not a lost writer', async () => {
    // GIVEN a writer pool that answers a statement while another write waits for a connection
    const { pending, db, counts } = scripted();
    const first = db.write('INSERT first');
    const waiting = db.write('INSERT waiting');
    await settle();
    pending[0]!.resolve();
    await first;
    // WHEN the waiting write's wait times out THEN it is saturated: the writer answered meanwhile
    pending[1]!.reject(waitedOut());
    await expect(waiting).rejects.toThrow(PoolSaturatedError);
    await expect(waiting).rejects.toThrow(/all 10 connections of the writer pool to .* were serving other statements/);
    expect([counts.lost, db.stats().writerLost]).toEqual([0, 0]);
    await db.close();
  });

  it('counts the same timeout as a lost writer when the pool answered nothing during the wait (connections hung or opening)', async () => {
    const { pending, db, counts } = scripted();
    // GIVEN a statement the pool answered before the wait began
    const before = db.write('INSERT before');
    await settle();
    pending[0]!.resolve();
    await before;
    // WHEN a write waits and times out with nothing answered meanwhile THEN pg's error stands, as a lost writer
    const waiting = db.write('INSERT waiting');
    await settle();
    pending[1]!.reject(waitedOut());
    await expect(waiting).rejects.toThrow(/^timeout exceeded when trying to connect$/);
    expect([counts.lost, db.stats().writerLost]).toEqual([1, 1]);
    await db.close();
  });

  it('fails a strong read that waited out the writer pool while it answered others as saturated too', async () => {
    const { pending, db } = scripted();
    const write = db.write('INSERT first');
    const strong = db.read('SELECT current', [], { consistency: 'strong' });
    await settle();
    pending[0]!.resolve();
    await write;
    pending[1]!.reject(waitedOut());
    await expect(strong).rejects.toThrow(PoolSaturatedError);
    await db.close();
  });

  it('fails a write inside a transaction\'s callback that waited for the transaction\'s own connection as saturated, and rolls the transaction back', async () => {
    // GIVEN a writer pool of one connection (a forwarding secondary's, capped at its forwarding-pool-max), held by a
    // transaction whose callback writes through the Database instead of its tx
    const { pending, released, db, counts } = scripted({ pool: { max: 1 } });
    const tx = db.transaction(async (t) => {
      await t.query('INSERT inside');
      await db.write('INSERT nested');
    });
    await answer(pending, 'BEGIN');
    await answer(pending, 'INSERT inside');
    // WHEN the nested write's wait for a connection times out, with nothing answered meanwhile
    await answer(pending, 'INSERT nested', waitedOut());
    // THEN it is no lost writer: the pool's one connection was held by the application, not hung on the server
    await answer(pending, 'ROLLBACK');
    await expect(tx).rejects.toThrow(PoolSaturatedError);
    await expect(tx).rejects.toThrow(/all 1 connections of the writer pool to .* were held by the application with no statement running on them .*run it through the callback's tx/);
    expect([counts.lost, db.stats().writerLost]).toEqual([0, 0]);
    // and the transaction's connection, rolled back, goes back to the pool (not closed)
    expect(released).toEqual([undefined]);
    expect(pending).toEqual([]);
    await db.close();
  });

  it('still counts a lost writer when a wait timed out while the pool\'s connections had statements running, answered by nothing', async () => {
    // GIVEN a pool of one whose connection is inside a transaction with a statement on the server (no answer)
    const { pending, released, db, counts } = scripted({ pool: { max: 1 } });
    const tx = db.transaction(async (t) => { await t.query('UPDATE hung'); });
    await answer(pending, 'BEGIN');
    for (let i = 0; i < 20 && pending.length === 0; i++) await settle();
    expect(pending.map((p) => p.sql)).toEqual(['UPDATE hung']);
    // WHEN another write's wait for a connection times out THEN pg's error stands, as a lost writer
    const waiting = db.write('INSERT waiting');
    await answer(pending, 'INSERT waiting', waitedOut());
    await expect(waiting).rejects.toThrow(/^timeout exceeded when trying to connect$/);
    expect(counts.lost).toBe(1);
    // (the hung statement then times out: its connection is closed without a ROLLBACK)
    await answer(pending, 'UPDATE hung', new Error('Query read timeout'));
    await expect(tx).rejects.toThrow(/Query read timeout/);
    expect(released).toHaveLength(1);
    expect(released[0]).toBeInstanceOf(Error);
    await db.close();
  });

  it('replaces the writer pool on a read-only refusal on a primary, but not a forwarding secondary\'s pool (its replicas would refuse again)', async () => {
    const readOnly = () => Object.assign(new Error('cannot execute INSERT in a read-only transaction'), { code: '25006' });
    const refuseTwice = async (options: Partial<DatabaseOptions>) => {
      const { pending, db, counts } = scripted(options);
      for (const sql of ['INSERT one', 'INSERT two']) {
        const write = db.write(sql);
        await answer(pending, sql, readOnly());
        await expect(write).rejects.toMatchObject({ code: '25006' });
      }
      const { writerLost, writerPoolResets } = db.stats();
      await db.close();
      return { lost: counts.lost, writerLost, writerPoolResets };
    };
    // A primary's writer endpoint that reached a demoted instance: a new pool resolves the endpoint again (once per pool)
    expect(await refuseTwice({})).toEqual({ lost: 2, writerLost: 2, writerPoolResets: 2 });
    // A forwarding secondary: both still count as lost (the topology is read again), no pool is replaced
    expect(await refuseTwice({ endpoints: { ...endpoints, role: 'secondary', writeForwarding: true } })).toEqual({ lost: 2, writerLost: 2, writerPoolResets: 0 });
  });

  it('does not count connections of a pool the writer\'s reset retired against the new pool', async () => {
    // GIVEN a pool of one whose connection a transaction holds idle (its callback waits), then a write refused as
    // read-only (a demoted writer) replaces the pool
    const { pending, db, counts } = scripted({ pool: { max: 1 } });
    let finish!: () => void;
    const tx = db.transaction(async (t) => {
      await t.query('SELECT held');
      await new Promise<void>((resolve) => { finish = resolve; });
    });
    await answer(pending, 'BEGIN');
    await answer(pending, 'SELECT held');
    const refused = db.write('INSERT demoted');
    await answer(pending, 'INSERT demoted', Object.assign(new Error('cannot execute INSERT in a read-only transaction'), { code: '25006' }));
    await expect(refused).rejects.toMatchObject({ code: '25006' });
    expect(db.stats().writerPoolResets).toBe(1);
    // WHEN a write's wait on the new pool times out with nothing answered THEN it is a lost writer, not "held by the
    // application" (the held connection is the old pool's)
    const waiting = db.write('INSERT waiting');
    await answer(pending, 'INSERT waiting', waitedOut());
    await expect(waiting).rejects.toThrow(/^timeout exceeded when trying to connect$/);
    expect(counts.lost).toBe(2);
    finish();
    await answer(pending, 'COMMIT');
    await tx;
    await db.close();
  });

  it('counts a statement the server refused as an answer: the writer is there', async () => {
    const { pending, db, counts } = scripted();
    const refused = db.write('INSERT duplicate');
    const waiting = db.write('INSERT waiting');
    await settle();
    pending[0]!.reject(Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' }));
    await expect(refused).rejects.toThrow(/duplicate key/);
    pending[1]!.reject(waitedOut());
    await expect(waiting).rejects.toThrow(PoolSaturatedError);
    expect(counts.lost).toBe(0);
    await db.close();
  });
});
