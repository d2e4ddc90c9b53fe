import { App, Duration, Stack, Validations } from 'aws-cdk-lib/core';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as rds from 'aws-cdk-lib/aws-rds';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { AuroraDatabase, auroraEngineVersions, globalLagMetricName, type AuroraDatabaseProps } from '../../../constructs/aurora';
import { Network } from '../../../constructs/network';
import { loadCdkNag } from '../../../lib/app';
import { cdkJsonContext, stackWithVpc } from '../../helpers/app';
import { validationErrorOf } from '../../helpers/errors';

/** A consumer like a fleet: a role and a security group that allows all outbound traffic. */
function consumerIn(stack: Stack, vpc: ec2.IVpc) {
  const role = new iam.Role(stack, 'ConsumerRole', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
  const sg = new ec2.SecurityGroup(stack, 'ConsumerSg', { vpc, allowAllOutbound: true });
  return { role, sg, consumer: { grantPrincipal: role, connections: new ec2.Connections({ securityGroups: [sg] }) } };
}

function resourcesOf(t: Template, type: string): Record<string, { Properties: Record<string, unknown>; DependsOn?: string[]; DeletionPolicy?: string }> {
  return t.findResources(type) as Record<string, { Properties: Record<string, unknown>; DependsOn?: string[]; DeletionPolicy?: string }>;
}

describe('AuroraDatabase (defaults: PostgreSQL, writer + 2 readers, proxy, autoscaling)', () => {
  let t: Template;
  let db: AuroraDatabase;
  let stack: Stack;
  beforeAll(() => {
    // GIVEN a VPC over three AZs and a fleet-like consumer
    const s = stackWithVpc();
    stack = s.stack;
    const { consumer } = consumerIn(stack, s.vpc);
    // WHEN
    db = new AuroraDatabase(stack, 'Database', {
      vpc: s.vpc,
      clusterIdentifier: 'shop-db',
      parameterPrefix: '/shop/database',
      readerAutoScaling: { maxReaders: 6, targetConnections: 500 },
    });
    db.grantConsumer(consumer);
    t = Template.fromStack(stack);
  });

  it('sets engine and version on the cluster only', () => {
    t.hasResourceProperties('AWS::RDS::DBCluster', { Engine: 'aurora-postgresql', EngineVersion: '16.6', DBClusterIdentifier: 'shop-db', DatabaseName: 'app' });
    for (const inst of Object.values(resourcesOf(t, 'AWS::RDS::DBInstance'))) {
      expect(inst.Properties.EngineVersion).toBeUndefined();
      expect(inst.Properties.Engine).toBe('aurora-postgresql');
    }
  });

  it('creates one writer and two readers over the AZs with explicit promotion tiers and identifiers', () => {
    const instances = Object.values(resourcesOf(t, 'AWS::RDS::DBInstance')).map((r) => r.Properties);
    expect(instances.map((p) => [p.DBInstanceIdentifier, p.AvailabilityZone, p.PromotionTier, p.DBInstanceClass])).toEqual([
      ['shop-db-writer', 'us-east-1a', 0, 'db.r7g.large'],
      ['shop-db-reader-1', 'us-east-1b', 1, 'db.r7g.large'],
      ['shop-db-reader-2', 'us-east-1c', 2, 'db.r7g.large'],
    ]);
    expect(instances.every((p) => p.PubliclyAccessible === false)).toBe(true);
  });

  it('rolls readers one at a time after the writer', () => {
    const byId = Object.fromEntries(Object.entries(resourcesOf(t, 'AWS::RDS::DBInstance')).map(([id, r]) => [r.Properties.DBInstanceIdentifier, { id, deps: r.DependsOn ?? [] }]));
    expect(byId['shop-db-reader-1'].deps).toContain(byId['shop-db-writer'].id);
    expect(byId['shop-db-reader-2'].deps).toContain(byId['shop-db-reader-1'].id);
  });

  it('registers a reader scalable target without a RoleARN (the service-linked role is created on registration) and two target tracking policies', () => {
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      ServiceNamespace: 'rds',
      ScalableDimension: 'rds:cluster:ReadReplicaCount',
      ResourceId: 'cluster:shop-db',
      MinCapacity: 2,
      MaxCapacity: 6,
      RoleARN: Match.absent(),
    });
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      PolicyType: 'TargetTrackingScaling',
      PolicyName: 'shop-db-reader-cpu',
      TargetTrackingScalingPolicyConfiguration: {
        TargetValue: 60,
        PredefinedMetricSpecification: { PredefinedMetricType: 'RDSReaderAverageCPUUtilization' },
        ScaleInCooldown: 600,
        ScaleOutCooldown: 300,
      },
    });
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      PolicyName: 'shop-db-reader-connections',
      TargetTrackingScalingPolicyConfiguration: {
        TargetValue: 500,
        PredefinedMetricSpecification: { PredefinedMetricType: 'RDSReaderAverageDatabaseConnections' },
      },
    });
  });

  it('registers the scalable target only after the cluster and its instances', () => {
    const [target] = Object.values(resourcesOf(t, 'AWS::ApplicationAutoScaling::ScalableTarget'));
    const instanceIds = Object.keys(resourcesOf(t, 'AWS::RDS::DBInstance'));
    expect(target.DependsOn).toEqual(expect.arrayContaining(instanceIds));
  });

  it('puts a TLS-only proxy and a read-only proxy endpoint in front', () => {
    t.hasResourceProperties('AWS::RDS::DBProxy', { EngineFamily: 'POSTGRESQL', RequireTLS: true, Auth: [Match.objectLike({ AuthScheme: 'SECRETS', IAMAuth: 'DISABLED' })] });
    t.hasResourceProperties('AWS::RDS::DBProxyEndpoint', { TargetRole: 'READ_ONLY', DBProxyName: { Ref: Match.stringLikeRegexp('DatabaseProxy') } });
  });

  it('keeps credentials in a KMS-encrypted, retained secret with rotation', () => {
    t.hasResource('AWS::SecretsManager::Secret', {
      Properties: Match.objectLike({ KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('DatabaseKey'), 'Arn'] } }),
      DeletionPolicy: 'Retain',
    });
    t.hasResourceProperties('AWS::SecretsManager::RotationSchedule', { RotationRules: { ScheduleExpression: 'rate(30 days)' } });
  });

  it('never rotates before the instances exist: not at creation, and after every instance', () => {
    // (a rotation at creation started while the writer was being created: it could not log in, and could race the
    // application users' function)
    const [schedule] = Object.values(t.findResources('AWS::SecretsManager::RotationSchedule')) as Array<{ Properties: { RotateImmediatelyOnUpdate?: boolean }; DependsOn?: string[] }>;
    expect(schedule!.Properties.RotateImmediatelyOnUpdate).toBe(false);
    const instances = Object.keys(t.findResources('AWS::RDS::DBInstance'));
    expect(instances.length).toBeGreaterThanOrEqual(2);
    expect(schedule!.DependsOn).toEqual(expect.arrayContaining(instances));
  });

  it('runs the rotation function where it reaches Secrets Manager: the private subnets with egress (no endpoint given)', () => {
    const app = Object.values(t.findResources('AWS::Serverless::Application'))[0] as { Properties: { Parameters: Record<string, unknown> } };
    const subnets = JSON.stringify(app.Properties.Parameters.vpcSubnetIds);
    expect(subnets).toMatch(/PrivateSubnet/);
    expect(subnets).not.toMatch(/IsolatedSubnet/);
    expect(app.Properties.Parameters.endpoint).toEqual({ 'Fn::Join': ['', ['https://secretsmanager.us-east-1.', { Ref: 'AWS::URLSuffix' }]] });
  });

  it('alarms can watch the rotation function by its name, known at synth', () => {
    const app = Object.values(t.findResources('AWS::Serverless::Application'))[0] as { Properties: { Parameters: Record<string, unknown> } };
    const metric = db.metricRotationErrors()!;
    expect(metric.namespace).toBe('AWS/Lambda');
    expect(metric.metricName).toBe('Errors');
    expect(metric.dimensions).toEqual({ FunctionName: app.Properties.Parameters.functionName });
  });

  it('encrypts storage and Performance Insights with a rotating customer key', () => {
    t.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    t.hasResourceProperties('AWS::RDS::DBCluster', {
      StorageEncrypted: true,
      KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('DatabaseKey'), 'Arn'] },
      PerformanceInsightsEnabled: true,
      PerformanceInsightsKmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('DatabaseKey'), 'Arn'] },
      PerformanceInsightsRetentionPeriod: 7,
      DatabaseInsightsMode: 'standard',
    });
  });

  it('keeps 7 days of backups, deletion protection and a SNAPSHOT deletion policy', () => {
    t.hasResource('AWS::RDS::DBCluster', {
      Properties: Match.objectLike({ BackupRetentionPeriod: 7, DeletionProtection: true, EnableIAMDatabaseAuthentication: true, CopyTagsToSnapshot: true }),
      DeletionPolicy: 'Snapshot',
      UpdateReplacePolicy: 'Snapshot',
    });
  });

  it('exports logs to a log group with retention created before the cluster', () => {
    t.hasResourceProperties('AWS::RDS::DBCluster', { EnableCloudwatchLogsExports: ['postgresql'] });
    t.hasResource('AWS::Logs::LogGroup', { Properties: { LogGroupName: '/aws/rds/cluster/shop-db/postgresql', RetentionInDays: 30 }, DeletionPolicy: 'Retain' });
    const [cluster] = Object.values(resourcesOf(t, 'AWS::RDS::DBCluster'));
    expect(cluster.DependsOn?.some((d) => d.startsWith('DatabaseLogPostgresql'))).toBe(true);
  });

  it('turns on enhanced monitoring every 60 seconds with a dedicated role', () => {
    t.hasResourceProperties('AWS::RDS::DBInstance', { MonitoringInterval: 60, MonitoringRoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('DatabaseMonitoringRole'), 'Arn'] } });
  });

  it('uses cluster and instance parameter groups that enforce TLS', () => {
    t.hasResourceProperties('AWS::RDS::DBClusterParameterGroup', { Family: 'aurora-postgresql16', Parameters: Match.objectLike({ 'rds.force_ssl': '1' }) });
    t.hasResourceProperties('AWS::RDS::DBInstance', { DBParameterGroupName: { Ref: Match.stringLikeRegexp('DatabaseInstanceParameters') } });
    t.resourceCountIs('AWS::RDS::DBParameterGroup', 1);
  });

  it('publishes the endpoints as SSM parameters under the prefix', () => {
    const names = Object.values(resourcesOf(t, 'AWS::SSM::Parameter')).map((p) => p.Properties.Name).sort();
    expect(names).toEqual([
      '/shop/database/authentication', '/shop/database/database-name', '/shop/database/engine', '/shop/database/port', '/shop/database/proxy',
      '/shop/database/proxy-read-only', '/shop/database/reader', '/shop/database/role', '/shop/database/secret-arn',
      '/shop/database/write-forwarding', '/shop/database/writer',
    ]);
    // a standalone cluster holds its writer
    t.hasResourceProperties('AWS::SSM::Parameter', { Name: '/shop/database/role', Value: 'primary' });
    t.hasResourceProperties('AWS::SSM::Parameter', { Name: '/shop/database/write-forwarding', Value: 'off' });
    t.hasResourceProperties('AWS::SSM::Parameter', { Name: '/shop/database/port', Value: '5432' });
    t.hasResourceProperties('AWS::SSM::Parameter', { Name: '/shop/database/writer', Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('DatabaseCluster'), 'Endpoint.Address'] } });
    t.hasResourceProperties('AWS::SSM::Parameter', { Name: '/shop/database/reader', Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('DatabaseCluster'), 'ReadEndpoint.Address'] } });
    t.hasResourceProperties('AWS::SSM::Parameter', { Name: '/shop/database/proxy-read-only', Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('DatabaseProxyReadOnly'), 'Endpoint'] } });
  });

  it('grants a consumer the parameters and the port of the cluster and the proxy, never the master secret', () => {
    t.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('ConsumerRole') }],
      PolicyDocument: {
        Statement: [
          Match.objectLike({ Action: Match.arrayWith(['ssm:GetParameter']) }),
          Match.objectLike({ Action: 'ssm:GetParametersByPath', Resource: { 'Fn::Join': ['', Match.arrayWith([':parameter/shop/database'])] } }),
        ],
      },
    });
    t.hasResourceProperties('AWS::SSM::Parameter', { Name: '/shop/database/authentication', Value: 'iam' });
    for (const target of ['DatabaseSecurityGroup', 'DatabaseProxySecurityGroup']) {
      t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
        IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432,
        GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp(`^${target}`), 'GroupId'] },
        SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('ConsumerSg'), 'GroupId'] },
      });
    }
  });

  it('exposes the typed endpoints contract', () => {
    expect(db.endpoints.port).toBe('5432');
    expect(db.endpoints.databaseName).toBe('app');
    expect(db.endpoints.proxy).toBeDefined();
    expect(db.endpoints.proxyReadOnly).toBeDefined();
    expect(db.endpoints.secret).toBe(db.secret);
  });

  it('offers metric helpers on the cluster dimension', () => {
    const dims = (m: { dimensions?: Record<string, unknown> }) => stack.resolve(m.dimensions);
    expect(db.metricCpuUtilization().metricName).toBe('CPUUtilization');
    expect(db.metricDatabaseConnections().metricName).toBe('DatabaseConnections');
    expect(db.metricFreeableMemory().metricName).toBe('FreeableMemory');
    expect(db.metricCommitLatency().metricName).toBe('CommitLatency');
    // 1-minute periods, as every alarm of the monitoring (the 5-minute default made a 3-of-5 alarm take 15-25 minutes)
    for (const m of [db.metricDatabaseConnections(), db.metricFreeableMemory(), db.metricCommitLatency(), db.metricWriterCpuUtilization(), db.metricReplicaLag()]) {
      expect(m.period.toSeconds(), m.metricName).toBe(60);
    }
    expect(db.metricReplicaLag().metricName).toBe('AuroraReplicaLag');
    expect(dims(db.metricReplicaLag())).toEqual({ DBClusterIdentifier: 'shop-db', Role: 'READER' });
    // Global Database lag: the metric AWS advises for the engine, as a Metrics Insights query over the cluster's
    // identifier, which matches the published dimension sets (they carry SourceRegion too) before and after a switchover
    const lag = db.metricGlobalReplicationLag();
    expect(stack.resolve(lag.expression)).toEqual({ 'Fn::Join': ['', ['SELECT MAX(AuroraGlobalDBRPOLag) FROM "AWS/RDS" WHERE DBClusterIdentifier = \'', { Ref: expect.stringMatching(/^DatabaseCluster/) }, '\'']] });
    expect(lag.period.toSeconds()).toBe(60);
    const custom = db.metricGlobalReplicationLag({ period: Duration.minutes(5), label: 'lag' });
    expect([custom.period.toSeconds(), custom.label]).toEqual([300, 'lag']);
    // no Serverless v2 instance: no capacity metric
    expect(db.metricServerlessDatabaseCapacity()).toBeUndefined();
  });

  it('adds no warnings', () => {
    const warnings = Annotations.fromStack(stack).findWarning('/TestStack/Database/*', Match.anyValue());
    expect(warnings).toEqual([]);
  });
});

describe('AuroraDatabase after a switchover (holdsWriter)', () => {
  const build = (id: string, region: string, engine: 'postgres' | 'mysql', globalDatabase: AuroraDatabaseProps['globalDatabase'], extra: Partial<AuroraDatabaseProps> = {}) => {
    const stack = new Stack(new App({ context: cdkJsonContext() }), id, { env: { region } });
    const network = new Network(stack, 'Network', { availabilityZones: [`${region}a`, `${region}b`, `${region}c`], cidr: '10.0.0.0/16' });
    const db = new AuroraDatabase(stack, 'Database', { vpc: network.vpc, clusterIdentifier: 'shop-db', engine, globalDatabase, ...extra });
    return { db, t: Template.fromStack(stack) };
  };
  const global = { globalClusterIdentifier: 'shop-global', secretName: 'shop/database/credentials', writeForwarding: true };

  it('a primary that no longer holds the writer forwards writes and publishes itself as a secondary', () => {
    const { db, t } = build('Demoted', 'us-east-1', 'postgres', { role: 'primary', ...global, holdsWriter: false });
    t.hasResourceProperties('AWS::RDS::DBCluster', { EnableGlobalWriteForwarding: true });
    expect([db.holdsWriter, db.forwardsWrites]).toEqual([false, true]);
    expect(t.findResources('AWS::SSM::Parameter', { Properties: { Name: '/shop-db/role', Value: 'secondary' } })).not.toEqual({});
  });

  it('a primary that no longer holds the writer pauses the credentials\' rotation (its cluster endpoint is inactive), keeping the secret', () => {
    // GIVEN the primary region's database after a switchover, and the same database holding the writer
    const demoted = build('Rotation', 'us-east-1', 'postgres', { role: 'primary', ...global, holdsWriter: false });
    const writer = build('Rotation', 'us-east-1', 'postgres', { role: 'primary', ...global });
    // THEN only the writer has a rotation schedule, its function and the metric the rotation alarm watches
    demoted.t.resourceCountIs('AWS::SecretsManager::RotationSchedule', 0);
    demoted.t.resourceCountIs('AWS::Serverless::Application', 0);
    expect([demoted.db.rotation, demoted.db.metricRotationErrors()]).toEqual([undefined, undefined]);
    writer.t.resourceCountIs('AWS::SecretsManager::RotationSchedule', 1);
    expect(writer.db.metricRotationErrors()).toBeDefined();
    // the secret itself is the same resource in both, kept on delete, with the same resource policy (the account root
    // may not delete it), which the rotation schedule used to put there
    const secretIds = (t: Template) => Object.entries(t.findResources('AWS::SecretsManager::Secret')).map(([id, r]) => [id, (r as { DeletionPolicy?: string }).DeletionPolicy]);
    expect(secretIds(demoted.t)).toEqual(secretIds(writer.t));
    expect(secretIds(demoted.t)).toEqual([[expect.stringMatching(/DatabaseClusterSecret/), 'Retain']]);
    expect(demoted.t.findResources('AWS::SecretsManager::ResourcePolicy')).toEqual(writer.t.findResources('AWS::SecretsManager::ResourcePolicy'));
    demoted.t.resourceCountIs('AWS::SecretsManager::ResourcePolicy', 1);
  });

  it('a primary that no longer holds the writer synthesizes under cdk-nag, its unrotated secret acknowledged with the reason', () => {
    // GIVEN the demoted primary in an app with cdk-nag's AwsSolutions checks WHEN synthesized THEN nothing is reported
    const app = new App({ context: cdkJsonContext() });
    const stack = new Stack(app, 'NagDemoted', { env: { region: 'us-east-1' } });
    const network = new Network(stack, 'Network', { availabilityZones: ['us-east-1a', 'us-east-1b', 'us-east-1c'], cidr: '10.0.0.0/16' });
    const db = new AuroraDatabase(stack, 'Database', { vpc: network.vpc, clusterIdentifier: 'shop-db', globalDatabase: { role: 'primary', ...global, holdsWriter: false } });
    Validations.of(app).addPlugins(new (loadCdkNag().AwsSolutionsChecks)(app));
    expect(() => app.synth()).not.toThrow();
    const acknowledged = db.cluster.node.findChild('Secret').node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY).map((m) => m.data as Record<string, string>);
    expect(acknowledged).toContainEqual({ 'Annotation::AwsSolutions-SMG4': expect.stringContaining('Rotation pauses while the Global Database writer is in another region') });
  });

  it('publishes the forwarding pools\' budget it is given in every member, and none without write forwarding', () => {
    const budgetOf = (t: Template) => Object.values(t.findResources('AWS::SSM::Parameter', { Properties: { Name: '/shop-db/forwarding-pool-max' } })).map((r) => (r as { Properties: { Value: unknown } }).Properties.Value);
    expect(budgetOf(build('BudgetSecondary', 'eu-west-1', 'postgres', { role: 'secondary', ...global, forwardingPoolMax: 2 }).t)).toEqual(['2']);
    // the writer moves: its region publishes it too, for when it is a secondary
    expect(budgetOf(build('BudgetWriter', 'us-east-1', 'postgres', { role: 'primary', ...global, forwardingPoolMax: 2 }).t)).toEqual(['2']);
    expect(budgetOf(build('BudgetNone', 'eu-west-1', 'postgres', { role: 'secondary', ...global }).t)).toEqual([]);
    // without PostgreSQL's write forwarding there are no forwarding pools to size: refused, naming the field
    expect(() => build('BudgetOff', 'eu-west-1', 'postgres', { role: 'secondary', ...global, writeForwarding: false, forwardingPoolMax: 2 }))
      .toThrow(/globalDatabase\.forwardingPoolMax sizes the runtime's forwarding pools, which exist only with Aurora PostgreSQL's write forwarding \(globalDatabase\.writeForwarding: true\); got engine postgres, writeForwarding false \(got: 2\)/);
    expect(() => build('BudgetMysql', 'eu-west-1', 'mysql', { role: 'secondary', ...global, forwardingPoolMax: 2 })).toThrow(/got engine mysql, writeForwarding true \(got: 2\)/);
    expect(() => build('BudgetBad', 'eu-west-1', 'postgres', { role: 'secondary', ...global, forwardingPoolMax: 0 }))
      .toThrow(/AuroraDatabase: globalDatabase\.forwardingPoolMax must be a whole number of connections from 1 to 100000 \(got: 0\)/);
  });

  it('a primary holding the writer is created without the flag (it is not a member yet), its proxy leaving room for forwarded sessions', () => {
    const { db, t } = build('Writer', 'us-east-1', 'postgres', { role: 'primary', ...global });
    expect((Object.values(t.findResources('AWS::RDS::DBCluster'))[0] as { Properties: Record<string, unknown> }).Properties.EnableGlobalWriteForwarding).toBeUndefined();
    t.hasResourceProperties('AWS::RDS::DBProxyTargetGroup', { ConnectionPoolConfigurationInfo: Match.objectLike({ MaxConnectionsPercent: 70 }) });
    expect([db.holdsWriter, db.forwardsWrites]).toEqual([true, false]);
  });

  it('watches the lag metric AWS advises for the engine: RPO lag, or replication lag before Aurora MySQL 3.04', () => {
    const sql = (db: AuroraDatabase) => JSON.stringify(Stack.of(db).resolve(db.metricGlobalReplicationLag().expression));
    expect(sql(build('LagPg', 'eu-west-1', 'postgres', { role: 'secondary', ...global }).db)).toContain('SELECT MAX(AuroraGlobalDBRPOLag) FROM \\"AWS/RDS\\"');
    expect(sql(build('LagMy', 'eu-west-1', 'mysql', { role: 'secondary', ...global }).db)).toContain('SELECT MAX(AuroraGlobalDBRPOLag)');
    expect(sql(build('LagMyOld', 'eu-west-1', 'mysql', { role: 'secondary', ...global }, { engineVersion: '3.03.1' }).db)).toContain('SELECT MAX(AuroraGlobalDBReplicationLag)');
    expect([globalLagMetricName('mysql', '3.04.0'), globalLagMetricName('mysql', '3.02.2'), globalLagMetricName('postgres', '11.9')])
      .toEqual(['AuroraGlobalDBRPOLag', 'AuroraGlobalDBReplicationLag', 'AuroraGlobalDBRPOLag']);
  });

  it('autoscales the readers only on the member holding the writer: Aurora Auto Scaling does not scale Global Database secondaries', () => {
    const readerAutoScaling = { maxReaders: 6 };
    const targets = (t: Template) => Object.keys(t.findResources('AWS::ApplicationAutoScaling::ScalableTarget'));
    const secondary = build('ScalingSecondary', 'eu-west-1', 'postgres', { role: 'secondary', ...global }, { readerAutoScaling });
    expect(secondary.db.readerScalableTarget).toBeUndefined();
    expect(targets(secondary.t)).toEqual([]);
    secondary.t.resourceCountIs('AWS::ApplicationAutoScaling::ScalingPolicy', 0);
    const warnings = Annotations.fromStack(Stack.of(secondary.db)).findWarning('*', Match.stringLikeRegexp('readerAutoScaling is left out on this Global Database secondary'));
    expect(warnings).toHaveLength(1);
    // the writer's member scales, also after a switchover moved the writer to a secondary; a demoted primary does not
    expect(targets(build('ScalingPrimary', 'us-east-1', 'postgres', { role: 'primary', ...global }, { readerAutoScaling }).t)).toHaveLength(1);
    expect(targets(build('ScalingPromoted', 'eu-west-1', 'postgres', { role: 'secondary', ...global, holdsWriter: true }, { readerAutoScaling }).t)).toHaveLength(1);
    expect(targets(build('ScalingDemoted', 'us-east-1', 'postgres', { role: 'primary', ...global, holdsWriter: false }, { readerAutoScaling }).t)).toEqual([]);
  });

  it('a secondary that was promoted publishes itself as the writer, through its cluster endpoint', () => {
    const { db } = build('Promoted', 'eu-west-1', 'postgres', { role: 'secondary', ...global, holdsWriter: true });
    expect([db.holdsWriter, db.forwardsWrites]).toEqual([true, false]);
  });

  describe('the application users follow the writer', () => {
    const withUsers = (id: string, region: string, globalDatabase: AuroraDatabaseProps['globalDatabase']) => {
      const stack = new Stack(new App({ context: cdkJsonContext() }), id, { env: { region } });
      const network = new Network(stack, 'Network', { availabilityZones: [`${region}a`, `${region}b`, `${region}c`], cidr: '10.0.0.0/16' });
      const db = new AuroraDatabase(stack, 'Database', { vpc: network.vpc, clusterIdentifier: 'shop-db', applicationUsers: ['web', 'api'], globalDatabase });
      return { db, t: Template.fromStack(stack) };
    };

    it('the promoted secondary creates them through its own cluster endpoint, reading its replica of the master secret', () => {
      const { db, t } = withUsers('PromotedUsers', 'eu-west-1', { role: 'secondary', ...global, primaryRegion: 'us-east-1', holdsWriter: true });
      expect(db.applicationUsersProvisioning).toBeDefined();
      t.hasResourceProperties('Custom::ApplicationUsers', {
        Users: ['web', 'api'],
        Host: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DatabaseCluster'), 'Endpoint.Address'] },
        SecretArn: { 'Fn::Join': ['', ['arn:aws:secretsmanager:eu-west-1:', { Ref: 'AWS::AccountId' }, ':secret:shop/database/credentials']] },
      });
      // only once the replica exists
      const [resource] = Object.values(t.findResources('Custom::ApplicationUsers')) as Array<{ DependsOn: string[] }>;
      expect(resource.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/^DatabaseSecretReplica/)]));
      t.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: Match.stringLikeRegexp('^DatabaseApplicationUsersRole') }],
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'], Resource: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([':secret:shop/database/credentials-??????'])] }) })]) },
      });
    });

    it('the demoted primary has no function left (deleting it leaves every user in place)', () => {
      const { db, t } = withUsers('DemotedUsers', 'us-east-1', { role: 'primary', ...global, holdsWriter: false });
      expect(db.applicationUsersProvisioning).toBeUndefined();
      t.resourceCountIs('Custom::ApplicationUsers', 0);
    });
  });

  it('sets aurora_replica_read_consistency on Aurora MySQL, which forwards nothing without it: EVENTUAL behind RDS Proxy, which does not support SESSION with forwarding', () => {
    const { t } = build('MySql', 'eu-west-1', 'mysql', { role: 'secondary', ...global });
    t.resourceCountIs('AWS::RDS::DBProxy', 1);
    t.hasResourceProperties('AWS::RDS::DBClusterParameterGroup', { Parameters: Match.objectLike({ aurora_replica_read_consistency: 'EVENTUAL' }) });
    const direct = build('MySqlDirect', 'eu-west-1', 'mysql', { role: 'secondary', ...global }, { proxy: false }).t;
    direct.resourceCountIs('AWS::RDS::DBProxy', 0);
    direct.hasResourceProperties('AWS::RDS::DBClusterParameterGroup', { Parameters: Match.objectLike({ aurora_replica_read_consistency: 'SESSION' }) });
  });
});

describe('AuroraDatabase proxy names', () => {
  it('gives every proxy its own name without the consumer\'s feature flags, and the name the flag gives with them', () => {
    // GIVEN apps with no context at all, and with the databaseProxyUniqueResourceName flag of cdk.json
    const names = (context: Record<string, unknown>) => {
      const stack = new Stack(new App({ context }), 'Shop', { env: { region: 'eu-west-1' } });
      const { vpc } = new Network(stack, 'Network', { availabilityZones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'], cidr: '10.0.0.0/16' });
      // WHEN two databases (a second shard, say) live in one stack
      new AuroraDatabase(stack, 'Orders', { vpc });
      new AuroraDatabase(stack, 'Users', { vpc });
      return Object.values(resourcesOf(Template.fromStack(stack), 'AWS::RDS::DBProxy')).map((r) => r.Properties.DBProxyName);
    };
    // THEN the names differ, and are the flag's
    const bare = names({});
    expect(bare).toEqual([expect.stringMatching(/^ShopOrdersProxy[0-9A-F]{8}$/), expect.stringMatching(/^ShopUsersProxy[0-9A-F]{8}$/)]);
    // (the reference app's snapshots, synthesized with the flag, show the names did not change)
    expect(names({ '@aws-cdk/aws-rds:databaseProxyUniqueResourceName': true })).toEqual(bare);
  });
});

describe('AuroraDatabase placement', () => {
  const plain = (subnetConfiguration?: ec2.SubnetConfiguration[]) => {
    const stack = new Stack(new App({ context: cdkJsonContext() }), 'Plain', { env: { region: 'eu-west-1' } });
    return { stack, vpc: new ec2.Vpc(stack, 'Vpc', { availabilityZones: ['eu-west-1a', 'eu-west-1b'], ...(subnetConfiguration ? { subnetConfiguration } : {}) }) };
  };
  const subnetGroupRefs = (stack: Stack) => JSON.stringify((Object.values(resourcesOf(Template.fromStack(stack), 'AWS::RDS::DBSubnetGroup'))[0]).Properties.SubnetIds);

  it('goes in the private subnets with egress of a default ec2.Vpc, which has no isolated ones', () => {
    // GIVEN a VPC as `new ec2.Vpc()` makes it (public and private-with-egress subnets) WHEN the database takes its defaults
    const { stack, vpc } = plain();
    new AuroraDatabase(stack, 'Database', { vpc });
    // THEN cluster and proxy are in the private subnets
    expect(subnetGroupRefs(stack)).toMatch(/VpcPrivateSubnet1.*VpcPrivateSubnet2/);
    expect(JSON.stringify(resourcesOf(Template.fromStack(stack), 'AWS::RDS::DBProxy'))).toMatch(/VpcPrivateSubnet1/);
  });

  it.each<[string, ec2.SubnetConfiguration[] | undefined, ec2.SubnetSelection | undefined, string]>([
    ['the VPC has public subnets only', [{ name: 'Public', subnetType: ec2.SubnetType.PUBLIC }], undefined,
      'AuroraDatabase: vpcSubnets is not given and the VPC has no isolated or private subnets to default to (got: a VPC with 2 public subnet(s)); give vpcSubnets, or a VPC with private subnets'],
    ['vpcSubnets selects public subnets', undefined, { subnetType: ec2.SubnetType.PUBLIC },
      'AuroraDatabase: vpcSubnets must select private subnets, all isolated or all with egress, never public ones (got: 2 public subnet(s))'],
  ])('fails when %s, naming vpcSubnets', (_, config, vpcSubnets, message) => {
    const { stack, vpc } = plain(config);
    expect(validationErrorOf(() => new AuroraDatabase(stack, 'Database', { vpc, ...(vpcSubnets ? { vpcSubnets } : {}) }))).toEqual({ path: 'Plain/Database', message });
  });
});

describe('AuroraDatabase with a Secrets Manager interface endpoint', () => {
  it('rotates from the cluster\'s isolated subnets through the endpoint', () => {
    // GIVEN a network with a Secrets Manager endpoint WHEN the database is given it
    const stack = new Stack(new App({ context: cdkJsonContext() }), 'Endpoint', { env: { region: 'eu-west-1' } });
    const network = new Network(stack, 'Network', {
      availabilityZones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'], cidr: '10.0.0.0/16', interfaceEndpoints: [ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER],
    });
    new AuroraDatabase(stack, 'Database', { vpc: network.vpc, clusterIdentifier: 'shop-db', secretsManagerEndpoint: network.interfaceEndpoints.secretsmanager });
    const app = Object.values(Template.fromStack(stack).findResources('AWS::Serverless::Application'))[0] as { Properties: { Parameters: Record<string, unknown> } };
    // THEN
    expect(JSON.stringify(app.Properties.Parameters.vpcSubnetIds)).toMatch(/IsolatedSubnet/);
    // the regional name, which the endpoint's private DNS resolves inside the VPC (not aws-cdk-lib's vpce-<id> form)
    expect(app.Properties.Parameters.endpoint).toEqual({ 'Fn::Join': ['', ['https://secretsmanager.eu-west-1.', { Ref: 'AWS::URLSuffix' }]] });
    expect(JSON.stringify(Template.fromStack(stack).findResources('AWS::EC2::VPCEndpoint'))).toContain('"PrivateDnsEnabled":true');
  });

  it('refuses an endpoint without private DNS (the regional name would leave the VPC)', () => {
    const stack = new Stack(new App({ context: cdkJsonContext() }), 'NoDns', { env: { region: 'eu-west-1' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', {
      availabilityZones: ['eu-west-1a', 'eu-west-1b'], natGateways: 0,
      subnetConfiguration: [{ name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
    });
    const endpoint = vpc.addInterfaceEndpoint('Sm', { service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER, privateDnsEnabled: false });
    expect(() => new AuroraDatabase(stack, 'Database', { vpc, secretsManagerEndpoint: endpoint })).toThrow(/secretsManagerEndpoint must have private DNS on, .*\(got: privateDnsEnabled false\)/);
  });

  it('fails when the rotation would have no path to Secrets Manager', () => {
    const stack = new Stack(new App({ context: cdkJsonContext() }), 'NoPath', { env: { region: 'eu-west-1' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', {
      availabilityZones: ['eu-west-1a', 'eu-west-1b'], natGateways: 0,
      subnetConfiguration: [{ name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
    });
    expect(validationErrorOf(() => new AuroraDatabase(stack, 'Database', { vpc }))).toEqual({
      path: 'NoPath/Database', message: expect.stringMatching(/rotation needs a path to Secrets Manager: give secretsManagerEndpoint .* \(got: neither\)/),
    });
  });
});

describe('AuroraDatabase (MySQL, Serverless v2 readers, no proxy, no autoscaling)', () => {
  let t: Template;
  let db: AuroraDatabase;
  beforeAll(() => {
    const { stack, vpc } = stackWithVpc();
    db = new AuroraDatabase(stack, 'Database', {
      vpc,
      engine: 'mysql',
      engineVersion: '3.08.0',
      writerInstance: new ec2.InstanceType('r7g.xlarge'),
      readerInstance: 'serverless',
      readers: 3,
      serverlessV2MinCapacity: 2,
      serverlessV2MaxCapacity: 32,
      proxy: false,
      iamAuthentication: false,
      databaseInsightsMode: rds.DatabaseInsightsMode.ADVANCED,
      monitoringInterval: Duration.seconds(15),
      backupRetention: Duration.days(14),
    });
    t = Template.fromStack(stack);
  });

  it('runs Aurora MySQL 3 with a mixed writer and Serverless v2 readers', () => {
    t.hasResourceProperties('AWS::RDS::DBCluster', {
      Engine: 'aurora-mysql',
      EngineVersion: '8.0.mysql_aurora.3.08.0',
      ServerlessV2ScalingConfiguration: { MinCapacity: 2, MaxCapacity: 32 },
      EnableCloudwatchLogsExports: ['error', 'slowquery', 'audit'],
      EnableIAMDatabaseAuthentication: false,
      BackupRetentionPeriod: 14,
      DatabaseInsightsMode: 'advanced',
      PerformanceInsightsRetentionPeriod: 465,
    });
    const classes = Object.values(resourcesOf(t, 'AWS::RDS::DBInstance')).map((r) => [r.Properties.DBInstanceClass, r.Properties.PromotionTier, r.Properties.MonitoringInterval]);
    expect(classes).toEqual([['db.r7g.xlarge', 0, 15], ['db.serverless', 1, 15], ['db.serverless', 2, 15], ['db.serverless', 2, 15]]);
  });

  it('enforces TLS through the MySQL cluster parameter group', () => {
    t.hasResourceProperties('AWS::RDS::DBClusterParameterGroup', { Family: 'aurora-mysql8.0', Parameters: Match.objectLike({ require_secure_transport: 'ON' }) });
  });

  it('creates no proxy and no scalable target, and publishes no proxy endpoints', () => {
    t.resourceCountIs('AWS::RDS::DBProxy', 0);
    t.resourceCountIs('AWS::RDS::DBProxyEndpoint', 0);
    t.resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', 0);
    expect(db.endpoints.proxy).toBeUndefined();
    expect(db.endpoints.port).toBe('3306');
  });
});

describe('AuroraDatabase (Global Database: primary and secondary)', () => {
  let primary: Template;
  let secondary: Template;
  let secondaryForwarding: Template;
  beforeAll(() => {
    const app = new App({ context: cdkJsonContext() });
    const make = (id: string, region: string, props: Partial<AuroraDatabaseProps>) => {
      const stack = new Stack(app, id, { env: { region } });
      const network = new Network(stack, 'Network', { availabilityZones: [`${region}a`, `${region}b`, `${region}c`], cidr: '10.0.0.0/16' });
      new AuroraDatabase(stack, 'Database', { vpc: network.vpc, clusterIdentifier: 'shop-db', ...props });
      return stack;
    };
    const global = { globalClusterIdentifier: 'shop-global', secretName: 'shop/database/credentials' };
    const stacks = [
      make('Primary', 'us-east-1', { globalDatabase: { role: 'primary', ...global } }),
      make('Secondary', 'eu-west-1', { globalDatabase: { role: 'secondary', ...global, primaryRegion: 'us-east-1' } }),
      make('SecondaryFwd', 'ap-southeast-1', { proxyIamAuth: true, globalDatabase: { role: 'secondary', ...global, writeForwarding: true } }),
    ];
    [primary, secondary, secondaryForwarding] = stacks.map((s) => Template.fromStack(s));
  });

  it('creates the global cluster from the primary cluster, retained and protected', () => {
    primary.hasResource('AWS::RDS::GlobalCluster', {
      Properties: Match.objectLike({ GlobalClusterIdentifier: 'shop-global', SourceDBClusterIdentifier: { Ref: Match.stringLikeRegexp('^DatabaseCluster') }, DeletionProtection: true }),
      DeletionPolicy: 'Retain',
    });
    const cluster = Object.values(resourcesOf(primary, 'AWS::RDS::DBCluster'))[0];
    expect(cluster.Properties.GlobalClusterIdentifier).toBeUndefined();
  });

  it('creates the named credentials secret on the primary, listing no replica region (secondaries pull theirs)', () => {
    primary.hasResourceProperties('AWS::SecretsManager::Secret', { Name: 'shop/database/credentials', ReplicaRegions: Match.absent() });
    primary.resourceCountIs('Custom::SecretReplica', 0);
  });

  it('has a secondary given primaryRegion pull its replica from the primary region, decrypting through Secrets Manager only', () => {
    const requests = Object.values(resourcesOf(secondary, 'Custom::SecretReplica'));
    expect(requests).toHaveLength(1);
    expect(JSON.parse(requests[0].Properties.Create as string)).toEqual({
      service: 'SecretsManager',
      action: 'replicateSecretToRegions',
      region: 'us-east-1',
      parameters: { SecretId: 'shop/database/credentials', AddReplicaRegions: [{ Region: 'eu-west-1' }], ForceOverwriteReplicaSecret: true },
      physicalResourceId: { id: 'shop/database/credentials@eu-west-1' },
      logApiResponseData: false,
    });
    const secretArn = { 'Fn::Join': ['', ['arn:aws:secretsmanager:us-east-1:', { Ref: 'AWS::AccountId' }, ':secret:shop/database/credentials-??????']] };
    secondary.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          { Action: ['secretsmanager:RemoveRegionsFromReplication', 'secretsmanager:ReplicateSecretToRegions'], Effect: 'Allow', Resource: secretArn },
          {
            Action: 'kms:Decrypt',
            Effect: 'Allow',
            Resource: { 'Fn::Join': ['', ['arn:aws:kms:us-east-1:', { Ref: 'AWS::AccountId' }, ':key/*']] },
            Condition: {
              StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['secretsmanager.us-east-1.', { Ref: 'AWS::URLSuffix' }]] } },
              StringLike: { 'kms:EncryptionContext:SecretARN': secretArn },
            },
          },
        ],
        Version: '2012-10-17',
      },
    });
  });

  it('creates the secondary\'s proxy only after its replica exists', () => {
    const [requestId] = Object.keys(resourcesOf(secondary, 'Custom::SecretReplica'));
    const proxy = Object.values(resourcesOf(secondary, 'AWS::RDS::DBProxy'))[0] as { DependsOn?: string[] };
    expect(proxy.DependsOn).toContain(requestId);
  });

  it('makes no replica request on a secondary without primaryRegion', () => {
    secondaryForwarding.resourceCountIs('Custom::SecretReplica', 0);
  });

  it('joins the secondary to the global cluster by identifier, with its own key and no master user', () => {
    secondary.resourceCountIs('AWS::RDS::GlobalCluster', 0);
    secondary.resourceCountIs('AWS::SecretsManager::Secret', 0);
    secondary.resourceCountIs('AWS::SecretsManager::RotationSchedule', 0);
    const cluster = Object.values(resourcesOf(secondary, 'AWS::RDS::DBCluster'))[0].Properties;
    expect(cluster.GlobalClusterIdentifier).toBe('shop-global');
    expect(cluster.MasterUsername).toBeUndefined();
    expect(cluster.MasterUserPassword).toBeUndefined();
    expect(cluster.DatabaseName).toBeUndefined();
    expect(cluster.EnableGlobalWriteForwarding).toBeUndefined();
    expect(cluster.EngineVersion).toBe('16.6');
    expect(cluster.KmsKeyId).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^DatabaseKey/), 'Arn'] });
    secondary.resourceCountIs('AWS::KMS::Key', 1);
  });

  it('serves local reads through the secondary\'s own readers and proxy read-only endpoint, using the replicated secret', () => {
    secondary.resourceCountIs('AWS::RDS::DBInstance', 3);
    secondary.hasResourceProperties('AWS::RDS::DBProxyEndpoint', { TargetRole: 'READ_ONLY' });
    secondary.hasResourceProperties('AWS::RDS::DBProxy', {
      Auth: [Match.objectLike({ SecretArn: { 'Fn::Join': ['', ['arn:aws:secretsmanager:eu-west-1:', { Ref: 'AWS::AccountId' }, ':secret:shop/database/credentials']] } })],
    });
  });

  it('turns on write forwarding on a secondary when asked', () => {
    secondaryForwarding.hasResourceProperties('AWS::RDS::DBCluster', { GlobalClusterIdentifier: 'shop-global', EnableGlobalWriteForwarding: true });
    // the proxy leaves connections to write forwarding
    secondaryForwarding.hasResourceProperties('AWS::RDS::DBProxyTargetGroup', { ConnectionPoolConfigurationInfo: Match.objectLike({ MaxConnectionsPercent: 70 }) });
  });

  it('publishes each cluster\'s role and write path for the runtime', () => {
    const param = (t: Template, name: string) => (Object.values(t.findResources('AWS::SSM::Parameter', { Properties: { Name: `/shop-db/${name}` } }))[0] as { Properties: { Value: unknown } }).Properties.Value;
    // the primary writes through its cluster endpoint
    expect(param(primary, 'role')).toBe('primary');
    expect(param(primary, 'write-forwarding')).toBe('off');
    expect(param(primary, 'writer')).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^DatabaseCluster/), 'Endpoint.Address'] });
    // a forwarding secondary takes writes on its instances (its cluster endpoint is inactive) and forwards them
    expect(param(secondaryForwarding, 'role')).toBe('secondary');
    expect(param(secondaryForwarding, 'write-forwarding')).toBe('on');
    expect(param(secondaryForwarding, 'writer')).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^DatabaseCluster/), 'ReadEndpoint.Address'] });
    // a read-only secondary has no write path: it says so
    expect(param(secondary, 'write-forwarding')).toBe('off');
    expect(param(secondary, 'writer')).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^DatabaseCluster/), 'Endpoint.Address'] });
  });


  it('requires IAM authentication at the proxy when asked', () => {
    secondaryForwarding.hasResourceProperties('AWS::RDS::DBProxy', { RequireTLS: true, Auth: [Match.objectLike({ IAMAuth: 'REQUIRED' })] });
    secondary.hasResourceProperties('AWS::RDS::DBProxy', { Auth: [Match.objectLike({ IAMAuth: 'DISABLED' })] });
  });
});

describe('AuroraDatabase (the startup stage: one Serverless v2 writer at 0.5 ACU, no reader, no proxy, no Performance Insights)', () => {
  let t: Template;
  let db: AuroraDatabase;
  let stack: Stack;
  beforeAll(() => {
    // GIVEN a VPC and a fleet-like consumer WHEN the database is the smallest that still recovers on its own
    const s = stackWithVpc();
    stack = s.stack;
    const { consumer } = consumerIn(stack, s.vpc);
    db = new AuroraDatabase(stack, 'Database', {
      vpc: s.vpc, clusterIdentifier: 'shop-db', parameterPrefix: '/shop/database', writerInstance: 'serverless', readers: 0,
      serverlessV2MinCapacity: 0.5, serverlessV2MaxCapacity: 16, proxy: false, performanceInsights: false,
    });
    db.grantConsumer(consumer);
    t = Template.fromStack(stack);
  });

  it('runs one db.serverless writer between 0.5 and 16 ACU', () => {
    t.resourceCountIs('AWS::RDS::DBInstance', 1);
    t.hasResourceProperties('AWS::RDS::DBInstance', { DBInstanceClass: 'db.serverless', EnablePerformanceInsights: false });
    t.hasResourceProperties('AWS::RDS::DBCluster', { ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 16 } });
  });

  it('turns Performance Insights off on the cluster and the instance (no insights mode, key or retention)', () => {
    const cluster = Object.values(resourcesOf(t, 'AWS::RDS::DBCluster'))[0].Properties;
    expect(cluster.PerformanceInsightsEnabled).toBe(false);
    for (const key of ['DatabaseInsightsMode', 'PerformanceInsightsKmsKeyId', 'PerformanceInsightsRetentionPeriod']) expect(cluster[key], key).toBeUndefined();
    const instance = Object.values(resourcesOf(t, 'AWS::RDS::DBInstance'))[0].Properties;
    expect(instance.PerformanceInsightsKMSKeyId).toBeUndefined();
    expect(instance.PerformanceInsightsRetentionPeriod).toBeUndefined();
  });

  it('publishes the writer and reader endpoints without proxy entries, and grants the consumer the cluster port', () => {
    t.resourceCountIs('AWS::RDS::DBProxy', 0);
    const names = Object.values(resourcesOf(t, 'AWS::SSM::Parameter')).map((p) => p.Properties.Name);
    expect(names.sort()).toEqual(['authentication', 'database-name', 'engine', 'port', 'reader', 'role', 'secret-arn', 'write-forwarding', 'writer'].map((k) => `/shop/database/${k}`));
    t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { FromPort: 5432, ToPort: 5432, SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ConsumerSg'), 'GroupId'] } });
    expect(db.endpoints.proxy).toBeUndefined();
  });

  it('offers the Serverless v2 capacity metric (what the cluster is billed for)', () => {
    const m = db.metricServerlessDatabaseCapacity()!;
    expect([m.metricName, m.statistic, m.period.toMinutes()]).toEqual(['ServerlessDatabaseCapacity', 'Average', 1]);
    expect(stack.resolve(m.dimensions)).toEqual({ DBClusterIdentifier: { Ref: expect.stringMatching(/^DatabaseCluster/) } });
  });
});

describe('AuroraDatabase bad input', () => {
  const primary = { role: 'primary' as const, globalClusterIdentifier: 'g', secretName: 's' };
  it.each<[string, Partial<AuroraDatabaseProps>, RegExp]>([
    ['readers > 15', { readers: 16 }, /^AuroraDatabase: readers must be a whole number from 0 to 15 \(got: 16\)$/],
    ['advanced Database Insights is asked for without Performance Insights', { performanceInsights: false, databaseInsightsMode: rds.DatabaseInsightsMode.ADVANCED }, /databaseInsightsMode ADVANCED needs performanceInsights \(got: performanceInsights false\)/],
    ['min readers > max readers', { readers: 1, readerAutoScaling: { minReaders: 5, maxReaders: 3 } }, /readerAutoScaling.minReaders \(5\) must not exceed maxReaders \(3\)/],
    ['max readers is below the CloudFormation readers', { readers: 4, readerAutoScaling: { minReaders: 1, maxReaders: 3 } }, /readerAutoScaling.maxReaders \(3\) must be at least readers \(4\)/],
    ['Serverless min ACU > max ACU', { serverlessV2MinCapacity: 32, serverlessV2MaxCapacity: 16 }, /serverlessV2MinCapacity \(32\) must not exceed serverlessV2MaxCapacity \(16\)/],
    ['the minimum ACU is out of range', { serverlessV2MinCapacity: 0.25 }, /serverlessV2MinCapacity must be 0 or 0.5-256 in steps of 0.5 \(got: 0.25\)/],
    ['the maximum ACU is out of range', { serverlessV2MaxCapacity: 300 }, /serverlessV2MaxCapacity must be 1-256 in steps of 0.5 \(got: 300\)/],
    ['PostgreSQL has no such version', { engineVersion: '16.99' }, /engineVersion "16.99" is not an Aurora PostgreSQL version \(known: .*16\.6/],
    ['MySQL 3 has no such version', { engine: 'mysql', engineVersion: '16.6' }, /engineVersion "16.6" is not an Aurora MySQL 3 version/],
    ['the cluster identifier is not a valid name', { clusterIdentifier: 'Shop_DB' }, /clusterIdentifier must be lowercase .* \(got: "Shop_DB"\)/],
    ['the monitoring interval is not one RDS offers', { monitoringInterval: Duration.seconds(20) }, /monitoringInterval must be 0, 1, 5, 10, 15, 30 or 60 seconds \(got: 20\)/],
    ['a primary is given primaryRegion (only a secondary pulls a replica)', { globalDatabase: { ...primary, primaryRegion: 'us-east-1' } }, /globalDatabase\.primaryRegion is only for a secondary \(got: us-east-1\)/],
    ['a global database uses a burstable class', { writerInstance: new ec2.InstanceType('t4g.medium'), globalDatabase: primary }, /writerInstance t4g\.medium cannot be used in a global database/],
    ['availabilityZones is empty', { availabilityZones: [] }, /^AuroraDatabase: availabilityZones must not be empty \(got: \[\]\)$/],
  ])('fails when %s, naming the database', (_, props, message) => {
    // GIVEN a VPC WHEN a database is given the props THEN a ValidationError points at that database
    const { stack, vpc } = stackWithVpc();
    expect(validationErrorOf(() => new AuroraDatabase(stack, 'Orders', { vpc, ...props }))).toEqual({ path: 'TestStack/Orders', message: expect.stringMatching(message) });
  });

  it('knows current PostgreSQL and MySQL 3 versions', () => {
    expect(auroraEngineVersions('postgres')).toEqual(expect.arrayContaining(['16.6', '17.4']));
    expect(auroraEngineVersions('mysql')).toEqual(expect.arrayContaining(['3.08.0']));
  });
});

describe('AuroraDatabase application users (IAM database authentication, one user per fleet)', () => {
  let t: Template;
  let db: AuroraDatabase;
  let stack: Stack;
  beforeAll(() => {
    // GIVEN a cluster with two application users, and a fleet-like consumer that names its user
    const s = stackWithVpc();
    stack = s.stack;
    db = new AuroraDatabase(stack, 'Database', { vpc: s.vpc, clusterIdentifier: 'shop-db', parameterPrefix: '/shop/database', applicationUsers: ['web', 'worker_jobs'] });
    const { consumer } = consumerIn(stack, s.vpc);
    db.grantConsumer({ ...consumer, databaseUser: 'web' });
    t = Template.fromStack(stack);
  });

  it('puts end-to-end IAM authentication on the proxy: no secret, a role that may connect as the users only', () => {
    const proxy = Object.values(resourcesOf(t, 'AWS::RDS::DBProxy'))[0];
    expect(proxy.Properties).toMatchObject({ DefaultAuthScheme: 'IAM_AUTH', RequireTLS: true, RoleArn: { 'Fn::GetAtt': [expect.stringMatching(/^DatabaseProxyRole/), 'Arn'] } });
    expect(proxy.Properties.Auth).toBeUndefined();
    const user = (u: string) => ({ 'Fn::Join': ['', ['arn:aws:rds-db:us-east-1:', { Ref: 'AWS::AccountId' }, ':dbuser:', { 'Fn::GetAtt': [expect.stringMatching(/^DatabaseCluster/), 'DBClusterResourceId'] }, `/${u}`]] });
    t.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^DatabaseProxyRole') }],
      PolicyDocument: { Statement: [{ Effect: 'Allow', Action: 'rds-db:connect', Resource: [Match.anyValue(), Match.anyValue()] }] },
    });
    const [policy] = Object.values(t.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^DatabaseProxyRole') }] } })) as Array<{ Properties: { PolicyDocument: { Statement: Array<{ Resource: unknown }> } } }>;
    expect(policy.Properties.PolicyDocument.Statement[0].Resource).toEqual([user('web'), user('worker_jobs')]);
  });

  it('grants a consumer that names its user rds-db:connect as that user on the proxy and on the cluster, and no secret', () => {
    const [policy] = Object.values(t.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('ConsumerRole') }] } })) as Array<{ Properties: { PolicyDocument: { Statement: Array<{ Action: string | string[]; Resource: unknown }> } } }>;
    const statements = policy.Properties.PolicyDocument.Statement;
    const connect = statements.filter((s) => s.Action === 'rds-db:connect').flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]));
    // through the proxy: dbuser:prx-…/web
    expect(connect).toContainEqual({ 'Fn::Join': ['', ['arn:aws:rds-db:us-east-1:', { Ref: 'AWS::AccountId' }, ':dbuser:', { 'Fn::Select': [6, { 'Fn::Split': [':', { 'Fn::GetAtt': [expect.stringMatching(/^DatabaseProxy/), 'DBProxyArn'] }] }] }, '/web']] });
    // directly to the cluster (a forwarding secondary's writes, a stage or region without the proxy): dbuser:cluster-…/web
    expect(connect).toContainEqual({ 'Fn::Join': ['', ['arn:aws:rds-db:us-east-1:', { Ref: 'AWS::AccountId' }, ':dbuser:', { 'Fn::GetAtt': [expect.stringMatching(/^DatabaseCluster/), 'DBClusterResourceId'] }, '/web']] });
    expect(connect).toHaveLength(2);
    expect(JSON.stringify(statements)).not.toMatch(/secretsmanager|kms:Decrypt/);
  });

  it('creates the users at deploy with a function in the VPC that alone reads the master secret and reaches the writer', () => {
    t.hasResourceProperties('Custom::ApplicationUsers', {
      DatabaseName: 'app', GroupRole: 's2m_application', Users: ['web', 'worker_jobs'],
      Host: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DatabaseCluster'), 'Endpoint.Address'] },
      SecretArn: { Ref: Match.stringLikeRegexp('^DatabaseClusterSecretAttachment') },
    });
    const fn = Object.values(resourcesOf(t, 'AWS::Lambda::Function')).find((f) => JSON.stringify(f.Properties).includes('Creates the application database users'))!;
    expect(fn.Properties).toMatchObject({ Runtime: 'nodejs24.x', Handler: 'index.handler', Environment: { Variables: { NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem' } } });
    expect(fn.Properties.VpcConfig).toBeDefined();
    t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 5432, ToPort: 5432,
      GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DatabaseSecurityGroup'), 'GroupId'] },
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DatabaseApplicationUsersSecurityGroup'), 'GroupId'] },
    });
    t.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^DatabaseApplicationUsersRole') }],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'] })]) },
    });
    // after the writer is up
    const resource = Object.values(resourcesOf(t, 'Custom::ApplicationUsers'))[0];
    expect(resource.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/^DatabaseClusterWriter/)]));
  });

  it('publishes that fleets authenticate with IAM', () => {
    t.hasResourceProperties('AWS::SSM::Parameter', { Name: '/shop/database/authentication', Value: 'iam' });
    expect(db.applicationUsers).toEqual(['web', 'worker_jobs']);
  });

  it('sets every user\'s statement_timeout (28 s by default) and publishes it for the runtime\'s client timeout', () => {
    t.hasResourceProperties('Custom::ApplicationUsers', { Users: ['web', 'worker_jobs'], StatementTimeoutMs: '28000' });
    t.hasResourceProperties('AWS::SSM::Parameter', { Name: '/shop/database/statement-timeout', Value: '28000' });
    // read through the prefix's GetParametersByPath (as the runtime reads it), not granted by name: no import per fleet
    const [policy] = Object.values(t.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('ConsumerRole') }] } }));
    const text = JSON.stringify(policy);
    expect(text).toContain('ssm:GetParametersByPath');
    expect(text).toContain('DatabaseEndpointsauthentication');
    expect(text).not.toContain('DatabaseEndpointsstatementtimeout');
  });

  it('changes the statement timeout in place: the same resources, the custom resource\'s property alone differs', () => {
    // GIVEN the same database with the default timeout and with 2 minutes
    const build = (statementTimeout?: Duration) => {
      const s = stackWithVpc();
      new AuroraDatabase(s.stack, 'Database', { vpc: s.vpc, clusterIdentifier: 'shop-db', parameterPrefix: '/shop/database', applicationUsers: ['web'], ...(statementTimeout ? { statementTimeout } : {}) });
      return Template.fromStack(s.stack).toJSON() as { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };
    };
    const before = build();
    const after = build(Duration.minutes(2));
    // THEN no logical id changes, and what changes is the users' property and the published value
    expect(Object.keys(after.Resources).sort()).toEqual(Object.keys(before.Resources).sort());
    const changed = Object.keys(after.Resources).filter((id) => JSON.stringify(after.Resources[id]) !== JSON.stringify(before.Resources[id]));
    expect(changed.map((id) => after.Resources[id]!.Type).sort()).toEqual(['AWS::SSM::Parameter', 'Custom::ApplicationUsers']);
    const users = Object.values(after.Resources).find((r) => r.Type === 'Custom::ApplicationUsers')!;
    expect(users.Properties).toMatchObject({ StatementTimeoutMs: '120000' });
  });

  it('publishes no statement timeout without application users (nothing sets one)', () => {
    const s = stackWithVpc('NoUsers');
    new AuroraDatabase(s.stack, 'Database', { vpc: s.vpc, parameterPrefix: '/shop/database' });
    expect(JSON.stringify(Template.fromStack(s.stack).findResources('AWS::SSM::Parameter'))).not.toContain('statement-timeout');
  });

  it('refuses to grant a user it does not have', () => {
    expect(validationErrorOf(() => db.grantConnect(new iam.Role(stack, 'Other', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') }), 'dbadmin')))
      .toEqual({ path: 'TestStack/Database', message: 'AuroraDatabase: grantConnect\'s dbUser must be one of applicationUsers (web, worker_jobs) (got: "dbadmin")' });
  });

  it('creates nothing on a Global Database secondary (users replicate), where its proxy still logs in as them', () => {
    const s = stackWithVpc('Secondary', 'eu-west-1');
    new AuroraDatabase(s.stack, 'Database', {
      vpc: s.vpc, applicationUsers: ['web'],
      globalDatabase: { role: 'secondary', globalClusterIdentifier: 'shop-global', secretName: 'shop/database/credentials', primaryRegion: 'us-east-1' },
    });
    const secondary = Template.fromStack(s.stack);
    secondary.resourceCountIs('Custom::ApplicationUsers', 0);
    secondary.hasResourceProperties('AWS::RDS::DBProxy', { DefaultAuthScheme: 'IAM_AUTH' });
  });

  it('asks for the users to be created by hand on Aurora MySQL, with the statements', () => {
    const s = stackWithVpc('MySql');
    new AuroraDatabase(s.stack, 'Database', { vpc: s.vpc, engine: 'mysql', applicationUsers: ['web'] });
    Template.fromStack(s.stack).resourceCountIs('Custom::ApplicationUsers', 0);
    Annotations.fromStack(s.stack).hasWarning('/MySql/Database', Match.stringLikeRegexp("CREATE USER 'web' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'"));
  });

  it.each([
    [{ applicationUsers: ['Web'] }, 'AuroraDatabase: applicationUsers[0] must be lowercase letters, digits and _, starting with a letter, at most 63 characters (got: "Web")'],
    [{ applicationUsers: ['rds_iam'] }, 'AuroraDatabase: applicationUsers[0] is a reserved role name (got: "rds_iam")'],
    [{ applicationUsers: ['web', 'web'] }, 'AuroraDatabase: applicationUsers[1] is a duplicate (got: "web")'],
    [{ applicationUsers: ['web'], iamAuthentication: false }, 'AuroraDatabase: applicationUsers log in with IAM database authentication: iamAuthentication must be true (got: false)'],
    [{ applicationUsers: ['web'], statementTimeout: Duration.millis(500) }, 'AuroraDatabase: statementTimeout must be whole milliseconds from 1 second to 24 hours (got: 500 millis)'],
    [{ applicationUsers: ['web'], statementTimeout: Duration.days(2) }, 'AuroraDatabase: statementTimeout must be whole milliseconds from 1 second to 24 hours (got: 2 days)'],
  ])('fails on %j, naming the database', (props, message) => {
    const s = stackWithVpc();
    expect(validationErrorOf(() => new AuroraDatabase(s.stack, 'Database', { vpc: s.vpc, ...props }))).toEqual({ path: 'TestStack/Database', message });
  });
});
