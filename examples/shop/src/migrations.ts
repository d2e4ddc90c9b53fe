/**
 * The schema migrations of the shop, run by an operator with the elevated (master) database identity, never by a
 * fleet. See `migrate.ts` for how to run them.
 *
 * - `migrations/global/*.sql`: the catalog, on the database published under `<prefix>/database` only.
 * - `migrations/shard/*.sql`: the orders, on every shard (on that same database too when the app is not sharded, or
 *   when it is shard 0).
 * - `migrations/grants.sql`: after the migrations, every time: data access for the group role `s2m_application`,
 *   which the fleets' own database users are members of.
 *
 * Each cluster keeps what it applied in `schema_migrations` (id and checksum). A migration runs once, in a
 * transaction, in file-name order; one that was edited after it ran stops the run (write a new one instead). Two
 * operators cannot run at once: the runner holds an advisory lock per cluster. The SQL files are idempotent as well
 * (`IF NOT EXISTS`, `ON CONFLICT DO NOTHING`), so a half-done manual run is safe to repeat.
 *
 * @module
 */

import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { Client, type ClientConfig } from 'pg';
import type { DatabaseEndpoints, Topology } from 'scale-to-millions/runtime';

/** The group role the fleets' database users belong to; the grants go to it. */
export const APPLICATION_ROLE = 's2m_application';

/** The two sets of migrations. */
export type MigrationSet = 'global' | 'shard';

/** One migration file. */
export interface Migration {
  /** `<set>/<file name>`, e.g. `shard/001_orders.sql`. */
  readonly id: string;
  /** Its SQL. */
  readonly sql: string;
  /** SHA-256 of the SQL. */
  readonly checksum: string;
}

/** A cluster to migrate, and which sets it gets. */
export interface MigrationTarget {
  /** `database`, or the shard id. */
  readonly name: string;
  /** Its published endpoints. */
  readonly endpoints: DatabaseEndpoints;
  /** The sets it gets. */
  readonly sets: readonly MigrationSet[];
}

/** What a run did on one cluster. */
export interface MigrationResult {
  /** The target's name. */
  readonly target: string;
  /** Migrations applied now. */
  readonly applied: readonly string[];
  /** Migrations that were applied before. */
  readonly skipped: readonly string[];
}

/**
 * The migrations of one set, in file-name order.
 *
 * @param dir - the `migrations` directory
 * @param set - `global` or `shard`
 */
export function readMigrations(dir: string, set: MigrationSet): Migration[] {
  const setDir = join(dir, set);
  if (!existsSync(setDir)) throw new Error(`migrations: ${setDir} does not exist (--dir names the migrations directory)`);
  return readdirSync(setDir).filter((f) => f.endsWith('.sql')).sort().map((file) => {
    const sql = readFileSync(join(setDir, file), 'utf8');
    return { id: `${set}/${file}`, sql, checksum: createHash('sha256').update(sql).digest('hex') };
  });
}

/**
 * Which clusters get which migrations: the database (global, and shard when it holds users' data), then every shard
 * that is another cluster. Refuses a Global Database secondary (DDL runs in the writer's region only).
 *
 * @param topology - the loaded topology
 * @returns the targets
 */
export function migrationTargets(topology: Topology): MigrationTarget[] {
  const database = topology.database;
  if (database === undefined) throw new Error(`migrations: nothing is published under ${topology.prefix}/database in ${topology.region}`);
  const key = (e: DatabaseEndpoints): string => `${e.writer}:${e.port}/${e.databaseName}`;
  const shards = topology.shards ? [...topology.shards.shards.values()] : [];
  for (const e of [database, ...shards]) {
    if (e.role === 'secondary') {
      throw new Error(`migrations: ${e.source} is a Global Database secondary in ${topology.region}: run the migrations in the region that holds the writer (DDL is not forwarded)`);
    }
  }
  const holdsUsers = shards.length === 0 || shards.some((s) => key(s) === key(database));
  const targets: MigrationTarget[] = [{ name: 'database', endpoints: database, sets: holdsUsers ? ['global', 'shard'] : ['global'] }];
  const seen = new Set([key(database)]);
  for (const shard of shards) {
    if (seen.has(key(shard))) continue;
    seen.add(key(shard));
    targets.push({ name: shard.id, endpoints: shard, sets: ['shard'] });
  }
  return targets;
}

/** Where to connect and as whom. */
export interface MigrationConnection {
  /** The elevated user and password (the master secret's). */
  readonly user: string;
  readonly password: string;
  /** Connect here instead of the published writer (a Session Manager port forward): `host:port`. */
  readonly via?: { readonly host: string; readonly port: number };
  /** CA bundle (PEM) that signs the database's certificate (AWS's RDS bundle). */
  readonly ca?: Buffer;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/** The `pg` client settings: the writer itself (DDL through RDS Proxy would pin sessions), TLS verified against it. */
export function clientConfig(endpoints: DatabaseEndpoints, connection: MigrationConnection): ClientConfig {
  const writer = endpoints.writer;
  return {
    host: connection.via?.host ?? writer,
    port: connection.via?.port ?? endpoints.port,
    database: endpoints.databaseName,
    user: connection.user,
    password: connection.password,
    application_name: 'shop-migrate',
    connectionTimeoutMillis: 10_000,
    // A local server has no TLS; an RDS writer is verified by its own name even through a port forward.
    ssl: isLoopback(writer) ? false : {
      rejectUnauthorized: true,
      ...(connection.ca ? { ca: connection.ca } : {}),
      checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity(writer, cert),
    },
  };
}

const LOCK = "hashtext('scale-to-millions:migrations')";

/**
 * Applies the pending migrations of `target`, then the grants. Each migration runs in its own transaction together
 * with its `schema_migrations` row.
 *
 * @param target - the cluster
 * @param migrations - the migrations of its sets, in order
 * @param grants - the SQL of `grants.sql`
 * @param config - see {@link clientConfig}
 * @param options - `dryRun`: report, change nothing
 * @throws an error naming the target and the migration that failed, or that was edited after it was applied
 */
export async function migrateTarget(target: MigrationTarget, migrations: readonly Migration[], grants: string, config: ClientConfig, options: { readonly dryRun?: boolean } = {}): Promise<MigrationResult> {
  const client = new Client(config);
  const where = `${target.name} (${target.endpoints.writer}:${target.endpoints.port}/${target.endpoints.databaseName})`;
  try {
    await client.connect();
  } catch (e) {
    throw new Error(`migrations: cannot connect to ${where}${config.host !== target.endpoints.writer ? ` through ${config.host}:${config.port}` : ''}: ${(e as Error).message}`, { cause: e });
  }
  const applied: string[] = [];
  const skipped: string[] = [];
  try {
    await client.query(`SELECT pg_advisory_lock(${LOCK})`);
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (id text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
    const done = new Map((await client.query<{ id: string; checksum: string }>('SELECT id, checksum FROM schema_migrations')).rows.map((r) => [r.id, r.checksum]));
    for (const m of migrations) {
      const before = done.get(m.id);
      if (before !== undefined) {
        if (before !== m.checksum) throw new Error(`migrations: ${m.id} was changed after it was applied to ${where}: never edit an applied migration, add a new one`);
        skipped.push(m.id);
        continue;
      }
      if (options.dryRun) {
        applied.push(m.id);
        continue;
      }
      try {
        await client.query('BEGIN');
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (id, checksum) VALUES ($1, $2)', [m.id, m.checksum]);
        await client.query('COMMIT');
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw new Error(`migrations: ${m.id} failed on ${where} (rolled back): ${(e as Error).message}`, { cause: e });
      }
      applied.push(m.id);
    }
    if (!options.dryRun) {
      await client.query('BEGIN');
      // CREATE ROLE has no IF NOT EXISTS; two clusters are two role namespaces, and the advisory lock keeps two runs on
      // one cluster apart.
      await client.query(`DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${APPLICATION_ROLE}') THEN CREATE ROLE ${APPLICATION_ROLE} NOLOGIN; END IF; END $$`);
      await client.query(`GRANT CONNECT ON DATABASE "${target.endpoints.databaseName.replace(/"/g, '""')}" TO ${APPLICATION_ROLE}`);
      await client.query(grants);
      await client.query('COMMIT');
    }
    return { target: target.name, applied, skipped };
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    await client.query(`SELECT pg_advisory_unlock(${LOCK})`).catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}
