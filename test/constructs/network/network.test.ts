import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { type App, type Stack } from 'aws-cdk-lib/core';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { FLEET_DEFAULTS } from '../../../constructs/fleet';
import { Network, type NetworkProps } from '../../../constructs/network';
import { testStack } from '../../helpers/app';
import { validationErrorOf } from '../../helpers/errors';

const AZS = ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'];

describe('Network with defaults', () => {
  let template: Template;
  let network: Network;
  let stack: Stack;

  beforeAll(() => {
    // GIVEN a stack in eu-west-1
    stack = testStack('NetworkStack', 'eu-west-1');
    // WHEN a network spans three explicit zones
    network = new Network(stack, 'Network', { availabilityZones: AZS, cidr: '10.1.0.0/16' });
    template = Template.fromStack(stack);
  });

  it('creates a VPC with the given CIDR and DNS support', () => {
    template.resourceCountIs('AWS::EC2::VPC', 1);
    template.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: '10.1.0.0/16', EnableDnsHostnames: true, EnableDnsSupport: true });
  });

  it('uses exactly the three explicit zones', () => {
    expect(network.vpc.availabilityZones).toEqual(AZS);
    const zones = Object.values(template.findResources('AWS::EC2::Subnet')).map((r) => r.Properties.AvailabilityZone as string);
    expect([...new Set(zones)].sort()).toEqual(AZS);
  });

  it('creates a public, a private-with-egress and an isolated subnet in every zone', () => {
    template.resourceCountIs('AWS::EC2::Subnet', 9);
    for (const az of AZS) {
      for (const type of ['Public', 'Private', 'Isolated']) {
        template.hasResourceProperties('AWS::EC2::Subnet', {
          AvailabilityZone: az,
          Tags: Match.arrayWith([{ Key: 'aws-cdk:subnet-type', Value: type }]),
        });
      }
    }
    expect(network.vpc.publicSubnets).toHaveLength(3);
    expect(network.vpc.privateSubnets).toHaveLength(3);
    expect(network.vpc.isolatedSubnets).toHaveLength(3);
  });

  it('never gives instances in public subnets a public IP on launch', () => {
    template.hasResourceProperties('AWS::EC2::Subnet', { MapPublicIpOnLaunch: false, Tags: Match.arrayWith([{ Key: 'aws-cdk:subnet-type', Value: 'Public' }]) });
    expect(Object.values(template.findResources('AWS::EC2::Subnet', { Properties: { MapPublicIpOnLaunch: true } }))).toEqual([]);
  });

  it('puts one NAT gateway in every zone, each private subnet routing through its own', () => {
    template.resourceCountIs('AWS::EC2::NatGateway', 3);
    template.resourceCountIs('AWS::EC2::EIP', 3);
    const natRoutes = Object.values(template.findResources('AWS::EC2::Route', { Properties: { NatGatewayId: Match.anyValue() } }));
    expect(new Set(natRoutes.map((r) => JSON.stringify(r.Properties.NatGatewayId))).size).toBe(3);
  });

  it('gives the isolated subnets no route out', () => {
    const isolatedTables = Object.entries(template.findResources('AWS::EC2::RouteTable'))
      .filter(([id]) => id.includes('Isolated'))
      .map(([id]) => id);
    expect(isolatedTables).toHaveLength(3);
    const routes = Object.values(template.findResources('AWS::EC2::Route')).filter((r) => isolatedTables.includes(r.Properties.RouteTableId.Ref));
    expect(routes).toEqual([]);
  });

  it('adds S3 and DynamoDB gateway endpoints', () => {
    template.resourceCountIs('AWS::EC2::VPCEndpoint', 2);
    for (const service of ['s3', 'dynamodb']) {
      template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
        VpcEndpointType: 'Gateway',
        ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, `.${service}`]] },
      });
    }
    // every private and isolated subnet reaches S3 and DynamoDB without the NAT gateway
    for (const ep of Object.values(template.findResources('AWS::EC2::VPCEndpoint'))) {
      const tables = (ep.Properties.RouteTableIds as Array<{ Ref: string }>).map((r) => r.Ref);
      expect(tables.filter((t) => /Private|Isolated/.test(t))).toHaveLength(6);
    }
  });

  it('logs ALL traffic to a log group kept 90 days, retained on delete', () => {
    template.hasResourceProperties('AWS::EC2::FlowLog', {
      ResourceType: 'VPC',
      TrafficType: 'ALL',
      LogDestinationType: 'cloud-watch-logs',
      LogGroupName: { Ref: Match.stringLikeRegexp('^NetworkFlowLogs') },
      MaxAggregationInterval: 60,
    });
    template.hasResource('AWS::Logs::LogGroup', {
      Properties: { RetentionInDays: 90 },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    expect(network.flowLogGroup).toBeDefined();
  });

  it('lets the flow logs service assume the delivery role only for this account\'s flow logs in this region (confused deputy)', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [{
          Action: 'sts:AssumeRole',
          Effect: 'Allow',
          Principal: { Service: 'vpc-flow-logs.amazonaws.com' },
          Condition: {
            StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
            ArnLike: { 'aws:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ec2:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':vpc-flow-log/*']] } },
          },
        }],
      },
    });
  });

  it('restricts the default security group with the custom resource', () => {
    template.resourceCountIs('Custom::VpcRestrictDefaultSG', 1);
    template.hasResourceProperties('Custom::VpcRestrictDefaultSG', { DefaultSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^NetworkVpc'), 'DefaultSecurityGroup'] } });
  });

  it('performs no context lookups', () => {
    const missing = (stack.node.root as App).synth().manifest.missing ?? [];
    expect(missing).toEqual([]);
  });

  it('warns about nothing with three zones and NAT per zone', () => {
    Annotations.fromStack(stack).hasNoWarning('*', Match.anyValue());
  });
});

describe('Network with fewer NAT gateways and custom retention', () => {
  let template: Template;
  let annotations: Annotations;

  beforeAll(() => {
    const stack = testStack('SmallNetwork', 'eu-west-1');
    new Network(stack, 'Network', { availabilityZones: AZS, cidr: '10.2.0.0/16', natGateways: 1, flowLogRetention: logs.RetentionDays.ONE_YEAR });
    template = Template.fromStack(stack);
    annotations = Annotations.fromStack(stack);
  });

  it('creates a single NAT gateway shared by every private subnet', () => {
    template.resourceCountIs('AWS::EC2::NatGateway', 1);
    const natRoutes = Object.values(template.findResources('AWS::EC2::Route', { Properties: { NatGatewayId: Match.anyValue() } }));
    expect(natRoutes).toHaveLength(3);
    expect(new Set(natRoutes.map((r) => JSON.stringify(r.Properties.NatGatewayId))).size).toBe(1);
  });

  it('keeps flow logs for the configured retention', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
  });

  it('adds no warning', () => {
    annotations.hasNoWarning('*', Match.anyValue());
  });
});

describe('Network with NAT instances', () => {
  let template: Template;
  let network: Network;

  beforeAll(() => {
    // GIVEN a two-zone network WHEN it asks for one t4g.nano NAT instance instead of NAT gateways
    const stack = testStack('NatInstances', 'us-east-1');
    network = new Network(stack, 'Network', { availabilityZones: ['us-east-1a', 'us-east-1b'], cidr: '10.3.0.0/16', natGateways: 1, natInstanceType: new ec2.InstanceType('t4g.nano') });
    template = Template.fromStack(stack);
  });

  it('creates no NAT gateway and one forwarding instance with its own public IPv4 address in a public subnet', () => {
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::EIP', 0);
    template.resourceCountIs('AWS::EC2::Instance', 1);
    expect(network.natInstances).toHaveLength(1);
    template.hasResourceProperties('AWS::EC2::Instance', {
      InstanceType: 't4g.nano',
      SourceDestCheck: false,
      NetworkInterfaces: [Match.objectLike({ AssociatePublicIpAddress: true, SubnetId: { Ref: Match.stringLikeRegexp('PublicSubnet1') } })],
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { Encrypted: true, VolumeSize: 8, VolumeType: 'gp3' } }],
    });
  });

  it('runs the pinned Amazon Linux 2023 release of the fleets, not the latest image (a new AMI replaces nothing)', () => {
    const instance = Object.values(template.findResources('AWS::EC2::Instance'))[0];
    expect(instance.Properties.ImageId).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^AmazonLinux2023Images/), 'Images.0.ImageId'] });
    expect(JSON.stringify(template.toJSON().Parameters ?? {})).not.toContain('al2023');
    const lookup = Object.values(template.findResources('Custom::AmazonLinux2023Image'))[0];
    expect(JSON.stringify(lookup.Properties.Create)).toContain(`al2023-ami-${FLEET_DEFAULTS.al2023Release}-kernel-6.1-arm64`);
  });

  it('routes every private subnet (both zones) through it; isolated subnets stay without a route out', () => {
    const routes = Object.values(template.findResources('AWS::EC2::Route', { Properties: { InstanceId: Match.anyValue() } }));
    expect(routes.map((r) => (r.Properties.RouteTableId as { Ref: string }).Ref).sort()).toEqual([
      expect.stringMatching(/^NetworkVpcPrivateSubnet1RouteTable/), expect.stringMatching(/^NetworkVpcPrivateSubnet2RouteTable/),
    ]);
  });

  it('requires IMDSv2 through an unnamed launch template (no name collision between instances, stacks or regions)', () => {
    const templates = Object.values(template.findResources('AWS::EC2::LaunchTemplate'));
    expect(templates).toEqual([{ Type: 'AWS::EC2::LaunchTemplate', Properties: { LaunchTemplateData: { MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1 } } } }]);
  });

  it('accepts any traffic from the VPC only, and lets the instance signal nothing but its own stack', () => {
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupIngress: [{ CidrIp: '10.3.0.0/16', IpProtocol: '-1', Description: 'forwarded traffic from the VPC' }],
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([{ Action: 'cloudformation:SignalResource', Effect: 'Allow', Resource: { Ref: 'AWS::StackId' }, Sid: 'SignalItsOwnStack' }]) },
    });
    // Session Manager only: no managed policy (AmazonSSMManagedInstanceCore would let it read every SSM parameter)
    for (const role of Object.values(template.findResources('AWS::IAM::Role', { Properties: { AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'ec2.amazonaws.com' } })] } } }))) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: ['ssm:UpdateInstanceInformation', 'ssmmessages:CreateControlChannel', 'ssmmessages:CreateDataChannel', 'ssmmessages:OpenControlChannel', 'ssmmessages:OpenDataChannel'], Resource: '*' })]) },
    });
  });

  it('makes CloudFormation wait for the instance to report that forwarding works, replacing it when its script changes', () => {
    const [id, instance] = Object.entries(template.findResources('AWS::EC2::Instance'))[0];
    expect(instance.CreationPolicy).toEqual({ ResourceSignal: { Timeout: 'PT10M' } });
    // userDataCausesReplacement: the logical id carries a hash of the user data
    expect(id).toMatch(/^NetworkVpcPublicSubnet1NatInstance[0-9A-F]{8}[0-9a-f]{16}$/);
    const script = userDataText(instance.Properties.UserData);
    expect(script).toContain(`--resource "${id}"`);
    expect(script).toContain('oifname "$iface" ip saddr 10.3.0.0/16 ip daddr != 10.3.0.0/16 masquerade');
    expect(script).toContain('net.ipv4.ip_forward = 1');
    expect(script).toContain('systemctl enable --now s2m-nat.service');
    expect(script.trimEnd().endsWith('signal 0')).toBe(true);
  });

  it('has a first-boot script shellcheck accepts', () => {
    const script = userDataText(Object.values(template.findResources('AWS::EC2::Instance'))[0].Properties.UserData);
    const r = spawnSync('shellcheck', ['--shell=bash', '-'], { input: script, encoding: 'utf8' });
    expect(r.error, 'shellcheck must be installed (.ci/run installs it)').toBeUndefined();
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('reboots the instance when its own status check fails for 3 minutes', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'StatusCheckFailed_Instance', Namespace: 'AWS/EC2', Statistic: 'Maximum', Period: 60, EvaluationPeriods: 3, Threshold: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: ['arn:aws:automate:us-east-1:ec2:reboot'],
    });
  });
});

/** The user data script with every token replaced by `TOKEN`. */
function userDataText(userData: unknown): string {
  const join = (userData as { 'Fn::Base64': { 'Fn::Join': [string, unknown[]] } })['Fn::Base64']['Fn::Join'][1];
  return join.map((p) => (typeof p === 'string' ? p : 'TOKEN')).join('');
}


describe('Network with interface endpoints', () => {
  let template: Template;
  let network: Network;
  beforeAll(() => {
    // GIVEN a network WHEN it gets Secrets Manager, SSM and ECR Docker endpoints
    const stack = testStack('Endpoints', 'eu-west-1');
    network = new Network(stack, 'Network', {
      availabilityZones: AZS,
      cidr: '10.1.0.0/16',
      interfaceEndpoints: [ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER, ec2.InterfaceVpcEndpointAwsService.SSM, ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER],
    });
    template = Template.fromStack(stack);
  });

  it('creates one interface endpoint per service with private DNS, in the three private subnets', () => {
    template.resourceCountIs('AWS::EC2::VPCEndpoint', 5); // + the S3 and DynamoDB gateways
    const endpoints = Object.values(template.findResources('AWS::EC2::VPCEndpoint', { Properties: { VpcEndpointType: 'Interface' } }));
    expect(endpoints).toHaveLength(3);
    for (const e of endpoints) {
      expect(e.Properties.PrivateDnsEnabled).toBe(true);
      expect(e.Properties.SubnetIds).toHaveLength(3);
      for (const subnet of e.Properties.SubnetIds as Array<{ Ref: string }>) expect(subnet.Ref).toMatch(/PrivateSubnet/);
    }
    expect(Object.keys(network.interfaceEndpoints)).toEqual(['secretsmanager', 'ssm', 'ecr.dkr']);
    expect(JSON.stringify(endpoints)).toContain('.secretsmanager');
  });

  it('admits HTTPS from the VPC\'s CIDR only to the endpoints, through one security group with no egress', () => {
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: 'Interface endpoints: HTTPS from the VPC only',
      SecurityGroupIngress: [Match.objectLike({ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIp: '10.1.0.0/16' })],
      SecurityGroupEgress: [Match.objectLike({ CidrIp: '255.255.255.255/32' })],
    });
    const groups = new Set(Object.values(template.findResources('AWS::EC2::VPCEndpoint', { Properties: { VpcEndpointType: 'Interface' } })).map((e) => JSON.stringify(e.Properties.SecurityGroupIds)));
    expect(groups.size).toBe(1);
  });

  it('creates none by default', () => {
    const stack = testStack('NoEndpoints', 'eu-west-1');
    new Network(stack, 'Network', { availabilityZones: AZS, cidr: '10.1.0.0/16' });
    expect(Template.fromStack(stack).findResources('AWS::EC2::VPCEndpoint', { Properties: { VpcEndpointType: 'Interface' } })).toEqual({});
  });

});

describe('Network warnings', () => {
  it('warns with an id when it spans fewer than 3 zones', () => {
    const stack = testStack('TwoAzs', 'us-east-1');
    new Network(stack, 'Network', { availabilityZones: ['us-east-1a', 'us-east-1b'], cidr: '10.0.0.0/16' });
    Annotations.fromStack(stack).hasWarning('/TwoAzs/Network', Match.stringLikeRegexp('spans 2 availability zone\\(s\\).*\\[ack: scale-to-millions:network-fewer-than-3-azs\\]'));
  });

  it('warns with an id when there is no NAT gateway', () => {
    const stack = testStack('NoNat', 'us-east-1');
    new Network(stack, 'Network', { availabilityZones: ['us-east-1a', 'us-east-1b', 'us-east-1c'], cidr: '10.0.0.0/16', natGateways: 0 });
    Annotations.fromStack(stack).hasWarning('/NoNat/Network', Match.stringLikeRegexp('no NAT gateway.*\\[ack: scale-to-millions:network-no-nat\\]'));
    Template.fromStack(stack).resourceCountIs('AWS::EC2::NatGateway', 0);
  });
});

describe('Network bad props', () => {
  const azs = ['us-east-1a', 'us-east-1b', 'us-east-1c'];
  it.each<[string, (s: Stack) => Partial<NetworkProps>, string | RegExp]>([
    ['no availability zones are given', () => ({ availabilityZones: [] }), 'Network: availabilityZones must list concrete zone names (got: [])'],
    ['the availability zones are tokens (a lookup)', (s) => ({ availabilityZones: s.availabilityZones }), /Network: availabilityZones must list concrete zone names \(got: \[.*Token/],
    ['there are more NAT gateways than zones', () => ({ natGateways: 4 }), 'Network: natGateways must be a whole number from 0 to the number of availability zones (3) (got: 4)'],
    ['the NAT gateway count is negative', () => ({ natGateways: -1 }), /natGateways .* \(got: -1\)/],
    ['the NAT gateway count is fractional', () => ({ natGateways: 1.5 }), /natGateways .* \(got: 1\.5\)/],
    ['a service is listed twice', () => ({ interfaceEndpoints: [ec2.InterfaceVpcEndpointAwsService.SQS, ec2.InterfaceVpcEndpointAwsService.SQS] }), /interfaceEndpoints lists sqs twice \(got: \["sqs","sqs"\]\)/],
  ])('fails when %s, naming the network', (_, props, message) => {
    const stack = testStack();
    expect(validationErrorOf(() => new Network(stack, 'Network', { availabilityZones: azs, cidr: '10.0.0.0/16', ...props(stack) })))
      .toEqual({ path: 'TestStack/Network', message: typeof message === 'string' ? message : expect.stringMatching(message) });
  });
});
