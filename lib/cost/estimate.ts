/**
 * Prices an {@link Inventory}: the floor (what the config costs a month at zero traffic) and the load part (what
 * a stated load adds, under printed {@link CostAssumptions}). Pure: no synthesis, no network, no clock.
 */
import { resolveAssumptions, type CostAssumptions } from './assumptions';
import {
  COST_TIERS,
  GLOBAL_REGION,
  type AuroraClusterInventory,
  type CostTier,
  type FleetInventory,
  type Inventory,
  type RegionInventory,
} from './inventory';
import {
  FALLBACK_REGION,
  GLOBAL_PRICES,
  HOURS_PER_MONTH,
  PRICE_TABLE_DATE,
  PRICE_TABLE_SOURCE,
  auroraClassVcpus,
  auroraInstanceHourPrice,
  cacheNodeHourPrice,
  ec2HourPrice,
  hasRegionPrices,
  regionalPrice,
  type Price,
  type PriceSource,
} from './prices';

/** Seconds in a month of {@link HOURS_PER_MONTH} hours. */
export const SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600;

/** Metrics EC2 detailed monitoring publishes per instance (billed as custom metrics). */
export const DETAILED_MONITORING_METRICS = 7;

/** One priced line. */
export interface CostLine {
  /** Region, or `global` for the edge. */
  readonly region: string;
  readonly tier: CostTier;
  /** What is priced, e.g. `EC2 t4g.small × 2 (web fleet web)`. */
  readonly item: string;
  readonly quantity: number;
  /** Unit of the quantity: `instance-hours`, `GB-months`, `months`, ... */
  readonly unit: string;
  /** USD per unit. */
  readonly unitPrice: number;
  /** USD per month. */
  readonly monthly: number;
  /** `list` or `derived` (us-east-1 × a regional multiplier). */
  readonly source: PriceSource;
  /** `floor` (at zero traffic) or `load` (what the stated load adds). */
  readonly part: 'floor' | 'load';
}

/** Totals of one region. */
export interface RegionTotals {
  readonly total: number;
  readonly tiers: Record<CostTier, number>;
}

/** Totals by region and tier. */
export interface CostTotals {
  readonly total: number;
  readonly regions: Record<string, RegionTotals>;
}

/** Something deployed that the estimate could not price. */
export interface UnpricedItem {
  readonly region: string;
  readonly what: string;
  readonly count: number;
}

/** Figures the load part derived from the assumptions (printed so they can be checked). */
export interface LoadFigures {
  readonly averageRequestsPerSecond: number;
  /** Requests that reach a load balancer (after the CDN), all regions. */
  readonly originRequestsPerMonth: number;
  /** Regions that take traffic (those with an internet-facing load balancer); requests are split evenly over them. */
  readonly servingRegions: string[];
  /** Average LCUs per load balancer. */
  readonly lcusPerLoadBalancer: number;
  /** Instances per fleet at this load (average), by `<region>/<fleet>`. */
  readonly fleetInstances: Record<string, number>;
}

/** A cost estimate of one config. */
export interface CostEstimate {
  readonly priceTable: { readonly date: string; readonly source: string; readonly currency: 'USD'; readonly hoursPerMonth: number };
  readonly assumptions: CostAssumptions;
  readonly load: LoadFigures;
  /** Every priced line, floor first. */
  readonly lines: CostLine[];
  /** Zero traffic. */
  readonly floor: CostTotals;
  /** Floor plus the stated load. */
  readonly atLoad: CostTotals;
  readonly unpriced: UnpricedItem[];
  /** Problems with the estimate itself (a region without prices, ...). */
  readonly warnings: string[];
}

/** What the config says that templates cannot: the average processing time of each queue's jobs. */
export interface EstimateContext {
  /** Seconds one job of a queue takes, by queue name in PascalCase (the output key suffix, e.g. `Jobs`). */
  readonly queueProcessingSeconds?: Readonly<Record<string, number>>;
  /** Service and queue names as written in the config, by their PascalCase form (`Jobs` → `jobs`), for labels. */
  readonly names?: Readonly<Record<string, string>>;
}

const hours = HOURS_PER_MONTH;

/** Accumulates lines for one region and part. */
class Lines {
  public readonly lines: CostLine[] = [];
  public readonly unpriced: UnpricedItem[] = [];

  constructor(private readonly region: string, private readonly part: 'floor' | 'load') {}

  public add(tier: CostTier, item: string, quantity: number, unit: string, price: Price): void {
    if (quantity <= 0) return;
    this.lines.push({ region: this.region, tier, item, quantity, unit, unitPrice: price.usd, monthly: quantity * price.usd, source: price.source, part: this.part });
  }

  public missing(what: string, count: number): void {
    const found = this.unpriced.find((u) => u.what === what);
    if (found) (found as { count: number }).count += count;
    else this.unpriced.push({ region: this.region, what, count });
  }
}

const flat = (usd: number): Price => ({ usd, source: 'list' });

/** The price region of an inventory region: global resources bill in us-east-1. */
function priceRegion(region: string): string {
  return region === GLOBAL_REGION ? 'us-east-1' : region;
}

/**
 * Prices `inventory`: floor lines for everything that bills at zero traffic, load lines for what the stated load
 * adds. `assumptions` overrides the defaults (see {@link resolveAssumptions}).
 */
export function estimateCost(inventory: Inventory, assumptions: Partial<CostAssumptions> | CostAssumptions = {}, context: EstimateContext = {}): CostEstimate {
  const a = resolveAssumptions(assumptions as Record<string, unknown>);
  const warnings: string[] = [];
  for (const r of inventory.regions) {
    if (r.region !== GLOBAL_REGION && !hasRegionPrices(r.region)) {
      warnings.push(`no prices for ${r.region} in the table: its resources are priced at ${FALLBACK_REGION}'s prices, which are usually lower`);
    }
  }
  const floorLines: CostLine[] = [];
  const unpriced: UnpricedItem[] = [];
  for (const r of inventory.regions) {
    const l = new Lines(r.region, 'floor');
    priceFloor(r, l, a, context);
    floorLines.push(...l.lines);
    unpriced.push(...l.unpriced);
    for (const [type, count] of Object.entries(r.unpriced)) unpriced.push({ region: r.region, what: type, count });
  }
  const { lines: loadLines, figures } = priceLoad(inventory, a, context);
  const lines = [...floorLines, ...loadLines];
  return {
    priceTable: { date: PRICE_TABLE_DATE, source: PRICE_TABLE_SOURCE, currency: 'USD', hoursPerMonth: HOURS_PER_MONTH },
    assumptions: a,
    load: figures,
    lines,
    floor: totals(floorLines, inventory),
    atLoad: totals(lines, inventory),
    unpriced,
    warnings,
  };
}

/** Sums lines by region and tier (every inventory region and tier present, zero when nothing is priced). */
export function totals(lines: readonly CostLine[], inventory?: Inventory): CostTotals {
  const regions: Record<string, RegionTotals> = {};
  const zero = () => Object.fromEntries(COST_TIERS.map((t) => [t, 0])) as Record<CostTier, number>;
  for (const r of inventory?.regions ?? []) regions[r.region] = { total: 0, tiers: zero() };
  for (const line of lines) {
    const r = (regions[line.region] ??= { total: 0, tiers: zero() });
    r.tiers[line.tier] += line.monthly;
    (r as { total: number }).total += line.monthly;
  }
  return { total: Object.values(regions).reduce((s, r) => s + r.total, 0), regions };
}

function tierOf(f: FleetInventory): CostTier {
  return f.role === 'web' ? 'web' : f.role === 'workers' ? 'workers' : f.role === 'nat' ? 'network' : 'other';
}

/**
 * Instances a fleet keeps at zero traffic: its minimum, or the highest minimum a scheduled action sets (the upper
 * bound: a schedule that raises the minimum in business hours and lowers it at night costs less).
 */
export function floorInstances(f: FleetInventory): number {
  return Math.min(f.maxCapacity || Infinity, Math.max(f.minCapacity, ...f.scheduledMinimums.map((x) => x.min)));
}

function fleetLabel(f: FleetInventory, context: EstimateContext): string {
  const name = f.name ? ` ${context.names?.[f.name] ?? f.name}` : '';
  return f.role === 'nat' ? 'NAT instance' : f.role === 'web' ? `web fleet${name}` : f.role === 'workers' ? `workers${name}` : `instance ${f.logicalId}`;
}

/** Instance-hours, volumes, detailed monitoring and public addresses of `count` running instances of a fleet. */
function priceInstances(l: Lines, region: string, f: FleetInventory, count: number, label: string): void {
  if (count <= 0) return;
  const tier = tierOf(f);
  const price = ec2HourPrice(region, f.instanceType);
  if (price) l.add(tier, `EC2 ${f.instanceType} × ${count} (${label})`, count * hours, 'instance-hours', price);
  else l.missing(`EC2 ${f.instanceType} (${label}): no price in the table`, count);
  priceVolumes(l, region, f, count, label);
  if (f.detailedMonitoring) l.add('monitoring', `EC2 detailed monitoring × ${count} (${label})`, count * DETAILED_MONITORING_METRICS, 'metric-months', regionalPrice(region, 'customMetricMonth'));
  if (f.publicIpv4) l.add(tier, `public IPv4 × ${count} (${label})`, count * hours, 'address-hours', regionalPrice(region, 'publicIpv4Hour'));
}

function priceVolumes(l: Lines, region: string, f: FleetInventory, count: number, label: string): void {
  for (const type of [...new Set(f.volumes.map((v) => v.type))]) {
    const gb = f.volumes.filter((v) => v.type === type).reduce((s, v) => s + v.gb, 0) * count;
    if (type === 'gp3' || type === 'gp2') l.add(tierOf(f), `EBS ${type} ${gb} GB (${label})`, gb, 'GB-months', regionalPrice(region, type === 'gp3' ? 'ebsGp3GbMonth' : 'ebsGp2GbMonth'));
    else l.missing(`EBS ${type} volumes (${label})`, count);
  }
}

function priceFloor(r: RegionInventory, l: Lines, a: CostAssumptions, context: EstimateContext): void {
  const region = priceRegion(r.region);
  for (const f of r.fleets) {
    const floor = floorInstances(f);
    const raised = floor > f.minCapacity ? `, min ${floor} by schedule "${f.scheduledMinimums.filter((x) => x.min === floor).map((x) => x.schedule).join('; ')}"` : '';
    const label = `${fleetLabel(f, context)}${raised}`;
    priceInstances(l, region, f, floor + f.warmPoolRunning, label);
    if (f.warmPoolStopped > 0) priceVolumes(l, region, f, f.warmPoolStopped, `${label}, warm pool`);
  }
  l.add('network', `NAT gateway × ${r.natGateways}`, r.natGateways * hours, 'gateway-hours', regionalPrice(region, 'natGatewayHour'));
  l.add('network', `Elastic IP (public IPv4) × ${r.elasticIps}`, r.elasticIps * hours, 'address-hours', regionalPrice(region, 'publicIpv4Hour'));
  for (const lb of r.loadBalancers) {
    if (lb.type === 'gateway') {
      l.missing('Gateway Load Balancer', 1);
      continue;
    }
    const kind = lb.type === 'application' ? 'ALB' : 'NLB';
    l.add('web', `${kind} ${lb.logicalId}`, hours, 'hours', regionalPrice(region, lb.type === 'application' ? 'albHour' : 'nlbHour'));
    if (lb.internetFacing) l.add('web', `${kind} public IPv4 × ${lb.azs} (one per zone)`, lb.azs * hours, 'address-hours', regionalPrice(region, 'publicIpv4Hour'));
  }
  for (const e of r.interfaceEndpoints) {
    l.add('network', `interface endpoint ${e.service} (${e.azs} zones)`, e.azs * hours, 'endpoint-zone-hours', regionalPrice(region, 'interfaceEndpointHourPerAz'));
  }
  for (const c of r.clusters) priceCluster(l, region, c, a);
  for (const p of r.proxies) {
    const clusters = p.clusterLogicalIds.map((id) => r.clusters.find((c) => c.logicalId === id)).filter((c): c is AuroraClusterInventory => !!c);
    let vcpus = 0;
    let acus = 0;
    for (const c of clusters) {
      for (const i of c.instances) {
        if (i.dbClass === 'db.serverless') acus += c.serverless?.minAcu ?? 0.5;
        else vcpus += auroraClassVcpus(i.dbClass) ?? 0;
      }
    }
    const units = acus > 0 ? Math.max(GLOBAL_PRICES.rdsProxyMinAcus, vcpus + acus) : Math.max(GLOBAL_PRICES.rdsProxyMinVcpus, vcpus);
    l.add('proxy', `RDS Proxy ${p.logicalId} (${acus > 0 ? `${units} ACU` : `${units} vCPU`} behind it)`, units * hours, acus > 0 ? 'ACU-hours' : 'vCPU-hours', regionalPrice(region, 'rdsProxyUnitHour'));
    for (const azs of p.endpointAzs) l.add('proxy', `RDS Proxy extra endpoint (${azs} zones)`, azs * hours, 'endpoint-zone-hours', regionalPrice(region, 'interfaceEndpointHourPerAz'));
  }
  for (const c of r.caches) {
    const price = cacheNodeHourPrice(region, c.nodeType, c.engine);
    if (price) l.add('cache', `${c.engine} ${c.nodeType} × ${c.nodes} (${c.shards} shard${c.shards > 1 ? 's' : ''} × ${1 + c.replicasPerShard} nodes)`, c.nodes * hours, 'node-hours', price);
    else l.missing(`ElastiCache ${c.nodeType}: no price in the table`, c.nodes);
  }
  for (const w of r.webAcls) {
    l.add('edge', `WAF web ACL ${w.logicalId} (${w.scope.toLowerCase()})`, 1, 'months', flat(GLOBAL_PRICES.wafWebAclMonth));
    l.add('edge', `WAF rules × ${w.rules} (${w.logicalId})`, w.rules, 'rule-months', flat(GLOBAL_PRICES.wafRuleMonth));
    for (const g of w.paidRuleGroups) l.add('edge', `WAF ${g} subscription`, 1, 'months', flat(GLOBAL_PRICES.wafPaidRuleGroupMonth));
  }
  for (const d of r.distributions) {
    if (d.additionalMetrics) l.add('edge', `CloudFront additional metrics (${d.logicalId})`, GLOBAL_PRICES.cloudFrontAdditionalMetrics, 'metric-months', regionalPrice('us-east-1', 'customMetricMonth'));
  }
  for (const h of r.healthChecks) {
    // Calculated and CloudWatch-alarm checks bill as AWS-endpoint checks; endpoint checks are priced as non-AWS
    // endpoints (the conservative rate: Route 53 bills the AWS rate only for resources it recognises as yours).
    const endpoint = h.type !== 'CALCULATED' && h.type !== 'CLOUDWATCH_METRIC' && h.type !== 'RECOVERY_CONTROL';
    l.add('dns', `Route 53 health check ${h.type}${h.features.length ? ` + ${h.features.join(', ')}` : ''}`, 1, 'months',
      flat((endpoint ? GLOBAL_PRICES.healthCheckOtherMonth : GLOBAL_PRICES.healthCheckAwsMonth) + h.features.length * (endpoint ? GLOBAL_PRICES.healthCheckFeatureOtherMonth : GLOBAL_PRICES.healthCheckFeatureAwsMonth)));
  }
  const standard = r.alarms.filter((x) => !x.highResolution).reduce((s, x) => s + x.metrics, 0);
  const highRes = r.alarms.filter((x) => x.highResolution).reduce((s, x) => s + x.metrics, 0);
  l.add('monitoring', `CloudWatch alarms × ${r.alarms.filter((x) => !x.highResolution).length} (${standard} metrics)`, standard, 'alarm-metric-months', regionalPrice(region, 'alarmMetricMonth'));
  l.add('monitoring', `CloudWatch high-resolution alarms × ${r.alarms.filter((x) => x.highResolution).length} (${highRes} metrics)`, highRes, 'alarm-metric-months', regionalPrice(region, 'alarmHighResMetricMonth'));
  l.add('monitoring', `CloudWatch composite alarms × ${r.compositeAlarms}`, r.compositeAlarms, 'alarm-months', regionalPrice(region, 'compositeAlarmMonth'));
  l.add('monitoring', `CloudWatch dashboards × ${r.dashboards}`, r.dashboards, 'dashboard-months', flat(GLOBAL_PRICES.dashboardMonth));
  l.add('secrets', `KMS customer managed keys × ${r.kmsKeys}`, r.kmsKeys, 'key-months', flat(GLOBAL_PRICES.kmsKeyMonth));
  l.add('secrets', `Secrets Manager secrets × ${r.secrets}`, r.secrets, 'secret-months', flat(GLOBAL_PRICES.secretMonth));
  l.add('secrets', `Secrets Manager replicas × ${r.secretReplicas}`, r.secretReplicas, 'secret-months', flat(GLOBAL_PRICES.secretMonth));
  l.add('secrets', `SSM advanced parameters × ${r.ssmAdvancedParameters}`, r.ssmAdvancedParameters, 'parameter-months', flat(GLOBAL_PRICES.ssmAdvancedParameterMonth));
}

function priceCluster(l: Lines, region: string, c: AuroraClusterInventory, a: CostAssumptions): void {
  const io = c.ioOptimized ? GLOBAL_PRICES.auroraIoOptimizedMultiplier : 1;
  const ioLabel = c.ioOptimized ? ', I/O-Optimized' : '';
  const name = c.identifier ?? c.logicalId;
  const byClass = new Map<string, number>();
  for (const i of c.instances) byClass.set(i.dbClass, (byClass.get(i.dbClass) ?? 0) + 1);
  for (const [dbClass, count] of byClass) {
    const autoscaled = c.instances.filter((i) => i.dbClass === dbClass && i.autoscaled).length;
    const note = autoscaled ? `, ${autoscaled} added by reader autoscaling's minimum` : '';
    if (dbClass === 'db.serverless') {
      const min = c.serverless?.minAcu ?? 0.5;
      const acu = regionalPrice(region, 'auroraAcuHour');
      l.add('database', `Aurora Serverless v2 × ${count} at ${min} ACU minimum (${name}${ioLabel}${note})`, count * min * hours, 'ACU-hours', { usd: acu.usd * io, source: acu.source });
      if (c.insightsAdvanced) l.add('database', `Database Insights advanced × ${count} (${name})`, count * min * hours, 'ACU-hours', flat(GLOBAL_PRICES.databaseInsightsAdvancedAcuHour));
      continue;
    }
    const price = auroraInstanceHourPrice(region, dbClass);
    if (price) l.add('database', `Aurora ${dbClass} × ${count} (${name}${ioLabel}${note})`, count * hours, 'instance-hours', { usd: price.usd * io, source: price.source });
    else l.missing(`Aurora ${dbClass}: no price in the table`, count);
    const vcpus = auroraClassVcpus(dbClass);
    if (c.insightsAdvanced && vcpus) l.add('database', `Database Insights advanced × ${count} ${dbClass} (${name})`, count * vcpus * hours, 'vCPU-hours', flat(GLOBAL_PRICES.databaseInsightsAdvancedVcpuHour));
  }
  const monitored = c.instances.filter((i) => i.monitoringIntervalSeconds > 0);
  const gb = monitored.reduce((s, i) => s + (SECONDS_PER_MONTH / i.monitoringIntervalSeconds) * a.enhancedMonitoringBytesPerSample, 0) / 1e9;
  l.add('database', `enhanced monitoring logs × ${monitored.length} instances (${name})`, gb, 'GB ingested', regionalPrice(region, 'logsIngestGb'));
}

/** The load part: what `a.requestsPerMonth` adds to the floor. */
function priceLoad(inventory: Inventory, a: CostAssumptions, context: EstimateContext): { lines: CostLine[]; figures: LoadFigures } {
  const lines: CostLine[] = [];
  const regional = inventory.regions.filter((r) => r.region !== GLOBAL_REGION);
  const serving = regional.filter((r) => r.loadBalancers.some((lb) => lb.internetFacing));
  const distributions = inventory.regions.flatMap((r) => r.distributions);
  const hit = distributions.length > 0 ? a.cacheHitRatio : 0;
  const originRequests = a.requestsPerMonth * (1 - hit);
  const share = serving.length > 0 ? 1 / serving.length : 0;
  const fleetInstances: Record<string, number> = {};
  let lcusPerLoadBalancer = 0;

  for (const r of inventory.regions) {
    const region = priceRegion(r.region);
    const l = new Lines(r.region, 'load');
    // The edge: CloudFront requests and bytes (all requests), its web ACLs.
    for (const d of r.distributions) {
      const rate = GLOBAL_PRICES.cloudFront[d.priceClass] ?? GLOBAL_PRICES.cloudFront.PriceClass_All;
      const each = a.requestsPerMonth / distributions.length;
      l.add('edge', `CloudFront HTTPS requests (${d.priceClass})`, each / 10_000, '10k requests', flat(rate.per10kHttps));
      l.add('edge', `CloudFront data transfer out (${d.priceClass})`, (each * a.bytesPerRequest) / 1e9, 'GB', flat(rate.gb));
    }
    const regionOrigin = serving.includes(r) ? originRequests * share : 0;
    for (const w of r.webAcls) {
      const inspected = w.scope === 'CLOUDFRONT' ? a.requestsPerMonth / Math.max(1, distributions.length) : regionOrigin;
      l.add('edge', `WAF requests (${w.logicalId})`, inspected / 1e6, 'million requests', flat(GLOBAL_PRICES.wafPerMillionRequests));
    }
    if (r.wafLogging > 0) {
      const inspected = r.webAcls.reduce((s, w) => s + (w.scope === 'CLOUDFRONT' ? a.requestsPerMonth / Math.max(1, distributions.length) : regionOrigin), 0);
      l.add('edge', 'WAF logs to CloudWatch Logs', (inspected * a.wafLogBytesPerRequest) / 1e9, 'GB ingested', regionalPrice(region, 'logsIngestGb'));
    }
    if (regionOrigin === 0) {
      lines.push(...l.lines);
      continue;
    }
    // Viewers download from the load balancer unless a CDN is in front (origin to CloudFront is free).
    if (distributions.length === 0) l.add('web', 'data transfer out to the internet', (regionOrigin * a.bytesPerRequest) / 1e9, 'GB', regionalPrice(region, 'dataTransferOutGb'));
    const albs = r.loadBalancers.filter((lb) => lb.type === 'application' && lb.internetFacing);
    for (const lb of albs) {
      const perLb = regionOrigin / albs.length;
      const processedGbPerHour = (perLb * a.bytesPerRequest) / 1e9 / hours;
      const newConnectionsPerSecond = (perLb * a.newConnectionsPerRequest) / SECONDS_PER_MONTH;
      const lcus = a.albLcus ?? Math.max(processedGbPerHour / 1, newConnectionsPerSecond / 25);
      lcusPerLoadBalancer = Math.max(lcusPerLoadBalancer, lcus);
      l.add('web', `ALB capacity units (${lcus.toPrecision(3)} LCU average, ${lb.logicalId})`, lcus * hours, 'LCU-hours', regionalPrice(region, 'albLcuHour'));
    }
    // Web fleets: the request-count target tracking sizes them (CPU tracking may add more; not modelled).
    const web = r.fleets.filter((f) => f.role === 'web');
    for (const f of web) {
      const perMinute = regionOrigin / web.length / (hours * 60);
      const needed = f.requestsPerInstancePerMinute ? Math.ceil(perMinute / f.requestsPerInstancePerMinute) : f.minCapacity;
      const floor = floorInstances(f);
      const instances = Math.min(f.maxCapacity, Math.max(floor, needed));
      fleetInstances[`${r.region}/${context.names?.[f.name ?? ''] ?? f.name ?? f.logicalId}`] = instances;
      if (instances > floor) priceInstances(l, region, f, instances - floor, `${fleetLabel(f, context)}, scaled out for the load`);
    }
    // Workers: enough instances to keep up with the jobs (average); queues' requests: send, receive, delete.
    const workers = r.fleets.filter((f) => f.role === 'workers');
    const jobsPerMonth = regionOrigin * a.jobsPerRequest;
    for (const f of workers) {
      const seconds = f.name ? context.queueProcessingSeconds?.[f.name] : undefined;
      if (seconds === undefined || f.name === undefined) continue;
      const busy = (jobsPerMonth / Math.max(1, workers.length) / SECONDS_PER_MONTH) * seconds;
      const floor = floorInstances(f);
      const instances = Math.min(f.maxCapacity, Math.max(floor, Math.ceil(busy)));
      fleetInstances[`${r.region}/${context.names?.[f.name] ?? f.name}`] = instances;
      if (instances > floor) priceInstances(l, region, f, instances - floor, `${fleetLabel(f, context)}, busy with the load`);
    }
    const mainQueues = r.queues.filter((q) => !/DeadLetter/i.test(q.logicalId));
    for (const q of mainQueues) {
      l.add('workers', `SQS requests (${q.logicalId}: send, receive, delete)`, (3 * jobsPerMonth / mainQueues.length) / 1e6, 'million requests', regionalPrice(region, q.fifo ? 'sqsFifoPerMillion' : 'sqsPerMillion'));
    }
    if (r.natGateways > 0) l.add('network', 'NAT gateway data processing', (regionOrigin * a.natBytesPerRequest) / 1e9, 'GB', regionalPrice(region, 'natGatewayGb'));
    const azs = Math.max(1, ...r.loadBalancers.map((lb) => lb.azs));
    if (azs > 1) l.add('network', `cross-zone traffic to the database and cache (${azs - 1}/${azs} of it, both directions)`, (2 * regionOrigin * a.backendBytesPerRequest * (azs - 1) / azs) / 1e9, 'GB', regionalPrice(region, 'interAzGb'));
    if (r.flowLogs > 0) l.add('network', 'VPC flow logs', (regionOrigin * a.flowLogBytesPerRequest) / 1e9, 'GB ingested', regionalPrice(region, 'logsIngestGb'));
    l.add('monitoring', 'application logs', (regionOrigin * a.logBytesPerRequest) / 1e9, 'GB ingested', regionalPrice(region, 'logsIngestGb'));
    priceDatabaseLoad(l, region, r, regionOrigin, originRequests, a);
    lines.push(...l.lines);
  }
  // Data storage does not depend on the region serving traffic: clusters in regions without a load balancer still store.
  for (const r of regional.filter((x) => !serving.includes(x))) {
    const l = new Lines(r.region, 'load');
    priceDatabaseLoad(l, priceRegion(r.region), r, 0, originRequests, a);
    lines.push(...l.lines);
  }
  return {
    lines,
    figures: {
      averageRequestsPerSecond: a.requestsPerMonth / SECONDS_PER_MONTH,
      originRequestsPerMonth: serving.length > 0 ? originRequests : 0,
      servingRegions: serving.map((r) => r.region),
      lcusPerLoadBalancer,
      fleetInstances,
    },
  };
}

/** Storage, I/O, replicated writes and serverless capacity above the minimum of a region's clusters. */
function priceDatabaseLoad(l: Lines, region: string, r: RegionInventory, regionOrigin: number, allOrigin: number, a: CostAssumptions): void {
  const local = r.clusters.filter((c) => !c.globalSecondary);
  for (const c of r.clusters) {
    const name = c.identifier ?? c.logicalId;
    l.add('database', `Aurora storage ${a.databaseGb} GB (${name}${c.ioOptimized ? ', I/O-Optimized' : ''})`, a.databaseGb, 'GB-months',
      regionalPrice(region, c.ioOptimized ? 'auroraIoOptimizedStorageGbMonth' : 'auroraStorageGbMonth'));
    if (!c.ioOptimized) {
      const requests = c.globalSecondary ? regionOrigin : regionOrigin / Math.max(1, local.length);
      l.add('database', `Aurora I/O (${name})`, (requests * a.databaseIoPerRequest) / 1e6, 'million I/Os', regionalPrice(region, 'auroraIoPerMillion'));
      if (c.globalSecondary) l.add('database', `Aurora replicated write I/O (${name})`, (allOrigin * a.databaseWriteIoPerRequest) / 1e6, 'million I/Os', regionalPrice(region, 'auroraIoPerMillion'));
    }
    const serverless = c.instances.filter((i) => i.dbClass === 'db.serverless').length;
    const min = c.serverless?.minAcu ?? 0.5;
    if (serverless > 0 && a.serverlessAcus !== undefined && a.serverlessAcus > min) {
      const acu = regionalPrice(region, 'auroraAcuHour');
      const io = c.ioOptimized ? GLOBAL_PRICES.auroraIoOptimizedMultiplier : 1;
      l.add('database', `Aurora Serverless v2 × ${serverless} at ${a.serverlessAcus} ACU (above the ${min} minimum, ${name})`, serverless * (a.serverlessAcus - min) * hours, 'ACU-hours', { usd: acu.usd * io, source: acu.source });
    }
  }
}
