import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Template } from 'aws-cdk-lib/assertions';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import { ApplicationSource, FLEET_DEFAULTS, Fleet } from '../../../constructs/fleet';
import { DATABASE_CA_FILE } from '../../../lib/runtime/contract';
import { stackWithVpc } from '../../helpers/app';
import { embeddedScripts, renderedUserData, runInstanceScript, type ScriptRunOptions } from '../../helpers/user-data';

/**
 * The scripts a fleet's user data writes, run on this machine against fakes (aws, curl, systemctl, sleep, the
 * instance metadata), as they run on an instance: completing lifecycle actions with retries, the readiness budget
 * counted from boot, and the RDS certificate bundle. Real openssl checks the bundles.
 */

const BIN = '/opt/s2m/bin';
const FLEET_ENV = '/etc/scale-to-millions/fleet.env';
const PEM = rootCertificates.slice(0, 3).join('\n');
/** The instance metadata an instance of a group answers (its target lifecycle state: Terminated). */
const IMDS = `#!/bin/bash
case "$1" in
  instance-id) echo i-0abc;;
  placement/region) echo eu-west-1;;
  tags/instance/aws:autoscaling:groupName) echo shop-web-asg;;
  autoscaling/target-lifecycle-state) echo Terminated;;
  *) exit 22;;
esac`;

let scripts: Record<string, string>;
let settings: string;

beforeAll(() => {
  // GIVEN a web fleet with a database identity (it needs the RDS bundle)
  const { stack, vpc } = stackWithVpc();
  new Fleet(stack, 'Web', {
    vpc, instanceType: new ec2.InstanceType('m7g.large'), minCapacity: 2, maxCapacity: 4, port: 8080, applicationRole: 'web', databaseUser: 'web',
    application: ApplicationSource.inline({ files: { 'srv.py': 'print(1)\n' }, startCommand: '/usr/bin/python3 srv.py' }),
  });
  const userData = renderedUserData(Template.fromStack(stack));
  scripts = { ...embeddedScripts(userData), [`${BIN}/imds`]: IMDS };
  settings = /cat > \/etc\/scale-to-millions\/fleet\.env <<'FLEET'\n([\s\S]*?)\nFLEET/.exec(userData)![1];
});

const run = (path: string, o: Omit<ScriptRunOptions, 'scripts'> = {}) => runInstanceScript(path, { scripts, ...o, files: { [FLEET_ENV]: settings, ...o.files } });
const awsCalls = (calls: string[]) => calls.filter((c) => c.startsWith('aws '));
const sleeps = (calls: string[]) => calls.filter((c) => c.startsWith('sleep ')).map((c) => Number(c.split(' ')[1]));

describe('complete-hook: completing a lifecycle action', () => {
  it('completes at once when Auto Scaling accepts, naming the group, instance and hook', () => {
    const r = run(`${BIN}/complete-hook`, { args: ['s2m-ready', 'CONTINUE'], fakes: { aws: '' } });
    expect(r.status).toBe(0);
    expect(awsCalls(r.calls)).toEqual([
      'aws autoscaling complete-lifecycle-action --cli-connect-timeout 5 --cli-read-timeout 20 --region eu-west-1 --auto-scaling-group-name shop-web-asg --instance-id i-0abc --lifecycle-hook-name s2m-ready --lifecycle-action-result CONTINUE',
    ]);
  });

  it('retries through AccessDenied (the role\'s permission not there yet) and throttling, with growing delays', () => {
    const r = run(`${BIN}/complete-hook`, { args: ['s2m-ready', 'CONTINUE'],
      fakes: {
        aws: [
          'case $n in',
          '  1) echo "An error occurred (AccessDenied) when calling the CompleteLifecycleAction operation: not authorized" >&2; exit 254;;',
          '  2) echo "An error occurred (Throttling) when calling the CompleteLifecycleAction operation: Rate exceeded" >&2; exit 254;;',
          'esac',
        ].join('\n'),
      },
    });
    expect(r.status).toBe(0);
    expect(awsCalls(r.calls)).toHaveLength(3);
    expect(sleeps(r.calls)).toEqual([2, 4]);
    expect(r.stderr).toContain('attempt 1 of 10 to complete it with CONTINUE failed: An error occurred (AccessDenied)');
    expect(r.stdout).toContain('s2m-ready completed with CONTINUE');
  });

  it('stops quietly when no lifecycle action is waiting (a reboot)', () => {
    const r = run(`${BIN}/complete-hook`, { args: ['s2m-ready', 'CONTINUE'], fakes: { aws: 'echo "An error occurred (ValidationError) when calling the CompleteLifecycleAction operation: No active Lifecycle Action found with instance ID i-0abc" >&2; exit 254' } });
    expect(r.status).toBe(0);
    expect(awsCalls(r.calls)).toHaveLength(1);
    expect(r.stdout).toContain('no lifecycle action is waiting');
  });

  it('gives up after a bounded number of attempts, the delay capped', () => {
    const r = run(`${BIN}/complete-hook`, { args: ['s2m-ready', 'CONTINUE'], fakes: { aws: 'echo "An error occurred (AccessDenied)" >&2; exit 254' } });
    expect(r.status).toBe(1);
    expect(awsCalls(r.calls)).toHaveLength(10);
    expect(sleeps(r.calls)).toEqual([2, 4, 8, 16, 30, 30, 30, 30, 30]);
    expect(r.stderr).toContain('not completed after 10 attempts');
  });
});

/**
 * A fake curl that serves the RDS bundle URL from `<root>/etc/served.pem` (missing: the download fails) and answers the
 * health URL with the HTTP status `health` (what `-w '%{http_code}'` prints; curl exits 0 without `-f`).
 */
const curl = (health = 200) => [
  'out=; url=',
  'while [ $# -gt 0 ]; do case $1 in -o) out=$2; shift;; http*) url=$1;; esac; shift; done',
  `case $url in`,
  `  ${FLEET_DEFAULTS.rdsCaBundleUrl}) [ -f /etc/served.pem ] || { echo "curl: (6) Could not resolve host" >&2; exit 6; }; cp /etc/served.pem "$out";;`,
  `  http://127.0.0.1:*) printf '%s' ${health};;`,
  '  *) exit 22;;',
  'esac',
].join('\n');
const systemctl = 'case "$*" in *NRestarts*) echo 0;; esac';

describe('rds-ca: the RDS certificate bundle', () => {
  const corrupt = (() => {
    const lines = PEM.split('\n');
    lines[40] = lines[40].replace(/[A-Za-z]/g, '!');
    return lines.join('\n');
  })();

  it('downloads AWS\'s bundle and installs it once it parses as PEM certificates', () => {
    const r = run(`${BIN}/rds-ca`, { files: { '/etc/served.pem': PEM }, fakes: { curl: curl() } });
    expect(r.status).toBe(0);
    expect(r.calls.filter((c) => c.startsWith('curl '))).toEqual([expect.stringMatching(new RegExp(`^curl -fsS --max-time 30 -o ${r.root}${DATABASE_CA_FILE}\\.\\w{6} ${FLEET_DEFAULTS.rdsCaBundleUrl}$`))]);
    expect(readFileSync(join(r.root, DATABASE_CA_FILE), 'utf8')).toBe(PEM);
    expect(r.stdout).toContain('installed 3 certificates');
  });

  it.each([
    ['an error page', '<html><body>503 Service Unavailable</body></html>'],
    ['a corrupted certificate', 'CORRUPT'],
    ['a truncated download', PEM.slice(0, PEM.length - 200)],
  ])('never installs %s: retries a bounded number of times and fails', (_, body) => {
    const r = run(`${BIN}/rds-ca`, { files: { '/etc/served.pem': body === 'CORRUPT' ? corrupt : body }, fakes: { curl: curl() } });
    expect(r.status).toBe(1);
    expect(r.calls.filter((c) => c.startsWith('curl '))).toHaveLength(5);
    expect(sleeps(r.calls)).toEqual([5, 10, 15, 20]);
    expect(existsSync(join(r.root, DATABASE_CA_FILE))).toBe(false);
    expect(r.stderr).toContain(`${DATABASE_CA_FILE} is not installed`.replace('/etc/', `${r.root}/etc/`));
  });

  it('keeps a bundle already installed that parses, without downloading', () => {
    const r = run(`${BIN}/rds-ca`, { files: { [DATABASE_CA_FILE]: PEM }, fakes: { curl: curl() } });
    expect(r.status).toBe(0);
    expect(r.calls.filter((c) => c.startsWith('curl '))).toEqual([]);
  });
});

describe('ready: the launching hook', () => {
  it('continues once the health URL answered three times in a row', () => {
    const r = run(`${BIN}/ready`, { files: { [DATABASE_CA_FILE]: PEM, '/proc/uptime': '42.17 80.00\n' }, fakes: { curl: curl(), systemctl, aws: '' } });
    expect(r.status).toBe(0);
    expect(r.calls.filter((c) => c.includes('127.0.0.1:8080/health'))).toHaveLength(3);
    expect(awsCalls(r.calls)).toEqual([expect.stringContaining('--lifecycle-hook-name s2m-ready --lifecycle-action-result CONTINUE')]);
  });

  it.each([[204], [302], [500]])('does not take a health answer of %i as ready: the load balancer wants 200', (status) => {
    // (a budget of about a second left: 569 of 570 s since boot)
    const r = run(`${BIN}/ready`, { files: { [DATABASE_CA_FILE]: PEM, '/proc/uptime': '569.50 900.00\n' }, fakes: { curl: curl(status), systemctl, aws: '' } });
    expect(r.calls.filter((c) => c.includes('127.0.0.1:8080/health')).length).toBeGreaterThanOrEqual(1);
    expect(r.calls.find((c) => c.includes('127.0.0.1:8080/health'))).toContain("-w %{http_code}");
    expect(awsCalls(r.calls)).toEqual([expect.stringContaining('--lifecycle-hook-name s2m-ready --lifecycle-action-result ABANDON')]);
  });

  it('counts its budget from boot: an instance that booted longer ago than the budget abandons at once', () => {
    // readiness 10 min: the budget is 570 s from boot; the install took 580 s
    expect(settings).toContain("S2M_READY_TIMEOUT='570'");
    const r = run(`${BIN}/ready`, { files: { [DATABASE_CA_FILE]: PEM, '/proc/uptime': '580.02 900.00\n' }, fakes: { curl: curl(), systemctl, aws: '' } });
    expect(r.calls.filter((c) => c.includes('127.0.0.1'))).toEqual([]);
    expect(r.stdout).toMatch(/s2m-ready: ABANDON \(58\d s after boot\)/);
    expect(awsCalls(r.calls)).toEqual([expect.stringContaining('--lifecycle-action-result ABANDON')]);
  });

  it('abandons the launch, saying why, when the RDS bundle cannot be installed and the fleet connects to a database', () => {
    expect(settings).toContain("S2M_DATABASE_CA_REQUIRED='yes'");
    const r = run(`${BIN}/ready`, { files: { '/proc/uptime': '42.17 80.00\n' }, fakes: { curl: curl(), systemctl, aws: '' } });
    expect(r.stdout).toContain(`s2m-ready: ABANDON: ${r.root}${DATABASE_CA_FILE} is missing, and this fleet's database connections verify TLS against it`);
    expect(r.calls.filter((c) => c.includes('127.0.0.1'))).toEqual([]);
    expect(awsCalls(r.calls)).toEqual([expect.stringContaining('--lifecycle-action-result ABANDON')]);
  });
});

describe('drain: the terminating hook', () => {
  it('also drains an instance of a running warm pool that is terminated (target state Warmed:Terminated), and waits while in service', () => {
    const imds = IMDS.replace('autoscaling/target-lifecycle-state) echo Terminated;;', 'autoscaling/target-lifecycle-state) echo x >> /opt/s2m/polls; [ "$(wc -l < /opt/s2m/polls)" -ge 3 ] && echo Warmed:Terminated || echo InService;;');
    const r = runInstanceScript(`${BIN}/drain`, { scripts: { ...scripts, [`${BIN}/imds`]: imds }, files: { [FLEET_ENV]: settings }, fakes: { systemctl: '', aws: '' } });
    expect(r.status).toBe(0);
    expect(sleeps(r.calls)).toEqual([5, 5, 10]);
    expect(r.calls.filter((c) => !c.startsWith('sleep '))).toEqual(['systemctl stop s2m-app.service', expect.stringContaining('--lifecycle-hook-name s2m-drain --lifecycle-action-result CONTINUE')]);
  });


  /** Instance metadata whose target lifecycle state is `states[i]` at the i-th poll, the last one from then on. */
  const targetStates = (states: string[]) => IMDS.replace('autoscaling/target-lifecycle-state) echo Terminated;;',
    `autoscaling/target-lifecycle-state) echo x >> /opt/s2m/polls; s=(${states.join(' ')}); n=$(wc -l < /opt/s2m/polls); echo "\${s[$(( n > \${#s[@]} ? \${#s[@]} - 1 : n - 1 ))]}";;`);

  it('drains an instance that scale-in returns to the warm pool (reuseOnScaleIn: the terminating hook waits in Warmed:Pending:Wait)', () => {
    const r = runInstanceScript(`${BIN}/drain`, { scripts: { ...scripts, [`${BIN}/imds`]: targetStates(['InService', 'InService', 'Warmed:Stopped']) }, files: { [FLEET_ENV]: settings }, fakes: { systemctl: '', aws: '' } });
    rmSync(r.root, { recursive: true, force: true });
    expect(r.status).toBe(0);
    expect(r.calls.filter((c) => !c.startsWith('sleep '))).toEqual(['systemctl stop s2m-app.service', expect.stringContaining('--lifecycle-hook-name s2m-drain --lifecycle-action-result CONTINUE')]);
  });

  it('still drains a return to the warm pool when restarted after it saw the instance in service (systemd restarts it on failure)', () => {
    // GIVEN the script's earlier run of this boot saw InService (/run/s2m-served) and failed; it now sees only the pool
    const r = runInstanceScript(`${BIN}/drain`, { scripts: { ...scripts, [`${BIN}/imds`]: targetStates(['Warmed:Pending:Wait', 'Warmed:Pending:Wait', 'Terminated']) }, files: { [FLEET_ENV]: settings, '/run/s2m-served': '' }, fakes: { systemctl: '', aws: '' } });
    rmSync(r.root, { recursive: true, force: true });
    // THEN it drains at the first poll, no 5 s wait (a shell variable lost it: it waited for another state, here the
    // 3rd poll's)
    expect(r.status).toBe(0);
    expect(sleeps(r.calls)).not.toContain(5);
    expect(r.calls.filter((c) => !c.startsWith('sleep '))).toEqual(['systemctl stop s2m-app.service', expect.stringContaining('--lifecycle-hook-name s2m-drain --lifecycle-action-result CONTINUE')]);
  });

  it('leaves alone an instance warming up for the pool (target Warmed:Stopped before it was ever in service this boot)', () => {
    // new in the pool (its launching hook waits), then started from the pool, in service, and terminated
    const r = runInstanceScript(`${BIN}/drain`, { scripts: { ...scripts, [`${BIN}/imds`]: targetStates(['Warmed:Stopped', 'Warmed:Stopped', 'Warmed:Stopped', 'Terminated']) }, files: { [FLEET_ENV]: settings }, fakes: { systemctl: '', aws: '' } });
    rmSync(r.root, { recursive: true, force: true });
    expect(r.status).toBe(0);
    expect(sleeps(r.calls).slice(0, 3)).toEqual([5, 5, 5]);
    expect(r.calls.filter((c) => !c.startsWith('sleep '))).toEqual(['systemctl stop s2m-app.service', expect.stringContaining('--lifecycle-hook-name s2m-drain --lifecycle-action-result CONTINUE')]);
  });

  it('waits for the terminating state, stops the application, then completes the hook (retrying)', () => {
    const r = run(`${BIN}/drain`, {
      fakes: { systemctl: '', aws: '[ "$n" -ge 2 ] || { echo "An error occurred (Throttling)" >&2; exit 254; }' },
    });
    expect(r.status).toBe(0);
    expect(r.calls.filter((c) => !c.startsWith('sleep '))).toEqual([
      'systemctl stop s2m-app.service',
      expect.stringContaining('--lifecycle-hook-name s2m-drain --lifecycle-action-result CONTINUE'),
      expect.stringContaining('--lifecycle-hook-name s2m-drain --lifecycle-action-result CONTINUE'),
    ]);
  });
});

describe('the bootstrap: a launch that fails', () => {
  it('ships the failure to the fleet\'s log group before it abandons the launch: the agent runs before the application is installed, and is given time to flush', () => {
    // GIVEN a fleet whose artifact does not match its checksum (the commonest failed release: a wrong object, a wrong sha256)
    const { stack, vpc } = stackWithVpc();
    new Fleet(stack, 'Api', {
      vpc, instanceType: new ec2.InstanceType('m7g.large'), minCapacity: 2, maxCapacity: 4, port: 8080, applicationRole: 'web',
      application: ApplicationSource.artifact({ bucket: s3.Bucket.fromBucketName(stack, 'Releases', 'shop-releases'), key: 'api.tar.gz', sha256: 'a'.repeat(64), startCommand: '/usr/bin/node-22 server.js' }),
    });
    // (the bootstrap's own paths outside /etc and /opt moved there, so the run stays inside its temporary root)
    const userData = renderedUserData(Template.fromStack(stack)).replace(/\/var\/log\//g, '/opt/var-log/').replace(/\/tmp\/s2m-artifact/g, '/opt/tmp-s2m-artifact');
    // WHEN it runs on an instance (the packages install, the download brings other bytes)
    const r = runInstanceScript('/user-data', {
      scripts: { '/user-data': userData, '/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl': '#!/bin/bash\ncwagent-ctl "$@"' },
      // (the directories an instance has)
      files: { '/opt/var-log/.keep': '', '/etc/logrotate.d/.keep': '', '/etc/systemd/system/.keep': '' },
      fakes: {
        dnf: '', id: 'exit 1', useradd: '', chown: '', systemctl: '', 'cwagent-ctl': '',
        // the instance metadata answers; the RDS bundle cannot be downloaded (this fleet has no database user)
        curl: 'case "$*" in *api/token*) echo token;; *meta-data/instance-id) echo i-0abc;; *meta-data/placement/region) echo eu-west-1;; *groupName) echo api-asg;; *) exit 6;; esac',
        aws: 'case "$*" in "s3api get-object"*) for a; do :; done; echo "other bytes" > "$a";; esac',
      },
    });
    rmSync(r.root, { recursive: true, force: true });
    // THEN the launch is abandoned, the agent already shipping the bootstrap log, with time to send the failure
    expect(r.status).not.toBe(0);
    const at = (prefix: string) => r.calls.findIndex((c) => c.startsWith(prefix));
    expect(at('cwagent-ctl -a fetch-config')).toBeGreaterThanOrEqual(0);
    expect(at('cwagent-ctl -a fetch-config')).toBeLessThan(at('aws s3api get-object'));
    expect(r.stdout).toMatch(/s2m-bootstrap: failed at line \d+: abandoning this launch/);
    const abandon = r.calls.findIndex((c) => c.includes('--lifecycle-action-result ABANDON'));
    expect(abandon).toBeGreaterThan(at('aws s3api get-object'));
    expect(r.calls.slice(at('aws s3api get-object'), abandon)).toContain('sleep 10');
  });
});

describe('the bootstrap: a launch that succeeds', () => {
  it('removes the downloaded artifact once it is unpacked (/tmp is memory on Amazon Linux 2023), and has logrotate run hourly', () => {
    // GIVEN a fleet of an S3 artifact with its checksum
    const { stack, vpc } = stackWithVpc();
    new Fleet(stack, 'Api', {
      vpc, instanceType: new ec2.InstanceType('m7g.large'), minCapacity: 2, maxCapacity: 4, port: 8080, applicationRole: 'web',
      application: ApplicationSource.artifact({ bucket: s3.Bucket.fromBucketName(stack, 'Releases', 'shop-releases'), key: 'api.tar.gz', sha256: 'f406618d666ff07cf9d4495e096098b9c095ee1f15420609a1da227d69b10958', startCommand: '/usr/bin/node-22 server.js' }),
    });
    const userData = renderedUserData(Template.fromStack(stack)).replace(/\/var\/log\//g, '/opt/var-log/').replace(/\/tmp\/s2m-artifact/g, '/opt/tmp-s2m-artifact');
    // WHEN the bootstrap runs (the download brings the release's bytes; tar unpacks them)
    const r = runInstanceScript('/user-data', {
      scripts: { '/user-data': userData, '/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl': '#!/bin/bash\ncwagent-ctl "$@"' },
      files: { '/opt/var-log/.keep': '', '/etc/logrotate.d/.keep': '', '/etc/systemd/system/.keep': '' },
      fakes: {
        dnf: '', id: 'exit 1', useradd: '', chown: '', chmod: '', systemctl: '', 'cwagent-ctl': '', tar: '',
        curl: 'case "$*" in *api/token*) echo token;; *meta-data/instance-id) echo i-0abc;; *meta-data/placement/region) echo eu-west-1;; *groupName) echo api-asg;; *) exit 6;; esac',
        aws: 'case "$*" in "s3api get-object"*) for a; do :; done; echo "the release" > "$a";; esac',
      },
    });
    const left = existsSync(join(r.root, 'opt/tmp-s2m-artifact'));
    const timer = readFileSync(join(r.root, 'etc/systemd/system/logrotate.timer.d/s2m-hourly.conf'), 'utf8');
    rmSync(r.root, { recursive: true, force: true });
    // THEN it unpacked the checked artifact, and the artifact is gone
    expect(r.status).toBe(0);
    expect(r.calls.some((c) => c.startsWith('tar -xzf') && c.includes('tmp-s2m-artifact'))).toBe(true);
    expect(left).toBe(false);
    // AND logrotate runs hourly (its maxsize 100M looked at every hour, not once a day), from the reload on
    expect(timer).toBe('[Timer]\nOnCalendar=\nOnCalendar=hourly\n');
    const systemctl = r.calls.filter((c) => c.startsWith('systemctl '));
    expect(systemctl.indexOf('systemctl restart logrotate.timer')).toBe(systemctl.indexOf('systemctl daemon-reload') + 1);
  });
});
