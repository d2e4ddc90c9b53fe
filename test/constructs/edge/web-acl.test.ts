import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ProductWebAcl, RegionalWebAcl, webAclRules, type ProductWebAclProps } from '../../../constructs/edge';
import { testStack } from '../../helpers/app';
import { validationErrorOf } from '../../helpers/errors';

describe('RegionalWebAcl', () => {
  let t: Template;
  beforeAll(() => {
    const stack = testStack('Regional', 'eu-west-1');
    new RegionalWebAcl(stack, 'Waf', {
      loadBalancerArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/web/abc',
      rateLimitPer5Min: 500,
      logGroupName: 'aws-waf-logs-shop-eu-west-1',
    });
    t = Template.fromStack(stack);
  });

  it('creates a REGIONAL web ACL counting the source IP, associated with the load balancer', () => {
    t.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'REGIONAL',
      Rules: Match.arrayWith([Match.objectLike({ Name: 'RateLimitPerIp', Statement: { RateBasedStatement: { Limit: 500, AggregateKeyType: 'IP', EvaluationWindowSec: 300 } } })]),
    });
    t.hasResourceProperties('AWS::WAFv2::WebACLAssociation', {
      ResourceArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/web/abc',
      WebACLArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Waf'), 'Arn'] },
    });
  });

  it('logs to its aws-waf-logs- group, without CloudFront\'s origin secret, which it sees on every request', () => {
    t.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: 'aws-waf-logs-shop-eu-west-1' });
    t.resourceCountIs('AWS::WAFv2::LoggingConfiguration', 1);
    t.hasResourceProperties('AWS::WAFv2::LoggingConfiguration', { RedactedFields: Match.arrayWith([{ SingleHeader: { Name: 'x-origin-verify' } }]) });
  });
});

describe('web ACL rules', () => {
  it('puts the rate rule first and the three managed groups after it', () => {
    expect(webAclRules('m', 100).map((r) => [r.name, r.priority])).toEqual([
      ['RateLimitPerIp', 0],
      ['AWSManagedRulesAmazonIpReputationList', 1],
      ['AWSManagedRulesCommonRuleSet', 2],
      ['AWSManagedRulesKnownBadInputsRuleSet', 3],
    ]);
  });

  it('lets request bodies over 8 KB through (the common rule set\'s SizeRestrictions_BODY counts), unless told to block them', () => {
    const common = (block?: boolean) => webAclRules('m', 100, undefined, block).find((r) => r.name === 'AWSManagedRulesCommonRuleSet')!.statement as unknown as { managedRuleGroupStatement: Record<string, unknown> };
    expect(common().managedRuleGroupStatement.ruleActionOverrides).toEqual([{ name: 'SizeRestrictions_BODY', actionToUse: { count: {} } }]);
    expect(common(true).managedRuleGroupStatement.ruleActionOverrides).toBeUndefined();
    // only the common group is overridden
    for (const r of webAclRules('m', 100).filter((x) => x.name !== 'AWSManagedRulesCommonRuleSet' && x.statement && 'managedRuleGroupStatement' in (x.statement as object))) {
      expect((r.statement as unknown as { managedRuleGroupStatement: Record<string, unknown> }).managedRuleGroupStatement.ruleActionOverrides).toBeUndefined();
    }
  });

  it.each<[string, Partial<ProductWebAclProps>, RegExp, string?]>([
    ['the rate limit is below what WAF accepts', { rateLimitPer5Min: 5 }, /^ProductWebAcl: rateLimitPer5Min must be a whole number from 10 to 2000000000 .*\(got: 5\)$/],
    ['the log group name lacks the aws-waf-logs- prefix', { logGroupName: 'waf-logs' }, /logGroupName must start with "aws-waf-logs-" .*\(got: "waf-logs"\)/],
    ['a CLOUDFRONT web ACL is outside us-east-1', {}, /must be created in us-east-1 \(got: eu-west-1\)/, 'eu-west-1'],
  ])('fails when %s, naming the web ACL', (_, props, message, region = 'us-east-1') => {
    expect(validationErrorOf(() => new ProductWebAcl(testStack('Waf', region), 'W', { scope: 'CLOUDFRONT', rateLimitPer5Min: 100, logGroupName: 'aws-waf-logs-x', ...props })))
      .toEqual({ path: 'Waf/W', message: expect.stringMatching(message) });
  });
});

describe('web ACL rate rule and static paths', () => {
  // CloudFront routes by the normalized path (percent-decoded, dot segments removed): /static/../login and
  // /static/%2e%2e/login reach the dynamic origin, so the exclusion must look at the path normalized the same way.
  const normalized = [{ priority: 0, type: 'URL_DECODE' }, { priority: 1, type: 'NORMALIZE_PATH' }];
  it('matches the excluded paths on the path as CloudFront routes it, so /static/../login is still counted', () => {
    const rate = (webAclRules('m', 2000, undefined, false, ['/static/*'])[0]!.statement as unknown as { rateBasedStatement: { scopeDownStatement: { notStatement: { statement: { byteMatchStatement: { textTransformations: unknown } } } } } }).rateBasedStatement;
    expect(rate.scopeDownStatement.notStatement.statement.byteMatchStatement.textTransformations).toEqual(normalized);
  });
  it('does not count requests under the excluded paths (static files a page load fetches by the dozen)', () => {
    const rate = (paths: string[]) => (webAclRules('m', 2000, undefined, false, paths)[0]!.statement as unknown as { rateBasedStatement: Record<string, unknown> }).rateBasedStatement;
    const startsWith = (p: string) => ({ byteMatchStatement: { fieldToMatch: { uriPath: {} }, positionalConstraint: 'STARTS_WITH', searchString: p, textTransformations: normalized } });
    expect(rate([])).not.toHaveProperty('scopeDownStatement');
    expect(rate(['/static/*']).scopeDownStatement).toEqual({ notStatement: { statement: startsWith('/static/') } });
    expect(rate(['/static/*', '/assets/*', '/static/*']).scopeDownStatement).toEqual({ notStatement: { statement: { orStatement: { statements: [startsWith('/static/'), startsWith('/assets/')] } } } });
    // a pattern that would exclude everything is ignored
    expect(rate(['/*', '*'])).not.toHaveProperty('scopeDownStatement');
    // /static/x and /v1x match no static behaviour (CloudFront sends them to the load balancers): they must be counted
    expect(rate(['/static/*.js', '/v?/*'])).not.toHaveProperty('scopeDownStatement');
    expect(rate(['/img/*.png', '/static/*']).scopeDownStatement).toEqual({ notStatement: { statement: startsWith('/static/') } });
  });
});
