import { describe, expect, it } from 'vitest';
import { capacityView } from '../../../lib/capacity/config-view';
import { loadConfigFile } from '../../../lib/config';
import { configPath } from '../../helpers/app';

describe('capacityView of the resolved example configs', () => {
  it('reads reader bounds, cache targets and worker maxima from the resolved config (millions.json)', () => {
    // GIVEN the default config WHEN the CLI builds its view
    const view = capacityView(loadConfigFile(configPath('millions')));
    // THEN the database autoscaling bounds and targets come from database.autoScaling
    expect(view.database).toMatchObject({ readers: 2, maxReaders: 8, targetReaderCpuPercent: 60, shards: 1 });
    // AND the cache shards and autoscaling targets from cache
    expect(view.cache).toMatchObject({ shards: 2, replicasPerShard: 1, nodeType: 'cache.r7g.large' });
    // AND the queue's worker maximum from queues[].workers.maxCapacity
    expect(view.queues).toEqual([expect.objectContaining({ name: 'jobs', acceptableLatencySeconds: 120, averageProcessingSeconds: 2, maxWorkers: 40 })]);
    // AND its Global Database's writer region, outside which readers are not autoscaled (database.readers is raised)
    expect(view.globalDatabaseWriterRegion).toBe('us-east-1');
    expect(view.database?.readersField).toBe('database.readers');
    expect(capacityView(loadConfigFile(configPath('startup'))).globalDatabaseWriterRegion).toBeUndefined();
  });

  it('takes the configured readers as the maximum when reader autoscaling is off (startup.json)', () => {
    const view = capacityView(loadConfigFile(configPath('startup')));
    expect(view.database).toMatchObject({ readers: 0, maxReaders: 0 });
  });

  it('names the field a reader recommendation raises: the database\'s, or a shard\'s own', () => {
    // GIVEN the sharded example config (s2 sets its own readers but inherits reader autoscaling)
    const sharded = loadConfigFile(configPath('sharded'));
    const view = capacityView(sharded);
    expect(view.database?.maxReadersField).toBe('database.autoScaling.maxReaders');
    expect(Object.keys(view.databaseClusters ?? {})).toEqual(['S0', 'S1', 'S2']);
    expect(view.databaseClusters?.S2).toMatchObject({ readers: 3, maxReaders: 8, maxReadersField: 'database.autoScaling.maxReaders', readersField: 'database.shards[s2].readers' });
    // AND a shard with its own reader autoscaling is resized on itself
    const own = loadConfigFile(configPath('sharded'));
    const withOwn = { ...own, database: { ...own.database, shards: own.database.shards.map((s) => (s.id === 's1' ? { ...s, autoScaling: { ...s.autoScaling!, maxReaders: 4 } } : s)) } };
    expect(capacityView(withOwn).databaseClusters?.S1).toMatchObject({ maxReaders: 4, maxReadersField: 'database.shards[s1].autoScaling.maxReaders' });
    // AND without reader autoscaling, the readers themselves
    expect(capacityView(loadConfigFile(configPath('startup'))).database?.maxReadersField).toBe('database.readers');
  });
});
