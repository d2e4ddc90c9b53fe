import { describe, expect, it, test } from 'vitest';
import { PLAN_DEFAULTS, planCapacity, type PlanInput } from '../../../lib/capacity/plan';
import { planToConfig, type PlanBase } from '../../../lib/capacity/plan-config';
import { parseConfigText, resolveConfig } from '../../../lib/config';

function input(overrides: Partial<PlanInput> = {}): PlanInput {
  return {
    ...PLAN_DEFAULTS,
    name: 'shop',
    stage: 'millions',
    regions: ['us-east-1', 'eu-west-1', 'ap-southeast-1'],
    peakRps: 50_000,
    readRatio: 0.9,
    cacheHitRatio: 0.8,
    instanceType: 'm7g.large',
    services: [{ name: 'web', share: 0.6 }, { name: 'api', share: 0.4 }],
    cacheReplicasPerShard: 2,
    acceptableLatencySeconds: 60,
    regionFailover: true,
    ...overrides,
  };
}

/** A base config from its text, as `s2m plan --config` reads it. */
function baseOf(text: string): PlanBase {
  const raw = parseConfigText(text, 'base.json') as Record<string, unknown>;
  return { text, raw, resolved: resolveConfig(raw) };
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

  it('sizes a service with its own per-instance figure (from its request target) and keeps that target', () => {
    const plan = planCapacity(input({ services: [{ name: 'web', share: 1, rpsPerInstance: 25, rpsSource: 'services[web].targetRequestsPerInstance' }], peakRps: 1000, regions: ['us-east-1'] }));
    // 1000 rps / 25 = 40 at peak → max 52
    expect(plan.services[0]).toMatchObject({ instancesAtPeak: 40, maxCapacity: 52, targetRequestsPerInstance: 1500 });
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

  it('never plans fewer shards than exist, and sizes readers for the shards there are', () => {
    const { database } = planCapacity(input({ peakRps: 10_000, minShards: 3 }));
    // writes need 1 shard; 3 exist: reads of 4500/s... per region 5000 × 0.9 × 0.2 = 900/s over 3 shards
    expect(database).toMatchObject({ shardsForWrites: 1, shards: 3, readersAtPeak: 1 });
  });

  it('adds shards when one cluster would need more than 15 readers', () => {
    // reads per region 1e5 × 0.99 × 0.5 = 49500/s at 2000/reader: 25 readers. A cluster may plan at most 11 at the
    // peak (11 × 1.3 → 15), so 49500 / 2000 / 11 = 2.25 → 3 shards of ceil(8.25) = 9 readers.
    const { database } = planCapacity(input({ peakRps: 100_000, regions: ['us-east-1'], readRatio: 0.99, cacheHitRatio: 0.5, writerQps: 100_000 }));
    expect(database.shards).toBe(3);
    expect(database.readersAtPeak).toBe(9);
    expect(database.maxReaders).toBe(12);
    expect(database.readers).toBe(5);
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
    const { config, notes } = planToConfig(global, plan);
    // AND it says that the secondaries keep database.readers: Aurora does not autoscale a secondary's readers
    expect(notes.filter((n) => n.startsWith('Aurora does not autoscale'))).toEqual([
      expect.stringMatching(/^Aurora does not autoscale a Global Database secondary's readers: eu-west-1, ap-southeast-1 keep database\.readers \(5\) readers, where their reads at the peak need 12; only us-east-1 scales/),
    ]);
    const database = (maxReaders: number) => ({ ...config, database: { readers: plan.database.readers, shards: plan.database.shards, autoScaling: { maxReaders } } });
    expect(resolveConfig(database(plan.database.maxReaders)).database?.autoScaling?.maxReaders).toBe(12);
    expect(() => resolveConfig(database(14))).toThrow(/maxReaders: must be at most 13/);
  });

  it('cache shards from the larger of memory and throughput', () => {
    const { cache } = planCapacity(input());
    // memory: 10 GiB × 1.3 / (13.07 × 0.75) = 1.33 → 2; ops: 25000 × 1.3 / 50000 → 1
    expect(cache).toMatchObject({ shardsForMemory: 2, shardsForThroughput: 1, shards: 2, nodes: 6, nodeType: 'cache.r7g.large' });
    const big = planCapacity(input({ peakRps: 500_000, writerQps: 100_000, readerQps: 100_000 })).cache;
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

  it('fails when figures are out of range, naming the option and the value', () => {
    expect(() => planCapacity(input({ readRatio: 1.5 }))).toThrow(/^--read-ratio must be between 0 and 1 \(got: 1.5\)$/);
    expect(() => planCapacity(input({ peakRps: 0 }))).toThrow(/--peak-rps must be a positive number \(got: 0\)/);
    expect(() => planCapacity(input({ cacheNodeType: 'cache.x9.huge' }))).toThrow(/--cache-node-type is cache.x9.huge, a node type the planner does not know the memory of/);
    expect(() => planCapacity(input({ cacheReplicasPerShard: 0 }))).toThrow(/--cache-replicas must be a whole number from 1 to 5: Multi-AZ failover needs a replica in every shard \(got: 0\)/);
    expect(() => planCapacity(input({ readRatio: 2, peakRps: -1 }))).toThrow(/^2 problems with the figures:\n {2}--peak-rps must be a positive number \(got: -1\)\n {2}--read-ratio must be between 0 and 1 \(got: 2\)$/);
  });

  test.each([
    { what: 'a peak no fleet can serve', over: { peakRps: 1e12 }, message: /^the peak cannot be met \(4 problems\):\n {2}--peak-rps 1000000000000 needs \d+ instances of service web in a region .*above the 1000 a fleet may have/ },
    { what: 'writes no 10 shards can take', over: { peakRps: 1e6, readRatio: 0.5, rpsPerInstance: 10_000, workingSetGb: 1, cacheOpsPerShard: 1e6 }, message: /^--peak-rps 1000000 with --read-ratio 0.5 needs more than 10 Aurora shards in a region/ },
    { what: 'more cache nodes than a cluster holds', over: { peakRps: 1000, workingSetGb: 5000 }, message: /^--peak-rps 1000 with --working-set-gb 5000 needs 664 cache shards × \(1 \+ 2 replicas\) = 1992 nodes, above ElastiCache's 500 per cluster/ },
    { what: 'more workers than a fleet holds', over: { jobsPerSecond: 10_000, jobSeconds: 30, acceptableLatencySeconds: 60 }, message: /^--jobs-per-second 10000 at 30 s a job \(--job-seconds\) needs 195000 workers in a region, above the 1000 a fleet may have/ },
    { what: 'an acceptable latency below the job time', over: { jobsPerSecond: 1, jobSeconds: 120 }, message: /^--acceptable-latency \(60 s\) is below --job-seconds \(120 s\): a message waits at least one job time, so no number of workers meets it$/ },
    {
      what: 'a job time from the base config above the latency typed',
      over: { jobsPerSecond: 1, jobSeconds: 120, labels: { jobSeconds: 'queues[jobs].averageProcessingSeconds of base.json' } },
      message: /^--acceptable-latency \(60 s\) is below queues\[jobs\]\.averageProcessingSeconds of base\.json \(120 s\)/,
    },
  ])('fails for $what, naming the options the user typed', ({ over, message }) => {
    expect(() => planCapacity(input(over as Partial<PlanInput>))).toThrow(message);
  });
});

describe('planned config: a new one', () => {
  it('writes every tier it sized, and resolveConfig accepts it', () => {
    const i = input({ jobsPerSecond: 10 });
    const { config, text, changes } = planToConfig(i, planCapacity(i));
    expect(JSON.parse(text)).toEqual(config);
    const resolved = resolveConfig(config);
    expect(resolved.services.map((s) => [s.name, s.minCapacity, s.maxCapacity, s.targetRequestsPerInstance])).toEqual([['web', 19, 98, 12_000], ['api', 13, 65, 12_000]]);
    expect(resolved.services[1].pathPatterns).toEqual(['/api/*']);
    expect(resolved.regions.map((r) => r.vpcCidr)).toEqual(['10.0.0.0/16', '10.1.0.0/16', '10.2.0.0/16']);
    expect(resolved.database).toMatchObject({ readers: 1, autoScaling: { maxReaders: 2 } });
    expect(resolved.database.shards.map((s) => [s.id, s.inShardMap])).toEqual([['s0', true], ['s1', true], ['s2', true], ['s3', true], ['s4', true]]);
    expect(resolved.cache).toMatchObject({ shards: 2, replicasPerShard: 2, nodeType: 'cache.r7g.large' });
    expect(resolved.queues).toEqual([expect.objectContaining({ name: 'jobs', averageProcessingSeconds: 1, acceptableLatencySeconds: 60, workers: expect.objectContaining({ maxCapacity: 7 }) })]);
    expect(changes.map((c) => c.path)).toContain('database.autoScaling.maxReaders');
  });
});

describe('planned config: a merge into a base', () => {
  const BASE = `{
  "name": "shop",
  "stage": "millions",
  "regions": [ { "region": "eu-west-1", "vpcCidr": "10.9.0.0/16" } ],
  "domain": { "name": "shop.example.com", "hostedZoneId": "Z0123456789ABCDEFGHIJ", "hostedZoneName": "example.com" },
  "services": [
    { "name": "web", "maxCapacity": 4 },
    { "name": "api", "pathPatterns": ["/v2/*"], "priority": 10, "instanceType": "c7g.large", "maxCapacity": 90, "targetRequestsPerInstance": 6000,
      "scheduledScaling": [ { "name": "sale", "schedule": "0 7 * * *", "minCapacity": 90 } ] }
  ],
  "database": { "readers": 2, "autoScaling": { "minReaders": 2, "maxReaders": 8 } },
  "cache": { "nodeType": "cache.r7g.large", "shards": 2, "autoScaling": { "minShards": 2, "maxShards": 3 } },
  "queues": [ { "name": "jobs", "averageProcessingSeconds": 2, "acceptableLatencySeconds": 120, "workers": { "minCapacity": 5, "maxCapacity": 40 } } ],
  "monitoring":   { "alarmEmails": ["oncall@example.com"] },
  "tags": { "cost-center": "platform" }
}
`;

  it('changes only sizes, in place, and keeps every other byte', () => {
    const i = input({ regions: ['eu-west-1'], peakRps: 8000, services: [{ name: 'web', share: 1 }, { name: 'api', share: 1, rpsPerInstance: 100 }], jobsPerSecond: 1, jobSeconds: 2, acceptableLatencySeconds: 120, cacheReplicasPerShard: 1, workingSetGb: 40 });
    const { text, changes, notes } = planToConfig(i, planCapacity(i), baseOf(BASE));
    // web: 4000 req/s / 200 → 20 at peak: min 5, max 26, target 200 × 60; api: 4000 / 100 → 40: min 10, max 52 (its
    // target of 6000/min is 100 req/s already), held at the 90 its schedule needs. Reads 1440/s: 1 reader, 2 at most;
    // writes 800/s: 1 shard. Cache: 40 GiB × 1.3 / (13.07 × 0.75) → 6 shards. Jobs: 1/s × 2 s × 1.3 → 3 workers.
    expect(changes).toEqual([
      { path: 'services[web].minCapacity', from: 3, to: 5 },
      { path: 'services[web].maxCapacity', from: 4, to: 26 },
      { path: 'services[web].targetRequestsPerInstance', from: 1000, to: 12000 },
      { path: 'services[api].minCapacity', from: 3, to: 10 },
      { path: 'database.readers', from: 2, to: 1 },
      { path: 'database.autoScaling.maxReaders', from: 8, to: 2 },
      { path: 'database.autoScaling.minReaders', from: 2, to: 1 },
      { path: 'cache.shards', from: 2, to: 6 },
      { path: 'cache.autoScaling.maxShards', from: 3, to: 6 },
      { path: 'queues[jobs].workers.minCapacity', from: 5, to: 3 },
      { path: 'queues[jobs].workers.maxCapacity', from: 40, to: 3 },
    ]);
    expect(notes).toEqual([
      'services[api].maxCapacity is held at 90, above the 52 the peak needs: its scheduled scaling or warm pool needs that many',
      'cache.autoScaling.maxShards moves to 6 to hold the planned size',
    ]);
    // THEN the file is the base with those values changed in place (new keys last in their object), nothing else
    expect(text).toBe(BASE
      .replace('{ "name": "web", "maxCapacity": 4 }', '{ "name": "web", "maxCapacity": 26, "minCapacity": 5, "targetRequestsPerInstance": 12000 }')
      .replace('"scheduledScaling": [ { "name": "sale", "schedule": "0 7 * * *", "minCapacity": 90 } ] }', '"scheduledScaling": [ { "name": "sale", "schedule": "0 7 * * *", "minCapacity": 90 } ],\n      "minCapacity": 10 }')
      .replace('"database": { "readers": 2, "autoScaling": { "minReaders": 2, "maxReaders": 8 } }', '"database": { "readers": 1, "autoScaling": { "minReaders": 1, "maxReaders": 2 } }')
      .replace('"cache": { "nodeType": "cache.r7g.large", "shards": 2, "autoScaling": { "minShards": 2, "maxShards": 3 } }', '"cache": { "nodeType": "cache.r7g.large", "shards": 6, "autoScaling": { "minShards": 2, "maxShards": 6 } }')
      .replace('"workers": { "minCapacity": 5, "maxCapacity": 40 }', '"workers": { "minCapacity": 3, "maxCapacity": 3 }'));
  });

  it('appends the shards the writes need outside the shard map, converting a count to the list it stands for', () => {
    const i = input({ regions: ['eu-west-1'], peakRps: 30_000, readRatio: 0.8 });
    // writes 30000 × 0.2 = 6000/s × 1.3 / 1500 → 6 shards
    const { config, changes, notes } = planToConfig(i, planCapacity(i), baseOf(BASE));
    expect(resolveConfig(config).database.shards.map((s) => [s.id, s.inShardMap])).toEqual([['s0', true], ['s1', false], ['s2', false], ['s3', false], ['s4', false], ['s5', false]]);
    expect(changes).toContainEqual({ path: 'database.shards', from: 1, to: [{ id: 's0' }, ...['s1', 's2', 's3', 's4', 's5'].map((id) => ({ id, inShardMap: false }))] });
    expect(notes.join('\n')).toMatch(/database\.shards: s1, s2, s3, s4, s5 added with inShardMap: false, because the writes need 6 shards; copy their keys over, then set inShardMap: true and bump database\.shardMapEpoch/);
  });

  it('keeps a service\'s bounds inside what its one-bound schedules need, and lets two-bound schedules be', () => {
    const scheduled = BASE.replace('{ "name": "web", "maxCapacity": 4 }',
      '{ "name": "web", "minCapacity": 2, "maxCapacity": 4, "scheduledScaling": [{ "name": "night", "schedule": "0 1 * * *", "maxCapacity": 6 }, { "name": "sale", "schedule": "0 7 * * *", "minCapacity": 80, "maxCapacity": 120 }] }');
    const i = input({ regions: ['eu-west-1'], peakRps: 8000, services: [{ name: 'web', share: 1 }, { name: 'api', share: 1 }] });
    // web: 4000 req/s / 200 → 20 at peak: min 5 (below the night schedule's maximum of 6), max 26; the sale sets both bounds
    const { config, notes } = planToConfig(i, planCapacity(i), baseOf(scheduled));
    expect(resolveConfig(config).services[0]).toMatchObject({ minCapacity: 5, maxCapacity: 26 });
    expect(notes.filter((n) => n.startsWith('services[web]'))).toEqual([]);
    // AND a peak whose minimum passes the night maximum is held at it
    const big = input({ ...i, peakRps: 20_000 });
    const held = planToConfig(big, planCapacity(big), baseOf(scheduled));
    expect(resolveConfig(held.config).services[0]).toMatchObject({ minCapacity: 6, maxCapacity: 65 });
    expect(held.notes).toContain('services[web].minCapacity is held at 6, below the 13 planned: a scheduled action lowers the maximum to 6');
  });

  it('gives a new shard an id that names no existing shard\'s resources', () => {
    // GIVEN shards s0 and s-2 (whose resources are named ShardS2)
    const two = BASE.replace('"database": { "readers": 2, "autoScaling": { "minReaders": 2, "maxReaders": 8 } }', '"database": { "shards": [{ "id": "s0" }, { "id": "s-2" }] }');
    const i = input({ regions: ['eu-west-1'], peakRps: 12_000, readRatio: 0.7, minShards: 2 });
    // WHEN the writes need more: 12000 × 0.3 × 1.3 / 1500 → 4 shards
    const plan = planCapacity(i);
    const { config } = planToConfig(i, plan, baseOf(two));
    // THEN the new ones skip s2 (ShardS2 is taken)
    expect(plan.database.shards).toBe(4);
    expect(resolveConfig(config).database.shards.map((s) => s.id)).toEqual(['s0', 's-2', 's3', 's4']);
  });

  it('adds a service it was asked to size but the base lacks, after the other rules', () => {
    const i = input({ regions: ['eu-west-1'], peakRps: 2000, services: [{ name: 'web', share: 1 }, { name: 'api', share: 1 }, { name: 'admin', share: 0.1 }] });
    const { config, changes } = planToConfig(i, planCapacity(i), baseOf(BASE));
    const admin = resolveConfig(config).services.find((s) => s.name === 'admin');
    expect(admin).toMatchObject({ pathPatterns: ['/admin/*'], priority: 20, instanceType: 'm7g.large', minCapacity: 3 });
    expect(changes).toContainEqual({ path: 'services[admin]', from: undefined, to: { name: 'admin', pathPatterns: ['/admin/*'], priority: 20, instanceType: 'm7g.large', minCapacity: 3, maxCapacity: 3, targetRequestsPerInstance: 12000 } });
  });

  it('keeps a service it was not asked to size as it is, and says so', () => {
    const i = input({ regions: ['eu-west-1'], peakRps: 2000, services: [{ name: 'web', share: 1 }] });
    const { config, notes } = planToConfig(i, planCapacity(i), baseOf(BASE));
    expect((config.services as Array<Record<string, unknown>>)[1]).toEqual(JSON.parse(BASE).services[1]);
    expect(notes).toContain('services[api] is kept as it is: --services gives it no share of the load');
  });

  it('never removes shards, and sizes a shard that sets its own readers like the others', () => {
    const sharded = BASE.replace('"database": { "readers": 2, "autoScaling": { "minReaders": 2, "maxReaders": 8 } }',
      '"database": { "readers": 2, "autoScaling": { "maxReaders": 8 }, "shards": [{ "id": "s0" }, { "id": "s1" }, { "id": "hot", "readers": 6 }] }');
    const i = input({ regions: ['eu-west-1'], peakRps: 1000, minShards: 3 });
    const { config, notes, changes } = planToConfig(i, planCapacity(i), baseOf(sharded));
    expect(resolveConfig(config).database.shards.map((s) => [s.id, s.readers])).toEqual([['s0', 1], ['s1', 1], ['hot', 1]]);
    expect(changes).toContainEqual({ path: 'database.shards[hot].readers', from: 6, to: 1 });
    expect(notes).toContain('database.shards stays at 3 (the writes need 1): the plan never removes a shard, that moves its data');
  });

  it('holds the peak\'s readers all the time when reader autoscaling is off, and says so', () => {
    const off = BASE.replace('"database": { "readers": 2, "autoScaling": { "minReaders": 2, "maxReaders": 8 } }', '"database": { "readers": 1, "autoScaling": false }');
    const i = input({ regions: ['eu-west-1'], peakRps: 100_000, readRatio: 0.95, cacheHitRatio: 0.5, writerQps: 100_000 });
    const plan = planCapacity(i);
    const { config, notes } = planToConfig(i, plan, baseOf(off));
    expect(resolveConfig(config).database.readers).toBe(plan.database.maxReaders);
    expect(notes.join('\n')).toMatch(/database\.autoScaling is off, so database\.readers holds the peak's \d+ readers all the time/);
  });

  it('writes nothing when the base already has the planned sizes', () => {
    const i = input({ regions: ['eu-west-1'], peakRps: 8000, services: [{ name: 'web', share: 1 }, { name: 'api', share: 1, rpsPerInstance: 100 }], jobsPerSecond: 1, jobSeconds: 2, acceptableLatencySeconds: 120, cacheReplicasPerShard: 1, workingSetGb: 40 });
    const once = planToConfig(i, planCapacity(i), baseOf(BASE));
    const twice = planToConfig(i, planCapacity(i), baseOf(once.text));
    expect(twice.changes).toEqual([]);
    expect(twice.text).toBe(once.text);
  });
});
