import { AutoScalingClient, DescribeAutoScalingGroupsCommand, DescribeInstanceRefreshesCommand, type DescribeAutoScalingGroupsCommandInput } from '@aws-sdk/client-auto-scaling';
import { CloudWatchLogsClient, FilterLogEventsCommand, type FilterLogEventsCommandInput } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeImagesCommand, EC2Client, type DescribeImagesCommandInput } from '@aws-sdk/client-ec2';
import { DescribeTargetHealthCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { AL2023_RELEASE_CONTEXT_KEY, FLEET_DEFAULTS } from '../../../constructs/fleet';
import { main } from '../../../lib/capacity/cli';
import { ExitCode } from '../../../lib/capacity/errors';
import type { FleetStatusReport } from '../../../lib/capacity/fleet-status';
import { DescribeStacksCommand } from './sdk';
import { MILLIONS, NOW, REPO, capture, mockAws, noCredentials, shopValues, stackMissing } from './helpers';
import { OutputKeys } from '../../../lib/outputs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-1'];

/** The app stack outputs of the shop (config/millions.json) in `region`. */
function outputs(region: string, stack: string): Record<string, string> {
  if (!stack.includes('-app-')) return {};
  return {
    FleetNameWeb: `shop-web-${region}`,
    FleetNameApi: `shop-api-${region}`,
    WorkerFleetNameJobs: `shop-jobs-${region}`,
    LogGroupNameWeb: `/shop/web-${region}`,
    LogGroupNameApi: `/shop/api-${region}`,
    WorkerLogGroupNameJobs: `/shop/jobs-${region}`,
  };
}

interface FleetAws {
  readonly asg: Record<string, AwsClientStub<AutoScalingClient>>;
  readonly elb: Record<string, AwsClientStub<ElasticLoadBalancingV2Client>>;
  readonly logs: Record<string, AwsClientStub<CloudWatchLogsClient>>;
}

/**
 * Mocked clients: every group runs 3 instances of launch template v8 (`1.4.3`) except the api's, whose refresh
 * to v9 is half done (2 on v9 `1.4.4`, 2 on v8), with a rollback the day before; targets: web 3 healthy, api 3
 * healthy and 1 initial.
 */
function mockFleets() {
  const base = mockAws(REGIONS, shopValues, outputs);
  const fleet: FleetAws = { asg: {}, elb: {}, logs: {} };
  const clients = { asg: {} as Record<string, AutoScalingClient>, elb: {} as Record<string, ElasticLoadBalancingV2Client>, logs: {} as Record<string, CloudWatchLogsClient> };
  for (const region of REGIONS) {
    clients.asg[region] = new AutoScalingClient({ region });
    clients.elb[region] = new ElasticLoadBalancingV2Client({ region });
    clients.logs[region] = new CloudWatchLogsClient({ region });
    fleet.asg[region] = mockClient(clients.asg[region]);
    fleet.elb[region] = mockClient(clients.elb[region]);
    fleet.logs[region] = mockClient(clients.logs[region]);
    fleet.asg[region].on(DescribeAutoScalingGroupsCommand).callsFake((input: DescribeAutoScalingGroupsCommandInput) => ({
      AutoScalingGroups: (input.AutoScalingGroupNames ?? []).map((name) => {
        const api = name.includes('-api-');
        const instances = api
          ? [['i-1', '9'], ['i-2', '9'], ['i-3', '8'], ['i-4', '8']]
          : [['i-5', '8'], ['i-6', '8'], ['i-7', '8']];
        return {
          AutoScalingGroupName: name, MinSize: 3, MaxSize: 30, DesiredCapacity: api ? 4 : 3,
          LaunchTemplate: { LaunchTemplateId: 'lt-1', Version: api ? '9' : '8' },
          Tags: [{ Key: 's2m:app-version', Value: api ? '1.4.4' : '1.4.3', ResourceId: name }],
          TargetGroupARNs: name.includes('-jobs-') ? [] : [`arn:aws:elasticloadbalancing:${region}:111111111111:targetgroup/${api ? 'api' : 'web'}/abc`],
          Instances: instances.map(([InstanceId, Version]) => ({ InstanceId, LifecycleState: 'InService', HealthStatus: 'Healthy', AvailabilityZone: `${region}a`, ProtectedFromScaleIn: false, LaunchTemplate: { LaunchTemplateId: 'lt-1', Version } })),
          CreatedTime: NOW, DefaultCooldown: 300, AvailabilityZones: [`${region}a`], HealthCheckType: 'ELB',
        };
      }),
    }));
    fleet.asg[region].on(DescribeInstanceRefreshesCommand).resolves({ InstanceRefreshes: [] });
    fleet.asg[region].on(DescribeInstanceRefreshesCommand, { AutoScalingGroupName: `shop-api-${region}` }).resolves({
      InstanceRefreshes: [
        { InstanceRefreshId: 'r-old', AutoScalingGroupName: `shop-api-${region}`, Status: 'Failed', StatusReason: 'The alarm WebServiceapiRollback5xxAlarm went into ALARM', StartTime: new Date('2026-11-24T10:00:00Z'), EndTime: new Date('2026-11-24T10:09:00Z') },
        { InstanceRefreshId: 'r-new', AutoScalingGroupName: `shop-api-${region}`, Status: 'InProgress', PercentageComplete: 50, StartTime: new Date('2026-11-25T11:50:00Z') },
      ],
    });
    fleet.elb[region].on(DescribeTargetHealthCommand).callsFake((input: { TargetGroupArn: string }) => ({
      TargetHealthDescriptions: input.TargetGroupArn.includes('/api/')
        ? [...['i-1', 'i-2', 'i-3'].map((Id) => ({ Target: { Id }, TargetHealth: { State: 'healthy' } })), { Target: { Id: 'i-4' }, TargetHealth: { State: 'initial' } }]
        : ['i-5', 'i-6', 'i-7'].map((Id) => ({ Target: { Id }, TargetHealth: { State: 'healthy' } })),
    }));
  }
  const deps = {
    ...base.deps,
    autoScaling: (region: string) => clients.asg[region],
    elasticLoadBalancing: (region: string) => clients.elb[region],
    logs: (region: string) => clients.logs[region],
  };
  return { ...base, ...fleet, deps };
}

describe('s2m status', () => {
  it('asks for at most 50 groups per DescribeAutoScalingGroups request (50 services and a queue: 51 fleets)', async () => {
    // GIVEN the fifty-services fixture deployed, and an API that refuses more than 50 names, as AWS's does
    const fixture = join(REPO, 'test', 'fixtures', 'fifty-services.json');
    const config = JSON.parse(readFileSync(fixture, 'utf8')) as { name: string; services: { name: string }[]; queues: { name: string }[] };
    const region = 'us-east-1';
    const base = mockAws([region], shopValues, (r, stack) => (stack.includes('-app-') ? Object.fromEntries([
      ...config.services.map((sv) => [OutputKeys.fleetName(sv.name), `${config.name}-${sv.name}-${r}`]),
      ...config.queues.map((q) => [OutputKeys.workerFleetName(q.name), `${config.name}-${q.name}-${r}`]),
    ]) : {}));
    const client = new AutoScalingClient({ region });
    const asg = mockClient(client);
    asg.on(DescribeAutoScalingGroupsCommand).callsFake((input: DescribeAutoScalingGroupsCommandInput) => {
      const names = input.AutoScalingGroupNames ?? [];
      if (names.length > 50) throw Object.assign(new Error('The number of group names that may be passed in is limited to 50'), { name: 'ValidationError', $fault: 'client' });
      return { AutoScalingGroups: names.map((name) => ({ AutoScalingGroupName: name, MinSize: 1, MaxSize: 2, DesiredCapacity: 1, Instances: [], TargetGroupARNs: [], CreatedTime: NOW, DefaultCooldown: 300, AvailabilityZones: [`${region}a`], HealthCheckType: 'ELB' })) };
    });
    asg.on(DescribeInstanceRefreshesCommand).resolves({ InstanceRefreshes: [] });
    const deps = { ...base.deps, autoScaling: () => client, elasticLoadBalancing: () => new ElasticLoadBalancingV2Client({ region }), logs: () => new CloudWatchLogsClient({ region }) };
    const io = capture({ ...base, deps });
    // WHEN the status is asked THEN every fleet is shown, from two requests
    expect(await main(['status', '--config', fixture], io.deps), io.err()).toBe(ExitCode.ok);
    expect(asg.commandCalls(DescribeAutoScalingGroupsCommand).map((c) => c.args[0].input.AutoScalingGroupNames!.length)).toEqual([50, 1]);
    expect(io.out().match(/^ {2}\S+ +(web|worker) /gm)).toHaveLength(51);
  });


  it('shows per region and fleet the version each instance runs, the refresh in progress, the targets and the last rollback', async () => {
    const aws = mockFleets();
    const io = capture(aws);
    expect(await main(['status', '--config', MILLIONS, '--region', 'eu-west-1'], io.deps)).toBe(ExitCode.ok);
    const out = io.out();
    expect(out).toMatch(/^Fleets of shop at 2026-11-25T12:00:00.000Z\n\nRegion eu-west-1\n {2}FLEET +KIND +INSTANCES BY VERSION/);
    expect(out).toMatch(/ {2}web +web +3 × 1\.4\.3 +3 \(3-30\) +- +3 healthy, 0 unhealthy +-\n/);
    expect(out).toMatch(/ {2}api +web +2 × 1\.4\.4, 2 × previous \(launch template v8\) +4 \(3-30\) +InProgress 50% +3 healthy, 0 unhealthy, 1 other +Failed 2026-11-24T10:09:00.000Z: The alarm WebServiceapiRollback5xxAlarm went into ALARM\n/);
    expect(out).toMatch(/ {2}jobs +worker +3 × 1\.4\.3 +3 \(3-30\) +- +- +-\n/);
    expect(io.err()).toBe('');
    expect(aws.asg['eu-west-1']).toHaveReceivedCommandWith(DescribeAutoScalingGroupsCommand, { AutoScalingGroupNames: ['shop-web-eu-west-1', 'shop-api-eu-west-1', 'shop-jobs-eu-west-1'] });
    expect(aws.asg['us-east-1']).toHaveReceivedCommandTimes(DescribeAutoScalingGroupsCommand, 0);
  });

  it('--region accumulates when repeated: both regions are shown', async () => {
    const aws = mockFleets();
    const io = capture(aws);
    expect(await main(['status', '--config', MILLIONS, '--region', 'eu-west-1', '--region', 'ap-southeast-1', '--json'], io.deps)).toBe(ExitCode.ok);
    expect(aws.asg['eu-west-1']).toHaveReceivedCommandTimes(DescribeAutoScalingGroupsCommand, 1);
    expect(aws.asg['ap-southeast-1']).toHaveReceivedCommandTimes(DescribeAutoScalingGroupsCommand, 1);
    expect(aws.asg['us-east-1']).toHaveReceivedCommandTimes(DescribeAutoScalingGroupsCommand, 0);
  });

  it('--json prints the documented schema for every region', async () => {
    const io = capture(mockFleets());
    expect(await main(['status', '--config', MILLIONS, '--json'], io.deps)).toBe(ExitCode.ok);
    const report = JSON.parse(io.out()) as FleetStatusReport;
    expect(Object.keys(report)).toEqual(['schemaVersion', 'name', 'generatedAt', 'fleets', 'missing']);
    expect(report.fleets.map((f) => `${f.region}/${f.fleet}`)).toEqual(REGIONS.flatMap((r) => [`${r}/web`, `${r}/api`, `${r}/jobs`]));
    expect(report.fleets[1]).toEqual({
      region: 'us-east-1', fleet: 'api', kind: 'web', group: 'shop-api-us-east-1',
      capacity: { desired: 4, min: 3, max: 30 },
      versions: [{ version: '1.4.4', instances: 2, current: true }, { version: 'previous (launch template v8)', instances: 2, current: false }],
      refresh: { status: 'InProgress', percentComplete: 50, startedAt: '2026-11-25T11:50:00.000Z', reason: null },
      targets: { healthy: 3, unhealthy: 0, other: 1 },
      lastRollback: { status: 'Failed', at: '2026-11-24T10:09:00.000Z', reason: 'The alarm WebServiceapiRollback5xxAlarm went into ALARM' },
    });
    expect(report.missing).toEqual([]);
  });

  it('one line and exit 4 without credentials, exit 6 for a stack not deployed', async () => {
    const anonymous = mockFleets();
    for (const r of REGIONS) anonymous.cfn[r].on(DescribeStacksCommand).rejects(noCredentials());
    const io = capture(anonymous);
    expect(await main(['status', '--config', MILLIONS], io.deps)).toBe(ExitCode.credentials);
    expect(io.err()).toMatch(/^s2m: no AWS credentials found \(cloudformation:DescribeStacks in [a-z0-9-]+\): set AWS_PROFILE, or run `aws sso login` \/ `aws configure`\n$/);

    const missing = mockFleets();
    missing.cfn['eu-west-1'].on(DescribeStacksCommand).rejects(stackMissing('shop-app-eu-west-1'));
    const io2 = capture(missing);
    expect(await main(['status', '--config', MILLIONS, '--region', 'eu-west-1'], io2.deps)).toBe(ExitCode.stackMissing);
    expect(io2.err()).toBe('s2m: stack shop-app-eu-west-1 does not exist in eu-west-1: deploy it first (npx cdk deploy shop-app-eu-west-1) or check --config\n');
  });

  it('one line and exit 4 when the credentials give out on Auto Scaling', async () => {
    const aws = mockFleets();
    aws.asg['eu-west-1'].on(DescribeAutoScalingGroupsCommand).rejects(noCredentials());
    const io = capture(aws);
    expect(await main(['status', '--config', MILLIONS, '--region', 'eu-west-1'], io.deps)).toBe(ExitCode.credentials);
    expect(io.err()).toMatch(/^s2m: no AWS credentials found \(autoscaling:DescribeAutoScalingGroups in eu-west-1\)/);
  });

  it('lists services the stack does not output yet as not deployed', async () => {
    const aws = mockFleets();
    aws.cfn['eu-west-1'].on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'shop-app-eu-west-1', StackStatus: 'CREATE_COMPLETE', CreationTime: NOW, Outputs: [{ OutputKey: 'FleetNameWeb', OutputValue: 'shop-web-eu-west-1' }] }] });
    const io = capture(aws);
    expect(await main(['status', '--config', MILLIONS, '--region', 'eu-west-1'], io.deps)).toBe(ExitCode.ok);
    expect(io.out()).toContain('not deployed: eu-west-1: service api\nnot deployed: eu-west-1: workers of queue jobs\n');
  });
});

describe('s2m logs', () => {
  const event = (eventId: string, at: string, stream: string, message: string) => ({ eventId, timestamp: new Date(at).getTime(), logStreamName: stream, message });

  it('prints the service\'s log group in the primary region, every instance interleaved by time, filtered', async () => {
    const aws = mockFleets();
    aws.logs['us-east-1'].on(FilterLogEventsCommand).resolvesOnce({
      events: [event('2', '2026-11-25T11:30:02Z', 'i-2/app', 'GET /api/cart 200'), event('1', '2026-11-25T11:30:01Z', 'i-1/app', 'GET /api/cart 500\n')],
      nextToken: 'page2',
    }).resolvesOnce({ events: [event('3', '2026-11-25T11:40:00Z', 'i-1/app', 'POST /api/order 500')] });
    const io = capture(aws);
    expect(await main(['logs', '--config', MILLIONS, '--service', 'api', '--since', '1h', '--filter', '500'], io.deps)).toBe(ExitCode.ok);
    expect(io.out()).toBe([
      '2026-11-25T11:30:01.000Z i-1/app GET /api/cart 500',
      '2026-11-25T11:30:02.000Z i-2/app GET /api/cart 200',
      '2026-11-25T11:40:00.000Z i-1/app POST /api/order 500',
      '',
    ].join('\n'));
    const calls = aws.logs['us-east-1'].commandCalls(FilterLogEventsCommand).map((c) => c.args[0].input as FilterLogEventsCommandInput);
    expect(calls).toEqual([
      { logGroupName: '/shop/api-us-east-1', startTime: NOW.getTime() - 3600_000, filterPattern: '500' },
      { logGroupName: '/shop/api-us-east-1', startTime: NOW.getTime() - 3600_000, filterPattern: '500', nextToken: 'page2' },
    ]);
  });

  it('reads a queue\'s workers in the region asked for, and follows until interrupted, printing each event once', async () => {
    const aws = mockFleets();
    aws.logs['eu-west-1'].on(FilterLogEventsCommand)
      .resolvesOnce({ events: [event('1', '2026-11-25T11:59:00Z', 'i-5/app', 'job 1 done')] })
      .resolvesOnce({ events: [event('1', '2026-11-25T11:59:00Z', 'i-5/app', 'job 1 done'), event('2', '2026-11-25T11:59:30Z', 'i-6/app', 'job 2 done')] })
      // an event another instance delivered late: older than the newest one printed, inside the overlap
      .resolvesOnce({ events: [event('3', '2026-11-25T11:59:25Z', 'i-7/app', 'job 3 done'), event('2', '2026-11-25T11:59:30Z', 'i-6/app', 'job 2 done')] })
      .resolves({ events: [] });
    const stop = new AbortController();
    let polls = 0;
    const io = capture({
      deps: {
        ...aws.deps,
        clock: { now: () => NOW, sleep: async () => void (++polls >= 3 && stop.abort()) },
      },
    });
    const code = await main(['logs', '--config', MILLIONS, '--service', 'jobs', '--region', 'eu-west-1', '--since', '5m', '--follow'], { ...io.deps, interrupted: () => stop.signal });
    expect(code).toBe(ExitCode.ok);
    expect(io.out()).toBe('2026-11-25T11:59:00.000Z i-5/app job 1 done\n2026-11-25T11:59:30.000Z i-6/app job 2 done\n2026-11-25T11:59:25.000Z i-7/app job 3 done\n');
    const starts = aws.logs['eu-west-1'].commandCalls(FilterLogEventsCommand).map((c) => (c.args[0].input as FilterLogEventsCommandInput).startTime);
    // from the window's start, then from 10 s before the newest event printed
    expect(starts).toEqual([NOW.getTime() - 300_000, new Date('2026-11-25T11:58:50Z').getTime(), new Date('2026-11-25T11:59:20Z').getTime()]);
    expect((aws.logs['eu-west-1'].commandCalls(FilterLogEventsCommand)[0].args[0].input as FilterLogEventsCommandInput).logGroupName).toBe('/shop/jobs-eu-west-1');
  });

  it('follows without reading before --since when nothing was printed yet, and prints an event without an id once', async () => {
    const aws = mockFleets();
    const noId = { timestamp: new Date('2026-11-25T11:59:40Z').getTime(), logStreamName: 'i-5/app', message: 'no id' };
    aws.logs['eu-west-1'].on(FilterLogEventsCommand)
      .resolvesOnce({ events: [] })
      .resolvesOnce({ events: [noId] })
      .resolvesOnce({ events: [noId] })
      .resolves({ events: [] });
    const stop = new AbortController();
    let polls = 0;
    const io = capture({ deps: { ...aws.deps, clock: { now: () => NOW, sleep: async () => void (++polls >= 3 && stop.abort()) } } });
    expect(await main(['logs', '--config', MILLIONS, '--service', 'jobs', '--region', 'eu-west-1', '--since', '5m', '--follow'], { ...io.deps, interrupted: () => stop.signal })).toBe(ExitCode.ok);
    expect(io.out()).toBe('2026-11-25T11:59:40.000Z i-5/app no id\n');
    const starts = aws.logs['eu-west-1'].commandCalls(FilterLogEventsCommand).map((c) => (c.args[0].input as FilterLogEventsCommandInput).startTime);
    expect(starts).toEqual([NOW.getTime() - 300_000, NOW.getTime() - 300_000, new Date('2026-11-25T11:59:30Z').getTime()]);
  });

  it('fails with one line for an unknown service (2), no credentials (4) and a stack without the output (6)', async () => {
    const unknown = capture(mockFleets());
    expect(await main(['logs', '--config', MILLIONS, '--service', 'checkout'], unknown.deps)).toBe(ExitCode.usage);
    expect(unknown.err()).toBe('s2m: --service must be a service or a queue of the config (services: web, api; queues: jobs) (got: checkout)\n');

    const anonymous = mockFleets();
    anonymous.cfn['us-east-1'].on(DescribeStacksCommand).rejects(noCredentials());
    const io = capture(anonymous);
    expect(await main(['logs', '--config', MILLIONS, '--service', 'web'], io.deps)).toBe(ExitCode.credentials);
    expect(io.err().split('\n')).toHaveLength(2);

    const old = mockFleets();
    old.cfn['us-east-1'].on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'shop-app-us-east-1', StackStatus: 'UPDATE_COMPLETE', CreationTime: NOW, Outputs: [] }] });
    const io3 = capture(old);
    expect(await main(['logs', '--config', MILLIONS, '--service', 'web'], io3.deps)).toBe(ExitCode.stackMissing);
    expect(io3.err()).toBe('s2m: stack shop-app-us-east-1 in us-east-1 has no output LogGroupNameWeb: deploy it with this version first (npx cdk deploy shop-app-us-east-1)\n');
  });

  it('is listed in the help', async () => {
    const io = capture(mockFleets());
    expect(await main(['--help'], io.deps)).toBe(ExitCode.ok);
    expect(io.out()).toMatch(/status \[options\]/);
    expect(io.out()).toMatch(/logs \[options\]/);
  });
});

describe('s2m ami', () => {
  const releases = ['2023.9.20251117.1', '2023.9.20251208.0', '2023.10.20260105.0'];
  /** EC2 answering DescribeImages by name pattern; the newest release is missing in ap-southeast-1 (x86_64). */
  function mockEc2() {
    const clients: Record<string, EC2Client> = {};
    const stubs: Record<string, AwsClientStub<EC2Client>> = {};
    for (const region of REGIONS) {
      clients[region] = new EC2Client({ region });
      stubs[region] = mockClient(clients[region]);
      stubs[region].on(DescribeImagesCommand).callsFake((input: DescribeImagesCommandInput) => {
        const pattern = input.Filters![0].Values![0];
        const all = releases.flatMap((r) => ['arm64', 'x86_64'].map((arch) => `al2023-ami-${r}-kernel-6.1-${arch}`))
          .filter((n) => !(region === 'ap-southeast-1' && n === 'al2023-ami-2023.10.20260105.0-kernel-6.1-x86_64'));
        const re = new RegExp(`^${pattern.replace(/\./g, '\\.').replace(/\*/g, '.*')}$`);
        return { Images: all.filter((n) => re.test(n)).map((Name, i) => ({ Name, ImageId: `ami-${String(i).padStart(17, '0')}` })) };
      });
    }
    return { stubs, ec2: (region: string) => clients[region] };
  }
  const cdkJson = JSON.stringify({ app: 'npx tsx bin/app.ts', context: { '@aws-cdk/core:checkSecretUsage': true } });

  it('shows the pin (the package default), the newest release and where the pin exists', async () => {
    const { ec2 } = mockEc2();
    const files: Record<string, string> = { 'cdk.json': cdkJson };
    const io = capture(mockFleets(), { files });
    expect(await main(['ami', '--config', MILLIONS], { ...io.deps, ec2, readFile: (p) => files[p] })).toBe(ExitCode.ok);
    expect(io.out()).toBe([
      `Amazon Linux 2023 release of the fleets: ${FLEET_DEFAULTS.al2023Release} (package default)`,
      'newest release: 2023.10.20260105.0',
      `release ${FLEET_DEFAULTS.al2023Release}: in every region of the config`,
      'move to it on purpose: npx s2m ami --pin latest (then review, commit and deploy)',
      '',
    ].join('\n'));
    expect(files['cdk.json']).toBe(cdkJson);
  });

  it('--pin checks the release in every region and architecture, and refuses one that is missing somewhere', async () => {
    const { ec2 } = mockEc2();
    const files: Record<string, string> = { 'cdk.json': cdkJson };
    const io = capture(mockFleets(), { files });
    expect(await main(['ami', '--config', MILLIONS, '--pin', 'latest'], { ...io.deps, ec2, readFile: (p) => files[p] })).toBe(ExitCode.aws);
    expect(io.err()).toBe('s2m: release 2023.10.20260105.0 is missing in ap-southeast-1 (x86_64): not pinned\n');
    expect(files['cdk.json']).toBe(cdkJson);
  });

  it('--pin writes the release into cdk.json\'s context, keeping the rest', async () => {
    const { ec2 } = mockEc2();
    const files: Record<string, string> = { 'cdk.json': cdkJson };
    const io = capture(mockFleets(), { files });
    expect(await main(['ami', '--config', MILLIONS, '--pin', '2023.9.20251117.1'], { ...io.deps, ec2, readFile: (p) => files[p] })).toBe(ExitCode.ok);
    expect(JSON.parse(files['cdk.json'])).toEqual({ app: 'npx tsx bin/app.ts', context: { '@aws-cdk/core:checkSecretUsage': true, [AL2023_RELEASE_CONTEXT_KEY]: '2023.9.20251117.1' } });
    expect(io.out()).toContain(`pinned 2023.9.20251117.1 in cdk.json (${AL2023_RELEASE_CONTEXT_KEY}): the next deploy rolls every fleet on the default image`);
  });

  it('--pin changes only the pin in cdk.json: its layout stays byte for byte, a pin already there is replaced where it stands', async () => {
    // GIVEN a cdk.json in its author's layout (tabs, a one-line array, a watch block)
    const { ec2 } = mockEc2();
    const layout = '{\n\t"app": "npx tsx bin/app.ts",\n\t"watch": { "include": ["**"] },\n\t"context": {\n\t\t"@aws-cdk/core:checkSecretUsage": true\n\t}\n}\n';
    const files: Record<string, string> = { 'cdk.json': layout };
    // WHEN the release is pinned, then pinned again to another one
    expect(await main(['ami', '--config', MILLIONS, '--pin', '2023.9.20251117.1'], { ...capture(mockFleets(), { files }).deps, ec2, readFile: (p) => files[p] })).toBe(ExitCode.ok);
    const pinned = layout.replace('true\n', `true,\n\t\t"${AL2023_RELEASE_CONTEXT_KEY}": "2023.9.20251117.1"\n`);
    // THEN the pin is one added line
    expect(files['cdk.json']).toBe(pinned);
    expect(await main(['ami', '--config', MILLIONS, '--pin', '2023.9.20251208.0'], { ...capture(mockFleets(), { files }).deps, ec2, readFile: (p) => files[p] })).toBe(ExitCode.ok);
    expect(files['cdk.json']).toBe(pinned.replace('2023.9.20251117.1', '2023.9.20251208.0'));
    // AND a CRLF file gets the pin's line with CRLF
    files['cdk.json'] = layout.replace(/\n/g, '\r\n');
    expect(await main(['ami', '--config', MILLIONS, '--pin', '2023.9.20251117.1'], { ...capture(mockFleets(), { files }).deps, ec2, readFile: (p) => files[p] })).toBe(ExitCode.ok);
    expect(files['cdk.json']).toBe(pinned.replace(/\n/g, '\r\n'));
  });

  it('--pin reads a cdk.json that starts with a byte-order mark and keeps the mark; a syntax error names its line and column (3)', async () => {
    const { ec2 } = mockEc2();
    const files: Record<string, string> = { 'cdk.json': `\ufeff${cdkJson}` };
    expect(await main(['ami', '--config', MILLIONS, '--pin', '2023.9.20251117.1'], { ...capture(mockFleets(), { files }).deps, ec2, readFile: (p) => files[p] })).toBe(ExitCode.ok);
    expect(files['cdk.json'].startsWith('\ufeff{')).toBe(true);
    expect(JSON.parse(files['cdk.json'].slice(1))).toMatchObject({ context: { [AL2023_RELEASE_CONTEXT_KEY]: '2023.9.20251117.1' } });

    files['cdk.json'] = '{\n  "app": "npx tsx bin/app.ts",\n  "context": {},\n}\n';
    const bad = capture(mockFleets(), { files });
    expect(await main(['ami', '--config', MILLIONS], { ...bad.deps, ec2, readFile: (p) => files[p] })).toBe(ExitCode.config);
    expect(bad.err()).toBe('s2m: cdk.json is not valid JSON: line 4, column 1: Expected double-quoted property name\n');
  });

  it('--pin refuses a cdk.json that repeats a key (3), before calling AWS, and writes nothing', async () => {
    const { ec2, stubs } = mockEc2();
    const twice = '{\n  "app": "npx tsx bin/app.ts",\n  "context": { "a": 1 },\n  "context": { "b": 2 }\n}\n';
    const files: Record<string, string> = { 'cdk.json': twice };
    const io = capture(mockFleets(), { files });
    expect(await main(['ami', '--config', MILLIONS, '--pin', 'latest'], { ...io.deps, ec2, readFile: (p) => files[p] })).toBe(ExitCode.config);
    expect(io.err()).toBe('s2m: cdk.json repeats a key (context, lines 3 and 4): JSON keeps only the last value; keep one\n');
    expect(files['cdk.json']).toBe(twice);
    expect(stubs['us-east-1']).toHaveReceivedCommandTimes(DescribeImagesCommand, 0);
  });

  it('fails with one line on a malformed release (2) and without credentials (4)', async () => {
    const { ec2, stubs } = mockEc2();
    const files: Record<string, string> = { 'cdk.json': cdkJson };
    const bad = capture(mockFleets(), { files });
    expect(await main(['ami', '--config', MILLIONS, '--pin', '2023.9'], { ...bad.deps, ec2, readFile: (p) => files[p] })).toBe(ExitCode.usage);
    expect(bad.err()).toBe(`s2m: --pin must be "latest" or a release like ${FLEET_DEFAULTS.al2023Release} (got: 2023.9)\n`);
    stubs['us-east-1'].on(DescribeImagesCommand).rejects(noCredentials());
    // the release is checked before AWS is called: without credentials, still a usage error
    const beforeAws = capture(mockFleets(), { files });
    expect(await main(['ami', '--config', MILLIONS, '--pin', 'foo'], { ...beforeAws.deps, ec2, readFile: (p) => files[p] })).toBe(ExitCode.usage);
    expect(beforeAws.err()).toBe(`s2m: --pin must be "latest" or a release like ${FLEET_DEFAULTS.al2023Release} (got: foo)\n`);
    const anonymous = capture(mockFleets(), { files });
    expect(await main(['ami', '--config', MILLIONS], { ...anonymous.deps, ec2, readFile: (p) => files[p] })).toBe(ExitCode.credentials);
    expect(anonymous.err()).toMatch(/^s2m: no AWS credentials found \(ec2:DescribeImages in us-east-1\)/);
  });
});
