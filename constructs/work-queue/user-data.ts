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
 * Amazon Linux 2023). It receives nothing until its instance is `InService` (a launching lifecycle hook holds it
 * in `Pending:Wait` while this already runs, and protection is refused there: a message received then would go
 * back, counting towards `maxReceiveCount`), then long-polls the queue for one message at a time, protects its
 * instance from scale-in before working (`autoscaling:SetInstanceProtection` on its own group, found in the instance metadata tag
 * `aws:autoscaling:groupName`), "processes" the message (sleeps), deletes it, and lifts the protection only
 * when a poll comes back empty, so scale-in only ever picks an idle worker. When the protection cannot be set
 * (the instance is already terminating), it hands the message straight back (visibility 0) for another
 * worker. On SIGTERM (the fleet's drain: scale-in, instance refresh, replacement) it stops: it hands back a message
 * it has not started, and one whose job the signal cut short (systemd signals the unit's whole control group, so
 * the job gets SIGTERM too; it is not deleted), deletes one whose job finished, and exits. A real worker (the
 * runtime SDK's) keeps the same contract.
 */
export function placeholderWorker(opts: PlaceholderWorkerOptions): ApplicationSource {
  const script = [
    '#!/bin/bash',
    '# scale-to-millions placeholder worker: wait for InService, long poll, protect while busy, work, delete; stop cleanly on SIGTERM.',
    'set -uo pipefail',
    'IMDS=${AWS_EC2_METADATA_SERVICE_ENDPOINT:-http://169.254.169.254}',
    'imds() {',
    '  local token',
    '  token=$(curl -sf --max-time 2 -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" "$IMDS/latest/api/token") &&',
    '    curl -sf --max-time 2 -H "X-aws-ec2-metadata-token: $token" "$IMDS/latest/meta-data/$1"',
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
    '# A pause SIGTERM cuts short (bash runs the trap when `wait` returns; a foreground sleep would hold it), and none',
    '# once it came (during a foreground aws or curl call, whose end only then runs the trap).',
    'pause() { [ "$stopping" = yes ] || { sleep "$1" & wait $!; }; }',
    '# 0: in service, or in no group (no metadata, no target state); 1: not yet; 2: the state could not be read.',
    '# The target state already reads InService during Pending:Wait: only the API has the current state.',
    'in_service() {',
    '  local target state',
    '  target=$(imds autoscaling/target-lifecycle-state) || return 0',
    '  [ "$target" = InService ] || return 1',
    '  state=$(aws autoscaling describe-auto-scaling-instances --instance-ids "$INSTANCE_ID" --query "AutoScalingInstances[0].LifecycleState" --output text) || return 2',
    '  [ "$state" = InService ] || [ "$state" = None ]',
    '}',
    'failures=0',
    'while [ "$stopping" = no ]; do',
    '  in_service',
    '  case $? in',
    '    0) break;;',
    '    1) failures=0;;',
    '    *) failures=$((failures + 1))',
    '       if [ "$failures" -ge 3 ]; then echo "worker: lifecycle state unreadable 3 times in a row; receiving without waiting for InService" >&2; break; fi;;',
    '  esac',
    '  pause 5',
    'done',
    '# Unknown at start: a worker that crashed while busy left its instance protected; the first idle poll lifts it.',
    'busy=unknown',
    'while [ "$stopping" = no ]; do',
    '  handle=$(aws sqs receive-message --queue-url "$QUEUE_URL" --wait-time-seconds 20 --max-number-of-messages 1 --query "Messages[0].ReceiptHandle" --output text) || { [ "$stopping" = yes ] || pause 5; continue; }',
    '  if [ -z "$handle" ] || [ "$handle" = None ]; then',
    '    if [ "$busy" != no ] && protect off; then busy=no; fi',
    '    continue',
    '  fi',
    '  if [ "$stopping" = yes ]; then',
    '    aws sqs change-message-visibility --queue-url "$QUEUE_URL" --receipt-handle "$handle" --visibility-timeout 0',
    '    break',
    '  fi',
    '  if [ "$busy" != yes ]; then',
    '    if protect on; then busy=yes; else',
    '      aws sqs change-message-visibility --queue-url "$QUEUE_URL" --receipt-handle "$handle" --visibility-timeout 0',
    '      pause 20',
    '      continue',
    '    fi',
    '  fi',
    '  if sleep "$PROCESSING_SECONDS"; then  # the job: replace with your own',
    '    aws sqs delete-message --queue-url "$QUEUE_URL" --receipt-handle "$handle"',
    '  elif [ "$stopping" = yes ]; then',
    '    # Cut short by SIGTERM (systemd signals the whole unit): not done, so not deleted; another worker takes it now.',
    '    aws sqs change-message-visibility --queue-url "$QUEUE_URL" --receipt-handle "$handle" --visibility-timeout 0',
    '  fi  # a job that failed is left to its visibility timeout (and the dead-letter queue after maxReceiveCount)',
    'done',
    'echo "worker: stopped"',
  ].join('\n');
  return ApplicationSource.inline({
    files: { 'worker.sh': `${script}\n` },
    startCommand: '/bin/bash worker.sh',
    environment: { QUEUE_URL: opts.queueUrl, PROCESSING_SECONDS: String(Math.max(1, Math.round(opts.processingTime.toSeconds({ integral: false })))) },
  });
}
