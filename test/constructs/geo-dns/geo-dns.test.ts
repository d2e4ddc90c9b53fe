import { App, Duration, Stack } from 'aws-cdk-lib/core';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { DnsRouting, GeoDns, HealthCheckProtocol, apiDomainName, originDomainName, type GeoDnsProps } from '../../../constructs/geo-dns';
import { stackWithVpc } from '../../helpers/app';
import { validationErrorOf } from '../../helpers/errors';

const DOMAIN = 'shop.example.com';
const ZONE_ID = 'Z0123456789ABCDEFGHIJ';

/** A stack in `region` with a VPC, an internet-facing ALB and the zone imported by attributes. */
function fixture(region = 'eu-west-1', albProps: Partial<elbv2.ApplicationLoadBalancerProps> = {}) {
  const { stack, vpc } = stackWithVpc('Dns', region);
  const loadBalancer = new elbv2.ApplicationLoadBalancer(stack, 'Alb', { vpc, internetFacing: true, ...albProps });
  const zone = route53.HostedZone.fromHostedZoneAttributes(stack, 'Zone', { hostedZoneId: ZONE_ID, zoneName: 'example.com' });
  return { stack, loadBalancer, zone };
}

/** Builds a GeoDns in a fresh fixture with `props` over the required ones. */
function geoDns(props: Partial<GeoDnsProps> = {}, region?: string) {
  const f = fixture(region);
  return new GeoDns(f.stack, 'Dns', { zone: f.zone, domainName: DOMAIN, loadBalancer: f.loadBalancer, ...props });
}

/** Logical id of the only resource of `type` whose id contains `part`. */
function idOf(template: Template, type: string, part: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.includes(part));
  expect(ids).toHaveLength(1);
  return ids[0];
}

describe('originDomainName / apiDomainName', () => {
  it('derives the names the edge and the regions agree on', () => {
    expect(originDomainName(DOMAIN)).toBe('origin.shop.example.com');
    expect(originDomainName(DOMAIN, 'backend')).toBe('backend.shop.example.com');
    expect(apiDomainName(DOMAIN)).toBe('api.shop.example.com');
  });
});

describe('GeoDns with latency routing (the default)', () => {
  let template: Template;
  let dns: GeoDns;
  let albId: string;
  let hcId: string;
  let endpointId: string;
  let switchId: string;

  beforeAll(() => {
    // GIVEN a region's ALB and the hosted zone WHEN GeoDns is added with defaults
    const f = fixture('eu-west-1');
    dns = new GeoDns(f.stack, 'Dns', { zone: f.zone, domainName: DOMAIN, loadBalancer: f.loadBalancer });
    template = Template.fromStack(f.stack);
    albId = idOf(template, 'AWS::ElasticLoadBalancingV2::LoadBalancer', 'Alb');
    endpointId = idOf(template, 'AWS::Route53::HealthCheck', 'DnsHealthCheck');
    switchId = idOf(template, 'AWS::Route53::HealthCheck', 'DnsDrainSwitch');
    hcId = idOf(template, 'AWS::Route53::HealthCheck', 'DnsRegionHealthCheck');
  });

  it('checks the ALB over HTTPS on 443 at the deep health path, threshold 3 every 30 s, with SNI, from every checker region', () => {
    template.resourceCountIs('AWS::Route53::HealthCheck', 3);
    template.hasResourceProperties('AWS::Route53::HealthCheck', {
      HealthCheckConfig: {
        Type: 'HTTPS',
        FullyQualifiedDomainName: { 'Fn::GetAtt': [albId, 'DNSName'] },
        Port: 443,
        ResourcePath: '/health/deep',
        FailureThreshold: 3,
        RequestInterval: 30,
        EnableSNI: true,
        MeasureLatency: true,
        Inverted: false,
        Regions: Match.absent(),
      },
      HealthCheckTags: [{ Key: 'Name', Value: 'eu-west-1 load balancer' }],
    });
  });

  it('routes on a calculated check of the endpoint check and a drain switch, a childless check Route 53 always sees healthy until it is inverted', () => {
    template.hasResource('AWS::Route53::HealthCheck', {
      Properties: {
        HealthCheckConfig: { Type: 'CALCULATED', ChildHealthChecks: [], HealthThreshold: 0, Inverted: false },
        HealthCheckTags: [{ Key: 'Name', Value: 'eu-west-1 drain switch: inverted, the region is out of DNS' }],
      },
    });
    expect(Object.keys(template.findResources('AWS::Route53::HealthCheck', { Properties: { HealthCheckConfig: { HealthThreshold: 0 } } }))).toEqual([switchId]);
    template.hasResourceProperties('AWS::Route53::HealthCheck', {
      HealthCheckConfig: { Type: 'CALCULATED', ChildHealthChecks: [{ Ref: endpointId }, { Ref: switchId }], HealthThreshold: 2, Inverted: false },
    });
  });

  it('creates one latency A record per name, set identifier = region, with the health check', () => {
    template.resourceCountIs('AWS::Route53::RecordSet', 2);
    for (const name of ['origin.shop.example.com.', 'api.shop.example.com.']) {
      template.hasResourceProperties('AWS::Route53::RecordSet', {
        Name: name,
        Type: 'A',
        HostedZoneId: ZONE_ID,
        Region: 'eu-west-1',
        SetIdentifier: 'eu-west-1',
        HealthCheckId: { Ref: hcId },
        GeoLocation: Match.absent(),
        Failover: Match.absent(),
      });
    }
  });

  it('aliases the ALB and evaluates its target health', () => {
    template.allResourcesProperties('AWS::Route53::RecordSet', {
      AliasTarget: {
        DNSName: { 'Fn::Join': ['', ['dualstack.', { 'Fn::GetAtt': [albId, 'DNSName'] }]] },
        HostedZoneId: { 'Fn::GetAtt': [albId, 'CanonicalHostedZoneID'] },
        EvaluateTargetHealth: true,
      },
    });
  });

  it('creates no AAAA record for an IPv4 load balancer', () => {
    expect(Object.values(template.findResources('AWS::Route53::RecordSet')).map((r) => r.Properties.Type)).toEqual(['A', 'A']);
  });

  it('exposes its parts', () => {
    expect(dns.region).toBe('eu-west-1');
    expect(dns.routing).toBe(DnsRouting.LATENCY);
    expect(dns.recordNames).toEqual(['origin.shop.example.com', 'api.shop.example.com']);
    expect(dns.healthCheck).not.toBe(dns.endpointHealthCheck);
    expect(dns.drainSwitch.node.id).toBe('DrainSwitch');
    expect(dns.records).toHaveLength(2);
    expect(dns.alarmHealthChecks).toEqual([]);
  });
});

describe('GeoDns with geolocation routing', () => {
  let template: Template;

  beforeAll(() => {
    // GIVEN the region serves Europe, Japan and everyone not mapped elsewhere
    const dns = geoDns({
      routing: DnsRouting.GEOLOCATION,
      geoLocations: [route53.GeoLocation.continent(route53.Continent.EUROPE), route53.GeoLocation.country('JP'), route53.GeoLocation.default()],
    });
    template = Template.fromStack(Stack.of(dns));
  });

  it('creates one record per name and location, and one latency fallback record per name, each with its own set identifier', () => {
    template.resourceCountIs('AWS::Route53::RecordSet', 8);
    const ids = Object.values(template.findResources('AWS::Route53::RecordSet')).map((r) => `${r.Properties.Name} ${r.Properties.SetIdentifier}`).sort();
    expect(ids).toEqual([
      'api.shop.example.com. eu-west-1-EU', 'api.shop.example.com. eu-west-1-JP', 'api.shop.example.com. eu-west-1-default',
      'fallback.api.shop.example.com. eu-west-1', 'fallback.origin.shop.example.com. eu-west-1',
      'origin.shop.example.com. eu-west-1-EU', 'origin.shop.example.com. eu-west-1-JP', 'origin.shop.example.com. eu-west-1-default',
    ]);
  });

  it('sets continent and country codes on the region\'s records, which carry its health check', () => {
    const hcId = idOf(template, 'AWS::Route53::HealthCheck', 'DnsRegionHealthCheck');
    template.hasResourceProperties('AWS::Route53::RecordSet', { Name: 'origin.shop.example.com.', GeoLocation: { ContinentCode: 'EU' }, Region: Match.absent(), HealthCheckId: { Ref: hcId } });
    template.hasResourceProperties('AWS::Route53::RecordSet', { Name: 'origin.shop.example.com.', GeoLocation: { CountryCode: 'JP' }, HealthCheckId: { Ref: hcId } });
  });

  it('joins every name\'s latency fallback set with the region\'s ALB and health check', () => {
    const hcId = idOf(template, 'AWS::Route53::HealthCheck', 'DnsRegionHealthCheck');
    template.hasResourceProperties('AWS::Route53::RecordSet', {
      Name: 'fallback.origin.shop.example.com.', Region: 'eu-west-1', SetIdentifier: 'eu-west-1', HealthCheckId: { Ref: hcId },
      AliasTarget: Match.objectLike({ EvaluateTargetHealth: true, DNSName: Match.anyValue() }),
    });
  });

  it('sends the default (*) location to the fallback set, so no location is left with nothing when its region fails', () => {
    const [id, record] = Object.entries(template.findResources('AWS::Route53::RecordSet', { Properties: { Name: 'origin.shop.example.com.', GeoLocation: { CountryCode: '*' } } }))[0];
    expect(record.Properties.AliasTarget).toEqual({ HostedZoneId: ZONE_ID, DNSName: 'fallback.origin.shop.example.com', EvaluateTargetHealth: true });
    expect(record.Properties.HealthCheckId).toBeUndefined();
    // the alias target exists before the alias (Route 53 refuses an alias to a missing name)
    const fallbackId = Object.keys(template.findResources('AWS::Route53::RecordSet', { Properties: { Name: 'fallback.origin.shop.example.com.' } }))[0];
    expect(record.DependsOn).toContain(fallbackId);
    expect(id).toMatch(/^DnsOriginDefaultA/);
  });

  it('lets a region serve no location: it only takes fallback traffic', () => {
    const t = Template.fromStack(Stack.of(geoDns({ routing: DnsRouting.GEOLOCATION }, 'sa-east-1')));
    const names = Object.values(t.findResources('AWS::Route53::RecordSet')).map((r) => r.Properties.Name).sort();
    expect(names).toEqual(['fallback.api.shop.example.com.', 'fallback.origin.shop.example.com.']);
  });
});

describe('GeoDns with failover routing', () => {
  let primary: Template;
  let secondary: Template;

  beforeAll(() => {
    // GIVEN a primary and a secondary region
    primary = Template.fromStack(Stack.of(geoDns({ routing: DnsRouting.FAILOVER, failover: route53.Failover.PRIMARY }, 'us-east-1')));
    secondary = Template.fromStack(Stack.of(geoDns({ routing: DnsRouting.FAILOVER, failover: route53.Failover.SECONDARY }, 'eu-west-1')));
  });

  it('marks the records PRIMARY or SECONDARY, set identifier = region, with the health check', () => {
    const hc = (t: Template) => ({ Ref: idOf(t, 'AWS::Route53::HealthCheck', 'DnsRegionHealthCheck') });
    primary.allResourcesProperties('AWS::Route53::RecordSet', { Failover: 'PRIMARY', SetIdentifier: 'us-east-1', HealthCheckId: hc(primary), Region: Match.absent() });
    secondary.allResourcesProperties('AWS::Route53::RecordSet', { Failover: 'SECONDARY', SetIdentifier: 'eu-west-1', HealthCheckId: hc(secondary) });
    primary.resourceCountIs('AWS::Route53::RecordSet', 2);
  });
});

describe('GeoDns with drain alarms and custom health check settings', () => {
  let template: Template;
  let dns: GeoDns;

  beforeAll(() => {
    // GIVEN a plain alarm (standing in for the region's health alarm) and explicit check settings
    const f = fixture('ap-southeast-1');
    const alarm = new cloudwatch.Alarm(f.stack, 'Errors', {
      metric: new cloudwatch.Metric({ namespace: 'AWS/ApplicationELB', metricName: 'HTTPCode_ELB_5XX_Count', statistic: 'Sum' }),
      threshold: 100,
      evaluationPeriods: 3,
    });
    dns = new GeoDns(f.stack, 'Dns', {
      zone: f.zone,
      domainName: DOMAIN,
      loadBalancer: f.loadBalancer,
      recordNames: ['api.shop.example.com'],
      healthCheck: { protocol: HealthCheckProtocol.HTTP, port: 8080, path: '/healthz', failureThreshold: 2, requestInterval: Duration.seconds(10), regions: ['us-east-1', 'eu-west-1', 'ap-southeast-1'] },
      drainAlarms: [alarm],
    });
    template = Template.fromStack(f.stack);
  });

  it('applies the health check settings', () => {
    template.hasResourceProperties('AWS::Route53::HealthCheck', {
      HealthCheckConfig: {
        Type: 'HTTP', Port: 8080, ResourcePath: '/healthz', FailureThreshold: 2, RequestInterval: 10,
        Regions: ['us-east-1', 'eu-west-1', 'ap-southeast-1'], EnableSNI: Match.absent(),
      },
    });
  });

  it('adds a CloudWatch-metric health check on the alarm', () => {
    template.hasResourceProperties('AWS::Route53::HealthCheck', {
      HealthCheckConfig: {
        Type: 'CLOUDWATCH_METRIC',
        AlarmIdentifier: { Name: { Ref: idOf(template, 'AWS::CloudWatch::Alarm', 'Errors') }, Region: 'ap-southeast-1' },
        InsufficientDataHealthStatus: 'LastKnownStatus',
      },
    });
  });

  it('combines endpoint and alarm in a calculated check that needs both healthy, and routes on it', () => {
    const endpoint = idOf(template, 'AWS::Route53::HealthCheck', 'DnsHealthCheck');
    const alarmCheck = idOf(template, 'AWS::Route53::HealthCheck', 'AlarmHealthCheck1');
    const calculated = idOf(template, 'AWS::Route53::HealthCheck', 'RegionHealthCheck');
    const drainSwitch = idOf(template, 'AWS::Route53::HealthCheck', 'DrainSwitch');
    template.hasResourceProperties('AWS::Route53::HealthCheck', {
      HealthCheckConfig: { Type: 'CALCULATED', ChildHealthChecks: [{ Ref: endpoint }, { Ref: alarmCheck }, { Ref: drainSwitch }], HealthThreshold: 3 },
    });
    template.resourceCountIs('AWS::Route53::RecordSet', 1);
    template.hasResourceProperties('AWS::Route53::RecordSet', { Name: 'api.shop.example.com.', HealthCheckId: { Ref: calculated } });
    expect(dns.alarmHealthChecks).toHaveLength(1);
    expect(dns.healthCheck).not.toBe(dns.endpointHealthCheck);
  });
});

describe('GeoDns for a drained region', () => {
  it('inverts the drain switch, never the endpoint check, so Route 53 routes around the region whatever its endpoint does', () => {
    // GIVEN a region taken out of service WHEN GeoDns is added
    const template = Template.fromStack(Stack.of(geoDns({ drained: true })));
    // THEN its drain switch is inverted (always unhealthy), so the records' check is unhealthy however the endpoint
    // check turns out. An inverted endpoint check would turn healthy when the region fails, and put it back in DNS.
    template.hasResourceProperties('AWS::Route53::HealthCheck', {
      HealthCheckConfig: { Type: 'CALCULATED', ChildHealthChecks: [], HealthThreshold: 0, Inverted: true },
      HealthCheckTags: [{ Key: 'Name', Value: 'eu-west-1 drain switch (drained): inverted, the region is out of DNS' }],
    });
    template.hasResourceProperties('AWS::Route53::HealthCheck', { HealthCheckConfig: { Type: 'HTTPS', Inverted: false } });
    template.hasResourceProperties('AWS::Route53::HealthCheck', { HealthCheckConfig: { Type: 'CALCULATED', HealthThreshold: 2, Inverted: false } });
    template.resourceCountIs('AWS::Route53::RecordSet', 2);
  });
});

describe('GeoDns with a dual-stack load balancer', () => {
  it('creates A and AAAA records for each name', () => {
    // GIVEN a dual-stack ALB WHEN GeoDns is added THEN each name gets an A and an AAAA alias
    const f = fixture('eu-west-1', { ipAddressType: elbv2.IpAddressType.DUAL_STACK });
    new GeoDns(f.stack, 'Dns', { zone: f.zone, domainName: DOMAIN, loadBalancer: f.loadBalancer });
    const types = Object.values(Template.fromStack(f.stack).findResources('AWS::Route53::RecordSet')).map((r) => `${r.Properties.Name} ${r.Properties.Type}`).sort();
    expect(types).toEqual(['api.shop.example.com. A', 'api.shop.example.com. AAAA', 'origin.shop.example.com. A', 'origin.shop.example.com. AAAA']);
  });
});

describe('GeoDns: bad props', () => {
  it.each<[string, Partial<GeoDnsProps>, string | RegExp]>([
    ['the fallback label is not one DNS label', { routing: DnsRouting.GEOLOCATION, fallbackSubdomain: 'a.b' }, 'GeoDns: fallbackSubdomain must be one lowercase DNS label (got: "a.b")'],
    ['a location is repeated', { routing: DnsRouting.GEOLOCATION, geoLocations: [route53.GeoLocation.country('JP'), route53.GeoLocation.country('JP')] }, 'GeoDns: geoLocations has a duplicate location (got: JP)'],
    ['locations are given without geolocation routing', { geoLocations: [route53.GeoLocation.default()] }, 'GeoDns: geoLocations applies only to routing "geolocation" (got routing: latency)'],
    ['failover routing has no role', { routing: DnsRouting.FAILOVER }, 'GeoDns: failover (PRIMARY or SECONDARY) is required with routing "failover" (got: undefined)'],
    ['a failover role is given without failover routing', { failover: route53.Failover.PRIMARY }, 'GeoDns: failover applies only to routing "failover" (got routing: latency)'],
    ['the failure threshold is above 10', { healthCheck: { failureThreshold: 11 } }, 'GeoDns: healthCheck.failureThreshold must be a whole number from 1 to 10 (got: 11)'],
    ['the failure threshold is 0', { healthCheck: { failureThreshold: 0 } }, /got: 0/],
    ['the request interval is not 10 or 30 seconds', { healthCheck: { requestInterval: Duration.seconds(20) } }, 'GeoDns: healthCheck.requestInterval must be 10 or 30 seconds (got: 20)'],
    ['checker regions are unknown', { healthCheck: { regions: ['us-east-1', 'eu-central-1', 'eu-west-1'] } }, /healthCheck.regions must be Route 53 checker regions .* \(got: \["eu-central-1"\]\)/],
    ['checker regions are fewer than 3', { healthCheck: { regions: ['us-east-1', 'eu-west-1', 'eu-west-1'] } }, 'GeoDns: healthCheck.regions must list at least 3 distinct regions (got: ["us-east-1","eu-west-1","eu-west-1"])'],
    ['the path is invalid', { healthCheck: { path: 'health' } }, 'GeoDns: healthCheck.path must start with / and be at most 255 printable characters (got: "health")'],
    ['the port is invalid', { healthCheck: { port: 70000 } }, 'GeoDns: healthCheck.port must be a whole number from 1 to 65535 (got: 70000)'],
    ['a record name is outside the domain', { recordNames: ['api.other.com'] }, 'GeoDns: recordNames must be inside shop.example.com (got: "api.other.com")'],
    ['a record name is repeated', { recordNames: ['api.shop.example.com', 'api.shop.example.com'] }, 'GeoDns: recordNames has a duplicate (got: "api.shop.example.com")'],
    ['the domain is not a DNS name', { domainName: 'Shop Example' }, 'GeoDns: domainName must be a lowercase DNS name (got: "Shop Example")'],
  ])('fails when %s, naming the construct', (_, props, message) => {
    expect(validationErrorOf(() => geoDns(props))).toEqual({ path: 'Dns/Dns', message: typeof message === 'string' ? message : expect.stringMatching(message) });
  });

  it('fails when the region is not concrete', () => {
    // GIVEN an environment-agnostic stack
    const stack = new Stack(new App(), 'Agnostic');
    const zone = route53.HostedZone.fromHostedZoneAttributes(stack, 'Zone', { hostedZoneId: ZONE_ID, zoneName: 'example.com' });
    const lb = elbv2.ApplicationLoadBalancer.fromApplicationLoadBalancerAttributes(stack, 'Alb', {
      loadBalancerArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/x/1', securityGroupId: 'sg-1', loadBalancerDnsName: 'x.elb.amazonaws.com', loadBalancerCanonicalHostedZoneId: 'Z1',
    });
    expect(validationErrorOf(() => new GeoDns(stack, 'Dns', { zone, domainName: DOMAIN, loadBalancer: lb }))).toEqual({ path: 'Agnostic/Dns', message: expect.stringMatching(/GeoDns: region must be a concrete region code.*got: an unresolved token/) });
    // AND an explicit region makes it work
    expect(() => new GeoDns(stack, 'Dns2', { zone, domainName: DOMAIN, loadBalancer: lb, region: 'eu-west-1' })).not.toThrow();
  });
});
