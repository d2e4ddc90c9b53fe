import { Duration } from 'aws-cdk-lib/core';
import { describe, expect, it } from 'vitest';
import { deepFreeze } from '../../../constructs/common/freeze';
import { MONITORING_DEFAULTS } from '../../../constructs/monitoring/defaults';
import { resolveConfig } from '../../../lib/config';
import { PRESETS } from '../../../lib/config/presets';
import { minimalConfig } from '../../helpers/app';

describe('deepFreeze', () => {
  it('freezes plain objects and arrays all the way down, and leaves class instances alone', () => {
    const period = Duration.minutes(1);
    const frozen = deepFreeze({ a: { b: [1, { c: 2 }] }, period });
    expect(Object.isFrozen(frozen)).toBe(true);
    expect(Object.isFrozen(frozen.a.b)).toBe(true);
    expect(Object.isFrozen(frozen.a.b[1])).toBe(true);
    expect(Object.isFrozen(period)).toBe(false);
  });
});

describe('the defaults and presets every config shares', () => {
  it('cannot be changed through a resolved config (which shares their objects) or directly', () => {
    // GIVEN a resolved config whose thresholds are the preset's own objects
    const config = resolveConfig(minimalConfig());
    const shared = config.monitoring.thresholds.database.cpuPercent as { warning: number };
    // WHEN code writes into them THEN it throws (modules are strict) and every later config keeps the defaults
    expect(() => { shared.warning = 1; }).toThrow(TypeError);
    expect(() => { (PRESETS.millions.monitoring.thresholds.web.p99LatencyMs as { warning: number }).warning = 1; }).toThrow(TypeError);
    expect(() => { (MONITORING_DEFAULTS.thresholds.cache as { cpuPercent: unknown }).cpuPercent = {}; }).toThrow(TypeError);
    expect(resolveConfig(minimalConfig()).monitoring.thresholds.database.cpuPercent).toEqual({ warning: 70, critical: 90 });
  });
});
