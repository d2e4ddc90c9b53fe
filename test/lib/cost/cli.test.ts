import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main, type CliDeps } from '../../../lib/capacity/cli';
import { ExitCode } from '../../../lib/capacity/errors';
import { COST_JSON_SCHEMA_VERSION, PRICE_TABLE_DATE, SECONDS_PER_MONTH } from '../../../lib/cost';

const ROOT = join(__dirname, '..', '..', '..');
const STARTUP = join(ROOT, 'config', 'startup.json');

/** CLI dependencies that capture output; `s2m cost` must never call AWS. */
function capture(): { deps: CliDeps; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const noAws = (): never => {
    throw new Error('s2m cost called AWS');
  };
  return {
    deps: {
      cloudFormation: noAws,
      cloudWatch: noAws,
      clock: { now: () => new Date('2026-11-30T12:00:00Z'), sleep: async () => undefined },
      stdout: { write: (s: string) => (out += s) },
      stderr: { write: (s: string) => (err += s) },
      env: {},
    } as unknown as CliDeps,
    out: () => out,
    err: () => err,
  };
}

describe('s2m cost', () => {
  let dir: string;
  let withReader: string;

  beforeAll(() => {
    // GIVEN the startup example and a copy of it with one Serverless v2 reader
    dir = mkdtempSync(join(tmpdir(), 's2m-cost-cli-'));
    const startup = JSON.parse(readFileSync(STARTUP, 'utf8')) as { database: Record<string, unknown> };
    withReader = join(dir, 'startup-reader.json');
    writeFileSync(withReader, JSON.stringify({ ...startup, database: { ...startup.database, readers: 1 } }));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the floor per line, region and tier, the total, the price table\'s date and source, and every assumption with its flag', async () => {
    const io = capture();
    expect(await main(['cost', '--config', STARTUP], io.deps)).toBe(ExitCode.ok);
    const out = io.out();
    expect(out).toMatch(/^Cost of shop-startup \(startup stage, 1 region\): .*config\/startup\.json\n/);
    expect(out).toContain(`Prices: USD, AWS on-demand list prices taken ${PRICE_TABLE_DATE}, 730 hours a month`);
    expect(out).toMatch(/Source: AWS public on-demand pricing pages/);
    const floor = Number(/Floor \(zero traffic\): \$([\d,.]+) a month/.exec(out)![1].replace(/,/g, ''));
    expect(floor).toBeLessThanOrEqual(150);
    expect(out).toMatch(/us-east-1 +web +EC2 t4g\.small × 2 \(web fleet web\) +1,460 instance-hours +\$0\.0168 +\$24\.53/);
    expect(out).toMatch(/\n {2}REGION +NETWORK +WEB +DATABASE +CACHE +MONITORING +SECRETS +TOTAL\n {2}us-east-1 /);
    expect(out).toMatch(/At 10,000,000 requests a month \(3\.81\/s on average\): \$[\d,.]+ a month \(floor \$[\d,.]+ \+ load \$[\d,.]+\)/);
    for (const flag of ['--requests-per-month', '--bytes-per-request', '--cache-hit-ratio', '--alb-lcus', '--assume databaseGb=…']) expect(out).toContain(flag);
    expect(io.err()).toBe('');
  });

  it('--against prints the difference between two configs, floor and at load, per region and tier', async () => {
    const io = capture();
    expect(await main(['cost', '--config', STARTUP, '--against', withReader], io.deps)).toBe(ExitCode.ok);
    const out = io.out();
    // one Serverless v2 reader at 0.5 ACU, and its enhanced monitoring logs
    const reader = 0.5 * 0.12 * 730 + (SECONDS_PER_MONTH / 60) * 5_000 / 1e9 * 0.5;
    expect(out).toMatch(new RegExp(`^Cost difference: .*startup\\.json → .*startup-reader\\.json\\n`));
    expect(out).toMatch(new RegExp(`Floor: \\$[\\d,.]+ → \\$[\\d,.]+ a month \\(\\+\\$${reader.toFixed(2)}, ×`));
    expect(out).toMatch(new RegExp(`us-east-1 +database +\\$[\\d,.]+ +\\$[\\d,.]+ +\\+\\$${reader.toFixed(2)}`));
    expect(out).toMatch(/At 10,000,000 requests a month: \$[\d,.]+ → \$[\d,.]+ \(\+\$/);
  });

  it('--json prints the estimate, the assumptions it used and, with --against, the difference', async () => {
    const io = capture();
    expect(await main(['cost', '--config', STARTUP, '--against', withReader, '--json', '--requests-per-month', '2000000', '--assume', 'databaseGb=5,jobsPerRequest=0'], io.deps)).toBe(ExitCode.ok);
    const json = JSON.parse(io.out()) as {
      schemaVersion: number; base: { name: string; stage: string; priceTable: { date: string; source: string }; assumptions: Record<string, number>; floor: { total: number } };
      other: { floor: { total: number } }; difference: { floor: { total: number; regions: Record<string, { tiers: Record<string, number> }> } };
    };
    expect(json.schemaVersion).toBe(COST_JSON_SCHEMA_VERSION);
    expect(json.base).toMatchObject({ name: 'shop-startup', stage: 'startup', priceTable: { date: PRICE_TABLE_DATE } });
    expect(json.base.assumptions).toMatchObject({ requestsPerMonth: 2_000_000, databaseGb: 5, jobsPerRequest: 0 });
    expect(json.difference.floor.total).toBeCloseTo(json.other.floor.total - json.base.floor.total, 9);
    expect(json.difference.floor.regions['us-east-1'].tiers.database).toBeCloseTo(0.5 * 0.12 * 730 + (SECONDS_PER_MONTH / 60) * 5_000 / 1e9 * 0.5, 6);
  });

  it('runs through the `npx s2m` entry point of a checkout (bin/s2m.cjs: TypeScript through tsx, the synthesis loaded lazily)', () => {
    // GIVEN no build (bin/s2m.cjs would run dist/ instead)
    expect(existsSync(join(ROOT, 'dist', 'bin', 's2m.js'))).toBe(false);
    const r = spawnSync(process.execPath, [join(ROOT, 'bin', 's2m.cjs'), 'cost', '--config', STARTUP, '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(ExitCode.ok);
    expect((JSON.parse(r.stdout) as { floor: { total: number } }).floor.total).toBeLessThanOrEqual(150);
  });

  it.each([
    [['--requests-per-month', 'lots'], ExitCode.usage, /option '--requests-per-month <n>' argument 'lots' is invalid\. --requests-per-month must be a number \(got: lots\)/],
    [['--cache-hit-ratio', '1.5'], ExitCode.usage, /--cache-hit-ratio must be at most 1 \(got: 1\.5\)/],
    [['--bytes-per-request', '-3'], ExitCode.usage, /--bytes-per-request must be at least 0 \(got: -3\)/],
    [['--assume', 'bytesPerRequest'], ExitCode.usage, /--assume takes key=value pairs like bytesPerRequest=20000 \(got: bytesPerRequest\)/],
    [['--assume', 'nope=1'], ExitCode.usage, /--assume unknown assumption nope \(known: requestsPerMonth/],
    [['--assume', 'cacheHitRatio=1.5'], ExitCode.usage, /^s2m: --assume cacheHitRatio must be between 0 and 1 \(got: 1\.5\)\n$/],
    [['--assume', 'databaseGb=0x10'], ExitCode.usage, /^s2m: --assume databaseGb must be a decimal number \(got: 0x10\)\n$/],
    [['--requests-per-month', '0x10'], ExitCode.usage, /--requests-per-month must be a decimal number \(got: 0x10\)/],
    [['--assume', 'serverlessAcus=300'], ExitCode.usage, /--assume serverlessAcus must be between 0\.5 and 256 ACUs \(got: 300\)/],
    [['--against', '/nonexistent/other.json'], ExitCode.config, /\/nonexistent\/other\.json/],
    [['--config', '/nonexistent/base.json'], ExitCode.config, /\/nonexistent\/base\.json/],
  ])('fails with %j: exit %i, one line naming the option', async (args, code, message) => {
    const io = capture();
    const argv = args[0] === '--config' ? ['cost', ...args] : ['cost', '--config', STARTUP, ...args];
    expect(await main(argv, io.deps)).toBe(code);
    expect(io.err()).toMatch(message);
    expect(io.out()).toBe('');
  });
});
