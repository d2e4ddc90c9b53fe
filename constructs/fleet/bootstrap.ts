import { DATABASE_CA_FILE, ENV_FILE } from '../../lib/runtime/contract';
import type { ApplicationSourceConfig } from './application-source';
import { FLEET_DEFAULTS, INSTANCE_PATHS } from './defaults';

/** What {@link bootstrapCommands} writes on an instance. */
export interface BootstrapOptions {
  /** How the application gets there. */
  readonly source: ApplicationSourceConfig;
  /** The application's environment file, `KEY=value` (the contract's variables and the source's own). */
  readonly environment: Readonly<Record<string, string>>;
  /** The fleet's settings for its own scripts (lifecycle hooks, log group, health URL...). */
  readonly settings: Readonly<Record<string, string>>;
  /** The application's log group (a token). */
  readonly logGroupName: string;
  /** Namespace of the host metrics. */
  readonly metricsNamespace: string;
  /** Seconds systemd gives the application to stop after SIGTERM. */
  readonly stopTimeoutSeconds: number;
  /** A description for the unit, e.g. `web service api`. */
  readonly description: string;
}

const BIN = INSTANCE_PATHS.binDir;
const APP = INSTANCE_PATHS.appDir;
const LOG = INSTANCE_PATHS.logFile;
const UNIT = INSTANCE_PATHS.appUnit;
/** Attempts to complete a lifecycle action, and the cap of the doubling delay between them (2 s first): about 3 minutes in all. */
const HOOK_ATTEMPTS = 10;
const HOOK_MAX_DELAY = 30;
/** Seconds the CloudWatch agent is given to ship the last lines of a log (it flushes every 5 s) before the instance goes. */
const AGENT_FLUSH_SECONDS = 10;

/** Seconds systemd gives `docker stop` beyond the container's own stop timeout. */
const CONTAINER_STOP_MARGIN = 15;

/** Reads one instance metadata path with an IMDSv2 token. */
const IMDS_SCRIPT = `#!/bin/bash
# imds <path>: instance metadata (IMDSv2)
set -euo pipefail
token=$(curl -sf -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' http://169.254.169.254/latest/api/token)
curl -sf -H "X-aws-ec2-metadata-token: $token" "http://169.254.169.254/latest/meta-data/$1"`;

/**
 * Completes one of this instance's lifecycle actions (`complete-hook <hook> <CONTINUE|ABANDON>`), retrying with
 * bounded, capped backoff: right after launch the instance metadata or the role's credentials can lag, and
 * Auto Scaling throttles. Gives up quietly only when no action is waiting (a reboot, or the hook already ended);
 * after the last attempt the hook's own timeout applies its default result.
 */
const COMPLETE_HOOK_SCRIPT = `#!/bin/bash
# complete-hook <hook> <CONTINUE|ABANDON>
set -uo pipefail
hook=$1
result=$2
attempts=${HOOK_ATTEMPTS}
delay=2
for ((attempt = 1; attempt <= attempts; attempt++)); do
  if instance=$(${BIN}/imds instance-id) && region=$(${BIN}/imds placement/region) \\
    && group=$(${BIN}/imds tags/instance/aws:autoscaling:groupName); then
    if out=$(aws autoscaling complete-lifecycle-action --cli-connect-timeout 5 --cli-read-timeout 20 --region "$region" --auto-scaling-group-name "$group" \\
      --instance-id "$instance" --lifecycle-hook-name "$hook" --lifecycle-action-result "$result" 2>&1); then
      echo "s2m: $hook completed with $result"
      exit 0
    fi
    case $out in
      *'No active Lifecycle Action'*)
        echo "s2m: $hook: no lifecycle action is waiting for this instance (a reboot, or the hook already ended)"
        exit 0 ;;
    esac
  else
    out='the instance metadata (instance id, region, group tag) did not answer'
  fi
  echo "s2m: $hook: attempt $attempt of $attempts to complete it with $result failed: $out" >&2
  if [ "$attempt" -lt "$attempts" ]; then
    sleep "$delay"
    delay=$((delay * 2 > ${HOOK_MAX_DELAY} ? ${HOOK_MAX_DELAY} : delay * 2))
  fi
done
echo "s2m: $hook: not completed after $attempts attempts; Auto Scaling applies the hook's default result when it times out" >&2
exit 1`;

/**
 * Installs AWS's RDS certificate bundle at {@link DATABASE_CA_FILE}: database TLS to Aurora verifies against it
 * (RDS certificates are not signed by a public CA). Keeps a bundle already there that parses; otherwise downloads
 * AWS's global bundle with bounded retries and installs it only when every certificate in it parses as PEM.
 */
const RDS_CA_SCRIPT = `#!/bin/bash
# Installs the RDS CA bundle (exit 1: it could not)
set -uo pipefail
file=${DATABASE_CA_FILE}
url=${FLEET_DEFAULTS.rdsCaBundleUrl}
certificates() {
  local n
  n=$(grep -c -- '-----BEGIN CERTIFICATE-----' "$1" 2>/dev/null) || return 1
  [ "$n" -ge 1 ] && openssl crl2pkcs7 -nocrl -certfile "$1" -out /dev/null 2>/dev/null && echo "$n"
}
if n=$(certificates "$file"); then
  echo "s2m-rds-ca: $file holds $n certificates"
  exit 0
fi
tmp=$(mktemp "$file.XXXXXX") || exit 1
trap 'rm -f "$tmp"' EXIT
for attempt in 1 2 3 4 5; do
  if curl -fsS --max-time 30 -o "$tmp" "$url" && n=$(certificates "$tmp"); then
    chmod 0644 "$tmp" && mv -f "$tmp" "$file" && echo "s2m-rds-ca: installed $n certificates from $url at $file" && exit 0
  fi
  echo "s2m-rds-ca: attempt $attempt of 5: no valid certificate bundle from $url" >&2
  if [ "$attempt" -lt 5 ]; then sleep $((attempt * 5)); fi
done
echo "s2m-rds-ca: $file is not installed: TLS connections that verify an Aurora certificate will fail" >&2
exit 1`;

/**
 * Completes the launching lifecycle hook: CONTINUE once the application is ready, ABANDON (the instance is
 * replaced, and an instance refresh counts a failure) when it is not ready before the timeout. Ready means the
 * health URL answers 200 (what the load balancer wants: not another 2xx, not a redirect) three times in a row, or,
 * without one (workers), the unit is active three checks in a
 * row without restarting. The hook's timeout runs from launch, so the script's budget counts from boot, not
 * from when it starts (after the install). A fleet whose database connections verify TLS against the RDS
 * bundle is never ready without it. Runs at every boot, so a warm-pool instance started later is checked again.
 */
const READY_SCRIPT = `#!/bin/bash
# Completes the launching hook (s2m-ready)
set -uo pipefail
# shellcheck source=/dev/null
. ${INSTANCE_PATHS.fleetEnv}
booted=$(cut -d. -f1 /proc/uptime)
if [ "\${S2M_DATABASE_CA_REQUIRED:-no}" = yes ] && ! ${BIN}/rds-ca; then
  echo "s2m-ready: ABANDON: ${DATABASE_CA_FILE} is missing, and this fleet's database connections verify TLS against it"
  exec ${BIN}/complete-hook "$S2M_READY_HOOK" ABANDON
fi
restarts=$(systemctl show -p NRestarts --value "$S2M_APP_UNIT")
ready() {
  if [ -n "\${S2M_HEALTH_URL:-}" ]; then
    [ "$(curl -s -o /dev/null --max-time 3 -w '%{http_code}' "$S2M_HEALTH_URL")" = 200 ]
    return
  fi
  local now
  now=$(systemctl show -p NRestarts --value "$S2M_APP_UNIT")
  if [ "$now" != "$restarts" ]; then restarts=$now; return 1; fi
  systemctl is-active --quiet "$S2M_APP_UNIT"
}
result=ABANDON
streak=0
deadline=$((SECONDS + S2M_READY_TIMEOUT - booted))
while [ "$SECONDS" -lt "$deadline" ]; do
  if ready; then streak=$((streak + 1)); else streak=0; fi
  if [ "$streak" -ge 3 ]; then result=CONTINUE; break; fi
  sleep 5
done
echo "s2m-ready: $result ($((SECONDS + booted)) s after boot)"
exec ${BIN}/complete-hook "$S2M_READY_HOOK" "$result"`;

/**
 * Waits until Auto Scaling marks the instance for termination (scale-in, instance refresh, health
 * replacement; `Warmed:Terminated` for an instance of a running warm pool) or, once it has been `InService` this boot,
 * for a return to the warm pool (a scale-in with `reuseOnScaleIn`, whose terminating hook waits in
 * `Warmed:Pending:Wait`; an instance warming up for the pool has a `Warmed:*` target before it ever is in service),
 * keeps the application serving for the fleet's drain delay (a web fleet: its target group's deregistration delay, which Auto Scaling starts at the same
 * moment, while the load balancer still sends new requests for a while), stops the application (SIGTERM, then
 * systemd's stop timeout), lets the log agent flush, and completes the terminating lifecycle hook.
 */
const DRAIN_SCRIPT = `#!/bin/bash
# Completes the terminating hook (s2m-drain)
set -uo pipefail
# shellcheck source=/dev/null
. ${INSTANCE_PATHS.fleetEnv}
until case "$(${BIN}/imds autoscaling/target-lifecycle-state 2>/dev/null || true)" in Terminated|Warmed:Terminated) true;; InService) touch /run/s2m-served; false;; Warmed:*) [ -e /run/s2m-served ];; *) false;; esac; do sleep 5; done
if [ "\${S2M_DRAIN_DELAY:-0}" -gt 0 ]; then
  echo "s2m-drain: the instance is terminating: $S2M_APP_UNIT serves $S2M_DRAIN_DELAY s more while the load balancer deregisters it"
  sleep "$S2M_DRAIN_DELAY"
fi
echo "s2m-drain: the instance is terminating: stopping $S2M_APP_UNIT"
systemctl stop "$S2M_APP_UNIT"
sleep 10
exec ${BIN}/complete-hook "$S2M_DRAIN_HOOK" CONTINUE`;

/**
 * A failed bootstrap abandons the launch at once instead of leaving the hook to time out, once the CloudWatch agent
 * (running from right after the packages) has had time to ship the failure: the abandoned instance is terminated
 * with its disk.
 */
const BOOTSTRAP_FAILED = `bootstrap_failed() {
  echo "s2m-bootstrap: failed at line $1: abandoning this launch"
  sleep ${AGENT_FLUSH_SECONDS}
  ${BIN}/complete-hook "$S2M_READY_HOOK" ABANDON || true
}`;

/** `dnf install` with retries: the repositories can be briefly unreachable while the network comes up. */
const DNF_INSTALL = 'dnf_install() { local i; for i in 1 2 3 4 5; do dnf install -y -q "$@" && return 0; sleep $((i * 5)); done; return 1; }';

/**
 * The user data of a fleet's instances, as bash lines (`set -euo pipefail`): the application's environment
 * file (never a secret), the fleet's settings, packages, the CloudWatch agent (application log and
 * bootstrap log to the fleet's log group; memory and disk metrics by Auto Scaling group), AWS's RDS certificate
 * bundle, the unprivileged application user, the source's install commands, the `s2m-app` systemd unit, and the
 * readiness and drain services that complete the fleet's lifecycle hooks (with retries). Every script it writes is static text (deploy-time values
 * are only in the two settings files), so the whole passes shellcheck.
 */
export function bootstrapCommands(o: BootstrapOptions): string[] {
  const s = o.source;
  const ownUnit = s.startCommand === undefined;
  // openssl checks the RDS certificate bundle (rds-ca); logrotate rotates the application log (below), installed on
  // the stock image but not promised on every image a fleet may use.
  const packages = ['amazon-cloudwatch-agent', 'openssl', 'logrotate', ...s.packages];
  const lines: string[] = [
    'set -euo pipefail',
    `exec > >(tee -a ${BOOTSTRAP_LOG}) 2>&1`,
    `install -d -m 0755 /etc/scale-to-millions ${BIN} ${APP} /var/log/s2m`,
    `cat > ${ENV_FILE} <<'ENV'\n${Object.entries(o.environment).map(([k, v]) => `${k}=${v}`).join('\n')}\nENV`,
    `cat > ${INSTANCE_PATHS.fleetEnv} <<'FLEET'\n${Object.entries({ ...o.settings, ...s.settings }).map(([k, v]) => `${k}='${v}'`).join('\n')}\nFLEET`,
    `chmod 0644 ${ENV_FILE} ${INSTANCE_PATHS.fleetEnv}`,
    `cat > ${BIN}/imds <<'SH'\n${IMDS_SCRIPT}\nSH`,
    `cat > ${BIN}/complete-hook <<'SH'\n${COMPLETE_HOOK_SCRIPT}\nSH`,
    `cat > ${BIN}/rds-ca <<'SH'\n${RDS_CA_SCRIPT}\nSH`,
    `chmod 0755 ${BIN}/imds ${BIN}/complete-hook ${BIN}/rds-ca`,
    '# shellcheck source=/dev/null',
    `. ${INSTANCE_PATHS.fleetEnv}`,
    BOOTSTRAP_FAILED,
    "trap 'bootstrap_failed $LINENO' ERR",
  ];
  if (s.version === undefined) {
    // On its own line: a command substitution that fails inside echo's argument trips neither set -e nor the trap.
    lines.push(`ami_id=$(${BIN}/imds ami-id)`, `echo "S2M_APP_VERSION=$ami_id" >> ${ENV_FILE}`);
  }
  lines.push(
    DNF_INSTALL,
    `dnf_install ${packages.join(' ')}`,
    // The agent first: whatever fails from here on (the download, a checksum, the image pull) reaches the log group.
    `cat > /etc/logrotate.d/s2m <<'CONF'\n${LOGROTATE}\nCONF`,
    // logrotate runs daily; hourly, its maxsize is looked at every hour (a `daily` log still rotates once a day).
    "mkdir -p /etc/systemd/system/logrotate.timer.d && printf '[Timer]\\nOnCalendar=\\nOnCalendar=hourly\\n' > /etc/systemd/system/logrotate.timer.d/s2m-hourly.conf",
    `cat > /opt/s2m/cloudwatch-agent.json <<'JSON'\n${agentConfig(o)}\nJSON`,
    '/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:/opt/s2m/cloudwatch-agent.json',
    // Before the application starts; the ready service retries and decides when the fleet cannot do without it.
    `${BIN}/rds-ca || echo "s2m-bootstrap: continuing without ${DATABASE_CA_FILE}"`,
    `id -u ${INSTANCE_PATHS.appUser} >/dev/null 2>&1 || useradd --system --no-create-home --home-dir ${APP} --shell /sbin/nologin ${INSTANCE_PATHS.appUser}`,
    ...s.install,
    `chown -R root:root ${APP}`,
    `chmod -R u=rwX,go=rX ${APP}`,
  );
  if (!ownUnit) {
    lines.push(
      `cat > ${BIN}/run <<'S2M_EOF'\n#!/bin/bash\n# Starts the application (the fleet's application source).\nset -euo pipefail\nexec ${s.startCommand}\nS2M_EOF`,
      `chmod 0755 ${BIN}/run`,
      `cat > /etc/systemd/system/${UNIT} <<'UNIT'\n${appUnit(o, s.runAsRoot ?? false)}\nUNIT`,
    );
  } else {
    lines.push(
      `install -d /etc/systemd/system/${UNIT}.d`,
      `cat > /etc/systemd/system/${UNIT}.d/scale-to-millions.conf <<'UNIT'\n${dropIn(o)}\nUNIT`,
    );
  }
  lines.push(
    `cat > ${BIN}/ready <<'SH'\n${READY_SCRIPT}\nSH`,
    `cat > ${BIN}/drain <<'SH'\n${DRAIN_SCRIPT}\nSH`,
    `chmod 0755 ${BIN}/ready ${BIN}/drain`,
    `cat > /etc/systemd/system/s2m-ready.service <<'UNIT'\n${READY_UNIT}\nUNIT`,
    `cat > /etc/systemd/system/s2m-drain.service <<'UNIT'\n${DRAIN_UNIT}\nUNIT`,
    'systemctl daemon-reload',
    // The hourly logrotate timer above.
    'systemctl restart logrotate.timer',
    `systemctl enable --now ${UNIT} s2m-drain.service`,
    'systemctl enable s2m-ready.service',
    'systemctl start --no-block s2m-ready.service',
  );
  return lines;
}

function appUnit(o: BootstrapOptions, runAsRoot: boolean): string {
  const container = o.source.containerName;
  return [
    '[Unit]',
    `Description=scale-to-millions application (${o.description})`,
    'Wants=network-online.target',
    `After=network-online.target${runAsRoot ? ' docker.service' : ''}`,
    ...(runAsRoot ? ['Requires=docker.service'] : []),
    '',
    '[Service]',
    'Type=simple',
    // A container runtime's client runs as root; the container's own user is the image's.
    // Unprivileged, with a writable /var/lib/s2m-app, and allowed to listen on a port below 1024 (e.g. 80).
    ...(runAsRoot ? [] : [
      `User=${INSTANCE_PATHS.appUser}`, `Group=${INSTANCE_PATHS.appUser}`, 'NoNewPrivileges=yes', 'ProtectSystem=full', 'PrivateTmp=yes',
      'StateDirectory=s2m-app', 'AmbientCapabilities=CAP_NET_BIND_SERVICE',
    ]),
    `EnvironmentFile=${ENV_FILE}`,
    `WorkingDirectory=${APP}`,
    // A container outlives its client: remove a leftover of the same name before starting (a restart races
    // `--rm`), and stop the container itself, SIGTERM then its timeout, before systemd stops the client.
    ...(container ? [`ExecStartPre=-/usr/bin/docker rm --force ${container}`] : []),
    `ExecStart=${BIN}/run`,
    ...(container ? [`ExecStop=-/usr/bin/docker stop --time ${o.stopTimeoutSeconds} ${container}`] : []),
    'Restart=always',
    'RestartSec=3',
    `TimeoutStopSec=${o.stopTimeoutSeconds + (container ? CONTAINER_STOP_MARGIN : 0)}`,
    `StandardOutput=append:${LOG}`,
    `StandardError=append:${LOG}`,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
  ].join('\n');
}

function dropIn(o: BootstrapOptions): string {
  return ['[Service]', `EnvironmentFile=${ENV_FILE}`, `TimeoutStopSec=${o.stopTimeoutSeconds}`, `StandardOutput=append:${LOG}`, `StandardError=append:${LOG}`].join('\n');
}

/** The bootstrap's own log, shipped to CloudWatch (stream `bootstrap`): user data, readiness and drain. */
const BOOTSTRAP_LOG = '/var/log/s2m-bootstrap.log';

const READY_UNIT = [
  '[Unit]',
  'Description=s2m: readiness (launching hook)',
  `After=network-online.target ${UNIT}`,
  'Wants=network-online.target',
  '',
  '[Service]',
  'Type=oneshot',
  `ExecStart=${BIN}/ready`,
  // In the shipped log, not only the journal: an abandoned instance is terminated with its journal. (StandardError
  // inherits it: systemd's default.)
  `StandardOutput=append:${BOOTSTRAP_LOG}`,
  '',
  '[Install]',
  'WantedBy=multi-user.target',
].join('\n');

const DRAIN_UNIT = [
  '[Unit]',
  'Description=s2m: drain (terminating hook)',
  `After=network-online.target ${UNIT}`,
  '',
  '[Service]',
  'Type=simple',
  `ExecStart=${BIN}/drain`,
  'Restart=on-failure',
  'RestartSec=5',
  `StandardOutput=append:${BOOTSTRAP_LOG}`,
  '',
  '[Install]',
  'WantedBy=multi-user.target',
].join('\n');

const LOGROTATE = [
  `${LOG} ${BOOTSTRAP_LOG} {`,
  '  daily',
  '  maxsize 100M',
  '  rotate 2',
  '  compress',
  '  missingok',
  '  notifempty',
  '  copytruncate',
  '}',
].join('\n');

function agentConfig(o: BootstrapOptions): string {
  const file = (path: string, stream: string) => ({ file_path: path, log_group_name: o.logGroupName, log_stream_name: `{instance_id}/${stream}` });
  const config = {
    agent: { metrics_collection_interval: 60 },
    metrics: {
      namespace: o.metricsNamespace,
      // Tokens of the agent itself, resolved on the instance: one series per Auto Scaling group.
      append_dimensions: { AutoScalingGroupName: '${aws:AutoScalingGroupName}' },
      aggregation_dimensions: [['AutoScalingGroupName']],
      metrics_collected: {
        mem: { measurement: ['mem_used_percent'] },
        disk: { measurement: ['used_percent'], resources: ['/'], drop_device: true },
      },
    },
    logs: { logs_collected: { files: { collect_list: [file(LOG, 'app'), file(BOOTSTRAP_LOG, 'bootstrap')] } } },
  };
  // Without indentation: the user data counts against EC2's 16 KB, and its template against the app stack's budget.
  return JSON.stringify(config);
}
