/* eslint-disable @typescript-eslint/no-explicit-any -- assertions walk raw CloudFormation template JSON */
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../lib/app';
import type { AppConfig, AppConfigInput } from '../../../lib/config';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OutputKeys } from '../../../lib/outputs';
import { SESSION_COOKIE_DEFAULTS } from '../../../lib/runtime';
import { statefulLogicalIds } from '../../../lib/testing';
import { buildTestApp, minimalConfig } from '../../helpers/app';
import { checkedSynth, findings, removeCheckedSynths } from '../../helpers/checked-synth';

const G1 = '{{resolve:secretsmanager:shop/edge/origin-verify-1:SecretString:g1::}}';
const G0 = '{{resolve:secretsmanager:shop/edge/origin-verify-0:SecretString:g0::}}';

describe('reference app edge (millions config)', () => {
  let built: ReturnType<typeof buildTestApp>;
  let edge: Template;
  beforeAll(() => {
    built = buildTestApp('millions');
    edge = Template.fromStack(built.edge);
  });

  it('synthesizes one distribution in us-east-1 with the S3 and load-balancer origins', () => {
    expect(built.edge.region).toBe('us-east-1');
    edge.resourceCountIs('AWS::CloudFront::Distribution', 1);
    edge.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        // api.<domain> goes through the same edge (WAF, TLS); its bearer tokens reach the origin
        Aliases: ['shop.example.com', 'www.shop.example.com', 'api.shop.example.com'],
        PriceClass: 'PriceClass_200',
        Origins: [
          Match.objectLike({ DomainName: 'origin.shop.example.com', OriginCustomHeaders: [{ HeaderName: 'X-Origin-Verify', HeaderValue: G1 }] }),
          Match.objectLike({ S3OriginConfig: { OriginAccessIdentity: '' } }),
        ],
        Logging: Match.objectLike({ Prefix: 'cloudfront/' }),
        WebACLId: Match.anyValue(),
      }),
    });
    edge.hasResourceProperties('AWS::CertificateManager::Certificate', { DomainName: 'shop.example.com', SubjectAlternativeNames: ['www.shop.example.com', 'api.shop.example.com'] });
    edge.hasResourceProperties('AWS::WAFv2::WebACL', { Scope: 'CLOUDFRONT' });
    edge.hasResourceProperties('AWS::WAFv2::LoggingConfiguration', Match.anyValue());
    edge.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: 'aws-waf-logs-shop-edge' });
    edge.hasResourceProperties('AWS::CloudFront::OriginRequestPolicy', {
      // the runtime's session cookie reaches the load balancers (users stay signed in)
      OriginRequestPolicyConfig: Match.objectLike({ CookiesConfig: { CookieBehavior: 'whitelist', Cookies: [SESSION_COOKIE_DEFAULTS.name] } }),
    });
    Annotations.fromStack(built.edge).hasNoWarning('*', Match.stringLikeRegexp('session cookie'));
  });

  it('serves api.<domain> through CloudFront: bearer tokens and the viewer\'s Host reach the load balancers, and no region publishes api. itself', () => {
    edge.hasResourceProperties('AWS::CloudFront::OriginRequestPolicy', {
      OriginRequestPolicyConfig: Match.objectLike({ HeadersConfig: { HeaderBehavior: 'allViewerAndWhitelistCloudFront', Headers: ['CloudFront-Viewer-Country'] } }),
    });
    const config = (Object.values(edge.findResources('AWS::CloudFront::Distribution'))[0] as { Properties: { DistributionConfig: { DefaultCacheBehavior: { CachePolicyId: string } } } }).Properties.DistributionConfig;
    expect(config.DefaultCacheBehavior.CachePolicyId).toBe('4135ea2d-6df8-44a3-9df3-4b5a84be39ad'); // CachingDisabled: nothing keyed on a token is stored
    for (const type of ['A', 'AAAA']) edge.hasResourceProperties('AWS::Route53::RecordSet', { Name: 'api.shop.example.com.', Type: type });
    for (const r of Object.values(built.regions)) {
      const names = Object.values(Template.fromStack(r.app).findResources('AWS::Route53::RecordSet')).map((x) => x.Properties.Name);
      expect(names).not.toContain('api.shop.example.com.');
    }
  });

  it('outputs the distribution id and domain name', () => {
    edge.hasOutput(OutputKeys.distributionId, { Value: { Ref: Match.stringLikeRegexp('^Edge') } });
    edge.hasOutput(OutputKeys.distributionDomainName, { Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Edge'), 'DomainName'] } });
  });

  it('keeps the stateful logical ids of the edge stack', () => {
    expect(statefulLogicalIds(built.edge)).toEqual({
      EdgeLogsA4EA23EB: 'AWS::S3::Bucket',
      EdgeAssetsCDE1815C: 'AWS::S3::Bucket',
      EdgeWebAclLogs58AB92DA: 'AWS::Logs::LogGroup',
      // the CloudFront alarms' topic key (in-flight notifications only; DESTROY with the stack)
      AlarmTopicKey57B0D3A7: 'AWS::KMS::Key',
    });
  });

  it('notifies an encrypted topic of the edge stack from the CloudFront alarms', () => {
    const t = Template.fromStack(built.edge);
    const topic = built.edge.resolve(built.edge.alarmTopic!.topicArn);
    for (const alarm of Object.values(t.findResources('AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties.AlarmActions).toEqual([topic]);
      expect(alarm.Properties.OKActions).toEqual([topic]);
    }
    t.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' });
  });

  it('keeps the origin-verify secrets in the primary data stack, listing no other region', () => {
    const data = built.regions['us-east-1'].data;
    expect(Object.fromEntries(Object.entries(statefulLogicalIds(data, ['AWS::SecretsManager::Secret'])).filter(([id]) => id.startsWith('OriginVerify')))).toEqual({
      OriginVerifySlot016A412DD: 'AWS::SecretsManager::Secret',
      OriginVerifySlot1B84CA9FF: 'AWS::SecretsManager::Secret',
    });
    for (const slot of [0, 1]) {
      Template.fromStack(data).hasResourceProperties('AWS::SecretsManager::Secret', { Name: `shop/edge/origin-verify-${slot}`, ReplicaRegions: Match.absent() });
    }
    // The primary region (us-east-1, also the edge region) holds the secrets: no replica request there.
    Template.fromStack(data).resourceCountIs('Custom::SecretReplica', 0);
    for (const region of ['eu-west-1', 'ap-southeast-1']) {
      expect(Object.keys(Template.fromStack(built.regions[region].data).findResources('AWS::SecretsManager::Secret')).filter((id) => id.startsWith('OriginVerify'))).toEqual([]);
    }
  });

  it('has every other region\'s data stack pull its own replica of both slots from the primary region', () => {
    for (const region of ['eu-west-1', 'ap-southeast-1']) {
      const t = Template.fromStack(built.regions[region].data);
      const requests = Object.values(t.findResources('Custom::SecretReplica')).map((r: any) => JSON.parse(r.Properties.Create));
      const origin = requests.filter((c: any) => String(c.parameters.SecretId).startsWith('shop/edge/origin-verify'));
      expect(origin).toEqual([0, 1].map((slot) => ({
        service: 'SecretsManager',
        action: 'replicateSecretToRegions',
        region: 'us-east-1',
        parameters: { SecretId: `shop/edge/origin-verify-${slot}`, AddReplicaRegions: [{ Region: region }], ForceOverwriteReplicaSecret: true },
        physicalResourceId: { id: `shop/edge/origin-verify-${slot}@${region}` },
        logApiResponseData: false,
      })));
      // The region's app stack (listener rules resolving the replica) deploys after its data stack.
      expect(built.regions[region].app.dependencies).toContain(built.regions[region].data);
    }
    Template.fromStack(built.edge).resourceCountIs('Custom::SecretReplica', 0);
  });

  it('makes every region\'s load balancer answer only requests carrying the header', () => {
    for (const region of ['us-east-1', 'eu-west-1', 'ap-southeast-1']) {
      const t = Template.fromStack(built.regions[region].app);
      t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Protocol: 'HTTPS', DefaultActions: [Match.objectLike({ Type: 'fixed-response', FixedResponseConfig: Match.objectLike({ StatusCode: '403' }) })] });
      const rules = Object.values(t.findResources('AWS::ElasticLoadBalancingV2::ListenerRule')) as any[];
      expect(rules.map((r) => r.Properties.Priority).sort((a: number, b: number) => a - b)).toEqual([1, 10, 50000]);
      for (const r of rules) {
        if (r.Properties.Priority === 1) {
          expect(r.Properties.Conditions).toContainEqual({ Field: 'path-pattern', PathPatternConfig: { Values: ['/health/deep'] } });
        } else {
          expect(r.Properties.Conditions).toContainEqual({ Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: 'X-Origin-Verify', Values: [G1, G0] } });
        }
      }
    }
  });

  it('deploys the edge after every app stack', () => {
    const deps = built.edge.dependencies.map((s) => s.stackName).sort();
    expect(deps).toEqual(['shop-app-ap-southeast-1', 'shop-app-eu-west-1', 'shop-app-us-east-1']);
  });
});

describe('reference app edge: WAF request bodies and CloudFront headers from the config', () => {
  const config = (edge: Record<string, unknown>) => minimalConfig({
    name: 'shop',
    domain: { name: 'shop.example.com', hostedZoneId: 'Z0123456789ABCDEFGHIJ', hostedZoneName: 'example.com' },
    edge: { regionalWaf: true, ...edge },
  });
  const overrides = (t: Template) => Object.values(t.findResources('AWS::WAFv2::WebACL')).map((acl) => ((acl as { Properties: { Rules: Array<{ Name: string; Statement: { ManagedRuleGroupStatement?: { RuleActionOverrides?: unknown } } }> } }).Properties.Rules
    .find((r) => r.Name === 'AWSManagedRulesCommonRuleSet')!.Statement.ManagedRuleGroupStatement!.RuleActionOverrides));

  it('counts bodies over 8 KB on the edge and regional web ACLs, and blocks them with edge.blockLargeRequestBodies', () => {
    const counted = buildTestApp(config({}));
    const blocked = buildTestApp(config({ blockLargeRequestBodies: true }));
    const count = [{ Name: 'SizeRestrictions_BODY', ActionToUse: { Count: {} } }];
    expect(overrides(Template.fromStack(counted.edge))).toEqual([count]);
    expect(overrides(Template.fromStack(counted.regions['eu-west-1'].app))).toEqual([count]);
    expect(overrides(Template.fromStack(blocked.edge))).toEqual([undefined]);
    expect(overrides(Template.fromStack(blocked.regions['eu-west-1'].app))).toEqual([undefined]);
  });

  it('keeps the origin secret out of the regional WAF\'s logs under the header name the config gives it', () => {
    const built = buildTestApp(config({ originHeaderName: 'X-Shop-Origin' }));
    Template.fromStack(built.regions['eu-west-1'].app).hasResourceProperties('AWS::WAFv2::LoggingConfiguration', {
      RedactedFields: Match.arrayWith([{ SingleHeader: { Name: 'x-shop-origin' } }]),
    });
  });

  it('does not warn about CloudFront headers for the default list with forwardViewerHost false (the config passes the default)', () => {
    const built = buildTestApp(config({ forwardViewerHost: false }));
    expect(Annotations.fromStack(built.edge).findWarning('*', Match.stringLikeRegexp('edge-cloudfront-headers-dropped'))).toEqual([]);
  });
});

describe('reference app edge with a primary region other than us-east-1 and a regional WAF', () => {
  let built: ReturnType<typeof buildTestApp>;
  beforeAll(() => {
    built = buildTestApp(minimalConfig({
      name: 'shop',
      domain: { name: 'shop.example.com', hostedZoneId: 'Z0123456789ABCDEFGHIJ', hostedZoneName: 'example.com' },
      edge: { regionalWaf: true, originSecretGeneration: 2 },
    }));
  });

  it('creates the secrets in the primary region without replica regions', () => {
    Template.fromStack(built.regions['eu-west-1'].data).hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: 'shop/edge/origin-verify-0',
      ReplicaRegions: Match.absent(),
      GenerateSecretString: Match.objectLike({ GenerateStringKey: 'g2' }),
    });
    Template.fromStack(built.regions['eu-west-1'].data).resourceCountIs('Custom::SecretReplica', 0);
  });

  it('pulls the us-east-1 replica for CloudFront from the edge stack (us-east-1 hosts no region), kept on delete, before the distribution', () => {
    const t = Template.fromStack(built.edge);
    const requests = t.findResources('Custom::SecretReplica');
    expect(Object.keys(requests)).toHaveLength(2);
    for (const [id, r] of Object.entries(requests) as [string, any][]) {
      const create = JSON.parse(r.Properties.Create);
      expect(create).toMatchObject({ action: 'replicateSecretToRegions', region: 'eu-west-1', parameters: { AddReplicaRegions: [{ Region: 'us-east-1' }] } });
      expect(create.parameters.SecretId).toMatch(/^shop\/edge\/origin-verify-[01]$/);
      // RETAIN: the distribution must never lose the value it sends, even if this request moves elsewhere.
      expect(r.Properties.Delete).toBeUndefined();
      const distribution = Object.values(t.findResources('AWS::CloudFront::Distribution'))[0] as any;
      expect(distribution.DependsOn).toContain(id);
    }
    // ... and after each replica is in sync: CloudFront resolves the header value as soon as the distribution is created
    const waits = t.findResources('Custom::SecretReplicaInSync');
    expect(Object.values(waits).map((w: any) => [w.Properties.SecretId, w.Properties.PrimaryRegion, w.Properties.ReplicaRegion]).sort())
      .toEqual([['shop/edge/origin-verify-0', 'eu-west-1', 'us-east-1'], ['shop/edge/origin-verify-1', 'eu-west-1', 'us-east-1']]);
    const distribution = Object.values(t.findResources('AWS::CloudFront::Distribution'))[0] as any;
    expect(distribution.DependsOn).toEqual(expect.arrayContaining(Object.keys(waits)));
  });

  it('sends generation 2 from CloudFront and accepts generations 2 and 1 at the load balancer', () => {
    const g2 = '{{resolve:secretsmanager:shop/edge/origin-verify-0:SecretString:g2::}}';
    const g1 = '{{resolve:secretsmanager:shop/edge/origin-verify-1:SecretString:g1::}}';
    Template.fromStack(built.edge).hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({ Origins: Match.arrayWith([Match.objectLike({ OriginCustomHeaders: [{ HeaderName: 'X-Origin-Verify', HeaderValue: g2 }] })]) }),
    });
    Template.fromStack(built.regions['eu-west-1'].app).hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Conditions: [{ Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: 'X-Origin-Verify', Values: [g2, g1] } }],
    });
  });

  it('puts a regional web ACL with logging on the load balancer', () => {
    const t = Template.fromStack(built.regions['eu-west-1'].app);
    t.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'REGIONAL',
      Rules: Match.arrayWith([Match.objectLike({
        Name: 'RateLimitPerIp',
        // Behind CloudFront the source IP is an edge location's: count per viewer IP.
        Statement: { RateBasedStatement: Match.objectLike({ AggregateKeyType: 'FORWARDED_IP', ForwardedIPConfig: { HeaderName: 'X-Forwarded-For', FallbackBehavior: 'MATCH' } }) },
      })]),
    });
    t.hasResourceProperties('AWS::WAFv2::WebACLAssociation', { ResourceArn: { Ref: Match.stringLikeRegexp('LoadBalancer') } });
    t.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: 'aws-waf-logs-shop-eu-west-1' });
  });
});

describe('reference app edge (startup config: no domain)', () => {
  let built: ReturnType<typeof buildTestApp>;
  beforeAll(() => {
    built = buildTestApp('startup');
  });

  it('leaves the edge stack empty, with a warning', () => {
    const t = Template.fromStack(built.edge);
    expect(Object.values(t.toJSON().Resources ?? {}).filter((r: any) => r.Type !== 'AWS::CDK::Metadata')).toEqual([]);
    Annotations.fromStack(built.edge).hasWarning('/shop-startup-edge', Match.stringLikeRegexp('No domain configured'));
  });

  it('keeps the load balancer forwarding (no origin header without the edge)', () => {
    const t = Template.fromStack(built.regions['us-east-1'].app);
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { DefaultActions: [Match.objectLike({ Type: 'forward' })] });
    expect(Object.keys(Template.fromStack(built.regions['us-east-1'].data).findResources('AWS::SecretsManager::Secret')).filter((id) => id.startsWith('OriginVerify'))).toEqual([]);
  });
});

describe('reference app edge: template validator and cdk-nag', () => {
  afterAll(removeCheckedSynths);
  const zeroFindings = (config: AppConfigInput | AppConfig) => {
    const previous = process.env.CDK_VALIDATION;
    process.env.CDK_VALIDATION = 'true';
    try {
      // As `cdk synth` does: version reporting adds CDKMetadata, so a stack with nothing else is not an empty template.
      const result = checkedSynth((app) => buildApp(app, config, { nagChecks: true }), { analyticsReporting: true });
      expect(result.error?.message).toBeUndefined();
      expect(result.validation).toBeDefined();
      expect(findings(result, 'CloudFormation Validate')).toEqual([]);
      expect(findings(result, 'AwsSolutions')).toEqual([]);
    } finally {
      process.env.CDK_VALIDATION = previous;
    }
  };

  // The example configs themselves are checked once, in test/checks.test.ts.
  it('has zero findings with the opt-ins (assets upload, regional WAF)', () => {
    const folder = mkdtempSync(join(tmpdir(), 'edge-assets-'));
    writeFileSync(join(folder, 'app.css'), 'body{}');
    zeroFindings(minimalConfig({
      name: 'shop',
      domain: { name: 'shop.example.com', hostedZoneId: 'Z0123456789ABCDEFGHIJ', hostedZoneName: 'example.com' },
      edge: { assetsFolder: folder, regionalWaf: true },
    }));
  });
});

describe('reference app edge with us-east-1 as a secondary region', () => {
  let built: ReturnType<typeof buildTestApp>;
  beforeAll(() => {
    // GIVEN eu-west-1 as the primary region and us-east-1 (the edge region) as a second region
    built = buildTestApp(minimalConfig({
      name: 'shop',
      regions: [{ region: 'eu-west-1', vpcCidr: '10.0.0.0/16' }, { region: 'us-east-1', vpcCidr: '10.1.0.0/16' }],
      domain: { name: 'shop.example.com', hostedZoneId: 'Z0123456789ABCDEFGHIJ', hostedZoneName: 'example.com' },
    }));
  });

  it('pulls the us-east-1 replica from the us-east-1 data stack (before its app stack and the edge), kept on delete', () => {
    const t = Template.fromStack(built.regions['us-east-1'].data);
    const requests = Object.entries(t.findResources('Custom::SecretReplica')).filter(([id]) => id.startsWith('OriginVerifyReplica')) as [string, any][];
    expect(requests.map(([, r]) => JSON.parse(r.Properties.Create).parameters.SecretId).sort()).toEqual(['shop/edge/origin-verify-0', 'shop/edge/origin-verify-1']);
    for (const [, r] of requests) {
      expect(JSON.parse(r.Properties.Create)).toMatchObject({ region: 'eu-west-1', parameters: { AddReplicaRegions: [{ Region: 'us-east-1' }] } });
      // CloudFront needs this replica even if us-east-1 stops hosting a region.
      expect(r.Properties.Delete).toBeUndefined();
    }
    expect(built.edge.dependencies).toContain(built.regions['us-east-1'].app);
  });

  it('makes no replica request in the edge stack', () => {
    Template.fromStack(built.edge).resourceCountIs('Custom::SecretReplica', 0);
  });
});
