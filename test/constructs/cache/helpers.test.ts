import { describe, expect, it } from 'vitest';
import {
  autoScalingNodeTypeProblem,
  compareVersions,
  globalDatastoreId,
  globalDatastoreNodeTypeProblem,
  parameterGroupFamily,
  parseNodeType,
  replacementChanges,
  windowProblems,
} from '../../../constructs/cache';
import { validationErrorOf } from '../../helpers/errors';

describe('node types', () => {
  it('parses known node types and rejects unknown ones', () => {
    expect(parseNodeType('cache.r7g.large')).toEqual({ family: 'r7g', size: 'large', rank: 3 });
    expect(parseNodeType('cache.m7g.16xlarge')?.rank).toBe(20);
    expect(parseNodeType('r7g.large')).toBeUndefined();
    expect(parseNodeType('cache.x1.large')).toBeUndefined();
  });

  it('allows Global Datastore on M5/R5/M6g/R6g/M7g/R7g-class large or bigger only', () => {
    expect(globalDatastoreNodeTypeProblem('cache.r6g.xlarge')).toBeUndefined();
    expect(globalDatastoreNodeTypeProblem('cache.t4g.medium')).toMatch(/no t-class/);
    expect(globalDatastoreNodeTypeProblem('cache.m4.large')).toMatch(/m5/);
  });

  it('allows autoscaling on supported families of size large to 2xlarge', () => {
    expect(autoScalingNodeTypeProblem('cache.r7g.2xlarge')).toBeUndefined();
    expect(autoScalingNodeTypeProblem('cache.r7g.4xlarge')).toMatch(/large, xlarge, 2xlarge/);
    expect(autoScalingNodeTypeProblem('cache.t3.small')).toBeDefined();
  });
});

describe('windows', () => {
  it('accepts the defaults and windows that wrap midnight or the week', () => {
    expect(windowProblems('sun:05:00-sun:06:00', '03:00-04:00')).toEqual([]);
    expect(windowProblems('sat:23:30-sun:00:30', '01:00-02:00')).toEqual([]);
    expect(windowProblems('mon:10:00-mon:11:00', '23:30-00:30')).toEqual([]);
  });

  it('finds overlaps on any day, including across midnight and the end of the week', () => {
    expect(windowProblems('sat:23:30-sun:00:30', '00:00-01:00')[0].message).toMatch(/must not overlap/);
    expect(windowProblems('tue:00:00-tue:01:00', '23:30-00:30')[0].message).toMatch(/must not overlap/);
  });

  it('rejects short or malformed windows', () => {
    expect(windowProblems('sun:05:00-sun:05:30', '03:00-04:00')[0]).toMatchObject({ window: 'maintenanceWindow', message: /at least 60/ });
    expect(windowProblems('sun:05:00-sun:06:00', '3-4')[0]).toMatchObject({ window: 'snapshotWindow' });
  });
});

describe('Global Datastore ids and parameter families', () => {
  it('prefixes the suffix with the primary region code', () => {
    expect(globalDatastoreId('us-east-1', 'shop-cache')).toBe('ldgnf-shop-cache');
    // a ValidationError without a construct path: the helper is given plain values
    expect(validationErrorOf(() => globalDatastoreId('il-central-1', 'shop-cache'))).toEqual({ path: undefined, message: expect.stringMatching(/prefix of il-central-1 is not known/) });
  });

  it('maps engine versions to parameter group families', () => {
    expect(parameterGroupFamily('valkey', '8.1')).toBe('valkey8');
    expect(parameterGroupFamily('valkey', '7.2')).toBe('valkey7');
    expect(parameterGroupFamily('redis', '7.1')).toBe('redis7');
    expect(parameterGroupFamily('redis', '6.2')).toBe('redis6.x');
  });
});

describe('replacement changes', () => {
  const previous = { engine: 'valkey', engineVersion: '8.1', port: 6379, subnets: 'isolated', authMode: 'rbac', globalDatastore: false } as const;

  it('lists replacement-sensitive differences and version downgrades', () => {
    expect(replacementChanges(previous, previous)).toEqual([]);
    expect(replacementChanges(previous, { ...previous, engineVersion: '8.2' })).toEqual([]);
    expect(replacementChanges(previous, { ...previous, subnets: 'private', engineVersion: '7.2' })).toEqual([
      { setting: 'subnets', previous: 'isolated', requested: 'private', kind: 'replacement' },
      { setting: 'engineVersion', previous: '8.1', requested: '7.2', kind: 'downgrade' },
    ]);
  });

  it('compares versions numerically', () => {
    expect(compareVersions('7.10', '7.2')).toBeGreaterThan(0);
    expect(compareVersions('8.0', '8.0.0')).toBe(0);
  });
});
