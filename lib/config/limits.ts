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
