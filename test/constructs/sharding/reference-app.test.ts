import { App, Stack } from 'aws-cdk-lib/core';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BuiltApp } from '../../../lib/app';
import type { DatabaseInput } from '../../../lib/config';
import { OutputKeys } from '../../../lib/outputs';
import { STATEFUL_TYPES, statefulLogicalIds } from '../../../lib/testing';
import { buildTestApp, minimalConfig } from '../../helpers/app';
import { resolveShardMap } from './resolve-shard-map';

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;
const resources = (stack: Stack) => Template.fromStack(stack).toJSON().Resources as Resources;
const REGIONS = ['us-east-1', 'eu-west-1'];

/**
 * The logical IDs of the shards' stateful resources in config/sharded.json. A change here means a deploy would
 * REPLACE a shard and lose its data: never update this list after a refactor; keep the construct ids stable.
 * (The secrets' ids carry the stack name: they changed once, when the example was renamed shop-sharded so that it
 * deploys next to the other examples; no deployment of a config keeps its name through that.)
 */
const SHARD_IDS = {
  DatabaseShardsShardS1Key13B971C6: 'AWS::KMS::Key',
  DatabaseShardsShardS1LogPostgresqlA2735152: 'AWS::Logs::LogGroup',
  DatabaseShardsShardS1Cluster8B9C4BF7: 'AWS::RDS::DBCluster',
  DatabaseShardsShardS1ClusterWriterE6CD8BF5: 'AWS::RDS::DBInstance',
  DatabaseShardsShardS1ClusterReader1EC20DE00: 'AWS::RDS::DBInstance',
  DatabaseShardsShardS1ClusterReader2873A7FCE: 'AWS::RDS::DBInstance',
  DatabaseShardsShardS1ReaderScaling8AD95407: 'AWS::ApplicationAutoScaling::ScalableTarget',
  DatabaseShardsShardS1Proxy3368A65D: 'AWS::RDS::DBProxy',
  DatabaseShardsShardS1ProxyReadOnlyED80190E: 'AWS::RDS::DBProxyEndpoint',
  DatabaseShardsShardS2KeyA5283FA5: 'AWS::KMS::Key',
  DatabaseShardsShardS2LogPostgresql482A8701: 'AWS::Logs::LogGroup',
  DatabaseShardsShardS2Cluster7DC68D56: 'AWS::RDS::DBCluster',
  DatabaseShardsShardS2ClusterWriter32FFD006: 'AWS::RDS::DBInstance',
  DatabaseShardsShardS2ClusterReader1AB1D4629: 'AWS::RDS::DBInstance',
  DatabaseShardsShardS2ClusterReader243096BC4: 'AWS::RDS::DBInstance',
  DatabaseShardsShardS2ClusterReader39BCC26E5: 'AWS::RDS::DBInstance',
  DatabaseShardsShardS2ReaderScaling7CE8C6A1: 'AWS::ApplicationAutoScaling::ScalableTarget',
  DatabaseShardsShardS2Proxy1A21DB0B: 'AWS::RDS::DBProxy',
  DatabaseShardsShardS2ProxyReadOnlyDE5BF71D: 'AWS::RDS::DBProxyEndpoint',
};
const STATE_TYPES = [...STATEFUL_TYPES, 'AWS::RDS::DBProxy', 'AWS::RDS::DBProxyEndpoint', 'AWS::ApplicationAutoScaling::ScalableTarget'];
const PRIMARY_SHARD_IDS = {
  ...SHARD_IDS,
  shopshardeddatauseast1DatabaseShardsShardS1ClusterSecret3E836E773fdaad7efa858a3daf9490cf0a702aeb: 'AWS::SecretsManager::Secret',
  DatabaseShardsShardS1GlobalClusterD72D3DE5: 'AWS::RDS::GlobalCluster',
  shopshardeddatauseast1DatabaseShardsShardS2ClusterSecret924E38AD3fdaad7efa858a3daf9490cf0a702aeb: 'AWS::SecretsManager::Secret',
  DatabaseShardsShardS2GlobalCluster7A41B152: 'AWS::RDS::GlobalCluster',
  // each shard's application users function and its provider (operational logs, DESTROY with the stack)
  DatabaseShardsShardS1ApplicationUsersLogsE1ED8C5E: 'AWS::Logs::LogGroup',
  DatabaseShardsShardS1ApplicationUsersProviderLogsDE756E39: 'AWS::Logs::LogGroup',
  DatabaseShardsShardS2ApplicationUsersLogsD434FCC7: 'AWS::Logs::LogGroup',
  DatabaseShardsShardS2ApplicationUsersProviderLogs9D8D1491: 'AWS::Logs::LogGroup',
};

describe('reference app with config/sharded.json (2 regions, global database, 3 hash shards)', () => {
  let built: BuiltApp & { app: App };
  beforeAll(() => {
    // GIVEN the example sharded config WHEN the app is built
    built = buildTestApp('sharded');
  });

  it('creates three Aurora clusters in every region, shard 0 being the original Database', () => {
    for (const region of REGIONS) {
      const data = built.regions[region].data;
      const t = Template.fromStack(data);
      t.resourceCountIs('AWS::RDS::DBCluster', 3);
      for (const id of ['shop-sharded-db', 'shop-sharded-db-s1', 'shop-sharded-db-s2']) t.hasResourceProperties('AWS::RDS::DBCluster', { DBClusterIdentifier: id });
      expect(Object.keys(resources(data))).toContain('DatabaseCluster5B53A178');
      expect(data.shardedDatabase!.shards.map((s) => s.id)).toEqual(['s0', 's1', 's2']);
      expect(data.shardedDatabase!.shards[0].database).toBe(data.database);
    }
  });

  it('watches every shard\'s cluster, not only shard 0\'s: the same alarms each, in the composite alarm', () => {
    for (const region of REGIONS) {
      const t = Template.fromStack(built.regions[region].app);
      const alarms = t.findResources('AWS::CloudWatch::Alarm');
      for (const cluster of ['shop-sharded-db', 'shop-sharded-db-s1', 'shop-sharded-db-s2']) {
        const writerCpu = Object.entries(alarms).filter(([, a]) => JSON.stringify(a.Properties).includes(`"DBClusterIdentifier"`) && JSON.stringify(a.Properties.Dimensions ?? a.Properties.Metrics ?? []).includes(`"${cluster}"`) && JSON.stringify(a.Properties).includes('WRITER'));
        expect(writerCpu.length, `${region} ${cluster}`).toBeGreaterThanOrEqual(2); // warning and critical
      }
      // shard 0 keeps the ids it had; the others get their own
      expect(Object.keys(alarms).some((id) => id.startsWith('MonitoringDatabaseWriterCpuCritical'))).toBe(true);
      expect(Object.keys(alarms).some((id) => id.startsWith('MonitoringDatabaseS1WriterCpuCritical'))).toBe(true);
      // each shard behind a composite of its own in the region's health alarm (CloudWatch caps an alarm rule at 10,240
      // characters: ten shards' alarms one by one go past it)
      const composites = t.findResources('AWS::CloudWatch::CompositeAlarm');
      const health = JSON.stringify(Object.entries(composites).find(([id]) => id.startsWith('MonitoringRegionHealth'))![1]);
      const s2 = JSON.stringify(Object.entries(composites).find(([id]) => id.startsWith('MonitoringDatabaseS2Health'))![1]);
      expect(health).toMatch(/MonitoringDatabaseS2Health/);
      expect(health).not.toMatch(/MonitoringDatabaseS2WriterCpuCritical/);
      expect(s2).toMatch(/MonitoringDatabaseS2WriterCpuCritical/);
      expect(health).toMatch(/MonitoringDatabaseWriterCpuCritical/); // shard 0's stay in the region's alarm
    }
  });

  it('keeps the exact logical IDs of the shards\' stateful resources in every region', () => {
    const shardIds = (region: string) => Object.fromEntries(Object.entries(statefulLogicalIds(built.regions[region].data, STATE_TYPES)).filter(([id]) => /DatabaseShards/.test(id)));
    expect(shardIds('us-east-1')).toEqual(PRIMARY_SHARD_IDS);
    // the secondary has no reader autoscaling (not stateful): Aurora Auto Scaling does not scale a Global Database's secondaries
    expect(shardIds('eu-west-1')).toEqual(Object.fromEntries(Object.entries(SHARD_IDS).filter(([id]) => !id.endsWith('ReaderScaling8AD95407') && !id.endsWith('ReaderScaling7CE8C6A1'))));
  });

  it('applies the per-shard overrides (s2: r7g.xlarge, 3 readers)', () => {
    const t = Template.fromStack(built.regions['us-east-1'].data);
    t.hasResourceProperties('AWS::RDS::DBInstance', { DBInstanceIdentifier: 'shop-sharded-db-s2-writer', DBInstanceClass: 'db.r7g.xlarge' });
    t.hasResourceProperties('AWS::RDS::DBInstance', { DBInstanceIdentifier: 'shop-sharded-db-s2-reader-3', DBInstanceClass: 'db.r7g.xlarge' });
    t.hasResourceProperties('AWS::RDS::DBInstance', { DBInstanceIdentifier: 'shop-sharded-db-s1-writer', DBInstanceClass: 'db.r7g.large' });
  });

  it('makes each shard its own global database, created in the primary region and joined by name elsewhere', () => {
    const primary = Template.fromStack(built.regions['us-east-1'].data);
    for (const id of ['shop-sharded-global', 'shop-sharded-global-s1', 'shop-sharded-global-s2']) primary.hasResourceProperties('AWS::RDS::GlobalCluster', { GlobalClusterIdentifier: id });
    const secondary = Template.fromStack(built.regions['eu-west-1'].data);
    secondary.resourceCountIs('AWS::RDS::GlobalCluster', 0);
    secondary.hasResourceProperties('AWS::RDS::DBCluster', { DBClusterIdentifier: 'shop-sharded-db-s2', GlobalClusterIdentifier: 'shop-sharded-global-s2' });
  });

  it('publishes the shard map of the region\'s clusters in every region', () => {
    for (const region of REGIONS) {
      const data = built.regions[region].data;
      Template.fromStack(data).hasResourceProperties('AWS::SSM::Parameter', { Name: '/shop-sharded/database/shard-map', Type: 'String' });
      const { doc, refs } = resolveShardMap(data, data.shardedDatabase!.shardMapJson);
      expect(doc).toMatchObject({ version: 1, epoch: 1, strategy: 'hash' });
      const shards = doc.shards as Array<Record<string, string>>;
      expect(shards.map((s) => s.id)).toEqual(['s0', 's1', 's2']);
      data.shardedDatabase!.shards.forEach((shard, i) => {
        const cluster = data.getLogicalId(shard.database.cluster.node.defaultChild as never);
        // a secondary forwards writes to the global writer through its reader endpoint
        const writer = region === REGIONS[0] ? 'Endpoint.Address' : 'ReadEndpoint.Address';
        expect(shard.database.forwardsWrites).toBe(region !== REGIONS[0]);
        expect(refs[shards[i].writer]).toEqual({ 'Fn::GetAtt': [cluster, writer] });
      });
    }
  });

  it('outputs one cluster identifier per shard (DatabaseClusterId<Shard>) and no unsuffixed one', () => {
    for (const region of REGIONS) {
      const t = Template.fromStack(built.regions[region].data);
      t.hasOutput(OutputKeys.databaseClusterId('s0'), { Value: 'shop-sharded-db' });
      t.hasOutput('DatabaseClusterIdS1', { Value: 'shop-sharded-db-s1' });
      t.hasOutput('DatabaseClusterIdS2', { Value: 'shop-sharded-db-s2' });
      expect(Object.keys(t.findOutputs(OutputKeys.databaseClusterId()))).toEqual([]);
    }
  });

  it('grants every web and worker fleet the shard map, its own user on every shard\'s proxy and cluster and every shard\'s port, never a master secret', () => {
    const app = Template.fromStack(built.regions['eu-west-1'].app);
    const data = built.regions['eu-west-1'].data;
    for (const [role, user] of [['WebServicewebFleetInstanceRole', 'web'], ['WebServiceapiFleetInstanceRole', 'api'], ['WorkersJobsFleetInstanceRole', 'worker_jobs']]) {
      const policy = Object.values(app.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp(role) }] } }));
      const json = JSON.stringify(policy);
      // The parameter's name reaches the app stack as a reference to the data stack's shard-map parameter.
      expect(json).toContain(`"OutputName":"PublishOutputRef${data.getLogicalId(data.shardedDatabase!.shardMapParameter.node.defaultChild as never)}`);
      expect(json).not.toContain(':secret:shop-sharded/database/credentials');
      // Each shard's proxy and cluster (a forwarding secondary's writes go to the cluster directly).
      for (const shard of data.shardedDatabase!.shards) {
        expect(json).toContain(`PublishOutputFnGetAtt${data.getLogicalId(shard.database.proxy!.node.defaultChild as never)}DBProxyArn`);
        expect(json).toContain(`PublishOutputFnGetAtt${data.getLogicalId(shard.database.cluster.node.defaultChild as never)}DBClusterResourceId`);
      }
      expect(json.match(new RegExp(`"/${user}"`, 'g'))).toHaveLength(6);
    }
    const rules = Object.values(app.findResources('AWS::EC2::SecurityGroupIngress', { Properties: { FromPort: 5432 } })) as Array<{ Properties: { SourceSecurityGroupId: { 'Fn::GetAtt': string[] } } }>;
    const fromWeb = rules.filter((r) => r.Properties.SourceSecurityGroupId['Fn::GetAtt'][0].startsWith('WebServicewebFleet'));
    // cluster + proxy of each of the three shards
    expect(fromWeb).toHaveLength(6);
  });
});

describe('reference app: sharding is additive', () => {
  let unsharded: Resources;
  let one: Resources;
  let two: Resources;
  let three: Resources;
  let shardMapId: string;
  beforeAll(() => {
    // GIVEN the same app unsharded, with shards: 1, 2 and 3
    const data = (database: DatabaseInput) => buildTestApp(minimalConfig({ database: { readers: 1, ...database } })).regions['eu-west-1'].data;
    unsharded = resources(data({}));
    one = resources(data({ shards: 1 }));
    two = resources(data({ shards: 2 }));
    const d3 = data({ shards: 3 });
    three = resources(d3);
    shardMapId = d3.getLogicalId(d3.shardedDatabase!.shardMapParameter.node.defaultChild as never);
  });

  it('keeps the exact data stack with shards: 1', () => {
    expect(one).toEqual(unsharded);
  });

  it('keeps every resource of the single database when sharding starts', () => {
    // WHEN going from one database to two shards THEN nothing that existed changes
    for (const id of Object.keys(unsharded)) expect(two[id]).toEqual(unsharded[id]);
  });

  it('keeps every logical ID and property of shards s0 and s1 when s2 is added', () => {
    const changed = Object.keys(two).filter((id) => JSON.stringify(two[id]) !== JSON.stringify(three[id]));
    expect(changed).toEqual([shardMapId]);
    expect(Object.keys(three).filter((id) => !(id in two)).every((id) => /DatabaseShardsShardS2/.test(id))).toBe(true);
  });
});
