/**
 * Benchmark of `s2m report` over mocked AWS clients: 3 regions, about 10,000 metric queries, 3 hours at
 * 1-minute resolution (180 points per query). Asserts the report makes the minimum number of API calls
 * (one DescribeStacks per stack, ceil(queries / 500) GetMetricData per region) and measures its time.
 *
 *   npx tsx bench/report.bench.ts      → prints the numbers, writes .bench/report.json
 */
import { CloudFormationClient, DescribeStacksCommand, type DescribeStacksCommandInput } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, GetMetricDataCommand, type GetMetricDataCommandInput } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { MAX_QUERIES_PER_CALL, runReport, type CapacityConfig } from '../lib/capacity';
import { OutputKeys } from '../lib/outputs';

const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-1'];
const SERVICES = 20;
const SHARDS = 16;
const QUEUES = 531;
const ITERATIONS = 7;
const SINCE_SECONDS = 3 * 3600;

const config: CapacityConfig = {
  name: 'bench',
  regions: REGIONS,
  services: Array.from({ length: SERVICES }, (_, i) => ({ name: `svc${i}`, minCapacity: 3, maxCapacity: 100, targetCpuPercent: 50, targetRequestsPerInstance: 1000 })),
  database: { readers: 2, maxReaders: 15, readerLimit: 15, shards: SHARDS, targetReaderCpuPercent: 70, writerCpuLimitPercent: 70 },
  cache: { shards: 4, replicasPerShard: 2, nodeType: 'cache.r7g.large', memoryTargetPercent: 80, engineCpuTargetPercent: 80 },
  queues: Array.from({ length: QUEUES }, (_, i) => ({ name: `q${i}`, acceptableLatencySeconds: 60, averageProcessingSeconds: 1, maxWorkers: 20 })),
};

function outputs(region: string, stack: string): Record<string, string> {
  const o: Record<string, string> = {};
  if (stack.includes('-app-')) {
    o[OutputKeys.loadBalancerFullName] = `app/bench-${region}/1`;
    for (const s of config.services) {
      o[OutputKeys.fleetName(s.name)] = `asg-${s.name}`;
      o[OutputKeys.targetGroupFullName(s.name)] = `targetgroup/${s.name}/1`;
    }
    for (const q of config.queues) o[OutputKeys.workerFleetName(q.name)] = `workers-${q.name}`;
  } else {
    for (let i = 0; i < SHARDS; i++) o[OutputKeys.databaseClusterId(`shard${i}`)] = `bench-db-${i}`;
    o[OutputKeys.cacheReplicationGroupId] = 'bench-cache';
    for (const q of config.queues) {
      o[OutputKeys.queueName(q.name)] = `bench-${q.name}`;
      o[OutputKeys.deadLetterQueueName(q.name)] = `bench-${q.name}-dlq`;
    }
  }
  return o;
}

/** Mocked clients per region; every GetMetricData query gets 180 points. */
function mocks() {
  const cfn: Record<string, CloudFormationClient> = {};
  const cw: Record<string, CloudWatchClient> = {};
  const stubs = REGIONS.map((region) => {
    cfn[region] = new CloudFormationClient({ region });
    cw[region] = new CloudWatchClient({ region });
    const cfnStub = mockClient(cfn[region]);
    const cwStub = mockClient(cw[region]);
    cfnStub.on(DescribeStacksCommand).callsFake((input: DescribeStacksCommandInput) => ({
      Stacks: [{ StackName: input.StackName, StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(), Outputs: Object.entries(outputs(region, input.StackName!)).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })) }],
    }));
    cwStub.on(GetMetricDataCommand).callsFake((input: GetMetricDataCommandInput) => {
      const points = Math.round((new Date(input.EndTime!).getTime() - new Date(input.StartTime!).getTime()) / 60_000);
      const start = new Date(input.StartTime!).getTime();
      const timestamps = Array.from({ length: points }, (_, i) => new Date(start + i * 60_000));
      const values = Array.from({ length: points }, (_, i) => 30 + 20 * Math.sin(i / 15));
      return { MetricDataResults: input.MetricDataQueries!.map((q) => ({ Id: q.Id, StatusCode: 'Complete', Timestamps: timestamps, Values: values })) };
    });
    return { region, cfnStub, cwStub };
  });
  return { cfn, cw, stubs };
}

async function main(): Promise<void> {
  const m = mocks();
  const deps = {
    cloudFormation: (r: string) => m.cfn[r],
    cloudWatch: (r: string) => m.cw[r],
    clock: { now: () => new Date('2026-11-25T12:00:00Z'), sleep: async () => undefined },
  };
  const times: number[] = [];
  const cpu: number[] = [];
  let last: Awaited<ReturnType<typeof runReport>> | undefined;
  for (let i = 0; i < ITERATIONS; i++) {
    for (const s of m.stubs) {
      s.cfnStub.resetHistory();
      s.cwStub.resetHistory();
    }
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    last = await runReport(config, deps, { sinceSeconds: SINCE_SECONDS });
    times.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  const report = last!;

  // The minimum: one DescribeStacks per stack (app + data per region), ceil(queries / 500) GetMetricData per region.
  const perRegion = report.regions.map((r) => {
    const s = m.stubs.find((x) => x.region === r.region)!;
    return {
      region: r.region,
      queries: r.apiCalls.metricQueries,
      describeStacks: s.cfnStub.commandCalls(DescribeStacksCommand).length,
      getMetricData: s.cwStub.commandCalls(GetMetricDataCommand).length,
      minimumGetMetricData: Math.ceil(r.apiCalls.metricQueries / MAX_QUERIES_PER_CALL),
    };
  });
  const failures: string[] = [];
  for (const r of perRegion) {
    if (r.describeStacks !== 2) failures.push(`${r.region}: ${r.describeStacks} DescribeStacks, expected 2`);
    if (r.getMetricData !== r.minimumGetMetricData) failures.push(`${r.region}: ${r.getMetricData} GetMetricData, expected ${r.minimumGetMetricData}`);
  }
  const totalQueries = perRegion.reduce((n, r) => n + r.queries, 0);
  const sorted = [...times].sort((a, b) => a - b);
  const cpuSorted = [...cpu].sort((a, b) => a - b);
  const result = {
    regions: REGIONS.length,
    metricQueries: totalQueries,
    pointsPerQuery: SINCE_SECONDS / report.window.periodSeconds,
    apiCalls: {
      describeStacks: perRegion.reduce((n, r) => n + r.describeStacks, 0),
      getMetricData: perRegion.reduce((n, r) => n + r.getMetricData, 0),
      minimumDescribeStacks: 2 * REGIONS.length,
      minimumGetMetricData: perRegion.reduce((n, r) => n + r.minimumGetMetricData, 0),
    },
    perRegion,
    timeMs: { iterations: ITERATIONS, min: round(sorted[0]), median: round(sorted[Math.floor(sorted.length / 2)]), max: round(sorted[sorted.length - 1]), firstRun: round(times[0]) },
    cpuMs: { median: round(cpuSorted[Math.floor(cpuSorted.length / 2)]), min: round(cpuSorted[0]) },
    tiersReported: report.regions.reduce((n, r) => n + r.tiers.length, 0),
    node: process.version,
    date: new Date().toISOString(),
  };
  const dir = join(__dirname, '..', '.bench');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'report.json'), `${JSON.stringify({ ...result, ok: failures.length === 0, failures }, null, 2)}\n`);

  console.log(`s2m report over mocked clients: ${result.regions} regions, ${totalQueries} metric queries × ${result.pointsPerQuery} points, ${result.tiersReported} tier rows`);
  console.log(`API calls: ${result.apiCalls.describeStacks} DescribeStacks (minimum ${result.apiCalls.minimumDescribeStacks}), ${result.apiCalls.getMetricData} GetMetricData (minimum ${result.apiCalls.minimumGetMetricData})`);
  for (const r of perRegion) console.log(`  ${r.region}: ${r.queries} queries → ${r.getMetricData} GetMetricData (ceil(${r.queries}/500) = ${r.minimumGetMetricData}), ${r.describeStacks} DescribeStacks`);
  console.log(`time: median ${result.timeMs.median} ms, min ${result.timeMs.min} ms, max ${result.timeMs.max} ms over ${ITERATIONS} runs (first run ${result.timeMs.firstRun} ms); CPU median ${result.cpuMs.median} ms`);
  console.log(`wrote .bench/report.json`);
  if (failures.length) {
    console.error(`FAIL: not the minimum of API calls:\n  ${failures.join('\n  ')}`);
    process.exitCode = 1;
  }
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
