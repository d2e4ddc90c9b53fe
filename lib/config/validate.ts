import { SERVICE_HEALTH_PATH_PATTERN, SERVICE_HEALTH_PATH_WHAT } from '../../constructs/common/health-paths';
import { pascal } from '../outputs';
import { at, Checker, type Obj } from './check';
import { cidrsOverlap, parseCidr, type Cidr } from './cidr';
import { checkEc2InstanceType } from './instance-types';
import { PRESETS } from './presets';
import { APP_STACK_BUDGET, APP_STACK_NESTED_BUDGET, APP_STACK_OUTPUTS, CLOUDFORMATION_TEMPLATE_LIMITS, DATA_STACK_OUTPUTS, DATA_STACK_RESOURCES, appStackOrder, appStackPlacement, dataStackResources, dataTiersOf, parentCost, templatesOverLimit, type DataTierShape } from './limits';
import { resolveQueues } from './sections/queues';
import { FLEET_FIELD_KEYS, resolveFleetFields } from './sections/application';
import { RESERVED_DATABASE_USERS } from '../../constructs/aurora/defaults';
import { MAX_DEREGISTRATION_DELAY_SECONDS } from '../../constructs/web-tier/limits';
import { FLEET_DEFAULTS, isInstanceMetadataTagKey } from '../../constructs/fleet/defaults';
import { DATABASE_USERS } from '../runtime/contract';
import { resolveEdge } from './sections/edge';
import { REGION_ZONES, defaultZones, isKnownRegion } from './regions';
import { resolveCache } from './sections/cache';
import { resolveDatabase } from './sections/database';
import { resolveDns } from './sections/dns';
import { resolveMonitoring } from './sections/monitoring';
import { resolveNetwork } from './sections/network';
import type { DatabaseConfig } from './sections/database';
import type { DnsConfig } from './sections/dns';
import {
  STAGES,
  type AppConfig,
  type DomainInput,
  type RegionConfig,
  type ScheduledScalingInput,
  type QueueConfig,
  type ServiceConfig,
  type Stage,
  type StepScalingInput,
  type WarmPoolInput,
} from './types';

const NAME = /^[a-z][a-z0-9-]*$/;
/** EC2 instance type: family (letters, generation digit, attributes) dot size, e.g. `m7g.large`, `c7gn.16xlarge`. */
export const INSTANCE_TYPE = /^[a-z][a-z0-9-]*[0-9][a-z0-9-]*\.(nano|micro|small|medium|large|xlarge|[0-9]+xlarge|metal(-[0-9]+xl)?)$/;
const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const ZONE_ID = /^Z[A-Z0-9]{1,31}$/;
const ROUTE_PATH = /^\/[A-Za-z0-9_\-.$/~"'@:+*?&=!,;%]*$/;
const HOST = /^[a-z0-9*?.-]+$/;
const CRON = /^(\S+\s+){4}\S+$/;

const ROOT_KEYS = ['name', 'stage', 'account', 'regions', 'primaryRegion', 'domain', 'network', 'web', 'services', 'database', 'cache', 'queues', 'edge', 'dns', 'monitoring', 'tags'] as const;
const SERVICE_KEYS = [
  'name', 'pathPatterns', 'hostPatterns', 'priority', 'instanceType', 'minCapacity', 'maxCapacity', 'targetCpuPercent',
  'targetRequestsPerInstance', 'port', 'healthCheckPath', 'deregistrationDelaySeconds', 'slowStartSeconds',
  'scheduledScaling', 'stepScaling', 'warmPool', ...FLEET_FIELD_KEYS,
] as const;

/**
 * Validates a raw config (parsed JSON or a typed `AppConfigInput`) and fills in the stage defaults.
 * Throws a `ConfigError` listing every problem as `path: what is wrong (got: value)`; nothing is created
 * before this returns.
 */
export function resolveConfig(raw: unknown, source?: string): AppConfig {
  if (typeof raw === 'object' && raw !== null && RESOLVED.has(raw)) return raw as AppConfig;
  const c = new Checker();
  const root = c.object('', raw, ROOT_KEYS, true);
  if (!root) {
    c.throwIfAny(source);
    throw new Error('unreachable');
  }
  const name = c.string('name', root.name, { required: true, pattern: NAME, what: 'lowercase letters, digits and dashes, starting with a letter' });
  if (name !== undefined && name.length > 24) c.fail('name', 'must be at most 24 characters', name);
  const stage = (c.string('stage', root.stage, { oneOf: STAGES }) ?? 'startup') as Stage;
  const preset = PRESETS[stage];
  const account = c.string('account', root.account, { pattern: /^\d{12}$/, what: 'a 12-digit AWS account id' });

  const { network, natGateways: defaultNat } = resolveNetwork(c, root.network, stage, INSTANCE_TYPE);

  const regions = resolveRegions(c, root.regions, stage, defaultNat);
  const primaryRegion = c.string('primaryRegion', root.primaryRegion) ?? regions[0]?.region;
  if (root.primaryRegion !== undefined && primaryRegion !== undefined && !regions.some((r) => r.region === primaryRegion)) {
    c.fail('primaryRegion', `must be one of the configured regions (${regions.map((r) => r.region).join(', ')})`, primaryRegion);
  }
  const domain = resolveDomain(c, root.domain);
  const rotating = regions.find((r) => r.region === primaryRegion);
  if (rotating && rotating.natGateways === 0 && !network.interfaceEndpoints.includes('secretsmanager')) {
    c.fail('network.interfaceEndpoints', `the database credentials rotate in ${rotating.region}, whose VPC has no NAT gateway: add "secretsmanager" so the rotation function reaches Secrets Manager`, network.interfaceEndpoints);
  }

  const web = c.object('web', root.web, ['deletionProtection', 'idleTimeoutSeconds']) ?? {};
  const deletionProtection = c.boolean('web.deletionProtection', web.deletionProtection) ?? preset.web.deletionProtection;
  const idleTimeoutSeconds = c.number('web.idleTimeoutSeconds', web.idleTimeoutSeconds, { integer: true, min: 1, max: 4000 }) ?? 60;

  const regionNames = regions.map((r) => r.region);
  const services = resolveServices(c, root.services, stage, regionNames);
  const cache = resolveCache(c, root.cache, stage, { name, primaryRegion, regions: regionNames });
  const queues = resolveQueues(c, root.queues, stage, INSTANCE_TYPE, regionNames);
  const monitoring = resolveMonitoring(c, root.monitoring, stage);
  const tags = resolveTags(c, root.tags);
  const database = resolveDatabase(c, root.database, stage, regions.map((r) => r.region), primaryRegion);
  const edge = resolveEdge(c, root.edge, stage, domain, root.domain, services);
  const dns = resolveDns(c, root.dns, stage, {
    regions: regions.map((r) => r.region),
    primaryRegion,
    hasDomain: domain !== undefined || root.domain !== undefined,
  });

  checkWritePaths(c, database, dns, domain !== undefined, regions.length);
  services.forEach((svc, i) => {
    // The runtime answers the shallow path first: the deep check would then never see the data tier.
    if (svc.healthCheckPath === dns.healthCheck.path) c.fail('dns.healthCheck.path', `must differ from services[${i}].healthCheckPath (${svc.name}), which answers without checking the data tier`, dns.healthCheck.path);
  });
  checkAppStackSize(c, services, queues, dataTiersOf(database));
  checkDataStackOutputs(c, queues, database?.shards.length ?? 1, (database?.globalDatabase.enabled && database.globalDatabase.writeForwarding) ?? false);
  if (database) checkDataStackResources(c, queues, database.shards.map((s) => s.readers));

  c.throwIfAny(source);
  const ordered = [...regions].sort((a, b) => (a.region === primaryRegion ? -1 : b.region === primaryRegion ? 1 : 0));
  const resolved: AppConfig = {
    name: name!,
    stage,
    ...(account ? { account } : {}),
    primaryRegion: primaryRegion!,
    regions: ordered,
    ...(domain ? { domain } : {}),
    network,
    web: { deletionProtection, idleTimeoutSeconds },
    services,
    cache,
    queues,
    monitoring,
    tags,
    database,
    edge,
    dns,
  };
  RESOLVED.add(resolved);
  return resolved;
}

/** Configs this module produced: resolving one again returns it as is. */
const RESOLVED = new WeakSet<object>();

function resolveRegions(c: Checker, raw: unknown, stage: Stage, defaultNat: number | undefined): RegionConfig[] {
  const preset = PRESETS[stage];
  const list = c.array('regions', raw, { required: true, min: 1 }) ?? [];
  const out: RegionConfig[] = [];
  const cidrs: Array<{ path: string; cidr: Cidr; text: string }> = [];
  const seen = new Map<string, string>();
  list.forEach((item, i) => {
    const p = at('regions', i);
    const o = c.object(p, item, ['region', 'availabilityZones', 'vpcCidr', 'natGateways'], true);
    if (!o) return;
    const region = c.string(at(p, 'region'), o.region, { required: true });
    if (region !== undefined && !isKnownRegion(region)) c.fail(at(p, 'region'), 'unknown AWS region', region);
    if (region !== undefined) {
      if (seen.has(region)) c.fail(at(p, 'region'), `duplicate region (also at ${seen.get(region)})`, region);
      seen.set(region, p);
    }
    const azs = resolveZones(c, p, o, region, preset.azs, preset.minAzs, stage);
    const cidrText = c.string(at(p, 'vpcCidr'), o.vpcCidr, { required: true });
    if (cidrText !== undefined) {
      const cidr = parseCidr(cidrText);
      if (!cidr) c.fail(at(p, 'vpcCidr'), 'must be an IPv4 CIDR block like 10.0.0.0/16 with no host bits set', cidrText);
      else if (cidr.prefix < 16 || cidr.prefix > 22) c.fail(at(p, 'vpcCidr'), 'prefix must be between /16 and /22', cidrText);
      else {
        for (const other of cidrs) {
          if (cidrsOverlap(cidr, other.cidr)) c.fail(at(p, 'vpcCidr'), `overlaps ${other.path}.vpcCidr (${other.text})`, cidrText);
        }
        cidrs.push({ path: p, cidr, text: cidrText });
      }
    }
    const nat = c.number(at(p, 'natGateways'), o.natGateways, { integer: true, min: 0, max: 6 }) ?? defaultNat ?? Math.min(preset.natGateways, azs.length || preset.natGateways);
    if (azs.length > 0 && nat > azs.length) c.fail(at(p, 'natGateways'), `must not exceed the number of availability zones (${azs.length})`, nat);
    // Every region runs the services' fleets (at least one service), each with a database user: at every launch a
    // fleet instance downloads AWS's RDS certificate bundle from the internet and abandons the launch without it.
    if (nat === 0) {
      c.fail(o.natGateways !== undefined ? at(p, 'natGateways') : 'network.natGateways', `must be at least 1${region ? ` (${region})` : ''}: the fleets in the private subnets download the RDS certificate bundle (${FLEET_DEFAULTS.rdsCaBundleUrl}) at every launch and abandon the launch without it, and only a NAT gateway or instance reaches the internet`, nat);
    }
    if (region !== undefined && cidrText !== undefined) out.push({ region, availabilityZones: azs, vpcCidr: cidrText, natGateways: nat });
  });
  return out;
}

function resolveZones(c: Checker, p: string, o: Obj, region: string | undefined, want: number, min: number, stage: Stage): string[] {
  const zp = at(p, 'availabilityZones');
  if (o.availabilityZones === undefined) {
    if (region === undefined || !isKnownRegion(region)) return [];
    const zones = defaultZones(region, want);
    if (zones.length < min) c.fail(at(p, 'region'), `has ${zones.length} availability zones (${zones.join(', ')}); the ${stage} stage needs ${min}: pick another region or a smaller stage`, region);
    return zones;
  }
  const list = c.array(zp, o.availabilityZones, { min: 1, max: 6 });
  if (!list) return [];
  const zones: string[] = [];
  const before = c.issues.length;
  list.forEach((z, j) => {
    const s = c.string(at(zp, j), z, { required: true, pattern: /^[a-z]{2}(-[a-z]+)+-\d[a-z]$/, what: 'an availability zone name like eu-west-1a' });
    if (s === undefined) return;
    if (region !== undefined && (!s.startsWith(region) || s.length !== region.length + 1)) c.fail(at(zp, j), `is not an availability zone of ${region}`, s);
    else if (region !== undefined && isKnownRegion(region) && !REGION_ZONES[region].includes(s.slice(-1))) {
      c.fail(at(zp, j), `does not exist: the zones of ${region} are ${defaultZones(region, 6).join(', ')}`, s);
    } else if (zones.includes(s)) c.fail(at(zp, j), 'duplicate availability zone', s);
    else zones.push(s);
  });
  if (c.issues.length === before && zones.length < min) c.fail(zp, `the ${stage} stage needs at least ${min} availability zones`, list);
  return zones;
}

function resolveDomain(c: Checker, raw: unknown): DomainInput | undefined {
  const o = c.object('domain', raw, ['name', 'hostedZoneId', 'hostedZoneName']);
  if (!o) return undefined;
  const name = c.string('domain.name', o.name, { required: true, pattern: DOMAIN, what: 'a lowercase DNS name like shop.example.com' });
  const hostedZoneId = c.string('domain.hostedZoneId', o.hostedZoneId, { required: true, pattern: ZONE_ID, what: 'a Route 53 hosted zone id like Z0123456789ABCDEFGHIJ' });
  const zoneText = c.string('domain.hostedZoneName', o.hostedZoneName, { required: true });
  const hostedZoneName = zoneText?.replace(/\.$/, '');
  if (hostedZoneName !== undefined && !DOMAIN.test(hostedZoneName)) c.fail('domain.hostedZoneName', 'must be a lowercase DNS name like example.com', zoneText);
  if (name !== undefined && hostedZoneName !== undefined && name !== hostedZoneName && !name.endsWith(`.${hostedZoneName}`)) {
    c.fail('domain.name', `must be inside the hosted zone ${hostedZoneName}`, name);
  }
  if (name === undefined || hostedZoneId === undefined || hostedZoneName === undefined) return undefined;
  return { name, hostedZoneId, hostedZoneName };
}

/**
 * Every web service's and queue's fleet lives in each region's app stack while they fit; the rest go into nested
 * stacks of it (`appStackPlacement`). Refuse, naming `services` (or `queues` when they are what does not fit),
 * a config that cannot fit even so: past the app stack's 200 outputs (which bound services to 64, before the load
 * balancer's 100 rules and 100 target groups do), or an app stack over its budget with its share of the nested
 * services. Instead of a stack trace at synth or a failed deploy.
 */
function checkAppStackSize(c: Checker, services: ServiceConfig[], queues: QueueConfig[], tiers: DataTierShape): void {
  const o = APP_STACK_OUTPUTS;
  const outputs = o.base + services.length * o.perService + queues.length * o.perQueue;
  if (outputs > o.max) {
    const most = Math.floor((o.max - o.base - queues.length * o.perQueue) / o.perService);
    const path = most >= 1 ? 'services' : 'queues';
    c.fail(path, `${services.length} services and ${queues.length} queues put ${outputs} outputs in each region's app stack (${o.perService} per service, ${o.perQueue} per queue, which the s2m CLI reads); `
      + `CloudFormation allows ${o.max}: with these queues at most ${Math.max(0, most)} services fit. Merge services that can share a fleet (path and host patterns route to one service), or split the product into two configs`,
    path === 'services' ? services.length : queues.length);
    return;
  }
  const p = appStackPlacement(services, queues);
  const cost = parentCost(appStackOrder(services).slice(0, p.inAppStack), services.length - p.inAppStack, queues.slice(0, p.queuesInAppStack), queues.length - p.queuesInAppStack);
  const budget = p.nestedStacks.length + p.queueStacks.length > 0 ? APP_STACK_NESTED_BUDGET : APP_STACK_BUDGET;
  const over = cost.resources > budget.resources ? `about ${cost.resources} resources (CloudFormation allows 500 per template)`
    : cost.bytes > budget.bytes ? `about ${Math.round(cost.bytes / 1000)} KB of template (CloudFormation allows 1 MB)` : undefined;
  if (!over) {
    checkDataTierCost(c, services, queues, tiers);
    return;
  }
  // Every service and queue can be nested, and each still costs the app stack its outputs, graphs and (services) DNS
  // drain health check: a queue costs it more, so queues are named when there are any.
  const path = queues.length > 0 ? 'queues' : 'services';
  c.fail(path, `${services.length} services and ${queues.length} queues put ${over} in each region's app stack, even with the services and queues that do not fit in nested stacks `
    + '(each still costs the app stack its outputs, its dashboard rows and, for a service, its DNS drain health check); '
    + 'merge queues that can share a worker fleet, or split the product into two configs', path === 'queues' ? queues.length : services.length);
}

/**
 * The layout (which services and queues are nested) never changes with the database's shards or the fleets' `egress`,
 * so that adding a shard or restricting a fleet's outbound traffic moves no fleet between stacks (which would replace
 * it). Refuse, naming `database.shards` (or the services when unsharded), a config whose shards and rules put one of
 * the region's app-stack templates past CloudFormation's limits, instead of a `TooManyResourcesInStack` at synth.
 */
function checkDataTierCost(c: Checker, services: ServiceConfig[], queues: QueueConfig[], tiers: DataTierShape): void {
  const over = templatesOverLimit(services, queues, tiers);
  if (over.length === 0) return;
  const lim = CLOUDFORMATION_TEMPLATE_LIMITS;
  const which = over.map((t) => `${t.template}: about ${t.resources} resources, CloudFormation allows ${lim.resources}`).join('; ');
  // Only shards add resources to the measured costs (egress "https" writes its rules into the fleets' groups).
  c.fail('database.shards', `${tiers.shards} database shards, ${services.length} services and ${queues.length} queues put more resources in a region's app stack than CloudFormation takes (${which}): `
    + `each shard past the first adds its alarms to the app stack and ${tiers.proxy ? 'two ingress rules' : 'an ingress rule'} and its grants to every fleet. `
    + 'Which services are nested is decided as for one shard, so that adding a shard never moves a fleet (with more services than fit unsharded, the app stack keeps its first few and nests the rest): '
    + 'use fewer shards or fewer services (path and host patterns route several to one fleet), or split the product into two configs',
  tiers.shards);
}

/**
 * Each shard puts about 55 resources (its clusters, instances, proxy, secret, rotation, parameters, scaling) in each
 * region's data stack, which CloudFormation caps at 500: refuse, naming `database.shards`, a config whose data stack
 * would pass it (instead of `TooManyResourcesInStack` at synth).
 */
function checkDataStackResources(c: Checker, queues: QueueConfig[], shardReaders: number[]): void {
  const d = DATA_STACK_RESOURCES;
  const estimate = dataStackResources(shardReaders, queues.length);
  if (estimate <= d.max) return;
  c.fail('database.shards', `${shardReaders.length} database shards (${shardReaders.reduce((a, b) => a + b, 0)} readers) and ${queues.length} queues put about ${estimate} resources in the writer region's data stack (about ${d.perShard} per shard, one per reader, ${d.perQueue} per queue); `
    + `CloudFormation allows ${d.max}: use fewer shards (larger instance classes hold more per shard), or split the product into two configs`, shardReaders.length);
}

/**
 * Each queue adds about ten outputs to each region's data stack (names, and exports to the app stack): refuse, naming
 * `queues`, a config whose data stack would pass CloudFormation's 200 outputs, which fails only at deploy.
 */
function checkDataStackOutputs(c: Checker, queues: QueueConfig[], shards: number, forwarding: boolean): void {
  const o = DATA_STACK_OUTPUTS;
  const perShard = forwarding ? o.perForwardingShard : o.perShard;
  const outputs = o.base + shards * perShard + queues.length * o.perQueue;
  if (outputs <= o.max) return;
  const most = Math.floor((o.max - o.base - shards * perShard) / o.perQueue);
  c.fail('queues', `${queues.length} queues${shards > 1 ? ` and ${shards} database shards` : ''} put about ${outputs} outputs in each region's data stack (${o.perQueue} per queue: its names and what the app stack imports); `
    + `CloudFormation allows ${o.max}: at most ${most} queues fit. Merge queues that can share a worker fleet (a job type field routes within one queue), or split the product into two configs`, queues.length);
}

function resolveServices(c: Checker, raw: unknown, stage: Stage, regions: string[]): ServiceConfig[] {
  const preset = PRESETS[stage].web;
  const list = c.array('services', raw, { min: 1 }) ?? (raw === undefined ? [{ name: 'web' }] : []);
  const out: ServiceConfig[] = [];
  const names = new Map<string, string>();
  const keys = new Map<string, { name: string; path: string }>();
  const priorities = new Map<number, string>();
  const routes = new Map<string, string>();
  let defaults = 0;
  list.forEach((item, i) => {
    const p = at('services', i);
    const o = c.object(p, item, SERVICE_KEYS, true);
    if (!o) return;
    const name = c.string(at(p, 'name'), o.name, { required: true, pattern: NAME, what: 'lowercase letters, digits and dashes, starting with a letter' });
    if (name !== undefined) {
      if (name.length > 20) c.fail(at(p, 'name'), 'must be at most 20 characters', name);
      if (names.has(name)) c.fail(at(p, 'name'), `duplicate service name (also at ${names.get(name)})`, name);
      names.set(name, p);
      // Output keys and construct ids use the PascalCase form (`api-1` and `api1` are both `Api1`).
      const key = pascal(name);
      if (keys.has(key) && keys.get(key)!.name !== name) c.fail(at(p, 'name'), `collides with "${keys.get(key)!.name}" (also at ${keys.get(key)!.path}): both become ${key} in output keys`, name);
      keys.set(key, { name, path: p });
      if (RESERVED_DATABASE_USERS.includes(DATABASE_USERS.service(name))) c.fail(at(p, 'name'), 'is reserved: it names the service\'s database user', name);
    }
    const pathPatterns = stringList(c, at(p, 'pathPatterns'), o.pathPatterns, ROUTE_PATH, 'a path pattern starting with /');
    const hostPatterns = stringList(c, at(p, 'hostPatterns'), o.hostPatterns, HOST, 'a host pattern like api.example.com');
    if (pathPatterns.length + hostPatterns.length > 5) c.fail(p, 'at most 5 path and host patterns per service (an ALB rule limit)', pathPatterns.length + hostPatterns.length);
    // Decided on what was written, so a service whose patterns are all malformed is not also counted as a default.
    const isDefault = o.pathPatterns === undefined && o.hostPatterns === undefined;
    if (isDefault) defaults++;
    for (const pattern of [...pathPatterns.map((x) => `path ${x}`), ...hostPatterns.map((x) => `host ${x}`)]) {
      if (routes.has(pattern)) c.fail(p, `duplicate route ${pattern} (also at ${routes.get(pattern)})`, pattern);
      routes.set(pattern, p);
    }
    const priority = c.number(at(p, 'priority'), o.priority, { integer: true, min: 1, max: 50000 }) ?? (i + 1) * 10;
    if (!isDefault) {
      if (priorities.has(priority)) c.fail(at(p, 'priority'), `duplicate listener rule priority (also at ${priorities.get(priority)})`, priority);
      priorities.set(priority, p);
    }
    const writtenType = c.string(at(p, 'instanceType'), o.instanceType, { pattern: INSTANCE_TYPE, what: 'an EC2 instance type like m7g.large' });
    if (writtenType !== undefined) checkEc2InstanceType(c, at(p, 'instanceType'), writtenType);
    const instanceType = writtenType ?? preset.instanceType;
    const minCapacity = c.number(at(p, 'minCapacity'), o.minCapacity, { integer: true, min: 1, max: 1000 }) ?? preset.minCapacity;
    const maxCapacity = c.number(at(p, 'maxCapacity'), o.maxCapacity, { integer: true, min: 1, max: 1000 }) ?? Math.max(preset.maxCapacity, minCapacity);
    if (minCapacity > maxCapacity) c.fail(at(p, 'minCapacity'), `must not exceed maxCapacity (${maxCapacity})`, minCapacity);
    const targetCpuPercent = c.number(at(p, 'targetCpuPercent'), o.targetCpuPercent, { min: 10, max: 90 }) ?? 50;
    const targetRequestsPerInstance = c.number(at(p, 'targetRequestsPerInstance'), o.targetRequestsPerInstance, { integer: true, min: 1 }) ?? 1000;
    const port = c.number(at(p, 'port'), o.port, { integer: true, min: 1, max: 65535 }) ?? 8080;
    // The load balancer's health check path characters, less the quotes: the path goes into the instances' settings
    // and environment files, which a quote would end early.
    const healthCheckPath = c.string(at(p, 'healthCheckPath'), o.healthCheckPath, { pattern: SERVICE_HEALTH_PATH_PATTERN, what: SERVICE_HEALTH_PATH_WHAT }) ?? '/health';
    const deregistrationDelaySeconds = c.number(at(p, 'deregistrationDelaySeconds'), o.deregistrationDelaySeconds, { integer: true, min: 0, max: MAX_DEREGISTRATION_DELAY_SECONDS }) ?? 30;
    const slowStartSeconds = c.number(at(p, 'slowStartSeconds'), o.slowStartSeconds, { integer: true, min: 0, max: 900 }) ?? 0;
    if (slowStartSeconds > 0 && slowStartSeconds < 30) c.fail(at(p, 'slowStartSeconds'), 'must be 0 (off) or between 30 and 900', slowStartSeconds);
    const scheduledScaling = resolveSchedules(c, at(p, 'scheduledScaling'), o.scheduledScaling, { minCapacity, maxCapacity });
    const stepScaling = resolveStep(c, at(p, 'stepScaling'), o.stepScaling);
    const warmPool = resolveWarmPool(c, at(p, 'warmPool'), o.warmPool, maxCapacity);
    const fleet = resolveFleetFields(c, p, o, { role: 'web', regions, instanceType, instanceTypePattern: INSTANCE_TYPE, warmPool: o.warmPool !== undefined });
    if (name === undefined) return;
    out.push({
      name, isDefault, pathPatterns, hostPatterns, priority, instanceType, minCapacity, maxCapacity, targetCpuPercent,
      targetRequestsPerInstance, port, healthCheckPath, deregistrationDelaySeconds, slowStartSeconds, scheduledScaling,
      ...(stepScaling ? { stepScaling } : {}), ...(warmPool ? { warmPool } : {}), ...fleet,
    });
  });
  if (list.length > 0 && defaults !== 1) {
    c.fail('services', `exactly one service must have no pathPatterns and no hostPatterns (the default service); found ${defaults}`, out.filter((s) => s.isDefault).map((s) => s.name));
  }
  return out;
}

function stringList(c: Checker, path: string, raw: unknown, pattern: RegExp, what: string): string[] {
  const list = c.array(path, raw, { min: 1 });
  if (!list) return [];
  const out: string[] = [];
  list.forEach((v, i) => {
    const s = c.string(at(path, i), v, { required: true, pattern, what });
    if (s !== undefined) out.push(s);
  });
  return out;
}

/** Scheduled actions of a service whose own bounds are `fleet`: a schedule that sets only one bound must fit the other. */
function resolveSchedules(c: Checker, path: string, raw: unknown, fleet: { minCapacity: number; maxCapacity: number }): ScheduledScalingInput[] {
  const list = c.array(path, raw) ?? [];
  const out: ScheduledScalingInput[] = [];
  const names = new Set<string>();
  list.forEach((v, i) => {
    const p = at(path, i);
    const o = c.object(p, v, ['name', 'schedule', 'minCapacity', 'maxCapacity'], true);
    if (!o) return;
    const name = c.string(at(p, 'name'), o.name, { required: true, pattern: /^[A-Za-z0-9-]+$/, what: 'letters, digits and dashes' });
    if (name !== undefined && names.has(name)) c.fail(at(p, 'name'), 'duplicate schedule name', name);
    if (name !== undefined) names.add(name);
    const schedule = c.string(at(p, 'schedule'), o.schedule, { required: true, pattern: CRON, what: 'a five-field cron expression like "0 8 * * MON-FRI"' });
    const minCapacity = c.number(at(p, 'minCapacity'), o.minCapacity, { integer: true, min: 0, max: 1000 });
    const maxCapacity = c.number(at(p, 'maxCapacity'), o.maxCapacity, { integer: true, min: 1, max: 1000 });
    if (minCapacity === undefined && maxCapacity === undefined) c.fail(p, 'must set minCapacity or maxCapacity', o);
    if (minCapacity !== undefined && maxCapacity !== undefined && minCapacity > maxCapacity) c.fail(at(p, 'minCapacity'), `must not exceed maxCapacity (${maxCapacity})`, minCapacity);
    // Auto Scaling rejects the action when it runs (min above max), which is far too late to find out.
    if (minCapacity !== undefined && maxCapacity === undefined && minCapacity > fleet.maxCapacity) {
      c.fail(at(p, 'minCapacity'), `must not exceed the service's maxCapacity (${fleet.maxCapacity}): the action would fail when it runs; set this schedule's maxCapacity too, or raise the service's`, minCapacity);
    }
    if (maxCapacity !== undefined && minCapacity === undefined && maxCapacity < fleet.minCapacity) {
      c.fail(at(p, 'maxCapacity'), `must not be below the service's minCapacity (${fleet.minCapacity}): the action would fail when it runs; set this schedule's minCapacity too, or lower the service's`, maxCapacity);
    }
    if (name && schedule) out.push({ name, schedule, ...(minCapacity !== undefined ? { minCapacity } : {}), ...(maxCapacity !== undefined ? { maxCapacity } : {}) });
  });
  return out;
}

function resolveStep(c: Checker, path: string, raw: unknown): StepScalingInput | undefined {
  const o = c.object(path, raw, ['cpuAbove', 'addInstances']);
  if (!o) return undefined;
  const cpuAbove = c.number(at(path, 'cpuAbove'), o.cpuAbove, { required: true, min: 1, max: 100 });
  const addInstances = c.number(at(path, 'addInstances'), o.addInstances, { required: true, integer: true, min: 1 });
  return cpuAbove !== undefined && addInstances !== undefined ? { cpuAbove, addInstances } : undefined;
}

function resolveWarmPool(c: Checker, path: string, raw: unknown, maxCapacity: number): WarmPoolInput | undefined {
  const o = c.object(path, raw, ['minSize', 'reuseOnScaleIn']);
  if (!o) return undefined;
  const minSize = c.number(at(path, 'minSize'), o.minSize, { integer: true, min: 0 }) ?? 0;
  if (minSize > maxCapacity) c.fail(at(path, 'minSize'), `must not exceed the service's maxCapacity (${maxCapacity})`, minSize);
  const reuseOnScaleIn = c.boolean(at(path, 'reuseOnScaleIn'), o.reuseOnScaleIn) ?? false;
  return { minSize, reuseOnScaleIn };
}

/** Tags the reference app puts on every resource itself. */
const APP_TAG_KEYS = ['app', 'stage', 'tier'];
/** The prefix of the tags the constructs set themselves (`s2m:fleet`, `s2m:app-version`). */
const APP_TAG_PREFIX = 's2m:';
/** AWS's tag character set: letters, digits, spaces and `_ . : / = + - @`. */
const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/**
 * A resource holds 50 user tags; the app adds its own 3, and the VPC's subnets 3 more (`Name`,
 * `aws-cdk:subnet-name`, `aws-cdk:subnet-type`).
 */
const MAX_TAGS = 44;

function resolveTags(c: Checker, raw: unknown): Record<string, string> {
  const tags = c.stringMap('tags', raw) ?? {};
  const keys = Object.keys(tags);
  if (keys.length > MAX_TAGS) c.fail('tags', `must have at most ${MAX_TAGS} tags (AWS allows 50 per resource; the app and the VPC's subnets add up to 6)`, keys.length);
  for (const [key, value] of Object.entries(tags)) {
    const p = at('tags', key);
    if (/^aws:/i.test(key)) c.fail(p, 'uses the prefix "aws:", which AWS reserves for its own tags', key);
    else if (APP_TAG_KEYS.includes(key)) c.fail(p, `is a tag the app sets on every resource itself (${APP_TAG_KEYS.join(', ')}); pick another key`, key);
    else if (key.toLowerCase().startsWith(APP_TAG_PREFIX)) c.fail(p, `uses the prefix "${APP_TAG_PREFIX}", which the constructs use for their own tags (s2m:fleet, s2m:app-version)`, key);
    else if (key.length < 1 || key.length > 128) c.fail(p, 'a tag key must be 1 to 128 characters', key);
    else if (!TAG_TEXT.test(key)) c.fail(p, 'a tag key may hold letters, digits, spaces and _ . : / = + - @ only', key);
    else if (!isInstanceMetadataTagKey(key)) {
      // The config's tags reach the fleets' instances, which have tags in their metadata.
      c.fail(p, 'a tag key reaches the fleets\' instances, which have tags in their metadata: EC2 then allows only ASCII letters, digits and + - = . _ : @ (no spaces, no /, not ".", ".." or "_index"), and refuses to launch otherwise', key);
    }
    if (value.length > 256) c.fail(p, 'a tag value must be at most 256 characters', value);
    else if (!TAG_TEXT.test(value)) c.fail(p, 'a tag value may hold letters, digits, spaces and _ . : / = + - @ only', value);
  }
  return tags;
}

/**
 * Every region users are sent to must be able to write. With a global database that means write forwarding on the
 * secondaries, or an active-passive DNS (failover routing) whose active region holds the writer.
 */
function checkWritePaths(c: Checker, database: DatabaseConfig, dns: DnsConfig, hasDomain: boolean, regionCount: number): void {
  const g = database.globalDatabase;
  if (!g.enabled || regionCount < 2) return;
  if (!g.writeForwarding) {
    if (!hasDomain || dns.routing !== 'failover') {
      c.fail('database.globalDatabase.writeForwarding', `secondary regions are read-only, yet ${hasDomain ? `dns.routing "${dns.routing}" sends users to them` : 'without a domain users reach every region\'s load balancer'}: turn write forwarding on, or choose an active-passive setup (a domain with dns.routing "failover")`, g.writeForwarding);
    } else if (dns.failover && dns.failover.primary !== g.writerRegion) {
      c.fail('dns.failover.primary', `must be the region holding the database writer (${g.writerRegion}) when secondaries do not forward writes: the active region must be able to write`, dns.failover.primary);
    }
  }
}
