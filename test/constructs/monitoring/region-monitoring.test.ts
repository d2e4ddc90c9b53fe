import { Annotations as AssertAnnotations, Match, Template } from 'aws-cdk-lib/assertions';
import { Duration, NestedStack, Stack } from 'aws-cdk-lib/core';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as sns from 'aws-cdk-lib/aws-sns';
import { beforeAll, describe, expect, it } from 'vitest';
import { RegionMonitoring, type ICacheMetrics, type IDatabaseMetrics, type RegionMonitoringProps } from '../../../constructs/monitoring';
import { WebTier } from '../../../constructs/web-tier';
import { WorkQueue, WorkerFleet } from '../../../constructs/work-queue';
import { stackWithVpc } from '../../helpers/app';
import { validationErrorOf } from '../../helpers/errors';

const T4G = new ec2.InstanceType('t4g.small');

/** A database as the Aurora construct will expose it: plain metrics in the documented units. */
function fakeDatabase(global = true): IDatabaseMetrics {
  const m = (metricName: string, statistic = 'Average', role?: string) => (opts?: cloudwatch.MetricOptions) =>
    new cloudwatch.Metric({ namespace: 'AWS/RDS', metricName, dimensionsMap: { DBClusterIdentifier: 'db-1', ...(role ? { Role: role } : {}) }, statistic, period: Duration.minutes(1), ...opts });
  return {
    metricWriterCpuUtilization: m('CPUUtilization', 'Average', 'WRITER'),
    metricReaderCpuUtilization: m('CPUUtilization', 'Average', 'READER'),
    metricDatabaseConnections: m('DatabaseConnections', 'Sum'),
    metricFreeableMemory: m('FreeableMemory', 'Minimum'),
    metricCommitLatency: m('CommitLatency'),
    metricReplicaLag: m('AuroraReplicaLag', 'Maximum'),
    ...(global ? { metricGlobalReplicationLag: m('AuroraGlobalDBReplicationLag', 'Maximum') } : {}),
  };
}

/** A cache: `search` makes every metric a SEARCH expression (as CacheCluster's dashboard-only metrics are). */
function fakeCache(search = false): ICacheMetrics {
  const m = (metricName: string, statistic = 'Average') => (opts?: cloudwatch.MetricOptions): cloudwatch.IMetric => search
    ? new cloudwatch.MathExpression({ expression: `MAX(SEARCH('{AWS/ElastiCache,CacheClusterId} MetricName="${metricName}"', '${statistic}', 60))`, usingMetrics: {}, period: Duration.minutes(1) })
    : new cloudwatch.Metric({ namespace: 'AWS/ElastiCache', metricName, dimensionsMap: { CacheClusterId: 'c-0001-001' }, statistic, period: Duration.minutes(1), ...opts });
  return {
    metricEngineCpu: m('EngineCPUUtilization'),
    metricMemoryUsagePercent: m('DatabaseMemoryUsagePercentage'),
    metricEvictions: m('Evictions', 'Sum'),
    metricCurrentConnections: m('CurrConnections'),
    metricCacheHitRate: m('CacheHitRate'),
    metricReplicationLag: m('ReplicationLag', 'Maximum'),
  };
}

function region(extra: Partial<RegionMonitoringProps> = {}, id = 'TestStack') {
  const { stack, vpc } = stackWithVpc(id);
  const webTier = new WebTier(stack, 'Web', {
    vpc,
    deletionProtection: false,
    services: [
      { name: 'web', instanceType: T4G, minCapacity: 2, maxCapacity: 6 },
      { name: 'api-v2', pathPatterns: ['/api/*'], instanceType: T4G, minCapacity: 2, maxCapacity: 8 },
    ],
  });
  const jobs = new WorkQueue(stack, 'Jobs', { averageProcessingTime: Duration.seconds(2), acceptableLatency: Duration.seconds(120) });
  const workers = new WorkerFleet(stack, 'Workers', { workQueue: jobs, vpc, instanceType: T4G, maxCapacity: 4 });
  const topic = new sns.Topic(stack, 'Alarms');
  const props: RegionMonitoringProps = { webTier, alarmTopic: topic, queues: [{ name: 'jobs', workQueue: jobs, workers }], ...extra };
  return { stack, webTier, topic, props, create: () => new RegionMonitoring(stack, 'Monitoring', props) };
}

/** The dashboard body with every token replaced by `<token>`, parsed. */
function dashboardWidgets(stack: Stack, dashboard: cloudwatch.Dashboard): Array<{ type: string; properties: Record<string, unknown> }> {
  const body = stack.resolve((dashboard.node.defaultChild as cloudwatch.CfnDashboard).dashboardBody) as unknown;
  const text = typeof body === 'string' ? body : ((body as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1]).map((p) => (typeof p === 'string' ? p : '<token>')).join('');
  return (JSON.parse(text) as { widgets: Array<{ type: string; properties: Record<string, unknown> }> }).widgets;
}

type AlarmResource = { Properties: Record<string, unknown> };

describe('RegionMonitoring of a region with every tier', () => {
  let stack: Stack;
  let monitoring: RegionMonitoring;
  let t: Template;
  let alarms: Record<string, AlarmResource>;
  let topicId: string;
  beforeAll(() => {
    // GIVEN a web tier with two services, a queue with workers, a cache and a database with a global lag
    const r = region({
      cache: fakeCache(),
      database: fakeDatabase(),
      watchGlobalReplicationLag: true,
      thresholds: { web: { p99LatencyMs: { warning: 400, critical: 1200 } }, database: { freeableMemoryMiB: { warning: 2048, critical: 512 } } },
      dashboardName: 'shop-eu-west-1',
    });
    stack = r.stack;
    // WHEN the region is monitored
    monitoring = r.create();
    t = Template.fromStack(stack);
    alarms = t.findResources('AWS::CloudWatch::Alarm') as Record<string, AlarmResource>;
    topicId = stack.getLogicalId(r.topic.node.defaultChild as never);
  });

  it('creates one dashboard with the given name', () => {
    t.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    t.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'shop-eu-west-1' });
  });

  it('shows the golden signals of every tier on the dashboard', () => {
    const widgets = dashboardWidgets(stack, monitoring.dashboard);
    const body = JSON.stringify(widgets);
    const titles = widgets.map((w) => w.properties.title).filter(Boolean);
    expect(titles).toEqual(expect.arrayContaining([
      'Region health and Critical alarms', 'Requests per minute', 'Latency p50 / p99 (s)', 'HTTP 4xx / 5xx', 'Healthy / unhealthy hosts',
      'Fleets: in service vs max', 'CPU % by role', 'Connections', 'Replica lag (ms)', 'Commit latency (ms)', 'Freeable memory (bytes)',
      'Engine CPU % (primaries)', 'Memory used % of maxmemory (primaries)', 'Hit rate %', 'Evictions per minute',
      'Backlog and in flight', 'Oldest message age (s)', 'Dead-letter queue depth', 'Workers: in service vs max',
    ]));
    for (const metric of [
      'RequestCount', 'RequestCountPerTarget', 'TargetResponseTime', 'HTTPCode_Target_4XX_Count', 'HTTPCode_Target_5XX_Count', 'HTTPCode_ELB_4XX_Count',
      'HTTPCode_ELB_5XX_Count', 'HealthyHostCount', 'UnHealthyHostCount', 'GroupInServiceInstances', 'GroupMaxSize', 'GroupDesiredCapacity',
      'CPUUtilization', 'DatabaseConnections', 'AuroraReplicaLag', 'AuroraGlobalDBReplicationLag', 'CommitLatency', 'FreeableMemory',
      'EngineCPUUtilization', 'DatabaseMemoryUsagePercentage', 'CacheHitRate', 'Evictions', 'CurrConnections',
      'ApproximateNumberOfMessagesVisible', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateAgeOfOldestMessage',
    ]) expect(body, metric).toContain(`"${metric}"`);
    expect(body).toContain('"stat":"p50"');
    expect(body).toContain('"stat":"p99"');
  });

  it('shows the CloudWatch agent\'s memory and disk use of every fleet, web services and workers', () => {
    const widgets = dashboardWidgets(stack, monitoring.dashboard);
    for (const [title, metric] of [['Memory used % (fullest instance)', 'mem_used_percent'], ['Root volume used % (fullest instance)', 'disk_used_percent']]) {
      const graph = widgets.find((w) => w.properties.title === title)!;
      const lines = graph.properties.metrics as unknown[][];
      expect(lines.map((l) => l.slice(0, 2))).toEqual([['CWAgent', metric], ['CWAgent', metric], ['CWAgent', metric]]);
      expect(JSON.stringify(lines)).toContain('"label":"api-v2"');
      expect(JSON.stringify(lines)).toContain('"label":"jobs workers"');
    }
  });

  it('creates a Warning and a Critical alarm per signal with the configured thresholds', () => {
    const threshold = (prefix: string) => {
      const found = Object.entries(alarms).filter(([id]) => id.startsWith(`Monitoring${prefix}`));
      expect(found, prefix).toHaveLength(1);
      return found[0][1].Properties;
    };
    // p99 in ms in the config, seconds in CloudWatch
    expect(threshold('WebLatencyWebWarning')).toMatchObject({ Threshold: 0.4, ComparisonOperator: 'GreaterThanOrEqualToThreshold', ExtendedStatistic: 'p99' });
    expect(threshold('WebLatencyApiV2Critical')).toMatchObject({ Threshold: 1.2 });
    // freeable memory: lower is worse, MiB → bytes
    expect(threshold('DatabaseFreeableMemoryWarning')).toMatchObject({ Threshold: 2048 * 1024 * 1024, ComparisonOperator: 'LessThanThreshold' });
    expect(threshold('DatabaseFreeableMemoryCritical')).toMatchObject({ Threshold: 512 * 1024 * 1024 });
    // defaults elsewhere
    // CPU per role: the writer and the readers each against the thresholds
    expect(threshold('DatabaseWriterCpuCritical')).toMatchObject({ Threshold: 90, MetricName: 'CPUUtilization', Dimensions: expect.arrayContaining([{ Name: 'Role', Value: 'WRITER' }]) });
    expect(threshold('DatabaseReaderCpuWarning')).toMatchObject({ Threshold: 70, MetricName: 'CPUUtilization', Dimensions: expect.arrayContaining([{ Name: 'Role', Value: 'READER' }]) });
    expect(Object.keys(alarms).filter((id) => /^MonitoringDatabaseCpu/.test(id))).toEqual([]);
    expect(threshold('DatabaseGlobalReplicationLagWarning')).toMatchObject({ Threshold: 2000 });
    expect(threshold('CacheMemoryWarning')).toMatchObject({ Threshold: 75 });
    // evictions are a SEARCH over every node: graphed against their thresholds, no alarm (memory fires first)
    expect(Object.keys(alarms).filter((id) => /^MonitoringCacheEvictions/.test(id))).toEqual([]);
    // queue age: % of the acceptable latency (120 s): 100 % and 300 %
    expect(threshold('QueueAgeJobsWarning')).toMatchObject({ Threshold: 120, MetricName: 'ApproximateAgeOfOldestMessage' });
    expect(threshold('QueueAgeJobsCritical')).toMatchObject({ Threshold: 360 });
    expect(threshold('QueueDeadLettersJobsWarning')).toMatchObject({ Threshold: 1 });
    expect(threshold('WorkersJobsCritical')).toMatchObject({ Threshold: 95 });
    expect(threshold('FleetApiV2Warning')).toMatchObject({ Threshold: 80 });
    expect(threshold('Web5xxRateCritical')).toMatchObject({ Threshold: 5 });
    expect(threshold('WebNoHealthyHostsWebCritical')).toMatchObject({ Threshold: 1, ComparisonOperator: 'LessThanThreshold', TreatMissingData: 'breaching' });
  });

  it('evaluates the 5xx rate only above a minimum of requests, and fleets against their maximum size', () => {
    const rate = Object.entries(alarms).find(([id]) => id.startsWith('MonitoringWeb5xxRateWarning'))![1].Properties;
    expect(JSON.stringify(rate.Metrics)).toContain('IF(r >= 50, 100 * (FILL(t, 0) + FILL(e, 0)) / r, 0)');
    const fleet = Object.entries(alarms).find(([id]) => id.startsWith('MonitoringFleetWebWarning'))![1].Properties;
    expect(JSON.stringify(fleet.Metrics)).toContain('100 * s / IF(m > 0, m, 1)');
    expect(JSON.stringify(fleet.Metrics)).toContain('GroupMaxSize');
  });

  it('has every alarm notify the region topic on ALARM and on OK', () => {
    const mine = Object.entries(alarms).filter(([id]) => id.startsWith('Monitoring'));
    expect(mine.length).toBe(monitoring.alarms.length);
    for (const [id, a] of mine) {
      expect(a.Properties.AlarmActions, id).toEqual([{ Ref: topicId }]);
      expect(a.Properties.OKActions, id).toEqual([{ Ref: topicId }]);
    }
    t.hasResourceProperties('AWS::CloudWatch::CompositeAlarm', { AlarmActions: [{ Ref: topicId }] });
  });

  it('has one composite alarm whose rule is the OR of the Critical alarms but those that can last for hours', () => {
    t.resourceCountIs('AWS::CloudWatch::CompositeAlarm', 1);
    const composite = Object.values(t.findResources('AWS::CloudWatch::CompositeAlarm'))[0] as AlarmResource;
    const rule = JSON.stringify(composite.Properties.AlarmRule);
    const referenced = [...rule.matchAll(/"Fn::GetAtt":\["([A-Za-z0-9]+)","Arn"\]/g)].map((m) => m[1]).sort();
    // A fleet at 95 % of its maximum through a peak, a dead-letter queue until redriven: Critical, notifying on their
    // own, but outside the region's health alarm, which they would hold in ALARM so that a later outage says nothing
    const lasting = monitoring.criticalAlarms.filter((a) => /^(Fleet|Workers|QueueDeadLetters)|GlobalReplicationLag/.test(a.node.id));
    expect(lasting.map((a) => a.node.id)).toEqual(expect.arrayContaining(['QueueDeadLettersJobsCritical']));
    expect(lasting.some((a) => a.node.id.startsWith('Fleet'))).toBe(true);
    const critical = monitoring.criticalAlarms.filter((a) => !lasting.includes(a)).map((a) => stack.getLogicalId(a.node.defaultChild as never)).sort();
    expect(referenced).toEqual(critical);
    expect(monitoring.regionHealthMembers.map((a) => stack.getLogicalId((a as cloudwatch.Alarm).node.defaultChild as never)).sort()).toEqual(critical);
    expect(critical.length).toBeGreaterThan(10);
    expect(rule).toContain(' OR ');
    expect(monitoring.warningAlarms.every((a) => !referenced.includes(stack.getLogicalId(a.node.defaultChild as never)))).toBe(true);
  });

  it('lists as Route 53 health alarms only Critical alarms on one metric with a plain statistic', () => {
    const ids = monitoring.route53HealthAlarms.map((a) => (a as cloudwatch.Alarm).node.id);
    expect(ids).toEqual(expect.arrayContaining(['WebNoHealthyHostsWebCritical', 'QueueAgeJobsCritical', 'DatabaseWriterCpuCritical']));
    expect(ids).not.toContain('WebLatencyWebCritical'); // p99 is an extended statistic
    expect(ids).not.toContain('Web5xxRateCritical'); // metric math
    expect(ids.every((id) => id.endsWith('Critical'))).toBe(true);
  });

  it('drains the region only on alarms that mean it cannot serve: a service with no healthy target', () => {
    const ids = monitoring.regionDrainAlarms.map((a) => (a as cloudwatch.Alarm).node.id);
    expect(ids.sort()).toEqual(['WebNoHealthyHostsApiV2Critical', 'WebNoHealthyHostsWebCritical']);
    // a full dead-letter queue or a saturated database are Critical, but moving users would not fix them
    expect(ids).not.toContain('QueueDeadLettersJobsCritical');
    expect(ids).not.toContain('DatabaseWriterCpuCritical');
  });
});

describe('RegionMonitoring of secret rotations', () => {
  it('adds a Warning alarm per rotation on any error of its function, notifying the topic', () => {
    const errors = new cloudwatch.Metric({ namespace: 'AWS/Lambda', metricName: 'Errors', dimensionsMap: { FunctionName: 'rotate-db' }, statistic: 'Sum', period: Duration.minutes(5) });
    const r = region({ queues: [], secretRotations: [{ name: 'database', errors }] });
    const m = r.create();
    const rotation = m.alarms.filter((a) => a.tier === 'secrets');
    expect(rotation.map((a) => [a.alarm.node.id, a.severity, a.drainsRegion])).toEqual([['SecretRotationDatabaseWarning', 'Warning', false]]);
    Template.fromStack(r.stack).hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors', Namespace: 'AWS/Lambda', Threshold: 1, EvaluationPeriods: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('Alarms') }], AlarmDescription: Match.stringLikeRegexp('^Warning \\(secrets\\): the rotation of the database secret failed'),
    });
  });
});

describe('RegionMonitoring of a primary-region database', () => {
  it('does not watch the Global Database lag unless asked (the primary has none)', () => {
    const r = region({ database: fakeDatabase(true), queues: [] });
    const m = r.create();
    expect(m.alarms.filter((a) => a.tier === 'database').map((a) => a.alarm.node.id)).not.toContain('DatabaseGlobalReplicationLagWarning');
    expect(m.alarms.filter((a) => a.tier === 'database')).toHaveLength(10);
    expect(JSON.stringify(dashboardWidgets(r.stack, m.dashboard))).not.toContain('AuroraGlobalDBReplicationLag');
    expect(JSON.stringify(dashboardWidgets(r.stack, m.dashboard))).not.toContain('ServerlessDatabaseCapacity');
  });

  it('graphs the ACUs a Serverless v2 database is billed for, with no alarm on them (CPU and memory are relative to the maximum)', () => {
    const acu = (opts?: cloudwatch.MetricOptions) => new cloudwatch.Metric({ namespace: 'AWS/RDS', metricName: 'ServerlessDatabaseCapacity', dimensionsMap: { DBClusterIdentifier: 'db-1' }, statistic: 'Average', period: Duration.minutes(1), ...opts });
    const r = region({ database: { ...fakeDatabase(false), metricServerlessDatabaseCapacity: acu }, queues: [] });
    const m = r.create();
    const graph = dashboardWidgets(r.stack, m.dashboard).find((w) => w.properties.title === 'Serverless v2 capacity (ACU, billed)');
    expect(JSON.stringify(graph?.properties.metrics)).toContain('ServerlessDatabaseCapacity');
    // The same alarms as a provisioned primary's (above): none on the ACUs.
    expect(m.alarms.filter((a) => a.tier === 'database')).toHaveLength(10);
    expect(JSON.stringify(m.alarms.map((a) => a.alarm.node.id))).not.toMatch(/Serverless|Acu/i);
  });
});

describe('RegionMonitoring of a web tier alone', () => {
  it('creates web and fleet alarms only, and no database, cache or queue widgets', () => {
    // GIVEN only a web tier WHEN it is monitored
    const r = region({ queues: [] });
    const m = r.create();
    // THEN
    expect(new Set(m.alarms.map((a) => a.tier))).toEqual(new Set(['web', 'fleets']));
    const body = JSON.stringify(dashboardWidgets(r.stack, m.dashboard));
    expect(body).not.toContain('AWS/RDS');
    expect(body).not.toContain('AWS/ElastiCache');
    expect(body).not.toContain('AWS/SQS');
    Template.fromStack(r.stack).hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: Match.absent() });
  });
});

describe('RegionMonitoring with a cache whose metrics are SEARCH expressions', () => {
  it('keeps SEARCH metrics on the dashboard but creates no alarm on them, with a warning', () => {
    // GIVEN a cache whose metrics are SEARCH expressions WHEN the region is monitored
    const r = region({ cache: fakeCache(true), queues: [] });
    const m = r.create();
    // THEN
    expect(m.alarms.filter((a) => a.tier === 'cache')).toEqual([]);
    expect(JSON.stringify(dashboardWidgets(r.stack, m.dashboard))).toContain('SEARCH(');
    AssertAnnotations.fromStack(r.stack).hasWarning('/TestStack/Monitoring', Match.stringLikeRegexp('SEARCH expression'));
  });
});

describe('RegionMonitoring props', () => {
  const rotationErrors = new cloudwatch.Metric({ namespace: 'AWS/Lambda', metricName: 'Errors' });
  const jobs = (r: ReturnType<typeof region>) => r.props.queues![0];
  it.each<[string, (r: ReturnType<typeof region>) => Partial<RegionMonitoringProps>, RegExp]>([
    ['a warning threshold is not below its critical one', () => ({ thresholds: { web: { p99LatencyMs: { warning: 2000, critical: 1000 } } } }), /web\.p99LatencyMs: higher is worse, so warning must be below critical \(got: warning 2000, critical 1000\)/],
    ['freeable memory warning is not above critical (lower is worse)', () => ({ database: fakeDatabase(false), thresholds: { database: { freeableMemoryMiB: { warning: 100, critical: 500 } } } }), /database\.freeableMemoryMiB: lower is worse, so warning must be above critical \(got: warning 100, critical 500\)/],
    ['a percentage is above 100', () => ({ thresholds: { cache: { cpuPercent: { warning: 90, critical: 120 } } } }), /cache\.cpuPercent\.critical: must be at most 100 \(got: 120\)/],
    ['a threshold is negative', () => ({ thresholds: { queues: { deadLetterMessages: { warning: -1, critical: 10 } } } }), /queues\.deadLetterMessages\.warning: must be a number ≥ 0 \(got: -1\)/],
    ['two queues share a name', (r) => ({ queues: [jobs(r), { ...jobs(r) }] }), /queues\[1\]\.name is a duplicate \(got: "jobs"\)/],
    ['the dashboard name is invalid', () => ({ dashboardName: 'my dashboard' }), /dashboardName .* \(got: "my dashboard"\)/],
    ['two rotations share a name', () => ({ secretRotations: [{ name: 'db', errors: rotationErrors }, { name: 'db', errors: rotationErrors }] }), /secretRotations\[1\]\.name is a duplicate \(got: "db"\)/],
  ])('fails when %s, naming the monitoring', (_, extra, message) => {
    const r = region();
    expect(validationErrorOf(() => new RegionMonitoring(r.stack, 'Monitoring', { ...r.props, ...extra(r) }))).toEqual({ path: 'TestStack/Monitoring', message: expect.stringMatching(message) });
  });
});

describe('RegionMonitoring with a service group in a nested stack (alarmGroups)', () => {
  let stack: Stack;
  let nested: NestedStack;
  let monitoring: RegionMonitoring;
  beforeAll(() => {
    // GIVEN the two-service region, service api-v2's alarms grouped in a nested stack
    const r = region();
    stack = r.stack;
    nested = new NestedStack(stack, 'Services2');
    monitoring = new RegionMonitoring(stack, 'Monitoring', { ...r.props, alarmGroups: [{ scope: nested, services: ['api-v2'], title: 'Services in nested stack Services2' }] });
  });

  it('creates the group\'s alarms in the nested stack, under their usual ids, with the topic as action', () => {
    const inner = Template.fromStack(nested);
    const ids = Object.keys(inner.findResources('AWS::CloudWatch::Alarm'));
    for (const id of ['WebLatencyApiV2Warning', 'WebLatencyApiV2Critical', 'WebNoHealthyHostsApiV2Critical', 'WebUnhealthyHostsApiV2Warning', 'FleetApiV2Warning', 'FleetApiV2Critical']) {
      expect(ids.some((x) => x.startsWith(`Monitoring${id}`)), id).toBe(true);
    }
    expect(ids.length).toBe(6);
    for (const alarm of Object.values(inner.findResources('AWS::CloudWatch::Alarm'))) expect((alarm.Properties.AlarmActions as unknown[]).length).toBe(1);
    const outer = Object.keys(Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm'));
    expect(outer.some((x) => x.includes('ApiV2'))).toBe(false);
    expect(outer.some((x) => x.includes('WebNoHealthyHostsWebCritical'))).toBe(true);
  });

  it('gives the group a composite alarm of its three Critical alarms, which the region\'s composite references instead of them', () => {
    const inner = Template.fromStack(nested);
    const [group] = Object.values(inner.findResources('AWS::CloudWatch::CompositeAlarm'));
    expect(JSON.stringify(group.Properties.AlarmRule).split('ALARM(').length - 1).toBe(3);
    expect(monitoring.alarmGroupHealthAlarms).toHaveLength(1);
    const [regionRule] = Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::CompositeAlarm')).map((a) => JSON.stringify(a.Properties.AlarmRule));
    expect(regionRule).toMatch(/Services2NestedStack/);
    expect(regionRule.split('ALARM(').length - 1).toBe(monitoring.regionHealthMembers.length);
    expect(monitoring.regionHealthMembers).toContain(monitoring.alarmGroupHealthAlarms[0]);
  });

  it('still lists every service\'s no-healthy-host alarm among the region\'s drain alarms', () => {
    expect(monitoring.regionDrainAlarms.map((a) => a.node.id).sort()).toEqual(['WebNoHealthyHostsApiV2Critical', 'WebNoHealthyHostsWebCritical']);
  });

  it('gives the group rows of its own on the dashboard, and leaves its services out of the region\'s web graphs', () => {
    const widgets = dashboardWidgets(stack, monitoring.dashboard);
    const texts = widgets.filter((w) => w.type === 'text').map((w) => String(w.properties.markdown));
    expect(texts.some((m) => m.startsWith('## Services in nested stack Services2'))).toBe(true);
    const latency = widgets.filter((w) => w.properties.title === 'Latency p50 / p99 (s)').map((w) => JSON.stringify(w.properties.metrics));
    expect(latency).toHaveLength(2);
    expect(latency[0]).not.toMatch(/api-v2/);
    expect(latency[1]).toMatch(/api-v2 p99/);
  });
});

describe('RegionMonitoring with a queue group in a nested stack', () => {
  it('creates the queue\'s and its workers\' alarms in the nested stack behind its composite alarm, and keeps the queue\'s row on the dashboard', () => {
    // GIVEN the region with queue jobs grouped in a nested stack
    const r = region();
    const nested = new NestedStack(r.stack, 'Queues2');
    const monitoring = new RegionMonitoring(r.stack, 'Monitoring', { ...r.props, alarmGroups: [{ scope: nested, queues: ['jobs'] }] });
    // THEN
    const ids = Object.keys(Template.fromStack(nested).findResources('AWS::CloudWatch::Alarm'));
    for (const id of ['QueueAgeJobsWarning', 'QueueAgeJobsCritical', 'QueueDeadLettersJobsCritical', 'WorkersJobsCritical']) expect(ids.some((x) => x.startsWith(`Monitoring${id}`)), id).toBe(true);
    expect(ids.length).toBe(6);
    const [group] = Object.values(Template.fromStack(nested).findResources('AWS::CloudWatch::CompositeAlarm'));
    expect(JSON.stringify(group.Properties.AlarmRule).split('ALARM(').length - 1).toBe(3);
    expect(String(group.Properties.AlarmDescription)).toMatch(/queues jobs/);
    expect(monitoring.alarmGroupHealthAlarms).toHaveLength(1);
    const texts = dashboardWidgets(r.stack, monitoring.dashboard).filter((w) => w.type === 'text').map((w) => String(w.properties.markdown));
    expect(texts.some((m) => m.startsWith('## Queue jobs'))).toBe(true);
  });
});

describe('RegionMonitoring bad alarmGroups', () => {
  it.each<[string, (nested: NestedStack) => RegionMonitoringProps['alarmGroups'], RegExp]>([
    ['a group names no service and no queue', (n) => [{ scope: n, services: [] }], /alarmGroups\[0\] must name at least one service or queue \(got: none\)/],
    ['a group names no queue of queues', (n) => [{ scope: n, queues: ['nope'] }], /alarmGroups\[0\]\.queues names no entry of queues \(got: "nope"; have: jobs\)/],
    ['a group names no service of the tier', (n) => [{ scope: n, services: ['nope'] }], /alarmGroups\[0\]\.services names no service of the web tier \(got: "nope"; have: web, api-v2\)/],
    ['two groups name one service', (n) => [{ scope: n, services: ['web'] }, { scope: n, services: ['web'] }], /alarmGroups\[1\]\.services repeats a service of alarmGroups\[0\] \(got: "web"\)/],
  ])('fails when %s', (_, groups, message) => {
    const r = region();
    const nested = new NestedStack(r.stack, 'Services2');
    expect(validationErrorOf(() => new RegionMonitoring(r.stack, 'Monitoring', { ...r.props, alarmGroups: groups(nested) }))).toEqual({ path: 'TestStack/Monitoring', message: expect.stringMatching(message) });
  });
});
