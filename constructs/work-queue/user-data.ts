import { aws_ec2 as ec2 } from 'aws-cdk-lib';

/** Options of {@link defaultWorkerUserData}. */
export interface DefaultWorkerOptions {
  /** URL of the queue to drain (may be a token). */
  readonly queueUrl: string;
  /** Region of the queue (may be a token, e.g. `Aws.REGION`). */
  readonly region: string;
  /** Seconds the placeholder "job" sleeps per message. */
  readonly processingSeconds: number;
}

/**
 * The worker loop of the reference app, a bash script on the AWS CLI (both on Amazon Linux 2023), run
 * by systemd. It long-polls the queue for one message at a time, protects its instance from scale-in
 * before working (`autoscaling:SetInstanceProtection` on its own group, found in the instance metadata
 * tag `aws:autoscaling:groupName`), "processes" the message (sleeps), deletes it, and lifts the
 * protection only when a poll comes back empty, so scale-in only ever picks an idle worker. When the
 * protection cannot be set (the instance is already terminating), it hands the message straight back
 * (visibility 0) for another worker. Replace the `sleep` with your job, or pass your own user data.
 */
export function defaultWorkerUserData(opts: DefaultWorkerOptions): ec2.UserData {
  const userData = ec2.UserData.forLinux();
  const script = [
    '#!/bin/bash',
    '# scale-to-millions placeholder worker: long poll, protect while busy, work, delete.',
    'set -uo pipefail',
    '. /etc/s2m/worker.env',
    'export AWS_REGION AWS_DEFAULT_REGION="$AWS_REGION"',
    'imds() {',
    '  local token',
    '  token=$(curl -sf -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" http://169.254.169.254/latest/api/token) &&',
    '    curl -sf -H "X-aws-ec2-metadata-token: $token" "http://169.254.169.254/latest/meta-data/$1"',
    '}',
    'INSTANCE_ID=$(imds instance-id)',
    'GROUP=$(imds tags/instance/aws:autoscaling:groupName || true)',
    '[ -n "$GROUP" ] || echo "worker: group name not in instance metadata tags; running without scale-in protection" >&2',
    'protect() {',
    '  [ -n "$GROUP" ] || return 0',
    '  if [ "$1" = on ]; then flag=--protected-from-scale-in; else flag=--no-protected-from-scale-in; fi',
    '  aws autoscaling set-instance-protection --auto-scaling-group-name "$GROUP" --instance-ids "$INSTANCE_ID" "$flag"',
    '}',
    'busy=no',
    'while true; do',
    '  handle=$(aws sqs receive-message --queue-url "$QUEUE_URL" --wait-time-seconds 20 --max-number-of-messages 1 --query "Messages[0].ReceiptHandle" --output text) || { sleep 5; continue; }',
    '  if [ -z "$handle" ] || [ "$handle" = None ]; then',
    '    if [ "$busy" = yes ] && protect off; then busy=no; fi',
    '    continue',
    '  fi',
    '  if [ "$busy" = no ]; then',
    '    if protect on; then busy=yes; else',
    '      aws sqs change-message-visibility --queue-url "$QUEUE_URL" --receipt-handle "$handle" --visibility-timeout 0',
    '      sleep 20',
    '      continue',
    '    fi',
    '  fi',
    '  sleep "$PROCESSING_SECONDS"  # the job: replace with your own',
    '  aws sqs delete-message --queue-url "$QUEUE_URL" --receipt-handle "$handle"',
    'done',
  ].join('\n');
  userData.addCommands(
    'set -euo pipefail',
    'mkdir -p /opt/s2m /etc/s2m',
    `cat > /etc/s2m/worker.env <<'ENV'\nQUEUE_URL=${opts.queueUrl}\nAWS_REGION=${opts.region}\nPROCESSING_SECONDS=${opts.processingSeconds}\nENV`,
    `cat > /opt/s2m/worker.sh <<'SH'\n${script}\nSH`,
    'chmod 0755 /opt/s2m/worker.sh',
    `cat > /etc/systemd/system/s2m-worker.service <<'UNIT'\n[Unit]\nDescription=scale-to-millions placeholder queue worker\nAfter=network-online.target\n\n[Service]\nExecStart=/opt/s2m/worker.sh\nRestart=always\nRestartSec=5\nDynamicUser=yes\nEnvironment=HOME=/tmp\n\n[Install]\nWantedBy=multi-user.target\nUNIT`,
    'systemctl daemon-reload',
    'systemctl enable --now s2m-worker.service',
  );
  return userData;
}
