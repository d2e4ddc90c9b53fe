import { DescribeStacksCommand, GetMetricDataCommand } from './sdk';
import { chmodSync, lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, test } from 'vitest';
import { main } from '../../../lib/capacity/cli';
import { ExitCode } from '../../../lib/capacity/errors';
import type { CapacityReport } from '../../../lib/capacity/report';
import { isSizingField, resolveConfig, stageFindings } from '../../../lib/config';
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

  it('report --region accumulates when repeated and counts a region once', async () => {
    const io = capture(mockAws(REGIONS, shopValues, webOnlyOutputs));
    expect(await main(['report', '--config', MILLIONS, '--json', '--region', 'eu-west-1', '--region', 'ap-southeast-1,eu-west-1'], io.deps)).toBe(ExitCode.ok);
    expect((JSON.parse(io.out()) as CapacityReport).regions.map((r) => r.region).sort()).toEqual(['ap-southeast-1', 'eu-west-1']);
    const twice = capture(mockAws(REGIONS, shopValues, webOnlyOutputs));
    expect(await main(['report', '--config', MILLIONS, '--json', '--region', 'eu-west-1,eu-west-1'], twice.deps)).toBe(ExitCode.ok);
    expect((JSON.parse(twice.out()) as CapacityReport).regions.map((r) => r.region)).toEqual(['eu-west-1']);
  });

  test.each([
    { what: 'an empty value', args: ['report', '--region', ''], err: "s2m: option '--region <regions>' argument '' is invalid. --region takes one or more regions, comma-separated (got: '')\n" },
    { what: 'only commas', args: ['status', '--region', ' , '], err: "s2m: option '--region <regions>' argument ' , ' is invalid. --region takes one or more regions, comma-separated (got: ' , ')\n" },
    { what: 'an empty value', args: ['logs', '--service', 'web', '--region', ''], err: "s2m: option '--region <region>' argument '' is invalid. --region takes one region (got: '')\n" },
    { what: 'given twice (logs reads one)', args: ['logs', '--service', 'web', '--region', 'eu-west-1', '--region', 'us-east-1'], err: "s2m: option '--region <region>' argument 'us-east-1' is invalid. --region takes one region (got: eu-west-1, then us-east-1)\n" },
  ])('$args.0 exits 2 for --region with $what, before reading anything (an empty one is not every region)', async ({ args, err }) => {
    const aws = mockAws(REGIONS, shopValues);
    const io = capture(aws);
    expect(await main([...args, '--config', MILLIONS], io.deps)).toBe(ExitCode.usage);
    expect(io.err().split('(run s2m --help')[0]).toBe(err);
    expect(io.out()).toBe('');
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

  it('plan --config sizes an existing config, keeping its regions, routes and request targets', async () => {
    const files: Record<string, string> = {};
    const io = capture(mockAws([], shopValues), { files });
    expect(await main(['plan', '--config', MILLIONS, '--peak-rps', '30000', '--read-ratio', '0.9', '--out', 'out.json'], io.deps)).toBe(ExitCode.ok);
    const written = resolveConfig(JSON.parse(files['out.json']));
    expect(written.name).toBe('shop');
    expect(written.regions.map((r) => r.region)).toEqual(REGIONS);
    expect(written.domain?.name).toBe('shop.example.com');
    // 30000 / 2 regions = 15000 per region, equal shares: 7500 per service. web: 200 req/s each → 38 at peak → max 50;
    // api sets targetRequestsPerInstance 1500/min, i.e. 25 req/s each → 300 at peak → max 390, its target kept
    expect(written.services.map((s) => [s.name, s.pathPatterns, s.maxCapacity, s.instanceType, s.targetRequestsPerInstance])).toEqual([
      ['web', [], 50, 'm7g.large', 12000], ['api', ['/api/*'], 390, 'c7g.large', 1500],
    ]);
    expect(io.out()).toMatch(/Changes to .*millions\.json \(sizes only; everything else is kept as written\):\n {2}services\[web\]\.minCapacity: 3 → 10\n/);
    expect(io.out()).toMatch(/wrote out.json\n$/);
    // The planned fleets (web 50, api 390, workers 40 in each of two forwarding secondaries: 960 processes) outgrow
    // the r7g.large writer's 419 forwarded sessions: the plan says so, as the synth of the written config warns
    expect(io.out()).toContain('note: write forwarding: at their maxCapacity the fleets of the 2 secondary region(s) (eu-west-1, ap-southeast-1) run up to 960 runtime processes (480 per region), and a db.r7g.large writer (shard s0) takes 419 forwarded sessions');
    expect(io.out()).toContain('fewer than one per process, so a peak of writes from the secondaries is refused (the synth warns: scale-to-millions:stage-forwarded-sessions)');
    expect(stageFindings(written).map((f) => f.id)).toContain('scale-to-millions:stage-forwarded-sessions');
  });

  it('plan --config x --out x rewrites the config in place through a temporary file: a symlink stays one, the mode is kept', async () => {
    // GIVEN config.json, a link to a copy of millions.json with mode 0600
    const dir = mkdtempSync(join(tmpdir(), 's2m-plan-'));
    try {
      const real = join(dir, 'millions.json');
      writeFileSync(real, readFileSync(MILLIONS));
      chmodSync(real, 0o600);
      const link = join(dir, 'config.json');
      symlinkSync('millions.json', link);
      // WHEN plan writes it with the CLI's own file writer
      const { writeFile: _captured, ...deps } = capture(mockAws([], shopValues)).deps;
      expect(await main(['plan', '--config', link, '--peak-rps', '30000', '--read-ratio', '0.9', '--out', link], deps)).toBe(ExitCode.ok);
      // THEN
      expect(lstatSync(link).isSymbolicLink()).toBe(true);
      expect(statSync(real).mode & 0o777).toBe(0o600);
      expect(resolveConfig(JSON.parse(readFileSync(real, 'utf8'))).services.find((s) => s.name === 'web')?.maxCapacity).toBe(50);
      expect(readdirSync(dir).sort()).toEqual(['config.json', 'millions.json']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  /** The file `plan --config` writes for a config file holding `text` (a 30,000 req/s peak, 90 % reads). */
  const planOfText = async (text: string): Promise<string> => {
    const files: Record<string, string> = {};
    const io = capture(mockAws([], shopValues), { files });
    expect(await main(['plan', '--config', 'base.json', '--peak-rps', '30000', '--read-ratio', '0.9', '--out', 'out.json'], { ...io.deps, readFile: () => text })).toBe(ExitCode.ok);
    return files['out.json'];
  };

  it('plan --config keeps a CRLF file\'s line ends in the lines it adds', async () => {
    // GIVEN millions.json as written on Windows
    const lf = readFileSync(MILLIONS, 'utf8');
    // WHEN it is planned THEN the result is the LF file's plan, every line ending in CRLF
    const fromLf = await planOfText(lf);
    expect(fromLf.split('\n').length).toBeGreaterThan(lf.split('\n').length);
    expect(await planOfText(lf.replace(/\n/g, '\r\n'))).toBe(fromLf.replace(/\n/g, '\r\n'));
  });

  it('plan --config accepts a config that starts with a UTF-8 byte-order mark, and keeps the mark', async () => {
    const text = readFileSync(MILLIONS, 'utf8');
    expect(await planOfText(`\ufeff${text}`)).toBe(`\ufeff${await planOfText(text)}`);
  });

  it('a config that is not JSON, or starts with a byte-order mark, is read by every command: a syntax error names its line and column', async () => {
    const dir = mkdtempSync(join(tmpdir(), 's2m-config-'));
    try {
      // GIVEN a config with a trailing comma, and millions.json as a Windows editor saves it
      const trailing = join(dir, 'trailing.json');
      writeFileSync(trailing, readFileSync(MILLIONS, 'utf8').replace(/\n}\s*$/, ',\n}\n'));
      const lines = readFileSync(trailing, 'utf8').split('\n').length;
      const bom = join(dir, 'bom.json');
      writeFileSync(bom, `\ufeff${readFileSync(MILLIONS, 'utf8')}`);
      // WHEN report reads them THEN the first fails at the closing brace, without repeating the file; the second is read
      const bad = capture(mockAws(REGIONS, shopValues, webOnlyOutputs));
      expect(await main(['report', '--config', trailing], bad.deps)).toBe(ExitCode.config);
      expect(bad.err()).toBe(`s2m: Invalid config ${trailing}: 1 problem\n  (file): is not valid JSON: line ${lines - 1}, column 1: Expected double-quoted property name (got: "${trailing}")\n`);
      const planBad = capture(mockAws([], shopValues));
      expect(await main(['plan', '--config', 'x.json', '--peak-rps', '1', '--read-ratio', '0.9'], { ...planBad.deps, readFile: () => '{\n  "name": "x",\n  "stage": tru\n}' })).toBe(ExitCode.config);
      expect(planBad.err()).toBe('s2m: Invalid config x.json: 1 problem\n  (file): is not valid JSON: line 3, column 15: Unexpected token \'\\n\' (got: "x.json")\n');
      const good = capture(mockAws(REGIONS, shopValues, webOnlyOutputs));
      expect(await main(['report', '--config', bom, '--region', 'eu-west-1'], good.deps)).toBe(ExitCode.ok);
      expect(good.err()).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('plan --json prints the changes to the base (schema version 2)', async () => {
    const io = capture(mockAws([], shopValues));
    expect(await main(['plan', '--config', MILLIONS, '--peak-rps', '30000', '--read-ratio', '0.9', '--json'], io.deps)).toBe(ExitCode.ok);
    const out = JSON.parse(io.out()) as { schemaVersion: number; changes: Array<{ path: string }>; notes: string[]; config: Record<string, unknown> };
    expect(Object.keys(out)).toEqual(['schemaVersion', 'input', 'plan', 'config', 'changes', 'notes']);
    expect(out.schemaVersion).toBe(2);
    for (const c of out.changes) expect(isSizingField(c.path) || /^(services|queues)\[[^\]]+\]$|^database\.shards$/.test(c.path), c.path).toBe(true);
    expect(Object.keys(out.config)).toEqual(['name', 'stage', 'regions', 'domain', 'web', 'services', 'database', 'cache', 'queues', 'edge', 'monitoring', 'tags']);
  });

  test.each([
    { what: 'a peak no fleet can serve', args: ['--peak-rps', '1e12', '--read-ratio', '0.9'], err: /^s2m: the peak cannot be met \(\d problems\):\n {2}--peak-rps 1000000000000 needs/ },
    { what: 'a latency below the job time', args: ['--peak-rps', '100', '--read-ratio', '0.9', '--jobs-per-second', '1', '--job-seconds', '60', '--acceptable-latency', '30'], err: /^s2m: --acceptable-latency \(30 s\) is below --job-seconds \(60 s\)/ },
    { what: 'a job time above the base queue\'s latency', args: ['--config', MILLIONS, '--peak-rps', '100', '--read-ratio', '0.9', '--jobs-per-second', '1', '--job-seconds', '200'], err: /^s2m: queues\[jobs\]\.acceptableLatencySeconds of .*millions\.json \(120 s\) is below --job-seconds \(200 s\)/ },
    { what: 'a cache node type AWS does not offer', args: ['--peak-rps', '100', '--read-ratio', '0.9', '--cache-node-type', 'cache.r9z.large'], err: /^s2m: --cache-node-type cache.r9z.large is not an ElastiCache node type AWS offers\n$/ },
    { what: 'a cache node type the base\'s autoscaling cannot use', args: ['--config', MILLIONS, '--peak-rps', '100', '--read-ratio', '0.9', '--cache-node-type', 'cache.t4g.medium'], err: /^s2m: --cache-node-type cache.t4g.medium does not fit .*millions.json: ElastiCache Auto Scaling needs/ },
    { what: 'an instance type AWS does not offer', args: ['--peak-rps', '100', '--read-ratio', '0.9', '--instance-type', 'gc7.large'], err: /^s2m: --instance-type gc7.large is not an EC2 instance type AWS offers\n$/ },
    { what: 'zero cache replicas', args: ['--peak-rps', '100', '--read-ratio', '0.9', '--cache-replicas', '0'], err: /^s2m: option '--cache-replicas <n>' argument '0' is invalid. --cache-replicas must be at least 1 \(got: 0\)/ },
    { what: 'an app name the config rejects', args: ['--peak-rps', '100', '--read-ratio', '0.9', '--name', 'Shop'], err: /^s2m: --name must be lowercase letters, digits and dashes, starting with a letter, at most 24 characters \(got: Shop\)/ },
    { what: 'a peak of 0 (the model divides by it)', args: ['--peak-rps', '0', '--read-ratio', '0.9'], err: /^s2m: option '--peak-rps <n>' argument '0' is invalid\. --peak-rps must be a positive number \(got: 0\)\n/ },
    { what: 'a ratio written in hex', args: ['--peak-rps', '100', '--read-ratio', '0x1'], err: /^s2m: option '--read-ratio <r>' argument '0x1' is invalid\. --read-ratio must be a decimal number \(got: 0x1\)\n/ },
    { what: 'a headroom above 10', args: ['--peak-rps', '100', '--read-ratio', '0.9', '--headroom', '10.5'], err: /^s2m: option '--headroom <share>' argument '10\.5' is invalid\. --headroom must be at most 10 \(got: 10\.5\)\n/ },
    { what: 'a service named twice', args: ['--peak-rps', '100', '--read-ratio', '0.9', '--services', 'web,web'], err: /^s2m: option '--services <list>' argument 'web,web' is invalid\. --services lists web twice \(got: web,web\)\n/ },
    { what: 'a service named twice, with --config', args: ['--config', MILLIONS, '--peak-rps', '100', '--read-ratio', '0.9', '--services', 'web=1,api=3,web=1'], err: /^s2m: option '--services <list>' argument 'web=1,api=3,web=1' is invalid\. --services lists web twice \(got: web=1,api=3,web=1\)/ },
    { what: '--name with --config (the name is the base\'s)', args: ['--config', MILLIONS, '--peak-rps', '100', '--read-ratio', '0.9', '--name', 'x'], err: /^s2m: option '--name <name>' cannot be used with option '-c, --config <path>'/ },
    { what: '--regions with --config', args: ['--config', MILLIONS, '--peak-rps', '100', '--read-ratio', '0.9', '--regions', 'us-east-1'], err: /^s2m: option '--regions <list>' cannot be used with option '-c, --config <path>'/ },
  ])('plan exits 2 for $what, naming the option, and writes nothing', async ({ args, err }) => {
    const files: Record<string, string> = {};
    const io = capture(mockAws([], shopValues), { files });
    expect(await main(['plan', ...args, '--out', 'out.json'], io.deps)).toBe(ExitCode.usage);
    expect(io.err()).toMatch(err);
    expect(files).toEqual({});
    expect(io.out()).toBe('');
  });

  it('plan takes the --headroom its help and messages allow: 10 (×11) included', async () => {
    const io = capture(mockAws([], shopValues));
    expect(await main(['plan', '--peak-rps', '100', '--read-ratio', '0.9', '--headroom', '10', '--json'], io.deps)).toBe(ExitCode.ok);
    expect((JSON.parse(io.out()) as { input: { headroom: number } }).input.headroom).toBe(10);
  });

  it('plan exits 3 for a base config with a repeated key, naming its path', async () => {
    const files: Record<string, string> = {};
    const io = capture(mockAws([], shopValues), { files });
    const deps = { ...io.deps, readFile: () => '{ "name": "shop", "regions": [], "name": "x" }' };
    expect(await main(['plan', '--config', 'dup.json', '--peak-rps', '100', '--read-ratio', '0.9', '--out', 'out.json'], deps)).toBe(ExitCode.config);
    expect(io.err()).toMatch(/^s2m: Invalid config dup.json: 1 problem\n {2}name: duplicate key \(lines 1 and 1\)/);
    expect(files).toEqual({});
  });

  it('--version prints the package version; --help marks the required options', async () => {
    const version = capture(mockAws([], shopValues));
    expect(await main(['--version'], version.deps)).toBe(ExitCode.ok);
    expect(version.out()).toBe(`${(JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string }).version}\n`);
    const help = capture(mockAws([], shopValues));
    expect(await main(['plan', '--help'], help.deps)).toBe(ExitCode.ok);
    expect(help.out()).toMatch(/\nRequired options:\n {2}--peak-rps <n> +peak dynamic requests per second, all regions\s+together\n {2}--read-ratio <r> +share of database queries that are reads \(0-1\)\n\nOptions:\n/);
  });
});
