import { Duration, aws_ec2 as ec2, aws_iam as iam } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { Fleet, checkCapacity } from '../../../constructs/fleet';
import { stackWithVpc } from '../../helpers/app';

describe('Fleet with defaults (a worker fleet that may sleep)', () => {
  let template: Template;
  let fleet: Fleet;

  beforeAll(() => {
    // GIVEN a VPC
    const { stack, vpc } = stackWithVpc();
    // WHEN a fleet with min 0 is created with no load balancer
    fleet = new Fleet(stack, 'Workers', { vpc, instanceType: new ec2.InstanceType('c7i.large'), minCapacity: 0, maxCapacity: 6 });
    template = Template.fromStack(stack);
  });

  it('uses EC2 health checks with the default grace period and warmup, and no DesiredCapacity', () => {
    const [asg] = Object.values(template.findResources('AWS::AutoScaling::AutoScalingGroup'));
    expect(asg.Properties).toMatchObject({ HealthCheckType: 'EC2', HealthCheckGracePeriod: 180, DefaultInstanceWarmup: 120, MinSize: '0', MaxSize: '6', NewInstancesProtectedFromScaleIn: false });
    expect(asg.Properties.DesiredCapacity).toBeUndefined();
  });

  it('rolls updates one instance at a time when the fleet may be empty', () => {
    const [asg] = Object.values(template.findResources('AWS::AutoScaling::AutoScalingGroup'));
    expect(asg.UpdatePolicy.AutoScalingRollingUpdate).toMatchObject({ MaxBatchSize: 1, MinInstancesInService: 0 });
  });

  it('uses the x86_64 Amazon Linux 2023 parameter for an Intel type', () => {
    const params = Object.values(template.toJSON().Parameters as Record<string, { Type: string; Default?: string }>);
    expect(params).toContainEqual({ Type: 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>', Default: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64' });
  });

  it('creates a security group with no inbound rule and all outbound', () => {
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: 'Instances of TestStack/Workers',
      SecurityGroupEgress: [{ CidrIp: '0.0.0.0/0', IpProtocol: '-1' }],
    });
    const [sg] = Object.values(template.findResources('AWS::EC2::SecurityGroup'));
    expect(sg.Properties.SecurityGroupIngress).toBeUndefined();
  });

  it('grants to and connects through the instance role and security group', () => {
    expect(fleet.grantPrincipal).toBe(fleet.role);
    expect(fleet.connections.securityGroups).toHaveLength(1);
  });
});

describe('Fleet with options', () => {
  let template: Template;

  beforeAll(() => {
    const { stack, vpc } = stackWithVpc();
    const role = new iam.Role(stack, 'MyRole', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
    new Fleet(stack, 'Fleet', {
      vpc,
      instanceType: new ec2.InstanceType('m7g.large'),
      minCapacity: 6,
      maxCapacity: 6,
      role,
      rootVolumeSizeGiB: 50,
      elbHealthChecks: true,
      healthCheckGracePeriod: Duration.minutes(5),
      defaultInstanceWarmup: Duration.seconds(30),
      newInstancesProtectedFromScaleIn: true,
      warmPool: { minSize: 1 },
    });
    template = Template.fromStack(stack);
  });

  it('uses the given role and creates none', () => {
    template.resourceCountIs('AWS::IAM::Role', 3); // MyRole + the VPC's flow log and default-SG custom resource roles
    template.hasResourceProperties('AWS::IAM::InstanceProfile', { Roles: [{ Ref: 'MyRoleF48FFE04' }] });
  });

  it('applies the health check, warmup, scale-in protection and root volume size', () => {
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      HealthCheckType: 'ELB', HealthCheckGracePeriod: 300, DefaultInstanceWarmup: 30, NewInstancesProtectedFromScaleIn: true,
    });
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: { BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 50, VolumeType: 'gp3', Encrypted: true, DeleteOnTermination: true } }] },
    });
  });

  it('keeps all but one instance in service while rolling a fixed-size fleet, in batches of a third', () => {
    const [asg] = Object.values(template.findResources('AWS::AutoScaling::AutoScalingGroup'));
    expect(asg.UpdatePolicy.AutoScalingRollingUpdate).toMatchObject({ MaxBatchSize: 2, MinInstancesInService: 5 });
  });

  it('adds the warm pool', () => {
    template.hasResourceProperties('AWS::AutoScaling::WarmPool', { MinSize: 1 });
  });
});

describe('Fleet bad props', () => {
  const build = (props: { minCapacity: number; maxCapacity: number; rootVolumeSizeGiB?: number }) => () => {
    const { stack, vpc } = stackWithVpc();
    new Fleet(stack, 'Fleet', { vpc, instanceType: new ec2.InstanceType('t3.small'), ...props });
  };

  it('fails when minCapacity is negative or fractional', () => {
    expect(build({ minCapacity: -1, maxCapacity: 2 })).toThrow('Fleet: minCapacity must be a whole number ≥ 0 (got: -1)');
    expect(build({ minCapacity: 0.5, maxCapacity: 2 })).toThrow('Fleet: minCapacity must be a whole number ≥ 0 (got: 0.5)');
  });

  it('fails when maxCapacity is below 1', () => {
    expect(build({ minCapacity: 0, maxCapacity: 0 })).toThrow('Fleet: maxCapacity must be a whole number ≥ 1 (got: 0)');
  });

  it('fails when minCapacity exceeds maxCapacity', () => {
    expect(build({ minCapacity: 4, maxCapacity: 2 })).toThrow('Fleet: minCapacity (4) must not exceed maxCapacity (2)');
  });

  it('fails when the root volume is out of range', () => {
    expect(build({ minCapacity: 1, maxCapacity: 2, rootVolumeSizeGiB: 4 })).toThrow('Fleet: rootVolumeSizeGiB must be a whole number from 8 to 16384 (got: 4)');
  });

  it('prefixes capacity errors with the caller', () => {
    expect(() => checkCapacity(3, 1, 'Workers: queue orders')).toThrow('Workers: queue orders: minCapacity (3) must not exceed maxCapacity (1)');
  });
});
