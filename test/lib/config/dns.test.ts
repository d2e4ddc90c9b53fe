import { describe, expect, it } from 'vitest';
import { ConfigError, resolveConfig } from '../../../lib/config';

const DOMAIN = { name: 'shop.example.com', hostedZoneId: 'Z0123456789ABCDEFGHIJ', hostedZoneName: 'example.com' };
const REGIONS = [
  { region: 'us-east-1', vpcCidr: '10.0.0.0/16' },
  { region: 'eu-west-1', vpcCidr: '10.1.0.0/16' },
  { region: 'ap-southeast-1', vpcCidr: '10.2.0.0/16' },
];

/** A valid raw three-region config with a domain; `dns` and other fields overridable. */
function base(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'shop', stage: 'millions', regions: REGIONS, domain: DOMAIN, services: [{ name: 'web' }], ...overrides };
}

/** The formatted problems of a raw config; fails the test if it is valid. */
function problems(raw: unknown): string[] {
  try {
    resolveConfig(raw);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message.split('\n').slice(1).map((l) => l.trim());
  }
  throw new Error('expected the config to be rejected');
}

describe('dns config: defaults', () => {
  it('routes by latency with the stage\'s health check settings and the default names', () => {
    expect(resolveConfig(base()).dns).toEqual({
      routing: 'latency',
      healthCheck: { path: '/health/deep', failureThreshold: 3, requestInterval: 30 },
      apiSubdomain: 'api',
      originSubdomain: 'origin',
      drainedRegions: [],
    });
  });

  it('checks faster in the global stage', () => {
    expect(resolveConfig(base({ stage: 'global' })).dns.healthCheck.requestInterval).toBe(10);
  });

  it('checks the runtime\'s deep health path, not the services\' shallow one (the load balancer checks that)', () => {
    const cfg = resolveConfig(base({ services: [{ name: 'api', pathPatterns: ['/api/*'], healthCheckPath: '/api/health' }, { name: 'web', healthCheckPath: '/healthz' }] }));
    expect(cfg.dns.healthCheck.path).toBe('/health/deep');
  });

  it('accepts explicit health check settings and names', () => {
    const cfg = resolveConfig(base({
      dns: { healthCheck: { path: '/ping', port: 443, failureThreshold: 5, requestInterval: 10, regions: ['us-east-1', 'eu-west-1', 'sa-east-1'] }, apiSubdomain: 'www-api', originSubdomain: 'backend' },
    }));
    expect(cfg.dns).toEqual({
      routing: 'latency',
      healthCheck: { path: '/ping', port: 443, failureThreshold: 5, requestInterval: 10, regions: ['us-east-1', 'eu-west-1', 'sa-east-1'] },
      apiSubdomain: 'www-api',
      originSubdomain: 'backend',
      drainedRegions: [],
    });
  });
});

describe('dns config: geolocation', () => {
  it('resolves continents, countries and the default (primary region unless given)', () => {
    const cfg = resolveConfig(base({ dns: { routing: 'geolocation', geolocation: { continents: { EU: 'eu-west-1', AS: 'ap-southeast-1' }, countries: { JP: 'ap-southeast-1' } } } }));
    expect(cfg.dns.geolocation).toEqual({ continents: { EU: 'eu-west-1', AS: 'ap-southeast-1' }, countries: { JP: 'ap-southeast-1' }, default: 'us-east-1' });
  });

  it('fails when a continent or country code is unknown', () => {
    const out = problems(base({ dns: { routing: 'geolocation', geolocation: { continents: { EU: 'eu-west-1', XX: 'ap-southeast-1', AS: 'ap-southeast-1' }, countries: { jp: 'ap-southeast-1', ZZ: 'ap-southeast-1' } } } }));
    expect(out).toEqual([
      'dns.geolocation.continents.XX: is not a continent code (AF, AN, AS, EU, NA, OC, SA) (got: "XX")',
      'dns.geolocation.countries.jp: is not an ISO 3166-1 alpha-2 country code in upper case, like JP (got: "jp")',
      'dns.geolocation.countries.ZZ: is not an ISO 3166-1 alpha-2 country code in upper case, like JP (got: "ZZ")',
    ]);
  });

  it('fails when a target region is not configured', () => {
    expect(problems(base({ dns: { routing: 'geolocation', geolocation: { continents: { EU: 'eu-central-1', AS: 'ap-southeast-1' }, default: 'eu-west-1' } } }))).toEqual([
      'dns.geolocation.continents.EU: must be one of the configured regions (us-east-1, eu-west-1, ap-southeast-1) (got: "eu-central-1")',
    ]);
  });

  it('accepts a region that serves no location (it takes fallback traffic)', () => {
    expect(resolveConfig(base({ dns: { routing: 'geolocation', geolocation: { continents: { EU: 'eu-west-1' } } } })).dns.geolocation).toEqual({ continents: { EU: 'eu-west-1' }, countries: {}, default: 'us-east-1' });
  });

  it('fails when a geolocation map is given with another routing', () => {
    expect(problems(base({ dns: { geolocation: { continents: { EU: 'eu-west-1' } } } }))).toEqual([
      'dns.geolocation: applies only to routing "geolocation" (routing is "latency") (got: {"continents":{"EU":"eu-west-1"}})',
    ]);
  });
});

describe('dns config: failover', () => {
  it('defaults to the primary region, then the next one', () => {
    expect(resolveConfig(base({ primaryRegion: 'eu-west-1', dns: { routing: 'failover' } })).dns.failover).toEqual({ primary: 'eu-west-1', secondary: 'us-east-1' });
  });

  it('accepts explicit roles', () => {
    expect(resolveConfig(base({ dns: { routing: 'failover', failover: { primary: 'ap-southeast-1', secondary: 'eu-west-1' } } })).dns.failover).toEqual({ primary: 'ap-southeast-1', secondary: 'eu-west-1' });
  });

  it('fails when roles are the same or not configured regions', () => {
    expect(problems(base({ dns: { routing: 'failover', failover: { primary: 'eu-west-1', secondary: 'eu-west-1' } } }))).toEqual(['dns.failover.secondary: must differ from the primary (got: "eu-west-1")']);
    expect(problems(base({ dns: { routing: 'failover', failover: { secondary: 'us-west-2' } } }))).toEqual([
      'dns.failover.secondary: must be one of the configured regions (us-east-1, eu-west-1, ap-southeast-1) (got: "us-west-2")',
    ]);
  });

  it('fails when there is one region only', () => {
    expect(problems(base({ regions: [REGIONS[0]], dns: { routing: 'failover' } }))).toEqual(['dns.routing: failover needs at least 2 regions (got: "failover")']);
  });
});

describe('dns config: drained regions', () => {
  it('accepts configured regions to route around', () => {
    expect(resolveConfig(base({ dns: { drainedRegions: ['eu-west-1'] } })).dns.drainedRegions).toEqual(['eu-west-1']);
  });

  it('fails when a drained region is not configured or repeated', () => {
    expect(problems(base({ dns: { drainedRegions: ['eu-west-1', 'us-west-2', 'eu-west-1'] } }))).toEqual([
      'dns.drainedRegions[1]: must be one of the configured regions (us-east-1, eu-west-1, ap-southeast-1) (got: "us-west-2")',
      'dns.drainedRegions[2]: duplicate region (got: "eu-west-1")',
    ]);
  });

  it('fails when every region would be drained', () => {
    expect(problems(base({ regions: [REGIONS[0]], dns: { drainedRegions: ['us-east-1'] } }))).toEqual([
      'dns.drainedRegions: must leave at least one region in service (with every region unhealthy, Route 53 answers as if all were healthy) (got: ["us-east-1"])',
    ]);
  });

  it('fails when both regions of failover routing would be drained, though a third region has no records', () => {
    // Route 53 then answers with the (drained) primary: the third region was never in DNS
    expect(problems(base({ dns: { routing: 'failover', failover: { primary: 'us-east-1', secondary: 'eu-west-1' }, drainedRegions: ['us-east-1', 'eu-west-1'] } }))).toEqual([
      'dns.drainedRegions: must leave at least one region of dns.failover in service (with every region unhealthy, Route 53 answers as if all were healthy, and failover routing with the primary) (got: ["us-east-1","eu-west-1"])',
    ]);
    expect(resolveConfig(base({ dns: { routing: 'failover', failover: { primary: 'us-east-1', secondary: 'eu-west-1' }, drainedRegions: ['us-east-1'] } })).dns.drainedRegions).toEqual(['us-east-1']);
  });
});

describe('dns config: the health check port', () => {
  it('takes 443, the load balancer\'s HTTPS listener, and refuses any other (the check could never pass)', () => {
    expect(resolveConfig(base({ dns: { healthCheck: { port: 443 } } })).dns.healthCheck.port).toBe(443);
    for (const port of [80, 8443]) {
      expect(problems(base({ dns: { healthCheck: { port } } }))).toEqual([
        `dns.healthCheck.port: must be 443: Route 53 checks each region over HTTPS, and the load balancer listens for HTTPS on 443 only (80 redirects); every region would fail its check, and Route 53 would answer as if all were healthy (got: ${port})`,
      ]);
    }
  });
});

describe('dns config: bad input', () => {
  it('fails when dns is given without a domain', () => {
    expect(problems(base({ domain: undefined, dns: { routing: 'latency' } }))).toEqual([
      'dns: needs a domain (the records go in its hosted zone); add `domain` or remove `dns` (got: {"routing":"latency"})',
    ]);
  });

  it('fails on an unknown routing or key', () => {
    expect(problems(base({ dns: { routing: 'weighted', ttl: 60 } }))).toEqual([
      'dns.ttl: unknown key; allowed: routing, geolocation, failover, healthCheck, apiSubdomain, originSubdomain, drainedRegions (got: 60)',
      'dns.routing: must be one of latency, geolocation, failover (got: "weighted")',
    ]);
  });

  it('fails when the health check settings are out of range', () => {
    expect(problems(base({ dns: { healthCheck: { path: 'health', port: 0, failureThreshold: 11, requestInterval: 20 } } }))).toEqual([
      'dns.healthCheck.path: must be one exact path starting with / of A-Z a-z 0-9 _ . / @ : + - (no wildcard or query string, at most 255 characters) (got: "health")',
      'dns.healthCheck.port: must be a positive whole number (at least 1) (got: 0)',
      'dns.healthCheck.failureThreshold: must be at most 10 (got: 11)',
      'dns.healthCheck.requestInterval: must be 10 or 30 (seconds) (got: 20)',
    ]);
  });

  it.each([['/health/deep?full=1'], ['/health/*'], ['/health/dé']])('fails on a health check path %j that a load balancer rule or the environment file cannot hold as is', (path) => {
    expect(problems(base({ dns: { healthCheck: { path } } }))).toEqual([
      `dns.healthCheck.path: must be one exact path starting with / of A-Z a-z 0-9 _ . / @ : + - (no wildcard or query string, at most 255 characters) (got: ${JSON.stringify(path)})`,
    ]);
  });

  it('fails when the health check path is a service\'s shallow health path', () => {
    expect(problems(base({ services: [{ name: 'web', healthCheckPath: '/status' }], dns: { healthCheck: { path: '/status' } } }))).toEqual([
      'dns.healthCheck.path: must differ from services[0].healthCheckPath (web), which answers without checking the data tier (got: "/status")',
    ]);
  });

  it('fails when checker regions are fewer than 3, unknown or repeated', () => {
    expect(problems(base({ dns: { healthCheck: { regions: ['us-east-1', 'eu-west-1'] } } }))).toEqual([
      'dns.healthCheck.regions: must have at least 3 items (got: ["us-east-1","eu-west-1"])',
    ]);
    const out = problems(base({ dns: { healthCheck: { regions: ['us-east-1', 'eu-central-1', 'us-east-1'] } } }));
    expect(out).toEqual([
      'dns.healthCheck.regions[1]: must be one of us-east-1, us-west-1, us-west-2, eu-west-1, ap-southeast-1, ap-southeast-2, ap-northeast-1, sa-east-1 (got: "eu-central-1")',
      'dns.healthCheck.regions[2]: duplicate checker region (got: "us-east-1")',
    ]);
  });

  it('fails when a subdomain is not one DNS label, or both are the same', () => {
    expect(problems(base({ dns: { apiSubdomain: 'api.v2', originSubdomain: 'Origin' } }))).toEqual([
      'dns.apiSubdomain: must be one lowercase DNS label like "api" (got: "api.v2")',
      'dns.originSubdomain: must be one lowercase DNS label like "api" (got: "Origin")',
    ]);
    expect(problems(base({ dns: { apiSubdomain: 'edge', originSubdomain: 'edge' } }))).toEqual(['dns.apiSubdomain: must differ from originSubdomain (got: "edge")']);
  });
});
