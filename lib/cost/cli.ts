/**
 * `s2m cost`: the monthly cost of a config at zero traffic (the floor) and at a stated load, or the difference
 * between two configs (`--against`). Registered on the `s2m` program by {@link registerCostCommand}; the synthesis
 * (aws-cdk-lib) loads only when the command runs, so other commands start as fast as before.
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { CliDeps } from '../capacity/cli';
import { CliError, ExitCode } from '../capacity/errors';
import { notDecimal, parseDecimal } from '../capacity/numbers';
import { loadConfig } from '../capacity/config-file';
import { DEFAULT_CONFIG_PATH, type AppConfig } from '../config';
import { AssumptionError, parseAssumePairs, resolveAssumptions, type CostAssumptions } from './assumptions';
import type { CostEstimate } from './estimate';
import { renderDifference, renderEstimate, totalsDifference } from './render';

/** Flags of `s2m cost`. */
export interface CostFlags {
  readonly config: string;
  readonly json?: boolean;
  readonly against?: string;
  readonly requestsPerMonth?: number;
  readonly bytesPerRequest?: number;
  readonly cacheHitRatio?: number;
  readonly albLcus?: number;
  readonly assume?: Record<string, string>;
}

/** Version of the `--json` output; bumped on a breaking change. */
export const COST_JSON_SCHEMA_VERSION = 1;

function numberOption(flag: string, opts: { integer?: boolean; max?: number } = {}) {
  return (value: string): number => {
    // Digit separators are welcome (100_000_000); other bases and Infinity are not.
    const digits = value.replace(/_/g, '');
    const n = parseDecimal(digits);
    if (n === undefined) throw new InvalidArgumentError(notDecimal(flag, digits, value));
    if (n < 0) throw new InvalidArgumentError(`${flag} must be at least 0 (got: ${value})`);
    if (opts.integer && !Number.isInteger(n)) throw new InvalidArgumentError(`${flag} must be a whole number (got: ${value})`);
    if (opts.max !== undefined && n > opts.max) throw new InvalidArgumentError(`${flag} must be at most ${opts.max} (got: ${value})`);
    return n;
  };
}

function assumeOption(value: string, previous: Record<string, string> | undefined): Record<string, string> {
  try {
    return { ...previous, ...parseAssumePairs(value) };
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

/** The assumptions the flags ask for (checked before anything is synthesized). */
export function assumptionsFromFlags(flags: CostFlags): CostAssumptions {
  const overrides: Record<string, unknown> = {
    ...flags.assume,
    ...(flags.requestsPerMonth !== undefined ? { requestsPerMonth: flags.requestsPerMonth } : {}),
    ...(flags.bytesPerRequest !== undefined ? { bytesPerRequest: flags.bytesPerRequest } : {}),
    ...(flags.cacheHitRatio !== undefined ? { cacheHitRatio: flags.cacheHitRatio } : {}),
    ...(flags.albLcus !== undefined ? { albLcus: flags.albLcus } : {}),
  };
  // A bad value is named as the user gave it: by its flag, or as the --assume key they typed.
  const typed = flags as unknown as Readonly<Record<string, unknown>>;
  try {
    return resolveAssumptions(overrides, (info) => (info.flag && typed[info.key] !== undefined ? info.flag : `--assume ${info.key}`));
  } catch (e) {
    if (e instanceof AssumptionError) throw new CliError(e.message.startsWith('--') ? e.message : `--assume ${e.message}`, ExitCode.usage);
    throw e;
  }
}

function title(config: AppConfig, path: string): string {
  return `Cost of ${config.name} (${config.stage} stage, ${config.regions.length} region${config.regions.length > 1 ? 's' : ''}): ${path}`;
}

function described(config: AppConfig, path: string, estimate: CostEstimate) {
  return { config: path, name: config.name, stage: config.stage, regions: config.regions.map((r) => r.region), ...estimate };
}

/**
 * The synthesis module (aws-cdk-lib and every construct), loaded when the command runs so `s2m report` and `plan`
 * start as fast as before. `require` in CommonJS (the built package, and `npx s2m` through tsx's require hook);
 * `import()` where TypeScript is loaded through the runner's own module graph (vitest), whose Node `require` does
 * not resolve `.ts` files.
 */
async function loadSynth(): Promise<typeof import('./synth')> {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('./synth') as typeof import('./synth');
  } catch (e) {
    if ((e as { code?: string }).code !== 'MODULE_NOT_FOUND' || !String((e as Error).message).includes('./synth')) throw e;
    return import('./synth');
  }
}

/** Runs `s2m cost` and returns the exit code (errors are thrown as `CliError`/`ConfigError` for `main` to print). */
export async function costCommand(flags: CostFlags, deps: Pick<CliDeps, 'stdout'>): Promise<number> {
  const assumptions = assumptionsFromFlags(flags);
  const base = loadConfig(flags.config);
  const other = flags.against !== undefined ? loadConfig(flags.against) : undefined;
  const { estimateConfig } = await loadSynth();
  const baseEstimate = estimateConfig(base, assumptions);
  if (!other) {
    deps.stdout.write(flags.json
      ? `${JSON.stringify({ schemaVersion: COST_JSON_SCHEMA_VERSION, ...described(base, flags.config, baseEstimate) }, null, 2)}\n`
      : renderEstimate(baseEstimate, title(base, flags.config)));
    return ExitCode.ok;
  }
  const otherEstimate = estimateConfig(other, assumptions);
  if (flags.json) {
    deps.stdout.write(`${JSON.stringify({
      schemaVersion: COST_JSON_SCHEMA_VERSION,
      base: described(base, flags.config, baseEstimate),
      other: described(other, flags.against!, otherEstimate),
      difference: { floor: totalsDifference(baseEstimate.floor, otherEstimate.floor), atLoad: totalsDifference(baseEstimate.atLoad, otherEstimate.atLoad) },
    }, null, 2)}\n`);
  } else {
    deps.stdout.write(renderDifference(baseEstimate, otherEstimate, flags.config, flags.against!));
  }
  return ExitCode.ok;
}

/** Adds `cost` to the `s2m` program; `run` receives the command's work, as for every other command. */
export function registerCostCommand(program: Command, deps: CliDeps, run: (work: () => Promise<number> | number) => void): void {
  program.command('cost')
    .description('monthly cost of a config: the floor (zero traffic) and at a stated load, per region and tier; --against prints the difference to another config')
    .option('-c, --config <path>', 'config file', DEFAULT_CONFIG_PATH)
    .option('--against <path>', 'a second config: print the difference (e.g. growth → millions, or a `s2m plan` result)')
    .option('--requests-per-month <n>', 'requests a month, all regions together (default 10,000,000)', numberOption('--requests-per-month'))
    .option('--bytes-per-request <n>', 'average response size in bytes (default 50,000)', numberOption('--bytes-per-request'))
    .option('--cache-hit-ratio <r>', 'share of requests the CDN answers from its cache, 0-1 (default 0.5)', numberOption('--cache-hit-ratio', { max: 1 }))
    .option('--alb-lcus <n>', 'average load balancer capacity units per ALB (default: computed from requests, bytes and connections)', numberOption('--alb-lcus'))
    .option('--assume <key=value,...>', 'any other assumption, e.g. databaseGb=200,jobsPerRequest=0.2 (repeatable; keys in docs/cost.md)', assumeOption)
    .option('--json', 'print the estimate as JSON (stable schema, docs/cost.md)')
    .action((flags: CostFlags) => run(() => costCommand(flags, deps)));
}
