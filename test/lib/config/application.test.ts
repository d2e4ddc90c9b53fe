import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, resolveConfig, type AppConfigInput, type ServiceInput } from '../../../lib/config';

const FIXTURE = join(__dirname, '..', '..', 'fixtures', 'node-app', 'src', 'server.ts');
const REGIONS = [{ region: 'us-east-1', vpcCidr: '10.0.0.0/16' }, { region: 'eu-west-1', vpcCidr: '10.1.0.0/16' }];

const config = (web: Partial<ServiceInput>, extra: Partial<AppConfigInput> = {}): AppConfigInput => ({
  name: 'shop', stage: 'growth', regions: REGIONS, services: [{ name: 'web', ...web }], ...extra,
});

/** The problems of an invalid config, as `path: message (got: value)` lines. */
function problems(cfg: AppConfigInput): string[] {
  try {
    resolveConfig(cfg);
  } catch (e) {
    if (e instanceof ConfigError) return e.message.split('\n').slice(1).map((l) => l.trim());
    throw e;
  }
  return [];
}

describe('config: a fleet\'s application', () => {
  it('is the placeholder when absent', () => {
    expect(resolveConfig(config({})).services[0].application).toBeUndefined();
  });

  it.each([
    ['image per region', { image: { amis: { 'us-east-1': 'ami-0123456789abcdef0', 'eu-west-1': 'ami-0fedcba9876543210' }, version: '2026.11.1' } }, { kind: 'image', amis: { 'us-east-1': 'ami-0123456789abcdef0', 'eu-west-1': 'ami-0fedcba9876543210' }, version: '2026.11.1' }],
    ['image from a pipeline', { image: { ssmParameter: '/golden/web/ami' } }, { kind: 'image', ssmParameter: '/golden/web/ami' }],
    ['artifact', { artifact: { bucket: 'releases', key: 'web/1.4.2.tar.gz', sha256: 'a'.repeat(64), startCommand: '/usr/bin/node-22 server.js', packages: ['nodejs22'] } }, { kind: 'artifact', bucket: 'releases', key: 'web/1.4.2.tar.gz', sha256: 'a'.repeat(64), startCommand: '/usr/bin/node-22 server.js', packages: ['nodejs22'] }],
    ['artifact encrypted with a key of its own', { artifact: { bucket: 'releases', key: 'web.tar.gz', objectVersion: 'v3', kmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab', startCommand: 'bin/web' } },
      { kind: 'artifact', bucket: 'releases', key: 'web.tar.gz', objectVersion: 'v3', kmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab', startCommand: 'bin/web', packages: [] }],
    ['Node.js bundle', { nodejs: { entry: FIXTURE } }, { kind: 'nodejs', entry: FIXTURE, nodeVersion: 22, args: [], packages: [] }],
    ['container', { container: { image: '111111111111.dkr.ecr.us-east-1.amazonaws.com/web:1.4.2', port: 3000 } }, { kind: 'container', image: '111111111111.dkr.ecr.us-east-1.amazonaws.com/web:1.4.2', port: 3000 }],
  ])('resolves a %s', (_, application, expected) => {
    expect(resolveConfig(config({ application } as Partial<ServiceInput>)).services[0].application).toEqual(expected);
  });

  it.each([
    ['two sources at once', { artifact: { bucket: 'b1', key: 'k', sha256: 'a'.repeat(64), startCommand: 'x' }, container: { image: 'nginx:1.27', port: 80 } },
      'services[0].application: give exactly one of image, artifact, asset, nodejs, container (two sources at once) (got: ["artifact","container"])'],
    ['an artifact key given by alias', { artifact: { bucket: 'releases', key: 'web.tar.gz', sha256: 'a'.repeat(64), kmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:alias/releases', startCommand: 'x' } },
      'services[0].application.artifact.kmsKeyArn: must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>; not an alias) (got: "arn:aws:kms:us-east-1:123456789012:alias/releases")'],
    ['an artifact without a version', { artifact: { bucket: 'releases', key: 'web.tar.gz', startCommand: 'x' } },
      'services[0].application.artifact: needs objectVersion or sha256: without a version a new upload under the same key would never roll the fleet (got: {"bucket":"releases","key":"web.tar.gz","startCommand":"x"})'],
    ['an image without a port', { container: { image: 'nginx:1.27' } },
      'services[0].application.container.port: is required for a web service: the port the container listens on (got: undefined)'],
    ['an image without a tag', { container: { image: 'nginx', port: 80 } },
      'services[0].application.container.image: needs a tag or a digest, so that a new version rolls the fleet (got: "nginx")'],
    ['an AMI id of the wrong shape', { image: { amis: { 'us-east-1': 'ami-123', 'eu-west-1': 'ami-0fedcba9876543210' } } },
      'services[0].application.image.amis.us-east-1: must be an AMI id like ami-0123456789abcdef0 (got: "ami-123")'],
    ['an image from a region without it', { image: { amis: { 'us-east-1': 'ami-0123456789abcdef0' } } },
      'services[0].application.image.amis: has no AMI for region eu-west-1: an AMI is regional, copy it there (aws ec2 copy-image) and list it (got: {"us-east-1":"ami-0123456789abcdef0"})'],
    ['an AMI for a region that is not configured', { image: { amis: { 'us-east-1': 'ami-0123456789abcdef0', 'eu-west-1': 'ami-0fedcba9876543210', 'ap-south-1': 'ami-0fedcba9876543210' } } },
      /^services\[0\]\.application\.image\.amis\.ap-south-1: unknown key; allowed: us-east-1, eu-west-1/],
    ['a Node.js entry that does not exist', { nodejs: { entry: 'examples/nowhere/web.ts' } },
      'services[0].application.nodejs.entry: does not exist (paths are relative to where cdk synth runs) (got: "examples/nowhere/web.ts")'],
    ['an unknown source', { lambda: {} },
      /^services\[0\]\.application\.lambda: unknown key/],
  ])('fails on %s, naming the field', (_, application, expected) => {
    const found = problems(config({ application } as Partial<ServiceInput>));
    expect(found.some((p) => (typeof expected === 'string' ? p === expected : expected.test(p))), found.join('\n')).toBe(true);
  });

  it('checks a queue\'s workers the same way (no port needed)', () => {
    const cfg = resolveConfig(config({}, { queues: [{ name: 'jobs', workers: { application: { container: { image: 'public.ecr.aws/shop/worker:2.0.1' } }, logRetentionDays: 7 } }] }));
    expect(cfg.queues[0].workers).toMatchObject({ application: { kind: 'container', image: 'public.ecr.aws/shop/worker:2.0.1' }, logRetentionDays: 7 });
    expect(problems(config({}, { queues: [{ name: 'jobs', workers: { application: { artifact: { bucket: 'b1', key: 'k', startCommand: 'x' } } } }] })))
      .toContain('queues[0].workers.application.artifact: needs objectVersion or sha256: without a version a new upload under the same key would never roll the fleet (got: {"bucket":"b1","key":"k","startCommand":"x"})');
  });
});

describe('config: rollout, instance types, logs', () => {
  it('fills the Fleet construct\'s rollout defaults, and takes explicit ones', () => {
    expect(resolveConfig(config({ rollout: { maxHealthyPercent: 150, checkpointPercentages: [], rollbackOnAlarms: false } })).services[0].rollout)
      .toEqual({ minHealthyPercent: 100, maxHealthyPercent: 150, checkpointPercentages: [], checkpointDelaySeconds: 300, rollbackOnAlarms: false });
  });

  it.each([
    [{ rollout: { checkpointPercentages: [50, 90] } }, 'services[0].rollout.checkpointPercentages: must end with 100, or the refresh stops before replacing every instance (got: [50,90])'],
    [{ rollout: { minHealthyPercent: 50, maxHealthyPercent: 200 } }, 'services[0].rollout.maxHealthyPercent: may be at most 100 above minHealthyPercent (50) (got: 200)'],
    [{ instanceType: 'm7g.large', additionalInstanceTypes: ['m7i.large'] }, 'services[0].additionalInstanceTypes[0]: must share instanceType\'s architecture (m7g.large: arm64), since one AMI serves them all (x86_64) (got: "m7i.large")'],
    [{ instanceType: 'm7g.large', additionalInstanceTypes: ['m6g.large'], warmPool: { minSize: 1 } }, 'services[0].warmPool: excludes additionalInstanceTypes: Auto Scaling rejects a warm pool on a group with several instance types (got: ["m6g.large"])'],
    [{ logRetentionDays: 0 }, 'services[0].logRetentionDays: must be a positive whole number (at least 1) (got: 0)'],
  ])('fails on %j, naming the field', (web, expected) => {
    expect(problems(config(web as Partial<ServiceInput>))).toContain(expected);
  });

  it('refuses a service name that would take a reserved database user', () => {
    expect(problems(config({}, { services: [{ name: 'postgres' }] }))).toContain('services[0].name: is reserved: it names the service\'s database user (got: "postgres")');
  });
});
