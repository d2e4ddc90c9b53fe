import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetMetricDataCommand, type GetMetricDataCommandInput } from '@aws-sdk/client-cloudwatch';
import { describe, expect, it } from 'vitest';
import type { CapacityConfig } from '../../../lib/capacity/config-view';
import { CliError, ExitCode } from '../../../lib/capacity/errors';
import { evaluateRegion, runReport, type CapacityReport, type TierReport } from '../../../lib/capacity/report';
import { stackNames } from '../../../lib/app';
import { isSizingField } from '../../../lib/config';
import { cliStackNames } from '../../../lib/capacity/stacks';
import { accessDenied, metricResponder, mockAws, noCredentials, shopValues, stackMissing, throttling, webOnlyOutputs } from './helpers';

const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-1'];

/** Every tier of the `shop` app, as the config will describe them once the tiers merge. */
const CONFIG: CapacityConfig = {
  name: 'shop',
  regions: REGIONS,
  services: [
    { name: 'web', minCapacity: 3, maxCapacity: 30, targetCpuPercent: 50, targetRequestsPerInstance: 1000 },
    { name: 'api', minCapacity: 3, maxCapacity: 40, targetCpuPercent: 50, targetRequestsPerInstance: 1500 },
  ],
  database: { readers: 2, maxReaders: 5, readerLimit: 15, shards: 1, targetReaderCpuPercent: 70, writerCpuLimitPercent: 70 },
  cache: { shards: 2, replicasPerShard: 2, nodeType: 'cache.r7g.large', memoryTargetPercent: 80, engineCpuTargetPercent: 80 },
  queues: [{ name: 'jobs', acceptableLatencySeconds: 60, averageProcessingSeconds: 2, maxWorkers: 8 }],
};

function tier(report: CapacityReport, region: string, resource: string): TierReport {
  const t = report.regions.find((r) => r.region === region)?.tiers.find((x) => x.resource === resource);
  if (!t) throw new Error(`no tier ${resource} in ${region}`);
  return t;
}

describe('report over every tier (mocked CloudFormation and CloudWatch)', () => {
  it('computes load, utilization, headroom, bottleneck and recommendations per tier', async () => {
    const aws = mockAws(REGIONS, shopValues);
    const report = await runReport(CONFIG, aws.deps, { sinceSeconds: 3 * 3600 });

    const web = tier(report, 'us-east-1', 'web');
    expect(web.load).toEqual({ metric: 'requests', unit: 'req/s', current: 83.33, peak: 83.33 });
    expect(web.capacity).toEqual({ unit: 'instances', current: 10, needed: 8, max: 30 });
    expect(web.utilization).toEqual([
      { metric: 'cpu', value: 40, target: 50, ratio: 0.8, unit: '%' },
      { metric: 'requestsPerInstance', value: 500, target: 1000, ratio: 0.5, unit: 'req/min' },
    ]);
    expect(web.headroomPercent).toBe(73.3);
    expect(web.growthFactor).toBe(3.75);
    expect(web.status).toBe('ok');

    const api = tier(report, 'eu-west-1', 'api');
    expect(api.capacity.needed).toBe(30);
    expect(api.headroomPercent).toBe(25);
    expect(api.status).toBe('warn');

    const readers = tier(report, 'us-east-1', 'shop-db-us-east-1 readers');
    expect(readers.capacity).toEqual({ unit: 'readers', current: 2, needed: 1.71, max: 5 });
    expect(readers.headroomPercent).toBe(65.7);
    const writer = tier(report, 'us-east-1', 'shop-db-us-east-1 writer');
    expect(writer.headroomPercent).toBe(20);

    const cache = tier(report, 'us-east-1', 'shop-cache-us-east-1');
    expect(cache.capacity).toEqual({ unit: 'shards', current: 2, needed: 1.5, max: 2 });
    expect(cache.headroomPercent).toBe(25);
    expect(cache.load.current).toBe(10_000);
    expect(cache.notes).toContain('hit rate 95%');

    const jobs = tier(report, 'us-east-1', 'jobs');
    expect(jobs.capacity).toEqual({ unit: 'workers', current: 6, needed: 6, max: 10 });
    expect(jobs.headroomPercent).toBe(40);
    expect(jobs.utilization[0]).toEqual({ metric: 'backlogPerWorker', value: 20, target: 30, ratio: 0.667, unit: 'msg' });

    // THEN the database writer (20%) is the bottleneck, everywhere
    expect(report.regions.map((r) => r.bottleneck?.resource)).toEqual(REGIONS.map((r) => `shop-db-${r} writer`));
    expect(report.bottleneck).toEqual({ region: 'us-east-1', tier: 'database', resource: 'shop-db-us-east-1 writer', headroomPercent: 20 });
    const us = report.recommendations.filter((r) => r.region === 'us-east-1');
    expect(us.map((r) => [r.action, r.field, r.from, r.to])).toEqual([
      ['raise-max', 'services[api].maxCapacity', 40, 43],
      ['add-shard', 'database.shards', 1, 2],
      ['add-cache-shards', 'cache.shards', 2, 3],
    ]);
    // AND every field recommended is a sizing field of the config (one the validator accepts and plan writes)
    for (const r of report.recommendations) expect(isSizingField(r.field), r.field).toBe(true);
  });

  it('holds a Global Database secondary\'s readers at database.readers (Aurora does not autoscale them) and recommends raising that', async () => {
    // GIVEN readers peaking at 90% CPU in every region, and a Global Database written in us-east-1
    const aws = mockAws(REGIONS, (q) => (q.metric === 'AWS/RDS/CPUUtilization' && q.dims.Role === 'READER' ? 90 : shopValues(q)));
    const report = await runReport({ ...CONFIG, database: { ...CONFIG.database!, readersField: 'database.readers' }, globalDatabaseWriterRegion: 'us-east-1' }, aws.deps, { sinceSeconds: 3 * 3600 });
    // THEN in the writer's region the 2.57 readers the peak needs fit autoscaling's 5: nothing to add
    expect(tier(report, 'us-east-1', 'shop-db-us-east-1 readers').capacity).toMatchObject({ current: 2, needed: 2.57, max: 5 });
    expect(report.recommendations.filter((r) => r.region === 'us-east-1' && r.action === 'add-reader')).toEqual([]);
    // AND a secondary holds its 2 readers, says why, and is told to raise database.readers (not maxReaders, which does
    // nothing there)
    const secondary = tier(report, 'eu-west-1', 'shop-db-eu-west-1 readers');
    expect(secondary.capacity).toMatchObject({ current: 2, needed: 2.57, max: 2 });
    expect(secondary.notes).toEqual([expect.stringMatching(/a Global Database secondary, whose readers Aurora does not autoscale/)]);
    expect(report.recommendations.filter((r) => r.region === 'eu-west-1' && r.action === 'add-reader')).toEqual([expect.objectContaining({ field: 'database.readers', from: 2 })]);
  });

  it('makes the minimum of API calls: one DescribeStacks per stack, ceil(queries / 500) GetMetricData per region', async () => {
    const aws = mockAws(REGIONS, shopValues);
    const report = await runReport(CONFIG, aws.deps, { sinceSeconds: 3600 });
    for (const region of REGIONS) {
      expect(aws.cfn[region]).toHaveReceivedCommandTimes(DescribeStacksCommand, 2);
      expect(aws.cfn[region]).toHaveReceivedCommandWith(DescribeStacksCommand, { StackName: `shop-app-${region}` });
      expect(aws.cfn[region]).toHaveReceivedCommandWith(DescribeStacksCommand, { StackName: `shop-data-${region}` });
      expect(aws.cw[region]).toHaveReceivedCommandTimes(GetMetricDataCommand, 1);
    }
    // 2 services × 5 + 3 database + 5 cache + 6 queue = 24 queries per region
    expect(report.apiCalls).toEqual({ describeStacks: 6, getMetricData: 3, metricQueries: 72 });
  });

  it('reads the regions in parallel', async () => {
    // GIVEN DescribeStacks answers only once every region has asked (a barrier): sequential regions would never finish
    const aws = mockAws(REGIONS, shopValues);
    const waiting: Array<() => void> = [];
    const arrived = new Set<string>();
    for (const region of REGIONS) {
      aws.cfn[region].on(DescribeStacksCommand).callsFake(async (input: { StackName: string }) => {
        arrived.add(region);
        if (arrived.size < REGIONS.length) await new Promise<void>((resolve, reject) => {
          waiting.push(resolve);
          setTimeout(() => reject(new Error(`regions were read one after the other (only ${[...arrived].join(', ')} asked)`)), 2000);
        });
        else waiting.splice(0).forEach((w) => w());
        return { Stacks: [{ StackName: input.StackName, StackStatus: 'CREATE_COMPLETE', CreationTime: new Date(), Outputs: [] }] };
      });
    }
    const report = await runReport({ ...CONFIG, database: undefined, cache: undefined, queues: [] }, aws.deps, { sinceSeconds: 3600 });
    expect(report.regions.map((r) => r.region)).toEqual(REGIONS);
  });

  it('batches 500 queries per call and follows NextToken', async () => {
    // GIVEN 120 services (600 web queries) in one region, and CloudWatch paginating the first batch
    const services = Array.from({ length: 120 }, (_, i) => ({ name: `svc${i}`, minCapacity: 1, maxCapacity: 10, targetCpuPercent: 50, targetRequestsPerInstance: 1000 }));
    const outputs = (region: string, stack: string): Record<string, string> => {
      if (stack.includes('-data-')) return {};
      const o: Record<string, string> = { LoadBalancerFullName: 'app/lb/1' };
      for (const s of services) Object.assign(o, { [`FleetNameSvc${s.name.slice(3)}`]: `asg-${s.name}-${region}`, [`TargetGroupFullNameSvc${s.name.slice(3)}`]: `targetgroup/${s.name}/1` });
      return o;
    };
    const aws = mockAws(['eu-west-1'], () => 1, outputs);
    const full = metricResponder('eu-west-1', (q) => (q.metric === 'AWS/EC2/CPUUtilization' ? [10, 20, 30, 40, 50] : q.metric.includes('InService') ? 4 : 10));
    aws.cw['eu-west-1'].on(GetMetricDataCommand)
      .callsFakeOnce((input: GetMetricDataCommandInput) => {
        // page 1: the first three points of every query
        const r = full(input);
        return { MetricDataResults: r.MetricDataResults!.map((m) => ({ ...m, Values: m.Values!.slice(0, 3), Timestamps: m.Timestamps!.slice(0, 3) })), NextToken: 'page-2' };
      })
      .callsFakeOnce((input: GetMetricDataCommandInput) => {
        const r = full(input);
        return { MetricDataResults: r.MetricDataResults!.map((m) => ({ ...m, Values: m.Values!.slice(3), Timestamps: m.Timestamps!.slice(3) })) };
      })
      .callsFake(full);
    const report = await runReport({ ...CONFIG, regions: ['eu-west-1'], services, database: undefined, cache: undefined, queues: [] }, aws.deps, { sinceSeconds: 3600 });

    const cw = aws.cw['eu-west-1'];
    expect(cw).toHaveReceivedCommandTimes(GetMetricDataCommand, 3);
    const calls = cw.commandCalls(GetMetricDataCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => c.MetricDataQueries!.length)).toEqual([500, 500, 100]);
    expect(calls[1].NextToken).toBe('page-2');
    expect(calls[0].NextToken).toBeUndefined();
    // the peak CPU (50%) came on page 2: 4 instances × 50/50 = 4 needed of 10
    const svc0 = tier(report, 'eu-west-1', 'svc0');
    expect(svc0.utilization[0].value).toBe(50);
    expect(svc0.capacity.needed).toBe(4);
    expect(svc0.headroomPercent).toBe(60);
    expect(report.apiCalls).toEqual({ describeStacks: 2, getMetricData: 3, metricQueries: 600 });
  });

  it('retries throttling with exponential backoff and jitter, then succeeds', async () => {
    const aws = mockAws(['us-east-1'], shopValues);
    aws.cw['us-east-1'].on(GetMetricDataCommand)
      .rejectsOnce(throttling('ThrottlingException'))
      .rejectsOnce(throttling('Throttling'))
      .rejectsOnce(Object.assign(throttling('SomethingElse'), { $metadata: { httpStatusCode: 429 } }))
      .callsFake(metricResponder('us-east-1', shopValues));
    aws.cfn['us-east-1'].on(DescribeStacksCommand)
      .rejectsOnce(throttling('TooManyRequestsException'))
      .callsFake((input: { StackName: string }) => ({
        Stacks: [{
          StackName: input.StackName, StackStatus: 'CREATE_COMPLETE', CreationTime: new Date(),
          Outputs: Object.entries(webOnlyOutputs('us-east-1', input.StackName)).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
        }],
      }));
    const report = await runReport({ ...CONFIG, regions: ['us-east-1'], database: undefined, cache: undefined, queues: [] }, aws.deps, { sinceSeconds: 3600 });
    expect(aws.cw['us-east-1']).toHaveReceivedCommandTimes(GetMetricDataCommand, 4);
    // full jitter with random 0.5: 125, 250, 500 ms for GetMetricData; 125 ms for the throttled DescribeStacks
    expect([...aws.sleeps].sort((a, b) => a - b)).toEqual([125, 125, 250, 500]);
    // retries are counted: 1 + 1 DescribeStacks retry, 1 + 3 GetMetricData attempts
    expect(report.apiCalls).toEqual({ describeStacks: 3, getMetricData: 4, metricQueries: 10 });
    expect(tier(report, 'us-east-1', 'web').headroomPercent).toBe(73.3);
  });

  it('fails with exit code "throttled" after the last attempt', async () => {
    const aws = mockAws(['us-east-1'], shopValues);
    aws.cw['us-east-1'].on(GetMetricDataCommand).rejects(throttling());
    const err = await runReport({ ...CONFIG, regions: ['us-east-1'] }, aws.deps, { sinceSeconds: 3600, maxAttempts: 3 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(ExitCode.throttled);
    expect((err as CliError).message).toMatch(/still throttled after retries \(cloudwatch:GetMetricData in us-east-1/);
    expect(aws.cw['us-east-1']).toHaveReceivedCommandTimes(GetMetricDataCommand, 3);
  });

  it('reports "no data" for missing data points, never 0', async () => {
    // GIVEN CloudWatch returns no points for the api fleet's CPU and requests, and none for the cache
    const aws = mockAws(['us-east-1'], (q) => {
      const api = (q.dims.AutoScalingGroupName ?? '').includes('ApiFleet') || (q.dims.TargetGroup ?? '').startsWith('targetgroup/api');
      if (api && q.metric !== 'AWS/AutoScaling/GroupInServiceInstances' && q.metric !== 'AWS/AutoScaling/GroupMaxSize') return [];
      if (q.metric.startsWith('expr/')) return undefined;
      return shopValues(q);
    });
    const report = await runReport({ ...CONFIG, regions: ['us-east-1'] }, aws.deps, { sinceSeconds: 3600 });
    const api = tier(report, 'us-east-1', 'api');
    expect(api.load).toEqual({ metric: 'requests', unit: 'req/s', current: null, peak: null });
    expect(api.utilization.map((u) => u.value)).toEqual([null, null]);
    expect(api.headroomPercent).toBeNull();
    expect(api.status).toBe('no-data');
    expect(api.notes).toContain('no data in the window');
    const cache = tier(report, 'us-east-1', 'shop-cache-us-east-1');
    expect(cache.status).toBe('no-data');
    expect(cache.capacity.needed).toBeNull();
    // no-data tiers are never the bottleneck and get no recommendation
    expect(report.bottleneck?.resource).toBe('shop-db-us-east-1 writer');
    expect(report.recommendations.map((r) => r.resource)).not.toContain('api');
  });

  it('fails with one line and exit code "stack missing" when a stack does not exist', async () => {
    const aws = mockAws(REGIONS, shopValues);
    aws.cfn['eu-west-1'].on(DescribeStacksCommand, { StackName: 'shop-data-eu-west-1' }).rejects(stackMissing('shop-data-eu-west-1'));
    const err = (await runReport(CONFIG, aws.deps, { sinceSeconds: 3600 }).catch((e: unknown) => e)) as CliError;
    expect(err.exitCode).toBe(ExitCode.stackMissing);
    expect(err.message).toBe('stack shop-data-eu-west-1 does not exist in eu-west-1: deploy it first (npx cdk deploy shop-data-eu-west-1) or check --config');
    // a missing stack is not retried: one call per stack
    expect(aws.cfn['eu-west-1']).toHaveReceivedCommandTimes(DescribeStacksCommand, 2);
  });

  it('fails with exit code "access denied" and "credentials"', async () => {
    const denied = mockAws(['us-east-1'], shopValues);
    denied.cfn['us-east-1'].on(DescribeStacksCommand).rejects(accessDenied());
    const e1 = (await runReport({ ...CONFIG, regions: ['us-east-1'] }, denied.deps, { sinceSeconds: 3600 }).catch((e: unknown) => e)) as CliError;
    expect(e1.exitCode).toBe(ExitCode.accessDenied);
    expect(e1.message).toMatch(/^access denied: cloudformation:DescribeStacks in us-east-1 is not allowed/);
    // access denied is not retried
    expect(denied.cfn['us-east-1']).toHaveReceivedCommandTimes(DescribeStacksCommand, 2);

    const anonymous = mockAws(['us-east-1'], shopValues);
    anonymous.cw['us-east-1'].on(GetMetricDataCommand).rejects(noCredentials());
    const e2 = (await runReport({ ...CONFIG, regions: ['us-east-1'] }, anonymous.deps, { sinceSeconds: 3600 }).catch((e: unknown) => e)) as CliError;
    expect(e2.exitCode).toBe(ExitCode.credentials);
    expect(e2.message).toMatch(/^no AWS credentials found \(cloudwatch:GetMetricData in us-east-1\)/);
  });

  it('warns about configured tiers the stacks do not output, and reads what they do', async () => {
    const aws = mockAws(['us-east-1'], shopValues, webOnlyOutputs);
    const report = await runReport({ ...CONFIG, regions: ['us-east-1'] }, aws.deps, { sinceSeconds: 3600 });
    expect(report.regions[0].tiers.map((t) => t.resource)).toEqual(['web', 'api']);
    expect(report.regions[0].warnings).toEqual([
      'database: shop-data-us-east-1 has no output DatabaseClusterId (not deployed yet?)',
      'cache: shop-data-us-east-1 has no output CacheReplicationGroupId (not deployed yet?)',
      'queue jobs: shop-data-us-east-1 has no output QueueNameJobs (not deployed yet?)',
    ]);
    expect(report.apiCalls.metricQueries).toBe(10);
  });

  it('names the stacks like the reference app does', () => {
    expect(cliStackNames.app('shop', 'eu-west-1')).toBe(stackNames.app('shop', 'eu-west-1'));
    expect(cliStackNames.data('shop', 'eu-west-1')).toBe(stackNames.data('shop', 'eu-west-1'));
    expect(cliStackNames.edge('shop')).toBe(stackNames.edge('shop'));
  });
});

describe('evaluateRegion (pure)', () => {
  const series = (v: number) => ({ timestamps: [1, 2, 3], values: [v * 0.5, v, v * 0.75] });
  const database = (readers: number, maxReaders: number, readerLimit: number) => ({ readers, maxReaders, readerLimit, shards: 1, targetReaderCpuPercent: 70, writerCpuLimitPercent: 70 });
  const targets = (readers: number, maxReaders: number, readerLimit = 15) => ({ web: [], databases: [{ clusterId: 'db', shard: '', database: database(readers, maxReaders, readerLimit) }], queues: [], warnings: [] });

  it('recommends adding readers while they fit in one cluster, at the peak of the window', () => {
    // 4 readers peaking at 63% CPU (target 70) need 3.6 of 5: 28% headroom
    const { tiers, recommendations } = evaluateRegion('eu-west-1', targets(4, 5), new Map([['db/db/readerCpu', series(63)], ['db/db/writerCpu', series(10)]]), 60);
    expect(tiers[0]).toMatchObject({ resource: 'db readers', headroomPercent: 28, status: 'warn', capacity: { needed: 3.6, max: 5 } });
    expect(recommendations).toEqual([expect.objectContaining({ action: 'add-reader', field: 'database.autoScaling.maxReaders', from: 5, to: 6 })]);
    // AND a cluster whose readers are fixed (no reader autoscaling) is told to raise them
    const fixed = { ...targets(4, 5), databases: [{ clusterId: 'db', shard: '', database: { ...database(4, 5, 15), maxReadersField: 'database.readers' } }] };
    expect(evaluateRegion('eu-west-1', fixed, new Map([['db/db/readerCpu', series(63)], ['db/db/writerCpu', series(10)]]), 60).recommendations)
      .toEqual([expect.objectContaining({ action: 'add-reader', field: 'database.readers', message: expect.stringContaining('raise database.readers from 5 to 6') })]);
  });

  it('recommends raising a queue\'s workers.maxCapacity, the field the config has', () => {
    // 9 messages/s (540 a minute at the peak) × 2 s a job = 18 busy workers of 20: 10% headroom
    const queue = { name: 'jobs', acceptableLatencySeconds: 60, averageProcessingSeconds: 2, maxWorkers: 20 };
    const t = { web: [], databases: [], queues: [{ queue, queueName: 'q', workerFleetName: 'w' }], warnings: [] };
    const { recommendations } = evaluateRegion('eu-west-1', t, new Map([['queue/jobs/sent', { timestamps: [1, 2, 3], values: [270, 540, 405] }]]), 60);
    expect(recommendations).toEqual([expect.objectContaining({
      action: 'raise-worker-max', field: 'queues[jobs].workers.maxCapacity', from: 20, to: 26,
      message: expect.stringMatching(/^raise queues\[jobs\]\.workers\.maxCapacity from 20 to 26/),
    })]);
    expect(isSizingField(recommendations[0].field)).toBe(true);
  });

  it('recommends a shard when reads need more readers than Aurora allows', () => {
    // 12 readers at 70% need 12 of 14; restoring 30% headroom needs 18 > 15
    const { recommendations } = evaluateRegion('eu-west-1', targets(12, 14), new Map([['db/db/readerCpu', series(70)], ['db/db/writerCpu', series(10)]]), 60);
    expect(recommendations).toEqual([expect.objectContaining({ action: 'add-shard', field: 'database.shards', from: 1, to: 2 })]);
  });

  it('says that an autoscaled cluster\'s count is the config\'s, a lower bound, and takes autoscaling\'s maximum as the cache\'s limit', () => {
    // readers: the config's 2 of up to 8 (the report reads metrics, not the running count)
    const { tiers } = evaluateRegion('eu-west-1', targets(2, 8), new Map([['db/db/readerCpu', series(60)], ['db/db/writerCpu', series(10)]]), 60);
    expect(tiers[0]).toMatchObject({ capacity: { current: 2, max: 8 } });
    expect(tiers[0]!.notes).toEqual([expect.stringMatching(/config \(database\.readers: 2\); autoscaling may have run up to 8, and with more running at the peak, more are needed than shown/)]);
    // cache: its limit is autoscaling's maxShards, which a recommendation raises (not cache.shards)
    const cache = { shards: 2, maxShards: 3, replicasPerShard: 1, nodeType: 'cache.r7g.large', memoryTargetPercent: 70, engineCpuTargetPercent: 80 };
    const t = { web: [], databases: [], queues: [], warnings: [], cache: { cache, replicationGroupId: 'rg' } };
    const out = evaluateRegion('eu-west-1', t as never, new Map([['cache/memory', series(95)], ['cache/engineCpu', series(20)]]), 60);
    expect(out.tiers[0]).toMatchObject({ tier: 'cache', capacity: { current: 2, max: 3 } });
    expect(out.recommendations).toEqual([expect.objectContaining({ action: 'add-cache-shards', field: 'cache.autoScaling.maxShards', from: 3 })]);
  });

  it('counts a global database\'s secondaries against the readers a cluster may have', () => {
    // 9 readers at 70% need 9; 30% headroom needs 13: fits Aurora's 15, not the 12 left beside 3 secondaries
    const metrics = new Map([['db/db/readerCpu', series(70)], ['db/db/writerCpu', series(10)]]);
    expect(evaluateRegion('eu-west-1', targets(9, 10), metrics, 60).recommendations).toEqual([expect.objectContaining({ action: 'add-reader', to: 13 })]);
    const global = evaluateRegion('eu-west-1', targets(9, 10, 12), metrics, 60).recommendations;
    expect(global).toEqual([expect.objectContaining({ action: 'add-shard', field: 'database.shards', from: 1, to: 2 })]);
    expect(global[0]?.message).toMatch(/more than the 12 a cluster may have/);
  });
});
