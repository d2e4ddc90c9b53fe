import { Duration, NestedStack, Stack } from 'aws-cdk-lib/core';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ApplicationSource, FLEET_DEFAULTS } from '../../../constructs/fleet';
import { WebTier, type WebServiceProps, type WebTierProps } from '../../../constructs/web-tier';
import { readEnvironment } from '../../../lib/runtime/env';
import { HealthCheck } from '../../../lib/runtime/health';
import { stackWithVpc, testApp } from '../../helpers/app';
import { embeddedScripts, inlineFiles, renderedUserData, runInstanceScript } from '../../helpers/user-data';
import { validationErrorOf } from '../../helpers/errors';

const ZONE = { hostedZoneId: 'Z0123456789ABCDEFGHIJ', zoneName: 'example.com' };

/** The two services of the main fixture: a default Graviton service and a routed x86 one with every option. */
function services(): WebServiceProps[] {
  return [
    { name: 'web', instanceType: new ec2.InstanceType('m7g.large'), minCapacity: 3, maxCapacity: 30, healthCheckPath: '/healthz' },
    {
      name: 'api',
      pathPatterns: ['/api/*'],
      hostPatterns: ['api.example.com'],
      priority: 7,
      instanceType: new ec2.InstanceType('c7i.large'),
      minCapacity: 2,
      maxCapacity: 10,
      targetCpuPercent: 60,
      targetRequestsPerInstance: 1500,
      port: 9000,
      deregistrationDelay: Duration.seconds(15),
      slowStart: Duration.seconds(60),
      scheduledScaling: [{ name: 'morning', schedule: autoscaling.Schedule.expression('0 7 * * MON-FRI'), minCapacity: 6 }],
      stepScaling: { cpuAbove: 85, addInstances: 3 },
      warmPool: { minSize: 2, reuseOnScaleIn: true },
    },
  ];
}

/** The only resource of `type` whose logical ID contains `part`. */
function resourceOf(template: Template, type: string, part: string): { id: string; props: Record<string, unknown>; resource: Record<string, unknown> } {
  const matches = Object.entries(template.findResources(type)).filter(([id]) => id.includes(part));
  expect(matches.map(([id]) => id)).toHaveLength(1);
  const [id, resource] = matches[0];
  return { id, props: resource.Properties as Record<string, unknown>, resource };
}

describe('WebTier with a domain and two services', () => {
  let stack: Stack;
  let tier: WebTier;
  let template: Template;

  beforeAll(() => {
    // GIVEN a VPC and a hosted zone given by attributes
    const fixture = stackWithVpc();
    stack = fixture.stack;
    const hostedZone = route53.HostedZone.fromHostedZoneAttributes(stack, 'Zone', ZONE);
    // WHEN a web tier is created for the domain
    tier = new WebTier(stack, 'Web', { vpc: fixture.vpc, domain: { domainName: 'shop.example.com', hostedZone }, services: services() });
    template = Template.fromStack(stack);
  });

  describe('load balancer', () => {
    it('is an internet-facing ALB in the public subnets', () => {
      template.resourceCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', 1);
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
        Type: 'application',
        Scheme: 'internet-facing',
        Subnets: [{ Ref: Match.stringLikeRegexp('PublicSubnet1') }, { Ref: Match.stringLikeRegexp('PublicSubnet2') }, { Ref: Match.stringLikeRegexp('PublicSubnet3') }],
      });
    });

    it('drops invalid header fields, mitigates desync, and is deletion protected by default', () => {
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
        LoadBalancerAttributes: Match.arrayWith([
          { Key: 'deletion_protection.enabled', Value: 'true' },
          { Key: 'idle_timeout.timeout_seconds', Value: '60' },
          { Key: 'routing.http.drop_invalid_header_fields.enabled', Value: 'true' },
          { Key: 'routing.http.desync_mitigation_mode', Value: 'defensive' },
        ]),
      });
    });

    it('writes access logs to its bucket', () => {
      const bucket = resourceOf(template, 'AWS::S3::Bucket', 'WebAccessLogs');
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
        LoadBalancerAttributes: Match.arrayWith([
          { Key: 'access_logs.s3.enabled', Value: 'true' },
          { Key: 'access_logs.s3.bucket', Value: { Ref: bucket.id } },
          { Key: 'access_logs.s3.prefix', Value: 'alb' },
        ]),
      });
    });

    it('keeps access logs in an encrypted, private, versioned bucket that is retained', () => {
      const { props, resource } = resourceOf(template, 'AWS::S3::Bucket', 'WebAccessLogs');
      expect(props).toMatchObject({
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        VersioningConfiguration: { Status: 'Enabled' },
        LifecycleConfiguration: { Rules: [expect.objectContaining({ ExpirationInDays: 90, Status: 'Enabled' })] },
      });
      expect(resource).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    });

    it('denies non-TLS access to the access logs bucket', () => {
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          })]),
        },
      });
    });

    it('exposes its connections (the ALB security group) open on 80 and 443 only', () => {
      expect(tier.connections).toBe(tier.loadBalancer.connections);
      const sg = resourceOf(template, 'AWS::EC2::SecurityGroup', 'WebLoadBalancerSecurityGroup');
      expect((sg.props.SecurityGroupIngress as Array<{ FromPort: number }>).map((r) => r.FromPort).sort()).toEqual([443, 80]);
    });
  });

  describe('listeners and certificate', () => {
    it('creates a DNS-validated certificate for the domain and its subdomains in the zone given by attributes', () => {
      template.resourceCountIs('AWS::CertificateManager::Certificate', 1);
      template.hasResourceProperties('AWS::CertificateManager::Certificate', {
        DomainName: 'shop.example.com',
        SubjectAlternativeNames: ['*.shop.example.com'],
        ValidationMethod: 'DNS',
        DomainValidationOptions: [{ DomainName: 'shop.example.com', HostedZoneId: ZONE.hostedZoneId }],
      });
      expect(tier.certificate).toBeDefined();
    });

    it('serves HTTPS on 443 with the recommended TLS policy and the certificate', () => {
      const cert = resourceOf(template, 'AWS::CertificateManager::Certificate', 'WebCertificate');
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
        Port: 443,
        Protocol: 'HTTPS',
        SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
        Certificates: [{ CertificateArn: { Ref: cert.id } }],
      });
    });

    it('redirects HTTP to HTTPS permanently', () => {
      template.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 2);
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
        Port: 80,
        Protocol: 'HTTP',
        DefaultActions: [{ Type: 'redirect', RedirectConfig: { Protocol: 'HTTPS', Port: '443', StatusCode: 'HTTP_301' } }],
      });
      expect(tier.redirectListener).toBeDefined();
    });

    it('sends unmatched requests to the default service', () => {
      const tg = resourceOf(template, 'AWS::ElasticLoadBalancingV2::TargetGroup', 'ServicewebTargetGroup');
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
        Port: 443,
        DefaultActions: [{ Type: 'forward', TargetGroupArn: { Ref: tg.id } }],
      });
      expect(tier.services.web.isDefault).toBe(true);
      expect(tier.services.api.isDefault).toBe(false);
    });

    it('routes the other service by path and host with its priority', () => {
      const tg = resourceOf(template, 'AWS::ElasticLoadBalancingV2::TargetGroup', 'ServiceapiTargetGroup');
      const https = resourceOf(template, 'AWS::ElasticLoadBalancingV2::Listener', 'Https');
      template.resourceCountIs('AWS::ElasticLoadBalancingV2::ListenerRule', 1);
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
        ListenerArn: { Ref: https.id },
        Priority: 7,
        Conditions: [
          { Field: 'path-pattern', PathPatternConfig: { Values: ['/api/*'] } },
          { Field: 'host-header', HostHeaderConfig: { Values: ['api.example.com'] } },
        ],
        Actions: [{ Type: 'forward', TargetGroupArn: { Ref: tg.id } }],
      });
    });
  });

  describe('per service', () => {
    it('creates one fleet, one target group and one launch template per service', () => {
      template.resourceCountIs('AWS::AutoScaling::AutoScalingGroup', 2);
      template.resourceCountIs('AWS::ElasticLoadBalancingV2::TargetGroup', 2);
      template.resourceCountIs('AWS::EC2::LaunchTemplate', 2);
      expect(Object.keys(tier.services)).toEqual(['web', 'api']);
      const asg = resourceOf(template, 'AWS::AutoScaling::AutoScalingGroup', 'ServiceapiFleet');
      const tg = resourceOf(template, 'AWS::ElasticLoadBalancingV2::TargetGroup', 'ServiceapiTargetGroup');
      expect(asg.props.TargetGroupARNs).toEqual([{ Ref: tg.id }]);
    });

    it('target groups use least outstanding requests, no stickiness, the drain delay and slow start', () => {
      const api = resourceOf(template, 'AWS::ElasticLoadBalancingV2::TargetGroup', 'ServiceapiTargetGroup');
      expect(api.props).toMatchObject({ Port: 9000, Protocol: 'HTTP', TargetType: 'instance', HealthCheckPath: '/health', Matcher: { HttpCode: '200' } });
      expect(api.props.TargetGroupAttributes).toEqual(expect.arrayContaining([
        { Key: 'load_balancing.algorithm.type', Value: 'least_outstanding_requests' },
        { Key: 'stickiness.enabled', Value: 'false' },
        { Key: 'deregistration_delay.timeout_seconds', Value: '15' },
        { Key: 'slow_start.duration_seconds', Value: '60' },
      ]));
      const web = resourceOf(template, 'AWS::ElasticLoadBalancingV2::TargetGroup', 'ServicewebTargetGroup');
      expect(web.props).toMatchObject({ Port: 8080, HealthCheckPath: '/healthz', HealthCheckIntervalSeconds: 10, HealthyThresholdCount: 2, UnhealthyThresholdCount: 3 });
      expect(web.props.TargetGroupAttributes).toEqual(expect.arrayContaining([{ Key: 'deregistration_delay.timeout_seconds', Value: '30' }]));
      expect(JSON.stringify(web.props.TargetGroupAttributes)).not.toContain('slow_start');
    });

    it('lets only the load balancer reach the fleet, on the service port', () => {
      template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
        IpProtocol: 'tcp',
        FromPort: 9000,
        ToPort: 9000,
        GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('ServiceapiFleetSecurityGroup'), 'GroupId'] },
        SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('WebLoadBalancerSecurityGroup'), 'GroupId'] },
      });
      const fleetSg = resourceOf(template, 'AWS::EC2::SecurityGroup', 'ServiceapiFleetSecurityGroup');
      expect(fleetSg.props.SecurityGroupIngress).toBeUndefined();
    });
  });

  describe('launch template', () => {
    it('requires IMDSv2 with a hop limit of 1, has no public IP and detailed monitoring', () => {
      for (const svc of ['web', 'api']) {
        const { props } = resourceOf(template, 'AWS::EC2::LaunchTemplate', `Service${svc}Fleet`);
        expect(props.LaunchTemplateData).toMatchObject({
          MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1 },
          NetworkInterfaces: [{ AssociatePublicIpAddress: false, DeviceIndex: 0 }],
          Monitoring: { Enabled: true },
        });
      }
    });

    it('has an encrypted gp3 root volume', () => {
      const { props } = resourceOf(template, 'AWS::EC2::LaunchTemplate', 'ServicewebFleet');
      expect((props.LaunchTemplateData as Record<string, unknown>).BlockDeviceMappings).toEqual([
        { DeviceName: '/dev/xvda', Ebs: { DeleteOnTermination: true, Encrypted: true, VolumeSize: 20, VolumeType: 'gp3' } },
      ]);
    });

    it('uses the instance type and the pinned Amazon Linux 2023 of its architecture, arm64 for Graviton', () => {
      const image = (svc: string) => {
        const { props } = resourceOf(template, 'AWS::EC2::LaunchTemplate', `Service${svc}Fleet`);
        const data = props.LaunchTemplateData as { ImageId: { 'Fn::GetAtt': [string, string] }; InstanceType: string };
        const lookup = template.toJSON().Resources[data.ImageId['Fn::GetAtt'][0]] as { Type: string; Properties: { Create: string } };
        expect(lookup.Type).toBe('Custom::AmazonLinux2023Image');
        return { instanceType: data.InstanceType, name: (JSON.parse(lookup.Properties.Create) as { parameters: { Filters: Array<{ Values: string[] }> } }).parameters.Filters[0].Values[0] };
      };
      expect(image('web')).toEqual({ instanceType: 'm7g.large', name: `al2023-ami-${FLEET_DEFAULTS.al2023Release}-kernel-6.1-arm64` });
      expect(image('api')).toEqual({ instanceType: 'c7i.large', name: `al2023-ami-${FLEET_DEFAULTS.al2023Release}-kernel-6.1-x86_64` });
    });

    it('runs the placeholder server on the service port and waits for its health path before going into service', () => {
      const userData = (svc: string) => renderedUserData(template, resourceOf(template, 'AWS::EC2::LaunchTemplate', `Service${svc}Fleet`).id);
      expect(userData('web')).toContain('S2M_HEALTH_PATH=/healthz');
      expect(userData('web')).toContain('S2M_PORT=8080');
      expect(userData('web')).toContain("S2M_HEALTH_URL='http://127.0.0.1:8080/healthz'");
      expect(userData('api')).toContain('S2M_PORT=9000');
      expect(userData('api')).toContain('S2M_ROLE=web');
      expect(userData('api')).toContain('S2M_SERVICE=api');
      expect(userData('api')).toContain('systemctl enable --now s2m-app.service s2m-drain.service');
    });

    it('tells every service the load balancer\'s idle timeout, so its keep-alive outlasts it', () => {
      for (const svc of ['web', 'api']) {
        const userData = renderedUserData(template, resourceOf(template, 'AWS::EC2::LaunchTemplate', `Service${svc}Fleet`).id);
        expect(userData).toMatch(/\nS2M_LOAD_BALANCER_IDLE_TIMEOUT=60\n/);
      }
    });

    it('gives instances a role with Session Manager (not AmazonSSMManagedInstanceCore), their agent\'s needs and lifecycle calls on their own group', () => {
      template.resourceCountIs('AWS::IAM::Role', 5); // two fleets, the AMI lookup, and the VPC's flow log and default-SG custom resource roles
      const { props } = resourceOf(template, 'AWS::IAM::Role', 'ServiceapiFleetInstanceRole');
      expect(props.AssumeRolePolicyDocument).toEqual({
        Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' } }],
        Version: '2012-10-17',
      });
      // No managed policy: AmazonSSMManagedInstanceCore would let the instance read every SSM parameter of the account
      expect(props.ManagedPolicyArns).toBeUndefined();
      const policies = Object.entries(template.findResources('AWS::IAM::Policy')).filter(([id]) => id.startsWith('WebServiceapiFleet'));
      expect(policies.map(([id]) => id.replace(/[0-9A-F]{8}$/, ''))).toEqual(['WebServiceapiFleetInstanceRoleDefaultPolicy', 'WebServiceapiFleetOwnGroupPolicy']);
      const actions = JSON.stringify(policies.map(([, p]) => p.Properties.PolicyDocument.Statement.map((st: { Action: unknown }) => st.Action)));
      // (aws-cdk-lib merges the statements on "*" without conditions: ec2:DescribeTags and Session Manager's)
      const sessionManager = ['ssm:UpdateInstanceInformation', 'ssmmessages:CreateControlChannel', 'ssmmessages:CreateDataChannel', 'ssmmessages:OpenControlChannel', 'ssmmessages:OpenDataChannel'];
      expect(actions).toBe(JSON.stringify([[['ec2:DescribeTags', ...sessionManager], ['logs:CreateLogStream', 'logs:PutLogEvents'], 'cloudwatch:PutMetricData'], ['autoscaling:CompleteLifecycleAction']]));
      // the fleet's SSM parameters are read through grants naming them, never "*"
      const wildcard = policies.flatMap(([, p]) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]).filter((st) => st.Resource === '*').flatMap((st) => [st.Action].flat());
      expect(wildcard.filter((a) => /^ssm:(Get|Describe|List)/.test(a))).toEqual([]);
    });
  });

  describe('auto scaling group', () => {
    it('uses ELB health checks with a grace period, the default warmup, and never sets DesiredCapacity', () => {
      for (const svc of ['web', 'api']) {
        const { props } = resourceOf(template, 'AWS::AutoScaling::AutoScalingGroup', `Service${svc}Fleet`);
        expect(props).toMatchObject({ HealthCheckType: 'ELB', HealthCheckGracePeriod: 180, DefaultInstanceWarmup: 120 });
        expect(props.DesiredCapacity).toBeUndefined();
      }
      const api = resourceOf(template, 'AWS::AutoScaling::AutoScalingGroup', 'ServiceapiFleet');
      expect(api.props).toMatchObject({ MinSize: '2', MaxSize: '10' });
    });

    it('collects group metrics, balances AZs and runs in the private subnets', () => {
      const { props } = resourceOf(template, 'AWS::AutoScaling::AutoScalingGroup', 'ServicewebFleet');
      expect(props).toMatchObject({
        MetricsCollection: [{ Granularity: '1Minute' }],
        AvailabilityZoneDistribution: { CapacityDistributionStrategy: 'balanced-best-effort' },
      });
      expect(JSON.stringify(props.VPCZoneIdentifier)).toMatch(/PrivateSubnet1.*PrivateSubnet2.*PrivateSubnet3/);
    });

    it('rolls a new launch template out by instance refresh, rolled back by the service\'s 5xx rate and unhealthy targets', () => {
      const web = resourceOf(template, 'AWS::AutoScaling::AutoScalingGroup', 'ServicewebFleet');
      const alarms = ['ServicewebRollback5xxAlarm', 'ServicewebRollbackUnhealthyAlarm'].map((part) => resourceOf(template, 'AWS::CloudWatch::Alarm', part).id);
      expect(web.resource.UpdatePolicy).toEqual({
        AutoScalingScheduledAction: { IgnoreUnmodifiedGroupSizeProperties: true },
        AutoScalingInstanceRefresh: {
          Strategy: 'Rolling',
          Preferences: {
            MinHealthyPercentage: 100, MaxHealthyPercentage: 125, SkipMatching: true, CheckpointPercentages: [25, 100], CheckpointDelay: 300,
            AlarmSpecification: { Alarms: alarms.map((id) => ({ Ref: id })) },
            ScaleInProtectedInstances: 'Refresh', StandbyInstances: 'Terminate',
          },
        },
      });
      const launchTemplate = resourceOf(template, 'AWS::EC2::LaunchTemplate', 'ServicewebFleet');
      expect(web.props.LaunchTemplate).toEqual({ LaunchTemplateId: { Ref: launchTemplate.id }, Version: { 'Fn::GetAtt': [launchTemplate.id, 'LatestVersionNumber'] } });
      expect(tier.services.web.rollbackAlarms).toHaveLength(2);
    });

    it('rolls back on 5xx from 5 % of at least 20 requests a minute, or an unhealthy target, three minutes in a row', () => {
      const tg = resourceOf(template, 'AWS::ElasticLoadBalancingV2::TargetGroup', 'ServiceapiTargetGroup');
      const errors = resourceOf(template, 'AWS::CloudWatch::Alarm', 'ServiceapiRollback5xxAlarm').props;
      expect(errors).toMatchObject({ Threshold: 5, EvaluationPeriods: 3, DatapointsToAlarm: 3, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching' });
      expect(errors.Metrics).toEqual(expect.arrayContaining([
        expect.objectContaining({ Expression: 'IF(r >= 20, 100 * FILL(e, 0) / r, 0)', ReturnData: true }),
        expect.objectContaining({ Id: 'e', MetricStat: expect.objectContaining({ Metric: expect.objectContaining({ MetricName: 'HTTPCode_Target_5XX_Count', Dimensions: expect.arrayContaining([{ Name: 'TargetGroup', Value: { 'Fn::GetAtt': [tg.id, 'TargetGroupFullName'] } }]) }) }) }),
      ]));
      const unhealthy = resourceOf(template, 'AWS::CloudWatch::Alarm', 'ServiceapiRollbackUnhealthyAlarm').props;
      expect(unhealthy).toMatchObject({ MetricName: 'UnHealthyHostCount', Statistic: 'Maximum', Threshold: 1, EvaluationPeriods: 3, DatapointsToAlarm: 3 });
    });

    it('drains a terminating instance for the deregistration delay plus 30 s, after serving through the deregistration delay', () => {
      const api = resourceOf(template, 'AWS::AutoScaling::AutoScalingGroup', 'ServiceapiFleet');
      // the drain delay (15), the stop timeout (15 + 30), and a minute to flush the logs and complete the hook
      expect((api.props.LifecycleHookSpecificationList as Array<{ LifecycleHookName: string; HeartbeatTimeout: number }>).find((h) => h.LifecycleHookName === 's2m-drain')?.HeartbeatTimeout).toBe(15 + 15 + 30 + 60);
    });

    it('keeps the application serving through the deregistration delay before SIGTERM: the load balancer still sends new requests for a while after it began draining', () => {
      // GIVEN the api's instance, terminating (its target lifecycle state reads Terminated)
      const userData = renderedUserData(template, resourceOf(template, 'AWS::EC2::LaunchTemplate', 'ServiceapiFleet').id);
      const scripts = {
        ...embeddedScripts(userData),
        '/opt/s2m/bin/imds': '#!/bin/bash\ncase "$1" in instance-id) echo i-0abc;; placement/region) echo eu-west-1;; tags/instance/aws:autoscaling:groupName) echo api-asg;; autoscaling/target-lifecycle-state) echo Terminated;; *) exit 22;; esac',
      };
      const settings = /cat > \/etc\/scale-to-millions\/fleet\.env <<'FLEET'\n([\s\S]*?)\nFLEET/.exec(userData)![1];
      // WHEN its drain runs
      const r = runInstanceScript('/opt/s2m/bin/drain', { scripts, files: { '/etc/scale-to-millions/fleet.env': settings }, fakes: { systemctl: '', aws: '' } });
      // THEN it waits the target group's deregistration delay (15 s) before it stops the application, then completes the hook
      expect(r.status).toBe(0);
      expect(r.calls).toEqual([
        'sleep 15',
        'systemctl stop s2m-app.service',
        'sleep 10',
        expect.stringContaining('--lifecycle-hook-name s2m-drain --lifecycle-action-result CONTINUE'),
      ]);
      expect(r.stdout).toContain('s2m-app.service serves 15 s more while the load balancer deregisters it');
      rmSync(r.root, { recursive: true, force: true });
    });

    it('tracks CPU and ALB requests per target with the configured targets', () => {
      const asg = resourceOf(template, 'AWS::AutoScaling::AutoScalingGroup', 'ServiceapiFleet');
      const tg = resourceOf(template, 'AWS::ElasticLoadBalancingV2::TargetGroup', 'ServiceapiTargetGroup');
      template.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', {
        AutoScalingGroupName: { Ref: asg.id },
        PolicyType: 'TargetTrackingScaling',
        TargetTrackingConfiguration: { PredefinedMetricSpecification: { PredefinedMetricType: 'ASGAverageCPUUtilization' }, TargetValue: 60 },
      });
      template.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', {
        AutoScalingGroupName: { Ref: asg.id },
        PolicyType: 'TargetTrackingScaling',
        TargetTrackingConfiguration: {
          PredefinedMetricSpecification: {
            PredefinedMetricType: 'ALBRequestCountPerTarget',
            ResourceLabel: { 'Fn::Join': ['', Match.arrayWith([{ 'Fn::GetAtt': [tg.id, 'TargetGroupFullName'] }])] },
          },
          TargetValue: 1500,
        },
      });
      const web = resourceOf(template, 'AWS::AutoScaling::AutoScalingGroup', 'ServicewebFleet');
      template.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', {
        AutoScalingGroupName: { Ref: web.id },
        TargetTrackingConfiguration: { PredefinedMetricSpecification: { PredefinedMetricType: 'ASGAverageCPUUtilization' }, TargetValue: 50 },
      });
      template.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', {
        AutoScalingGroupName: { Ref: web.id },
        TargetTrackingConfiguration: { PredefinedMetricSpecification: Match.objectLike({ PredefinedMetricType: 'ALBRequestCountPerTarget' }), TargetValue: 1000 },
      });
    });

    it('adds the scheduled action in UTC', () => {
      const asg = resourceOf(template, 'AWS::AutoScaling::AutoScalingGroup', 'ServiceapiFleet');
      template.resourceCountIs('AWS::AutoScaling::ScheduledAction', 1);
      template.hasResourceProperties('AWS::AutoScaling::ScheduledAction', {
        AutoScalingGroupName: { Ref: asg.id },
        Recurrence: '0 7 * * MON-FRI',
        MinSize: 6,
        TimeZone: 'Etc/UTC',
      });
    });

    it('adds step scaling on average CPU above the threshold', () => {
      const asg = resourceOf(template, 'AWS::AutoScaling::AutoScalingGroup', 'ServiceapiFleet');
      const policy = resourceOf(template, 'AWS::AutoScaling::ScalingPolicy', 'CpuStepScaling');
      expect(policy.props).toMatchObject({
        AutoScalingGroupName: { Ref: asg.id },
        PolicyType: 'StepScaling',
        AdjustmentType: 'ChangeInCapacity',
        StepAdjustments: [{ MetricIntervalLowerBound: 0, ScalingAdjustment: 3 }],
      });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/EC2',
        MetricName: 'CPUUtilization',
        Dimensions: [{ Name: 'AutoScalingGroupName', Value: { Ref: asg.id } }],
        Statistic: 'Average',
        Period: 60,
        Threshold: 85,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 2,
        AlarmActions: [{ Ref: policy.id }],
      });
    });

    it('adds a warm pool only where configured', () => {
      const asg = resourceOf(template, 'AWS::AutoScaling::AutoScalingGroup', 'ServiceapiFleet');
      template.resourceCountIs('AWS::AutoScaling::WarmPool', 1);
      template.hasResourceProperties('AWS::AutoScaling::WarmPool', { AutoScalingGroupName: { Ref: asg.id }, MinSize: 2, InstanceReusePolicy: { ReuseOnScaleIn: true } });
    });
  });

  describe('metric helpers', () => {
    const dims = (m: { dimensions?: Record<string, unknown> }) => Object.keys(stack.resolve(m.dimensions ?? {}) as object).sort();

    it('requests per target of a service: per target group, per minute', () => {
      const m = tier.metricRequestCountPerTarget('api');
      expect([m.namespace, m.metricName, m.statistic, m.period.toSeconds()]).toEqual(['AWS/ApplicationELB', 'RequestCountPerTarget', 'Sum', 60]);
      expect(dims(m)).toEqual(['LoadBalancer', 'TargetGroup']);
      const tg = resourceOf(template, 'AWS::ElasticLoadBalancingV2::TargetGroup', 'ServiceapiTargetGroup');
      expect(stack.resolve(m.dimensions).TargetGroup).toEqual({ 'Fn::GetAtt': [tg.id, 'TargetGroupFullName'] });
    });

    it('target response time p99, 5xx, unhealthy and healthy hosts per service', () => {
      const rt = tier.metricTargetResponseTime('web');
      expect([rt.namespace, rt.metricName, rt.statistic]).toEqual(['AWS/ApplicationELB', 'TargetResponseTime', 'p99']);
      expect(dims(rt)).toEqual(['LoadBalancer', 'TargetGroup']);
      const e5 = tier.metricHttp5xx('web');
      expect([e5.metricName, e5.statistic]).toEqual(['HTTPCode_Target_5XX_Count', 'Sum']);
      expect(dims(e5)).toEqual(['LoadBalancer', 'TargetGroup']);
      const unhealthy = tier.metricUnhealthyHosts('api');
      expect([unhealthy.metricName, unhealthy.statistic]).toEqual(['UnHealthyHostCount', 'Maximum']);
      const healthy = tier.metricHealthyHosts('api');
      expect([healthy.metricName, healthy.statistic]).toEqual(['HealthyHostCount', 'Minimum']);
    });

    it('tier-wide requests, target 5xx and ELB 5xx per load balancer', () => {
      for (const [m, name] of [
        [tier.metricRequestCount(), 'RequestCount'],
        [tier.metricHttp5xx(), 'HTTPCode_Target_5XX_Count'],
        [tier.metricElb5xx(), 'HTTPCode_ELB_5XX_Count'],
      ] as const) {
        expect([m.namespace, m.metricName, m.statistic, m.period.toSeconds()]).toEqual(['AWS/ApplicationELB', name, 'Sum', 60]);
        expect(dims(m)).toEqual(['LoadBalancer']);
      }
    });

    it('takes metric options', () => {
      expect(tier.metricTargetResponseTime('web', { statistic: 'p50', period: Duration.minutes(5) })).toMatchObject({ statistic: 'p50' });
      expect(tier.metricTargetResponseTime('web', { period: Duration.minutes(5) }).period.toMinutes()).toBe(5);
    });

    it('fails when the service does not exist', () => {
      expect(validationErrorOf(() => tier.metricRequestCountPerTarget('nope'))).toEqual({ path: tier.node.path, message: 'WebTier: no service named "nope" (have: web, api)' });
    });
  });

  it('calls forEachFleet once per service with its fleet', () => {
    const seen: string[] = [];
    tier.forEachFleet((fleet, svc) => {
      expect(fleet).toBe(svc.fleet);
      seen.push(svc.name);
    });
    expect(seen).toEqual(['web', 'api']);
  });

  it('adds no warning', () => {
    Annotations.fromStack(stack).hasNoWarning('*', Match.anyValue());
  });
});

describe('WebTier without a certificate (HTTP only), deletion protection off, own bucket', () => {
  let stack: Stack;
  let tier: WebTier;
  let template: Template;

  beforeAll(() => {
    const fixture = stackWithVpc();
    stack = fixture.stack;
    const bucket = s3.Bucket.fromBucketName(stack, 'Logs', 'my-alb-logs');
    tier = new WebTier(stack, 'Web', {
      vpc: fixture.vpc,
      deletionProtection: false,
      idleTimeout: Duration.seconds(120),
      accessLogsBucket: bucket,
      services: [{ name: 'web', instanceType: new ec2.InstanceType('t3.small'), minCapacity: 1, maxCapacity: 2 }],
    });
    template = Template.fromStack(stack);
  });

  it('serves plain HTTP on port 80 to the single service, with no redirect and no certificate', () => {
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 1);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 80, Protocol: 'HTTP', DefaultActions: [Match.objectLike({ Type: 'forward' })] });
    template.resourceCountIs('AWS::CertificateManager::Certificate', 0);
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::ListenerRule', 0);
    expect(tier.redirectListener).toBeUndefined();
    expect(tier.certificate).toBeUndefined();
  });

  it('warns with an id users can acknowledge', () => {
    Annotations.fromStack(stack).hasWarning('/TestStack/Web', Match.stringLikeRegexp('no certificate.*\\[ack: scale-to-millions:web-tier-http-only\\]'));
  });

  it('turns deletion protection off and uses the idle timeout', () => {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      LoadBalancerAttributes: Match.arrayWith([
        { Key: 'deletion_protection.enabled', Value: 'false' },
        { Key: 'idle_timeout.timeout_seconds', Value: '120' },
      ]),
    });
  });

  it('logs to the given bucket and creates none', () => {
    template.resourceCountIs('AWS::S3::Bucket', 0);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      LoadBalancerAttributes: Match.arrayWith([{ Key: 'access_logs.s3.bucket', Value: 'my-alb-logs' }]),
    });
    expect(tier.accessLogsBucket.bucketName).toBe('my-alb-logs');
  });

  it('uses the x86_64 image for a non-Graviton type and adds no scheduled, step or warm pool resources', () => {
    const lookups = JSON.stringify(template.findResources('Custom::AmazonLinux2023Image'));
    expect(lookups).toContain('kernel-6.1-x86_64');
    expect(lookups).not.toContain('arm64');
    template.resourceCountIs('AWS::AutoScaling::ScheduledAction', 0);
    template.resourceCountIs('AWS::AutoScaling::WarmPool', 0);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 2); // the rollback alarms only
    template.resourceCountIs('AWS::AutoScaling::ScalingPolicy', 2);
  });
});

describe('WebTier placement', () => {
  it('puts the load balancer and each service\'s fleet where asked', () => {
    // GIVEN a VPC with two groups of public and of private subnets
    const stack = new Stack(testApp(), 'Placed', { env: { region: 'eu-west-1' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', {
      availabilityZones: ['eu-west-1a', 'eu-west-1b'],
      subnetConfiguration: [
        { name: 'Edge', subnetType: ec2.SubnetType.PUBLIC }, { name: 'Ingress', subnetType: ec2.SubnetType.PUBLIC },
        { name: 'App', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }, { name: 'Batch', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      ],
    });
    const t3 = new ec2.InstanceType('t3.small');
    // WHEN the tier names the load balancer's group and one service's
    new WebTier(stack, 'Web', {
      vpc, loadBalancerSubnets: { subnetGroupName: 'Ingress' },
      services: [{ name: 'web', instanceType: t3, minCapacity: 1, maxCapacity: 2 }, { name: 'api', pathPatterns: ['/api/*'], instanceType: t3, minCapacity: 1, maxCapacity: 2, vpcSubnets: { subnetGroupName: 'Batch' } }],
    });
    const t = Template.fromStack(stack);
    // THEN
    expect(JSON.stringify(Object.values(t.findResources('AWS::ElasticLoadBalancingV2::LoadBalancer'))[0].Properties.Subnets)).toMatch(/^\[\{"Ref":"VpcIngressSubnet1[^"]*"\},\{"Ref":"VpcIngressSubnet2[^"]*"\}\]$/);
    const zones = (svc: string) => JSON.stringify(resourceOf(t, 'AWS::AutoScaling::AutoScalingGroup', `Service${svc}Fleet`).props.VPCZoneIdentifier);
    expect(zones('api')).toMatch(/VpcBatchSubnet1.*VpcBatchSubnet2/);
    expect(zones('api')).not.toMatch(/VpcApp/);
    // (the default, every private subnet with egress)
    expect(zones('web')).toMatch(/VpcAppSubnet1.*VpcBatchSubnet1/);
  });
});

describe('WebTier with a service in a nested stack (serviceScope)', () => {
  let stack: Stack;
  let nested: NestedStack;
  let tier: WebTier;
  beforeAll(() => {
    // GIVEN two services, the second placed in a nested stack of the tier's stack
    const fixture = stackWithVpc('Parent');
    stack = fixture.stack;
    nested = new NestedStack(stack, 'Services2');
    const t3 = new ec2.InstanceType('t3.small');
    tier = new WebTier(stack, 'Web', {
      vpc: fixture.vpc,
      deletionProtection: false,
      services: [{ name: 'web', instanceType: t3, minCapacity: 1, maxCapacity: 2 }, { name: 'api', pathPatterns: ['/api/*'], priority: 20, instanceType: t3, minCapacity: 1, maxCapacity: 2 }],
      serviceScope: (svc) => (svc.name === 'api' ? nested : undefined),
    });
  });

  it('creates the placed service\'s fleet, target group, rule and rollback alarms in the nested stack, under the same ids', () => {
    const inner = Template.fromStack(nested);
    inner.resourceCountIs('AWS::AutoScaling::AutoScalingGroup', 1);
    inner.resourceCountIs('AWS::ElasticLoadBalancingV2::TargetGroup', 1);
    inner.resourceCountIs('AWS::CloudWatch::Alarm', 2);
    inner.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', { Priority: 20, Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/api/*'] } }] });
    expect(Object.keys(inner.findResources('AWS::AutoScaling::AutoScalingGroup'))[0]).toMatch(/^ServiceapiFleet/);
    expect(tier.services.api.fleet.node.path).toBe('Parent/Services2/Service-api/Fleet');
    // the load balancer may reach the nested fleet on its port, by a rule in the nested stack
    inner.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { FromPort: 8080, ToPort: 8080 });
  });

  it('keeps the other service, the load balancer and the listener in the tier\'s stack, with their ids', () => {
    const outer = Template.fromStack(stack);
    outer.resourceCountIs('AWS::AutoScaling::AutoScalingGroup', 1);
    outer.resourceCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', 1);
    outer.resourceCountIs('AWS::CloudFormation::Stack', 1);
    expect(Object.keys(outer.findResources('AWS::AutoScaling::AutoScalingGroup'))[0]).toMatch(/^WebServicewebFleet/);
    expect(tier.services.web.fleet.node.path).toBe('Parent/Web/Service-web/Fleet');
  });
});

describe('WebTier with the default service in a nested stack and an origin header', () => {
  it('creates the health check exemption rule with the default service, so the two stacks do not depend on each other', () => {
    // GIVEN the default service placed in a nested stack, the origin header required
    const { stack, vpc } = stackWithVpc('Parent');
    const nested = new NestedStack(stack, 'Services2');
    const t3 = new ec2.InstanceType('t3.small');
    const tier = new WebTier(stack, 'Web', {
      vpc,
      deletionProtection: false,
      originVerifyHeader: { name: 'X-Origin-Verify', values: ['secret'] },
      services: [{ name: 'web', instanceType: t3, minCapacity: 1, maxCapacity: 2 }],
      serviceScope: () => nested,
    });
    // THEN the rule is in the nested stack, beside the target group it forwards to
    expect(tier.healthCheckExemptionRule!.node.path).toBe('Parent/Services2/HealthCheckExemption');
    Template.fromStack(nested).resourceCountIs('AWS::ElasticLoadBalancingV2::ListenerRule', 2);
    Template.fromStack(stack).resourceCountIs('AWS::ElasticLoadBalancingV2::ListenerRule', 0);
  });
});

describe('WebTier bad props', () => {
  const t3 = new ec2.InstanceType('t3.small');
  const svc = (name: string, extra: Partial<WebServiceProps> = {}): WebServiceProps => ({ name, instanceType: t3, minCapacity: 1, maxCapacity: 2, ...extra });
  it.each<[string, WebServiceProps[], string]>([
    ['there are no services', [], 'WebTier: services must list at least one service (got: [])'],
    ['a service name is not lowercase', [svc('Web')], 'WebTier: services[0].name must be lowercase letters, digits and dashes (got: "Web")'],
    ['two services have the same name', [svc('web'), svc('web', { pathPatterns: ['/a/*'] })], 'WebTier: services[1].name is a duplicate (got: "web")'],
    ['two rules have the same priority', [svc('web'), svc('a', { pathPatterns: ['/a/*'], priority: 5 }), svc('b', { pathPatterns: ['/b/*'], priority: 5 })], 'WebTier: services[2].priority is a duplicate (got: 5)'],
    ['minCapacity exceeds maxCapacity', [svc('web', { minCapacity: 5 })], 'WebTier: services[0] (web): minCapacity (5) must not exceed maxCapacity (2)'],
    ['minCapacity is 0', [svc('web', { minCapacity: 0 })], 'WebTier: services[0].minCapacity must be at least 1 for a web service (got: 0)'],
    ['a service port is out of range', [svc('web', { port: 0 })], 'WebTier: services[0].port must be a whole number from 1 to 65535 (got: 0)'],
    ['slow start is outside 30-900 seconds', [svc('web', { slowStart: Duration.seconds(10) })], 'WebTier: services[0].slowStart must be 30-900 seconds (got: 10)'],
    ['there is no default service', [svc('api', { pathPatterns: ['/api/*'] })], 'WebTier: exactly one service must have no pathPatterns and no hostPatterns (got: 0)'],
    ['there are two default services', [svc('a'), svc('b')], 'WebTier: exactly one service must have no pathPatterns and no hostPatterns (got: 2)'],
    ['a service gives an application and user data', [svc('web', { application: ApplicationSource.container({ image: 'nginx:1.27', containerPort: 80 }), userData: ec2.UserData.forLinux() })], 'WebTier: services[0] (web) gives application and userData; give one (got both)'],
    ['a service\'s deregistration delay leaves its instances no time to stop within the terminating hook', [svc('web', { deregistrationDelay: Duration.seconds(3556) })], 'WebTier: services[web].deregistrationDelay must be at most 3555 seconds: a terminating instance serves through it, then has it + 30 s to stop, within its lifecycle hook\'s 2 hours (got: 3556 seconds)'],
  ])('fails when %s, naming the web tier', (_, services, message) => {
    const { stack, vpc } = stackWithVpc();
    expect(validationErrorOf(() => new WebTier(stack, 'Web', { vpc, services }))).toEqual({ path: 'TestStack/Web', message });
  });

  it('fails on an idle timeout outside an ALB\'s range, naming the prop and the value', () => {
    const { stack, vpc } = stackWithVpc();
    expect(validationErrorOf(() => new WebTier(stack, 'Web', { vpc, services: [svc('web')], idleTimeout: Duration.minutes(70) }))).toEqual({
      path: 'TestStack/Web',
      message: 'WebTier: idleTimeout must be whole seconds from 1 to 4000, an Application Load Balancer\'s range (got: 4200 seconds)',
    });
  });

  it('fails in a region-agnostic stack, saying why a region is needed', () => {
    const stack = new Stack(testApp(), 'Agnostic');
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2 });
    expect(validationErrorOf(() => new WebTier(stack, 'Web', { vpc, services: [svc('web')] }))).toEqual({
      path: 'Agnostic/Web',
      message: 'WebTier: the stack needs an explicit region (env: { region }): the load balancer\'s access logs go to a bucket whose policy names the region\'s Elastic Load Balancing account (got: a region-agnostic stack)',
    });
  });
});

describe('WebTier applications: a version bump rolls exactly that service', () => {
  /** The launch templates and groups of a two-service tier whose api runs version `api`. */
  const build = (api: string, rollbackOnAlarms = true) => {
    const { stack, vpc } = stackWithVpc();
    const source = (v: string) => ApplicationSource.inline({ files: { 'server.py': `VERSION = "${v}"\n` }, startCommand: '/usr/bin/python3 server.py', version: v });
    new WebTier(stack, 'Web', {
      vpc,
      services: [
        { name: 'web', instanceType: new ec2.InstanceType('m7g.large'), minCapacity: 2, maxCapacity: 4, application: source('1.0.0') },
        { name: 'api', pathPatterns: ['/api/*'], instanceType: new ec2.InstanceType('m7g.large'), minCapacity: 2, maxCapacity: 4, application: source(api), rollbackOnAlarms },
      ],
    });
    const t = Template.fromStack(stack);
    const lt = (svc: string) => JSON.stringify(resourceOf(t, 'AWS::EC2::LaunchTemplate', `Service${svc}Fleet`).props);
    return { t, web: lt('web'), api: lt('api') };
  };

  it('changes the api launch template only, and carries the version into the environment file', () => {
    const before = build('1.4.2');
    const after = build('1.4.3');
    expect(after.web).toBe(before.web);
    expect(after.api).not.toBe(before.api);
    expect(renderedUserData(after.t, resourceOf(after.t, 'AWS::EC2::LaunchTemplate', 'ServiceapiFleet').id)).toContain('S2M_APP_VERSION=1.4.3');
  });

  it('leaves a service without rollback alarms when asked', () => {
    const { t } = build('1.4.2', false);
    expect(Object.keys(t.findResources('AWS::CloudWatch::Alarm')).filter((id) => id.startsWith('Serviceapi'))).toEqual([]);
    const api = resourceOf(t, 'AWS::AutoScaling::AutoScalingGroup', 'ServiceapiFleet');
    expect(JSON.stringify(api.resource.UpdatePolicy)).not.toContain('AlarmSpecification');
  });

});

/**
 * A deep health path other than `/health/deep` (Route 53 checks what `dns.healthCheck.path` says): every service is
 * told it, and the placeholder server and the runtime SDK, fed the environment file the user data writes, answer it.
 */
describe('WebTier with its own deep health path', () => {
  const DEEP = '/status/region';
  let template: Template;
  let envOf: (svc: string) => string;
  beforeAll(() => {
    // GIVEN a deep health path of our own, an origin header, a placeholder service and a container one
    const { stack, vpc } = stackWithVpc();
    new WebTier(stack, 'Web', {
      vpc,
      deletionProtection: false,
      deepHealthCheckPath: DEEP,
      originVerifyHeader: { name: 'X-Origin-Verify', values: ['secret'] },
      services: [
        { name: 'web', instanceType: new ec2.InstanceType('t3.small'), minCapacity: 1, maxCapacity: 2 },
        { name: 'api', pathPatterns: ['/api/*'], instanceType: new ec2.InstanceType('t3.small'), minCapacity: 1, maxCapacity: 2, application: ApplicationSource.container({ image: 'public.ecr.aws/shop/api:1.0', containerPort: 3000 }) },
      ],
    });
    template = Template.fromStack(stack);
    envOf = (svc) => /cat > \/etc\/scale-to-millions\/env <<'ENV'\n([\s\S]*?)\nENV/.exec(renderedUserData(template, resourceOf(template, 'AWS::EC2::LaunchTemplate', `Service${svc}Fleet`).id))![1];
  });

  it('tells every service the path (S2M_DEEP_HEALTH_PATH) and lets exactly it through without the origin header', () => {
    for (const svc of ['web', 'api']) expect(envOf(svc).split('\n')).toContain(`S2M_DEEP_HEALTH_PATH=${DEEP}`);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Conditions: Match.arrayWith([{ Field: 'path-pattern', PathPatternConfig: { Values: [DEEP] } }]),
    });
  });

  it('the runtime SDK, reading that environment file, answers the path with the deep check', async () => {
    const dir = mkdtempSync(join(tmpdir(), 's2m-env-'));
    writeFileSync(join(dir, 'env'), `${envOf('api')}\n`);
    const env = readEnvironment({ file: join(dir, 'env'), env: {}, overrides: { parameterPrefix: '/shop' } });
    rmSync(dir, { recursive: true });
    const handle = new HealthCheck({ shallowPath: env.healthPath, deepPath: env.deepHealthPath }).handler();
    const answer = await new Promise<{ handled: boolean; status: number }>((resolve) => {
      const res = { statusCode: 0, setHeader: () => res, writeHead: (s: number) => { res.statusCode = s; return res; }, end: () => resolve({ handled: true, status: res.statusCode }) };
      if (!handle({ url: DEEP, method: 'GET', headers: {} } as never, res as never)) resolve({ handled: false, status: 0 });
    });
    expect(answer).toEqual({ handled: true, status: 200 });
  });

  it('the placeholder server answers the path as a health check', async () => {
    // WHEN the placeholder runs here with the environment file's values
    const files = inlineFiles(renderedUserData(template, resourceOf(template, 'AWS::EC2::LaunchTemplate', 'ServicewebFleet').id));
    const dir = mkdtempSync(join(tmpdir(), 's2m-placeholder-'));
    writeFileSync(join(dir, 'server.py'), files['/opt/s2m/app/server.py']);
    const fileEnv = Object.fromEntries(envOf('web').split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    const port = await freePort();
    const server = spawn('python3', ['server.py'], { cwd: dir, env: { ...process.env, ...fileEnv, S2M_PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      await new Promise<void>((resolve, reject) => {
        server.stdout.on('data', (d: Buffer) => { if (d.toString().includes('listening')) resolve(); });
        server.once('exit', (code) => reject(new Error(`the placeholder exited (${code})`)));
      });
      // THEN the deep path is a health answer (not the placeholder's JSON page)
      const deep = await fetch(`http://127.0.0.1:${port}${DEEP}`);
      expect(deep.status).toBe(200);
      expect(deep.headers.get('content-type')).toBe('text/plain');
      expect(await deep.text()).toBe('ok');
      const page = await fetch(`http://127.0.0.1:${port}/`);
      expect(page.headers.get('content-type')).toBe('application/json');
    } finally {
      server.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each<[string, Partial<WebTierProps>, string]>([
    ['the path has a wildcard', { deepHealthCheckPath: '/health/*' }, 'WebTier: deepHealthCheckPath must be one exact path starting with / of A-Z a-z 0-9 _ . / @ : + - (no wildcard or query string, at most 255 characters) (got: "/health/*")'],
    ['the path has a query string', { deepHealthCheckPath: '/health?deep=1' }, 'WebTier: deepHealthCheckPath must be one exact path starting with / of A-Z a-z 0-9 _ . / @ : + - (no wildcard or query string, at most 255 characters) (got: "/health?deep=1")'],
    ['a service\'s shallow path is the deep one', { deepHealthCheckPath: '/healthz' }, 'WebTier: services[0].healthCheckPath must differ from deepHealthCheckPath, or the deep check is answered by the shallow one (got: "/healthz" for both)'],
  ])('fails when %s, naming the field and the value', (_, props, message) => {
    const { stack, vpc } = stackWithVpc();
    const services: WebServiceProps[] = [{ name: 'web', instanceType: new ec2.InstanceType('t3.small'), minCapacity: 1, maxCapacity: 2, healthCheckPath: '/healthz' }];
    expect(validationErrorOf(() => new WebTier(stack, 'Web', { vpc, services, ...props }))).toEqual({ path: 'TestStack/Web', message });
  });

  it('fails for a service health check path with a quote, which would end the instances\' settings file early', () => {
    const { stack, vpc } = stackWithVpc();
    const services: WebServiceProps[] = [{ name: 'web', instanceType: new ec2.InstanceType('t3.small'), minCapacity: 1, maxCapacity: 2, healthCheckPath: "/it's" }];
    expect(validationErrorOf(() => new WebTier(stack, 'Web', { vpc, services }))).toEqual({ path: 'TestStack/Web', message: 'WebTier: services[0].healthCheckPath must be a path starting with / of A-Z a-z 0-9 _ - . $ / ~ @ : + & (no query string, wildcard or quote) (got: "/it\'s")' });
  });

  it('warns when the origin header lets another path through than the one the services answer', () => {
    const { stack, vpc } = stackWithVpc();
    new WebTier(stack, 'Web', {
      vpc, deletionProtection: false, deepHealthCheckPath: DEEP,
      originVerifyHeader: { name: 'X-Origin-Verify', values: ['secret'], healthCheckPath: '/health/deep' },
      services: [{ name: 'web', instanceType: new ec2.InstanceType('t3.small'), minCapacity: 1, maxCapacity: 2 }],
    });
    Annotations.fromStack(stack).hasWarning('/TestStack/Web', Match.stringLikeRegexp('originVerifyHeader.healthCheckPath \\(/health/deep\\) is not deepHealthCheckPath \\(/status/region\\)'));
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.once('error', reject);
  });
}
