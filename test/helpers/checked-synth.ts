import { App, Duration, type AppProps } from 'aws-cdk-lib/core';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { TemplateValidation } from '../../lib/synth/validation';
import { cdkJsonContext } from './app';
import { VALIDATION_RESULTS } from './unit-global-setup';

/** One violation in aws-cdk-lib's validation report. */
export interface Violation {
  readonly ruleName: string;
  readonly severity: string;
  readonly description: string;
  readonly violatingConstructs: Array<{ readonly constructPath: string }>;
}

/** One plugin's part of the validation report. */
export interface PluginReport {
  readonly pluginName: string;
  readonly conclusion: string;
  readonly violations: Violation[];
}

/** What one synthesis with every check on produced. */
export interface CheckedSynth {
  readonly app: App;
  /** Where the assembly was written (removed by {@link removeCheckedSynths}). */
  readonly outdir: string;
  /** The template validator of the synth (undefined when the caller did not turn it on). */
  readonly validation?: TemplateValidation;
  /** The error synth threw (validation errors fail synth), if any. */
  readonly error?: Error;
  readonly reports: PluginReport[];
}

const dirs: string[] = [];

/**
 * Synthesizes `build`'s app as `cdk synth` does (cdk.json flags) into a temp dir and reads the validation report.
 * The caller turns AWS's template validator on (`process.env.CDK_VALIDATION = 'true'` at module load).
 *
 * The validator is the reference app's ({@link TemplateValidation}: aws-cdk-lib's plugin with the same rules, settings
 * and report, nested templates included), its engine the run's validation daemon (test/helpers/unit-global-setup.ts)
 * and its results cached by template content across runs: a template that did not change since the last run is not
 * checked again, and the engine is set up once per run, not once per worker.
 */
export function checkedSynth(build: (app: App) => void, props: Omit<AppProps, 'outdir' | 'context'> = {}): CheckedSynth {
  const outdir = mkdtempSync(join(tmpdir(), 's2m-checks-'));
  dirs.push(outdir);
  const app = new App({ ...props, outdir, context: cdkJsonContext() });
  const validation = TemplateValidation.start(app, {
    cacheDirectory: VALIDATION_RESULTS,
    // No engine (nor daemon) until a template the cache does not know: none at all when nothing changed.
    eager: false,
    daemon: { directory: inject('validationDaemonDirectory'), idleTimeout: Duration.minutes(5) },
  });
  build(app);
  validation?.attach(app);
  let error: Error | undefined;
  try {
    app.synth();
  } catch (e) {
    error = e as Error;
  }
  let reports: PluginReport[] = [];
  try {
    reports = (JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as { pluginReports: PluginReport[] }).pluginReports;
  } catch {
    // no report: synth failed before validation; `error` says why
  }
  return { app, outdir, reports, ...(validation ? { validation } : {}), ...(error ? { error } : {}) };
}

/** `severity rule @ path: description` lines of one plugin's violations, for readable failures. */
export function findings(result: CheckedSynth, plugin: string): string[] {
  return result.reports
    .filter((r) => r.pluginName === plugin)
    .flatMap((r) => r.violations.flatMap((v) => v.violatingConstructs.map((c) => `${v.severity} ${v.ruleName} @ ${c.constructPath}: ${v.description}`)));
}

/** Removes every assembly {@link checkedSynth} wrote (call it in `afterAll`). */
export function removeCheckedSynths(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}
