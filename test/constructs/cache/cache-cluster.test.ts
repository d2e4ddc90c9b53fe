import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib/core';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { CacheCluster, CacheNodeType, type CacheClusterProps } from '../../../constructs/cache';
import { stackWithVpc, testApp } from '../../helpers/app';
import { validationErrorOf } from '../../helpers/errors';

function build(props: Partial<CacheClusterProps> = {}) {
  const { stack, vpc } = stackWithVpc();
  const cache = new CacheCluster(stack, 'Cache', { vpc, ...props });
  return { stack, vpc, cache };
}

function rgProps(stack: Stack): Record<string, unknown> {
  const rgs = Template.fromStack(stack).findResources('AWS::ElastiCache::ReplicationGroup');
  return Object.values(rgs)[0].Properties as Record<string, unknown>;
}

describe('CacheCluster with defaults', () => {
  let stack: Stack;
  let cache: CacheCluster;
  let template: Template;
  beforeAll(() => {
    ({ stack, cache } = build({ endpointParameterPrefix: '/shop/cache' }));
    template = Template.fromStack(stack);
  });

  it('creates a Valkey 8.x replication group in cluster mode with 2 shards × 1 replica', () => {
    template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      Engine: 'valkey',
      EngineVersion: Match.stringLikeRegexp('^8\\.'),
      ClusterMode: 'enabled',
      NumNodeGroups: 2,
      ReplicasPerNodeGroup: 1,
      CacheNodeType: 'cache.r7g.large',
      Port: 6379,
    });
  });

  it('always enables Multi-AZ with automatic failover', () => {
    template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', { MultiAZEnabled: true, AutomaticFailoverEnabled: true });
  });

  it('requires TLS in transit and encrypts at rest with a rotating customer managed key', () => {
    const keys = template.findResources('AWS::KMS::Key');
    const keyId = Object.keys(keys)[0];
    expect(keys[keyId].Properties.EnableKeyRotation).toBe(true);
    expect(keys[keyId].DeletionPolicy).toBe('Retain');
    template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      TransitEncryptionEnabled: true,
      TransitEncryptionMode: 'required',
      AtRestEncryptionEnabled: true,
      KmsKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
    });
  });

  it('authenticates with an RBAC user group: default user disabled, app user with a Secrets Manager password', () => {
    template.hasResourceProperties('AWS::ElastiCache::User', { UserName: 'default', AccessString: 'off -@all', Engine: 'valkey' });
    template.hasResourceProperties('AWS::ElastiCache::User', {
      UserName: 'app',
      AccessString: 'on ~* +@all -@dangerous +info',
      AuthenticationMode: { Type: 'password', Passwords: [{ 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('resolve:secretsmanager')])] }] },
    });
    template.resourceCountIs('AWS::ElastiCache::UserGroup', 1);
    const groupId = Object.keys(template.findResources('AWS::ElastiCache::UserGroup'))[0];
    template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', { UserGroupIds: [{ Ref: groupId }] });
    expect(rgProps(stack).AuthToken).toBeUndefined();
  });

  it('generates the app password: 32 letters and digits, username in the secret', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { SecretStringTemplate: '{"username":"app"}', GenerateStringKey: 'password', ExcludePunctuation: true, PasswordLength: 32 },
    });
  });

  it('places the subnet group in the isolated subnets', () => {
    template.hasResourceProperties('AWS::ElastiCache::SubnetGroup', {
      SubnetIds: [
        { Ref: Match.stringLikeRegexp('IsolatedSubnet1') },
        { Ref: Match.stringLikeRegexp('IsolatedSubnet2') },
        { Ref: Match.stringLikeRegexp('IsolatedSubnet3') },
      ],
    });
    const sg = Object.keys(template.findResources('AWS::ElastiCache::SubnetGroup'))[0];
    template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', { CacheSubnetGroupName: { Ref: sg } });
  });

  it('uses its own security group with no open egress, exposed as connections on port 6379', () => {
    expect(cache.connections.defaultPort?.toString()).toBe('6379');
    const sgId = Object.keys(template.findResources('AWS::EC2::SecurityGroup', { Properties: { GroupDescription: Match.stringLikeRegexp('^Cache') } }))[0];
    template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', { SecurityGroupIds: [{ 'Fn::GetAtt': [sgId, 'GroupId'] }] });
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('^Cache'),
      SecurityGroupEgress: [Match.objectLike({ CidrIp: '255.255.255.255/32' })],
    });
  });

  it('uses a cluster-mode parameter group of the engine family', () => {
    const pg = Object.keys(template.findResources('AWS::ElastiCache::ParameterGroup'))[0];
    template.hasResourceProperties('AWS::ElastiCache::ParameterGroup', { CacheParameterGroupFamily: 'valkey8', Properties: { 'cluster-enabled': 'yes' } });
    template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', { CacheParameterGroupName: { Ref: pg } });
  });

  it('keeps snapshots 7 days in non-overlapping windows', () => {
    template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      SnapshotRetentionLimit: 7,
      SnapshotWindow: '03:00-04:00',
      PreferredMaintenanceWindow: 'sun:05:00-sun:06:00',
    });
  });

  it('delivers slow and engine logs as JSON to retained log groups with retention', () => {
    template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      LogDeliveryConfigurations: [
        Match.objectLike({ LogType: 'slow-log', DestinationType: 'cloudwatch-logs', LogFormat: 'json', DestinationDetails: { CloudWatchLogsDetails: { LogGroup: { Ref: Match.stringLikeRegexp('SlowLog') } } } }),
        Match.objectLike({ LogType: 'engine-log', DestinationType: 'cloudwatch-logs', LogFormat: 'json', DestinationDetails: { CloudWatchLogsDetails: { LogGroup: { Ref: Match.stringLikeRegexp('EngineLog') } } } }),
      ],
    });
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: Match.anyValue() });
    expect(Object.values(template.findResources('AWS::Logs::LogGroup', { Properties: { RetentionInDays: 30 } })).length).toBeGreaterThanOrEqual(2);
  });

  it('takes a final snapshot on deletion or replacement, and reshards online', () => {
    template.hasResource('AWS::ElastiCache::ReplicationGroup', {
      DeletionPolicy: 'Snapshot',
      UpdateReplacePolicy: 'Snapshot',
      UpdatePolicy: { UseOnlineResharding: true },
    });
  });

  it('publishes the configuration endpoint, port, TLS, auth mode, username and secret ARN under the prefix', () => {
    const rg = Object.keys(template.findResources('AWS::ElastiCache::ReplicationGroup'))[0];
    template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/shop/cache/endpoint', Value: { 'Fn::GetAtt': [rg, 'ConfigurationEndPoint.Address'] } });
    template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/shop/cache/port', Value: '6379' });
    template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/shop/cache/tls', Value: 'required' });
    template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/shop/cache/auth-mode', Value: 'rbac' });
    template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/shop/cache/username', Value: 'app' });
    template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/shop/cache/secret-arn', Value: { Ref: Match.stringLikeRegexp('AuthSecret') } });
  });

  it('creates no autoscaling and no Global Datastore unless asked', () => {
    template.resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', 0);
    template.resourceCountIs('AWS::ElastiCache::GlobalReplicationGroup', 0);
  });

});

describe('CacheCluster placement', () => {
  const plain = (subnetConfiguration?: ec2.SubnetConfiguration[]) => {
    const stack = new Stack(testApp(), 'Plain', { env: { region: 'eu-west-1' } });
    return { stack, vpc: new ec2.Vpc(stack, 'Vpc', { availabilityZones: ['eu-west-1a', 'eu-west-1b'], ...(subnetConfiguration ? { subnetConfiguration } : {}) }) };
  };
  const subnetGroup = (stack: Stack) => Object.values(Template.fromStack(stack).findResources('AWS::ElastiCache::SubnetGroup'))[0].Properties as { SubnetIds: unknown; Description: string };

  it('goes in the private subnets with egress of a default ec2.Vpc, which has no isolated ones, and records that kind', () => {
    const { stack, vpc } = plain();
    new CacheCluster(stack, 'Cache', { vpc });
    const group = subnetGroup(stack);
    expect(JSON.stringify(group.SubnetIds)).toMatch(/VpcPrivateSubnet1.*VpcPrivateSubnet2/);
    expect(group.Description).toBe('Cache Plain/Cache (private subnets)');
  });

  it('takes any selection of private subnets, and guards a change of their kind like any replacement', () => {
    const { stack, vpc } = stackWithVpc();
    const previous = { engine: 'valkey', engineVersion: '8.1', port: 6379, subnets: 'isolated', authMode: 'rbac', globalDatastore: false } as const;
    expect(validationErrorOf(() => new CacheCluster(stack, 'Cache', { vpc, vpcSubnets: { subnetGroupName: 'Private' }, replacementGuard: { previous } })).message)
      .toMatch(/^CacheCluster: subnets "isolated" → "private": .*a new, EMPTY cache/);
    new CacheCluster(stack, 'Cache2', { vpc, vpcSubnets: { subnetGroupName: 'Isolated' }, replacementGuard: { previous } });
  });

  it.each<[string, ec2.SubnetConfiguration[] | undefined, ec2.SubnetSelection | undefined, string]>([
    ['the VPC has public subnets only', [{ name: 'Public', subnetType: ec2.SubnetType.PUBLIC }], undefined,
      'CacheCluster: vpcSubnets is not given and the VPC has no isolated or private subnets to default to (got: a VPC with 2 public subnet(s)); give vpcSubnets, or a VPC with private subnets'],
    ['vpcSubnets selects public subnets', undefined, { subnetType: ec2.SubnetType.PUBLIC },
      'CacheCluster: vpcSubnets must select private subnets, all isolated or all with egress, never public ones (got: 2 public subnet(s))'],
  ])('fails when %s, naming vpcSubnets', (_, config, vpcSubnets, message) => {
    const { stack, vpc } = plain(config);
    expect(validationErrorOf(() => new CacheCluster(stack, 'Cache', { vpc, ...(vpcSubnets ? { vpcSubnets } : {}) }))).toEqual({ path: 'Plain/Cache', message });
  });
});

describe('CacheCluster password rotation (RBAC)', () => {
  let template: Template;
  let cache: CacheCluster;
  beforeAll(() => {
    // GIVEN the default RBAC cache WHEN it is built
    ({ cache } = build());
    template = Template.fromStack(Stack.of(cache));
  });

  it('rotates the application user\'s password every 30 days with a function outside the VPC', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Handler: 'index.handler',
      Code: { ZipFile: Match.stringLikeRegexp("ModifyUser") },
      Environment: { Variables: { FIELD: 'password', LENGTH: '32', USER_ID: Match.stringLikeRegexp('-app$') } },
      VpcConfig: Match.absent(),
    });
    template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      SecretId: { Ref: Match.stringLikeRegexp('^CacheAuthSecret') },
      RotationRules: { ScheduleExpression: 'rate(30 days)' },
      RotateImmediatelyOnUpdate: false,
    });
    expect(cache.passwordRotation).toBeDefined();
    expect(cache.metricPasswordRotationErrors()).toBeDefined();
  });

  it('lets the function change only this user, after the user exists', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: Match.objectLike({ Statement: Match.arrayWith([Match.objectLike({
        Action: ['elasticache:DescribeUsers', 'elasticache:ModifyUser'],
        Resource: { 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp(':user:.*-app$')])] },
      })]) }),
    });
    const schedule = Object.values(template.findResources('AWS::SecretsManager::RotationSchedule'))[0];
    expect(schedule.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/^CacheAppUser/)]));
  });

  it('is off with passwordRotation false, and with an AUTH token', () => {
    for (const props of [{ passwordRotation: false as const }, { authMode: 'auth-token' as const }]) {
      const { stack } = build(props);
      Template.fromStack(stack).resourceCountIs('AWS::SecretsManager::RotationSchedule', 0);
    }
  });
});

describe('CacheCluster grantConsumer', () => {
  let template: Template;
  let stack: Stack;
  beforeAll(() => {
    const built = build({ endpointParameterPrefix: '/shop/cache' });
    stack = built.stack;
    const sg = new ec2.SecurityGroup(stack, 'FleetSg', { vpc: built.vpc });
    const role = new iam.Role(stack, 'FleetRole', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
    const consumer = { connections: new ec2.Connections({ securityGroups: [sg] }), grantPrincipal: role };
    built.cache.grantConsumer(consumer);
    template = Template.fromStack(stack);
  });

  it('opens the cache port to the consumer only', () => {
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      IpProtocol: 'tcp', FromPort: 6379, ToPort: 6379,
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('FleetSg'), 'GroupId'] },
      GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('CacheSecurityGroup'), 'GroupId'] },
    });
  });

  it('lets the consumer read the secret and the endpoint parameters', () => {
    const policies = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    expect(policies).toContain('secretsmanager:GetSecretValue');
    expect(policies).toContain('ssm:GetParametersByPath');
    expect(policies).toContain('ssm:GetParameter');
  });
});

describe('CacheCluster with Redis OSS, AUTH token, private subnets, RETAIN and autoscaling', () => {
  let template: Template;
  let stack: Stack;
  beforeAll(() => {
    ({ stack } = build({
      engine: 'redis',
      authMode: 'auth-token',
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      removalPolicy: RemovalPolicy.RETAIN,
      shards: 3,
      replicasPerShard: 2,
      port: 6380,
      snapshotRetention: Duration.days(15),
      autoScaling: { shards: { min: 2, max: 10 }, replicasPerShard: { min: 1, max: 4 }, targetCpuPercent: 55, targetMemoryPercent: 65 },
    }));
    template = Template.fromStack(stack);
  });

  it('runs Redis OSS 7 with the redis7 cluster parameter group', () => {
    template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', { Engine: 'redis', EngineVersion: '7.1', NumNodeGroups: 3, ReplicasPerNodeGroup: 2, Port: 6380, SnapshotRetentionLimit: 15 });
    template.hasResourceProperties('AWS::ElastiCache::ParameterGroup', { CacheParameterGroupFamily: 'redis7' });
  });

  it('uses an AUTH token from Secrets Manager and no user group', () => {
    template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      AuthToken: { 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('resolve:secretsmanager'), Match.stringLikeRegexp(':SecretString:password')])] },
    });
    template.resourceCountIs('AWS::ElastiCache::UserGroup', 0);
    expect(rgProps(stack).UserGroupIds).toBeUndefined();
  });

  it('places the subnet group in the private subnets', () => {
    template.hasResourceProperties('AWS::ElastiCache::SubnetGroup', { SubnetIds: Match.arrayWith([{ Ref: Match.stringLikeRegexp('PrivateSubnet1') }]) });
  });

  it('retains the replication group on deletion and replacement', () => {
    template.hasResource('AWS::ElastiCache::ReplicationGroup', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it('registers shard and replica scalable targets with the configured bounds (service-linked role)', () => {
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      ServiceNamespace: 'elasticache', ScalableDimension: 'elasticache:replication-group:NodeGroups', MinCapacity: 2, MaxCapacity: 10,
      ResourceId: { 'Fn::Join': ['', ['replication-group/', { Ref: Match.anyValue() }]] },
      RoleARN: Match.absent(),
    });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      ServiceNamespace: 'elasticache', ScalableDimension: 'elasticache:replication-group:Replicas', MinCapacity: 1, MaxCapacity: 4,
    });
  });

  it('tracks primary CPU and memory for shards and replica CPU for replicas', () => {
    const policy = (metric: string, value: number) => template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({ TargetValue: value, PredefinedMetricSpecification: { PredefinedMetricType: metric } }),
    });
    policy('ElastiCachePrimaryEngineCPUUtilization', 55);
    policy('ElastiCacheDatabaseMemoryUsageCountedForEvictPercentage', 65);
    policy('ElastiCacheReplicaEngineCPUUtilization', 55);
    template.resourceCountIs('AWS::ApplicationAutoScaling::ScalingPolicy', 3);
  });
});

describe('CacheCluster in a Global Datastore', () => {
  let primary: Template;
  let secondary: Template;
  let secondaryStack: Stack;
  beforeAll(() => {
    const p = build({ nodeType: CacheNodeType.of(ec2.InstanceClass.R7G, ec2.InstanceSize.LARGE), authMode: 'auth-token', globalDatastore: { role: 'primary', idSuffix: 'shop-cache' }, authSecretReplication: { secretName: 'shop/cache/auth-token' } });
    primary = Template.fromStack(p.stack);
    const s = stackWithVpc('Secondary', 'eu-west-1');
    new CacheCluster(s.stack, 'Cache', { vpc: s.vpc, authMode: 'auth-token', globalDatastore: { role: 'secondary', globalReplicationGroupId: 'ldgnf-shop-cache' } });
    secondaryStack = s.stack;
    secondary = Template.fromStack(s.stack);
  });

  it('creates the Global Datastore around the primary replication group', () => {
    const rg = Object.keys(primary.findResources('AWS::ElastiCache::ReplicationGroup'))[0];
    primary.hasResourceProperties('AWS::ElastiCache::GlobalReplicationGroup', {
      GlobalReplicationGroupIdSuffix: 'shop-cache',
      AutomaticFailoverEnabled: true,
      Members: [{ ReplicationGroupId: { Ref: rg }, ReplicationGroupRegion: 'us-east-1', Role: 'PRIMARY' }],
    });
  });

  it('names the AUTH token secret for the secondaries, listing no replica region (each secondary pulls its own)', () => {
    primary.hasResourceProperties('AWS::SecretsManager::Secret', { Name: 'shop/cache/auth-token', ReplicaRegions: Match.absent() });
  });

  it('joins a secondary by id and leaves the inherited settings out', () => {
    secondary.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', { GlobalReplicationGroupId: 'ldgnf-shop-cache', MultiAZEnabled: true, ReplicasPerNodeGroup: 1 });
    const props = rgProps(secondaryStack);
    for (const k of ['Engine', 'EngineVersion', 'CacheNodeType', 'NumNodeGroups', 'AuthToken', 'CacheParameterGroupName', 'AtRestEncryptionEnabled', 'TransitEncryptionEnabled']) {
      expect(props[k], k).toBeUndefined();
    }
    secondary.resourceCountIs('AWS::ElastiCache::ParameterGroup', 0);
    secondary.resourceCountIs('AWS::ElastiCache::GlobalReplicationGroup', 0);
  });
});

describe('CacheCluster metrics', () => {
  let stack: Stack;
  let cache: CacheCluster;
  beforeAll(() => {
    ({ stack, cache } = build());
  });

  const expr = (m: cloudwatch.IMetric) => m as cloudwatch.MathExpression;

  it('alarmable metrics use the replication group and role, never node ids (they survive autoscaling and failover)', () => {
    for (const [m, name] of [[cache.metricEngineCpu(), 'EngineCPUUtilization'], [cache.metricMemoryUsagePercent(), 'DatabaseMemoryUsageCountedForEvictPercentage']] as const) {
      expect(m).toBeInstanceOf(cloudwatch.Metric);
      const metric = m as cloudwatch.Metric;
      expect(metric.metricName).toBe(name);
      expect(metric.statistic).toBe('Maximum');
      expect(Object.keys(metric.dimensions ?? {}).sort()).toEqual(['ReplicationGroupId', 'Role']);
      expect(stack.resolve(metric.dimensions)).toEqual({ ReplicationGroupId: { Ref: expect.stringMatching(/^Cache/) }, Role: 'Primary' });
    }
  });

  it('dashboard metrics search every node of the group, so nodes added later are in them', () => {
    const search = (m: cloudwatch.IMetric) => JSON.stringify(stack.resolve(expr(m).expression));
    expect(search(cache.metricEvictions())).toMatch(/^"?.*SUM\(SEARCH\('\{AWS\/ElastiCache,CacheClusterId\} MetricName=\\"Evictions\\"/);
    expect(search(cache.metricCurrentConnections())).toContain('CurrConnections');
    expect(search(cache.metricReplicationLag())).toMatch(/MAX\(SEARCH/);
    expect(search(cache.metricCacheHitRate())).toMatch(/100 \* SUM\(SEARCH.*CacheHits.*CacheMisses/);
    for (const m of [cache.metricEvictions(), cache.metricCurrentConnections(), cache.metricReplicationLag(), cache.metricCacheHitRate()]) {
      expect(Object.keys(expr(m).usingMetrics)).toEqual([]);
      expect(JSON.stringify(stack.resolve(expr(m).expression))).not.toMatch(/-000\d-00\d/);
    }
  });
});

describe('CacheCluster with data tiering (r6gd)', () => {
  // ElastiCache, "Target tracking scaling policies": ElastiCacheDatabaseMemoryUsageCountedForEvictPercentage is not
  // eligible for r6gd, whose memory is meant to run at 100 % with values moved to SSD; the capacity metric is.
  let stack: Stack;
  let cache: CacheCluster;
  beforeAll(() => {
    ({ stack, cache } = build({ nodeType: new CacheNodeType('cache.r6gd.xlarge'), autoScaling: { shards: { min: 2, max: 4 } } }));
  });

  it('tracks the capacity used (memory and SSD) for shards, not the memory that runs full by design', () => {
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({ PredefinedMetricSpecification: { PredefinedMetricType: 'ElastiCacheDatabaseCapacityUsageCountedForEvictPercentage' } }),
    });
    const types = Object.values(template.findResources('AWS::ApplicationAutoScaling::ScalingPolicy'))
      .map((r) => (r.Properties as { TargetTrackingScalingPolicyConfiguration: { PredefinedMetricSpecification: { PredefinedMetricType: string } } }).TargetTrackingScalingPolicyConfiguration.PredefinedMetricSpecification.PredefinedMetricType);
    expect(types).not.toContain('ElastiCacheDatabaseMemoryUsageCountedForEvictPercentage');
  });

  it('measures memory use for alarms as the capacity used, on the replication group and role', () => {
    expect(cache.dataTiering).toBe(true);
    const metric = cache.metricMemoryUsagePercent() as cloudwatch.Metric;
    expect(metric.metricName).toBe('DatabaseCapacityUsageCountedForEvictPercentage');
    expect(stack.resolve(metric.dimensions)).toEqual({ ReplicationGroupId: { Ref: expect.stringMatching(/^Cache/) }, Role: 'Primary' });
  });

  it('keeps the memory metric for node types without data tiering', () => {
    const { cache: plain } = build();
    expect(plain.dataTiering).toBe(false);
    expect((plain.metricMemoryUsagePercent() as cloudwatch.Metric).metricName).toBe('DatabaseMemoryUsageCountedForEvictPercentage');
  });
});

describe('CacheCluster input validation', () => {
  const previous = { engine: 'valkey', engineVersion: '8.1', port: 6379, subnets: 'isolated', authMode: 'rbac', globalDatastore: false } as const;
  it.each<[string, Partial<CacheClusterProps>, RegExp]>([
    ['replicasPerShard is more than 5', { replicasPerShard: 6 }, /^CacheCluster: replicasPerShard must be 0-5 \(got: 6\)$/],
    ['Multi-AZ would have no replica', { replicasPerShard: 0 }, /Multi-AZ .* needs a replica .*\(got: 0\)/],
    ['there are no shards', { shards: 0 }, /shards must be a whole number from 1 to 500 \(got: 0\)/],
    ['there are too many shards', { shards: 501 }, /shards must be a whole number from 1 to 500 \(got: 501\)/],
    ['there are too many nodes', { shards: 200, replicasPerShard: 2 }, /at most 500 nodes \(got: 600\)/],
    ['the node type is unknown', { nodeType: new CacheNodeType('cache.x9.huge') }, /nodeType must be a Valkey\/Redis node type .*got: "cache.x9.huge"/],
    ['a t-class node would join a Global Datastore', { nodeType: new CacheNodeType('cache.t4g.medium'), authMode: 'auth-token', globalDatastore: { role: 'primary', idSuffix: 'shop-cache' } }, /cannot join a Global Datastore: .*no t-class.*got: cache.t4g.medium/],
    ['RBAC is combined with a Global Datastore', { globalDatastore: { role: 'primary', idSuffix: 'shop-cache' } }, /globalDatastore needs authMode auth-token.*got: rbac/],
    ['autoscaling is combined with a Global Datastore', { authMode: 'auth-token', globalDatastore: { role: 'primary', idSuffix: 'shop-cache' }, autoScaling: { shards: { min: 2, max: 4 } } }, /autoScaling is not supported on Global Datastore members/],
    ['a node type cannot autoscale', { nodeType: new CacheNodeType('cache.t4g.small'), autoScaling: { shards: { min: 2, max: 4 } } }, /nodeType cannot autoscale: .*got: cache.t4g.small/],
    ['autoScaling.targetCpuPercent is below 35', { autoScaling: { shards: { min: 2, max: 4 }, targetCpuPercent: 30 } }, /autoScaling.targetCpuPercent must be 35-70, the target values ElastiCache Auto Scaling accepts \(got: 30\)/],
    ['autoScaling.targetCpuPercent is above 70', { autoScaling: { shards: { min: 2, max: 4 }, targetCpuPercent: 75 } }, /autoScaling.targetCpuPercent must be 35-70, .*\(got: 75\)/],
    ['autoScaling.targetMemoryPercent is above 70', { autoScaling: { shards: { min: 2, max: 4 }, targetMemoryPercent: 80 } }, /autoScaling.targetMemoryPercent must be 35-70, .*\(got: 80\)/],
    ['shard bounds exclude the provisioned size', { autoScaling: { shards: { min: 3, max: 6 } } }, /autoScaling.shards bounds 3-6 must include the provisioned 2/],
    ['replica bounds exceed 5', { autoScaling: { replicasPerShard: { min: 1, max: 6 } } }, /autoScaling.replicasPerShard.max must be a whole number ≤ 5 \(got: 6\)/],
    ['the snapshot window overlaps maintenance', { maintenanceWindow: 'sun:03:30-sun:04:30' }, /snapshotWindow must not overlap the maintenance window sun:03:30-sun:04:30 \(got: "03:00-04:00"\)/],
    ['the windows overlap across midnight', { maintenanceWindow: 'mon:23:30-tue:00:30', snapshotWindow: '00:00-01:00' }, /must not overlap/],
    ['the snapshot window is short', { snapshotWindow: '03:00-03:30' }, /snapshotWindow must be at least 60 minutes long/],
    ['the maintenance window is malformed', { maintenanceWindow: 'sunday 5am' }, /maintenanceWindow must look like ddd:hh24:mi-ddd:hh24:mi .*got: "sunday 5am"/],
    ['the port is privileged', { port: 80 }, /^CacheCluster: port must be a whole number from 1024 to 65535 \(got: 80\)$/],
    ['snapshots are kept part of a day', { snapshotRetention: Duration.hours(36) }, /^CacheCluster: snapshotRetention must be whole days from 0 to 35 \(got: 1.5 days\)$/],
    ['snapshots are kept more than 35 days', { snapshotRetention: Duration.days(36) }, /snapshotRetention must be whole days from 0 to 35 \(got: 36 days\)/],
    ['the removal policy is DESTROY', { removalPolicy: RemovalPolicy.DESTROY }, /removalPolicy must be SNAPSHOT or RETAIN \(got: destroy\)/],
    ['the Valkey version is too old', { engine: 'valkey', engineVersion: '7.0' }, /valkey must be 7.2 or later \(got: 7.0\)/],
    ['passwordRotation is given with an AUTH token', { authMode: 'auth-token', passwordRotation: {} }, /passwordRotation applies to RBAC users.*\(got: authMode auth-token\)/],
    ['a replacement-only setting changed without acceptance', { port: 6380, replacementGuard: { previous } }, /port 6379 → 6380: .*a new, EMPTY cache.*acceptReplacement/],
    ['the engine version goes down, even with acceptance', { engineVersion: '8.0', replacementGuard: { previous, acceptReplacement: true } }, /engineVersion cannot go down from 8.1.*got: 8.0/],
    ['the node type moves into r6gd (data tiering) without acceptance', { nodeType: new CacheNodeType('cache.r6gd.xlarge'), replacementGuard: { previous: { ...previous, dataTiering: false } } }, /dataTiering false → true: .*a new, EMPTY cache/],
  ])('fails when %s, naming the cache', (_, props, message) => {
    expect(validationErrorOf(() => build(props))).toEqual({ path: 'TestStack/Cache', message: expect.stringMatching(message) });
  });

  it('accepts a replacement-only change with acceptance, and a version upgrade', () => {
    expect(() => build({ port: 6380, replacementGuard: { previous, acceptReplacement: true } })).not.toThrow();
    expect(() => build({ engineVersion: '8.2', replacementGuard: { previous } })).not.toThrow();
  });
});
