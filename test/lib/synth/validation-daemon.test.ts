import { App, CfnResource, Duration, Stack } from 'aws-cdk-lib/core';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validationDaemon } from '../../../lib/synth';
import { stopValidationDaemons, TemplateValidation, validationDaemons, type TemplateValidationOptions } from '../../../lib/synth/validation';
import { cdkJsonContext } from '../../helpers/app';
import { buildFindingsApp, synthWithReport } from '../../helpers/validation-app';

// These tests run AWS's template validator (test/helpers/setup.ts turns it off for the other files), in daemons of
// their own directory, each stopped by its pid at the end.
const scratch = mkdtempSync(join(tmpdir(), 's2m-daemon-'));
const daemons = join(scratch, 'daemons');
mkdirSync(daemons, { mode: 0o700 });
const previous = process.env.CDK_VALIDATION;

// A stand-in for AWS's engine, for the tests of where templates are checked (not what is found): it starts at once
// and finds one warning per resource. The tests that compare findings with aws-cdk-lib's engine use the real one.
const fakeValidator = join(scratch, 'fake-validator.js');
writeFileSync(fakeValidator, `
exports.TemplateContent = class { constructor(text) { this.text = text; } };
exports.CompositeEngine = class {
  validateTemplate(content) {
    return { diagnostics: Object.keys(JSON.parse(content.text).Resources || {}).map((id) => ({
      ruleId: 'FAKE1', severity: 'WARN', message: 'a finding on ' + id, entity: { entityType: 'Resource', logicalId: id },
    })) };
  }
  free() {}
};
`);
beforeAll(() => {
  process.env.CDK_VALIDATION = 'true';
});
afterAll(async () => {
  const stopped = stopValidationDaemons(daemons);
  await waitFor(() => stopped.every((d) => !alive(d.pid)), 'the daemons to stop');
  process.env.CDK_VALIDATION = previous;
  rmSync(scratch, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls `done` every 100 ms for up to `seconds`; fails naming `what` past that. */
async function waitFor(done: () => boolean, what: string, seconds = 30, state?: () => string): Promise<void> {
  for (let i = 0; i < seconds * 10; i++) {
    if (done()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${seconds} s waiting for ${what}${state ? ` (${state()})` : ''}`);
}

/**
 * The processes working in `dir`: the daemons started there and their launchers (they are started with it as their
 * working directory), whatever their state.
 */
function processesIn(dir: string): number[] {
  const real = realpathSync(dir);
  return readdirSync('/proc').filter((p) => /^[0-9]+$/.test(p)).filter((p) => {
    try {
      return readlinkSync(`/proc/${p}/cwd`) === real;
    } catch {
      return false;
    }
  }).map(Number);
}

/** What a process is, for a failure message: its state line from /proc, or that it is gone. */
function processState(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').filter((l) => /^(Name|State|PPid):/.test(l)).join(', ');
  } catch {
    return `${pid} gone`;
  }
}

/** The app of the validation tests (test/helpers/validation-app.ts), checked with `options`. */
function synth(options: TemplateValidationOptions, topicName = 'clean'): { error?: string; report: unknown; validation: TemplateValidation } {
  const outdir = mkdtempSync(join(scratch, 'out-'));
  const app = new App({ outdir, context: cdkJsonContext() });
  const validation = TemplateValidation.start(app, { cacheDirectory: false, ...options })!;
  buildFindingsApp(app, { topicName });
  validation.attach(app);
  return { ...synthWithReport(app, outdir), validation };
}

describe('TemplateValidation with a validation daemon', () => {
  let own: ReturnType<typeof synth>;
  let first: ReturnType<typeof synth>;
  let second: ReturnType<typeof synth>;
  let fakeOwn: ReturnType<typeof synth>;

  beforeAll(() => {
    // GIVEN the app checked by the worker's own engine, then twice through a daemon (none running at first)
    own = synth({});
    expect(validationDaemons(daemons)).toEqual([]);
    first = synth({ daemon: { directory: daemons, idleTimeout: Duration.minutes(2) } });
    second = synth({ daemon: { directory: daemons, idleTimeout: Duration.minutes(2) } }, 'changed');
    // AND, for the tests of the daemon's life and of the fallbacks, the stand-in engine in the worker
    fakeOwn = synth({ validatorPath: fakeValidator });
  });

  it('starts one daemon, which checks every template and finds what the worker\'s own engine finds', () => {
    expect(own.validation.templatesFromDaemon).toBe(0);
    expect(JSON.stringify(own.report)).toMatch(/F3012/); // the control: the findings are there
    expect(first.validation.templatesFromDaemon).toBe(2);
    expect(first.report).toEqual(own.report);
    expect(first.error).toBe(own.error);
    expect(first.error).toMatch(/VisibilityTimeout: 'not-a-number' is not of type 'integer'/);
  });

  it('serves the next synth from the same daemon, running under its own title on a socket only its user can open', () => {
    expect(second.validation.templatesFromDaemon).toBe(2);
    expect(second.error).toBe(own.error);
    const running = validationDaemons(daemons);
    expect(running).toHaveLength(1);
    expect(running[0].socketPath).toBe(first.validation.daemonSocket);
    expect(readFileSync(`/proc/${running[0].pid}/cmdline`, 'utf8')).toMatch(/^s2m-validation-daemon/);
    expect(readFileSync(`${running[0].socketPath}.${running[0].pid}.pid`, 'utf8')).toBe(String(running[0].pid));
    expect(statSync(running[0].socketPath).isSocket()).toBe(true);
    expect(statSync(running[0].socketPath).mode & 0o077).toBe(0);
  });

  it('replaces a daemon that was killed (its socket and pid file left behind)', async () => {
    expect(JSON.stringify(fakeOwn.report)).toMatch(/FAKE1/); // the control: the stand-in engine's findings
    const fake = { directory: join(scratch, 'killed'), idleTimeout: Duration.minutes(2) };
    mkdirSync(fake.directory, { mode: 0o700 });
    expect(synth({ validatorPath: fakeValidator, daemon: fake }).validation.templatesFromDaemon).toBe(2);
    const [killed] = validationDaemons(fake.directory);
    process.kill(killed.pid, 'SIGKILL');
    await waitFor(() => !alive(killed.pid), 'the killed daemon to exit');
    expect(existsSync(killed.socketPath)).toBe(true); // stale: nobody listens
    const after = synth({ validatorPath: fakeValidator, daemon: fake }, 'after-kill');
    expect(after.validation.templatesFromDaemon).toBe(2);
    expect(after.report).toEqual(fakeOwn.report);
    const running = validationDaemons(fake.directory);
    expect(running.map((d) => d.socketPath)).toEqual([killed.socketPath]);
    expect(running[0].pid).not.toBe(killed.pid);
    stopValidationDaemons(fake.directory);
    await waitFor(() => !alive(running[0].pid), 'the daemon to stop');
  });

  it('exits by itself after its idle timeout, removing its socket and pid file', async () => {
    const idle = join(scratch, 'idle');
    mkdirSync(idle, { mode: 0o700 });
    const r = synth({ validatorPath: fakeValidator, daemon: { directory: idle, idleTimeout: Duration.seconds(1) } }, 'idle');
    expect(r.validation.templatesFromDaemon).toBe(2);
    const socket = r.validation.daemonSocket!;
    // (the daemon may already have exited: its last client, this synth's worker, is gone)
    const pids = validationDaemons(idle).map((d) => d.pid);
    await waitFor(() => !existsSync(socket) && readdirSync(idle).length === 0 && pids.every((pid) => !alive(pid)), 'the idle daemon to exit');
  });

  it('keeps one daemon when two synths start one at the same time', async () => {
    const both = join(scratch, 'both');
    mkdirSync(both, { mode: 0o700 });
    const options = { validatorPath: fakeValidator, daemon: { directory: both, idleTimeout: Duration.minutes(2) } };
    // GIVEN two synths whose workers find no daemon at once (both start now, before either app is built)
    const apps = [0, 1].map(() => new App({ outdir: mkdtempSync(join(scratch, 'out-')), context: cdkJsonContext() }));
    const validations = apps.map((app) => TemplateValidation.start(app, { cacheDirectory: false, ...options })!);
    apps.forEach((app, i) => {
      new CfnResource(new Stack(app, 'Clean', { env: { region: 'eu-west-1' } }), 'Topic', { type: 'AWS::SNS::Topic', properties: { TopicName: `both-${i}` } });
      validations[i].attach(app);
      app.synth();
    });
    // THEN both were served by a daemon, and once every daemon started meanwhile has settled (the later one may come
    // up after both synths), one is left, serving the socket
    expect(validations.map((v) => v.templatesFromDaemon)).toEqual([1, 1]);
    const settled = (): boolean => {
      const daemons = validationDaemons(both);
      return daemons.length === 1 && processesIn(both).join() === String(daemons[0].pid);
    };
    await waitFor(settled, 'one daemon to be left', 30, () => `daemons: ${JSON.stringify(validationDaemons(both))}; processes: ${processesIn(both).map(processState).join('; ')}; files: ${readdirSync(both).join(' ')}`);
    const [left] = validationDaemons(both);
    expect(readdirSync(both).sort()).toEqual([basename(left.socketPath), `${basename(left.socketPath)}.${left.pid}.pid`]);
    stopValidationDaemons(both);
    await waitFor(() => processesIn(both).length === 0 && readdirSync(both).length === 0, 'the daemon to stop and remove its files', 30, () => `${processState(left.pid)}; files: ${readdirSync(both).join(' ')}`);
  });

  /** A stand-in for a daemon on the socket `directory` would use, in a process of its own, doing `onConnection`. */
  async function standIn(directory: string, onConnection: string): Promise<{ socket: string; stop(): Promise<void> }> {
    mkdirSync(directory, { mode: 0o700 });
    const socket = TemplateValidation.start(new App({ context: cdkJsonContext() }), { cacheDirectory: false, eager: false, validatorPath: fakeValidator, daemon: { directory } })!.daemonSocket!;
    const child = spawn(process.execPath, ['-e', `require('node:net').createServer(${onConnection}).listen(process.argv[1])`, socket], { stdio: 'ignore' });
    await waitFor(() => existsSync(socket), 'the stand-in daemon to listen');
    return {
      socket,
      stop: async () => {
        child.kill('SIGKILL');
        await waitFor(() => child.exitCode !== null || child.signalCode !== null, 'the stand-in daemon to exit');
      },
    };
  }

  it.each([
    ['drops the connection', 'dropping', '(c) => c.destroy()'],
    ['answers what is not JSON', 'garbled', "(c) => c.on('data', () => c.write('not json\\n'))"],
  ])('falls back to an engine of its own when the daemon %s', async (_what, name, onConnection) => {
    const standing = await standIn(join(scratch, name), onConnection);
    try {
      const r = synth({ validatorPath: fakeValidator, daemon: { directory: join(scratch, name) } }, name);
      expect(r.validation.templatesFromDaemon).toBe(0);
      expect(r.report).toEqual(fakeOwn.report);
    } finally {
      await standing.stop();
    }
  });

  it('falls back to an engine of its own when the daemon takes the templates and does not answer', async () => {
    const silent = await standIn(join(scratch, 'silent'), '() => undefined');
    try {
      const r = synth({ validatorPath: fakeValidator, daemon: { directory: join(scratch, 'silent'), answerTimeout: Duration.seconds(2) } }, 'unanswered');
      expect(r.validation.templatesFromDaemon).toBe(0);
      expect(r.report).toEqual(fakeOwn.report);
    } finally {
      await silent.stop();
    }
  });

  it('never signals a process its pid file names unless that process is a daemon', () => {
    const planted = join(scratch, 'planted');
    mkdirSync(planted, { mode: 0o700 });
    // a pid file left by a killed daemon whose pid now belongs to another process (here: this test's)
    writeFileSync(join(planted, `validation-0123456789abcdef.sock.${process.pid}.pid`), String(process.pid));
    expect(validationDaemons(planted)).toEqual([]);
    expect(stopValidationDaemons(planted)).toEqual([]);
  });
});

describe('validationDaemon: S2M_VALIDATION_DAEMON for the reference app', () => {
  it('is on by default (10 minutes idle), off under CI and in CodeBuild, and takes on, off or minutes', () => {
    expect(validationDaemon({})).toEqual({});
    expect(validationDaemon({ CI: 'true' })).toBe(false);
    expect(validationDaemon({ CI: 'false' })).toEqual({});
    expect(validationDaemon({ CODEBUILD_BUILD_ID: 'synth:1234' })).toBe(false);
    expect(validationDaemon({ CI: 'true', S2M_VALIDATION_DAEMON: 'on' })).toEqual({});
    expect(validationDaemon({ S2M_VALIDATION_DAEMON: 'off' })).toBe(false);
    expect(validationDaemon({ S2M_VALIDATION_DAEMON: '30' })).toEqual({ idleTimeout: Duration.seconds(1800) });
  });

  it('names the variable and the value it refuses', () => {
    expect(() => validationDaemon({ S2M_VALIDATION_DAEMON: 'sometimes' })).toThrow('S2M_VALIDATION_DAEMON must be on, off, or the daemon\'s idle timeout in minutes (1 to 1440), got "sometimes"');
    expect(() => validationDaemon({ S2M_VALIDATION_DAEMON: '0.5' })).toThrow(/got "0.5"/);
    expect(() => validationDaemon({ S2M_VALIDATION_DAEMON: '-3' })).toThrow(/got "-3"/);
  });
});
