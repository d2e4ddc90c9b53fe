/* eslint-disable @typescript-eslint/no-explicit-any -- assertions walk raw CloudFormation template JSON */
import { CfnElement, Stack } from 'aws-cdk-lib/core';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { WebTier, type OriginVerifyHeaderOptions, type WebServiceProps, type WebTierProps } from '../../../constructs/web-tier';
import { stackWithVpc } from '../../helpers/app';
import { validationErrorOf } from '../../helpers/errors';

const VALUES = ['{{resolve:secretsmanager:shop/edge/origin-verify-1:SecretString:g1::}}', '{{resolve:secretsmanager:shop/edge/origin-verify-0:SecretString:g0::}}'];
const services = (): WebServiceProps[] => [
  { name: 'web', instanceType: new ec2.InstanceType('t4g.small'), minCapacity: 1, maxCapacity: 2 },
  { name: 'api', pathPatterns: ['/api/*'], priority: 10, instanceType: new ec2.InstanceType('t4g.small'), minCapacity: 1, maxCapacity: 2 },
];

function tier(extra: Partial<WebTierProps> = {}) {
  const { stack, vpc } = stackWithVpc();
  const hostedZone = route53.HostedZone.fromHostedZoneAttributes(stack, 'Zone', { hostedZoneId: 'Z0123456789ABCDEFGHIJ', zoneName: 'example.com' });
  const web = new WebTier(stack, 'Web', { vpc, services: services(), domain: { domainName: 'shop.example.com', hostedZone }, ...extra });
  return { stack, web };
}

function header(values = VALUES) {
  return { Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: 'X-Origin-Verify', Values: values } };
}

describe('WebTier with an origin-verify header', () => {
  let t: Template;
  let stack: Stack;
  let web: WebTier;
  beforeAll(() => {
    ({ stack, web } = tier({ originVerifyHeader: { name: 'X-Origin-Verify', values: VALUES } }));
    t = Template.fromStack(stack);
  });

  it('answers a fixed 403 by default on the HTTPS listener', () => {
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Protocol: 'HTTPS',
      DefaultActions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '403', ContentType: 'text/plain', MessageBody: 'Forbidden' } }],
    });
  });

  it('requires the header on every service rule, keeping the path condition', () => {
    const api = web.services.api.targetGroup;
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Priority: 10,
      Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/api/*'] } }, header()],
      Actions: [{ Type: 'forward', TargetGroupArn: { Ref: stack.getLogicalId(api.node.defaultChild as CfnElement) } }],
    });
  });

  it('gives the default service a rule of its own, at the lowest precedence, requiring the header', () => {
    const def = web.services.web.targetGroup;
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Priority: 50000,
      Conditions: [header()],
      Actions: [{ Type: 'forward', TargetGroupArn: { Ref: stack.getLogicalId(def.node.defaultChild as CfnElement) } }],
    });
  });

  it('exempts only GET/HEAD of the exact deep health path Route 53 checks, forwarded to the default service, ahead of every rule', () => {
    const def = web.services.web.targetGroup;
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Priority: 1,
      Conditions: [
        { Field: 'path-pattern', PathPatternConfig: { Values: ['/health/deep'] } },
        { Field: 'http-request-method', HttpRequestMethodConfig: { Values: ['GET', 'HEAD'] } },
      ],
      Actions: [{ Type: 'forward', TargetGroupArn: { Ref: stack.getLogicalId(def.node.defaultChild as CfnElement) } }],
    });
    expect(web.healthCheckExemptionRule).toBeDefined();
  });

  it('has exactly these three rules (no path forwards without the header)', () => {
    const rules = Object.values(t.findResources('AWS::ElasticLoadBalancingV2::ListenerRule')) as any[];
    expect(rules.map((r) => r.Properties.Priority).sort((a, b) => a - b)).toEqual([1, 10, 50000]);
    for (const r of rules.filter((x) => x.Properties.Priority !== 1)) expect(r.Properties.Conditions).toContainEqual(header());
  });

  it('keeps the HTTP listener a redirect to HTTPS only', () => {
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Protocol: 'HTTP',
      DefaultActions: [Match.objectLike({ Type: 'redirect', RedirectConfig: Match.objectLike({ Protocol: 'HTTPS', Port: '443' }) })],
    });
  });
});

describe('WebTier without an origin-verify header', () => {
  let t: Template;
  beforeAll(() => {
    const { stack } = tier();
    t = Template.fromStack(stack);
  });

  it('keeps forwarding to the default service and adds no header conditions', () => {
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Protocol: 'HTTPS', DefaultActions: [Match.objectLike({ Type: 'forward' })] });
    const rules = Object.values(t.findResources('AWS::ElasticLoadBalancingV2::ListenerRule')) as any[];
    expect(rules).toHaveLength(1);
    expect(JSON.stringify(rules)).not.toMatch(/http-header/);
  });
});

describe('WebTier origin-verify bad input', () => {
  const withPatterns = (extra: Partial<WebServiceProps>) => { const svcs = services(); svcs[1] = { ...svcs[1], ...extra }; return svcs; };
  it.each<[string, Partial<OriginVerifyHeaderOptions>, RegExp, WebServiceProps[]?]>([
    ['a service rule would exceed the 5 condition values of an ALB rule', { values: VALUES }, /services\[1\] \(api\) has 6 condition values.*\(got: 6\)/, withPatterns({ pathPatterns: ['/a/*', '/b/*', '/c/*', '/d/*'] })],
    ['a service priority collides with the health-check exemption', { values: VALUES }, /services\[1\]\.priority is taken by originVerifyHeader.healthCheckExemptionPriority \(got: 1\)/, withPatterns({ priority: 1 })],
    ['there are no values', { values: [] }, /values must hold 1 or 2 values \(got: 0\)/],
    ['there are more than two values', { values: ['a', 'b', 'c'] }, /values must hold 1 or 2 values \(got: 3\)/],
    ['the header name is not a header name', { name: 'X Origin' }, /originVerifyHeader.name must be an HTTP header name.*\(got: "X Origin"\)/],
    ['the exempted health path is not one exact path', { healthCheckPath: '/health/*' }, /healthCheckPath must be one exact path \(no wildcard\), starting with \/ \(got: "\/health\/\*"\)/],
    ['the default-service priority is out of range', { defaultServicePriority: 50001 }, /defaultServicePriority must be 1-50000 \(got: 50001\)/],
  ])('fails when %s, naming the web tier', (_, ov, message, svcs = services()) => {
    const { stack, vpc } = stackWithVpc();
    expect(validationErrorOf(() => new WebTier(stack, 'Web', { vpc, services: svcs, originVerifyHeader: { name: 'X-Origin-Verify', values: ['a'], ...ov } })))
      .toEqual({ path: 'TestStack/Web', message: expect.stringMatching(message) });
  });
});
