import { describe, expect, it } from 'vitest';
import { staticCredentials } from '../../../lib/runtime/credentials';
import { Database, type DatabaseOptions } from '../../../lib/runtime/database';
import { ShardedDatabase } from '../../../lib/runtime/sharded-database';
import { parseTopology, type Topology, type TopologyChange, type TopologyLoader } from '../../../lib/runtime/topology';

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/db-AbCdEf';
const WRITER = 'shop-db.cluster-c1.eu-west-1.rds.amazonaws.com';
const S1 = 'shop-db-s1.cluster-c1.eu-west-1.rds.amazonaws.com';
const base = {
  '/shop/database/writer': WRITER,
  '/shop/database/port': '5432',
  '/shop/database/database-name': 'app',
  '/shop/database/secret-arn': ARN,
  '/shop/database/shard-map': JSON.stringify({ version: 1, epoch: 1, strategy: 'hash', shards: [{ id: 's0', writer: WRITER, port: 5432, database: 'app' }, { id: 's1', writer: S1, port: 5432, database: 'app', secretArn: ARN }] }),
};

/** A loader over fixed parameters whose changes the test emits. */
function loader(params: Record<string, string>) {
  let current: Topology = parseTopology('/shop', new Map(Object.entries(params)), { region: 'eu-west-1' });
  const listeners: Array<(c: TopologyChange) => void> = [];
  const fake = {
    prefix: '/shop', region: 'eu-west-1',
    get current() { return current; },
    onChange: (fn: (c: TopologyChange) => void) => { listeners.push(fn); return () => undefined; },
  } as unknown as TopologyLoader;
  const publish = (next: Record<string, string>) => {
    const previous = current;
    current = parseTopology('/shop', new Map(Object.entries(next)), { region: 'eu-west-1' });
    for (const l of listeners) l({ kind: 'shards', topology: current, previous });
  };
  return { fake, publish };
}

/** A `pg` that opens nothing (no statement is run here). */
const pg = { Pool: class { on() { return this; } async end() {} } } as unknown as NonNullable<DatabaseOptions['pg']>;

describe('ShardedDatabase and the database it is given', () => {
  it('serves the shard whose endpoints are the database\'s through that database (one set of pools), and leaves it open', async () => {
    // GIVEN the runtime's database on the cluster published under database/, and a map whose s0 is that cluster
    const { fake } = loader(base);
    const options = { credentials: staticCredentials('u', 'p'), ssl: false as const, pg, onError: () => undefined };
    const database = new Database({ ...options, topology: fake });
    const shards = new ShardedDatabase(fake, { ...options, database });
    // THEN s0 is that database; s1, another cluster, gets its own
    expect(shards.databaseById('s0')).toBe(database);
    expect(shards.databaseById('s1')).not.toBe(database);
    // and closing the shards leaves the database (the runtime's) open
    await shards.close();
    expect(() => database.stats()).not.toThrow();
    expect((database as unknown as { closed: boolean }).closed).toBe(false);
    await database.close();
  });

  it('opens a database of its own for the shard once it has endpoints of its own', () => {
    const { fake, publish } = loader(base);
    const options = { credentials: staticCredentials('u', 'p'), ssl: false as const, pg, onError: () => undefined };
    const database = new Database({ ...options, topology: fake });
    const shards = new ShardedDatabase(fake, { ...options, database });
    expect(shards.databaseById('s0')).toBe(database);
    // WHEN s0 gets parameters of its own under shards/s0 (another cluster)
    publish({ ...base, '/shop/database/shards/s0/writer': 'shop-db-s0.cluster-c1.eu-west-1.rds.amazonaws.com', '/shop/database/shards/s0/secret-arn': ARN });
    // THEN the next call gets a database of its own
    expect(shards.databaseById('s0')).not.toBe(database);
  });

  it('without a database given, gives every shard its own (as before)', () => {
    const { fake } = loader(base);
    const shards = new ShardedDatabase(fake, { credentials: staticCredentials('u', 'p'), ssl: false, pg, onError: () => undefined });
    expect(shards.databaseById('s0')).toBeInstanceOf(Database);
  });
});
