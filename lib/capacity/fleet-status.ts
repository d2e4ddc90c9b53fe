/**
 * `s2m status`: per region and fleet, the application version each instance runs, the instance refresh in
 * progress and its percentage, healthy and unhealthy targets, and the last rollout that failed (which
 * CloudFormation then rolled back) and why. Reads the app stacks' outputs, then Auto Scaling and Elastic Load
 * Balancing; the JSON form of {@link FleetStatusReport} is the `--json` schema (docs/fleets.md).
 */
import {
  DescribeAutoScalingGroupsCommand,
  DescribeInstanceRefreshesCommand,
  type AutoScalingClient,
  type AutoScalingGroup,
  type InstanceRefresh,
} from '@aws-sdk/client-auto-scaling';
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DescribeTargetHealthCommand, type ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { OutputKeys, pascal } from '../outputs';
import { APP_VERSION_TAG } from '../runtime/contract';
import { classifyAwsError } from './errors';
import { table } from './render';
import { withRetry, type Clock, type RetryOptions } from './retry';
import { cliStackNames, readStackOutputs, type StackOutputs } from './stacks';

/** The version of the `--json` schema; bumped only on breaking changes. */
export const STATUS_SCHEMA_VERSION = 1;

/** What `runFleetStatus` needs from the outside world. */
export interface FleetStatusDeps {
  readonly cloudFormation: (region: string) => CloudFormationClient;
  readonly autoScaling: (region: string) => AutoScalingClient;
  readonly elasticLoadBalancing: (region: string) => ElasticLoadBalancingV2Client;
  readonly clock: Clock;
  /** Random in [0, 1) for retry jitter. @default Math.random */
  readonly random?: () => number;
}

/** Instances running one application version. */
export interface VersionCount {
  /** The version (`S2M_APP_VERSION`), or `previous (launch template vN)` for instances of an older template. */
  readonly version: string;
  readonly instances: number;
  /** True for the version the group launches now. */
  readonly current: boolean;
}

/** One fleet (a web service's or a queue's workers) in one region. */
export interface FleetStatus {
  readonly region: string;
  /** The service or queue name. */
  readonly fleet: string;
  readonly kind: 'web' | 'worker';
  /** The Auto Scaling group. */
  readonly group: string;
  readonly capacity: { readonly desired: number; readonly min: number; readonly max: number };
  /** In-service, pending and terminating instances by version, current first. */
  readonly versions: readonly VersionCount[];
  /** The instance refresh in progress, if any. */
  readonly refresh: { readonly status: string; readonly percentComplete: number; readonly startedAt: string | null; readonly reason: string | null } | null;
  /** The targets of the service's target groups (web fleets). */
  readonly targets: { readonly healthy: number; readonly unhealthy: number; readonly other: number } | null;
  /** The newest instance refresh that failed, was cancelled or rolled back, and why. */
  readonly lastRollback: { readonly status: string; readonly at: string | null; readonly reason: string | null } | null;
}

/** `s2m status --json`. */
export interface FleetStatusReport {
  readonly schemaVersion: number;
  readonly name: string;
  readonly generatedAt: string;
  readonly fleets: readonly FleetStatus[];
  /** Services or queues of the config whose fleet the stacks do not output (not deployed yet). */
  readonly missing: readonly string[];
}

/** Options of {@link runFleetStatus}. */
export interface FleetStatusOptions {
  /** The regions to read (primary first). */
  readonly regions: readonly string[];
  /** Retry attempts per call. @default 6 */
  readonly maxAttempts?: number;
}

const IN_PROGRESS = new Set(['Pending', 'InProgress', 'Cancelling', 'RollbackInProgress', 'Baking']);
const ROLLED_BACK = new Set(['Failed', 'Cancelled', 'RollbackSuccessful', 'RollbackFailed']);

/**
 * Reads every region (in parallel): the app stack's fleet outputs, then each group, its refreshes and its
 * target groups' health. Throws `CliError` for AWS failures (one clear line: no credentials, missing stack...).
 */
export async function runFleetStatus(config: { readonly name: string; readonly services: readonly string[]; readonly queues: readonly string[] }, deps: FleetStatusDeps, options: FleetStatusOptions): Promise<FleetStatusReport> {
  const retry: RetryOptions = { clock: deps.clock, ...(deps.random ? { random: deps.random } : {}), maxAttempts: options.maxAttempts ?? 6 };
  const perRegion = await Promise.all(options.regions.map((region) => regionStatus(config, region, deps, retry)));
  return {
    schemaVersion: STATUS_SCHEMA_VERSION,
    name: config.name,
    generatedAt: deps.clock.now().toISOString(),
    fleets: perRegion.flatMap((r) => r.fleets),
    missing: perRegion.flatMap((r) => r.missing),
  };
}

/** The most group names DescribeAutoScalingGroups takes in one request (its `ValidationError` beyond). */
export const DESCRIBE_GROUPS_MAX_NAMES = 50;

async function regionStatus(config: { readonly name: string; readonly services: readonly string[]; readonly queues: readonly string[] }, region: string, deps: FleetStatusDeps, retry: RetryOptions) {
  const stack = cliStackNames.app(config.name, region);
  const outputs = await readStackOutputs(deps.cloudFormation(region), region, stack, retry);
  const fleets = fleetsOf(outputs, config);
  const missing = [
    ...config.services.filter((s) => outputs[OutputKeys.fleetName(s)] === undefined).map((s) => `${region}: service ${s}`),
    ...config.queues.filter((q) => outputs[OutputKeys.workerFleetName(q)] === undefined).map((q) => `${region}: workers of queue ${q}`),
  ];
  if (fleets.length === 0) return { fleets: [] as FleetStatus[], missing };
  const autoScaling = deps.autoScaling(region);
  const call = <T>(action: string, fn: () => Promise<T>): Promise<T> => withRetry(fn, retry).catch((e: unknown) => {
    throw classifyAwsError(e, { region, action });
  });
  const groups = new Map<string, AutoScalingGroup>();
  // The API takes at most 50 group names per request (a region can hold 64 services and their queues' workers).
  const names = fleets.map((f) => f.group);
  for (let i = 0; i < names.length; i += DESCRIBE_GROUPS_MAX_NAMES) {
    const batch = names.slice(i, i + DESCRIBE_GROUPS_MAX_NAMES);
    let token: string | undefined;
    do {
      const page = await call('autoscaling:DescribeAutoScalingGroups', () => autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: batch, NextToken: token })));
      for (const g of page.AutoScalingGroups ?? []) if (g.AutoScalingGroupName) groups.set(g.AutoScalingGroupName, g);
      token = page.NextToken;
    } while (token);
  }

  const elb = deps.elasticLoadBalancing(region);
  const result = await Promise.all(fleets.map(async (f): Promise<FleetStatus | undefined> => {
    const g = groups.get(f.group);
    if (!g) {
      missing.push(`${region}: ${f.kind === 'web' ? 'service' : 'workers of queue'} ${f.fleet} (group ${f.group} not found)`);
      return undefined;
    }
    const refreshes = (await call('autoscaling:DescribeInstanceRefreshes', () => autoScaling.send(new DescribeInstanceRefreshesCommand({ AutoScalingGroupName: f.group, MaxRecords: 20 })))).InstanceRefreshes ?? [];
    const newestFirst = [...refreshes].sort((a, b) => (b.StartTime?.getTime() ?? 0) - (a.StartTime?.getTime() ?? 0));
    const active = newestFirst.find((r) => IN_PROGRESS.has(r.Status ?? ''));
    const rolledBack = newestFirst.find((r) => ROLLED_BACK.has(r.Status ?? ''));
    let targets: FleetStatus['targets'] = null;
    if (f.kind === 'web') {
      const count = { healthy: 0, unhealthy: 0, other: 0 };
      for (const arn of g.TargetGroupARNs ?? []) {
        const health = await call('elasticloadbalancing:DescribeTargetHealth', () => elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn })));
        for (const d of health.TargetHealthDescriptions ?? []) {
          const state = d.TargetHealth?.State;
          if (state === 'healthy') count.healthy++;
          else if (state === 'unhealthy') count.unhealthy++;
          else count.other++;
        }
      }
      targets = count;
    }
    return {
      region,
      fleet: f.fleet,
      kind: f.kind,
      group: f.group,
      capacity: { desired: g.DesiredCapacity ?? 0, min: g.MinSize ?? 0, max: g.MaxSize ?? 0 },
      versions: versionsOf(g),
      refresh: active ? refreshOf(active) : null,
      targets,
      lastRollback: rolledBack ? { status: rolledBack.Status!, at: (rolledBack.EndTime ?? rolledBack.StartTime)?.toISOString() ?? null, reason: rolledBack.StatusReason ?? null } : null,
    };
  }));
  return { fleets: result.filter((f): f is FleetStatus => f !== undefined), missing };
}

/** The fleets an app stack outputs, named after the config's services and queues where the keys match. */
function fleetsOf(outputs: StackOutputs, config: { readonly services: readonly string[]; readonly queues: readonly string[] }): Array<{ fleet: string; kind: 'web' | 'worker'; group: string }> {
  const named = (names: readonly string[]) => new Map(names.map((n) => [pascal(n), n]));
  const services = named(config.services);
  const queues = named(config.queues);
  const out: Array<{ fleet: string; kind: 'web' | 'worker'; group: string }> = [];
  for (const [key, value] of Object.entries(outputs)) {
    const web = key.startsWith(OutputKeys.fleetName('')) ? key.slice(OutputKeys.fleetName('').length) : undefined;
    const worker = key.startsWith(OutputKeys.workerFleetName('')) ? key.slice(OutputKeys.workerFleetName('').length) : undefined;
    if (web) out.push({ fleet: services.get(web) ?? web, kind: 'web', group: value });
    if (worker) out.push({ fleet: queues.get(worker) ?? worker, kind: 'worker', group: value });
  }
  return out;
}

/**
 * Instances by application version: those on the group's launch template version run the group's
 * `s2m:app-version` tag; older ones are counted by their template version.
 */
function versionsOf(g: AutoScalingGroup): VersionCount[] {
  const currentTemplate = g.LaunchTemplate?.Version ?? g.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification?.Version;
  const version = g.Tags?.find((t) => t.Key === APP_VERSION_TAG)?.Value ?? 'unknown';
  const counts = new Map<string, VersionCount>();
  for (const i of g.Instances ?? []) {
    const template = i.LaunchTemplate?.Version;
    const current = template === undefined || template === currentTemplate;
    const label = current ? version : `previous (launch template v${template})`;
    const seen = counts.get(label);
    counts.set(label, { version: label, instances: (seen?.instances ?? 0) + 1, current });
  }
  return [...counts.values()].sort((a, b) => Number(b.current) - Number(a.current) || a.version.localeCompare(b.version));
}

function refreshOf(r: InstanceRefresh): NonNullable<FleetStatus['refresh']> {
  return { status: r.Status ?? 'unknown', percentComplete: r.PercentageComplete ?? 0, startedAt: r.StartTime?.toISOString() ?? null, reason: r.StatusReason ?? null };
}

/** The human-readable status: one table per region. */
export function renderFleetStatus(report: FleetStatusReport): string {
  const lines = [`Fleets of ${report.name} at ${report.generatedAt}`];
  const regions = [...new Set(report.fleets.map((f) => f.region))];
  for (const region of regions) {
    lines.push('', `Region ${region}`);
    const rows = [['FLEET', 'KIND', 'INSTANCES BY VERSION', 'CAPACITY', 'REFRESH', 'TARGETS', 'LAST ROLLBACK']];
    for (const f of report.fleets.filter((x) => x.region === region)) {
      rows.push([
        f.fleet,
        f.kind,
        f.versions.length === 0 ? 'none' : f.versions.map((v) => `${v.instances} × ${v.version}`).join(', '),
        `${f.capacity.desired} (${f.capacity.min}-${f.capacity.max})`,
        f.refresh ? `${f.refresh.status} ${f.refresh.percentComplete}%` : '-',
        f.targets ? `${f.targets.healthy} healthy, ${f.targets.unhealthy} unhealthy${f.targets.other ? `, ${f.targets.other} other` : ''}` : '-',
        f.lastRollback ? `${f.lastRollback.status} ${f.lastRollback.at ?? ''}${f.lastRollback.reason ? `: ${f.lastRollback.reason}` : ''}` : '-',
      ]);
    }
    lines.push(table(rows).split('\n').map((l) => `  ${l}`).join('\n'));
  }
  for (const m of report.missing) lines.push(`not deployed: ${m}`);
  return `${lines.join('\n')}\n`;
}
