/** `--since` durations and the metric window derived from them. */

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** Parses `90m`, `3h`, `2d`, `1w` (or plain seconds) into seconds; `undefined` when malformed. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([smhdw]?)$/.exec(text.trim());
  if (!m) return undefined;
  const seconds = Number(m[1]) * UNITS[m[2] || 's'];
  return seconds > 0 ? Math.round(seconds) : undefined;
}

/** Most data points per query the CLI asks for: 500 queries × 200 points stays under GetMetricData's 100,800. */
export const MAX_POINTS_PER_QUERY = 200;

/** The time window of a report. */
export interface MetricWindow {
  readonly start: Date;
  readonly end: Date;
  /** Seconds per data point: a multiple of 60, at least 60. */
  readonly periodSeconds: number;
}

/** The longest window: CloudWatch keeps hourly data 455 days. */
export const MAX_SINCE_SECONDS = 455 * 86_400;

/**
 * The window ending at `now` (rounded down to the minute) spanning `sinceSeconds`, with the smallest
 * period that keeps every query at or under {@link MAX_POINTS_PER_QUERY} points and that CloudWatch still
 * has data for: a multiple of 60 s up to 15 days back, of 300 s up to 63 days, of 3600 s beyond.
 */
export function metricWindow(now: Date, sinceSeconds: number): MetricWindow {
  const step = sinceSeconds <= 15 * 86_400 ? 60 : sinceSeconds <= 63 * 86_400 ? 300 : 3600;
  const periodSeconds = Math.max(step, Math.ceil(sinceSeconds / MAX_POINTS_PER_QUERY / step) * step);
  const endMs = Math.floor(now.getTime() / 60_000) * 60_000;
  return { start: new Date(endMs - sinceSeconds * 1000), end: new Date(endMs), periodSeconds };
}
