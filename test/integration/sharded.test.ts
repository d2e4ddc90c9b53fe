import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ShardRouter } from '../../lib/runtime/shard-router';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { ShardedDatabase, StaleShardMapRoutingError } from '../../lib/runtime/sharded-database';
import { loadTopology, type TopologyLoader } from '../../lib/runtime/topology';
import { createSecret, motoClients, putParameters } from './services/aws';
import { onServer } from './services/pg';

const services = inject('services');
const { primary, shard2, user, password, database } = services.postgres;
const NEW_SHARD_DB = 'it_shard3';

describe('ShardedDatabase over two primaries, resharded to a third shard', () => {
  const { ssm, secretsManager } = motoClients(services);
  const prefix = `/it-shards-${Date.now()}`;
  const mapName = `${prefix}/database/shard-map`;
  const keys = Array.from({ length: 60 }, (_, i) => `user:${i}`);
  let arn: string;
  let topology: TopologyLoader;
  let shards: ShardedDatabase;

  const map = (epoch: number, withThird: boolean) => JSON.stringify({
    version: 1,
    epoch,
    strategy: 'hash',
    shards: [
      { id: 's0', writer: primary.host, port: primary.port, secretArn: arn, database },
      { id: 's1', writer: shard2.host, port: shard2.port, secretArn: arn, database },
      ...(withThird ? [{ id: 's2', writer: primary.host, port: primary.port, secretArn: arn, database: NEW_SHARD_DB }] : []),
    ],
  });

  beforeAll(async () => {
    const existing = await onServer(services, primary, 'SELECT 1 FROM pg_database WHERE datname = $1', [NEW_SHARD_DB], 'postgres');
    if (existing.length === 0) await onServer(services, primary, `CREATE DATABASE ${NEW_SHARD_DB}`, [], 'postgres');
    for (const [server, db] of [[primary, database], [shard2, database], [primary, NEW_SHARD_DB]] as const) {
      await onServer(services, server, 'CREATE TABLE IF NOT EXISTS it_orders (user_id text NOT NULL, shard text NOT NULL)', [], db);
      await onServer(services, server, 'TRUNCATE it_orders', [], db);
    }
    arn = await createSecret(secretsManager, `it-shards/${Date.now()}`, { username: user, password });
    await putParameters(ssm, {
      [`${prefix}/database/writer`]: primary.host,
      [`${prefix}/database/port`]: String(primary.port),
      [`${prefix}/database/database-name`]: database,
      [`${prefix}/database/secret-arn`]: arn,
      [mapName]: map(1, false),
    });
    topology = await loadTopology({ prefix, region: services.moto.region, ssm, secretsManager, onError: () => undefined });
    shards = new ShardedDatabase(topology, { drainDelayMs: 0, onError: () => undefined });
  });

  afterAll(async () => {
    topology?.stop();
    await shards?.close();
  });

  const placed = async (): Promise<Record<string, string[]>> => {
    const read = async (server: typeof primary, db: string) => (await onServer<{ user_id: string }>(services, server, 'SELECT user_id FROM it_orders ORDER BY user_id', [], db)).map((r) => r.user_id);
    return { s0: await read(primary, database), s1: await read(shard2, database), s2: await read(primary, NEW_SHARD_DB) };
  };

  it('writes each key to the server its shard names', async () => {
    const router = ShardRouter.fromShardMap(JSON.parse(map(1, false)));
    for (const key of keys) await shards.write(key, 'INSERT INTO it_orders (user_id, shard) VALUES ($1, $2)', [key, shards.shardFor(key)]);
    const on = await placed();
    expect(on.s0.length + on.s1.length).toBe(keys.length);
    expect(on.s0.length).toBeGreaterThan(10);
    expect(on.s1.length).toBeGreaterThan(10);
    for (const k of on.s0) expect(router.shardFor(k).id).toBe('s0');
    for (const k of on.s1) expect(router.shardFor(k).id).toBe('s1');
    expect(on.s2).toEqual([]);
  });

  it('moves routing of the moved keys to the new shard when a new epoch is published, without a restart', async () => {
    await putParameters(ssm, { [mapName]: map(2, true) });
    await topology.refresh();
    expect(shards.epoch).toBe(2);
    const next = ShardRouter.fromShardMap(JSON.parse(map(2, true)));
    const moved = keys.filter((k) => next.shardFor(k).id === 's2');
    expect(moved.length).toBeGreaterThan(5);
    for (const key of keys) await shards.write(key, 'INSERT INTO it_orders (user_id, shard) VALUES ($1, $2)', [key, shards.shardFor(key)]);
    const on = await placed();
    expect(on.s2).toEqual([...moved].sort());
    // Jump hashing: nothing moves between the old shards.
    const stayed = await onServer<{ n: number }>(services, shard2, "SELECT count(*)::int AS n FROM it_orders WHERE shard = 's0'");
    expect(stayed[0]!.n).toBe(0);
  });

  it('fans a read out to every shard with bounded concurrency and reports a failing shard', async () => {
    const all = await shards.fanOut<{ n: number }>('SELECT count(*)::int AS n FROM it_orders', [], { concurrency: 2 });
    expect(all.epoch).toBe(2);
    expect(all.errors).toEqual([]);
    expect(all.results.map((r) => r.shardId)).toEqual(['s0', 's1', 's2']);
    const counts = await placed();
    expect(all.results.map((r) => r.rows[0]!.n)).toEqual([counts.s0.length, counts.s1.length, counts.s2.length]);

    await onServer(services, primary, 'CREATE TABLE IF NOT EXISTS it_only_s0 (x int)', [], database);
    const partial = await shards.fanOut('SELECT count(*) FROM it_only_s0', [], { concurrency: 1 });
    expect(partial.results.map((r) => r.shardId)).toEqual(['s0']);
    expect(partial.errors.map((e) => e.shardId)).toEqual(['s1', 's2']);
    expect(partial.errors[0]!.error.message).toMatch(/it_only_s0/);
  });

  it('returns each row once from a fan-out during a reshard, from the shard the map in use places it on, given keyOf', async () => {
    // GIVEN rows placed by epoch 1, the moved ones backfilled into s2, epoch 2 in use, the clean-up not yet run
    const before = ShardRouter.fromShardMap(JSON.parse(map(1, false)));
    const next = ShardRouter.fromShardMap(JSON.parse(map(2, true)));
    const on = { s0: [primary, database], s1: [shard2, database], s2: [primary, NEW_SHARD_DB] } as const;
    for (const [server, db] of Object.values(on)) {
      await onServer(services, server, 'CREATE TABLE IF NOT EXISTS it_fanout (user_id text PRIMARY KEY)', [], db);
      await onServer(services, server, 'TRUNCATE it_fanout', [], db);
    }
    for (const key of keys) {
      const [server, db] = on[before.shardFor(key).id as 's0' | 's1'];
      await onServer(services, server, 'INSERT INTO it_fanout VALUES ($1)', [key], db);
      if (next.shardFor(key).id === 's2') await onServer(services, primary, 'INSERT INTO it_fanout VALUES ($1)', [key], NEW_SHARD_DB);
    }
    const moved = keys.filter((k) => next.shardFor(k).id === 's2');
    expect(moved.length).toBeGreaterThan(5);
    expect(shards.epoch).toBe(2);
    // (without keyOf a fan-out returns every copy: the moved rows twice)
    const raw = await shards.fanOut<{ user_id: string }>('SELECT user_id FROM it_fanout');
    expect(raw.results.flatMap((r) => r.rows)).toHaveLength(keys.length + moved.length);
    // WHEN the fan-out says how to find a row's key
    const all = await shards.fanOut<{ user_id: string }>('SELECT user_id FROM it_fanout', [], { keyOf: (r) => r.user_id });
    // THEN each key comes once, from its shard under epoch 2
    expect(all.epoch).toBe(2);
    expect(all.errors).toEqual([]);
    expect(all.results.flatMap((r) => r.rows.map((row) => row.user_id)).sort()).toEqual([...keys].sort());
    for (const r of all.results) for (const row of r.rows) expect(next.shardFor(row.user_id).id).toBe(r.shardId);
  });

  it('with maxShardMapAgeMs, refuses to route by a map it has not confirmed for that long, and writes nothing', async () => {
    // GIVEN a second process whose clock the test moves, and whose Parameter Store reads can be made to fail
    let now = 5_000_000;
    const clock = { now: () => now, setTimeout: () => 0, clearTimeout: () => undefined };
    let failing = false;
    const flaky = { send: (command: never) => (failing ? Promise.reject(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' })) : ssm.send(command)) } as unknown as SSMClient;
    const other = await loadTopology({ prefix, region: services.moto.region, ssm: flaky, secretsManager, clock, onError: () => undefined });
    const fenced = new ShardedDatabase(other, { maxShardMapAgeMs: 300_000, drainDelayMs: 0, onError: () => undefined });
    try {
      await onServer(services, primary, 'CREATE TABLE IF NOT EXISTS it_fenced (user_id text PRIMARY KEY)', [], database);
      await onServer(services, primary, 'TRUNCATE it_fenced', [], database);
      const key = keys.find((k) => shards.shardFor(k) === 's0')!;
      await fenced.write(key, 'INSERT INTO it_fenced VALUES ($1) ON CONFLICT DO NOTHING', [key]);
      // WHEN its reads of the map fail for longer than the limit
      failing = true;
      now += 200_000;
      await other.refresh();
      expect(other.status().consecutiveFailures).toBe(1);
      await fenced.write(key, 'INSERT INTO it_fenced VALUES ($1) ON CONFLICT DO NOTHING', [key]); // within the limit
      now += 100_001;
      await other.refresh();
      await onServer(services, primary, 'TRUNCATE it_fenced', [], database);
      // THEN every call routed by a key is refused, naming the epoch, and reaches no shard
      await expect(fenced.write(key, 'INSERT INTO it_fenced VALUES ($1)', [key])).rejects.toThrow(StaleShardMapRoutingError);
      await expect(fenced.transaction(key, (tx) => tx.query('INSERT INTO it_fenced VALUES ($1)', [key]))).rejects.toThrow(/epoch 2\) was last confirmed 300001 ms ago, more than maxShardMapAgeMs \(300000 ms\)/);
      expect(() => fenced.database(key)).toThrow(StaleShardMapRoutingError);
      await expect(fenced.fanOut('SELECT 1')).rejects.toThrow(StaleShardMapRoutingError);
      expect(await onServer(services, primary, 'SELECT user_id FROM it_fenced', [], database)).toEqual([]);
      // and the next successful read lifts it
      failing = false;
      await other.refresh();
      await fenced.write(key, 'INSERT INTO it_fenced VALUES ($1)', [key]);
      expect(await onServer(services, primary, 'SELECT user_id FROM it_fenced', [], database)).toEqual([{ user_id: key }]);
    } finally {
      other.stop();
      await fenced.close();
    }
  });

  it('with maxShardMapAgeMs, refuses to route by the old map when a newer one cannot be installed', async () => {
    // GIVEN a process on epoch 2 with a limit
    const clock = { now: () => 7_000_000, setTimeout: () => 0, clearTimeout: () => undefined };
    const errors: Error[] = [];
    const other = await loadTopology({ prefix, region: services.moto.region, ssm, secretsManager, clock, onError: (e) => errors.push(e) });
    const fenced = new ShardedDatabase(other, { maxShardMapAgeMs: 300_000, drainDelayMs: 0, onError: () => undefined });
    try {
      const key = keys.find((k) => shards.shardFor(k) === 's0')!;
      await onServer(services, primary, 'CREATE TABLE IF NOT EXISTS it_fenced (user_id text PRIMARY KEY)', [], database);
      await onServer(services, primary, 'TRUNCATE it_fenced', [], database);
      await fenced.write(key, 'INSERT INTO it_fenced VALUES ($1)', [key]);
      // WHEN epoch 3 is published with a shard the topology cannot be built with (no writer, nothing published for it)
      const next = JSON.parse(map(3, true)) as { shards: object[] };
      next.shards.push({ id: 's3' });
      await putParameters(ssm, { [mapName]: JSON.stringify(next) });
      await other.refresh();
      // THEN the process still routes by epoch 2, reports why, and refuses calls instead of writing by it
      expect(other.status().shardMapEpoch).toBe(2);
      expect(errors.map((e) => e.message).join('\n')).toMatch(/shards\[3\]\.writer/);
      await expect(fenced.write(key, 'INSERT INTO it_fenced VALUES ($1) ON CONFLICT DO NOTHING', [key])).rejects.toThrow(/epoch 2\) was replaced by a newer one the topology could not be built with/);
    } finally {
      await putParameters(ssm, { [mapName]: map(4, true) });
      other.stop();
      await fenced.close();
    }
  });
});
