import { App, Duration } from 'aws-cdk-lib/core';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { buildApp } from '../app';
import { ConfigError, DEFAULT_CONFIG_PATH, loadConfigFile } from '../config';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDirectory, contentHash, pruneCacheIfDue, writeFileAtomic } from './cache';
import { TemplateValidation, type ValidationDaemonOptions } from './validation';

/**
 * Entry point of the reference CDK app (`bin/app.ts`): reads the config named by `-c config=PATH`
 * (default `config/millions.json`), validates it, builds every stack and synthesizes. An invalid config
 * prints every problem and exits 1 before anything is written to `cdk.out`.
 *
 * AWS's template validator runs as {@link TemplateValidation}: the same findings, from an engine that starts in a
 * worker thread while the stacks are built and results cached by template content. Outside CI, that engine is a
 * validation daemon shared by this user's synths, gone after 10 minutes without one (see {@link validationDaemon}).
 * `-c nag=false` skips cdk-nag (for measuring; the checks are part of every real synth).
 */
export function synthReferenceApp(): void {
  // Without this, every warning on a stack prints the stack's creation site (lib/app.ts:58) above it: a line in
  // this library, not in anything the user wrote (their input is the config file). `cdk synth --debug` keeps it.
  const app = new App({ context: { [cxapi.DISABLE_CREATION_STACK_TRACES]: true } });
  const path = (app.node.tryGetContext('config') as string | undefined) ?? DEFAULT_CONFIG_PATH;
  const cache = app.node.tryGetContext('validationCache') as unknown;
  const inputs = synthInputs(app, path);
  const exitOnConfigError = (e: unknown): never => {
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(1);
    }
    throw e;
  };
  let daemon: ValidationDaemonOptions | false;
  try {
    daemon = validationDaemon(process.env);
  } catch (e) {
    console.error((e as Error).message);
    process.exit(1);
  }
  let config: ReturnType<typeof loadConfigFile>;
  try {
    // Read and validate the config before the engine starts: an invalid one starts no engine and no daemon.
    config = loadConfigFile(path);
  } catch (e) {
    return exitOnConfigError(e);
  }
  const validation = TemplateValidation.start(app, cache === false || cache === 'false'
    ? { cacheDirectory: false, daemon }
    // Unchanged inputs make the templates of the last synth again, all of them in the cache: no engine unless one misses.
    : { eager: inputs.changed, daemon });
  const nag = app.node.tryGetContext('nag') as unknown;
  try {
    buildApp(app, config, { nagChecks: nag !== false && nag !== 'false' });
  } catch (e) {
    exitOnConfigError(e);
  }
  validation?.attach(app);
  app.synth();
  if (validation && validation.cached) inputs.record();
  for (const name of ['ts', 'v8', 'validation', 'bundles']) pruneCacheIfDue(name);
}

/**
 * Whether the reference app's synth uses a validation daemon, from `S2M_VALIDATION_DAEMON`: `on` (idle timeout 10
 * minutes), a number of minutes (the idle timeout), or `off`. Unset, it is on, except under CI (`CI` set and not
 * `false`, or AWS CodeBuild, where CDK Pipelines synthesize), where a synth runs once on a fresh machine and a process
 * left behind helps nobody.
 */
export function validationDaemon(env: NodeJS.ProcessEnv): ValidationDaemonOptions | false {
  const value = env.S2M_VALIDATION_DAEMON?.trim();
  if (value === undefined || value === '') return (env.CI && env.CI !== 'false' && env.CI !== '0') || env.CODEBUILD_BUILD_ID ? false : {};
  if (value === 'off' || value === 'false' || value === '0') return false;
  if (value === 'on' || value === 'true') return {};
  const minutes = Number(value);
  if (!/^[0-9]+(\.[0-9]+)?$/.test(value) || !(minutes >= 1 && minutes <= 24 * 60)) {
    throw new Error(`S2M_VALIDATION_DAEMON must be on, off, or the daemon's idle timeout in minutes (1 to 1440), got "${env.S2M_VALIDATION_DAEMON}"`);
  }
  return { idleTimeout: Duration.seconds(Math.round(minutes * 60)) };
}

/**
 * Whether the inputs of this synth (the config file, the context, the TypeScript the app loaded, aws-cdk-lib's
 * version) differ from the last synth's in this directory, and a function that records them once the synth has
 * succeeded. A guess at whether the templates will change, to start the template validator early or not: the
 * results themselves are always looked up by template content.
 */
function synthInputs(app: App, configPath: string): { changed: boolean; record(): void } {
  const dir = cacheDirectory('validation');
  if (!dir) return { changed: true, record: () => undefined };
  const file = join(dir, `last-synth-${contentHash(process.cwd()).slice(0, 16)}`);
  const parts: string[] = [JSON.stringify(app.node.getAllContext()), process.env.CDK_VALIDATION ?? ''];
  try {
    parts.push(readFileSync(configPath, 'utf8'));
    for (const f of Object.keys(require.cache).filter((m) => m.endsWith('.ts')).sort()) parts.push(f, readFileSync(f, 'utf8'));
    parts.push(readFileSync(require.resolve('aws-cdk-lib/package.json'), 'utf8'));
  } catch {
    return { changed: true, record: () => undefined };
  }
  const fingerprint = contentHash(...parts);
  let last: string | undefined;
  try {
    last = readFileSync(file, 'utf8');
  } catch {
    // first synth here
  }
  return { changed: last !== fingerprint, record: () => writeFileAtomic(file, fingerprint) };
}
