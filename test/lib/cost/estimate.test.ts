import { describe, expect, it } from 'vitest';
import {
  SECONDS_PER_MONTH,
  estimateCost,
  inventoryOf,
  resolveAssumptions,
  type CfnResource,
  type CostEstimate,
  type CostLine,
  type StackTemplate,
} from '../../../lib/cost';

const H = 730;

/** A stack of `resources` (logical id → resource) in `region`. */
function stack(region: string, resources: Record<string, CfnResource>, opts: { tier?: StackTemplate['tier']; outputs?: Record<string, unknown> } = {}): StackTemplate {
  return {
    stackName: `s-${opts.tier ?? 'app'}-${region}`,
    region,
    ...(opts.tier ? { tier: opts.tier } : {}),
    template: { Resources: resources, ...(opts.outputs ? { Outputs: Object.fromEntries(Object.entries(opts.outputs).map(([k, v]) => [k, { Value: v }])) } : {}) },
  };
}

/** A web fleet: an ASG behind a target group, its launch template and its request-count tracking policy. */
function webFleet(id: string, type: string, min: number, max: number, opts: { requestsPerMinute?: number; gb?: number } = {}): Record<string, CfnResource> {
  return {
    [`${id}LT`]: { Type: 'AWS::EC2::LaunchTemplate', Properties: { LaunchTemplateData: { InstanceType: type, Monitoring: { Enabled: true }, BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: opts.gb ?? 20, VolumeType: 'gp3' } }] } } },
    [id]: { Type: 'AWS::AutoScaling::AutoScalingGroup', Properties: { MinSize: String(min), MaxSize: String(max), TargetGroupARNs: [{ Ref: `${id}TG` }], LaunchTemplate: { LaunchTemplateId: { Ref: `${id}LT` }, Version: '1' } } },
    [`${id}TG`]: { Type: 'AWS::ElasticLoadBalancingV2::TargetGroup', Properties: {} },
    ...(opts.requestsPerMinute ? {
      [`${id}Policy`]: { Type: 'AWS::AutoScaling::ScalingPolicy', Properties: { AutoScalingGroupName: { Ref: id }, PolicyType: 'TargetTrackingScaling', TargetTrackingConfiguration: { PredefinedMetricSpecification: { PredefinedMetricType: 'ALBRequestCountPerTarget' }, TargetValue: opts.requestsPerMinute } } },
    } : {}),
  };
}

const alb = (subnets: number): CfnResource => ({ Type: 'AWS::ElasticLoadBalancingV2::LoadBalancer', Properties: { Scheme: 'internet-facing', Subnets: Array.from({ length: subnets }, (_, i) => `subnet-${i}`) } });

function floorOf(e: CostEstimate, match: RegExp): CostLine[] {
  return e.lines.filter((l) => l.part === 'floor' && match.test(l.item));
}

function sum(lines: CostLine[]): number {
  return lines.reduce((s, l) => s + l.monthly, 0);
}

describe('estimate: each price rule against a hand calculation (floor)', () => {
  it('prices a fleet at its minimum: instance-hours, gp3 volumes, detailed monitoring (7 custom metrics each)', () => {
    const e = estimateCost(inventoryOf([stack('us-east-1', webFleet('Web', 't4g.small', 2, 4), { outputs: { FleetNameWeb: { Ref: 'Web' } } })]));
    expect(floorOf(e, /EC2 t4g\.small × 2 \(web fleet Web\)/)[0]).toMatchObject({ tier: 'web', quantity: 2 * H, unitPrice: 0.0168 });
    expect(sum(floorOf(e, /EC2 t4g\.small/))).toBeCloseTo(2 * 0.0168 * H, 9); // $24.528
    expect(sum(floorOf(e, /EBS gp3 40 GB/))).toBeCloseTo(40 * 0.08, 9); // $3.20
    expect(sum(floorOf(e, /detailed monitoring/))).toBeCloseTo(2 * 7 * 0.3, 9); // $4.20
    expect(e.floor.total).toBeCloseTo(2 * 0.0168 * H + 40 * 0.08 + 14 * 0.3, 9);
  });

  it('prices a fleet whose scheduled action raises its minimum at that minimum all month (the upper bound)', () => {
    const e = estimateCost(inventoryOf([stack('us-east-1', {
      ...webFleet('Api', 'c7g.large', 3, 40),
      Morning: { Type: 'AWS::AutoScaling::ScheduledAction', Properties: { AutoScalingGroupName: { Ref: 'Api' }, MinSize: 6, Recurrence: '0 7 * * MON-FRI' } },
    })]));
    expect(floorOf(e, /^EC2 c7g\.large × 6 \(web fleet, min 6 by schedule "0 7 \* \* MON-FRI"\)$/)[0].monthly).toBeCloseTo(6 * 0.0725 * H, 9);
  });

  it('prices NAT gateways, Elastic IPs and an internet-facing ALB with one public IPv4 address per zone', () => {
    const e = estimateCost(inventoryOf([stack('us-east-1', {
      Nat1: { Type: 'AWS::EC2::NatGateway' }, Eip1: { Type: 'AWS::EC2::EIP' }, Lb: alb(3),
    })]));
    expect(e.floor.regions['us-east-1'].tiers.network).toBeCloseTo(0.045 * H + 0.005 * H, 9); // $36.50
    expect(e.floor.regions['us-east-1'].tiers.web).toBeCloseTo(0.0225 * H + 3 * 0.005 * H, 9); // $27.375
  });

  it('prices an interface endpoint per zone (subnet) and a gateway endpoint not at all', () => {
    const e = estimateCost(inventoryOf([stack('eu-west-1', {
      Sm: { Type: 'AWS::EC2::VPCEndpoint', Properties: { VpcEndpointType: 'Interface', ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, '.secretsmanager']] }, SubnetIds: ['a', 'b', 'c'] } },
      S3: { Type: 'AWS::EC2::VPCEndpoint', Properties: { VpcEndpointType: 'Gateway', ServiceName: 'com.amazonaws.eu-west-1.s3' } },
    }, { tier: 'network' })]));
    // eu-west-1 lists its own PrivateLink rate: $0.011 an hour per zone
    expect(floorOf(e, /interface endpoint secretsmanager \(3 zones\)/)[0]).toMatchObject({ quantity: 3 * H, unitPrice: 0.011, source: 'list' });
    expect(e.floor.total).toBeCloseTo(3 * 0.011 * H, 9); // $24.09
  });

  it('prices a NAT instance (source/destination check off) under network, with its address and root volume', () => {
    const e = estimateCost(inventoryOf([stack('us-east-1', {
      Nat: { Type: 'AWS::EC2::Instance', Properties: { InstanceType: 't4g.nano', SourceDestCheck: false, BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 8, VolumeType: 'gp3' } }], NetworkInterfaces: [{ AssociatePublicIpAddress: true }] } },
    })]));
    expect(e.floor.regions['us-east-1'].tiers.network).toBeCloseTo(0.0042 * H + 8 * 0.08 + 0.005 * H, 9); // $7.366
  });

  it('prices Aurora instances by class, readers added by autoscaling\'s minimum, Serverless v2 at its minimum ACU, I/O-Optimized at +30%', () => {
    const cluster = (id: string, props: Record<string, unknown>): Record<string, CfnResource> => ({ [id]: { Type: 'AWS::RDS::DBCluster', Properties: { DBClusterIdentifier: id.toLowerCase(), ...props } } });
    const instance = (cluster: string, cls: string): CfnResource => ({ Type: 'AWS::RDS::DBInstance', Properties: { DBClusterIdentifier: { Ref: cluster }, DBInstanceClass: cls, MonitoringInterval: 0 } });
    const e = estimateCost(inventoryOf([stack('us-east-1', {
      ...cluster('Prov', {}),
      ProvWriter: instance('Prov', 'db.r7g.large'),
      ProvReader: instance('Prov', 'db.r7g.large'),
      ProvScaling: { Type: 'AWS::ApplicationAutoScaling::ScalableTarget', Properties: { ScalableDimension: 'rds:cluster:ReadReplicaCount', ResourceId: 'cluster:prov', MinCapacity: 3, MaxCapacity: 8 } },
      ...cluster('Sv2', { ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 16 } }),
      Sv2Writer: instance('Sv2', 'db.serverless'),
      ...cluster('Iopt', { StorageType: 'aurora-iopt1' }),
      IoptWriter: instance('Iopt', 'db.t4g.medium'),
    }, { tier: 'data' })]));
    // 1 writer + 3 readers (autoscaling keeps 3; the template has 1)
    expect(floorOf(e, /Aurora db\.r7g\.large × 4 \(prov, 2 added by reader autoscaling's minimum\)/)[0].monthly).toBeCloseTo(4 * 0.276 * H, 9);
    expect(floorOf(e, /Aurora Serverless v2 × 1 at 0.5 ACU/)[0].monthly).toBeCloseTo(0.5 * 0.12 * H, 9); // $43.80
    expect(floorOf(e, /Aurora db\.t4g\.medium × 1 \(iopt, I\/O-Optimized\)/)[0].monthly).toBeCloseTo(0.073 * 1.3 * H, 9);
  });

  it('prices RDS Proxy per vCPU behind it (at least 2) or per ACU (at least 8), and each extra endpoint per zone', () => {
    const e = estimateCost(inventoryOf([stack('us-east-1', {
      C: { Type: 'AWS::RDS::DBCluster', Properties: {} },
      W: { Type: 'AWS::RDS::DBInstance', Properties: { DBClusterIdentifier: { Ref: 'C' }, DBInstanceClass: 'db.r7g.xlarge' } },
      R: { Type: 'AWS::RDS::DBInstance', Properties: { DBClusterIdentifier: { Ref: 'C' }, DBInstanceClass: 'db.r7g.large' } },
      P: { Type: 'AWS::RDS::DBProxy', Properties: {} },
      PT: { Type: 'AWS::RDS::DBProxyTargetGroup', Properties: { DBProxyName: { Ref: 'P' }, DBClusterIdentifiers: [{ Ref: 'C' }] } },
      PE: { Type: 'AWS::RDS::DBProxyEndpoint', Properties: { DBProxyName: { Ref: 'P' }, VpcSubnetIds: ['a', 'b', 'c'] } },
      S: { Type: 'AWS::RDS::DBCluster', Properties: { ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 4 } } },
      SW: { Type: 'AWS::RDS::DBInstance', Properties: { DBClusterIdentifier: { Ref: 'S' }, DBInstanceClass: 'db.serverless' } },
      SP: { Type: 'AWS::RDS::DBProxy', Properties: {} },
      SPT: { Type: 'AWS::RDS::DBProxyTargetGroup', Properties: { DBProxyName: { Ref: 'SP' }, DBClusterIdentifiers: [{ Ref: 'S' }] } },
    })]));
    expect(floorOf(e, /RDS Proxy P \(6 vCPU/)[0].monthly).toBeCloseTo(6 * 0.015 * H, 9); // 4 + 2 vCPU: $65.70
    expect(floorOf(e, /extra endpoint \(3 zones\)/)[0].monthly).toBeCloseTo(3 * 0.01 * H, 9); // $21.90
    expect(floorOf(e, /RDS Proxy SP \(8 ACU/)[0].monthly).toBeCloseTo(8 * 0.015 * H, 9); // minimum 8 ACU: $87.60
  });

  it('prices cache nodes: shards × (1 + replicas), at least autoscaling\'s minimums, Valkey 20% below Redis', () => {
    const e = estimateCost(inventoryOf([stack('us-east-1', {
      Cache: { Type: 'AWS::ElastiCache::ReplicationGroup', Properties: { CacheNodeType: 'cache.r7g.large', Engine: 'valkey', NumNodeGroups: 2, ReplicasPerNodeGroup: 1 } },
      Shards: { Type: 'AWS::ApplicationAutoScaling::ScalableTarget', Properties: { ServiceNamespace: 'elasticache', ScalableDimension: 'elasticache:replication-group:NodeGroups', ResourceId: { 'Fn::Join': ['', ['replication-group/', { Ref: 'Cache' }]] }, MinCapacity: 3 } },
      Redis: { Type: 'AWS::ElastiCache::ReplicationGroup', Properties: { CacheNodeType: 'cache.t4g.micro', Engine: 'redis', NumCacheClusters: 2 } },
    })]));
    expect(floorOf(e, /valkey cache\.r7g\.large × 6 \(3 shards × 2 nodes\)/)[0].monthly).toBeCloseTo(6 * 0.1752 * H, 9);
    expect(floorOf(e, /redis cache\.t4g\.micro × 2/)[0].monthly).toBeCloseTo(2 * 0.016 * H, 9);
  });

  it('prices WAF (ACL, rules, paid rule groups), CloudFront additional metrics and health checks with their features', () => {
    const e = estimateCost(inventoryOf([stack('us-east-1', {
      Acl: { Type: 'AWS::WAFv2::WebACL', Properties: { Scope: 'CLOUDFRONT', Rules: [{}, {}, { Statement: { ManagedRuleGroupStatement: { Name: 'AWSManagedRulesBotControlRuleSet' } } }] } },
      Dist: { Type: 'AWS::CloudFront::Distribution', Properties: { DistributionConfig: { PriceClass: 'PriceClass_100' } } },
      Sub: { Type: 'AWS::CloudFront::MonitoringSubscription', Properties: { DistributionId: { Ref: 'Dist' } } },
    }, { tier: 'edge' }), stack('eu-west-1', {
      Hc: { Type: 'AWS::Route53::HealthCheck', Properties: { HealthCheckConfig: { Type: 'HTTPS', RequestInterval: 10, MeasureLatency: true } } },
      Calc: { Type: 'AWS::Route53::HealthCheck', Properties: { HealthCheckConfig: { Type: 'CALCULATED' } } },
    })]));
    expect(e.floor.regions.global.tiers.edge).toBeCloseTo(5 + 3 * 1 + 10 + 8 * 0.3, 9); // $20.40
    // an endpoint check at the non-AWS rate (0.75) with 3 features at 2.00; a calculated check at 0.50
    expect(e.floor.regions['eu-west-1'].tiers.dns).toBeCloseTo(0.75 + 3 * 2 + 0.5, 9);
  });

  it('prices alarms per metric (metric math counts each metric, high resolution at $0.30), composite alarms and dashboards', () => {
    const stat = (period: number) => ({ MetricStat: { Period: period } });
    const e = estimateCost(inventoryOf([stack('us-east-1', {
      Simple: { Type: 'AWS::CloudWatch::Alarm', Properties: { MetricName: 'CPUUtilization', Period: 60 } },
      Math: { Type: 'AWS::CloudWatch::Alarm', Properties: { Metrics: [{ Expression: 'MAX([a,b,c])' }, stat(60), stat(60), stat(60)] } },
      Fast: { Type: 'AWS::CloudWatch::Alarm', Properties: { MetricName: 'Latency', Period: 10 } },
      Comp: { Type: 'AWS::CloudWatch::CompositeAlarm', Properties: {} },
      Dash: { Type: 'AWS::CloudWatch::Dashboard', Properties: {} },
    })]));
    expect(e.floor.regions['us-east-1'].tiers.monitoring).toBeCloseTo(4 * 0.1 + 0.3 + 0.5 + 3, 9);
  });

  it('prices KMS keys, secrets, secret replicas where they land (pushed or pulled) and advanced parameters', () => {
    const e = estimateCost(inventoryOf([
      stack('us-east-1', {
        Key: { Type: 'AWS::KMS::Key' },
        Secret: { Type: 'AWS::SecretsManager::Secret', Properties: { ReplicaRegions: [{ Region: 'eu-west-1' }] } },
        Param: { Type: 'AWS::SSM::Parameter', Properties: { Tier: 'Advanced' } },
        Std: { Type: 'AWS::SSM::Parameter', Properties: { Tier: 'Standard' } },
      }, { tier: 'data' }),
      stack('ap-southeast-1', {
        Pull: { Type: 'Custom::SecretReplica', Properties: { Create: JSON.stringify({ service: 'SecretsManager', action: 'replicateSecretToRegions', region: 'us-east-1', parameters: { SecretId: 'x', AddReplicaRegions: [{ Region: 'ap-southeast-1' }] } }) } },
        Other: { Type: 'Custom::VpcRestrictDefaultSG', Properties: {} },
      }, { tier: 'data' }),
    ]));
    expect(e.floor.regions['us-east-1'].tiers.secrets).toBeCloseTo(1 + 0.4 + 0.05, 9);
    expect(e.floor.regions['eu-west-1'].tiers.secrets).toBeCloseTo(0.4, 9);
    expect(e.floor.regions['ap-southeast-1'].tiers.secrets).toBeCloseTo(0.4, 9);
  });

  it('reports what it cannot price instead of dropping it, and warns about a region without prices', () => {
    const e = estimateCost(inventoryOf([stack('eu-central-1', {
      Odd: { Type: 'AWS::OpenSearchService::Domain' },
      Lt: { Type: 'AWS::EC2::LaunchTemplate', Properties: { LaunchTemplateData: { InstanceType: 'x9z.large' } } },
      Asg: { Type: 'AWS::AutoScaling::AutoScalingGroup', Properties: { MinSize: '1', MaxSize: '1', LaunchTemplate: { LaunchTemplateId: { Ref: 'Lt' } } } },
    })]));
    expect(e.unpriced).toEqual(expect.arrayContaining([
      { region: 'eu-central-1', what: 'AWS::OpenSearchService::Domain', count: 1 },
      expect.objectContaining({ region: 'eu-central-1', what: expect.stringMatching(/EC2 x9z\.large .*no price in the table/) }),
    ]));
    expect(e.warnings).toEqual([expect.stringMatching(/no prices for eu-central-1 in the table: its resources are priced at us-east-1's prices/)]);
  });
});

describe('estimate: the load part', () => {
  const app = stack('us-east-1', {
    ...webFleet('Web', 'm7g.large', 2, 10, { requestsPerMinute: 1000 }),
    Lb: alb(2),
    Nat: { Type: 'AWS::EC2::NatGateway' },
    Flow: { Type: 'AWS::EC2::FlowLog', Properties: { LogDestinationType: 'cloud-watch-logs' } },
  });

  it('adds data transfer out, LCUs, the fleet beyond its minimum, NAT processing, cross-zone traffic and logs, as hand-calculated', () => {
    // GIVEN 100 million requests a month without a CDN
    const R = 100e6;
    const e = estimateCost(inventoryOf([app]), { requestsPerMonth: R });
    const a = resolveAssumptions({});
    const load = (match: RegExp) => sum(e.lines.filter((l) => l.part === 'load' && match.test(l.item)));
    expect(load(/data transfer out/)).toBeCloseTo((R * a.bytesPerRequest) / 1e9 * 0.09, 6); // 5,000 GB: $450
    // LCU: processed bytes dominate: 5,000 GB / 730 h = 6.85 GB/h → 6.85 LCU
    const lcu = Math.max((R * a.bytesPerRequest) / 1e9 / H, (R * a.newConnectionsPerRequest) / SECONDS_PER_MONTH / 25);
    expect(e.load.lcusPerLoadBalancer).toBeCloseTo(lcu, 9);
    expect(load(/ALB capacity units/)).toBeCloseTo(lcu * H * 0.008, 9);
    // 100M / (730 × 60) = 2,283 req/min over a 1,000 target → 3 instances, 1 beyond the minimum of 2
    expect(e.load.fleetInstances['us-east-1/Web']).toBe(3);
    expect(load(/EC2 m7g\.large × 1 .*scaled out/)).toBeCloseTo(0.0816 * H, 9);
    expect(load(/NAT gateway data processing/)).toBeCloseTo((R * a.natBytesPerRequest) / 1e9 * 0.045, 9);
    expect(load(/cross-zone/)).toBeCloseTo((2 * R * a.backendBytesPerRequest * 0.5) / 1e9 * 0.01, 9);
    expect(load(/VPC flow logs/)).toBeCloseTo((R * a.flowLogBytesPerRequest) / 1e9 * 0.5, 9);
    expect(load(/application logs/)).toBeCloseTo((R * a.logBytesPerRequest) / 1e9 * 0.5, 9);
    expect(e.atLoad.total - e.floor.total).toBeCloseTo(sum(e.lines.filter((l) => l.part === 'load')), 9);
  });

  it('sends requests through CloudFront when there is one: its requests and bytes, WAF requests, origin traffic cut by the hit ratio', () => {
    const edge = stack('us-east-1', {
      Dist: { Type: 'AWS::CloudFront::Distribution', Properties: { DistributionConfig: { PriceClass: 'PriceClass_100' } } },
      Acl: { Type: 'AWS::WAFv2::WebACL', Properties: { Scope: 'CLOUDFRONT', Rules: [] } },
    }, { tier: 'edge' });
    const R = 10e6;
    const e = estimateCost(inventoryOf([app, edge]), { requestsPerMonth: R, cacheHitRatio: 0.8, bytesPerRequest: 20_000 });
    const load = (match: RegExp) => sum(e.lines.filter((l) => l.part === 'load' && match.test(l.item)));
    expect(load(/CloudFront HTTPS requests/)).toBeCloseTo((R / 10_000) * 0.012, 9);
    expect(load(/CloudFront data transfer out/)).toBeCloseTo((R * 20_000) / 1e9 * 0.085, 9);
    expect(load(/WAF requests/)).toBeCloseTo((R / 1e6) * 0.6, 9);
    expect(load(/data transfer out to the internet/)).toBe(0); // origin to CloudFront is free
    expect(e.load.originRequestsPerMonth).toBeCloseTo(R * 0.2, 6);
  });

  it('keeps a Serverless v2 cluster at its minimum unless told the average ACUs at the load', () => {
    const data = stack('us-east-1', {
      S: { Type: 'AWS::RDS::DBCluster', Properties: { ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 16 } } },
      W: { Type: 'AWS::RDS::DBInstance', Properties: { DBClusterIdentifier: { Ref: 'S' }, DBInstanceClass: 'db.serverless' } },
    }, { tier: 'data' });
    const base = estimateCost(inventoryOf([app, data]));
    expect(base.lines.some((l) => /above the 0.5 minimum/.test(l.item))).toBe(false);
    const busy = estimateCost(inventoryOf([app, data]), { serverlessAcus: 2 });
    expect(sum(busy.lines.filter((l) => /above the 0.5 minimum/.test(l.item)))).toBeCloseTo(1.5 * 0.12 * H, 9);
  });
});

describe('assumptions', () => {
  it.each([
    [{ requestsPerMonth: 'many' }, /--requests-per-month must be a number \(got: many\)/],
    [{ cacheHitRatio: 1.5 }, /--cache-hit-ratio must be between 0 and 1 \(got: 1.5\)/],
    [{ databaseGb: -1 }, /databaseGb must be at least 0 \(got: -1\)/],
    [{ serverlessAcus: 0.1 }, /serverlessAcus must be between 0.5 and 256 ACUs \(got: 0.1\)/],
    [{ nope: 1 }, /unknown assumption nope \(known: requestsPerMonth, /],
  ])('fails when %j', (overrides, message) => {
    expect(() => resolveAssumptions(overrides)).toThrow(message);
  });
});
