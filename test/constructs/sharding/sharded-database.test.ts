import { Stack } from 'aws-cdk-lib/core';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { AuroraDatabase } from '../../../constructs/aurora';
import { ShardedDatabase, type ShardedDatabaseProps, type ShardProps } from '../../../constructs/sharding';
import { stackWithVpc } from '../../helpers/app';
import { resolveShardMap } from './resolve-shard-map';
import { validationErrorOf } from '../../helpers/errors';

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

/** A consumer like a fleet: a role and a security group that allows all outbound traffic. */
function consumerIn(stack: Stack, vpc: ec2.IVpc) {
  const role = new iam.Role(stack, 'ConsumerRole', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
  const sg = new ec2.SecurityGroup(stack, 'ConsumerSg', { vpc, allowAllOutbound: true });
  return { grantPrincipal: role, connections: new ec2.Connections({ securityGroups: [sg] }) };
}

/** Builds a stack with a sharded database over `shards`, and a consumer granted it. */
function build(shards: ShardProps[], extra: Partial<ShardedDatabaseProps> = {}) {
  const { stack, vpc } = stackWithVpc();
  const sharded = new ShardedDatabase(stack, 'DatabaseShards', {
    shardDefaults: { vpc, clusterIdentifier: 'shop-db', parameterPrefix: '/shop/database', readers: 1 },
    shards,
    ...extra,
  });
  sharded.grantConsumer(consumerIn(stack, vpc));
  return { stack, sharded, template: Template.fromStack(stack) };
}

const logicalId = (stack: Stack, c: { node: { defaultChild?: unknown } }) => stack.getLogicalId(c.node.defaultChild as never);

describe('ShardedDatabase (3 hash shards, proxies, a granted fleet)', () => {
  let stack: Stack;
  let sharded: ShardedDatabase;
  let t: Template;
  beforeAll(() => {
    // GIVEN three shards, s1 with its own writer class and readers
    // WHEN the sharded database is built and a fleet is granted it
    ({ stack, sharded, template: t } = build([
      { id: 's0' },
      { id: 's1', overrides: { writerInstance: new ec2.InstanceType('r7g.xlarge'), readers: 2 } },
      { id: 's2' },
    ]));
  });

  it('creates one Aurora cluster per shard, named after the shard id, in shard order', () => {
    t.resourceCountIs('AWS::RDS::DBCluster', 3);
    expect(sharded.shards.map((s) => [s.id, s.index, s.database.clusterIdentifier])).toEqual([
      ['s0', 0, 'shop-db-s0'], ['s1', 1, 'shop-db-s1'], ['s2', 2, 'shop-db-s2'],
    ]);
    for (const id of ['shop-db-s0', 'shop-db-s1', 'shop-db-s2']) t.hasResourceProperties('AWS::RDS::DBCluster', { DBClusterIdentifier: id });
    expect(sharded.shard('s1').database.node.id).toBe('ShardS1');
  });

  it('applies per-shard overrides over the shared defaults', () => {
    t.hasResourceProperties('AWS::RDS::DBInstance', { DBInstanceIdentifier: 'shop-db-s1-writer', DBInstanceClass: 'db.r7g.xlarge' });
    t.hasResourceProperties('AWS::RDS::DBInstance', { DBInstanceIdentifier: 'shop-db-s1-reader-2' });
    t.hasResourceProperties('AWS::RDS::DBInstance', { DBInstanceIdentifier: 'shop-db-s0-writer', DBInstanceClass: 'db.r7g.large' });
    expect(Object.keys(t.findResources('AWS::RDS::DBInstance', { Properties: { DBInstanceIdentifier: Match.stringLikeRegexp('^shop-db-s[02]-reader-2$') } }))).toEqual([]);
    t.resourceCountIs('AWS::RDS::DBInstance', 2 + 3 + 2);
  });

  it('publishes each shard\'s endpoints under its own prefix', () => {
    for (const id of ['s0', 's1', 's2']) t.hasResourceProperties('AWS::SSM::Parameter', { Name: `/shop/database/shards/${id}/writer` });
  });

  it('publishes the shard map: version, strategy, ids in order, endpoints referencing each shard\'s cluster, proxy and secret', () => {
    t.hasResourceProperties('AWS::SSM::Parameter', { Name: '/shop/database/shard-map', Type: 'String', Tier: 'Standard' });
    const { doc, refs } = resolveShardMap(stack, sharded.shardMapJson);
    expect(doc.version).toBe(1);
    expect(doc.strategy).toBe('hash');
    expect(doc.boundaries).toBeUndefined();
    const shards = doc.shards as Array<Record<string, unknown>>;
    expect(shards.map((s) => s.id)).toEqual(['s0', 's1', 's2']);
    sharded.shards.forEach((shard, i) => {
      const db = shard.database;
      const cluster = logicalId(stack, db.cluster);
      const entry = shards[i];
      expect(Object.keys(entry)).toEqual(['id', 'writer', 'reader', 'proxy', 'proxyReadOnly', 'port', 'secretArn', 'database']);
      expect(refs[entry.writer as string]).toEqual({ 'Fn::GetAtt': [cluster, 'Endpoint.Address'] });
      expect(refs[entry.reader as string]).toEqual({ 'Fn::GetAtt': [cluster, 'ReadEndpoint.Address'] });
      expect(refs[entry.proxy as string]).toEqual({ 'Fn::GetAtt': [logicalId(stack, db.proxy!), 'Endpoint'] });
      expect(refs[entry.proxyReadOnly as string]).toEqual({ 'Fn::GetAtt': [logicalId(stack, db.proxyReadOnlyEndpoint!), 'Endpoint'] });
      expect(refs[entry.secretArn as string]).toEqual({ Ref: logicalId(stack, db.secret as never) });
      expect(entry.port).toBe(5432);
      expect(entry.database).toBe('app');
    });
    // The parameter holds exactly this document.
    const param = Object.values(t.findResources('AWS::SSM::Parameter', { Properties: { Name: '/shop/database/shard-map' } }))[0] as { Properties: { Value: unknown } };
    expect(param.Properties.Value).toEqual(stack.resolve(sharded.shardMapJson));
  });

  it('grants the fleet the shard map and every shard\'s endpoints and secret', () => {
    const policies = Object.values(t.findResources('AWS::IAM::Policy')) as Array<{ Properties: { PolicyDocument: { Statement: Array<{ Action: string | string[]; Resource: unknown }> } } }>;
    const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement);
    const resourcesOf = (action: string) => statements.filter((s) => ([] as string[]).concat(s.Action).includes(action)).flatMap((s) => ([] as unknown[]).concat(s.Resource));
    const shardMapParam = logicalId(stack, sharded.shardMapParameter);
    expect(JSON.stringify(resourcesOf('ssm:GetParameter'))).toContain(shardMapParam);
    const secrets = resourcesOf('secretsmanager:GetSecretValue');
    for (const shard of sharded.shards) {
      expect(secrets).toContainEqual({ Ref: logicalId(stack, shard.database.secret as never) });
      expect(JSON.stringify(resourcesOf('ssm:GetParameter'))).toContain(logicalId(stack, shard.database.published.parameters.writer));
    }
  });

  it('opens every shard\'s cluster and proxy to the fleet on the database port', () => {
    const rules = Object.values(t.findResources('AWS::EC2::SecurityGroupIngress', { Properties: { FromPort: 5432, SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ConsumerSg'), 'GroupId'] } } })) as Array<{ Properties: { GroupId: { 'Fn::GetAtt': string[] } } }>;
    const targets = rules.map((r) => r.Properties.GroupId['Fn::GetAtt'][0]).sort();
    const expected = sharded.shards.flatMap((s) => s.database.connections.securityGroups.map((sg) => logicalId(stack, sg))).sort();
    expect(targets).toEqual(expected);
    expect(targets).toHaveLength(6);
  });

  it('exposes per-shard metrics keyed by shard id', () => {
    const cpu = sharded.metricCpuUtilizationByShard();
    expect(Object.keys(cpu)).toEqual(['s0', 's1', 's2']);
    expect(stack.resolve((cpu.s1 as unknown as { dimensions: unknown }).dimensions)).toEqual({ DBClusterIdentifier: { Ref: logicalId(stack, sharded.shard('s1').database.cluster) } });
    expect(Object.keys(sharded.metricReplicaLagByShard())).toEqual(['s0', 's1', 's2']);
    expect(validationErrorOf(() => sharded.shard('s9'))).toEqual({ path: sharded.node.path, message: expect.stringMatching(/no shard with id "s9"/) });
  });
});

describe('ShardedDatabase: adding a shard is additive', () => {
  let two: Resources;
  let three: Resources;
  let shardMapId: string;
  beforeAll(() => {
    // GIVEN the same sharded database with 2 and with 3 shards
    const a = build([{ id: 's0' }, { id: 's1' }]);
    const b = build([{ id: 's0' }, { id: 's1' }, { id: 's2' }]);
    two = a.template.toJSON().Resources as Resources;
    three = b.template.toJSON().Resources as Resources;
    shardMapId = logicalId(a.stack, a.sharded.shardMapParameter);
  });

  it('keeps every logical ID and every property of shards s0 and s1 (and of everything else but the map)', () => {
    // WHEN a third shard is added THEN every resource of the two-shard template is unchanged
    const changed = Object.keys(two).filter((id) => id !== shardMapId && JSON.stringify(two[id]) !== JSON.stringify(three[id]));
    // The fleet's policy lists one more secret and parameter: the grant grows, nothing is replaced.
    expect(changed.every((id) => two[id].Type === 'AWS::IAM::Policy')).toBe(true);
    const s0s1 = Object.keys(two).filter((id) => /^(TestStack)?DatabaseShardsShardS[01]/.test(id));
    expect(s0s1.length).toBeGreaterThan(40);
    for (const id of s0s1) expect(three[id]).toEqual(two[id]);
  });

  it('only adds the new shard\'s resources', () => {
    const added = Object.keys(three).filter((id) => !(id in two));
    expect(added.length).toBeGreaterThan(0);
    expect(added.filter((id) => !/^(TestStack)?DatabaseShardsShardS2/.test(id))).toEqual([]);
    expect(three[shardMapId].Type).toBe('AWS::SSM::Parameter');
  });
});

describe('ShardedDatabase adopting an existing database as its first shard', () => {
  let stack: Stack;
  let before: Resources;
  let after: Resources;
  beforeAll(() => {
    // GIVEN the stack's single database (construct id `Database`)
    const plain = stackWithVpc();
    new AuroraDatabase(plain.stack, 'Database', { vpc: plain.vpc, clusterIdentifier: 'shop-db', parameterPrefix: '/shop/database' });
    before = Template.fromStack(plain.stack).toJSON().Resources as Resources;
    // WHEN it becomes shard s0 of a sharded database
    const s = stackWithVpc();
    stack = s.stack;
    const database = new AuroraDatabase(stack, 'Database', { vpc: s.vpc, clusterIdentifier: 'shop-db', parameterPrefix: '/shop/database' });
    new ShardedDatabase(stack, 'DatabaseShards', {
      shardDefaults: { vpc: s.vpc, clusterIdentifier: 'shop-db', parameterPrefix: '/shop/database' },
      shards: [{ id: 's0', database }, { id: 's1' }],
    });
    after = Template.fromStack(stack).toJSON().Resources as Resources;
  });

  it('keeps every resource of the existing database unchanged', () => {
    for (const id of Object.keys(before)) expect(after[id]).toEqual(before[id]);
  });

  it('creates the new shard next to it and lists both in the map', () => {
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::RDS::DBCluster', { DBClusterIdentifier: 'shop-db-s1' });
    t.hasResourceProperties('AWS::SSM::Parameter', { Name: '/shop/database/shard-map' });
    t.hasResourceProperties('AWS::SSM::Parameter', { Name: '/shop/database/shards/s1/writer' });
  });
});

describe('ShardedDatabase (range strategy, a shard being backfilled, advanced tier)', () => {
  let stack: Stack;
  let sharded: ShardedDatabase;
  let t: Template;
  beforeAll(() => {
    // GIVEN seven range shards, the last one not yet in the map
    const shards: ShardProps[] = ['a', 'b', 'c', 'd', 'e', 'f'].map((id) => ({ id }));
    ({ stack, sharded, template: t } = build([...shards, { id: 'g', inShardMap: false }], {
      strategy: 'range', boundaries: ['g', 'k', 'p', 't', 'w'], epoch: 4,
    }));
  });

  it('lists only the shards in the map, with their boundaries and epoch', () => {
    const { doc } = resolveShardMap(stack, sharded.shardMapJson);
    expect(doc).toMatchObject({ version: 1, epoch: 4, strategy: 'range', boundaries: ['g', 'k', 'p', 't', 'w'] });
    expect((doc.shards as Array<{ id: string }>).map((s) => s.id)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    t.resourceCountIs('AWS::RDS::DBCluster', 7);
  });

  it('publishes a map that may exceed 4 KB in the advanced tier', () => {
    t.hasResourceProperties('AWS::SSM::Parameter', { Name: '/shop/database/shard-map', Tier: 'Advanced' });
  });
});

describe('ShardedDatabase with a global database', () => {
  let t: Template;
  let secondary: Template;
  beforeAll(() => {
    // GIVEN the shared defaults of a global database's primary and secondary
    const global = { globalClusterIdentifier: 'shop-global', secretName: 'shop/database/credentials' };
    const p = stackWithVpc('Primary', 'us-east-1');
    new ShardedDatabase(p.stack, 'DatabaseShards', {
      shardDefaults: { vpc: p.vpc, clusterIdentifier: 'shop-db', parameterPrefix: '/shop/database', readers: 1, globalDatabase: { ...global, role: 'primary', replicaRegions: ['eu-west-1'] } },
      shards: [{ id: 's0' }, { id: 's1' }],
    });
    const s = stackWithVpc('Secondary', 'eu-west-1');
    new ShardedDatabase(s.stack, 'DatabaseShards', {
      shardDefaults: { vpc: s.vpc, clusterIdentifier: 'shop-db', parameterPrefix: '/shop/database', readers: 1, globalDatabase: { ...global, role: 'secondary' } },
      shards: [{ id: 's0' }, { id: 's1' }],
    });
    // WHEN synthesized
    t = Template.fromStack(p.stack);
    secondary = Template.fromStack(s.stack);
  });

  it('makes each shard its own global cluster with a deterministic identifier', () => {
    t.resourceCountIs('AWS::RDS::GlobalCluster', 2);
    t.hasResourceProperties('AWS::RDS::GlobalCluster', { GlobalClusterIdentifier: 'shop-global-s0' });
    t.hasResourceProperties('AWS::RDS::GlobalCluster', { GlobalClusterIdentifier: 'shop-global-s1' });
    t.hasResourceProperties('AWS::SecretsManager::Secret', { Name: 'shop/database/credentials-s1', ReplicaRegions: [{ Region: 'eu-west-1' }] });
  });

  it('joins each secondary shard to its own global cluster by name', () => {
    secondary.resourceCountIs('AWS::RDS::GlobalCluster', 0);
    secondary.hasResourceProperties('AWS::RDS::DBCluster', { DBClusterIdentifier: 'shop-db-s0', GlobalClusterIdentifier: 'shop-global-s0' });
    secondary.hasResourceProperties('AWS::RDS::DBCluster', { DBClusterIdentifier: 'shop-db-s1', GlobalClusterIdentifier: 'shop-global-s1' });
    secondary.hasResourceProperties('AWS::SSM::Parameter', { Name: '/shop/database/shard-map' });
  });
});

describe('ShardedDatabase validation', () => {
  it.each<[string, ShardProps[], Partial<ShardedDatabaseProps>, RegExp]>([
    ['there are no shards', [], {}, /shards must list at least one shard \(got: 0\)/],
    ['there are more shards than a map parameter holds', Array.from({ length: 11 }, (_, i) => ({ id: `s${i}` })), {}, /at most 10 shards.*\(got: 11\)/],
    ['two shards have the same id', [{ id: 's0' }, { id: 's1' }, { id: 's1' }], {}, /shards\[2\]\.id "s1" duplicates shards\[1\]\.id/],
    ['a shard id is not a lowercase identifier', [{ id: 'S_0' }], {}, /shards\[0\]\.id must be lowercase.*\(got: "S_0"\)/],
    ['a range map has no boundaries', [{ id: 's0' }, { id: 's1' }], { strategy: 'range' }, /boundaries: required for strategy "range"/],
    ['the boundaries do not match the shard count', [{ id: 's0' }, { id: 's1' }, { id: 's2' }], { strategy: 'range', boundaries: [100] }, /too few split points: expected 2/],
    ['the boundaries are not increasing', [{ id: 's0' }, { id: 's1' }, { id: 's2' }], { strategy: 'range', boundaries: [200, 100] }, /boundaries\[1\]: boundaries must be strictly increasing/],
    ['a hash map has boundaries', [{ id: 's0' }, { id: 's1' }], { boundaries: [100] }, /boundaries: not allowed for strategy "hash"/],
    ['a hash shard is left out of the map before a listed one', [{ id: 's0' }, { id: 's1', inShardMap: false }, { id: 's2' }], {}, /shards\[2\] \(s2\) is in the hash shard map but comes after shards\[1\] \(s1\)/],
    ['the shard-map parameter name is not a path', [{ id: 's0' }], { shardMapParameterName: 'shard-map' }, /shardMapParameterName must be a parameter path .*\(got: "shard-map"\)/],
    ['overrides give two shards the same cluster identifier', [{ id: 's0' }, { id: 's1', overrides: { clusterIdentifier: 'shop-db-s0' } }], {}, /shards s0 and s1 have the same cluster identifier \(got: "shop-db-s0"\)/],
  ])('fails when %s, naming the sharded database', (_, shards, extra, message) => {
    const { stack, vpc } = stackWithVpc();
    expect(validationErrorOf(() => new ShardedDatabase(stack, 'DatabaseShards', { shardDefaults: { vpc, clusterIdentifier: 'shop-db', proxy: false, readers: 0 }, shards, ...extra })))
      .toEqual({ path: 'TestStack/DatabaseShards', message: expect.stringMatching(message) });
  });

  it('fails with a global database for a created shard whose id ends in a 6-character part (its secret would read as a full ARN)', () => {
    const { stack, vpc } = stackWithVpc('Global', 'us-east-1');
    const globalDatabase = { globalClusterIdentifier: 'shop-global', secretName: 'shop/database/credentials', role: 'primary' as const, replicaRegions: ['eu-west-1'] };
    expect(validationErrorOf(() => new ShardedDatabase(stack, 'DatabaseShards', { shardDefaults: { vpc, clusterIdentifier: 'shop-db', proxy: false, readers: 0, globalDatabase }, shards: [{ id: 's0' }, { id: 'users1' }] })))
      .toEqual({ path: 'Global/DatabaseShards', message: expect.stringMatching(/shards\[1\]\.id must not end in a part of exactly 6 characters with a global database.*\(got: "users1"\)/) });
  });

  it('fails on a shard\'s own bad setting naming that shard, not its siblings', () => {
    const { stack, vpc } = stackWithVpc();
    const shards = [{ id: 's0' }, { id: 's1' }, { id: 's2', overrides: { readers: 16 } }];
    expect(validationErrorOf(() => new ShardedDatabase(stack, 'DatabaseShards', { shardDefaults: { vpc, clusterIdentifier: 'shop-db', proxy: false, readers: 0 }, shards })))
      .toEqual({ path: 'TestStack/DatabaseShards/ShardS2', message: 'AuroraDatabase: readers must be a whole number from 0 to 15 (got: 16)' });
  });
});
