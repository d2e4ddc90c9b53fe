/**
 * Fetching metrics with CloudWatch GetMetricData: at most 500 queries a call, NextToken pagination,
 * retries on throttling. Each query is named by a semantic key; results come back as time series.
 */
import { GetMetricDataCommand, type CloudWatchClient, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import type { MetricWindow } from './duration';
import { classifyAwsError } from './errors';
import { withRetry, type RetryOptions } from './retry';

/** GetMetricData's limit of queries per call. */
export const MAX_QUERIES_PER_CALL = 500;

/** One metric to read: a key the report understands, and the query without its `Id` (assigned here). */
export interface MetricSpec {
  /** Unique within a region, e.g. `web/api/cpu`. */
  readonly key: string;
  /** A metric (`MetricStat`) or an expression; `Id`, `ReturnData` and the period are set by {@link fetchMetrics}. */
  readonly query: Omit<MetricDataQuery, 'Id' | 'ReturnData'>;
}

/** A time series, oldest point first; timestamps in epoch milliseconds. */
export interface Series {
  readonly timestamps: readonly number[];
  readonly values: readonly number[];
}

/** An empty series: "no data", never zero. */
export const NO_DATA: Series = { timestamps: [], values: [] };

/** Builds a `MetricStat` query. */
export function metricStat(namespace: string, metricName: string, dimensions: Record<string, string>, stat: string, periodSeconds: number): MetricSpec['query'] {
  return {
    MetricStat: {
      Metric: { Namespace: namespace, MetricName: metricName, Dimensions: Object.entries(dimensions).map(([Name, Value]) => ({ Name, Value })) },
      Period: periodSeconds,
      Stat: stat,
    },
  };
}

/** Splits `items` into chunks of at most `size`. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Options of {@link fetchMetrics}. */
export interface FetchMetricsOptions {
  readonly region: string;
  readonly window: MetricWindow;
  readonly retry: RetryOptions;
  /** Called after each batch: `(done, total)`. @default - nothing */
  readonly onBatch?: (done: number, total: number) => void;
  /** Called before every API call, retries included (for the report's `apiCalls`). @default - not counted */
  readonly onCall?: () => void;
}

/**
 * Reads every spec in `ceil(specs / 500)` GetMetricData calls (more only when CloudWatch paginates a call
 * with NextToken), one batch after the other, and returns the series by key. A spec CloudWatch returns
 * no points for maps to an empty series.
 */
export async function fetchMetrics(client: CloudWatchClient, specs: readonly MetricSpec[], options: FetchMetricsOptions): Promise<Map<string, Series>> {
  const byId = new Map<string, string>();
  const queries: MetricDataQuery[] = specs.map((s, i) => {
    const Id = `m${i}`;
    byId.set(Id, s.key);
    return { ...s.query, Id, ReturnData: true };
  });
  const points = new Map<string, { t: number[]; v: number[] }>();
  const batches = chunk(queries, MAX_QUERIES_PER_CALL);
  let done = 0;
  for (const batch of batches) {
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      const out = await withRetry(
        () => {
          options.onCall?.();
          return client.send(new GetMetricDataCommand({
            MetricDataQueries: batch,
            StartTime: options.window.start,
            EndTime: options.window.end,
            ScanBy: 'TimestampAscending',
            ...(token ? { NextToken: token } : {}),
          }));
        },
        options.retry,
      ).catch((e: unknown) => {
        throw classifyAwsError(e, { region: options.region, action: 'cloudwatch:GetMetricData' });
      });
      for (const r of out.MetricDataResults ?? []) {
        const key = r.Id ? byId.get(r.Id) : undefined;
        if (!key) continue;
        let acc = points.get(key);
        if (!acc) points.set(key, (acc = { t: [], v: [] }));
        const ts = r.Timestamps ?? [];
        const vs = r.Values ?? [];
        const n = Math.min(ts.length, vs.length);
        for (let i = 0; i < n; i++) {
          const x = ts[i];
          acc.t.push(x instanceof Date ? x.getTime() : new Date(x).getTime());
          acc.v.push(vs[i]);
        }
      }
      nextToken = out.NextToken || undefined;
    } while (nextToken);
    options.onBatch?.(++done, batches.length);
  }
  const result = new Map<string, Series>();
  for (const s of specs) {
    const acc = points.get(s.key);
    result.set(s.key, !acc || acc.t.length === 0 ? NO_DATA : sorted(acc.t, acc.v));
  }
  return result;
}

/** The points in time order (pages normally arrive in order: then nothing is copied). */
function sorted(t: number[], v: number[]): Series {
  let ordered = true;
  for (let i = 1; i < t.length && ordered; i++) ordered = t[i - 1] <= t[i];
  if (ordered) return { timestamps: t, values: v };
  const idx = t.map((_, i) => i).sort((a, b) => t[a] - t[b]);
  return { timestamps: idx.map((i) => t[i]), values: idx.map((i) => v[i]) };
}

/** The newest value, or `null` (no data). */
export function latest(s: Series): number | null {
  return s.values.length ? s.values[s.values.length - 1] : null;
}

/** The largest value, or `null` (no data). */
export function peak(s: Series): number | null {
  if (!s.values.length) return null;
  let m = -Infinity;
  for (const v of s.values) if (v > m) m = v;
  return m;
}

/** The series' value at `t`, or `null`. */
export function valueAt(s: Series, t: number): number | null {
  // Series are sorted; binary search.
  let lo = 0;
  let hi = s.timestamps.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const x = s.timestamps[mid];
    if (x === t) return s.values[mid];
    if (x < t) lo = mid + 1;
    else hi = mid - 1;
  }
  return null;
}

/** Multiplies every value by `factor` (e.g. Sum per period → per second). */
export function scale(s: Series, factor: number): Series {
  return { timestamps: s.timestamps, values: s.values.map((v) => v * factor) };
}
