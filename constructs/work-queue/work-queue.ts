import { ArnFormat, Duration, Names, RemovalPolicy, Stack, Token } from 'aws-cdk-lib/core';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct, type IConstruct } from 'constructs';
import { QUEUE_KEYS } from '../../lib/runtime/contract';
import { PublishedEndpoints, type EndpointConsumer, type IEndpointProvider } from '../common';
import { validationError } from '../common/errors';
import { WORK_QUEUE_DEFAULTS, defaultVisibilityTimeoutSeconds, minimumVisibilityTimeoutSeconds } from './defaults';

/** How a work queue and its dead-letter queue are encrypted at rest. */
export enum WorkQueueEncryption {
  /** SSE-SQS: keys owned and managed by SQS, no KMS cost or key policy to manage. */
  SQS_MANAGED = 'SQS_MANAGED',
  /** SSE-KMS with a customer managed key (given as `encryptionKey`, or created with rotation on). */
  KMS = 'KMS',
}

/** A queue of work and what a worker fleet needs to know to drain it. */
export interface IWorkQueue extends IConstruct {
  /** The work queue. */
  readonly queue: sqs.IQueue;
  /** Its dead-letter queue. */
  readonly deadLetterQueue: sqs.IQueue;
  /** Average time a worker spends on one message. */
  readonly averageProcessingTime: Duration;
  /** How long a message may wait before a worker picks it up. */
  readonly acceptableLatency: Duration;
  /** Messages each worker may have waiting: acceptable latency ÷ average processing time. */
  readonly targetBacklogPerInstance: number;
  /**
   * How long a received message stays hidden: the longest a worker may take on one, so the time a worker is
   * given to finish its job when its instance terminates.
   * @default - unknown to the workers: they assume six times the average processing time
   */
  readonly visibilityTimeout?: Duration;
  /**
   * Receives of a message before the queue moves it to the dead-letter queue: with the visibility timeout, how long a
   * job that fails every time takes to reach it (what a worker fleet's rollout waits for).
   * @default - unknown to the workers: they assume 5
   */
  readonly maxReceiveCount?: number;
  /** Lets `grantee` send messages (and encrypt them with the key, if any). */
  grantSendMessages(grantee: iam.IGrantable): iam.Grant;
  /** Lets `grantee` receive, delete and change the visibility of messages (and decrypt them). */
  grantConsumeMessages(grantee: iam.IGrantable): iam.Grant;
  /**
   * Lets `consumer` read the queue's published endpoint parameters (its URL, ARN, name and dead-letter URL), so
   * software on a worker finds its queue the way every fleet finds the data tier; grants no message access.
   * @default - not implemented: the workers learn the queue's URL some other way
   */
  grantReadEndpoints?(consumer: EndpointConsumer): void;
  /** Messages available for retrieval (the backlog). */
  metricBacklog(opts?: cloudwatch.MetricOptions): cloudwatch.Metric;
}

/** Properties of a {@link WorkQueue}. */
export interface WorkQueueProps {
  /**
   * A FIFO queue (exactly-once processing, ordering per message group); its dead-letter queue is FIFO too.
   * @default false - a standard queue
   */
  readonly fifo?: boolean;
  /**
   * FIFO only: deduplicate on a SHA-256 of the body instead of an explicit deduplication id.
   * @default false
   */
  readonly contentBasedDeduplication?: boolean;
  /**
   * Receives after which a message moves to the dead-letter queue (1-1000).
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /**
   * How long the work queue keeps a message; shorter than the dead-letter queue's 14 days.
   * @default Duration.days(4)
   */
  readonly retentionPeriod?: Duration;
  /**
   * Average time a worker spends on one message. Sets the scaling target (with `acceptableLatency`)
   * and the smallest visibility timeout allowed.
   * @default Duration.seconds(10)
   */
  readonly averageProcessingTime?: Duration;
  /**
   * The longest a worker may spend on one message; the visibility timeout must exceed it by 30 s.
   * @default - unknown: only the 6 × average rule applies
   */
  readonly maxProcessingTime?: Duration;
  /**
   * How long a message may wait before a worker picks it up: the worker fleet's scaling target is
   * this ÷ `averageProcessingTime` messages per instance, and an alarm fires when the oldest message
   * is older than this.
   * @default Duration.minutes(5)
   */
  readonly acceptableLatency?: Duration;
  /**
   * How long a received message stays hidden from other workers. It must be comfortably above the
   * processing time: at least 6 × `averageProcessingTime`, and at least `maxProcessingTime` + 30 s when
   * that is given, else a slow job is delivered to a second worker while the first still works on it.
   * @default - the smallest value that satisfies the rule, at least 30 s
   */
  readonly visibilityTimeout?: Duration;
  /**
   * How long a receive waits for a message (0-20 s); 20 s is long polling with the fewest empty receives.
   * @default Duration.seconds(20)
   */
  readonly receiveMessageWaitTime?: Duration;
  /**
   * Encryption at rest of both queues.
   * @default - `WorkQueueEncryption.KMS` when `encryptionKey` is given, else `WorkQueueEncryption.SQS_MANAGED`
   */
  readonly encryption?: WorkQueueEncryption;
  /**
   * The KMS key for `WorkQueueEncryption.KMS`.
   * @default - a new key with rotation on, retained on delete (only with `WorkQueueEncryption.KMS`)
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * An existing dead-letter queue (same type as the work queue: FIFO with FIFO). Its retention and
   * redrive-allow policy are then yours to set.
   * @default - a new dead-letter queue: same type and encryption, 14 days retention, TLS only, and a
   *   redrive-allow policy that admits only this work queue
   */
  readonly deadLetterQueue?: sqs.IQueue;
  /**
   * The work queue's name (a FIFO name gets `.fifo` appended).
   * @default - generated from the construct path, unique per stack; a known name is what lets the
   *   dead-letter queue's redrive-allow policy name its source queue without a circular reference
   */
  readonly queueName?: string;
  /**
   * Removal policy of both queues and of a created key.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Create the two alarms (dead-letter queue not empty, oldest message older than the acceptable latency). Turn
   * them off when a monitoring layer watches the queue already (the reference app's `RegionMonitoring` does, with
   * Warning and Critical thresholds and the region's alarm topic).
   * @default true
   */
  readonly alarms?: boolean;
  /**
   * Actions of the alarms on ALARM and OK, e.g. an `SnsAction` to the on-call topic.
   * @default - none: wire `deadLetterQueueAlarm` and `oldestMessageAgeAlarm` yourself
   */
  readonly alarmActions?: cloudwatch.IAlarmAction[];
  /**
   * SSM path under which the queue's `url`, `arn` and `name` are published for producers (see
   * `PublishedEndpoints`), e.g. `/shop/queues/jobs`.
   * @default - nothing is published; `grantConsumer` grants sending only
   */
  readonly parameterPrefix?: string;
}

/**
 * A queue of slow work taken off the request path: an SQS queue (standard or FIFO) with a dead-letter
 * queue of the same type (maxReceiveCount 5, 14 days retention, a redrive-allow policy admitting only
 * this queue), encryption at rest (SSE-SQS, or KMS), TLS enforced by the queue policies, long polling,
 * and a visibility timeout checked against the processing time. Alarms: the dead-letter queue is not
 * empty, the oldest message is older than the acceptable latency.
 *
 * Grants go on the grantee's own policy (never the queue or key policy), so producers and workers in
 * another stack add no resource to this one and create no dependency cycle.
 *
 * Drain it with a {@link WorkerFleet}; producers get `grantSendMessages` (or `grantConsumer`, which also
 * lets them read the published queue URL).
 */
export class WorkQueue extends Construct implements IWorkQueue, IEndpointProvider {
  /** The work queue. */
  public readonly queue: sqs.Queue;
  /** The dead-letter queue. */
  public readonly deadLetterQueue: sqs.IQueue;
  /** The KMS key of both queues (undefined with SQS-managed encryption). */
  public readonly encryptionKey?: kms.IKey;
  /** Average time a worker spends on one message. */
  public readonly averageProcessingTime: Duration;
  /** How long a message may wait before a worker picks it up. */
  public readonly acceptableLatency: Duration;
  /** The visibility timeout in force. */
  public readonly visibilityTimeout: Duration;
  /** Receives of a message before it moves to the dead-letter queue. */
  public readonly maxReceiveCount: number;
  /** Messages each worker may have waiting: acceptable latency ÷ average processing time. */
  public readonly targetBacklogPerInstance: number;
  /** Alarm: at least one message in the dead-letter queue (a job failed `maxReceiveCount` times); unless `alarms` is false. */
  public readonly deadLetterQueueAlarm?: cloudwatch.Alarm;
  /** Alarm: the oldest message has waited longer than the acceptable latency for 3 minutes; unless `alarms` is false. */
  public readonly oldestMessageAgeAlarm?: cloudwatch.Alarm;
  /** The published queue endpoints (when `parameterPrefix` is given). */
  public readonly endpoints?: PublishedEndpoints;

  constructor(scope: Construct, id: string, props: WorkQueueProps = {}) {
    super(scope, id);
    const fifo = props.fifo ?? false;
    this.averageProcessingTime = props.averageProcessingTime ?? WORK_QUEUE_DEFAULTS.averageProcessingTime;
    this.acceptableLatency = props.acceptableLatency ?? WORK_QUEUE_DEFAULTS.acceptableLatency;
    const checked = validate(this, props, fifo, this.averageProcessingTime, this.acceptableLatency);
    this.visibilityTimeout = checked.visibilityTimeout;
    this.targetBacklogPerInstance = checked.targetBacklogPerInstance;
    this.maxReceiveCount = props.maxReceiveCount ?? WORK_QUEUE_DEFAULTS.maxReceiveCount;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    const useKms = (props.encryption ?? (props.encryptionKey ? WorkQueueEncryption.KMS : WorkQueueEncryption.SQS_MANAGED)) === WorkQueueEncryption.KMS;
    if (useKms) {
      this.encryptionKey = props.encryptionKey ?? new kms.Key(this, 'Key', {
        description: `Encrypts the messages of ${this.node.path} and its dead-letter queue`,
        enableKeyRotation: true,
        removalPolicy,
      });
    }
    const encryption = this.encryptionKey
      ? { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: this.encryptionKey }
      : { encryption: sqs.QueueEncryption.SQS_MANAGED };

    const baseName = props.queueName ?? Names.uniqueResourceName(this, { maxLength: 75, separator: '-', allowedSpecialCharacters: '-_' });
    const queueName = fifo && !baseName.endsWith('.fifo') ? `${baseName}.fifo` : baseName;
    const sourceQueueArn = Stack.of(this).formatArn({ service: 'sqs', resource: queueName, arnFormat: ArnFormat.NO_RESOURCE_NAME });

    this.deadLetterQueue = props.deadLetterQueue ?? new sqs.Queue(this, 'DeadLetterQueue', {
      fifo: fifo || undefined,
      retentionPeriod: WORK_QUEUE_DEFAULTS.deadLetterRetentionPeriod,
      enforceSSL: true,
      ...encryption,
      // Named by ARN, not by reference: the work queue already references this queue (its redrive policy).
      redriveAllowPolicy: { sourceQueues: [sqs.Queue.fromQueueArn(this, 'SourceQueueRef', sourceQueueArn)] },
      removalPolicy,
    });

    this.queue = new sqs.Queue(this, 'Resource', {
      queueName,
      fifo: fifo || undefined,
      ...(fifo && props.contentBasedDeduplication ? { contentBasedDeduplication: true } : {}),
      retentionPeriod: props.retentionPeriod ?? WORK_QUEUE_DEFAULTS.retentionPeriod,
      visibilityTimeout: this.visibilityTimeout,
      receiveMessageWaitTime: props.receiveMessageWaitTime ?? WORK_QUEUE_DEFAULTS.receiveMessageWaitTime,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: this.maxReceiveCount },
      // No other queue may use the work queue as its dead-letter queue.
      redriveAllowPolicy: { redrivePermission: sqs.RedrivePermission.DENY_ALL },
      enforceSSL: true,
      ...encryption,
      removalPolicy,
    });

    if (props.parameterPrefix !== undefined) {
      this.endpoints = new PublishedEndpoints(this, 'Endpoints', {
        parameterPrefix: props.parameterPrefix,
        description: `Work queue ${this.node.path}`,
        values: {
          [QUEUE_KEYS.url]: this.queue.queueUrl,
          [QUEUE_KEYS.arn]: this.queue.queueArn,
          [QUEUE_KEYS.name]: this.queue.queueName,
          [QUEUE_KEYS.deadLetterUrl]: this.deadLetterQueue.queueUrl,
        },
      });
    }

    if (props.alarms ?? true) {
      [this.deadLetterQueueAlarm, this.oldestMessageAgeAlarm] = this.createAlarms(props);
      for (const alarm of [this.deadLetterQueueAlarm, this.oldestMessageAgeAlarm]) {
        alarm.addAlarmAction(...(props.alarmActions ?? []));
        alarm.addOkAction(...(props.alarmActions ?? []));
      }
    }
  }

  private createAlarms(props: WorkQueueProps): [cloudwatch.Alarm, cloudwatch.Alarm] {
    const deadLetter = new cloudwatch.Alarm(this, 'DeadLetterQueueNotEmptyAlarm', {
      metric: this.metricDeadLetterQueueDepth(),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `Messages in the dead-letter queue of ${this.node.path}: jobs failed ${props.maxReceiveCount ?? WORK_QUEUE_DEFAULTS.maxReceiveCount} times. Inspect them, fix the cause, then redrive.`,
    });
    const age = new cloudwatch.Alarm(this, 'OldestMessageAgeAlarm', {
      metric: this.metricAgeOfOldestMessage(),
      threshold: this.acceptableLatency.toSeconds(),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: WORK_QUEUE_DEFAULTS.ageAlarmEvaluationPeriods,
      datapointsToAlarm: WORK_QUEUE_DEFAULTS.ageAlarmEvaluationPeriods,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `The oldest message of ${this.node.path} has waited longer than the acceptable latency (${this.acceptableLatency.toSeconds()} s): workers are too few, stuck or at their maximum.`,
    });
    return [deadLetter, age];
  }

  /** Lets `grantee` send messages (`sqs:SendMessage`, and `kms:GenerateDataKey`/`kms:Decrypt` on the key). */
  public grantSendMessages(grantee: iam.IGrantable): iam.Grant {
    return this.grant(grantee, ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'], ['kms:GenerateDataKey', 'kms:Decrypt']);
  }

  /** Lets `grantee` receive, delete and change the visibility of messages (and `kms:Decrypt` on the key). */
  public grantConsumeMessages(grantee: iam.IGrantable): iam.Grant {
    return this.grant(grantee, ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'], ['kms:Decrypt']);
  }

  /**
   * {@link IEndpointProvider}: a producer fleet may read the published queue endpoints (when
   * `parameterPrefix` was given) and send messages.
   */
  public grantConsumer(consumer: EndpointConsumer): void {
    this.endpoints?.grantConsumer(consumer);
    this.grantSendMessages(consumer);
  }

  /** Reads of the published endpoint parameters only (when `parameterPrefix` was given): what a worker fleet needs. */
  public grantReadEndpoints(consumer: EndpointConsumer): void {
    this.endpoints?.grantConsumer(consumer);
  }

  /** Messages available for retrieval (the backlog); maximum over 1 minute. */
  public metricBacklog(opts?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(1), ...opts });
  }

  /** Messages received but not yet deleted (being worked on); maximum over 1 minute. */
  public metricInFlight(opts?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.queue.metricApproximateNumberOfMessagesNotVisible({ statistic: 'Maximum', period: Duration.minutes(1), ...opts });
  }

  /** Age in seconds of the oldest message in the queue; maximum over 1 minute. */
  public metricAgeOfOldestMessage(opts?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: Duration.minutes(1), ...opts });
  }

  /** Messages in the dead-letter queue; maximum over 1 minute. */
  public metricDeadLetterQueueDepth(opts?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(1), ...opts });
  }

  private grant(grantee: iam.IGrantable, queueActions: string[], keyActions: string[]): iam.Grant {
    // Always on the principal's policy: adding to the queue or key policy from another stack would make
    // this (data) stack depend on the grantee's (app) stack, a cycle.
    const grant = iam.Grant.addToPrincipal({ grantee, actions: queueActions, resourceArns: [this.queue.queueArn] });
    if (!this.encryptionKey) return grant;
    return grant.combine(iam.Grant.addToPrincipal({ grantee, actions: keyActions, resourceArns: [this.encryptionKey.keyArn] }));
  }
}

function seconds(d: Duration | undefined): number | undefined {
  if (d === undefined) return undefined;
  return d.toSeconds({ integral: false });
}

/** Checks the props and derives the visibility timeout and the scaling target; throws on bad input. */
function validate(scope: Construct, props: WorkQueueProps, fifo: boolean, average: Duration, latency: Duration): { visibilityTimeout: Duration; targetBacklogPerInstance: number } {
  const fail = (message: string) => validationError(scope, message);
  const avg = seconds(average)!;
  const lat = seconds(latency)!;
  const max = seconds(props.maxProcessingTime);
  if (!(avg > 0)) throw fail(`WorkQueue: averageProcessingTime must be positive (got: ${avg} s)`);
  if (!(lat > 0)) throw fail(`WorkQueue: acceptableLatency must be positive (got: ${lat} s)`);
  if (lat < avg) {
    throw fail(`WorkQueue: acceptableLatency (${lat} s) must be at least averageProcessingTime (${avg} s): the scaling target, latency ÷ processing time, must be at least 1 message per worker (got: ${+(lat / avg).toFixed(3)})`);
  }
  if (max !== undefined && max < avg) throw fail(`WorkQueue: maxProcessingTime (${max} s) must not be below averageProcessingTime (${avg} s)`);

  const minVisibility = minimumVisibilityTimeoutSeconds(avg, max);
  const maxVisibility = WORK_QUEUE_DEFAULTS.maximumVisibilityTimeout.toSeconds();
  const rule = `${WORK_QUEUE_DEFAULTS.visibilityTimeoutFactor} × averageProcessingTime${max !== undefined ? ` and maxProcessingTime + ${WORK_QUEUE_DEFAULTS.visibilityTimeoutMargin.toSeconds()} s` : ''}`;
  if (minVisibility > maxVisibility) {
    throw fail(`WorkQueue: the processing time needs a visibility timeout of ${minVisibility} s (${rule}), above the SQS maximum of ${maxVisibility} s; split the job or extend the visibility while working`);
  }
  const visibility = seconds(props.visibilityTimeout) ?? defaultVisibilityTimeoutSeconds(avg, max);
  if (visibility < minVisibility) {
    throw fail(`WorkQueue: visibilityTimeout (${visibility} s) must be comfortably above the processing time: at least ${minVisibility} s (${rule}), else a message is delivered to a second worker while the first still works on it (got: ${visibility} s)`);
  }
  if (visibility > maxVisibility) throw fail(`WorkQueue: visibilityTimeout must be at most ${maxVisibility} s (got: ${visibility} s)`);

  const receives = props.maxReceiveCount;
  if (receives !== undefined && !Token.isUnresolved(receives) && (!Number.isInteger(receives) || receives < 1 || receives > 1000)) {
    throw fail(`WorkQueue: maxReceiveCount must be a whole number from 1 to 1000 (got: ${receives})`);
  }
  const retention = seconds(props.retentionPeriod);
  const dlqRetention = WORK_QUEUE_DEFAULTS.deadLetterRetentionPeriod.toSeconds();
  if (retention !== undefined && (retention < 60 || retention >= dlqRetention)) {
    throw fail(`WorkQueue: retentionPeriod must be from 60 s to less than the dead-letter queue's ${dlqRetention} s (14 days), so a failed message outlives its source (got: ${retention} s)`);
  }
  const wait = seconds(props.receiveMessageWaitTime);
  if (wait !== undefined && (wait < 0 || wait > 20)) throw fail(`WorkQueue: receiveMessageWaitTime must be 0-20 s (got: ${wait} s)`);

  if (props.deadLetterQueue && props.deadLetterQueue.fifo !== fifo) {
    throw fail(`WorkQueue: a ${fifo ? 'FIFO' : 'standard'} queue needs a ${fifo ? 'FIFO' : 'standard'} dead-letter queue (got: a ${props.deadLetterQueue.fifo ? 'FIFO' : 'standard'} deadLetterQueue)`);
  }
  if (props.contentBasedDeduplication && !fifo) throw fail('WorkQueue: contentBasedDeduplication needs a FIFO queue (got: fifo false)');
  if (props.encryption === WorkQueueEncryption.SQS_MANAGED && props.encryptionKey) {
    throw fail('WorkQueue: encryptionKey needs encryption KMS (got: encryption SQS_MANAGED)');
  }
  if (props.queueName !== undefined && !Token.isUnresolved(props.queueName) && !/^[A-Za-z0-9_-]{1,75}(\.fifo)?$/.test(props.queueName)) {
    throw fail(`WorkQueue: queueName must be 1-75 letters, digits, dashes and underscores (got: ${JSON.stringify(props.queueName)})`);
  }
  return { visibilityTimeout: Duration.seconds(visibility), targetBacklogPerInstance: lat / avg };
}
