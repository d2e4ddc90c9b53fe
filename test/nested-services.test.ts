import { App, CfnResource, NestedStack, Stack } from 'aws-cdk-lib/core';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type BuiltApp } from '../lib/app';
import { loadConfigFile, resolveConfig, type AppConfig, type AppConfigInput } from '../lib/config';
import { APP_STACK_NESTED_BUDGET, QUEUES_PER_NESTED_STACK, SERVICES_PER_NESTED_STACK, appStackOrder, appStackPlacement, nestedQueueStackCost, nestedStackCost, parentCost } from '../lib/config/limits';
import { OutputKeys } from '../lib/outputs';
import type { AppStack } from '../lib/stacks';
import { checkedSynth, findings, removeCheckedSynths, type CheckedSynth } from './helpers/checked-synth';

// The template validator's findings are asserted here, so it is on (test/helpers/setup.ts turns it off elsewhere).
process.env.CDK_VALIDATION = 'true';

/** CloudFormation's limits per template, and CloudWatch's for a composite alarm's rule. */
const LIMITS = { resources: 500, bytes: 1_000_000, outputs: 200, parameters: 200, alarmRule: 10_240 };
/**
 * The longest an operand of a composite alarm's rule can resolve to: `ALARM("<arn>") OR `, with an ARN of
 * `arn:aws:cloudwatch:<region>:<account>:alarm:` and an alarm name of at most 255 characters.
 */
const MAX_OPERAND = 'ALARM("") OR '.length + 'arn:aws:cloudwatch:ap-southeast-2:123456789012:alarm:'.length + 255;

interface Resource { Type: string; Properties?: Record<string, unknown> }
interface CfnTemplate { Resources: Record<string, Resource>; Outputs?: Record<string, unknown>; Parameters?: Record<string, unknown> }
interface Written { name: string; template: CfnTemplate; bytes: number }

const FIXTURE = join(__dirname, 'fixtures', 'fifty-services.json');

function written(outdir: string, stack: Stack): Written {
  const text = readFileSync(join(outdir, stack.templateFile), 'utf8');
  return { name: stack.node.path, template: JSON.parse(text) as CfnTemplate, bytes: text.length };
}

/**
 * The findings of AWS's template validator in the stacks at `paths`, and the paths it did not validate. The checked
 * synth's validator (the reference app's) validates nested templates too, which aws-cdk-lib's own plugin never sees.
 */
function validatorFindings(result: CheckedSynth, paths: string[]): { findings: string[]; notValidated: string[] } {
  const validated = result.validation?.validatedStacks ?? [];
  return {
    findings: findings(result, 'CloudFormation Validate').filter((f) => paths.some((p) => f.includes(` @ ${p}`))),
    notValidated: paths.filter((p) => !validated.includes(p)),
  };
}

function ofType(t: CfnTemplate, type: string): Array<[string, Resource]> {
  return Object.entries(t.Resources).filter(([, r]) => r.Type === type);
}

/** The dashboard body with every token replaced by `TOKEN`, parsed. */
function dashboardWidgets(t: CfnTemplate): Array<{ type: string; properties: { metrics?: unknown[]; alarms?: unknown[] } }> {
  const [, dash] = ofType(t, 'AWS::CloudWatch::Dashboard')[0];
  const body = dash.Properties!.DashboardBody as { 'Fn::Join': [string, unknown[]] } | string;
  const text = typeof body === 'string' ? body : body['Fn::Join'][1].map((p) => (typeof p === 'string' ? p : 'TOKEN')).join('');
  return (JSON.parse(text) as { widgets: ReturnType<typeof dashboardWidgets> }).widgets;
}

describe('test/fixtures/fifty-services.json: 50 web services in one region', () => {
  let config: AppConfig;
  let result: CheckedSynth;
  let built: BuiltApp;
  let app: AppStack;
  let parent: Written;
  let nested: Array<Written & { services: string[] }>;

  beforeAll(() => {
    // GIVEN a one-region config with 50 services WHEN it synthesizes as `cdk synth` does, validator and cdk-nag on
    config = loadConfigFile(FIXTURE);
    result = checkedSynth((a) => {
      built = buildApp(a, config, { nagChecks: true });
    });
    app = Object.values(built.regions)[0].app;
    parent = written(result.outdir, app);
    nested = app.serviceStacks.map(({ stack, services }) => ({ ...written(result.outdir, stack), services }));
  }, 240_000);

  afterAll(removeCheckedSynths);

  it('synthesizes with zero validator and zero unacknowledged cdk-nag findings, and no construct warning', () => {
    expect(result.error?.message).toBeUndefined();
    expect(result.reports.length).toBeGreaterThan(0);
    expect(findings(result, 'CloudFormation Validate')).toEqual([]);
    expect(findings(result, 'AwsSolutions')).toEqual([]);
    const others = result.reports.filter((r) => r.pluginName !== 'CloudFormation Validate' && r.pluginName !== 'AwsSolutions');
    expect(others.flatMap((r) => r.violations.map((v) => `${v.severity} ${v.ruleName}: ${v.description}`))).toEqual([]);
  });

  it('has zero findings from AWS\'s template validator in the nested templates, which aws-cdk-lib does not validate', () => {
    expect(validatorFindings(result, app.serviceStacks.map(({ stack }) => stack.node.path))).toEqual({ findings: [], notValidated: [] });
  });

  it('keeps the first services in the app stack and puts the rest, in config order, in nested stacks of at most 10', () => {
    const placement = appStackPlacement(config.services, config.queues);
    expect(nested.length).toBe(placement.nestedStacks.length);
    expect(nested.length).toBeGreaterThanOrEqual(4);
    expect(nested.map((n) => n.services.length)).toEqual(placement.nestedStacks);
    expect(nested.flatMap((n) => n.services)).toEqual(appStackOrder(config.services).slice(placement.inAppStack).map((s) => s.name));
    for (const n of nested) expect(n.services.length).toBeLessThanOrEqual(SERVICES_PER_NESTED_STACK);
    expect(app.serviceStacks.map(({ stack }) => stack.node.id)).toEqual(nested.map((_, i) => `Services${i + 2}`));
    for (const { stack } of app.serviceStacks) expect(NestedStack.isNestedStack(stack)).toBe(true);
    // each nested service's fleet and target group is in its nested stack
    const where = Object.fromEntries(Object.values(app.webTier.services).map((s) => [s.name, Stack.of(s.fleet).node.path]));
    for (const { stack, services } of app.serviceStacks) for (const s of services) expect(where[s], s).toBe(stack.node.path);
  });

  it('fits every template, the app stack and each nested one, in CloudFormation\'s limits, below aws-cdk-lib\'s warning, and within the estimates', () => {
    for (const t of [parent, ...nested]) {
      expect(Object.keys(t.template.Resources).length, t.name).toBeLessThanOrEqual(APP_STACK_NESTED_BUDGET.resources);
      expect(t.bytes, t.name).toBeLessThanOrEqual(APP_STACK_NESTED_BUDGET.bytes);
      expect(Object.keys(t.template.Outputs ?? {}).length, t.name).toBeLessThanOrEqual(LIMITS.outputs);
      expect(Object.keys(t.template.Parameters ?? {}).length, t.name).toBeLessThanOrEqual(LIMITS.parameters);
    }
    const placement = appStackPlacement(config.services, config.queues);
    const own = parentCost(appStackOrder(config.services).slice(0, placement.inAppStack), config.services.length - placement.inAppStack, config.queues);
    expect(own.resources).toBeGreaterThanOrEqual(Object.keys(parent.template.Resources).length);
    expect(own.bytes).toBeGreaterThanOrEqual(parent.bytes);
    for (const n of nested) {
      const estimate = nestedStackCost(config.services.filter((s) => n.services.includes(s.name)), config.queues.length);
      expect(estimate.resources, n.name).toBeGreaterThanOrEqual(Object.keys(n.template.Resources).length);
      expect(estimate.bytes, n.name).toBeGreaterThanOrEqual(n.bytes);
    }
    if (process.env.S2M_LIMITS_DEBUG) {
      console.log([parent, ...nested].map((t) => `${t.name}: ${Object.keys(t.template.Resources).length} resources, ${t.bytes} bytes`).join('\n'));
    }
  });

  it('keeps every composite alarm rule under 10,240 characters, even with 255-character alarm names', () => {
    for (const t of [parent, ...nested]) {
      for (const [id, r] of ofType(t.template, 'AWS::CloudWatch::CompositeAlarm')) {
        const rule = JSON.stringify(r.Properties!.AlarmRule);
        const operands = rule.split('ALARM(').length - 1;
        expect(rule.length, `${t.name}/${id}`).toBeLessThanOrEqual(LIMITS.alarmRule);
        expect(operands * MAX_OPERAND, `${t.name}/${id}: ${operands} operands`).toBeLessThanOrEqual(LIMITS.alarmRule);
      }
    }
  });

  it('gives each nested stack a composite alarm of its services\' Critical alarms, which the region\'s composite references instead of them', () => {
    for (const n of nested) {
      const composites = ofType(n.template, 'AWS::CloudWatch::CompositeAlarm');
      expect(composites.length, n.name).toBe(1);
      const rule = JSON.stringify(composites[0][1].Properties!.AlarmRule);
      // three Critical alarms per service: p99 latency, no healthy host, fleet at its maximum
      expect(rule.split('ALARM(').length - 1, n.name).toBe(3 * n.services.length);
      expect(ofType(n.template, 'AWS::ElasticLoadBalancingV2::TargetGroup').length).toBe(n.services.length);
    }
    const [, region] = ofType(parent.template, 'AWS::CloudWatch::CompositeAlarm')[0];
    const rule = JSON.stringify(region.Properties!.AlarmRule);
    const groupRefs = app.serviceStacks.map(({ stack }) => stack.nestedStackResource!.logicalId);
    for (const id of groupRefs) expect(rule).toContain(`"${app.resolve(id)}"`);
    const nestedCritical = app.monitoring!.criticalAlarms.filter((a) => Stack.of(a) !== app);
    expect(nestedCritical.length).toBe(3 * nested.reduce((sum, n) => sum + n.services.length, 0));
    expect(app.monitoring!.alarmGroupHealthAlarms.length).toBe(nested.length);
  });

  it('gives every alarm of every template an action (the rollback alarms notify the region\'s topic too)', () => {
    for (const t of [parent, ...nested]) {
      for (const type of ['AWS::CloudWatch::Alarm', 'AWS::CloudWatch::CompositeAlarm']) {
        for (const [id, alarm] of ofType(t.template, type)) {
          expect((alarm.Properties!.AlarmActions as unknown[] | undefined)?.length ?? 0, `${t.name}/${id}`).toBeGreaterThan(0);
        }
      }
    }
    // in a nested stack, the rollback alarms notify a parameter the app stack sets to its topic
    const topic = app.resolve(app.alarmTopic!.topicArn) as unknown;
    for (const [i, n] of nested.entries()) {
      const passed = parent.template.Resources[app.resolve(app.serviceStacks[i].stack.nestedStackResource!.logicalId) as string];
      const parameters = (passed.Properties!.Parameters ?? {}) as Record<string, unknown>;
      const rollback = ofType(n.template, 'AWS::CloudWatch::Alarm').filter(([id]) => id.includes('Rollback'));
      expect(rollback.length, n.name).toBe(2 * n.services.length);
      for (const [id, alarm] of rollback) {
        const refs = (alarm.Properties!.AlarmActions as Array<{ Ref?: string }>).map((a) => (a.Ref ? parameters[a.Ref] : a));
        expect(refs, `${n.name}/${id}`).toContainEqual(topic);
      }
    }
  });

  it('publishes every service\'s target group, fleet and log group in the app stack\'s outputs, which the s2m CLI reads', () => {
    const outputs = Object.keys(parent.template.Outputs ?? {});
    for (const s of config.services) {
      for (const key of [OutputKeys.targetGroupFullName(s.name), OutputKeys.fleetName(s.name), OutputKeys.logGroupName(s.name)]) expect(outputs, key).toContain(key);
    }
    for (const key of [OutputKeys.dashboardName, OutputKeys.alarmTopicArn, OutputKeys.regionHealthAlarmName, OutputKeys.drainHealthCheckId]) expect(outputs).toContain(key);
  });

  it('drains the region from DNS when any service, nested or not, has no healthy host', () => {
    const metricChecks = ofType(parent.template, 'AWS::Route53::HealthCheck').filter(([, r]) => (r.Properties!.HealthCheckConfig as { Type: string }).Type === 'CLOUDWATCH_METRIC');
    expect(metricChecks.length).toBe(config.services.length);
  });

  it('keeps every dashboard graph under CloudWatch\'s 100 metrics per widget and the alarm status widget under 100 alarms', () => {
    const widgets = dashboardWidgets(parent.template);
    for (const w of widgets) {
      if (w.type === 'metric') expect(w.properties.metrics?.length ?? 0).toBeLessThanOrEqual(100);
      if (w.type === 'alarm') expect(w.properties.alarms?.length ?? 0).toBeLessThanOrEqual(100);
    }
    const titles = widgets.filter((w) => w.type === 'text').map((w) => JSON.stringify(w.properties));
    for (const { stack } of app.serviceStacks) expect(titles.some((t) => t.includes(`nested stack ${stack.node.id}`))).toBe(true);
  });
});

/** The fixture with `queues` queues like its one. */
function withQueues(queues: number): AppConfigInput {
  const base = JSON.parse(readFileSync(FIXTURE, 'utf8')) as AppConfigInput & { queues: Array<Record<string, unknown>> };
  return { ...base, queues: Array.from({ length: queues }, (_, i) => ({ ...base.queues[0], name: i === 0 ? 'jobs' : `queue${i}` })) } as AppConfigInput;
}

describe('50 services and 12 queues in one region: queues in nested stacks too', () => {
  let config: AppConfig;
  let result: CheckedSynth;
  let built: BuiltApp;
  let app: AppStack;
  let parent: Written;
  let nested: Array<Written & { queues: string[] }>;

  beforeAll(() => {
    // GIVEN the fixture with 12 queues WHEN it synthesizes as `cdk synth` does, validator and cdk-nag on
    config = resolveConfig(withQueues(12));
    result = checkedSynth((a) => {
      built = buildApp(a, config, { nagChecks: true });
    });
    app = Object.values(built.regions)[0].app;
    parent = written(result.outdir, app);
    nested = app.queueStacks.map(({ stack, queues }) => ({ ...written(result.outdir, stack), queues }));
  }, 240_000);

  it('synthesizes with zero cdk-nag findings and zero validator findings, nested templates included', () => {
    expect(result.error?.message).toBeUndefined();
    expect(findings(result, 'CloudFormation Validate')).toEqual([]);
    expect(findings(result, 'AwsSolutions')).toEqual([]);
    expect(validatorFindings(result, [...app.serviceStacks, ...app.queueStacks].map(({ stack }) => stack.node.path))).toEqual({ findings: [], notValidated: [] });
  });

  it('puts the queues that do not fit, in config order, in nested stacks Queues2, … of at most 10, each worker fleet in its stack', () => {
    const p = appStackPlacement(config.services, config.queues);
    expect(nested.map((n) => n.queues.length)).toEqual(p.queueStacks);
    expect(nested.length).toBeGreaterThan(0);
    expect(app.serviceStacks.length).toBeGreaterThan(0);
    expect(nested.flatMap((n) => n.queues)).toEqual(config.queues.slice(p.queuesInAppStack).map((q) => q.name));
    for (const n of nested) expect(n.queues.length).toBeLessThanOrEqual(QUEUES_PER_NESTED_STACK);
    expect(app.queueStacks.map(({ stack }) => stack.node.id)).toEqual(nested.map((_, i) => `Queues${i + 2}`));
    for (const { stack, queues } of app.queueStacks) for (const q of queues) expect(Stack.of(app.workerFleets[q]).node.path, q).toBe(stack.node.path);
  });

  it('fits every template in CloudFormation\'s limits, below aws-cdk-lib\'s warning, and within the estimates', () => {
    const p = appStackPlacement(config.services, config.queues);
    const own = parentCost(appStackOrder(config.services).slice(0, p.inAppStack), config.services.length - p.inAppStack, config.queues.slice(0, p.queuesInAppStack), config.queues.length - p.queuesInAppStack);
    expect(own.resources).toBeGreaterThanOrEqual(Object.keys(parent.template.Resources).length);
    expect(own.bytes).toBeGreaterThanOrEqual(parent.bytes);
    const services = app.serviceStacks.map(({ stack }) => written(result.outdir, stack));
    for (const t of [parent, ...nested, ...services]) {
      expect(Object.keys(t.template.Resources).length, t.name).toBeLessThanOrEqual(APP_STACK_NESTED_BUDGET.resources);
      expect(t.bytes, t.name).toBeLessThanOrEqual(APP_STACK_NESTED_BUDGET.bytes);
      expect(Object.keys(t.template.Outputs ?? {}).length, t.name).toBeLessThanOrEqual(LIMITS.outputs);
      for (const [id, r] of ofType(t.template, 'AWS::CloudWatch::CompositeAlarm')) {
        expect((JSON.stringify(r.Properties!.AlarmRule).split('ALARM(').length - 1) * MAX_OPERAND, `${t.name}/${id}`).toBeLessThanOrEqual(LIMITS.alarmRule);
      }
    }
    for (const n of nested) {
      const estimate = nestedQueueStackCost(n.queues.map((name) => ({ name })));
      expect(estimate.resources, n.name).toBeGreaterThanOrEqual(Object.keys(n.template.Resources).length);
      expect(estimate.bytes, n.name).toBeGreaterThanOrEqual(n.bytes);
    }
    if (process.env.S2M_LIMITS_DEBUG) {
      console.log([parent, ...nested, ...services].map((t) => `${t.name}: ${Object.keys(t.template.Resources).length} resources, ${t.bytes} bytes`).join('\n'));
    }
  });

  it('gives each nested stack of queues a composite alarm of its queues\' Critical alarms, referenced by the region\'s', () => {
    const [, region] = ofType(parent.template, 'AWS::CloudWatch::CompositeAlarm')[0];
    const rule = JSON.stringify(region.Properties!.AlarmRule);
    for (const [i, n] of nested.entries()) {
      const composites = ofType(n.template, 'AWS::CloudWatch::CompositeAlarm');
      expect(composites.length, n.name).toBe(1);
      // three Critical alarms per queue: oldest message, dead letters, workers at their maximum
      expect(JSON.stringify(composites[0][1].Properties!.AlarmRule).split('ALARM(').length - 1, n.name).toBe(3 * n.queues.length);
      expect(rule).toContain(`"${app.resolve(app.queueStacks[i].stack.nestedStackResource!.logicalId) as string}"`);
      for (const type of ['AWS::CloudWatch::Alarm', 'AWS::CloudWatch::CompositeAlarm']) {
        for (const [id, alarm] of ofType(n.template, type)) expect((alarm.Properties!.AlarmActions as unknown[] | undefined)?.length ?? 0, `${n.name}/${id}`).toBeGreaterThan(0);
      }
    }
  });

  it('publishes every queue\'s worker fleet and log group in the app stack\'s outputs', () => {
    const outputs = Object.keys(parent.template.Outputs ?? {});
    for (const q of config.queues) {
      for (const key of [OutputKeys.workerFleetName(q.name), OutputKeys.workerLogGroupName(q.name)]) expect(outputs, key).toContain(key);
    }
  });
});

describe('validating nested templates (control)', () => {
  it('reports a nested template\'s invalid property', () => {
    // GIVEN a nested stack with a resource AWS's schema rejects WHEN its template is validated
    const result = checkedSynth((a: App) => {
      const parent = new Stack(a, 'Control', { env: { region: 'us-east-1' } });
      new CfnResource(new NestedStack(parent, 'Nested'), 'Queue', { type: 'AWS::SQS::Queue', properties: { Bogus: 1 } });
    });
    const nested = result.app.node.findAll().find((c): c is NestedStack => NestedStack.isNestedStack(c))!;
    // THEN the validator checked the nested template and reports the property (aws-cdk-lib's own plugin would not)
    const { findings: found, notValidated } = validatorFindings(result, [nested.node.path]);
    expect(notValidated).toEqual([]);
    expect(found.join('\n')).toMatch(/Bogus/);
  });
});
