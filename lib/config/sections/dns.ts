import { CONTINENT_CODES, COUNTRY_CODES, GEO_DNS_DEFAULTS, HEALTH_CHECKER_REGIONS } from '../../../constructs/geo-dns/defaults';
import { HEALTH_PATH_PATTERN } from '../../runtime/contract';
import { at, type Checker } from '../check';
import { PRESETS } from '../presets';
import type { Stage } from '../types';

/** How Route 53 picks the region that answers a user. */
export type DnsRoutingInput = 'latency' | 'geolocation' | 'failover';

/** Geolocation routing: continents and countries mapped to configured regions. */
export interface GeolocationInput {
  /** Continent code (`AF`, `AN`, `AS`, `EU`, `NA`, `OC`, `SA`) → region. @default - none */
  readonly continents?: Record<string, string>;
  /** ISO 3166-1 alpha-2 country code (e.g. `JP`) → region; a country beats its continent. @default - none */
  readonly countries?: Record<string, string>;
  /**
   * The region whose stack holds the catch-all (`*`) record. That record answers with the nearest healthy region
   * (every region's latency-routed fallback record), for locations no record maps and for those whose region is
   * unhealthy (Route 53 falls back from a country to its continent, then to `*`).
   * @default - the primary region
   */
  readonly default?: string;
}

/** Active-passive failover between two regions. */
export interface FailoverInput {
  /** The region answering while healthy. @default - the primary region */
  readonly primary?: string;
  /** The region answering while the primary is unhealthy. @default - the first other region */
  readonly secondary?: string;
}

/** The Route 53 health check on each regional load balancer. */
export interface DnsHealthCheckInput {
  /** Path checked (the web tier lets GET/HEAD of exactly this path through without the edge's origin header). @default "/health/deep", the runtime SDK's deep health */
  readonly path?: string;
  /** Port. @default 443 (HTTPS) */
  readonly port?: number;
  /** Consecutive results before the status flips (1-10). @default - stage preset (3) */
  readonly failureThreshold?: number;
  /** Seconds between checks of one checker: 10 (fast, billed extra) or 30. @default - stage preset */
  readonly requestInterval?: number;
  /** Route 53 checker regions, at least 3. @default - every checker region */
  readonly regions?: string[];
}

/** The `dns` section: regional records and health checks (needs `domain`). */
export interface DnsInput {
  /** Routing policy. @default - stage preset (`latency`) */
  readonly routing?: DnsRoutingInput;
  /** Geolocation map; only with `routing: "geolocation"`. @default - every location to the primary region */
  readonly geolocation?: GeolocationInput;
  /** Failover roles; only with `routing: "failover"`. @default - primary region, then the next one */
  readonly failover?: FailoverInput;
  /** The regional health checks. */
  readonly healthCheck?: DnsHealthCheckInput;
  /** Label of the direct API name (`api.<domain>`). @default "api" */
  readonly apiSubdomain?: string;
  /** Label of CloudFront's dynamic origin name (`origin.<domain>`); the edge uses the same. @default "origin" */
  readonly originSubdomain?: string;
  /**
   * Regions taken out of DNS while staying deployed (their health checks are inverted); deploy only their
   * app stacks. At least one region must stay in. @default - none
   */
  readonly drainedRegions?: string[];
}

/** The resolved `dns` section. */
export interface DnsConfig {
  readonly routing: DnsRoutingInput;
  /** Present with geolocation routing. */
  readonly geolocation?: { readonly continents: Record<string, string>; readonly countries: Record<string, string>; readonly default: string };
  /** Present with failover routing. */
  readonly failover?: { readonly primary: string; readonly secondary: string };
  readonly healthCheck: {
    readonly path: string;
    /** Unset: the protocol's port. */
    readonly port?: number;
    readonly failureThreshold: number;
    readonly requestInterval: 10 | 30;
    /** Unset: every checker region. */
    readonly regions?: string[];
  };
  readonly apiSubdomain: string;
  readonly originSubdomain: string;
  /** Regions routed around (health check inverted). */
  readonly drainedRegions: string[];
}

/** What the `dns` section is validated against. */
export interface DnsContext {
  /** Configured region codes. */
  readonly regions: readonly string[];
  /** The primary region. */
  readonly primaryRegion: string | undefined;
  /** Whether a `domain` is configured. */
  readonly hasDomain: boolean;
}

const ROUTINGS: readonly DnsRoutingInput[] = ['latency', 'geolocation', 'failover'];
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Validates the `dns` section and fills in its defaults (from the stage preset and the other sections). */
export function resolveDns(c: Checker, raw: unknown, stage: Stage, ctx: DnsContext): DnsConfig {
  const preset = PRESETS[stage].dns;
  const o = c.object('dns', raw, ['routing', 'geolocation', 'failover', 'healthCheck', 'apiSubdomain', 'originSubdomain', 'drainedRegions']) ?? {};
  if (raw !== undefined && !ctx.hasDomain) c.fail('dns', 'needs a domain (the records go in its hosted zone); add `domain` or remove `dns`', raw);
  const routing = (c.string('dns.routing', o.routing, { oneOf: ROUTINGS }) ?? preset.routing) as DnsRoutingInput;
  const isRegion = (path: string, v: unknown): string | undefined => {
    const s = c.string(path, v, { required: true });
    if (s !== undefined && !ctx.regions.includes(s)) return c.fail(path, `must be one of the configured regions (${ctx.regions.join(', ')})`, s);
    return s;
  };

  let geolocation: DnsConfig['geolocation'];
  if (o.geolocation !== undefined && routing !== 'geolocation') c.fail('dns.geolocation', `applies only to routing "geolocation" (routing is "${routing}")`, o.geolocation);
  if (routing === 'geolocation') {
    const g = c.object('dns.geolocation', o.geolocation, ['continents', 'countries', 'default']) ?? {};
    const codes = (key: 'continents' | 'countries', allowed: readonly string[], what: string): Record<string, string> => {
      const path = at('dns.geolocation', key);
      const m = c.object(path, g[key], Object.keys((g[key] as object | undefined) ?? {})) ?? {};
      const out: Record<string, string> = {};
      for (const [code, region] of Object.entries(m)) {
        if (!allowed.includes(code)) c.fail(at(path, code), `is not ${what}`, code);
        const r = isRegion(at(path, code), region);
        if (r !== undefined && allowed.includes(code)) out[code] = r;
      }
      return out;
    };
    const continents = codes('continents', CONTINENT_CODES, `a continent code (${CONTINENT_CODES.join(', ')})`);
    const countries = codes('countries', COUNTRY_CODES, 'an ISO 3166-1 alpha-2 country code in upper case, like JP');
    const def = g.default === undefined ? ctx.primaryRegion : isRegion('dns.geolocation.default', g.default);
    // A region that serves no location still takes traffic through the fallback set (and the default record).
    if (def !== undefined) geolocation = { continents, countries, default: def };
  }

  let failover: DnsConfig['failover'];
  if (o.failover !== undefined && routing !== 'failover') c.fail('dns.failover', `applies only to routing "failover" (routing is "${routing}")`, o.failover);
  if (routing === 'failover') {
    const f = c.object('dns.failover', o.failover, ['primary', 'secondary']) ?? {};
    const primary = f.primary === undefined ? ctx.primaryRegion : isRegion('dns.failover.primary', f.primary);
    const secondary = f.secondary === undefined ? ctx.regions.find((r) => r !== primary) : isRegion('dns.failover.secondary', f.secondary);
    if (ctx.regions.length < 2) c.fail('dns.routing', 'failover needs at least 2 regions', routing);
    else if (primary !== undefined && primary === secondary) c.fail('dns.failover.secondary', 'must differ from the primary', secondary);
    else if (primary !== undefined && secondary !== undefined) failover = { primary, secondary };
  }

  const h = c.object('dns.healthCheck', o.healthCheck, ['path', 'port', 'failureThreshold', 'requestInterval', 'regions']) ?? {};
  // Every service answers it (S2M_DEEP_HEALTH_PATH) and the load balancer lets exactly it through: one exact path.
  const path = c.string('dns.healthCheck.path', h.path, { pattern: HEALTH_PATH_PATTERN, what: 'one exact path starting with / of A-Z a-z 0-9 _ . / @ : + - (no wildcard or query string, at most 255 characters)' }) ?? GEO_DNS_DEFAULTS.healthCheckPath;
  const port = c.number('dns.healthCheck.port', h.port, { integer: true, min: 1, max: 65535 });
  // The load balancer's HTTPS listener: the check is HTTPS, and port 80 answers it with a redirect.
  if (port !== undefined && port !== 443) c.fail('dns.healthCheck.port', 'must be 443: Route 53 checks each region over HTTPS, and the load balancer listens for HTTPS on 443 only (80 redirects); every region would fail its check, and Route 53 would answer as if all were healthy', port);
  const failureThreshold = c.number('dns.healthCheck.failureThreshold', h.failureThreshold, { integer: true, min: 1, max: 10 }) ?? preset.failureThreshold;
  let requestInterval = preset.requestInterval;
  if (h.requestInterval !== undefined) {
    if (h.requestInterval !== 10 && h.requestInterval !== 30) c.fail('dns.healthCheck.requestInterval', 'must be 10 or 30 (seconds)', h.requestInterval);
    else requestInterval = h.requestInterval;
  }
  let regions: string[] | undefined;
  const list = c.array('dns.healthCheck.regions', h.regions, { min: 3 });
  if (list) {
    regions = [];
    list.forEach((v, i) => {
      const s = c.string(at('dns.healthCheck.regions', i), v, { required: true, oneOf: HEALTH_CHECKER_REGIONS });
      if (s !== undefined && regions!.includes(s)) c.fail(at('dns.healthCheck.regions', i), 'duplicate checker region', s);
      else if (s !== undefined) regions!.push(s);
    });
  }

  const label = (key: 'apiSubdomain' | 'originSubdomain', def: string): string =>
    c.string(at('dns', key), o[key], { pattern: LABEL, what: 'one lowercase DNS label like "api"' }) ?? def;
  const apiSubdomain = label('apiSubdomain', GEO_DNS_DEFAULTS.apiSubdomain);
  const originSubdomain = label('originSubdomain', GEO_DNS_DEFAULTS.originSubdomain);
  if (apiSubdomain === originSubdomain) c.fail('dns.apiSubdomain', 'must differ from originSubdomain', apiSubdomain);

  const drainedRegions: string[] = [];
  (c.array('dns.drainedRegions', o.drainedRegions) ?? []).forEach((v, i) => {
    const r = isRegion(at('dns.drainedRegions', i), v);
    if (r !== undefined && drainedRegions.includes(r)) c.fail(at('dns.drainedRegions', i), 'duplicate region', r);
    else if (r !== undefined) drainedRegions.push(r);
  });
  // Only the regions with records count: with failover routing, the failover pair.
  const routed = failover ? [failover.primary, failover.secondary] : ctx.regions;
  if (routed.length > 0 && routed.every((r) => drainedRegions.includes(r))) {
    c.fail('dns.drainedRegions', `must leave at least one region ${failover ? 'of dns.failover ' : ''}in service (with every region unhealthy, Route 53 answers as if all were healthy${failover ? ', and failover routing with the primary' : ''})`, o.drainedRegions);
  }

  return {
    routing,
    ...(geolocation ? { geolocation } : {}),
    ...(failover ? { failover } : {}),
    healthCheck: { path, ...(port !== undefined ? { port } : {}), failureThreshold, requestInterval, ...(regions ? { regions } : {}) },
    apiSubdomain,
    originSubdomain,
    drainedRegions,
  };
}
