import type { PoolConfig } from 'pg';
import { describe, expect, it } from 'vitest';
import { staticCredentials } from '../../../lib/runtime/credentials';
import { Database, type DatabaseOptions } from '../../../lib/runtime/database';
import { DETECT_AURORA_SQL, POSITION_SQL, clusterKey } from '../../../lib/runtime/replication';
import type { DatabaseEndpoints } from '../../../lib/runtime/topology';

/**
 * Routing decisions against a scripted `pg` (no server): which pool each statement reaches. The PostgreSQL path
 * runs against real servers in test/integration; this covers the Aurora path, which cannot run here.
 */
class FakeServers {
  public readonly log: string[] = [];
  public aurora = true;
  /** Whether the user may call aurora_replica_status(). */
  public allowed = true;
  public writePosition: string | null = '1000';
  public readerPosition: string | null = '900';
  public writePositionError: Error | undefined;

  public module(): NonNullable<DatabaseOptions['pg']> {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const servers = this;
    class Pool {
      private readonly role: string;
      public constructor(config: PoolConfig) {
        this.role = String(config.application_name).split(':')[1]!;
      }
      public on(): this {
        return this;
      }
      public async end(): Promise<void> {}
      public async connect() {
        // A pg Client is an EventEmitter: the checkout listens for its connection ending.
        return { query: (sql: string) => this.query(sql), release: () => undefined, on: () => undefined, removeListener: () => undefined };
      }
      public async query(sql: string) {
        const row = servers.answer(this.role, sql);
        return { rows: row === undefined ? [] : [row], rowCount: row === undefined ? 0 : 1 };
      }
    }
    return { Pool } as unknown as NonNullable<DatabaseOptions['pg']>;
  }

  private answer(role: string, sql: string): Record<string, unknown> | undefined {
    if (sql === DETECT_AURORA_SQL) return { aurora: this.aurora, allowed: this.aurora ? this.allowed : true };
    if (sql === POSITION_SQL.aurora.write || sql === POSITION_SQL.postgres.write) {
      if (this.writePositionError) throw this.writePositionError;
      return { lsn: this.writePosition };
    }
    if (sql === POSITION_SQL.aurora.reader || sql === POSITION_SQL.postgres.reader) {
      this.log.push(`${role}: position`);
      return { lsn: this.readerPosition };
    }
    this.log.push(`${role}: ${sql}`);
    return { served: role };
  }
}

const endpoints: DatabaseEndpoints = {
  writer: 'shop-db.cluster-c1.eu-west-1.rds.amazonaws.com',
  reader: 'shop-db.cluster-ro-c1.eu-west-1.rds.amazonaws.com',
  port: 5432, databaseName: 'app', engine: 'postgres', authentication: 'password', role: 'primary', writeForwarding: false, source: '/shop/database',
};

function database(servers: FakeServers, options: Partial<DatabaseOptions> = {}): Database {
  return new Database({ endpoints, credentials: staticCredentials('u', 'p'), ssl: false, pg: servers.module(), replicaRecheckMs: 0, onError: () => undefined, ...options });
}

const served = async (db: Database, ...args: Parameters<Database['read']>) => ((await db.read<{ served: string }>(...args)).rows[0]!.served);

describe('Database routing on Aurora PostgreSQL (aurora_replica_status)', () => {
  it('reads a session write from the writer until every reader is past its durable LSN', async () => {
    const servers = new FakeServers();
    const db = database(servers);
    const session = db.session();
    await db.write('INSERT 1', [], { session });
    expect(session.pendingWrite(clusterKey(endpoints.writer, endpoints.port))!.position).toBe(1000n);

    expect(await served(db, 'SELECT own', [], { session })).toBe('writer'); // readers at 900 < 1000
    servers.readerPosition = '1000';
    expect(await served(db, 'SELECT own', [], { session })).toBe('reader');
    expect(await served(db, 'SELECT other')).toBe('reader');
    expect(db.stats().routes).toMatchObject({ 'ryw-replica-behind': 1, 'ryw-caught-up': 1, eventual: 1 });
  });

  it('keeps a known position: a later check is not needed while the reader is known to be past the write', async () => {
    const servers = new FakeServers();
    servers.readerPosition = '5000';
    const db = database(servers, { replicaRecheckMs: 60_000 });
    const session = db.session();
    await db.write('INSERT 1', [], { session });
    await served(db, 'SELECT a', [], { session });
    await served(db, 'SELECT b', [], { session });
    expect(servers.log.filter((l) => l.endsWith('position'))).toHaveLength(1);
  });

  it('treats an unknown reader position (a reader without one) as behind', async () => {
    const servers = new FakeServers();
    servers.readerPosition = null;
    const db = database(servers);
    const session = db.session();
    await db.write('INSERT 1', [], { session });
    expect(await served(db, 'SELECT own', [], { session })).toBe('writer');
  });

  it('reads from the writer for the window when the write position cannot be read', async () => {
    const servers = new FakeServers();
    servers.writePositionError = Object.assign(new Error('permission denied for function aurora_replica_status'), { code: '42501' });
    servers.readerPosition = '999999';
    const db = database(servers);
    const session = db.session();
    await db.write('INSERT 1', [], { session });
    expect(await served(db, 'SELECT own', [], { session })).toBe('writer');
    expect(db.stats().routes['ryw-no-position']).toBe(1);
  });

  it('reads a session\'s writes from the writer, saying so once, when the user may not call aurora_replica_status()', async () => {
    const servers = new FakeServers();
    servers.allowed = false;
    servers.readerPosition = '999999';
    const errors: string[] = [];
    const db = database(servers, { onError: (e) => errors.push(e.message) });
    for (let i = 0; i < 3; i++) {
      const session = db.session();
      await db.write('INSERT 1', [], { session });
      expect(await served(db, 'SELECT own', [], { session })).toBe('writer');
    }
    expect(servers.log.filter((l) => l.endsWith('position'))).toEqual([]); // never asked
    expect(errors).toEqual([expect.stringContaining('may not call aurora_replica_status()')]);
    expect(await served(db, 'SELECT other')).toBe('reader'); // eventual reads still use the readers
  });

  it('uses the aurora SQL on Aurora and the PostgreSQL SQL elsewhere', async () => {
    for (const aurora of [true, false]) {
      const servers = new FakeServers();
      servers.aurora = aurora;
      servers.writePosition = aurora ? '1000' : '0/3E8';
      servers.readerPosition = aurora ? '2000' : '0/7D0';
      const db = database(servers);
      const session = db.session();
      await db.write('INSERT 1', [], { session });
      expect(await served(db, 'SELECT own', [], { session })).toBe('reader');
    }
  });

  it('strong reads go to the writer; a session without writes reads from a reader', async () => {
    const servers = new FakeServers();
    const db = database(servers);
    expect(await served(db, 'SELECT s', [], { consistency: 'strong' })).toBe('writer');
    expect(await served(db, 'SELECT r', [], { session: db.session() })).toBe('reader');
    await expect(db.read('SELECT x', [], { consistency: 'read-your-writes' })).rejects.toThrow("consistency 'read-your-writes' needs a session");
    await expect(db.read('SELECT x', [], { consistency: 'fresh' as never })).rejects.toThrow('(got: "fresh")');
  });

  it('reads from the writer when no reader is published', async () => {
    const servers = new FakeServers();
    const db = database(servers, { endpoints: { ...endpoints, reader: undefined } });
    expect(await served(db, 'SELECT r')).toBe('writer');
    expect(db.stats().routes['no-reader']).toBe(1);
  });
});
