/**
 * `s2m report`: reads every region's stack outputs and metrics (regions in parallel) and turns them into
 * per-tier load, utilization against the scaling target, headroom, the bottleneck and recommendations.
 * The JSON form of {@link CapacityReport} is the CLI's stable `--json` schema (docs/capacity.md).
 */
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { SIZING, formatConfigPath } from '../config';
import { secondaryClusterView, type CapacityConfig } from './config-view';
import { metricWindow, type MetricWindow } from './duration';
import {
  HEADROOM_GOAL,
  backlogUtilization,
  bottleneck,
  cacheShardsNeeded,
  headroom,
  readersNeeded,
  recommendedMax,
  statusOf,
  webInstancesNeeded,
  workersNeeded,
  writerShardsNeeded,
  type TierStatus,
} from './headroom';
import { NO_DATA, fetchMetrics, latest, peak, scale, valueAt, type Series } from './metrics';
import { MetricKeys, buildQueries, discoverTargets, type RegionTargets } from './queries';
import type { Clock, RetryOptions } from './retry';
import { cliStackNames, readStackOutputs } from './stacks';

/** The version of the `--json` schema; bumped only on breaking changes. */
export const REPORT_SCHEMA_VERSION = 1;

/** The tiers a report covers. */
export type TierKind = 'web' | 'database' | 'cache' | 'queue';

/** What a recommendation asks for. */
export type RecommendationAction = 'raise-max' | 'add-reader' | 'add-shard' | 'add-cache-shards' | 'raise-worker-max';

/** A signal against its scaling target. */
export interface Utilization {
  /** e.g. `cpu`, `requestsPerInstance`, `readerCpu`, `memory`, `backlogPerWorker`. */
  readonly metric: string;
  /** The value at the window's peak (`null`: no data). */
  readonly value: number | null;
  /** The scaling target (or ceiling) of the signal, in the same unit. */
  readonly target: number;
  /** `value / target` (`null`: no data). */
  readonly ratio: number | null;
  readonly unit: string;
}

/** One resource of one tier in one region. */
export interface TierReport {
  readonly region: string;
  readonly tier: TierKind;
  /** The service, cluster (with ` readers`/` writer`), replication group or queue. */
  readonly resource: string;
  /** The load: newest value and the window's peak (`null`: no data, never 0). */
  readonly load: { readonly metric: string; readonly unit: string; readonly current: number | null; readonly peak: number | null };
  readonly utilization: readonly Utilization[];
  /** Units (instances, readers, shards, workers): in service now, needed at the target at the peak, the maximum. */
  readonly capacity: { readonly unit: string; readonly current: number | null; readonly needed: number | null; readonly max: number | null };
  /** Percent of the maximum still unused at the peak, `100 × (1 - needed / max)`; `null`: no data. */
  readonly headroomPercent: number | null;
  /** `max / needed`: how many times the peak load may grow; `null` without data or load. */
  readonly growthFactor: number | null;
  readonly status: TierStatus;
  readonly notes: readonly string[];
}

/** A change that restores headroom. */
export interface Recommendation {
  readonly region: string;
  readonly tier: TierKind;
  readonly resource: string;
  readonly action: RecommendationAction;
  /** The config field to change, e.g. `services[api].maxCapacity` (a sizing field of lib/config/sizing.ts, so `s2m plan` and the validator know it). */
  readonly field: string;
  readonly from: number;
  readonly to: number;
  readonly message: string;
}

/** The bottleneck: the tier with least headroom. */
export interface Bottleneck {
  readonly region: string;
  readonly tier: TierKind;
  readonly resource: string;
  readonly headroomPercent: number;
}

/** One region's report. */
export interface RegionReport {
  readonly region: string;
  readonly stacks: readonly string[];
  readonly tiers: readonly TierReport[];
  readonly bottleneck: Bottleneck | null;
  readonly warnings: readonly string[];
  readonly apiCalls: ApiCalls;
}

/** AWS API calls made, retries included. */
export interface ApiCalls {
  readonly describeStacks: number;
  readonly getMetricData: number;
  /** Metric queries sent (each counted once, however many calls they took). */
  readonly metricQueries: number;
}

/** The whole report (`--json` prints it as is). */
export interface CapacityReport {
  readonly schemaVersion: typeof REPORT_SCHEMA_VERSION;
  readonly generatedAt: string;
  readonly name: string;
  readonly window: { readonly start: string; readonly end: string; readonly periodSeconds: number };
  readonly regions: readonly RegionReport[];
  readonly bottleneck: Bottleneck | null;
  readonly recommendations: readonly Recommendation[];
  readonly apiCalls: ApiCalls;
}

/** Where the report gets its AWS clients, time and progress output. */
export interface ReportDeps {
  /** A CloudFormation client for a region (called once per region). */
  readonly cloudFormation: (region: string) => CloudFormationClient;
  /** A CloudWatch client for a region (called once per region). */
  readonly cloudWatch: (region: string) => CloudWatchClient;
  readonly clock: Clock;
  /** Random in [0, 1) for retry jitter. @default Math.random */
  readonly random?: () => number;
  /** Progress messages (the CLI shows them on a terminal's stderr). @default - none */
  readonly progress?: (message: string) => void;
}

/** Options of {@link runReport}. */
export interface ReportOptions {
  /** The window, in seconds back from now. */
  readonly sinceSeconds: number;
  /** Only these regions. @default - every region of the config */
  readonly regions?: readonly string[];
  /** Retry attempts per call. @default 6 */
  readonly maxAttempts?: number;
}

/** Reads every region (in parallel) and builds the report. Throws `CliError` for AWS failures. */
export async function runReport(config: CapacityConfig, deps: ReportDeps, options: ReportOptions): Promise<CapacityReport> {
  const now = deps.clock.now();
  const window = metricWindow(now, options.sinceSeconds);
  const regions = options.regions ?? config.regions;
  const reports = await Promise.all(regions.map((region) => reportRegion(config, region, window, deps, options)));
  const all = reports.flatMap((r) => r.report.tiers);
  const worst = bottleneck(all.map((t) => ({ t, headroom: t.headroomPercent })));
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    generatedAt: now.toISOString(),
    name: config.name,
    window: { start: window.start.toISOString(), end: window.end.toISOString(), periodSeconds: window.periodSeconds },
    regions: reports.map((r) => r.report),
    bottleneck: worst ? toBottleneck(worst.t) : null,
    recommendations: reports.flatMap((r) => r.recommendations),
    apiCalls: {
      describeStacks: reports.reduce((n, r) => n + r.report.apiCalls.describeStacks, 0),
      getMetricData: reports.reduce((n, r) => n + r.report.apiCalls.getMetricData, 0),
      metricQueries: reports.reduce((n, r) => n + r.report.apiCalls.metricQueries, 0),
    },
  };
}

function toBottleneck(t: TierReport): Bottleneck {
  return { region: t.region, tier: t.tier, resource: t.resource, headroomPercent: t.headroomPercent as number };
}

async function reportRegion(config: CapacityConfig, region: string, window: MetricWindow, deps: ReportDeps, options: ReportOptions): Promise<{ report: RegionReport; recommendations: Recommendation[] }> {
  const retry = (what: string): RetryOptions => ({
    clock: deps.clock,
    ...(deps.random ? { random: deps.random } : {}),
    ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
    onRetry: (attempt, delay) => deps.progress?.(`${region}: ${what} throttled, retry ${attempt} in ${delay} ms`),
  });
  const appStack = cliStackNames.app(config.name, region);
  const dataStack = cliStackNames.data(config.name, region);
  deps.progress?.(`${region}: reading stacks ${appStack}, ${dataStack}`);
  const cfn = deps.cloudFormation(region);
  let stackCalls = 0;
  const countStackCall = (): void => void stackCalls++;
  const [app, data] = await Promise.all([
    readStackOutputs(cfn, region, appStack, retry('DescribeStacks'), countStackCall),
    readStackOutputs(cfn, region, dataStack, retry('DescribeStacks'), countStackCall),
  ]);
  const discovered = discoverTargets(config, app, data, appStack, dataStack);
  // A Global Database secondary does not autoscale its readers: its clusters hold `readers`.
  const secondary = config.globalDatabaseWriterRegion !== undefined && region !== config.globalDatabaseWriterRegion;
  const targets = secondary ? { ...discovered, databases: discovered.databases.map((d) => ({ ...d, database: secondaryClusterView(d.database), secondary: true })) } : discovered;
  const specs = buildQueries(targets, window.periodSeconds);
  let calls = 0;
  const series = specs.length === 0
    ? new Map<string, Series>()
    : await fetchMetrics(deps.cloudWatch(region), specs, {
      region,
      window,
      retry: retry('GetMetricData'),
      onCall: () => calls++,
      onBatch: (done, total) => deps.progress?.(`${region}: metrics ${done}/${total} (${specs.length} queries)`),
    });
  const { tiers, recommendations } = evaluateRegion(region, targets, series, window.periodSeconds);
  const worst = bottleneck(tiers.map((t) => ({ t, headroom: t.headroomPercent })));
  deps.progress?.(`${region}: done`);
  return {
    report: {
      region,
      stacks: [appStack, dataStack],
      tiers,
      bottleneck: worst ? toBottleneck(worst.t) : null,
      warnings: targets.warnings,
      apiCalls: { describeStacks: stackCalls, getMetricData: calls, metricQueries: specs.length },
    },
    recommendations,
  };
}

const pct = (h: number | null): number | null => (h === null ? null : round(h * 100, 1));

function round(v: number, digits = 2): number {
  if (!Number.isFinite(v)) return v;
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

const r2 = (v: number | null): number | null => (v === null ? null : round(v));

/** The timestamp and value of the largest `f(t)` over `timestamps`; `null` when `f` never has data. */
function peakOf(timestamps: readonly number[], f: (t: number) => number | null): { t: number; value: number } | null {
  let best: { t: number; value: number } | null = null;
  for (const t of timestamps) {
    const v = f(t);
    if (v !== null && (best === null || v > best.value)) best = { t, value: v };
  }
  return best;
}

function util(metric: string, value: number | null, target: number, unit: string): Utilization {
  return { metric, value: r2(value), target, ratio: value === null || !(target > 0) ? null : round(value / target, 3), unit };
}

/**
 * Pure: turns a region's series into tier reports and recommendations. Exported for tests and the
 * benchmark; `series` keys are {@link MetricKeys}.
 */
export function evaluateRegion(region: string, targets: RegionTargets, series: ReadonlyMap<string, Series>, periodSeconds: number): { tiers: TierReport[]; recommendations: Recommendation[] } {
  const get = (key: string): Series => series.get(key) ?? NO_DATA;
  const tiers: TierReport[] = [];
  const recs: Recommendation[] = [];
  const perSecond = 1 / periodSeconds;
  const perMinute = 60 / periodSeconds;

  for (const w of targets.web) {
    const s = w.service;
    const inService = get(MetricKeys.webInService(s.name));
    const cpu = get(MetricKeys.webCpu(s.name));
    const rpt = scale(get(MetricKeys.webRequestsPerTarget(s.name)), perMinute);
    const rps = scale(get(MetricKeys.webRequests(s.name)), perSecond);
    const max = latest(get(MetricKeys.webMaxSize(s.name))) ?? (s.maxCapacity > 0 ? s.maxCapacity : null);
    const top = peakOf(inService.timestamps, (t) => {
      const n = valueAt(inService, t);
      return n === null ? null : webInstancesNeeded({ inService: n, cpuPercent: valueAt(cpu, t), targetCpuPercent: s.targetCpuPercent, requestsPerInstancePerMinute: valueAt(rpt, t), targetRequestsPerInstance: s.targetRequestsPerInstance });
    });
    const h = top && max !== null ? headroom(top.value, max) : null;
    const notes: string[] = [];
    if (max === null) notes.push('maximum unknown: no GroupMaxSize data and no maxCapacity in the config');
    if (!w.targetGroupFullName) notes.push('no target group output: requests not read');
    const tier = tierReport(region, 'web', s.name, { metric: 'requests', unit: 'req/s', current: r2(latest(rps)), peak: r2(peak(rps)) }, [
      util('cpu', top ? valueAt(cpu, top.t) : peak(cpu), s.targetCpuPercent, '%'),
      util('requestsPerInstance', top ? valueAt(rpt, top.t) : peak(rpt), s.targetRequestsPerInstance, 'req/min'),
    ], { unit: 'instances', current: r2(latest(inService)), needed: r2(top?.value ?? null), max }, h, notes);
    tiers.push(tier);
    if (h && tier.status !== 'ok' && tier.status !== 'no-data' && max !== null) {
      const to = recommendedMax(h.needed, max + 1);
      const field = formatConfigPath(SIZING.service.maxCapacity(s.name));
      recs.push({ region, tier: 'web', resource: s.name, action: 'raise-max', field, from: max, to,
        message: `raise ${field} from ${max} to ${to} (the peak needs ${fmt(h.needed)} instances at the scaling target)` });
    }
  }

  for (const d of targets.databases) {
    const db = d.database;
    const secondary = d.secondary === true;
    const readerCpu = get(MetricKeys.dbReaderCpu(d.clusterId));
    const writerCpu = get(MetricKeys.dbWriterCpu(d.clusterId));
    const conns = get(MetricKeys.dbConnections(d.clusterId));
    const load = { metric: 'connections', unit: 'conn', current: r2(latest(conns)), peak: r2(peak(conns)) };
    const readerPeak = peak(readerCpu);
    // The config says how many readers there are at the least; with reader autoscaling more may have run at the peak,
    // and "needed" is then a lower bound (the report reads metrics, not the running count).
    const readersAtPeak = readerPeak === null ? null : readersNeeded(db.readers, readerPeak, db.targetReaderCpuPercent);
    const rh = readersAtPeak === null ? null : headroom(readersAtPeak, db.maxReaders);
    const readers = tierReport(region, 'database', `${d.clusterId} readers`, load, [util('readerCpu', readerPeak, db.targetReaderCpuPercent, '%')],
      { unit: 'readers', current: db.readers, needed: r2(readersAtPeak), max: db.maxReaders }, rh,
      [secondary
        ? `reader count from the config (database.readers: ${db.readers}): a Global Database secondary, whose readers Aurora does not autoscale`
        : db.maxReaders > db.readers
          ? `reader count from the config (database.readers: ${db.readers}); autoscaling may have run up to ${db.maxReaders}, and with more running at the peak, more are needed than shown`
          : 'reader count from the config (database.readers)']);
    tiers.push(readers);
    if (rh && readers.status !== 'ok') {
      const to = recommendedMax(rh.needed, db.maxReaders + 1);
      if (to <= db.readerLimit) {
        const field = db.maxReadersField ?? formatConfigPath(SIZING.database.maxReaders);
        recs.push({ region, tier: 'database', resource: d.clusterId, action: 'add-reader', field, from: db.maxReaders, to,
          message: `add readers: raise ${field} from ${db.maxReaders} to ${to} (reader CPU peaks at ${fmt(readerPeak)}% against a ${db.targetReaderCpuPercent}% target)` });
      } else {
        const shards = Math.ceil(db.shards * (rh.needed / (db.readerLimit * (1 - HEADROOM_GOAL))));
        recs.push({ region, tier: 'database', resource: d.clusterId, action: 'add-shard', field: formatConfigPath(SIZING.database.shards), from: db.shards, to: Math.max(db.shards + 1, shards),
          message: `add a shard: reads need ${fmt(rh.needed)} readers, more than the ${db.readerLimit} a cluster may have allow with headroom` });
      }
    }
    const writerPeak = peak(writerCpu);
    const wNeeded = writerPeak === null ? null : writerShardsNeeded(1, writerPeak, db.writerCpuLimitPercent);
    const wh = wNeeded === null ? null : headroom(wNeeded, 1);
    const writer = tierReport(region, 'database', `${d.clusterId} writer`, load, [util('writerCpu', writerPeak, db.writerCpuLimitPercent, '%')],
      { unit: 'writers', current: 1, needed: r2(wNeeded), max: 1 }, wh, []);
    tiers.push(writer);
    if (wh && writer.status !== 'ok') {
      const to = db.shards - 1 + recommendedMax(wh.needed, 2);
      recs.push({ region, tier: 'database', resource: d.clusterId, action: 'add-shard', field: formatConfigPath(SIZING.database.shards), from: db.shards, to,
        message: `add a shard: writer CPU of ${d.clusterId} peaks at ${fmt(writerPeak)}% against a ${db.writerCpuLimitPercent}% ceiling (a writer cannot scale out)` });
    }
  }

  if (targets.cache) {
    const c = targets.cache.cache;
    const mem = get(MetricKeys.cacheMemory);
    const cpu = get(MetricKeys.cacheEngineCpu);
    const ev = get(MetricKeys.cacheEvictions);
    const hit = get(MetricKeys.cacheHitRate);
    const ops = scale(get(MetricKeys.cacheCommands), perSecond);
    const stamps = mem.timestamps.length ? mem.timestamps : cpu.timestamps;
    // As for readers: the config's shards at the least; with shard autoscaling up to maxShards, the limit.
    const maxShards = c.maxShards ?? c.shards;
    const top = peakOf(stamps, (t) => cacheShardsNeeded({ shards: c.shards, memoryPercent: valueAt(mem, t), memoryTargetPercent: c.memoryTargetPercent, engineCpuPercent: valueAt(cpu, t), engineCpuTargetPercent: c.engineCpuTargetPercent, evictions: valueAt(ev, t) }));
    const h = top ? headroom(top.value, maxShards) : null;
    const evictions = ev.values.length ? ev.values.reduce((a, b) => a + b, 0) : null;
    const notes: string[] = [];
    if (evictions !== null && evictions > 0) notes.push(`${fmt(evictions)} evictions in the window: the cache is full`);
    const hitRate = latest(hit);
    if (hitRate !== null) notes.push(`hit rate ${fmt(hitRate)}%`);
    const tier = tierReport(region, 'cache', targets.cache.replicationGroupId, { metric: 'commands', unit: 'ops/s', current: r2(latest(ops)), peak: r2(peak(ops)) }, [
      util('memory', top ? valueAt(mem, top.t) : peak(mem), c.memoryTargetPercent, '%'),
      util('engineCpu', top ? valueAt(cpu, top.t) : peak(cpu), c.engineCpuTargetPercent, '%'),
    ], { unit: 'shards', current: c.shards, needed: r2(top?.value ?? null), max: maxShards }, h,
    [...notes, ...(maxShards > c.shards ? [`shard count from the config (cache.shards: ${c.shards}); autoscaling may have run up to ${maxShards}, and with more running at the peak, more are needed than shown`] : [])]);
    tiers.push(tier);
    if (h && tier.status !== 'ok') {
      // The limit is autoscaling's maximum when there is one, else the config's count.
      const to = recommendedMax(h.needed, maxShards + 1);
      const field = formatConfigPath(c.maxShards !== undefined ? SIZING.cache.maxShards : SIZING.cache.shards);
      recs.push({ region, tier: 'cache', resource: targets.cache.replicationGroupId, action: 'add-cache-shards', field, from: maxShards, to,
        message: `add cache shards: raise ${field} from ${maxShards} to ${to}${evictions ? ' (keys are being evicted)' : ''}` });
    }
  }

  for (const q of targets.queues) {
    const qv = q.queue;
    const backlog = get(MetricKeys.queueBacklog(qv.name));
    const oldest = get(MetricKeys.queueOldest(qv.name));
    const sent = scale(get(MetricKeys.queueSent(qv.name)), perSecond);
    const dlq = get(MetricKeys.queueDlq(qv.name));
    const workers = get(MetricKeys.workerInService(qv.name));
    const max = latest(get(MetricKeys.workerMaxSize(qv.name))) ?? (qv.maxWorkers > 0 ? qv.maxWorkers : null);
    const stamps = backlog.timestamps.length ? backlog.timestamps : sent.timestamps;
    const top = peakOf(stamps, (t) => workersNeeded({ arrivalsPerSecond: valueAt(sent, t), backlog: valueAt(backlog, t), averageProcessingSeconds: qv.averageProcessingSeconds, acceptableLatencySeconds: qv.acceptableLatencySeconds }));
    const h = top && max !== null ? headroom(top.value, max) : null;
    const backlogAtPeak = top ? valueAt(backlog, top.t) : peak(backlog);
    const workersAtPeak = top ? (valueAt(workers, top.t) ?? latest(workers)) : latest(workers);
    const bu = backlogUtilization(backlogAtPeak, workersAtPeak, qv.averageProcessingSeconds, qv.acceptableLatencySeconds);
    const targetBacklog = qv.acceptableLatencySeconds / qv.averageProcessingSeconds;
    const notes: string[] = [];
    const dlqDepth = latest(dlq);
    if (dlqDepth !== null && dlqDepth > 0) notes.push(`${fmt(dlqDepth)} messages in the dead-letter queue`);
    if (!q.workerFleetName) notes.push('no worker fleet output: workers not read');
    if (workersAtPeak === 0 && backlogAtPeak !== null && backlogAtPeak > 0) notes.push('no worker in service while messages wait');
    const tier = tierReport(region, 'queue', qv.name, { metric: 'messagesSent', unit: 'msg/s', current: r2(latest(sent)), peak: r2(peak(sent)) }, [
      { metric: 'backlogPerWorker', value: bu === null ? null : r2(bu * targetBacklog), target: round(targetBacklog), ratio: bu === null ? null : round(bu, 3), unit: 'msg' },
      util('oldestMessageAge', peak(oldest), qv.acceptableLatencySeconds, 's'),
    ], { unit: 'workers', current: r2(latest(workers)), needed: r2(top?.value ?? null), max }, h, notes);
    tiers.push(tier);
    if (h && tier.status !== 'ok' && max !== null) {
      const to = recommendedMax(h.needed, max + 1);
      const field = formatConfigPath(SIZING.queue.maxWorkers(qv.name));
      recs.push({ region, tier: 'queue', resource: qv.name, action: 'raise-worker-max', field, from: max, to,
        message: `raise ${field} from ${max} to ${to} (the peak needs ${fmt(h.needed)} workers to meet the ${qv.acceptableLatencySeconds}s latency target)` });
    }
  }
  return { tiers, recommendations: recs };
}

function tierReport(region: string, tier: TierKind, resource: string, load: TierReport['load'], utilization: Utilization[], capacity: TierReport['capacity'], h: ReturnType<typeof headroom> | null, notes: string[]): TierReport {
  const headroomPercent = h ? pct(Math.max(-10, h.headroom)) : null;
  return {
    region,
    tier,
    resource,
    load,
    utilization,
    capacity,
    headroomPercent,
    growthFactor: h && h.growthFactor !== null ? round(h.growthFactor) : null,
    status: statusOf(h ? h.headroom : null),
    notes: h ? notes : [...notes, 'no data in the window'],
  };
}

/** A number for messages: at most two decimals. */
export function fmt(v: number | null): string {
  if (v === null) return 'no data';
  return String(round(v));
}
