import { Duration, Stack } from 'aws-cdk-lib/core';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { spawnSync } from 'node:child_process';
import { chownSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Construct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleNodeEntry, bundleNodeEntryForApp } from '../../../constructs/common/bundle';
import { ApplicationSource, Fleet, type FleetProps } from '../../../constructs/fleet';
import { placeholderServer } from '../../../constructs/web-tier';
import { DATABASE_CA_FILE, ENV_FILE } from '../../../lib/runtime/contract';
import { readEnvironment } from '../../../lib/runtime/env';
import { placeholderWorker } from '../../../constructs/work-queue';
import { stackWithVpc } from '../../helpers/app';
import { bashSyntax, embeddedScripts, inlineFiles, renderedUserData, shellcheck } from '../../helpers/user-data';
import { validationErrorOf } from '../../helpers/errors';

const FIXTURES = join(__dirname, '..', '..', 'fixtures');
const ARM = new ec2.InstanceType('m7g.large');
const SHA = 'a'.repeat(64);
const cacheDir = mkdtempSync(join(tmpdir(), 's2m-bundles-'));
afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

/** A fleet running the application `source` makes, in a fresh stack, and its template. */
function fleetWith(source: ApplicationSource | ((scope: Construct) => ApplicationSource), extra: Partial<FleetProps> = {}) {
  const { stack, vpc } = stackWithVpc();
  const application = typeof source === 'function' ? source(stack) : source;
  const fleet = new Fleet(stack, 'Fleet', { vpc, instanceType: ARM, minCapacity: 1, maxCapacity: 3, application, ...extra });
  return { stack, fleet, t: Template.fromStack(stack) };
}

const releases = (scope: Construct) => s3.Bucket.fromBucketName(scope, 'Releases', 'releases');

function statements(t: Template): Array<{ Action: string | string[]; Resource: unknown; Condition?: unknown }> {
  const [policy] = Object.values(t.findResources('AWS::IAM::Policy', { Properties: { PolicyName: Match.stringLikeRegexp('^FleetInstanceRoleDefaultPolicy') } })) as Array<{ Properties: { PolicyDocument: { Statement: Array<{ Action: string | string[]; Resource: unknown }> } } }>;
  return policy.Properties.PolicyDocument.Statement;
}

describe('the user data checks (control)', () => {
  it('catch what they look for', () => {
    expect(shellcheck('#!/bin/bash\necho $1\n')).toMatch(/SC2086/);
    expect(bashSyntax('if then fi')).not.toBe('');
  });
});

// Every source kind's user data, and every script it writes, passes bash -n and shellcheck.
describe.each([
  ['placeholder web server', () => placeholderServer({ serviceName: 'web' }), { port: 8080, applicationRole: 'web' as const }],
  ['placeholder worker', () => placeholderWorker({ queueUrl: 'https://sqs.us-east-1.amazonaws.com/111111111111/jobs', processingTime: Duration.seconds(2) }), {}],
  ['artifact', (scope: Construct) => ApplicationSource.artifact({ bucket: releases(scope), key: 'shop/web-1.4.2.tar.gz', objectVersion: 'v3', sha256: SHA, startCommand: '/usr/bin/node-22 server.js --port "$S2M_PORT"', packages: ['nodejs22'] }), {}],
  ['asset (directory)', () => ApplicationSource.fromAsset(join(FIXTURES, 'static-app'), { startCommand: '/usr/bin/python3 server.py' }), {}],
  ['nodejs bundle', () => ApplicationSource.nodejs({ entry: join(FIXTURES, 'node-app', 'src', 'server.ts'), cacheDir }), { port: 8080, applicationRole: 'web' as const }],
  ['container', () => ApplicationSource.container({ image: '111111111111.dkr.ecr.us-east-1.amazonaws.com/shop/web:1.4.2', containerPort: 3000 }), { port: 8080, applicationRole: 'web' as const }],
  ['machine image with its own unit', () => ApplicationSource.machineImage({ image: ec2.MachineImage.genericLinux({ 'us-east-1': 'ami-0123456789abcdef0' }) }), {}],
  ['machine image with a start command', () => ApplicationSource.machineImage({ image: ec2.MachineImage.genericLinux({ 'us-east-1': 'ami-0123456789abcdef0' }), version: '2026.11.1', startCommand: '/opt/shop/bin/web' }), {}],
])('user data of the %s', (_, source, extra) => {
  let userData: string;
  beforeAll(() => {
    userData = renderedUserData(fleetWith(source, extra).t);
  });

  it('parses (bash -n) and passes shellcheck', () => {
    expect(bashSyntax(userData)).toBe('');
    expect(shellcheck(userData)).toBe('');
  });

  it('writes scripts that parse and pass shellcheck', () => {
    const scripts = { ...embeddedScripts(userData), ...Object.fromEntries(Object.entries(inlineFiles(userData)).filter(([f]) => f.endsWith('.sh'))) };
    expect(Object.keys(scripts)).toEqual(expect.arrayContaining(['/opt/s2m/bin/imds', '/opt/s2m/bin/ready', '/opt/s2m/bin/drain']));
    for (const [file, script] of Object.entries(scripts)) {
      expect(bashSyntax(script), file).toBe('');
      expect(shellcheck(script), file).toBe('');
    }
  });

  it('installs the RDS certificate bundle (DATABASE_CA_FILE) before the application starts', () => {
    expect(embeddedScripts(userData)['/opt/s2m/bin/rds-ca']).toContain(`file=${DATABASE_CA_FILE}\n`);
    const install = userData.indexOf('\n/opt/s2m/bin/rds-ca || ');
    expect(install).toBeGreaterThan(userData.indexOf('\ndnf_install amazon-cloudwatch-agent openssl logrotate'));
    expect(install).toBeLessThan(userData.indexOf('systemctl enable --now s2m-app.service'));
  });

  it('fits in the 16 KB EC2 allows for user data', () => {
    expect(Buffer.byteLength(userData)).toBeLessThan(16 * 1024);
  });
});

describe('ApplicationSource.artifact', () => {
  let t: Template;
  let userData: string;
  beforeAll(() => {
    const { stack, vpc } = stackWithVpc();
    const key = new kms.Key(stack, 'ArtifactKey');
    new Fleet(stack, 'Fleet', {
      vpc, instanceType: ARM, minCapacity: 1, maxCapacity: 3,
      application: ApplicationSource.artifact({ bucket: s3.Bucket.fromBucketName(stack, 'Releases', 'releases'), key: 'shop/web.tar.gz', objectVersion: 'v3', sha256: SHA, startCommand: 'bin/web', encryptionKey: key }),
    });
    t = Template.fromStack(stack);
    userData = renderedUserData(t);
  });

  it('grants GetObject on that object only (and its key through S3)', () => {
    const st = statements(t);
    expect(st).toContainEqual({ Effect: 'Allow', Action: ['s3:GetObject', 's3:GetObjectVersion'], Resource: 'arn:aws:s3:::releases/shop/web.tar.gz' });
    const decrypt = st.find((x) => x.Action === 'kms:Decrypt')!;
    expect(JSON.stringify(decrypt.Resource)).toContain('ArtifactKey');
    expect(JSON.stringify(decrypt.Condition)).toContain('"s3.us-east-1."');
    expect(JSON.stringify(st)).not.toMatch(/s3:::releases\/\*|s3:List/);
  });

  it('decrypts through S3 in the key\'s region, the bucket\'s, when the release bucket is in another region', () => {
    const { stack, vpc } = stackWithVpc();
    const elsewhere = kms.Key.fromKeyArn(stack, 'ReleaseKey', 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab');
    new Fleet(stack, 'Fleet', {
      vpc, instanceType: ARM, minCapacity: 1, maxCapacity: 3,
      application: ApplicationSource.artifact({ bucket: s3.Bucket.fromBucketName(stack, 'Releases', 'releases-eu'), key: 'web.tar.gz', sha256: SHA, startCommand: 'bin/web', encryptionKey: elsewhere }),
    });
    expect(statements(Template.fromStack(stack)).find((x) => x.Action === 'kms:Decrypt')).toMatchObject({
      Resource: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      Condition: { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['s3.eu-west-1.', { Ref: 'AWS::URLSuffix' }]] } } },
    });
  });

  it('downloads that version, checks the checksum, unpacks it and runs it as the unprivileged user', () => {
    expect(userData).toContain("S2M_ARTIFACT_OBJECT_VERSION='v3'");
    expect(userData).toContain('--version-id "$S2M_ARTIFACT_OBJECT_VERSION"');
    expect(userData).toContain(`S2M_ARTIFACT_SHA256='${SHA}'`);
    expect(userData).toContain('sha256sum --check --strict -');
    expect(userData).toContain('tar -xzf /tmp/s2m-artifact -C /opt/s2m/app');
    expect(userData).toMatch(/exec bin\/web\n/);
    expect(userData).toMatch(/User=s2m-app\nGroup=s2m-app/);
    expect(userData).toContain('S2M_APP_VERSION=v3');
  });
});

describe('ApplicationSource.container', () => {
  it('pulls from its ECR repository only, publishes the port, and lets the container reach IMDSv2', () => {
    const { t } = fleetWith(ApplicationSource.container({ image: '111111111111.dkr.ecr.eu-west-1.amazonaws.com/shop/web@sha256:' + 'b'.repeat(64), containerPort: 3000 }), { port: 8080, applicationRole: 'web' });
    const st = statements(t);
    expect(st).toContainEqual({ Effect: 'Allow', Action: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'], Resource: 'arn:aws:ecr:eu-west-1:111111111111:repository/shop/web' });
    // The authorization token has no resource-level permission (merged with the agent's DescribeTags).
    expect(st.find((x) => x.Resource === '*' && JSON.stringify(x.Action).includes('ecr:GetAuthorizationToken'))).toBeDefined();
    t.hasResourceProperties('AWS::EC2::LaunchTemplate', { LaunchTemplateData: Match.objectLike({ MetadataOptions: Match.objectLike({ HttpPutResponseHopLimit: 2 }) }) });
    const userData = renderedUserData(t);
    expect(userData).toContain('dnf_install amazon-cloudwatch-agent openssl logrotate docker');
    expect(userData).toContain('aws ecr get-login-password --region "eu-west-1" | docker login --username AWS --password-stdin "111111111111.dkr.ecr.eu-west-1.amazonaws.com"');
    expect(userData).toContain(' -p 8080:3000 ');
    expect(userData).toContain(`S2M_APP_VERSION=sha256:${'b'.repeat(64)}`);
  });

  it('tells the application inside its own port (S2M_PORT = containerPort) while readiness checks the published one', () => {
    // GIVEN a web service on port 8080 whose container listens on 3000
    const { t } = fleetWith(ApplicationSource.container({ image: 'public.ecr.aws/shop/web:1.4.2', containerPort: 3000 }), { port: 8080, applicationRole: 'web' });
    const userData = renderedUserData(t);
    const envFile = /cat > \/etc\/scale-to-millions\/env <<'ENV'\n([\s\S]*?)\nENV/.exec(userData)![1];
    const run = embeddedScripts(userData)['/opt/s2m/bin/run'];
    // THEN the runtime SDK in the container (it reads the file passed with --env-file, also mounted at ENV_FILE) listens on 3000
    const dir = mkdtempSync(join(tmpdir(), 's2m-env-'));
    writeFileSync(join(dir, 'env'), `${envFile}\n`);
    const env = readEnvironment({ file: join(dir, 'env'), env: {}, overrides: { parameterPrefix: '/shop' } });
    rmSync(dir, { recursive: true });
    expect(env.port).toBe(3000);
    expect(run).toContain(`--env-file ${ENV_FILE} `);
    // AND the host publishes 8080 onto that port, which is where the readiness check asks
    const published = / -p (\d+):(\d+) /.exec(run)!;
    expect(Number(published[2])).toBe(env.port);
    expect(userData).toContain(`S2M_HEALTH_URL='http://127.0.0.1:${published[1]}/health'`);
    expect(published[1]).toBe('8080');
  });

  it('keeps S2M_PORT the fleet\'s port for sources that run on the host', () => {
    const { t } = fleetWith(ApplicationSource.inline({ files: { 'srv.py': 'print(1)\n' }, startCommand: '/usr/bin/python3 srv.py' }), { port: 8080, applicationRole: 'web' });
    expect(renderedUserData(t)).toMatch(/\nS2M_PORT=8080\n/);
  });

  it('gives the container the fleet\'s files read-only (the environment, the RDS certificate bundle)', () => {
    const { t } = fleetWith(ApplicationSource.container({ image: 'public.ecr.aws/shop/web:1.4.2', containerPort: 3000 }), { port: 8080, applicationRole: 'web' });
    const run = embeddedScripts(renderedUserData(t))['/opt/s2m/bin/run'];
    expect(run).toContain(`--env-file ${ENV_FILE} -v /etc/scale-to-millions:/etc/scale-to-millions:ro `);
    expect(dirname(DATABASE_CA_FILE)).toBe('/etc/scale-to-millions');
  });

  it('stops the container itself, not only its client, and clears a leftover before starting (drain 120 s)', () => {
    const { t } = fleetWith(ApplicationSource.container({ image: 'public.ecr.aws/shop/web:1.4.2', containerPort: 3000 }), { port: 8080, applicationRole: 'web' });
    const unit = /cat > \/etc\/systemd\/system\/s2m-app\.service <<'UNIT'\n([\s\S]*?)\nUNIT/.exec(renderedUserData(t))![1].split('\n');
    expect(unit).toEqual(expect.arrayContaining([
      'ExecStartPre=-/usr/bin/docker rm --force s2m-app',
      'ExecStop=-/usr/bin/docker stop --time 120 s2m-app',
      // systemd waits for docker stop's own timeout, then a margin
      'TimeoutStopSec=135',
    ]));
    expect(unit.indexOf('ExecStartPre=-/usr/bin/docker rm --force s2m-app')).toBeLessThan(unit.indexOf('ExecStart=/opt/s2m/bin/run'));
  });

  it('pulls a public image without any grant', () => {
    const { t } = fleetWith(ApplicationSource.container({ image: 'public.ecr.aws/nginx/nginx:1.27' }));
    expect(JSON.stringify(statements(t))).not.toContain('ecr:');
  });
});

describe('ApplicationSource.machineImage', () => {
  it('launches the given image, with no lookup of the pinned one, and reads the version from the AMI id at boot', () => {
    const { t } = fleetWith(ApplicationSource.machineImage({ image: ec2.MachineImage.genericLinux({ 'us-east-1': 'ami-0123456789abcdef0' }) }));
    t.hasResourceProperties('AWS::EC2::LaunchTemplate', { LaunchTemplateData: Match.objectLike({ ImageId: 'ami-0123456789abcdef0' }) });
    t.resourceCountIs('Custom::AmazonLinux2023Image', 0);
    const userData = renderedUserData(t);
    expect(userData).toContain('ami_id=$(/opt/s2m/bin/imds ami-id)\necho "S2M_APP_VERSION=$ami_id" >> /etc/scale-to-millions/env');
    expect(userData).toContain('/etc/systemd/system/s2m-app.service.d/scale-to-millions.conf');
  });
});

describe('ApplicationSource.fromAsset', () => {
  it('uploads the directory as an asset and grants that object only', () => {
    const { t } = fleetWith(ApplicationSource.fromAsset(join(FIXTURES, 'static-app'), { startCommand: '/usr/bin/python3 server.py' }));
    const read = statements(t).find((s) => s.Action === 's3:GetObject')!;
    expect(JSON.stringify(read.Resource)).toMatch(/cdk-hnb659fds-assets-.*\/[0-9a-f]{64}\.zip/);
    expect(renderedUserData(t)).toContain('python3 /opt/s2m/bin/extract-zip /tmp/s2m-artifact /opt/s2m/app');
  });

  it('installs a single executable file executable, and another not', () => {
    const dir = mkdtempSync(join(tmpdir(), 's2m-file-asset-'));
    writeFileSync(join(dir, 'server'), '#!/bin/sh\necho up\n', { mode: 0o755 });
    writeFileSync(join(dir, 'app.py'), 'print(1)\n', { mode: 0o644 });
    const server = renderedUserData(fleetWith(ApplicationSource.fromAsset(join(dir, 'server'), { startCommand: './server' })).t);
    const script = renderedUserData(fleetWith(ApplicationSource.fromAsset(join(dir, 'app.py'), { startCommand: '/usr/bin/python3 app.py' })).t);
    rmSync(dir, { recursive: true });
    expect(server).toContain('install -m 0755 /tmp/s2m-artifact /opt/s2m/app/server');
    expect(script).toContain('install -m 0644 /tmp/s2m-artifact /opt/s2m/app/app.py');
  });
});

/**
 * A directory asset's zip, unpacked on this machine by the very lines the user data runs (the extraction script, its
 * call, then the fleet's chown and chmod of the app directory), under a stand-in root. Then the start command runs.
 */
describe('ApplicationSource.fromAsset: a zip keeps its files\' modes', () => {
  let lines: string[];
  let work: string;
  beforeAll(() => {
    const userData = renderedUserData(fleetWith(ApplicationSource.fromAsset(join(FIXTURES, 'static-app'), { startCommand: './server' })).t);
    // From after the download to the fleet's own chown and chmod of the app directory
    const download = '/tmp/s2m-artifact >/dev/null\n';
    const from = userData.indexOf(download) + download.length;
    const to = userData.indexOf('\n', userData.indexOf('chmod -R u=rwX,go=rX /opt/s2m/app'));
    expect(from).toBeGreaterThan(download.length);
    lines = [userData.slice(from, to)];
    work = mkdtempSync(join(tmpdir(), 's2m-unzip-'));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  /** Runs the user data's unpack lines on `zip`; returns the stand-in app directory. */
  function unpack(name: string, makeZip: (zip: string) => void): { app: string; status: number | null; stderr: string } {
    const root = join(work, name);
    mkdirSync(join(root, 'opt/s2m/bin'), { recursive: true });
    mkdirSync(join(root, 'opt/s2m/app'));
    mkdirSync(join(root, 'tmp'));
    makeZip(join(root, 'tmp/s2m-artifact'));
    const script = lines.join('\n').replace(/(^|[\s'"])\/(opt|tmp)\//g, `$1${root}/$2/`);
    const r = spawnSync('bash', ['-euo', 'pipefail', '-c', script], { encoding: 'utf8' });
    return { app: join(root, 'opt/s2m/app'), status: r.status, stderr: r.stderr };
  }

  /** A zip written by Python with the given entries: [name, Unix mode (with the file type), content, made on Unix]. */
  function pythonZip(zip: string, entries: Array<[string, number, string, boolean?]>): void {
    const code = [
      'import json, sys, zipfile',
      'with zipfile.ZipFile(sys.argv[1], "w") as z:',
      '    for name, mode, content, unix in json.loads(sys.argv[2]):',
      '        i = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))',
      '        i.create_system = 3 if unix else 0',
      '        i.external_attr = (mode << 16) if unix else 0',
      '        z.writestr(i, content)',
    ].join('\n');
    const r = spawnSync('python3', ['-c', code, zip, JSON.stringify(entries.map(([n, m, c, u]) => [n, m, c, u ?? true]))], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  }
  const mode = (file: string) => statSync(file).mode & 0o7777;
  const SERVER = '#!/bin/sh\necho "serving on $S2M_PORT"\n';

  it('restores the executable bit of a CDK directory asset (yazl: made by Unix, stat mode, files only), and the start command runs', () => {
    // GIVEN the zip the CDK CLI uploads for a directory: every file with its stat mode, no directory entries
    const r = unpack('cdk', (zip) => pythonZip(zip, [
      ['server', 0o100755, SERVER],
      ['bin/start.sh', 0o100744, '#!/bin/sh\necho started\n'],
      ['public/index.html', 0o100644, '<h1>hi</h1>\n'],
    ]));
    expect(r.status, r.stderr).toBe(0);
    // THEN the executables are executable, the rest not, and `./server` runs from the app directory
    expect(mode(join(r.app, 'server'))).toBe(0o755);
    expect(mode(join(r.app, 'bin/start.sh'))).toBe(0o755);
    expect(mode(join(r.app, 'public/index.html'))).toBe(0o644);
    const run = spawnSync('./server', [], { cwd: r.app, encoding: 'utf8', env: { ...process.env, S2M_PORT: '8080' } });
    expect(run.error).toBeUndefined();
    expect(run.stdout).toBe('serving on 8080\n');
    expect(spawnSync('./bin/start.sh', [], { cwd: r.app, encoding: 'utf8' }).stdout).toBe('started\n');
  });

  it('restores modes from a zip built by the zip tool, directories included', () => {
    const src = join(work, 'zip-src');
    mkdirSync(join(src, 'bin'), { recursive: true });
    writeFileSync(join(src, 'bin/server'), SERVER, { mode: 0o755 });
    writeFileSync(join(src, 'README'), 'read me\n', { mode: 0o600 });
    const r = unpack('zip-tool', (zip) => {
      // zip adds .zip to a name without an extension
      const z = spawnSync('zip', ['-q', '-r', `${zip}.zip`, '.'], { cwd: src, encoding: 'utf8' });
      expect(z.status, z.stderr).toBe(0);
      renameSync(`${zip}.zip`, zip);
    });
    expect(r.status, r.stderr).toBe(0);
    expect(mode(join(r.app, 'bin/server'))).toBe(0o755);
    expect(mode(join(r.app, 'README'))).toBe(0o644);
    expect(spawnSync('./bin/server', [], { cwd: r.app, encoding: 'utf8' }).stdout).toBe('serving on \n');
  });

  it('never restores setuid, setgid, sticky or group and world write, and leaves entries without a Unix mode unexecutable', () => {
    const r = unpack('modes', (zip) => pythonZip(zip, [
      ['suid', 0o106775, SERVER],
      ['shared', 0o101777, 'x\n'],
      ['windows.exe', 0o100755, 'MZ', false],
      ['plain', 0o000755, SERVER],
    ]));
    expect(r.status, r.stderr).toBe(0);
    expect(mode(join(r.app, 'suid'))).toBe(0o755);
    expect(mode(join(r.app, 'shared'))).toBe(0o755);
    expect(mode(join(r.app, 'windows.exe'))).toBe(0o644);
    // Permission bits without a file type (some tools write only those) count as a file's
    expect(mode(join(r.app, 'plain'))).toBe(0o755);
  });

  it('keeps every path inside the app directory, and a symbolic link only when it resolves there', () => {
    const inside = unpack('links-in', (zip) => pythonZip(zip, [
      ['../escape', 0o100644, 'x\n'],
      ['/abs', 0o100644, 'x\n'],
      ['bin/server', 0o100755, SERVER],
      ['server', 0o120777, 'bin/server'],
    ]));
    expect(inside.status, inside.stderr).toBe(0);
    expect(existsSync(join(inside.app, 'escape'))).toBe(true);
    expect(existsSync(join(inside.app, 'abs'))).toBe(true);
    expect(existsSync(join(inside.app, '..', 'escape'))).toBe(false);
    expect(lstatSync(join(inside.app, 'server')).isSymbolicLink()).toBe(true);
    expect(spawnSync('./server', [], { cwd: inside.app, encoding: 'utf8' }).stdout).toBe('serving on \n');

    const outside = unpack('links-out', (zip) => pythonZip(zip, [['passwd', 0o120777, '../../../../etc/passwd']]));
    expect(outside.status).not.toBe(0);
    expect(outside.stderr).toContain('extract-zip: passwd links outside');
    // the refused link is never made (lstat: a link to a missing file would not "exist")
    expect(() => lstatSync(join(outside.app, 'passwd'))).toThrow(/ENOENT/);
    // a link to the directory itself is inside it
    const self = unpack('links-self', (zip) => pythonZip(zip, [['bin/server', 0o100755, SERVER], ['current', 0o120777, '.']]));
    expect(self.status, self.stderr).toBe(0);
    expect(lstatSync(join(self.app, 'current')).isSymbolicLink()).toBe(true);
  });
});

describe('ApplicationSource.nodejs (esbuild at synth, content-hash caching)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 's2m-node-app-'));
    cpSync(join(FIXTURES, 'node-app'), dir, { recursive: true });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('bundles every source into one file, and the hash follows the sources only', () => {
    const entry = join(dir, 'src', 'server.ts');
    const cacheDir = mkdtempSync(join(tmpdir(), 's2m-bundles-'));
    const first = bundleNodeEntry({ entry, nodeMajor: 22, cacheDir });
    expect(first.fromCache).toBe(false);
    expect(first.inputs).toEqual(['src/greeting.ts', 'src/server.ts']);
    expect(readFileSync(join(first.directory, 'index.js'), 'utf8')).toContain('hello from');
    // WHEN nothing changed THEN the cache answers, with the same hash
    const again = bundleNodeEntry({ entry, nodeMajor: 22, cacheDir });
    expect(again).toMatchObject({ fromCache: true, hash: first.hash });
    // WHEN an imported file changes THEN it bundles again, with a new hash
    writeFileSync(join(dir, 'src', 'greeting.ts'), 'export function greeting(service: string): string {\n  return `hi from ${service}`;\n}\n');
    const changed = bundleNodeEntry({ entry, nodeMajor: 22, cacheDir });
    expect(changed.fromCache).toBe(false);
    expect(changed.hash).not.toBe(first.hash);
    // ...and another Node.js major is another bundle
    expect(bundleNodeEntry({ entry, nodeMajor: 20, cacheDir }).hash).not.toBe(changed.hash);
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it('builds again when a cached bundle\'s output is not what was built (a changed or planted index.js)', () => {
    const entry = join(dir, 'src', 'server.ts');
    const cacheDir = mkdtempSync(join(tmpdir(), 's2m-bundles-'));
    const first = bundleNodeEntry({ entry, nodeMajor: 22, cacheDir });
    writeFileSync(join(first.directory, 'index.js'), 'require("child_process").execSync("curl evil");\n');
    const again = bundleNodeEntry({ entry, nodeMajor: 22, cacheDir });
    expect(again).toMatchObject({ fromCache: false, hash: first.hash });
    expect(readFileSync(join(again.directory, 'index.js'), 'utf8')).not.toContain('evil');
    // an extra file in the output is refused too
    writeFileSync(join(again.directory, 'extra.js'), 'x');
    expect(bundleNodeEntry({ entry, nodeMajor: 22, cacheDir }).fromCache).toBe(false);
    expect(bundleNodeEntry({ entry, nodeMajor: 22, cacheDir }).fromCache).toBe(true);
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it('builds again when an import would resolve elsewhere now: a file added beside the one it resolved to, a package.json or tsconfig changed', () => {
    // GIVEN an entry whose `./dep` resolves to dep.js, bundled and cached
    const app = mkdtempSync(join(tmpdir(), 's2m-node-resolve-'));
    const cacheDir = mkdtempSync(join(tmpdir(), 's2m-bundles-'));
    writeFileSync(join(app, 'package.json'), '{"name":"resolve-app","private":true}\n');
    mkdirSync(join(app, 'src'));
    writeFileSync(join(app, 'src', 'entry.ts'), "import { v } from './dep';\nconsole.log(v);\n");
    writeFileSync(join(app, 'src', 'dep.js'), "exports.v = 'old';\n");
    const entry = join(app, 'src', 'entry.ts');
    const first = bundleNodeEntry({ entry, nodeMajor: 22, cacheDir });
    expect(bundleNodeEntry({ entry, nodeMajor: 22, cacheDir }).fromCache).toBe(true);
    // WHEN dep.ts is added (esbuild prefers it to dep.js) THEN it bundles again, the new source and a new hash
    writeFileSync(join(app, 'src', 'dep.ts'), "export const v = 'new';\n");
    const added = bundleNodeEntry({ entry, nodeMajor: 22, cacheDir });
    expect(added.fromCache).toBe(false);
    expect(added.hash).not.toBe(first.hash);
    expect(readFileSync(join(added.directory, 'index.js'), 'utf8')).toContain('"new"');
    expect(bundleNodeEntry({ entry, nodeMajor: 22, cacheDir }).fromCache).toBe(true);
    // WHEN the project's package.json or a tsconfig.json beside the sources changes THEN it is looked at again
    writeFileSync(join(app, 'package.json'), '{"name":"resolve-app","private":true,"type":"commonjs"}\n');
    expect(bundleNodeEntry({ entry, nodeMajor: 22, cacheDir }).fromCache).toBe(false);
    const beforeTsconfig = bundleNodeEntry({ entry, nodeMajor: 22, cacheDir });
    writeFileSync(join(app, 'src', 'tsconfig.json'), '{"compilerOptions":{}}\n');
    const withTsconfig = bundleNodeEntry({ entry, nodeMajor: 22, cacheDir });
    expect(withTsconfig.fromCache).toBe(false);
    // (a setting that changes nothing in the bundle keeps its hash: no rollout for nothing)
    expect(withTsconfig.hash).toBe(beforeTsconfig.hash);
    expect(bundleNodeEntry({ entry, nodeMajor: 22, cacheDir }).fromCache).toBe(true);
    // WHEN a tsconfig setting changes the bundle itself (every source the same) THEN its hash changes: the asset follows
    writeFileSync(join(app, 'src', 'klass.ts'), 'export class K { x = 1; constructor() { console.log(this.x); } }\n');
    writeFileSync(join(app, 'src', 'entry.ts'), "import { v } from './dep';\nimport { K } from './klass';\nconsole.log(v, new K());\n");
    const classic = bundleNodeEntry({ entry, nodeMajor: 22, cacheDir });
    const classicCode = readFileSync(join(classic.directory, 'index.js'), 'utf8');
    writeFileSync(join(app, 'src', 'tsconfig.json'), '{"compilerOptions":{"useDefineForClassFields":false}}\n');
    const defined = bundleNodeEntry({ entry, nodeMajor: 22, cacheDir });
    expect(classicCode).toContain('  x = 1;');
    expect(readFileSync(join(defined.directory, 'index.js'), 'utf8')).toContain('this.x = 1;');
    expect(defined.hash).not.toBe(classic.hash);
    rmSync(app, { recursive: true, force: true });
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it('sees a source changed in place even with its size and modification time put back', () => {
    const entry = join(dir, 'src', 'server.ts');
    const cacheDir = mkdtempSync(join(tmpdir(), 's2m-bundles-'));
    const source = join(dir, 'src', 'greeting.ts');
    const original = readFileSync(source, 'utf8');
    const then = 1_700_000_000; // whole seconds, so the time can be put back to the nanosecond
    utimesSync(source, then, then);
    const first = bundleNodeEntry({ entry, nodeMajor: 22, cacheDir });
    expect(bundleNodeEntry({ entry, nodeMajor: 22, cacheDir }).fromCache).toBe(true);
    // WHEN a source gets other text of the same length and its old modification time back
    writeFileSync(source, original.replace(/from/, 'FROM'));
    utimesSync(source, then, then);
    expect(statSync(source, { bigint: true }).mtimeNs).toBe(BigInt(then) * 1_000_000_000n);
    // THEN it bundles again (the change time moved, which no user can set back)
    const changed = bundleNodeEntry({ entry, nodeMajor: 22, cacheDir });
    expect(changed.fromCache).toBe(false);
    expect(changed.hash).not.toBe(first.hash);
    writeFileSync(source, original);
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it('checks an entry once per app: the fleets of one app share its bundle, the next app checks the sources again', () => {
    const entry = join(dir, 'src', 'server.ts');
    const cacheDir = mkdtempSync(join(tmpdir(), 's2m-bundles-'));
    const { stack } = stackWithVpc();
    const one = bundleNodeEntryForApp(stack, { entry, nodeMajor: 22, cacheDir });
    expect(bundleNodeEntryForApp(new Stack(stack.node.root, 'Other'), { entry, nodeMajor: 22, cacheDir })).toBe(one);
    expect(bundleNodeEntryForApp(stack, { entry, nodeMajor: 20, cacheDir })).not.toBe(one);
    // WHEN a source changes THEN the next app bundles it again, this one keeps the moment it was built from
    const source = join(dir, 'src', 'greeting.ts');
    const original = readFileSync(source, 'utf8');
    writeFileSync(source, `${original}\nexport const added = 1;\n`);
    const next = bundleNodeEntryForApp(stackWithVpc().stack, { entry, nodeMajor: 22, cacheDir });
    expect(next.hash).not.toBe(one.hash);
    expect(bundleNodeEntryForApp(stack, { entry, nodeMajor: 22, cacheDir })).toBe(one);
    writeFileSync(source, original);
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it('caches by default in this user\'s own 0700 directory, never in a directory another user owns', () => {
    const entry = join(dir, 'src', 'server.ts');
    const root = mkdtempSync(join(tmpdir(), 's2m-cache-root-'));
    const previous = process.env.S2M_CACHE_DIR;
    process.env.S2M_CACHE_DIR = root;
    try {
      const built = bundleNodeEntry({ entry, nodeMajor: 22 });
      expect(built.directory.startsWith(join(root, 'bundles'))).toBe(true);
      expect(statSync(join(root, 'bundles')).mode & 0o777).toBe(0o700);
      expect(bundleNodeEntry({ entry, nodeMajor: 22 }).fromCache).toBe(true);
      // WHEN the cache directory belongs to someone else THEN it is not used (a fresh build, outside it)
      if (process.getuid?.() === 0) {
        chownSync(join(root, 'bundles'), 65534, 65534);
        const elsewhere = bundleNodeEntry({ entry, nodeMajor: 22 });
        expect(elsewhere.fromCache).toBe(false);
        expect(elsewhere.directory.startsWith(root)).toBe(false);
      }
    } finally {
      if (previous === undefined) delete process.env.S2M_CACHE_DIR;
      else process.env.S2M_CACHE_DIR = previous;
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('runs the bundle with the AL2023 Node.js package of that major', () => {
    const { t } = fleetWith(ApplicationSource.nodejs({ entry: join(FIXTURES, 'node-app', 'src', 'server.ts'), nodeMajor: 20, args: ['--mode=web'], cacheDir }));
    const userData = renderedUserData(t);
    expect(userData).toContain('dnf_install amazon-cloudwatch-agent openssl logrotate nodejs20');
    expect(userData).toContain('exec /usr/bin/node-20 --enable-source-maps index.js --mode=web');
  });

  it('fails naming the entry when it does not exist', () => {
    expect(validationErrorOf(() => fleetWith(ApplicationSource.nodejs({ entry: 'nowhere/app.ts', cacheDir })))).toEqual({ path: 'TestStack/Fleet', message: expect.stringMatching(/^ApplicationSource\.nodejs: entry "nowhere\/app\.ts" does not exist/) });
  });
});

describe('ApplicationSource bad input', () => {
  it.each([
    ['an artifact without a version', (scope: Construct) => ApplicationSource.artifact({ bucket: releases(scope), key: 'a.tgz', startCommand: 'x' }), 'ApplicationSource.artifact: give objectVersion or sha256 (got neither): without a version a new upload under the same key would never roll the fleet'],
    ['a malformed checksum', (scope: Construct) => ApplicationSource.artifact({ bucket: releases(scope), key: 'a.tgz', sha256: 'abc', startCommand: 'x' }), 'ApplicationSource.artifact: sha256 must be 64 lowercase hex digits (got: "abc")'],
    ['a start command of two lines', (scope: Construct) => ApplicationSource.artifact({ bucket: releases(scope), key: 'a.tgz', sha256: SHA, startCommand: 'a\nb' }), 'ApplicationSource.artifact: startCommand must be one non-empty line (got: "a\\nb")'],
    ['a package that is no name', (scope: Construct) => ApplicationSource.artifact({ bucket: releases(scope), key: 'a.tgz', sha256: SHA, startCommand: 'x', packages: ['node js'] }), 'ApplicationSource.artifact: packages must be Amazon Linux package names (got: "node js")'],
    ['an image without a tag', () => ApplicationSource.container({ image: 'nginx', containerPort: 80 }), 'ApplicationSource.container: image needs a tag or a digest, so that a new version rolls the fleet (got: "nginx")'],
    ['an image tagged latest', () => ApplicationSource.container({ image: 'nginx:latest', containerPort: 80 }), 'ApplicationSource.container: image floats ("latest"): a new image under it would never roll the fleet; pin a version tag or a digest (got: "nginx:latest")'],
    ['a web image without a port', () => ApplicationSource.container({ image: 'nginx:1.27' }), 'ApplicationSource.container: a web service\'s image needs containerPort, the port the container listens on (got: none for "nginx:1.27")'],
    ['a Node.js major Amazon Linux does not package', () => ApplicationSource.nodejs({ entry: join(FIXTURES, 'node-app', 'src', 'server.ts'), nodeMajor: 18 as 20 }), 'ApplicationSource.nodejs: nodeMajor must be 20 or 22, the Node.js packages of Amazon Linux 2023 (got: 18)'],
  ])('fails on %s, naming the field and the fleet', (_, source, message) => {
    expect(validationErrorOf(() => fleetWith(source, { port: 8080, applicationRole: 'web' }))).toEqual({ path: 'TestStack/Fleet', message });
  });
});
