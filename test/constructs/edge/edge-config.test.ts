import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { forwardsCookie } from '../../../constructs/edge';
import { loadConfigFile, resolveConfig, type AppConfigInput } from '../../../lib/config';
import { SESSION_COOKIE_NAME } from '../../../lib/runtime/contract';
import { SESSION_COOKIE_DEFAULTS } from '../../../lib/runtime/session-cookie';
import { minimalConfig } from '../../helpers/app';

const CONFIG_DIR = join(__dirname, '..', '..', '..', 'config');
const DOMAIN = { name: 'shop.example.com', hostedZoneId: 'Z0123456789ABCDEFGHIJ', hostedZoneName: 'example.com' };
const withEdge = (edge: unknown, extra: Partial<AppConfigInput> = {}) => resolveConfig(minimalConfig({ domain: DOMAIN, edge: edge as AppConfigInput['edge'], ...extra }));

describe('edge config section', () => {
  it('is on with its defaults when a domain exists', () => {
    const { edge } = withEdge(undefined);
    expect(edge).toEqual({
      enabled: true,
      staticPaths: ['/static/*', '/assets/*'],
      priceClass: 'PriceClass_100',
      rateLimitPer5Min: 2000,
      blockLargeRequestBodies: false,
      forwardedHeaders: ['Accept', 'Accept-Language', 'Content-Type', 'Origin', 'Referer', 'User-Agent', 'CloudFront-Viewer-Country'],
      forwardViewerHost: true,
      forwardedCookies: 'all',
      forwardedQueryStrings: 'all',
      dynamicDefaultTtlSeconds: 0,
      dynamicMaxTtlSeconds: 0,
      regionalWaf: false,
      errorResponses: [500, 502, 503, 504].map((httpStatus) => ({ httpStatus, ttlSeconds: 10 })),
      originHeaderName: 'X-Origin-Verify',
      originSecretGeneration: 1,
      logRetentionDays: 90,
      alarmErrorRatePercent: 5,
      alarmOriginLatencyMs: 2000,
    });
  });

  it('forwards the runtime\'s session cookie by default, and in every example config', () => {
    // tied to the runtime's constant: a renamed cookie fails here
    expect(forwardsCookie(withEdge(undefined).edge.forwardedCookies, SESSION_COOKIE_DEFAULTS.name)).toBe(true);
    expect(SESSION_COOKIE_NAME).toBe(SESSION_COOKIE_DEFAULTS.name);
    for (const file of readdirSync(CONFIG_DIR).filter((f) => f.endsWith('.json'))) {
      const { edge } = loadConfigFile(join(CONFIG_DIR, file));
      expect(forwardsCookie(edge.forwardedCookies, SESSION_COOKIE_DEFAULTS.name), file).toBe(true);
    }
  });

  it('is off without a domain', () => {
    expect(resolveConfig(minimalConfig()).edge.enabled).toBe(false);
  });

  it('takes the price class from the stage preset unless set', () => {
    expect(withEdge(undefined, { stage: 'global' }).edge.priceClass).toBe('PriceClass_All');
    expect(withEdge(undefined, { stage: 'millions' }).edge.priceClass).toBe('PriceClass_200');
    expect(withEdge({ priceClass: 'PriceClass_All' }).edge.priceClass).toBe('PriceClass_All');
  });

  it('accepts explicit values', () => {
    const { edge } = withEdge({
      staticPaths: ['/img/*'], rateLimitPer5Min: 10, forwardedCookies: ['__Host-s2m-session', 'lang'], forwardedQueryStrings: 'none', forwardedHeaders: [],
      dynamicDefaultTtlSeconds: 5, dynamicMaxTtlSeconds: 60, assetsFolder: 'public', regionalWaf: true, blockLargeRequestBodies: true,
      errorResponses: [{ httpStatus: 503, responseHttpStatus: 503, responsePagePath: '/img/503.html', ttlSeconds: 30 }],
      certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc-123', originSecretGeneration: 4,
    });
    expect(edge).toMatchObject({
      staticPaths: ['/img/*'], rateLimitPer5Min: 10, forwardedCookies: ['__Host-s2m-session', 'lang'], forwardedQueryStrings: 'none', forwardedHeaders: [],
      dynamicDefaultTtlSeconds: 5, dynamicMaxTtlSeconds: 60, assetsFolder: 'public', regionalWaf: true, blockLargeRequestBodies: true,
      errorResponses: [{ httpStatus: 503, responseHttpStatus: 503, responsePagePath: '/img/503.html', ttlSeconds: 30 }],
      certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc-123', originSecretGeneration: 4,
    });
  });

  it('fails for a 5xx error page outside the static paths, which CloudFront would fetch from the failing load balancers', () => {
    expect(() => withEdge({ errorResponses: [{ httpStatus: 503, responseHttpStatus: 503, responsePagePath: '/errors/503.html' }] }))
      .toThrow('edge.errorResponses[0].responsePagePath: must be under edge.staticPaths (/static/*, /assets/*), served from S3: CloudFront fetches an error page from the origin its path routes to, and the load balancers that answered 503 would not serve it (got: "/errors/503.html")');
    // under a static path, or a 4xx page (the load balancers answered): accepted
    expect(withEdge({ errorResponses: [{ httpStatus: 503, responseHttpStatus: 503, responsePagePath: '/static/errors/503.html' }] }).edge.errorResponses[0]!.responsePagePath).toBe('/static/errors/503.html');
    expect(withEdge({ errorResponses: [{ httpStatus: 404, responseHttpStatus: 404, responsePagePath: '/not-found' }] }).edge.errorResponses[0]!.httpStatus).toBe(404);
    // with the edge off, nothing is made from it: not checked
    expect(withEdge({ enabled: false, errorResponses: [{ httpStatus: 503, responseHttpStatus: 503, responsePagePath: '/errors/503.html' }] }).edge.enabled).toBe(false);
  });

  it('fails when the domain is outside its zone', () => {
    expect(() => resolveConfig(minimalConfig({ domain: { ...DOMAIN, name: 'shop.other.org' } }))).toThrow(/domain.name: must be inside the hosted zone example.com \(got: "shop.other.org"\)/);
  });
  it('fails when the certificate is in another region', () => {
    expect(() => withEdge({ certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/abc' })).toThrow(/edge.certificateArn: must be a certificate in us-east-1 .*not eu-west-1 \(got: "arn:aws:acm:eu-west-1/);
  });
  it('fails when the rate limit is below what WAF accepts', () => {
    expect(() => withEdge({ rateLimitPer5Min: 9 })).toThrow(/edge.rateLimitPer5Min: must be at least 10 \(the lowest limit AWS WAF accepts for a rate-based rule\) \(got: 9\)/);
  });
  it('fails with dynamic caching on and more forwarded headers than fit in the cache key beside Authorization and Host', () => {
    const eight = ['A-1', 'A-2', 'A-3', 'A-4', 'A-5', 'A-6', 'A-7', 'A-8'];
    expect(() => withEdge({ dynamicDefaultTtlSeconds: 5, dynamicMaxTtlSeconds: 60, forwardedHeaders: [...eight, 'A-9'] }))
      .toThrow(/edge\.forwardedHeaders: must have at most 8 headers with dynamic caching on \(edge\.dynamicMaxTtlSeconds > 0\): they are part of the cache key, with Authorization and Host, and CloudFront takes 10 there \(got: \["A-1"/);
    expect(() => withEdge({ dynamicDefaultTtlSeconds: 5, dynamicMaxTtlSeconds: 60, forwardedHeaders: eight })).not.toThrow();
    expect(() => withEdge({ forwardedHeaders: [...eight, 'A-9'] })).not.toThrow(); // caching off: no cache key
  });
  it('fails when the price class is unknown', () => {
    expect(() => withEdge({ priceClass: 'PriceClass_300' })).toThrow(/edge.priceClass: must be one of PriceClass_100, PriceClass_200, PriceClass_All \(got: "PriceClass_300"\)/);
  });
  it('fails when the edge is enabled without a domain', () => {
    expect(() => resolveConfig(minimalConfig({ edge: { enabled: true } }))).toThrow(/edge.enabled: the edge needs a domain/);
  });
  it('fails on an unknown key, with a hint', () => {
    expect(() => withEdge({ priceclass: 'PriceClass_100' })).toThrow(/edge.priceclass: unknown key \(did you mean "priceClass"\?\)/);
  });
  it('fails when a static path is the whole site', () => {
    expect(() => withEdge({ staticPaths: ['/*'] })).toThrow(/edge.staticPaths\[0\]: must not be the whole site/);
  });
  it('fails when Authorization or the origin header is forwarded', () => {
    expect(() => withEdge({ forwardedHeaders: ['Authorization', 'x-origin-verify'] })).toThrow(/edge.forwardedHeaders\[0\]: is always forwarded \(every viewer header with caching off; in the cache key with caching on\): remove it \(got: "Authorization"\)[\s\S]*edge.forwardedHeaders\[1\]: must not be the origin-verify header/);
  });
  it('fails when the default TTL exceeds the max TTL', () => {
    expect(() => withEdge({ dynamicDefaultTtlSeconds: 60, dynamicMaxTtlSeconds: 5 })).toThrow(/edge.dynamicDefaultTtlSeconds: must not exceed edge.dynamicMaxTtlSeconds \(5\) \(got: 60\)/);
  });
  it('fails on a bad error response', () => {
    expect(() => withEdge({ errorResponses: [{ httpStatus: 418 }, { httpStatus: 503, responseHttpStatus: 200 }] }))
      .toThrow(/edge.errorResponses\[0\].httpStatus: must be one of[\s\S]*\(got: 418\)[\s\S]*edge.errorResponses\[1\].responsePagePath: is required with responseHttpStatus/);
  });
  it('fails when cookies are neither all, none nor a list', () => {
    expect(() => withEdge({ forwardedCookies: 'some' })).toThrow(/edge.forwardedCookies: must be "all", "none" or a list of names \(got: "some"\)/);
  });
  it('fails when a service has more patterns than its rule can hold with the origin header', () => {
    expect(() => withEdge(undefined, { services: [{ name: 'web' }, { name: 'api', pathPatterns: ['/a/*', '/b/*', '/c/*', '/d/*'] }] }))
      .toThrow(/services\[1\]: at most 3 path and host patterns per service with the edge on .*\(got: 4\)/);
  });
  it('fails when the secret generation is below 1', () => {
    expect(() => withEdge({ originSecretGeneration: 0 })).toThrow(/edge.originSecretGeneration: must be a positive whole number \(at least 1\) \(got: 0\)/);
  });
});
