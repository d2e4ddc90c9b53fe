/**
 * Headroom math: plain functions, no I/O. Every tier is reduced to the same question — how many units
 * (instances, readers, shards, workers) the current load needs at the tier's scaling target, against the
 * most units the tier may have — so tiers compare directly and the one with least headroom is the
 * bottleneck. Formulas are documented in docs/capacity.md.
 */

/** Below this headroom a tier gets a recommendation (`warn`). */
export const HEADROOM_WARN = 0.3;
/** Below this headroom a tier is `critical`. */
export const HEADROOM_CRITICAL = 0.1;
/** Recommendations size maxima so the tier is back at this headroom. */
export const HEADROOM_GOAL = 0.3;

/** A tier's status from its headroom. */
export type TierStatus = 'ok' | 'warn' | 'critical' | 'no-data';

/** Units needed against units allowed. */
export interface Headroom {
  /** Units the load needs at the scaling target. */
  readonly needed: number;
  /** Most units the tier may have. */
  readonly max: number;
  /** `needed / max`. */
  readonly utilization: number;
  /** `1 - needed / max`: the share of the tier's maximum still unused (negative when over). */
  readonly headroom: number;
  /** `max / needed`: how many times the load may grow before the maximum is reached; `null` when there is no load. */
  readonly growthFactor: number | null;
}

/** Headroom of `needed` units against `max` units. */
export function headroom(needed: number, max: number): Headroom {
  if (!(max > 0)) return { needed, max, utilization: needed > 0 ? Infinity : 0, headroom: needed > 0 ? -Infinity : 0, growthFactor: needed > 0 ? 0 : null };
  const utilization = needed / max;
  return { needed, max, utilization, headroom: 1 - utilization, growthFactor: needed > 0 ? max / needed : null };
}

/** Status for a headroom (a share, e.g. 0.25), or `no-data`. */
export function statusOf(h: number | null): TierStatus {
  if (h === null) return 'no-data';
  if (h < HEADROOM_CRITICAL) return 'critical';
  if (h < HEADROOM_WARN) return 'warn';
  return 'ok';
}

/**
 * The smallest maximum that leaves `goal` headroom at `needed` units: `ceil(needed / (1 - goal))`,
 * and never below `current`.
 */
export function recommendedMax(needed: number, current: number, goal = HEADROOM_GOAL): number {
  return Math.max(current, Math.ceil(needed / (1 - goal) - 1e-9));
}

/** Inputs of {@link webInstancesNeeded} at one point in time. */
export interface WebSample {
  /** Instances in service. */
  readonly inService: number;
  /** Average CPU % of the fleet. */
  readonly cpuPercent?: number | null;
  /** Target CPU % of target tracking. */
  readonly targetCpuPercent: number;
  /** ALB requests per instance per minute. */
  readonly requestsPerInstancePerMinute?: number | null;
  /** Target requests per instance per minute. */
  readonly targetRequestsPerInstance: number;
}

/**
 * Instances the fleet needs to be at its scaling targets: `inService × max(cpu / targetCpu,
 * requestsPerInstance / targetRequests)` (target tracking on both scales out on whichever is higher).
 * `null` when neither signal has data.
 */
export function webInstancesNeeded(s: WebSample): number | null {
  const ratios: number[] = [];
  if (s.cpuPercent != null && s.targetCpuPercent > 0) ratios.push(s.cpuPercent / s.targetCpuPercent);
  if (s.requestsPerInstancePerMinute != null && s.targetRequestsPerInstance > 0) ratios.push(s.requestsPerInstancePerMinute / s.targetRequestsPerInstance);
  if (ratios.length === 0) return null;
  return s.inService * Math.max(...ratios);
}

/** Readers needed at the target reader CPU: `readers × readerCpu / targetReaderCpu`. */
export function readersNeeded(readers: number, readerCpuPercent: number, targetReaderCpuPercent: number): number {
  return (readers * readerCpuPercent) / targetReaderCpuPercent;
}

/**
 * Shards needed for the writers: `shards × writerCpu / writerCpuLimit` (a writer cannot scale out, so the
 * unit of writer capacity is a shard).
 */
export function writerShardsNeeded(shards: number, writerCpuPercent: number, writerCpuLimitPercent: number): number {
  return (shards * writerCpuPercent) / writerCpuLimitPercent;
}

/**
 * Cache shards needed: `shards × max(memory / memoryTarget, engineCpu / engineCpuTarget)`; any eviction
 * means the cache is already full, so at least one more shard than today.
 */
export function cacheShardsNeeded(args: {
  readonly shards: number;
  readonly memoryPercent: number | null;
  readonly memoryTargetPercent: number;
  readonly engineCpuPercent?: number | null;
  readonly engineCpuTargetPercent: number;
  readonly evictions?: number | null;
}): number | null {
  const ratios: number[] = [];
  if (args.memoryPercent != null) ratios.push(args.memoryPercent / args.memoryTargetPercent);
  if (args.engineCpuPercent != null) ratios.push(args.engineCpuPercent / args.engineCpuTargetPercent);
  if (ratios.length === 0) return null;
  const needed = args.shards * Math.max(...ratios);
  return args.evictions != null && args.evictions > 0 ? Math.max(needed, args.shards + 1) : needed;
}

/**
 * Workers a queue needs: `max(arrivalRate × processingTime, backlog × processingTime / acceptableLatency)`:
 * enough to keep up with arrivals (Little's law) and to drain the current backlog within the latency target.
 */
export function workersNeeded(args: {
  readonly arrivalsPerSecond: number | null;
  readonly backlog: number | null;
  readonly averageProcessingSeconds: number;
  readonly acceptableLatencySeconds: number;
}): number | null {
  const parts: number[] = [];
  if (args.arrivalsPerSecond != null) parts.push(args.arrivalsPerSecond * args.averageProcessingSeconds);
  if (args.backlog != null) parts.push((args.backlog * args.averageProcessingSeconds) / args.acceptableLatencySeconds);
  return parts.length === 0 ? null : Math.max(...parts);
}

/**
 * Backlog per worker against the backlog-per-worker target `acceptableLatency / processingTime` (the
 * target of backlog scaling): 1 means exactly at target. `null` without workers or backlog data.
 */
export function backlogUtilization(backlog: number | null, workers: number | null, averageProcessingSeconds: number, acceptableLatencySeconds: number): number | null {
  if (backlog == null || workers == null) return null;
  const target = acceptableLatencySeconds / averageProcessingSeconds;
  if (workers <= 0) return backlog > 0 ? Infinity : 0;
  return backlog / workers / target;
}

/** The item with the least headroom, ignoring items without data; `undefined` when none has data. */
export function bottleneck<T extends { readonly headroom: number | null }>(items: readonly T[]): T | undefined {
  let best: T | undefined;
  for (const item of items) {
    if (item.headroom === null) continue;
    if (!best || item.headroom < (best.headroom as number)) best = item;
  }
  return best;
}
