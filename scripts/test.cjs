// @ts-check
/**
 * `npm test`: the type check, the lint, and the two vitest projects, run as soon as what they need is there.
 *
 *   typecheck ─┬─────────────► unit tests (test/package.test.ts packs the typecheck's build)
 *   lint       │
 *   integration tests (real PostgreSQL, Redis and moto on loopback; mostly waiting on them)
 *
 * The unit tests start when the type check has passed (a type error stops them, as before); the lint and the
 * integration tests run beside it from the start, filling the cores the type check and the waits leave idle. The
 * integration tests keep the normal CPU priority; everything else runs at a lower one (see `niced`).
 * Each step's output is printed whole when it ends, in a block under its name, so the logs of steps that ran
 * together are not interleaved. Exits non-zero when any step failed, after every started step has ended; a failed
 * step's failures are then repeated at the very end (see `recap`), so the last lines of a long log say what failed.
 */
const { spawn } = require('node:child_process');
const { join } = require('node:path');

const ROOT = join(__dirname, '..');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const VITEST = join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');
const extra = process.argv.slice(2);

/** What failed, to repeat at the end: @type {{ name: string, output: string }[]} */
const failures = [];

/**
 * The lines of a failed step's output that say what failed: vitest's failing files and tests (`FAIL` lines) and the
 * start of its first "Failed Suites", "Failed Tests" or "Unhandled Errors" section (the first errors), or, from
 * anything else, its last lines.
 * @param {string} output @returns {string[]}
 */
function recap(output) {
  const lines = output.replace(/\u001b\[[0-9;]*m/g, '').split('\n');
  const section = lines.findIndex((l) => /⎯ (Failed (Suites?|Tests?) \d+|Unhandled Errors?) ⎯/.test(l));
  const failing = [...new Set(lines.filter((l) => /^\s*(FAIL|×) /.test(l)).map((l) => l.trim()))].slice(0, 20);
  if (section < 0) return [...failing, ...lines.slice(-40)];
  return [...failing, '', ...lines.slice(section, section + 60)];
}

/** @param {string} name @param {string} command @param {string[]} args @returns {Promise<boolean>} */
function step(name, command, args) {
  const started = Date.now();
  console.log(`▶ ${name}: ${[command === process.execPath ? 'node' : command, ...args].join(' ')}`);
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: process.env.FORCE_COLOR ?? (process.stdout.isTTY ? '1' : '0') } });
    /** @type {Buffer[]} */
    const output = [];
    child.stdout.on('data', (b) => output.push(b));
    child.stderr.on('data', (b) => output.push(b));
    const finish = (/** @type {boolean} */ ok, /** @type {string} */ why) => {
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      process.stdout.write(`\n──── ${name} ${'─'.repeat(Math.max(0, 70 - name.length))}\n`);
      process.stdout.write(Buffer.concat(output));
      console.log(`${ok ? '✔' : '✘'} ${name} ${ok ? 'passed' : `failed (${why})`} in ${seconds} s`);
      if (!ok) failures.push({ name, output: Buffer.concat(output).toString('utf8') });
      resolve(ok);
    };
    child.on('error', (e) => finish(false, e.message));
    child.on('close', (code, signal) => finish(code === 0, signal ? `signal ${signal}` : `exit ${code}`));
  });
}

/**
 * `command args` at a lower CPU priority (`nice`): the type check, the lint and the unit tests only need CPU time,
 * while the integration tests wait on servers with deadlines (heartbeats, timeouts) that a starved event loop or
 * moto would miss. On Windows (no `nice`), the command as it is.
 * @param {number} level @param {string} command @param {string[]} args @returns {[string, string[]]}
 */
function niced(level, command, args) {
  return process.platform === 'win32' ? [command, args] : ['nice', ['-n', String(level), command, ...args]];
}

async function main() {
  const started = Date.now();
  const typecheck = step('typecheck', ...niced(5, NPM, ['run', '--silent', 'typecheck']));
  // The lint is not on the way to anything: it yields to the type check and the unit tests as well.
  const lint = step('lint', ...niced(10, NPM, ['run', '--silent', 'lint']));
  const integration = step('integration tests', process.execPath, [VITEST, 'run', '--project', 'integration', ...extra]);
  const unit = typecheck.then((ok) => (ok ? step('unit tests', ...niced(5, process.execPath, [VITEST, 'run', '--project', 'unit', ...extra])) : (console.log('✘ unit tests not run: the type check failed'), false)));
  const results = await Promise.all([typecheck, lint, integration, unit]);
  const ok = results.every(Boolean);
  for (const failure of failures) {
    process.stdout.write(`\n──── what failed in ${failure.name} (repeated from its block above) ${'─'.repeat(Math.max(0, 34 - failure.name.length))}\n`);
    console.log(recap(failure.output).join('\n'));
  }
  console.log(`\n${ok ? '✔ npm test passed' : '✘ npm test failed'} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  process.exitCode = ok ? 0 : 1;
}

void main();
