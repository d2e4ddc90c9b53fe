import { App, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib/core';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, loadCdkNag } from '../lib/app';
import { loadConfigFile } from '../lib/config';
import { configPath } from './helpers/app';
import { checkedSynth, findings, removeCheckedSynths, type CheckedSynth } from './helpers/checked-synth';

// This file asserts the findings of AWS's offline template validator, so it turns it on (test/helpers/setup.ts
// turns it off for every other file). aws-cdk-lib 2.276 reads the variable when the app synthesizes.
process.env.CDK_VALIDATION = 'true';

/** Every acknowledgement in the tree: where, which rule, why. */
function acknowledgements(app: App): Array<{ path: string; id: string; reason: string }> {
  return app.node.findAll().flatMap((c) => c.node.metadata
    .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
    .flatMap((m) => Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({ path: c.node.path, id, reason }))));
}

afterAll(removeCheckedSynths);

// Every example config is checked here, once: the tier test files assert their own resources, not the findings.
describe.each([
  { config: 'millions', expectedWarnings: [] as string[] },
  { config: 'growth', expectedWarnings: [] as string[] },
  { config: 'global', expectedWarnings: [] as string[] },
  { config: 'sharded', expectedWarnings: [] as string[] },
  {
    config: 'startup',
    // the startup stage deliberately runs two zones, no domain and no CDN, and makes its cost trade-offs (NAT
    // instance, no reader, no proxy, no Performance Insights, burstable cache nodes): each an acknowledgeable id
    expectedWarnings: [
      'warning Annotation::scale-to-millions:edge-disabled @ shop-startup-edge',
      'warning Annotation::scale-to-millions:network-fewer-than-3-azs @ shop-startup-network-us-east-1/Network',
      'warning Annotation::scale-to-millions:web-tier-http-only @ shop-startup-app-us-east-1/Web',
      'warning Annotation::scale-to-millions:stage-nat-instance @ shop-startup-network-us-east-1',
      'warning Annotation::scale-to-millions:stage-database-replicas @ shop-startup-data-us-east-1',
      'warning Annotation::scale-to-millions:stage-database-proxy @ shop-startup-data-us-east-1',
      'warning Annotation::scale-to-millions:stage-performance-insights @ shop-startup-data-us-east-1',
      'warning Annotation::scale-to-millions:stage-cache-burstable @ shop-startup-data-us-east-1',
    ],
  },
])('checks at synth: config/$config.json', ({ config, expectedWarnings }) => {
  let result: CheckedSynth;

  beforeAll(() => {
    // GIVEN the example config WHEN the whole app synthesizes with the validator and cdk-nag on
    result = checkedSynth((app) => buildApp(app, loadConfigFile(configPath(config)), { nagChecks: true }));
  });

  it('synthesizes without a validation error', () => {
    expect(result.error?.message).toBeUndefined();
    expect(result.reports.every((r) => r.conclusion === 'success')).toBe(true);
  });

  it('has zero errors and zero warnings from AWS\'s template validator', () => {
    expect(result.reports.length).toBeGreaterThan(0); // the validator ran and wrote its report
    expect(findings(result, 'CloudFormation Validate')).toEqual([]);
  });

  it('has zero unacknowledged cdk-nag AwsSolutions findings', () => {
    expect(findings(result, 'AwsSolutions')).toEqual([]);
  });

  it('has no construct warnings other than the expected ones', () => {
    const annotations = result.reports.filter((r) => r.pluginName !== 'CloudFormation Validate' && r.pluginName !== 'AwsSolutions');
    const lines = annotations.flatMap((r) => r.violations.flatMap((v) => v.violatingConstructs.map((c) => `${v.severity} ${v.ruleName} @ ${c.constructPath}`)));
    expect(lines.sort()).toEqual([...expectedWarnings].sort());
  });

  it('gives every alarm an action: nothing fires without notifying someone (or scaling something)', () => {
    const stacks = result.app.node.children.filter((c): c is Stack => Stack.isStack(c));
    let count = 0;
    for (const stack of stacks) {
      const t = Template.fromStack(stack);
      for (const type of ['AWS::CloudWatch::Alarm', 'AWS::CloudWatch::CompositeAlarm']) {
        for (const [id, alarm] of Object.entries(t.findResources(type))) {
          count++;
          expect((alarm.Properties.AlarmActions as unknown[] | undefined)?.length ?? 0, `${stack.stackName}/${id} has no AlarmActions`).toBeGreaterThan(0);
        }
      }
    }
    expect(count).toBeGreaterThan(0);
  });

  it('gives every acknowledgement a reason a reviewer can judge', () => {
    const acks = acknowledgements(result.app);
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect(ack.reason.trim().split(/\s+/).length, `${ack.id} @ ${ack.path}: "${ack.reason}"`).toBeGreaterThanOrEqual(8);
      expect(ack.reason, `${ack.id} @ ${ack.path}`).not.toMatch(/^(todo|tbd|n\/a|ok|false positive|not needed|ignore)\b/i);
    }
  });

  it('acknowledges cdk-nag rules on the narrowest construct, never on a whole stack or the app', () => {
    const nagAcks = acknowledgements(result.app).filter((a) => /AwsSolutions-/.test(a.id));
    expect(nagAcks.length).toBeGreaterThan(0);
    for (const ack of nagAcks) expect(ack.path.split('/').length, `${ack.id} @ ${ack.path}`).toBeGreaterThanOrEqual(3);
  });
});

describe('checks at synth: the checks catch a finding (control)', () => {
  let result: CheckedSynth;

  beforeAll(() => {
    // GIVEN a bucket that breaks AwsSolutions-S1 (acknowledged) and S10 (not acknowledged)
    result = checkedSynth((app) => {
      Validations.of(app).addPlugins(new (loadCdkNag().AwsSolutionsChecks)(app));
      const stack = new Stack(app, 'Control', { env: { region: 'us-east-1' } });
      const bucket = new s3.Bucket(stack, 'Bucket', { removalPolicy: RemovalPolicy.RETAIN, encryption: s3.BucketEncryption.S3_MANAGED });
      Validations.of(bucket).acknowledge({ id: 'AwsSolutions-S1', reason: 'The control bucket proves acknowledgements are honoured by the nag pack.' });
    });
  });

  it('fails synth on the unacknowledged finding and reports it, but not the acknowledged one', () => {
    expect(result.error?.message).toMatch(/AwsSolutions-S10/);
    const nag = findings(result, 'AwsSolutions');
    expect(nag.some((f) => f.includes('AwsSolutions-S10 @ Control/Bucket/Resource'))).toBe(true);
    expect(nag.filter((f) => f.includes('AwsSolutions-S1 '))).toEqual([]);
  });
});
