import { DescribeStacksCommand, GetMetricDataCommand } from './sdk';
import { describe, expect, it } from 'vitest';
import { main } from '../../../lib/capacity/cli';
import { ExitCode } from '../../../lib/capacity/errors';
import type { CapacityReport } from '../../../lib/capacity/report';
import { resolveConfig } from '../../../lib/config';
import { MILLIONS, accessDenied, capture, mockAws, noCredentials, shopValues, stackMissing, webOnlyOutputs } from './helpers';

const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-1'];

describe('s2m (main, end to end over mocked AWS)', () => {
  it('--help lists the commands and the exit codes', async () => {
    const io = capture(mockAws([], shopValues));
    expect(await main(['--help'], io.deps)).toBe(ExitCode.ok);
    expect(io.out()).toMatch(/Usage: s2m \[options\] \[command\]/);
    expect(io.out()).toMatch(/report \[options\]/);
    expect(io.out()).toMatch(/plan \[options\]/);
    expect(io.out()).toMatch(/6 stack missing/);
    expect(io.err()).toBe('');
  });

  it('report prints a table per region, the bottleneck and recommendations; progress only on a terminal', async () => {
    const aws = mockAws(REGIONS, shopValues, webOnlyOutputs);
    const piped = capture(aws);
    expect(await main(['report', '--config', MILLIONS, '--since', '3h'], piped.deps)).toBe(ExitCode.ok);
    const out = piped.out();
    expect(out).toMatch(/^Capacity report for shop: 2026-11-25T09:00:00.000Z → 2026-11-25T12:00:00.000Z \(period 60s/);
    expect(out).toMatch(/Region eu-west-1\n {2}TIER +RESOURCE +LOAD/);
    // api: 20 instances at 2250 req/min against its target of 1500 → needs 30 of 40
    expect(out).toMatch(/web +api +750 req\/s \(peak 750\) +cpu 45%\/50, requestsPerInstance 2,250 req\/min\/1,500 +20 now, 30 needed \/ 40 max instances +25% \(×1.33\) +WARN/);
    expect(out).toMatch(/Bottleneck: us-east-1 web api, 25% headroom/);
    expect(out).toMatch(/- ap-southeast-1: raise services\[api\].maxCapacity from 40 to 43/);
    expect(out).toMatch(/API calls: 6 DescribeStacks, 3 GetMetricData \(30 queries\)/);
    expect(piped.err()).toBe('');

    const tty = capture(mockAws(REGIONS, shopValues, webOnlyOutputs), { tty: true });
    expect(await main(['report', '--config', MILLIONS], tty.deps)).toBe(ExitCode.ok);
    expect(tty.err()).toMatch(/us-east-1: reading stacks shop-app-us-east-1, shop-data-us-east-1/);
    expect(tty.err()).toMatch(/eu-west-1: metrics 1\/1 \(10 queries\)/);
    expect(tty.err().endsWith('\r\x1b[2K')).toBe(true);
  });

  it('report --json prints the documented schema', async () => {
    const io = capture(mockAws(REGIONS, shopValues, webOnlyOutputs), { tty: true });
    expect(await main(['report', '--config', MILLIONS, '--json', '--region', 'eu-west-1'], io.deps)).toBe(ExitCode.ok);
    const report = JSON.parse(io.out()) as CapacityReport;
    expect(Object.keys(report)).toEqual(['schemaVersion', 'generatedAt', 'name', 'window', 'regions', 'bottleneck', 'recommendations', 'apiCalls']);
    expect(report.schemaVersion).toBe(1);
    expect(report.regions.map((r) => r.region)).toEqual(['eu-west-1']);
    expect(Object.keys(report.regions[0].tiers[0])).toEqual(['region', 'tier', 'resource', 'load', 'utilization', 'capacity', 'headroomPercent', 'growthFactor', 'status', 'notes']);
    expect(report.regions[0].tiers[0]).toMatchObject({ tier: 'web', resource: 'web', headroomPercent: 73.3, growthFactor: 3.75, status: 'ok' });
    expect(report.recommendations[0]).toEqual({
      region: 'eu-west-1', tier: 'web', resource: 'api', action: 'raise-max', field: 'services[api].maxCapacity', from: 40, to: 43,
      message: 'raise services[api].maxCapacity from 40 to 43 (the peak needs 30 instances at the scaling target)',
    });
    expect(report.apiCalls).toEqual({ describeStacks: 2, getMetricData: 1, metricQueries: 10 });
  });

  it('a missing stack: one line on stderr, exit 6, no stack trace', async () => {
    const aws = mockAws(REGIONS, shopValues, webOnlyOutputs);
    aws.cfn['ap-southeast-1'].on(DescribeStacksCommand, { StackName: 'shop-app-ap-southeast-1' }).rejects(stackMissing('shop-app-ap-southeast-1'));
    const io = capture(aws);
    expect(await main(['report', '--config', MILLIONS], io.deps)).toBe(ExitCode.stackMissing);
    expect(io.err()).toBe('s2m: stack shop-app-ap-southeast-1 does not exist in ap-southeast-1: deploy it first (npx cdk deploy shop-app-ap-southeast-1) or check --config\n');
    expect(io.out()).toBe('');
  });

  it('access denied (exit 5) and no credentials (exit 4): one line each', async () => {
    const denied = mockAws(REGIONS, shopValues, webOnlyOutputs);
    denied.cfn['us-east-1'].on(DescribeStacksCommand).rejects(accessDenied());
    const io1 = capture(denied);
    expect(await main(['report', '--config', MILLIONS], io1.deps)).toBe(ExitCode.accessDenied);
    expect(io1.err().split('\n')).toHaveLength(2);
    expect(io1.err()).toMatch(/^s2m: access denied: cloudformation:DescribeStacks in us-east-1 is not allowed for these credentials/);

    const anonymous = mockAws(REGIONS, shopValues, webOnlyOutputs);
    for (const r of REGIONS) anonymous.cfn[r].on(DescribeStacksCommand).rejects(noCredentials());
    const io2 = capture(anonymous);
    expect(await main(['report', '--config', MILLIONS], io2.deps)).toBe(ExitCode.credentials);
    expect(io2.err()).toMatch(/^s2m: no AWS credentials found \(cloudformation:DescribeStacks in us-east-1\): set AWS_PROFILE, or run `aws sso login` \/ `aws configure`\n$/);
    expect(anonymous.cw['us-east-1']).toHaveReceivedCommandTimes(GetMetricDataCommand, 0);
  });

  it('usage errors exit 2, config errors 3, unknown regions 7', async () => {
    const aws = mockAws(REGIONS, shopValues);
    const bad = capture(aws);
    expect(await main(['report', '--config', MILLIONS, '--since', 'yesterday'], bad.deps)).toBe(ExitCode.usage);
    expect(bad.err()).toBe('s2m: --since must be a duration like 90m, 3h or 2d (got: yesterday)\n');

    const unknown = capture(aws);
    expect(await main(['report', '--bogus'], unknown.deps)).toBe(ExitCode.usage);
    expect(unknown.err()).toMatch(/^s2m: unknown option '--bogus'/);

    const none = capture(aws);
    expect(await main([], none.deps)).toBe(ExitCode.usage);
    expect(none.err()).toMatch(/Usage: s2m/);
    expect(none.out()).toBe('');

    const missing = capture(aws);
    expect(await main(['report', '--config', '/nonexistent/x.json'], missing.deps)).toBe(ExitCode.config);
    expect(missing.err()).toMatch(/^s2m: Invalid config \/nonexistent\/x.json: 1 problem/);

    const region = capture(aws);
    expect(await main(['report', '--config', MILLIONS, '--region', 'mars-north-1'], region.deps)).toBe(ExitCode.region);
    expect(region.err()).toBe('s2m: unknown AWS region mars-north-1\n');
    const other = capture(aws);
    expect(await main(['report', '--config', MILLIONS, '--region', 'us-west-2'], other.deps)).toBe(ExitCode.region);
    expect(other.err()).toMatch(/region us-west-2 is not in .*millions.json \(regions: us-east-1, eu-west-1, ap-southeast-1\)/);
    expect(aws.cfn['us-east-1']).toHaveReceivedCommandTimes(DescribeStacksCommand, 0);
  });

  it('plan writes a valid config and prints the sizes', async () => {
    const files: Record<string, string> = {};
    const io = capture(mockAws([], shopValues), { files });
    const code = await main(['plan', '--peak-rps', '50000', '--read-ratio', '0.9', '--cache-hit-ratio', '0.8', '--name', 'shop', '--regions', 'us-east-1,eu-west-1,ap-southeast-1',
      '--services', 'web=0.6,api=0.4', '--jobs-per-second', '200', '--job-seconds', '2', '--out', 'config/planned.json'], io.deps);
    expect(code).toBe(ExitCode.ok);
    const written = resolveConfig(JSON.parse(files['config/planned.json']));
    expect(written.services.map((s) => [s.name, s.minCapacity, s.maxCapacity])).toEqual([['web', 19, 98], ['api', 13, 65]]);
    expect(io.out()).toMatch(/each region sized for 25000 req\/s \(2 region\(s\) carry the peak\)/);
    expect(io.out()).toMatch(/database +writers +5000 writes\/s \(all regions\) +5 shard\(s\)/);
    expect(io.out()).toMatch(/queue +jobs +100 jobs\/s +max 260 workers/);
    expect(io.out()).toMatch(/wrote config\/planned.json/);
  });

  it('plan --json prints inputs, plan and config; bad figures exit 2', async () => {
    const io = capture(mockAws([], shopValues));
    expect(await main(['plan', '--peak-rps', '1000', '--read-ratio', '0.5', '--json'], io.deps)).toBe(ExitCode.ok);
    const out = JSON.parse(io.out()) as { plan: { regionRps: number; database: { writeQps: number } }; config: { name: string; regions: unknown[] } };
    expect(out.plan.regionRps).toBe(1000);
    expect(out.plan.database.writeQps).toBe(500);
    expect(out.config.name).toBe('app');

    const bad = capture(mockAws([], shopValues));
    expect(await main(['plan', '--peak-rps', 'lots', '--read-ratio', '0.5'], bad.deps)).toBe(ExitCode.usage);
    expect(bad.err()).toMatch(/^s2m: option '--peak-rps <n>' argument 'lots' is invalid. --peak-rps must be a number \(got: lots\)/);
    const missing = capture(mockAws([], shopValues));
    expect(await main(['plan', '--peak-rps', '10'], missing.deps)).toBe(ExitCode.usage);
    expect(missing.err()).toMatch(/required option '--read-ratio <r>' not specified/);
  });

  it('plan --config sizes an existing config, keeping its regions and routes', async () => {
    const files: Record<string, string> = {};
    const io = capture(mockAws([], shopValues), { files });
    expect(await main(['plan', '--config', MILLIONS, '--peak-rps', '30000', '--read-ratio', '0.9', '--out', 'out.json'], io.deps)).toBe(ExitCode.ok);
    const written = resolveConfig(JSON.parse(files['out.json']));
    expect(written.name).toBe('shop');
    expect(written.regions.map((r) => r.region)).toEqual(REGIONS);
    expect(written.domain?.name).toBe('shop.example.com');
    // 30000 / 2 regions = 15000 per region, equal shares: 7500 per service / 200 = 38 at peak → max 50
    expect(written.services.map((s) => [s.name, s.pathPatterns, s.maxCapacity, s.instanceType])).toEqual([['web', [], 50, 'm7g.large'], ['api', ['/api/*'], 50, 'c7g.large']]);
  });
});
