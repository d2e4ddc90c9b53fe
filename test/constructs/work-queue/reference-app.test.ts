import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig, type AppConfigInput, type QueueInput } from '../../../lib/config';
import { PRESETS } from '../../../lib/config/presets';
import { statefulLogicalIds } from '../../../lib/testing';
import { buildTestApp, minimalConfig } from '../../helpers/app';

/** A fleet's application defaults: the placeholder, one instance type, 30 days of logs, the default rollout. */
const FLEET_FIELDS = {
  additionalInstanceTypes: [],
  logRetentionDays: 30,
  // One checkpoint, once every worker runs the new version, as long as a failing job takes to reach the dead-letter
  // queue (5 receives 60 s apart) and its depth CloudWatch (15 min): 1200 s
  rollout: { minHealthyPercent: 100, maxHealthyPercent: 125, checkpointPercentages: [100], checkpointDelaySeconds: 1200, rollbackOnAlarms: true },
  // every outbound connection allowed (aws-cdk-lib's default)
  egress: 'all',
};

/** The logical IDs of the queues in every data stack: renaming them replaces the queues (and loses messages). */
const QUEUE_LOGICAL_IDS = {
  QueueJobs9D704ECA: 'AWS::SQS::Queue',
  QueueJobsDeadLetterQueue548E2EF5: 'AWS::SQS::Queue',
};

describe('reference app (millions config): queues and workers in every region', () => {
  let built: ReturnType<typeof buildTestApp>;
  beforeAll(() => {
    built = buildTestApp('millions');
  });

  it('keeps the exact logical IDs of the queue and its DLQ in every data stack', () => {
    for (const r of Object.values(built.regions)) {
      expect(statefulLogicalIds(r.data, ['AWS::SQS::Queue'])).toEqual(QUEUE_LOGICAL_IDS);
    }
  });

  it('puts queues only in the data stacks and worker fleets only in the app stacks', () => {
    for (const r of Object.values(built.regions)) {
      Template.fromStack(r.app).resourceCountIs('AWS::SQS::Queue', 0);
      expect(Object.keys(Template.fromStack(r.data).findResources('AWS::AutoScaling::AutoScalingGroup'))).toEqual([]);
      expect(r.app.workerFleets.jobs).toBeDefined();
    }
  });

  it('publishes QueueName/DeadLetterQueueName outputs in the data stack and WorkerFleetName in the app stack', () => {
    for (const r of Object.values(built.regions)) {
      const data = Template.fromStack(r.data);
      data.hasOutput('QueueNameJobs', { Value: { 'Fn::GetAtt': ['QueueJobs9D704ECA', 'QueueName'] } });
      data.hasOutput('DeadLetterQueueNameJobs', { Value: { 'Fn::GetAtt': ['QueueJobsDeadLetterQueue548E2EF5', 'QueueName'] } });
      Template.fromStack(r.app).hasOutput('WorkerFleetNameJobs', { Value: { Ref: Match.stringLikeRegexp('^WorkersJobsFleetGroupASG') } });
    }
  });

  it('applies the config: visibility max(6 × 2 s, 30 s + 30 s) = 60 s, 5 receives, URL published under /shop/queues/jobs', () => {
    const data = Template.fromStack(built.regions['eu-west-1'].data);
    data.hasResourceProperties('AWS::SQS::Queue', { VisibilityTimeout: 60, ReceiveMessageWaitTimeSeconds: 20, RedrivePolicy: Match.objectLike({ maxReceiveCount: 5 }) });
    data.hasResourceProperties('AWS::SSM::Parameter', { Name: '/shop/queues/jobs/url' });
  });

  it('scales the workers on backlog per instance with target 120 s ÷ 2 s = 60, between 1 and 40 c7g.large', () => {
    for (const r of Object.values(built.regions)) {
      const app = Template.fromStack(r.app);
      app.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', {
        PolicyType: 'TargetTrackingScaling',
        TargetTrackingConfiguration: Match.objectLike({ TargetValue: 60, CustomizedMetricSpecification: { Metrics: Match.arrayWith([Match.objectLike({ Expression: 'm1 / IF(m2 > 0, m2, 1)' })]) } }),
      });
      app.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { MinSize: '1', MaxSize: '40' });
      app.hasResourceProperties('AWS::EC2::LaunchTemplate', { LaunchTemplateData: Match.objectLike({ InstanceType: 'c7g.large', MetadataOptions: Match.objectLike({ InstanceMetadataTags: 'enabled' }) }) });
    }
  });

  it('lets every web fleet send to the queue, and its workers receive from it and send to it only', () => {
    const app = Template.fromStack(built.regions['us-east-1'].app);
    const policies = app.findResources('AWS::IAM::Policy') as Record<string, { Properties: { PolicyDocument: unknown } }>;
    for (const service of ['web', 'api']) {
      const entry = Object.entries(policies).find(([id]) => id.startsWith(`WebService${service}FleetInstanceRoleDefaultPolicy`));
      expect(JSON.stringify(entry?.[1].Properties.PolicyDocument)).toContain('sqs:SendMessage');
    }
    const worker = Object.entries(policies).filter(([id]) => id.startsWith('WorkersJobs'));
    expect(worker.length).toBeGreaterThan(0);
    const statements = worker.flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: Array<{ Action: string | string[]; Resource: unknown }> }).Statement);
    const sqs = statements.filter((st) => JSON.stringify(st.Action).includes('sqs:'));
    expect(JSON.stringify(sqs)).toContain('sqs:ReceiveMessage');
    expect(JSON.stringify(sqs)).toContain('sqs:SendMessage');
    // one queue: its own (the other stack's output of queue Jobs)
    for (const st of sqs) expect(JSON.stringify(st.Resource)).toMatch(/QueueJobs/);
  });

  it('synthesizes the whole app without a cross-stack cycle', () => {
    expect(() => built.app.synth()).not.toThrow();
  });
});

describe('reference app (startup config): a sleeping worker fleet', () => {
  let app: Template;
  beforeAll(() => {
    app = Template.fromStack(buildTestApp('startup').regions['us-east-1'].app);
  });

  it('lets the workers go to 0 and wakes them with the step policy', () => {
    app.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { MinSize: '0', MaxSize: '2' });
    app.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', { PolicyType: 'StepScaling', AdjustmentType: 'ExactCapacity' });
    app.hasResourceProperties('AWS::CloudWatch::Alarm', { Metrics: Match.arrayWith([Match.objectLike({ Expression: 'IF(m2 < 1, m1, 0)' })]) });
  });
});


describe('config section queues', () => {
  const withQueues = (queues: unknown[], extra: Partial<AppConfigInput> = {}) => minimalConfig({ queues: queues as QueueInput[], ...extra });

  it('defaults to no queues', () => {
    expect(resolveConfig(minimalConfig()).queues).toEqual([]);
  });

  it('fills in the defaults and the stage preset for workers', () => {
    const [q] = resolveConfig(withQueues([{ name: 'jobs' }])).queues;
    expect(q).toEqual({
      name: 'jobs', fifo: false, contentBasedDeduplication: false, maxReceiveCount: 5, retentionDays: 4, averageProcessingSeconds: 10,
      acceptableLatencySeconds: 300, visibilityTimeoutSeconds: 60, encryption: 'sqs-managed', workers: { ...PRESETS.growth.queues.workers, ...FLEET_FIELDS },
    });
    expect(resolveConfig(withQueues([{ name: 'jobs' }], { stage: 'millions' })).queues[0].workers).toEqual({ instanceType: 'm7g.large', minCapacity: 1, maxCapacity: 40, ...FLEET_FIELDS });
  });

  it('gives a worker fleet\'s rollout the checkpoint its dead-letter alarm needs, unless written or the alarm is off', () => {
    const rollout = (queue: Record<string, unknown>) => resolveConfig(withQueues([{ name: 'jobs', ...queue }])).queues[0].workers.rollout;
    // 3 receives of a 10-minute visibility timeout, plus the 15 minutes a dead-letter queue's depth may take
    expect(rollout({ maxReceiveCount: 3, visibilityTimeoutSeconds: 600 })).toMatchObject({ checkpointPercentages: [100], checkpointDelaySeconds: 2700 });
    expect(rollout({ maxReceiveCount: 1, visibilityTimeoutSeconds: 60 })).toMatchObject({ checkpointDelaySeconds: 960 });
    // what the config says stands (the synth warns when it is shorter); without the alarm, the fleets' defaults
    expect(rollout({ workers: { rollout: { checkpointDelaySeconds: 60 } } })).toMatchObject({ checkpointPercentages: [100], checkpointDelaySeconds: 60 });
    expect(rollout({ workers: { rollout: { rollbackOnAlarms: false } } })).toMatchObject({ checkpointPercentages: [25, 100], checkpointDelaySeconds: 300 });
  });

  it('every stage preset has worker bounds with min ≤ max', () => {
    for (const p of Object.values(PRESETS)) expect(p.queues.workers.minCapacity).toBeLessThanOrEqual(p.queues.workers.maxCapacity);
  });

  it('fails when max workers is below min', () => {
    expect(() => resolveConfig(withQueues([{ name: 'jobs', workers: { minCapacity: 5, maxCapacity: 2 } }])))
      .toThrow(/queues\[0\]\.workers\.maxCapacity: must not be below minCapacity \(5\) \(got: 2\)/);
  });

  it('fails when the visibility timeout is below the processing time', () => {
    expect(() => resolveConfig(withQueues([{ name: 'jobs', averageProcessingSeconds: 60, visibilityTimeoutSeconds: 30 }])))
      .toThrow(/queues\[0\]\.visibilityTimeoutSeconds: must be comfortably above the processing time: at least 360 .*\(got: 30\)/);
  });

  it('fails when the target would not be positive or below one message per worker', () => {
    expect(() => resolveConfig(withQueues([{ name: 'jobs', averageProcessingSeconds: 0 }]))).toThrow(/queues\[0\]\.averageProcessingSeconds: must be a positive number of seconds \(got: 0\)/);
    expect(() => resolveConfig(withQueues([{ name: 'jobs', acceptableLatencySeconds: -1 }]))).toThrow(/queues\[0\]\.acceptableLatencySeconds: must be a positive number of seconds \(got: -1\)/);
    expect(() => resolveConfig(withQueues([{ name: 'jobs', averageProcessingSeconds: 30, acceptableLatencySeconds: 10 }]))).toThrow(/queues\[0\]\.acceptableLatencySeconds: must be at least averageProcessingSeconds \(30\).*\(got: 10\)/);
  });

  it('lists every problem: duplicate names, unknown keys, bad encryption, dedup without FIFO, bad instance type', () => {
    let message = '';
    try {
      resolveConfig(withQueues([
        { name: 'jobs', contentBasedDeduplication: true, encryption: 'aes', workers: { instanceType: 'huge' } },
        { name: 'jobs', retries: 3 },
      ]));
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/queues\[1\]\.name: duplicate queue name \(also at queues\[0\]\) \(got: "jobs"\)/);
    expect(message).toMatch(/queues\[1\]\.retries: unknown key/);
    expect(message).toMatch(/queues\[0\]\.encryption: must be one of sqs-managed, kms \(got: "aes"\)/);
    expect(message).toMatch(/queues\[0\]\.contentBasedDeduplication: needs fifo: true/);
    expect(message).toMatch(/queues\[0\]\.workers\.instanceType: must be an EC2 instance type/);
  });

  it('fails on a queue name that is too long or not lowercase', () => {
    expect(() => resolveConfig(withQueues([{ name: 'Jobs' }]))).toThrow(/queues\[0\]\.name: must be lowercase/);
    expect(() => resolveConfig(withQueues([{ name: 'a'.repeat(21) }]))).toThrow(/queues\[0\]\.name: must be at most 20 characters/);
  });
});
