import { Duration, SecretValue, Stack, Tags } from 'aws-cdk-lib/core';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { AL2023_RELEASE_CONTEXT_KEY, ApplicationSource, FLEET_DEFAULTS, Fleet, checkCapacity, type FleetProps } from '../../../constructs/fleet';
import { Network } from '../../../constructs/network';
import { stackWithVpc, testApp } from '../../helpers/app';
import { renderedUserData } from '../../helpers/user-data';
import { validationErrorOf } from '../../helpers/errors';

const ARM = new ec2.InstanceType('m7g.large');
const app = (name = 'srv') => ApplicationSource.inline({ files: { 'srv.py': 'print(1)\n' }, startCommand: `/usr/bin/python3 ${name}.py` });

type Resource = { Properties: Record<string, unknown>; UpdatePolicy?: Record<string, unknown>; DependsOn?: string[] };
function only(t: Template, type: string): Resource {
  const all = Object.values(t.findResources(type)) as Resource[];
  expect(all, type).toHaveLength(1);
  return all[0];
}

describe('Fleet with an application (a worker fleet that may sleep)', () => {
  let t: Template;
  let fleet: Fleet;
  let stack: Stack;

  beforeAll(() => {
    // GIVEN a VPC
    const s = stackWithVpc();
    stack = s.stack;
    // WHEN a fleet with min 0 runs an application, with no load balancer
    fleet = new Fleet(stack, 'Workers', { vpc: s.vpc, instanceType: new ec2.InstanceType('c7i.large'), minCapacity: 0, maxCapacity: 6, application: app() });
    t = Template.fromStack(stack);
  });

  it('uses EC2 health checks with the default grace period and warmup, and no DesiredCapacity', () => {
    const asg = only(t, 'AWS::AutoScaling::AutoScalingGroup');
    expect(asg.Properties).toMatchObject({ HealthCheckType: 'EC2', HealthCheckGracePeriod: 180, DefaultInstanceWarmup: 120, MinSize: '0', MaxSize: '6', NewInstancesProtectedFromScaleIn: false });
    expect(asg.Properties.DesiredCapacity).toBeUndefined();
  });

  it('rolls out by instance refresh: launch before terminate, checkpoints, busy workers drained, standby replaced', () => {
    const asg = only(t, 'AWS::AutoScaling::AutoScalingGroup');
    expect(asg.UpdatePolicy).toEqual({
      // aws-cdk-lib's own: sizes set by scheduled actions survive a deploy
      AutoScalingScheduledAction: { IgnoreUnmodifiedGroupSizeProperties: true },
      AutoScalingInstanceRefresh: {
        Strategy: 'Rolling',
        Preferences: {
          MinHealthyPercentage: 100,
          MaxHealthyPercentage: 125,
          SkipMatching: true,
          CheckpointPercentages: [25, 100],
          CheckpointDelay: 300,
          ScaleInProtectedInstances: 'Refresh',
          StandbyInstances: 'Terminate',
        },
      },
    });
  });

  it('gates new instances on readiness and gives terminating ones a drain, with hooks on the group itself', () => {
    expect(only(t, 'AWS::AutoScaling::AutoScalingGroup').Properties.LifecycleHookSpecificationList).toEqual([
      { LifecycleHookName: 's2m-ready', LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING', HeartbeatTimeout: 600, DefaultResult: 'ABANDON' },
      { LifecycleHookName: 's2m-drain', LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING', HeartbeatTimeout: 180, DefaultResult: 'CONTINUE' },
    ]);
    t.resourceCountIs('AWS::AutoScaling::LifecycleHook', 0);
  });

  it('runs the pinned Amazon Linux 2023 release, resolved per region at deploy (no floating SSM parameter)', () => {
    expect(JSON.stringify(t.toJSON().Parameters ?? {})).not.toContain('ami-amazon-linux-latest');
    const lookup = only(t, 'Custom::AmazonLinux2023Image');
    const create = JSON.parse(lookup.Properties.Create as string) as { action: string; parameters: { Filters: Array<{ Name: string; Values: string[] }>; Owners: string[]; IncludeDeprecated: boolean } };
    expect(create).toMatchObject({ action: 'describeImages', parameters: { Owners: ['amazon'], IncludeDeprecated: true } });
    expect(create.parameters.Filters[0]).toEqual({ Name: 'name', Values: [`al2023-ami-${FLEET_DEFAULTS.al2023Release}-kernel-6.1-x86_64`] });
    const lt = only(t, 'AWS::EC2::LaunchTemplate');
    expect(JSON.stringify(lt.Properties.LaunchTemplateData)).toContain('"ImageId":{"Fn::GetAtt":[');
  });

  it('requires IMDSv2 with instance tags (the scripts find their group there), no public IP, encrypted gp3', () => {
    t.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1, InstanceMetadataTags: 'enabled' },
        NetworkInterfaces: [Match.objectLike({ AssociatePublicIpAddress: false })],
        BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 20, VolumeType: 'gp3', Encrypted: true, DeleteOnTermination: true } }],
      }),
    });
  });

  it('keeps its application logs in a retained log group with the default retention', () => {
    t.hasResource('AWS::Logs::LogGroup', { Properties: { RetentionInDays: 30 }, DeletionPolicy: 'Retain' });
  });

  it('lets the instances complete lifecycle actions on their own group only, by its tag, in a policy that exists before the group', () => {
    const groupId = stack.getLogicalId(fleet.autoScalingGroup.node.defaultChild as never);
    const [[policyId, policy]] = Object.entries(t.findResources('AWS::IAM::Policy', { Properties: { PolicyName: Match.stringLikeRegexp('^WorkersOwnGroupPolicy') } }));
    const tagValue = { 'Fn::Join': ['', [{ Ref: 'AWS::StackName' }, '/TestStackWorkers5DD946EB']] };
    expect(policy.Properties.PolicyDocument.Statement).toEqual([{
      Effect: 'Allow',
      Action: 'autoscaling:CompleteLifecycleAction',
      Resource: { 'Fn::Join': ['', ['arn:aws:autoscaling:us-east-1:', { Ref: 'AWS::AccountId' }, ':autoScalingGroup:*:autoScalingGroupName/*']] },
      Condition: { StringEquals: { 'autoscaling:ResourceTag/s2m:fleet': tagValue } },
    }]);
    // No reference to the group: CloudFormation creates the policy first, and the group waits for it, so the
    // first instances' launching hook can be completed (and on deletion the group goes first).
    expect(JSON.stringify(policy)).not.toContain(groupId);
    const asg = only(t, 'AWS::AutoScaling::AutoScalingGroup');
    expect(asg.DependsOn).toContain(policyId);
    expect(asg.Properties.Tags).toContainEqual({ Key: 's2m:fleet', Value: tagValue, PropagateAtLaunch: true });
    expect(stack.resolve(fleet.groupTagValue)).toEqual(tagValue);
  });

  it('grants the CloudWatch agent its log group and its namespace only', () => {
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyName: Match.stringLikeRegexp('^WorkersInstanceRoleDefaultPolicy'),
      PolicyDocument: {
        Statement: Match.arrayWith([
          { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^WorkersLogs'), 'Arn'] } },
          { Effect: 'Allow', Action: 'cloudwatch:PutMetricData', Resource: '*', Condition: { StringEquals: { 'cloudwatch:namespace': 'CWAgent' } } },
        ]),
      },
    });
  });

  it('writes the environment file with the contract variables, and no secret', () => {
    const userData = renderedUserData(t);
    const env = /cat > \/etc\/scale-to-millions\/env <<'ENV'\n([\s\S]*?)\nENV/.exec(userData)![1].split('\n');
    expect(env).toEqual(expect.arrayContaining(['S2M_REGION=us-east-1', 'S2M_ROLE=worker', 'S2M_SERVICE=Workers', 'S2M_HEALTH_PATH=/health', 'S2M_DEEP_HEALTH_PATH=/health/deep']));
    expect(env.find((l) => l.startsWith('S2M_APP_VERSION='))).toMatch(/^S2M_APP_VERSION=[0-9a-f]{12}$/);
    // the time systemd gives the application after SIGTERM (TimeoutStopSec), the drain timeout: 120 s by default
    expect(env).toContain('S2M_STOP_TIMEOUT=120');
    expect(userData).toContain('TimeoutStopSec=120');
    expect(userData).not.toMatch(/secretsmanager|password/i);
  });

  it('tags the group with the version it launches, for s2m status', () => {
    const tags = only(t, 'AWS::AutoScaling::AutoScalingGroup').Properties.Tags as Array<{ Key: string; Value: string }>;
    expect(tags.find((x) => x.Key === 's2m:app-version')?.Value).toBe(fleet.applicationVersion);
    expect(fleet.applicationVersion).toMatch(/^[0-9a-f]{12}$/);
  });

  it('offers the agent\'s memory and disk metrics by Auto Scaling group', () => {
    const m = fleet.metricMemoryUtilization();
    expect([m.namespace, m.metricName, m.statistic]).toEqual(['CWAgent', 'mem_used_percent', 'Maximum']);
    expect(stack.resolve(m.dimensions)).toEqual({ AutoScalingGroupName: { Ref: stack.getLogicalId(fleet.autoScalingGroup.node.defaultChild as never) } });
    expect(fleet.metricDiskUtilization().metricName).toBe('disk_used_percent');
  });

  it('grants to and connects through the instance role and security group', () => {
    expect(fleet.grantPrincipal).toBe(fleet.role);
    expect(fleet.connections.securityGroups).toHaveLength(1);
  });
});

describe('Fleet with options', () => {
  let t: Template;

  beforeAll(() => {
    const { stack, vpc } = stackWithVpc();
    const role = new iam.Role(stack, 'MyRole', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
    const fleet = new Fleet(stack, 'Fleet', {
      vpc,
      instanceType: ARM,
      minCapacity: 6,
      maxCapacity: 6,
      role,
      rootVolumeSizeGiB: 50,
      elbHealthChecks: true,
      healthCheckGracePeriod: Duration.minutes(5),
      defaultInstanceWarmup: Duration.seconds(30),
      newInstancesProtectedFromScaleIn: true,
      warmPool: { minSize: 1 },
      application: app(),
      readinessTimeout: Duration.minutes(20),
      drainTimeout: Duration.minutes(15),
      rollout: { minHealthyPercentage: 90, maxHealthyPercentage: 150, checkpointPercentages: [], instanceWarmup: Duration.seconds(45) },
    });
    fleet.addRollbackAlarm(new cloudwatch.Alarm(stack, 'Errors', { metric: new cloudwatch.Metric({ namespace: 'X', metricName: 'Y' }), threshold: 1, evaluationPeriods: 1 }));
    t = Template.fromStack(stack);
  });

  it('uses the given role and creates none', () => {
    t.resourceCountIs('AWS::IAM::Role', 4); // MyRole, the AMI lookup's, and the VPC's flow log and default-SG custom resource roles
    t.hasResourceProperties('AWS::IAM::InstanceProfile', { Roles: [{ Ref: 'MyRoleF48FFE04' }] });
  });

  it('applies the health check, warmup, scale-in protection and root volume size', () => {
    t.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      HealthCheckType: 'ELB', HealthCheckGracePeriod: 300, DefaultInstanceWarmup: 30, NewInstancesProtectedFromScaleIn: true,
    });
    t.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({ BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 50, VolumeType: 'gp3', Encrypted: true, DeleteOnTermination: true } }] }),
    });
  });

  it('takes the rollout options and watches the rollback alarm, which exists before the group updates', () => {
    const asg = only(t, 'AWS::AutoScaling::AutoScalingGroup');
    expect(asg.UpdatePolicy).toEqual({
      // aws-cdk-lib's own: sizes set by scheduled actions survive a deploy
      AutoScalingScheduledAction: { IgnoreUnmodifiedGroupSizeProperties: true },
      AutoScalingInstanceRefresh: {
        Strategy: 'Rolling',
        Preferences: {
          MinHealthyPercentage: 90, MaxHealthyPercentage: 150, InstanceWarmup: 45, SkipMatching: true,
          AlarmSpecification: { Alarms: [{ Ref: expect.stringMatching(/^Errors/) }] },
          ScaleInProtectedInstances: 'Refresh', StandbyInstances: 'Terminate',
        },
      },
    });
    expect(asg.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/^Errors/)]));
  });

  it('uses the readiness and drain timeouts for the hooks, the script and systemd', () => {
    expect(only(t, 'AWS::AutoScaling::AutoScalingGroup').Properties.LifecycleHookSpecificationList).toEqual([
      expect.objectContaining({ HeartbeatTimeout: 1200 }),
      expect.objectContaining({ HeartbeatTimeout: 960 }),
    ]);
    const userData = renderedUserData(t);
    expect(userData).toContain("S2M_READY_TIMEOUT='1170'");
    expect(userData).toContain('TimeoutStopSec=900');
  });

  it('adds the warm pool, whose instances an instance refresh replaces after the in-service ones', () => {
    t.hasResourceProperties('AWS::AutoScaling::WarmPool', { MinSize: 1 });
  });
});

describe('Fleet instance types (mixed instances)', () => {
  it('launches further types of the same architecture in order of preference, On-Demand', () => {
    const { stack, vpc } = stackWithVpc();
    new Fleet(stack, 'Fleet', { vpc, instanceType: ARM, additionalInstanceTypes: [new ec2.InstanceType('m6g.large'), new ec2.InstanceType('c7g.xlarge')], minCapacity: 1, maxCapacity: 30, application: app() });
    const asg = only(Template.fromStack(stack), 'AWS::AutoScaling::AutoScalingGroup');
    expect(asg.Properties.LaunchTemplate).toBeUndefined();
    expect(asg.Properties.MixedInstancesPolicy).toMatchObject({
      InstancesDistribution: { OnDemandAllocationStrategy: 'prioritized', OnDemandPercentageAboveBaseCapacity: 100 },
      LaunchTemplate: { Overrides: [{ InstanceType: 'm7g.large' }, { InstanceType: 'm6g.large' }, { InstanceType: 'c7g.xlarge' }] },
    });
  });

  it.each([
    ['a type of another architecture', { additionalInstanceTypes: [new ec2.InstanceType('m7i.large')] }, /additionalInstanceTypes must share instanceType's architecture \(arm64\), since one AMI serves them all \(got: m7i\.large, x86_64\)/],
    ['a warm pool with several types', { additionalInstanceTypes: [new ec2.InstanceType('m6g.large')], warmPool: { minSize: 1 } }, /warmPool and additionalInstanceTypes exclude each other: Auto Scaling rejects a warm pool on a group with several instance types \(got: 2 types\)/],
    ['a repeated type', { additionalInstanceTypes: [new ec2.InstanceType('m7g.large')] }, /additionalInstanceTypes repeats an instance type \(got: m7g\.large\)/],
    ['a running warm pool', { warmPool: { minSize: 1, poolState: autoscaling.PoolState.RUNNING } }, /warmPool\.poolState must be STOPPED with an application \(got: Running\): an instance leaving a running or hibernated pool does not boot again/],
    ['a hibernated warm pool', { warmPool: { poolState: autoscaling.PoolState.HIBERNATED } }, /warmPool\.poolState must be STOPPED with an application \(got: Hibernated\)/],
  ])('fails with %s, naming the fleet', (_, extra, message) => {
    const { stack, vpc } = stackWithVpc();
    expect(validationErrorOf(() => new Fleet(stack, 'Fleet', { vpc, instanceType: ARM, minCapacity: 1, maxCapacity: 4, application: app(), ...extra } as FleetProps)))
      .toEqual({ path: 'TestStack/Fleet', message: expect.stringMatching(message) });
  });
});

describe('Fleet AMI pin', () => {
  const lookupName = (stack: Stack) => (JSON.parse(only(Template.fromStack(stack), 'Custom::AmazonLinux2023Image').Properties.Create as string) as { parameters: { Filters: Array<{ Values: string[] }> } }).parameters.Filters[0].Values[0];

  it('takes the release from the context key, and shares one lookup per stack and architecture', () => {
    const stack = new Stack(testApp({ [AL2023_RELEASE_CONTEXT_KEY]: '2023.9.20251117.1' }), 'Pinned', { env: { region: 'eu-west-1' } });
    const vpc = new Network(stack, 'Network', { availabilityZones: ['eu-west-1a', 'eu-west-1b'], cidr: '10.0.0.0/16' }).vpc;
    new Fleet(stack, 'A', { vpc, instanceType: ARM, minCapacity: 1, maxCapacity: 2, application: app() });
    new Fleet(stack, 'B', { vpc, instanceType: new ec2.InstanceType('c7g.large'), minCapacity: 1, maxCapacity: 2, application: app() });
    expect(lookupName(stack)).toBe('al2023-ami-2023.9.20251117.1-kernel-6.1-arm64');
  });

  it('fails on a context value that is not a release, naming the key', () => {
    const stack = new Stack(testApp({ [AL2023_RELEASE_CONTEXT_KEY]: 'latest' }), 'Bad', { env: { region: 'eu-west-1' } });
    const vpc = new Network(stack, 'Network', { availabilityZones: ['eu-west-1a', 'eu-west-1b'], cidr: '10.0.0.0/16' }).vpc;
    expect(validationErrorOf(() => new Fleet(stack, 'A', { vpc, instanceType: ARM, minCapacity: 1, maxCapacity: 2, application: app() })))
      .toEqual({ path: 'Bad/A/LaunchTemplate', message: `context ${AL2023_RELEASE_CONTEXT_KEY} must be an Amazon Linux 2023 release like ${FLEET_DEFAULTS.al2023Release} (got: "latest")` });
  });

  it('synthesizes without credentials for a region added to the config (the lookup runs at deploy)', () => {
    const { stack, vpc } = stackWithVpc('Anywhere', 'me-central-1');
    new Fleet(stack, 'A', { vpc, instanceType: ARM, minCapacity: 1, maxCapacity: 2, application: app() });
    expect(lookupName(stack)).toBe(`al2023-ami-${FLEET_DEFAULTS.al2023Release}-kernel-6.1-arm64`);
  });
});

describe('Fleet group tags', () => {
  it('give each fleet\'s group a value of its own, so no fleet may act on another\'s group', () => {
    const { stack, vpc } = stackWithVpc();
    const a = new Fleet(stack, 'A', { vpc, instanceType: ARM, minCapacity: 1, maxCapacity: 2, application: app() });
    const b = new Fleet(stack, 'B', { vpc, instanceType: ARM, minCapacity: 1, maxCapacity: 2, application: app() });
    expect(stack.resolve(a.groupTagValue)).not.toEqual(stack.resolve(b.groupTagValue));
  });

  it('grant an imported role through iam.Grant, still before the group', () => {
    const { stack, vpc } = stackWithVpc();
    const role = iam.Role.fromRoleArn(stack, 'Imported', 'arn:aws:iam::111111111111:role/fleet');
    new Fleet(stack, 'Fleet', { vpc, instanceType: ARM, minCapacity: 1, maxCapacity: 2, application: app(), role });
    const t = Template.fromStack(stack);
    const [[policyId, policy]] = Object.entries(t.findResources('AWS::IAM::Policy', { Properties: { Roles: ['fleet'] } }));
    expect(JSON.stringify(policy)).toContain('autoscaling:ResourceTag/s2m:fleet');
    expect(only(t, 'AWS::AutoScaling::AutoScalingGroup').DependsOn).toContain(policyId);
  });
});

describe('Fleet with its own user data', () => {
  it('adds no hooks, no bootstrap and no agent grants, and waits for protected instances in a refresh', () => {
    const { stack, vpc } = stackWithVpc();
    const userData = ec2.UserData.forLinux();
    userData.addCommands('echo mine');
    new Fleet(stack, 'Fleet', { vpc, instanceType: ARM, minCapacity: 1, maxCapacity: 2, userData });
    const t = Template.fromStack(stack);
    const asg = only(t, 'AWS::AutoScaling::AutoScalingGroup');
    expect(asg.Properties.LifecycleHookSpecificationList).toBeUndefined();
    expect((asg.UpdatePolicy as { AutoScalingInstanceRefresh: { Preferences: { ScaleInProtectedInstances: string } } }).AutoScalingInstanceRefresh.Preferences.ScaleInProtectedInstances).toBe('Wait');
    expect(renderedUserData(t)).toBe('#!/bin/bash\necho mine');
  });
});

describe('Fleet bad props', () => {
  const build = (props: Partial<FleetProps>) => () => {
    const { stack, vpc } = stackWithVpc();
    new Fleet(stack, 'Fleet', { vpc, instanceType: new ec2.InstanceType('t3.small'), minCapacity: 1, maxCapacity: 2, application: app(), ...props });
  };

  it.each<[Partial<FleetProps>, string]>([
    [{ minCapacity: -1, maxCapacity: 2 }, 'Fleet: minCapacity must be a whole number ≥ 0 (got: -1)'],
    [{ minCapacity: 0.5, maxCapacity: 2 }, 'Fleet: minCapacity must be a whole number ≥ 0 (got: 0.5)'],
    [{ minCapacity: 0, maxCapacity: 0 }, 'Fleet: maxCapacity must be a whole number ≥ 1 (got: 0)'],
    [{ minCapacity: 4, maxCapacity: 2 }, 'Fleet: minCapacity (4) must not exceed maxCapacity (2)'],
    [{ rootVolumeSizeGiB: 4 }, 'Fleet: rootVolumeSizeGiB must be a whole number from 8 to 16384 (got: 4)'],
    [{ userData: ec2.UserData.forLinux() }, 'Fleet: give application or userData, not both (got both)'],
    [{
      machineImage: ec2.MachineImage.genericLinux({ 'us-east-1': 'ami-0123456789abcdef0' }),
      application: ApplicationSource.machineImage({ image: ec2.MachineImage.genericLinux({ 'us-east-1': 'ami-0fedcba9876543210' }) }),
    }, 'Fleet: give machineImage or an application source that is a machine image, not both (got both)'],
    [{ port: 70000 }, 'Fleet: port must be a whole number from 1 to 65535 (got: 70000)'],
    [{ rollout: { minHealthyPercentage: 120 } }, 'Fleet: rollout.minHealthyPercentage must be a whole number 0-100 (got: 120)'],
    [{ rollout: { maxHealthyPercentage: 90 } }, 'Fleet: rollout.maxHealthyPercentage must be a whole number 100-200 (got: 90)'],
    [{ rollout: { minHealthyPercentage: 50, maxHealthyPercentage: 200 } }, 'Fleet: rollout.maxHealthyPercentage may be at most 100 above minHealthyPercentage (got: 50 and 200)'],
    [{ rollout: { checkpointPercentages: [50, 25, 100] } }, 'Fleet: rollout.checkpointPercentages must be whole numbers 1-100 in ascending order (got: [50,25,100])'],
    [{ rollout: { checkpointPercentages: [10, 50] } }, 'Fleet: rollout.checkpointPercentages must end with 100, or the refresh stops before replacing every instance (got: [10,50])'],
    [{ readinessTimeout: Duration.seconds(10) }, 'Fleet: readinessTimeout must be 30 seconds to 119 minutes (got: 10 seconds)'],
    [{ drainDelay: Duration.seconds(3601) }, 'Fleet: drainDelay must be whole seconds from 0 to 3600, a target group\'s deregistration delay (got: 3601 seconds)'],
    [{ drainDelay: Duration.millis(1500) }, 'Fleet: drainDelay must be whole seconds from 0 to 3600, a target group\'s deregistration delay (got: 1.5 seconds)'],
    [{ drainDelay: Duration.seconds(3600), drainTimeout: Duration.seconds(3541) }, 'Fleet: drainDelay + drainTimeout must be at most 7140 seconds: the terminating lifecycle hook (at most 7200 s) waits for both and 60 s more, and would end the drain (got: 3600 + 3541 seconds)'],
    [{ environment: { 'bad-key': 'x' } }, 'Fleet: environment keys must be upper-case names like S2M_APP (got: "bad-key")'],
    [{ environment: { GREETING: 'hello world' } }, 'Fleet: environment.GREETING must be a plain word of A-Z a-z 0-9 _ . / : @ + , = - (got: "hello world")'],
    [{ deepHealthCheckPath: 'health/deep' }, 'Fleet: deepHealthCheckPath must be one exact path starting with / of A-Z a-z 0-9 _ . / @ : + - (no wildcard or query string, at most 255 characters) (got: "health/deep")'],
    [{ loadBalancerIdleTimeout: Duration.seconds(4001) }, 'Fleet: loadBalancerIdleTimeout must be whole seconds from 1 to 4000, an Application Load Balancer\'s range (got: 4001 seconds)'],
    [{ loadBalancerIdleTimeout: Duration.millis(1500) }, 'Fleet: loadBalancerIdleTimeout must be whole seconds from 1 to 4000, an Application Load Balancer\'s range (got: 1.5 seconds)'],
    [{ deepHealthCheckPath: '/health' }, 'Fleet: deepHealthCheckPath must differ from healthCheckPath, which the runtime answers first without checking the data tier (got: "/health" for both)'],
    [{ healthCheckPath: "/it's" }, 'Fleet: healthCheckPath must be a path starting with / of A-Z a-z 0-9 _ - . $ / ~ @ : + & (no query string, wildcard or quote) (got: "/it\'s")'],
  ])('fails on %j, naming the fleet', (props, message) => {
    expect(validationErrorOf(build(props))).toEqual({ path: 'TestStack/Fleet', message });
  });

  it('refuses a secret in the environment file at synth', () => {
    const { stack, vpc } = stackWithVpc();
    new Fleet(stack, 'Fleet', { vpc, instanceType: ARM, minCapacity: 1, maxCapacity: 2, application: app(), environment: { TOKEN: SecretValue.secretsManager('db', { jsonField: 'password' }).unsafeUnwrap() } });
    expect(() => Template.fromStack(stack)).toThrow(/Fleet: environment\.TOKEN resolves to a secret; the environment file never holds one/);
  });

  it('refuses at synth user data over what EC2 takes (16 KB), naming the size', () => {
    const { stack, vpc } = stackWithVpc();
    const big = ApplicationSource.inline({ files: { 'srv.py': `# ${'x'.repeat(16_000)}\nprint(1)\n` }, startCommand: '/usr/bin/python3 srv.py' });
    new Fleet(stack, 'Fleet', { vpc, instanceType: ARM, minCapacity: 1, maxCapacity: 2, application: big });
    expect(() => Template.fromStack(stack)).toThrow(/Fleet: the user data is about \d+ bytes, over what fits in EC2's 16 KB .*\(got: \d+ bytes\)/);
    // the control: the usual fleet is far below it
    const { stack: small, vpc: vpc2 } = stackWithVpc();
    new Fleet(small, 'Fleet', { vpc: vpc2, instanceType: ARM, minCapacity: 1, maxCapacity: 2, application: app() });
    expect(() => Template.fromStack(small)).not.toThrow();
  });

  it('warns when an imported role cannot take the own-group permission (every launch would be abandoned)', () => {
    const { stack, vpc } = stackWithVpc();
    const role = iam.Role.fromRoleArn(stack, 'Imported', 'arn:aws:iam::123456789012:role/fleet', { mutable: false });
    new Fleet(stack, 'Fleet', { vpc, instanceType: ARM, minCapacity: 1, maxCapacity: 2, application: app(), role });
    Annotations.fromStack(stack).hasWarning('/TestStack/Fleet', Match.stringLikeRegexp('cannot take the fleet\'s own-group permission.*autoscaling:CompleteLifecycleAction'));
    // the control: a mutable imported role takes it (a policy of this stack), and nothing is said
    const { stack: other, vpc: vpc2 } = stackWithVpc();
    const mutable = iam.Role.fromRoleArn(other, 'Imported', 'arn:aws:iam::123456789012:role/fleet');
    new Fleet(other, 'Fleet', { vpc: vpc2, instanceType: ARM, minCapacity: 1, maxCapacity: 2, application: app(), role: mutable });
    expect(Annotations.fromStack(other).findWarning('*', Match.stringLikeRegexp('own-group permission'))).toEqual([]);
    expect(JSON.stringify(Template.fromStack(other).findResources('AWS::IAM::Policy'))).toContain('autoscaling:CompleteLifecycleAction');
  });

  it.each([['cost center'], ['team/owner']])('refuses at synth a tag key %j that reaches the instances (EC2 would refuse every launch)', (key) => {
    const { stack, vpc } = stackWithVpc();
    new Fleet(stack, 'Fleet', { vpc, instanceType: ARM, minCapacity: 1, maxCapacity: 2, application: app() });
    Tags.of(stack).add(key, 'platform');
    expect(() => Template.fromStack(stack)).toThrow(`Fleet: tag key ${JSON.stringify(key)} reaches the instances, which have tags in their instance metadata`);
  });

  it('accepts tag keys EC2 allows on instances with tags in their metadata', () => {
    const { stack, vpc } = stackWithVpc();
    new Fleet(stack, 'Fleet', { vpc, instanceType: ARM, minCapacity: 1, maxCapacity: 2, application: app() });
    Tags.of(stack).add('cost-center', 'Équipe / ops');
    expect(() => Template.fromStack(stack)).not.toThrow();
  });

  it('refuses more than ten rollback alarms', () => {
    const { stack, vpc } = stackWithVpc();
    const fleet = new Fleet(stack, 'Fleet', { vpc, instanceType: ARM, minCapacity: 1, maxCapacity: 2, application: app() });
    const alarm = (i: number) => new cloudwatch.Alarm(stack, `A${i}`, { metric: new cloudwatch.Metric({ namespace: 'X', metricName: 'Y' }), threshold: 1, evaluationPeriods: 1 });
    for (let i = 0; i < 10; i++) fleet.addRollbackAlarm(alarm(i));
    expect(validationErrorOf(() => fleet.addRollbackAlarm(alarm(10)))).toEqual({ path: 'TestStack/Fleet', message: 'Fleet: an instance refresh watches at most 10 alarms (got: one more than 10)' });
  });

  it('prefixes capacity errors with the caller, and points at the caller\'s construct when given one', () => {
    expect(validationErrorOf(() => checkCapacity(3, 1, 'Workers: queue orders'))).toEqual({ path: undefined, message: 'Workers: queue orders: minCapacity (3) must not exceed maxCapacity (1)' });
    const { stack } = stackWithVpc();
    expect(validationErrorOf(() => checkCapacity(3, 1, 'Workers', stack)).path).toBe('TestStack');
  });

  it('adds no warning of its own', () => {
    const { stack, vpc } = stackWithVpc();
    new Fleet(stack, 'Fleet', { vpc, instanceType: ARM, minCapacity: 1, maxCapacity: 2, application: app() });
    expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
  });
});
