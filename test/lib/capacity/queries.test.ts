import { describe, expect, it } from 'vitest';
import { buildQueries, cacheMemoryMetricName, MetricKeys, type RegionTargets } from '../../../lib/capacity/queries';

/** A region with only a cache of the given node type. */
function cacheOnly(nodeType: string): RegionTargets {
  return {
    web: [], databases: [], queues: [], warnings: [],
    cache: { replicationGroupId: 'shop-cache', cache: { shards: 2, replicasPerShard: 1, nodeType, memoryTargetPercent: 80, engineCpuTargetPercent: 80 } },
  };
}

describe('cache memory query', () => {
  const memoryQuery = (nodeType: string) => JSON.stringify(buildQueries(cacheOnly(nodeType), 60).find((s) => s.key === MetricKeys.cacheMemory)?.query);

  it('reads the memory share of the fullest node for node types without data tiering', () => {
    expect(memoryQuery('cache.r7g.large')).toContain('MetricName=\\"DatabaseMemoryUsagePercentage\\"');
  });

  it('reads the capacity share (memory and SSD) with data tiering: an r6gd node runs its memory full by design', () => {
    // ElastiCache, "Target tracking scaling policies": r6gd is not eligible for the memory metric, "the expected use
    // case for data tiering instances is 100% memory usage"
    expect(memoryQuery('cache.r6gd.xlarge')).toContain('MetricName=\\"DatabaseCapacityUsagePercentage\\"');
    expect(memoryQuery('cache.r6gd.xlarge')).not.toContain('DatabaseMemoryUsagePercentage');
    expect([cacheMemoryMetricName('cache.r6gd.2xlarge'), cacheMemoryMetricName('cache.r6g.large')]).toEqual(['DatabaseCapacityUsagePercentage', 'DatabaseMemoryUsagePercentage']);
  });
});
