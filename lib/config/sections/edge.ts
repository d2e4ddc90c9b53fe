import { CLOUDFRONT_ERROR_CODES, EDGE_DEFAULTS, WAF_MAX_RATE_LIMIT, WAF_MIN_RATE_LIMIT } from '../../../constructs/edge/defaults';
import { at, type Checker } from '../check';
import { PRESETS } from '../presets';
import type { DomainInput, ServiceConfig, Stage } from '../types';

/** CloudFront price classes. */
export const PRICE_CLASSES = ['PriceClass_100', 'PriceClass_200', 'PriceClass_All'] as const;
/** A CloudFront price class. */
export type PriceClassName = (typeof PRICE_CLASSES)[number];

const WAF_MIN_RATE = WAF_MIN_RATE_LIMIT;
const WAF_MAX_RATE = WAF_MAX_RATE_LIMIT;
const ERROR_CODES = CLOUDFRONT_ERROR_CODES;
const PATH = /^\/[A-Za-z0-9_\-.$/~"'@:+*?&=!,;%]*$/;
const HEADER = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,40}$/;
const NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,256}$/;
const CERT_ARN = /^arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate\/[A-Za-z0-9-]+$/;

/** A custom error response. */
export interface EdgeErrorResponseInput {
  /** Status from the origin: 400, 403, 404, 405, 414, 416, 500, 501, 502, 503 or 504. */
  readonly httpStatus: number;
  /** Status sent to the viewer (needs `responsePagePath`). @default - the origin's status */
  readonly responseHttpStatus?: number;
  /** Page served instead, e.g. `/static/errors/503.html` (should be a static path). @default - the origin's body */
  readonly responsePagePath?: string;
  /** Seconds CloudFront caches the error. @default 10 */
  readonly ttlSeconds?: number;
}

/** The edge: CloudFront, WAF, the static-assets bucket (config key `edge`). */
export interface EdgeInput {
  /** Create the edge (needs `domain`). @default - true when a domain is configured */
  readonly enabled?: boolean;
  /** Path patterns served from the static-assets bucket. @default ["/static/*", "/assets/*"] */
  readonly staticPaths?: string[];
  /** CloudFront price class. @default - stage preset: PriceClass_100 (startup, growth), PriceClass_200 (millions), PriceClass_All (global) */
  readonly priceClass?: PriceClassName;
  /** Per-IP requests per 5 minutes before the WAF blocks (AWS WAF accepts 10 to 2,000,000,000). @default 2000 */
  readonly rateLimitPer5Min?: number;
  /**
   * The WAF blocks request bodies over 8 KB (AWS's common rule set's `SizeRestrictions_BODY`). By default it counts
   * them instead: API requests and uploads above 8 KB pass (the edge and the regional web ACL alike).
   * @default false
   */
  readonly blockLargeRequestBodies?: boolean;
  /**
   * Headers forwarded to the load balancers. With caching off (the default) every viewer header reaches them,
   * `Authorization` included, and only the `CloudFront-*` entries count; with caching on, the viewer headers forwarded
   * (`Authorization` then travels in the cache key).
   * @default ["Accept", "Accept-Language", "Content-Type", "Origin", "Referer", "User-Agent", "CloudFront-Viewer-Country"]
   */
  readonly forwardedHeaders?: string[];
  /**
   * Send the viewer's Host (`shop.example.com`, `api.shop.example.com`) to the load balancers instead of the origin
   * name, so host-pattern service rules and the application see it. With `false`, CloudFront-* headers are not
   * forwarded while caching is off.
   * @default true
   */
  readonly forwardViewerHost?: boolean;
  /**
   * Cookies forwarded: "all", "none" or a list of names. A list must name the runtime's session cookie
   * (`__Host-s2m-session`), or users cannot stay signed in behind CloudFront (synth warns).
   * @default "all"
   */
  readonly forwardedCookies?: 'all' | 'none' | string[];
  /** Query strings forwarded: "all", "none" or a list of names. @default "all" */
  readonly forwardedQueryStrings?: 'all' | 'none' | string[];
  /** Default TTL (s) of dynamic responses without Cache-Control; 0 and `dynamicMaxTtlSeconds` 0 = no caching. @default 0 */
  readonly dynamicDefaultTtlSeconds?: number;
  /** Maximum TTL (s) of dynamic responses. @default 0 */
  readonly dynamicMaxTtlSeconds?: number;
  /** Local folder uploaded to the assets bucket at deploy (relative to where `cdk` runs). @default - no upload */
  readonly assetsFolder?: string;
  /** Also put a regional WAF web ACL on every load balancer. @default false */
  readonly regionalWaf?: boolean;
  /** Custom error responses. @default - 500/502/503/504 cached 10 s */
  readonly errorResponses?: EdgeErrorResponseInput[];
  /** An existing certificate (must be in us-east-1) instead of a new DNS-validated one. @default - one is created */
  readonly certificateArn?: string;
  /** Header CloudFront sends and the load balancers require. @default "X-Origin-Verify" */
  readonly originHeaderName?: string;
  /** Generation of the origin-header secret; raise by one and redeploy to rotate. @default 1 */
  readonly originSecretGeneration?: number;
  /** Days CloudFront, S3 and WAF logs are kept. @default 90 */
  readonly logRetentionDays?: number;
  /** CloudFront 5xx error rate (%) that raises the alarm. @default 5 */
  readonly alarmErrorRatePercent?: number;
  /** Average origin latency (ms) that raises the alarm. @default 2000 */
  readonly alarmOriginLatencyMs?: number;
}

/** A resolved custom error response. */
export interface EdgeErrorResponseConfig {
  readonly httpStatus: number;
  readonly responseHttpStatus?: number;
  readonly responsePagePath?: string;
  readonly ttlSeconds: number;
}

/** The edge section with its defaults resolved. */
export interface EdgeConfig {
  /** False without a domain (the edge stack is then empty). */
  readonly enabled: boolean;
  readonly staticPaths: string[];
  readonly priceClass: PriceClassName;
  readonly rateLimitPer5Min: number;
  readonly blockLargeRequestBodies: boolean;
  readonly forwardedHeaders: string[];
  readonly forwardViewerHost: boolean;
  readonly forwardedCookies: 'all' | 'none' | string[];
  readonly forwardedQueryStrings: 'all' | 'none' | string[];
  readonly dynamicDefaultTtlSeconds: number;
  readonly dynamicMaxTtlSeconds: number;
  readonly assetsFolder?: string;
  readonly regionalWaf: boolean;
  readonly errorResponses: EdgeErrorResponseConfig[];
  readonly certificateArn?: string;
  readonly originHeaderName: string;
  readonly originSecretGeneration: number;
  readonly logRetentionDays: number;
  readonly alarmErrorRatePercent: number;
  readonly alarmOriginLatencyMs: number;
}

/** The keys of the `edge` section. */
export const EDGE_KEYS = [
  'enabled', 'staticPaths', 'priceClass', 'rateLimitPer5Min', 'blockLargeRequestBodies', 'forwardedHeaders', 'forwardViewerHost', 'forwardedCookies', 'forwardedQueryStrings',
  'dynamicDefaultTtlSeconds', 'dynamicMaxTtlSeconds', 'assetsFolder', 'regionalWaf', 'errorResponses', 'certificateArn',
  'originHeaderName', 'originSecretGeneration', 'logRetentionDays', 'alarmErrorRatePercent', 'alarmOriginLatencyMs',
] as const;

/**
 * Validates the `edge` section and fills in its defaults. `domain` is the resolved domain (undefined when
 * absent or invalid); `services` the resolved services, whose rules must leave room for the origin header.
 */
export function resolveEdge(c: Checker, raw: unknown, stage: Stage, domain: DomainInput | undefined, rawDomain: unknown, services: ServiceConfig[]): EdgeConfig {
  const o = c.object('edge', raw, EDGE_KEYS) ?? {};
  const explicit = c.boolean('edge.enabled', o.enabled);
  if (explicit === true && rawDomain === undefined) {
    c.fail('edge.enabled', 'the edge needs a domain: set domain (name, hostedZoneId, hostedZoneName) or edge.enabled false', explicit);
  }
  const enabled = explicit ?? rawDomain !== undefined;

  const staticPaths = list(c, 'edge.staticPaths', o.staticPaths, PATH, 'a path pattern like /static/*') ?? [...EDGE_DEFAULTS.staticPaths];
  staticPaths.forEach((p, i) => {
    if (p === '/*' || p === '/') c.fail(at('edge.staticPaths', i), 'must not be the whole site (dynamic paths are the default behaviour)', p);
  });
  dupes(c, 'edge.staticPaths', staticPaths);
  const priceClass = (c.string('edge.priceClass', o.priceClass, { oneOf: PRICE_CLASSES }) ?? PRESETS[stage].edge.priceClass) as PriceClassName;
  const rate = o.rateLimitPer5Min;
  let rateLimitPer5Min = c.number('edge.rateLimitPer5Min', rate, { integer: true, max: WAF_MAX_RATE });
  if (rateLimitPer5Min !== undefined && rateLimitPer5Min < WAF_MIN_RATE) {
    rateLimitPer5Min = c.fail('edge.rateLimitPer5Min', `must be at least ${WAF_MIN_RATE} (the lowest limit AWS WAF accepts for a rate-based rule)`, rateLimitPer5Min);
  }
  const originHeaderName = c.string('edge.originHeaderName', o.originHeaderName, { pattern: HEADER, what: 'an HTTP header name of at most 40 characters' }) ?? EDGE_DEFAULTS.originVerifyHeaderName;
  if (/^(x-amz-|x-edge-|host$|via$|authorization$)/i.test(originHeaderName)) c.fail('edge.originHeaderName', 'must not be a header CloudFront reserves or rewrites', originHeaderName);
  const forwardedHeaders = list(c, 'edge.forwardedHeaders', o.forwardedHeaders, HEADER, 'an HTTP header name', 0) ?? [...EDGE_DEFAULTS.forwardedHeaders];
  forwardedHeaders.forEach((h, i) => {
    if (/^authorization$/i.test(h)) c.fail(at('edge.forwardedHeaders', i), 'is always forwarded (every viewer header with caching off; in the cache key with caching on): remove it', h);
    if (/^accept-encoding$/i.test(h)) c.fail(at('edge.forwardedHeaders', i), 'CloudFront handles Accept-Encoding itself (compression): remove it', h);
    if (h.toLowerCase() === originHeaderName.toLowerCase()) c.fail(at('edge.forwardedHeaders', i), 'must not be the origin-verify header (edge.originHeaderName)', h);
  });
  if (forwardedHeaders.length > 10) c.fail('edge.forwardedHeaders', 'must have at most 10 headers (CloudFront origin request policy limit)', forwardedHeaders);
  const forwardViewerHost = c.boolean('edge.forwardViewerHost', o.forwardViewerHost) ?? true;
  const forwardedCookies = allNoneList(c, 'edge.forwardedCookies', o.forwardedCookies) ?? copy(EDGE_DEFAULTS.forwardedCookies);
  const forwardedQueryStrings = allNoneList(c, 'edge.forwardedQueryStrings', o.forwardedQueryStrings) ?? 'all';
  const dynamicDefaultTtlSeconds = c.number('edge.dynamicDefaultTtlSeconds', o.dynamicDefaultTtlSeconds, { integer: true, min: 0, max: 31536000 }) ?? 0;
  const dynamicMaxTtlSeconds = c.number('edge.dynamicMaxTtlSeconds', o.dynamicMaxTtlSeconds, { integer: true, min: 0, max: 31536000 }) ?? dynamicDefaultTtlSeconds;
  if (dynamicDefaultTtlSeconds > dynamicMaxTtlSeconds) c.fail('edge.dynamicDefaultTtlSeconds', `must not exceed edge.dynamicMaxTtlSeconds (${dynamicMaxTtlSeconds})`, dynamicDefaultTtlSeconds);
  // With caching on, the forwarded headers are in the cache key with Authorization (and Host): 10 at most there.
  const keyHeaders = forwardedHeaders.filter((h) => !/^host$/i.test(h)).length + 1 + (forwardViewerHost ? 1 : 0);
  if (dynamicMaxTtlSeconds > 0 && keyHeaders > 10) {
    c.fail('edge.forwardedHeaders', `must have at most ${10 - 1 - (forwardViewerHost ? 1 : 0)} headers with dynamic caching on (edge.dynamicMaxTtlSeconds > 0): they are part of the cache key, with Authorization${forwardViewerHost ? ' and Host' : ''}, and CloudFront takes 10 there`, forwardedHeaders);
  }
  const assetsFolder = c.string('edge.assetsFolder', o.assetsFolder, { pattern: /^[^\0]+$/, what: 'a folder path' });
  const regionalWaf = c.boolean('edge.regionalWaf', o.regionalWaf) ?? false;
  const blockLargeRequestBodies = c.boolean('edge.blockLargeRequestBodies', o.blockLargeRequestBodies) ?? false;
  // The 5xx page check only where a distribution is made.
  const errorResponses = resolveErrorResponses(c, o.errorResponses, enabled ? staticPaths : undefined);
  const certificateArn = c.string('edge.certificateArn', o.certificateArn, { pattern: CERT_ARN, what: 'an ACM certificate ARN' });
  const certRegion = certificateArn?.match(CERT_ARN)?.[1];
  if (certRegion !== undefined && certRegion !== 'us-east-1') c.fail('edge.certificateArn', `must be a certificate in us-east-1 (CloudFront reads certificates only there), not ${certRegion}`, certificateArn);
  const originSecretGeneration = c.number('edge.originSecretGeneration', o.originSecretGeneration, { integer: true, min: 1 }) ?? 1;
  const logRetentionDays = c.number('edge.logRetentionDays', o.logRetentionDays, { integer: true, min: 1, max: 3653 }) ?? EDGE_DEFAULTS.accessLogRetention.toDays();
  const alarmErrorRatePercent = c.number('edge.alarmErrorRatePercent', o.alarmErrorRatePercent, { min: 0.1, max: 100 }) ?? EDGE_DEFAULTS.errorRateAlarmPercent;
  const alarmOriginLatencyMs = c.number('edge.alarmOriginLatencyMs', o.alarmOriginLatencyMs, { integer: true, min: 1, max: 180000 }) ?? EDGE_DEFAULTS.originLatencyAlarm.toMilliseconds();

  if (enabled && domain) {
    // The load balancers' rules carry the origin header (2 values during rotation): an ALB rule holds 5 condition values.
    services.forEach((s, i) => {
      const n = s.pathPatterns.length + s.hostPatterns.length;
      if (n > 3) c.fail(at('services', i), 'at most 3 path and host patterns per service with the edge on (the origin header takes 2 of the 5 values an ALB rule allows)', n);
      if (!s.isDefault && (s.priority === 1 || s.priority === 50000)) c.fail(at(at('services', i), 'priority'), 'priorities 1 and 50000 are reserved with the edge on (health-check exemption and default service rules)', s.priority);
    });
  }
  return {
    enabled, staticPaths, priceClass, rateLimitPer5Min: rateLimitPer5Min ?? EDGE_DEFAULTS.rateLimitPer5Min, blockLargeRequestBodies, forwardedHeaders, forwardViewerHost, forwardedCookies, forwardedQueryStrings,
    dynamicDefaultTtlSeconds, dynamicMaxTtlSeconds, ...(assetsFolder !== undefined ? { assetsFolder } : {}), regionalWaf, errorResponses,
    ...(certificateArn !== undefined ? { certificateArn } : {}), originHeaderName, originSecretGeneration, logRetentionDays,
    alarmErrorRatePercent, alarmOriginLatencyMs,
  };
}

function list(c: Checker, path: string, raw: unknown, pattern: RegExp, what: string, min = 1): string[] | undefined {
  const arr = c.array(path, raw, { min });
  if (!arr) return undefined;
  const out: string[] = [];
  arr.forEach((v, i) => {
    const s = c.string(at(path, i), v, { required: true, pattern, what });
    if (s !== undefined) out.push(s);
  });
  return out;
}

function dupes(c: Checker, path: string, values: string[]): void {
  const seen = new Set<string>();
  for (const v of values) {
    if (seen.has(v)) c.fail(path, 'has a duplicate', v);
    seen.add(v);
  }
}

function copy(v: 'all' | 'none' | readonly string[]): 'all' | 'none' | string[] {
  return typeof v === 'string' ? v : [...v];
}

function allNoneList(c: Checker, path: string, raw: unknown): 'all' | 'none' | string[] | undefined {
  if (raw === undefined) return undefined;
  if (raw === 'all' || raw === 'none') return raw;
  if (!Array.isArray(raw)) return c.fail(path, 'must be "all", "none" or a list of names', raw);
  const out = list(c, path, raw, NAME, 'a name', 1);
  if (out && out.length > 10) c.fail(path, 'must list at most 10 names (CloudFront policy limit)', out);
  return out;
}

/** Whether CloudFront's path pattern (`*` any characters, `?` one) matches `path`. */
function pathPatternMatches(pattern: string, path: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return re.test(path);
}

function resolveErrorResponses(c: Checker, raw: unknown, staticPaths: readonly string[] | undefined): EdgeErrorResponseConfig[] {
  const arr = c.array('edge.errorResponses', raw);
  if (!arr) return [500, 502, 503, 504].map((httpStatus) => ({ httpStatus, ttlSeconds: EDGE_DEFAULTS.errorCachingTtl.toSeconds() }));
  const out: EdgeErrorResponseConfig[] = [];
  const seen = new Set<number>();
  arr.forEach((v, i) => {
    const p = at('edge.errorResponses', i);
    const o = c.object(p, v, ['httpStatus', 'responseHttpStatus', 'responsePagePath', 'ttlSeconds'], true);
    if (!o) return;
    const httpStatus = c.number(at(p, 'httpStatus'), o.httpStatus, { required: true, integer: true });
    if (httpStatus !== undefined && !ERROR_CODES.includes(httpStatus)) c.fail(at(p, 'httpStatus'), `must be one of ${ERROR_CODES.join(', ')} (the codes CloudFront customizes)`, httpStatus);
    if (httpStatus !== undefined && seen.has(httpStatus)) c.fail(at(p, 'httpStatus'), 'duplicate status', httpStatus);
    if (httpStatus !== undefined) seen.add(httpStatus);
    const responseHttpStatus = c.number(at(p, 'responseHttpStatus'), o.responseHttpStatus, { integer: true, min: 200, max: 599 });
    const responsePagePath = c.string(at(p, 'responsePagePath'), o.responsePagePath, { pattern: /^\/[\x21-\x7e]{0,4095}$/, what: 'a path starting with /' });
    if (responseHttpStatus !== undefined && responsePagePath === undefined) c.fail(at(p, 'responsePagePath'), 'is required with responseHttpStatus (CloudFront needs a page to send with the new status)', responsePagePath);
    // A 5xx page fetched from the load balancers fails with them: CloudFront gets it from the origin its path routes to.
    if (staticPaths !== undefined && responsePagePath !== undefined && httpStatus !== undefined && httpStatus >= 500 && !staticPaths.some((pattern) => pathPatternMatches(pattern, responsePagePath))) {
      c.fail(at(p, 'responsePagePath'), `must be under edge.staticPaths (${staticPaths.join(', ')}), served from S3: CloudFront fetches an error page from the origin its path routes to, and the load balancers that answered ${httpStatus} would not serve it`, responsePagePath);
    }
    const ttlSeconds = c.number(at(p, 'ttlSeconds'), o.ttlSeconds, { integer: true, min: 0, max: 31536000 }) ?? 10;
    if (httpStatus !== undefined) {
      out.push({ httpStatus, ttlSeconds, ...(responseHttpStatus !== undefined ? { responseHttpStatus } : {}), ...(responsePagePath !== undefined ? { responsePagePath } : {}) });
    }
  });
  return out;
}
