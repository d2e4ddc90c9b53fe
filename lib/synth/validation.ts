import { CfnResource, CloudFormationValidatePlugin, Duration, Stack, Token, Validations, type App, type IPolicyValidationContext, type IStackSynthesizer, type ISynthesisSession, type PolicyValidationPluginReport, type PolicyValidationStack, type PolicyViolation, type PolicyViolatingResource } from 'aws-cdk-lib/core';
import type { IConstruct } from 'constructs';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
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
  /**
   * Check templates in a validation daemon, one engine shared by this user's synths, started by the first synth that
   * finds none and gone after `idleTimeout` without a synth; or false for an engine in each synth's own worker
   * thread. A synth whose templates changed then skips the engine's set-up (about 2.5 s of one core). The synth
   * falls back to an engine of its own when the daemon cannot be started or reached, or stops answering.
   * @default false
   */
  readonly daemon?: boolean | ValidationDaemonOptions;
}

/** Options of the validation daemon ({@link TemplateValidationOptions.daemon}). */
export interface ValidationDaemonOptions {
  /**
   * How long the daemon waits without a synth before it exits.
   * @default Duration.minutes(10)
   */
  readonly idleTimeout?: Duration;
  /**
   * How long a synth waits for the daemon's next answer (while it has templates to answer) before it checks the rest
   * with an engine of its own: a daemon that was stopped (SIGSTOP) or is stuck costs a synth this much, not a hang.
   * The daemon may be checking another synth's templates meanwhile; one template takes it well under a second.
   * @default Duration.minutes(1)
   */
  readonly answerTimeout?: Duration;
  /**
   * The directory of the daemon's socket and pid file, which must be this user's alone (0700).
   * @default - the `daemons` directory of the synth cache (`S2M_CACHE_DIR`, or `os.tmpdir()/scale-to-millions-<uid>`)
   */
  readonly directory?: string;
}

/** A running validation daemon, as its pid file names it (see {@link validationDaemons}). */
export interface ValidationDaemon {
  readonly pid: number;
  readonly socketPath: string;
}

/** What the worker needs to reach (or start) the daemon. */
interface DaemonConfig {
  readonly socketPath: string;
  readonly source: string;
  readonly directory: string;
  readonly env: Record<string, string | undefined>;
  readonly connectTimeoutMs: number;
  readonly answerTimeoutMs: number;
  readonly options: { socketPath: string; validatorPath: string; rulesDirectory: string; idleMs: number };
}

/** The longest socket path Linux and macOS accept, less a margin. */
const MAX_SOCKET_PATH_BYTES = 100;

/** How long a synth tries to reach a daemon it found absent and started, before it sets up an engine of its own. */
const DAEMON_CONNECT_TIMEOUT_MS = 10_000;

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
 * The validation engine: what aws-cdk-lib 2.276's `CloudFormationValidatePlugin` does for one template. Plain
 * JavaScript, evaluated as a string (in a worker thread, or in the daemon's process), so it runs the same under any
 * TypeScript loader and needs no file of its own. It runs the built-in Rego rules whose resource types the templates
 * use, `STANDARD` detail, warnings and above, the same excluded rule ids, and the stack's account and region as
 * pseudo parameters. Its text is part of every cached result's key.
 */
const ENGINE_SOURCE = `
const fs = require('node:fs');
const path = require('node:path');
const IGNORE_RULES = ['W3005', 'W1020', 'I4010', 'W4011', 'W4012', 'W9002', 'W9013', 'W1103'];
function typesOf(text) {
  const types = [];
  try {
    for (const r of Object.values(JSON.parse(text)?.Resources ?? {})) if (r && typeof r === 'object' && typeof r.Type === 'string') types.push(r.Type);
  } catch {}
  return types;
}
function createEngine(validatorPath, rulesDirectory) {
  const index = JSON.parse(fs.readFileSync(path.join(rulesDirectory, 'index.generated.json'), 'utf8'));
  // V8 runs WebAssembly in its baseline tier first and compiles the functions that have run the most (by its tiering
  // budget, 1.8 M by default) with its optimizing tier on background threads. For the engine's 9 MB module that is
  // more CPU than it saves: a synth shares two cores between the app's thread and this one. With 400 M, a cold synth
  // of the reference app took 0.84x the wall time and 0.80x the CPU (bench/synth.bench.ts, alternating), and a warm
  // one the same. The flag is the process's (V8 has one set): it affects other WebAssembly in the app's process only
  // in speed. S2M_VALIDATION_TIERING_BUDGET=0 keeps V8's own budget.
  const budget = process.env.S2M_VALIDATION_TIERING_BUDGET ?? '400000000';
  if (!/^(0|[1-9][0-9]{0,8})$/.test(budget)) throw new Error('S2M_VALIDATION_TIERING_BUDGET must be 0 (the V8 default) or a whole number of bytes up to 999999999, got "' + budget + '"');
  if (budget !== '0') require('node:v8').setFlagsFromString('--wasm-tiering-budget=' + budget);
  const validator = require(validatorPath);
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
  function validate(m) {
    useTypes(typesOf(m.text));
    const report = engine.validateTemplate(new validator.TemplateContent(m.text, m.templatePath), {
      detailLevel: 'STANDARD',
      pseudoParameterOverrides: { accountId: m.accountId, region: m.region },
      exclude: { ids: IGNORE_RULES, services: [{ ruleId: 'W3697', service: 'AWS::AutoScaling' }] },
      severityLevel: 'WARN',
    });
    return report.diagnostics.map((d) => ({
      ruleId: d.ruleId, severity: d.severity, message: d.message, propertyPath: d.propertyPath ?? undefined,
      entity: d.entity ? { entityType: d.entity.entityType, logicalId: d.entity.logicalId } : undefined,
      suggestedFix: d.suggestedFix ?? undefined, category: d.category ?? undefined,
    }));
  }
  useTypes([]);
  return { useTypes, validate };
}
// An engine started on first use. answer(m) is the reply to a message (none to 'types'); once the engine has failed
// to start, that failure is the reply to every template.
function lazyEngine(validatorPath, rulesDirectory, where) {
  let engine;
  let fatal;
  function start() {
    if (!engine && fatal === undefined) {
      try {
        engine = createEngine(validatorPath, rulesDirectory);
      } catch (e) {
        fatal = 'the engine did not start' + where + ': ' + String(e && e.stack || e);
      }
    }
    return fatal;
  }
  function answer(m) {
    if (start() !== undefined) return m.kind === 'types' ? undefined : { key: m.key, fatal: true, error: fatal };
    try {
      if (m.kind === 'types') { engine.useTypes(m.types); return undefined; }
      return { key: m.key, diagnostics: engine.validate(m) };
    } catch (e) {
      return { key: m.key, error: String(e && e.stack || e) };
    }
  }
  return { start, answer };
}
`;

/**
 * The worker thread of a synth. It answers the app's templates from an engine of its own, or, with a daemon
 * configured, from the daemon's engine over its socket: it starts the daemon when none answers, and falls back to
 * an engine of its own when the daemon cannot be reached, goes away, or cannot start its engine.
 */
const WORKER_SOURCE = `${ENGINE_SOURCE}
const { workerData } = require('node:worker_threads');
const net = require('node:net');
const { validatorPath, rulesDirectory, port, signal, daemon } = workerData;
const done = new Int32Array(signal);
const here = lazyEngine(validatorPath, rulesDirectory, '');
let told = false;
function reply(message) {
  port.postMessage(message);
  Atomics.add(done, 0, 1);
  Atomics.notify(done, 0);
}
function startEngine() {
  const fatal = here.start();
  // Say so at once: the app waits on the signal and cannot see the worker's error or exit events meanwhile.
  if (fatal !== undefined && !told) {
    told = true;
    reply({ key: '', error: fatal });
  }
}
function runHere(m) {
  startEngine();
  const r = here.answer(m);
  if (r) reply(r);
}
process.on('exit', (code) => { if (!told) reply({ key: '', error: 'the engine stopped (exit code ' + code + ')' }); });

// 'here': this thread's engine; 'connecting': to the daemon (templates wait); 'daemon': sent over the socket.
let mode = daemon ? 'connecting' : 'here';
let types = new Set();
const waiting = [];
const sent = new Map();
let socket;
function toHere() {
  if (mode === 'here') return;
  mode = 'here';
  clearTimeout(silence);
  if (socket) socket.destroy();
  socket = undefined;
  const replay = [...sent.values(), ...waiting.filter((m) => m.kind !== 'types')];
  sent.clear();
  waiting.length = 0;
  runHere({ kind: 'types', types: [...types] });
  for (const m of replay) runHere(m);
}
// A daemon that takes templates and does not answer (stopped, or stuck): the rest is checked here.
let silence;
function watch() {
  clearTimeout(silence);
  if (mode === 'daemon' && sent.size > 0) silence = setTimeout(toHere, daemon.answerTimeoutMs);
}
function send(m) {
  if (m.kind !== 'types') sent.set(m.key, m);
  socket.write(JSON.stringify(m) + '\\n');
  if (sent.size === 1 && m.kind !== 'types') watch();
}
function connected(s) {
  mode = 'daemon';
  socket = s;
  s.setEncoding('utf8');
  let buffer = '';
  s.on('data', (chunk) => {
    buffer += chunk;
    for (let i = buffer.indexOf('\\n'); i >= 0 && mode === 'daemon'; i = buffer.indexOf('\\n')) {
      let r;
      try { r = JSON.parse(buffer.slice(0, i)); } catch { r = { fatal: true }; }
      buffer = buffer.slice(i + 1);
      // The daemon's engine did not start (or what answers is no daemon of ours): this thread's engine may, or says
      // why not, as it would have without a daemon.
      if (r.fatal) { toHere(); return; }
      if (!sent.delete(r.key)) continue;
      watch();
      reply({ key: r.key, daemon: true, ...(r.error !== undefined ? { error: r.error } : { diagnostics: r.diagnostics }) });
    }
  });
  s.on('error', () => {});
  s.on('close', () => toHere());
  send({ kind: 'types', types: [...types] });
  for (const m of waiting.splice(0)) if (m.kind !== 'types') send(m);
}
let spawned = false;
const deadline = daemon ? Date.now() + daemon.connectTimeoutMs : 0;
function connect() {
  if (mode !== 'connecting') return;
  const s = net.connect(daemon.socketPath);
  s.once('connect', () => { if (mode === 'connecting') connected(s); else s.destroy(); });
  s.once('error', (e) => {
    s.destroy();
    if (mode !== 'connecting') return;
    // No daemon (no socket, or one nobody listens on): start one and keep trying. Anything else (a socket this user
    // may not open, a path that is not a socket) will not get better: check here.
    if (e.code !== 'ENOENT' && e.code !== 'ECONNREFUSED') { toHere(); return; }
    if (!spawned) {
      spawned = true;
      try {
        // Through a launcher that starts the daemon in a session of its own and exits at once: the daemon is then
        // nobody's child here, and no zombie is left in a long-lived process (a test runner) when it exits.
        const launcher = "require('node:child_process').spawn(process.execPath, ['-e', process.argv[1], '--', process.argv[2]], { detached: true, stdio: 'ignore' }).unref()";
        const child = require('node:child_process').spawn(process.execPath, ['-e', launcher, daemon.source, JSON.stringify(daemon.options)], {
          stdio: 'ignore', cwd: daemon.directory, env: daemon.env,
        });
        child.on('error', () => {});
        child.unref();
      } catch {}
    }
    if (Date.now() > deadline) toHere();
    else setTimeout(connect, 25);
  });
}
if (daemon) connect();
else startEngine();
port.on('message', (m) => {
  if (m.kind === 'types') for (const t of m.types) types.add(t);
  if (mode === 'here') runHere(m);
  else if (mode === 'connecting') waiting.push(m);
  else send(m);
});
`;

/** The validation daemon's process title (what `ps` shows). */
const DAEMON_TITLE = 's2m-validation-daemon';

/**
 * The validation daemon: one engine per user and engine version that outlives a synth, so a synth with a changed
 * template does not set an engine up again (about 2.5 s of WebAssembly: the engine, then its first template). It
 * listens on a Unix socket in the user's 0700 cache directory (the socket only the user's, by its umask), takes
 * newline-delimited JSON (a template per line, answered in order), and exits after `idleMs` without a client
 * (counted from when its engine is ready), on SIGTERM or SIGINT, or at once when another daemon already answers on
 * its socket. Its pid is in `<socket>.<pid>.pid`.
 */
const DAEMON_SOURCE = `${ENGINE_SOURCE}
const net = require('node:net');
process.title = '${DAEMON_TITLE}';
process.umask(0o077);
const { socketPath, validatorPath, rulesDirectory, idleMs } = JSON.parse(process.argv[process.argv.length - 1]);
// The socket is bound at a name of this process's own, then linked to the shared name: the link is what decides
// which of two daemons started at once serves (the other finds it answering and exits), and a daemon never
// removes a socket file that is not its own.
const bound = socketPath + '.' + process.pid + '.tmp';
const pidFile = socketPath + '.' + process.pid + '.pid';
let ino;
const engine = lazyEngine(validatorPath, rulesDirectory, ' in the validation daemon');
let clients = 0;
let timer;
function handle(c, line) {
  let m;
  try { m = JSON.parse(line); } catch { c.destroy(); return; }
  const r = engine.answer(m);
  if (r) c.write(JSON.stringify(r) + '\\n');
}
function idle() {
  clearTimeout(timer);
  if (clients === 0) timer = setTimeout(stop, idleMs);
}
function owned() {
  try { return fs.statSync(socketPath).ino === ino; } catch { return false; }
}
function quit(code) {
  try { fs.rmSync(pidFile, { force: true }); } catch {}
  if (owned()) try { fs.unlinkSync(socketPath); } catch {}
  // Closing the server removes the name it was bound at, if it is still there.
  server.close();
  process.exit(code);
}
function stop(signal) {
  if (signal !== true && clients > 0) return;
  quit(0);
}
const server = net.createServer((c) => {
  clients++;
  idle();
  c.setEncoding('utf8');
  let buffer = '';
  c.on('data', (chunk) => {
    buffer += chunk;
    for (let i = buffer.indexOf('\\n'); i >= 0; i = buffer.indexOf('\\n')) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      handle(c, line);
    }
  });
  c.on('error', () => {});
  c.on('close', () => { clients--; idle(); });
});
function serve() {
  fs.writeFileSync(pidFile, String(process.pid));
  // What daemons of this socket that were killed left behind: their pid files and bound names.
  const dir = path.dirname(socketPath);
  const prefix = path.basename(socketPath) + '.';
  for (const f of fs.readdirSync(dir)) {
    const m = f.startsWith(prefix) && /^([0-9]+)\\.(pid|tmp)$/.exec(f.slice(prefix.length));
    if (!m || Number(m[1]) === process.pid) continue;
    try { process.kill(Number(m[1]), 0); } catch (e) { if (e.code === 'ESRCH') try { fs.rmSync(path.join(dir, f), { force: true }); } catch {} }
  }
  // Clients may connect and wait while the engine sets itself up; the idle time counts from when it is ready.
  setImmediate(() => { engine.start(); idle(); });
}
function claim() {
  try {
    fs.linkSync(bound, socketPath);
    fs.rmSync(bound, { force: true });
    return serve();
  } catch (e) {
    if (e.code !== 'EEXIST') return quit(1);
  }
  const probe = net.connect(socketPath);
  // Another daemon answers: it serves this engine.
  probe.once('connect', () => { probe.destroy(); quit(0); });
  // A socket file nobody listens on (a daemon that was killed): take its place in one step. Of two daemons doing
  // that at once, the one replaced last is left unreachable, and exits when idle.
  probe.once('error', () => {
    try { fs.renameSync(bound, socketPath); } catch { return quit(1); }
    if (!owned()) return quit(0);
    serve();
  });
}
server.on('error', () => process.exit(1));
server.listen(bound, () => {
  ino = fs.statSync(bound).ino;
  claim();
});
process.on('SIGTERM', () => stop(true));
process.on('SIGINT', () => stop(true));
`;

/** How long a synth waits for the engine before it fails (a worker that died cannot say so while the app waits). */
const WORKER_TIMEOUT_MS = 5 * 60 * 1000;

interface WorkerReply {
  readonly key: string;
  /** Whether the daemon's engine checked the template (not the worker's own). */
  readonly daemon?: boolean;
  readonly diagnostics?: TemplateDiagnostic[];
  readonly error?: string;
}

/**
 * AWS's template validator (the `CloudFormation Validate` plugin that aws-cdk-lib runs at every synth), made fast
 * for an edit–synth loop without changing what it finds:
 *
 * - the engine starts in a worker thread when the synth starts, and sets itself up (a few seconds of WebAssembly)
 *   on the other core while the app builds its constructs, optimizing less of its WebAssembly than V8 would by
 *   default, which leaves more of the two cores to the app (`S2M_VALIDATION_TIERING_BUDGET`: V8's tiering budget
 *   in bytes, 400 M; 0 keeps V8's own);
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
  private fromDaemon = 0;
  private lastValidated: string[] = [];
  private readonly daemon: DaemonConfig | undefined;

  private constructor(files: EngineFiles, options: TemplateValidationOptions) {
    super();
    this.files = options.validatorPath ? { ...files, validatorPath: options.validatorPath } : files;
    this.cacheDir = options.cacheDirectory === false ? undefined : options.cacheDirectory ?? cacheDirectory('validation');
    this.daemon = options.daemon ? daemonConfig(this.files, options.daemon === true ? {} : options.daemon) : undefined;
    if (options.eager ?? true) this.startWorker();
  }

  /** How many worker threads this plugin started (each with an engine of its own, or talking to the daemon): 0 when every template was in the cache. */
  public get enginesStarted(): number {
    return this.started;
  }

  /** How many templates the validation daemon checked for this plugin (the others came from the cache or the worker's own engine). */
  public get templatesFromDaemon(): number {
    return this.fromDaemon;
  }

  /**
   * The construct paths of the stacks whose templates the last synth validated: the top-level stacks aws-cdk-lib
   * handed over, then the nested stacks this plugin adds (empty before the synth's validation).
   */
  public get validatedStacks(): readonly string[] {
    return this.lastValidated;
  }

  /** The socket of the validation daemon this plugin uses, or undefined when it uses an engine of its own. */
  public get daemonSocket(): string | undefined {
    return this.daemon?.socketPath;
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
    this.lastValidated = templates.map((s) => s.stackConstructPath);
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
    // The engine's source is in the key: its rule selection, exclusions and levels are part of every result. (Which
    // rules run also depends on the resource types of the app's other templates; in aws-cdk-lib 2.276 the only rule
    // with more than one type is GameLift's, which no template here uses.)
    const key = contentHash('s2m-validation-v2', ENGINE_SOURCE, f.cdkVersion, f.validatorVersion, f.rulesIndex, s.accountId ?? '', s.region ?? '', text);
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
        if (reply.daemon) this.fromDaemon++;
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
      workerData: { validatorPath: this.files.validatorPath, rulesDirectory: this.files.rulesDirectory, port: port2, signal, daemon: this.daemon },
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

/** The daemon's socket and start-up settings for this engine (its files, this Node.js), or undefined when there is no usable directory. */
function daemonConfig(files: EngineFiles, options: ValidationDaemonOptions): DaemonConfig | undefined {
  const idleMs = (options.idleTimeout ?? Duration.minutes(10)).toMilliseconds();
  if (!(idleMs >= 1000)) throw new Error(`TemplateValidation: daemon.idleTimeout must be at least 1 second, got ${options.idleTimeout?.toHumanString()}`);
  const answerTimeoutMs = (options.answerTimeout ?? Duration.minutes(1)).toMilliseconds();
  if (!(answerTimeoutMs >= 1000)) throw new Error(`TemplateValidation: daemon.answerTimeout must be at least 1 second, got ${options.answerTimeout?.toHumanString()}`);
  const directory = options.directory ?? cacheDirectory('daemons');
  if (directory === undefined) return undefined;
  // One daemon per engine: its files, its rules, the daemon's code and this Node.js. Another checkout, version or
  // runtime gets its own, and the old one exits when idle.
  const id = contentHash('s2m-validation-daemon-v1', DAEMON_SOURCE, ENGINE_SOURCE, files.validatorPath, files.validatorVersion, files.rulesDirectory, files.rulesIndex, process.execPath, process.version).slice(0, 16);
  const socketPath = join(directory, `validation-${id}.sock`);
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) return undefined;
  // Not the synth's NODE_OPTIONS (a --require hook or an --inspect port is the synth's, not the daemon's).
  const env: Record<string, string | undefined> = { ...process.env };
  delete env.NODE_OPTIONS;
  return {
    socketPath,
    source: DAEMON_SOURCE,
    directory,
    env,
    connectTimeoutMs: DAEMON_CONNECT_TIMEOUT_MS,
    answerTimeoutMs,
    options: { socketPath, validatorPath: files.validatorPath, rulesDirectory: files.rulesDirectory, idleMs },
  };
}

/**
 * The validation daemons running for this user, from their pid files in `directory` (by default the synth cache's
 * `daemons` directory). A pid file whose process is gone is skipped.
 */
export function validationDaemons(directory: string | undefined = cacheDirectory('daemons')): ValidationDaemon[] {
  if (directory === undefined) return [];
  let entries: string[];
  try {
    entries = readdirSync(directory);
  } catch {
    return [];
  }
  const daemons: ValidationDaemon[] = [];
  for (const entry of entries) {
    const match = /^(validation-[0-9a-f]{16}\.sock)\.([0-9]+)\.pid$/.exec(entry);
    if (!match) continue;
    let pid: number;
    try {
      pid = Number(readFileSync(join(directory, entry), 'utf8'));
    } catch {
      continue;
    }
    // The pid of a daemon that was killed may be another process's by now.
    if (String(pid) !== match[2] || !isDaemonProcess(pid)) continue;
    daemons.push({ pid, socketPath: join(directory, match[1]) });
  }
  return daemons;
}

/** Whether `pid` is a running validation daemon (its title, from /proc or from `ps`). */
function isDaemonProcess(pid: number): boolean {
  let command: string;
  try {
    command = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    const ps = spawnSync('ps', ['-p', String(pid), '-o', 'command='], { encoding: 'utf8' });
    if (ps.status !== 0) return false;
    command = ps.stdout;
  }
  return command.startsWith(DAEMON_TITLE);
}

/**
 * Stops this user's validation daemons (SIGTERM to each pid {@link validationDaemons} finds) and returns them. A
 * daemon also stops by itself when idle; this is for a clean machine now (tests, benchmarks, an upgrade).
 */
export function stopValidationDaemons(directory?: string): ValidationDaemon[] {
  const daemons = validationDaemons(directory);
  for (const d of daemons) {
    try {
      process.kill(d.pid, 'SIGTERM');
    } catch {
      // gone meanwhile
    }
  }
  return daemons;
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
