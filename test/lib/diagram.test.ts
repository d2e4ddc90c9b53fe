import { CfnResource } from 'aws-cdk-lib/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { escapeXml, modelFromApp, modelFromTemplates, renderSvg, stackTier, type ArchitectureModel, type StackTemplate } from '../../lib/diagram';
import { buildTestApp, minimalConfig } from '../helpers/app';

const R = (Type: string, Properties: Record<string, unknown> = {}) => ({ Type, Properties });

/** A full-featured app as templates: two regions with every tier, and an edge stack. */
function fullStacks(regions = ['us-east-1', 'eu-west-1'], recordProps: (r: string) => Record<string, unknown> = (r) => ({ Region: r })): StackTemplate[] {
  const stacks: StackTemplate[] = regions.flatMap((r, i): StackTemplate[] => [
    { name: `shop-network-${r}`, region: r, template: { Resources: { Vpc: R('AWS::EC2::VPC'), S1: R('AWS::EC2::Subnet'), S2: R('AWS::EC2::Subnet'), Nat: R('AWS::EC2::NatGateway') } } },
    {
      name: `shop-data-${r}`, region: r, template: {
        Resources: {
          Db: R('AWS::RDS::DBCluster', i ? { GlobalClusterIdentifier: 'g' } : {}), Writer: R('AWS::RDS::DBInstance'), Reader: R('AWS::RDS::DBInstance'),
          Cache: R('AWS::ElastiCache::ReplicationGroup', { NumNodeGroups: 3 }),
          Orders: R('AWS::SQS::Queue', { RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['OrdersDlq', 'Arn'] } } }), OrdersDlq: R('AWS::SQS::Queue'),
        },
        Outputs: { QueueNameOrders: { Value: { Ref: 'Orders' } } },
      },
    },
    {
      name: `shop-app-${r}`, region: r, template: {
        Resources: {
          Alb: R('AWS::ElasticLoadBalancingV2::LoadBalancer'),
          WebAsg: R('AWS::AutoScaling::AutoScalingGroup', { TargetGroupARNs: [] }),
          ApiV2Asg: R('AWS::AutoScaling::AutoScalingGroup', { TargetGroupARNs: [] }),
          WorkerAsg: R('AWS::AutoScaling::AutoScalingGroup'),
          Check: R('AWS::Route53::HealthCheck'),
          Origin: R('AWS::Route53::RecordSet', { Name: 'origin.shop.example.com.', ...recordProps(r) }),
          Api: R('AWS::Route53::RecordSet', { Name: 'api.shop.example.com.', ...recordProps(r) }),
        },
        Outputs: { FleetNameWeb: { Value: { Ref: 'WebAsg' } }, FleetNameApiV2: { Value: { Ref: 'ApiV2Asg' } }, WorkerFleetNameOrders: { Value: { Ref: 'WorkerAsg' } } },
      },
    },
  ]);
  stacks.push({
    name: 'shop-edge', region: 'us-east-1', template: {
      Resources: { Cdn: R('AWS::CloudFront::Distribution'), Acl: R('AWS::WAFv2::WebACL', { Scope: 'CLOUDFRONT' }), Assets: R('AWS::S3::Bucket'), Apex: R('AWS::Route53::RecordSet', { Name: 'shop.example.com.' }) },
    },
  });
  return stacks;
}

/** Pairs of drawn boxes (`<g><rect …>`) that overlap. */
function overlaps(svg: string): string[] {
  const boxes = [...svg.matchAll(/<g><rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"[^>]*\/><text[^>]*>([^<]*)</g)]
    .map((m) => ({ x: +m[1], y: +m[2], w: +m[3], h: +m[4], label: m[5] }));
  expect(boxes.length).toBeGreaterThan(0);
  const out: string[] = [];
  boxes.forEach((a, i) => boxes.slice(i + 1).forEach((b) => {
    if (a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h) out.push(`${a.label} / ${b.label}`);
  }));
  return out;
}

/** True when every tag opened is closed in order (a small well-formedness check; no XML parser needed). */
function wellFormed(svg: string): boolean {
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z][\w-]*)[^>]*?(\/?)>/g)) {
    const [, close, name, self] = m;
    if (self) continue;
    if (close) {
      if (stack.pop() !== name) return false;
    } else stack.push(name);
  }
  return stack.length === 0 && !/&(?!amp;|lt;|gt;|quot;)/.test(svg);
}

describe('diagram model from templates', () => {
  let model: ArchitectureModel;

  beforeAll(() => {
    model = modelFromTemplates(fullStacks());
  });

  it('lists the regions in deploy order, primary first, with their stacks', () => {
    expect(model.name).toBe('shop');
    expect(model.regions.map((r) => [r.region, r.primary, r.stacks])).toEqual([
      ['us-east-1', true, ['network', 'data', 'app']],
      ['eu-west-1', false, ['network', 'data', 'app']],
    ]);
  });

  it('finds every tier of a region by resource type', () => {
    expect(model.regions[0]).toEqual({
      region: 'us-east-1', primary: true, stacks: ['network', 'data', 'app'],
      loadBalancers: 1, webFleets: ['web', 'api-v2'], workerFleets: ['orders'],
      database: { clusters: 1, instances: 2, global: false }, cache: { groups: 1, shards: 3 },
      queues: ['orders'], deadLetterQueues: 1, healthChecks: 1, natGateways: 1, subnets: 2,
    });
    expect(model.regions[1].database).toEqual({ clusters: 1, instances: 2, global: true });
  });

  it('finds the edge and the DNS names and routing', () => {
    expect(model.edge).toEqual({ stack: 'shop-edge', distributions: 1, webAcls: 1, buckets: 1 });
    expect(model.dnsNames).toEqual(['api.shop.example.com', 'origin.shop.example.com', 'shop.example.com']);
    expect(model.routing).toBe('latency');
  });

  it('tells geolocation and failover routing apart', () => {
    expect(modelFromTemplates(fullStacks(undefined, () => ({ GeoLocation: { ContinentCode: 'EU' } }))).routing).toBe('geolocation');
    expect(modelFromTemplates(fullStacks(undefined, () => ({ Failover: 'PRIMARY' }))).routing).toBe('failover');
    expect(modelFromTemplates([{ name: 'x-app-eu-west-1', region: 'eu-west-1', template: {} }]).routing).toBe('none');
  });

  it('names stack tiers from the stack names', () => {
    expect(stackTier('shop-app-eu-west-1', 'eu-west-1')).toBe('app');
    expect(stackTier('my-shop-data-us-east-1', 'us-east-1')).toBe('data');
    expect(stackTier('shop-edge', 'us-east-1')).toBe('edge');
  });
});

describe('diagram model from a built app', () => {
  let model: ArchitectureModel;

  beforeAll(() => {
    // GIVEN a two-region growth-stage app with a domain (every tier on, no global database)
    const built = buildTestApp(minimalConfig({
      regions: [{ region: 'eu-west-1', vpcCidr: '10.0.0.0/16' }, { region: 'us-east-1', vpcCidr: '10.1.0.0/16' }],
      domain: { name: 'shop.example.com', hostedZoneId: 'Z0123456789ABCDEFGHIJ', hostedZoneName: 'example.com' },
    }));
    // AND one more database cluster added by hand to the primary data stack
    new CfnResource(built.regions['eu-west-1'].data, 'Db', { type: 'AWS::RDS::DBCluster', properties: { Engine: 'aurora-postgresql' } });
    model = modelFromApp(built.app);
  });

  it('has the configured regions, primary first, with the web tier and DNS', () => {
    expect(model.regions.map((r) => r.region)).toEqual(['eu-west-1', 'us-east-1']);
    // health checks per region: the deep health path, the web fleet's no-healthy-host alarm, the drain switch, the
    // calculated one of them
    expect(model.regions.map((r) => [r.loadBalancers, r.webFleets, r.healthChecks, r.natGateways])).toEqual([[1, ['web'], 4, 3], [1, ['web'], 4, 3]]);
    expect(model.routing).toBe('latency');
    // the regional names (geo DNS) and the apex + www (edge)
    expect(model.dnsNames).toEqual(['api.shop.example.com', 'origin.shop.example.com', 'shop.example.com', 'www.shop.example.com']);
  });

  it('shows a tier as soon as its resources synthesize', () => {
    // the preset's cluster (writer + 2 readers) plus the hand-added one, counted from the templates
    expect(model.regions[0].database).toEqual({ clusters: 2, instances: 3, global: false });
    expect(model.regions[1].database).toEqual({ clusters: 1, instances: 3, global: false });
    expect(model.edge).toEqual({ stack: 'test-edge', distributions: 1, webAcls: 1, buckets: 2 });
  });
});

describe('diagram SVG', () => {
  let svg: string;

  beforeAll(() => {
    svg = renderSvg(modelFromTemplates(fullStacks(['us-east-1', 'eu-west-1', 'ap-southeast-1', 'sa-east-1'])));
  });

  it('is a well-formed SVG document', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(wellFormed(svg)).toBe(true);
    expect(wellFormed('<svg><g></svg></g>')).toBe(false); // the check can fail
  });

  it('labels every region and marks the primary', () => {
    for (const r of ['us-east-1 (primary)', '>eu-west-1<', '>ap-southeast-1<', '>sa-east-1<']) expect(svg).toContain(r);
  });

  it('draws the traffic path: Route 53, CloudFront + WAF, ALBs, fleets, cache, database, queues and workers', () => {
    for (const label of ['Route 53', 'CloudFront + WAF', 'Application Load Balancer', 'web fleet', 'api-v2 fleet', 'ElastiCache', 'Aurora', 'SQS', 'orders workers', 'global database']) {
      expect(svg, label).toContain(`>${label}<`);
    }
    // users→DNS, DNS→CloudFront, CloudFront→4 ALBs, ALB→2 fleets ×4, bus→3 stores ×4, queue→worker ×4
    expect(svg.match(/marker-end/g)).toHaveLength(1 + 1 + 4 + 8 + 12 + 4);
  });

  it('places no box over another', () => {
    expect(overlaps(svg)).toEqual([]);
  });

  it('escapes text', () => {
    expect(escapeXml('a<b & "c">')).toBe('a&lt;b &amp; &quot;c&quot;&gt;');
  });
});
