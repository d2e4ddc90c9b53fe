import { beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig, type AppConfigInput } from '../../../lib/config';
import { SECONDS_PER_MONTH, estimateConfig, type CostEstimate } from '../../../lib/cost';

const H = 730;

/** A one-region growth config without a domain: three web clones, two readers behind the proxy, a 1 × 2 cache. */
function config(overrides: Partial<AppConfigInput> = {}): AppConfigInput {
  return {
    name: 'delta',
    stage: 'growth',
    regions: [{ region: 'us-east-1', vpcCidr: '10.0.0.0/16' }],
    services: [{ name: 'web', instanceType: 'm7g.large', minCapacity: 3, maxCapacity: 12 }],
    database: { instanceType: 'r7g.large', readers: 2, autoScaling: false },
    cache: { nodeType: 'cache.r7g.large', shards: 1, replicasPerShard: 1, autoScaling: { enabled: false } },
    ...overrides,
  };
}

const estimate = (c: AppConfigInput): CostEstimate => estimateConfig(resolveConfig(c));

// The synthesized templates are the source: one more instance, reader, node or region in the config must show up
// in them and cost exactly its list price more, nothing else.
describe('a config with one more of something costs exactly that much more', () => {
  let base: CostEstimate;

  beforeAll(() => {
    // GIVEN the base config, synthesized and priced once
    base = estimate(config());
  });

  it('one more web instance: its instance-hours, its 20 GB gp3 root volume and its detailed monitoring', () => {
    const more = estimate(config({ services: [{ name: 'web', instanceType: 'm7g.large', minCapacity: 4, maxCapacity: 12 }] }));
    expect(more.floor.total - base.floor.total).toBeCloseTo(0.0816 * H + 20 * 0.08 + 7 * 0.3, 6); // $63.27
    expect(more.floor.regions['us-east-1'].tiers.web - base.floor.regions['us-east-1'].tiers.web).toBeCloseTo(0.0816 * H + 20 * 0.08, 6);
  });

  it('one more Aurora reader: its instance-hours, two more vCPUs behind the proxy, its enhanced monitoring logs', () => {
    const more = estimate(config({ database: { instanceType: 'r7g.large', readers: 3, autoScaling: false } }));
    const monitoringLogs = (SECONDS_PER_MONTH / 60) * 5_000 / 1e9 * 0.5;
    expect(more.floor.regions['us-east-1'].tiers.database - base.floor.regions['us-east-1'].tiers.database).toBeCloseTo(0.276 * H + monitoringLogs, 6);
    expect(more.floor.regions['us-east-1'].tiers.proxy - base.floor.regions['us-east-1'].tiers.proxy).toBeCloseTo(2 * 0.015 * H, 6);
    expect(more.floor.total - base.floor.total).toBeCloseTo(0.276 * H + monitoringLogs + 2 * 0.015 * H, 6); // $223.59
  });

  it('one more cache node (a second replica): one Valkey cache.r7g.large, and no alarm metric more', () => {
    const more = estimate(config({ cache: { nodeType: 'cache.r7g.large', shards: 1, replicasPerShard: 2, autoScaling: { enabled: false } } }));
    const r = (e: CostEstimate) => e.floor.regions['us-east-1'].tiers;
    expect(r(more).cache - r(base).cache).toBeCloseTo(0.1752 * H, 6); // $127.90
    // The cache alarms watch the replication group's role-level metrics, not one metric per node.
    expect(r(more).monitoring - r(base).monitoring).toBeCloseTo(0, 6);
    expect(more.floor.total - base.floor.total).toBeCloseTo(0.1752 * H, 6);
  });

  it('one more region: its own stacks, priced as the first but for the primary-only session key alarm (us-east-2 lists us-east-1\'s prices), the first unchanged', () => {
    const more = estimate(config({ regions: [{ region: 'us-east-1', vpcCidr: '10.0.0.0/16' }, { region: 'us-east-2', vpcCidr: '10.1.0.0/16' }] }));
    expect(more.floor.regions['us-east-1']).toEqual(base.floor.regions['us-east-1']);
    // The session key lives in the primary region (the others hold its replica, a secret all the same), and so does
    // the one alarm on its rotation: one alarm metric less in the second region.
    expect(more.floor.regions['us-east-2'].total).toBeCloseTo(base.floor.regions['us-east-1'].total - 0.1, 6);
    expect(more.floor.total - base.floor.total).toBeCloseTo(base.floor.regions['us-east-1'].total - 0.1, 6);
  });
});
