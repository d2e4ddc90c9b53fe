import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { provisionStatements, type ApplicationUsersProperties } from '../../constructs/aurora/application-users.handler';

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

  const provision = async (p: ApplicationUsersProperties, removed: string[] = []) => {
    await master.query('BEGIN');
    for (const sql of provisionStatements(p, services.postgres.user, removed)) await master.query(sql);
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

  it('is idempotent, and disables (never drops) a user no longer listed', async () => {
    await provision(props);
    await provision({ ...props, Users: [props.Users[0]] }, [props.Users[1]]);
    expect((await roles()).map((r) => [r.rolname, r.rolcanlogin])).toEqual([[props.GroupRole, false], [props.Users[0], true], [props.Users[1], false]]);
    // listed again: enabled again
    await provision(props);
    expect((await roles()).find((r) => r.rolname === props.Users[1])?.rolcanlogin).toBe(true);
  });

  it('refuses names that are not plain identifiers', () => {
    expect(() => provisionStatements({ ...props, Users: ['web"; DROP TABLE x; --'] }, services.postgres.user, [])).toThrow(/not a plain identifier/);
  });
});
