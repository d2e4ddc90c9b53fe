import type { QueueConfig, ServiceConfig } from './types';

/**
 * What each part of a config costs in a region's app stack (`<name>-app-<region>`), measured on the synthesized
 * templates (test/lib/config/limits.test.ts builds configs at these limits and fails if they no longer fit).
 * CloudFormation refuses a template over 500 resources or 1,000,000 bytes; the app stack holds every web service's
 * and every queue's fleet, so their number is bounded until services are partitioned into stacks of their own.
 */
export const APP_STACK_COST = {
  /** The stack without any service or queue: load balancer, listeners, DNS, WAF, monitoring. */
  base: { resources: 42, bytes: 55_000 },
  /** One web service: fleet (role, policies, security group and its rules, launch template, group, scaling), target group, rule, rollback and monitoring alarms, dashboard widgets. */
  service: { resources: 26, bytes: 47_000 },
  /** One queue's worker fleet, its scaling and alarms. */
  queue: { resources: 20, bytes: 42_000 },
  /** One scheduled scaling action. */
  schedule: { resources: 1, bytes: 1_000 },
  /** Step scaling on CPU: two policies and their alarms. */
  stepScaling: { resources: 4, bytes: 5_000 },
  /** A warm pool. */
  warmPool: { resources: 1, bytes: 500 },
} as const;

/**
 * CloudFormation's outputs per template, and the app stack's: a few of its own, then per service and per queue (the
 * s2m CLI reads them). They bound a region to 64 services, before Elastic Load Balancing's 100 listener rules and 100
 * target groups per load balancer do.
 */
export const APP_STACK_OUTPUTS = { max: 200, base: 6, perService: 3, perQueue: 2 } as const;

/** CloudFormation's limits per template, less a margin for what the estimate does not count. */
export const APP_STACK_BUDGET = { resources: 475, bytes: 950_000 } as const;

/** The estimated resources and bytes (templates are written without indentation) of a region's app stack. */
export function appStackCost(services: readonly Pick<ServiceConfig, 'scheduledScaling' | 'stepScaling' | 'warmPool'>[], queues: readonly Pick<QueueConfig, 'name'>[]): { resources: number; bytes: number } {
  const c = APP_STACK_COST;
  let resources = c.base.resources + queues.length * c.queue.resources;
  let bytes = c.base.bytes + queues.length * c.queue.bytes;
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
   * and every one to the network and data stacks an import, with long names.
   */
  nestedService: { resources: 26, bytes: 68_000 },
  /** A nested stack in the app stack: the `AWS::CloudFormation::Stack` resource and the parameters it passes. */
  inAppStack: { resources: 1, bytes: 4_000 },
  /**
   * A nested service in the app stack: the DNS drain health check on its no-healthy-host alarm, its three
   * outputs (read from the nested stack's outputs) and its graphs on the region's dashboard.
   */
  serviceInAppStack: { resources: 1, bytes: 7_000 },
} as const;

/**
 * The most services per nested stack. Its composite alarm references each service's three Critical alarms, and
 * CloudWatch limits a composite alarm's rule to 10,240 characters: an alarm ARN is at most about 300 characters
 * (a generated alarm name in a nested stack carries both stacks' names), so about 32 alarms fit, 10 services.
 */
export const SERVICES_PER_NESTED_STACK = 10;

/**
 * The most web services a region's app stack is laid out for once it holds nested stacks: the app stack keeps as
 * many services as fit with the app-stack share of this many, so adding services up to it moves none.
 */
export const MAX_SERVICES_PER_REGION = 60;

/**
 * The app stack's budget once it has nested stacks: under 80 % of CloudFormation's limits, where aws-cdk-lib starts
 * to warn (template size) and to inform (resource count) at every synth. A config whose services all fit within
 * {@link APP_STACK_BUDGET} keeps them all in the app stack, as before nested stacks existed.
 */
export const APP_STACK_NESTED_BUDGET = { resources: 395, bytes: 780_000 } as const;

/** Where a region's web services go: the first ones in the app stack, the rest in nested stacks, in config order. */
export interface ServicePlacement {
  /** How many services, from the first, the app stack holds. */
  readonly inAppStack: number;
  /** How many services each nested stack holds (`Services2` first), in config order after those of the app stack. */
  readonly nestedStacks: number[];
}

type ServiceCostInput = Pick<ServiceConfig, 'scheduledScaling' | 'stepScaling' | 'warmPool'>;

function fitsBudget(cost: { resources: number; bytes: number }, budget: { resources: number; bytes: number } = APP_STACK_BUDGET): boolean {
  return cost.resources <= budget.resources && cost.bytes <= budget.bytes;
}

/**
 * Where the services go. A config whose services all fit in the app stack keeps them all there (its templates do
 * not change). Past that, the app stack keeps the first services that fit within {@link APP_STACK_NESTED_BUDGET}
 * beside the app-stack share of nested services up to {@link MAX_SERVICES_PER_REGION}, so that adding more services
 * later moves none of them; the rest fill nested stacks of at most {@link SERVICES_PER_NESTED_STACK} services, each
 * within the same budget.
 */
export function servicePlacement(services: readonly ServiceCostInput[], queues: readonly Pick<QueueConfig, 'name'>[]): ServicePlacement {
  if (fitsBudget(appStackCost(services, queues))) return { inAppStack: services.length, nestedStacks: [] };
  const reserve = Math.max(MAX_SERVICES_PER_REGION, services.length);
  let inAppStack = 0;
  while (inAppStack < services.length && fitsBudget(parentCost(services.slice(0, inAppStack + 1), reserve - inAppStack - 1, queues), APP_STACK_NESTED_BUDGET)) inAppStack++;
  const nestedStacks: number[] = [];
  let group: ServiceCostInput[] = [];
  for (const s of services.slice(inAppStack)) {
    if (group.length === SERVICES_PER_NESTED_STACK || (group.length > 0 && !fitsBudget(nestedStackCost([...group, s]), APP_STACK_NESTED_BUDGET))) {
      nestedStacks.push(group.length);
      group = [];
    }
    group.push(s);
  }
  if (group.length > 0) nestedStacks.push(group.length);
  return { inAppStack, nestedStacks };
}

/** The app stack with `inline` services of its own and `nested` services in nested stacks. */
export function parentCost(inline: readonly ServiceCostInput[], nested: number, queues: readonly Pick<QueueConfig, 'name'>[]): { resources: number; bytes: number } {
  const own = appStackCost(inline, queues);
  const n = NESTED_SERVICES_COST;
  const stacks = Math.ceil(nested / SERVICES_PER_NESTED_STACK);
  return {
    resources: own.resources + stacks * n.inAppStack.resources + nested * n.serviceInAppStack.resources,
    bytes: own.bytes + stacks * n.inAppStack.bytes + nested * n.serviceInAppStack.bytes,
  };
}

/** One nested stack holding these services. */
export function nestedStackCost(services: readonly ServiceCostInput[]): { resources: number; bytes: number } {
  const n = NESTED_SERVICES_COST;
  // appStackCost without its base and with the nested per-service figures: the extras (schedules, …) are the same.
  const extras = appStackCost(services, []);
  const c = APP_STACK_COST;
  return {
    resources: n.nestedBase.resources + services.length * n.nestedService.resources + extras.resources - c.base.resources - services.length * c.service.resources,
    bytes: n.nestedBase.bytes + services.length * n.nestedService.bytes + extras.bytes - c.base.bytes - services.length * c.service.bytes,
  };
}
