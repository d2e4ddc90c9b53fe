import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { existsSync } from 'node:fs';
import { APPLICATION_PATTERNS, checkImageReference } from '../../../constructs/fleet/application-source';
import { FLEET_DEFAULTS } from '../../../constructs/fleet/defaults';
import { deadLetterRolloutDelaySeconds } from '../../../constructs/work-queue/defaults';
import { at, type Checker, type Obj } from '../check';

/** A golden machine image with the application baked in (`application.image`). */
export interface MachineImageInput {
  /** The AMI id per region (every configured region needs one), e.g. `{ "us-east-1": "ami-0123456789abcdef0" }`. */
  readonly amis?: Record<string, string>;
  /** Or: an SSM parameter that a golden-image pipeline updates with the AMI id (resolved at each deploy). */
  readonly ssmParameter?: string;
  /** The application version the instances report. @default - the AMI id */
  readonly version?: string;
  /** The command that starts the application in the image. @default - the image's own `s2m-app.service` */
  readonly startCommand?: string;
}

/** A `.tar.gz` in S3 (`application.artifact`). */
export interface ArtifactInput {
  /** Bucket name. */
  readonly bucket: string;
  /** Object key. */
  readonly key: string;
  /** The S3 object version to run. Give this or `sha256`. */
  readonly objectVersion?: string;
  /** The artifact's SHA-256 (64 hex digits), checked on the instance. Give this or `objectVersion`. */
  readonly sha256?: string;
  /**
   * ARN of the customer managed KMS key the object is encrypted with (SSE-KMS with a key of your own): the fleets
   * get `kms:Decrypt` on it through S3 in the key's region. Not needed for SSE-S3 or the AWS managed `aws/s3` key.
   * @default - none
   */
  readonly kmsKeyArn?: string;
  /** The command that starts the application, run from the unpacked directory. */
  readonly startCommand: string;
  /** Amazon Linux 2023 packages it needs, e.g. `["nodejs22"]`. @default - none */
  readonly packages?: string[];
}

/** A local directory or file uploaded as a CDK asset (`application.asset`). */
export interface AssetInput {
  /** Path, relative to where `cdk synth` runs. */
  readonly path: string;
  /** The command that starts the application. */
  readonly startCommand: string;
  /** Amazon Linux 2023 packages it needs. @default - none */
  readonly packages?: string[];
}

/** A Node.js entry point bundled at synth with esbuild (`application.nodejs`). */
export interface NodejsInput {
  /** The entry file, relative to where `cdk synth` runs, e.g. `examples/shop/src/web.ts`. */
  readonly entry: string;
  /** Node.js major: 20 or 22. @default 22 */
  readonly nodeVersion?: number;
  /** Arguments after the bundle. @default - none */
  readonly args?: string[];
  /** More packages. @default - none */
  readonly packages?: string[];
}

/** A container image (`application.container`). */
export interface ContainerInput {
  /** `registry/repository:tag` or `registry/repository@sha256:…` (not `latest`). */
  readonly image: string;
  /** The port the container listens on (required for a web service). */
  readonly port?: number;
}

/** What a fleet runs: exactly one source. @default - the placeholder (web: an HTTP server; workers: a sleep loop) */
export interface ApplicationInput {
  readonly image?: MachineImageInput;
  readonly artifact?: ArtifactInput;
  readonly asset?: AssetInput;
  readonly nodejs?: NodejsInput;
  readonly container?: ContainerInput;
}

/** A resolved application source (one kind). */
export type ApplicationConfig =
  | { readonly kind: 'image'; readonly amis?: Readonly<Record<string, string>>; readonly ssmParameter?: string; readonly version?: string; readonly startCommand?: string }
  | { readonly kind: 'artifact'; readonly bucket: string; readonly key: string; readonly objectVersion?: string; readonly sha256?: string; readonly kmsKeyArn?: string; readonly startCommand: string; readonly packages: string[] }
  | { readonly kind: 'asset'; readonly path: string; readonly startCommand: string; readonly packages: string[] }
  | { readonly kind: 'nodejs'; readonly entry: string; readonly nodeVersion: 20 | 22; readonly args: string[]; readonly packages: string[] }
  | { readonly kind: 'container'; readonly image: string; readonly port?: number };

/** How a new version rolls out over a fleet (`rollout`). */
export interface RolloutInput {
  /** Share of the desired capacity kept in service during an instance refresh (0-100). @default 100 */
  readonly minHealthyPercent?: number;
  /** Most the group may hold during it, % of desired (100-200). @default 125 */
  readonly maxHealthyPercent?: number;
  /** Pause after these shares are replaced (ascending, ending with 100); `[]` for none. @default [25, 100] */
  readonly checkpointPercentages?: number[];
  /** Seconds each checkpoint pause lasts. @default 300 */
  readonly checkpointDelaySeconds?: number;
  /** Roll back on the fleet's alarms (web: 5xx rate and unhealthy targets; workers: dead letters). @default true */
  readonly rollbackOnAlarms?: boolean;
}

/** `rollout` with its defaults resolved. */
export interface RolloutConfig {
  readonly minHealthyPercent: number;
  readonly maxHealthyPercent: number;
  readonly checkpointPercentages: number[];
  readonly checkpointDelaySeconds: number;
  readonly rollbackOnAlarms: boolean;
}

const KINDS = ['image', 'artifact', 'asset', 'nodejs', 'container'] as const;
const AMI_ID = /^ami-([0-9a-f]{8}|[0-9a-f]{17})$/;
const SSM_NAME = /^(\/[A-Za-z0-9_.-]+)+$|^[A-Za-z0-9_.-]+$/;
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** A KMS key ARN (not an alias: a grant on an alias does not cover the key). */
const KMS_KEY_ARN = /^arn:aws(-[a-z]+)*:kms:[a-z]{2}(-[a-z]+)+-\d:\d{12}:key\/[A-Za-z0-9-]{1,128}$/;
const VERSION = /^[A-Za-z0-9_.:+-]{1,128}$/;
const { package: PACKAGE, s3Key: S3_KEY, sha256: SHA256, objectVersion: OBJECT_VERSION, argument: ARG } = APPLICATION_PATTERNS;

/** What a fleet's application is checked against. */
export interface ApplicationContext {
  /** `web` needs a container port. */
  readonly role: 'web' | 'worker';
  /** Every configured region (each needs an AMI in `image.amis`). */
  readonly regions: readonly string[];
}

/**
 * Validates an `application` block: exactly one source, each with the fields it needs. Every problem is
 * recorded on `c` with the field's path; `undefined` means the placeholder.
 */
export function resolveApplication(c: Checker, path: string, raw: unknown, ctx: ApplicationContext): ApplicationConfig | undefined {
  const o = c.object(path, raw, KINDS);
  if (!o) return undefined;
  const given = KINDS.filter((k) => o[k] !== undefined);
  if (given.length !== 1) {
    return c.fail(path, `give exactly one of ${KINDS.join(', ')}${given.length === 0 ? '' : ' (two sources at once)'}`, given);
  }
  const kind = given[0];
  const p = at(path, kind);
  switch (kind) {
    case 'image': return machineImage(c, p, o.image, ctx);
    case 'artifact': return artifact(c, p, o.artifact);
    case 'asset': return asset(c, p, o.asset);
    case 'nodejs': return nodejs(c, p, o.nodejs);
    default: return container(c, p, o.container, ctx);
  }
}

function machineImage(c: Checker, p: string, raw: unknown, ctx: ApplicationContext): ApplicationConfig | undefined {
  const o = c.object(p, raw, ['amis', 'ssmParameter', 'version', 'startCommand'], true);
  if (!o) return undefined;
  const version = c.string(at(p, 'version'), o.version, { pattern: VERSION, what: 'a version label of A-Z a-z 0-9 _ . : + -' });
  const startCommand = start(c, at(p, 'startCommand'), o.startCommand, false);
  if ((o.amis === undefined) === (o.ssmParameter === undefined)) return c.fail(p, 'give exactly one of amis, ssmParameter', Object.keys(o).filter((k) => k === 'amis' || k === 'ssmParameter'));
  if (o.ssmParameter !== undefined) {
    const ssmParameter = c.string(at(p, 'ssmParameter'), o.ssmParameter, { pattern: SSM_NAME, what: 'an SSM parameter name like /golden/web/ami' });
    return ssmParameter === undefined ? undefined : { kind: 'image', ssmParameter, ...opt({ version, startCommand }) };
  }
  const map = c.object(at(p, 'amis'), o.amis, [...ctx.regions]);
  if (!map) return undefined;
  const amis: Record<string, string> = {};
  for (const [region, ami] of Object.entries(map)) {
    const id = c.string(at(at(p, 'amis'), region), ami, { required: true, pattern: AMI_ID, what: 'an AMI id like ami-0123456789abcdef0' });
    if (id !== undefined) amis[region] = id;
  }
  for (const region of ctx.regions) {
    if (map[region] === undefined) c.fail(at(p, 'amis'), `has no AMI for region ${region}: an AMI is regional, copy it there (aws ec2 copy-image) and list it`, map);
  }
  return { kind: 'image', amis, ...opt({ version, startCommand }) };
}

function artifact(c: Checker, p: string, raw: unknown): ApplicationConfig | undefined {
  const o = c.object(p, raw, ['bucket', 'key', 'objectVersion', 'sha256', 'kmsKeyArn', 'startCommand', 'packages'], true);
  if (!o) return undefined;
  const bucket = c.string(at(p, 'bucket'), o.bucket, { required: true, pattern: BUCKET, what: 'an S3 bucket name' });
  const key = c.string(at(p, 'key'), o.key, { required: true, pattern: S3_KEY, what: 'an S3 key of A-Z a-z 0-9 / _ . + = @ : -' });
  const objectVersion = c.string(at(p, 'objectVersion'), o.objectVersion, { pattern: OBJECT_VERSION, what: 'an S3 object version id' });
  const sha256 = c.string(at(p, 'sha256'), o.sha256, { pattern: SHA256, what: '64 lowercase hex digits' });
  const kmsKeyArn = c.string(at(p, 'kmsKeyArn'), o.kmsKeyArn, { pattern: KMS_KEY_ARN, what: 'a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>; not an alias)' });
  if (o.objectVersion === undefined && o.sha256 === undefined) {
    c.fail(p, 'needs objectVersion or sha256: without a version a new upload under the same key would never roll the fleet', o);
  }
  const startCommand = start(c, at(p, 'startCommand'), o.startCommand, true);
  const packages = packageList(c, at(p, 'packages'), o.packages);
  if (bucket === undefined || key === undefined || startCommand === undefined || (objectVersion === undefined && sha256 === undefined)) return undefined;
  return { kind: 'artifact', bucket, key, startCommand, packages, ...opt({ objectVersion, sha256, kmsKeyArn }) };
}

function asset(c: Checker, p: string, raw: unknown): ApplicationConfig | undefined {
  const o = c.object(p, raw, ['path', 'startCommand', 'packages'], true);
  if (!o) return undefined;
  const path = c.string(at(p, 'path'), o.path, { required: true });
  if (path !== undefined && !existsSync(path)) c.fail(at(p, 'path'), 'does not exist (paths are relative to where cdk synth runs)', path);
  const startCommand = start(c, at(p, 'startCommand'), o.startCommand, true);
  const packages = packageList(c, at(p, 'packages'), o.packages);
  if (path === undefined || !existsSync(path) || startCommand === undefined) return undefined;
  return { kind: 'asset', path, startCommand, packages };
}

function nodejs(c: Checker, p: string, raw: unknown): ApplicationConfig | undefined {
  const o = c.object(p, raw, ['entry', 'nodeVersion', 'args', 'packages'], true);
  if (!o) return undefined;
  const entry = c.string(at(p, 'entry'), o.entry, { required: true });
  if (entry !== undefined && !existsSync(entry)) c.fail(at(p, 'entry'), 'does not exist (paths are relative to where cdk synth runs)', entry);
  const nodeVersion = c.number(at(p, 'nodeVersion'), o.nodeVersion, { integer: true }) ?? 22;
  if (nodeVersion !== 20 && nodeVersion !== 22) c.fail(at(p, 'nodeVersion'), 'must be 20 or 22 (the Node.js packages of Amazon Linux 2023)', nodeVersion);
  const args = (c.array(at(p, 'args'), o.args) ?? []).map((a, i) => c.string(at(at(p, 'args'), i), a, { required: true, pattern: ARG, what: 'a plain word' }));
  const packages = packageList(c, at(p, 'packages'), o.packages);
  if (entry === undefined || !existsSync(entry) || (nodeVersion !== 20 && nodeVersion !== 22) || args.some((a) => a === undefined)) return undefined;
  return { kind: 'nodejs', entry, nodeVersion, args: args as string[], packages };
}

function container(c: Checker, p: string, raw: unknown, ctx: ApplicationContext): ApplicationConfig | undefined {
  const o = c.object(p, raw, ['image', 'port'], true);
  if (!o) return undefined;
  let image = c.string(at(p, 'image'), o.image, { required: true });
  const problem = image === undefined ? undefined : checkImageReference(image);
  if (problem) image = c.fail(at(p, 'image'), problem, image);
  const port = c.number(at(p, 'port'), o.port, { integer: true, min: 1, max: 65535 });
  if (ctx.role === 'web' && o.port === undefined) c.fail(at(p, 'port'), 'is required for a web service: the port the container listens on', o.port);
  if (image === undefined || (ctx.role === 'web' && port === undefined)) return undefined;
  return { kind: 'container', image, ...opt({ port }) };
}

/**
 * Validates a `rollout` block and fills in the defaults (the `Fleet` construct's; a worker fleet rolled back on its
 * dead-letter alarm gets the `WorkerFleet`'s: one checkpoint at 100 %, long enough for the alarm to see a failing
 * version, from its queue's `maxReceiveCount` and visibility timeout).
 */
export function resolveRollout(c: Checker, p: string, raw: unknown, queue?: { maxReceiveCount: number; visibilityTimeoutSeconds: number }): RolloutConfig {
  const o: Obj = c.object(p, raw, ['minHealthyPercent', 'maxHealthyPercent', 'checkpointPercentages', 'checkpointDelaySeconds', 'rollbackOnAlarms']) ?? {};
  const minHealthyPercent = c.number(at(p, 'minHealthyPercent'), o.minHealthyPercent, { integer: true, min: 0, max: 100 }) ?? FLEET_DEFAULTS.minHealthyPercentage;
  const maxHealthyPercent = c.number(at(p, 'maxHealthyPercent'), o.maxHealthyPercent, { integer: true, min: 100, max: 200 }) ?? FLEET_DEFAULTS.maxHealthyPercentage;
  if (maxHealthyPercent - minHealthyPercent > 100) c.fail(at(p, 'maxHealthyPercent'), `may be at most 100 above minHealthyPercent (${minHealthyPercent})`, maxHealthyPercent);
  const rollbackOnAlarms = c.boolean(at(p, 'rollbackOnAlarms'), o.rollbackOnAlarms) ?? true;
  const watchedWorkers = queue !== undefined && rollbackOnAlarms;
  const list = c.array(at(p, 'checkpointPercentages'), o.checkpointPercentages);
  const checkpointPercentages = list ? list.map((v, i) => c.number(at(at(p, 'checkpointPercentages'), i), v, { required: true, integer: true, min: 1, max: 100 }) ?? 100) : watchedWorkers ? [100] : [...FLEET_DEFAULTS.checkpointPercentages];
  if (checkpointPercentages.some((v, i) => i > 0 && v <= checkpointPercentages[i - 1])) c.fail(at(p, 'checkpointPercentages'), 'must be ascending', checkpointPercentages);
  if (checkpointPercentages.length > 0 && checkpointPercentages[checkpointPercentages.length - 1] !== 100) {
    c.fail(at(p, 'checkpointPercentages'), 'must end with 100, or the refresh stops before replacing every instance', checkpointPercentages);
  }
  const checkpointDelaySeconds = c.number(at(p, 'checkpointDelaySeconds'), o.checkpointDelaySeconds, { integer: true, min: 0, max: 172800 })
    ?? (watchedWorkers ? deadLetterRolloutDelaySeconds(queue.maxReceiveCount, queue.visibilityTimeoutSeconds) : FLEET_DEFAULTS.checkpointDelay.toSeconds());
  return { minHealthyPercent, maxHealthyPercent, checkpointPercentages, checkpointDelaySeconds, rollbackOnAlarms };
}

function start(c: Checker, p: string, raw: unknown, required: boolean): string | undefined {
  const s = c.string(p, raw, { required });
  if (s !== undefined && (s.trim() === '' || /[\r\n]/.test(s))) return c.fail(p, 'must be one non-empty line', s);
  return s;
}

function packageList(c: Checker, p: string, raw: unknown): string[] {
  return (c.array(p, raw) ?? [])
    .map((v, i) => c.string(at(p, i), v, { required: true, pattern: PACKAGE, what: 'an Amazon Linux package name like nodejs22' }))
    .filter((v): v is string => v !== undefined);
}

/** The CPU architecture aws-cdk-lib reads from an instance type's name (undefined when it cannot tell). */
function architectureOf(instanceType: string): string | undefined {
  try {
    return new ec2.InstanceType(instanceType).architecture;
  } catch {
    return undefined;
  }
}

/** The defined entries of `o`. */
function opt<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The fleet settings a web service and a queue's workers share (`application`, `rollout`...). */
export interface FleetFieldsInput {
  /** What the fleet runs. @default - the placeholder */
  readonly application?: ApplicationInput;
  /**
   * More EC2 instance types, in order of preference, for when `instanceType` has no capacity (same
   * architecture; not with a warm pool).
   * @default - none
   */
  readonly additionalInstanceTypes?: string[];
  /** Days to keep the fleet's application logs. @default 30 */
  readonly logRetentionDays?: number;
  /** How a new version rolls out. @default - see `RolloutInput` */
  readonly rollout?: RolloutInput;
  /**
   * What the fleet's instances may connect to: `all`, any address on any port; `https`, TCP 443 to any IPv4
   * address plus the ports of the database (cluster and proxy), shards and cache the fleet is granted, nothing else
   * (`FleetProps.allowAllOutbound: false`).
   * @default 'all'
   */
  readonly egress?: FleetEgress;
}

/** What a fleet's instances may connect to (see {@link FleetFieldsInput.egress}). */
export type FleetEgress = 'all' | 'https';

/** The values of {@link FleetEgress}. */
export const FLEET_EGRESS: readonly FleetEgress[] = ['all', 'https'];

/** The shared fleet settings, resolved. */
export interface FleetFieldsConfig {
  readonly application?: ApplicationConfig;
  readonly additionalInstanceTypes: string[];
  readonly logRetentionDays: number;
  readonly rollout: RolloutConfig;
  readonly egress: FleetEgress;
}

/** Keys of {@link FleetFieldsInput}, for the section's allowed keys. */
export const FLEET_FIELD_KEYS = ['application', 'additionalInstanceTypes', 'logRetentionDays', 'rollout', 'egress'] as const;

/** What the shared fleet settings are checked against. */
export interface FleetFieldsContext extends ApplicationContext {
  /** The fleet's (first) instance type, once valid. */
  readonly instanceType?: string;
  /** The EC2 instance type pattern of the config. */
  readonly instanceTypePattern: RegExp;
  /** The fleet has a warm pool (which excludes more instance types). */
  readonly warmPool: boolean;
  /** A worker fleet's queue, for its rollout's defaults. */
  readonly queue?: { readonly maxReceiveCount: number; readonly visibilityTimeoutSeconds: number };
}

/** Validates the shared fleet settings of `o` (a service, or a queue's `workers`). */
export function resolveFleetFields(c: Checker, p: string, o: Obj, ctx: FleetFieldsContext): FleetFieldsConfig {
  const application = resolveApplication(c, at(p, 'application'), o.application, ctx);
  const types = (c.array(at(p, 'additionalInstanceTypes'), o.additionalInstanceTypes, { max: 39 }) ?? [])
    .map((t, i) => c.string(at(at(p, 'additionalInstanceTypes'), i), t, { required: true, pattern: ctx.instanceTypePattern, what: 'an EC2 instance type like m6g.large' }));
  const additionalInstanceTypes = types.filter((t): t is string => t !== undefined);
  if (ctx.instanceType !== undefined && additionalInstanceTypes.length > 0) {
    const arch = architectureOf(ctx.instanceType);
    additionalInstanceTypes.forEach((t, i) => {
      if (t === ctx.instanceType || additionalInstanceTypes.indexOf(t) !== i) c.fail(at(at(p, 'additionalInstanceTypes'), i), 'repeats an instance type', t);
      const other = architectureOf(t);
      if (arch && other && other !== arch) c.fail(at(at(p, 'additionalInstanceTypes'), i), `must share instanceType's architecture (${ctx.instanceType}: ${arch}), since one AMI serves them all (${other})`, t);
    });
  }
  if (ctx.warmPool && additionalInstanceTypes.length > 0) {
    c.fail(at(p, 'warmPool'), 'excludes additionalInstanceTypes: Auto Scaling rejects a warm pool on a group with several instance types', additionalInstanceTypes);
  }
  const logRetentionDays = c.number(at(p, 'logRetentionDays'), o.logRetentionDays, { integer: true, min: 1, max: 3653 }) ?? 30;
  const rollout = resolveRollout(c, at(p, 'rollout'), o.rollout, ctx.queue);
  const egress = (c.string(at(p, 'egress'), o.egress, { oneOf: FLEET_EGRESS }) ?? 'all') as FleetEgress;
  return { ...(application ? { application } : {}), additionalInstanceTypes, logRetentionDays, rollout, egress };
}
