/* eslint-disable @typescript-eslint/no-explicit-any -- assertions walk raw CloudFormation template JSON */
import { Annotations as CdkAnnotations, CfnElement, Duration, Stack } from 'aws-cdk-lib/core';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { EDGE_DEFAULTS, EdgeDistribution, forwardsCookie, type EdgeDistributionProps } from '../../../constructs/edge';
import { SESSION_COOKIE_DEFAULTS } from '../../../lib/runtime/session-cookie';
import { originDomainName } from '../../../constructs/geo-dns';
import { testStack } from '../../helpers/app';
import { validationErrorOf } from '../../helpers/errors';

/** Managed policy ids (stable AWS values). */
const CACHING_OPTIMIZED = '658327ea-f89d-4fab-a63d-7e88639e58f6';
const CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';

function edgeStack(props: Partial<EdgeDistributionProps> = {}, region = 'us-east-1') {
  const stack = testStack('Edge', region);
  const hostedZone = route53.HostedZone.fromHostedZoneAttributes(stack, 'Zone', { hostedZoneId: 'Z0123456789ABCDEFGHIJ', zoneName: 'example.com' });
  const edge = new EdgeDistribution(stack, 'Edge', {
    domainName: 'shop.example.com',
    hostedZone,
    originVerifyHeader: { name: 'X-Origin-Verify', value: '{{resolve:secretsmanager:shop/edge/origin-verify-1:SecretString:g1::}}' },
    ...props,
  });
  return { stack, edge, hostedZone };
}

function distributionConfig(t: Template): Record<string, any> {
  const d = Object.values(t.findResources('AWS::CloudFront::Distribution'));
  expect(d).toHaveLength(1);
  return (d[0] as any).Properties.DistributionConfig;
}

describe('EdgeDistribution with defaults', () => {
  let t: Template;
  let config: Record<string, any>;
  let edge: EdgeDistribution;
  let stack: Stack;
  beforeAll(() => {
    ({ stack, edge } = edgeStack());
    t = Template.fromStack(stack);
    config = distributionConfig(t);
  });

  it('derives the origin name origin.<domain>', () => {
    expect(originDomainName('shop.example.com')).toBe('origin.shop.example.com');
    expect(edge.originDomainName).toBe('origin.shop.example.com');
  });

  it('creates a private, SSE-S3, versioned, TLS-only assets bucket with access logs and lifecycle rules, retained', () => {
    t.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        VersioningConfiguration: { Status: 'Enabled' },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        LoggingConfiguration: { DestinationBucketName: { Ref: stack.getLogicalId(edge.logsBucket.node.defaultChild as CfnElement) }, LogFilePrefix: 's3-assets/' },
        LifecycleConfiguration: { Rules: [Match.objectLike({ Id: 'expire-old-versions', NoncurrentVersionExpiration: { NoncurrentDays: 30 }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' })] },
      }),
    });
  });

  it('serves the bucket through Origin Access Control and lets only this distribution read it', () => {
    t.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: Match.objectLike({ OriginAccessControlOriginType: 's3', SigningBehavior: 'always', SigningProtocol: 'sigv4' }),
    });
    const s3Origin = config.Origins.find((o: any) => o.S3OriginConfig);
    const oac = Object.keys(t.findResources('AWS::CloudFront::OriginAccessControl'));
    expect(oac).toHaveLength(1);
    expect(s3Origin.OriginAccessControlId).toEqual({ 'Fn::GetAtt': [oac[0], 'Id'] });
    expect(s3Origin.S3OriginConfig).toEqual({ OriginAccessIdentity: '' });
    t.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: stack.getLogicalId(edge.assetsBucket.node.defaultChild as CfnElement) },
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({
          Action: 's3:GetObject',
          Effect: 'Allow',
          Principal: { Service: 'cloudfront.amazonaws.com' },
          Condition: { StringEquals: { 'AWS:SourceArn': Match.anyValue() } },
        })]),
      },
    });
  });

  it('reaches the load balancers through origin.<domain> over HTTPS (TLS 1.2) with the origin-verify header', () => {
    const http = config.Origins.find((o: any) => o.CustomOriginConfig);
    expect(http.DomainName).toBe('origin.shop.example.com');
    expect(http.CustomOriginConfig).toMatchObject({ OriginProtocolPolicy: 'https-only', OriginSSLProtocols: ['TLSv1.2'] });
    expect(http.OriginCustomHeaders).toEqual([{ HeaderName: 'X-Origin-Verify', HeaderValue: '{{resolve:secretsmanager:shop/edge/origin-verify-1:SecretString:g1::}}' }]);
  });

  it('routes static paths to S3 with the caching-optimized policy and compression', () => {
    const s3OriginId = config.Origins.find((o: any) => o.S3OriginConfig).Id;
    expect(config.CacheBehaviors.map((b: any) => b.PathPattern)).toEqual(['/static/*', '/assets/*']);
    for (const b of config.CacheBehaviors) {
      expect(b).toMatchObject({ TargetOriginId: s3OriginId, CachePolicyId: CACHING_OPTIMIZED, Compress: true, ViewerProtocolPolicy: 'redirect-to-https', AllowedMethods: ['GET', 'HEAD', 'OPTIONS'] });
    }
  });

  it('sends everything else to the load balancers with caching disabled and the origin request policy', () => {
    const httpOriginId = config.Origins.find((o: any) => o.CustomOriginConfig).Id;
    expect(config.DefaultCacheBehavior).toMatchObject({
      TargetOriginId: httpOriginId,
      CachePolicyId: CACHING_DISABLED,
      OriginRequestPolicyId: { Ref: stack.getLogicalId(edge.originRequestPolicy.node.defaultChild as CfnElement) },
      ViewerProtocolPolicy: 'redirect-to-https',
      AllowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
      Compress: true,
    });
    t.hasResourceProperties('AWS::CloudFront::OriginRequestPolicy', {
      OriginRequestPolicyConfig: Match.objectLike({
        // every viewer header but Host: with nothing cached, CloudFront forwards Authorization this way (it refuses it in an allow list)
        HeadersConfig: { HeaderBehavior: 'allExcept', Headers: ['Host'] },
        CookiesConfig: { CookieBehavior: 'all' },
        QueryStringsConfig: { QueryStringBehavior: 'all' },
      }),
    });
  });

  it('puts the security response-headers policy on every behaviour', () => {
    const policy = { Ref: stack.getLogicalId(edge.responseHeadersPolicy.node.defaultChild as CfnElement) };
    expect(config.DefaultCacheBehavior.ResponseHeadersPolicyId).toEqual(policy);
    for (const b of config.CacheBehaviors) expect(b.ResponseHeadersPolicyId).toEqual(policy);
    t.hasResourceProperties('AWS::CloudFront::ResponseHeadersPolicy', {
      ResponseHeadersPolicyConfig: Match.objectLike({
        SecurityHeadersConfig: {
          StrictTransportSecurity: { AccessControlMaxAgeSec: 31536000, IncludeSubdomains: true, Preload: false, Override: true },
          ContentTypeOptions: { Override: true },
          FrameOptions: { FrameOption: 'DENY', Override: true },
          ReferrerPolicy: { ReferrerPolicy: 'strict-origin-when-cross-origin', Override: true },
          XSSProtection: { Protection: false, Override: true },
        },
      }),
    });
  });

  it('serves viewers over HTTP/2 and HTTP/3, IPv6, TLS 1.2 2021 with SNI, for the domain and www', () => {
    expect(config.HttpVersion).toBe('http2and3');
    expect(config.IPV6Enabled).toBe(true);
    expect(config.Aliases).toEqual(['shop.example.com', 'www.shop.example.com']);
    expect(config.ViewerCertificate).toEqual({
      AcmCertificateArn: { Ref: stack.getLogicalId(edge.certificate.node.defaultChild as CfnElement) },
      MinimumProtocolVersion: 'TLSv1.2_2021',
      SslSupportMethod: 'sni-only',
    });
  });

  it('issues the certificate in this us-east-1 stack for the domain and www, DNS-validated in the zone', () => {
    expect(stack.region).toBe('us-east-1');
    t.hasResourceProperties('AWS::CertificateManager::Certificate', {
      DomainName: 'shop.example.com',
      SubjectAlternativeNames: ['www.shop.example.com'],
      ValidationMethod: 'DNS',
      DomainValidationOptions: Match.arrayWith([{ DomainName: 'shop.example.com', HostedZoneId: 'Z0123456789ABCDEFGHIJ' }]),
    });
  });

  it('logs to an ACL-enabled, encrypted, expiring log bucket', () => {
    expect(config.Logging).toEqual({ Bucket: { 'Fn::GetAtt': [stack.getLogicalId(edge.logsBucket.node.defaultChild as CfnElement), 'RegionalDomainName'] }, Prefix: 'cloudfront/' });
    t.hasResourceProperties('AWS::S3::Bucket', {
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerPreferred' }] },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 90 })] },
    });
  });

  it('keeps access logs exactly accessLogRetention, and WAF logs the next CloudWatch Logs retention at least as long', () => {
    const { stack: other } = edgeStack({ accessLogRetention: Duration.days(100) });
    const tt = Template.fromStack(other);
    tt.hasResourceProperties('AWS::S3::Bucket', { LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 100 })] } });
    tt.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: 'aws-waf-logs-Edge', RetentionInDays: 120 });
  });

  it('uses price class 100 and caches origin 5xx for 10 seconds', () => {
    expect(config.PriceClass).toBe('PriceClass_100');
    expect(config.CustomErrorResponses).toEqual([500, 502, 503, 504].map((c) => ({ ErrorCode: c, ErrorCachingMinTTL: 10 })));
  });

  it('attaches a CLOUDFRONT web ACL with a per-IP rate rule and the AWS managed groups', () => {
    expect(config.WebACLId).toEqual({ 'Fn::GetAtt': [stack.getLogicalId(edge.webAcl.webAcl), 'Arn'] });
    t.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'CLOUDFRONT',
      DefaultAction: { Allow: {} },
      Rules: [
        Match.objectLike({ Name: 'RateLimitPerIp', Priority: 0, Action: { Block: {} }, Statement: { RateBasedStatement: Match.objectLike({ Limit: 2000, AggregateKeyType: 'IP', EvaluationWindowSec: 300 }) } }),
        Match.objectLike({ Priority: 1, OverrideAction: { None: {} }, Statement: { ManagedRuleGroupStatement: { VendorName: 'AWS', Name: 'AWSManagedRulesAmazonIpReputationList' } } }),
        Match.objectLike({ Priority: 2, Statement: { ManagedRuleGroupStatement: { VendorName: 'AWS', Name: 'AWSManagedRulesCommonRuleSet', RuleActionOverrides: [{ Name: 'SizeRestrictions_BODY', ActionToUse: { Count: {} } }] } } }),
        Match.objectLike({ Priority: 3, Statement: { ManagedRuleGroupStatement: { VendorName: 'AWS', Name: 'AWSManagedRulesKnownBadInputsRuleSet' } } }),
      ],
    });
    // the static paths (S3) are not counted by the rate rule: a page load fetches them by the dozen
    const rule = (Object.values(t.findResources('AWS::WAFv2::WebACL'))[0] as { Properties: { Rules: Array<{ Name: string; Statement: { RateBasedStatement?: { ScopeDownStatement?: unknown } } }> } }).Properties.Rules.find((r) => r.Name === 'RateLimitPerIp')!;
    expect(JSON.stringify(rule.Statement.RateBasedStatement!.ScopeDownStatement)).toMatch(/"NotStatement".*"SearchString":"\/static\/".*"SearchString":"\/assets\/"/);
  });

  it('logs WAF requests to an aws-waf-logs- log group, redacting credentials and the origin secret', () => {
    t.hasResource('AWS::Logs::LogGroup', { DeletionPolicy: 'Retain', Properties: { LogGroupName: 'aws-waf-logs-Edge', RetentionInDays: 90 } });
    t.hasResourceProperties('AWS::WAFv2::LoggingConfiguration', {
      ResourceArn: { 'Fn::GetAtt': [stack.getLogicalId(edge.webAcl.webAcl), 'Arn'] },
      LogDestinationConfigs: [{ 'Fn::Join': ['', Match.arrayWith([':log-group:', { Ref: stack.getLogicalId(edge.webAcl.logGroup.node.defaultChild as CfnElement) }])] }],
      // (the origin-verify header is CloudFront's secret for the load balancers: a regional web ACL sees it on every request)
      RedactedFields: [{ SingleHeader: { Name: 'authorization' } }, { SingleHeader: { Name: 'cookie' } }, { SingleHeader: { Name: 'x-origin-verify' } }],
    });
  });

  it('aliases A and AAAA records of the domain and www to the distribution', () => {
    for (const name of ['shop.example.com.', 'www.shop.example.com.']) {
      for (const type of ['A', 'AAAA']) {
        t.hasResourceProperties('AWS::Route53::RecordSet', {
          Name: name,
          Type: type,
          HostedZoneId: 'Z0123456789ABCDEFGHIJ',
          AliasTarget: { DNSName: { 'Fn::GetAtt': [stack.getLogicalId(edge.distribution.node.defaultChild as CfnElement), 'DomainName'] }, HostedZoneId: Match.anyValue() },
        });
      }
    }
    t.resourceCountIs('AWS::Route53::RecordSet', 4);
  });

  it('alarms on the 5xx error rate and the origin latency (additional metrics on)', () => {
    t.hasResourceProperties('AWS::CloudFront::MonitoringSubscription', { MonitoringSubscription: { RealtimeMetricsSubscriptionConfig: { RealtimeMetricsSubscriptionStatus: 'Enabled' } } });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/CloudFront', MetricName: '5xxErrorRate', Threshold: 5, EvaluationPeriods: 5, DatapointsToAlarm: 3,
      ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching',
      Dimensions: [{ Name: 'DistributionId', Value: { Ref: stack.getLogicalId(edge.distribution.node.defaultChild as CfnElement) } }, { Name: 'Region', Value: 'Global' }],
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'AWS/CloudFront', MetricName: 'OriginLatency', Threshold: 2000, Statistic: 'Average' });
    expect(edge.alarms?.errorRate5xx).toBeDefined();
    expect(edge.alarms?.originLatency).toBeDefined();
  });

  it('uploads nothing without an assets folder', () => {
    t.resourceCountIs('Custom::CDKBucketDeployment', 0);
    expect(edge.assetsDeployment).toBeUndefined();
  });
});

describe('EdgeDistribution with custom props', () => {
  let t: Template;
  let config: Record<string, any>;
  let stack: Stack;
  let edge: EdgeDistribution;
  beforeAll(() => {
    const folder = mkdtempSync(join(tmpdir(), 'edge-assets-'));
    writeFileSync(join(folder, 'app.css'), 'body{}');
    const s = testStack('EdgeCustom', 'us-east-1');
    const hostedZone = route53.HostedZone.fromHostedZoneAttributes(s, 'Zone', { hostedZoneId: 'Z0123456789ABCDEFGHIJ', zoneName: 'example.com' });
    edge = new EdgeDistribution(s, 'Edge', {
      domainName: 'example.com',
      hostedZone,
      certificate: acm.Certificate.fromCertificateArn(s, 'Cert', 'arn:aws:acm:us-east-1:123456789012:certificate/abc-123'),
      staticPaths: ['/img/*'],
      priceClass: cloudfront.PriceClass.PRICE_CLASS_ALL,
      rateLimitPer5Min: 10,
      forwardedHeaders: [],
      forwardedCookies: ['__Host-s2m-session', 'lang'],
      forwardedQueryStrings: 'none',
      dynamicDefaultTtl: Duration.seconds(5),
      dynamicMaxTtl: Duration.seconds(60),
      assetsFolder: folder,
      errorResponses: [{ httpStatus: 503, responseHttpStatus: 503, responsePagePath: '/img/503.html', ttl: Duration.seconds(30) }],
    });
    stack = s;
    t = Template.fromStack(stack);
    config = distributionConfig(t);
  });

  it('uses the given us-east-1 certificate and creates none', () => {
    t.resourceCountIs('AWS::CertificateManager::Certificate', 0);
    expect(config.ViewerCertificate.AcmCertificateArn).toBe('arn:aws:acm:us-east-1:123456789012:certificate/abc-123');
    expect(config.Aliases).toEqual(['example.com', 'www.example.com']);
  });

  it('caches dynamic paths with the configured short TTLs, keyed on the forwarded cookies and query strings', () => {
    expect(config.DefaultCacheBehavior.CachePolicyId).toEqual({ Ref: stack.getLogicalId(edge.dynamicCachePolicy.node.defaultChild as CfnElement) });
    t.hasResourceProperties('AWS::CloudFront::CachePolicy', {
      CachePolicyConfig: Match.objectLike({
        MinTTL: 0, DefaultTTL: 5, MaxTTL: 60,
        ParametersInCacheKeyAndForwardedToOrigin: Match.objectLike({
          // a bearer token is part of the cache key: one user's response is never served to another
          HeadersConfig: { HeaderBehavior: 'whitelist', Headers: ['Authorization'] },
          CookiesConfig: { CookieBehavior: 'whitelist', Cookies: ['__Host-s2m-session', 'lang'] },
          QueryStringsConfig: { QueryStringBehavior: 'none' },
          EnableAcceptEncodingGzip: true,
          EnableAcceptEncodingBrotli: true,
        }),
      }),
    });
    t.hasResourceProperties('AWS::CloudFront::OriginRequestPolicy', {
      OriginRequestPolicyConfig: Match.objectLike({ HeadersConfig: { HeaderBehavior: 'whitelist', Headers: ['Access-Control-Request-Headers', 'Access-Control-Request-Method'] }, CookiesConfig: { CookieBehavior: 'whitelist', Cookies: ['__Host-s2m-session', 'lang'] }, QueryStringsConfig: { QueryStringBehavior: 'none' } }),
    });
  });

  it('sends a CORS preflight\'s Access-Control-Request-* headers to the load balancers with caching on (else only the cache key\'s headers reach them, and the preflight cannot be answered)', () => {
    const policy = Object.values(t.findResources('AWS::CloudFront::OriginRequestPolicy'))[0] as { Properties: { OriginRequestPolicyConfig: { HeadersConfig: unknown } } };
    expect(policy.Properties.OriginRequestPolicyConfig.HeadersConfig).toEqual({ HeaderBehavior: 'whitelist', Headers: ['Access-Control-Request-Headers', 'Access-Control-Request-Method'] });
    expect(config.DefaultCacheBehavior.AllowedMethods).toContain('OPTIONS');
    expect(config.DefaultCacheBehavior.CachedMethods).not.toContain('OPTIONS');
  });

  it('applies the price class, static paths, rate limit and error responses', () => {
    expect(config.PriceClass).toBe('PriceClass_All');
    expect(config.CacheBehaviors.map((b: any) => b.PathPattern)).toEqual(['/img/*']);
    expect(config.CustomErrorResponses).toEqual([{ ErrorCode: 503, ResponseCode: 503, ResponsePagePath: '/img/503.html', ErrorCachingMinTTL: 30 }]);
    t.hasResourceProperties('AWS::WAFv2::WebACL', { Rules: Match.arrayWith([Match.objectLike({ Statement: { RateBasedStatement: Match.objectLike({ Limit: 10 }) } })]) });
  });

  it('uploads the assets folder at deploy and invalidates the static paths', () => {
    t.hasResourceProperties('Custom::CDKBucketDeployment', {
      DestinationBucketName: { Ref: stack.getLogicalId(edge.assetsBucket.node.defaultChild as CfnElement) },
      DistributionPaths: ['/img/*'],
      Prune: false,
    });
  });

  it('sends no origin header when none is given', () => {
    expect(config.Origins.find((o: any) => o.CustomOriginConfig).OriginCustomHeaders).toBeUndefined();
  });
});

describe('EdgeDistribution serving api.<domain> with the viewer\'s Host', () => {
  let t: Template;
  let config: Record<string, any>;
  beforeAll(() => {
    // GIVEN an edge that also answers api.<domain> and forwards the viewer's Host
    const { stack } = edgeStack({ additionalDomainNames: ['api.shop.example.com'], forwardViewerHost: true });
    t = Template.fromStack(stack);
    config = distributionConfig(t);
  });

  it('answers the API name with the same behaviours, certificate and WAF, and points its records at CloudFront', () => {
    expect(config.Aliases).toEqual(['shop.example.com', 'www.shop.example.com', 'api.shop.example.com']);
    t.hasResourceProperties('AWS::CertificateManager::Certificate', { DomainName: 'shop.example.com', SubjectAlternativeNames: ['www.shop.example.com', 'api.shop.example.com'] });
    for (const type of ['A', 'AAAA']) {
      t.hasResourceProperties('AWS::Route53::RecordSet', { Name: 'api.shop.example.com.', Type: type, AliasTarget: Match.objectLike({ DNSName: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Edge'), 'DomainName'] } }) });
    }
  });

  it('forwards every viewer header, Host and Authorization included, plus the CloudFront headers asked for (nothing is cached)', () => {
    t.hasResourceProperties('AWS::CloudFront::OriginRequestPolicy', {
      OriginRequestPolicyConfig: Match.objectLike({ HeadersConfig: { HeaderBehavior: 'allViewerAndWhitelistCloudFront', Headers: ['CloudFront-Viewer-Country'] } }),
    });
    expect(config.DefaultCacheBehavior.CachePolicyId).toBe(CACHING_DISABLED);
  });

  it('warns when CloudFront headers asked for cannot be forwarded (all viewer headers but Host), and not for the defaults', () => {
    const warnings = (props: Partial<EdgeDistributionProps>) => Annotations.fromStack(edgeStack(props).stack).findWarning('*', Match.stringLikeRegexp('edge-cloudfront-headers-dropped'));
    expect(warnings({ forwardViewerHost: false, forwardedHeaders: ['CloudFront-Viewer-Country', 'Accept'] })).toHaveLength(1);
    expect(warnings({ forwardViewerHost: false })).toHaveLength(0);
    expect(warnings({ forwardViewerHost: true, forwardedHeaders: ['CloudFront-Viewer-Country'] })).toHaveLength(0);
  });

  it('keys the cache on Authorization, Host and every forwarded header when dynamic caching is on', () => {
    // (a response built for one Origin, language or country is never served to a viewer who sent another)
    const { stack } = edgeStack({ forwardViewerHost: true, dynamicDefaultTtl: Duration.seconds(5), dynamicMaxTtl: Duration.seconds(5) });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::CloudFront::CachePolicy', {
      CachePolicyConfig: Match.objectLike({ ParametersInCacheKeyAndForwardedToOrigin: Match.objectLike({ HeadersConfig: { HeaderBehavior: 'whitelist', Headers: ['Authorization', 'Host', 'Accept', 'Accept-Language', 'Content-Type', 'Origin', 'Referer', 'User-Agent', 'CloudFront-Viewer-Country'] } }) }),
    });
    // CloudFront forwards the cache key's headers itself: the origin request policy adds none
    t.hasResourceProperties('AWS::CloudFront::OriginRequestPolicy', { OriginRequestPolicyConfig: Match.objectLike({ HeadersConfig: { HeaderBehavior: 'whitelist', Headers: ['Access-Control-Request-Headers', 'Access-Control-Request-Method'] } }) });
    // and more than CloudFront's 10 key headers is refused, naming them
    expect(validationErrorOf(() => edgeStack({ forwardViewerHost: true, dynamicDefaultTtl: Duration.seconds(5), dynamicMaxTtl: Duration.seconds(5), forwardedHeaders: ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I'] })).message)
      .toMatch(/with dynamic caching on, forwardedHeaders are part of the cache key, with Authorization and Host, and CloudFront takes at most 10 headers there \(got: 11: Authorization, Host, A, B/);
  });
});

describe('EdgeDistribution origin-verify warning', () => {
  it('warns, with an id to acknowledge, when the load balancers would be reachable past CloudFront', () => {
    // GIVEN no origin header WHEN synthesized THEN a warning on the distribution names the id and the fix
    const { stack } = edgeStack({ originVerifyHeader: undefined });
    Annotations.fromStack(stack).hasWarning('/Edge/Edge', Match.stringLikeRegexp('no originVerifyHeader: .*past CloudFront.*\\[ack: scale-to-millions:edge-no-origin-verify\\]'));
  });

  it('says nothing when the origin header is given, or the warning is acknowledged', () => {
    const { stack } = edgeStack();
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('edge-no-origin-verify'))).toEqual([]);
    const { stack: acknowledged, edge } = edgeStack({ originVerifyHeader: undefined });
    CdkAnnotations.of(edge).acknowledgeWarning('scale-to-millions:edge-no-origin-verify', 'the load balancers are internal');
    expect(Annotations.fromStack(acknowledged).findWarning('*', Match.stringLikeRegexp('edge-no-origin-verify'))).toEqual([]);
  });
});

describe('EdgeDistribution and the runtime\'s session cookie', () => {
  const warnings = (props: Partial<EdgeDistributionProps>) => Annotations.fromStack(edgeStack(props).stack).findWarning('*', Match.stringLikeRegexp('edge-session-cookie'));

  it('forwards every cookie by default, the session cookie included, and warns of nothing', () => {
    const { stack } = edgeStack();
    Template.fromStack(stack).hasResourceProperties('AWS::CloudFront::OriginRequestPolicy', { OriginRequestPolicyConfig: Match.objectLike({ CookiesConfig: { CookieBehavior: 'all' } }) });
    expect(warnings({})).toEqual([]);
    expect(forwardsCookie(EDGE_DEFAULTS.forwardedCookies, SESSION_COOKIE_DEFAULTS.name)).toBe(true);
  });

  it.each([
    ['a list without it', ['session']],
    ['no cookie at all', 'none' as const],
  ])('warns, with an id to acknowledge, when it forwards %s', (_, forwardedCookies) => {
    const found = warnings({ forwardedCookies });
    expect(found).toHaveLength(1);
    expect(JSON.stringify(found[0].entry.data)).toContain(`leaves out the runtime's session cookie ${SESSION_COOKIE_DEFAULTS.name}`);
    expect(JSON.stringify(found[0].entry.data)).toContain(`(got: ${JSON.stringify(JSON.stringify(forwardedCookies)).slice(1, -1)})`);
  });

  it('does not warn when a list names it', () => {
    expect(warnings({ forwardedCookies: [SESSION_COOKIE_DEFAULTS.name, 'lang'] })).toEqual([]);
  });
});

describe('EdgeDistribution bad input', () => {
  const zone = (s: Stack, zoneName = 'example.com') => route53.HostedZone.fromHostedZoneAttributes(s, 'Zone', { hostedZoneId: 'Z0123456789ABCDEFGHIJ', zoneName });
  type Case = [string, (s: Stack) => Partial<EdgeDistributionProps>, RegExp, string?];
  it.each<Case>([
    ['the stack is not in us-east-1', () => ({}), /must be in a us-east-1 stack.*got: eu-west-1/, 'eu-west-1'],
    ['the domain is outside its zone', () => ({ domainName: 'shop.other.org' }), /inside the hosted zone example.com \(got: shop.other.org\)/],
    ['the certificate is in another region', (s) => ({ certificate: acm.Certificate.fromCertificateArn(s, 'C', 'arn:aws:acm:eu-west-1:123456789012:certificate/abc') }), /certificate must be in us-east-1.*got: arn:aws:acm:eu-west-1/],
    ['the rate limit is below what WAF accepts', () => ({ rateLimitPer5Min: 9 }), /rateLimitPer5Min must be a whole number from 10 to 2000000000.*\(got: 9\)/],
    ['a static path is the whole site', () => ({ staticPaths: ['/*'] }), /staticPaths entries.*got: "\/\*"/],
    ['Authorization is forwarded through the origin request policy', () => ({ forwardedHeaders: ['Authorization'] }), /forwardedHeaders cannot contain Authorization/],
    ['the origin header is also a forwarded viewer header', () => ({ forwardedHeaders: ['x-origin-verify'], originVerifyHeader: { name: 'X-Origin-Verify', value: 'v' } }), /origin-verify header \(got: x-origin-verify\)/],
    ['the default TTL exceeds the max TTL', () => ({ dynamicDefaultTtl: Duration.seconds(60), dynamicMaxTtl: Duration.seconds(5) }), /dynamicDefaultTtl \(60 s\) must not exceed dynamicMaxTtl \(5 s\)/],
    ['an error response status is not one CloudFront customizes', () => ({ errorResponses: [{ httpStatus: 418, ttl: Duration.seconds(1) }] }), /httpStatus must be one of .*\(got: 418\)/],
    ['the assets folder does not exist', () => ({ assetsFolder: '/nonexistent/folder' }), /assetsFolder must be an existing folder \(got: "\/nonexistent\/folder"\)/],
    ['access logs would be kept part of a day', () => ({ accessLogRetention: Duration.hours(12) }), /^EdgeDistribution: accessLogRetention must be whole days, at least 1 \(got: 0.5 days\)$/],
    ['an additional name is outside the domain', () => ({ additionalDomainNames: ['api.other.org'] }), /additionalDomainNames must be names inside shop.example.com other than www \(got: "api.other.org"\)/],
    ['an additional name is www', () => ({ additionalDomainNames: ['www.shop.example.com'] }), /other than www/],
    ['an additional name is repeated', () => ({ additionalDomainNames: ['api.shop.example.com', 'api.shop.example.com'] }), /additionalDomainNames has duplicates/],
  ])('fails when %s, naming the distribution', (_, props, message, region = 'us-east-1') => {
    const s = testStack('Bad', region);
    expect(validationErrorOf(() => new EdgeDistribution(s, 'Edge', { domainName: 'shop.example.com', hostedZone: zone(s), ...props(s) })))
      .toEqual({ path: 'Bad/Edge', message: expect.stringMatching(message) });
  });
});
