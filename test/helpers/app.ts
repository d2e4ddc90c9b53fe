import { App, Stack } from 'aws-cdk-lib/core';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Network } from '../../constructs/network';
import { buildApp, type BuildAppOptions, type BuiltApp } from '../../lib/app';
import { ConfigError, loadConfigFile, resolveConfig, type AppConfigInput } from '../../lib/config';

const ROOT = join(__dirname, '..', '..');

/**
 * The feature flags of cdk.json, so tests synthesize what `cdk synth` does, and the creation stack traces off as
 * `cdk synth` has them (lib/synth/index.ts): capturing one for every resource is a third of a test's synth.
 */
export function cdkJsonContext(): Record<string, unknown> {
  return {
    ...(JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context,
    [cxapi.DISABLE_CREATION_STACK_TRACES]: true,
  };
}

/**
 * A new App with the cdk.json feature flags, and no tree.json: aws-cdk-lib resolves every resource's properties once
 * more to write the construct tree, about a tenth of a test's synth, and no test here reads it. The tests that
 * synthesize as `cdk synth` does (test/helpers/checked-synth.ts, test/clean-synth.test.ts) still write it.
 */
export function testApp(context: Record<string, unknown> = {}): App {
  return new App({ context: { ...cdkJsonContext(), ...context }, treeMetadata: false });
}

/** A stack in us-east-1 with the cdk.json feature flags, for construct tests. */
export function testStack(id = 'TestStack', region = 'us-east-1'): Stack {
  return new Stack(testApp(), id, { env: { region } });
}

/** A stack with a three-AZ `Network`, for constructs that need a VPC. */
export function stackWithVpc(id = 'TestStack', region = 'us-east-1') {
  const stack = testStack(id, region);
  const network = new Network(stack, 'Network', {
    availabilityZones: [`${region}a`, `${region}b`, `${region}c`],
    cidr: '10.0.0.0/16',
  });
  return { stack, vpc: network.vpc, network };
}

/** Path of an example config under config/. */
export function configPath(name: string): string {
  return join(ROOT, 'config', `${name}.json`);
}

/** Example apps already built in this worker, by config name and options (see {@link buildTestApp}). */
const examples = new Map<string, BuiltApp & { app: App }>();

/**
 * Builds the reference app from an example config (by name) or a config object.
 *
 * An example config by name is built and synthesized once per test module graph and shared by every test that
 * asks for it again. The shared app is locked after its synthesis, so a test that adds a construct to it fails
 * loudly instead of reading a stale template; a test that changes an app builds it from a config object (or
 * with {@link buildFreshTestApp}).
 */
export function buildTestApp(config: string | AppConfigInput, options: BuildAppOptions = { nagChecks: false }): BuiltApp & { app: App } {
  if (typeof config !== 'string') return buildFreshTestApp(config, options);
  // The validator's setting too: an app synthesized with it off is no app a file that turned it on may share.
  const key = `${config}\0${JSON.stringify(options)}\0${process.env.CDK_VALIDATION ?? ''}`;
  let built = examples.get(key);
  if (built === undefined) {
    built = buildFreshTestApp(config, options);
    built.app.synth();
    built.app.node.lock();
    examples.set(key, built);
  }
  return built;
}

/** Builds the reference app from an example config (by name) or a config object, never shared. */
export function buildFreshTestApp(config: string | AppConfigInput, options: BuildAppOptions = { nagChecks: false }): BuiltApp & { app: App } {
  const app = testApp();
  const resolved = typeof config === 'string' ? loadConfigFile(configPath(config)) : config;
  return { app, ...buildApp(app, resolved, options) };
}

/** A small valid config for tests; override any field. */
export function minimalConfig(overrides: Partial<AppConfigInput> = {}): AppConfigInput {
  return {
    name: 'test',
    stage: 'growth',
    regions: [{ region: 'eu-west-1', vpcCidr: '10.0.0.0/16' }],
    services: [{ name: 'web' }],
    ...overrides,
  };
}

/** The message of the ConfigError `resolveConfig` throws for a config; fails the test when it accepts the config. */
export function configErrors(config: AppConfigInput): string {
  try {
    resolveConfig(config);
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  throw new Error('expected a ConfigError');
}
