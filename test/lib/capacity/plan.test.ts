import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../../lib/config';
import { PLAN_DEFAULTS, planCapacity, planToConfig, type PlanInput } from '../../../lib/capacity/plan';

function input(overrides: Partial<PlanInput> = {}): PlanInput {
  return {
    ...PLAN_DEFAULTS,
    name: 'shop',
    stage: 'millions',
    regions: ['us-east-1', 'eu-west-1', 'ap-southeast-1'],
    peakRps: 50_000,
    readRatio: 0.9,
    cacheHitRatio: 0.8,
    targetCpuPercent: 50,
    instanceType: 'm7g.large',
    services: [{ name: 'web', share: 0.6 }, { name: 'api', share: 0.4 }],
    cacheReplicasPerShard: 2,
    acceptableLatencySeconds: 60,
    regionFailover: true,
    ...overrides,
  };
}

describe('capacity model', () => {
  it('sizes each region for a failed peer\'s share: 3 regions, n-1 carry the peak', () => {
    const plan = planCapacity(input());
    expect(plan.regionRps).toBe(25_000);
    // web 60% = 15000 rps / 200 per instance = 75 at peak; max 75 × 1.3 = 97.5 → 98; min max(3, 75/4) → 19
    expect(plan.services[0]).toMatchObject({ name: 'web', rps: 15_000, instancesAtPeak: 75, maxCapacity: 98, minCapacity: 19, targetRequestsPerInstance: 12_000 });
    expect(plan.services[1]).toMatchObject({ name: 'api', rps: 10_000, instancesAtPeak: 50, maxCapacity: 65, minCapacity: 13 });
  });

  it('without failover each region carries its own share', () => {
    expect(planCapacity(input({ regionFailover: false })).regionRps).toBeCloseTo(16_666.667, 2);
    expect(planCapacity(input({ regions: ['us-east-1'] })).regionRps).toBe(50_000);
  });

  it('shards from global writes, readers from reads left after the cache', () => {
    const { database } = planCapacity(input());
    // writes 50000 × 0.1 = 5000/s; × 1.3 / 1500 = 4.33 → 5 shards
    expect(database.writeQps).toBeCloseTo(5000, 6);
    expect(database.shards).toBe(5);
    // reads per region 25000 × 0.9 × 0.2 = 4500/s, per shard 900 → 1 reader
    expect(database.readQpsPerRegion).toBeCloseTo(4500, 6);
    expect(database).toMatchObject({ readersAtPeak: 1, readers: 1, maxReaders: 2 });
  });

  it('adds shards when one cluster would need more than 15 readers', () => {
    // reads per region 1e6 × 0.99 × 0.5 = 495000/s at 2000/reader: 248 readers. A cluster may plan at most 11 at the
    // peak (11 × 1.3 → 15), so 495000 / 2000 / 11 = 22.5 → 23 shards of ceil(10.76) = 11 readers.
    const { database } = planCapacity(input({ peakRps: 1_000_000, regions: ['us-east-1'], readRatio: 0.99, cacheHitRatio: 0.5, writerQps: 100_000 }));
    expect(database.shards).toBe(23);
    expect(database.readersAtPeak).toBe(11);
    expect(database.maxReaders).toBe(15);
    expect(database.readers).toBe(6);
  });

  it('keeps a global database\'s clusters under 15 readers minus the secondary regions', () => {
    // Reads per region 200000 × 0.88 × 0.5 = 88000/s at 2000/reader: 44. Alone a cluster may plan 11 at the peak
    // (× 1.3 → 15): 4 shards of 11. The global stage makes a global database over 3 regions: 13 readers per
    // cluster, 10 at the peak: 5 shards of ceil(8.8) = 9, maxReaders ceil(11.7) = 12.
    const figures = { peakRps: 400_000, readRatio: 0.88, cacheHitRatio: 0.5, writerQps: 100_000 };
    expect(planCapacity(input(figures)).database).toMatchObject({ shards: 4, readersAtPeak: 11, maxReaders: 15 });
    const global = input({ ...figures, stage: 'global' });
    const plan = planCapacity(global);
    expect(plan.database).toMatchObject({ shards: 5, readersAtPeak: 9, maxReaders: 12 });
    const { config } = planToConfig(global, plan);
    const database = (maxReaders: number) => ({ ...config, database: { readers: plan.database.readers, shards: plan.database.shards, autoScaling: { maxReaders } } });
    expect(resolveConfig(database(plan.database.maxReaders)).database?.autoScaling?.maxReaders).toBe(12);
    expect(() => resolveConfig(database(14))).toThrow(/maxReaders: must be at most 13/);
  });

  it('cache shards from the larger of memory and throughput', () => {
    const { cache } = planCapacity(input());
    // memory: 10 GiB × 1.3 / (13.07 × 0.75) = 1.33 → 2; ops: 25000 × 1.3 / 50000 → 1
    expect(cache).toMatchObject({ shardsForMemory: 2, shardsForThroughput: 1, shards: 2, nodes: 6, nodeType: 'cache.r7g.large' });
    const big = planCapacity(input({ peakRps: 500_000 })).cache;
    // ops per region 250000 × 1.3 / 50000 = 6.5 → 7
    expect(big.shardsForThroughput).toBe(7);
    expect(big.shards).toBe(7);
  });

  it('workers from job rate × processing time (Little\'s law)', () => {
    const { queue } = planCapacity(input({ jobsPerSecond: 200, jobSeconds: 2 }));
    // 200 / 2 regions carrying = 100 jobs/s × 2 s = 200 busy; × 1.3 = 260
    expect(queue).toMatchObject({ name: 'jobs', jobsPerSecondPerRegion: 100, busyWorkers: 200, maxWorkers: 260 });
    expect(planCapacity(input()).queue).toBeUndefined();
  });

  it('warns when a job takes longer than its latency target', () => {
    expect(planCapacity(input({ jobsPerSecond: 1, jobSeconds: 120 })).warnings.join()).toMatch(/longer than the 60s latency target/);
  });

  it('fails when figures are out of range, naming the option and the value', () => {
    expect(() => planCapacity(input({ readRatio: 1.5 }))).toThrow(/--read-ratio must be between 0 and 1 \(got: 1.5\)/);
    expect(() => planCapacity(input({ peakRps: 0 }))).toThrow(/--peak-rps must be a positive number \(got: 0\)/);
    expect(() => planCapacity(input({ cacheNodeType: 'cache.x9.huge' }))).toThrow(/cache.x9.huge is not one the planner knows/);
  });
});

describe('planned config', () => {
  it('writes a config resolveConfig accepts; tiers the schema rejects are returned as pending', () => {
    const i = input({ jobsPerSecond: 10 });
    const { config, pending } = planToConfig(i, planCapacity(i));
    const resolved = resolveConfig(config);
    expect(resolved.services.map((s) => [s.name, s.minCapacity, s.maxCapacity, s.targetRequestsPerInstance])).toEqual([['web', 19, 98, 12_000], ['api', 13, 65, 12_000]]);
    expect(resolved.services[1].pathPatterns).toEqual(['/api/*']);
    expect(resolved.regions.map((r) => r.vpcCidr)).toEqual(['10.0.0.0/16', '10.1.0.0/16', '10.2.0.0/16']);
    // every tier section is either in the config or pending, never lost
    for (const key of ['database', 'cache', 'queues']) expect(key in config || key in pending).toBe(true);
    if (pending.database) expect(pending.database.section).toEqual({ readers: 1, maxReaders: 2, shards: 5 });
  });

  it('keeps a base config\'s regions, domain and routes and replaces the sizes', () => {
    const base = {
      name: 'shop', stage: 'millions',
      regions: [{ region: 'eu-west-1', vpcCidr: '10.9.0.0/16' }],
      domain: { name: 'shop.example.com', hostedZoneId: 'Z0123456789ABCDEFGHIJ', hostedZoneName: 'example.com' },
      services: [{ name: 'web', maxCapacity: 4 }, { name: 'api', pathPatterns: ['/v2/*'], priority: 10, instanceType: 'c7g.large' }],
    };
    const i = input({ regions: ['eu-west-1'], services: [{ name: 'web', share: 1 }, { name: 'api', share: 1 }] });
    const { config } = planToConfig(i, planCapacity(i), base);
    const resolved = resolveConfig(config);
    expect(resolved.domain?.name).toBe('shop.example.com');
    expect(resolved.regions[0].vpcCidr).toBe('10.9.0.0/16');
    expect(resolved.services[1]).toMatchObject({ name: 'api', pathPatterns: ['/v2/*'], instanceType: 'c7g.large', maxCapacity: 163 });
  });
});
