import { App, Duration, Stack, aws_ec2 as ec2, aws_iam as iam } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Network } from '../../../constructs/network';
import { WorkQueue, WorkQueueEncryption, WorkerFleet, defaultWorkerUserData } from '../../../constructs/work-queue';
import { cdkJsonContext, stackWithVpc } from '../../helpers/app';

const T4G_SMALL = new ec2.InstanceType('t4g.small');

describe('WorkerFleet with min 0 (sleeping fleet)', () => {
  let t: Template;
  let workers: WorkerFleet;
  let queueId: string;
  let groupId: string;
  beforeAll(() => {
    // GIVEN a queue whose target is 120 s ÷ 2 s = 60 messages per worker
    const { stack, vpc } = stackWithVpc();
    const wq = new WorkQueue(stack, 'Jobs', { averageProcessingTime: Duration.seconds(2), acceptableLatency: Duration.seconds(120) });
    // WHEN a worker fleet drains it
    workers = new WorkerFleet(stack, 'Workers', { workQueue: wq, vpc, instanceType: T4G_SMALL, maxCapacity: 8 });
    t = Template.fromStack(stack);
    queueId = stack.getLogicalId(wq.queue.node.defaultChild as never);
    groupId = stack.getLogicalId(workers.autoScalingGroup.node.defaultChild as never);
  });

  it('reuses Fleet: launch template with IMDSv2 required, instance tags in metadata, no public IP', () => {
    t.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1, InstanceMetadataTags: 'enabled' },
        NetworkInterfaces: [Match.objectLike({ AssociatePublicIpAddress: false })],
      }),
    });
    expect(workers.fleet.node.path).toBe('TestStack/Workers/Fleet');
  });

  it('lets the group go down to 0 and up to the max, with no desired capacity', () => {
    t.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { MinSize: '0', MaxSize: '8', DesiredCapacity: Match.absent(), NewInstancesProtectedFromScaleIn: false });
  });

  it('tracks backlog per instance with the exact metric-math expression and target latency ÷ processing time', () => {
    t.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', {
      AutoScalingGroupName: { Ref: groupId },
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingConfiguration: {
        TargetValue: 60,
        DisableScaleIn: false,
        CustomizedMetricSpecification: {
          Metrics: [
            {
              Id: 'm1',
              Label: 'Messages visible',
              MetricStat: { Metric: { Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible', Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }] }, Stat: 'Sum' },
              ReturnData: false,
            },
            {
              Id: 'm2',
              Label: 'In-service instances',
              MetricStat: { Metric: { Namespace: 'AWS/AutoScaling', MetricName: 'GroupInServiceInstances', Dimensions: [{ Name: 'AutoScalingGroupName', Value: { Ref: groupId } }] }, Stat: 'Average' },
              ReturnData: false,
            },
            { Id: 'e1', Label: 'Backlog per instance', Expression: 'm1 / IF(m2 > 0, m2, 1)', ReturnData: true },
          ],
        },
      },
    });
    expect(workers.targetBacklogPerInstance).toBe(60);
  });

  it('wakes the fleet: a step policy sets exact capacity 1', () => {
    t.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', {
      AutoScalingGroupName: { Ref: groupId },
      PolicyType: 'StepScaling',
      AdjustmentType: 'ExactCapacity',
      StepAdjustments: [{ MetricIntervalLowerBound: 0, ScalingAdjustment: 1 }],
    });
  });

  it('...triggered by an alarm on messages visible ≥ 1 while the desired capacity is 0', () => {
    const stepId = Object.entries(t.findResources('AWS::AutoScaling::ScalingPolicy')).find(([, r]) => (r as { Properties: { PolicyType: string } }).Properties.PolicyType === 'StepScaling')![0];
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmActions: [{ Ref: stepId }],
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      EvaluationPeriods: 1,
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'IF(m2 < 1, m1, 0)', ReturnData: true }),
        Match.objectLike({ Id: 'm1', MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'ApproximateNumberOfMessagesVisible' }) }) }),
        Match.objectLike({ Id: 'm2', MetricStat: Match.objectLike({ Metric: { Namespace: 'AWS/AutoScaling', MetricName: 'GroupDesiredCapacity', Dimensions: [{ Name: 'AutoScalingGroupName', Value: { Ref: groupId } }] } }) }),
      ]),
    });
    expect(workers.wakeUpAlarm).toBeDefined();
  });

  it('lets workers receive, delete and change visibility, nothing else on the queue (no send, no wildcards)', () => {
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyName: Match.stringLikeRegexp('^WorkersFleetInstanceRoleDefaultPolicy'),
      PolicyDocument: { Statement: [{ Effect: 'Allow', Action: ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'], Resource: { 'Fn::GetAtt': [queueId, 'Arn'] } }] },
    });
  });

  it('scale-in safety: workers may set instance protection on their own group only, in a policy of its own', () => {
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyName: Match.stringLikeRegexp('^WorkersScaleInProtectionPolicy'),
      Roles: [{ Ref: Match.stringLikeRegexp('^WorkersFleetInstanceRole') }],
      PolicyDocument: {
        Statement: [{
          Effect: 'Allow',
          Action: 'autoscaling:SetInstanceProtection',
          Resource: { 'Fn::Join': ['', ['arn:aws:autoscaling:us-east-1:', { Ref: 'AWS::AccountId' }, ':autoScalingGroup:*:autoScalingGroupName/', { Ref: groupId }]] },
        }],
      },
    });
  });

  it('scale-in safety: the default worker protects itself while busy and lifts it when idle', () => {
    const lt = Object.values(t.findResources('AWS::EC2::LaunchTemplate'))[0] as { Properties: { LaunchTemplateData: { UserData: unknown } } };
    const userData = JSON.stringify(lt.Properties.LaunchTemplateData.UserData);
    expect(userData).toContain('tags/instance/aws:autoscaling:groupName');
    expect(userData).toContain('set-instance-protection');
    expect(userData).toContain('--protected-from-scale-in');
    expect(userData).toContain('--no-protected-from-scale-in');
    expect(userData).toContain('receive-message --queue-url');
    expect(userData).toContain('--wait-time-seconds 20');
    expect(userData).toContain('delete-message');
    expect(userData).toContain('--visibility-timeout 0');
    expect(userData).toContain('PROCESSING_SECONDS=2');
    expect(userData).toContain(queueId);
  });

  it('offers the backlog-per-instance metric math', () => {
    const m = workers.metricBacklogPerInstance();
    expect(m.expression).toBe('m1 / IF(m2 > 0, m2, 1)');
    expect(Object.keys(m.usingMetrics).sort()).toEqual(['m1', 'm2']);
  });
});

describe('WorkerFleet with min 1 and an explicit target', () => {
  let t: Template;
  beforeAll(() => {
    const { stack, vpc } = stackWithVpc();
    const wq = new WorkQueue(stack, 'Jobs');
    const userData = ec2.UserData.forLinux();
    userData.addCommands('echo my-worker');
    new WorkerFleet(stack, 'Workers', { workQueue: wq, vpc, instanceType: T4G_SMALL, minCapacity: 1, maxCapacity: 4, targetBacklogPerInstance: 12.5, userData });
    t = Template.fromStack(stack);
  });

  it('has no wake-up policy or alarm (the group is never at 0)', () => {
    t.resourceCountIs('AWS::AutoScaling::ScalingPolicy', 1);
    t.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', { TargetTrackingConfiguration: Match.objectLike({ TargetValue: 12.5 }) });
    expect(Object.values(t.findResources('AWS::CloudWatch::Alarm')).some((a) => JSON.stringify(a).includes('GroupDesiredCapacity'))).toBe(false);
  });

  it('uses the user data given', () => {
    const lt = Object.values(t.findResources('AWS::EC2::LaunchTemplate'))[0] as { Properties: { LaunchTemplateData: { UserData: unknown } } };
    expect(JSON.stringify(lt.Properties.LaunchTemplateData.UserData)).toContain('echo my-worker');
  });
});

describe('WorkerFleet and producers in another stack than the queue (data / app split)', () => {
  let app: App;
  let data: Stack;
  let appStack: Stack;
  beforeAll(() => {
    app = new App({ context: cdkJsonContext() });
    const env = { region: 'eu-west-1' };
    const networkStack = new Stack(app, 'Network', { env });
    const vpc = new Network(networkStack, 'Network', { availabilityZones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'], cidr: '10.0.0.0/16' }).vpc;
    data = new Stack(app, 'Data', { env });
    const wq = new WorkQueue(data, 'Jobs', { parameterPrefix: '/t/queues/jobs' });
    const kmsQueue = new WorkQueue(data, 'Secure', { encryption: WorkQueueEncryption.KMS });
    appStack = new Stack(app, 'App', { env });
    new WorkerFleet(appStack, 'Workers', { workQueue: wq, vpc, instanceType: T4G_SMALL, maxCapacity: 4 });
    new WorkerFleet(appStack, 'SecureWorkers', { workQueue: kmsQueue, vpc, instanceType: T4G_SMALL, maxCapacity: 4 });
    const producer = new iam.Role(appStack, 'Producer', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
    wq.grantConsumer({ grantPrincipal: producer, connections: new ec2.Connections() });
    kmsQueue.grantSendMessages(producer);
  });

  it('synthesizes without a dependency cycle: the app stack depends on the data stack, never the reverse', () => {
    expect(() => app.synth()).not.toThrow();
    expect(appStack.dependencies).toContain(data);
    expect(data.dependencies).not.toContain(appStack);
  });

  it('adds nothing to the data stack for the grants (no key policy or queue policy statements)', () => {
    const t = Template.fromStack(data);
    t.resourceCountIs('AWS::IAM::Policy', 0);
    const key = Object.values(t.findResources('AWS::KMS::Key'))[0];
    expect(JSON.stringify(key)).not.toMatch(/Workers|Producer/);
    for (const p of Object.values(t.findResources('AWS::SQS::QueuePolicy')) as Array<{ Properties: { PolicyDocument: { Statement: unknown[] } } }>) {
      expect(p.Properties.PolicyDocument.Statement).toHaveLength(1);
    }
  });
});

describe('WorkerFleet bad input', () => {
  const base = () => {
    const { stack, vpc } = stackWithVpc();
    return { stack, vpc, workQueue: new WorkQueue(stack, 'Jobs') };
  };

  it('fails when max workers is below min', () => {
    const { stack, vpc, workQueue } = base();
    expect(() => new WorkerFleet(stack, 'W', { workQueue, vpc, instanceType: T4G_SMALL, minCapacity: 5, maxCapacity: 2 }))
      .toThrow(/WorkerFleet: minCapacity \(5\) must not exceed maxCapacity \(2\)/);
  });

  it('fails when the target is not positive', () => {
    const { stack, vpc, workQueue } = base();
    expect(() => new WorkerFleet(stack, 'W', { workQueue, vpc, instanceType: T4G_SMALL, maxCapacity: 2, targetBacklogPerInstance: 0 }))
      .toThrow(/targetBacklogPerInstance must be a positive number of messages per worker \(got: 0\)/);
    expect(() => new WorkerFleet(stack, 'W2', { workQueue, vpc, instanceType: T4G_SMALL, maxCapacity: 2, targetBacklogPerInstance: -3 }))
      .toThrow(/\(got: -3\)/);
  });

  it('fails when max workers is 0', () => {
    const { stack, vpc, workQueue } = base();
    expect(() => new WorkerFleet(stack, 'W', { workQueue, vpc, instanceType: T4G_SMALL, maxCapacity: 0 })).toThrow(/maxCapacity must be a whole number ≥ 1 \(got: 0\)/);
  });
});

describe('defaultWorkerUserData', () => {
  const rendered = defaultWorkerUserData({ queueUrl: 'https://sqs.eu-west-1.amazonaws.com/111111111111/jobs', region: 'eu-west-1', processingSeconds: 3 }).render();

  it('is valid bash, and so is the worker script it writes', () => {
    expect(spawnSync('bash', ['-n'], { input: rendered }).status).toBe(0);
    const script = rendered.split("cat > /opt/s2m/worker.sh <<'SH'\n")[1].split('\nSH\n')[0];
    const check = spawnSync('bash', ['-n'], { input: script });
    expect(check.stderr.toString()).toBe('');
    expect(check.status).toBe(0);
  });

  it('protects before working, hands the message back when it cannot, and unprotects only after an empty poll', () => {
    const script = rendered.split("cat > /opt/s2m/worker.sh <<'SH'\n")[1];
    const receive = script.indexOf('receive-message');
    const protectOn = script.indexOf('protect on');
    const work = script.indexOf('sleep "$PROCESSING_SECONDS"');
    const del = script.indexOf('delete-message');
    expect(receive).toBeGreaterThan(0);
    expect(protectOn).toBeGreaterThan(receive);
    expect(work).toBeGreaterThan(protectOn);
    expect(del).toBeGreaterThan(work);
    expect(script.indexOf('protect off')).toBeLessThan(protectOn);
    expect(script).toMatch(/protect on; then busy=yes; else\n\s+aws sqs change-message-visibility .* --visibility-timeout 0/);
    expect(rendered).toContain('QUEUE_URL=https://sqs.eu-west-1.amazonaws.com/111111111111/jobs');
    expect(rendered).toContain('systemctl enable --now s2m-worker.service');
  });

  it('runs: busy → protect, work, delete; idle → unprotect; terminating → hand back (fake aws and curl)', () => {
    // GIVEN fake `curl` (instance metadata) and `aws` commands that log their calls
    const dir = mkdtempSync(join(tmpdir(), 'worker-'));
    writeFileSync(join(dir, 'worker.env'), `QUEUE_URL=https://q\nAWS_REGION=eu-west-1\nPROCESSING_SECONDS=0\n`);
    writeFileSync(join(dir, 'curl'), [
      '#!/bin/bash',
      'case "$*" in *api/token*) echo tok;; *instance-id*) echo i-123;; *groupName*) echo grp;; *) exit 22;; esac',
    ].join('\n'));
    // receives: m1, m2, (empty), m3 with protection refused, then stop the loop
    writeFileSync(join(dir, 'aws'), [
      '#!/bin/bash',
      `echo "$*" >> ${dir}/calls`,
      `n=$(grep -c receive-message ${dir}/calls)`,
      'case "$*" in',
      '  *receive-message*) case $n in 1) echo h1;; 2) echo h2;; 3) echo None;; 4) echo h3;; *) kill $PPID; exit 1;; esac;;',
      `  *--protected-from-scale-in*) [ "$(grep -c -- '--protected-from-scale-in' ${dir}/calls)" -le 1 ] || exit 254;;`,
      'esac',
    ].join('\n'));
    chmodSync(join(dir, 'curl'), 0o755);
    chmodSync(join(dir, 'aws'), 0o755);
    const script = rendered.split("cat > /opt/s2m/worker.sh <<'SH'\n")[1].split('\nSH\n')[0]
      .replace('. /etc/s2m/worker.env', `. ${dir}/worker.env`)
      .replace(/sleep 20/g, 'sleep 0');
    // WHEN the worker loop runs
    spawnSync('bash', ['-c', script], { env: { ...process.env, PATH: `${dir}:${process.env.PATH}` }, timeout: 20_000 });
    // THEN the calls are, in order:
    const calls = readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n').map((l) => l.split(' ').slice(0, 2).join(' ') + (l.includes('--no-protected') ? ' off' : l.includes('--protected') ? ' on' : ''));
    expect(calls).toEqual([
      'sqs receive-message',
      'autoscaling set-instance-protection on', // busy: protect before the job
      'sqs delete-message', // job 1 done
      'sqs receive-message',
      'sqs delete-message', // still protected: no extra call for job 2
      'sqs receive-message', // empty poll
      'autoscaling set-instance-protection off', // idle: scale-in may take this worker now
      'sqs receive-message',
      'autoscaling set-instance-protection on', // refused (instance terminating)...
      'sqs change-message-visibility', // ...so the message goes straight back
      'sqs receive-message',
    ]);
  });
});
