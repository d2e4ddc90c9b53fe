import { App, CfnResource, NestedStack, Stack } from 'aws-cdk-lib/core';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TemplateValidation } from '../../../lib/synth/validation';
import { cdkJsonContext } from '../../helpers/app';
import { buildFindingsApp, synthWithReport } from '../../helpers/validation-app';

// These tests run AWS's template validator (test/helpers/setup.ts turns it off for the other files).
const scratch = mkdtempSync(join(tmpdir(), 's2m-validation-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Outcome {
  readonly error?: string;
  readonly report: unknown;
  readonly validation?: TemplateValidation;
}

function synth(withPlugin: boolean, cacheDirectory: string | false, eager = true, extraTopic = false): Outcome {
  const outdir = mkdtempSync(join(scratch, 'out-'));
  const app = new App({ outdir, context: cdkJsonContext() });
  const validation = withPlugin ? TemplateValidation.start(app, { cacheDirectory, eager }) : undefined;
  if (withPlugin) expect(validation).toBeDefined();
  buildFindingsApp(app, { extraTopic });
  validation?.attach(app);
  const { report, error } = synthWithReport(app, outdir);
  return { report, ...(error ? { error } : {}), ...(validation ? { validation } : {}) };
}

describe('TemplateValidation: aws-cdk-lib\'s template validator, in a worker, cached by template content', () => {
  const previous = process.env.CDK_VALIDATION;
  let builtin: Outcome;
  let first: Outcome;
  let second: Outcome;
  let third: Outcome;
  let cache: string;

  beforeAll(() => {
    process.env.CDK_VALIDATION = 'true';
    cache = mkdtempSync(join(scratch, 'cache-'));
    // GIVEN the same app synthesized with aws-cdk-lib's own plugin, then twice with TemplateValidation and one cache
    builtin = synth(false, false);
    first = synth(true, cache);
    // (the second synth expects its templates in the cache: its engine starts only if one is not)
    second = synth(true, cache, false);
    // (the third changes the clean stack: its engine starts when that template is written)
    third = synth(true, cache, false, true);
  });
  afterAll(() => {
    process.env.CDK_VALIDATION = previous;
  });

  it('finds what aws-cdk-lib\'s plugin finds, in the same report', () => {
    const findings = JSON.stringify(builtin.report);
    expect(findings).toMatch(/F3012/); // the control: the built-in plugin did find the errors
    expect(findings).toMatch(/F3034/);
    expect(findings).toMatch(/W3010/);
    expect(first.report).toEqual(builtin.report);
  });

  it('fails the synth on an error, as aws-cdk-lib\'s plugin does', () => {
    expect(builtin.error).toMatch(/VisibilityTimeout: 'not-a-number' is not of type 'integer'/);
    expect(first.error).toBe(builtin.error);
  });

  it('answers an unchanged template from the cache, with the same report and the same failure, starting no engine', () => {
    // one result per template content: the two of the first synth, and the changed one of the third
    expect(readdirSync(cache).filter((f) => f.endsWith('.json'))).toHaveLength(3);
    expect(second.report).toEqual(builtin.report);
    expect(second.error).toBe(builtin.error);
    expect(first.validation!.enginesStarted).toBe(1);
    expect(second.validation!.enginesStarted).toBe(0);
  });

  it('starts the engine for a template the cache does not know, and finds what is new in it', () => {
    expect(third.validation!.enginesStarted).toBe(1);
    expect(JSON.stringify(third.report)).toMatch(/FifoTopic/);
    expect(third.error).toMatch(/VisibilityTimeout: 'not-a-number'/);
  });

  it('fails the synth at once, saying why, when the engine cannot start (it used to wait 10 minutes in silence)', () => {
    const broken = join(scratch, 'broken-validator.js');
    writeFileSync(broken, 'throw new Error("the WebAssembly module could not be instantiated");\n');
    const app = new App({ outdir: mkdtempSync(join(scratch, 'out-')), context: cdkJsonContext() });
    const validation = TemplateValidation.start(app, { cacheDirectory: false, validatorPath: broken });
    buildFindingsApp(app);
    validation!.attach(app);
    const started = Date.now();
    expect(() => app.synth()).toThrow(/Template validation failed in the engine: the engine did not start: Error: the WebAssembly module could not be instantiated/);
    // not the 5-minute deadline (no timing assertion beyond that: the machine is shared)
    expect(Date.now() - started).toBeLessThan(120_000);
  });

  it('fails the synth, naming the variable and the value, on a tiering budget that is not a whole number', () => {
    const previousBudget = process.env.S2M_VALIDATION_TIERING_BUDGET;
    process.env.S2M_VALIDATION_TIERING_BUDGET = 'lots';
    try {
      const app = new App({ outdir: mkdtempSync(join(scratch, 'out-')), context: cdkJsonContext() });
      // (the worker takes its copy of the environment when it starts)
      const validation = TemplateValidation.start(app, { cacheDirectory: false });
      buildFindingsApp(app);
      validation!.attach(app);
      expect(() => app.synth()).toThrow(/the engine did not start: Error: S2M_VALIDATION_TIERING_BUDGET must be 0 \(the V8 default\) or a whole number of bytes up to 999999999, got "lots"/);
    } finally {
      if (previousBudget === undefined) delete process.env.S2M_VALIDATION_TIERING_BUDGET;
      else process.env.S2M_VALIDATION_TIERING_BUDGET = previousBudget;
    }
  });

  it('is off when CDK_VALIDATION=false, like the built-in plugin', () => {
    process.env.CDK_VALIDATION = 'false';
    try {
      expect(TemplateValidation.start(new App())).toBeUndefined();
    } finally {
      process.env.CDK_VALIDATION = 'true';
    }
  });
});

describe('TemplateValidation: nested templates, which aws-cdk-lib\'s plugin does not validate', () => {
  const previous = process.env.CDK_VALIDATION;
  afterAll(() => {
    process.env.CDK_VALIDATION = previous;
  });

  function nestedSynth(withPlugin: boolean): { error?: string; report: string; validated?: readonly string[] } {
    process.env.CDK_VALIDATION = 'true';
    const outdir = mkdtempSync(join(scratch, 'nested-'));
    const app = new App({ outdir, context: cdkJsonContext() });
    const validation = withPlugin ? TemplateValidation.start(app, { cacheDirectory: false }) : undefined;
    // GIVEN a stack whose nested stack holds a queue with an invalid property
    const parent = new Stack(app, 'Parent', { env: { region: 'eu-west-1' } });
    new CfnResource(parent, 'Topic', { type: 'AWS::SNS::Topic' });
    new CfnResource(new NestedStack(parent, 'Nested'), 'Queue', { type: 'AWS::SQS::Queue', properties: { VisibilityTimeout: 'not-a-number' } });
    validation?.attach(app);
    let error: string | undefined;
    try {
      app.synth();
    } catch (e) {
      error = (e as Error).message;
    }
    return { report: readFileSync(join(outdir, 'validation-report.json'), 'utf8'), ...(error ? { error } : {}), ...(validation ? { validated: validation.validatedStacks } : {}) };
  }

  it('fails the synth on a nested template\'s error and reports it, where the built-in plugin passes it', () => {
    const builtin = nestedSynth(false);
    expect(builtin.error).toBeUndefined(); // the control: aws-cdk-lib's plugin does not see nested templates
    const ours = nestedSynth(true);
    expect(ours.error).toMatch(/VisibilityTimeout: 'not-a-number' is not of type 'integer'[\s\S]*Parent\/Nested\/Queue/);
    expect(ours.report).toMatch(/VisibilityTimeout: 'not-a-number' is not of type 'integer'/);
    expect(ours.report).toMatch(/nested\.template\.json/);
    // and says which stacks it validated: the top-level stack aws-cdk-lib handed over, then the nested one it added
    expect(ours.validated).toEqual(['Parent', 'Parent/Nested']);
  });
});
