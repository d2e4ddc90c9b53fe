import { CloudFormationClient, CloudFormationServiceException, DescribeStacksCommand, type DescribeStacksCommandInput } from '@aws-sdk/client-cloudformation';
import {
  CloudWatchClient,
  CloudWatchServiceException,
  GetMetricDataCommand,
  type GetMetricDataCommandInput,
  type GetMetricDataCommandOutput,
  type MetricDataQuery,
} from '@aws-sdk/client-cloudwatch';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { CliDeps } from '../../../lib/capacity/cli';
import type { ReportDeps } from '../../../lib/capacity/report';

expect.extend(allCustomMatcher);

export const REPO = join(__dirname, '..', '..', '..');
export const MILLIONS = join(REPO, 'config', 'millions.json');
export const NOW = new Date('2026-11-25T12:00:00Z');

/** Stack outputs of one region of the `shop` app, every tier deployed. */
export function appOutputs(region: string): Record<string, string> {
  return {
    LoadBalancerFullName: `app/shop-${region}/50dc6c495c0c9188`,
    LoadBalancerDnsName: `shop-${region}.elb.amazonaws.com`,
    TargetGroupFullNameWeb: `targetgroup/web-${region}/73e2d6bc24d8a067`,
    TargetGroupFullNameApi: `targetgroup/api-${region}/8f4c1b2a3d5e6f70`,
    FleetNameWeb: `shop-app-${region}-WebFleet-ABC`,
    FleetNameApi: `shop-app-${region}-ApiFleet-DEF`,
    WorkerFleetNameJobs: `shop-app-${region}-JobsWorkers-GHI`,
  };
}

export function dataOutputs(region: string): Record<string, string> {
  return {
    DatabaseClusterId: `shop-db-${region}`,
    CacheReplicationGroupId: `shop-cache-${region}`,
    QueueNameJobs: `shop-jobs-${region}`,
    DeadLetterQueueNameJobs: `shop-jobs-dlq-${region}`,
  };
}

/** Only the web tier (what config/millions.json deploys today). */
export function webOnlyOutputs(region: string, stack: string): Record<string, string> {
  if (stack.includes('-data-')) return {};
  const all = appOutputs(region);
  delete all.WorkerFleetNameJobs;
  return all;
}

/** A metric query's identity: `Namespace/MetricName` plus dimensions, or the expression. */
export interface QueryInfo {
  readonly id: string;
  readonly metric: string;
  readonly dims: Record<string, string>;
  readonly stat?: string;
  readonly expression?: string;
}

export function describeQuery(q: MetricDataQuery): QueryInfo {
  if (q.Expression) {
    const m = /MetricName="([A-Za-z]+)"/.exec(q.Expression);
    return { id: q.Id!, metric: `expr/${m?.[1] ?? '?'}`, dims: {}, expression: q.Expression };
  }
  const metric = q.MetricStat!.Metric!;
  const dims: Record<string, string> = {};
  for (const d of metric.Dimensions ?? []) dims[d.Name!] = d.Value!;
  return { id: q.Id!, metric: `${metric.Namespace}/${metric.MetricName}`, dims, stat: q.MetricStat!.Stat! };
}

/** Values per query: a constant, a list (oldest first), or undefined for "no data". */
export type ValueFn = (q: QueryInfo, region: string) => number | number[] | undefined;

/** Answers GetMetricData like CloudWatch: one point per period from StartTime, `valueFn` decides the values. */
export function metricResponder(region: string, valueFn: ValueFn, points = 5) {
  return (input: GetMetricDataCommandInput): Partial<GetMetricDataCommandOutput> => {
    const start = new Date(input.EndTime!).getTime() - points * 60_000;
    return {
      MetricDataResults: (input.MetricDataQueries ?? []).map((q) => {
        const v = valueFn(describeQuery(q), region);
        const values = v === undefined ? [] : Array.isArray(v) ? v : Array.from({ length: points }, () => v);
        return { Id: q.Id, Label: q.Id, StatusCode: 'Complete', Values: values, Timestamps: values.map((_, i) => new Date(start + i * 60_000)) };
      }),
    };
  };
}

/** Per-region mocked clients (one instance per region, each with its own stub). */
export interface MockAws {
  readonly cfn: Record<string, AwsClientStub<CloudFormationClient>>;
  readonly cw: Record<string, AwsClientStub<CloudWatchClient>>;
  readonly deps: Pick<ReportDeps, 'cloudFormation' | 'cloudWatch' | 'clock' | 'random'>;
  readonly sleeps: number[];
}

/**
 * Mocked CloudFormation and CloudWatch clients for `regions`: DescribeStacks answers with `outputs`,
 * GetMetricData with `valueFn`. Override per test through the stubs.
 */
export function mockAws(regions: readonly string[], valueFn: ValueFn, outputs: (region: string, stack: string) => Record<string, string> = (r, s) => (s.includes('-data-') ? dataOutputs(r) : appOutputs(r))): MockAws {
  const cfn: MockAws['cfn'] = {};
  const cw: MockAws['cw'] = {};
  const cfnClients: Record<string, CloudFormationClient> = {};
  const cwClients: Record<string, CloudWatchClient> = {};
  for (const region of regions) {
    cfnClients[region] = new CloudFormationClient({ region });
    cwClients[region] = new CloudWatchClient({ region });
    cfn[region] = mockClient(cfnClients[region]);
    cw[region] = mockClient(cwClients[region]);
    cfn[region].on(DescribeStacksCommand).callsFake((input: DescribeStacksCommandInput) => ({
      Stacks: [{
        StackName: input.StackName,
        StackStatus: 'UPDATE_COMPLETE',
        CreationTime: NOW,
        Outputs: Object.entries(outputs(region, input.StackName!)).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
      }],
    }));
    cw[region].on(GetMetricDataCommand).callsFake(metricResponder(region, valueFn));
  }
  const sleeps: number[] = [];
  return {
    cfn,
    cw,
    sleeps,
    deps: {
      cloudFormation: (region) => cfnClients[region],
      cloudWatch: (region) => cwClients[region],
      clock: { now: () => NOW, sleep: async (ms) => void sleeps.push(ms) },
      random: () => 0.5,
    },
  };
}

/** Captured stdout/stderr. */
export interface Captured {
  readonly deps: CliDeps;
  out(): string;
  err(): string;
}

export function capture(aws: Pick<MockAws, 'deps'>, opts: { tty?: boolean; files?: Record<string, string> } = {}): Captured {
  let out = '';
  let err = '';
  const files = opts.files ?? {};
  return {
    deps: {
      ...aws.deps,
      stdout: { write: (s: string) => (out += s), isTTY: opts.tty ?? false },
      stderr: { write: (s: string) => (err += s), isTTY: opts.tty ?? false },
      writeFile: (p, t) => void (files[p] = t),
      env: {},
    },
    out: () => out,
    err: () => err,
  };
}

export function throttling(name = 'Throttling'): CloudWatchServiceException {
  return new CloudWatchServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'Rate exceeded' });
}

export function stackMissing(stack: string): CloudFormationServiceException {
  return new CloudFormationServiceException({ name: 'ValidationError', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: `Stack with id ${stack} does not exist` });
}

export function accessDenied(): CloudFormationServiceException {
  return new CloudFormationServiceException({
    name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 },
    message: 'User: arn:aws:iam::123456789012:user/ci is not authorized to perform: cloudformation:DescribeStacks',
  });
}

export function noCredentials(): Error {
  return Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError', tryNextLink: false });
}

/**
 * Metric values (period 60 s):
 * - web: 10 in service, CPU 40% (target 50), 500 req/min per target (target 1000) → needs 8 of 30: 73.3%.
 * - api: 20 in service, CPU 45%, 2250 req/min per target (target 1500) → needs 30 of 40: 25% (warn).
 * - database readers: 2 readers at 60% (target 70) → 1.71 of 5: 65.7%; writer 56% of 70% → 0.8 of 1: 20% (warn).
 * - cache: memory 60% of 80%, engine CPU 20% of 80% → 1.5 of 2 shards: 25% (warn).
 * - queue: 180 sent/min = 3/s × 2 s = 6 busy, backlog 120 → 4; needs 6 of 10 (GroupMaxSize): 40%.
 */
export function shopValues(q: QueryInfo): number | number[] | undefined {
  const asg = q.dims.AutoScalingGroupName ?? '';
  const tg = q.dims.TargetGroup ?? '';
  const api = asg.includes('ApiFleet') || tg.startsWith('targetgroup/api');
  const workers = asg.includes('JobsWorkers');
  switch (q.metric) {
    case 'AWS/AutoScaling/GroupInServiceInstances': return workers ? 6 : api ? 20 : 10;
    case 'AWS/AutoScaling/GroupMaxSize': return workers ? 10 : api ? 40 : 30;
    case 'AWS/EC2/CPUUtilization': return api ? 45 : 40;
    case 'AWS/ApplicationELB/RequestCountPerTarget': return api ? 2250 : 500;
    case 'AWS/ApplicationELB/RequestCount': return api ? 45_000 : 5000;
    case 'AWS/RDS/CPUUtilization': return q.dims.Role === 'READER' ? 60 : 56;
    case 'AWS/RDS/DatabaseConnections': return 420;
    case 'expr/DatabaseMemoryUsagePercentage': return 60;
    case 'expr/EngineCPUUtilization': return 20;
    case 'expr/Evictions': return 0;
    case 'expr/CacheHitRate': return 95;
    case 'expr/GetTypeCmds': return 600_000;
    case 'AWS/SQS/ApproximateNumberOfMessagesVisible': return q.dims.QueueName.includes('dlq') ? 0 : 120;
    case 'AWS/SQS/ApproximateAgeOfOldestMessage': return 30;
    case 'AWS/SQS/NumberOfMessagesSent': return 180;
    default: return undefined;
  }
}

