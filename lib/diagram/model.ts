/**
 * The architecture model behind `npm run diagram`: which tiers exist in which region, read from the
 * synthesized templates by resource type (so a tier appears in the picture as soon as it synthesizes).
 */

/** One synthesized stack: its name, region and CloudFormation template. */
export interface StackTemplate {
  readonly name: string;
  readonly region: string;
  readonly template: { readonly Resources?: Record<string, Resource>; readonly Outputs?: Record<string, { readonly Value?: unknown }> };
}

interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

/** What runs in one region. */
export interface RegionModel {
  readonly region: string;
  /** True for the first region (the primary: writers, global resources). */
  readonly primary: boolean;
  /** Tiers of the stacks in this region, e.g. `network`, `data`, `app`. */
  readonly stacks: string[];
  readonly loadBalancers: number;
  /** Web fleets (attached to the load balancer), by service name. */
  readonly webFleets: string[];
  /** Worker fleets (not behind the load balancer), by name. */
  readonly workerFleets: string[];
  /** Aurora clusters and their instances. */
  readonly database?: { readonly clusters: number; readonly instances: number; readonly global: boolean };
  /** ElastiCache replication groups and their shards (node groups). */
  readonly cache?: { readonly groups: number; readonly shards: number };
  /** Work queues (dead-letter queues not counted), by name. */
  readonly queues: string[];
  readonly deadLetterQueues: number;
  /** Route 53 health checks in this region's stacks. */
  readonly healthChecks: number;
  readonly natGateways: number;
  readonly subnets: number;
}

/** The whole app. */
export interface ArchitectureModel {
  /** App name (the stacks' common prefix). */
  readonly name: string;
  /** DNS names served by Route 53 records, sorted. */
  readonly dnsNames: string[];
  /** The routing policy of the regional records. */
  readonly routing: 'latency' | 'geolocation' | 'failover' | 'simple' | 'none';
  /** The edge: CloudFront, WAF, static assets. */
  readonly edge?: { readonly stack: string; readonly distributions: number; readonly webAcls: number; readonly buckets: number };
  /** Regions in order, primary first. */
  readonly regions: RegionModel[];
}

/** `shop-app-eu-west-1` → `app`; `shop-edge` → `edge`. */
export function stackTier(name: string, region: string): string {
  if (name.endsWith('-edge')) return 'edge';
  const stem = name.endsWith(`-${region}`) ? name.slice(0, -region.length - 1) : name;
  return stem.slice(stem.lastIndexOf('-') + 1);
}

/** Builds the model from synthesized stacks (in deploy order: primary region first). */
export function modelFromTemplates(stacks: readonly StackTemplate[]): ArchitectureModel {
  const regional = stacks.filter((s) => stackTier(s.name, s.region) !== 'edge');
  const edgeStack = stacks.find((s) => stackTier(s.name, s.region) === 'edge');
  const order: string[] = [];
  for (const s of regional) if (!order.includes(s.region)) order.push(s.region);

  const allRecords = stacks.flatMap((s) => resourcesOf(s, 'AWS::Route53::RecordSet'));
  const dnsNames = [...new Set(allRecords.map((r) => String(r.Properties?.Name ?? '').replace(/\.$/, '')).filter(Boolean))].sort();
  const regionalRecords = regional.flatMap((s) => resourcesOf(s, 'AWS::Route53::RecordSet'));
  const routing: ArchitectureModel['routing'] = regionalRecords.length === 0 ? (allRecords.length ? 'simple' : 'none')
    : regionalRecords.some((r) => r.Properties?.GeoLocation) ? 'geolocation'
      : regionalRecords.some((r) => r.Properties?.Failover) ? 'failover'
        : regionalRecords.some((r) => r.Properties?.Region) ? 'latency' : 'simple';

  const regions = order.map((region, i): RegionModel => {
    const inRegion = regional.filter((s) => s.region === region);
    const count = (type: string) => inRegion.reduce((n, s) => n + resourcesOf(s, type).length, 0);
    const fleets = inRegion.flatMap((s) => fleetsOf(s));
    const clusters = count('AWS::RDS::DBCluster');
    const groups = inRegion.flatMap((s) => resourcesOf(s, 'AWS::ElastiCache::ReplicationGroup'));
    const queues = inRegion.flatMap((s) => queuesOf(s));
    return {
      region,
      primary: i === 0,
      stacks: inRegion.map((s) => stackTier(s.name, region)),
      loadBalancers: count('AWS::ElasticLoadBalancingV2::LoadBalancer'),
      webFleets: fleets.filter((f) => f.web).map((f) => f.name),
      workerFleets: fleets.filter((f) => !f.web).map((f) => f.name),
      ...(clusters ? { database: { clusters, instances: count('AWS::RDS::DBInstance'), global: count('AWS::RDS::GlobalCluster') > 0 || inRegion.some((s) => resourcesOf(s, 'AWS::RDS::DBCluster').some((r) => r.Properties?.GlobalClusterIdentifier !== undefined)) } } : {}),
      ...(groups.length ? { cache: { groups: groups.length, shards: groups.reduce((n, g) => n + (typeof g.Properties?.NumNodeGroups === 'number' ? g.Properties.NumNodeGroups : 1), 0) } } : {}),
      queues: queues.filter((q) => !q.dlq).map((q) => q.name),
      deadLetterQueues: queues.filter((q) => q.dlq).length,
      healthChecks: count('AWS::Route53::HealthCheck'),
      natGateways: count('AWS::EC2::NatGateway'),
      subnets: count('AWS::EC2::Subnet'),
    };
  });

  const name = commonPrefix(stacks.map((s) => s.name));
  const edge = edgeStack && {
    stack: edgeStack.name,
    distributions: resourcesOf(edgeStack, 'AWS::CloudFront::Distribution').length,
    webAcls: resourcesOf(edgeStack, 'AWS::WAFv2::WebACL').length,
    buckets: resourcesOf(edgeStack, 'AWS::S3::Bucket').length,
  };
  return { name, dnsNames, routing, ...(edge ? { edge } : {}), regions };
}

function resourcesOf(stack: StackTemplate, type: string): Resource[] {
  return Object.values(stack.template.Resources ?? {}).filter((r) => r.Type === type);
}

/** Logical id → output key suffix, for outputs whose value is `{ Ref: id }` and whose key starts with `prefix`. */
function namedByOutputs(stack: StackTemplate, prefix: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, o] of Object.entries(stack.template.Outputs ?? {})) {
    const ref = (o.Value as { Ref?: string } | undefined)?.Ref;
    if (key.startsWith(prefix) && ref) out.set(ref, kebab(key.slice(prefix.length)));
  }
  return out;
}

function fleetsOf(stack: StackTemplate): Array<{ name: string; web: boolean }> {
  const web = namedByOutputs(stack, 'FleetName');
  const workers = namedByOutputs(stack, 'WorkerFleetName');
  return Object.entries(stack.template.Resources ?? {})
    .filter(([, r]) => r.Type === 'AWS::AutoScaling::AutoScalingGroup')
    .map(([id, r]) => {
      if (workers.has(id)) return { name: workers.get(id)!, web: false };
      if (web.has(id)) return { name: web.get(id)!, web: true };
      return { name: id.replace(/[A-F0-9]{8}$/, ''), web: r.Properties?.TargetGroupARNs !== undefined };
    });
}

function queuesOf(stack: StackTemplate): Array<{ name: string; dlq: boolean }> {
  const resources = stack.template.Resources ?? {};
  const dlqIds = new Set<string>();
  for (const r of Object.values(resources)) {
    const target = (r.Properties?.RedrivePolicy as { deadLetterTargetArn?: { 'Fn::GetAtt'?: [string, string] } } | undefined)?.deadLetterTargetArn;
    if (target?.['Fn::GetAtt']) dlqIds.add(target['Fn::GetAtt'][0]);
  }
  const names = namedByOutputs(stack, 'QueueName');
  const dlqNames = namedByOutputs(stack, 'DeadLetterQueueName');
  return Object.entries(resources)
    .filter(([, r]) => r.Type === 'AWS::SQS::Queue')
    .map(([id]) => ({ name: names.get(id) ?? id.replace(/[A-F0-9]{8}$/, ''), dlq: dlqIds.has(id) || dlqNames.has(id) }));
}

/** `ApiV2` → `api-v2`. */
function kebab(s: string): string {
  return s.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

function commonPrefix(names: string[]): string {
  if (names.length === 0) return 'app';
  const first = names[0].split('-')[0];
  return names.every((n) => n.startsWith(`${first}-`)) ? first : 'app';
}
