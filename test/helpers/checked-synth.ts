import { App } from 'aws-cdk-lib/core';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cdkJsonContext } from './app';

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
  /** The error synth threw (validation errors fail synth), if any. */
  readonly error?: Error;
  readonly reports: PluginReport[];
}

const dirs: string[] = [];

/**
 * Synthesizes `build`'s app as `cdk synth` does (cdk.json flags) into a temp dir and reads the validation report.
 * The caller turns AWS's template validator on (`process.env.CDK_VALIDATION = 'true'` at module load).
 */
export function checkedSynth(build: (app: App) => void): CheckedSynth {
  const outdir = mkdtempSync(join(tmpdir(), 's2m-checks-'));
  dirs.push(outdir);
  const app = new App({ outdir, context: cdkJsonContext() });
  build(app);
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
  return { app, outdir, reports, ...(error ? { error } : {}) };
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
