import { describe, expect, it } from 'vitest';
import { ConfigError, PRESETS, resolveConfig, type AppConfigInput, type CacheInput } from '../../../lib/config';
import { minimalConfig } from '../../helpers/app';

const IMMUTABLE = { engine: 'valkey', engineVersion: '8.1', port: 6379, subnets: 'isolated', authMode: 'rbac', globalDatastore: false } as const;
const THREE_REGIONS: AppConfigInput['regions'] = [
  { region: 'us-east-1', vpcCidr: '10.0.0.0/16' },
  { region: 'eu-west-1', vpcCidr: '10.1.0.0/16' },
  { region: 'ap-southeast-1', vpcCidr: '10.2.0.0/16' },
];

function cacheOf(cache: CacheInput | undefined, overrides: Partial<AppConfigInput> = {}) {
  return resolveConfig(minimalConfig({ ...(cache ? { cache } : {}), ...overrides })).cache;
}

function errorsOf(cache: unknown, overrides: Partial<AppConfigInput> = {}): string {
  try {
    resolveConfig({ ...minimalConfig(overrides), cache });
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('cache config: defaults', () => {
  it('takes the stage preset: growth is 1 shard × 1 replica of cache.r7g.large, Valkey 8.1, autoscaled', () => {
    const c = cacheOf(undefined);
    expect(c).toMatchObject({
      engine: 'valkey', engineVersion: '8.1', nodeType: 'cache.r7g.large', shards: 1, replicasPerShard: 1, port: 6379,
      subnets: 'isolated', authMode: 'rbac', removalPolicy: 'snapshot', snapshotRetentionDays: 7, acceptReplacement: false,
      autoScaling: { minShards: 1, maxShards: 4, minReplicasPerShard: 1, maxReplicasPerShard: 3, targetCpuPercent: 60, targetMemoryPercent: 70 },
    });
    expect(c.globalDatastore).toBeUndefined();
  });

  it('startup uses a t4g node with no autoscaling; millions 2 shards', () => {
    const startup = cacheOf(undefined, { stage: 'startup', regions: [{ region: 'us-east-1', vpcCidr: '10.0.0.0/16' }] });
    expect(startup).toMatchObject({ nodeType: 'cache.t4g.micro', shards: 1, replicasPerShard: 1 });
    expect(startup.autoScaling).toBeUndefined();
    expect(cacheOf(undefined, { stage: 'millions' })).toMatchObject({ shards: 2, replicasPerShard: 1, snapshotRetentionDays: 14 });
    for (const p of Object.values(PRESETS)) expect(p.cache.replicasPerShard).toBeGreaterThanOrEqual(1);
  });

  it('defaults to Redis OSS 7.1 for the redis engine', () => {
    expect(cacheOf({ engine: 'redis' }).engineVersion).toBe('7.1');
  });
});

describe('cache config: Global Datastore', () => {
  it('derives the id secondaries join from the primary region prefix and the name', () => {
    const c = cacheOf({ globalDatastore: { enabled: true } }, { regions: THREE_REGIONS });
    expect(c.globalDatastore).toEqual({ idSuffix: 'test-cache', globalReplicationGroupId: 'ldgnf-test-cache', authSecretName: 'test/cache/auth-token' });
    expect(c.authMode).toBe('auth-token');
    expect(c.autoScaling).toBeUndefined();
  });

  it('fails when the primary region prefix is unknown and no id is given', () => {
    const msg = errorsOf({ globalDatastore: { enabled: true } }, {
      regions: [{ region: 'eu-south-2', vpcCidr: '10.0.0.0/16' }, { region: 'eu-west-1', vpcCidr: '10.1.0.0/16' }],
    });
    expect(msg).toMatch(/cache.globalDatastore.globalReplicationGroupId: is required: the Global Datastore id prefix of eu-south-2 is not known/);
  });

  it('fails when t-class nodes, RBAC, autoscaling or a single region meet a Global Datastore', () => {
    const msg = errorsOf({ nodeType: 'cache.t4g.medium', authMode: 'rbac', autoScaling: { enabled: true }, globalDatastore: { enabled: true } });
    expect(msg).toMatch(/cache.nodeType: is not supported by a Global Datastore: .*no t-class.* \(got: "cache.t4g.medium"\)/);
    expect(msg).toMatch(/cache.authMode: must be auth-token with a Global Datastore/);
    expect(msg).toMatch(/cache.autoScaling.enabled: must be false with a Global Datastore/);
    expect(msg).toMatch(/cache.globalDatastore.enabled: a Global Datastore needs 2 or 3 regions/);
  });
});

describe('cache config: bad input', () => {
  it('fails when replicasPerShard is more than 5', () => {
    expect(errorsOf({ replicasPerShard: 6 })).toMatch(/cache.replicasPerShard: must be at most 5 \(got: 6\)/);
  });

  it('fails when Multi-AZ would have no replica', () => {
    expect(errorsOf({ replicasPerShard: 0 })).toMatch(/cache.replicasPerShard: must be at least 1: Multi-AZ .* \(got: 0\)/);
  });

  it('fails when shards are out of range (1-500)', () => {
    expect(errorsOf({ shards: 0 })).toMatch(/cache.shards: must be a positive whole number \(at least 1\) \(got: 0\)/);
    expect(errorsOf({ shards: 501 })).toMatch(/cache.shards: must be at most 500 \(got: 501\)/);
    expect(errorsOf({ shards: 251, replicasPerShard: 1, autoScaling: { enabled: false } })).toMatch(/cache.shards: shards × \(replicasPerShard \+ 1\) must be at most 500 nodes/);
  });

  it('fails on an unknown node type and on a node type that cannot autoscale', () => {
    expect(errorsOf({ nodeType: 'cache.z9.large' })).toMatch(/cache.nodeType: is not an ElastiCache node type: ElastiCache has no family "z9" .*\(got: "cache.z9.large"\)/);
    expect(errorsOf({ nodeType: 'cache.t4g.small', autoScaling: { enabled: true } })).toMatch(/cache.nodeType: cannot autoscale: .*\(got: "cache.t4g.small"\)/);
  });

  it('fails when the snapshot window overlaps the maintenance window', () => {
    expect(errorsOf({ maintenanceWindow: 'wed:02:30-wed:04:00', snapshotWindow: '03:00-04:00' }))
      .toMatch(/cache.snapshotWindow: must not overlap the maintenance window wed:02:30-wed:04:00 \(got: "03:00-04:00"\)/);
    expect(errorsOf({ maintenanceWindow: 'sun:5-6' })).toMatch(/cache.maintenanceWindow: must look like ddd:hh24:mi-ddd:hh24:mi/);
  });

  it('fails when autoscaling bounds exclude the provisioned size', () => {
    expect(errorsOf({ shards: 2, autoScaling: { minShards: 3, maxShards: 6 } })).toMatch(/cache.shards: must be within cache.autoScaling minShards-maxShards \(3-6\) \(got: 2\)/);
    expect(errorsOf({ autoScaling: { maxReplicasPerShard: 6 } })).toMatch(/cache.autoScaling.maxReplicasPerShard: must be at most 5 \(got: 6\)/);
  });

  it.each([
    ['targetCpuPercent', 34, 'must be at least 35'],
    ['targetCpuPercent', 71, 'must be at most 70'],
    ['targetMemoryPercent', 90, 'must be at most 70'],
  ])('fails when autoScaling.%s is outside what ElastiCache accepts (35-70): %s', (key, value, what) => {
    expect(errorsOf({ autoScaling: { [key]: value } })).toContain(`cache.autoScaling.${key}: ${what} (got: ${value})`);
  });

  it('accepts the edges of ElastiCache\'s target range', () => {
    expect(cacheOf({ autoScaling: { targetCpuPercent: 35, targetMemoryPercent: 70 } }).autoScaling).toMatchObject({ targetCpuPercent: 35, targetMemoryPercent: 70 });
  });

  it('fails on unknown keys and bad enums, listing every problem', () => {
    const msg = errorsOf({ engin: 'valkey', engine: 'memcached', subnets: 'public', removalPolicy: 'destroy' });
    expect(msg).toMatch(/cache.engin: unknown key \(did you mean "engine"\?\)/);
    expect(msg).toMatch(/cache.engine: must be one of valkey, redis \(got: "memcached"\)/);
    expect(msg).toMatch(/cache.subnets: must be one of isolated, private \(got: "public"\)/);
    expect(msg).toMatch(/cache.removalPolicy: must be one of snapshot, retain \(got: "destroy"\)/);
  });
});

describe('cache config: replacement guard (cache.immutable)', () => {
  it('accepts a config that matches the recorded settings, and engine upgrades', () => {
    expect(cacheOf({ immutable: IMMUTABLE }).immutable).toEqual(IMMUTABLE);
    expect(cacheOf({ engineVersion: '8.2', immutable: IMMUTABLE }).engineVersion).toBe('8.2');
  });

  it('fails when a replacement-only setting changed without acceptance, saying it means a new, empty cache', () => {
    const msg = errorsOf({ engine: 'redis', port: 6380, subnets: 'private', authMode: 'auth-token', immutable: IMMUTABLE });
    for (const key of ['engine', 'port', 'subnets', 'authMode']) {
      expect(msg).toMatch(new RegExp(`cache.${key}: differs from cache.immutable.${key} .*a new, EMPTY cache.*cache.acceptReplacement: true`));
    }
  });

  it('fails when joining a Global Datastore without acceptance', () => {
    const msg = errorsOf({ nodeType: 'cache.r7g.large', globalDatastore: { enabled: true }, immutable: IMMUTABLE }, { regions: THREE_REGIONS });
    expect(msg).toMatch(/cache.globalDatastore.enabled: differs from cache.immutable.globalDatastore \(false\)/);
    expect(msg).toMatch(/cache.authMode: differs from cache.immutable.authMode/);
  });

  it('accepts the change when cache.acceptReplacement is true', () => {
    expect(cacheOf({ port: 6380, immutable: IMMUTABLE, acceptReplacement: true }).port).toBe(6380);
  });

  it('always fails an engine downgrade', () => {
    expect(errorsOf({ engineVersion: '8.0', immutable: IMMUTABLE, acceptReplacement: true }))
      .toMatch(/cache.engineVersion: cannot go below cache.immutable.engineVersion \(8.1\): ElastiCache never downgrades an engine \(got: "8.0"\)/);
  });

  it('fails on an incomplete immutable block', () => {
    expect(errorsOf({ immutable: { engine: 'valkey' } })).toMatch(/cache.immutable.port: is required/);
  });

  it('names cache.nodeType when the node type moves into or out of r6gd (data tiering: CloudFormation replaces the cache)', () => {
    // GIVEN a cache recorded without data tiering WHEN it moves to an r6gd node type
    expect(errorsOf({ nodeType: 'cache.r6gd.xlarge', immutable: { ...IMMUTABLE, dataTiering: false } }))
      .toMatch(/cache.nodeType: differs from cache.immutable.dataTiering \(false\): .*a new, EMPTY cache.*\(got: true\)/);
    // AND one recorded on r6gd WHEN it leaves the family
    expect(errorsOf({ nodeType: 'cache.r7g.large', immutable: { ...IMMUTABLE, dataTiering: true } }))
      .toMatch(/cache.nodeType: differs from cache.immutable.dataTiering \(true\)/);
    // THEN node type changes that keep data tiering as it was pass, and acceptReplacement lets the move through
    expect(cacheOf({ nodeType: 'cache.r7g.xlarge', immutable: { ...IMMUTABLE, dataTiering: false } }).nodeType).toBe('cache.r7g.xlarge');
    expect(cacheOf({ nodeType: 'cache.r6gd.xlarge', immutable: { ...IMMUTABLE, dataTiering: false }, acceptReplacement: true }).nodeType).toBe('cache.r6gd.xlarge');
  });

  it('accepts a block recorded before data tiering was guarded, without comparing it', () => {
    expect(cacheOf({ nodeType: 'cache.r6gd.xlarge', immutable: IMMUTABLE }).immutable).toEqual(IMMUTABLE);
    expect(errorsOf({ immutable: { ...IMMUTABLE, dataTiering: 'no' } })).toMatch(/cache.immutable.dataTiering: .*"no"/);
  });
});
