import type { App } from 'aws-cdk-lib';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, resolveConfig, type AppConfigInput } from '../../../lib/config';
import { appStackCost } from '../../../lib/config/limits';
import { buildTestApp } from '../../helpers/app';

/** CloudFormation's limits per template, and CloudWatch's for a composite alarm's rule. */
const CFN = { resources: 500, bytes: 1_000_000, alarmRule: 10_240 };

/** config/millions.json (edge, DNS, regional WAF, monitoring, every data tier) with `services` and `queues` replaced. */
function millions(services: number, queues: number, heavy = false): AppConfigInput {
  const base = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'config', 'millions.json'), 'utf8')) as AppConfigInput & { services: Record<string, unknown>[]; queues: Record<string, unknown>[] };
  const extra = heavy ? {
    scheduledScaling: [{ name: 'morning', schedule: '0 7 * * MON-FRI', minCapacity: 4 }, { name: 'evening', schedule: '0 19 * * MON-FRI', minCapacity: 2 }],
    stepScaling: { cpuAbove: 85, addInstances: 3 },
    warmPool: { minSize: 1 },
  } : {};
  return {
    ...base,
    services: Array.from({ length: services }, (_, i) => (i === 0 ? { ...base.services[0], ...extra } : { name: `svc${i}`, pathPatterns: [`/svc${i}/*`], priority: 100 + i, ...extra })),
    queues: Array.from({ length: queues }, (_, i) => ({ ...base.queues[0], name: i === 0 ? base.queues[0].name : `queue${i}` })),
  };
}

/** The most services (or queues) the config check lets through with the other count fixed. */
function most(kind: 'services' | 'queues', other: number, heavy = false): number {
  const accepted = (k: number) => {
    try {
      resolveConfig(kind === 'services' ? millions(k, other, heavy) : millions(other, k, heavy));
      return true;
    } catch (e) {
      if (e instanceof ConfigError && e.issues.every((i) => i.path === kind)) return false;
      throw e;
    }
  };
  let n = 1;
  while (n < 60 && accepted(n + 1)) n++;
  return n;
}

function appStacks(app: App): { name: string; resources: number; bytes: number; alarmRules: number[] }[] {
  return app.synth().stacks.filter((s) => s.stackName.includes('-app-')).map((s) => {
    const resources = (s.template as { Resources: Record<string, { Type: string; Properties?: { AlarmRule?: unknown } }> }).Resources;
    return {
      name: s.stackName,
      resources: Object.keys(resources).length,
      bytes: readFileSync(s.templateFullPath, 'utf8').length,
      alarmRules: Object.values(resources).filter((r) => r.Type === 'AWS::CloudWatch::CompositeAlarm').map((r) => JSON.stringify(r.Properties?.AlarmRule).length),
    };
  });
}

describe.each([
  ['services, one queue, plain services', 'services' as const, 1, false],
  ['services, one queue, every service with schedules, step scaling and a warm pool', 'services' as const, 1, true],
  ['queues, one service', 'queues' as const, 1, false],
])('the largest config the app stack admits: %s', (_, kind, other, heavy) => {
  let n: number;
  let stacks: ReturnType<typeof appStacks>;
  let estimate: { resources: number; bytes: number };

  beforeAll(() => {
    // GIVEN the millions config with as many services (or queues) as the estimate admits WHEN every stack is synthesized
    n = most(kind, other, heavy);
    const config = kind === 'services' ? millions(n, other, heavy) : millions(other, n, heavy);
    const resolved = resolveConfig(config);
    estimate = appStackCost(resolved.services, resolved.queues);
    stacks = appStacks(buildTestApp(config).app);
  }, 240_000);

  it('fits every region\'s app stack in CloudFormation\'s limits, the estimate never below what is synthesized', () => {
    if (process.env.S2M_LIMITS_DEBUG) console.log(kind, heavy, n, estimate, stacks);
    expect(n).toBeGreaterThanOrEqual(kind === 'services' ? 10 : 12);
    expect(stacks.length).toBeGreaterThan(0);
    for (const s of stacks) {
      expect(s.resources, s.name).toBeLessThanOrEqual(CFN.resources);
      expect(s.bytes, s.name).toBeLessThanOrEqual(CFN.bytes);
      expect(estimate.resources, `${s.name} resources`).toBeGreaterThanOrEqual(s.resources);
      expect(estimate.bytes, `${s.name} bytes`).toBeGreaterThanOrEqual(s.bytes);
      for (const rule of s.alarmRules) expect(rule, `${s.name} composite alarm rule`).toBeLessThanOrEqual(CFN.alarmRule);
    }
  });

  it(`refuses one more, naming ${kind} and the count received, before anything is synthesized`, () => {
    const config = kind === 'services' ? millions(n + 1, other, heavy) : millions(other, n + 1, heavy);
    let error: unknown;
    try {
      resolveConfig(config);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const issue = (error as ConfigError).issues.find((i) => i.path === kind);
    expect(issue?.got).toBe(n + 1);
    expect(issue?.message).toMatch(/in each region's app stack/);
  });
});
