import { Duration } from 'aws-cdk-lib/core';

/** Default values of the edge constructs (`EdgeDistribution`, `OriginVerifySecret`, `RegionalWebAcl`). */
export const EDGE_DEFAULTS = {
  /** Path patterns served from the static-assets bucket. */
  staticPaths: ['/static/*', '/assets/*'] as readonly string[],
  /** Per-IP requests per 5-minute window before the rate-based rule blocks. */
  rateLimitPer5Min: 2000,
  /** Viewer headers forwarded to the load balancers on dynamic paths. */
  forwardedHeaders: ['Accept', 'Accept-Language', 'Content-Type', 'Origin', 'Referer', 'User-Agent', 'CloudFront-Viewer-Country'] as readonly string[],
  /**
   * Cookies forwarded to the load balancers on dynamic paths: every one, so the runtime's session cookie
   * (`SESSION_COOKIE_NAME`, `__Host-s2m-session`) and the application's own reach it. A list narrows this; it
   * must name the session cookie (the construct warns otherwise).
   */
  forwardedCookies: 'all' as 'all' | 'none' | readonly string[],
  /** Custom header CloudFront adds to every origin request and the load balancers require. */
  originVerifyHeaderName: 'X-Origin-Verify',
  /** Days CloudFront and S3 access logs and WAF logs are kept. */
  accessLogRetention: Duration.days(90),
  /** Days a replaced static asset stays as a noncurrent version (rollback window). */
  noncurrentAssetDays: 30,
  /** Origin response timeout. */
  originReadTimeout: Duration.seconds(30),
  /** Origin keep-alive. */
  originKeepalive: Duration.seconds(5),
  /** 5xx error rate (%) that raises the alarm. */
  errorRateAlarmPercent: 5,
  /** Average origin latency that raises the alarm. */
  originLatencyAlarm: Duration.seconds(2),
  /** Origin errors are cached this long so an overloaded origin is not hammered by retries. */
  errorCachingTtl: Duration.seconds(10),
  /** Length of the generated origin-verify secret (alphanumeric; ALB header matching is case-insensitive). */
  secretLength: 48,
} as const;

/** The smallest rate limit AWS WAF accepts for a rate-based rule (per evaluation window). */
export const WAF_MIN_RATE_LIMIT = 10;
/** The largest rate limit AWS WAF accepts. */
export const WAF_MAX_RATE_LIMIT = 2_000_000_000;
/** HTTP status codes CloudFront accepts in a custom error response. */
export const CLOUDFRONT_ERROR_CODES: readonly number[] = [400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504];
/** The region CloudFront certificates and web ACLs must live in. */
export const CLOUDFRONT_REGION = 'us-east-1';
