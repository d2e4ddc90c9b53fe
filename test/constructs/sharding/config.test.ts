import { describe, expect, it } from 'vitest';
import { resolveConfig, type DatabaseInput } from '../../../lib/config';
import { minimalConfig } from '../../helpers/app';

const withDatabase = (database: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  resolveConfig(minimalConfig({ database: database as DatabaseInput, ...extra }));

describe('database sharding config', () => {
  it('defaults to one shard (no sharding), hash, epoch 0', () => {
    // GIVEN no sharding keys WHEN resolved THEN one shard s0 with the section's settings
    const db = withDatabase({ instanceType: 'r7g.large', readers: 2 }).database;
    expect(db.shards).toEqual([{ id: 's0', instanceType: 'r7g.large', readerInstanceType: 'r7g.large', readers: 2, autoScaling: db.autoScaling, inShardMap: true }]);
    expect(db.shardStrategy).toBe('hash');
    expect(db.shardMapEpoch).toBe(0);
    expect(db.shardBoundaries).toBeUndefined();
  });

  it('turns a count into shards s0..sN-1 that inherit the section\'s settings', () => {
    const db = withDatabase({ shards: 3, readers: 1, autoScaling: false }).database;
    expect(db.shards.map((s) => [s.id, s.readers, s.autoScaling, s.inShardMap])).toEqual([['s0', 1, undefined, true], ['s1', 1, undefined, true], ['s2', 1, undefined, true]]);
  });

  it('applies per-shard overrides, the reader class following the shard\'s writer class', () => {
    const db = withDatabase({
      instanceType: 'r7g.large',
      shards: [{}, { id: 'eu-users', instanceType: 'r7g.2xlarge', readers: 4, autoScaling: { maxReaders: 10 } }, { id: 'new', inShardMap: false }],
      shardMapEpoch: 3,
    }).database;
    expect(db.shards.map((s) => s.id)).toEqual(['s0', 'eu-users', 'new']);
    expect(db.shards[1]).toMatchObject({ instanceType: 'r7g.2xlarge', readerInstanceType: 'r7g.2xlarge', readers: 4, autoScaling: { minReaders: 4, maxReaders: 10 } });
    expect(db.shards[2]).toMatchObject({ instanceType: 'r7g.large', inShardMap: false });
    expect(db.shardMapEpoch).toBe(3);
  });

  it('accepts a range map with sorted boundaries, one per shard in the map but the first', () => {
    const db = withDatabase({ shards: [{}, {}, {}, { inShardMap: false }], shardStrategy: 'range', shardBoundaries: [1000, 2000] }).database;
    expect(db.shardStrategy).toBe('range');
    expect(db.shardBoundaries).toEqual([1000, 2000]);
  });

  const fails = (database: Record<string, unknown>, message: RegExp, extra: Record<string, unknown> = {}) => expect(() => withDatabase(database, extra)).toThrow(message);

  it('fails when shards is 0', () => fails({ shards: 0 }, /database\.shards: must be a positive whole number \(at least 1\) \(got: 0\)/));
  it('fails when shards is more than 10', () => fails({ shards: 11 }, /database\.shards: must be at most 10 \(got: 11\)/));
  it('fails when shards is an empty list', () => fails({ shards: [] }, /database\.shards: must have at least 1 item \(got: \[\]\)/));
  it('fails when shards is neither a count nor a list', () => fails({ shards: 'three' }, /database\.shards: must be a shard count .* \(got: "three"\)/));
  it('fails when two shards have the same id', () => fails({ shards: [{}, { id: 's1' }, { id: 's1' }] }, /database\.shards\[2\]\.id: duplicate shard id \(also at database\.shards\[1\]\) \(got: "s1"\)/));
  it('fails when an explicit id collides with a default one', () => fails({ shards: [{ id: 's1' }, {}] }, /database\.shards\[1\]\.id: duplicate shard id \(also at database\.shards\[0\]\)/));
  it('fails when a shard id is not a lowercase identifier', () => fails({ shards: [{}, { id: 'Shard_1' }] }, /database\.shards\[1\]\.id: must be lowercase letters, digits and single dashes.* \(got: "Shard_1"\)/));
  it('fails with a global database for a created shard\'s id ending in a 6-character part, whose secret secondaries could not read by partial ARN', () => {
    const global = { regions: [{ region: 'us-east-1', vpcCidr: '10.0.0.0/16' }, { region: 'eu-west-1', vpcCidr: '10.1.0.0/16' }] };
    for (const id of ['shard1', 'eu-users1']) {
      fails({ instanceType: 'r7g.large', globalDatabase: { enabled: true }, shards: [{}, { id }] }, new RegExp(`database\\.shards\\[1\\]\\.id: must not end in a part of exactly 6 characters .* \\(got: "${id}"\\)`), global);
    }
    // fine: another length, the adopted first shard, or no global database
    expect(withDatabase({ instanceType: 'r7g.large', globalDatabase: { enabled: true }, shards: [{ id: 'shard0' }, { id: 'users-1' }, { id: 'tenant7x' }] }, global).database.shards.map((x) => x.id)).toEqual(['shard0', 'users-1', 'tenant7x']);
    expect(withDatabase({ shards: [{}, { id: 'shard1' }] }).database.shards[1]!.id).toBe('shard1');
  });

  it('fails on an unknown shard key, suggesting the right one', () => fails({ shards: [{}, { instanceTyp: 'r7g.large' }] }, /database\.shards\[1\]\.instanceTyp: unknown key \(did you mean "instanceType"\?\)/));
  it('fails when range has no boundaries', () => fails({ shards: 3, shardStrategy: 'range' }, /database\.shardBoundaries: required for shardStrategy "range": expected 2 strictly increasing split points for 3 shards/));
  it('fails when there are too few boundaries', () => fails({ shards: 3, shardStrategy: 'range', shardBoundaries: [10] }, /database\.shardBoundaries: too few split points: expected 2 .*got 1/));
  it('fails when there are too many boundaries', () => fails({ shards: 2, shardStrategy: 'range', shardBoundaries: [10, 20] }, /database\.shardBoundaries: too many split points: expected 1/));
  it('fails when the boundaries are not sorted', () => fails({ shards: 3, shardStrategy: 'range', shardBoundaries: ['m', 'c'] }, /database\.shardBoundaries\[1\]: boundaries must be strictly increasing.* \(got: "c"\)/));
  it('fails when a hash map has boundaries', () => fails({ shards: 2, shardBoundaries: [10] }, /database\.shardBoundaries: not allowed for shardStrategy "hash"/));
  it('fails when sharding keys are set without shards', () => fails({ shardStrategy: 'range' }, /database\.shardStrategy: applies only with database\.shards of 2 or more \(got: "range"\)/));
  it('fails when an unknown strategy is given', () => fails({ shards: 2, shardStrategy: 'modulo' }, /database\.shardStrategy: must be one of hash, range \(got: "modulo"\)/));
  it('fails when a hash shard outside the map comes before one in it', () => fails({ shards: [{}, { inShardMap: false }, {}] }, /database\.shards\[2\]: is in the hash shard map after s1, which is not/));
  it('fails when the first shard is left out of the map', () => fails({ shards: [{ inShardMap: false }, {}], shardStrategy: 'range', shardBoundaries: [] }, /database\.shards\[0\]\.inShardMap: the first shard holds the existing data/));
  it('fails when a shard has more readers than the autoscaling maximum', () => fails({ readers: 2, autoScaling: { maxReaders: 4 }, shards: [{}, { readers: 6 }] }, /database\.shards\[1\]\.readers: must not exceed database\.autoScaling\.maxReaders \(4\)/));
  it('fails when a shard of a global database uses a burstable class', () => fails(
    { instanceType: 'r7g.large', globalDatabase: { enabled: true }, shards: [{}, { instanceType: 't4g.medium' }] },
    /database\.shards\[1\]\.instanceType: burstable \(t\) classes cannot be used in a global database/,
    { regions: [{ region: 'eu-west-1', vpcCidr: '10.0.0.0/16' }, { region: 'us-east-1', vpcCidr: '10.1.0.0/16' }] },
  ));
  it('lists every problem at once', () => {
    expect(() => withDatabase({ shards: [{}, { id: 's0' }], shardStrategy: 'range', shardBoundaries: [5, 1, 2] })).toThrow(/3 problems/);
  });
});
