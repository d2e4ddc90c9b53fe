import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfigFile, resolveConfig, stageFindings, stageWarningId, type AppConfigInput } from '../../../lib/config';
import { auroraInstanceMemoryGiB, auroraPostgresMaxConnections, auroraServerlessMaxConnections, forwardedSessionBudget, forwardingPoolMax } from '../../../lib/config/limits';
import { forwardingNotes } from '../../../lib/capacity/plan-config';
import { configPath } from '../../helpers/app';

const ID = stageWarningId('forwarded-sessions');

/**
 * config/millions.json (three regions, an r7g.large writer, forwarding; web 30, api 40 and the jobs workers 40 at most)
 * with the web service's maxCapacity, database settings, and the api's and the workers' maxCapacity replaced.
 */
function millions(webMax: number, database: Record<string, unknown> = {}, others: { api?: number; workers?: number } = {}): AppConfigInput {
  const input = JSON.parse(readFileSync(configPath('millions'), 'utf8')) as AppConfigInput & {
    services: Array<Record<string, unknown>>; queues: Array<Record<string, unknown> & { workers: Record<string, unknown> }>; database: Record<string, unknown>;
  };
  return {
    ...input,
    services: input.services.map((s) => (s.name === 'web' ? { ...s, maxCapacity: webMax } : s.name === 'api' && others.api !== undefined ? { ...s, maxCapacity: others.api } : s)),
    queues: input.queues.map((q) => (others.workers === undefined ? q : { ...q, workers: { ...q.workers, maxCapacity: others.workers } })),
    database: { ...input.database, ...database },
  } as AppConfigInput;
}

describe('Aurora PostgreSQL connection limits by instance class', () => {
  it.each([
    ['r7g.large', 16], ['db.r6g.2xlarge', 64], ['r6i.24xlarge', 768], ['r8g.48xlarge', 1536], ['r6gd.xlarge', 32], ['db.r4.large', 15.25],
    ['x2g.xlarge', 64], ['db.t3.small', 2], ['t4g.medium', 4], ['db.t3.large', 8], ['t4g.2xlarge', 32],
  ])('%s has %d GiB', (cls, gib) => {
    expect(auroraInstanceMemoryGiB(cls)).toBe(gib);
  });

  it('models no other class (and never guesses one)', () => {
    for (const cls of ['serverless', 'm5.large', 'r7g.medium', 'r7g', 'db.r7g.huge', 'x2iedn.xlarge', 't4g.4xlarge']) expect(auroraInstanceMemoryGiB(cls), cls).toBeUndefined();
  });

  it('computes max_connections by AWS\'s formula as its worked example does (10^9 bytes a GiB), capped at 5000', () => {
    // AWS's example: a db.r4.large's 15.25 GiB give 1,600 (their rounding of 1,599.97)
    expect(auroraPostgresMaxConnections(15.25)).toBe(1599);
    expect(auroraPostgresMaxConnections(16)).toBe(1678);
    expect(auroraPostgresMaxConnections(4)).toBe(419);
    // from 64 GiB (an r7g.2xlarge) on, the ceiling
    expect([auroraPostgresMaxConnections(64), auroraPostgresMaxConnections(512)]).toEqual([5000, 5000]);
  });

  it('takes Serverless v2\'s max_connections from AWS\'s table by maximum capacity, at most 2000 with a minimum of 0.5 ACU or less', () => {
    expect([1, 4, 8, 16, 32, 128].map((max) => auroraServerlessMaxConnections(1, max))).toEqual([189, 823, 1669, 3360, 5000, 5000]);
    // between two rows, the lower one
    expect(auroraServerlessMaxConnections(1, 12)).toBe(1669);
    expect([auroraServerlessMaxConnections(0.5, 16), auroraServerlessMaxConnections(0, 64), auroraServerlessMaxConnections(0.5, 4)]).toEqual([2000, 2000, 823]);
  });
});

describe('forwarded-session budget of a global database with write forwarding', () => {
  it('counts one process per instance of every service and worker fleet at its maximum, in every region but the writer\'s', () => {
    // GIVEN the millions config: web 30, api 40 (a scheduled action raises only its minimum), jobs workers 40
    const budget = forwardedSessionBudget(resolveConfig(millions(30)));
    // THEN two secondaries of 110 processes each share the 419 sessions of an r7g.large writer: 1 each
    expect(budget).toEqual({
      secondaries: ['eu-west-1', 'ap-southeast-1'], processesPerRegion: 110, processes: 220,
      writers: [{ shard: 's0', instanceType: 'r7g.large', maxConnections: 1678, sessions: 419 }], sessionsPerProcess: 1,
    });
  });

  it('follows the writer when it has moved, and a scheduled maximum above the fleet\'s own', () => {
    const input = millions(30, { globalDatabase: { enabled: true, writeForwarding: true, writerRegion: 'eu-west-1' } }) as AppConfigInput & { services: Array<Record<string, unknown>> };
    const scheduled = { ...input, services: input.services.map((s) => (s.name === 'web' ? { ...s, scheduledScaling: [{ name: 'sale', schedule: '0 7 * * FRI', minCapacity: 10, maxCapacity: 60 }] } : s)) } as AppConfigInput;
    const budget = forwardedSessionBudget(resolveConfig(scheduled));
    expect(budget?.secondaries).toEqual(['us-east-1', 'ap-southeast-1']);
    expect(budget?.processesPerRegion).toBe(140);
  });

  it('counts a Serverless v2 writer by AWS\'s table for its capacity, and every shard\'s writer', () => {
    const serverless = (min: number) => forwardedSessionBudget(resolveConfig(millions(30, { instanceType: 'serverless', readerInstanceType: 'serverless', serverlessMinCapacity: min, serverlessMaxCapacity: 16 })));
    // 16 ACUs: 3,360 connections, but 2,000 with the default minimum of 0.5 ACU
    expect(serverless(0.5)?.writers).toEqual([{ shard: 's0', instanceType: 'serverless', maxConnections: 2000, sessions: 500 }]);
    expect(serverless(2)?.writers).toEqual([{ shard: 's0', instanceType: 'serverless', maxConnections: 3360, sessions: 840 }]);
    const sharded = forwardedSessionBudget(loadConfigFile(configPath('sharded')));
    expect(sharded?.writers.map((w) => [w.shard, w.sessions])).toEqual([['s0', 419], ['s1', 419], ['s2', 839]]);
    // The smallest writer decides what a process may hold.
    expect(sharded?.sessionsPerProcess).toBe(Math.floor(419 / sharded!.processes));
  });

  it('is undefined when nothing forwards: one region, no global database, or forwarding off', () => {
    expect(forwardedSessionBudget(loadConfigFile(configPath('growth')))).toBeUndefined();
    const off = millions(30, { globalDatabase: { enabled: true, writeForwarding: false } }) as AppConfigInput & { dns?: unknown };
    expect(forwardedSessionBudget(resolveConfig({ ...off, dns: { routing: 'failover', failover: { primary: 'us-east-1', secondary: 'eu-west-1' } } } as AppConfigInput))).toBeUndefined();
  });
});

describe('the synth\'s warning, and s2m plan\'s note', () => {
  it('warns on the writer region\'s data stack when the secondaries\' processes outnumber the writer\'s forwarded sessions', () => {
    // GIVEN web at 130: 2 × (130 + 40 + 40) = 420 processes against 419 sessions
    const findings = stageFindings(resolveConfig(millions(130))).filter((f) => f.id === ID);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ region: 'us-east-1', tier: 'data' });
    expect(findings[0].message).toContain('the 2 secondary region(s) (eu-west-1, ap-southeast-1) run up to 420 processes');
    expect(findings[0].message).toContain('(210 per region: `services` and `queues[].workers`)');
    expect(findings[0].message).toContain('db.r7g.large, max_connections about 1678, so 419');
    expect(findings[0].message).toContain('database.instanceType');
  });

  it('says nothing at the budget (one session per process), nor for the example configs', () => {
    // 2 × (129 + 40 + 40) = 418
    expect(stageFindings(resolveConfig(millions(129))).filter((f) => f.id === ID)).toEqual([]);
    for (const name of ['startup', 'growth', 'millions', 'global', 'sharded']) {
      expect(stageFindings(loadConfigFile(configPath(name))).filter((f) => f.id === ID), name).toEqual([]);
    }
  });

  it('tells the plan the sessions a process may hold and the pool size the stacks publish, or that none fit', () => {
    // 220 processes, 419 sessions: 1 each, and pools of one connection each ask for two
    const [note] = forwardingNotes(resolveConfig(millions(30)));
    expect(note).toContain('run up to 220 runtime processes (110 per region), and a db.r7g.large writer takes 419 forwarded sessions');
    expect(note).toContain('1 per process; the data stacks publish forwarding-pool-max 1, and the runtime holds each of a process\'s two forwarding pools (forward and global) to it instead of 10 connections, unless the application sets forwarding.poolMax');
    expect(note).toContain('(2 a process, still more than 1: a larger writer (database.instanceType) or smaller fleets would fit)');
    // Past the budget, the plan repeats the synth's warning
    expect(forwardingNotes(resolveConfig(millions(130)))[0]).toContain(`fewer than one per process, so a peak of writes from the secondaries is refused (the synth warns: ${ID})`);
    // Two sessions a process: pools of one fit (r7g.xlarge, 839 sessions over 220 processes is 3)
    const fits = forwardingNotes(resolveConfig(millions(30, { instanceType: 'r7g.xlarge' })))[0];
    expect(fits).toContain('3 per process; the data stacks publish forwarding-pool-max 1');
    expect(fits).not.toContain('still more');
    // A writer with room for the runtime's default pools: no note (2 × (10 + 10 + 10) = 60 processes, 1250 sessions)
    expect(forwardingNotes(resolveConfig(millions(10, { instanceType: 'r7g.16xlarge' }, { api: 10, workers: 10 })))).toEqual([]);
    // One at Aurora's ceiling of 5000 connections: 1250 / 220 = 5 per process, pools of 2
    expect(forwardingNotes(resolveConfig(millions(30, { instanceType: 'r7g.16xlarge' })))[0]).toContain('5 per process; the data stacks publish forwarding-pool-max 2');
  });

  it('publishes half a process\'s sessions per forwarding pool, at least one, and nothing without forwarding', () => {
    expect(forwardingPoolMax(resolveConfig(millions(30)))).toBe(1);
    expect(forwardingPoolMax(resolveConfig(millions(146)))).toBe(1);
    expect(forwardingPoolMax(resolveConfig(millions(30, { instanceType: 'r7g.16xlarge' })))).toBe(2);
    expect(forwardingPoolMax(resolveConfig(millions(10, { instanceType: 'r7g.16xlarge' }, { api: 10, workers: 10 })))).toBe(10);
    expect(forwardingPoolMax(loadConfigFile(configPath('growth')))).toBeUndefined();
  });
});
