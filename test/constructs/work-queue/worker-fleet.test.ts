import { App, Duration, Stack } from 'aws-cdk-lib/core';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Network } from '../../../constructs/network';
import { WorkQueue, WorkQueueEncryption, WorkerFleet, placeholderWorker, type WorkerFleetProps } from '../../../constructs/work-queue';
import { ApplicationSource, Fleet } from '../../../constructs/fleet';
import { cdkJsonContext, stackWithVpc } from '../../helpers/app';
import { inlineFiles, renderedUserData, shellcheck } from '../../helpers/user-data';
import { validationErrorOf } from '../../helpers/errors';

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

  it('lets workers receive, delete, change visibility and send on their own queue, nothing else (no purge, no wildcards)', () => {
    const [policy] = Object.values(t.findResources('AWS::IAM::Policy', { Properties: { PolicyName: Match.stringLikeRegexp('^WorkersFleetInstanceRoleDefaultPolicy') } })) as Array<{ Properties: { PolicyDocument: { Statement: Array<{ Action: string | string[] }> } } }>;
    const sqs = policy.Properties.PolicyDocument.Statement.filter((st) => JSON.stringify(st.Action).includes('sqs:'));
    expect(sqs).toEqual([{ Effect: 'Allow', Action: ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage', 'sqs:SendMessage'], Resource: { 'Fn::GetAtt': [queueId, 'Arn'] } }]);
  });

  it('scale-in safety: workers may set instance protection (and complete lifecycle actions) on their own group only (by its tag), before it exists', () => {
    const [[policyId]] = Object.entries(t.findResources('AWS::IAM::Policy', {
      Properties: {
        PolicyName: Match.stringLikeRegexp('^WorkersFleetOwnGroupPolicy'),
        Roles: [{ Ref: Match.stringLikeRegexp('^WorkersFleetInstanceRole') }],
        PolicyDocument: {
          Statement: [{
            Effect: 'Allow',
            Action: ['autoscaling:CompleteLifecycleAction', 'autoscaling:SetInstanceProtection'],
            Resource: { 'Fn::Join': ['', ['arn:aws:autoscaling:us-east-1:', { Ref: 'AWS::AccountId' }, ':autoScalingGroup:*:autoScalingGroupName/*']] },
            Condition: { StringEquals: { 'autoscaling:ResourceTag/s2m:fleet': Stack.of(workers).resolve(workers.fleet.groupTagValue) } },
          }],
        },
      },
    }));
    expect((t.toJSON().Resources[groupId] as { DependsOn: string[] }).DependsOn).toContain(policyId);
  });

  it('lets workers read their own lifecycle state (to wait for InService), in a policy the group waits for', () => {
    const [[policyId]] = Object.entries(t.findResources('AWS::IAM::Policy', {
      Properties: {
        PolicyName: Match.stringLikeRegexp('^WorkersLifecycleStatePolicy'),
        Roles: [{ Ref: Match.stringLikeRegexp('^WorkersFleetInstanceRole') }],
        PolicyDocument: { Statement: [{ Effect: 'Allow', Action: 'autoscaling:DescribeAutoScalingInstances', Resource: '*' }] },
      },
    }));
    expect((t.toJSON().Resources[groupId] as { DependsOn: string[] }).DependsOn).toContain(policyId);
  });

  it('scale-in safety: the placeholder worker protects itself while busy and lifts it when idle', () => {
    const userData = renderedUserData(t);
    const script = inlineFiles(userData)['/opt/s2m/app/worker.sh'];
    expect(script).toContain('tags/instance/aws:autoscaling:groupName');
    expect(script).toContain('set-instance-protection');
    expect(script).toContain('--protected-from-scale-in');
    expect(script).toContain('--no-protected-from-scale-in');
    expect(script).toContain('receive-message --queue-url');
    expect(script).toContain('--wait-time-seconds 20');
    expect(script).toContain('delete-message');
    expect(script).toContain('--visibility-timeout 0');
    expect(userData).toContain('PROCESSING_SECONDS=2');
    expect(userData).toContain(`QUEUE_URL=REF_${queueId}`);
    expect(userData).toContain('S2M_ROLE=worker');
  });

  it('rolls an instance refresh back when the dead-letter queue grows, and replaces busy workers through the drain', () => {
    const alarm = Object.entries(t.findResources('AWS::CloudWatch::Alarm')).find(([id]) => id.startsWith('WorkersRollbackDeadLetters'))!;
    expect(alarm[1].Properties).toMatchObject({ Threshold: 1, EvaluationPeriods: 5, DatapointsToAlarm: 1, TreatMissingData: 'notBreaching' });
    expect(alarm[1].Properties.Metrics).toEqual(expect.arrayContaining([expect.objectContaining({ Expression: 'DIFF(d)', ReturnData: true })]));
    const asg = Object.values(t.findResources('AWS::AutoScaling::AutoScalingGroup'))[0] as { UpdatePolicy: { AutoScalingInstanceRefresh: { Preferences: Record<string, unknown> } }; Properties: { LifecycleHookSpecificationList: Array<{ LifecycleHookName: string; HeartbeatTimeout: number }> } };
    expect(asg.UpdatePolicy.AutoScalingInstanceRefresh.Preferences).toMatchObject({ ScaleInProtectedInstances: 'Refresh', AlarmSpecification: { Alarms: [{ Ref: alarm[0] }] } });
    // the drain gives a busy worker the queue's visibility timeout (30 s for 2 s jobs) to finish its job
    expect(asg.Properties.LifecycleHookSpecificationList.find((h) => h.LifecycleHookName === 's2m-drain')?.HeartbeatTimeout).toBe(30 + 60);
    expect(workers.rollbackAlarms).toHaveLength(1);
    // one checkpoint, once every worker runs the new version, as long as a job that fails on every receive takes to
    // reach the dead-letter queue (5 receives 30 s apart) and its depth CloudWatch (15 min)
    expect(asg.UpdatePolicy.AutoScalingInstanceRefresh.Preferences).toMatchObject({ CheckpointPercentages: [100], CheckpointDelay: 5 * 30 + 900 });
  });

  it('warns when a rollout\'s checkpoint ends before the dead-letter alarm could see a failing version, and leaves a fleet without the alarm alone', () => {
    const build = (props: Partial<WorkerFleetProps>) => {
      const { stack, vpc } = stackWithVpc();
      const wq = new WorkQueue(stack, 'Jobs', { averageProcessingTime: Duration.seconds(20), maxReceiveCount: 3 });
      new WorkerFleet(stack, 'Workers', { vpc, workQueue: wq, instanceType: T4G_SMALL, maxCapacity: 4, ...props });
      const template = Template.fromStack(stack);
      const asg = Object.values(template.findResources('AWS::AutoScaling::AutoScalingGroup'))[0] as { UpdatePolicy: { AutoScalingInstanceRefresh: { Preferences: Record<string, unknown> } } };
      const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('worker-rollout-unwatched')).map((w) => String(w.entry.data));
      return { preferences: asg.UpdatePolicy.AutoScalingInstanceRefresh.Preferences, warnings };
    };
    // 3 receives of a 120 s visibility timeout (6 × 20 s) + 15 min = 1260 s
    expect(build({}).preferences).toMatchObject({ CheckpointPercentages: [100], CheckpointDelay: 1260 });
    const short = build({ rollout: { checkpointDelay: Duration.minutes(5) } });
    expect(short.preferences).toMatchObject({ CheckpointPercentages: [25, 100], CheckpointDelay: 300 });
    expect(short.warnings).toEqual([expect.stringMatching(/rollout\.checkpointDelay is 300 s, shorter than the 1260 s the dead-letter rollback alarm needs .* after 3 receives 120 s apart/)]);
    expect(build({ rollout: { checkpointPercentages: [] } }).warnings).toEqual([expect.stringMatching(/checkpointPercentages is empty/)]);
    const unwatched = build({ rollbackOnAlarms: false, rollout: { checkpointDelay: Duration.minutes(5) } });
    expect(unwatched.warnings).toEqual([]);
    expect(unwatched.preferences).toMatchObject({ CheckpointPercentages: [25, 100], CheckpointDelay: 300 });
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
    new WorkerFleet(stack, 'Workers', {
      workQueue: wq, vpc, instanceType: T4G_SMALL, minCapacity: 1, maxCapacity: 4, targetBacklogPerInstance: 12.5,
      application: ApplicationSource.container({ image: 'public.ecr.aws/shop/worker:2.0.1' }), rollbackOnAlarms: false,
    });
    t = Template.fromStack(stack);
  });

  it('has no wake-up policy or alarm (the group is never at 0)', () => {
    t.resourceCountIs('AWS::AutoScaling::ScalingPolicy', 1);
    t.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', { TargetTrackingConfiguration: Match.objectLike({ TargetValue: 12.5 }) });
    expect(Object.values(t.findResources('AWS::CloudWatch::Alarm')).some((a) => JSON.stringify(a).includes('GroupDesiredCapacity'))).toBe(false);
  });

  it('runs the application given, with no rollback alarm when asked', () => {
    expect(renderedUserData(t)).toContain('docker run --rm --init --name s2m-app --env-file /etc/scale-to-millions/env -v /etc/scale-to-millions:/etc/scale-to-millions:ro --log-opt max-size=10m public.ecr.aws/shop/worker:2.0.1');
    expect(Object.keys(t.findResources('AWS::CloudWatch::Alarm')).filter((id) => id.includes('Rollback'))).toEqual([]);
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

  it('lets the workers read their own queue\'s published parameters (how the runtime finds it) and send to it, no other queue', () => {
    // The policies attached to the Workers fleet's role (not the producer's, which reads and sends)
    const policies = Object.values(Template.fromStack(appStack).findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles).includes('WorkersFleet'));
    const text = JSON.stringify(policies);
    expect(policies.length).toBeGreaterThan(0);
    expect(text).toContain('ssm:GetParametersByPath');
    expect(text).toContain(':parameter/t/queues/jobs');
    expect(text).toContain('sqs:SendMessage');
    // the other queue's workers read nothing of /t/queues/jobs
    const secure = JSON.stringify(Object.values(Template.fromStack(appStack).findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles).includes('SecureWorkersFleet')));
    expect(secure).not.toContain(':parameter/t/queues/jobs');
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
  it.each<[string, Partial<WorkerFleetProps>, RegExp]>([
    ['max workers is below min', { minCapacity: 5, maxCapacity: 2 }, /^WorkerFleet: minCapacity \(5\) must not exceed maxCapacity \(2\)$/],
    ['the target is 0', { targetBacklogPerInstance: 0 }, /targetBacklogPerInstance must be a positive number of messages per worker \(got: 0\)/],
    ['the target is negative', { targetBacklogPerInstance: -3 }, /targetBacklogPerInstance .*\(got: -3\)/],
    ['max workers is 0', { maxCapacity: 0 }, /maxCapacity must be a whole number ≥ 1 \(got: 0\)/],
  ])('fails when %s, naming the workers', (_, props, message) => {
    const { stack, vpc } = stackWithVpc();
    const workQueue = new WorkQueue(stack, 'Jobs');
    expect(validationErrorOf(() => new WorkerFleet(stack, 'Workers', { workQueue, vpc, instanceType: T4G_SMALL, maxCapacity: 2, ...props })))
      .toEqual({ path: 'TestStack/Workers', message: expect.stringMatching(message) });
  });
});

describe('placeholderWorker', () => {
  let script: string;
  let userData: string;
  beforeAll(() => {
    const { stack, vpc } = stackWithVpc();
    new Fleet(stack, 'Fleet', { vpc, instanceType: T4G_SMALL, minCapacity: 1, maxCapacity: 2, application: placeholderWorker({ queueUrl: 'https://sqs.eu-west-1.amazonaws.com/111111111111/jobs', processingTime: Duration.seconds(3) }) });
    userData = renderedUserData(Template.fromStack(stack));
    script = inlineFiles(userData)['/opt/s2m/app/worker.sh'];
  });

  it('is valid bash, run by the fleet from its environment file', () => {
    const check = spawnSync('bash', ['-n'], { input: script });
    expect(check.stderr.toString()).toBe('');
    expect(check.status).toBe(0);
    expect(userData).toContain('QUEUE_URL=https://sqs.eu-west-1.amazonaws.com/111111111111/jobs');
    expect(userData).toContain('PROCESSING_SECONDS=3');
    expect(userData).toContain('exec /bin/bash worker.sh');
  });

  it('is clean for shellcheck', () => {
    expect(shellcheck(script)).toBe('');
  });

  it('protects before working, hands the message back when it cannot, and unprotects only after an empty poll', () => {
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
  });

  /** Runs the worker loop with fake `curl` (instance metadata) and `aws` commands that log their calls. */
  function run(awsReceives: string): string[] {
    const dir = mkdtempSync(join(tmpdir(), 'worker-'));
    writeFileSync(join(dir, 'curl'), [
      '#!/bin/bash',
      'case "$*" in *api/token*) echo tok;; *instance-id*) echo i-123;; *groupName*) echo grp;; *) exit 22;; esac',
    ].join('\n'));
    writeFileSync(join(dir, 'aws'), [
      '#!/bin/bash',
      `echo "$*" >> ${dir}/calls`,
      `n=$(grep -c receive-message ${dir}/calls)`,
      'case "$*" in',
      `  *receive-message*) ${awsReceives};;`,
      `  *--protected-from-scale-in*) [ "$(grep -c -- '--protected-from-scale-in' ${dir}/calls)" -le 1 ] || exit 254;;`,
      'esac',
    ].join('\n'));
    chmodSync(join(dir, 'curl'), 0o755);
    chmodSync(join(dir, 'aws'), 0o755);
    spawnSync('bash', ['-c', script.replace(/pause (20|5)\b/g, 'pause 0')], {
      env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, QUEUE_URL: 'https://q', PROCESSING_SECONDS: '0' },
      timeout: 20_000,
    });
    return readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n').map((l) => l.split(' ').slice(0, 2).join(' ') + (l.includes('--no-protected') ? ' off' : l.includes('--protected') ? ' on' : ''));
  }

  it('runs: busy → protect, work, delete; idle → unprotect; terminating → hand back (fake aws and curl)', () => {
    // receives: m1, m2, (empty), m3 with protection refused, then stop the loop
    expect(run('case $n in 1) echo h1;; 2) echo h2;; 3) echo None;; 4) echo h3;; *) kill $PPID; exit 1;; esac')).toEqual([
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

  it('lifts a protection left by a crashed run at its first idle poll (a restart does not know it is protected)', () => {
    expect(run('case $n in 1) echo None;; 2) echo None;; *) kill $PPID; exit 1;; esac')).toEqual([
      'sqs receive-message', // empty poll of the restarted worker
      'autoscaling set-instance-protection off', // whatever the crashed run left
      'sqs receive-message', // still idle: no more calls
      'sqs receive-message',
    ]);
  });

  it('stops on SIGTERM (the fleet\'s drain) after the job in hand, handing back a message it has not started', () => {
    // the second receive returns a message while SIGTERM arrives
    expect(run('case $n in 1) echo h1;; 2) kill -TERM $PPID; echo h2;; *) exit 1;; esac')).toEqual([
      'sqs receive-message',
      'autoscaling set-instance-protection on',
      'sqs delete-message', // job 1 finished
      'sqs receive-message', // SIGTERM arrives with message 2...
      'sqs change-message-visibility', // ...which goes back at once, and the worker exits
    ]);
  });

  /**
   * Runs the worker script as its own process group (as systemd runs a unit: `kill(-pgid)` signals every process of
   * it, as KillMode=control-group does), with real curl against a loopback IMDSv2 stand-in and a fake `aws` that
   * logs its calls. `imds(path, n)` answers the n-th read of a metadata path (undefined: 404); `awsCase` is a bash
   * `case` body on "$*" where `$n` counts calls of the same subcommand. `act` runs while the script does and may
   * signal it; the script is killed (SIGKILL to the group) if it has not exited 10 s after `act` returns.
   */
  async function live(o: {
    imds: (path: string, n: number) => string | undefined;
    awsCase: string;
    processingSeconds?: number;
    edit?: (s: string) => string;
    act: (ctl: { calls: () => string[]; pgid: number; until: (probe: (calls: string[]) => boolean) => Promise<void> }) => Promise<void>;
  }): Promise<{ calls: string[]; code: number | null; signal: NodeJS.Signals | null; exitedAfterActMs: number }> {
    const dir = mkdtempSync(join(tmpdir(), 'worker-live-'));
    const log = join(dir, 'calls');
    writeFileSync(log, '');
    const hits = new Map<string, number>();
    const token = 'tok-123';
    const server = createServer((req, res) => {
      if (req.method === 'PUT' && req.url === '/latest/api/token' && req.headers['x-aws-ec2-metadata-token-ttl-seconds']) return void res.end(token);
      if (req.headers['x-aws-ec2-metadata-token'] !== token) return void res.writeHead(401).end();
      const path = (req.url ?? '').replace(/^\/latest\/meta-data\//, '');
      const n = (hits.get(path) ?? 0) + 1;
      hits.set(path, n);
      const value = o.imds(path, n);
      if (path === 'autoscaling/target-lifecycle-state') writeFileSync(log, `imds ${path} ${value ?? '404'}\n`, { flag: 'a' });
      if (value === undefined) return void res.writeHead(404).end();
      res.end(value);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const endpoint = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    writeFileSync(join(dir, 'aws'), [
      '#!/bin/bash',
      `echo "aws $*" >> ${log}`,
      `n=$(grep -c -- "$2" ${log})`,
      `case "$*" in ${o.awsCase}`,
      'esac',
    ].join('\n'));
    chmodSync(join(dir, 'aws'), 0o755);
    const child = spawn('bash', ['-c', (o.edit ?? ((x) => x))(script)], {
      detached: true,
      stdio: 'ignore',
      env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, QUEUE_URL: 'https://q', PROCESSING_SECONDS: String(o.processingSeconds ?? 0), AWS_EC2_METADATA_SERVICE_ENDPOINT: endpoint },
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const calls = (): string[] => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter((l) => l !== '') : []);
    const short = (l: string): string => l.split(' ').slice(0, 3).join(' ') + (l.includes('--no-protected') ? ' off' : l.includes('--protected') ? ' on' : '');
    try {
      await o.act({
        calls,
        pgid: child.pid!,
        until: async (probe) => {
          const deadline = Date.now() + 15_000;
          while (!probe(calls().map(short))) {
            if (Date.now() > deadline) throw new Error(`timed out; calls so far: ${JSON.stringify(calls())}`);
            await new Promise((r) => setTimeout(r, 50));
          }
        },
      });
      const actDone = Date.now();
      const result = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 10_000))]);
      if (result === 'timeout') throw new Error(`the worker script did not exit; calls: ${JSON.stringify(calls())}`);
      return { calls: calls().map(short), ...result, exitedAfterActMs: Date.now() - actDone };
    } finally {
      // The group's pid: the script and whatever it left (a pause's sleep).
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* already gone */ }
      server.closeAllConnections();
      server.close();
    }
  }

  it('receives nothing until its instance is InService: the target state (instance metadata), then the current state (the API)', async () => {
    // GIVEN an instance first in a warm pool (target Warmed:Running), then launched into service: the target reads
    // InService at once while the launching hook holds it in Pending:Wait (twice), then InService
    const { calls, code } = await live({
      imds: (path, n) => ({ 'instance-id': 'i-1', 'tags/instance/aws:autoscaling:groupName': 'grp', 'autoscaling/target-lifecycle-state': n <= 2 ? 'Warmed:Running' : 'InService' } as Record<string, string>)[path],
      awsCase: `*describe-auto-scaling-instances*) if [ "$n" -le 2 ]; then echo Pending:Wait; else echo InService; fi;;
        *receive-message*) echo None;;`,
      edit: (s) => s.replace('  pause 5\ndone', '  pause 0.2\ndone'),
      act: async ({ until, pgid }) => {
        await until((c) => c.includes('aws sqs receive-message'));
        process.kill(-pgid, 'SIGTERM');
      },
    });
    // THEN the first receive comes only after the API said InService
    expect(calls.slice(0, calls.indexOf('aws sqs receive-message') + 1)).toEqual([
      'imds autoscaling/target-lifecycle-state Warmed:Running',
      'imds autoscaling/target-lifecycle-state Warmed:Running', // in the warm pool: no API call
      'imds autoscaling/target-lifecycle-state InService',
      'aws autoscaling describe-auto-scaling-instances', // Pending:Wait
      'imds autoscaling/target-lifecycle-state InService',
      'aws autoscaling describe-auto-scaling-instances', // Pending:Wait
      'imds autoscaling/target-lifecycle-state InService',
      'aws autoscaling describe-auto-scaling-instances', // InService
      'aws sqs receive-message',
    ]);
    expect(code).toBe(0);
  });

  /** An instance of group `grp` whose target state already reads InService (as it does during Pending:Wait). */
  const inServiceTarget = (path: string): string | undefined => ({ 'instance-id': 'i-1', 'tags/instance/aws:autoscaling:groupName': 'grp', 'autoscaling/target-lifecycle-state': 'InService' } as Record<string, string>)[path];

  it('stops at once on SIGTERM while waiting for InService, having received nothing', async () => {
    const { calls, code, exitedAfterActMs } = await live({
      imds: inServiceTarget,
      awsCase: '*describe-auto-scaling-instances*) echo Pending:Wait;;',
      act: async ({ until, pgid }) => {
        await until((c) => c.includes('aws autoscaling describe-auto-scaling-instances'));
        await new Promise((r) => setTimeout(r, 300)); // into its 5 s pause
        process.kill(pgid, 'SIGTERM'); // the script only (a plain `kill <pid>`)
      },
    });
    expect(calls.filter((l) => l.startsWith('aws sqs'))).toEqual([]);
    expect(exitedAfterActMs).toBeLessThan(2_000);
    expect(code).toBe(0);
  });

  it('stops without pausing on a SIGTERM that came during an aws call (its trap runs after the call)', async () => {
    const { calls, code, exitedAfterActMs } = await live({
      imds: inServiceTarget,
      awsCase: '*describe-auto-scaling-instances*) sleep 1; echo Pending:Wait;;',
      act: async ({ until, pgid }) => {
        await until((c) => c.includes('aws autoscaling describe-auto-scaling-instances'));
        process.kill(pgid, 'SIGTERM'); // while the (foreground) call runs: bash runs the trap when it returns
      },
    });
    expect(calls.filter((l) => l.startsWith('aws sqs'))).toEqual([]);
    // the call's remaining second, and no 5 s pause after it
    expect(exitedAfterActMs).toBeLessThan(3_500);
    expect(code).toBe(0);
  });

  it('receives without waiting in no group (no target state), and on SIGTERM to the whole unit mid-job hands the message back instead of deleting it', async () => {
    const { calls, code } = await live({
      imds: (path) => ({ 'instance-id': 'i-1', 'tags/instance/aws:autoscaling:groupName': 'grp' } as Record<string, string>)[path],
      awsCase: '*receive-message*) echo h1;;',
      processingSeconds: 30,
      act: async ({ until, pgid }) => {
        await until((c) => c.includes('aws autoscaling set-instance-protection on'));
        await new Promise((r) => setTimeout(r, 500)); // the job (sleep 30) is running
        // systemd's stop with KillMode=control-group: SIGTERM to every process of the unit, the job's too
        process.kill(-pgid, 'SIGTERM');
      },
    });
    expect(calls).toEqual([
      'imds autoscaling/target-lifecycle-state 404',
      'aws sqs receive-message',
      'aws autoscaling set-instance-protection on',
      'aws sqs change-message-visibility', // the cut-short job's message goes back for another worker, not deleted
    ]);
    expect(code).toBe(0);
  });
});
