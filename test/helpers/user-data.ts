import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Template } from 'aws-cdk-lib/assertions';

/**
 * The user data of a launch template as the instance receives it, with every intrinsic replaced by a plain
 * placeholder (`REF_<LogicalId>`, `ATT_<LogicalId>_<Attr>`), so it can be parsed and linted.
 */
export function renderedUserData(template: Template, launchTemplateId?: string): string {
  const lts = template.findResources('AWS::EC2::LaunchTemplate') as Record<string, { Properties: { LaunchTemplateData: { UserData: { 'Fn::Base64': unknown } } } }>;
  const id = launchTemplateId ?? Object.keys(lts)[0];
  if (!lts[id]) throw new Error(`no launch template ${id} (have: ${Object.keys(lts).join(', ')})`);
  return render(lts[id].Properties.LaunchTemplateData.UserData['Fn::Base64']);
}

function render(v: unknown): string {
  if (typeof v === 'string') return v;
  const o = v as Record<string, unknown>;
  if (Array.isArray(o['Fn::Join'])) {
    const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
    return parts.map(render).join(sep);
  }
  if (o.Ref !== undefined) return `REF_${String(o.Ref).replace(/:/g, '_')}`;
  if (Array.isArray(o['Fn::GetAtt'])) return `ATT_${(o['Fn::GetAtt'] as string[]).join('_').replace(/\./g, '_')}`;
  if (o['Fn::GetStackOutput'] !== undefined) return 'STACK_OUTPUT';
  if (o['Fn::Select'] !== undefined || o['Fn::Split'] !== undefined) return 'SELECTED';
  return 'INTRINSIC';
}

/** The scripts user data writes with quoted heredocs (`<<'SH'` and the start script), each with its shebang. */
export function embeddedScripts(userData: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /cat > (\S+) <<'(SH|S2M_EOF)'\n([\s\S]*?)\n\2\n/g;
  for (let m = re.exec(userData); m; m = re.exec(userData)) out[m[1]] = m[3];
  return out;
}

/** Files an inline application source writes (`base64 -d > path <<'S2M_EOF'`), decoded. */
export function inlineFiles(userData: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /base64 -d > (\S+) <<'S2M_EOF'\n([\s\S]*?)\nS2M_EOF\n/g;
  for (let m = re.exec(userData); m; m = re.exec(userData)) out[m[1]] = Buffer.from(m[2].replace(/\n/g, ''), 'base64').toString();
  return out;
}

/** shellcheck's findings for a bash script (empty when clean); throws when shellcheck is not installed. */
export function shellcheck(script: string): string {
  const r = spawnSync('shellcheck', ['--shell=bash', '--severity=style', '-'], { input: script, encoding: 'utf8' });
  if (r.error) throw new Error(`shellcheck is not installed (apt-get install shellcheck; .ci/run installs it): ${r.error.message}`);
  return `${r.stdout}${r.stderr}`.trim();
}

/** `bash -n`'s complaints (empty when the script parses). */
export function bashSyntax(script: string): string {
  const r = spawnSync('bash', ['-n'], { input: script, encoding: 'utf8' });
  return r.status === 0 ? '' : (r.stderr || `exit ${r.status}`).trim();
}

/** What {@link runInstanceScript} saw: the exit status, the output, and each fake command's calls. */
export interface ScriptRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Every call of a fake command, in order: `<command> <args...>`. */
  readonly calls: string[];
  /** The directory standing in for `/` (`<root>/etc/scale-to-millions`, `<root>/opt/s2m/bin`...). */
  readonly root: string;
}

/** Options of {@link runInstanceScript}. */
export interface ScriptRunOptions {
  /** Scripts user data writes, by absolute path (from {@link embeddedScripts}); written under the stand-in root. */
  readonly scripts: Record<string, string>;
  /** Files to create under the stand-in root, by absolute path, e.g. `/etc/scale-to-millions/fleet.env` or `/proc/uptime`. */
  readonly files?: Record<string, string>;
  /**
   * Fake commands put first on PATH, by name: bash bodies run after the call is logged, with `$n` the number of
   * calls of that command so far (1 for the first), their absolute paths moved like the scripts'. `sleep` is
   * always faked (it returns at once) unless given.
   */
  readonly fakes?: Record<string, string>;
  /** Extra environment variables. */
  readonly env?: Record<string, string>;
  /** The script's arguments. */
  readonly args?: string[];
}

/**
 * Runs one of the scripts a fleet's user data writes (`path`, a key of `scripts`) on this machine, with absolute
 * paths (`/etc/…`, `/opt/…`, `/proc/uptime`) moved under a temporary root and fake commands that log their
 * calls, so what the script does on an instance can be asserted without one. Bounded by a 60 s timeout.
 */
export function runInstanceScript(path: string, o: ScriptRunOptions): ScriptRun {
  const root = mkdtempSync(join(tmpdir(), 'instance-'));
  const relocate = (text: string) => text.replace(/(^|[\s"'=(:])\/(etc|opt|proc|run)\//g, `$1${root}/$2/`);
  mkdirSync(join(root, 'run'));
  const write = (file: string, text: string, mode = 0o644) => {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), text, { mode });
  };
  for (const [file, text] of Object.entries(o.scripts)) write(file, relocate(text), 0o755);
  for (const [file, text] of Object.entries(o.files ?? {})) write(file, relocate(text));
  const fakes = join(root, 'fakes');
  mkdirSync(fakes);
  const calls = join(root, 'calls');
  writeFileSync(calls, '');
  for (const [name, body] of Object.entries({ sleep: '', ...o.fakes })) {
    writeFileSync(join(fakes, name), [
      '#!/bin/bash',
      `echo "${name} $*" >> '${calls}'`,
      `n=$(grep -c '^${name} ' '${calls}')`,
      relocate(body),
    ].join('\n'), { mode: 0o755 });
  }
  const r = spawnSync('bash', [join(root, path), ...(o.args ?? [])], {
    encoding: 'utf8',
    env: { ...process.env, PATH: `${fakes}:${process.env.PATH}`, ...o.env },
    timeout: 60_000,
  });
  if (r.error) throw new Error(`running ${path} failed: ${r.error.message}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, calls: readFileSync(calls, 'utf8').split('\n').filter((l) => l !== ''), root };
}
