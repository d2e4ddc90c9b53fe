/**
 * `s2m ami`: the Amazon Linux 2023 release every fleet on the default image is pinned to, the newest one AWS
 * publishes, and whether a release exists in every region of the config; `--pin` moves the pin (the
 * `@scale-to-millions/fleet:al2023Release` context key in cdk.json) on purpose.
 */
import { DescribeImagesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { AL2023_RELEASE_CONTEXT_KEY } from '../../constructs/fleet/amazon-linux';
import { FLEET_DEFAULTS } from '../../constructs/fleet/defaults';
import { parseJsonText } from '../config/json-text';
import { jsonSyntaxError, withoutByteOrderMark } from './config-file';
import { patchText } from './json-edit';
import { CliError, ExitCode, classifyAwsError } from './errors';
import { withRetry, type Clock } from './retry';

/** What `runAmi` needs from the outside world. */
export interface AmiDeps {
  readonly ec2: (region: string) => EC2Client;
  readonly clock: Clock;
  readonly random?: () => number;
  readonly readFile: (path: string) => string;
  readonly writeFile: (path: string, text: string) => void;
}

/** Options of {@link runAmi}. */
export interface AmiOptions {
  /** The config's regions, primary first. */
  readonly regions: readonly string[];
  /** The CDK app's cdk.json (its `context` holds the pin). */
  readonly cdkJson: string;
  /** Pin this release, or the newest (`latest`). @default - only show */
  readonly pin?: string;
}

/** What `runAmi` found (and did). */
export interface AmiResult {
  /** The release in force before: the context value, else the package's. */
  readonly pinned: string;
  readonly pinnedFrom: 'cdk.json' | 'package default';
  /** The newest release AWS publishes (in the primary region). */
  readonly latest: string;
  /** The release checked in every region (the pin asked for, else the current one). */
  readonly checked: string;
  /** Regions missing the checked release, per architecture. */
  readonly missing: readonly string[];
  /** True when cdk.json was written. */
  readonly wrote: boolean;
}

const RELEASE = /^2023\.\d+\.\d{8}\.\d+$/;
const ARCHES = ['arm64', 'x86_64'] as const;

/** Throws a usage error unless `pin` is `latest` or a release (`s2m ami --pin`); checked before anything is read. */
export function checkPin(pin: string | undefined): void {
  if (pin !== undefined && pin !== 'latest' && !RELEASE.test(pin)) throw new CliError(`--pin must be "latest" or a release like ${FLEET_DEFAULTS.al2023Release} (got: ${pin})`, ExitCode.usage);
}

/** Shows the pin and the newest release; with `pin`, checks the release in every region and writes it to cdk.json. */
export async function runAmi(deps: AmiDeps, o: AmiOptions): Promise<AmiResult> {
  checkPin(o.pin);
  const retry = { clock: deps.clock, ...(deps.random ? { random: deps.random } : {}) };
  let text: string;
  let bom: string;
  try {
    const read = deps.readFile(o.cdkJson);
    // A byte-order mark is skipped, and kept in the file.
    text = withoutByteOrderMark(read);
    bom = read.slice(0, read.length - text.length);
  } catch (e) {
    throw new CliError(`cannot read ${o.cdkJson}: ${(e as Error).message.split('\n')[0]} (run s2m ami where the CDK app's cdk.json is, or give --cdk-json)`, ExitCode.config);
  }
  const syntax = jsonSyntaxError(text);
  if (syntax) throw new CliError(`${o.cdkJson} is not valid JSON: ${syntax}`, ExitCode.config);
  const cdk = JSON.parse(text) as { context?: Record<string, unknown> } & Record<string, unknown>;
  const { duplicates } = parseJsonText(text);
  if (typeof cdk !== 'object' || cdk === null || Array.isArray(cdk)) throw new CliError(`${o.cdkJson} is not a JSON object`, ExitCode.config);
  // JSON.parse keeps a repeated key's last value: the pin would be read from, and written over, one of two.
  if (duplicates.length > 0) {
    throw new CliError(`${o.cdkJson} repeats a key (${duplicates.map((d) => `${d.path}, lines ${d.firstLine} and ${d.line}`).join('; ')}): JSON keeps only the last value; keep one`, ExitCode.config);
  }
  const fromContext = cdk.context?.[AL2023_RELEASE_CONTEXT_KEY];
  const pinned = typeof fromContext === 'string' ? fromContext : FLEET_DEFAULTS.al2023Release;

  const describe = (region: string, name: string) => withRetry(() => deps.ec2(region).send(new DescribeImagesCommand({
    Owners: ['amazon'],
    Filters: [{ Name: 'name', Values: [name] }, { Name: 'state', Values: ['available'] }],
    IncludeDeprecated: true,
  })), retry).catch((e: unknown) => {
    throw classifyAwsError(e, { region, action: 'ec2:DescribeImages' });
  });

  const primary = o.regions[0];
  const newest = (await describe(primary, 'al2023-ami-2023.*-kernel-6.1-arm64')).Images ?? [];
  const names = newest.map((i) => i.Name ?? '').filter((n) => /^al2023-ami-2023\.\d+\.\d{8}\.\d+-kernel-6\.1-arm64$/.test(n));
  const latest = names.map((n) => n.slice('al2023-ami-'.length, -'-kernel-6.1-arm64'.length)).sort(compareReleases).pop();
  if (!latest) throw new CliError(`no Amazon Linux 2023 image found in ${primary}`, ExitCode.aws);

  const wanted = o.pin === 'latest' ? latest : o.pin;
  const checked = wanted ?? pinned;
  const missing: string[] = [];
  await Promise.all(o.regions.flatMap((region) => ARCHES.map(async (arch) => {
    const found = (await describe(region, `al2023-ami-${checked}-kernel-6.1-${arch}`)).Images ?? [];
    if (found.length === 0) missing.push(`${region} (${arch})`);
  })));
  missing.sort();

  let wrote = false;
  if (wanted !== undefined) {
    if (missing.length > 0) throw new CliError(`release ${wanted} is missing in ${missing.join(', ')}: not pinned`, ExitCode.aws);
    if (wanted !== pinned || fromContext === undefined) {
      // Only the pin changes: every other byte of the file (layout, key order) is kept.
      deps.writeFile(o.cdkJson, bom + patchText(text, cdk, { ...cdk, context: { ...cdk.context, [AL2023_RELEASE_CONTEXT_KEY]: wanted } }));
      wrote = true;
    }
  }
  return { pinned, pinnedFrom: fromContext === undefined ? 'package default' : 'cdk.json', latest, checked, missing, wrote };
}

/** Orders releases `2023.<minor>.<date>.<n>` numerically. */
export function compareReleases(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The human-readable result. */
export function renderAmi(r: AmiResult, cdkJson: string, pin: string | undefined): string {
  const lines = [
    `Amazon Linux 2023 release of the fleets: ${r.pinned} (${r.pinnedFrom})`,
    `newest release: ${r.latest}${r.latest === r.pinned ? ' (pinned)' : ''}`,
    r.missing.length === 0 ? `release ${r.checked}: in every region of the config` : `release ${r.checked}: missing in ${r.missing.join(', ')}`,
  ];
  if (r.wrote) lines.push(`pinned ${r.checked} in ${cdkJson} (${AL2023_RELEASE_CONTEXT_KEY}): the next deploy rolls every fleet on the default image`);
  else if (pin !== undefined) lines.push(`${r.checked} is already pinned in ${cdkJson}`);
  else if (r.latest !== r.pinned) lines.push('move to it on purpose: npx s2m ami --pin latest (then review, commit and deploy)');
  return `${lines.join('\n')}\n`;
}
