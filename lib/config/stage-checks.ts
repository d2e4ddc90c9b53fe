import { FORWARDED_SESSIONS_PERCENT, ROUTE53_HEALTH_CHECKS_QUOTA, forwardedSessionBudget, route53HealthChecks } from './limits';
import { PRESETS, type StagePreset } from './presets';
import { STAGES, type AppConfig } from './types';

/**
 * Something a config does that its stage says it should not, though it still synthesizes (e.g. one
 * region for the `global` stage). `buildApp` turns each finding into a warning on the named stack; users
 * acknowledge it by id: `Annotations.of(stack).acknowledgeWarning('scale-to-millions:stage-regions')`.
 */
export interface StageFinding {
  /** The warning id, `scale-to-millions:stage-<what>` (see {@link stageWarningId}). */
  readonly id: string;
  /** What is below the stage's minimum, and what to do about it. */
  readonly message: string;
  /** Region of the stack that carries the warning. @default - the primary region */
  readonly region?: string;
  /** Tier of the stack that carries the warning (`edge` ignores `region`). @default 'app' */
  readonly tier?: 'network' | 'data' | 'app' | 'edge';
}

/** One check: a pure function of the resolved config and its stage's preset. */
export type StageCheck = (config: AppConfig, preset: StagePreset) => StageFinding[];

/** `regions` → `scale-to-millions:stage-regions`. */
export function stageWarningId(what: string): string {
  return `scale-to-millions:stage-${what}`;
}

/** The global stage runs in several regions. */
export const checkRegions: StageCheck = (config, preset) => config.regions.length >= preset.minRegions ? [] : [{
  id: stageWarningId('regions'),
  message: `The ${config.stage} stage runs in at least ${preset.minRegions} regions (got: ${config.regions.length}); one region cannot take over when another fails. Add a region, or pick a smaller stage.`,
}];

/** Each region spreads over the stage's number of zones (the hard floor, `minAzs`, is a config error). */
export const checkAzs: StageCheck = (config, preset) => config.regions
  .filter((r) => r.availabilityZones.length < preset.azs)
  .map((r) => ({
    id: stageWarningId('azs'),
    message: `The ${config.stage} stage spreads each region over ${preset.azs} availability zones; ${r.region} has ${r.availabilityZones.length} (got: ${r.availabilityZones.join(', ')}), so losing one zone loses ${Math.round(100 / r.availabilityZones.length)}% of capacity.`,
    region: r.region,
    tier: 'network' as const,
  }));

/** Stages with a NAT gateway per zone keep egress alive when a zone fails. */
export const checkNat: StageCheck = (config, preset) => preset.natGateways < preset.azs ? [] : config.regions
  .filter((r) => r.natGateways < r.availabilityZones.length)
  .map((r) => ({
    id: stageWarningId('nat'),
    message: `The ${config.stage} stage has a NAT gateway per availability zone; ${r.region} has ${r.natGateways} for ${r.availabilityZones.length} zones (got: ${r.natGateways}), so a zone failure can cut the others' egress.`,
    region: r.region,
    tier: 'network' as const,
  }));

/** Several regions without a domain: nothing routes users between them or fails over. */
export const checkMultiRegionDns: StageCheck = (config) => config.regions.length < 2 || config.domain ? [] : [{
  id: stageWarningId('dns'),
  message: `The config runs ${config.regions.length} regions (${config.regions.map((r) => r.region).join(', ')}) but sets no \`domain\`: no latency records, health checks or failover route users between them. Add \`domain\`.`,
}];

/**
 * Failover routing answers from two regions (the primary, and the secondary while the primary is
 * unhealthy): any other region is deployed and paid for but gets no users.
 */
export const checkFailoverRegions: StageCheck = (config) => {
  const f = config.dns.failover;
  if (!config.domain || config.dns.routing !== 'failover' || !f) return [];
  return config.regions
    .filter((r) => r.region !== f.primary && r.region !== f.secondary)
    .map((r) => ({
      id: stageWarningId('failover-regions'),
      message: `dns.routing "failover" sends users to ${f.primary} and, while it is unhealthy, to ${f.secondary}; ${r.region} is deployed but no record routes to it (got: ${config.regions.length} regions). Route with "latency" or "geolocation" to serve every region, or remove this one.`,
      region: r.region,
    }));
};

/**
 * Every database cluster has a reader: the failover target and the read capacity. From the growth stage on this
 * is the stage's minimum; at startup it is the stage's trade-off, listed so it is chosen knowingly.
 */
export const checkDatabaseReplicas: StageCheck = (config) => config.database.shards
  .filter((shard) => (shard.readers ?? config.database.readers) < 1 && (shard.autoScaling?.minReaders ?? 0) < 1)
  .map((shard) => {
    const what = config.database.shards.length > 1 ? `shard ${shard.id}` : 'the database';
    const recovery = 'a writer failure means Aurora creates a new instance (about 10 minutes) instead of promoting a reader (about 30 s)';
    return {
      id: stageWarningId('database-replicas'),
      message: STAGES.indexOf(config.stage) < STAGES.indexOf('growth')
        ? `${what[0].toUpperCase()}${what.slice(1)} runs a writer and no reader (got: 0), the ${config.stage} stage's trade-off: ${recovery}; reads share the writer. Set database.readers: 1 (the growth stage's default) when minutes of downtime are no longer acceptable.`
        : `The ${config.stage} stage keeps at least one Aurora reader per cluster; ${what} has none (got: 0), so ${recovery}. Set database.readers ≥ 1.`,
      tier: 'data' as const,
    };
  });

/** Egress through NAT instances instead of NAT gateways (the startup stage's default). */
export const checkNatInstances: StageCheck = (config) => config.network.natProvider !== 'instance' ? [] : config.regions
  .filter((r) => r.natGateways > 0)
  .map((r) => ({
    id: stageWarningId('nat-instance'),
    message: `${r.region} reaches the internet through ${r.natGateways} NAT instance(s) (${config.network.natInstanceType}) instead of NAT gateways (got: network.natProvider "instance"), saving about $29 a month each: an instance is not a managed, redundant service, so a failed instance, an outage of its zone or a deploy that replaces it (a new AMI) cuts the private subnets' egress (SSM, Secrets Manager, SQS, third-party APIs) for minutes, and its bandwidth is the instance's. Set network.natProvider: "gateway" (the growth stage's default) when that is no longer acceptable.`,
    region: r.region,
    tier: 'network' as const,
  }));

/** No RDS Proxy in front of the database (the startup stage's default). */
export const checkDatabaseProxy: StageCheck = (config) => config.database.proxy.enabled ? [] : [{
  id: stageWarningId('database-proxy'),
  message: 'The database has no RDS Proxy (got: database.proxy.enabled false): every server holds its own connections to the cluster, a burst of new servers or workers can exhaust max_connections, and a failover drops connections until clients reconnect to the new writer. Set database.proxy.enabled: true (the growth stage\'s default; billed on the capacity behind it, at least 2 vCPUs or 8 ACUs: $22 or $88 a month in us-east-1, plus its read-only endpoint) when the fleets grow.',
  tier: 'data' as const,
}];

/** Performance Insights off (the startup stage's default: a 0.5 ACU Serverless v2 instance needs its memory). */
export const checkPerformanceInsights: StageCheck = (config) => config.database.performanceInsights ? [] : [{
  id: stageWarningId('performance-insights'),
  message: 'Performance Insights is off (got: database.performanceInsights false), so there is no query-level view of database load; CloudWatch metrics, the slow-statement log and the dashboard remain. Turn it on (7 days are free) once the Serverless v2 minimum is 2 ACUs or more, as AWS recommends with it.',
  tier: 'data' as const,
}];

/** Burstable cache nodes (the startup stage's default): small, on CPU credits, and never autoscaled. */
export const checkCacheNodes: StageCheck = (config) => !/^cache\.t\d/.test(config.cache.nodeType) ? [] : [{
  id: stageWarningId('cache-burstable'),
  message: `The cache runs burstable ${config.cache.nodeType} nodes (got: ${config.cache.nodeType}): little memory, CPU on credits that a sustained load exhausts, and no autoscaling (ElastiCache cannot autoscale t-class nodes), though still with a replica in another zone. Move to cache.r7g.large with autoscaling (the growth stage's default) before the cache holds sessions or hot data the product depends on.`,
  tier: 'data' as const,
}];

/**
 * Route 53 counts health checks per account, and refuses the one past its quota at deploy: the stack that adds it
 * fails and rolls back. The default quota can be raised (Service Quotas, "Health checks per account"); then
 * acknowledge this warning.
 */
export const checkHealthCheckQuota: StageCheck = (config) => {
  const perRegion = route53HealthChecks(config);
  const total = Object.values(perRegion).reduce((a, b) => a + b, 0);
  return total <= ROUTE53_HEALTH_CHECKS_QUOTA ? [] : [{
    id: stageWarningId('health-checks'),
    message: `The config creates ${total} Route 53 health checks (${Object.entries(perRegion).map(([r, n]) => `${r}: ${n}`).join(', ')}: per routed region, one for the load balancer, its drain switch, one per service in \`services\` (got: ${config.services.length}) and one over them), more than Route 53's default quota of ${ROUTE53_HEALTH_CHECKS_QUOTA} per account, counted with any the account already has: the deploy that passes it fails. Ask for more ("Health checks per account" in Service Quotas) and acknowledge this warning, or run fewer services or regions.`,
  }];
};

/**
 * An Aurora PostgreSQL writer takes sessions forwarded from the secondaries only up to a share of its connections
 * ({@link FORWARDED_SESSIONS_PERCENT} % of `max_connections`) and refuses more: past it, writes made in the secondary
 * regions fail. Each runtime process there holds at least one forwarded session while it writes; when the fleets at
 * their maxima have more processes than the share, a peak of writes from the secondaries fails on it. (Below that,
 * docs/aurora.md says how many each process may hold: `s2m plan` prints it.)
 */
export const checkForwardedSessions: StageCheck = (config) => {
  const budget = forwardedSessionBudget(config);
  const over = budget?.writers.filter((w) => budget.processes > w.sessions) ?? [];
  if (!budget || over.length === 0) return [];
  const writers = over.map((w) => `${config.database.shards.length > 1 ? `shard ${w.shard}: ` : ''}${w.instanceType === 'serverless' ? `Serverless v2 at ${config.database.serverlessMaxCapacity} ACUs` : `db.${w.instanceType}`}, max_connections about ${w.maxConnections}, so ${w.sessions}`).join('; ');
  return [{
    id: stageWarningId('forwarded-sessions'),
    message: `With write forwarding (database.globalDatabase.writeForwarding), the ${budget.secondaries.length} secondary region(s) (${budget.secondaries.join(', ')}) run up to ${budget.processes} processes of the runtime SDK when every fleet is at its maxCapacity (${budget.processesPerRegion} per region: \`services\` and \`queues[].workers\`), and each holds a forwarded session on the writer while it writes, but the writer takes at most ${FORWARDED_SESSIONS_PERCENT} % of its max_connections from them (${writers}): at such a peak, writes from the secondaries are refused. Choose a larger writer (database.instanceType), lower the fleets' maxCapacity in the secondaries' share, or run fewer secondaries; then acknowledge this warning if the peak cannot happen.`,
    region: config.database.globalDatabase.writerRegion,
    tier: 'data' as const,
  }];
};

/**
 * Every stage check. A tier adds its own in one line (e.g. a `millions` config with no read replica or a
 * queue without a dead-letter queue): a {@link StageCheck} returning findings with `stageWarningId('…')`.
 */
export const STAGE_CHECKS: readonly StageCheck[] = [
  checkRegions, checkAzs, checkNat, checkNatInstances, checkMultiRegionDns, checkDatabaseReplicas, checkDatabaseProxy, checkPerformanceInsights,
  checkCacheNodes, checkFailoverRegions, checkHealthCheckQuota, checkForwardedSessions,
];

/** The findings of `checks` (default: all) for a resolved config. */
export function stageFindings(config: AppConfig, checks: readonly StageCheck[] = STAGE_CHECKS, preset: StagePreset = PRESETS[config.stage]): StageFinding[] {
  return checks.flatMap((check) => check(config, preset));
}
