import { CfnResource, Stack, Token, type App } from 'aws-cdk-lib/core';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { beforeAll, describe, expect, it } from 'vitest';
import { stackNames, type BuiltApp } from '../lib/app';
import { OutputKeys } from '../lib/outputs';
import type { AppConfigInput } from '../lib/config';
import { buildTestApp, minimalConfig } from './helpers/app';

const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-1'];

describe('reference app from the default config (millions.json)', () => {
  let built: BuiltApp & { app: App };
  let assembly: CloudAssembly;
  const stacks = () => built.app.node.children.filter((c): c is Stack => Stack.isStack(c));

  beforeAll(() => {
    // GIVEN the default config WHEN the app is built and synthesized once
    built = buildTestApp('millions');
    assembly = built.app.synth();
  });

  it('creates network, data and app stacks for each region, primary first, and the edge stack', () => {
    expect(Object.keys(built.regions)).toEqual(REGIONS);
    expect(stacks().map((s) => s.stackName)).toEqual([
      ...REGIONS.flatMap((r) => [`shop-network-${r}`, `shop-data-${r}`, `shop-app-${r}`]),
      'shop-edge',
    ]);
    expect(stackNames.app('shop', 'eu-west-1')).toBe('shop-app-eu-west-1');
  });

  it('gives every stack an explicit region and no account (none configured)', () => {
    for (const r of REGIONS) {
      for (const tier of ['network', 'data', 'app'] as const) {
        const stack = built.regions[r][tier];
        expect(stack.region).toBe(r);
        expect(Token.isUnresolved(stack.account)).toBe(true);
      }
    }
    expect(built.edge.region).toBe('us-east-1');
    expect(assembly.getStackByName('shop-edge').environment).toMatchObject({ region: 'us-east-1', account: 'unknown-account' });
  });

  it('builds each region\'s VPC over the configured zones and CIDR', () => {
    const t = Template.fromStack(built.regions['eu-west-1'].network);
    t.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: '10.1.0.0/16' });
    const zones = Object.values(t.findResources('AWS::EC2::Subnet')).map((s) => s.Properties.AvailabilityZone as string);
    expect([...new Set(zones)].sort()).toEqual(['eu-west-1a', 'eu-west-1b', 'eu-west-1c']);
    t.resourceCountIs('AWS::EC2::NatGateway', 3);
  });

  it('turns termination protection on for data stacks only', () => {
    for (const s of stacks()) {
      expect([s.stackName, s.terminationProtection]).toEqual([s.stackName, s.stackName.includes('-data-')]);
    }
    expect(assembly.getStackByName('shop-data-eu-west-1').terminationProtection).toBe(true);
  });

  it('tags resources with app, stage, tier and the configured tags', () => {
    const expectTags = (stack: Stack, type: string, tier: string) => Template.fromStack(stack).hasResourceProperties(type, {
      Tags: Match.arrayWith([
        { Key: 'app', Value: 'shop' },
        { Key: 'cost-center', Value: 'platform' },
        { Key: 'stage', Value: 'millions' },
        { Key: 'tier', Value: tier },
      ]),
    });
    expectTags(built.regions['us-east-1'].network, 'AWS::EC2::VPC', 'network');
    expectTags(built.regions['ap-southeast-1'].app, 'AWS::ElasticLoadBalancingV2::LoadBalancer', 'app');
  });

  it('propagates the tags to the instances the fleets launch', () => {
    Template.fromStack(built.regions['us-east-1'].app).hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      Tags: Match.arrayWith([{ Key: 'tier', PropagateAtLaunch: true, Value: 'app' }]),
    });
  });

  it('orders deployment network → data → app → edge, the primary region\'s data stack first', () => {
    const deps = (name: string) => assembly.getStackByName(name).dependencies.map((d) => d.id).filter((id) => !id.endsWith('.assets')).sort();
    expect(deps('shop-network-us-east-1')).toEqual([]);
    expect(deps('shop-data-us-east-1')).toEqual(['shop-network-us-east-1']);
    expect(deps('shop-data-eu-west-1')).toEqual(['shop-data-us-east-1', 'shop-network-eu-west-1']);
    expect(deps('shop-data-ap-southeast-1')).toEqual(['shop-data-us-east-1', 'shop-network-ap-southeast-1']);
    for (const r of REGIONS) expect(deps(`shop-app-${r}`)).toEqual([`shop-data-${r}`, `shop-network-${r}`]);
    expect(deps('shop-edge')).toEqual(REGIONS.map((r) => `shop-app-${r}`).sort());
  });

  it('uses no cross-region reference', () => {
    for (const s of stacks()) {
      const t = JSON.stringify(Template.fromStack(s).toJSON());
      expect(t).not.toContain('ExportsReader');
      expect(t).not.toContain('Fn::ImportValue');
    }
  });

  it('alarms in the edge stack (us-east-1, where Route 53 publishes) on each region\'s endpoint health check, by an id each region writes there', () => {
    const edge = Template.fromStack(built.edge);
    const parameters = edge.toJSON().Parameters as Record<string, { Type: string; Default: string }>;
    for (const r of REGIONS) {
      // GIVEN the region's app stack: its endpoint health check (not the drain switch or the calculated check)
      const app = Template.fromStack(built.regions[r].app);
      const endpointCheck = Stack.of(built.regions[r].app).resolve(built.regions[r].app.dns!.endpointHealthCheck.healthCheckId) as unknown;
      const name = `/shop/dns/health-checks/${r}`;
      // THEN the app stack writes its id to `name` in us-east-1 (a plain parameter in us-east-1 itself) ...
      if (r === 'us-east-1') {
        app.hasResourceProperties('AWS::SSM::Parameter', { Name: name, Type: 'String', Value: endpointCheck });
      } else {
        const writes = Object.values(app.findResources('Custom::CrossRegionParameter'));
        expect(writes).toHaveLength(1);
        for (const event of ['Create', 'Update']) {
          // The call is a JSON string joined with the check's id: read it back with the id in place of its token.
          const parts = (writes[0].Properties[event] as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
          const tokens = parts.filter((p) => typeof p !== 'string');
          const call = JSON.parse(parts.map((p) => (typeof p === 'string' ? p : `TOKEN${tokens.indexOf(p)}`)).join('')) as { action: string; region: string; parameters: { Name: string; Value: string; Overwrite: boolean } };
          expect(call).toMatchObject({ action: 'putParameter', region: 'us-east-1', parameters: { Name: name, Value: 'TOKEN0', Overwrite: true } });
          expect(tokens).toEqual([endpointCheck]);
        }
      }
      // ... and the edge stack reads that name at deploy and alarms on the check's status, notifying its topic
      const [paramId] = Object.entries(parameters).find(([, p]) => p.Default === name)!;
      expect(parameters[paramId].Type).toBe('AWS::SSM::Parameter::Value<String>');
      edge.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Route53',
        MetricName: 'HealthCheckStatus',
        Dimensions: [{ Name: 'HealthCheckId', Value: { Ref: paramId } }],
        Statistic: 'Minimum',
        Period: 60,
        ComparisonOperator: 'LessThanThreshold',
        Threshold: 1,
        AlarmActions: [{ Ref: Match.stringLikeRegexp('^AlarmTopic') }],
        // no data is a check that is gone (the edge not redeployed since the region replaced it): said too
        InsufficientDataActions: [{ Ref: Match.stringLikeRegexp('^AlarmTopic') }],
      });
    }
    expect(Object.keys(built.edge.healthCheckAlarms)).toEqual(REGIONS);
  });

  it('publishes the outputs the CLI reads, under their OutputKeys', () => {
    for (const r of REGIONS) {
      const outputs = Template.fromStack(built.regions[r].app).toJSON().Outputs as Record<string, unknown>;
      // the web tier's keys (other tiers add theirs and test them)
      expect(Object.keys(outputs)).toEqual(expect.arrayContaining([
        OutputKeys.fleetName('api'),
        OutputKeys.fleetName('web'),
        OutputKeys.loadBalancerDnsName,
        OutputKeys.loadBalancerFullName,
        OutputKeys.targetGroupFullName('api'),
        OutputKeys.targetGroupFullName('web'),
      ]));
    }
  });

  it('output values point at the right resources', () => {
    const t = Template.fromStack(built.regions['us-east-1'].app);
    const outputs = t.toJSON().Outputs as Record<string, { Value: Record<string, unknown> }>;
    const idOf = (type: string, part: string) => Object.keys(t.findResources(type)).find((id) => id.includes(part))!;
    expect(outputs.LoadBalancerFullName.Value).toEqual({ 'Fn::GetAtt': [idOf('AWS::ElasticLoadBalancingV2::LoadBalancer', 'WebLoadBalancer'), 'LoadBalancerFullName'] });
    expect(outputs.LoadBalancerDnsName.Value).toEqual({ 'Fn::GetAtt': [idOf('AWS::ElasticLoadBalancingV2::LoadBalancer', 'WebLoadBalancer'), 'DNSName'] });
    expect(outputs.TargetGroupFullNameApi.Value).toEqual({ 'Fn::GetAtt': [idOf('AWS::ElasticLoadBalancingV2::TargetGroup', 'ServiceapiTargetGroup'), 'TargetGroupFullName'] });
    expect(outputs.FleetNameWeb.Value).toEqual({ Ref: idOf('AWS::AutoScaling::AutoScalingGroup', 'ServicewebFleet') });
  });

  it('serves HTTPS with the domain\'s certificate and routes /api/* to the api service', () => {
    const t = Template.fromStack(built.regions['eu-west-1'].app);
    t.hasResourceProperties('AWS::CertificateManager::Certificate', { DomainName: 'shop.example.com', DomainValidationOptions: [{ DomainName: 'shop.example.com', HostedZoneId: 'Z0123456789ABCDEFGHIJ' }] });
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', { Priority: 10, Conditions: Match.arrayWith([{ Field: 'path-pattern', PathPatternConfig: { Values: ['/api/*'] } }]) });
    t.hasResourceProperties('AWS::AutoScaling::ScheduledAction', { Recurrence: '0 7 * * MON-FRI', MinSize: 6 });
  });

  it('needs no context lookup', () => {
    expect(assembly.manifest.missing ?? []).toEqual([]);
  });
});

describe('reference app with an account', () => {
  let built: BuiltApp & { app: App };
  let assembly: CloudAssembly;

  beforeAll(() => {
    // GIVEN a config with an account, two regions and explicit zones
    built = buildTestApp(minimalConfig({
      account: '123456789012',
      regions: [
        { region: 'eu-west-1', availabilityZones: ['eu-west-1b', 'eu-west-1c', 'eu-west-1a'], vpcCidr: '10.0.0.0/16' },
        { region: 'us-west-2', availabilityZones: ['us-west-2a', 'us-west-2b', 'us-west-2d'], vpcCidr: '10.1.0.0/16' },
      ],
      primaryRegion: 'us-west-2',
      network: { flowLogRetentionDays: 100 },
    }));
    assembly = built.app.synth();
  });

  it('puts the account and region in every stack\'s environment', () => {
    for (const s of assembly.stacks) expect(s.environment.account).toBe('123456789012');
    expect(assembly.getStackByName('test-app-eu-west-1').environment.region).toBe('eu-west-1');
  });

  it('answers the availability-zones lookup from the config', () => {
    expect(built.regions['eu-west-1'].network.availabilityZones).toEqual(['eu-west-1b', 'eu-west-1c', 'eu-west-1a']);
    expect(built.regions['us-west-2'].app.availabilityZones).toEqual(['us-west-2a', 'us-west-2b', 'us-west-2d']);
    expect(assembly.manifest.missing ?? []).toEqual([]);
  });

  it('orders regions primary first and makes the other data stacks wait for it', () => {
    expect(Object.keys(built.regions)).toEqual(['us-west-2', 'eu-west-1']);
    const deps = assembly.getStackByName('test-data-eu-west-1').dependencies.map((d) => d.id);
    expect(deps).toContain('test-data-us-west-2');
  });

  it('keeps flow logs at least the configured days (the next CloudWatch Logs retention up)', () => {
    Template.fromStack(built.regions['eu-west-1'].network).hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 120 });
  });

  it('serves plain HTTP when no domain is configured', () => {
    Template.fromStack(built.regions['eu-west-1'].app).hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 80, Protocol: 'HTTP' });
  });
});

describe('the alarms on the regions\' Route 53 health checks (edge stack, us-east-1)', () => {
  const withDomain = (overrides: Partial<AppConfigInput>): AppConfigInput => minimalConfig({
    domain: { name: 'test.example.com', hostedZoneId: 'Z0123456789ABCDEFGHIJ', hostedZoneName: 'example.com' },
    ...overrides,
  });

  it('are there without CloudFront too (edge.enabled false): the stack holds the alarm topic and the alarm, no distribution', () => {
    const built = buildTestApp(withDomain({ edge: { enabled: false } }));
    const edge = Template.fromStack(built.edge);
    edge.resourceCountIs('AWS::CloudFront::Distribution', 0);
    edge.resourceCountIs('AWS::SNS::Topic', 1);
    edge.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'HealthCheckStatus', Namespace: 'AWS/Route53' });
    expect(Object.keys(built.edge.healthCheckAlarms)).toEqual(['eu-west-1']);
    expect(Object.keys(Template.fromStack(built.regions['eu-west-1'].app).findResources('Custom::CrossRegionParameter'))).toHaveLength(1);
  });

  it('are not there, nor the ids written, with monitoring off or without a domain (no DNS records)', () => {
    for (const config of [withDomain({ monitoring: { enabled: false } }), minimalConfig()]) {
      const built = buildTestApp(config);
      Template.fromStack(built.edge).resourceCountIs('AWS::CloudWatch::Alarm', 0);
      expect(Template.fromStack(built.edge).toJSON().Parameters ?? {}).not.toHaveProperty('HealthCheckIdEuWest1');
      Template.fromStack(built.regions['eu-west-1'].app).resourceCountIs('Custom::CrossRegionParameter', 0);
    }
  });
});

describe('buildApp with an invalid config', () => {
  it('fails before creating any stack', () => {
    // GIVEN an invalid typed config WHEN building THEN the config error is thrown and the app stays empty
    let app: App | undefined;
    expect(() => {
      const built = buildTestApp(minimalConfig({ regions: [{ region: 'eu-west-1', vpcCidr: '10.0.0.0/8' }] }));
      app = built.app;
    }).toThrow('regions[0].vpcCidr: prefix must be between /16 and /22 (got: "10.0.0.0/8")');
    expect(app).toBeUndefined();
  });
});

describe('logical IDs, allocated once per element (lib/stacks/regional-stack.ts)', () => {
  it('still applies a rename and an override made after the ID was first resolved, in a stack and in a nested one', () => {
    // GIVEN an app whose services do not all fit in the app stack, each ID resolved once already
    const services = [{ name: 'web' }, ...Array.from({ length: 25 }, (_, i) => ({ name: `svc${i}`, pathPatterns: [`/svc${i}/*`], priority: 100 + i }))];
    const { regions } = buildTestApp(minimalConfig({ services }));
    const app = Object.values(regions)[0].app;
    const nested = app.serviceStacks[0].stack;
    const firstResource = (stack: Stack) => stack.node.findAll().find((c): c is CfnResource => c instanceof CfnResource && c.stack === stack)!;
    const [inApp, inNested] = [firstResource(app), firstResource(nested)];
    const [appId, nestedId] = [app.resolve(inApp.logicalId) as string, nested.resolve(inNested.logicalId) as string];
    expect(app.resolve(inApp.logicalId)).toBe(appId);
    // WHEN the app stack renames its resource's ID and the nested resource overrides its own
    app.renameLogicalId(appId, 'RenamedInApp');
    inNested.overrideLogicalId('OverriddenInNested');
    // THEN both take effect, in the resolved IDs and in the templates
    expect(app.resolve(inApp.logicalId)).toBe('RenamedInApp');
    expect(nested.resolve(inNested.logicalId)).toBe('OverriddenInNested');
    expect(Object.keys(Template.fromStack(app).toJSON().Resources)).toContain('RenamedInApp');
    expect(Object.keys(Template.fromStack(nested).toJSON().Resources)).toEqual(expect.arrayContaining(['OverriddenInNested']));
    expect(Object.keys(Template.fromStack(nested).toJSON().Resources)).not.toContain(nestedId);
  });
});
