import { describe, expect, it } from 'vitest';
import { resolveConfig, type DatabaseInput } from '../../../lib/config';
import { minimalConfig } from '../../helpers/app';

const TWO_REGIONS = [
  { region: 'eu-west-1', vpcCidr: '10.0.0.0/16' },
  { region: 'us-east-1', vpcCidr: '10.1.0.0/16' },
];

function resolve(database: unknown, overrides: Record<string, unknown> = {}) {
  return resolveConfig(minimalConfig({ database: database as DatabaseInput, ...overrides }));
}

describe('config: database section', () => {
  it('fills the stage preset defaults (startup: one Serverless v2 writer at 0.5 ACU, no reader, no proxy, no Performance Insights)', () => {
    const { database } = resolve(undefined, { stage: 'startup' });
    expect(database).toMatchObject({
      engine: 'postgres', engineVersion: '16.6', instanceType: 'serverless', readerInstanceType: 'serverless', readers: 0,
      serverlessMinCapacity: 0.5, serverlessMaxCapacity: 16, performanceInsights: false,
      proxy: { enabled: false, iamAuth: false }, iamAuthentication: true, backupRetentionDays: 7, deletionProtection: true,
      databaseInsights: 'standard', monitoringIntervalSeconds: 60, logRetentionDays: 30, databaseName: 'app',
      globalDatabase: { enabled: false, writeForwarding: false },
    });
    expect(database.autoScaling).toBeUndefined();
  });

  it('turns on reader autoscaling from the growth stage, min readers defaulting to the readers', () => {
    const { database } = resolve({ readers: 3 });
    expect(database.autoScaling).toEqual({ minReaders: 3, maxReaders: 15, targetCpuPercent: 60, scaleInCooldownSeconds: 600, scaleOutCooldownSeconds: 300 });
    expect(resolve({ autoScaling: false }).database.autoScaling).toBeUndefined();
  });

  it('puts the proxy and Performance Insights on from the growth stage, each overridable', () => {
    expect(resolve(undefined).database).toMatchObject({ proxy: { enabled: true }, performanceInsights: true });
    expect(resolve({ proxy: { enabled: false }, performanceInsights: false }).database).toMatchObject({ proxy: { enabled: false }, performanceInsights: false });
    expect(resolve({ proxy: { enabled: true }, performanceInsights: true }, { stage: 'startup' }).database).toMatchObject({ proxy: { enabled: true }, performanceInsights: true });
  });

  it('fails when advanced Database Insights is asked for with Performance Insights off', () => {
    expect(() => resolve({ performanceInsights: false, databaseInsights: 'advanced' })).toThrow(/database\.databaseInsights: advanced Database Insights needs database\.performanceInsights: true \(got: "advanced"\)/);
    expect(() => resolve({ performanceInsights: 'no' })).toThrow(/database\.performanceInsights: must be true or false \(got: "no"\)|database\.performanceInsights: .*\(got: "no"\)/);
  });

  it('turns the global database on for the global stage with several regions', () => {
    expect(resolve(undefined, { stage: 'global', regions: TWO_REGIONS }).database.globalDatabase.enabled).toBe(true);
    expect(resolve(undefined, { stage: 'global' }).database.globalDatabase.enabled).toBe(false);
  });

  it('accepts MySQL 3 versions, serverless classes and db.-prefixed types', () => {
    const { database } = resolve({ engine: 'mysql', engineVersion: '3.08.0', instanceType: 'db.r7g.large', readerInstanceType: 'serverless' });
    expect(database).toMatchObject({ engine: 'mysql', engineVersion: '3.08.0', instanceType: 'r7g.large', readerInstanceType: 'serverless' });
    expect(resolve({ engine: 'mysql' }).database.engineVersion).toBe('3.08.0');
  });

  it('sets the users\' statement timeout to 28 s unless configured, and names the field when it is out of range', () => {
    expect(resolve(undefined).database.statementTimeoutSeconds).toBe(28);
    expect(resolve({ statementTimeoutSeconds: 120 }).database.statementTimeoutSeconds).toBe(120);
    expect(() => resolve({ statementTimeoutSeconds: 0 })).toThrow(/database\.statementTimeoutSeconds: must be a positive whole number \(at least 1\) \(got: 0\)/);
    expect(() => resolve({ statementTimeoutSeconds: 90000 })).toThrow(/database\.statementTimeoutSeconds: must be at most 86400 \(got: 90000\)/);
    expect(() => resolve({ statementTimeoutSeconds: 2.5 })).toThrow(/database\.statementTimeoutSeconds: must be a whole number \(got: 2\.5\)/);
  });

  it('fails when readers > 15', () => {
    expect(() => resolve({ readers: 16 })).toThrow(/database\.readers: must be at most 15 \(got: 16\)/);
  });
  describe('a global database primary counts each secondary against the 15 replicas', () => {
    const FOUR_REGIONS = [...TWO_REGIONS, { region: 'ap-southeast-1', vpcCidr: '10.2.0.0/16' }, { region: 'sa-east-1', vpcCidr: '10.3.0.0/16' }];
    const global = (db: Record<string, unknown>) => resolve({ ...db, globalDatabase: { enabled: true } }, { regions: FOUR_REGIONS });

    it('defaults maxReaders to 10 (15 minus the 5 secondaries a global database may have: adding a region changes nothing)', () => {
      expect(global({}).database.autoScaling?.maxReaders).toBe(10);
      expect(resolve({}).database.autoScaling?.maxReaders).toBe(15);
    });

    it('fails when maxReaders or readers exceed 15 minus the secondaries, saying why', () => {
      expect(() => global({ autoScaling: { maxReaders: 13 } })).toThrow(/database\.autoScaling\.maxReaders: must be at most 12: in a global database the primary cluster counts each of its 3 secondary cluster\(s\) against Aurora's 15 replicas.* \(got: 13\)/);
      expect(() => global({ readers: 13, autoScaling: false })).toThrow(/database\.readers: must be at most 12: .* \(got: 13\)/);
      expect(() => global({ readers: 12, autoScaling: { maxReaders: 12 } })).not.toThrow();
    });

    it('holds for every shard too', () => {
      expect(() => global({ autoScaling: false, shards: [{ id: 's0' }, { id: 's1', readers: 14 }] })).toThrow(/database\.shards\[1\]\.readers: must be at most 12: .* \(got: 14\)/);
      expect(() => global({ shards: [{ id: 's0' }, { id: 's1', autoScaling: { maxReaders: 15 } }] })).toThrow(/database\.shards\[1\]\.autoScaling\.maxReaders: must be at most 12/);
    });
  });

  it('fails when min readers > max readers', () => {
    expect(() => resolve({ readers: 1, autoScaling: { minReaders: 6, maxReaders: 4 } })).toThrow(/database\.autoScaling\.minReaders: must not exceed maxReaders \(4\) \(got: 6\)/);
  });
  it('fails when max readers is below the readers', () => {
    expect(() => resolve({ readers: 5, autoScaling: { minReaders: 1, maxReaders: 4 } })).toThrow(/database\.autoScaling\.maxReaders: must be at least database\.readers \(5\) \(got: 4\)/);
  });
  it('fails when Serverless min ACU > max ACU', () => {
    expect(() => resolve({ serverlessMinCapacity: 64, serverlessMaxCapacity: 32 })).toThrow(/database\.serverlessMinCapacity: must not exceed serverlessMaxCapacity \(32\) \(got: 64\)/);
  });
  it('fails when an ACU bound is out of range', () => {
    expect(() => resolve({ serverlessMinCapacity: 0.25 })).toThrow(/database\.serverlessMinCapacity: must be 0 or between 0\.5 and 256 \(got: 0\.25\)/);
    expect(() => resolve({ serverlessMaxCapacity: 512 })).toThrow(/database\.serverlessMaxCapacity: must be at most 256 \(got: 512\)/);
  });
  it('fails when the engine does not have the version', () => {
    expect(() => resolve({ engineVersion: '16.99' })).toThrow(/database\.engineVersion: is not an Aurora PostgreSQL version \(known 16\.x: .*\) \(got: "16\.99"\)/);
    expect(() => resolve({ engine: 'mysql', engineVersion: '2.11.2' })).toThrow(/database\.engineVersion: is not an Aurora MySQL version .*\(got: "2\.11\.2"\)/);
  });
  it('fails when a global database has one region', () => {
    expect(() => resolve({ globalDatabase: { enabled: true } })).toThrow(/database\.globalDatabase\.enabled: a global database needs at least 2 regions \(configured: 1\) \(got: true\)/);
  });
  it('fails when a global database uses burstable classes', () => {
    expect(() => resolve({ instanceType: 't4g.medium', globalDatabase: { enabled: true } }, { regions: TWO_REGIONS })).toThrow(/database\.instanceType: burstable \(t\) classes cannot be used in a global database.* \(got: "t4g\.medium"\)/);
  });
  it('fails when write forwarding is asked without a global database', () => {
    expect(() => resolve({ globalDatabase: { writeForwarding: true } })).toThrow(/database\.globalDatabase\.writeForwarding: needs globalDatabase\.enabled \(got: true\)/);
  });
  it('fails on an unknown engine, instance type, monitoring interval or key, listing every problem', () => {
    let message = '';
    try {
      resolve({ engine: 'oracle', instanceType: 'm7g.huge', monitoringIntervalSeconds: 20, replicas: 2 });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/database\.engine: must be one of postgres, mysql \(got: "oracle"\)/);
    expect(message).toMatch(/database\.instanceType: must be an Aurora instance type like r7g\.large or "serverless" \(got: "m7g\.huge"\)/);
    expect(message).toMatch(/database\.monitoringIntervalSeconds: must be one of 0, 1, 5, 10, 15, 30, 60 \(got: 20\)/);
    expect(message).toMatch(/database\.replicas: unknown key/);
  });
});
