import type { AppConfig, FleetEgress, QueueConfig, ServiceConfig } from './types';

/**
 * What each part of a config costs in a region's app stack (`<name>-app-<region>`), measured on the synthesized
 * templates (test/lib/config/limits.test.ts builds configs at these limits and fails if they no longer fit).
 * CloudFormation refuses a template over 500 resources or 1,000,000 bytes; the app stack holds every web service's
 * and every queue's fleet while they fit, and the rest go into nested stacks ({@link NESTED_SERVICES_COST}).
 *
 * A layout contract as much as an estimate: {@link appStackPlacement} decides with it which stack each fleet is in,
 * so a changed value moves fleets of deployed apps between stacks (replacing them). A template that grows is paid for
 * within the budgets' margins, or by making it smaller; the limits test fails when either would not hold.
 */
export const APP_STACK_COST = {
  /**
   * The stack without any service or queue: load balancer, listeners, DNS, WAF, monitoring. 44 resources since the
   * region writes its endpoint health check's id for the edge stack's alarm (one more: 43 before, and the budgets
   * below one more each, so that no config's placement moved). That counts on the stack's `AwsCustomResource`
   * function being there for a fleet's image lookup: in a stack whose every fleet brings its own image, the write
   * adds the function, its role, policy and log group too (4 more, within the budgets' margin of 24).
   */
  base: { resources: 44, bytes: 55_500 },
  /** One web service: fleet (role, policies, security group and its rules, launch template, group, scaling), target group, rule, rollback and monitoring alarms, dashboard widgets. */
  service: { resources: 26, bytes: 47_000 },
  /** One queue's worker fleet (with the policy that lets it read its lifecycle state), its scaling and alarms. */
  queue: { resources: 21, bytes: 43_000 },
  /**
   * Each service with each queue past the first: every web fleet may send to every queue, so its role's policy (split
   * into overflow policies as it grows) lists each queue and its key (10 services, 1 then 6 queues: 561 then 834 KB).
   */
  serviceQueue: { resources: 0.2, bytes: 1_400 },
  /** One scheduled scaling action. */
  schedule: { resources: 1, bytes: 1_000 },
  /** Step scaling on CPU: two policies and their alarms. */
  stepScaling: { resources: 4, bytes: 5_000 },
  /** A warm pool. */
  warmPool: { resources: 1, bytes: 500 },
} as const;

/**
 * The data tiers the costs above were measured with (config/millions.json): one database cluster with an RDS Proxy,
 * and the cache. Each fleet holds an ingress rule on each of their three security groups (a "remote" rule, in the
 * fleet's stack).
 */
export const MEASURED_DATA_TIERS: DataTierShape = { shards: 1, proxy: true };

/** What a region's data tiers look like to the app stack's cost: how many database shards, and whether each has a proxy. */
export interface DataTierShape {
  /** Database shards (1 when unsharded), every one granted to every fleet, in the shard map or not. */
  readonly shards: number;
  /** Whether each shard has an RDS Proxy (`database.proxy.enabled`). */
  readonly proxy: boolean;
}

/**
 * What the data tiers add to a fleet and to the region's app stack past {@link MEASURED_DATA_TIERS}, measured on
 * config/sharded.json with 1, 2, 3 and 5 shards, 6 to 30 services, `egress` `all` and `https`. They never decide the
 * layout ({@link appStackPlacement} places by the measured tiers, so that adding a shard or changing `egress` moves no
 * fleet between stacks); {@link templatesOverLimit} checks with them that the layout still fits.
 */
export const DATA_TIER_COST = {
  /** The ingress rules on the data tiers' security groups that the service and queue costs include (three per fleet). */
  includedRules: 3,
  /** Each further ingress rule of a fleet (a shard's cluster and proxy), in the fleet's stack (550 bytes measured in the app stack). */
  rule: { resources: 1, bytes: 650 },
  /** The same in a nested stack, whose references to the data stack are imports with long names. */
  nestedRule: { resources: 1, bytes: 1_000 },
  /**
   * `egress: "https"`: three rules written into the fleet's own group (HTTPS anywhere, the database's and the cache's
   * ports to the VPC's range, read from the network stack), no resource of their own.
   */
  httpsEgress: { resources: 0, bytes: 1_000 },
  /**
   * A fleet of a sharded app: its role's policy lists each shard's parameters, secret and `rds-db:connect`, which
   * outgrows an inline policy into a managed one (one resource), and about 4.2 KB per shard past the first.
   */
  shardedFleet: { resources: 1, bytes: 0 },
  /** Per fleet and shard past the first, in the app stack. */
  fleetPerShard: { resources: 0, bytes: 4_800 },
  /** Per fleet and shard past the first, in a nested stack. */
  nestedFleetPerShard: { resources: 0, bytes: 7_500 },
  /** Each shard past the first, once in the app stack: its alarms, its composite alarm and its dashboard graphs (12-15 resources measured). */
  shard: { resources: 16, bytes: 15_000 },
  /** Each shard past the first, once in each nested stack (1-2 resources measured). */
  nestedStackShard: { resources: 2, bytes: 3_000 },
} as const;

/** What a fleet's data-tier rules and shard grants add to its cost (nothing at {@link MEASURED_DATA_TIERS} with all outbound). */
export function fleetDataTierCost(egress: FleetEgress | undefined, tiers: DataTierShape, nested = false): { resources: number; bytes: number } {
  const d = DATA_TIER_COST;
  const extra = Math.max(0, tiers.shards * (tiers.proxy ? 2 : 1) + 1 - d.includedRules);
  const rule = nested ? d.nestedRule : d.rule;
  const perShard = nested ? d.nestedFleetPerShard : d.fleetPerShard;
  const sharded = tiers.shards > 1;
  const https = egress === 'https';
  return {
    resources: extra * rule.resources + (sharded ? d.shardedFleet.resources : 0) + (tiers.shards - 1) * perShard.resources + (https ? d.httpsEgress.resources : 0),
    bytes: extra * rule.bytes + (sharded ? d.shardedFleet.bytes : 0) + (tiers.shards - 1) * perShard.bytes + (https ? d.httpsEgress.bytes : 0),
  };
}

/** {@link fleetDataTierCost} summed over fleets of these `egress` values. */
function fleetsDataTierCost(egresses: readonly (FleetEgress | undefined)[], tiers: DataTierShape, nested = false): { resources: number; bytes: number } {
  let resources = 0;
  let bytes = 0;
  for (const egress of egresses) {
    const d = fleetDataTierCost(egress, tiers, nested);
    resources += d.resources;
    bytes += d.bytes;
  }
  return { resources, bytes };
}

/**
 * The data stack's outputs (CloudFormation allows 200): a few of its own, about 17 per database shard (one when
 * unsharded; one more with write forwarding, its `forwarding-pool-max`) and 10 per queue (its names, and the exports
 * the app stack's fleets import). Measured: 41 with one shard and one queue (write forwarding), 91 with six queues, 77
 * with three shards and one queue (write forwarding).
 */
export const DATA_STACK_OUTPUTS = { max: 200, base: 15, perShard: 17, perForwardingShard: 18, perQueue: 10 } as const;

/**
 * The resources of a region's data stack (CloudFormation allows 500): measured on config/sharded.json's writer region
 * (Global Database, proxy, reader autoscaling, rotation; the other regions hold fewer) with 1, 2, 3, 5, 8 and 9 shards,
 * 1 to 4 readers and 1 or 4 queues: 105 resources with one shard of two readers and one queue, 218 with three shards,
 * 498 with eight, 506 with eight of three readers, 554 with nine, 224 with three shards of four readers, 242 with three
 * shards and four queues. Each shard costs `perShard` plus one instance per reader (its writer counted in `perShard`).
 * These fit every measurement exactly but the first (one over), so the check refuses at the limit itself: a config
 * without a proxy or reader autoscaling costs less and may be refused at eight shards although it would fit.
 */
export const DATA_STACK_RESOURCES = { max: 500, base: 42, perShard: 54, perReader: 1, perQueue: 8 } as const;

/** The estimated resources of a region's data stack with these shards' readers and this many queues. */
export function dataStackResources(shardReaders: readonly number[], queues: number): number {
  const d = DATA_STACK_RESOURCES;
  return d.base + shardReaders.reduce((sum, readers) => sum + d.perShard + readers * d.perReader, 0) + queues * d.perQueue;
}

/**
 * CloudFormation's outputs per template, and the app stack's: a few of its own, then per service and per queue (the
 * s2m CLI reads them). They bound a region to 64 services, before Elastic Load Balancing's 100 listener rules and 100
 * target groups per load balancer do.
 */
export const APP_STACK_OUTPUTS = { max: 200, base: 6, perService: 3, perQueue: 2 } as const;

/** CloudFormation's limits per template, less a margin for what the estimate does not count. */
export const APP_STACK_BUDGET = { resources: 476, bytes: 950_000 } as const;

/**
 * The estimated resources and bytes (templates are written without indentation) of a region's app stack holding
 * these services and queues; `allQueues` is the region's number of queues (each service's policy lists them all).
 */
export function appStackCost(services: readonly ServiceCostInput[], queues: readonly QueueCostInput[], allQueues = queues.length, tiers: DataTierShape = MEASURED_DATA_TIERS): { resources: number; bytes: number } {
  const c = APP_STACK_COST;
  const pairs = services.length * Math.max(0, allQueues - 1);
  const d = fleetsDataTierCost([...queues.map((q) => q.workers?.egress), ...services.map((s) => s.egress)], tiers);
  let resources = c.base.resources + (tiers.shards - 1) * DATA_TIER_COST.shard.resources + queues.length * c.queue.resources + Math.ceil(pairs * c.serviceQueue.resources) + d.resources;
  let bytes = c.base.bytes + (tiers.shards - 1) * DATA_TIER_COST.shard.bytes + queues.length * c.queue.bytes + pairs * c.serviceQueue.bytes + d.bytes;
  for (const s of services) {
    resources += c.service.resources + s.scheduledScaling.length * c.schedule.resources + (s.stepScaling ? c.stepScaling.resources : 0) + (s.warmPool ? c.warmPool.resources : 0);
    bytes += c.service.bytes + s.scheduledScaling.length * c.schedule.bytes + (s.stepScaling ? c.stepScaling.bytes : 0) + (s.warmPool ? c.warmPool.bytes : 0);
  }
  return { resources, bytes };
}

/**
 * What the web services that do not fit in the app stack cost, each group in a nested stack of the app stack
 * (`Services2`, `Services3`, …), measured on test/fixtures/fifty-services.json (one region, 50 services: 10 in the
 * app stack, then nested stacks of 10 holding 257 resources and 667 KB each; the app stack 292 resources, 706 KB).
 */
export const NESTED_SERVICES_COST = {
  /** A nested stack without services: its composite alarm and the AMI look-up (a custom resource per stack). */
  nestedBase: { resources: 3, bytes: 10_000 },
  /**
   * One web service in a nested stack: as in the app stack, but every reference to the app stack is a parameter
   * and every one to the network and data stacks an import, with long names (`cdk synth` writes 705 KB for ten
   * services, with each resource's construct path in its metadata).
   */
  nestedService: { resources: 26, bytes: 73_000 },
  /** Each nested service with each queue past the first (its policy lists every queue, imported by long names). */
  nestedServiceQueue: { resources: 0.2, bytes: 2_600 },
  /** A nested stack in the app stack: the `AWS::CloudFormation::Stack` resource and the parameters it passes. */
  inAppStack: { resources: 1, bytes: 4_000 },
  /**
   * A nested service in the app stack: the DNS drain health check on its no-healthy-host alarm, its three
   * outputs (read from the nested stack's outputs) and its graphs on the region's dashboard.
   */
  serviceInAppStack: { resources: 1, bytes: 7_000 },
} as const;

/**
 * What each queue that does not fit in the app stack costs, in a nested stack of queues (`Queues2`, …), measured
 * like {@link NESTED_SERVICES_COST}.
 */
export const NESTED_QUEUES_COST = {
  /** One queue's worker fleet, scaling and alarms in a nested stack (references to the other stacks are longer). */
  nestedQueue: { resources: 21, bytes: 61_000 },
  /** A nested queue in the app stack: its two outputs and its row on the region's dashboard. */
  queueInAppStack: { resources: 0, bytes: 8_000 },
} as const;

/**
 * The most services per nested stack. Its composite alarm references each service's three Critical alarms, and
 * CloudWatch limits a composite alarm's rule to 10,240 characters: an alarm ARN is at most about 300 characters
 * (a generated alarm name in a nested stack carries both stacks' names), so about 32 alarms fit, 10 services.
 */
export const SERVICES_PER_NESTED_STACK = 10;

/** The most queues per nested stack: three Critical alarms each (oldest message, dead letters, workers), as services. */
export const QUEUES_PER_NESTED_STACK = 10;

/**
 * The most web services a region's app stack is laid out for once it holds nested stacks: the app stack keeps as
 * many services as fit with the app-stack share of this many, so adding services up to it moves none.
 */
export const MAX_SERVICES_PER_REGION = 60;

/**
 * The app stack's budget once it has nested stacks: under 80 % of CloudFormation's limits, where aws-cdk-lib starts
 * to warn (template size) and to inform (resource count) at every synth. A config whose services and queues all fit
 * within {@link APP_STACK_BUDGET} keeps them all in the app stack, as before nested stacks existed.
 */
export const APP_STACK_NESTED_BUDGET = { resources: 396, bytes: 780_000 } as const;

/**
 * Where a region's web services and queues' worker fleets go: the first ones in the app stack, the rest in nested
 * stacks, in config order.
 */
export interface AppStackPlacement {
  /** How many services, from the first in {@link appStackOrder}, the app stack holds (at least the default service). */
  readonly inAppStack: number;
  /** How many services each nested stack of services holds (`Services2` first), in {@link appStackOrder} after those of the app stack. */
  readonly nestedStacks: number[];
  /** How many queues, from the first, the app stack holds. */
  readonly queuesInAppStack: number;
  /** How many queues each nested stack of queues holds (`Queues2` first), in config order after those of the app stack. */
  readonly queueStacks: number[];
}

/** What the cost of a web service depends on (its `egress` counted as `all` when absent). */
export type ServiceCostInput = Pick<ServiceConfig, 'scheduledScaling' | 'stepScaling' | 'warmPool'> & { readonly egress?: FleetEgress };
type PlacedService = ServiceCostInput & Pick<ServiceConfig, 'pathPatterns' | 'hostPatterns'>;
/** What the cost of a queue's worker fleet depends on (its `egress` counted as `all` when absent). */
export type QueueCostInput = Pick<QueueConfig, 'name'> & { readonly workers?: { readonly egress?: FleetEgress } };
type Cost = { resources: number; bytes: number };

function fitsBudget(cost: Cost, budget: Cost = APP_STACK_BUDGET): boolean {
  return cost.resources <= budget.resources && cost.bytes <= budget.bytes;
}

/**
 * The order in which services fill the app stack and then the nested stacks: the default service (no path and no
 * host patterns) first, then the others in config order. The default service always stays in the app stack: the
 * listener's default action (or the origin header's health check rule) forwards to it, and its fleet waits for
 * that, so with its fleet in a nested stack the two stacks would depend on each other.
 */
export function appStackOrder<T extends Pick<ServiceConfig, 'pathPatterns' | 'hostPatterns'>>(services: readonly T[]): T[] {
  const isDefault = (s: T) => s.pathPatterns.length === 0 && s.hostPatterns.length === 0;
  return [...services.filter(isDefault), ...services.filter((s) => !isDefault(s))];
}

/**
 * Where the services and queues go (services in {@link appStackOrder}). A config whose services and queues all fit in the app stack keeps them all
 * there (its templates do not change). Past that, queues first: the app stack keeps the first queues that fit
 * within {@link APP_STACK_NESTED_BUDGET} beside the app-stack share of nested services, then the first services
 * that fit beside the share of nested services up to {@link MAX_SERVICES_PER_REGION}, so that adding services later
 * moves none of them. The rest fill nested stacks of at most {@link SERVICES_PER_NESTED_STACK} services (or
 * {@link QUEUES_PER_NESTED_STACK} queues), each within the same budget.
 */
export function appStackPlacement(configServices: readonly PlacedService[], configQueues: readonly QueueCostInput[]): AppStackPlacement {
  // The layout depends on neither the data tiers nor `egress`: a shard added or an outbound switch never moves a fleet.
  const plain = configServices.map((s) => ({ ...s, egress: 'all' as const }));
  const queues = configQueues.map((q) => ({ name: q.name }));
  if (fitsBudget(appStackCost(plain, queues))) return { inAppStack: plain.length, nestedStacks: [], queuesInAppStack: queues.length, queueStacks: [] };
  const services = appStackOrder(plain);
  const reserve = Math.max(MAX_SERVICES_PER_REGION, services.length);
  const fits = (k: number, q: number) => fitsBudget(parentCost(services.slice(0, k), reserve - k, queues.slice(0, q), queues.length - q), APP_STACK_NESTED_BUDGET);
  // The default service stays in the app stack whatever fits (see appStackOrder).
  const first = Math.min(1, services.length);
  let q = 0;
  while (q < queues.length && fits(first, q + 1)) q++;
  let k = first;
  while (k < services.length && fits(k + 1, q)) k++;
  return {
    inAppStack: k,
    nestedStacks: groupsOf(services.slice(k), SERVICES_PER_NESTED_STACK, (group) => nestedStackCost(group, queues.length)),
    queuesInAppStack: q,
    queueStacks: groupsOf(queues.slice(q), QUEUES_PER_NESTED_STACK, (group) => nestedQueueStackCost(group)),
  };
}

/** Sizes of consecutive groups of at most `max` items, each within the nested budget. */
function groupsOf<T>(items: readonly T[], max: number, cost: (group: readonly T[]) => Cost): number[] {
  const sizes: number[] = [];
  let group: T[] = [];
  for (const item of items) {
    if (group.length === max || (group.length > 0 && !fitsBudget(cost([...group, item]), APP_STACK_NESTED_BUDGET))) {
      sizes.push(group.length);
      group = [];
    }
    group.push(item);
  }
  if (group.length > 0) sizes.push(group.length);
  return sizes;
}

/** The app stack with `inline` services and `inlineQueues` of its own, and `nested` services and `nestedQueues` in nested stacks. */
export function parentCost(inline: readonly ServiceCostInput[], nested: number, inlineQueues: readonly QueueCostInput[], nestedQueues = 0, tiers: DataTierShape = MEASURED_DATA_TIERS): Cost {
  const own = appStackCost(inline, inlineQueues, inlineQueues.length + nestedQueues, tiers);
  const n = NESTED_SERVICES_COST;
  const stacks = Math.ceil(nested / SERVICES_PER_NESTED_STACK) + Math.ceil(nestedQueues / QUEUES_PER_NESTED_STACK);
  return {
    resources: own.resources + stacks * n.inAppStack.resources + nested * n.serviceInAppStack.resources + nestedQueues * NESTED_QUEUES_COST.queueInAppStack.resources,
    bytes: own.bytes + stacks * n.inAppStack.bytes + nested * n.serviceInAppStack.bytes + nestedQueues * NESTED_QUEUES_COST.queueInAppStack.bytes,
  };
}

/** One nested stack holding these services, in a region with `queues` queues. */
export function nestedStackCost(services: readonly ServiceCostInput[], queues: number, tiers: DataTierShape = MEASURED_DATA_TIERS): Cost {
  const n = NESTED_SERVICES_COST;
  // appStackCost without its base, its data tiers and with the nested per-service figures: the extras (schedules, …)
  // are the same.
  const extras = appStackCost(services.map((s) => ({ ...s, egress: 'all' as const })), []);
  const c = APP_STACK_COST;
  const pairs = services.length * Math.max(0, queues - 1);
  const d = fleetsDataTierCost(services.map((s) => s.egress), tiers, true);
  return {
    resources: n.nestedBase.resources + services.length * n.nestedService.resources + extras.resources - c.base.resources - services.length * c.service.resources
      + Math.ceil(pairs * n.nestedServiceQueue.resources) + (tiers.shards - 1) * DATA_TIER_COST.nestedStackShard.resources + d.resources,
    bytes: n.nestedBase.bytes + services.length * n.nestedService.bytes + extras.bytes - c.base.bytes - services.length * c.service.bytes + pairs * n.nestedServiceQueue.bytes
      + (tiers.shards - 1) * DATA_TIER_COST.nestedStackShard.bytes + d.bytes,
  };
}

/** One nested stack holding these queues' worker fleets. */
export function nestedQueueStackCost(queues: readonly QueueCostInput[], tiers: DataTierShape = MEASURED_DATA_TIERS): Cost {
  const base = NESTED_SERVICES_COST.nestedBase;
  const q = NESTED_QUEUES_COST.nestedQueue;
  const d = fleetsDataTierCost(queues.map((queue) => queue.workers?.egress), tiers, true);
  return {
    resources: base.resources + queues.length * q.resources + (tiers.shards - 1) * DATA_TIER_COST.nestedStackShard.resources + d.resources,
    bytes: base.bytes + queues.length * q.bytes + (tiers.shards - 1) * DATA_TIER_COST.nestedStackShard.bytes + d.bytes,
  };
}

/** The data tiers of a config's regions (its `database` section, resolved), for the cost of its app stacks. */
export function dataTiersOf(database: { readonly shards: readonly unknown[]; readonly proxy: { readonly enabled: boolean } } | undefined): DataTierShape {
  return database === undefined ? MEASURED_DATA_TIERS : { shards: Math.max(1, database.shards.length), proxy: database.proxy.enabled };
}

/**
 * Route 53's default quota of health checks per AWS account (all regions: Route 53 is global). It can be raised
 * through Service Quotas; `stageFindings` warns (`scale-to-millions:stage-health-checks`) past it.
 */
export const ROUTE53_HEALTH_CHECKS_QUOTA = 200;

/**
 * The Route 53 health checks a config creates, per region: with a domain, a region that DNS routes has one check of
 * its load balancer's deep health path, its drain switch (a childless `CALCULATED` check), with monitoring one
 * `CLOUDWATCH_METRIC` check per service (its no-healthy-host alarm drains the region), and one `CALCULATED` check
 * over them all. A region a `failover` config neither routes to as primary nor as secondary has none.
 */
export function route53HealthChecks(config: Pick<AppConfig, 'domain' | 'dns' | 'regions' | 'services' | 'monitoring'>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const { region } of config.regions) {
    const failover = config.dns.routing === 'failover' ? config.dns.failover : undefined;
    const routed = config.domain !== undefined && (failover === undefined || failover.primary === region || failover.secondary === region);
    const drains = config.monitoring.enabled ? config.services.length : 0;
    out[region] = routed ? 3 + drains : 0;
  }
  return out;
}

/**
 * Aurora PostgreSQL's `apg_write_forward.max_forwarding_connections_percent` (the default, which the project's
 * parameter groups keep): the writer takes at most this share of its `max_connections` as sessions forwarded from the
 * replicas of every secondary cluster together, and refuses more.
 */
export const FORWARDED_SESSIONS_PERCENT = 25;

/** Aurora PostgreSQL's ceiling of its default `max_connections`, whatever the memory. */
export const AURORA_POSTGRES_MAX_CONNECTIONS = 5000;

/**
 * Memory (GiB) of an Aurora DB instance class (`r7g.large`, with or without `db.`), or undefined for a class not
 * modelled here. Memory-optimized classes (r5, r6g, r6gd, r6i, r6id, r7g, r7i, r8g, r8gd) have 8 GiB per vCPU, r4
 * 7.625, x2g 16; `large` has 2 vCPUs, `xlarge` 4, `<n>xlarge` 4n; burstable t3 and t4g have 2 GiB (`small`), 4
 * (`medium`), 8 (`large`), 16 (`xlarge`) or 32 (`2xlarge`).
 */
export function auroraInstanceMemoryGiB(instanceClass: string): number | undefined {
  const m = /^(?:db\.)?([a-z]+)(\d+)([a-z]*)\.(small|medium|large|xlarge|(\d+)xlarge)$/.exec(instanceClass);
  if (!m) return undefined;
  const [, kind, generation, extra, size, n] = m;
  if (kind === 't') return ({ small: 2, medium: 4, large: 8, xlarge: 16 } as Record<string, number>)[size] ?? (size === '2xlarge' ? 32 : undefined);
  const family = `${kind}${generation}${extra}`;
  const perVcpu = kind === 'r' ? (family === 'r4' ? 7.625 : 8) : family === 'x2g' ? 16 : undefined;
  if (perVcpu === undefined || size === 'small' || size === 'medium') return undefined;
  const vcpus = size === 'large' ? 2 : size === 'xlarge' ? 4 : 4 * Number(n);
  return perVcpu * vcpus;
}

/**
 * Aurora PostgreSQL's default `max_connections` for an instance of `memoryGiB`: LEAST(DBInstanceClassMemory / 9531392,
 * 5000), computed as AWS's own worked example does, with 10^9 bytes per GiB of the class's memory (about 1,600 for a
 * db.r4.large's 15.25 GiB; 1,678 for a db.r7g.large). DBInstanceClassMemory is the memory less what the operating
 * system and RDS keep: the decimal figure stays below the binary one by about what they keep.
 */
export function auroraPostgresMaxConnections(memoryGiB: number): number {
  return Math.min(Math.floor((memoryGiB * 1e9) / 9_531_392), AURORA_POSTGRES_MAX_CONNECTIONS);
}

/**
 * AWS's `max_connections` of an Aurora PostgreSQL Serverless v2 instance by its maximum capacity (ACUs), from the Aurora
 * User Guide's table; 32 ACUs and more reach 5,000.
 */
const SERVERLESS_MAX_CONNECTIONS: ReadonlyArray<readonly [acus: number, connections: number]> = [[1, 189], [4, 823], [8, 1669], [16, 3360], [32, 5000]];

/** Serverless v2's `max_connections` when its minimum capacity is 0 or 0.5 ACU, whatever the maximum. */
export const SERVERLESS_LOW_MINIMUM_MAX_CONNECTIONS = 2000;

/**
 * Aurora PostgreSQL Serverless v2's default `max_connections`: AWS's figure for the largest tabled capacity at or below
 * `maxAcus` (between two rows, the lower: a capacity in between has at least that many), and at most 2,000 when the
 * minimum capacity is 0 or 0.5 ACU.
 */
export function auroraServerlessMaxConnections(minAcus: number, maxAcus: number): number {
  let connections = SERVERLESS_MAX_CONNECTIONS[0][1];
  for (const [acus, n] of SERVERLESS_MAX_CONNECTIONS) if (maxAcus >= acus) connections = n;
  return minAcus <= 0.5 ? Math.min(connections, SERVERLESS_LOW_MINIMUM_MAX_CONNECTIONS) : connections;
}

/** One shard's writer and the forwarded sessions it takes. */
export interface ForwardedSessionWriter {
  /** The shard id (`s0` unsharded). */
  readonly shard: string;
  /** Its writer's instance class (`r7g.large`) or `serverless`. */
  readonly instanceType: string;
  /** The writer's default `max_connections` by AWS's formula (Serverless v2: at its maximum capacity). */
  readonly maxConnections: number;
  /** Forwarded sessions it takes from every secondary together ({@link FORWARDED_SESSIONS_PERCENT} of them). */
  readonly sessions: number;
}

/** What a config's forwarding secondaries may ask of each writer of an Aurora PostgreSQL Global Database. */
export interface ForwardedSessionBudget {
  /** The regions whose clusters forward writes (all but `database.globalDatabase.writerRegion`). */
  readonly secondaries: readonly string[];
  /**
   * Processes of the runtime SDK in each of those regions when every fleet is at its largest: one per instance of
   * every service (its `maxCapacity`, or a scheduled action's larger one) and of every queue's workers.
   */
  readonly processesPerRegion: number;
  /** The same in all the secondaries together. */
  readonly processes: number;
  /** Each shard's writer (every process connects to every shard). */
  readonly writers: readonly ForwardedSessionWriter[];
  /** The smallest writer's sessions per process, rounded down: what one process may hold at once on every writer. */
  readonly sessionsPerProcess: number;
}

/**
 * The forwarded-session budget of a config with an Aurora PostgreSQL Global Database whose secondaries forward writes,
 * or undefined for any other. A forwarding session holds its session on the writer while its connection lives, and
 * the runtime SDK pools them per process (`forward` and `global` pools, `pool.max` each), so at the fleets' maxima
 * the processes may ask for more than the writer's share, which it refuses: writes from the secondaries then fail.
 * Serverless v2 writers are counted by AWS's table for their capacity; a class not modelled here is left out.
 */
export function forwardedSessionBudget(config: Pick<AppConfig, 'regions' | 'services' | 'queues' | 'database'>): ForwardedSessionBudget | undefined {
  const db = config.database;
  if (db.engine !== 'postgres' || !db.globalDatabase.enabled || !db.globalDatabase.writeForwarding) return undefined;
  const secondaries = config.regions.map((r) => r.region).filter((r) => r !== db.globalDatabase.writerRegion);
  if (secondaries.length === 0) return undefined;
  const largest = (max: number, scheduled: readonly { maxCapacity?: number }[] = []): number => Math.max(max, ...scheduled.map((s) => s.maxCapacity ?? 0));
  const processesPerRegion = config.services.reduce((n, s) => n + largest(s.maxCapacity, s.scheduledScaling), 0)
    + config.queues.reduce((n, q) => n + q.workers.maxCapacity, 0);
  const processes = processesPerRegion * secondaries.length;
  const writers: ForwardedSessionWriter[] = [];
  for (const shard of db.shards) {
    const instanceType = shard.instanceType;
    const memory = instanceType === 'serverless' ? undefined : auroraInstanceMemoryGiB(instanceType);
    if (instanceType !== 'serverless' && memory === undefined) continue;
    const maxConnections = memory === undefined ? auroraServerlessMaxConnections(db.serverlessMinCapacity, db.serverlessMaxCapacity) : auroraPostgresMaxConnections(memory);
    writers.push({ shard: shard.id, instanceType, maxConnections, sessions: Math.floor((maxConnections * FORWARDED_SESSIONS_PERCENT) / 100) });
  }
  if (writers.length === 0) return undefined;
  const fewest = Math.min(...writers.map((w) => w.sessions));
  return { secondaries, processesPerRegion, processes, writers, sessionsPerProcess: processes === 0 ? fewest : Math.floor(fewest / processes) };
}

/**
 * The `forwarding-pool-max` the data stacks publish with write forwarding: half the smallest writer's forwarded
 * sessions per process (a process has two forwarding pools), at least 1; undefined when nothing forwards. The runtime
 * caps each forwarding pool at it: with two or more sessions a process, the fleets at their maxima stay within what
 * every writer takes; with one, pools of one each may still ask two a process (`s2m plan` says so).
 */
export function forwardingPoolMax(config: Pick<AppConfig, 'regions' | 'services' | 'queues' | 'database'>): number | undefined {
  const budget = forwardedSessionBudget(config);
  return budget === undefined ? undefined : Math.max(1, Math.floor(budget.sessionsPerProcess / 2));
}

/** CloudFormation's limits per template. */
export const CLOUDFORMATION_TEMPLATE_LIMITS = { resources: 500, bytes: 1_000_000 } as const;

/**
 * How far the estimate of a sharded app's template may run above what is synthesized (up to 4.6 % measured on
 * resources, 11 % on bytes): {@link templatesOverLimit} names a template only when its estimate passes CloudFormation's
 * resource limit by more than this, so that no config that fits is refused. Bytes are not checked (their estimate
 * runs too far above): a template over 1 MB fails at deploy, and aws-cdk-lib warns from 80 %.
 */
export const DATA_TIER_ESTIMATE_SLACK = 0.05;

/** A template of a region's app stack (the app stack or one of its nested stacks) that its estimate puts over CloudFormation's limits. */
export interface TemplateOverLimit {
  /** `app stack`, `Services2`, …, `Queues2`, … */
  readonly template: string;
  /** The estimated resources. */
  readonly resources: number;
  /** The estimated bytes. */
  readonly bytes: number;
}

/**
 * The templates of a region's app stack, laid out by {@link appStackPlacement}, that pass CloudFormation's 500
 * resources with these data tiers and the fleets' `egress`, by more than {@link DATA_TIER_ESTIMATE_SLACK} of the
 * estimate. Empty for every config of the measured tiers that the budgets accept.
 */
export function templatesOverLimit(services: readonly PlacedService[], queues: readonly QueueCostInput[], tiers: DataTierShape): TemplateOverLimit[] {
  const p = appStackPlacement(services, queues);
  const ordered = appStackOrder(services);
  const out: TemplateOverLimit[] = [];
  const check = (template: string, cost: Cost) => {
    if (cost.resources * (1 - DATA_TIER_ESTIMATE_SLACK) > CLOUDFORMATION_TEMPLATE_LIMITS.resources) out.push({ template, ...cost });
  };
  check('app stack', parentCost(ordered.slice(0, p.inAppStack), services.length - p.inAppStack, queues.slice(0, p.queuesInAppStack), queues.length - p.queuesInAppStack, tiers));
  let next = p.inAppStack;
  p.nestedStacks.forEach((size, g) => {
    check(`Services${g + 2}`, nestedStackCost(ordered.slice(next, next + size), queues.length, tiers));
    next += size;
  });
  let nextQueue = p.queuesInAppStack;
  p.queueStacks.forEach((size, g) => {
    check(`Queues${g + 2}`, nestedQueueStackCost(queues.slice(nextQueue, nextQueue + size), tiers));
    nextQueue += size;
  });
  return out;
}
