import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { provisionStatements, type ApplicationUsersProperties } from '../../constructs/aurora/application-users.handler';
import { staticCredentials } from '../../lib/runtime/credentials';
import { Database, isQueryTimeout, isStatementTimeout } from '../../lib/runtime/database';
import { statusForError } from '../../lib/runtime/http';

/**
 * The SQL the application users function runs, against a real PostgreSQL (the independent second primary, in
 * a database of its own): users exist with the group's privileges, may read and write data the master user
 * (migrations) creates later, may not run DDL, and the provisioning is idempotent.
 */
describe('application users SQL (ApplicationUsers handler) on PostgreSQL', () => {
  const services = inject('services');
  const run = `${process.pid}_${Date.now() % 100000}`;
  const database = `it_users_${run}`;
  const props: ApplicationUsersProperties = {
    SecretArn: 'unused', Host: '127.0.0.1', Port: String(services.postgres.shard2.port), DatabaseName: database,
    GroupRole: `it_group_${run}`, Users: [`it_web_${run}`, `it_worker_${run}`],
  };
  const connect = async (db: string) => {
    const c = new Client({ host: '127.0.0.1', port: services.postgres.shard2.port, user: services.postgres.user, password: services.postgres.password, database: db });
    await c.connect();
    return c;
  };
  let admin: Client;
  let master: Client;

  const provision = async (p: ApplicationUsersProperties) => {
    await master.query('BEGIN');
    for (const sql of provisionStatements(p, services.postgres.user)) await master.query(sql);
    await master.query('COMMIT');
  };
  const roles = async () => (await master.query<{ rolname: string; rolcanlogin: boolean }>('SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname = ANY($1) ORDER BY rolname', [[props.GroupRole, ...props.Users]])).rows;
  /** Runs `sql` as `role` (SET ROLE), returning the error message, if any. */
  const as = async (role: string, sql: string): Promise<string | undefined> => {
    try {
      await master.query(`SET ROLE "${role}"`);
      await master.query(sql);
      return undefined;
    } catch (e) {
      return (e as Error).message;
    } finally {
      await master.query('RESET ROLE');
    }
  };

  beforeAll(async () => {
    admin = await connect(services.postgres.database);
    await admin.query(`CREATE DATABASE ${database}`);
    // Aurora has rds_iam; a vanilla PostgreSQL does not.
    await admin.query("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'rds_iam') THEN CREATE ROLE rds_iam NOLOGIN; END IF; END $$");
    master = await connect(database);
    await master.query('CREATE TABLE existing (id int primary key, v text)');
  });

  afterAll(async () => {
    await master?.end();
    await admin?.query(`DROP DATABASE IF EXISTS ${database}`);
    for (const role of [...props.Users, props.GroupRole]) await admin?.query(`DROP ROLE IF EXISTS "${role}"`);
    await admin?.end();
  });

  it('creates login users, members of the group role and of rds_iam', async () => {
    await provision(props);
    expect(await roles()).toEqual([
      { rolname: props.GroupRole, rolcanlogin: false },
      { rolname: props.Users[0], rolcanlogin: true },
      { rolname: props.Users[1], rolcanlogin: true },
    ]);
    const member = await master.query<{ m: boolean; iam: boolean }>('SELECT pg_has_role($1, $2, \'member\') AS m, pg_has_role($1, \'rds_iam\', \'member\') AS iam', [props.Users[0], props.GroupRole]);
    expect(member.rows[0]).toEqual({ m: true, iam: true });
  });

  it('lets a user read and write existing tables and tables migrations create later, but run no DDL', async () => {
    expect(await as(props.Users[0], "INSERT INTO existing VALUES (1, 'a')")).toBeUndefined();
    // a migration (the master user) adds a table afterwards
    await master.query('CREATE TABLE later (id serial primary key, v text)');
    expect(await as(props.Users[1], "INSERT INTO later (v) VALUES ('b')")).toBeUndefined();
    expect(await as(props.Users[1], 'SELECT count(*) FROM later')).toBeUndefined();
    expect(await as(props.Users[0], 'CREATE TABLE mine (id int)')).toMatch(/permission denied for schema public/);
    expect(await as(props.Users[0], 'DROP TABLE existing')).toMatch(/must be owner of table existing/);
  });

  it('is idempotent, and leaves a user no longer listed as it is: its fleet may still be serving (the data stack deploys first)', async () => {
    await provision(props);
    // WHEN the second fleet is renamed or removed in the config (the provisioning runs before the app stack's update)
    await provision({ ...props, Users: [props.Users[0]] });
    // THEN its user may still log in and work, so the running fleet keeps its database
    expect((await roles()).map((r) => [r.rolname, r.rolcanlogin])).toEqual([[props.GroupRole, false], [props.Users[0], true], [props.Users[1], true]]);
    expect(await as(props.Users[1], 'SELECT count(*) FROM existing')).toBeUndefined();
    // AND listed again, nothing changes
    await provision(props);
    expect((await roles()).find((r) => r.rolname === props.Users[1])?.rolcanlogin).toBe(true);
  });

  it('sets every user\'s statement_timeout, so statements behind a lock end on the server, not only in the client', async () => {
    // GIVEN users provisioned with a 1 s statement timeout, the runtime logging in as one of them (a password here,
    // IAM on Aurora) with the topology's published timeout and no query timeout of its own, and a row locked by a
    // transaction that stays open
    await provision({ ...props, StatementTimeoutMs: '1000' });
    const settings = await master.query<{ rolname: string; setconfig: string[] }>(
      'SELECT r.rolname, s.setconfig FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole WHERE r.rolname = ANY($1) ORDER BY r.rolname', [props.Users]);
    expect(settings.rows).toEqual(props.Users.map((u) => ({ rolname: u, setconfig: ['statement_timeout=1000'] })));
    const [user] = props.Users as [string];
    await master.query(`ALTER ROLE "${user}" PASSWORD 'it-password'`);
    await master.query('CREATE TABLE locked (id int primary key, v int)');
    await master.query('INSERT INTO locked VALUES (1, 0)');
    const locker = await connect(database);
    const db = new Database({
      endpoints: {
        writer: '127.0.0.1', port: services.postgres.shard2.port, databaseName: database, engine: 'postgres', authentication: 'password',
        role: 'primary', writeForwarding: false, statementTimeoutMs: 1000, source: '/it/database',
      },
      credentials: staticCredentials(user, 'it-password'),
      pool: { max: 5 },
      onError: () => undefined,
    });
    const backends = async () => (await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1', [user])).rows[0]!.n;
    try {
      await locker.query('BEGIN');
      await locker.query('SELECT * FROM locked WHERE id = 1 FOR UPDATE');
      // WHEN 4 rounds of 5 writes (the pool's max) wait for the lock
      const errors: unknown[] = [];
      for (let round = 0; round < 4; round++) {
        const results = await Promise.allSettled(Array.from({ length: 5 }, () => db.write('UPDATE locked SET v = v + 1 WHERE id = 1')));
        for (const r of results) errors.push(r.status === 'rejected' ? r.reason : 'ok');
      }
      // THEN the server canceled each (57014, answered 503) on a connection that stayed open: the server holds at most
      // the pool's 5 backends for the user, none of them still waiting for the lock (without the role setting the
      // client gave up after 3 s, closed its connections and opened others: 20 backends waiting behind the lock)
      expect(errors).toHaveLength(20);
      for (const e of errors) {
        expect(isStatementTimeout(e), String(e)).toBe(true);
        expect(isQueryTimeout(e)).toBe(false);
        expect(statusForError(e)).toBe(503);
      }
      expect(await backends()).toBeLessThanOrEqual(5);
      const waiting = await admin.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1 AND wait_event_type = 'Lock'", [user]);
      expect(waiting.rows[0]!.n).toBe(0);
      // and once the lock is gone the same pool writes again
      await locker.query('COMMIT');
      await expect(db.write('UPDATE locked SET v = v + 1 WHERE id = 1')).resolves.toMatchObject({ rowCount: 1 });
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      await locker.end();
      await db.close();
      // the statements a client abandoned (without the fix) hold connections to the database: end them before it is dropped
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [user]);
    }
  });

  it('refuses names that are not plain identifiers, and a statement timeout that is not whole milliseconds', () => {
    expect(() => provisionStatements({ ...props, Users: ['web"; DROP TABLE x; --'] }, services.postgres.user)).toThrow(/not a plain identifier/);
    expect(() => provisionStatements({ ...props, StatementTimeoutMs: '1000; DROP TABLE x' }, services.postgres.user)).toThrow(/StatementTimeoutMs must be a whole number of milliseconds/);
  });
});
