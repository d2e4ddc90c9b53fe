/**
 * What a config really deploys, read from its synthesized CloudFormation templates: instances per fleet at
 * minimum capacity, NAT gateways and instances, load balancers, interface endpoints, Aurora instances by class
 * and Serverless v2 capacity, proxies, cache nodes, WAF rules, health checks, alarms, dashboards, KMS keys,
 * secrets and their replicas. Reading the templates (not the config) means a resource another part of the code
 * adds is counted as soon as it is synthesized; a resource type this module does not know is reported as
 * unpriced, never dropped silently.
 */

/** The tiers a cost is reported under. */
export type CostTier = 'network' | 'web' | 'workers' | 'database' | 'proxy' | 'cache' | 'edge' | 'dns' | 'monitoring' | 'secrets' | 'other';

/** Tiers in report order. */
export const COST_TIERS: readonly CostTier[] = ['network', 'web', 'workers', 'database', 'proxy', 'cache', 'edge', 'dns', 'monitoring', 'secrets', 'other'];

/** The region key of resources that are global (the edge stack: CloudFront, its WAF). */
export const GLOBAL_REGION = 'global';

/** A CloudFormation resource as it appears in a synthesized template. */
export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

/** A synthesized template (the parts read here). */
export interface CfnTemplate {
  readonly Resources?: Record<string, CfnResource>;
  readonly Outputs?: Record<string, { readonly Value?: unknown }>;
}

/** One synthesized stack. */
export interface StackTemplate {
  readonly stackName: string;
  /** The stack's region. */
  readonly region: string;
  /** `edge` puts the stack's resources under {@link GLOBAL_REGION}. @default - a regional stack */
  readonly tier?: 'network' | 'data' | 'app' | 'edge';
  readonly template: CfnTemplate;
}

/** An EC2 Auto Scaling group (or a stand-alone instance, count 1). */
export interface FleetInventory {
  /** `web` (behind a target group), `workers` (no target group), `nat` (a NAT instance) or `other` (a stand-alone instance). */
  readonly role: 'web' | 'workers' | 'nat' | 'other';
  readonly stackName: string;
  readonly logicalId: string;
  /** The service or queue it serves (from the stack's outputs), when known. */
  readonly name?: string;
  readonly instanceType: string;
  /** The group's minimum. */
  readonly minCapacity: number;
  /** Minimums scheduled actions set (`AWS::AutoScaling::ScheduledAction`), with their schedules. */
  readonly scheduledMinimums: ReadonlyArray<{ readonly min: number; readonly schedule: string }>;
  readonly maxCapacity: number;
  /** EBS volumes of one instance. */
  readonly volumes: ReadonlyArray<{ readonly gb: number; readonly type: string }>;
  /** EC2 detailed monitoring (1-minute metrics, billed as custom metrics). */
  readonly detailedMonitoring: boolean;
  /** Each instance has a public IPv4 address. */
  readonly publicIpv4: boolean;
  /** Stopped (or hibernated) instances kept in a warm pool: they pay for their volumes. */
  readonly warmPoolStopped: number;
  /** Running instances kept in a warm pool: full price. */
  readonly warmPoolRunning: number;
  /** The `ALBRequestCountPerTarget` target (requests per instance per minute), when the group tracks it. */
  readonly requestsPerInstancePerMinute?: number;
  /** Several instance types (a mixed instances policy): priced at the first, on demand. */
  readonly otherInstanceTypes?: string[];
}

/** An Elastic Load Balancing v2 load balancer. */
export interface LoadBalancerInventory {
  readonly logicalId: string;
  readonly type: 'application' | 'network' | 'gateway';
  readonly internetFacing: boolean;
  /** Availability zones (subnets) it spans: one public IPv4 address each when internet-facing. */
  readonly azs: number;
  readonly accessLogs: boolean;
}

/** An instance of an Aurora cluster. */
export interface AuroraInstanceInventory {
  /** `db.serverless` or a provisioned class such as `db.r7g.large`. */
  readonly dbClass: string;
  /** Enhanced monitoring interval in seconds (0 = off). */
  readonly monitoringIntervalSeconds: number;
  /** Added by reader autoscaling to reach its minimum (not in the template). */
  readonly autoscaled: boolean;
}

/** An Aurora cluster and its instances. */
export interface AuroraClusterInventory {
  readonly stackName: string;
  readonly logicalId: string;
  readonly identifier?: string;
  readonly engine: string;
  /** `aurora-iopt1` storage: instances and ACUs cost 30 % more, storage more, I/O nothing. */
  readonly ioOptimized: boolean;
  /** Serverless v2 ACU range of the cluster (when it has serverless instances). */
  readonly serverless?: { readonly minAcu: number; readonly maxAcu: number };
  readonly instances: AuroraInstanceInventory[];
  /** A secondary of a global database (replicated write I/O). */
  readonly globalSecondary: boolean;
  /** Database Insights advanced mode. */
  readonly insightsAdvanced: boolean;
}

/** An RDS Proxy: billed per vCPU (or ACU) of the clusters behind it, plus its extra endpoints. */
export interface ProxyInventory {
  readonly logicalId: string;
  /** Logical ids of the clusters it fronts. */
  readonly clusterLogicalIds: string[];
  /** Availability zones (subnets) of each additional endpoint. */
  readonly endpointAzs: number[];
}

/** An ElastiCache replication group. */
export interface CacheInventory {
  readonly logicalId: string;
  readonly nodeType: string;
  readonly engine: string;
  /** Nodes at the floor: shards × (1 + replicas), at least autoscaling's minimums. */
  readonly nodes: number;
  readonly shards: number;
  readonly replicasPerShard: number;
  /** A secondary member of a Global Datastore. */
  readonly globalSecondary: boolean;
}

/** A WAF web ACL. */
export interface WebAclInventory {
  readonly logicalId: string;
  readonly scope: 'CLOUDFRONT' | 'REGIONAL';
  readonly rules: number;
  /** Managed rule groups with a subscription of their own (Bot Control, fraud control). */
  readonly paidRuleGroups: string[];
}

/** A CloudFront distribution. */
export interface DistributionInventory {
  readonly logicalId: string;
  readonly priceClass: string;
  readonly additionalMetrics: boolean;
}

/** A Route 53 health check. */
export interface HealthCheckInventory {
  readonly logicalId: string;
  readonly type: string;
  /** Optional features billed on top: HTTPS, string matching, fast interval, latency measurement. */
  readonly features: string[];
}

/** A CloudWatch metric alarm: how many metrics it evaluates and at which resolution. */
export interface AlarmInventory {
  readonly metrics: number;
  readonly highResolution: boolean;
}

/** Everything priced in one region (or {@link GLOBAL_REGION}). */
export interface RegionInventory {
  readonly region: string;
  readonly fleets: FleetInventory[];
  readonly natGateways: number;
  /** Elastic IP addresses (each is a public IPv4 address, attached or not). */
  readonly elasticIps: number;
  readonly loadBalancers: LoadBalancerInventory[];
  /** Interface VPC endpoints: availability zones of each. */
  readonly interfaceEndpoints: Array<{ readonly service: string; readonly azs: number }>;
  readonly clusters: AuroraClusterInventory[];
  readonly proxies: ProxyInventory[];
  readonly caches: CacheInventory[];
  readonly webAcls: WebAclInventory[];
  readonly distributions: DistributionInventory[];
  readonly healthChecks: HealthCheckInventory[];
  readonly alarms: AlarmInventory[];
  readonly compositeAlarms: number;
  readonly dashboards: number;
  readonly kmsKeys: number;
  /** Secrets created here (their replicas count where they land: {@link secretReplicas}). */
  readonly secrets: number;
  /** Replicas of a secret in this region: pulled (`replicateSecretToRegions` requests) or pushed (`ReplicaRegions`). */
  readonly secretReplicas: number;
  readonly ssmAdvancedParameters: number;
  readonly queues: Array<{ readonly logicalId: string; readonly fifo: boolean }>;
  /** VPC flow logs delivered to CloudWatch Logs. */
  readonly flowLogs: number;
  /** WAF logging configurations. */
  readonly wafLogging: number;
  /** Resource types with a cost this module does not price, and how many. */
  readonly unpriced: Record<string, number>;
}

/** The inventory of a whole app. */
export interface Inventory {
  /** Regions in stack order, {@link GLOBAL_REGION} last when present. */
  readonly regions: RegionInventory[];
}

/**
 * Resource types with no charge of their own (the cost is in another resource, or pay-per-use that the load
 * estimate covers or is negligible: Lambda custom resources, SNS alarm notifications, S3 buckets' storage).
 */
export const FREE_RESOURCE_TYPES: ReadonlySet<string> = new Set([
  'AWS::EC2::VPC', 'AWS::EC2::Subnet', 'AWS::EC2::RouteTable', 'AWS::EC2::SubnetRouteTableAssociation', 'AWS::EC2::Route',
  'AWS::EC2::InternetGateway', 'AWS::EC2::VPCGatewayAttachment', 'AWS::EC2::EgressOnlyInternetGateway', 'AWS::EC2::SecurityGroup',
  'AWS::EC2::SecurityGroupIngress', 'AWS::EC2::SecurityGroupEgress', 'AWS::EC2::NetworkAcl', 'AWS::EC2::NetworkAclEntry',
  'AWS::EC2::SubnetNetworkAclAssociation', 'AWS::EC2::LaunchTemplate', 'AWS::EC2::VPCCidrBlock', 'AWS::EC2::FlowLog',
  'AWS::IAM::Role', 'AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy', 'AWS::IAM::InstanceProfile',
  'AWS::Lambda::Function', 'AWS::Lambda::Permission', 'AWS::Lambda::LayerVersion', 'AWS::Serverless::Application',
  'AWS::Logs::LogGroup', 'AWS::Logs::ResourcePolicy', 'AWS::Logs::MetricFilter', 'AWS::Logs::SubscriptionFilter',
  'AWS::S3::Bucket', 'AWS::S3::BucketPolicy', 'AWS::SNS::Topic', 'AWS::SNS::TopicPolicy', 'AWS::SNS::Subscription',
  'AWS::SQS::QueuePolicy', 'AWS::KMS::Alias',
  'AWS::ElasticLoadBalancingV2::Listener', 'AWS::ElasticLoadBalancingV2::ListenerRule', 'AWS::ElasticLoadBalancingV2::TargetGroup',
  'AWS::ElasticLoadBalancingV2::ListenerCertificate', 'AWS::CertificateManager::Certificate',
  'AWS::AutoScaling::ScalingPolicy', 'AWS::AutoScaling::ScheduledAction', 'AWS::AutoScaling::LifecycleHook',
  'AWS::ApplicationAutoScaling::ScalableTarget', 'AWS::ApplicationAutoScaling::ScalingPolicy',
  'AWS::RDS::DBClusterParameterGroup', 'AWS::RDS::DBParameterGroup', 'AWS::RDS::DBSubnetGroup', 'AWS::RDS::GlobalCluster',
  'AWS::RDS::DBProxyTargetGroup',
  'AWS::ElastiCache::SubnetGroup', 'AWS::ElastiCache::ParameterGroup', 'AWS::ElastiCache::User', 'AWS::ElastiCache::UserGroup',
  'AWS::ElastiCache::GlobalReplicationGroup',
  'AWS::SecretsManager::SecretTargetAttachment', 'AWS::SecretsManager::RotationSchedule', 'AWS::SecretsManager::ResourcePolicy',
  'AWS::WAFv2::WebACLAssociation', 'AWS::WAFv2::IPSet', 'AWS::WAFv2::RegexPatternSet',
  'AWS::CloudFront::ResponseHeadersPolicy', 'AWS::CloudFront::OriginRequestPolicy', 'AWS::CloudFront::CachePolicy',
  'AWS::CloudFront::OriginAccessControl', 'AWS::CloudFront::CloudFrontOriginAccessIdentity',
  'AWS::Route53::RecordSet', 'AWS::Route53::RecordSetGroup',
  'AWS::CDK::Metadata', 'AWS::CloudFormation::WaitConditionHandle', 'AWS::CloudFormation::WaitCondition',
]);

type Props = Record<string, unknown>;

function props(r: CfnResource | undefined): Props {
  return (r?.Properties ?? {}) as Props;
}

/** The logical id a `{ Ref }` or `{ Fn::GetAtt }` points at. */
function refOf(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o.Ref === 'string') return o.Ref;
  const att = o['Fn::GetAtt'];
  if (Array.isArray(att) && typeof att[0] === 'string') return att[0];
  return undefined;
}

/** Every logical id referenced anywhere inside `v` (Ref and GetAtt). */
function refsIn(v: unknown, out: Set<string> = new Set()): Set<string> {
  const r = refOf(v);
  if (r) out.add(r);
  if (Array.isArray(v)) for (const x of v) refsIn(x, out);
  else if (typeof v === 'object' && v !== null) for (const x of Object.values(v)) refsIn(x, out);
  return out;
}

function num(v: unknown, fallback: number): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : fallback;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function emptyRegion(region: string): { -readonly [K in keyof RegionInventory]: RegionInventory[K] } {
  return {
    region, fleets: [], natGateways: 0, elasticIps: 0, loadBalancers: [], interfaceEndpoints: [], clusters: [], proxies: [],
    caches: [], webAcls: [], distributions: [], healthChecks: [], alarms: [], compositeAlarms: 0, dashboards: 0, kmsKeys: 0,
    secrets: 0, secretReplicas: 0, ssmAdvancedParameters: 0, queues: [], flowLogs: 0, wafLogging: 0, unpriced: {},
  };
}

/** Reads the inventory of every stack; stacks of one region are merged. */
export function inventoryOf(stacks: readonly StackTemplate[]): Inventory {
  const byRegion = new Map<string, ReturnType<typeof emptyRegion>>();
  const region = (name: string) => {
    if (!byRegion.has(name)) byRegion.set(name, emptyRegion(name));
    return byRegion.get(name)!;
  };
  const pushedReplicas: string[] = [];
  for (const stack of stacks) {
    const into = region(stack.tier === 'edge' ? GLOBAL_REGION : stack.region);
    pushedReplicas.push(...readStack(stack, into));
  }
  // A secret's ReplicaRegions put a replica (one more secret) in each listed region.
  for (const r of pushedReplicas) region(r).secretReplicas++;
  const regions = [...byRegion.values()].sort((a, b) => (a.region === GLOBAL_REGION ? 1 : 0) - (b.region === GLOBAL_REGION ? 1 : 0));
  return { regions };
}

/** Fills `into` from one stack; returns the regions its secrets push replicas to. */
function readStack(stack: StackTemplate, into: ReturnType<typeof emptyRegion>): string[] {
  const resources = stack.template.Resources ?? {};
  const entries = Object.entries(resources);
  const ofType = (type: string) => entries.filter(([, r]) => r.Type === type);
  const pushed: string[] = [];

  // Names of fleets (services, queues) from the stack's outputs: FleetName<Svc> / WorkerFleetName<Queue> → { Ref: ASG }.
  const fleetNames = new Map<string, string>();
  for (const [key, out] of Object.entries(stack.template.Outputs ?? {})) {
    const target = refOf(out.Value);
    const m = /^(Worker)?FleetName(.+)$/.exec(key);
    if (m && target) fleetNames.set(target, m[2]);
  }

  const handled = new Set<string>();
  const mark = (type: string) => handled.add(type);

  readFleets(stack, resources, fleetNames, into);
  mark('AWS::AutoScaling::AutoScalingGroup');
  mark('AWS::AutoScaling::WarmPool');
  mark('AWS::EC2::Instance');

  into.natGateways += ofType('AWS::EC2::NatGateway').length;
  mark('AWS::EC2::NatGateway');
  into.elasticIps += ofType('AWS::EC2::EIP').length;
  mark('AWS::EC2::EIP');

  for (const [id, r] of ofType('AWS::ElasticLoadBalancingV2::LoadBalancer')) {
    const p = props(r);
    const attrs = arr(p.LoadBalancerAttributes) as Array<{ Key?: string; Value?: unknown }>;
    into.loadBalancers.push({
      logicalId: id,
      type: (str(p.Type) ?? 'application') as LoadBalancerInventory['type'],
      internetFacing: (str(p.Scheme) ?? 'internet-facing') === 'internet-facing',
      azs: Math.max(arr(p.Subnets).length, arr(p.SubnetMappings).length),
      accessLogs: attrs.some((a) => a.Key === 'access_logs.s3.enabled' && String(a.Value) === 'true'),
    });
  }
  mark('AWS::ElasticLoadBalancingV2::LoadBalancer');

  for (const [, r] of ofType('AWS::EC2::VPCEndpoint')) {
    const p = props(r);
    if ((str(p.VpcEndpointType) ?? 'Gateway') === 'Interface') {
      into.interfaceEndpoints.push({ service: serviceName(p.ServiceName), azs: Math.max(1, arr(p.SubnetIds).length) });
    }
  }
  mark('AWS::EC2::VPCEndpoint');

  readAurora(stack, resources, into);
  for (const t of ['AWS::RDS::DBCluster', 'AWS::RDS::DBInstance', 'AWS::RDS::DBProxy', 'AWS::RDS::DBProxyEndpoint']) mark(t);

  readCaches(resources, into);
  mark('AWS::ElastiCache::ReplicationGroup');

  for (const [id, r] of ofType('AWS::WAFv2::WebACL')) {
    const p = props(r);
    const rules = arr(p.Rules) as Array<{ Statement?: { ManagedRuleGroupStatement?: { Name?: string } } }>;
    const paid = rules.map((x) => x.Statement?.ManagedRuleGroupStatement?.Name ?? '').filter((n) => PAID_RULE_GROUPS.includes(n));
    into.webAcls.push({ logicalId: id, scope: str(p.Scope) === 'CLOUDFRONT' ? 'CLOUDFRONT' : 'REGIONAL', rules: rules.length, paidRuleGroups: paid });
  }
  mark('AWS::WAFv2::WebACL');
  into.wafLogging += ofType('AWS::WAFv2::LoggingConfiguration').length;
  mark('AWS::WAFv2::LoggingConfiguration');

  const subscribed = new Set(ofType('AWS::CloudFront::MonitoringSubscription').map(([, r]) => refOf(props(r).DistributionId)).filter(Boolean));
  for (const [id, r] of ofType('AWS::CloudFront::Distribution')) {
    const cfg = (props(r).DistributionConfig ?? {}) as Props;
    into.distributions.push({ logicalId: id, priceClass: str(cfg.PriceClass) ?? 'PriceClass_All', additionalMetrics: subscribed.has(id) });
  }
  mark('AWS::CloudFront::Distribution');
  mark('AWS::CloudFront::MonitoringSubscription');

  for (const [id, r] of ofType('AWS::Route53::HealthCheck')) {
    const cfg = (props(r).HealthCheckConfig ?? {}) as Props;
    const type = str(cfg.Type) ?? 'HTTP';
    const features: string[] = [];
    if (type.startsWith('HTTPS')) features.push('HTTPS');
    if (type.endsWith('STR_MATCH')) features.push('string matching');
    if (num(cfg.RequestInterval, 30) === 10) features.push('fast interval');
    if (cfg.MeasureLatency === true || cfg.MeasureLatency === 'true') features.push('latency measurement');
    into.healthChecks.push({ logicalId: id, type, features });
  }
  mark('AWS::Route53::HealthCheck');

  for (const [, r] of ofType('AWS::CloudWatch::Alarm')) into.alarms.push(alarmOf(props(r)));
  mark('AWS::CloudWatch::Alarm');
  into.compositeAlarms += ofType('AWS::CloudWatch::CompositeAlarm').length;
  mark('AWS::CloudWatch::CompositeAlarm');
  into.dashboards += ofType('AWS::CloudWatch::Dashboard').length;
  mark('AWS::CloudWatch::Dashboard');

  into.kmsKeys += ofType('AWS::KMS::Key').length;
  mark('AWS::KMS::Key');
  for (const [, r] of ofType('AWS::SecretsManager::Secret')) {
    into.secrets++;
    for (const rep of arr(props(r).ReplicaRegions) as Array<{ Region?: unknown }>) {
      const target = str(rep.Region);
      if (target) pushed.push(target);
    }
  }
  mark('AWS::SecretsManager::Secret');
  into.ssmAdvancedParameters += ofType('AWS::SSM::Parameter').filter(([, r]) => str(props(r).Tier) === 'Advanced').length;
  mark('AWS::SSM::Parameter');
  for (const [id, r] of ofType('AWS::SQS::Queue')) into.queues.push({ logicalId: id, fifo: props(r).FifoQueue === true || props(r).FifoQueue === 'true' });
  mark('AWS::SQS::Queue');
  into.flowLogs += ofType('AWS::EC2::FlowLog').filter(([, r]) => (str(props(r).LogDestinationType) ?? 'cloud-watch-logs') === 'cloud-watch-logs').length;

  for (const [, r] of entries) {
    if (handled.has(r.Type) || FREE_RESOURCE_TYPES.has(r.Type)) continue;
    if (r.Type.startsWith('Custom::') || r.Type === 'AWS::CloudFormation::CustomResource') {
      // Lambda-backed: free, except a request that replicates a secret (one more secret where the replica lands).
      pushed.push(...replicaRegionsRequested(props(r), stack.region));
      continue;
    }
    into.unpriced[r.Type] = (into.unpriced[r.Type] ?? 0) + 1;
  }
  return pushed;
}

/** Managed rule groups billed with a monthly subscription on top of the rule fee. */
const PAID_RULE_GROUPS = ['AWSManagedRulesBotControlRuleSet', 'AWSManagedRulesATPRuleSet', 'AWSManagedRulesACFPRuleSet'];

function serviceName(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  const m = /\.([a-z0-9-]+)"?\]*\]*\}*$/.exec(s) ?? /([a-z0-9-]+)$/.exec(s);
  return m ? m[1] : s;
}

/**
 * Regions an AwsCustomResource asks Secrets Manager to replicate a secret to (`replicateSecretToRegions`); a
 * region given as a token is the stack's own.
 */
function replicaRegionsRequested(p: Props, stackRegion: string): string[] {
  const create = p.Create;
  if (typeof create !== 'string') return [];
  let call: { service?: string; action?: string; parameters?: { AddReplicaRegions?: Array<{ Region?: unknown }> } };
  try {
    call = JSON.parse(create) as typeof call;
  } catch {
    return [];
  }
  if (call.service !== 'SecretsManager' || !/^replicateSecretToRegions$/i.test(call.action ?? '')) return [];
  return (call.parameters?.AddReplicaRegions ?? []).map((r) => (typeof r.Region === 'string' ? r.Region : stackRegion));
}

function alarmOf(p: Props): AlarmInventory {
  const metrics = arr(p.Metrics) as Array<{ MetricStat?: { Period?: unknown }; Expression?: string }>;
  if (metrics.length === 0) return { metrics: 1, highResolution: num(p.Period, 60) < 60 };
  const stats = metrics.filter((m) => m.MetricStat);
  const anomaly = metrics.some((m) => typeof m.Expression === 'string' && m.Expression.includes('ANOMALY_DETECTION_BAND'));
  return {
    // An anomaly detection alarm is billed as three metrics.
    metrics: anomaly ? 3 * Math.max(1, stats.length) : Math.max(1, stats.length),
    highResolution: stats.some((m) => num(m.MetricStat?.Period, 60) < 60),
  };
}

function readFleets(stack: StackTemplate, resources: Record<string, CfnResource>, names: Map<string, string>, into: ReturnType<typeof emptyRegion>): void {
  const entries = Object.entries(resources);
  const warm = new Map<string, { min: number; running: boolean }>();
  for (const [, r] of entries.filter(([, x]) => x.Type === 'AWS::AutoScaling::WarmPool')) {
    const p = props(r);
    const asg = refOf(p.AutoScalingGroupName);
    if (asg) warm.set(asg, { min: num(p.MinSize, 0), running: str(p.PoolState) === 'Running' });
  }
  const scheduled = new Map<string, Array<{ min: number; schedule: string }>>();
  for (const [, r] of entries.filter(([, x]) => x.Type === 'AWS::AutoScaling::ScheduledAction')) {
    const p = props(r);
    const asg = refOf(p.AutoScalingGroupName);
    if (!asg || p.MinSize === undefined) continue;
    scheduled.set(asg, [...(scheduled.get(asg) ?? []), { min: num(p.MinSize, 0), schedule: str(p.Recurrence) ?? str(p.StartTime) ?? 'once' }]);
  }
  const requestTargets = new Map<string, number>();
  for (const [, r] of entries.filter(([, x]) => x.Type === 'AWS::AutoScaling::ScalingPolicy')) {
    const p = props(r);
    const cfg = (p.TargetTrackingConfiguration ?? {}) as Props;
    const predefined = (cfg.PredefinedMetricSpecification ?? {}) as Props;
    const asg = refOf(p.AutoScalingGroupName);
    if (asg && predefined.PredefinedMetricType === 'ALBRequestCountPerTarget') requestTargets.set(asg, num(cfg.TargetValue, 0));
  }

  for (const [id, r] of entries.filter(([, x]) => x.Type === 'AWS::AutoScaling::AutoScalingGroup')) {
    const p = props(r);
    const mixed = (p.MixedInstancesPolicy ?? undefined) as Props | undefined;
    const ltSpec = (mixed ? ((mixed.LaunchTemplate as Props | undefined)?.LaunchTemplateSpecification) : p.LaunchTemplate) as Props | undefined;
    const lt = resources[refOf(ltSpec?.LaunchTemplateId) ?? ''];
    const data = (props(lt).LaunchTemplateData ?? {}) as Props;
    const overrides = mixed ? (arr((mixed.LaunchTemplate as Props | undefined)?.Overrides) as Array<{ InstanceType?: unknown }>).map((o) => str(o.InstanceType)).filter((t): t is string => !!t) : [];
    const instanceType = overrides[0] ?? str(data.InstanceType) ?? 'unknown';
    const w = warm.get(id);
    const targetGroups = arr(p.TargetGroupARNs).length;
    into.fleets.push({
      role: targetGroups > 0 ? 'web' : 'workers',
      stackName: stack.stackName,
      logicalId: id,
      ...(names.has(id) ? { name: names.get(id) } : {}),
      instanceType,
      minCapacity: num(p.MinSize, 0),
      scheduledMinimums: scheduled.get(id) ?? [],
      maxCapacity: num(p.MaxSize, 0),
      volumes: volumesOf(data.BlockDeviceMappings),
      detailedMonitoring: ((data.Monitoring ?? {}) as Props).Enabled === true,
      publicIpv4: (arr(data.NetworkInterfaces) as Props[]).some((n) => n.AssociatePublicIpAddress === true),
      warmPoolStopped: w && !w.running ? w.min : 0,
      warmPoolRunning: w?.running ? w.min : 0,
      ...(requestTargets.has(id) ? { requestsPerInstancePerMinute: requestTargets.get(id) } : {}),
      ...(overrides.length > 1 ? { otherInstanceTypes: overrides.slice(1) } : {}),
    });
  }

  for (const [id, r] of entries.filter(([, x]) => x.Type === 'AWS::EC2::Instance')) {
    const p = props(r);
    const lt = resources[refOf(((p.LaunchTemplate ?? {}) as Props).LaunchTemplateId) ?? ''];
    const data = (props(lt).LaunchTemplateData ?? {}) as Props;
    const nat = p.SourceDestCheck === false || p.SourceDestCheck === 'false';
    const monitoring = p.Monitoring === true || ((data.Monitoring ?? {}) as Props).Enabled === true;
    into.fleets.push({
      role: nat ? 'nat' : 'other',
      stackName: stack.stackName,
      logicalId: id,
      instanceType: str(p.InstanceType) ?? str(data.InstanceType) ?? 'unknown',
      minCapacity: 1,
      scheduledMinimums: [],
      maxCapacity: 1,
      volumes: volumesOf(p.BlockDeviceMappings ?? data.BlockDeviceMappings, 8),
      detailedMonitoring: monitoring,
      publicIpv4: (arr(p.NetworkInterfaces) as Props[]).some((n) => n.AssociatePublicIpAddress === true),
      warmPoolStopped: 0,
      warmPoolRunning: 0,
    });
  }
}

/** EBS volumes of a block device mapping list; `rootDefaultGb` when an instance lists none (the AMI's root). */
function volumesOf(v: unknown, rootDefaultGb?: number): Array<{ gb: number; type: string }> {
  const list = (arr(v) as Array<{ Ebs?: Props }>).filter((m) => m.Ebs).map((m) => ({ gb: num(m.Ebs!.VolumeSize, 8), type: str(m.Ebs!.VolumeType) ?? 'gp2' }));
  if (list.length === 0 && rootDefaultGb !== undefined) return [{ gb: rootDefaultGb, type: 'gp3' }];
  return list;
}

function readAurora(stack: StackTemplate, resources: Record<string, CfnResource>, into: ReturnType<typeof emptyRegion>): void {
  const entries = Object.entries(resources);
  const clusters = new Map<string, AuroraClusterInventory>();
  for (const [id, r] of entries.filter(([, x]) => x.Type === 'AWS::RDS::DBCluster')) {
    const p = props(r);
    const sv2 = p.ServerlessV2ScalingConfiguration as Props | undefined;
    clusters.set(id, {
      stackName: stack.stackName,
      logicalId: id,
      ...(str(p.DBClusterIdentifier) ? { identifier: str(p.DBClusterIdentifier) } : {}),
      engine: str(p.Engine) ?? 'aurora-postgresql',
      ioOptimized: str(p.StorageType) === 'aurora-iopt1',
      ...(sv2 ? { serverless: { minAcu: num(sv2.MinCapacity, 0.5), maxAcu: num(sv2.MaxCapacity, 16) } } : {}),
      instances: [],
      globalSecondary: p.GlobalClusterIdentifier !== undefined && p.MasterUsername === undefined && p.SourceDBClusterIdentifier === undefined,
      insightsAdvanced: str(p.DatabaseInsightsMode) === 'advanced',
    });
  }
  for (const [, r] of entries.filter(([, x]) => x.Type === 'AWS::RDS::DBInstance')) {
    const p = props(r);
    const cluster = clusters.get(refOf(p.DBClusterIdentifier) ?? '');
    if (!cluster) {
      // A stand-alone RDS instance: not priced here.
      into.unpriced['AWS::RDS::DBInstance (not in an Aurora cluster)'] = (into.unpriced['AWS::RDS::DBInstance (not in an Aurora cluster)'] ?? 0) + 1;
      continue;
    }
    cluster.instances.push({ dbClass: str(p.DBInstanceClass) ?? 'unknown', monitoringIntervalSeconds: num(p.MonitoringInterval, 0), autoscaled: false });
  }
  // Reader autoscaling keeps at least MinCapacity readers; Aurora adds the missing ones with the writer's class.
  for (const [, r] of entries.filter(([, x]) => x.Type === 'AWS::ApplicationAutoScaling::ScalableTarget')) {
    const p = props(r);
    if (p.ScalableDimension !== 'rds:cluster:ReadReplicaCount') continue;
    const identifier = /^cluster:(.+)$/.exec(str(p.ResourceId) ?? '')?.[1];
    const cluster = [...clusters.values()].find((c) => c.identifier !== undefined && c.identifier === identifier)
      ?? [...clusters.values()].find((c) => refsIn(p.ResourceId).has(c.logicalId));
    if (!cluster || cluster.instances.length === 0) continue;
    const readers = cluster.instances.length - 1;
    const writer = cluster.instances[0];
    for (let i = readers; i < num(p.MinCapacity, 0); i++) cluster.instances.push({ ...writer, autoscaled: true });
  }
  into.clusters.push(...clusters.values());

  const endpoints = entries.filter(([, x]) => x.Type === 'AWS::RDS::DBProxyEndpoint');
  for (const [id] of entries.filter(([, x]) => x.Type === 'AWS::RDS::DBProxy')) {
    const targets = entries.filter(([, x]) => x.Type === 'AWS::RDS::DBProxyTargetGroup' && refOf(props(x).DBProxyName) === id);
    into.proxies.push({
      logicalId: id,
      clusterLogicalIds: targets.flatMap(([, t]) => arr(props(t).DBClusterIdentifiers).map(refOf).filter((x): x is string => !!x)),
      endpointAzs: endpoints.filter(([, e]) => refOf(props(e).DBProxyName) === id).map(([, e]) => Math.max(1, arr(props(e).VpcSubnetIds).length)),
    });
  }
}

function readCaches(resources: Record<string, CfnResource>, into: ReturnType<typeof emptyRegion>): void {
  const entries = Object.entries(resources);
  const minimums = new Map<string, { shards?: number; replicas?: number }>();
  for (const [, r] of entries.filter(([, x]) => x.Type === 'AWS::ApplicationAutoScaling::ScalableTarget')) {
    const p = props(r);
    if (p.ServiceNamespace !== 'elasticache') continue;
    for (const group of refsIn(p.ResourceId)) {
      const m = minimums.get(group) ?? {};
      if (p.ScalableDimension === 'elasticache:replication-group:NodeGroups') m.shards = num(p.MinCapacity, 0);
      if (p.ScalableDimension === 'elasticache:replication-group:Replicas') m.replicas = num(p.MinCapacity, 0);
      minimums.set(group, m);
    }
  }
  for (const [id, r] of entries.filter(([, x]) => x.Type === 'AWS::ElastiCache::ReplicationGroup')) {
    const p = props(r);
    const min = minimums.get(id) ?? {};
    const clusterMode = p.NumNodeGroups !== undefined || p.ReplicasPerNodeGroup !== undefined || str(p.ClusterMode) === 'enabled';
    let shards: number;
    let replicas: number;
    if (clusterMode) {
      shards = Math.max(num(p.NumNodeGroups, 1), min.shards ?? 0);
      replicas = Math.max(num(p.ReplicasPerNodeGroup, 1), min.replicas ?? 0);
    } else {
      shards = 1;
      replicas = Math.max(num(p.NumCacheClusters, 1) - 1, min.replicas ?? 0);
    }
    into.caches.push({
      logicalId: id,
      nodeType: str(p.CacheNodeType) ?? 'unknown',
      engine: (str(p.Engine) ?? 'redis').toLowerCase(),
      nodes: shards * (1 + replicas),
      shards,
      replicasPerShard: replicas,
      globalSecondary: p.GlobalReplicationGroupId !== undefined,
    });
  }
}
