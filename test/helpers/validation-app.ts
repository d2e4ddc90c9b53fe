import { CfnResource, Stack, Validations, type App } from 'aws-cdk-lib/core';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** What the clean stack of {@link buildFindingsApp} holds. */
export interface CleanStackOptions {
  /** The topic's TopicName (a new value makes a new template). @default - none */
  readonly topicName?: string;
  /** A second topic, with an invalid FifoTopic. @default false */
  readonly extraTopic?: boolean;
}

/**
 * The app the template validation tests synthesize. Two stacks: one with findings (an error, a warning, an
 * acknowledged warning), one clean. The error fails a synth with `@aws-cdk/core:validateAgainstDefaultRules` on
 * (cdk.json's flags), as it fails every real synth.
 */
export function buildFindingsApp(app: App, clean: CleanStackOptions = {}): void {
  const bad = new Stack(app, 'Findings', { env: { region: 'eu-west-1' } });
  new CfnResource(bad, 'Queue', { type: 'AWS::SQS::Queue', properties: { VisibilityTimeout: 'not-a-number', MessageRetentionPeriod: 30 } });
  const subnet = new CfnResource(bad, 'Subnet', { type: 'AWS::EC2::Subnet', properties: { VpcId: 'vpc-12345678', CidrBlock: '10.0.0.0/24', AvailabilityZone: 'eu-west-1a' } });
  Validations.of(subnet).acknowledge({ id: 'CloudFormation-Validate::W3010', reason: 'The test acknowledges a finding to see it reported as suppressed by both plugins.' });
  const good = new Stack(app, 'Clean', { env: { region: 'eu-west-1' } });
  new CfnResource(good, 'Topic', { type: 'AWS::SNS::Topic', ...(clean.topicName !== undefined ? { properties: { TopicName: clean.topicName } } : {}) });
  if (clean.extraTopic) new CfnResource(good, 'Another', { type: 'AWS::SNS::Topic', properties: { FifoTopic: 'yes' } });
}

/**
 * Synthesizes `app` (written to `outdir`) and reads its validation report. The error's message loses its last line,
 * the report file's path (a different directory each synth); the report loses the stack traces of
 * acknowledgements, which differ by caller.
 */
export function synthWithReport(app: App, outdir: string): { error?: string; report: unknown } {
  let error: string | undefined;
  try {
    app.synth();
  } catch (e) {
    error = (e as Error).message.replace(/A copy of this report can be found in: .*/, '');
  }
  const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8'), (k, v: unknown) => (k === 'acknowledgedStackTrace' || k === 'stackTraces' ? undefined : v)) as unknown;
  return { report, ...(error ? { error } : {}) };
}
