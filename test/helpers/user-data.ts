import { spawnSync } from 'node:child_process';
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
