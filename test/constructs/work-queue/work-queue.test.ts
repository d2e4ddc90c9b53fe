import { Duration, RemovalPolicy, type Stack } from 'aws-cdk-lib/core';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { WorkQueue, WorkQueueEncryption, type WorkQueueProps } from '../../../constructs/work-queue';
import { testStack } from '../../helpers/app';
import { validationErrorOf } from '../../helpers/errors';

type Resources = Record<string, { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string }>;

function queues(t: Template): { main: [string, Resources[string]]; dlq: [string, Resources[string]] } {
  const all = Object.entries(t.findResources('AWS::SQS::Queue') as Resources);
  const main = all.find(([, r]) => r.Properties.RedrivePolicy !== undefined)!;
  const dlq = all.find(([, r]) => r.Properties.RedrivePolicy === undefined)!;
  return { main, dlq };
}

describe('WorkQueue with defaults (standard queue)', () => {
  let t: Template;
  let wq: WorkQueue;
  beforeAll(() => {
    // GIVEN a stack WHEN a work queue is created with defaults
    const stack = testStack();
    wq = new WorkQueue(stack, 'Jobs');
    t = Template.fromStack(stack);
  });

  it('creates the queue and one dead-letter queue, both retained', () => {
    t.resourceCountIs('AWS::SQS::Queue', 2);
    const { main, dlq } = queues(t);
    expect(main[1].DeletionPolicy).toBe('Retain');
    expect(dlq[1].DeletionPolicy).toBe('Retain');
  });

  it('redrives to the dead-letter queue after 5 receives', () => {
    const { main, dlq } = queues(t);
    expect(main[1].Properties.RedrivePolicy).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': [dlq[0], 'Arn'] }, maxReceiveCount: 5 });
  });

  it('keeps messages 4 days in the queue and 14 days (longer) in the dead-letter queue', () => {
    const { main, dlq } = queues(t);
    expect(main[1].Properties.MessageRetentionPeriod).toBe(4 * 86400);
    expect(dlq[1].Properties.MessageRetentionPeriod).toBe(14 * 86400);
  });

  it('gives the dead-letter queue a redrive-allow policy that admits only its source queue, by name', () => {
    const { main, dlq } = queues(t);
    const name = main[1].Properties.QueueName as string;
    expect(name).toMatch(/^TestStack-Jobs-[0-9A-F]{8}$/);
    expect(dlq[1].Properties.RedriveAllowPolicy).toEqual({
      redrivePermission: 'byQueue',
      sourceQueueArns: [{ 'Fn::Join': ['', ['arn:aws:sqs:us-east-1:', { Ref: 'AWS::AccountId' }, `:${name}`]] }],
    });
  });

  it('forbids other queues from using the work queue as their dead-letter queue', () => {
    expect(queues(t).main[1].Properties.RedriveAllowPolicy).toEqual({ redrivePermission: 'denyAll' });
  });

  it('encrypts both queues with SQS-managed keys and creates no KMS key', () => {
    const { main, dlq } = queues(t);
    expect(main[1].Properties.SqsManagedSseEnabled).toBe(true);
    expect(dlq[1].Properties.SqsManagedSseEnabled).toBe(true);
    expect(main[1].Properties.KmsMasterKeyId).toBeUndefined();
    t.resourceCountIs('AWS::KMS::Key', 0);
    expect(wq.encryptionKey).toBeUndefined();
  });

  it('enforces TLS on both queues with a deny on aws:SecureTransport false', () => {
    const { main, dlq } = queues(t);
    for (const id of [main[0], dlq[0]]) {
      t.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: { Statement: [{ Effect: 'Deny', Action: 'sqs:*', Principal: { AWS: '*' }, Condition: { Bool: { 'aws:SecureTransport': 'false' } }, Resource: { 'Fn::GetAtt': [id, 'Arn'] } }] },
      });
    }
  });

  it('long-polls (receive wait 20 s) and sets the visibility timeout from the processing time (max(6 × 10 s, 30 s))', () => {
    const { main } = queues(t);
    expect(main[1].Properties.ReceiveMessageWaitTimeSeconds).toBe(20);
    expect(main[1].Properties.VisibilityTimeout).toBe(60);
    expect(wq.visibilityTimeout.toSeconds()).toBe(60);
  });

  it('derives the scaling target: acceptable latency ÷ average processing time (300 s ÷ 10 s)', () => {
    expect(wq.targetBacklogPerInstance).toBe(30);
  });

  it('alarms when the dead-letter queue is not empty', () => {
    const { dlq } = queues(t);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq[0], 'QueueName'] } }],
      Statistic: 'Maximum',
      Period: 60,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
  });

  it('alarms when the oldest message is older than the latency target (300 s) for 3 minutes', () => {
    const { main } = queues(t);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [main[0], 'QueueName'] } }],
      Threshold: 300,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
    });
    t.resourceCountIs('AWS::CloudWatch::Alarm', 2);
  });

  it('notifies the given actions on ALARM and OK, and creates no alarm when a monitoring layer watches the queue', () => {
    const stack = testStack('WithActions');
    const topic = new sns.Topic(stack, 'Topic');
    new WorkQueue(stack, 'Notified', { alarmActions: [new cwActions.SnsAction(topic)] });
    new WorkQueue(stack, 'Watched', { alarms: false });
    const alarms = Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(2);
    for (const a of alarms) {
      expect(a.Properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^Topic/) }]);
      expect(a.Properties.OKActions).toEqual([{ Ref: expect.stringMatching(/^Topic/) }]);
    }
  });

  it('offers metric helpers for backlog, in-flight, age of the oldest message and DLQ depth', () => {
    expect(wq.metricBacklog().metricName).toBe('ApproximateNumberOfMessagesVisible');
    expect(wq.metricBacklog().statistic).toBe('Maximum');
    expect(wq.metricInFlight().metricName).toBe('ApproximateNumberOfMessagesNotVisible');
    expect(wq.metricAgeOfOldestMessage().metricName).toBe('ApproximateAgeOfOldestMessage');
    expect(wq.metricDeadLetterQueueDepth().metricName).toBe('ApproximateNumberOfMessagesVisible');
    expect(wq.metricDeadLetterQueueDepth().dimensions).toEqual({ QueueName: wq.deadLetterQueue.queueName });
    expect(wq.metricBacklog({ period: Duration.minutes(5) }).period.toMinutes()).toBe(5);
  });

  it('publishes no SSM parameters without a parameterPrefix', () => {
    t.resourceCountIs('AWS::SSM::Parameter', 0);
  });
});

describe('WorkQueue FIFO with KMS, explicit values and a published endpoint', () => {
  let t: Template;
  let wq: WorkQueue;
  beforeAll(() => {
    const stack = testStack();
    wq = new WorkQueue(stack, 'Orders', {
      fifo: true,
      contentBasedDeduplication: true,
      maxReceiveCount: 3,
      retentionPeriod: Duration.days(7),
      averageProcessingTime: Duration.seconds(20),
      maxProcessingTime: Duration.seconds(150),
      acceptableLatency: Duration.minutes(10),
      encryption: WorkQueueEncryption.KMS,
      parameterPrefix: '/shop/queues/orders',
    });
    // producers and consumers in the same stack
    const producer = new iam.Role(stack, 'Producer', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
    const consumer = new iam.Role(stack, 'Consumer', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
    wq.grantConsumer({ grantPrincipal: producer, connections: new ec2.Connections() });
    wq.grantConsumeMessages(consumer);
    t = Template.fromStack(stack);
  });

  it('pairs a FIFO queue with a FIFO dead-letter queue, the name ending in .fifo', () => {
    const { main, dlq } = queues(t);
    expect(main[1].Properties.FifoQueue).toBe(true);
    expect(main[1].Properties.ContentBasedDeduplication).toBe(true);
    expect(main[1].Properties.QueueName).toMatch(/^TestStack-Orders-[0-9A-F]{8}\.fifo$/);
    expect(dlq[1].Properties.FifoQueue).toBe(true);
    expect(wq.deadLetterQueue.fifo).toBe(true);
  });

  it('uses the configured maxReceiveCount and retention', () => {
    const { main } = queues(t);
    expect((main[1].Properties.RedrivePolicy as Record<string, unknown>).maxReceiveCount).toBe(3);
    expect(main[1].Properties.MessageRetentionPeriod).toBe(7 * 86400);
  });

  it('sets the visibility timeout to max(6 × average, max + 30 s) = 180 s', () => {
    expect(queues(t).main[1].Properties.VisibilityTimeout).toBe(180);
    expect(wq.targetBacklogPerInstance).toBe(30);
  });

  it('encrypts both queues with one new rotating, retained KMS key', () => {
    t.resourceCountIs('AWS::KMS::Key', 1);
    t.hasResource('AWS::KMS::Key', { Properties: { EnableKeyRotation: true }, DeletionPolicy: 'Retain' });
    const keyId = Object.keys(t.findResources('AWS::KMS::Key'))[0];
    const { main, dlq } = queues(t);
    expect(main[1].Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    expect(dlq[1].Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
  });

  it('publishes the queue url, arn and name and the dead-letter queue\'s url under the prefix', () => {
    for (const key of ['url', 'arn', 'name', 'dead-letter-url']) t.hasResourceProperties('AWS::SSM::Parameter', { Name: `/shop/queues/orders/${key}`, Type: 'String' });
    const dlqId = Object.keys(t.findResources('AWS::SQS::Queue')).find((id) => /DeadLetter/.test(id))!;
    t.hasResourceProperties('AWS::SSM::Parameter', { Name: '/shop/queues/orders/dead-letter-url', Value: { Ref: dlqId } });
  });

  it('lets a producer send (and encrypt) with exact actions and no wildcards', () => {
    const { main } = queues(t);
    const keyId = Object.keys(t.findResources('AWS::KMS::Key'))[0];
    t.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^Producer') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          { Effect: 'Allow', Action: 'ssm:GetParametersByPath', Resource: Match.anyValue() },
          { Effect: 'Allow', Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'], Resource: { 'Fn::GetAtt': [main[0], 'Arn'] } },
          { Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: { 'Fn::GetAtt': [keyId, 'Arn'] } },
        ]),
      },
    });
  });

  it('lets a consumer receive, delete and change visibility, and decrypt', () => {
    const { main } = queues(t);
    const keyId = Object.keys(t.findResources('AWS::KMS::Key'))[0];
    t.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^Consumer') }],
      PolicyDocument: {
        Statement: [
          { Effect: 'Allow', Action: ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'], Resource: { 'Fn::GetAtt': [main[0], 'Arn'] } },
          { Effect: 'Allow', Action: 'kms:Decrypt', Resource: { 'Fn::GetAtt': [keyId, 'Arn'] } },
        ],
      },
    });
  });

  it('adds no grantee to the key policy or the queue policies (grants live on the principals)', () => {
    const key = Object.values(t.findResources('AWS::KMS::Key'))[0] as { Properties: { KeyPolicy: { Statement: unknown[] } } };
    expect(JSON.stringify(key.Properties.KeyPolicy)).not.toMatch(/Producer|Consumer/);
    for (const p of Object.values(t.findResources('AWS::SQS::QueuePolicy')) as Array<{ Properties: { PolicyDocument: { Statement: unknown[] } } }>) {
      expect(p.Properties.PolicyDocument.Statement).toHaveLength(1);
    }
  });
});

describe('WorkQueue options', () => {
  it('uses a given KMS key (KMS implied) and a given removal policy', () => {
    const stack = testStack();
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    const wq = new WorkQueue(stack, 'Q', { encryptionKey: key, removalPolicy: RemovalPolicy.DESTROY, queueName: 'my-jobs' });
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::KMS::Key', 1);
    t.hasResource('AWS::SQS::Queue', { Properties: { QueueName: 'my-jobs', KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] } }, DeletionPolicy: 'Delete' });
    expect(wq.encryptionKey).toBe(key);
  });

  it('accepts an existing dead-letter queue of the same type', () => {
    const stack = testStack();
    const dlq = sqs.Queue.fromQueueArn(stack, 'Dlq', 'arn:aws:sqs:us-east-1:111111111111:shared-dlq.fifo');
    const wq = new WorkQueue(stack, 'Q', { fifo: true, deadLetterQueue: dlq });
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::SQS::Queue', 1);
    t.hasResourceProperties('AWS::SQS::Queue', { RedrivePolicy: { deadLetterTargetArn: 'arn:aws:sqs:us-east-1:111111111111:shared-dlq.fifo', maxReceiveCount: 5 } });
    expect(wq.deadLetterQueue).toBe(dlq);
  });
});

describe('WorkQueue bad input', () => {
  const dlq = (s: Stack, name: string) => ({ deadLetterQueue: sqs.Queue.fromQueueArn(s, 'D', `arn:aws:sqs:us-east-1:111111111111:${name}`) });
  it.each<[string, (s: Stack) => WorkQueueProps, RegExp]>([
    ['a FIFO queue is given a standard dead-letter queue', (s) => ({ fifo: true, ...dlq(s, 'dlq') }), /a FIFO queue needs a FIFO dead-letter queue \(got: a standard deadLetterQueue\)/],
    ['a standard queue is given a FIFO dead-letter queue', (s) => dlq(s, 'dlq.fifo'), /a standard queue needs a standard dead-letter queue \(got: a FIFO deadLetterQueue\)/],
    ['the visibility timeout is below the processing time', () => ({ averageProcessingTime: Duration.seconds(60), visibilityTimeout: Duration.seconds(30) }), /visibilityTimeout \(30 s\) must be comfortably above the processing time: at least 360 s \(6 × averageProcessingTime\).*got: 30 s/],
    ['the visibility timeout does not exceed the maximum processing time by the margin', () => ({ averageProcessingTime: Duration.seconds(10), maxProcessingTime: Duration.seconds(100), visibilityTimeout: Duration.seconds(110) }), /at least 130 s \(6 × averageProcessingTime and maxProcessingTime \+ 30 s\)/],
    ['the processing time is not positive (the scaling target would not be)', () => ({ averageProcessingTime: Duration.seconds(0) }), /averageProcessingTime must be positive \(got: 0 s\)/],
    ['the latency is not positive', () => ({ acceptableLatency: Duration.seconds(0) }), /acceptableLatency must be positive \(got: 0 s\)/],
    ['the latency target is below one message per worker', () => ({ averageProcessingTime: Duration.seconds(30), acceptableLatency: Duration.seconds(15) }), /acceptableLatency \(15 s\) must be at least averageProcessingTime \(30 s\).*got: 0\.5/],
    ['the processing time needs a visibility timeout above 12 hours', () => ({ averageProcessingTime: Duration.hours(3), acceptableLatency: Duration.hours(6) }), /visibility timeout of 64800 s .* above the SQS maximum of 43200 s/],
    ['maxReceiveCount is 0', () => ({ maxReceiveCount: 0 }), /maxReceiveCount must be a whole number from 1 to 1000 \(got: 0\)/],
    ['the retention reaches the dead-letter queue\'s', () => ({ retentionPeriod: Duration.days(14) }), /retentionPeriod must be from 60 s to less than the dead-letter queue's 1209600 s.*got: 1209600 s/],
    ['the wait time is above 20 s', () => ({ receiveMessageWaitTime: Duration.seconds(25) }), /receiveMessageWaitTime must be 0-20 s \(got: 25 s\)/],
    ['content-based deduplication is asked of a standard queue', () => ({ contentBasedDeduplication: true }), /contentBasedDeduplication needs a FIFO queue/],
    ['the maximum processing time is below the average', () => ({ maxProcessingTime: Duration.seconds(5) }), /maxProcessingTime \(5 s\) must not be below averageProcessingTime \(10 s\)/],
    ['the queue name has a space', () => ({ queueName: 'bad name' }), /queueName must be .*got: "bad name"/],
  ])('fails when %s, naming the queue', (_, props, message) => {
    const stack = testStack();
    expect(validationErrorOf(() => new WorkQueue(stack, 'Jobs', props(stack)))).toEqual({ path: 'TestStack/Jobs', message: expect.stringMatching(message) });
  });
});
