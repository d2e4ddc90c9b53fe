import { Annotations, Arn, CfnElement, ArnFormat, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib/core';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as targets from 'aws-cdk-lib/aws-route53-targets';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { existsSync, statSync } from 'node:fs';
import { CLOUDFRONT_ERROR_CODES, CLOUDFRONT_REGION, EDGE_DEFAULTS } from './defaults';
import { createLogBucket } from '../common/log-bucket';
import { validationError } from '../common/errors';
import { originDomainName } from '../geo-dns/names';
import { ProductWebAcl, checkRateLimit } from './web-acl';
import { SESSION_COOKIE_NAME } from '../../lib/runtime/contract';

/** What part of the viewer's cookies or query strings reaches the origin on dynamic paths. */
export type ForwardedValues = 'all' | 'none' | string[];

/** The secret header CloudFront adds to every request to the load balancers. */
export interface EdgeOriginVerifyHeader {
  /** Header name, e.g. `X-Origin-Verify`. */
  readonly name: string;
  /** Its value: a secret, usually a dynamic reference such as `OriginVerifySecret.references(...).current`. */
  readonly value: string;
}

/** Properties of an {@link EdgeDistribution}. */
export interface EdgeDistributionProps {
  /** The product's domain, e.g. `shop.example.com`; the distribution answers it and `www.<domain>`. */
  readonly domainName: string;
  /**
   * Further names inside the domain the distribution answers, with A/AAAA alias records and on the created
   * certificate, e.g. `api.<domain>` for clients that call the API: they get the same edge (WAF, TLS, DDoS
   * protection at the edge) and the load balancers still answer only to CloudFront.
   * @default - none
   */
  readonly additionalDomainNames?: string[];
  /**
   * Send the viewer's `Host` header to the load balancers (so host-pattern rules and the application see
   * `shop.example.com`, `api.shop.example.com`...), instead of the origin name. CloudFront then checks the origin's
   * certificate against that host: the load balancers' certificate must cover every name the distribution answers
   * (the web tier's covers the domain and `*.<domain>`).
   * @default false
   */
  readonly forwardViewerHost?: boolean;
  /** The hosted zone holding the domain (by attributes; never looked up). */
  readonly hostedZone: route53.IHostedZone;
  /**
   * Viewer certificate; must be in us-east-1 and cover `domainName` and `www.<domainName>`.
   * @default - a DNS-validated certificate for the domain and `www.<domain>`, created in this (us-east-1) stack
   */
  readonly certificate?: acm.ICertificate;
  /**
   * Origin name of the regional load balancers (latency records owned by the geo-DNS tier).
   * @default - `originDomainName(domainName)`, i.e. `origin.<domain>`
   */
  readonly originDomainName?: string;
  /**
   * Header CloudFront adds to every request to the load balancers; `value` is usually a dynamic reference
   * from `OriginVerifySecret.references(...).current`.
   * @default - no origin header: the load balancers also answer requests that bypass CloudFront, and the construct
   *   warns (`scale-to-millions:edge-no-origin-verify`)
   */
  readonly originVerifyHeader?: EdgeOriginVerifyHeader;
  /** Path patterns served from the static-assets bucket. @default ['/static/*', '/assets/*'] */
  readonly staticPaths?: string[];
  /** Price class. @default cloudfront.PriceClass.PRICE_CLASS_100 */
  readonly priceClass?: cloudfront.PriceClass;
  /** Per-IP requests per 5 minutes before the web ACL blocks (10 to 2,000,000,000). @default 2000 */
  readonly rateLimitPer5Min?: number;
  /**
   * Block request bodies over 8 KB (AWS's common rule set's `SizeRestrictions_BODY`); by default the web ACL counts
   * them instead (see {@link ProductWebAclProps.blockLargeRequestBodies}).
   * @default false
   */
  readonly blockLargeRequestBodies?: boolean;
  /**
   * Headers forwarded to the load balancers on dynamic paths. With caching off (the default) every viewer header
   * reaches the origin (`Authorization` included, `Host` with `forwardViewerHost`) and only the `CloudFront-*`
   * entries of this list matter (headers CloudFront adds, e.g. `CloudFront-Viewer-Country`), and only with
   * `forwardViewerHost`: CloudFront adds its own headers to a policy that forwards every viewer header, not to one
   * that forwards all but Host (a list given here with `CloudFront-*` entries and no `forwardViewerHost` warns). With
   * caching on, it is the list of viewer headers forwarded, all of them in the cache key with `Authorization` (and
   * `Host` with `forwardViewerHost`): a response that varies with one of them (a CORS `Origin`, a language, a
   * country) is never served to a viewer who sent another. CloudFront takes at most 10 headers in a cache key, so keep
   * to what the application reads.
   * @default - Accept, Accept-Language, Content-Type, Origin, Referer, User-Agent, CloudFront-Viewer-Country
   */
  readonly forwardedHeaders?: string[];
  /**
   * Cookies forwarded to the load balancers (with caching on, also the cache key). A list or `'none'` that leaves
   * out the runtime's session cookie (`SESSION_COOKIE_NAME`, `__Host-s2m-session`) gets a warning
   * (`scale-to-millions:edge-session-cookie`): behind CloudFront, users could not stay signed in.
   * @default 'all'
   */
  readonly forwardedCookies?: ForwardedValues;
  /** Query strings forwarded to the load balancers. @default 'all' */
  readonly forwardedQueryStrings?: ForwardedValues;
  /**
   * Default TTL on dynamic paths when the origin sends no Cache-Control; 0 with `dynamicMaxTtl` 0 disables
   * caching (the managed CachingDisabled policy).
   * @default Duration.seconds(0)
   */
  readonly dynamicDefaultTtl?: Duration;
  /** Maximum TTL on dynamic paths. @default Duration.seconds(0) */
  readonly dynamicMaxTtl?: Duration;
  /**
   * Local folder uploaded to the assets bucket at deploy (`s3deploy.BucketDeployment`, no Docker).
   * @default - nothing is uploaded
   */
  readonly assetsFolder?: string;
  /**
   * Custom error responses.
   * @default - 500, 502, 503 and 504 from the origin cached 10 seconds (so retries do not hammer a struggling origin)
   */
  readonly errorResponses?: cloudfront.ErrorResponse[];
  /**
   * How long CloudFront and S3 access logs (whole days) and WAF logs are kept; the WAF log group takes the shortest
   * CloudWatch Logs retention at least as long.
   * @default Duration.days(90)
   */
  readonly accessLogRetention?: Duration;
  /** Name of the WAF log group (must start with `aws-waf-logs-`). @default - `aws-waf-logs-<stack name>` */
  readonly wafLogGroupName?: string;
  /** 5xx error rate (%) that raises the alarm. @default 5 */
  readonly errorRateAlarmPercent?: number;
  /** Average origin latency that raises the alarm. @default Duration.seconds(2) */
  readonly originLatencyAlarm?: Duration;
  /**
   * Create the 5xx-rate and origin-latency alarms. Turn them off where nothing is monitored (no topic to notify).
   * @default true
   */
  readonly alarms?: boolean;
  /** Actions of the alarms on ALARM and OK (e.g. an SNS topic action). @default - none; the alarms are exposed for monitoring to wire */
  readonly alarmActions?: cloudwatch.IAlarmAction[];
}

/** The alarms of an {@link EdgeDistribution}. */
export interface EdgeAlarms {
  /** CloudFront 5xx error rate above the threshold for 3 of 5 minutes. */
  readonly errorRate5xx: cloudwatch.Alarm;
  /** Average origin latency above the threshold for 3 of 5 minutes. */
  readonly originLatency: cloudwatch.Alarm;
}

const PATH = /^\/[A-Za-z0-9_\-.$/~"'@:+*?&=!,;%]*$/;
const HEADER = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/**
 * The edge of the product, in us-east-1: one CloudFront distribution for `<domain>` and `www.<domain>`
 * with two origins — a private, versioned S3 bucket through Origin Access Control for static paths, and
 * the regional load balancers behind one latency-routed name (`origin.<domain>`) for everything else —,
 * a WAF web ACL, access logs, a security response-headers policy on every behaviour, apex/www A and AAAA
 * records, and alarms on CloudFront's 5xx rate and origin latency (its metrics exist only in us-east-1).
 *
 * There is no origin group for the dynamic origin: `origin.<domain>` already fails over between regions
 * through Route 53 health checks, and an origin group would retry only GET/HEAD. S3 is regional and
 * eleven-nines durable; a second bucket would need replication for a gain CloudFront's cache mostly gives.
 */
export class EdgeDistribution extends Construct {
  /** The distribution. */
  public readonly distribution: cloudfront.Distribution;
  /** The viewer certificate (us-east-1). */
  public readonly certificate: acm.ICertificate;
  /** The static-assets bucket (private, versioned, read only by this distribution). */
  public readonly assetsBucket: s3.Bucket;
  /** The bucket receiving CloudFront standard logs and the assets bucket's server access logs. */
  public readonly logsBucket: s3.Bucket;
  /** The web ACL (scope CLOUDFRONT) and its logging. */
  public readonly webAcl: ProductWebAcl;
  /** The security response-headers policy attached to every behaviour. */
  public readonly responseHeadersPolicy: cloudfront.ResponseHeadersPolicy;
  /** The origin request policy of dynamic paths. */
  public readonly originRequestPolicy: cloudfront.OriginRequestPolicy;
  /** The cache policy of dynamic paths (managed CachingDisabled, or one with the configured TTLs). */
  public readonly dynamicCachePolicy: cloudfront.ICachePolicy;
  /** The origin name of the load balancers. */
  public readonly originDomainName: string;
  /** Upload of `assetsFolder`, when given. */
  public readonly assetsDeployment?: s3deploy.BucketDeployment;
  /** A and AAAA records for the domain and `www.<domain>`. */
  public readonly records: route53.IRecordSet[];
  /** Alarms (unless `alarms` is false). */
  public readonly alarms?: EdgeAlarms;

  constructor(scope: Construct, id: string, props: EdgeDistributionProps) {
    super(scope, id);
    const stack = Stack.of(this);
    if (!Token.isUnresolved(stack.region) && stack.region !== CLOUDFRONT_REGION) {
      throw validationError(this, `EdgeDistribution: must be in a us-east-1 stack (CloudFront certificates and web ACLs live there) (got: ${stack.region})`);
    }
    validate(this, props);
    const staticPaths = props.staticPaths ?? [...EDGE_DEFAULTS.staticPaths];
    const logRetention = props.accessLogRetention ?? EDGE_DEFAULTS.accessLogRetention;
    const wwwName = `www.${props.domainName}`;
    if (!props.originVerifyHeader) {
      Annotations.of(this).addWarningV2('scale-to-millions:edge-no-origin-verify',
        'EdgeDistribution has no originVerifyHeader: whoever finds the load balancers behind the origin name reaches them directly, past CloudFront and its web ACL. Give originVerifyHeader (a secret, e.g. OriginVerifySecret.references(...).current) and require it on the load balancers (WebTier originVerifyHeader).');
    }
    this.originDomainName = props.originDomainName ?? originDomainName(props.domainName);

    this.logsBucket = this.createLogsBucket(logRetention);
    this.assetsBucket = new s3.Bucket(this, 'Assets', {
      // SSE-S3: OAC reads it with no key policy to keep in step, and no KMS request per cache miss.
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
      serverAccessLogsBucket: this.logsBucket,
      serverAccessLogsPrefix: 's3-assets/',
      lifecycleRules: [{
        id: 'expire-old-versions',
        noncurrentVersionExpiration: Duration.days(EDGE_DEFAULTS.noncurrentAssetDays),
        abortIncompleteMultipartUploadAfter: Duration.days(1),
        expiredObjectDeleteMarker: true,
      }],
    });

    const extraNames = props.additionalDomainNames ?? [];
    this.certificate = props.certificate ?? new acm.Certificate(this, 'Certificate', {
      domainName: props.domainName,
      subjectAlternativeNames: [wwwName, ...extraNames],
      validation: acm.CertificateValidation.fromDns(props.hostedZone),
    });

    this.webAcl = new ProductWebAcl(this, 'WebAcl', {
      scope: 'CLOUDFRONT',
      rateLimitPer5Min: props.rateLimitPer5Min ?? EDGE_DEFAULTS.rateLimitPer5Min,
      ...(props.blockLargeRequestBodies !== undefined ? { blockLargeRequestBodies: props.blockLargeRequestBodies } : {}),
      logGroupName: props.wafLogGroupName ?? `aws-waf-logs-${stack.stackName}`,
      logRetention: retention(logRetention.toDays()),
      metricPrefix: 'edge',
      // Static files (S3) are not counted by the per-IP rate limit: a page load fetches them by the dozen.
      rateLimitExcludedPaths: staticPaths,
    });

    this.responseHeadersPolicy = new cloudfront.ResponseHeadersPolicy(this, 'SecurityHeaders', {
      comment: 'Security headers on every response',
      securityHeadersBehavior: {
        strictTransportSecurity: { accessControlMaxAge: Duration.days(365), includeSubdomains: true, preload: false, override: true },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN, override: true },
        // `X-XSS-Protection: 0`: browsers have removed the XSS filter, and where it remains its `mode=block` could
        // be used to leak what a page contains (OWASP Secure Headers Project); the defence is a Content-Security-Policy.
        xssProtection: { protection: false, override: true },
      },
      removeHeaders: ['Server'],
    });

    const defaultTtl = props.dynamicDefaultTtl ?? Duration.seconds(0);
    const maxTtl = props.dynamicMaxTtl ?? Duration.seconds(0);
    const cachingOff = defaultTtl.toSeconds() === 0 && maxTtl.toSeconds() === 0;
    const forwardedHeaders = props.forwardedHeaders ?? [...EDGE_DEFAULTS.forwardedHeaders];
    const viewerHost = props.forwardViewerHost ?? false;
    const defaultCookies = EDGE_DEFAULTS.forwardedCookies;
    const cookies: ForwardedValues = props.forwardedCookies ?? (typeof defaultCookies === 'string' ? defaultCookies : [...defaultCookies]);
    if (!forwardsCookie(cookies, SESSION_COOKIE_NAME)) {
      Annotations.of(this).addWarningV2('scale-to-millions:edge-session-cookie',
        `EdgeDistribution: forwardedCookies leaves out the runtime's session cookie ${SESSION_COOKIE_NAME}, so the load balancers never see it and users cannot stay signed in behind CloudFront; add it (or forward "all"), or acknowledge this warning if your application names its session cookie otherwise (got: ${JSON.stringify(cookies)})`);
    }
    // Only a list other than the default (the config passes the default explicitly): the default's
    // CloudFront-Viewer-Country applies with forwardViewerHost (as documented).
    const givenList = props.forwardedHeaders !== undefined && props.forwardedHeaders.join('\n') !== EDGE_DEFAULTS.forwardedHeaders.join('\n');
    const dropped = cachingOff && !viewerHost && givenList ? props.forwardedHeaders!.filter((h) => /^CloudFront-/i.test(h)) : [];
    if (dropped.length > 0) {
      Annotations.of(this).addWarningV2('scale-to-millions:edge-cloudfront-headers-dropped',
        `EdgeDistribution: ${dropped.join(', ')} will not reach the load balancers: without forwardViewerHost the origin request policy forwards every viewer header but Host, and CloudFront adds its own headers only to a policy that forwards them all; set forwardViewerHost, or acknowledge this warning (got: forwardViewerHost false, forwardedHeaders ${JSON.stringify(forwardedHeaders)})`);
    }
    // With caching on, every forwarded header is in the cache key (CloudFront sends the key's headers to the origin
    // itself): a response built for one value must not be served to a viewer with another.
    const keyHeaders = ['Authorization', ...(viewerHost ? ['Host'] : []), ...forwardedHeaders.filter((h) => !/^(authorization|host)$/i.test(h))];
    if (!cachingOff && keyHeaders.length > 10) {
      throw validationError(this, `EdgeDistribution: with dynamic caching on, forwardedHeaders are part of the cache key, with Authorization${viewerHost ? ' and Host' : ''}, and CloudFront takes at most 10 headers there (got: ${keyHeaders.length}: ${keyHeaders.join(', ')})`);
    }
    this.originRequestPolicy = new cloudfront.OriginRequestPolicy(this, 'DynamicOriginRequest', {
      comment: cachingOff
        ? `Every viewer header (Authorization included${viewerHost ? ', Host too' : ', not Host'}): nothing is cached`
        : 'The forwarded headers travel in the cache key; CORS preflight headers too (OPTIONS is not cached)',
      headerBehavior: cachingOff ? allViewerHeaders(viewerHost, forwardedHeaders) : preflightHeaders(keyHeaders),
      cookieBehavior: forwarded(cookies, cloudfront.OriginRequestCookieBehavior),
      queryStringBehavior: forwarded(props.forwardedQueryStrings ?? 'all', cloudfront.OriginRequestQueryStringBehavior),
    });
    // With caching off CloudFront forwards Authorization through an all-viewer-headers origin request policy (it
    // refuses it in an allow list). With caching on, Authorization must be in the cache key, so one user's response
    // is never served to another; the viewer's Host is keyed too when it is forwarded.
    this.dynamicCachePolicy = cachingOff
      ? cloudfront.CachePolicy.CACHING_DISABLED
      : new cloudfront.CachePolicy(this, 'DynamicCache', {
        comment: 'Short TTLs on dynamic paths, keyed on the bearer token and every forwarded header',
        minTtl: Duration.seconds(0),
        defaultTtl,
        maxTtl,
        headerBehavior: cloudfront.CacheHeaderBehavior.allowList(...keyHeaders),
        cookieBehavior: forwarded(cookies, cloudfront.CacheCookieBehavior),
        queryStringBehavior: forwarded(props.forwardedQueryStrings ?? 'all', cloudfront.CacheQueryStringBehavior),
        enableAcceptEncodingGzip: true,
        enableAcceptEncodingBrotli: true,
      });

    const dynamicOrigin = new origins.HttpOrigin(this.originDomainName, {
      protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
      originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2],
      readTimeout: EDGE_DEFAULTS.originReadTimeout,
      keepaliveTimeout: EDGE_DEFAULTS.originKeepalive,
      ...(props.originVerifyHeader ? { customHeaders: { [props.originVerifyHeader.name]: props.originVerifyHeader.value } } : {}),
    });
    const staticOrigin = origins.S3BucketOrigin.withOriginAccessControl(this.assetsBucket);
    const staticBehavior: cloudfront.BehaviorOptions = {
      origin: staticOrigin,
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
      allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD_OPTIONS,
      cachedMethods: cloudfront.CachedMethods.CACHE_GET_HEAD_OPTIONS,
      cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
      compress: true,
      responseHeadersPolicy: this.responseHeadersPolicy,
    };

    this.distribution = new cloudfront.Distribution(this, 'Resource', {
      comment: `${props.domainName}: static assets from S3, the rest from the regional load balancers`,
      domainNames: [props.domainName, wwwName, ...extraNames],
      certificate: this.certificate,
      minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
      sslSupportMethod: cloudfront.SSLMethod.SNI,
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      enableIpv6: true,
      priceClass: props.priceClass ?? cloudfront.PriceClass.PRICE_CLASS_100,
      webAclId: this.webAcl.webAcl.attrArn,
      enableLogging: true,
      logBucket: this.logsBucket,
      logFilePrefix: 'cloudfront/',
      publishAdditionalMetrics: true,
      errorResponses: props.errorResponses ?? [500, 502, 503, 504].map((httpStatus) => ({ httpStatus, ttl: EDGE_DEFAULTS.errorCachingTtl })),
      defaultBehavior: {
        origin: dynamicOrigin,
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
        cachedMethods: cloudfront.CachedMethods.CACHE_GET_HEAD,
        cachePolicy: this.dynamicCachePolicy,
        originRequestPolicy: this.originRequestPolicy,
        responseHeadersPolicy: this.responseHeadersPolicy,
        compress: true,
      },
      additionalBehaviors: Object.fromEntries(staticPaths.map((p) => [p, staticBehavior])),
    });
    Validations.of(this.distribution).acknowledge({
      id: 'AwsSolutions-CFR1',
      reason: 'The product serves every country; abuse is handled by the WAF web ACL (rate limit, IP reputation, managed rules) rather than geo restrictions.',
    });

    if (props.assetsFolder !== undefined) {
      this.assetsDeployment = new s3deploy.BucketDeployment(this, 'AssetsDeployment', {
        sources: [s3deploy.Source.asset(props.assetsFolder)],
        destinationBucket: this.assetsBucket,
        distribution: this.distribution,
        distributionPaths: staticPaths,
        // Keep objects from earlier uploads: pages cached by browsers may still reference them.
        prune: false,
        memoryLimit: 512,
      });
      acknowledgeDeployment(stack, this.assetsBucket);
    }

    const zone = props.hostedZone;
    const target = route53.RecordTarget.fromAlias(new targets.CloudFrontTarget(this.distribution));
    this.records = [];
    for (const [suffix, recordName] of [['Apex', props.domainName], ['Www', wwwName], ...extraNames.map((n) => [recordId(n, props.domainName), n] as const)] as const) {
      this.records.push(new route53.ARecord(this, `${suffix}A`, { zone, recordName, target }));
      this.records.push(new route53.AaaaRecord(this, `${suffix}Aaaa`, { zone, recordName, target }));
    }

    if (props.alarms ?? true) this.alarms = this.createAlarms(props);
  }

  private createAlarms(props: EdgeDistributionProps): EdgeAlarms {
    const actions = props.alarmActions ?? [];
    const errorRate5xx = this.metric5xxErrorRate().createAlarm(this, 'ErrorRate5xxAlarm', {
      alarmDescription: `CloudFront 5xx error rate of ${props.domainName} above ${props.errorRateAlarmPercent ?? EDGE_DEFAULTS.errorRateAlarmPercent}% (3 of 5 minutes)`,
      threshold: props.errorRateAlarmPercent ?? EDGE_DEFAULTS.errorRateAlarmPercent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const latencyMs = (props.originLatencyAlarm ?? EDGE_DEFAULTS.originLatencyAlarm).toMilliseconds();
    const originLatency = this.metricOriginLatency().createAlarm(this, 'OriginLatencyAlarm', {
      alarmDescription: `CloudFront origin latency of ${props.domainName} above ${latencyMs} ms on average (3 of 5 minutes)`,
      threshold: latencyMs,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    for (const alarm of [errorRate5xx, originLatency]) {
      alarm.addAlarmAction(...actions);
      alarm.addOkAction(...actions);
    }
    return { errorRate5xx, originLatency };
  }

  /** Percentage of viewer requests answered with 5xx (average per minute). */
  public metric5xxErrorRate(opts?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('5xxErrorRate', { statistic: 'Average', ...opts });
  }

  /**
   * Time (ms) from CloudFront receiving a request to its first byte of the response coming from the origin, for requests
   * served from the origin, not the cache: first-byte latency (average per minute; additional metrics).
   */
  public metricOriginLatency(opts?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('OriginLatency', { statistic: 'Average', ...opts });
  }

  /** Viewer requests (sum per minute). */
  public metricRequests(opts?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('Requests', { statistic: 'Sum', ...opts });
  }

  /** Cache hit rate (%), per minute (additional metrics). */
  public metricCacheHitRate(opts?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('CacheHitRate', { statistic: 'Average', ...opts });
  }

  /**
   * A CloudFront metric of this distribution. CloudFront publishes them in us-east-1 with the dimensions
   * `DistributionId` and `Region=Global`; the aws-cdk-lib helpers omit `Region`, which yields an alarm that
   * never receives data (aws/aws-cdk#19245), so the dimensions are set here.
   */
  public metric(metricName: string, opts?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/CloudFront',
      metricName,
      dimensionsMap: { DistributionId: this.distribution.distributionId, Region: 'Global' },
      period: Duration.minutes(1),
      ...opts,
    });
  }

  /** Lets `grantee` publish static assets (write to the bucket) and invalidate the distribution. */
  public grantPublishAssets(grantee: iam.IGrantable): iam.Grant {
    this.assetsBucket.grantReadWrite(grantee);
    return this.distribution.grantCreateInvalidation(grantee);
  }

  private createLogsBucket(retention: Duration): s3.Bucket {
    // CloudFront standard logging writes with an ACL grant to the awslogsdelivery account: ACLs must be on.
    return createLogBucket(this, 'Logs', { retention, objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED, writers: 'CloudFront and the assets bucket' });
  }
}

function validate(scope: Construct, props: EdgeDistributionProps): void {
  const who = 'EdgeDistribution';
  if (!Token.isUnresolved(props.domainName) && !/^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(props.domainName)) {
    throw validationError(scope, `${who}: domainName must be a lowercase DNS name (got: ${JSON.stringify(props.domainName)})`);
  }
  const zoneName = props.hostedZone.zoneName;
  if (!Token.isUnresolved(zoneName) && !Token.isUnresolved(props.domainName)) {
    const zone = zoneName.replace(/\.$/, '');
    if (props.domainName !== zone && !props.domainName.endsWith(`.${zone}`)) {
      throw validationError(scope, `${who}: domainName must be inside the hosted zone ${zone} (got: ${props.domainName})`);
    }
  }
  if (props.certificate && !Token.isUnresolved(props.certificate.certificateArn)) {
    const region = Arn.split(props.certificate.certificateArn, ArnFormat.SLASH_RESOURCE_NAME).region;
    if (region !== CLOUDFRONT_REGION) throw validationError(scope, `${who}: certificate must be in us-east-1, where CloudFront reads certificates (got: ${props.certificate.certificateArn})`);
  }
  if (props.rateLimitPer5Min !== undefined) checkRateLimit(props.rateLimitPer5Min, who, scope);
  const paths = props.staticPaths ?? [];
  if (props.staticPaths !== undefined && paths.length === 0) throw validationError(scope, `${who}: staticPaths must list at least one path pattern (got: [])`);
  for (const p of paths) {
    if (!PATH.test(p) || p === '/*' || p === '*') throw validationError(scope, `${who}: staticPaths entries must be path patterns like /static/* (not the default behaviour) (got: ${JSON.stringify(p)})`);
  }
  if (new Set(paths).size !== paths.length) throw validationError(scope, `${who}: staticPaths has duplicates (got: ${JSON.stringify(paths)})`);
  for (const n of props.additionalDomainNames ?? []) {
    if (Token.isUnresolved(n) || Token.isUnresolved(props.domainName)) continue;
    if (!n.endsWith(`.${props.domainName}`) || n === `www.${props.domainName}`) throw validationError(scope, `${who}: additionalDomainNames must be names inside ${props.domainName} other than www (got: ${JSON.stringify(n)})`);
  }
  if (new Set(props.additionalDomainNames ?? []).size !== (props.additionalDomainNames ?? []).length) throw validationError(scope, `${who}: additionalDomainNames has duplicates (got: ${JSON.stringify(props.additionalDomainNames)})`);
  for (const h of props.forwardedHeaders ?? []) {
    if (!HEADER.test(h)) throw validationError(scope, `${who}: forwardedHeaders entries must be header names (got: ${JSON.stringify(h)})`);
    if (/^(authorization|accept-encoding)$/i.test(h)) throw validationError(scope, `${who}: forwardedHeaders cannot contain ${h}: Authorization always reaches the origin (every viewer header with caching off, the cache key with caching on) and CloudFront handles Accept-Encoding (got: ${h})`);
    if (props.originVerifyHeader && h.toLowerCase() === props.originVerifyHeader.name.toLowerCase()) {
      throw validationError(scope, `${who}: forwardedHeaders must not contain the origin-verify header (got: ${h})`);
    }
  }
  if (props.originVerifyHeader && !Token.isUnresolved(props.originVerifyHeader.name) && !HEADER.test(props.originVerifyHeader.name)) {
    throw validationError(scope, `${who}: originVerifyHeader.name must be a header name (got: ${JSON.stringify(props.originVerifyHeader.name)})`);
  }
  const def = props.dynamicDefaultTtl?.toSeconds() ?? 0;
  const max = props.dynamicMaxTtl?.toSeconds() ?? 0;
  if (def > max) throw validationError(scope, `${who}: dynamicDefaultTtl (${def} s) must not exceed dynamicMaxTtl (${max} s) (got: ${def})`);
  for (const r of props.errorResponses ?? []) {
    if (!CLOUDFRONT_ERROR_CODES.includes(r.httpStatus)) throw validationError(scope, `${who}: errorResponses httpStatus must be one of ${CLOUDFRONT_ERROR_CODES.join(', ')} (got: ${r.httpStatus})`);
  }
  if (props.assetsFolder !== undefined && !(existsSync(props.assetsFolder) && statSync(props.assetsFolder).isDirectory())) {
    throw validationError(scope, `${who}: assetsFolder must be an existing folder (got: ${JSON.stringify(props.assetsFolder)})`);
  }
  const logDays = props.accessLogRetention?.toDays({ integral: false });
  if (logDays !== undefined && (!Number.isInteger(logDays) || logDays < 1)) throw validationError(scope, `${who}: accessLogRetention must be whole days, at least 1 (got: ${logDays} days)`);
  if (props.errorRateAlarmPercent !== undefined && !(props.errorRateAlarmPercent > 0 && props.errorRateAlarmPercent <= 100)) {
    throw validationError(scope, `${who}: errorRateAlarmPercent must be above 0 and at most 100 (got: ${props.errorRateAlarmPercent})`);
  }
}

/** Every viewer header, with or without Host; `CloudFront-*` headers of `list` added when the behaviour allows it. */
function allViewerHeaders(viewerHost: boolean, list: string[]): cloudfront.OriginRequestHeaderBehavior {
  if (!viewerHost) return cloudfront.OriginRequestHeaderBehavior.denyList('Host');
  return cloudfront.OriginRequestHeaderBehavior.all(...list.filter((h) => /^CloudFront-/i.test(h)));
}

/**
 * With caching on, CloudFront sends the origin only the cache key's headers and the origin request policy's: a CORS
 * preflight (OPTIONS, never cached here) needs `Access-Control-Request-Method` and `-Headers` to be answered, and
 * keying GETs on them would be pointless (browsers send them on preflights only).
 */
function preflightHeaders(keyHeaders: string[]): cloudfront.OriginRequestHeaderBehavior {
  const missing = CORS_PREFLIGHT_HEADERS.filter((h) => !keyHeaders.some((k) => k.toLowerCase() === h.toLowerCase()));
  return missing.length > 0 ? cloudfront.OriginRequestHeaderBehavior.allowList(...missing) : cloudfront.OriginRequestHeaderBehavior.none();
}

const CORS_PREFLIGHT_HEADERS = ['Access-Control-Request-Headers', 'Access-Control-Request-Method'];

/** `api.shop.example.com` inside `shop.example.com` → `Api` (the records' construct id). */
function recordId(name: string, domain: string): string {
  return name.slice(0, -domain.length - 1).split(/[^A-Za-z0-9]+/).filter(Boolean).map((p) => p[0].toUpperCase() + p.slice(1)).join('');
}

interface BehaviorFactory<T> { none(): T; all(): T; allowList(...names: string[]): T }

/** Whether CloudFront passes the cookie `name` on to the origin with `cookies` forwarded. */
export function forwardsCookie(cookies: 'all' | 'none' | readonly string[], name: string): boolean {
  return cookies === 'all' || (cookies !== 'none' && cookies.includes(name));
}

function forwarded<T>(v: ForwardedValues, f: BehaviorFactory<T>): T {
  if (v === 'all') return f.all();
  if (v === 'none' || v.length === 0) return f.none();
  return f.allowList(...v);
}

function retention(days: number): logs.RetentionDays {
  const allowed = Object.values(logs.RetentionDays).filter((v): v is number => typeof v === 'number' && v > 0).sort((a, b) => a - b);
  return (allowed.find((d) => d >= days) ?? logs.RetentionDays.INFINITE) as logs.RetentionDays;
}

/**
 * The BucketDeployment's handler is a stack-level singleton (`Custom::CDKBucketDeployment<uuid><memory>`):
 * acknowledge its findings on it, one by one (cdk-nag v3 has no prefix acknowledgement), with reasons.
 */
function acknowledgeDeployment(stack: Stack, bucket: s3.Bucket): void {
  const bucketId = stack.resolve(stack.getLogicalId(bucket.node.defaultChild as CfnElement)) as string;
  const copy = 'The CDK BucketDeployment handler copies the asset from the bootstrap assets bucket into the assets bucket: object-level wildcards by design, scoped to those two buckets.';
  const findings: Array<[string, string]> = [
    ['AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', 'The CDK BucketDeployment handler uses AWSLambdaBasicExecutionRole only to write its own logs.'],
    ...['s3:GetBucket*', 's3:GetObject*', 's3:List*', 's3:Abort*', 's3:DeleteObject*'].map((a): [string, string] => [`AwsSolutions-IAM5[Action::${a}]`, copy]),
    [`AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/*]`, copy],
    [`AwsSolutions-IAM5[Resource::arn:aws:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-${stack.region}/*]`, copy],
    ['AwsSolutions-IAM5[Resource::*]', 'aws-cdk-lib\'s BucketDeployment grants its handler cloudfront:CreateInvalidation and GetInvalidation on "*" itself and offers no way to narrow it (IAM could scope them to this distribution\'s ARN): the handler may invalidate any distribution of the account, never change one. Only with edge.assetsPath.'],
    ['AwsSolutions-L1', 'The runtime of the CDK BucketDeployment handler is chosen by aws-cdk-lib.'],
  ];
  for (const handler of stack.node.children.filter((c) => c.node.id.startsWith('Custom::CDKBucketDeployment'))) {
    for (const [id, reason] of findings) Validations.of(handler).acknowledge({ id, reason });
  }
}
