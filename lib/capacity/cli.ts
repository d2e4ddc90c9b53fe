/**
 * The `s2m` command line: argument parsing (commander) and wiring of the capacity modules. Everything
 * that touches the outside world comes in through {@link CliDeps}, so tests drive `main` end to end
 * with mocked AWS clients and captured output.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { autoScalingNodeTypeProblem, globalDatastoreNodeTypeProblem, parseNodeType } from '../../constructs/cache/node-types';
import { EC2_INSTANCE_TYPES, isOffered } from '../../constructs/common/instance-types';
import { ConfigError, DEFAULT_CONFIG_PATH, STAGES, isKnownRegion, resolveConfig, type Stage } from '../config';
import { BYTE_ORDER_MARK, loadConfig, parseConfigJson, withoutByteOrderMark } from './config-file';
import { capacityView } from './config-view';
import { MAX_SINCE_SECONDS, parseDuration } from './duration';
import { CliError, ExitCode } from './errors';
import { evacuate, restore, type FailoverDeps } from './failover';
import { PLAN_DEFAULTS, planCapacity, type CapacityPlan, type PlanFigure, type PlanInput, type PlanService } from './plan';
import { planToConfig, type PlanBase, type PlannedConfig } from './plan-config';
import { registerFleetCommands, type FleetCommandDeps } from './fleet-commands';
import { renderReport, table } from './render';
import { runReport, type ReportDeps } from './report';
import { notDecimal, parseDecimal } from './numbers';
import { packageVersion } from './version';
import { writeFileAtomic } from './write-file';
import { registerCostCommand } from '../cost/cli';

/** Where output goes: `process.stdout`/`process.stderr` or a test buffer. */
export interface Writer {
  write(text: string): unknown;
  /** True on a terminal: tables and progress are shown. */
  readonly isTTY?: boolean;
}

/** Everything `main` needs from the outside world. */
export interface CliDeps extends Omit<ReportDeps, 'progress'>, FleetCommandDeps {
  readonly stdout: Writer;
  readonly stderr: Writer;
  /** Reads a text file. @default fs.readFileSync */
  readonly readFile?: (path: string) => string;
  /** Writes a text file. @default writeFileAtomic (a temporary file renamed over the target) */
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

/** A number option; `positive` for the figures the plan divides by or needs above 0 (as `checkPlanInput` says). */
function numberArg(name: string, opts: { integer?: boolean; positive?: boolean; min?: number; max?: number } = {}) {
  return (value: string): number => {
    const n = parseDecimal(value);
    if (n === undefined) throw new InvalidArgumentError(notDecimal(name, value));
    if (opts.integer && !Number.isInteger(n)) throw new InvalidArgumentError(`${name} must be a whole number (got: ${value})`);
    if (opts.positive && !(n > 0)) throw new InvalidArgumentError(`${name} must be a positive number (got: ${value})`);
    if (opts.min !== undefined && n < opts.min) throw new InvalidArgumentError(`${name} must be at least ${opts.min} (got: ${value})`);
    if (opts.max !== undefined && n > opts.max) throw new InvalidArgumentError(`${name} must be at most ${opts.max} (got: ${value})`);
    return n;
  };
}

function listArg(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

/** `--region a,b --region c`: every region given, each once; an empty value is refused (it would mean every region). */
function regionsArg(value: string, previous: string[] | undefined): string[] {
  const regions = listArg(value);
  if (regions.length === 0) throw new InvalidArgumentError(`--region takes one or more regions, comma-separated (got: '${value}')`);
  return [...new Set([...(previous ?? []), ...regions])];
}

function servicesArg(value: string): Array<{ name: string; share: number }> {
  const services = listArg(value).map((part) => {
    const [name, share] = part.split('=');
    const n = share === undefined ? 1 : Number(share);
    if (!/^[a-z][a-z0-9-]*$/.test(name) || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`--services takes name=share pairs like web=0.7,api=0.3 (got: ${part})`);
    return { name, share: n };
  });
  // A service named twice would be sized for one of its shares only (or fail as an invalid config).
  const twice = services.find((s, idx) => services.findIndex((x) => x.name === s.name) !== idx);
  if (twice) throw new InvalidArgumentError(`--services lists ${twice.name} twice (got: ${value})`);
  return services;
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
  readonly targetCpu?: number;
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
  const config = capacityView(loadConfig(flags.config));
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

/** True when the user typed the option (by its attribute name, e.g. `cacheNodeType`). */
type Typed = (option: keyof PlanFlags) => boolean;

const APP_NAME = /^[a-z][a-z0-9-]*$/;

/** The model's figures from the flags and the base config: a figure the user did not type comes from the base when it has one. */
function planInput(flags: PlanFlags, typed: Typed, base: PlanBase | undefined, source: string | undefined): PlanInput {
  const r = base?.resolved;
  const name = flags.name ?? r?.name ?? 'app';
  if (!APP_NAME.test(name) || name.length > 24) throw new CliError(`--name must be lowercase letters, digits and dashes, starting with a letter, at most 24 characters (got: ${name})`, ExitCode.usage);
  const stage = flags.stage ?? r?.stage ?? 'millions';
  const regions = flags.regions ?? r?.regions.map((x) => x.region) ?? ['us-east-1'];
  for (const region of regions) if (!isKnownRegion(region)) throw new CliError(`unknown AWS region ${region} in --regions`, ExitCode.region);
  if (new Set(regions).size !== regions.length) throw new CliError(`--regions lists a region twice (got: ${regions.join(',')})`, ExitCode.usage);

  const instanceType = flags.instanceType ?? PLAN_DEFAULTS.instanceType;
  if (!isOffered(EC2_INSTANCE_TYPES, instanceType)) throw new CliError(`--instance-type ${instanceType} is not an EC2 instance type AWS offers`, ExitCode.usage);
  const rawServices = Array.isArray(base?.raw.services) ? (base.raw.services as Array<Record<string, unknown>>) : [];
  const services: PlanService[] = (flags.services ?? r?.services.map((s) => ({ name: s.name, share: 1 })) ?? [{ name: 'web', share: 1 }]).map((s) => {
    if (s.name.length > 20) throw new CliError(`--services: a service name must be at most 20 characters (got: ${s.name})`, ExitCode.usage);
    // A request target the base config sets is its statement of what one instance serves: plan sizes with it.
    const target = rawServices.find((x) => x.name === s.name)?.targetRequestsPerInstance;
    return typeof target === 'number' && !typed('rpsPerInstance')
      ? { ...s, rpsPerInstance: target / 60, rpsSource: `services[${s.name}].targetRequestsPerInstance (${target}/min) of ${source}; --rps-per-instance overrides it` }
      : s;
  });

  const labels: Partial<Record<PlanFigure, string>> = {};
  const fromBase = <T>(option: keyof PlanFlags, figure: PlanFigure | undefined, flag: T, baseValue: T | undefined, field: string): T => {
    if (typed(option) || baseValue === undefined) return flag;
    if (figure) labels[figure] = `${field} of ${source}`;
    return baseValue;
  };
  const cacheNodeType = fromBase('cacheNodeType', 'cacheNodeType', flags.cacheNodeType, r?.cache.nodeType, 'cache.nodeType');
  const cacheReplicasPerShard = fromBase('cacheReplicas', 'cacheReplicasPerShard', flags.cacheReplicas, r?.cache.replicasPerShard, 'cache.replicasPerShard');
  if (typed('cacheNodeType')) {
    const problem = !parseNodeType(cacheNodeType)
      ? 'is not an ElastiCache node type AWS offers'
      : (r?.cache.autoScaling && autoScalingNodeTypeProblem(cacheNodeType)) || (r?.cache.globalDatastore && globalDatastoreNodeTypeProblem(cacheNodeType));
    if (problem) throw new CliError(`--cache-node-type ${cacheNodeType} ${problem.startsWith('is ') ? problem : `does not fit ${source}: ${problem}`}`, ExitCode.usage);
  }
  const queueName = flags.queueName;
  if (!APP_NAME.test(queueName) || queueName.length > 20) throw new CliError(`--queue-name must be lowercase letters, digits and dashes, at most 20 characters (got: ${queueName})`, ExitCode.usage);
  const queue = r?.queues.find((q) => q.name === queueName);
  const jobSeconds = fromBase('jobSeconds', 'jobSeconds', flags.jobSeconds, queue?.averageProcessingSeconds, `queues[${queueName}].averageProcessingSeconds`);
  const acceptableLatencySeconds = fromBase('acceptableLatency', 'acceptableLatencySeconds', flags.acceptableLatency, queue?.acceptableLatencySeconds, `queues[${queueName}].acceptableLatencySeconds`);

  return {
    name,
    stage,
    regions,
    peakRps: flags.peakRps,
    readRatio: flags.readRatio,
    cacheHitRatio: flags.cacheHitRatio,
    queriesPerRequest: flags.queriesPerRequest,
    rpsPerInstance: flags.rpsPerInstance,
    ...(typed('targetCpu') ? { targetCpuPercent: flags.targetCpu } : {}),
    instanceType,
    services,
    readerQps: flags.readerQps,
    writerQps: flags.writerQps,
    cacheNodeType,
    ...(flags.cacheNodeMemoryGb !== undefined ? { cacheNodeMemoryGb: flags.cacheNodeMemoryGb } : {}),
    cacheReplicasPerShard,
    workingSetGb: flags.workingSetGb,
    cacheOpsPerShard: flags.cacheOpsPerShard,
    ...(flags.jobsPerSecond !== undefined ? { jobsPerSecond: flags.jobsPerSecond } : {}),
    jobSeconds,
    acceptableLatencySeconds,
    queueName,
    headroom: flags.headroom,
    regionFailover: flags.regionFailover,
    ...(r ? { minShards: r.database.shards.length, azs: Math.min(...r.regions.map((x) => x.availabilityZones.length)) } : {}),
    // What the written config will have: the base's own setting (kept as written), else the (new) stage's preset.
    ...(globalDatabaseWritten(base) !== undefined ? { globalDatabase: globalDatabaseWritten(base) } : {}),
    ...(Object.keys(labels).length ? { labels } : {}),
  };
}

/** `database.globalDatabase.enabled` as the base config writes it, if it does. */
function globalDatabaseWritten(base: PlanBase | undefined): boolean | undefined {
  const database = base?.raw.database as { globalDatabase?: { enabled?: unknown } } | undefined;
  const enabled = database?.globalDatabase?.enabled;
  return typeof enabled === 'boolean' ? enabled : undefined;
}

const n1 = (v: number): string => String(Math.round(v * 10) / 10);
const shown = (v: unknown): string => (v === undefined ? '(none)' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/** The human-readable plan: the sizes, what changed in the config, notes, and where it went. */
export function renderPlan(input: PlanInput, plan: CapacityPlan, planned: PlannedConfig, out?: string, base?: string): string {
  const lines: string[] = [];
  const carriers = input.regionFailover && input.regions.length > 1 ? input.regions.length - 1 : input.regions.length;
  lines.push(`Capacity plan for ${input.name} (${input.stage}): ${input.peakRps} req/s peak over ${input.regions.length} region(s); each region sized for ${n1(plan.regionRps)} req/s (${carriers} region(s) carry the peak), ${Math.round(input.headroom * 100)}% headroom`);
  const rows = [['TIER', 'RESOURCE', 'LOAD PER REGION', 'SIZE', 'FROM']];
  for (const s of plan.services) rows.push(['web', s.name, `${n1(s.rps)} req/s`, `min ${s.minCapacity}, max ${s.maxCapacity} instances`, `${s.instancesAtPeak} at peak × ${n1(s.rpsPerInstance)} req/s each`]);
  const d = plan.database;
  rows.push(['database', 'writers', `${n1(d.writeQps)} writes/s (all regions)`, `${d.shards} shard(s)`, `${d.shardsForWrites} for writes at ${input.writerQps} writes/s per writer`]);
  rows.push(['database', 'readers', `${n1(d.readQpsPerRegion)} reads/s after cache`, `readers ${d.readers}, max ${d.maxReaders} per shard`, `${d.readersAtPeak} at peak × ${input.readerQps} reads/s each`]);
  const c = plan.cache;
  rows.push(['cache', c.nodeType, `${n1(c.opsPerRegion)} ops/s`, `${c.shards} shard(s) × ${1 + c.replicasPerShard} nodes = ${c.nodes}`, `memory ${c.shardsForMemory}, throughput ${c.shardsForThroughput} shard(s)`]);
  if (plan.queue) rows.push(['queue', plan.queue.name, `${n1(plan.queue.jobsPerSecondPerRegion)} jobs/s`, `max ${plan.queue.maxWorkers} workers`, `${n1(plan.queue.busyWorkers)} busy × ${plan.queue.averageProcessingSeconds}s per job`]);
  lines.push(table(rows));
  if (base) {
    lines.push('', planned.changes.length ? `Changes to ${base} (sizes only; everything else is kept as written):` : `No change to ${base}: its sizes already fit the plan.`);
    for (const ch of planned.changes) lines.push(`  ${ch.path}: ${shown(ch.from)} → ${shown(ch.to)}`);
  }
  for (const note of planned.notes) lines.push(`note: ${note}`);
  if (out) lines.push(`wrote ${out}`);
  else lines.push('', planned.text.trimEnd());
  return `${lines.join('\n')}\n`;
}

function planCommand(flags: PlanFlags, typed: Typed, deps: CliDeps): number {
  const readFile = deps.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  let base: PlanBase | undefined;
  let bom = '';
  if (flags.config) {
    let text: string;
    try {
      text = readFile(flags.config);
    } catch (e) {
      throw new CliError(`cannot read base config ${flags.config}: ${(e as Error).message.split('\n')[0]}`, ExitCode.config);
    }
    const raw = parseConfigJson(text, flags.config);
    const resolved = resolveConfig(raw, flags.config);
    base = { text: withoutByteOrderMark(text), raw: raw as Record<string, unknown>, resolved };
    // A byte-order mark the file starts with is kept (with --out the --config file).
    if (text !== base.text) bom = BYTE_ORDER_MARK;
  }
  const input = planInput(flags, typed, base, flags.config);
  let plan: CapacityPlan;
  try {
    plan = planCapacity(input);
  } catch (e) {
    throw new CliError((e as Error).message, ExitCode.usage);
  }
  const planned = planToConfig(input, plan, base);
  if (flags.out) {
    try {
      (deps.writeFile ?? writeFileAtomic)(flags.out, bom + planned.text);
    } catch (e) {
      throw new CliError(`cannot write ${flags.out}: ${(e as Error).message.split('\n')[0]}`, ExitCode.config);
    }
  }
  if (flags.json) {
    const doc = { schemaVersion: PLAN_SCHEMA_VERSION, input, plan, config: planned.config, changes: planned.changes, notes: planned.notes, ...(flags.out ? { wrote: flags.out } : {}) };
    deps.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  } else {
    deps.stdout.write(renderPlan(input, plan, planned, flags.out, flags.config));
  }
  return ExitCode.ok;
}

/** The version of `plan --json`'s schema; bumped only on breaking changes. */
export const PLAN_SCHEMA_VERSION = 2;

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
  // Every check before the first line of output: a usage error must not follow "Dry run".
  const timeout = timeoutSeconds(flags.timeout);
  const config = loadConfig(flags.config);
  const failover = failoverDeps(deps);
  if (flags.dryRun) deps.stdout.write('Dry run: reads only, changes nothing.\n');
  const edits = await evacuate(config, {
    region, ...(flags.to ? { to: flags.to } : {}), unplanned: flags.unplanned ?? false, keepDns: flags.keepDns ?? false,
    keepDatabase: flags.keepDatabase ?? false, dryRun: flags.dryRun ?? false, timeoutSeconds: timeout,
  }, failover);
  printEdits(deps, flags.config, edits, flags.dryRun);
  return ExitCode.ok;
}

async function restoreCommand(region: string, flags: RestoreFlags, deps: CliDeps): Promise<number> {
  const timeout = timeoutSeconds(flags.timeout);
  const config = loadConfig(flags.config);
  const failover = failoverDeps(deps);
  if (flags.dryRun) deps.stdout.write('Dry run: reads only, changes nothing.\n');
  const edits = await restore(config, { region, writer: flags.writer ?? false, dryRun: flags.dryRun ?? false, timeoutSeconds: timeout }, failover);
  printEdits(deps, flags.config, edits, flags.dryRun);
  return ExitCode.ok;
}

/** Builds the commander program; `run` receives each command's result. */
function program(deps: CliDeps, run: (work: () => Promise<number> | number) => void): Command {
  const cmd = new Command('s2m')
    .description('scale-to-millions: capacity headroom reports from CloudWatch, capacity plans merged into a config, what a config costs, the fleets\' status and logs, and regional failover')
    .exitOverride()
    .configureOutput({ writeOut: (s) => deps.stdout.write(s), writeErr: (s) => deps.stderr.write(s), outputError: (s, write) => write(`s2m: ${s.replace(/^error: /, '')}`) })
    .version(packageVersion(), '-V, --version', 'print the version of s2m (the scale-to-millions package)')
    .showHelpAfterError('(run s2m --help for usage)')
    .addHelpText('after', '\nExit codes: 0 ok, 1 internal error, 2 usage, 3 config file, 4 credentials, 5 access denied, 6 stack missing, 7 region, 8 throttled, 9 other AWS error.\nDocs: docs/capacity.md');

  cmd.command('report')
    .description('per region and tier: load, utilization against the scaling target, headroom, the bottleneck and recommendations')
    .option('-c, --config <path>', 'config file', DEFAULT_CONFIG_PATH)
    .option('-s, --since <duration>', 'window back from now: 90m, 3h, 2d, 8w (at most 455d)', '3h')
    .option('--region <regions>', 'only these regions (comma-separated, repeatable)', regionsArg)
    .option('--json', 'print the report as JSON (stable schema, docs/capacity.md)')
    .action((flags: ReportFlags) => run(() => reportCommand(flags, deps)));

  const required = (flags: string, description: string, parse: (v: string) => number) =>
    new Option(flags, description).argParser(parse).makeOptionMandatory().helpGroup('Required options:');
  const noBase = (o: Option) => o.conflicts('config');
  cmd.command('plan')
    .description('turn peak load figures into per-tier sizes and write them into a config (a merge: only sizes change)')
    .addOption(required('--peak-rps <n>', 'peak dynamic requests per second, all regions together', numberArg('--peak-rps', { positive: true })))
    .addOption(required('--read-ratio <r>', 'share of database queries that are reads (0-1)', numberArg('--read-ratio', { min: 0, max: 1 })))
    .option('--cache-hit-ratio <h>', 'share of reads the cache answers (0-1)', numberArg('--cache-hit-ratio', { min: 0, max: 1 }), PLAN_DEFAULTS.cacheHitRatio)
    .option('--queries-per-request <q>', 'database queries per request', numberArg('--queries-per-request', { positive: true }), PLAN_DEFAULTS.queriesPerRequest)
    .option('--rps-per-instance <n>', 'requests/s one instance serves at the target CPU; with --config, a service\'s own targetRequestsPerInstance / 60 unless given', numberArg('--rps-per-instance', { positive: true }), PLAN_DEFAULTS.rpsPerInstance)
    .option('--target-cpu <percent>', 'target CPU % written to every planned service (default: the config\'s, else 50)', numberArg('--target-cpu', { min: 10, max: 90 }))
    .option('--instance-type <type>', `EC2 instance type of services the plan adds (default ${PLAN_DEFAULTS.instanceType})`)
    .option('--services <list>', 'services and their share of requests: web=0.7,api=0.3 (default: web=1, or the base config\'s services equally)', servicesArg)
    .option('--reader-qps <n>', 'reads/s one Aurora reader serves at its target CPU', numberArg('--reader-qps', { positive: true }), PLAN_DEFAULTS.readerQps)
    .option('--writer-qps <n>', 'writes/s one Aurora writer serves at its CPU ceiling', numberArg('--writer-qps', { positive: true }), PLAN_DEFAULTS.writerQps)
    .option('--cache-node-type <type>', 'ElastiCache node type; with --config, the base config\'s unless given', PLAN_DEFAULTS.cacheNodeType)
    .option('--cache-node-memory-gb <gb>', 'memory of one cache node (for node types the planner does not know)', numberArg('--cache-node-memory-gb', { positive: true }))
    .option('--cache-replicas <n>', 'replicas per cache shard, 1-5; with --config, the base config\'s unless given', numberArg('--cache-replicas', { integer: true, min: 1, max: 5 }), PLAN_DEFAULTS.cacheReplicasPerShard)
    .option('--working-set-gb <gb>', 'cache working set in GiB, per region', numberArg('--working-set-gb', { positive: true }), PLAN_DEFAULTS.workingSetGb)
    .option('--cache-ops-per-shard <n>', 'commands/s one cache shard serves', numberArg('--cache-ops-per-shard', { positive: true }), PLAN_DEFAULTS.cacheOpsPerShard)
    .option('--jobs-per-second <n>', 'background jobs per second, all regions together (sizes the queue\'s workers, or adds the queue)', numberArg('--jobs-per-second', { min: 0 }))
    .option('--job-seconds <s>', 'average processing time of one job; with --config, the queue\'s unless given', numberArg('--job-seconds', { positive: true }), PLAN_DEFAULTS.jobSeconds)
    .option('--acceptable-latency <s>', 'longest a job may wait in the queue; with --config, the queue\'s unless given', numberArg('--acceptable-latency', { positive: true }), PLAN_DEFAULTS.acceptableLatencySeconds)
    .option('--queue-name <name>', 'name of the planned queue', PLAN_DEFAULTS.queueName)
    .option('--headroom <share>', 'spare capacity above the peak (0.3 = 30%)', numberArg('--headroom', { min: 0, max: 10 }), PLAN_DEFAULTS.headroom)
    .option('--no-region-failover', 'size regions for their own share only (default: n-1 regions carry the peak)')
    .addOption(noBase(new Option('--name <name>', 'app name of a new config (default "app")')))
    .addOption(noBase(new Option('--stage <stage>', 'stage of growth of a new config (default millions)').choices(STAGES)))
    .addOption(noBase(new Option('--regions <list>', 'regions of a new config, primary first (default us-east-1)').argParser(listArg)))
    .option('-c, --config <path>', 'base config: the plan changes its sizes and keeps everything else as written')
    .option('-o, --out <path>', 'write the config here (default: print it); may be the --config file')
    .option('--json', 'print inputs, plan, config and changes as JSON')
    .action((flags: PlanFlags, command: Command) => run(() => planCommand(flags, (o) => command.getOptionValueSource(o) === 'cli', deps)));

    registerCostCommand(cmd, deps, run);
    registerFleetCommands(cmd, deps, run, regionsArg);

  cmd.command('evacuate')
    .description('take a region out of service: invert its Route 53 drain switch, and move the Aurora Global writer out of it (planned switchover, or --unplanned failover)')
    .argument('<region>', 'the region to take out')
    .option('-c, --config <path>', 'config file', DEFAULT_CONFIG_PATH)
    .option('--to <region>', 'where the writer goes (default: the first other region of the config)')
    .option('--unplanned', 'the region is down: fail over at once, losing the writes not yet replicated (RPO: the global replication lag)')
    // Both would leave nothing to do: refused as a usage error rather than a silent exit 0.
    .addOption(new Option('--keep-dns', 'move the database only').conflicts('keepDatabase'))
    .option('--keep-database', 'drain DNS only')
    .option('--dry-run', 'print what would be done; change nothing')
    .option('--timeout <duration>', 'longest wait for the writer to move, and then for write forwarding on the demoted cluster', '30m')
    .action((region: string, flags: EvacuateFlags) => run(() => evacuateCommand(region, flags, deps)));

  cmd.command('restore')
    .description('put a region back in DNS; with --writer, move the Aurora Global writer back to it (planned switchover)')
    .argument('<region>', 'the region to bring back')
    .option('-c, --config <path>', 'config file', DEFAULT_CONFIG_PATH)
    .option('--writer', 'also move the writer back (planned switchover, no data loss)')
    .option('--dry-run', 'print what would be done; change nothing')
    .option('--timeout <duration>', 'longest wait for the writer to move, and then for write forwarding on the demoted cluster', '30m')
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
