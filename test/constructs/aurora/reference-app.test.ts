import { App, type Stack } from 'aws-cdk-lib/core';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BuiltApp } from '../../../lib/app';
import { OutputKeys } from '../../../lib/outputs';
import { STATEFUL_TYPES, statefulLogicalIds } from '../../../lib/testing';
import { readFileSync } from 'node:fs';
import type { AppConfigInput, DatabaseInput, ServiceInput } from '../../../lib/config';
import { buildTestApp, configPath } from '../../helpers/app';

const DATA_TIER_TYPES = [...STATEFUL_TYPES, 'AWS::RDS::DBProxy', 'AWS::RDS::DBProxyEndpoint', 'AWS::ApplicationAutoScaling::ScalableTarget'];

/** The stateful logical IDs every region's data stack keeps (renaming a construct fails here). */
const COMMON_IDS = {
  DatabaseKey5E5D9547: 'AWS::KMS::Key',
  DatabaseLogPostgresql074561DA: 'AWS::Logs::LogGroup',
  DatabaseCluster5B53A178: 'AWS::RDS::DBCluster',
  DatabaseClusterWriterD43085C6: 'AWS::RDS::DBInstance',
  DatabaseClusterReader1D8B76102: 'AWS::RDS::DBInstance',
  DatabaseClusterReader26C65DE14: 'AWS::RDS::DBInstance',
  DatabaseReaderScaling35F8CBEA: 'AWS::ApplicationAutoScaling::ScalableTarget',
  DatabaseProxyE01FC4E6: 'AWS::RDS::DBProxy',
  DatabaseProxyReadOnly1DAF53D4: 'AWS::RDS::DBProxyEndpoint',
};

/** This tier's entries (other tiers share the data stack). */
function databaseOnly(ids: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(ids).filter(([id]) => id.includes('Database')));
}

describe('reference app (millions config): Aurora global database in every region', () => {
  let built: BuiltApp & { app: App };
  beforeAll(() => {
    built = buildTestApp('millions');
  });

  it('keeps the stateful logical IDs of the primary data stack', () => {
    expect(databaseOnly(statefulLogicalIds(built.regions['us-east-1'].data, DATA_TIER_TYPES))).toEqual({
      ...COMMON_IDS,
      shopdatauseast1DatabaseClusterSecret2791E40F3fdaad7efa858a3daf9490cf0a702aeb: 'AWS::SecretsManager::Secret',
      DatabaseGlobalCluster4A226354: 'AWS::RDS::GlobalCluster',
      DatabaseApplicationUsersLogs8AB9E410: 'AWS::Logs::LogGroup',
      DatabaseApplicationUsersProviderLogsF80ED1F0: 'AWS::Logs::LogGroup',
    });
  });

  it('creates one database user per fleet in the primary region only, where the proxy logs in with IAM', () => {
    Template.fromStack(built.regions['us-east-1'].data).hasResourceProperties('Custom::ApplicationUsers', { DatabaseName: 'app', GroupRole: 's2m_application', Users: ['web', 'api', 'worker_jobs'], StatementTimeoutMs: '28000' });
    for (const region of Object.keys(built.regions)) {
      const t = Template.fromStack(built.regions[region].data);
      if (region !== 'us-east-1') t.resourceCountIs('Custom::ApplicationUsers', 0);
      const proxy = Object.values(t.findResources('AWS::RDS::DBProxy'))[0] as { Properties: Record<string, unknown> };
      expect(proxy.Properties).toMatchObject({ DefaultAuthScheme: 'IAM_AUTH', RequireTLS: true });
      expect(proxy.Properties.Auth).toBeUndefined();
      t.hasResourceProperties('AWS::SSM::Parameter', { Name: '/shop/database/authentication', Value: 'iam' });
    }
  });

  it('after a switchover (writerRegion eu-west-1), creates the users in eu-west-1 only: adding a service then adds its user there', () => {
    const millions = JSON.parse(readFileSync(configPath('millions'), 'utf8')) as AppConfigInput & { database: DatabaseInput & { globalDatabase: object }; services: ServiceInput[] };
    const switched = buildTestApp({
      ...millions,
      database: { ...millions.database, globalDatabase: { ...millions.database.globalDatabase, writerRegion: 'eu-west-1' } },
      services: [...millions.services, { name: 'search', pathPatterns: ['/search/*'] }],
    });
    for (const region of Object.keys(switched.regions)) {
      const t = Template.fromStack(switched.regions[region].data);
      if (region === 'eu-west-1') {
        t.hasResourceProperties('Custom::ApplicationUsers', { Users: Match.arrayWith(['search']), Host: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DatabaseCluster'), 'Endpoint.Address'] } });
      } else {
        t.resourceCountIs('Custom::ApplicationUsers', 0);
      }
    }
    // the credentials' rotation pauses in us-east-1 (its cluster endpoint is inactive), and with it its alarm
    // (the cache password's and the session key's rotations need no cluster and stay)
    const rotations = (data: Stack) => Object.keys(Template.fromStack(data).findResources('AWS::SecretsManager::RotationSchedule'));
    const rotationAlarms = (app: Stack) => Object.keys(Template.fromStack(app).findResources('AWS::CloudWatch::Alarm')).filter((id) => /SecretRotation/.test(id));
    expect(rotations(built.regions['us-east-1'].data).filter((id) => /^DatabaseCluster/.test(id))).toHaveLength(1);
    expect(rotations(switched.regions['us-east-1'].data)).toEqual(rotations(built.regions['us-east-1'].data).filter((id) => !/^DatabaseCluster/.test(id)));
    expect(rotationAlarms(built.regions['us-east-1'].app).filter((id) => /SecretRotationDatabase/.test(id))).toHaveLength(1);
    expect(rotationAlarms(switched.regions['us-east-1'].app)).toEqual(rotationAlarms(built.regions['us-east-1'].app).filter((id) => !/SecretRotationDatabase/.test(id)));
    // the Global Database lag alarms follow the writer: Aurora publishes lag for the regions without it
    const lagAlarms = (b: BuiltApp) => Object.keys(b.regions).filter((r) => Object.keys(Template.fromStack(b.regions[r].app).findResources('AWS::CloudWatch::Alarm')).some((id) => /DatabaseGlobalReplicationLag/.test(id)));
    expect(lagAlarms(built)).toEqual(['eu-west-1', 'ap-southeast-1']);
    expect(lagAlarms(switched)).toEqual(['us-east-1', 'ap-southeast-1']);
  });

  it('alarms on the Global Database lag of a secondary with a Metrics Insights query over its cluster, any source region', () => {
    const alarm = Object.entries(Template.fromStack(built.regions['eu-west-1'].app).findResources('AWS::CloudWatch::Alarm')).find(([id]) => /DatabaseGlobalReplicationLagCritical/.test(id))![1] as { Properties: Record<string, unknown> };
    expect(alarm.Properties).toMatchObject({ Threshold: 10000, Metrics: [{ Expression: expect.anything(), Period: 60, ReturnData: true }] });
    expect(alarm.Properties.MetricName).toBeUndefined();
    expect(JSON.stringify(alarm.Properties.Metrics)).toMatch(/SELECT MAX\(AuroraGlobalDBRPOLag\) FROM \\"AWS\/RDS\\" WHERE DBClusterIdentifier = '/);
  });

  it('keeps the stateful logical IDs of the secondary data stacks', () => {
    // no reader autoscaling there: Aurora Auto Scaling does not scale a Global Database's secondary clusters
    const secondaryIds = Object.fromEntries(Object.entries(COMMON_IDS).filter(([id]) => id !== 'DatabaseReaderScaling35F8CBEA'));
    for (const region of ['eu-west-1', 'ap-southeast-1']) {
      expect(databaseOnly(statefulLogicalIds(built.regions[region].data, DATA_TIER_TYPES))).toEqual(secondaryIds);
    }
  });

  it('keeps the cluster and instance identifiers', () => {
    for (const region of Object.keys(built.regions)) {
      const t = Template.fromStack(built.regions[region].data);
      t.hasResourceProperties('AWS::RDS::DBCluster', { DBClusterIdentifier: 'shop-db' });
      const ids = Object.values(t.findResources('AWS::RDS::DBInstance')).map((r) => (r as { Properties: { DBInstanceIdentifier: string } }).Properties.DBInstanceIdentifier);
      expect(ids).toEqual(['shop-db-writer', 'shop-db-reader-1', 'shop-db-reader-2']);
    }
  });

  it('creates the global cluster in the primary region and joins the others to it by name', () => {
    Template.fromStack(built.regions['us-east-1'].data).hasResourceProperties('AWS::RDS::GlobalCluster', { GlobalClusterIdentifier: 'shop-global' });
    Template.fromStack(built.regions['us-east-1'].data).hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: 'shop/database/credentials',
      ReplicaRegions: Match.absent(),
    });
    for (const region of ['eu-west-1', 'ap-southeast-1']) {
      const t = Template.fromStack(built.regions[region].data);
      t.resourceCountIs('AWS::RDS::GlobalCluster', 0);
      t.hasResourceProperties('AWS::RDS::DBCluster', { GlobalClusterIdentifier: 'shop-global', Engine: 'aurora-postgresql', EngineVersion: '16.6' });
    }
  });

  it('has each secondary data stack pull its own replica of the credentials secret, before its proxy', () => {
    Template.fromStack(built.regions['us-east-1'].data).resourceCountIs('Custom::SecretReplica', 0);
    for (const region of ['eu-west-1', 'ap-southeast-1']) {
      const t = Template.fromStack(built.regions[region].data);
      const requests = Object.entries(t.findResources('Custom::SecretReplica'))
        .filter(([, r]) => (JSON.parse((r as { Properties: { Create: string } }).Properties.Create) as { parameters: { SecretId: string } }).parameters.SecretId === 'shop/database/credentials');
      expect(requests).toHaveLength(1);
      const [id, request] = requests[0] as [string, { Properties: { Create: string; Delete: string } }];
      expect(JSON.parse(request.Properties.Create)).toMatchObject({ action: 'replicateSecretToRegions', region: 'us-east-1', parameters: { AddReplicaRegions: [{ Region: region }] } });
      // Removing the region from the config deletes its data stack, which removes its replica (and only it).
      expect(JSON.parse(request.Properties.Delete)).toMatchObject({ action: 'removeRegionsFromReplication', region: 'us-east-1', parameters: { SecretId: 'shop/database/credentials', RemoveReplicaRegions: [region] } });
      const proxy = Object.values(t.findResources('AWS::RDS::DBProxy'))[0] as { DependsOn?: string[] };
      expect(proxy.DependsOn).toContain(id);
    }
  });

  it('deploys the primary data stack before the secondaries, without cross-region references', () => {
    const primary = built.regions['us-east-1'].data;
    for (const region of ['eu-west-1', 'ap-southeast-1']) {
      expect(built.regions[region].data.dependencies).toContain(primary);
      // The only mention of the primary region is where each secondary asks it for its secret replicas and waits for
      // them to be in sync (a name from the config, not a cross-region reference).
      const resources = Template.fromStack(built.regions[region].data).toJSON().Resources as Record<string, { Type: string; Properties: { PolicyDocument?: unknown } }>;
      const asksPrimary = (r: { Type: string; Properties: { PolicyDocument?: unknown } }) => ['Custom::SecretReplica', 'Custom::SecretReplicaInSync'].includes(r.Type)
        || (r.Type === 'AWS::IAM::Policy' && /ReplicateSecretToRegions|DescribeSecret/.test(JSON.stringify(r.Properties.PolicyDocument)));
      const other = Object.values(resources).filter((r) => !asksPrimary(r));
      expect(JSON.stringify(other)).not.toMatch(/us-east-1/);
      expect(JSON.stringify(resources)).not.toMatch(/Fn::ImportValue|GetStackOutput[^}]*us-east-1/);
    }
  });

  it('runs reader autoscaling (2-8 readers, CPU and connections) in the writer\'s region, none in the secondaries (Aurora Auto Scaling does not scale them)', () => {
    for (const region of Object.keys(built.regions)) {
      const t = Template.fromStack(built.regions[region].data);
      const policies = Object.keys(t.findResources('AWS::ApplicationAutoScaling::ScalingPolicy')).filter((id) => id.startsWith('Database'));
      if (region === 'us-east-1') {
        t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { ResourceId: 'cluster:shop-db', MinCapacity: 2, MaxCapacity: 8 });
        expect(policies, region).toHaveLength(2);
      } else {
        expect(Object.values(t.findResources('AWS::ApplicationAutoScaling::ScalableTarget')).filter((r) => JSON.stringify(r).includes('rds:cluster:ReadReplicaCount')), region).toEqual([]);
        expect(policies, region).toEqual([]);
      }
    }
  });

  it('publishes in every region the forwarding pools\' budget of its fleets at their maxima: 419 sessions over 220 processes, 1 per pool', () => {
    for (const region of Object.keys(built.regions)) {
      Template.fromStack(built.regions[region].data).hasResourceProperties('AWS::SSM::Parameter', { Name: '/shop/database/forwarding-pool-max', Value: '1' });
    }
  });

  it('outputs the cluster identifier from every data stack', () => {
    for (const region of Object.keys(built.regions)) {
      Template.fromStack(built.regions[region].data).hasOutput(OutputKeys.databaseClusterId(), { Value: 'shop-db' });
    }
  });

  it('grants every web fleet of the region the endpoints, its own database user and the port, never the master secret, and the load balancer nothing', () => {
    const t = Template.fromStack(built.regions['eu-west-1'].app);
    for (const service of ['web', 'api']) {
      // IAM statements are merged across tiers (minimizePolicies), so look inside the fleet's one policy
      const [, policy] = Object.entries(t.findResources('AWS::IAM::Policy')).find(([id]) => id.startsWith(`WebService${service}FleetInstanceRoleDefaultPolicy`))!;
      const statements = policy.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>;
      expect(JSON.stringify(statements.find((st) => st.Action === 'ssm:GetParametersByPath')?.Resource)).toContain(':parameter/shop/database');
      expect(JSON.stringify(statements)).not.toContain(':secret:shop/database/credentials');
      // eu-west-1 is a forwarding secondary: writes and strong reads go to its cluster directly, the rest through
      // its proxy, so the user may log in to both
      const connect = statements.filter((st) => st.Action === 'rds-db:connect').flatMap((st) => (Array.isArray(st.Resource) ? st.Resource : [st.Resource])) as Array<{ 'Fn::Join': [string, unknown[]] }>;
      // arn:aws:rds-db:<region>:<account>:dbuser:<resource id>/<user>
      expect(connect.map((r) => [JSON.stringify(r['Fn::Join'][1][3]), r['Fn::Join'][1][4]])).toEqual(expect.arrayContaining([
        [expect.stringContaining('DatabaseProxyE01FC4E6DBProxyArn'), `/${service}`],
        [expect.stringContaining('DatabaseCluster5B53A178DBClusterResourceId'), `/${service}`],
      ]));
      expect(connect).toHaveLength(2);
      const dbRules = Object.values(t.findResources('AWS::EC2::SecurityGroupIngress', { Properties: { FromPort: 5432 } })) as Array<{ Properties: { SourceSecurityGroupId: { 'Fn::GetAtt': string[] } } }>;
      expect(dbRules.filter((r) => r.Properties.SourceSecurityGroupId['Fn::GetAtt'][0].startsWith(`WebService${service}Fleet`))).toHaveLength(2);
      expect(dbRules.some((r) => r.Properties.SourceSecurityGroupId['Fn::GetAtt'][0].startsWith('WebLoadBalancer'))).toBe(false);
    }
  });

  it('rotates the credentials in the primary region from the isolated subnets through the Secrets Manager endpoint, and alarms on failures', () => {
    const { data, app, network } = built.regions['us-east-1'];
    const sar = Object.values(Template.fromStack(data).findResources('AWS::Serverless::Application')) as Array<{ Properties: { Parameters: Record<string, unknown> } }>;
    expect(sar).toHaveLength(1);
    expect(JSON.stringify(sar[0].Properties.Parameters.vpcSubnetIds)).toMatch(/IsolatedSubnet/);
    // Secrets Manager's regional name, which the network stack's endpoint (private DNS on) resolves inside the VPC
    expect(sar[0].Properties.Parameters.endpoint).toEqual({ 'Fn::Join': ['', ['https://secretsmanager.us-east-1.', { Ref: 'AWS::URLSuffix' }]] });
    expect(network.secretsManagerEndpoint).toBeDefined();
    const alarms = app.monitoring!.alarms.filter((a) => a.tier === 'secrets').map((a) => a.alarm.node.id);
    expect(alarms.sort()).toEqual(['SecretRotationCacheWarning', 'SecretRotationDatabaseWarning', 'SecretRotationSessionsWarning']);
    // a secondary's replicas (database, session key) follow the primary's rotation: only its cache password rotates there
    expect(built.regions['eu-west-1'].app.monitoring!.alarms.filter((a) => a.tier === 'secrets').map((a) => a.alarm.node.id)).toEqual(['SecretRotationCacheWarning']);
  });
});

describe('reference app (startup config): no interface endpoints', () => {
  it('rotates the credentials from the private subnets, through the NAT gateway', () => {
    const built = buildTestApp('startup');
    const sar = Object.values(Template.fromStack(built.regions['us-east-1'].data).findResources('AWS::Serverless::Application')) as Array<{ Properties: { Parameters: Record<string, unknown> } }>;
    expect(JSON.stringify(sar[0].Properties.Parameters.vpcSubnetIds)).toMatch(/PrivateSubnet/);
    expect(JSON.stringify(sar[0].Properties.Parameters.vpcSubnetIds)).not.toMatch(/IsolatedSubnet/);
  });
});
