/**
 * The operator's loop over the fleets: `s2m status` and `s2m logs`. Registered on the `s2m` program by
 * {@link registerFleetCommands}; every AWS client comes in through {@link FleetCommandDeps}.
 */
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { InvalidArgumentError, type Command } from 'commander';
import { readFileSync } from 'node:fs';
import { DEFAULT_CONFIG_PATH, isKnownRegion, type AppConfig } from '../config';
import { loadConfig } from './config-file';
import type { CliDeps } from './cli';
import { checkPin, renderAmi, runAmi } from './ami';
import { MAX_SINCE_SECONDS, parseDuration } from './duration';
import { CliError, ExitCode } from './errors';
import { runLogs } from './fleet-logs';
import { writeFileAtomic } from './write-file';
import { renderFleetStatus, runFleetStatus } from './fleet-status';

/** The clients `status` and `logs` add to the CLI's dependencies. */
export interface FleetCommandDeps {
  /** An Auto Scaling client for a region. */
  readonly autoScaling?: (region: string) => AutoScalingClient;
  /** An Elastic Load Balancing v2 client for a region. */
  readonly elasticLoadBalancing?: (region: string) => ElasticLoadBalancingV2Client;
  /** A CloudWatch Logs client for a region. */
  readonly logs?: (region: string) => CloudWatchLogsClient;
  /** An EC2 client for a region (`s2m ami`). */
  readonly ec2?: (region: string) => EC2Client;
  /** A signal that ends `logs --follow` (on Ctrl-C); asked for only when following. @default - follow never ends by itself */
  readonly interrupted?: () => AbortSignal;
}

interface StatusFlags {
  readonly config: string;
  readonly region?: string[];
  readonly json?: boolean;
}

interface LogsFlags {
  readonly config: string;
  readonly service: string;
  readonly region?: string;
  readonly since: string;
  readonly follow?: boolean;
  readonly filter?: string;
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`the CLI was started without ${what}`);
  return value;
}

/** The config's regions `--region` selects (all by default), each checked. */
function regionsOf(config: AppConfig, path: string, wanted: readonly string[] | undefined): string[] {
  const all = config.regions.map((r) => r.region);
  for (const r of wanted ?? []) {
    if (!isKnownRegion(r)) throw new CliError(`unknown AWS region ${r}`, ExitCode.region);
    if (!all.includes(r)) throw new CliError(`region ${r} is not in ${path} (regions: ${all.join(', ')})`, ExitCode.region);
  }
  return wanted?.length ? [...wanted] : all;
}

async function statusCommand(flags: StatusFlags, deps: CliDeps): Promise<number> {
  const config = loadConfig(flags.config);
  const report = await runFleetStatus(
    { name: config.name, services: config.services.map((s) => s.name), queues: config.queues.map((q) => q.name) },
    {
      cloudFormation: deps.cloudFormation,
      autoScaling: need(deps.autoScaling, 'an Auto Scaling client'),
      elasticLoadBalancing: need(deps.elasticLoadBalancing, 'an Elastic Load Balancing client'),
      clock: deps.clock,
      ...(deps.random ? { random: deps.random } : {}),
    },
    { regions: regionsOf(config, flags.config, flags.region) },
  );
  deps.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : renderFleetStatus(report));
  return ExitCode.ok;
}

async function logsCommand(flags: LogsFlags, deps: CliDeps): Promise<number> {
  const sinceSeconds = parseDuration(flags.since);
  if (sinceSeconds === undefined) throw new CliError(`--since must be a duration like 15m, 1h or 2d (got: ${flags.since})`, ExitCode.usage);
  if (sinceSeconds > MAX_SINCE_SECONDS) throw new CliError(`--since must be at most 455d (got: ${flags.since})`, ExitCode.usage);
  const config = loadConfig(flags.config);
  const [region] = regionsOf(config, flags.config, flags.region ? [flags.region] : [config.primaryRegion]);
  await runLogs(
    {
      cloudFormation: deps.cloudFormation,
      logs: need(deps.logs, 'a CloudWatch Logs client'),
      clock: deps.clock,
      ...(deps.random ? { random: deps.random } : {}),
      write: (line) => deps.stdout.write(`${line}\n`),
      ...(flags.follow && deps.interrupted ? { signal: deps.interrupted() } : {}),
    },
    {
      name: config.name,
      service: flags.service,
      services: config.services.map((s) => s.name),
      queues: config.queues.map((q) => q.name),
      region,
      sinceSeconds,
      follow: flags.follow ?? false,
      ...(flags.filter ? { filterPattern: flags.filter } : {}),
    },
  );
  return ExitCode.ok;
}

interface AmiFlags {
  readonly config: string;
  readonly cdkJson: string;
  readonly pin?: string;
}

async function amiCommand(flags: AmiFlags, deps: CliDeps): Promise<number> {
  checkPin(flags.pin);
  const config = loadConfig(flags.config);
  const result = await runAmi(
    {
      ec2: need(deps.ec2, 'an EC2 client'),
      clock: deps.clock,
      ...(deps.random ? { random: deps.random } : {}),
      readFile: deps.readFile ?? ((p) => readFileSync(p, 'utf8')),
      writeFile: deps.writeFile ?? ((p, t) => writeFileAtomic(p, t)),
    },
    { regions: config.regions.map((r) => r.region), cdkJson: flags.cdkJson, ...(flags.pin !== undefined ? { pin: flags.pin } : {}) },
  );
  deps.stdout.write(renderAmi(result, flags.cdkJson, flags.pin));
  return ExitCode.ok;
}

/** `logs --region`: one region; an empty value (which would mean the primary) or a second region is refused. */
function oneRegionArg(value: string, previous: string | undefined): string {
  const region = value.trim();
  if (region === '' || region.includes(',')) throw new InvalidArgumentError(`--region takes one region (got: '${value}')`);
  if (previous !== undefined && previous !== region) throw new InvalidArgumentError(`--region takes one region (got: ${previous}, then ${region})`);
  return region;
}

/** Adds `status`, `logs` and `ami` to the `s2m` program; `run` receives each command's work. */
export function registerFleetCommands(cmd: Command, deps: CliDeps, run: (work: () => Promise<number> | number) => void, regionsArg: (value: string, previous: string[] | undefined) => string[]): void {
  cmd.command('status')
    .description('per region and fleet: the application version each instance runs, a refresh in progress, healthy targets, the last rollback and why')
    .option('-c, --config <path>', 'config file', DEFAULT_CONFIG_PATH)
    .option('--region <regions>', 'only these regions (comma-separated, repeatable)', regionsArg)
    .option('--json', 'print the status as JSON (stable schema, docs/fleets.md)')
    .action((flags: StatusFlags) => run(() => statusCommand(flags, deps)));

  cmd.command('logs')
    .description('the application log of one service (or one queue\'s workers), every instance interleaved')
    .requiredOption('--service <name>', 'a service, or a queue for its workers')
    .option('-c, --config <path>', 'config file', DEFAULT_CONFIG_PATH)
    .option('--region <region>', 'the region (default: the primary region)', oneRegionArg)
    .option('-s, --since <duration>', 'start this far back: 15m, 1h, 2d', '1h')
    .option('-f, --follow', 'keep printing new events (Ctrl-C to stop)')
    .option('--filter <pattern>', 'a CloudWatch Logs filter pattern, e.g. ERROR')
    .action((flags: LogsFlags) => run(() => logsCommand(flags, deps)));

  cmd.command('ami')
    .description('the Amazon Linux 2023 release the fleets are pinned to, the newest one, and whether it exists in every region; --pin moves the pin')
    .option('-c, --config <path>', 'config file (its regions are checked)', DEFAULT_CONFIG_PATH)
    .option('--cdk-json <path>', 'the CDK app\'s cdk.json, whose context holds the pin', 'cdk.json')
    .option('--pin <release>', 'pin this release, or "latest", after checking it exists in every region')
    .action((flags: AmiFlags) => run(() => amiCommand(flags, deps)));
}
