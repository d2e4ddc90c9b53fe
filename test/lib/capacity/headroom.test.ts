import { describe, expect, it } from 'vitest';
import {
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
} from '../../../lib/capacity/headroom';
import { backoffDelay } from '../../../lib/capacity/retry';
import { metricWindow, parseDuration } from '../../../lib/capacity/duration';

describe('headroom math', () => {
  it('headroom is the unused share of the maximum, growth the factor to reach it', () => {
    const h = headroom(8, 30);
    expect(h.utilization).toBeCloseTo(0.26667, 5);
    expect(h.headroom).toBeCloseTo(0.73333, 5);
    expect(h.growthFactor).toBeCloseTo(3.75, 10);
  });

  it('is negative when the load needs more than the maximum, and has no growth factor without load', () => {
    expect(headroom(45, 30).headroom).toBeCloseTo(-0.5, 10);
    expect(headroom(0, 30)).toMatchObject({ headroom: 1, growthFactor: null });
  });

  it('status: ok from 30%, warn below, critical below 10%, no-data for null', () => {
    expect(statusOf(0.3)).toBe('ok');
    expect(statusOf(0.29)).toBe('warn');
    expect(statusOf(0.09)).toBe('critical');
    expect(statusOf(-1)).toBe('critical');
    expect(statusOf(null)).toBe('no-data');
  });

  it('web: instances needed follow the higher of CPU and requests against their targets', () => {
    // GIVEN 10 instances at 40% CPU (target 50) and 500 req/min each (target 1000)
    expect(webInstancesNeeded({ inService: 10, cpuPercent: 40, targetCpuPercent: 50, requestsPerInstancePerMinute: 500, targetRequestsPerInstance: 1000 })).toBeCloseTo(8, 10);
    // requests dominate
    expect(webInstancesNeeded({ inService: 10, cpuPercent: 40, targetCpuPercent: 50, requestsPerInstancePerMinute: 1500, targetRequestsPerInstance: 1000 })).toBeCloseTo(15, 10);
    // only one signal
    expect(webInstancesNeeded({ inService: 4, cpuPercent: null, targetCpuPercent: 50, requestsPerInstancePerMinute: 250, targetRequestsPerInstance: 1000 })).toBeCloseTo(1, 10);
    expect(webInstancesNeeded({ inService: 4, targetCpuPercent: 50, targetRequestsPerInstance: 1000 })).toBeNull();
  });

  it('database: readers scale with reader CPU, writers in shards', () => {
    expect(readersNeeded(2, 60, 70)).toBeCloseTo(1.7142857, 6);
    expect(writerShardsNeeded(1, 56, 70)).toBeCloseTo(0.8, 10);
    expect(writerShardsNeeded(4, 35, 70)).toBeCloseTo(2, 10);
  });

  it('cache: shards needed from memory or engine CPU, one more than today on evictions', () => {
    expect(cacheShardsNeeded({ shards: 2, memoryPercent: 60, memoryTargetPercent: 80, engineCpuPercent: 20, engineCpuTargetPercent: 80 })).toBeCloseTo(1.5, 10);
    expect(cacheShardsNeeded({ shards: 2, memoryPercent: 20, memoryTargetPercent: 80, engineCpuPercent: 72, engineCpuTargetPercent: 80 })).toBeCloseTo(1.8, 10);
    expect(cacheShardsNeeded({ shards: 2, memoryPercent: 40, memoryTargetPercent: 80, evictions: 12, engineCpuTargetPercent: 80 })).toBe(3);
    expect(cacheShardsNeeded({ shards: 2, memoryPercent: null, memoryTargetPercent: 80, engineCpuTargetPercent: 80 })).toBeNull();
  });

  it('queue: workers needed from arrivals (Little) and from draining the backlog within the latency target', () => {
    // 3 msg/s × 2 s = 6 busy workers; backlog 120 × 2 s / 60 s = 4
    expect(workersNeeded({ arrivalsPerSecond: 3, backlog: 120, averageProcessingSeconds: 2, acceptableLatencySeconds: 60 })).toBeCloseTo(6, 10);
    // backlog 600 → 20 workers
    expect(workersNeeded({ arrivalsPerSecond: 3, backlog: 600, averageProcessingSeconds: 2, acceptableLatencySeconds: 60 })).toBeCloseTo(20, 10);
    expect(workersNeeded({ arrivalsPerSecond: null, backlog: null, averageProcessingSeconds: 2, acceptableLatencySeconds: 60 })).toBeNull();
    // backlog per worker 20 against a target of 60/2 = 30
    expect(backlogUtilization(120, 6, 2, 60)).toBeCloseTo(0.6667, 4);
    expect(backlogUtilization(null, 6, 2, 60)).toBeNull();
  });

  it('recommended maximum restores 30% headroom and never lowers the current one', () => {
    expect(recommendedMax(32, 40)).toBe(46);
    expect(recommendedMax(7, 10)).toBe(10);
    expect(recommendedMax(7, 5)).toBe(10);
  });

  it('bottleneck is the least headroom, ignoring no data', () => {
    const items = [{ id: 'a', headroom: 0.5 }, { id: 'b', headroom: null }, { id: 'c', headroom: 0.2 }];
    expect(bottleneck(items)?.id).toBe('c');
    expect(bottleneck([{ headroom: null }])).toBeUndefined();
  });
});

describe('durations, window and backoff', () => {
  it('parses durations', () => {
    expect(parseDuration('3h')).toBe(10_800);
    expect(parseDuration('90m')).toBe(5400);
    expect(parseDuration('2d')).toBe(172_800);
    expect(parseDuration('45')).toBe(45);
    expect(parseDuration('3 hours')).toBeUndefined();
    expect(parseDuration('0h')).toBeUndefined();
  });

  it('picks the smallest period (multiple of 60 s) keeping 200 points or fewer per query', () => {
    const now = new Date('2026-11-25T12:00:42Z');
    expect(metricWindow(now, 3 * 3600)).toEqual({ start: new Date('2026-11-25T09:00:00Z'), end: new Date('2026-11-25T12:00:00Z'), periodSeconds: 60 });
    expect(metricWindow(now, 86_400).periodSeconds).toBe(480);
    expect(metricWindow(now, 15 * 86_400).periodSeconds).toBe(6480);
    // older than 15 days: multiples of 300 s; older than 63 days: of 3600 s
    expect(metricWindow(now, 30 * 86_400).periodSeconds).toBe(13_200);
    expect(metricWindow(now, 90 * 86_400).periodSeconds).toBe(39_600);
  });

  it('backs off exponentially with full jitter, capped', () => {
    expect(backoffDelay(1, 0.5)).toBe(125);
    expect(backoffDelay(2, 0.5)).toBe(250);
    expect(backoffDelay(4, 0.999)).toBe(1998);
    expect(backoffDelay(20, 0.5)).toBe(10_000);
    expect(backoffDelay(3, 0)).toBe(0);
  });
});
