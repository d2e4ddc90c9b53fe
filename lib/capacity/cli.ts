/**
 * The `s2m` command line: argument parsing (commander) and wiring of the capacity modules. Everything
 * that touches the outside world comes in through {@link CliDeps}, so tests drive `main` end to end
 * with mocked AWS clients and captured output.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ConfigError, DEFAULT_CONFIG_PATH, STAGES, isKnownRegion, loadConfigFile, type Stage } from '../config';
import { capacityView } from './config-view';
import { MAX_SINCE_SECONDS, parseDuration } from './duration';
import { CliError, ExitCode } from './errors';
import { evacuate, restore, type FailoverDeps } from './failover';
import { PLAN_DEFAULTS, planCapacity, planToConfig, type CapacityPlan, type PlanInput, type PlannedConfig } from './plan';
import { renderReport, table } from './render';
import { runReport, type ReportDeps } from './report';

/** Where output goes: `process.stdout`/`process.stderr` or a test buffer. */
export interface Writer {
  write(text: string): unknown;
  /** True on a terminal: tables and progress are shown. */
  readonly isTTY?: boolean;
}

/** Everything `main` needs from the outside world. */
export interface CliDeps extends Omit<ReportDeps, 'progress'> {
  readonly stdout: Writer;
  readonly stderr: Writer;
  /** Reads a text file. @default fs.readFileSync */
  readonly readFile?: (path: string) => string;
  /** Writes a text file. @default fs.writeFileSync */
  readonly writeFile?: (path: string, text: string) => void;
  /** Environment (`S2M_DEBUG=1` prints stack traces of internal errors). @default - none */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** A Route 53 client (`evacuate`, `restore`). @default - those commands are unavailable */
  readonly route53?: FailoverDeps['route53'];
  /** An RDS client for a region (`evacuate`, `restore`). @default - those commands are unavailable */
  readonly rds?: FailoverDeps['rds'];
  /** An SSM client for a region (`evacuate`, `restore`). @default - those commands are unavailable */
  readonly ssm?: FailoverDeps['ssm'];
}

function numberArg(name: string, opts: { integer?: boolean; min?: number; max?: number } = {}) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number (got: ${value})`);
    if (opts.integer && !Number.isInteger(n)) throw new InvalidArgumentError(`${name} must be a whole number (got: ${value})`);
    if (opts.min !== undefined && n < opts.min) throw new InvalidArgumentError(`${name} must be at least ${opts.min} (got: ${value})`);
    if (opts.max !== undefined && n > opts.max) throw new InvalidArgumentError(`${name} must be at most ${opts.max} (got: ${value})`);
    return n;
  };
}

function listArg(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

function servicesArg(value: string): Array<{ name: string; share: number }> {
  return listArg(value).map((part) => {
    const [name, share] = part.split('=');
    const n = share === undefined ? 1 : Number(share);
    if (!/^[a-z][a-z0-9-]*$/.test(name) || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`--services takes name=share pairs like web=0.7,api=0.3 (got: ${part})`);
    return { name, share: n };
  });
}

interface ReportFlags {
  readonly config: string;
  readonly since: string;
  readonly json?: boolean;
  readonly region?: string[];
}

interface PlanFlags {
  readonly peakRps: number;
  readonly readRatio: number;
  readonly cacheHitRatio: number;
  readonly queriesPerRequest: number;
  readonly rpsPerInstance: number;
  readonly targetCpu: number;
  readonly instanceType?: string;
  readonly services?: Array<{ name: string; share: number }>;
  readonly readerQps: number;
  readonly writerQps: number;
  readonly cacheNodeType: string;
  readonly cacheNodeMemoryGb?: number;
  readonly cacheReplicas: number;
  readonly workingSetGb: number;
  readonly cacheOpsPerShard: number;
  readonly jobsPerSecond?: number;
  readonly jobSeconds: number;
  readonly acceptableLatency: number;
  readonly queueName: string;
  readonly headroom: number;
  readonly regionFailover: boolean;
  readonly name?: string;
  readonly stage?: Stage;
  readonly regions?: string[];
  readonly config?: string;
  readonly out?: string;
  readonly json?: boolean;
}

/** A progress line on a terminal's stderr, rewritten in place; silent when stderr is not a terminal. */
function progressLine(stderr: Writer): { update: (msg: string) => void; clear: () => void } {
  if (!stderr.isTTY) return { update: () => undefined, clear: () => undefined };
  let shown = false;
  return {
    update: (msg) => {
      stderr.write(`\r\x1b[2K${msg}`);
      shown = true;
    },
    clear: () => {
      if (shown) stderr.write('\r\x1b[2K');
      shown = false;
    },
  };
}

async function reportCommand(flags: ReportFlags, deps: CliDeps): Promise<number> {
  const sinceSeconds = parseDuration(flags.since);
  if (sinceSeconds === undefined) throw new CliError(`--since must be a duration like 90m, 3h or 2d (got: ${flags.since})`, ExitCode.usage);
  if (sinceSeconds > MAX_SINCE_SECONDS) throw new CliError(`--since must be at most 455d, CloudWatch keeps hourly data 455 days (got: ${flags.since})`, ExitCode.usage);
  const config = capacityView(loadConfigFile(flags.config));
  for (const r of flags.region ?? []) {
    if (!isKnownRegion(r)) throw new CliError(`unknown AWS region ${r}`, ExitCode.region);
    if (!config.regions.includes(r)) throw new CliError(`region ${r} is not in ${flags.config} (regions: ${config.regions.join(', ')})`, ExitCode.region);
  }
  const progress = progressLine(deps.stderr);
  try {
    const report = await runReport(config, { ...deps, progress: progress.update }, { sinceSeconds, ...(flags.region?.length ? { regions: flags.region } : {}) });
    progress.clear();
    deps.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : renderReport(report));
    return ExitCode.ok;
  } finally {
    progress.clear();
  }
}

function planInput(flags: PlanFlags, base: Record<string, unknown> | undefined): PlanInput {
  const baseRegions = Array.isArray(base?.regions)
    ? (base.regions as unknown[]).map((r) => (typeof r === 'object' && r !== null ? (r as { region?: unknown }).region : undefined)).filter((r): r is string => typeof r === 'string')
    : undefined;
  const baseServices = Array.isArray(base?.services)
    ? (base.services as unknown[]).map((s) => (typeof s === 'object' && s !== null ? (s as { name?: unknown }).name : undefined)).filter((s): s is string => typeof s === 'string')
    : undefined;
  const stage = flags.stage ?? (typeof base?.stage === 'string' && (STAGES as readonly string[]).includes(base.stage) ? (base.stage as Stage) : 'millions');
  const regions = flags.regions ?? baseRegions ?? ['us-east-1'];
  for (const r of regions) if (!isKnownRegion(r)) throw new CliError(`unknown AWS region ${r} in --regions`, ExitCode.region);
  return {
    name: flags.name ?? (typeof base?.name === 'string' ? base.name : 'app'),
    stage,
    regions,
    peakRps: flags.peakRps,
    readRatio: flags.readRatio,
    cacheHitRatio: flags.cacheHitRatio,
    queriesPerRequest: flags.queriesPerRequest,
    rpsPerInstance: flags.rpsPerInstance,
    targetCpuPercent: flags.targetCpu,
    instanceType: flags.instanceType ?? 'm7g.large',
    services: flags.services ?? (baseServices?.length ? baseServices.map((name) => ({ name, share: 1 })) : [{ name: 'web', share: 1 }]),
    readerQps: flags.readerQps,
    writerQps: flags.writerQps,
    cacheNodeType: flags.cacheNodeType,
    ...(flags.cacheNodeMemoryGb !== undefined ? { cacheNodeMemoryGb: flags.cacheNodeMemoryGb } : {}),
    cacheReplicasPerShard: flags.cacheReplicas,
    workingSetGb: flags.workingSetGb,
    cacheOpsPerShard: flags.cacheOpsPerShard,
    ...(flags.jobsPerSecond !== undefined ? { jobsPerSecond: flags.jobsPerSecond } : {}),
    jobSeconds: flags.jobSeconds,
    acceptableLatencySeconds: flags.acceptableLatency,
    queueName: flags.queueName,
    headroom: flags.headroom,
    regionFailover: flags.regionFailover,
  };
}

const n1 = (v: number): string => String(Math.round(v * 10) / 10);

/** The human-readable plan. */
export function renderPlan(input: PlanInput, plan: CapacityPlan, planned: PlannedConfig, out?: string): string {
  const lines: string[] = [];
  const carriers = input.regionFailover && input.regions.length > 1 ? input.regions.length - 1 : input.regions.length;
  lines.push(`Capacity plan for ${input.name} (${input.stage}): ${input.peakRps} req/s peak over ${input.regions.length} region(s); each region sized for ${n1(plan.regionRps)} req/s (${carriers} region(s) carry the peak), ${Math.round(input.headroom * 100)}% headroom`);
  const rows = [['TIER', 'RESOURCE', 'LOAD PER REGION', 'SIZE', 'FROM']];
  for (const s of plan.services) rows.push(['web', s.name, `${n1(s.rps)} req/s`, `min ${s.minCapacity}, max ${s.maxCapacity} instances`, `${s.instancesAtPeak} at peak × ${input.rpsPerInstance} req/s each`]);
  const d = plan.database;
  rows.push(['database', 'writers', `${n1(d.writeQps)} writes/s (all regions)`, `${d.shards} shard(s)`, `${input.writerQps} writes/s per writer`]);
  rows.push(['database', 'readers', `${n1(d.readQpsPerRegion)} reads/s after cache`, `readers ${d.readers}, max ${d.maxReaders} per shard`, `${d.readersAtPeak} at peak × ${input.readerQps} reads/s each`]);
  const c = plan.cache;
  rows.push(['cache', c.nodeType, `${n1(c.opsPerRegion)} ops/s`, `${c.shards} shard(s) × ${1 + c.replicasPerShard} nodes = ${c.nodes}`, `memory ${c.shardsForMemory}, throughput ${c.shardsForThroughput} shard(s)`]);
  if (plan.queue) rows.push(['queue', plan.queue.name, `${n1(plan.queue.jobsPerSecondPerRegion)} jobs/s`, `max ${plan.queue.maxWorkers} workers`, `${n1(plan.queue.busyWorkers)} busy × ${plan.queue.averageProcessingSeconds}s per job`]);
  lines.push(table(rows));
  for (const w of plan.warnings) lines.push(`warning: ${w}`);
  for (const [key, p] of Object.entries(planned.pending)) {
    lines.push(`not in the config (the config schema does not accept "${key}" yet: ${p.reason}): ${JSON.stringify(p.section)}`);
  }
  if (out) lines.push(`wrote ${out}`);
  else lines.push('', JSON.stringify(planned.config, null, 2));
  return `${lines.join('\n')}\n`;
}

function planCommand(flags: PlanFlags, deps: CliDeps): number {
  const readFile = deps.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  let base: Record<string, unknown> | undefined;
  if (flags.config) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFile(flags.config));
    } catch (e) {
      throw new CliError(`cannot read base config ${flags.config}: ${(e as Error).message.split('\n')[0]}`, ExitCode.config);
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new CliError(`base config ${flags.config} must be a JSON object`, ExitCode.config);
    base = raw as Record<string, unknown>;
  }
  const input = planInput(flags, base);
  let plan: CapacityPlan;
  try {
    plan = planCapacity(input);
  } catch (e) {
    throw new CliError((e as Error).message, ExitCode.usage);
  }
  const planned = planToConfig(input, plan, base);
  const text = `${JSON.stringify(planned.config, null, 2)}\n`;
  if (flags.out) {
    try {
      (deps.writeFile ?? ((p: string, t: string) => writeFileSync(p, t)))(flags.out, text);
    } catch (e) {
      throw new CliError(`cannot write ${flags.out}: ${(e as Error).message.split('\n')[0]}`, ExitCode.config);
    }
  }
  if (flags.json) deps.stdout.write(`${JSON.stringify({ schemaVersion: 1, input, plan, config: planned.config, pending: planned.pending, ...(flags.out ? { wrote: flags.out } : {}) }, null, 2)}\n`);
  else deps.stdout.write(renderPlan(input, plan, planned, flags.out));
  return ExitCode.ok;
}

interface EvacuateFlags {
  readonly config: string;
  readonly to?: string;
  readonly unplanned?: boolean;
  readonly keepDns?: boolean;
  readonly keepDatabase?: boolean;
  readonly dryRun?: boolean;
  readonly timeout: string;
}

interface RestoreFlags {
  readonly config: string;
  readonly writer?: boolean;
  readonly dryRun?: boolean;
  readonly timeout: string;
}

function failoverDeps(deps: CliDeps): FailoverDeps {
  if (!deps.route53 || !deps.rds || !deps.ssm) throw new Error('the Route 53, RDS and SSM clients are not configured');
  return { cloudFormation: deps.cloudFormation, route53: deps.route53, rds: deps.rds, ssm: deps.ssm, clock: deps.clock, log: (line) => deps.stdout.write(`${line}\n`) };
}

function timeoutSeconds(value: string): number {
  const seconds = parseDuration(value);
  if (seconds === undefined || seconds < 60) throw new CliError(`--timeout must be a duration of at least 1m, like 30m (got: ${value})`, ExitCode.usage);
  return seconds;
}

function printEdits(deps: CliDeps, configPath: string, edits: string[], dryRun: boolean | undefined): void {
  if (edits.length === 0) return;
  deps.stdout.write(`${dryRun ? 'Then, before' : 'Before'} the next deploy, edit ${configPath} (a deploy puts back what the config says):\n${edits.map((e) => `  - ${e}\n`).join('')}`);
}

async function evacuateCommand(region: string, flags: EvacuateFlags, deps: CliDeps): Promise<number> {
  const config = loadConfigFile(flags.config);
  if (flags.dryRun) deps.stdout.write('Dry run: reads only, changes nothing.\n');
  const edits = await evacuate(config, {
    region, ...(flags.to ? { to: flags.to } : {}), unplanned: flags.unplanned ?? false, keepDns: flags.keepDns ?? false,
    keepDatabase: flags.keepDatabase ?? false, dryRun: flags.dryRun ?? false, timeoutSeconds: timeoutSeconds(flags.timeout),
  }, failoverDeps(deps));
  printEdits(deps, flags.config, edits, flags.dryRun);
  return ExitCode.ok;
}

async function restoreCommand(region: string, flags: RestoreFlags, deps: CliDeps): Promise<number> {
  const config = loadConfigFile(flags.config);
  if (flags.dryRun) deps.stdout.write('Dry run: reads only, changes nothing.\n');
  const edits = await restore(config, { region, writer: flags.writer ?? false, dryRun: flags.dryRun ?? false, timeoutSeconds: timeoutSeconds(flags.timeout) }, failoverDeps(deps));
  printEdits(deps, flags.config, edits, flags.dryRun);
  return ExitCode.ok;
}

/** Builds the commander program; `run` receives each command's result. */
function program(deps: CliDeps, run: (work: () => Promise<number> | number) => void): Command {
  const cmd = new Command('s2m')
    .description('scale-to-millions: capacity headroom reports from CloudWatch, capacity plans that write a config, and regional failover')
    .exitOverride()
    .configureOutput({ writeOut: (s) => deps.stdout.write(s), writeErr: (s) => deps.stderr.write(s), outputError: (s, write) => write(`s2m: ${s.replace(/^error: /, '')}`) })
    .showHelpAfterError('(run s2m --help for usage)')
    .addHelpText('after', '\nExit codes: 0 ok, 1 internal error, 2 usage, 3 config file, 4 credentials, 5 access denied, 6 stack missing, 7 region, 8 throttled, 9 other AWS error.\nDocs: docs/capacity.md');

  cmd.command('report')
    .description('per region and tier: load, utilization against the scaling target, headroom, the bottleneck and recommendations')
    .option('-c, --config <path>', 'config file', DEFAULT_CONFIG_PATH)
    .option('-s, --since <duration>', 'window back from now: 90m, 3h, 2d, 8w (at most 455d)', '3h')
    .option('--region <regions>', 'only these regions (comma-separated)', listArg)
    .option('--json', 'print the report as JSON (stable schema, docs/capacity.md)')
    .action((flags: ReportFlags) => run(() => reportCommand(flags, deps)));

  cmd.command('plan')
    .description('turn peak load figures into per-tier sizes and write a config file')
    .requiredOption('--peak-rps <n>', 'peak dynamic requests per second, all regions together', numberArg('--peak-rps', { min: 0 }))
    .requiredOption('--read-ratio <r>', 'share of database queries that are reads (0-1)', numberArg('--read-ratio', { min: 0, max: 1 }))
    .option('--cache-hit-ratio <h>', 'share of reads the cache answers (0-1)', numberArg('--cache-hit-ratio', { min: 0, max: 1 }), PLAN_DEFAULTS.cacheHitRatio)
    .option('--queries-per-request <q>', 'database queries per request', numberArg('--queries-per-request', { min: 0 }), PLAN_DEFAULTS.queriesPerRequest)
    .option('--rps-per-instance <n>', 'requests/s one instance serves at the target CPU', numberArg('--rps-per-instance', { min: 0 }), PLAN_DEFAULTS.rpsPerInstance)
    .option('--target-cpu <percent>', 'target CPU % of the web fleets', numberArg('--target-cpu', { min: 10, max: 90 }), PLAN_DEFAULTS.targetCpuPercent)
    .option('--instance-type <type>', 'EC2 instance type of new services (default m7g.large)')
    .option('--services <list>', 'services and their share of requests: web=0.7,api=0.3 (default: web=1, or the base config\'s services equally)', servicesArg)
    .option('--reader-qps <n>', 'reads/s one Aurora reader serves at its target CPU', numberArg('--reader-qps', { min: 0 }), PLAN_DEFAULTS.readerQps)
    .option('--writer-qps <n>', 'writes/s one Aurora writer serves at its CPU ceiling', numberArg('--writer-qps', { min: 0 }), PLAN_DEFAULTS.writerQps)
    .option('--cache-node-type <type>', 'ElastiCache node type', PLAN_DEFAULTS.cacheNodeType)
    .option('--cache-node-memory-gb <gb>', 'memory of one cache node (for node types the planner does not know)', numberArg('--cache-node-memory-gb', { min: 0 }))
    .option('--cache-replicas <n>', 'replicas per cache shard', numberArg('--cache-replicas', { integer: true, min: 0, max: 5 }), PLAN_DEFAULTS.cacheReplicasPerShard)
    .option('--working-set-gb <gb>', 'cache working set in GiB, per region', numberArg('--working-set-gb', { min: 0 }), PLAN_DEFAULTS.workingSetGb)
    .option('--cache-ops-per-shard <n>', 'commands/s one cache shard serves', numberArg('--cache-ops-per-shard', { min: 0 }), PLAN_DEFAULTS.cacheOpsPerShard)
    .option('--jobs-per-second <n>', 'background jobs per second, all regions together (adds a queue)', numberArg('--jobs-per-second', { min: 0 }))
    .option('--job-seconds <s>', 'average processing time of one job', numberArg('--job-seconds', { min: 0 }), PLAN_DEFAULTS.jobSeconds)
    .option('--acceptable-latency <s>', 'longest a job may wait in the queue', numberArg('--acceptable-latency', { min: 0 }), PLAN_DEFAULTS.acceptableLatencySeconds)
    .option('--queue-name <name>', 'name of the planned queue', PLAN_DEFAULTS.queueName)
    .option('--headroom <share>', 'spare capacity above the peak (0.3 = 30%)', numberArg('--headroom', { min: 0, max: 10 }), PLAN_DEFAULTS.headroom)
    .option('--no-region-failover', 'size regions for their own share only (default: n-1 regions carry the peak)')
    .option('--name <name>', 'app name (default: the base config\'s, else "app")')
    .addOption(new Option('--stage <stage>', 'stage of growth (default: the base config\'s, else millions)').choices(STAGES))
    .option('--regions <list>', 'regions, primary first (default: the base config\'s, else us-east-1)', listArg)
    .option('-c, --config <path>', 'base config to size (keeps its regions, domain, routes, tags)')
    .option('-o, --out <path>', 'write the config here (default: print it)')
    .option('--json', 'print inputs, plan and config as JSON')
    .action((flags: PlanFlags) => run(() => planCommand(flags, deps)));

  cmd.command('evacuate')
    .description('take a region out of service: invert its Route 53 health check, and move the Aurora Global writer out of it (planned switchover, or --unplanned failover)')
    .argument('<region>', 'the region to take out')
    .option('-c, --config <path>', 'config file', DEFAULT_CONFIG_PATH)
    .option('--to <region>', 'where the writer goes (default: the first other region of the config)')
    .option('--unplanned', 'the region is down: fail over at once, losing the writes not yet replicated (RPO: the global replication lag)')
    .option('--keep-dns', 'move the database only')
    .option('--keep-database', 'drain DNS only')
    .option('--dry-run', 'print what would be done; change nothing')
    .option('--timeout <duration>', 'longest wait for the writer to move', '30m')
    .action((region: string, flags: EvacuateFlags) => run(() => evacuateCommand(region, flags, deps)));

  cmd.command('restore')
    .description('put a region back in DNS; with --writer, move the Aurora Global writer back to it (planned switchover)')
    .argument('<region>', 'the region to bring back')
    .option('-c, --config <path>', 'config file', DEFAULT_CONFIG_PATH)
    .option('--writer', 'also move the writer back (planned switchover, no data loss)')
    .option('--dry-run', 'print what would be done; change nothing')
    .option('--timeout <duration>', 'longest wait for the writer to move', '30m')
    .action((region: string, flags: RestoreFlags) => run(() => restoreCommand(region, flags, deps)));
  return cmd;
}

/**
 * Runs `s2m` with `argv` (without `node` and the script) and returns the exit code. Never throws and
 * never prints a stack trace (unless `S2M_DEBUG=1`): every failure is one line on stderr and a
 * distinct exit code (see {@link ExitCode}).
 */
export async function main(argv: readonly string[], deps: CliDeps): Promise<number> {
  let work: (() => Promise<number> | number) | undefined;
  try {
    const cmd = program(deps, (w) => (work = w));
    if (argv.length === 0) {
      cmd.outputHelp({ error: true });
      return ExitCode.usage;
    }
    await cmd.parseAsync([...argv], { from: 'user' });
    return work ? await work() : ExitCode.ok;
  } catch (e) {
    return fail(e, deps);
  }
}

function fail(e: unknown, deps: CliDeps): number {
  if (e instanceof CommanderError) {
    return e.exitCode === 0 || e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? ExitCode.ok : ExitCode.usage;
  }
  if (e instanceof CliError) {
    deps.stderr.write(`s2m: ${e.message}\n`);
    return e.exitCode;
  }
  if (e instanceof ConfigError) {
    deps.stderr.write(`s2m: ${e.message}\n`);
    return ExitCode.config;
  }
  const message = e instanceof Error ? e.message.split('\n')[0] : String(e);
  deps.stderr.write(`s2m: internal error: ${message}${deps.env?.S2M_DEBUG ? '' : ' (set S2M_DEBUG=1 for the stack trace)'}\n`);
  if (deps.env?.S2M_DEBUG && e instanceof Error && e.stack) deps.stderr.write(`${e.stack}\n`);
  return ExitCode.internal;
}
