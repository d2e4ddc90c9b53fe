import { Stack } from 'aws-cdk-lib/core';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { OutputKeys } from '../../../lib/outputs';
import { buildTestApp } from '../../helpers/app';

function dashboardBody(stack: Stack, dashboard: cloudwatch.Dashboard): string {
  const body = stack.resolve((dashboard.node.defaultChild as cloudwatch.CfnDashboard).dashboardBody) as unknown;
  if (typeof body === 'string') return body;
  return (body as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1].map((p) => (typeof p === 'string' ? p : JSON.stringify(p))).join('');
}

describe('reference app (millions config): monitoring in every region', () => {
  let built: ReturnType<typeof buildTestApp>;
  beforeAll(() => {
    built = buildTestApp('millions');
  });

  it('has one dashboard named <name>-<region>, one encrypted TLS-only alarm topic and one composite alarm per region', () => {
    for (const [region, r] of Object.entries(built.regions)) {
      const t = Template.fromStack(r.app);
      t.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
      t.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: `shop-${region}` });
      t.resourceCountIs('AWS::SNS::Topic', 1);
      t.resourceCountIs('AWS::CloudWatch::CompositeAlarm', 1);
      t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AlarmTopicKey'), 'Arn'] } });
      t.hasResourceProperties('AWS::KMS::Key', {
        EnableKeyRotation: true,
        KeyPolicy: { Statement: Match.arrayWith([Match.objectLike({ Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'] })]) },
      });
      t.hasResourceProperties('AWS::SNS::TopicPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
            Match.objectLike({ Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: 'sns:Publish' }),
          ]),
        },
      });
      // nothing of the monitoring lands in the data stack
      Template.fromStack(r.data).resourceCountIs('AWS::CloudWatch::Dashboard', 0);
      Template.fromStack(r.data).resourceCountIs('AWS::SNS::Topic', 0);
    }
  });

  it('subscribes every configured address to every region topic', () => {
    for (const r of Object.values(built.regions)) {
      const t = Template.fromStack(r.app);
      t.resourceCountIs('AWS::SNS::Subscription', 2);
      for (const email of ['oncall@example.com', 'platform@example.com']) {
        t.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: email, TopicArn: { Ref: Match.stringLikeRegexp('^AlarmTopic') } });
      }
    }
  });

  it('outputs DashboardName, AlarmTopicArn and RegionHealthAlarmName in every app stack', () => {
    for (const r of Object.values(built.regions)) {
      const t = Template.fromStack(r.app);
      t.hasOutput(OutputKeys.dashboardName, { Value: { Ref: Match.stringLikeRegexp('^MonitoringDashboard') } });
      t.hasOutput(OutputKeys.alarmTopicArn, { Value: { Ref: Match.stringLikeRegexp('^AlarmTopic') } });
      t.hasOutput(OutputKeys.regionHealthAlarmName, { Value: { Ref: Match.stringLikeRegexp('^MonitoringRegionHealth') } });
    }
  });

  it('keeps every output key the CLI reads: load balancer, target groups, fleets, workers (app) and cache, queues (data)', () => {
    const r = built.regions['us-east-1'];
    const app = Object.keys(Template.fromStack(r.app).toJSON().Outputs as object);
    const data = Object.keys(Template.fromStack(r.data).toJSON().Outputs as object);
    expect(app).toEqual(expect.arrayContaining([
      OutputKeys.loadBalancerFullName, OutputKeys.loadBalancerDnsName, OutputKeys.targetGroupFullName('web'), OutputKeys.targetGroupFullName('api'),
      OutputKeys.fleetName('web'), OutputKeys.fleetName('api'), OutputKeys.workerFleetName('jobs'),
      OutputKeys.dashboardName, OutputKeys.alarmTopicArn, OutputKeys.regionHealthAlarmName,
    ]));
    expect(data).toEqual(expect.arrayContaining([OutputKeys.cacheReplicationGroupId, OutputKeys.queueName('jobs'), OutputKeys.deadLetterQueueName('jobs')]));
  });

  it('watches the cache and the queue of the data stack through cross-stack references (app depends on data)', () => {
    const r = built.regions['eu-west-1'];
    const synthesized = JSON.stringify(Template.fromStack(r.app).findResources('AWS::CloudWatch::Dashboard'));
    // aws-cdk-lib 2.276 references another stack's value with Fn::GetStackOutput (no export to pin).
    expect(synthesized).toMatch(/"Fn::GetStackOutput":\{"StackName":"shop-data-eu-west-1","Region":"eu-west-1","OutputName":"[A-Za-z0-9]*Cache/);
    const body = dashboardBody(r.app, r.app.monitoring!.dashboard);
    expect(body).toContain('EngineCPUUtilization');
    expect(body).toContain('ApproximateAgeOfOldestMessage');
    expect(r.app.dependencies).toContain(r.data);
    // cache alarms: CPU and memory on the role-level series (they follow autoscaling and failover), Warning + Critical
    const cache = r.app.monitoring!.alarms.filter((a) => a.tier === 'cache');
    expect(cache.map((a) => a.alarm.node.id).sort()).toEqual(['CacheCpuCritical', 'CacheCpuWarning', 'CacheMemoryCritical', 'CacheMemoryWarning']);
    const alarms = Template.fromStack(r.app).findResources('AWS::CloudWatch::Alarm');
    const cpu = Object.entries(alarms).find(([id]) => id.startsWith('MonitoringCacheCpuCritical'))![1] as { Properties: { Dimensions: Array<{ Name: string; Value: unknown }> } };
    expect(cpu.Properties.Dimensions.map((d) => d.Name).sort()).toEqual(['ReplicationGroupId', 'Role']);
    expect(JSON.stringify(alarms)).not.toMatch(/-000\d-00\d/); // no node id fixed at synth
  });

  it('applies the millions preset thresholds (p99 500/1500 ms, queue age 100/300 % of 120 s)', () => {
    const t = Template.fromStack(built.regions['ap-southeast-1'].app);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { ExtendedStatistic: 'p99', Threshold: 0.5, AlarmDescription: Match.stringLikeRegexp('^Warning \\(web\\)') });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { ExtendedStatistic: 'p99', Threshold: 1.5, AlarmDescription: Match.stringLikeRegexp('^Critical \\(web\\)') });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ApproximateAgeOfOldestMessage', Threshold: 360 });
  });

  it('synthesizes the whole app without a cross-stack cycle', () => {
    expect(() => built.app.synth()).not.toThrow();
  });
});
