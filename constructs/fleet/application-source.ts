import { ArnFormat, AssetHashType, Stack, Token } from 'aws-cdk-lib/core';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Construct } from 'constructs';
import { ENV_FILE } from '../../lib/runtime/contract';
import { bundleNodeEntryForApp } from '../common/bundle';
import { validationError } from '../common/errors';
import { checkPort } from '../common/ports';
import { INSTANCE_PATHS } from './defaults';

/** What a fleet runs: a web service behind the load balancer, or a queue's workers. */
export type FleetRole = 'web' | 'worker';

/** What an {@link ApplicationSource} is told about the fleet it is bound to. */
export interface ApplicationBindOptions {
  /** The fleet's instance role: the source grants it exactly the read it needs. */
  readonly grantee: iam.IGrantable;
  /** The architecture of the fleet's instance types. */
  readonly cpuType: ec2.AmazonLinuxCpuType;
  /** Web service or worker. */
  readonly role: FleetRole;
  /** The port a web service listens on (and a container's host port). @default - none (workers) */
  readonly port?: number;
}

/** How the fleet's user data puts an application on an instance; produced by {@link ApplicationSource.bind}. */
export interface ApplicationSourceConfig {
  /** A short name of the source kind, for descriptions (`artifact`, `container`...). */
  readonly kind: string;
  /** The machine image. @default - the fleet's pinned Amazon Linux 2023 */
  readonly machineImage?: ec2.IMachineImage;
  /** `S2M_APP_VERSION`. @default - the instance's AMI id, read at boot */
  readonly version?: string;
  /** Amazon Linux packages the application needs (`dnf install`). */
  readonly packages: readonly string[];
  /** Values the install commands read from the fleet's settings file (`KEY='value'`, no secrets). */
  readonly settings: Readonly<Record<string, string>>;
  /** Extra variables of the application's environment file (`KEY=value`, no secrets). */
  readonly environment: Readonly<Record<string, string>>;
  /** Bash lines (run as root, `set -euo pipefail`) that put the application under `/opt/s2m/app`. */
  readonly install: readonly string[];
  /**
   * The one-line command the application's systemd unit runs from `/opt/s2m/app` (`exec` is prepended).
   * @default - the image brings its own `s2m-app.service`; the fleet adds only its environment and logging
   */
  readonly startCommand?: string;
  /** Run the unit as root (a container runtime's client), not as the unprivileged `s2m-app` user. @default false */
  readonly runAsRoot?: boolean;
  /**
   * The name of the Docker container `startCommand` runs: the unit then removes a leftover container of that name
   * before it starts and stops the container itself (`docker stop`), not only its client, when it stops.
   * @default - no container
   */
  readonly containerName?: string;
  /** The instance metadata hop limit (2 lets a container reach IMDSv2 through the bridge). @default 1 */
  readonly httpPutResponseHopLimit?: number;
  /**
   * The port the application itself listens on where it runs, which the environment file gives it as `S2M_PORT`,
   * when that is not the fleet's port: a container's port, onto which the instance publishes the fleet's port. The
   * fleet's readiness check and the load balancer keep using the fleet's port.
   * @default - the fleet's port
   */
  readonly applicationPort?: number;
}

/** Options shared by the sources that install files and start a command. */
export interface StartOptions {
  /**
   * The command that starts the application, one line, run by bash from `/opt/s2m/app` as the unprivileged
   * `s2m-app` user, with the environment file's variables set (e.g. `/usr/bin/node-22 server.js`).
   */
  readonly startCommand: string;
  /** Amazon Linux 2023 packages to install first, e.g. `['nodejs22']`. @default - none */
  readonly packages?: string[];
}

/** Properties of {@link ApplicationSource.artifact}. */
export interface ArtifactProps extends StartOptions {
  /** The bucket holding the artifact. */
  readonly bucket: s3.IBucket;
  /** The object key of a `.tar.gz` with the application at its root. */
  readonly key: string;
  /**
   * The S3 object version to download (a versioned bucket). Give this or `sha256`.
   * @default - the current object, checked against `sha256`
   */
  readonly objectVersion?: string;
  /**
   * The artifact's SHA-256 (64 hex digits); the instance refuses an artifact that does not match. Give this or
   * `objectVersion`.
   * @default - not checked (the object version pins it)
   */
  readonly sha256?: string;
  /**
   * The KMS key the object is encrypted with, when it is a customer managed key: `kms:Decrypt` is granted through S3
   * in the key's region (the bucket's), e.g. `kms.Key.fromKeyArn(this, 'ReleaseKey', arn)` for a bucket elsewhere.
   * @default - none needed
   */
  readonly encryptionKey?: kms.IKey;
}

/** Properties of {@link ApplicationSource.fromAsset}. */
export type AssetSourceProps = StartOptions;

/** Properties of {@link ApplicationSource.nodejs}. */
export interface NodejsSourceProps {
  /** The entry file (`.ts` or `.js`), absolute or relative to the working directory of `cdk synth`. */
  readonly entry: string;
  /** The Node.js major (Amazon Linux 2023 package `nodejs<major>`). @default 22 */
  readonly nodeMajor?: 20 | 22;
  /** Arguments after the bundle, e.g. `['--port', '8080']`. @default - none */
  readonly args?: string[];
  /** Further packages. @default - none */
  readonly packages?: string[];
  /** Where bundles are cached between synths. @default - the OS temp directory */
  readonly cacheDir?: string;
}

/** Properties of {@link ApplicationSource.container}. */
export interface ContainerSourceProps {
  /**
   * The image: `registry/repository:tag` or `registry/repository@sha256:<digest>` (an ECR image is pulled with
   * the fleet's role, which is granted that repository only). A floating `latest` is refused: a new image
   * under the same tag would never roll the fleet.
   */
  readonly image: string;
  /**
   * The port the container listens on: the instance publishes the fleet's port onto it, and the container's
   * environment file says `S2M_PORT=<containerPort>`. Required for a web service.
   * @default - none (nothing is published)
   */
  readonly containerPort?: number;
}

/** Properties of {@link ApplicationSource.machineImage}. */
export interface MachineImageSourceProps {
  /** The image, with the application baked in. */
  readonly image: ec2.IMachineImage;
  /** The application version shown in `S2M_APP_VERSION`. @default - the AMI id, read at boot */
  readonly version?: string;
  /**
   * The command that starts the application (it is in the image), as for an artifact.
   * @default - the image has its own `s2m-app.service` unit; the fleet adds its environment and logging to it
   */
  readonly startCommand?: string;
}

/** Properties of {@link ApplicationSource.inline}. */
export interface InlineSourceProps extends StartOptions {
  /** Files (relative path → text) written under `/opt/s2m/app`. Keep them small: user data holds 16 KB. */
  readonly files: Record<string, string>;
  /** Extra environment variables (not secrets). @default - none */
  readonly environment?: Record<string, string>;
  /** The version shown in `S2M_APP_VERSION`. @default - a hash of the files and the command */
  readonly version?: string;
}

/** What application source fields must look like (the config checks them with the same patterns). */
export const APPLICATION_PATTERNS = {
  /** An Amazon Linux package name. */
  package: /^[a-z0-9][a-z0-9+._-]*$/,
  /** An S3 key the user data can pass around unquoted-safe. */
  s3Key: /^[A-Za-z0-9/_.+=@:-]{1,1024}$/,
  /** A SHA-256 in hex. */
  sha256: /^[a-f0-9]{64}$/,
  /** An S3 object version id. */
  objectVersion: /^[A-Za-z0-9._-]{1,1024}$/,
  /** An argument of a start command built by the construct. */
  argument: /^[A-Za-z0-9_./:=@+,-]*$/,
} as const;

const PACKAGE = APPLICATION_PATTERNS.package;
const S3_KEY = APPLICATION_PATTERNS.s3Key;
const SHA256 = APPLICATION_PATTERNS.sha256;
const OBJECT_VERSION = APPLICATION_PATTERNS.objectVersion;
const RELATIVE_FILE = /^[A-Za-z0-9_][A-Za-z0-9_./-]*$/;
/** registry/repo[:tag][@sha256:digest], the registry optional (Docker Hub). */
const IMAGE_REF = /^(?:([a-z0-9.-]+(?::\d+)?)\/)?([a-z0-9]+(?:[._/-][a-z0-9]+)*)(?::([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$/;
const ECR_REGISTRY = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/;
/** The container a container source runs. */
const CONTAINER_NAME = 's2m-app';
/** The directory of the fleet's files on an instance (the environment file, the RDS certificate bundle). */
const CONFIG_DIR = dirname(ENV_FILE);
/** A terminator no line of a start command may equal (it goes into a quoted heredoc). */
const HEREDOC = 'S2M_EOF';

/**
 * What a fleet runs and how it gets onto the instances: exactly one of a machine image with the application
 * baked in, an artifact in S3 (or a local directory or a Node.js entry point uploaded as a CDK asset), or a
 * container image, each installed by the fleet's user data as a systemd service `s2m-app` that restarts on
 * failure. Each source grants the fleet's role exactly the read it needs, and a new version changes the
 * fleet's launch template, and so rolls that fleet (and nothing else) through its instance refresh.
 */
export abstract class ApplicationSource {
  /**
   * A `.tar.gz` in S3, pinned by object version or SHA-256 (an artifact without either is refused: a new
   * upload under the same key would never roll the fleet). The role may `GetObject` that key only.
   */
  public static artifact(props: ArtifactProps): ApplicationSource {
    return new ArtifactSource(props);
  }

  /**
   * A local directory (zipped) or file (`.tar.gz`, `.zip` or a single file) uploaded as a CDK asset; its
   * content hash is its version. The role may `GetObject` that asset object only. Files keep their Unix modes
   * (a `./server` binary or `./start.sh` stays executable; setuid, setgid and group or world write are dropped),
   * and a single file is executable on the instances when it is executable where `cdk synth` runs.
   */
  public static fromAsset(path: string, props: AssetSourceProps): ApplicationSource {
    return new AssetSource(path, props);
  }

  /**
   * A Node.js entry point bundled at synth by esbuild (locally, no Docker) into one file, uploaded as a CDK
   * asset and run with the AL2023 `nodejs<major>` package. The bundle is cached by the content of every file
   * it includes, so the asset, and the fleet, change only when the application's source changes.
   */
  public static nodejs(props: NodejsSourceProps): ApplicationSource {
    return new NodejsSource(props);
  }

  /** A container image run by Docker (installed by the user data) in the foreground of `s2m-app`. */
  public static container(props: ContainerSourceProps): ApplicationSource {
    return new ContainerSource(props);
  }

  /** A machine image with the application baked in (a golden AMI). */
  public static machineImage(props: MachineImageSourceProps): ApplicationSource {
    return new MachineImageSource(props);
  }

  /** A few small files and a command (the reference app's placeholders are made this way). */
  public static inline(props: InlineSourceProps): ApplicationSource {
    return new InlineSource(props);
  }

  /** Validates the source against the fleet, grants the fleet's role, and returns how to install it. */
  public abstract bind(scope: Construct, options: ApplicationBindOptions): ApplicationSourceConfig;
}

/**
 * Extracts a zip (`extract-zip <zip> <directory>`) restoring each file's Unix mode, which `python3 -m zipfile -e`
 * drops, so `./server` or `./start.sh` stays executable. The mode comes from the entry's external attributes when
 * the zip was made on Unix: the CDK CLI zips a directory asset with each file's `stat` mode that way (yazl,
 * "made by" Unix, files only, symbolic links followed), and so do `zip` and most other tools. Never setuid, setgid,
 * sticky or group- or world-writable; an entry without a Unix mode (a zip made on Windows) gets the default, not
 * executable. Paths cannot leave the directory (`ZipFile.extract` drops absolute and `..` parts); a symbolic link
 * (`zip -y`) is made last, and only when it resolves inside the directory (the directory itself included): checked
 * before it is made, and once all are made (a link through another link), removing a refused one; a refusal fails
 * the bootstrap. Python 3.9 (Amazon Linux 2023).
 */
export const EXTRACT_ZIP_SCRIPT = `#!/usr/bin/python3
# Extracts a zip into a directory with each file's Unix mode (no setuid/setgid/sticky, no group or world write).
import os, stat, sys, zipfile
archive, dest = sys.argv[1], os.path.realpath(sys.argv[2])
links = []
with zipfile.ZipFile(archive) as z:
    for info in z.infolist():
        mode = info.external_attr >> 16 if info.create_system == 3 else 0
        path = z.extract(info, dest)
        if stat.S_ISLNK(mode):
            with open(path) as f:
                links.append((info.filename, path, f.read()))
            os.remove(path)
        elif not info.is_dir() and stat.S_IMODE(mode) and (stat.S_ISREG(mode) or not stat.S_IFMT(mode)):
            os.chmod(path, stat.S_IMODE(mode) & 0o755)
def inside(p):
    return p == dest or p.startswith(dest + os.sep)
for name, path, target in links:
    if not inside(os.path.realpath(os.path.join(os.path.dirname(path), target))):
        sys.exit(f"extract-zip: {name} links outside {dest} (to {target}): refused")
    os.symlink(target, path)
for name, path, target in links:
    if not inside(os.path.realpath(path)):
        os.remove(path)
        sys.exit(f"extract-zip: {name} links outside {dest} (to {target}, through another link): refused")
`;

/**
 * The lines that unpack the artifact downloaded to `/tmp/s2m-artifact` into the app directory, then remove it: `/tmp`
 * is memory (tmpfs) on Amazon Linux 2023, and an artifact left there would hold its size of the instance's memory for
 * as long as the instance runs.
 */
function unpack(kind: 'tar.gz' | 'zip' | 'file', fileName: string, executable = false): string[] {
  const app = INSTANCE_PATHS.appDir;
  const remove = 'rm -f /tmp/s2m-artifact';
  if (kind === 'tar.gz') return [`tar -xzf /tmp/s2m-artifact -C ${app}`, remove];
  if (kind === 'zip') {
    const script = `${INSTANCE_PATHS.binDir}/extract-zip`;
    return [`cat > ${script} <<'PY'\n${EXTRACT_ZIP_SCRIPT}PY`, `python3 ${script} /tmp/s2m-artifact ${app}`, remove];
  }
  // A single file carries no mode through S3: it is executable when it was where `cdk synth` ran.
  return [`install -m ${executable ? '0755' : '0644'} /tmp/s2m-artifact ${app}/${fileName}`, remove];
}

class ArtifactSource extends ApplicationSource {
  constructor(private readonly props: ArtifactProps) {
    super();
  }

  public bind(scope: Construct, options: ApplicationBindOptions): ApplicationSourceConfig {
    const p = this.props;
    const where = 'ApplicationSource.artifact';
    if (p.objectVersion === undefined && p.sha256 === undefined) {
      throw validationError(scope, `${where}: give objectVersion or sha256 (got neither): without a version a new upload under the same key would never roll the fleet`);
    }
    if (!Token.isUnresolved(p.key) && !S3_KEY.test(p.key)) throw validationError(scope, `${where}: key must be an S3 key of A-Z a-z 0-9 / _ . + = @ : - (got: ${JSON.stringify(p.key)})`);
    if (p.objectVersion !== undefined && !Token.isUnresolved(p.objectVersion) && !OBJECT_VERSION.test(p.objectVersion)) {
      throw validationError(scope, `${where}: objectVersion must be an S3 version id (got: ${JSON.stringify(p.objectVersion)})`);
    }
    if (p.sha256 !== undefined && !SHA256.test(p.sha256)) throw validationError(scope, `${where}: sha256 must be 64 lowercase hex digits (got: ${JSON.stringify(p.sha256)})`);
    const start = checkStart(scope, where, p);
    grantObjectRead(scope, options.grantee, p.bucket.bucketName, p.key, p.objectVersion !== undefined, p.encryptionKey);
    return {
      kind: 'artifact',
      version: p.objectVersion ?? `sha256:${p.sha256!.slice(0, 12)}`,
      packages: start.packages,
      settings: {
        S2M_ARTIFACT_BUCKET: p.bucket.bucketName,
        S2M_ARTIFACT_KEY: p.key,
        ...(p.objectVersion !== undefined ? { S2M_ARTIFACT_OBJECT_VERSION: p.objectVersion } : {}),
        ...(p.sha256 !== undefined ? { S2M_ARTIFACT_SHA256: p.sha256 } : {}),
      },
      environment: {},
      install: [
        ...download(p.objectVersion !== undefined),
        ...(p.sha256 !== undefined ? ['echo "$S2M_ARTIFACT_SHA256  /tmp/s2m-artifact" | sha256sum --check --strict -'] : []),
        ...unpack('tar.gz', ''),
      ],
      startCommand: start.command,
    };
  }
}

/** `aws s3api get-object` of the artifact named in the settings file. */
function download(withVersion: boolean): string[] {
  return [
    `aws s3api get-object --bucket "$S2M_ARTIFACT_BUCKET" --key "$S2M_ARTIFACT_KEY"${withVersion ? ' --version-id "$S2M_ARTIFACT_OBJECT_VERSION"' : ''} /tmp/s2m-artifact >/dev/null`,
  ];
}

class AssetSource extends ApplicationSource {
  constructor(private readonly path: string, private readonly props: AssetSourceProps) {
    super();
  }

  public bind(scope: Construct, options: ApplicationBindOptions): ApplicationSourceConfig {
    const where = 'ApplicationSource.fromAsset';
    const path = resolve(this.path);
    if (!existsSync(path)) throw validationError(scope, `${where}: path does not exist (got: ${JSON.stringify(this.path)})`);
    const start = checkStart(scope, where, this.props);
    const asset = new s3assets.Asset(scope, 'ApplicationAsset', { path });
    const isDir = statSync(path).isDirectory();
    const name = basename(path);
    const kind = isDir || name.endsWith('.zip') ? 'zip' : /\.(tar\.gz|tgz)$/.test(name) ? 'tar.gz' : 'file';
    const executable = kind === 'file' && (statSync(path).mode & 0o111) !== 0;
    return assetConfig(scope, options, asset, kind, isDir ? '' : name, start, 'asset', executable);
  }
}

class NodejsSource extends ApplicationSource {
  constructor(private readonly props: NodejsSourceProps) {
    super();
  }

  public bind(scope: Construct, options: ApplicationBindOptions): ApplicationSourceConfig {
    const where = 'ApplicationSource.nodejs';
    const major = this.props.nodeMajor ?? 22;
    if (major !== 20 && major !== 22) throw validationError(scope, `${where}: nodeMajor must be 20 or 22, the Node.js packages of Amazon Linux 2023 (got: ${String(major)})`);
    let bundle;
    try {
      bundle = bundleNodeEntryForApp(scope, { entry: this.props.entry, nodeMajor: major, ...(this.props.cacheDir ? { cacheDir: this.props.cacheDir } : {}) });
    } catch (e) {
      throw validationError(scope, `${where}: ${(e as Error).message}`);
    }
    const args = (this.props.args ?? []).map((a) => {
      if (!APPLICATION_PATTERNS.argument.test(a)) throw validationError(scope, `${where}: args must be plain words of A-Z a-z 0-9 _ . / : = @ + , - (got: ${JSON.stringify(a)})`);
      return a;
    });
    const start = checkStart(scope, where, {
      startCommand: [`/usr/bin/node-${major}`, '--enable-source-maps', 'index.js', ...args].join(' '),
      packages: [`nodejs${major}`, ...(this.props.packages ?? [])],
    });
    const asset = new s3assets.Asset(scope, 'ApplicationBundle', { path: bundle.directory, assetHash: bundle.hash, assetHashType: AssetHashType.CUSTOM });
    return assetConfig(scope, options, asset, 'zip', '', start, 'nodejs');
  }
}

function assetConfig(scope: Construct, options: ApplicationBindOptions, asset: s3assets.Asset, kind: 'zip' | 'tar.gz' | 'file', fileName: string,
  start: { command: string; packages: string[] }, label: string, executable = false): ApplicationSourceConfig {
  grantObjectRead(scope, options.grantee, asset.s3BucketName, asset.s3ObjectKey, false);
  return {
    kind: label,
    version: asset.assetHash.slice(0, 12),
    packages: start.packages,
    settings: { S2M_ARTIFACT_BUCKET: asset.s3BucketName, S2M_ARTIFACT_KEY: asset.s3ObjectKey },
    environment: {},
    install: [...download(false), ...unpack(kind, fileName, executable)],
    startCommand: start.command,
  };
}

class ContainerSource extends ApplicationSource {
  constructor(private readonly props: ContainerSourceProps) {
    super();
  }

  public bind(scope: Construct, options: ApplicationBindOptions): ApplicationSourceConfig {
    const where = 'ApplicationSource.container';
    const ref = parseImage(scope, this.props.image);
    const containerPort = this.props.containerPort;
    checkPort(scope, where, 'containerPort', containerPort);
    if (options.role === 'web' && containerPort === undefined) {
      throw validationError(scope, `${where}: a web service's image needs containerPort, the port the container listens on (got: none for ${JSON.stringify(this.props.image)})`);
    }
    const login: string[] = [];
    if (ref.ecr) {
      grantEcrPull(options.grantee, ref.ecr);
      login.push(`aws ecr get-login-password --region "${ref.ecr.region}" | docker login --username AWS --password-stdin "${ref.registry}"`);
    }
    const publish = containerPort !== undefined && options.port !== undefined ? ` -p ${options.port}:${containerPort}` : '';
    return {
      kind: 'container',
      version: ref.digest ?? ref.tag!,
      packages: ['docker'],
      settings: { S2M_IMAGE: this.props.image },
      environment: {},
      install: ['systemctl enable --now docker', ...login, 'docker pull --quiet "$S2M_IMAGE"'],
      // The fleet's files (the environment, the RDS certificate bundle) at the same path inside, read-only.
      startCommand: `/usr/bin/docker run --rm --init --name ${CONTAINER_NAME} --env-file ${ENV_FILE} -v ${CONFIG_DIR}:${CONFIG_DIR}:ro --log-opt max-size=10m${publish} ${this.props.image}`,
      runAsRoot: true,
      containerName: CONTAINER_NAME,
      httpPutResponseHopLimit: 2,
      // Inside, the application listens on its own port; the host side (readiness, load balancer) stays on the fleet's.
      ...(publish !== '' ? { applicationPort: containerPort } : {}),
    };
  }
}

interface ImageReference {
  readonly registry?: string;
  readonly tag?: string;
  readonly digest?: string;
  readonly ecr?: { readonly account: string; readonly region: string; readonly repository: string; readonly partition: string };
}

/**
 * Parses `registry/repository:tag` or `…@sha256:<digest>`; returns the problem as text when the reference is
 * malformed, has neither tag nor digest, or floats (`latest`), since such an image would never roll a fleet.
 */
export function checkImageReference(image: string): string | undefined {
  const m = IMAGE_REF.exec(image);
  if (!m) return 'must look like registry/repository:tag or registry/repository@sha256:<digest>';
  const [, , , tag, digest] = m;
  if (!tag && !digest) return 'needs a tag or a digest, so that a new version rolls the fleet';
  if (tag === 'latest' && !digest) return 'floats ("latest"): a new image under it would never roll the fleet; pin a version tag or a digest';
  return undefined;
}

function parseImage(scope: Construct, image: string): ImageReference {
  const problem = checkImageReference(image);
  if (problem) throw validationError(scope, `ApplicationSource.container: image ${problem} (got: ${JSON.stringify(image)})`);
  const [, registry, repository, tag, digest] = IMAGE_REF.exec(image)!;
  const ecr = registry ? ECR_REGISTRY.exec(registry) : null;
  return {
    ...(registry ? { registry } : {}),
    ...(tag ? { tag } : {}),
    ...(digest ? { digest } : {}),
    ...(ecr ? { ecr: { account: ecr[1], region: ecr[2], repository, partition: ecr[3] ? 'aws-cn' : 'aws' } } : {}),
  };
}

class MachineImageSource extends ApplicationSource {
  constructor(private readonly props: MachineImageSourceProps) {
    super();
  }

  public bind(scope: Construct): ApplicationSourceConfig {
    const start = this.props.startCommand !== undefined ? checkStart(scope, 'ApplicationSource.machineImage', { startCommand: this.props.startCommand }) : undefined;
    return {
      kind: 'machine image',
      machineImage: this.props.image,
      ...(this.props.version !== undefined ? { version: this.props.version } : {}),
      packages: [],
      settings: {},
      environment: {},
      install: [],
      ...(start ? { startCommand: start.command } : {}),
    };
  }
}

class InlineSource extends ApplicationSource {
  constructor(private readonly props: InlineSourceProps) {
    super();
  }

  public bind(scope: Construct): ApplicationSourceConfig {
    const where = 'ApplicationSource.inline';
    const start = checkStart(scope, where, this.props);
    const install: string[] = [];
    const hash = createHash('sha256');
    for (const [file, content] of Object.entries(this.props.files)) {
      if (!RELATIVE_FILE.test(file) || file.split('/').includes('..')) throw validationError(scope, `${where}: files keys must be relative paths under the app directory (got: ${JSON.stringify(file)})`);
      if (Token.isUnresolved(content)) throw validationError(scope, `${where}: files.${file} must be text known at synth; pass deploy-time values through environment`);
      const encoded = Buffer.from(content).toString('base64').replace(/(.{76})/g, '$1\n').trimEnd();
      install.push(`install -d "$(dirname ${INSTANCE_PATHS.appDir}/${file})"`, `base64 -d > ${INSTANCE_PATHS.appDir}/${file} <<'${HEREDOC}'\n${encoded}\n${HEREDOC}`);
      hash.update(file).update('\0').update(content).update('\0');
    }
    hash.update(start.command);
    return {
      kind: 'inline',
      version: this.props.version ?? hash.digest('hex').slice(0, 12),
      packages: start.packages,
      settings: {},
      environment: { ...this.props.environment },
      install,
      startCommand: start.command,
    };
  }
}

/** Checks a start command (one line) and package names. */
function checkStart(scope: Construct, where: string, o: StartOptions): { command: string; packages: string[] } {
  const command = o.startCommand;
  if (Token.isUnresolved(command)) throw validationError(scope, `${where}: startCommand must be known at synth (got a token)`);
  if (command.trim() === '' || /[\r\n]/.test(command) || command.includes(HEREDOC)) {
    throw validationError(scope, `${where}: startCommand must be one non-empty line (got: ${JSON.stringify(command)})`);
  }
  for (const p of o.packages ?? []) {
    if (!PACKAGE.test(p)) throw validationError(scope, `${where}: packages must be Amazon Linux package names (got: ${JSON.stringify(p)})`);
  }
  return { command: command.trim(), packages: [...(o.packages ?? [])] };
}

/** `s3:GetObject` (and `GetObjectVersion`) on one object, and `kms:Decrypt` through S3 when a customer key encrypts it. */
function grantObjectRead(scope: Construct, grantee: iam.IGrantable, bucketName: string, key: string, versioned: boolean, encryptionKey?: kms.IKey): void {
  const stack = Stack.of(scope);
  const objectArn = stack.formatArn({ service: 's3', region: '', account: '', resource: bucketName, resourceName: key, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
  iam.Grant.addToPrincipal({ grantee, actions: versioned ? ['s3:GetObject', 's3:GetObjectVersion'] : ['s3:GetObject'], resourceArns: [objectArn] });
  if (encryptionKey) {
    // Through S3 in the key's region, which is the bucket's (SSE-KMS needs a key of the bucket's region): a release
    // bucket in another region than the fleet's decrypts there.
    const keyRegion = Token.isUnresolved(encryptionKey.env.region) ? stack.region : encryptionKey.env.region;
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['kms:Decrypt'],
      resourceArns: [encryptionKey.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `s3.${keyRegion}.${stack.urlSuffix}` } },
    });
  }
}

/** Pull from one ECR repository; the authorization token has no resource-level permission. */
function grantEcrPull(grantee: iam.IGrantable, ecr: NonNullable<ImageReference['ecr']>): void {
  const repositoryArn = `arn:${ecr.partition}:ecr:${ecr.region}:${ecr.account}:repository/${ecr.repository}`;
  iam.Grant.addToPrincipal({ grantee, actions: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'], resourceArns: [repositoryArn] });
  iam.Grant.addToPrincipal({ grantee, actions: ['ecr:GetAuthorizationToken'], resourceArns: ['*'] });
}
