import { describe, expect, it, test } from 'vitest';
import {
  SIZING, formatConfigPath, getConfigValue, isSizingField, resolveConfig, setConfigValue, sizingFieldPatterns, type ConfigPath,
} from '../../../lib/config';

/** A config with every tier a sizing field lives in: a service, reader autoscaling, two shards (one with its own autoscaling), cache autoscaling, a queue. */
function base(): Record<string, unknown> {
  return {
    name: 'shop',
    stage: 'millions',
    regions: [{ region: 'us-east-1', vpcCidr: '10.0.0.0/16' }],
    services: [{ name: 'web' }],
    database: { readers: 2, autoScaling: { maxReaders: 8 }, shards: [{ id: 's0' }, { id: 's1', autoScaling: { maxReaders: 6 } }] },
    cache: { nodeType: 'cache.r7g.large', shards: 2, replicasPerShard: 2, autoScaling: { minShards: 1, maxShards: 8, minReplicasPerShard: 1, maxReplicasPerShard: 3 } },
    queues: [{ name: 'jobs', workers: { minCapacity: 1, maxCapacity: 10 } }],
  };
}

// Each sizing field, with a value the validator must accept there.
const CASES: Array<{ path: ConfigPath; value: unknown }> = [
  { path: SIZING.service.minCapacity('web'), value: 5 },
  { path: SIZING.service.maxCapacity('web'), value: 40 },
  { path: SIZING.service.targetRequestsPerInstance('web'), value: 3000 },
  { path: SIZING.service.targetCpuPercent('web'), value: 60 },
  { path: SIZING.database.readers, value: 3 },
  { path: SIZING.database.minReaders, value: 1 },
  { path: SIZING.database.maxReaders, value: 12 },
  { path: SIZING.shard.readers('s1'), value: 4 },
  { path: SIZING.shard.minReaders('s1'), value: 1 },
  { path: SIZING.shard.maxReaders('s1'), value: 9 },
  { path: SIZING.cache.nodeType, value: 'cache.m7g.xlarge' },
  { path: SIZING.cache.shards, value: 4 },
  { path: SIZING.cache.replicasPerShard, value: 3 },
  { path: SIZING.cache.minShards, value: 2 },
  { path: SIZING.cache.maxShards, value: 20 },
  { path: SIZING.cache.minReplicasPerShard, value: 2 },
  { path: SIZING.cache.maxReplicasPerShard, value: 4 },
  { path: SIZING.queue.minWorkers('jobs'), value: 0 },
  { path: SIZING.queue.maxWorkers('jobs'), value: 50 },
];

describe('sizing fields', () => {
  test.each(CASES.map((c) => ({ ...c, name: formatConfigPath(c.path) })))('$name is accepted by the validator and lands in the resolved config', ({ path, value }) => {
    const raw = base();
    setConfigValue(raw, path, value);
    expect(getConfigValue(raw, path)).toEqual(value);
    const resolved = resolveConfig(raw);
    expect(getConfigValue(resolved, path)).toEqual(value);
  });

  it('covers every sizing field', () => {
    expect(CASES.map((c) => formatConfigPath(c.path).replace(/\[(web|jobs|s1)\]/, '[*]')).sort()).toEqual(sizingFieldPatterns().filter((p) => p !== 'database.shards').sort());
  });

  it('accepts a shard count or list at database.shards', () => {
    const raw = base();
    setConfigValue(raw, SIZING.database.shards, [{ id: 's0' }, { id: 's1' }, { id: 's2', inShardMap: false }]);
    expect(resolveConfig(raw).database.shards.map((s) => s.id)).toEqual(['s0', 's1', 's2']);
    setConfigValue(raw, SIZING.database.shards, 3);
    expect(resolveConfig(raw).database.shards).toHaveLength(3);
  });

  it('names fields the way reports and messages do', () => {
    expect(formatConfigPath(SIZING.service.maxCapacity('api'))).toBe('services[api].maxCapacity');
    expect(formatConfigPath(SIZING.shard.maxReaders('s2'))).toBe('database.shards[s2].autoScaling.maxReaders');
    expect(formatConfigPath(SIZING.queue.maxWorkers('jobs'))).toBe('queues[jobs].workers.maxCapacity');
    expect(isSizingField('services[api].maxCapacity')).toBe(true);
    expect(isSizingField('services[api].instanceType')).toBe(false);
    // the keys the old planner wrote, which the schema never had
    expect(isSizingField('database.maxReaders')).toBe(false);
    expect(isSizingField('queues[jobs].maxWorkers')).toBe(false);
  });

  it('finds a shard without an id by its position', () => {
    const raw = { database: { shards: [{}, { readers: 3 }] } };
    expect(getConfigValue(raw, SIZING.shard.readers('s1'))).toBe(3);
  });

  it('fails to set into a list item that does not exist', () => {
    expect(() => setConfigValue(base(), SIZING.service.maxCapacity('nope'), 3)).toThrow(/no item services\[nope\]/);
  });
});
