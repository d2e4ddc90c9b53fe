import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { staticCredentials } from '../../lib/runtime/credentials';
import { Database, PoolSaturatedError, TransactionAbortedError, WriteUnavailableError, isConnectionError, isQueryTimeout, type PoolOptions } from '../../lib/runtime/database';
import { statusForError } from '../../lib/runtime/http';
import { HealthCheck } from '../../lib/runtime/health';
import { loadTopology } from '../../lib/runtime/topology';
import type { DatabaseEndpoints, Topology, TopologyChange, TopologyLoader } from '../../lib/runtime/topology';
import { createSecret, motoClients, putParameters, rotateSecret } from './services/aws';
import { freePort, setReplicaApplyDelay, sleep, startReplica, stopReplica } from './services/index';
import { Client } from 'pg';
import { DETECT_AURORA_SQL } from '../../lib/runtime/replication';
import { lockReplica, onServer, waitForReplica } from './services/pg';
import { POSITION_SQL } from '../../lib/runtime/replication';

const services = inject('services');
const { primary, replica, user, password, database } = services.postgres;

function endpoints(overrides: Partial<DatabaseEndpoints> = {}): DatabaseEndpoints {
  return {
    writer: primary.host,
    port: primary.port,
    databaseName: database,
    engine: 'postgres',
    authentication: 'password',
    role: 'primary',
    writeForwarding: false,
    source: '/it/database',
    ...overrides,
  };
}

type Where = { standby: boolean; port: number };

/**
 * A TCP relay on loopback to `host:port`. `close()` stops it and drops its connections (the endpoint is then
 * unreachable); `blackHole()` stops forwarding in both directions but keeps every connection open, as a server that
 * vanished without a reset (an Availability Zone lost, a partition) looks to its clients, and `blackHoleAt(text)` does
 * so from the first message a client sends that contains `text`; `clients` counts the client connections still open.
 */
async function tcpRelay(host: string, port: number): Promise<{ port: number; readonly clients: number; blackHole(): void; blackHoleAt(text: string): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const clients = new Set<Socket>();
  let forwarding = true;
  let trigger: string | undefined;
  const server = createServer((client) => {
    const upstream = connect(port, host);
    clients.add(client);
    client.on('close', () => clients.delete(client));
    for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
      sockets.add(from);
      from.on('data', (chunk: Buffer) => {
        if (from === client && trigger !== undefined && chunk.includes(trigger)) forwarding = false;
        if (forwarding) to.write(chunk);
      });
      from.on('close', () => { sockets.delete(from); to.destroy(); });
      from.on('error', () => { client.destroy(); upstream.destroy(); });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  let closed: Promise<void> | undefined;
  return {
    port: (server.address() as AddressInfo).port,
    get clients() { return clients.size; },
    blackHole: () => { forwarding = false; },
    blackHoleAt: (text) => { trigger = text; },
    close: () => (closed ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    })),
  };
}

// This file injects replica lag, stops the standby and asserts where reads land: hold the standby for the file.
/**
 * A login role with a password, its Secrets Manager secret, and a topology (loaded from moto) naming the primary as the
 * writer and that secret as the credentials: what a rotation test starts from. `name` prefixes the role, secret and path.
 */
async function roleWithSecret(name: string): Promise<{ role: string; arn: string; topology: Awaited<ReturnType<typeof loadTopology>>; secretsManager: ReturnType<typeof motoClients>['secretsManager'] }> {
  const role = `${name.replace(/-/g, '_')}_${Date.now()}`;
  await onServer(services, primary, `CREATE ROLE ${role} LOGIN PASSWORD 'first-password'`);
  const { ssm, secretsManager } = motoClients(services);
  const arn = await createSecret(secretsManager, `${name}/${role}`, { username: role, password: 'first-password' });
  const prefix = `/${name}-${Date.now()}`;
  await putParameters(ssm, {
    [`${prefix}/database/writer`]: primary.host,
    [`${prefix}/database/port`]: String(primary.port),
    [`${prefix}/database/database-name`]: database,
    [`${prefix}/database/secret-arn`]: arn,
  });
  return { role, arn, secretsManager, topology: await loadTopology({ prefix, region: services.moto.region, ssm, secretsManager }) };
}

let releaseReplica: (() => Promise<void>) | undefined;
beforeAll(async () => {
  releaseReplica = await lockReplica(services);
});
afterAll(async () => {
  await releaseReplica?.();
});
const WHERE = 'SELECT pg_is_in_recovery() AS standby, inet_server_port() AS port';

describe('Database against a primary and its streaming replica', () => {
  let db: Database;

  beforeAll(async () => {
    await onServer(services, primary, 'CREATE TABLE IF NOT EXISTS it_items (id text PRIMARY KEY, v text NOT NULL)');
    await waitForReplica(services);
    db = new Database({
      endpoints: endpoints(),
      readers: [`${replica.host}:${replica.port}`],
      credentials: staticCredentials(user, password),
      applicationName: 'it-split',
      circuitBreaker: { failureThreshold: 1, cooldownMs: 300 },
      onError: () => undefined,
    });
  });

  afterAll(async () => {
    await setReplicaApplyDelay(services, 0);
    await db?.close();
  });

  it('splits reads and writes, as the servers see it', async () => {
    const read = await db.read<Where>(WHERE);
    expect(read.rows[0]).toEqual({ standby: true, port: replica.port });
    const written = await db.write<Where>("INSERT INTO it_items (id, v) VALUES ('split', 'x') ON CONFLICT (id) DO UPDATE SET v = excluded.v RETURNING pg_is_in_recovery() AS standby, inet_server_port() AS port");
    expect(written.rows[0]).toEqual({ standby: false, port: primary.port });
    const strong = await db.read<Where>(WHERE, [], { consistency: 'strong' });
    expect(strong.rows[0]!.port).toBe(primary.port);
    // The servers' own view: the SDK's reader connections are on the standby, its writer connections on the primary.
    const onReplica = await onServer<{ n: number }>(services, replica, "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'it-split:reader'");
    const onPrimary = await onServer<{ n: number }>(services, primary, "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'it-split:writer'");
    const readersOnPrimary = await onServer<{ n: number }>(services, primary, "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'it-split:reader'");
    expect(onReplica[0]!.n).toBeGreaterThanOrEqual(1);
    expect(onPrimary[0]!.n).toBeGreaterThanOrEqual(1);
    expect(readersOnPrimary[0]!.n).toBe(0);
    expect(db.stats().reads).toMatchObject({ replica: 1, writer: 1 });
  });

  it('reads its own writes under replica lag, while an eventual read is stale', async () => {
    await setReplicaApplyDelay(services, 1500);
    const before = db.stats().routes;
    let stale = 0;
    for (let i = 0; i < 4; i++) {
      const session = db.session();
      const id = `ryw-${Date.now()}-${i}`;
      await db.write('INSERT INTO it_items (id, v) VALUES ($1, $2)', [id, 'v'], { session });
      const eventual = await db.read('SELECT v FROM it_items WHERE id = $1', [id]);
      if (eventual.rowCount === 0) stale++;
      // The token round trip is what a real app does between requests.
      const next = db.session(session.token());
      const own = await db.read<{ v: string }>('SELECT v FROM it_items WHERE id = $1', [id], { session: next });
      expect(own.rows).toEqual([{ v: 'v' }]);
    }
    expect(stale).toBeGreaterThanOrEqual(1);
    const after = db.stats().routes;
    expect(after['ryw-replica-behind'] - before['ryw-replica-behind']).toBe(4);

    // Lag gone: once the replica has replayed the write, the session's reads go back to it.
    await setReplicaApplyDelay(services, 0);
    const session = db.session();
    await db.write("INSERT INTO it_items (id, v) VALUES ($1, 'w')", [`caught-up-${Date.now()}`], { session });
    await waitForReplica(services);
    await sleep(20); // past the reader's recheck interval
    const r = await db.read<Where>(WHERE, [], { session });
    expect(r.rows[0]!.standby).toBe(true);
    expect(db.stats().routes['ryw-caught-up']).toBeGreaterThanOrEqual(1);
  });

  it('answers the deep health check from the writer and the reader', async () => {
    const status = await new HealthCheck({ checks: db.healthChecks(), cacheMs: 0 }).run();
    expect(status.status).toBe('ok');
    expect(status.checks['database.writer']).toMatchObject({ status: 'ok', critical: true, detail: `${primary.host}:${primary.port}` });
    expect(status.checks['database.reader']).toMatchObject({ status: 'ok', critical: false, detail: `${replica.host}:${replica.port}` });
  });

  it('fails the deep check of a secondary region without forwarding whose reader is down, from its first run', async () => {
    // GIVEN a secondary region's database (no writer, no forwarding) whose reader refuses connections, with its checks
    // registered at once, as createRuntime does, while its pools are still being built
    const closed = await freePort();
    const secondary = new Database({
      endpoints: endpoints({ role: 'secondary', writer: '127.0.0.1', reader: '127.0.0.1', port: closed }),
      credentials: staticCredentials(user, password),
      onError: () => undefined,
    });
    try {
      const health = new HealthCheck({ checks: secondary.healthChecks(), cacheMs: 0 });
      // WHEN the deep check runs
      const status = await health.run();
      // THEN it fails (503): the readers are the region's only database
      expect(status.status).toBe('fail');
      expect(status.checks['database.reader']).toMatchObject({ status: 'fail', critical: true });
      expect(status.checks['database.writer']).toMatchObject({ status: 'ok', critical: false, detail: 'no writer in this region' });
    } finally {
      await secondary.close();
    }
  });

  it('falls back to the writer while the standby is stopped, and returns to it when it is back', async () => {
    stopReplica(services);
    try {
      // The region stays healthy (the writer takes the reads); the failed reader shows as degraded.
      const health = await new HealthCheck({ checks: db.healthChecks(), cacheMs: 0 }).run();
      expect(health.status).toBe('degraded');
      expect(health.checks['database.reader']!.status).toBe('fail');
      for (let i = 0; i < 10; i++) {
        const r = await db.read<Where>(WHERE);
        expect(r.rows[0]!.port).toBe(primary.port);
      }
      expect(db.stats().readerFailures).toBeGreaterThanOrEqual(1);
      expect(db.stats().routes['reader-failed'] + db.stats().routes['no-healthy-reader']).toBeGreaterThanOrEqual(10);
    } finally {
      await startReplica(services);
    }
    let back = false;
    for (let i = 0; i < 100 && !back; i++) {
      const r = await db.read<Where>(WHERE); // never throws: the writer answers while the reader recovers
      back = r.rows[0]!.standby;
      if (!back) await sleep(100);
    }
    expect(back).toBe(true);
  });

  it('rolls back a failed transaction and records a committed one in the session', async () => {
    const id = `tx-${Date.now()}`;
    await expect(db.transaction(async (tx) => {
      await tx.query('INSERT INTO it_items (id, v) VALUES ($1, $2)', [id, 'a']);
      throw new Error('boom');
    })).rejects.toThrow('boom');
    expect(await onServer(services, primary, 'SELECT 1 FROM it_items WHERE id = $1', [id])).toEqual([]);
    const session = db.session();
    const n = await db.transaction(async (tx) => {
      await tx.query('INSERT INTO it_items (id, v) VALUES ($1, $2)', [id, 'b']);
      return (await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM it_items WHERE id = $1', [id])).rows[0]!.n;
    }, { session });
    expect(n).toBe(1);
    expect(session.hasWrites).toBe(true);
  });

  it('throws when PostgreSQL rolls back at COMMIT a transaction whose failed statement the callback caught', async () => {
    // GIVEN a transaction that writes a row, then catches the duplicate-key error of a second insert and goes on
    const id = `tx-aborted-${Date.now()}`;
    await onServer(services, primary, 'INSERT INTO it_items (id, v) VALUES ($1, $2)', [`${id}-existing`, 'x']);
    const session = db.session();
    const before = db.stats().transactions;
    // WHEN it ends
    const result = await db.transaction(async (tx) => {
      await tx.query('INSERT INTO it_items (id, v) VALUES ($1, $2)', [id, 'new']);
      try {
        await tx.query('INSERT INTO it_items (id, v) VALUES ($1, $2)', [`${id}-existing`, 'again']);
      } catch (e) {
        if ((e as { code?: string }).code !== '23505') throw e;
      }
      return 'committed?';
    }, { session }).catch((e: unknown) => e);
    // THEN it throws instead of resolving, counts no transaction and records no write, and nothing was written
    expect(result).toBeInstanceOf(TransactionAbortedError);
    expect((result as TransactionAbortedError).code).toBe('25P02');
    expect(db.stats().transactions).toBe(before);
    expect(session.hasWrites).toBe(false);
    expect(await onServer(services, primary, 'SELECT 1 FROM it_items WHERE id = $1', [id])).toEqual([]);
    // AND the connection went back to the pool usable
    expect((await db.write<{ n: number }>('SELECT 1 AS n')).rows).toEqual([{ n: 1 }]);
  });

  it('records the write position of session writes that fill the pool, without a connection more', async () => {
    // GIVEN a fresh database (replication not detected yet) whose writer pool takes 2 connections
    const errors: string[] = [];
    const small = new Database({
      endpoints: endpoints(),
      readers: [`${replica.host}:${replica.port}`],
      credentials: staticCredentials(user, password),
      applicationName: 'it-small-pool',
      pool: { max: 2, connectionTimeoutMs: 3000 },
      onError: (e) => errors.push(e.message),
    });
    try {
      // WHEN two session writes hold both connections at once
      const sessions = [small.session(), small.session()];
      const started = Date.now();
      await Promise.all(sessions.map((session, i) => small.write("INSERT INTO it_items (id, v) SELECT $1, 'v' FROM pg_sleep(0.3)", [`full-pool-${started}-${i}`], { session })));
      // THEN both recorded their position (the session reads from a replica that has it), and neither waited for a
      // third connection
      expect(Date.now() - started).toBeLessThan(3000);
      expect(errors).toEqual([]);
      for (const session of sessions) expect(session.token()).toMatch(/~[0-9a-f]+~[0-9a-z]+$/);
    } finally {
      await small.close();
    }
  });

  it('reads a session\'s write from a caught-up reader while the writer cannot be reached, on a fresh pool set', async () => {
    // GIVEN the writer behind a TCP relay, and a session that wrote through it
    const relay = await tcpRelay(primary.host, primary.port);
    const options = {
      endpoints: endpoints({ writer: '127.0.0.1', port: relay.port }),
      readers: [`${replica.host}:${replica.port}`],
      credentials: staticCredentials(user, password),
      onError: () => undefined,
    };
    const first = new Database({ ...options, applicationName: 'it-relay-1' });
    const second = new Database({ ...options, applicationName: 'it-relay-2' });
    try {
      const session = first.session();
      const id = `relay-${Date.now()}`;
      await first.write("INSERT INTO it_items (id, v) VALUES ($1, 'v')", [id], { session });
      await waitForReplica(services);
      // WHEN the writer becomes unreachable and another instance (its replication not yet detected) reads it back
      await relay.close();
      const r = await second.read<Where & { v: string }>(`SELECT v, ${WHERE.slice('SELECT '.length)} FROM it_items WHERE id = $1`, [id], { session: second.session(session.token()) });
      // THEN the caught-up reader answers
      expect(r.rows).toEqual([{ v: 'v', standby: true, port: replica.port }]);
      expect(second.stats().routes['ryw-caught-up']).toBe(1);
    } finally {
      await relay.close();
      await first.close();
      await second.close();
    }
  });

  it('does not retry SQL errors on another server', async () => {
    const failures = db.stats().readerFailures;
    await expect(db.read('SELECT * FROM no_such_table')).rejects.toThrow(/no_such_table/);
    expect(db.stats().readerFailures).toBe(failures);
  });
});

describe('Aurora detection (DETECT_AURORA_SQL) on a real server', () => {
  it('finds a callable aurora_replica_status(), and one this user may not call', async () => {
    // GIVEN a database of its own with a function of that name, which PUBLIC may not call, and a role without rights
    const db = `it_aurora_${Date.now() % 100_000}`;
    const role = `${db}_app`;
    await onServer(services, primary, `CREATE DATABASE ${db}`, [], 'postgres');
    try {
      await onServer(services, primary, `CREATE FUNCTION aurora_replica_status() RETURNS SETOF record LANGUAGE sql AS 'SELECT NULL::record WHERE false'`, [], db);
      await onServer(services, primary, 'REVOKE EXECUTE ON FUNCTION aurora_replica_status() FROM PUBLIC', [], db);
      await onServer(services, primary, `CREATE ROLE ${role} LOGIN PASSWORD 'x'`, [], db);
      const as = async (user: string, password: string) => {
        const client = new Client({ host: primary.host, port: primary.port, user, password, database: db });
        await client.connect();
        try { return (await client.query(DETECT_AURORA_SQL)).rows[0] as { aurora: boolean; allowed: boolean }; } finally { await client.end(); }
      };
      // THEN the owner may call it, the role may not; and where no such function exists, it is PostgreSQL
      expect(await as(user, password)).toEqual({ aurora: true, allowed: true });
      expect(await as(role, 'x')).toEqual({ aurora: true, allowed: false });
      expect((await onServer<{ aurora: boolean; allowed: boolean }>(services, primary, DETECT_AURORA_SQL))[0]).toEqual({ aurora: false, allowed: true });
    } finally {
      await onServer(services, primary, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`, [], 'postgres');
      await onServer(services, primary, `DROP ROLE IF EXISTS ${role}`, [], 'postgres');
    }
  });
});

/**
 * Opens the one connection of a pool of one with a short pool.connectionTimeoutMs, before a test makes something wait
 * for it: that timeout bounds the login too, and a fresh login took over 200 ms under load (1 of 60 at load average
 * 20, most at higher load). A login that timed out is tried again (bounded); the caller counts lost writers from here.
 */
async function openTheConnection(db: Database): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await db.write('SELECT 1');
      return;
    } catch (e) {
      if (attempt >= 20 || !/connection timeout|timeout exceeded when trying to connect/.test((e as Error).message)) throw e;
    }
  }
}

describe('Database on a Global Database secondary', () => {
  beforeAll(async () => {
    await onServer(services, primary, 'CREATE TABLE IF NOT EXISTS it_forwarded (id text PRIMARY KEY, mode text NOT NULL)');
  });

  it('sets apg_write_forward.consistency_mode on its writing connections and reads its writes with GLOBAL', async () => {
    // The local replicas forward writes; here the "local reader endpoint" is the primary, which records the setting.
    const db = new Database({
      endpoints: endpoints({ role: 'secondary', writeForwarding: true, writer: 'inactive-writer.invalid', reader: primary.host }),
      credentials: staticCredentials(user, password),
      onError: () => undefined,
    });
    try {
      const session = db.session();
      const id = `fwd-${Date.now()}`;
      await db.write("INSERT INTO it_forwarded (id, mode) VALUES ($1, current_setting('apg_write_forward.consistency_mode'))", [id], { session });
      expect(await onServer(services, primary, 'SELECT mode FROM it_forwarded WHERE id = $1', [id])).toEqual([{ mode: 'SESSION' }]);
      const own = await db.read<{ mode: string }>("SELECT current_setting('apg_write_forward.consistency_mode') AS mode", [], { session });
      expect(own.rows).toEqual([{ mode: 'GLOBAL' }]);
      const strong = await db.read<{ mode: string }>("SELECT current_setting('apg_write_forward.consistency_mode') AS mode", [], { consistency: 'strong' });
      expect(strong.rows).toEqual([{ mode: 'GLOBAL' }]);
      expect(db.stats().routes).toMatchObject({ 'ryw-global': 1, 'strong-global': 1 });
    } finally {
      await db.close();
    }
  });

  it('holds its forwarded writes to the forwarding-pool-max the stacks published: they wait for the connection, none is refused', async () => {
    // GIVEN a forwarding secondary whose stacks budgeted one connection per forwarding pool, and one without a budget
    const at = (forwardingPoolMax?: number) => new Database({
      endpoints: endpoints({ role: 'secondary', writeForwarding: true, writer: 'inactive-writer.invalid', reader: primary.host, ...(forwardingPoolMax ? { forwardingPoolMax } : {}) }),
      credentials: staticCredentials(user, password),
      onError: () => undefined,
    });
    const backends = async (db: Database, tag: string): Promise<number> => {
      // WHEN four writes run at once, each holding its connection a while
      await Promise.all([1, 2, 3, 4].map((i) => db.write("INSERT INTO it_forwarded (id, mode) SELECT $1, pg_backend_pid()::text FROM pg_sleep(0.2)", [`${tag}-${i}`])));
      const rows = await onServer<{ mode: string }>(services, primary, 'SELECT mode FROM it_forwarded WHERE id LIKE $1', [`${tag}-%`]);
      expect(rows).toHaveLength(4);
      return new Set(rows.map((r) => r.mode)).size;
    };
    const capped = at(1);
    const open = at();
    try {
      const tag = `cap-${Date.now()}`;
      // THEN the capped one wrote all four through one connection (one server backend), the other through four
      expect(await backends(capped, `${tag}-capped`)).toBe(1);
      expect(await backends(open, `${tag}-open`)).toBe(4);
    } finally {
      await Promise.all([capped.close(), open.close()]);
    }
  });

  it('fails a forwarded write that waited out connectionTimeoutMs on its busy pool as saturated, not as a lost writer', async () => {
    // GIVEN a forwarding secondary capped at one connection per forwarding pool (open already), waiting 1 s for one
    let lost = 0;
    const db = new Database({
      endpoints: endpoints({ role: 'secondary', writeForwarding: true, writer: 'inactive-writer.invalid', reader: primary.host, forwardingPoolMax: 1 }),
      credentials: staticCredentials(user, password),
      pool: { connectionTimeoutMs: 1000 },
      onWriterLost: () => { lost++; },
      onError: () => undefined,
    });
    try {
      await db.write('SELECT 1');
      // WHEN twenty writes of 0.1 s each come at once: the connection serves them one after another
      const outcomes = await Promise.allSettled(Array.from({ length: 20 }, () => db.write('SELECT pg_sleep(0.1)')));
      // THEN the first ones succeed, and those still waiting after 1 s fail as saturated, naming the pool and the
      // cap; the writer answered all along, so none counts as lost
      const failed = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected').map((o) => o.reason as Error);
      expect(outcomes.filter((o) => o.status === 'fulfilled').length).toBeGreaterThanOrEqual(2);
      expect(failed.length).toBeGreaterThanOrEqual(1);
      for (const e of failed) {
        expect(e).toBeInstanceOf(PoolSaturatedError);
        expect(e.message).toMatch(/all 1 connections of the forward pool to .* \(capped at the region's forwarding-pool-max: docs\/aurora\.md, "Connection budgets"\) were serving other statements for pool\.connectionTimeoutMs \(1000 ms\)/);
        expect(statusForError(e)).toBe(503);
      }
      expect([lost, db.stats().writerLost]).toEqual([0, 0]);
    } finally {
      await db.close();
    }
  });

  it('does not count a busy reader pool as a failing reader: a burst leaves its breaker closed', async () => {
    // GIVEN a reader (the standby) with a pool of one connection, open already, waiting 1 s for it
    const db = new Database({
      endpoints: endpoints(), credentials: staticCredentials(user, password), readers: [`${replica.host}:${replica.port}`],
      readerPool: { max: 1, connectionTimeoutMs: 1000 }, circuitBreaker: { failureThreshold: 2, cooldownMs: 60_000 }, onError: () => undefined,
    });
    try {
      await db.read('SELECT 1');
      // WHEN sixteen reads of 0.1 s each come at once: the reader serves some, the others wait out 1 s
      const results = await Promise.all(Array.from({ length: 16 }, () => db.read<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby FROM pg_sleep(0.1)')));
      // THEN every read is answered (those that could not wait went to the writer), and none counts against the reader:
      // its breaker stays closed, so the next read goes to it again
      expect(results.map((r) => r.rows[0]!.standby).filter((s) => !s).length).toBeGreaterThanOrEqual(1);
      expect(db.stats().readerFailures).toBe(0);
      expect((await db.read<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby')).rows).toEqual([{ standby: true }]);
    } finally {
      await db.close();
    }
  });

  it('fails a write that waited on a pool whose every connection hangs as a lost writer, as before', async () => {
    // GIVEN a pool of one connection, held by a statement that answers only after a second
    let lost = 0;
    const db = new Database({
      endpoints: endpoints(), credentials: staticCredentials(user, password), readers: [],
      pool: { max: 1, connectionTimeoutMs: 200 }, onWriterLost: () => { lost++; }, onError: () => undefined,
    });
    try {
      await openTheConnection(db);
      lost = 0;
      const slow = db.write('SELECT pg_sleep(1)');
      // WHEN another write waits for that connection and nothing completes meanwhile (as on a writer that stopped
      // answering) THEN it fails with pg's error, counted as a lost writer (the topology is read again)
      await expect(db.write('SELECT 1')).rejects.toThrow(/timeout exceeded when trying to connect/);
      expect(lost).toBe(1);
      await slow;
    } finally {
      await db.close();
    }
  });

  it.each([
    ['a write', (db: Database, id: string) => db.write('INSERT INTO it_forwarded (id, mode) VALUES ($1, $2)', [`${id}-nested`, 'nested'])],
    ['a strong read', (db: Database) => db.read('SELECT 1', [], { consistency: 'strong' })],
  ] as const)('fails %s through the Database inside a transaction\'s callback on a pool of one as saturated, not a lost writer, and rolls the transaction back', async (_what, nested) => {
    // GIVEN a pool of one connection (a forwarding secondary's, capped at its forwarding-pool-max) and a transaction
    // that inserts, then sends a statement through the Database instead of its tx: it waits for the connection the
    // transaction holds
    let lost = 0;
    const id = `tx-wait-${Date.now()}`;
    const db = new Database({
      endpoints: endpoints(), credentials: staticCredentials(user, password), readers: [], applicationName: `it-${id}`,
      pool: { max: 1, connectionTimeoutMs: 200 }, onWriterLost: () => { lost++; }, onError: () => undefined,
    });
    try {
      await openTheConnection(db);
      lost = 0;
      const lostBefore = db.stats().writerLost;
      let backend: number | undefined;
      const failed = await db.transaction(async (tx) => {
        backend = (await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
        await tx.query('INSERT INTO it_forwarded (id, mode) VALUES ($1, $2)', [id, 'in-tx']);
        await nested(db, id);
      }).then(() => undefined, (e: unknown) => e as Error);
      // THEN it fails when the wait ends, saying why, as saturated (503): the writer was there all along
      expect(failed).toBeInstanceOf(PoolSaturatedError);
      expect(failed?.message).toMatch(/all 1 connections of the writer pool .* were held by the application with no statement running on them for pool\.connectionTimeoutMs \(200 ms\).*run it through the callback's tx/);
      expect(statusForError(failed)).toBe(503);
      expect([lost, db.stats().writerLost - lostBefore]).toEqual([0, 0]);
      // WHEN the next write comes THEN it commits on the same connection, rolled back and given back to the pool, and
      // nothing of the transaction exists
      const next = await db.write<{ pid: number }>('INSERT INTO it_forwarded (id, mode) VALUES ($1, $2) RETURNING pg_backend_pid() AS pid', [`${id}-later`, 'later']);
      expect(next.rows[0]!.pid).toBe(backend);
      expect(await onServer(services, primary, 'SELECT id FROM it_forwarded WHERE id LIKE $1 ORDER BY id', [`${id}%`])).toEqual([{ id: `${id}-later` }]);
      // (this database's connections: other files, running meanwhile, hold transactions of the same user on the primary)
      const idle = (await onServer<{ n: number }>(services, primary, "SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'idle in transaction' AND application_name LIKE $1", [`it-${id}:%`]))[0]!.n;
      expect(idle).toBe(0);
    } finally {
      await db.close();
    }
  });

  it('refuses writes without forwarding, naming the parameter', async () => {
    const db = new Database({
      endpoints: endpoints({ role: 'secondary', writeForwarding: false, writer: 'inactive-writer.invalid', reader: primary.host }),
      credentials: staticCredentials(user, password),
    });
    try {
      await expect(db.write('SELECT 1')).rejects.toThrow(WriteUnavailableError);
      await expect(db.write('SELECT 1')).rejects.toThrow('/it/database/write-forwarding is "off"');
      expect((await db.read<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await db.close();
    }
  });
});

describe('Database from the topology, password from a rotated secret', () => {
  it('re-reads the secret when the database refuses the old password', async () => {
    const { role, arn, secretsManager, topology } = await roleWithSecret('it-rotating');
    await onServer(services, primary, `GRANT ALL ON SCHEMA public TO ${role}`);
    const db = new Database({ topology, pool: { max: 1 }, onError: () => undefined });
    try {
      expect((await db.write<{ u: string }>('SELECT current_user AS u')).rows).toEqual([{ u: role }]);
      // Rotation: the database and the secret change; the pool's open connection is dropped.
      await onServer(services, primary, `ALTER ROLE ${role} PASSWORD 'second-password'`);
      await rotateSecret(secretsManager, arn, { username: role, password: 'second-password' });
      await onServer(services, primary, 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [role]);
      await sleep(50);
      let result: unknown;
      for (let i = 0; i < 3 && result === undefined; i++) {
        // The first attempt may meet the terminated connection (a connection error); none may fail on the password.
        try {
          result = (await db.write<{ u: string }>('SELECT current_user AS u')).rows;
        } catch (e) {
          expect((e as { code?: string }).code).not.toBe('28P01');
        }
      }
      expect(result).toEqual([{ u: role }]);
      expect(db.stats().authRetries).toBe(1);
    } finally {
      await db.close();
      topology.stop();
    }
  });
});

describe('Database from the topology, password from a rotated secret, many logins at once', () => {
  it('lets every concurrent login the database refuses wait for the one re-read of the secret, and retry', async () => {
    // GIVEN a pool of 12 whose connections are gone when the password is rotated
    const { role, arn, secretsManager, topology } = await roleWithSecret('it-rotating-many');
    let reads = 0;
    const refresh = topology.refreshSecret.bind(topology);
    // The re-read takes 300 ms, as a slow Secrets Manager call would: the other logins are refused while it is in flight.
    topology.refreshSecret = async (a: string) => {
      reads++;
      await sleep(300);
      return refresh(a);
    };
    const db = new Database({ topology, pool: { max: 12 }, onError: () => undefined });
    try {
      expect((await db.write<{ u: string }>('SELECT current_user AS u')).rows).toEqual([{ u: role }]);
      await onServer(services, primary, `ALTER ROLE ${role} PASSWORD 'second-password'`);
      await rotateSecret(secretsManager, arn, { username: role, password: 'second-password' });
      await onServer(services, primary, 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [role]);
      // the pool drops its idle connection once the server ends it (bounded wait)
      for (let i = 0; i < 100 && (await onServer<{ n: number }>(services, primary, 'SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1', [role]))[0]!.n > 0; i++) await sleep(20);
      await sleep(100);
      // WHEN 12 writes at once need new connections, each refused the old password
      const results = await Promise.allSettled(Array.from({ length: 12 }, () => db.write<{ u: string }>('SELECT current_user AS u, pg_sleep(0.2)')));
      // THEN each waits for the secret's one re-read (or finds it done) and retries with the new password
      const failed = results.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as { code?: string }).code ?? r.reason)] : []));
      expect(failed).toEqual([]);
      expect(reads).toBe(1);
      // (a login that began after the re-read used the new password and needed no retry)
      expect(db.stats().authRetries).toBeGreaterThanOrEqual(1);
    } finally {
      await db.close();
      topology.stop();
    }
  });
});

describe('Database closed while a topology change rebuilds its pools', () => {
  it('ends the pools in use too, so their idle connections do not outlive close()', async () => {
    // GIVEN a database following a topology, with an idle writer connection kept 60 s, whose next pool build waits
    const applicationName = `it-close-rebuild-${Date.now()}`;
    let builds = 0;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    const credentials = { ...staticCredentials(user, password), user: async () => { if (builds++ > 0) await gate; return user; } };
    let listener: ((c: TopologyChange) => void) | undefined;
    const topologyOf = (e: DatabaseEndpoints) => ({ database: e }) as unknown as Topology;
    const loader = { prefix: '/it', region: 'eu-west-1', current: topologyOf(endpoints()), onChange: (fn: (c: TopologyChange) => void) => { listener = fn; return () => undefined; } } as unknown as TopologyLoader;
    const db = new Database({ topology: loader, credentials, applicationName, pool: { idleTimeoutMs: 60_000 }, onError: () => undefined });
    const connections = async () => (await onServer<{ n: number }>(services, primary, 'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE $1', [`${applicationName}%`]))[0]!.n;
    await db.write('SELECT 1');
    expect(await connections()).toBe(1);
    // WHEN the endpoints change (a rebuild starts) and the process is told to stop (SIGTERM: close()) before it ends
    listener!({ kind: 'database', topology: topologyOf(endpoints({ source: '/it/database-moved' })), previous: topologyOf(endpoints()) });
    const closing = db.close();
    release();
    await closing;
    // THEN the pools in use are ended with it: no connection of the database is left (bounded wait for the server)
    let left = await connections();
    for (let i = 0; i < 100 && left > 0; i++) {
      await sleep(50);
      left = await connections();
    }
    expect(left).toBe(0);
  });
});

describe('Database following its published endpoints', () => {
  it('asks a readers function at every rebuild, and closes the pools a change retired', async () => {
    const { ssm, secretsManager } = motoClients(services);
    const arn = await createSecret(secretsManager, `it-follow/${Date.now()}`, { username: user, password });
    const prefix = `/it-follow-${Date.now()}`;
    await putParameters(ssm, {
      [`${prefix}/database/writer`]: primary.host,
      [`${prefix}/database/reader`]: primary.host, // a host names no port: the readers function points at the standby
      [`${prefix}/database/port`]: String(primary.port),
      [`${prefix}/database/database-name`]: database,
      [`${prefix}/database/secret-arn`]: arn,
    });
    const topology = await loadTopology({ prefix, region: services.moto.region, ssm, secretsManager, onError: () => undefined });
    const asked: string[] = [];
    const app = `it-follow-${Date.now() % 100_000}`;
    const db = new Database({
      topology,
      applicationName: app,
      drainDelayMs: 60_000,
      readers: (e) => {
        asked.push(e.databaseName);
        return [`${replica.host}:${replica.port}`];
      },
      onError: () => undefined,
    });
    const connections = async (db: string): Promise<number> =>
      (await onServer<{ n: number }>(services, primary, 'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND datname = $2', [`${app}:writer`, db], 'postgres'))[0]!.n;
    try {
      expect((await db.read<Where>(WHERE)).rows[0]).toEqual({ standby: true, port: replica.port });
      await db.write('SELECT 1');
      expect(await connections(database)).toBe(1);
      await putParameters(ssm, { [`${prefix}/database/database-name`]: 'postgres' });
      await topology.refresh();
      expect((await db.write<{ d: string }>('SELECT current_database() AS d')).rows[0]!.d).toBe('postgres');
      expect(asked).toEqual([database, 'postgres']);
      expect(await connections(database)).toBe(1); // retired, not closed yet (drainDelayMs)
    } finally {
      await db.close();
      topology.stop();
    }
    // A backend leaves pg_stat_activity a moment after its client hung up (bounded wait).
    for (let i = 0; i < 40 && (await connections(database)) + (await connections('postgres')) > 0; i++) await sleep(50);
    expect(await connections(database)).toBe(0);
    expect(await connections('postgres')).toBe(0);
  });
});

describe('Database when its writer was demoted (a failover or a switchover)', () => {
  it('tells onWriterLost that the writer refuses writes (SQLSTATE 25006) and rethrows the statement\'s error', async () => {
    // GIVEN a database whose published writer is now a read-only standby (what the old writer is after a failover)
    await waitForReplica(services);
    const lost: Error[] = [];
    const db = new Database({
      endpoints: endpoints({ writer: replica.host, port: replica.port }),
      readers: [],
      credentials: staticCredentials(user, password),
      applicationName: 'it-demoted',
      onWriterLost: (e) => lost.push(e),
      onError: () => undefined,
    });
    try {
      // WHEN a write and a transaction run
      const write = await db.write('INSERT INTO it_items (id, v) VALUES ($1, $2)', ['demoted', 'x']).catch((e: unknown) => e);
      const tx = await db.transaction(async (t) => t.query('INSERT INTO it_items (id, v) VALUES ($1, $2)', ['demoted-tx', 'x'])).catch((e: unknown) => e);
      // THEN both fail with the server's read-only error, and the hook heard of each
      for (const e of [write, tx]) expect((e as { code?: string }).code).toBe('25006');
      expect(lost.map((e) => (e as Error & { code?: string }).code)).toEqual(['25006', '25006']);
      expect(db.stats().writerLost).toBe(2);
      // AND a statement's own error (not the writer's) is not reported as a lost writer
      await db.read('SELECT 1/0').catch(() => undefined);
      expect(lost).toHaveLength(2);
    } finally {
      await db.close();
    }
  });
});

describe('Database whose writer connections reach a demoted (read-only) instance', () => {
  beforeAll(async () => {
    await onServer(services, primary, 'CREATE TABLE IF NOT EXISTS it_items (id text PRIMARY KEY, v text NOT NULL)');
    await waitForReplica(services);
  });
  const demoted = (applicationName: string, pool?: PoolOptions): Database => new Database({
    endpoints: endpoints({ writer: replica.host, port: replica.port }),
    readers: [],
    credentials: staticCredentials(user, password),
    applicationName,
    ...(pool ? { pool } : {}),
    onError: () => undefined,
  });
  const onStandby = async (applicationName: string): Promise<number[]> =>
    (await onServer<{ pid: number }>(services, replica, 'SELECT pid FROM pg_stat_activity WHERE application_name = $1', [applicationName])).map((r) => r.pid);
  /** Waits (bounded) for the standby to show no backend of `applicationName`: a backend leaves a moment after its client hung up. */
  const drained = async (applicationName: string): Promise<number[]> => {
    let pids = await onStandby(applicationName);
    for (let i = 0; i < 40 && pids.length > 0; i++) {
      await sleep(50);
      pids = await onStandby(applicationName);
    }
    return pids;
  };

  it('does not hand the connection a transaction failed on (SQLSTATE 25006) to the transactions waiting for one', async () => {
    // GIVEN a database whose writer is a read-only standby, as an old writer is after a failover, with a writer pool
    // of one connection
    const app = `it-ro-tx-${Date.now() % 100_000}`;
    const db = demoted(app, { max: 1 });
    try {
      // WHEN three transactions that write arrive together (two wait for the connection)
      const backends: number[] = [];
      const errors = await Promise.all([0, 1, 2].map((i) => db.transaction(async (tx) => {
        backends.push((await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid);
        await tx.query('INSERT INTO it_items (id, v) VALUES ($1, $2)', [`ro-tx-${i}`, 'x']);
      }).catch((e: unknown) => e)));
      // THEN each fails with the server's error on a connection of its own: a connection given back to the pool goes
      // to the next waiter at once, which would fail on the same demoted instance, as would every later one
      for (const e of errors) expect((e as { code?: string }).code).toBe('25006');
      expect(new Set(backends).size).toBe(3);
      // AND none of them is left open on the standby
      expect(await drained(`${app}:writer`)).toEqual([]);
    } finally {
      await db.close();
    }
  });

  it('closes the writer pool\'s other connections after a write is refused as read-only, the endpoints unchanged', async () => {
    // GIVEN three writer connections opened to the standby by transactions that only read (they succeed there)
    const app = `it-ro-pool-${Date.now() % 100_000}`;
    const db = demoted(app);
    try {
      const opened = await Promise.all([0, 1, 2].map(() => db.transaction(async (tx) =>
        (await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid FROM pg_sleep(0.2)')).rows[0]!.pid)));
      expect(new Set(opened).size).toBe(3);
      expect((await onStandby(`${app}:writer`)).sort()).toEqual([...opened].sort());
      // WHEN one write (a single statement, on one of them) is refused as read-only, then two more at once
      const first = await db.write('INSERT INTO it_items (id, v) VALUES ($1, $2)', ['ro-pool-0', 'x']).catch((e: unknown) => e);
      expect((first as { code?: string }).code).toBe('25006');
      // THEN the pool is replaced: its two idle siblings, opened to the same demoted instance and never used for a
      // write, are closed too (the pool drops only the connection a statement failed on)
      expect(await drained(`${app}:writer`)).toEqual([]);
      const errors = await Promise.all([1, 2].map((i) => db.write('INSERT INTO it_items (id, v) VALUES ($1, $2)', [`ro-pool-${i}`, 'x']).catch((e: unknown) => e)));
      for (const e of errors) expect((e as { code?: string }).code).toBe('25006');
      // AND once per pool: the writes that fail on the new pool's connections replace it once more, not once each
      expect(db.stats().writerPoolResets).toBe(2);
      // AND the next statement opens a new connection (resolving the endpoint again)
      const next = (await db.transaction(async (tx) => (await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid));
      expect(opened).not.toContain(next);
    } finally {
      await db.close();
    }
  });

  it('fails the deep check\'s writer when the writer endpoint reaches a read-only instance', async () => {
    // GIVEN the writer endpoint on the standby
    const db = demoted(`it-ro-health-${Date.now() % 100_000}`);
    try {
      // WHEN the deep check runs
      const status = await new HealthCheck({ checks: db.healthChecks(), cacheMs: 0 }).run();
      // THEN the writer check fails (SELECT 1 would pass on a standby), so Route 53 sees the region cannot write
      expect(status.status).toBe('fail');
      expect(status.checks['database.writer']).toMatchObject({ status: 'fail', critical: true });
      expect(status.checks['database.writer']!.error).toMatch(/takes no writes/);
    } finally {
      await db.close();
    }
  });
});

describe('Database whose server stops answering without closing its connections', () => {
  beforeAll(async () => {
    await onServer(services, primary, 'CREATE TABLE IF NOT EXISTS it_items (id text PRIMARY KEY, v text NOT NULL)');
  });

  /** Settles `p`, or gives 'pending' once `ms` have passed (a hang must fail the test, not time it out). */
  const within = <T>(p: Promise<T>, ms: number): Promise<{ value?: T; error?: unknown } | 'pending'> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    return Promise.race([
      p.then((value) => ({ value }), (error: unknown) => ({ error })),
      new Promise<'pending'>((resolve) => { timer = setTimeout(() => resolve('pending'), ms); }),
    ]).finally(() => clearTimeout(timer));
  };
  /** Waits (bounded) until the relay has no client connection open. */
  const hungUp = async (relay: { readonly clients: number }): Promise<number> => {
    for (let i = 0; i < 40 && relay.clients > 0; i++) await sleep(50);
    return relay.clients;
  };

  it('fails a read within the query timeout and closes its connection', async () => {
    // GIVEN a writer (the only server: no readers) behind a relay, with a connection already open through it
    const relay = await tcpRelay(primary.host, primary.port);
    const db = new Database({
      endpoints: endpoints({ writer: '127.0.0.1', port: relay.port }),
      readers: [],
      credentials: staticCredentials(user, password),
      pool: { queryTimeoutMs: 500 },
      onError: () => undefined,
    });
    try {
      expect((await db.read<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      expect(relay.clients).toBe(1);
      // WHEN the server stops answering, without a reset
      relay.blackHole();
      const started = Date.now();
      const outcome = await within(db.read('SELECT 2 AS two'), 5000);
      // THEN the read fails with the timeout (the statement's failure), close to the configured 500 ms
      expect(outcome).not.toBe('pending');
      const { error } = outcome as { error?: unknown };
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toMatch(/Query read timeout/);
      expect([isQueryTimeout(error), isConnectionError(error)]).toEqual([true, false]);
      expect(Date.now() - started).toBeLessThan(2500);
      // AND its connection is closed, not kept for the next request
      expect(await hungUp(relay)).toBe(0);
    } finally {
      await relay.close(); // first: a connection still hanging on it would hold db.close()
      await db.close();
    }
  });

  it('fails a slow read at the query timeout without running it again on another server or counting it against the reader', async () => {
    // GIVEN a reader and the writer, and a read slower than the query timeout
    const app = `it-slow-${Date.now() % 100_000}`;
    const db = new Database({
      endpoints: endpoints(),
      readers: [`${replica.host}:${replica.port}`],
      credentials: staticCredentials(user, password),
      applicationName: app,
      pool: { queryTimeoutMs: 300 },
      readerPool: { queryTimeoutMs: 300 },
      circuitBreaker: { failureThreshold: 1, cooldownMs: 60_000 },
      onError: () => undefined,
    });
    try {
      // WHEN it runs twice
      for (let i = 0; i < 2; i++) await expect(db.read("SELECT pg_sleep(1), 'slow-read' AS tag")).rejects.toThrow(/Query read timeout/);
      // THEN it ran on the reader only (never on the writer), and the reader is still in use: no failure counted
      const onPrimary = await onServer<{ n: number }>(services, primary, "SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE '%slow-read%' AND application_name LIKE $1", [`${app}%`]);
      expect(onPrimary[0]!.n).toBe(0);
      expect(db.stats().readerFailures).toBe(0);
      expect((await db.read<Where>(WHERE)).rows[0]!.standby).toBe(true);
    } finally {
      await db.close();
    }
  });

  it('survives the server ending a connection a transaction holds (a failover, an administrator): the transaction fails, the process does not', async () => {
    // GIVEN a transaction that has run a statement
    const db = new Database({ endpoints: endpoints(), readers: [], credentials: staticCredentials(user, password), onError: () => undefined });
    try {
      const tx = db.transaction(async (t) => {
        const pid = (await t.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
        // WHEN the server ends its connection (pg_terminate_backend: FATAL 57P01, then the socket closes)
        await onServer(services, primary, 'SELECT pg_terminate_backend($1)', [pid]);
        await sleep(200); // the client has seen the connection end while checked out, between statements
        await t.query('SELECT 1');
      });
      // THEN the transaction fails with a connection error (no uncaught 'error' event from the checked-out client)
      const error = await tx.then(() => undefined, (e: unknown) => e);
      expect(isConnectionError(error), String(error)).toBe(true);
      // AND the next transaction gets a working connection
      expect(await db.transaction(async (t) => (await t.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one)).toBe(1);
    } finally {
      await db.close();
    }
  });

  it('fails a transaction within one query timeout, without waiting on a ROLLBACK, and closes its connection', async () => {
    // GIVEN a transaction on a writer behind a relay, which has run a statement
    const relay = await tcpRelay(primary.host, primary.port);
    const lost: Error[] = [];
    const db = new Database({
      endpoints: endpoints({ writer: '127.0.0.1', port: relay.port }),
      readers: [],
      credentials: staticCredentials(user, password),
      applicationName: `it-hang-${Date.now() % 100_000}`,
      pool: { queryTimeoutMs: 1000, connectionTimeoutMs: 500 },
      onWriterLost: (e) => lost.push(e),
      onError: () => undefined,
    });
    const id = `hang-${Date.now()}`;
    let started = 0;
    try {
      const tx = db.transaction(async (t) => {
        await t.query('INSERT INTO it_items (id, v) VALUES ($1, $2)', [id, 'x']);
        // WHEN the server stops answering, without a reset
        relay.blackHole();
        started = Date.now();
        await t.query('SELECT 1');
      });
      const outcome = await within(tx, 6000);
      // THEN the transaction fails once its statement timed out (a ROLLBACK behind it would take a timeout more)
      expect(outcome).not.toBe('pending');
      expect(((outcome as { error?: Error }).error)?.message).toMatch(/Query read timeout/);
      expect(Date.now() - started).toBeLessThan(1800);
      // AND its connection is closed, nothing was committed, and the timeout alone (slow, or the server gone: one
      // cannot tell) reports no lost writer ...
      expect(await hungUp(relay)).toBe(0);
      expect(await onServer(services, primary, 'SELECT 1 FROM it_items WHERE id = $1', [id])).toEqual([]);
      expect(lost).toEqual([]);
      // ... the next write's connection does, when it cannot be opened
      await expect(db.write('SELECT 1')).rejects.toThrow(/Connection terminated due to connection timeout|timeout exceeded when trying to connect/);
      expect(lost).toHaveLength(1);
    } finally {
      await relay.close(); // first: a connection still hanging on it would hold db.close()
      await db.close();
    }
  });

  it('closes the connection of a session write whose position query timed out, though the write succeeded', async () => {
    // GIVEN a writer behind a relay that stops answering at the write position query, the statement a session write
    // runs on its connection after the write
    const relay = await tcpRelay(primary.host, primary.port);
    const errors: string[] = [];
    const db = new Database({
      endpoints: endpoints({ writer: '127.0.0.1', port: relay.port }),
      readers: [],
      credentials: staticCredentials(user, password),
      replication: 'postgres',
      pool: { queryTimeoutMs: 500 },
      onError: (e) => errors.push(e.message),
    });
    try {
      relay.blackHoleAt(POSITION_SQL.postgres.write);
      const session = db.session();
      // WHEN a session write runs
      const outcome = await within(db.write<{ one: number }>('SELECT 1 AS one', [], { session }), 5000);
      // THEN it succeeds (the write is done; without its position the session reads from the writer) ...
      expect(outcome).toEqual({ value: { rows: [{ one: 1 }], rowCount: 1 } });
      expect(errors.join('\n')).toMatch(/could not read the write position.*Query read timeout/);
      // ... and the connection, which still has the timed-out statement on it, is closed rather than given back
      expect(await hungUp(relay)).toBe(0);
    } finally {
      await relay.close(); // first: a connection still hanging on it would hold db.close()
      await db.close();
    }
  });
});

describe('Database health checks while the application fills its pools', () => {
  it('fails a ping that does not answer within healthCheckTimeoutMs in all, naming the setting', async () => {
    // GIVEN a writer behind a relay that stops answering at the health check's statement
    const relay = await tcpRelay(primary.host, primary.port);
    const db = new Database({
      endpoints: endpoints({ writer: '127.0.0.1', port: relay.port }),
      readers: [],
      credentials: staticCredentials(user, password),
      healthCheckTimeoutMs: 600,
      onError: () => undefined,
    });
    try {
      relay.blackHoleAt('pg_is_in_recovery');
      const started = Date.now();
      const status = await new HealthCheck({ checks: db.healthChecks(), cacheMs: 0, budgetMs: 2000 }).run();
      expect(status.checks['database.writer']).toMatchObject({ status: 'fail', error: expect.stringContaining('did not answer within 600 ms (healthCheckTimeoutMs)') });
      expect(Date.now() - started).toBeLessThan(1500);
    } finally {
      await relay.close();
      await db.close();
    }
  });

  it('answers the deep check within its budget from a connection of its own', async () => {
    // GIVEN a writer pool of 2 connections, both held by open transactions, and a reader pool of 1, held by a long read
    const app = `it-busy-${Date.now() % 100_000}`;
    const db = new Database({
      endpoints: endpoints(),
      readers: [`${replica.host}:${replica.port}`],
      credentials: staticCredentials(user, password),
      applicationName: app,
      pool: { max: 2 },
      readerPool: { max: 1 },
      onError: () => undefined,
    });
    let finish!: () => void;
    const held = new Promise<void>((resolve) => { finish = resolve; });
    const busy: Promise<unknown>[] = [];
    try {
      let begun = 0;
      const allBegun = new Promise<void>((resolve) => {
        for (let i = 0; i < 2; i++) {
          busy.push(db.transaction(async (tx) => {
            await tx.query('SELECT 1');
            if (++begun === 2) resolve();
            await held;
          }));
        }
      });
      await allBegun;
      busy.push(db.read('SELECT pg_sleep(2.5)'));
      await sleep(100); // the read has its connection
      // WHEN the deep check runs (2 s budget; an application connection would come free only after 2.5 s at best)
      const status = await new HealthCheck({ checks: db.healthChecks(), cacheMs: 0, budgetMs: 2000 }).run();
      // THEN both checks answer, from connections of their own
      expect(status.status).toBe('ok');
      expect(status.checks['database.writer']).toMatchObject({ status: 'ok', detail: `${primary.host}:${primary.port}` });
      expect(status.checks['database.reader']).toMatchObject({ status: 'ok', detail: `${replica.host}:${replica.port}` });
      expect(status.durationMs).toBeLessThan(2000);
      const named = await onServer<{ n: number }>(services, primary, 'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [`${app}:writer:health`]);
      expect(named[0]!.n).toBe(1);
    } finally {
      finish();
      await Promise.allSettled(busy);
      await db.close();
    }
  });
});
