import { Duration } from 'aws-cdk-lib/core';

/** Default values of the `WorkQueue` and `WorkerFleet` constructs. */
export const WORK_QUEUE_DEFAULTS = {
  /** Receives before a message moves to the dead-letter queue. */
  maxReceiveCount: 5,
  /** How long the work queue keeps a message (SQS's own default). */
  retentionPeriod: Duration.days(4),
  /**
   * How long the dead-letter queue keeps a message: the SQS maximum, so it always outlives the work
   * queue's retention (for standard queues a message's age counts from its first enqueue, not from its
   * move to the DLQ, so a DLQ with a shorter retention would drop messages on arrival).
   */
  deadLetterRetentionPeriod: Duration.days(14),
  /** Long polling: a receive waits up to this long for a message (the SQS maximum, fewest empty receives). */
  receiveMessageWaitTime: Duration.seconds(20),
  /** Average time a worker spends on one message. */
  averageProcessingTime: Duration.seconds(10),
  /** How long a message may wait in the queue before a worker picks it up. */
  acceptableLatency: Duration.minutes(5),
  /**
   * "Comfortably above" the processing time: the visibility timeout must be at least this many times
   * the average processing time (AWS's guidance for SQS consumers is six times the processing timeout)...
   */
  visibilityTimeoutFactor: 6,
  /** ...and at least the maximum processing time (when known) plus this margin. */
  visibilityTimeoutMargin: Duration.seconds(30),
  /** Smallest visibility timeout the construct chooses by default (SQS's own default). */
  minimumVisibilityTimeout: Duration.seconds(30),
  /** Largest visibility timeout SQS allows. */
  maximumVisibilityTimeout: Duration.hours(12),
  /** Periods (of 1 minute) the oldest message must exceed the latency target before the age alarm fires. */
  ageAlarmEvaluationPeriods: 3,
  /** Fewest workers (0: the fleet sleeps while the queue is empty and a step policy wakes it). */
  workerMinCapacity: 0,
  /**
   * How late a dead-letter queue's depth may reach CloudWatch after its first message: SQS stops publishing the
   * metrics of a queue inactive for six hours (a dead-letter queue mostly is) and may take up to 15 minutes to
   * publish them again. A worker fleet's rollout pauses at least this long, after the time a failing job takes to
   * reach the dead-letter queue, so its rollback alarm can see it.
   */
  deadLetterMetricDelay: Duration.minutes(15),
} as const;

/**
 * The smallest visibility timeout, in seconds, that is comfortably above the processing time:
 * `max(6 × average, maximum + 30 s)`, the second term only when the maximum is known. A worker that
 * takes longer than the visibility timeout sees its message delivered again to another worker.
 */
export function minimumVisibilityTimeoutSeconds(averageProcessingSeconds: number, maxProcessingSeconds?: number): number {
  const byAverage = Math.ceil(averageProcessingSeconds * WORK_QUEUE_DEFAULTS.visibilityTimeoutFactor);
  const byMax = maxProcessingSeconds === undefined ? 0 : Math.ceil(maxProcessingSeconds + WORK_QUEUE_DEFAULTS.visibilityTimeoutMargin.toSeconds());
  return Math.max(byAverage, byMax);
}

/** The visibility timeout chosen when none is given: the minimum above, at least 30 s. */
export function defaultVisibilityTimeoutSeconds(averageProcessingSeconds: number, maxProcessingSeconds?: number): number {
  return Math.max(WORK_QUEUE_DEFAULTS.minimumVisibilityTimeout.toSeconds(), minimumVisibilityTimeoutSeconds(averageProcessingSeconds, maxProcessingSeconds));
}

/**
 * How long a worker fleet's rollout must pause, once every worker runs the new version, for its dead-letter rollback
 * alarm to see a version that fails every job: `maxReceiveCount` receives a visibility timeout apart, then the
 * dead-letter queue's metric delay; at least the fleets' usual 5 minutes, at most Auto Scaling's 48 hours.
 *
 * @param maxReceiveCount - receives before a message moves to the dead-letter queue
 * @param visibilityTimeoutSeconds - the work queue's visibility timeout
 */
export function deadLetterRolloutDelaySeconds(maxReceiveCount: number, visibilityTimeoutSeconds: number): number {
  return Math.min(172_800, Math.max(300, maxReceiveCount * visibilityTimeoutSeconds + WORK_QUEUE_DEFAULTS.deadLetterMetricDelay.toSeconds()));
}
