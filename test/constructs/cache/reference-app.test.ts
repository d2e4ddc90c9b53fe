import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { OutputKeys } from '../../../lib/outputs';
import { statefulLogicalIds } from '../../../lib/testing';
import { buildTestApp, minimalConfig } from '../../helpers/app';

type Built = ReturnType<typeof buildTestApp>;

/** The cache's stateful resources in every data stack. Changing any of these ids replaces data: never update them casually. */
const CACHE_STATEFUL_IDS = {
  Cache18F6EE16: 'AWS::ElastiCache::ReplicationGroup',
  CacheKeyCDF9DE27: 'AWS::KMS::Key',
  CacheAuthSecretB5146BA1: 'AWS::SecretsManager::Secret',
  CacheDefaultUserSecret1DA60DDC: 'AWS::SecretsManager::Secret',
  CacheSlowLog43E55961: 'AWS::Logs::LogGroup',
  CacheEngineLogFEAEB291: 'AWS::Logs::LogGroup',
  CachePasswordRotationLogsF8782DC6: 'AWS::Logs::LogGroup',
};

function cacheIds(ids: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(ids).filter(([k]) => k.startsWith('Cache')));
}

describe('reference app (millions config): the cache of every region', () => {
  let built: Built;
  beforeAll(() => {
    built = buildTestApp('millions');
  });

  it('has one replication group per data stack with a stable logical ID', () => {
    expect(Object.keys(built.regions)).toEqual(['us-east-1', 'eu-west-1', 'ap-southeast-1']);
    for (const r of Object.values(built.regions)) {
      expect(statefulLogicalIds(r.data, ['AWS::ElastiCache::ReplicationGroup'])).toEqual({ Cache18F6EE16: 'AWS::ElastiCache::ReplicationGroup' });
      expect(cacheIds(statefulLogicalIds(r.data))).toEqual(CACHE_STATEFUL_IDS);
    }
  });

  it('is an encrypted, Multi-AZ, sharded Valkey group of 2 shards × 1 replica that keeps a final snapshot', () => {
    for (const r of Object.values(built.regions)) {
      const t = Template.fromStack(r.data);
      t.hasResource('AWS::ElastiCache::ReplicationGroup', {
        DeletionPolicy: 'Snapshot',
        Properties: Match.objectLike({
          Engine: 'valkey', NumNodeGroups: 2, ReplicasPerNodeGroup: 1, MultiAZEnabled: true, AutomaticFailoverEnabled: true,
          AtRestEncryptionEnabled: true, TransitEncryptionEnabled: true, TransitEncryptionMode: 'required', SnapshotRetentionLimit: 14,
        }),
      });
    }
  });

  it('autoscales shards 2-8 and replicas 1-3', () => {
    const t = Template.fromStack(built.regions['eu-west-1'].data);
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { ScalableDimension: 'elasticache:replication-group:NodeGroups', MinCapacity: 2, MaxCapacity: 8 });
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { ScalableDimension: 'elasticache:replication-group:Replicas', MinCapacity: 1, MaxCapacity: 3 });
  });

  it('outputs the replication group id for the CLI', () => {
    for (const r of Object.values(built.regions)) {
      Template.fromStack(r.data).hasOutput(OutputKeys.cacheReplicationGroupId, { Value: { Ref: 'Cache18F6EE16' } });
    }
  });

  it('publishes the endpoints under /shop/cache, the names the web user data documents', () => {
    const t = Template.fromStack(built.regions['us-east-1'].data);
    for (const name of ['endpoint', 'port', 'tls', 'auth-mode', 'username', 'secret-arn']) {
      t.hasResourceProperties('AWS::SSM::Parameter', { Name: `/shop/cache/${name}` });
    }
    expect(built.regions['us-east-1'].data.endpointProviders).toContain(built.regions['us-east-1'].data.cache);
  });

  it('grants every web and worker fleet the cache port, from the app stack (no dependency cycle)', () => {
    const app = Template.fromStack(built.regions['us-east-1'].app);
    const rules = app.findResources('AWS::EC2::SecurityGroupIngress', { Properties: { FromPort: 6379, ToPort: 6379 } });
    // one rule per consuming fleet: each web service's and each queue's worker fleet
    expect(Object.keys(rules)).toHaveLength(built.config.services.length + built.config.queues.length);
    const data = Template.fromStack(built.regions['us-east-1'].data);
    expect(Object.keys(data.findResources('AWS::EC2::SecurityGroupIngress', { Properties: { FromPort: 6379 } }))).toHaveLength(0);
    const policies = JSON.stringify(app.findResources('AWS::IAM::Policy'));
    expect(policies).toContain('secretsmanager:GetSecretValue');
    expect(policies).toContain('parameter/shop/cache');
  });

  it('warns about nothing: cache.immutable is recorded in the config', () => {
    const warnings = Annotations.fromStack(built.regions['us-east-1'].data).findWarning('*', Match.stringLikeRegexp('cache'));
    expect(warnings).toEqual([]);
  });

  it('warns, with the value to add, when cache.immutable was recorded before data tiering was guarded', () => {
    const { dataTiering: _, ...older } = built.config.cache.immutable!;
    const { regions } = buildTestApp({ ...minimalConfig(), cache: { immutable: older } });
    const warnings = Annotations.fromStack(Object.values(regions)[0].data).findWarning('*', Match.stringLikeRegexp('does not record dataTiering'));
    expect(warnings).toHaveLength(1);
    expect(JSON.stringify(warnings[0].entry.data)).toContain('\\"dataTiering\\": false');
  });
});

describe('reference app with a Global Datastore across two regions', () => {
  let built: Built;
  beforeAll(() => {
    built = buildTestApp(minimalConfig({
      regions: [{ region: 'us-east-1', vpcCidr: '10.0.0.0/16' }, { region: 'eu-west-1', vpcCidr: '10.1.0.0/16' }],
      cache: { globalDatastore: { enabled: true } },
    }));
  });

  it('creates the Global Datastore in the primary region with a stable logical ID', () => {
    const primary = built.regions['us-east-1'].data;
    expect(statefulLogicalIds(primary, ['AWS::ElastiCache::GlobalReplicationGroup'])).toEqual({ CacheGlobalDatastore3E2B49BB: 'AWS::ElastiCache::GlobalReplicationGroup' });
    Template.fromStack(primary).hasResourceProperties('AWS::ElastiCache::GlobalReplicationGroup', { GlobalReplicationGroupIdSuffix: 'test-cache' });
    Template.fromStack(primary).hasResourceProperties('AWS::SecretsManager::Secret', { Name: 'test/cache/auth-token', ReplicaRegions: Match.absent() });
  });

  it('has the secondary pull its replica of the AUTH secret from the primary region, before its cache resources', () => {
    const t = Template.fromStack(built.regions['eu-west-1'].data);
    const requests = Object.entries(t.findResources('Custom::SecretReplica')).filter(([id]) => id.startsWith('CacheAuthSecretReplica'));
    expect(requests).toHaveLength(1);
    const [id, request] = requests[0] as [string, { Properties: { Create: string; Delete: string } }];
    expect(JSON.parse(request.Properties.Create)).toMatchObject({
      action: 'replicateSecretToRegions',
      region: 'us-east-1',
      parameters: { SecretId: 'test/cache/auth-token', AddReplicaRegions: [{ Region: 'eu-west-1' }], ForceOverwriteReplicaSecret: true },
    });
    expect(JSON.parse(request.Properties.Delete)).toMatchObject({ action: 'removeRegionsFromReplication', parameters: { SecretId: 'test/cache/auth-token', RemoveReplicaRegions: ['eu-west-1'] } });
    const group = Object.values(t.findResources('AWS::ElastiCache::ReplicationGroup'))[0] as { DependsOn?: string[] };
    expect(group.DependsOn).toContain(id);
  });

  it('joins the secondary by the derived id, keeping the same replication group logical ID', () => {
    const secondary = built.regions['eu-west-1'].data;
    expect(statefulLogicalIds(secondary, ['AWS::ElastiCache::ReplicationGroup'])).toEqual({ Cache18F6EE16: 'AWS::ElastiCache::ReplicationGroup' });
    Template.fromStack(secondary).hasResourceProperties('AWS::ElastiCache::ReplicationGroup', { GlobalReplicationGroupId: 'ldgnf-test-cache' });
    expect(built.regions['eu-west-1'].data.dependencies).toContain(built.regions['us-east-1'].data);
  });

  it('warns that cache.immutable is missing, with the block to record', () => {
    const warnings = Annotations.fromStack(built.regions['us-east-1'].data).findWarning('*', Match.stringLikeRegexp('cache.immutable is not set'));
    expect(warnings).toHaveLength(1);
    expect(JSON.stringify(warnings[0].entry.data)).toContain('\\"authMode\\":\\"auth-token\\"');
  });
});
