import type { Duration } from 'aws-cdk-lib/core';
import { ApplicationSource } from '../fleet/application-source';

/** Options of {@link placeholderWorker}. */
export interface PlaceholderWorkerOptions {
  /** URL of the queue to drain (may be a token). */
  readonly queueUrl: string;
  /** How long the placeholder "job" sleeps per message (rounded to whole seconds, at least 1). */
  readonly processingTime: Duration;
}

/**
 * The worker loop a queue's fleet runs until it is given an application: a bash script on the AWS CLI (both on
 * Amazon Linux 2023). It long-polls the queue for one message at a time, protects its instance from scale-in
 * before working (`autoscaling:SetInstanceProtection` on its own group, found in the instance metadata tag
 * `aws:autoscaling:groupName`), "processes" the message (sleeps), deletes it, and lifts the protection only
 * when a poll comes back empty, so scale-in only ever picks an idle worker. When the protection cannot be set
 * (the instance is already terminating), it hands the message straight back (visibility 0) for another
 * worker. On SIGTERM (the fleet's drain: scale-in, instance refresh, replacement) it finishes the message in
 * hand, hands back one it has not started, and exits. A real worker (the runtime SDK's) keeps the same contract.
 */
export function placeholderWorker(opts: PlaceholderWorkerOptions): ApplicationSource {
  const script = [
    '#!/bin/bash',
    '# scale-to-millions placeholder worker: long poll, protect while busy, work, delete; stop cleanly on SIGTERM.',
    'set -uo pipefail',
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
    'stopping=no',
    "trap 'stopping=yes' TERM",
    'busy=no',
    'while [ "$stopping" = no ]; do',
    '  handle=$(aws sqs receive-message --queue-url "$QUEUE_URL" --wait-time-seconds 20 --max-number-of-messages 1 --query "Messages[0].ReceiptHandle" --output text) || { sleep 5; continue; }',
    '  if [ -z "$handle" ] || [ "$handle" = None ]; then',
    '    if [ "$busy" = yes ] && protect off; then busy=no; fi',
    '    continue',
    '  fi',
    '  if [ "$stopping" = yes ]; then',
    '    aws sqs change-message-visibility --queue-url "$QUEUE_URL" --receipt-handle "$handle" --visibility-timeout 0',
    '    break',
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
    'echo "worker: stopped"',
  ].join('\n');
  return ApplicationSource.inline({
    files: { 'worker.sh': `${script}\n` },
    startCommand: '/bin/bash worker.sh',
    environment: { QUEUE_URL: opts.queueUrl, PROCESSING_SECONDS: String(Math.max(1, Math.round(opts.processingTime.toSeconds({ integral: false })))) },
  });
}
