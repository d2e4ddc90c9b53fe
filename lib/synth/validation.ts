import { CfnResource, CloudFormationValidatePlugin, Stack, Token, Validations, type App, type IPolicyValidationContext, type IStackSynthesizer, type ISynthesisSession, type PolicyValidationPluginReport, type PolicyValidationStack, type PolicyViolation, type PolicyViolatingResource } from 'aws-cdk-lib/core';
import type { IConstruct } from 'constructs';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { cacheDirectory, contentHash, writeFileAtomic } from './cache';

/**
 * The aws-cdk-lib release whose built-in validation {@link TemplateValidation} reproduces (its rule selection, its
 * validation settings, its report). With any other release the reference app uses aws-cdk-lib's own plugin.
 */
export const VALIDATED_AWS_CDK_LIB_VERSION = '2.276.0';

/** One finding of the validation engine, as its STANDARD report gives it (the fields the report uses). */
export interface TemplateDiagnostic {
  readonly ruleId: string;
  readonly severity: string;
  readonly message: string;
  readonly propertyPath?: string;
  readonly entity?: { readonly entityType?: string; readonly logicalId?: string };
  readonly suggestedFix?: string;
  readonly category?: string;
}

/** Options of {@link TemplateValidation.start}. */
export interface TemplateValidationOptions {
  /**
   * Directory of the results cache (one file per template content), or false for none.
   * @default - the `validation` directory of the synth cache (`S2M_CACHE_DIR`, or `os.tmpdir()/scale-to-millions-<uid>`)
   */
  readonly cacheDirectory?: string | false;
  /**
   * The engine's module (tests give a broken one to see a failed start reported).
   * @default - the validator aws-cdk-lib runs
   */
  readonly validatorPath?: string;
  /**
   * Start the engine now, expecting templates the cache does not know. With false the engine starts at the first
   * template the cache does not know (a few seconds later than it could have, when there is one).
   * @default true
   */
  readonly eager?: boolean;
}

/** Where aws-cdk-lib keeps the engine and its rules. */
interface EngineFiles {
  readonly cdkVersion: string;
  readonly validatorPath: string;
  readonly validatorVersion: string;
  readonly rulesDirectory: string;
  readonly rulesIndex: string;
}

function engineFiles(): EngineFiles {
  const cdkRoot = dirname(require.resolve('aws-cdk-lib/package.json'));
  const validatorPath = require.resolve('@aws/cloudformation-validate', { paths: [cdkRoot] });
  const rulesDirectory = join(cdkRoot, 'core', 'lib', 'validation', 'rules');
  return {
    cdkVersion: (JSON.parse(readFileSync(join(cdkRoot, 'package.json'), 'utf8')) as { version: string }).version,
    validatorPath,
    validatorVersion: (JSON.parse(readFileSync(join(dirname(validatorPath), 'package.json'), 'utf8')) as { version: string }).version,
    rulesDirectory,
    rulesIndex: readFileSync(join(rulesDirectory, 'index.generated.json'), 'utf8'),
  };
}

/**
 * The worker thread that owns the validation engine. Plain JavaScript, evaluated as a string, so it runs the same
 * under any TypeScript loader. It reproduces what aws-cdk-lib 2.276's `CloudFormationValidatePlugin` does for one
 * template: the built-in Rego rules whose resource types the templates use, `STANDARD` detail, warnings and
 * above, the same excluded rule ids, and the stack's account and region as pseudo parameters.
 */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
const { validatorPath, rulesDirectory, port, signal } = workerData;
const done = new Int32Array(signal);
const IGNORE_RULES = ['W3005', 'W1020', 'I4010', 'W4011', 'W4012', 'W9002', 'W9013', 'W1103'];
let index;
let validator;
let fatal;
const seenTypes = new Set();
let engine;
let engineRules;
function useTypes(types) {
  for (const t of types) seenTypes.add(t);
  const rules = index.rules
    .filter((r) => r.types === null || r.types.some((t) => seenTypes.has(t)))
    .sort((a, b) => a.file.localeCompare(b.file));
  const key = rules.map((r) => r.file).join('\\n');
  if (engine && key === engineRules) return;
  const regoRules = rules.map((r) => ({ name: r.file, content: fs.readFileSync(path.join(rulesDirectory, r.file), 'utf8') }));
  if (engine) engine.free();
  engine = new validator.CompositeEngine(regoRules.length > 0 ? { regoRules } : {});
  engineRules = key;
}
function typesOf(text) {
  const types = [];
  try {
    for (const r of Object.values(JSON.parse(text)?.Resources ?? {})) if (r && typeof r === 'object' && typeof r.Type === 'string') types.push(r.Type);
  } catch {}
  return types;
}
function reply(message) {
  port.postMessage(message);
  Atomics.add(done, 0, 1);
  Atomics.notify(done, 0);
}
try {
  index = JSON.parse(fs.readFileSync(path.join(rulesDirectory, 'index.generated.json'), 'utf8'));
  validator = require(validatorPath);
  useTypes([]);
} catch (e) {
  // Say so at once: the app waits on the signal and cannot see the worker's error or exit events meanwhile.
  fatal = 'the engine did not start: ' + String(e && e.stack || e);
  reply({ key: '', error: fatal });
}
process.on('exit', (code) => { if (!fatal) reply({ key: '', error: 'the engine stopped (exit code ' + code + ')' }); });
port.on('message', (m) => {
  if (fatal) { reply({ key: m.key, error: fatal }); return; }
  try {
    if (m.kind === 'types') { useTypes(m.types); return; }
    useTypes(typesOf(m.text));
    const report = engine.validateTemplate(new validator.TemplateContent(m.text, m.templatePath), {
      detailLevel: 'STANDARD',
      pseudoParameterOverrides: { accountId: m.accountId, region: m.region },
      exclude: { ids: IGNORE_RULES, services: [{ ruleId: 'W3697', service: 'AWS::AutoScaling' }] },
      severityLevel: 'WARN',
    });
    const diagnostics = report.diagnostics.map((d) => ({
      ruleId: d.ruleId, severity: d.severity, message: d.message, propertyPath: d.propertyPath ?? undefined,
      entity: d.entity ? { entityType: d.entity.entityType, logicalId: d.entity.logicalId } : undefined,
      suggestedFix: d.suggestedFix ?? undefined, category: d.category ?? undefined,
    }));
    reply({ key: m.key, diagnostics });
  } catch (e) {
    reply({ key: m.key, error: String(e && e.stack || e) });
  }
});
`;

/** How long a synth waits for the engine before it fails (a worker that died cannot say so while the app waits). */
const WORKER_TIMEOUT_MS = 5 * 60 * 1000;

interface WorkerReply {
  readonly key: string;
  readonly diagnostics?: TemplateDiagnostic[];
  readonly error?: string;
}

/**
 * AWS's template validator (the `CloudFormation Validate` plugin that aws-cdk-lib runs at every synth), made fast
 * for an edit–synth loop without changing what it finds:
 *
 * - the engine starts in a worker thread when the synth starts, and sets itself up (a few seconds of WebAssembly)
 *   on the other core while the app builds its constructs;
 * - each template goes to the worker as soon as it is written, so the last ones are checked while cdk-nag runs;
 * - results are cached by template content (with the engine's version, the rules, the account and the region): a
 *   template that did not change is not checked again, and a synth where none changed starts no engine at all.
 *
 * It is aws-cdk-lib's own plugin class (registering it replaces the built-in instance), with the same name, the
 * same findings and the same report: errors still fail the synth when `@aws-cdk/core:validateAgainstDefaultRules`
 * is on, and acknowledgements apply as before. `CDK_VALIDATION=false` turns it off like the built-in one.
 */
export class TemplateValidation extends CloudFormationValidatePlugin {
  /**
   * Starts the engine for `app` (call it first thing, before the app builds its stacks), or returns undefined when
   * the app does not validate (`CDK_VALIDATION=false`, `builtinCloudFormationValidation: false`) or aws-cdk-lib is
   * not the release this class reproduces ({@link VALIDATED_AWS_CDK_LIB_VERSION}): the built-in plugin runs then.
   * Then call {@link attach} once the stacks exist.
   */
  public static start(app: App, options: TemplateValidationOptions = {}): TemplateValidation | undefined {
    if (process.env.CDK_VALIDATION === 'false' || !app._builtinCloudFormationValidation) return undefined;
    const files = engineFiles();
    if (files.cdkVersion !== VALIDATED_AWS_CDK_LIB_VERSION) return undefined;
    return new TemplateValidation(files, options);
  }

  private readonly files: EngineFiles;
  private readonly cacheDir: string | undefined;
  private worker?: Worker;
  private port?: MessagePort;
  private signal?: Int32Array;
  /** Results by cache key: from the cache, or from the worker. */
  private readonly results = new Map<string, TemplateDiagnostic[]>();
  /** Keys sent to the worker and not answered yet. */
  private readonly pending = new Set<string>();
  /** Keys whose result must be written to the cache. */
  private readonly toCache = new Set<string>();
  /** The resource types of the app's stacks (known once attached). */
  private types: string[] = [];
  /** The app's nested stacks: aws-cdk-lib hands plugins top-level templates only, so they are added here. */
  private nested: Stack[] = [];
  private started = 0;

  private constructor(files: EngineFiles, options: TemplateValidationOptions) {
    super();
    this.files = options.validatorPath ? { ...files, validatorPath: options.validatorPath } : files;
    this.cacheDir = options.cacheDirectory === false ? undefined : options.cacheDirectory ?? cacheDirectory('validation');
    if (options.eager ?? true) this.startWorker();
  }

  /** How many engines (worker threads) this plugin started: 0 when every template was in the cache. */
  public get enginesStarted(): number {
    return this.started;
  }

  /** Whether results are cached. */
  public get cached(): boolean {
    return this.cacheDir !== undefined;
  }

  /** The validator's version, read from its package (the base class loads the engine to ask it). */
  public override get version(): string {
    return this.files.validatorVersion;
  }

  public override get ruleIds(): string[] {
    return [this.files.validatorVersion];
  }

  /**
   * Registers this plugin on `app` (after the plugins already there, so cdk-nag runs while the last templates are
   * checked), tells the engine which resource types to expect, and has every stack hand its template over as soon
   * as it is written.
   */
  public attach(app: App): void {
    Validations.of(app).addPlugins(this);
    const types = new Set<string>();
    const stacks: Stack[] = [];
    const visit = (c: IConstruct): void => {
      if (CfnResource.isCfnResource(c)) types.add(c.cfnResourceType);
      if (Stack.isStack(c)) stacks.push(c);
      for (const child of c.node.children) visit(child);
    };
    visit(app);
    this.types = [...types];
    this.nested = stacks.filter((s) => s.nested);
    this.port?.postMessage({ kind: 'types', types: this.types });
    for (const stack of stacks) this.streamTemplateOf(stack);
  }

  /**
   * Validates the top-level templates aws-cdk-lib hands over, and the app's nested templates with them (aws-cdk-lib's
   * own plugin never sees those: a nested stack's invalid template would fail only at deploy).
   */
  public override validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    const outdir = context.stackTemplates.length > 0 ? dirname(context.stackTemplates[0].templatePath) : undefined;
    const templates: PolicyValidationStack[] = [
      ...context.stackTemplates,
      ...(outdir === undefined ? [] : this.nested.map((stack) => ({
        stackConstructPath: stack.node.path,
        templatePath: join(outdir, stack.templateFile),
        accountId: Token.isUnresolved(stack.account) ? undefined : stack.account,
        region: Token.isUnresolved(stack.region) ? undefined : stack.region,
      }))),
    ];
    const keys = templates.map((s) => this.submit(s, readFileSync(s.templatePath, 'utf8')));
    this.awaitResults();
    this.stopWorker();
    for (const key of this.toCache) {
      if (this.cacheDir) writeFileAtomic(join(this.cacheDir, `${key}.json`), JSON.stringify(this.results.get(key)));
    }
    this.toCache.clear();
    return toReport(templates.map((s, i) => ({ stack: s, diagnostics: this.results.get(keys[i])! })));
  }

  /** The cache key of a template, its result looked up, or the template sent to the worker. */
  private submit(s: PolicyValidationStack, text: string): string {
    const f = this.files;
    // The worker's source is in the key: its rule selection, exclusions and levels are part of every result. (Which
    // rules run also depends on the resource types of the app's other templates; in aws-cdk-lib 2.276 the only rule
    // with more than one type is GameLift's, which no template here uses.)
    const key = contentHash('s2m-validation-v1', WORKER_SOURCE, f.cdkVersion, f.validatorVersion, f.rulesIndex, s.accountId ?? '', s.region ?? '', text);
    if (this.results.has(key) || this.pending.has(key)) return key;
    const cached = this.readCache(key);
    if (cached) {
      this.results.set(key, cached);
      return key;
    }
    if (!this.port) {
      this.startWorker();
      this.port!.postMessage({ kind: 'types', types: this.types });
    }
    this.pending.add(key);
    this.port!.postMessage({ kind: 'validate', key, text, templatePath: s.templatePath, accountId: s.accountId, region: s.region });
    return key;
  }

  private readCache(key: string): TemplateDiagnostic[] | undefined {
    if (!this.cacheDir) return undefined;
    try {
      return JSON.parse(readFileSync(join(this.cacheDir, `${key}.json`), 'utf8')) as TemplateDiagnostic[];
    } catch {
      return undefined;
    }
  }

  /** Wraps the stack's synthesizer so the template is submitted right after it is written. */
  private streamTemplateOf(stack: Stack): void {
    const synthesizer: IStackSynthesizer = stack.synthesizer;
    const synthesize = synthesizer.synthesize.bind(synthesizer);
    synthesizer.synthesize = (session: ISynthesisSession): void => {
      synthesize(session);
      const templatePath = join(session.outdir, stack.templateFile);
      this.submit({
        stackConstructPath: stack.node.path,
        templatePath,
        accountId: Token.isUnresolved(stack.account) ? undefined : stack.account,
        region: Token.isUnresolved(stack.region) ? undefined : stack.region,
      }, readFileSync(templatePath, 'utf8'));
    };
  }

  /** Blocks until the worker has answered every pending template (the plugin API is synchronous). */
  private awaitResults(): void {
    const deadline = Date.now() + WORKER_TIMEOUT_MS;
    while (this.pending.size > 0) {
      const seen = Atomics.load(this.signal!, 0);
      for (let m = receiveMessageOnPort(this.port!); m; m = receiveMessageOnPort(this.port!)) {
        const reply = m.message as WorkerReply;
        if (reply.error !== undefined) {
          this.stopWorker();
          throw new Error(`Template validation failed in the engine: ${reply.error}`);
        }
        this.pending.delete(reply.key);
        this.results.set(reply.key, reply.diagnostics!);
        this.toCache.add(reply.key);
      }
      if (this.pending.size === 0) break;
      if (Date.now() > deadline) {
        this.stopWorker();
        throw new Error(`Template validation: the engine did not answer within ${WORKER_TIMEOUT_MS / 1000} s (${this.pending.size} templates pending)`);
      }
      Atomics.wait(this.signal!, 0, seen, 1000);
    }
  }

  private startWorker(): void {
    this.started++;
    const { port1, port2 } = new MessageChannel();
    const signal = new SharedArrayBuffer(4);
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { validatorPath: this.files.validatorPath, rulesDirectory: this.files.rulesDirectory, port: port2, signal },
      transferList: [port2],
      // The app's own loader hooks (-r) have nothing to do in the worker.
      execArgv: [],
      stdout: false,
      stderr: false,
    });
    // Neither keeps the process alive: a synth that fails before validating exits as it would without them.
    this.worker.unref();
    port1.unref();
    this.port = port1;
    this.signal = new Int32Array(signal);
  }

  private stopWorker(): void {
    void this.worker?.terminate();
    this.port?.close();
    this.worker = undefined;
    this.port = undefined;
    this.signal = undefined;
  }
}

/** The plugin report of the templates' findings, grouped as aws-cdk-lib's plugin groups them. */
export function toReport(templates: Array<{ stack: PolicyValidationStack; diagnostics: TemplateDiagnostic[] }>): PolicyValidationPluginReport {
  const violations: Array<PolicyViolation & { violatingResources: PolicyViolatingResource[] }> = [];
  for (const { stack, diagnostics } of templates) {
    for (const d of diagnostics) {
      const severity = mapSeverity(d.severity);
      const resourceLogicalId = d.entity?.entityType === 'Resource' ? d.entity.logicalId : undefined;
      const resource: PolicyViolatingResource = {
        ...(resourceLogicalId ? { resourceLogicalId } : { constructPath: stack.stackConstructPath }),
        templatePath: stack.templatePath,
        locations: d.propertyPath ? [d.propertyPath] : [],
      };
      const description = `${d.propertyPath ? `${d.propertyPath.replace(/^Properties\./, '')}: ` : ''}${d.message}`;
      const existing = violations.find((v) => v.ruleName === d.ruleId && v.severity === severity && v.description === description);
      if (existing) existing.violatingResources.push(resource);
      else {
        violations.push({
          ruleName: d.ruleId,
          description,
          severity,
          ...(d.suggestedFix !== undefined ? { fix: d.suggestedFix } : {}),
          violatingResources: [resource],
          ...(d.category ? { ruleMetadata: { category: d.category } } : {}),
        });
      }
    }
  }
  return { success: violations.every((v) => v.severity !== 'error' && v.severity !== 'fatal'), violations };
}

function mapSeverity(severity: string): string {
  switch (severity) {
    case 'FATAL':
    case 'ERROR':
      return 'error';
    case 'WARN':
      return 'warning';
    case 'INFO':
      return 'informational';
    case 'DEBUG':
      return 'debug';
    default:
      return 'warning';
  }
}
