import { Arn, ArnFormat, RemovalPolicy, Stack, Token } from 'aws-cdk-lib/core';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct, type IConstruct } from 'constructs';
import { unscopedValidationError, validationError } from '../common/errors';
import { EDGE_DEFAULTS, WAF_MAX_RATE_LIMIT, WAF_MIN_RATE_LIMIT } from './defaults';

/** The AWS managed rule groups every web ACL of the product runs, in priority order after the rate rule. */
export const MANAGED_RULE_GROUPS: readonly string[] = [
  'AWSManagedRulesAmazonIpReputationList',
  'AWSManagedRulesCommonRuleSet',
  'AWSManagedRulesKnownBadInputsRuleSet',
];

/** WAF text transformations that bring a request's path to the one CloudFront matches path patterns against. */
const PATH_AS_ROUTED: wafv2.CfnWebACL.TextTransformationProperty[] = [{ priority: 0, type: 'URL_DECODE' }, { priority: 1, type: 'NORMALIZE_PATH' }];

/**
 * Throws a `ValidationError` (of `scope`, when given) when `limit` is outside what AWS WAF accepts for a
 * rate-based rule; `who` names the construct in the message.
 */
export function checkRateLimit(limit: number, who: string, scope?: IConstruct): void {
  if (Token.isUnresolved(limit)) return;
  if (!Number.isInteger(limit) || limit < WAF_MIN_RATE_LIMIT || limit > WAF_MAX_RATE_LIMIT) {
    const message = `${who}: rateLimitPer5Min must be a whole number from ${WAF_MIN_RATE_LIMIT} to ${WAF_MAX_RATE_LIMIT} (AWS WAF's rate-based rule limits) (got: ${limit})`;
    throw scope ? validationError(scope, message) : unscopedValidationError(message);
  }
}

/**
 * The rules of a product web ACL: a per-IP rate-based block rule (5-minute window) first, then the AWS
 * managed IP-reputation, common and known-bad-inputs groups. The common group's `SizeRestrictions_BODY` (a request
 * body over 8 KB) counts instead of blocking unless `blockLargeRequestBodies`. Requests under
 * `rateLimitExcludedPaths` (CloudFront path patterns ending in their only wildcard, `*`, e.g. `/static/*`: the part
 * before it is the prefix; a pattern with another wildcard, e.g. `/img/*.png`, is not excluded) are not counted by the rate rule: a page load fetches dozens of static files, and an office or a mobile
 * carrier behind one address would be blocked at normal use.
 */
export function webAclRules(metricPrefix: string, rateLimitPer5Min: number, forwardedIpHeader?: string, blockLargeRequestBodies = false, rateLimitExcludedPaths: readonly string[] = []): wafv2.CfnWebACL.RuleProperty[] {
  const visibility = (name: string) => ({ cloudWatchMetricsEnabled: true, sampledRequestsEnabled: true, metricName: `${metricPrefix}-${name}` });
  // Only a pattern whose one wildcard is a trailing `*` is a prefix: `/img/*.png` or `/v?/*` routes `/img/x` or
  // `/v1x` to the dynamic origin, which must stay counted (such patterns are counted whole).
  const prefixes = [...new Set(rateLimitExcludedPaths.filter((p) => /^[^*?]+\*$/.test(p)).map((p) => p.slice(0, -1)).filter((p) => p.length > 1))];
  const startsWith = (prefix: string): wafv2.CfnWebACL.StatementProperty => ({
    // CloudFront picks the behaviour by the path normalized (RFC 3986: percent-decoded, dot segments removed), WAF
    // inspects it as sent: without the same normalization `/static/../login` is routed to the dynamic origin and
    // skips the rate rule.
    byteMatchStatement: { fieldToMatch: { uriPath: {} }, positionalConstraint: 'STARTS_WITH', searchString: prefix, textTransformations: PATH_AS_ROUTED },
  });
  const excluded = prefixes.length === 0 ? undefined : prefixes.length === 1 ? startsWith(prefixes[0]!) : { orStatement: { statements: prefixes.map(startsWith) } };
  return [
    {
      name: 'RateLimitPerIp',
      priority: 0,
      action: { block: {} },
      statement: {
        rateBasedStatement: {
          ...(forwardedIpHeader
            ? { limit: rateLimitPer5Min, aggregateKeyType: 'FORWARDED_IP', forwardedIpConfig: { headerName: forwardedIpHeader, fallbackBehavior: 'MATCH' }, evaluationWindowSec: 300 }
            : { limit: rateLimitPer5Min, aggregateKeyType: 'IP', evaluationWindowSec: 300 }),
          ...(excluded ? { scopeDownStatement: { notStatement: { statement: excluded } } } : {}),
        },
      },
      visibilityConfig: visibility('RateLimitPerIp'),
    },
    ...MANAGED_RULE_GROUPS.map((name, i) => ({
      name,
      priority: i + 1,
      overrideAction: { none: {} },
      statement: {
        managedRuleGroupStatement: {
          vendorName: 'AWS',
          name,
          ...(name === 'AWSManagedRulesCommonRuleSet' && !blockLargeRequestBodies
            ? { ruleActionOverrides: [{ name: 'SizeRestrictions_BODY', actionToUse: { count: {} } }] }
            : {}),
        },
      },
      visibilityConfig: visibility(name),
    })),
  ];
}

/** Properties of a {@link ProductWebAcl}. */
export interface ProductWebAclProps {
  /** `CLOUDFRONT` (the stack must be in us-east-1) or `REGIONAL` (load balancers). */
  readonly scope: 'CLOUDFRONT' | 'REGIONAL';
  /** Per-IP requests per 5 minutes before blocking (10 to 2,000,000,000). */
  readonly rateLimitPer5Min: number;
  /**
   * Name of the WAF log group; AWS WAF requires the `aws-waf-logs-` prefix, so this physical name is
   * required rather than generated.
   */
  readonly logGroupName: string;
  /** Days WAF logs are kept. @default logs.RetentionDays.THREE_MONTHS */
  readonly logRetention?: logs.RetentionDays;
  /** Prefix of the CloudWatch metric names. @default - the construct's id */
  readonly metricPrefix?: string;
  /**
   * Count the rate limit per client IP taken from this header (e.g. `X-Forwarded-For` behind CloudFront,
   * where every request's source IP is a CloudFront edge). A client can forge the header's first address, so
   * this is defence in depth; the edge web ACL, which sees the real source IP, is the rate limiter.
   * @default - the request's source IP
   */
  readonly forwardedIpHeader?: string;
  /**
   * Block requests whose body is over 8 KB, as AWS's common rule set does (its `SizeRestrictions_BODY` rule). By
   * default that rule counts them instead (in the ACL's metrics and sampled requests): an API's JSON batches, form
   * posts and uploads are often larger, and each would be answered 403.
   * @default false
   */
  readonly blockLargeRequestBodies?: boolean;
  /**
   * More request headers to redact in the logs, besides `authorization`, `cookie` and the origin-verify header
   * (`X-Origin-Verify`, CloudFront's secret for the load balancers, which a regional web ACL sees on every request).
   * @default - none
   */
  readonly redactedHeaders?: string[];
  /**
   * Paths the rate rule does not count (CloudFront path patterns such as `/static/*`): static files, which a page
   * load fetches by the dozen.
   * @default - none
   */
  readonly rateLimitExcludedPaths?: string[];
}

/**
 * A WAF web ACL (default allow) with the product's rules ({@link webAclRules}), logging to a CloudWatch
 * Logs group with the `authorization`, `cookie` and origin-verify headers redacted.
 */
export class ProductWebAcl extends Construct {
  /** The web ACL. */
  public readonly webAcl: wafv2.CfnWebACL;
  /** The WAF log group. */
  public readonly logGroup: logs.LogGroup;
  /** The logging configuration. */
  public readonly loggingConfiguration: wafv2.CfnLoggingConfiguration;

  constructor(scope: Construct, id: string, props: ProductWebAclProps) {
    super(scope, id);
    checkRateLimit(props.rateLimitPer5Min, 'ProductWebAcl', this);
    if (!Token.isUnresolved(props.logGroupName) && !/^aws-waf-logs-[A-Za-z0-9_\-./#]{1,499}$/.test(props.logGroupName)) {
      throw validationError(this, `ProductWebAcl: logGroupName must start with "aws-waf-logs-" (AWS WAF requires it) (got: ${JSON.stringify(props.logGroupName)})`);
    }
    const region = Stack.of(this).region;
    if (props.scope === 'CLOUDFRONT' && !Token.isUnresolved(region) && region !== 'us-east-1') {
      throw validationError(this, `ProductWebAcl: a CLOUDFRONT web ACL must be created in us-east-1 (got: ${region})`);
    }
    const metricPrefix = props.metricPrefix ?? this.node.id;
    this.webAcl = new wafv2.CfnWebACL(this, 'Resource', {
      scope: props.scope,
      defaultAction: { allow: {} },
      rules: webAclRules(metricPrefix, props.rateLimitPer5Min, props.forwardedIpHeader, props.blockLargeRequestBodies, props.rateLimitExcludedPaths),
      visibilityConfig: { cloudWatchMetricsEnabled: true, sampledRequestsEnabled: true, metricName: metricPrefix },
    });
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: props.logGroupName,
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.loggingConfiguration = new wafv2.CfnLoggingConfiguration(this, 'Logging', {
      resourceArn: this.webAcl.attrArn,
      // WAF wants the log group ARN without the `:*` suffix that LogGroup.logGroupArn carries.
      logDestinationConfigs: [Arn.format({ service: 'logs', resource: 'log-group', resourceName: this.logGroup.logGroupName, arnFormat: ArnFormat.COLON_RESOURCE_NAME }, Stack.of(this))],
      redactedFields: [...new Set(['authorization', 'cookie', EDGE_DEFAULTS.originVerifyHeaderName.toLowerCase(), ...(props.redactedHeaders ?? []).map((h) => h.toLowerCase())])]
        .map((name) => ({ singleHeader: { Name: name } })),
    });
  }
}

/** Properties of a {@link RegionalWebAcl}. */
export interface RegionalWebAclProps extends Omit<ProductWebAclProps, 'scope'> {
  /** ARN of the load balancer to protect. */
  readonly loadBalancerArn: string;
}

/**
 * A regional web ACL on a load balancer: defence in depth behind CloudFront's web ACL (for instance when
 * the origin header leaks). Opt-in: with the origin header, every request it sees already passed the edge ACL.
 */
export class RegionalWebAcl extends ProductWebAcl {
  /** The association with the load balancer. */
  public readonly association: wafv2.CfnWebACLAssociation;

  constructor(scope: Construct, id: string, props: RegionalWebAclProps) {
    super(scope, id, { ...props, scope: 'REGIONAL' });
    this.association = new wafv2.CfnWebACLAssociation(this, 'Association', {
      resourceArn: props.loadBalancerArn,
      webAclArn: this.webAcl.attrArn,
    });
  }
}
