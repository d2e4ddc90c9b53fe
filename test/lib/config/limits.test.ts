import type { App } from 'aws-cdk-lib/core';
import { Template } from 'aws-cdk-lib/assertions';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, resolveConfig, type AppConfigInput } from '../../../lib/config';
import { DATA_STACK_OUTPUTS, MEASURED_DATA_TIERS, dataStackResources, QUEUES_PER_NESTED_STACK, SERVICES_PER_NESTED_STACK, appStackCost, appStackPlacement, dataTiersOf, fleetDataTierCost, templatesOverLimit } from '../../../lib/config/limits';
import { buildTestApp } from '../../helpers/app';

/** CloudFormation's limits per template, and CloudWatch's for a composite alarm's rule. */
const CFN = { resources: 500, bytes: 1_000_000, alarmRule: 10_240 };

/** What sets a config's fleets apart in the app stack besides their services: database shards, outbound rules. */
interface Variant { readonly shards: number; readonly egress: 'all' | 'https' }

/**
 * config/millions.json (edge, DNS, regional WAF, monitoring, every data tier) with `services` and `queues` replaced;
 * with a variant, config/sharded.json's database with that many shards, and every fleet's `egress`.
 */
function millions(services: number, queues: number, heavy = false, variant?: Variant): AppConfigInput {
  const read = (name: string) => JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'config', `${name}.json`), 'utf8')) as AppConfigInput & { services: Record<string, unknown>[]; queues: Record<string, unknown>[]; database: Record<string, unknown> };
  const base = read('millions');
  const extra = {
    ...(heavy ? {
      scheduledScaling: [{ name: 'morning', schedule: '0 7 * * MON-FRI', minCapacity: 4 }, { name: 'evening', schedule: '0 19 * * MON-FRI', minCapacity: 2 }],
      stepScaling: { cpuAbove: 85, addInstances: 3 },
      warmPool: { minSize: 1 },
    } : {}),
    ...(variant ? { egress: variant.egress } : {}),
  };
  const sharded = read('sharded');
  return {
    ...base,
    ...(variant ? { database: { ...sharded.database, shards: Array.from({ length: variant.shards }, (_, i) => ({ id: `s${i}` })) } } : {}),
    services: Array.from({ length: services }, (_, i) => (i === 0 ? { ...base.services[0], ...extra } : { name: `svc${i}`, pathPatterns: [`/svc${i}/*`], priority: 100 + i, ...extra })),
    queues: Array.from({ length: queues }, (_, i) => ({ ...base.queues[0], name: i === 0 ? base.queues[0].name : `queue${i}`, ...(variant ? { workers: { ...(base.queues[0]['workers'] as object), egress: variant.egress } } : {}) })),
  };
}

/** Whether the config check accepts a config; false when it refuses it naming only `kind`. */
function accepted(config: AppConfigInput, kind: 'services' | 'queues' | 'database.shards'): boolean {
  try {
    resolveConfig(config);
    return true;
  } catch (e) {
    if (e instanceof ConfigError && e.issues.every((i) => i.path === kind)) return false;
    throw e;
  }
}

/** The most queues the config check lets through with `services` services. */
function mostQueues(services: number): number {
  let n = 1;
  while (n < 120 && accepted(millions(services, n + 1), 'queues')) n++;
  return n;
}

/** The most services that all stay in the app stack (no nested stack) with `queues` queues. */
function mostInAppStack(queues: number, heavy: boolean): number {
  const nested = (k: number) => {
    const c = resolveConfig(millions(k, queues, heavy));
    return appStackPlacement(c.services, c.queues).nestedStacks.length > 0;
  };
  let n = 1;
  while (n < 60 && !nested(n + 1)) n++;
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

function expectWithinLimits(stacks: ReturnType<typeof appStacks>, estimate: { resources: number; bytes: number }): void {
  expect(stacks.length).toBeGreaterThan(0);
  for (const s of stacks) {
    expect(s.resources, s.name).toBeLessThanOrEqual(CFN.resources);
    expect(s.bytes, s.name).toBeLessThanOrEqual(CFN.bytes);
    expect(estimate.resources, `${s.name} resources`).toBeGreaterThanOrEqual(s.resources);
    expect(estimate.bytes, `${s.name} bytes`).toBeGreaterThanOrEqual(s.bytes);
    for (const rule of s.alarmRules) expect(rule, `${s.name} composite alarm rule`).toBeLessThanOrEqual(CFN.alarmRule);
  }
}

describe.each([
  ['plain services, one queue', false, 1, undefined, 14],
  ['every service with schedules, step scaling and a warm pool, one queue', true, 1, undefined, 10],
  ['plain services, six queues (each service\'s policy lists every queue)', false, 6, undefined, 8],
])('the most services the app stack holds without nested stacks: %s', (_, heavy, queues, variant, least) => {
  let n: number;
  let built: ReturnType<typeof buildTestApp>;
  let stacks: ReturnType<typeof appStacks>;
  let estimate: { resources: number; bytes: number };

  beforeAll(() => {
    // GIVEN the millions config with as many services as the app stack holds on its own WHEN every stack is synthesized
    n = mostInAppStack(queues, heavy);
    const config = millions(n, queues, heavy, variant);
    const resolved = resolveConfig(config);
    estimate = appStackCost(resolved.services, resolved.queues);
    built = buildTestApp(config);
    stacks = appStacks(built.app);
  }, 240_000);

  it('keeps every service in the app stack, within CloudFormation\'s limits, the estimate never below what is synthesized', () => {
    if (process.env.S2M_LIMITS_DEBUG) console.log(heavy, n, estimate, stacks);
    expect(n).toBeGreaterThanOrEqual(least);
    for (const r of Object.values(built.regions)) expect(r.app.serviceStacks).toEqual([]);
    expectWithinLimits(stacks, estimate);
  });

  it('accepts one more, placing the last services in nested stacks of at most SERVICES_PER_NESTED_STACK, in config order', () => {
    const resolved = resolveConfig(millions(n + 1, queues, heavy, variant));
    const placement = appStackPlacement(resolved.services, resolved.queues);
    expect(placement.inAppStack).toBeGreaterThan(0);
    expect(placement.inAppStack + placement.nestedStacks.reduce((a, b) => a + b, 0)).toBe(n + 1);
    for (const size of placement.nestedStacks) expect(size).toBeLessThanOrEqual(SERVICES_PER_NESTED_STACK);
  });
});

describe('the most queues, one service: the data stack\'s outputs bound them before the app stack fills', () => {
  let n: number;
  let synthesized: Array<{ name: string; template: { Outputs?: object } }>;
  let stacks: ReturnType<typeof appStacks>;
  let estimate: { resources: number; bytes: number };

  beforeAll(() => {
    // GIVEN the millions config with as many queues as the config check admits WHEN every stack is synthesized
    n = mostQueues(1);
    const config = millions(1, n);
    const resolved = resolveConfig(config);
    estimate = appStackCost(resolved.services, resolved.queues);
    const { app } = buildTestApp(config);
    stacks = appStacks(app);
    synthesized = app.synth().stacks.map((s) => ({ name: s.stackName, template: s.template as { Outputs?: object } }));
  }, 240_000);

  it('keeps every queue in the app stack, within CloudFormation\'s limits, the estimate never below what is synthesized', () => {
    if (process.env.S2M_LIMITS_DEBUG) console.log('queues', n, estimate, stacks);
    expect(n).toBeGreaterThanOrEqual(12);
    const resolved = resolveConfig(millions(1, n));
    expect(appStackPlacement(resolved.services, resolved.queues).queueStacks).toEqual([]);
    expectWithinLimits(stacks, estimate);
  });

  it('keeps each data stack within 200 outputs and the estimate', () => {
    const data = synthesized.filter((s) => s.name.includes('-data-'));
    expect(data.length).toBe(3);
    const o = DATA_STACK_OUTPUTS;
    for (const s of data) {
      const outputs = Object.keys(s.template.Outputs ?? {}).length;
      expect(outputs, s.name).toBeLessThanOrEqual(o.max);
      expect(o.base + o.perForwardingShard + n * o.perQueue, s.name).toBeGreaterThanOrEqual(outputs);
    }
  });

  it('keeps the estimate at or above the data stacks\' outputs of the sharded example (three shards, write forwarding)', () => {
    const o = DATA_STACK_OUTPUTS;
    const { app, config } = buildTestApp('sharded');
    for (const s of app.synth().stacks.filter((x) => x.stackName.includes('-data-'))) {
      const outputs = Object.keys((s.template as { Outputs?: object }).Outputs ?? {}).length;
      expect(o.base + config.database.shards.length * o.perForwardingShard + config.queues.length * o.perQueue, s.stackName).toBeGreaterThanOrEqual(outputs);
    }
  });

  it('refuses one more, naming queues, the count received and the data stack\'s outputs', () => {
    const issue = configIssue(millions(1, n + 1), 'queues');
    expect(issue?.got).toBe(n + 1);
    expect(issue?.message).toMatch(/outputs in each region's data stack.*at most \d+ queues fit/);
  });
});

describe('queues in nested stacks', () => {
  it('puts the queues that do not fit beside many services in nested stacks of at most QUEUES_PER_NESTED_STACK, in config order', () => {
    const resolved = resolveConfig(millions(50, 12));
    const p = appStackPlacement(resolved.services, resolved.queues);
    expect(p.queueStacks.length).toBeGreaterThan(0);
    expect(p.queuesInAppStack + p.queueStacks.reduce((a, b) => a + b, 0)).toBe(12);
    for (const size of p.queueStacks) expect(size).toBeLessThanOrEqual(QUEUES_PER_NESTED_STACK);
  });
});

describe('services past what nested stacks can take', () => {
  it('accepts 64 services with one queue (the app stack\'s outputs allow 6 + 3 per service + 2 per queue)', () => {
    expect(accepted(millions(64, 1), 'services')).toBe(true);
  });

  it('refuses 65, naming services, the count received and the outputs limit', () => {
    const issue = configIssue(millions(65, 1), 'services');
    expect(issue?.got).toBe(65);
    expect(issue?.message).toMatch(/203 outputs in each region's app stack.*at most 64 services/);
  });
});

/** The issue at `path` of the ConfigError the config is refused with; fails the test when it is accepted. */
function configIssue(config: AppConfigInput, path: string) {
  let error: unknown;
  try {
    resolveConfig(config);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ConfigError);
  return (error as ConfigError).issues.find((i) => i.path === path);
}

describe('the placement of services and queues is a layout contract', () => {
  it('places every config of up to 60 services and 30 queues as released: changing a cost moves fleets between stacks', () => {
    // Where a service or a queue goes (the app stack or which nested stack) decides its fleet's stack and logical IDs:
    // a placement that changes replaces fleets, target groups and listener rules of deployed apps. The cost table
    // drives it, so it may not change with what the templates measure (test above: the budgets keep a margin for
    // that). Plain services, and services with two schedules and step scaling, each with 0-30 queues.
    const placements: string[] = [];
    for (const extras of [
      { scheduledScaling: [], stepScaling: undefined, warmPool: undefined },
      { scheduledScaling: [{}, {}], stepScaling: { cpuAbove: 80, addInstances: 2 }, warmPool: { minSize: 1 } },
    ]) {
      for (let s = 1; s <= 60; s++) {
        for (let q = 0; q <= 30; q++) {
          const services = Array.from({ length: s }, (_, i) => ({ ...extras, pathPatterns: i === 0 ? [] : [`/s${i}`], hostPatterns: [] }));
          const p = appStackPlacement(services as never, Array.from({ length: q }, (_, i) => ({ name: `q${i}` })));
          placements.push(`${p.inAppStack}:${p.nestedStacks.join(',')}:${p.queuesInAppStack}:${p.queueStacks.join(',')}`);
        }
      }
    }
    expect(createHash('sha256').update(placements.join('\n')).digest('hex').slice(0, 16)).toBe('5ef4f34378e1490a');
  });
});

describe('what the data tiers add to a fleet (fleetDataTierCost)', () => {
  it('adds nothing for the tiers the costs were measured with, nor for fewer', () => {
    expect(fleetDataTierCost('all', MEASURED_DATA_TIERS)).toEqual({ resources: 0, bytes: 0 });
    expect(fleetDataTierCost(undefined, { shards: 1, proxy: false })).toEqual({ resources: 0, bytes: 0 });
  });

  it('counts an ingress rule past the three, a sharded fleet\'s managed policy and statements per shard, and https\'s rules in bytes', () => {
    // three shards with proxies: 7 ingress rules (4 past the three), the managed policy
    expect(fleetDataTierCost('all', { shards: 3, proxy: true }).resources).toBe(5);
    // egress "https" writes its rules into the fleet's group: bytes, no resource
    expect(fleetDataTierCost('https', { shards: 3, proxy: true }).resources).toBe(5);
    expect(fleetDataTierCost('https', MEASURED_DATA_TIERS)).toEqual({ resources: 0, bytes: 1_000 });
    expect(fleetDataTierCost('all', { shards: 3, proxy: true }, true).bytes).toBeGreaterThan(fleetDataTierCost('all', { shards: 3, proxy: true }).bytes);
  });
});

describe('the layout moves no fleet when a shard is added or a fleet\'s egress changes', () => {
  it('places every service and queue where the same config all outbound would (the data tiers are no input of the layout)', () => {
    for (const services of [1, 9, 12, 15, 16, 30, 60]) {
      for (const queues of [1, 6]) {
        const plain = resolveConfig(millions(services, queues));
        const expected = appStackPlacement(plain.services, plain.queues);
        const https = appStackPlacement(plain.services.map((sv) => ({ ...sv, egress: 'https' as const })), plain.queues.map((q) => ({ ...q, workers: { ...q.workers, egress: 'https' as const } })));
        expect(https, `${services} services, ${queues} queues`).toEqual(expected);
      }
    }
  });
});

describe('three shards with proxies, every fleet on egress "https": the config check stops before CloudFormation\'s limits', () => {
  const variant: Variant = { shards: 3, egress: 'https' };
  let n: number;
  let built: ReturnType<typeof buildTestApp>;

  beforeAll(() => {
    n = 1;
    while (n < 15 && accepted(millions(n + 1, 1, false, variant), 'database.shards')) n++;
    built = buildTestApp(millions(n, 1, false, variant));
  }, 240_000);

  it('accepts up to 13 services in the app stack and refuses one more, naming database.shards, the count and the template', () => {
    // 14 such services put about 530 resources in the app stack: TooManyResourcesInStack at synth, before this check
    expect(n).toBe(13);
    const message = (() => {
      try {
        resolveConfig(millions(n + 1, 1, false, variant));
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })();
    expect(message).toMatch(/database\.shards: 3 database shards, 14 services and 1 queues put more resources in a region's app stack than CloudFormation takes \(app stack: about 5\d\d resources, CloudFormation allows 500\)/);
    expect(message).toContain('(got: 3)');
  });

  it('refuses no config that fits: two shards and 15 services (499 and 500 resources synthesized) are accepted', () => {
    expect(() => resolveConfig(millions(15, 1, false, { shards: 2, egress: 'all' }))).not.toThrow();
    // (its estimate, 519, is over 500 by less than the estimate's slack: the synth measures it)
    const c = resolveConfig(millions(15, 1, false, { shards: 2, egress: 'all' }));
    expect(appStackCost(c.services, c.queues, 1, dataTiersOf(c.database)).resources).toBeGreaterThan(500);
  });

  it('synthesizes the most it accepts within CloudFormation\'s limits, the estimate at or above the template', () => {
    const resolved = resolveConfig(millions(n, 1, false, variant));
    expect(templatesOverLimit(resolved.services, resolved.queues, dataTiersOf(resolved.database))).toEqual([]);
    const estimate = appStackCost(resolved.services, resolved.queues, resolved.queues.length, dataTiersOf(resolved.database));
    expectWithinLimits(appStacks(built.app), estimate);
  });
});

describe('the data stack\'s resources (CloudFormation allows 500): each shard costs about 55 and one per reader', () => {
  it('keeps the estimate at or above the sharded example\'s data stacks', () => {
    const built = buildTestApp('sharded');
    const estimate = dataStackResources(built.config.database.shards.map((sh) => sh.readers), built.config.queues.length);
    for (const r of Object.values(built.regions)) {
      const resources = Object.keys(Template.fromStack(r.data).toJSON().Resources as object).length;
      expect(estimate, r.data.stackName).toBeGreaterThanOrEqual(resources);
      expect(estimate - resources, r.data.stackName).toBeLessThan(60);
    }
  });

  it('accepts eight shards of two readers (498 resources synthesized) and refuses nine (554: TooManyResourcesInStack at synth), naming database.shards', () => {
    expect(() => resolveConfig(millions(1, 1, false, { shards: 8, egress: 'all' }))).not.toThrow();
    // eight of three readers: 506 synthesized (a review), one per reader
    const three = millions(1, 1, false, { shards: 8, egress: 'all' }) as AppConfigInput & { database: Record<string, unknown> };
    expect(() => resolveConfig({ ...three, database: { ...three.database, readers: 3, autoScaling: { ...(three.database['autoScaling'] as object), minReaders: 3 } } }))
      .toThrow(/database\.shards: 8 database shards \(24 readers\) and 1 queues put about 506 resources/);
    expect(() => resolveConfig(millions(1, 1, false, { shards: 9, egress: 'all' })))
      .toThrow(/database\.shards: 9 database shards \(18 readers\) and 1 queues put about 5\d\d resources in the writer region's data stack .*CloudFormation allows 500.*\(got: 9\)/);
  });
});
