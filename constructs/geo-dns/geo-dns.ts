import { Duration, Stack, Tags, Token } from 'aws-cdk-lib/core';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as targets from 'aws-cdk-lib/aws-route53-targets';
import { Construct } from 'constructs';
import { validationError } from '../common/errors';
import { checkPort } from '../common/ports';
import { GEO_DNS_DEFAULTS, HEALTH_CHECKER_REGIONS } from './defaults';
import { apiDomainName, originDomainName } from './names';

/** How Route 53 picks a region for a query. */
export enum DnsRouting {
  /** The region with the lowest latency to the resolver, among the healthy ones. */
  LATENCY = 'latency',
  /** The region mapped to the resolver's continent or country; a default record catches the rest. */
  GEOLOCATION = 'geolocation',
  /** Active-passive: the PRIMARY region while it is healthy, else the SECONDARY one. */
  FAILOVER = 'failover',
}

/** Protocol of the endpoint health check. */
export enum HealthCheckProtocol {
  /** Plain HTTP (port 80 by default). */
  HTTP = 'HTTP',
  /** HTTPS (port 443 by default); Route 53 does not validate the certificate. */
  HTTPS = 'HTTPS',
}

/** How Route 53 checks the regional load balancer. */
export interface RegionalHealthCheckOptions {
  /**
   * Path requested; it must answer 2xx/3xx without the edge's origin header (the web tier exempts exactly this
   * path, GET and HEAD).
   * @default '/health/deep' - the runtime SDK's deep health (`HEALTH_PATHS.deep`)
   */
  readonly path?: string;
  /** Protocol. Route 53 does not validate the certificate, so HTTPS works against the ALB's own name. @default HTTPS */
  readonly protocol?: HealthCheckProtocol;
  /** Port. @default 443 for HTTPS, 80 for HTTP */
  readonly port?: number;
  /** Consecutive results (1-10) before the status flips. @default 3 */
  readonly failureThreshold?: number;
  /** Seconds between checks of one checker: 10 (fast, billed extra) or 30. @default Duration.seconds(30) */
  readonly requestInterval?: Duration;
  /** Checker regions (at least 3, from the regions Route 53 checks from). @default - every checker region */
  readonly regions?: string[];
}

/** Properties of a {@link GeoDns}. */
export interface GeoDnsProps {
  /** The hosted zone holding the names (import it with `HostedZone.fromHostedZoneAttributes`; never looked up). */
  readonly zone: route53.IHostedZone;
  /** The product's domain, e.g. `shop.example.com`. */
  readonly domainName: string;
  /** The region's load balancer: the alias target of every record and the endpoint checked. */
  readonly loadBalancer: elbv2.IApplicationLoadBalancer;
  /** The region served (a concrete region code). @default - the stack's region */
  readonly region?: string;
  /** Routing policy. @default DnsRouting.LATENCY */
  readonly routing?: DnsRouting;
  /**
   * With {@link DnsRouting.GEOLOCATION}: the locations this region serves (continents, countries, and
   * `GeoLocation.default()` in exactly one region: its record aliases the fallback set, so everyone else gets the
   * nearest healthy region). Every region also joins each name's latency-routed fallback set
   * (`<fallbackSubdomain>.<name>`): Route 53 falls back from an unhealthy country to its continent, then to the
   * default record, which resolves through the fallback set to a healthy region. A region may serve no location
   * and only take fallback traffic.
   * @default - none (the region only takes fallback traffic)
   */
  readonly geoLocations?: route53.GeoLocation[];
  /** With {@link DnsRouting.GEOLOCATION}: the label of the fallback sets. @default 'fallback' */
  readonly fallbackSubdomain?: string;
  /** With {@link DnsRouting.FAILOVER}: this region's role. Required for that mode. @default - none */
  readonly failover?: route53.Failover;
  /**
   * The names routed to this region.
   * @default - `origin.<domain>` (CloudFront's dynamic origin, see `originDomainName`) and `api.<domain>`
   */
  readonly recordNames?: string[];
  /** The endpoint health check. @default - HTTPS on 443, /health, threshold 3, every 30 s, every checker region */
  readonly healthCheck?: RegionalHealthCheckOptions;
  /**
   * Alarms that drain the region while they fire, even if its load balancer still answers (e.g. the
   * region's 5xx or latency alarm). Each gets a CloudWatch-metric health check, and the records use a
   * calculated check that is healthy only when the endpoint and every alarm are. Route 53 accepts alarms
   * on one standard-resolution metric (no metric math); pass the components of a composite alarm.
   * @default - the records' check combines the endpoint check and the drain switch only
   */
  readonly drainAlarms?: cloudwatch.IAlarm[];
  /**
   * Take the region out of DNS while it stays deployed (maintenance, a bad release): the drain switch
   * ({@link GeoDns.drainSwitch}) is inverted, so the region's health check is unhealthy whatever its endpoint
   * does, and Route 53 routes around it. Deploying the change touches only this region's stack, and leaves no
   * drift as a manual inversion would.
   * @default false
   */
  readonly drained?: boolean;
}

/**
 * One region's share of multi-region DNS: a Route 53 health check on the region's load balancer, a drain
 * switch, a calculated check over them (and over the drain alarms' checks) and, for each routed name, an alias
 * record to the load balancer (evaluating target health) with the region as set identifier, that calculated
 * check, and a latency, geolocation or failover policy. Instantiate it
 * once per region, in that region's stack: adding or removing a region touches no other region's records.
 * Records are A only unless the load balancer is dual-stack (then A and AAAA).
 */
export class GeoDns extends Construct {
  /** The health check on the load balancer's health path. */
  public readonly endpointHealthCheck: route53.HealthCheck;
  /** One CloudWatch-metric health check per drain alarm. */
  public readonly alarmHealthChecks: route53.HealthCheck[] = [];
  /**
   * The region's drain switch: a calculated health check with no children and a threshold of 0, which Route 53
   * always considers healthy; inverted, always unhealthy. Draining inverts this switch (`drained`, `s2m evacuate`),
   * never the endpoint check: an inverted endpoint check turns healthy when the endpoint fails, and would put a
   * drained region that then fails back into DNS.
   */
  public readonly drainSwitch: route53.HealthCheck;
  /** The health check the records carry: healthy when the endpoint check, every drain alarm's check and the drain switch are. */
  public readonly healthCheck: route53.IHealthCheck;
  /** The records created (A, and AAAA when dual-stack), in creation order. */
  public readonly records: route53.RecordSet[] = [];
  /** The names routed to this region. */
  public readonly recordNames: string[];
  /** With geolocation routing: the latency-routed fallback names this region joins (`fallback.<name>`). */
  public readonly fallbackRecordNames: string[] = [];
  /** The region served. */
  public readonly region: string;
  /** The routing policy. */
  public readonly routing: DnsRouting;

  constructor(scope: Construct, id: string, props: GeoDnsProps) {
    super(scope, id);
    this.region = props.region ?? Stack.of(this).region;
    this.routing = props.routing ?? DnsRouting.LATENCY;
    if (!Token.isUnresolved(props.domainName) && !DOMAIN.test(props.domainName)) {
      throw validationError(this, `GeoDns: domainName must be a lowercase DNS name (got: ${JSON.stringify(props.domainName)})`);
    }
    this.recordNames = props.recordNames ?? [originDomainName(props.domainName), apiDomainName(props.domainName)];
    validate(this, props, this.region, this.routing, this.recordNames);

    const hc = props.healthCheck ?? {};
    const protocol = hc.protocol ?? HealthCheckProtocol.HTTPS;
    this.endpointHealthCheck = new route53.HealthCheck(this, 'HealthCheck', {
      type: protocol === HealthCheckProtocol.HTTPS ? route53.HealthCheckType.HTTPS : route53.HealthCheckType.HTTP,
      fqdn: props.loadBalancer.loadBalancerDnsName,
      port: hc.port ?? (protocol === HealthCheckProtocol.HTTPS ? 443 : 80),
      resourcePath: hc.path ?? GEO_DNS_DEFAULTS.healthCheckPath,
      failureThreshold: hc.failureThreshold ?? GEO_DNS_DEFAULTS.failureThreshold,
      requestInterval: hc.requestInterval ?? GEO_DNS_DEFAULTS.requestInterval,
      // SNI with the ALB's own name: it serves its default (the domain's) certificate; checkers do not validate it.
      ...(protocol === HealthCheckProtocol.HTTPS ? { enableSNI: true } : {}),
      ...(hc.regions ? { regions: hc.regions } : {}),
      measureLatency: true,
    });
    Tags.of(this.endpointHealthCheck).add('Name', `${this.region} load balancer`);
    this.drainSwitch = new route53.HealthCheck(this, 'DrainSwitch', {
      type: route53.HealthCheckType.CALCULATED,
      childHealthChecks: [],
      healthThreshold: 0,
      inverted: props.drained ?? false,
    });
    Tags.of(this.drainSwitch).add('Name', `${this.region} drain switch${props.drained ? ' (drained)' : ''}: inverted, the region is out of DNS`);

    (props.drainAlarms ?? []).forEach((alarm, i) => {
      this.alarmHealthChecks.push(new route53.HealthCheck(this, `AlarmHealthCheck${i + 1}`, {
        type: route53.HealthCheckType.CLOUDWATCH_METRIC,
        alarmIdentifier: { region: alarm.env.region, name: alarm.alarmName },
        // A missing datapoint must neither drain a healthy region nor revive a drained one.
        insufficientDataHealthStatus: route53.InsufficientDataHealthStatusEnum.LAST_KNOWN_STATUS,
      }));
    });
    const children = [this.endpointHealthCheck, ...this.alarmHealthChecks, this.drainSwitch];
    this.healthCheck = new route53.HealthCheck(this, 'RegionHealthCheck', {
      type: route53.HealthCheckType.CALCULATED,
      childHealthChecks: children,
      healthThreshold: children.length,
    });

    const albTarget = route53.RecordTarget.fromAlias(new targets.LoadBalancerTarget(props.loadBalancer, { evaluateTargetHealth: true }));
    const dualStack = props.loadBalancer.ipAddressType === elbv2.IpAddressType.DUAL_STACK
      || props.loadBalancer.ipAddressType === elbv2.IpAddressType.DUAL_STACK_WITHOUT_PUBLIC_IPV4;
    const fallbackLabel = props.fallbackSubdomain ?? GEO_DNS_DEFAULTS.fallbackSubdomain;
    for (const name of this.recordNames) {
      const label = recordLabel(name, props.domainName);
      const record = (id: string, options: route53.RecordSetOptions, target: route53.RecordTarget): route53.RecordSet[] => {
        const made = [new route53.ARecord(this, `${id}A`, { ...options, target })];
        if (dualStack) made.push(new route53.AaaaRecord(this, `${id}Aaaa`, { ...options, target }));
        this.records.push(...made);
        return made;
      };
      let fallback: route53.RecordSet[] = [];
      if (this.routing === DnsRouting.GEOLOCATION) {
        const fallbackName = `${fallbackLabel}.${name}`;
        this.fallbackRecordNames.push(fallbackName);
        fallback = record(`${label}Fallback`, {
          zone: props.zone,
          recordName: `${fallbackName}.`,
          setIdentifier: this.region,
          region: this.region,
          healthCheck: this.healthCheck,
          comment: `${fallbackName} to ${this.region}: the nearest healthy region, for locations whose region is down`,
        }, albTarget);
      }
      for (const policy of this.policies(props)) {
        const toFallback = this.routing === DnsRouting.GEOLOCATION && policy.idSuffix === 'Default';
        const made = record(`${label}${policy.idSuffix}`, {
          zone: props.zone,
          recordName: `${name}.`,
          setIdentifier: policy.setIdentifier,
          // The default location resolves through the fallback set: its health is the set's (any healthy region).
          ...(toFallback ? {} : { healthCheck: this.healthCheck }),
          comment: toFallback ? `${name}: every location no record serves, and those whose region is down, to the nearest healthy region` : `${name} to ${this.region} (${this.routing} routing)`,
          ...policy.options,
        }, toFallback ? route53.RecordTarget.fromAlias(new SameZoneAlias(props.zone, `${fallbackLabel}.${name}`)) : albTarget);
        // Route 53 refuses an alias to a name that does not exist yet: this region's fallback records come first.
        if (toFallback) for (const r of made) for (const f of fallback) r.node.addDependency(f);
      }
    }
  }

  private policies(props: GeoDnsProps): Array<{ idSuffix: string; setIdentifier: string; options: Partial<route53.RecordSetOptions> }> {
    switch (this.routing) {
      case DnsRouting.LATENCY:
        return [{ idSuffix: '', setIdentifier: this.region, options: { region: this.region } }];
      case DnsRouting.FAILOVER:
        return [{ idSuffix: '', setIdentifier: this.region, options: { failover: props.failover! } }];
      case DnsRouting.GEOLOCATION:
        return (props.geoLocations ?? []).map((loc) => {
          const code = geoCode(loc);
          return { idSuffix: code === '*' ? 'Default' : code, setIdentifier: `${this.region}-${code === '*' ? 'default' : code}`, options: { geoLocation: loc } };
        });
    }
  }
}

/** An alias to another record set of the same hosted zone, evaluating its health (any healthy member). */
class SameZoneAlias implements route53.IAliasRecordTarget {
  constructor(private readonly zone: route53.IHostedZone, private readonly name: string) {}

  public bind(): route53.AliasRecordTargetConfig {
    return { hostedZoneId: this.zone.hostedZoneId, dnsName: this.name, evaluateTargetHealth: true };
  }
}

/** `EU`, `JP`, `US-CA` or `*` (default) for a geolocation. */
function geoCode(loc: route53.GeoLocation): string {
  if (loc.continentCode) return loc.continentCode;
  if (loc.countryCode === '*') return '*';
  return loc.subdivisionCode ? `${loc.countryCode}-${loc.subdivisionCode}` : loc.countryCode ?? '*';
}

/** `origin.shop.example.com` → `Origin` (construct ids stay stable when the domain changes). */
function recordLabel(name: string, domain: string): string {
  const rel = name === domain ? 'apex' : name.endsWith(`.${domain}`) ? name.slice(0, -domain.length - 1) : name;
  return rel.split(/[^A-Za-z0-9]+/).filter(Boolean).map((p) => p[0].toUpperCase() + p.slice(1)).join('');
}

const DOMAIN = /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

function validate(scope: Construct, props: GeoDnsProps, region: string, routing: DnsRouting, names: string[]): void {
  const fail = (message: string) => validationError(scope, message);
  if (Token.isUnresolved(region)) throw fail('GeoDns: region must be a concrete region code; give `region` or put the construct in a stack with an explicit region (got: an unresolved token)');
  if (!Object.values(DnsRouting).includes(routing)) throw fail(`GeoDns: routing must be one of ${Object.values(DnsRouting).join(', ')} (got: ${JSON.stringify(routing)})`);
  if (names.length === 0) throw fail('GeoDns: recordNames must list at least one name (got: [])');
  const seen = new Set<string>();
  for (const n of names) {
    if (n !== props.domainName && !n.endsWith(`.${props.domainName}`)) throw fail(`GeoDns: recordNames must be inside ${props.domainName} (got: ${JSON.stringify(n)})`);
    if (seen.has(n)) throw fail(`GeoDns: recordNames has a duplicate (got: ${JSON.stringify(n)})`);
    seen.add(n);
  }
  if (routing === DnsRouting.GEOLOCATION) {
    const codes = (props.geoLocations ?? []).map(geoCode);
    const dup = codes.find((c, i) => codes.indexOf(c) !== i);
    if (dup) throw fail(`GeoDns: geoLocations has a duplicate location (got: ${dup})`);
  } else if (props.geoLocations) {
    throw fail(`GeoDns: geoLocations applies only to routing "geolocation" (got routing: ${routing})`);
  }
  if (props.fallbackSubdomain !== undefined && !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(props.fallbackSubdomain)) {
    throw fail(`GeoDns: fallbackSubdomain must be one lowercase DNS label (got: ${JSON.stringify(props.fallbackSubdomain)})`);
  }
  if (routing === DnsRouting.FAILOVER && !props.failover) throw fail('GeoDns: failover (PRIMARY or SECONDARY) is required with routing "failover" (got: undefined)');
  if (routing !== DnsRouting.FAILOVER && props.failover) throw fail(`GeoDns: failover applies only to routing "failover" (got routing: ${routing})`);

  const hc = props.healthCheck ?? {};
  if (hc.path !== undefined && !/^\/[\x21-\x7e]{0,254}$/.test(hc.path)) throw fail(`GeoDns: healthCheck.path must start with / and be at most 255 printable characters (got: ${JSON.stringify(hc.path)})`);
  checkPort(scope, 'GeoDns', 'healthCheck.port', hc.port);
  if (hc.failureThreshold !== undefined && (!Number.isInteger(hc.failureThreshold) || hc.failureThreshold < 1 || hc.failureThreshold > 10)) {
    throw fail(`GeoDns: healthCheck.failureThreshold must be a whole number from 1 to 10 (got: ${hc.failureThreshold})`);
  }
  const interval = hc.requestInterval?.toSeconds();
  if (interval !== undefined && interval !== 10 && interval !== 30) throw fail(`GeoDns: healthCheck.requestInterval must be 10 or 30 seconds (got: ${interval})`);
  if (hc.regions) {
    const bad = hc.regions.filter((r) => !HEALTH_CHECKER_REGIONS.includes(r));
    if (bad.length) throw fail(`GeoDns: healthCheck.regions must be Route 53 checker regions (${HEALTH_CHECKER_REGIONS.join(', ')}) (got: ${JSON.stringify(bad)})`);
    if (new Set(hc.regions).size < 3) throw fail(`GeoDns: healthCheck.regions must list at least 3 distinct regions (got: ${JSON.stringify(hc.regions)})`);
  }
  for (const a of props.drainAlarms ?? []) {
    if (Token.isUnresolved(a.env.region)) throw fail(`GeoDns: drainAlarms need a concrete region (alarm ${a.node.path} is in an environment-agnostic stack)`);
  }
}
