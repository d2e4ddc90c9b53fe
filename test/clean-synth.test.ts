import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cdkJsonContext } from './helpers/app';

const ROOT = join(__dirname, '..');

/**
 * Runs the reference app as `cdk synth` runs it: `cdk.json`'s app command with its context in CDK_CONTEXT_JSON and
 * CDK_OUTDIR, in a fresh process (aws-cdk-lib prints a deprecation warning once per process), with cdk-nag on.
 * The template validator stays off (it takes most of a minute here): test/checks.test.ts asserts that it finds
 * nothing in any example config, so it prints nothing either.
 */
function synth(outdir: string, context: Record<string, unknown> = {}): SpawnSyncReturns<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ ...cdkJsonContext(), ...context }), CDK_OUTDIR: outdir, CDK_VALIDATION: 'false' };
  delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
  // The CLI runs the app command through a shell, in the directory of cdk.json.
  const command = (JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { app: string }).app;
  return spawnSync(command, { cwd: ROOT, encoding: 'utf8', env, shell: true });
}

describe('a synth of the default config (config/millions.json)', () => {
  let dir: string;
  let result: SpawnSyncReturns<string>;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 's2m-clean-'));
    result = synth(join(dir, 'cdk.out'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('succeeds', () => {
    expect(result.status, result.stderr).toBe(0);
    expect(readdirSync(join(dir, 'cdk.out'))).toContain('manifest.json');
  });

  it('prints nothing: no deprecation, no SDK notice, no warning the config did not cause', () => {
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('');
  });
});

describe('a synth of a config that earns a warning', () => {
  let dir: string;
  let result: SpawnSyncReturns<string>;

  beforeAll(() => {
    // GIVEN the global stage in one region (a stage warning the user caused and can acknowledge)
    dir = mkdtempSync(join(tmpdir(), 's2m-clean-'));
    const file = join(dir, 'one-region.json');
    writeFileSync(file, JSON.stringify({
      name: 'solo', stage: 'global', regions: [{ region: 'eu-west-1', vpcCidr: '10.0.0.0/16' }],
      domain: { name: 'shop.example.com', hostedZoneId: 'Z0123456789ABCDEFGHIJ', hostedZoneName: 'example.com' },
      cache: { immutable: { engine: 'valkey', engineVersion: '8.1', port: 6379, subnets: 'isolated', authMode: 'rbac', globalDatastore: false } },
      monitoring: { alarmEmails: ['oncall@example.com'] },
    }));
    result = synth(join(dir, 'cdk.out'), { config: file });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints that warning, with its id, and no line of this library\'s code', () => {
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toContain('The global stage runs in at least 2 regions (got: 1)');
    expect(result.stderr).toContain('scale-to-millions:stage-regions');
    expect(result.stderr).not.toMatch(/lib\/app\.ts:\d+/);
    expect(result.stderr).not.toMatch(/undefined|deprecated|NodeVersionSupportWarning/);
  });
});
