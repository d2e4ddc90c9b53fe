/**
 * Jobs on a work queue: the producer side (send a body with the attributes a worker needs, {@link JOB_ATTRIBUTES})
 * and the worker side's view of a received message ({@link jobOf}).
 *
 * ```ts
 * const orders = new QueueProducer({ queueUrl: topology.current.queues.jobs.url, producer: 'web@1.4.2' });
 * const session = db.session(token);
 * await db.write('INSERT INTO orders …', [orderId, …], { session });
 * await orders.send({ orderId }, { type: 'order.placed', idempotencyKey: orderId, session });
 * ```
 *
 * - `type`: the job's kind, so one queue can carry several.
 * - `idempotencyKey`: the business key; the worker runs a job once per `<type>:<key>` (a producer's retry gets a new
 *   message id from SQS, never a new key). On a FIFO queue the deduplication id is by default a hash of that same
 *   `<type>:<key>` ({@link jobDeduplicationId}): `order.placed` and `order.shipped` of one order are two jobs.
 * - `session`: the producer's database session. Its token travels with the message, so the worker's
 *   read-your-writes reads see the rows the producer wrote before sending, even where the replica it reads from
 *   lags behind the writer.
 *
 * The AWS SDK is imported on the first send, never at module load.
 *
 * @module
 */

import type { MessageAttributeValue, SendMessageCommandInput, SQSClient } from '@aws-sdk/client-sqs';
import { createHash } from 'node:crypto';
import { JOB_ATTRIBUTES } from './contract';
import { DbSession } from './replication';
import { sqsClientConfig } from './sqs-client';
import type { QueueMessage } from './worker';

/** SQS allows at most this many message attributes on a message. */
export const MAX_MESSAGE_ATTRIBUTES = 10;

/** Options of {@link QueueProducer.send}. */
export interface SendJobOptions {
  /** The job's kind ({@link JOB_ATTRIBUTES.type}), e.g. `order.placed`. @default - none */
  readonly type?: string;
  /**
   * The job's business key ({@link JOB_ATTRIBUTES.idempotencyKey}), e.g. the order id.
   * @default - none: the worker cannot tell a producer's retry from a new job
   */
  readonly idempotencyKey?: string;
  /**
   * The producer's database session ({@link JOB_ATTRIBUTES.dbSession}): the worker reads what it wrote.
   * @default - none: the worker's reads may miss rows written just before the send
   */
  readonly session?: DbSession;
  /** FIFO queues: the message group (required there; messages of a group are handled in order). @default - none */
  readonly groupId?: string;
  /**
   * FIFO queues: the deduplication id (SQS drops a second message with the same id within 5 minutes).
   * @default - with an `idempotencyKey`, {@link jobDeduplicationId} of `type` and the key (the worker's unit of work,
   *   `<type>:<key>`); without one, none (the queue's content-based deduplication, if on)
   */
  readonly deduplicationId?: string;
  /** Standard queues: deliver after this many seconds (0-900). @default - the queue's delay */
  readonly delaySeconds?: number;
  /**
   * Further String attributes. Names follow SQS's rules and may not start with `s2m-` (the runtime's own).
   * @default - none
   */
  readonly attributes?: Readonly<Record<string, string>>;
}

/** A received message with the runtime's job attributes read ({@link jobOf}). */
export interface Job extends QueueMessage {
  /** {@link JOB_ATTRIBUTES.type}, if the producer set it. */
  readonly type: string | undefined;
  /** {@link JOB_ATTRIBUTES.idempotencyKey}, if the producer set it. */
  readonly idempotencyKey: string | undefined;
  /** The producer's database session (empty when it sent none): pass it to reads that must see its writes. */
  readonly session: DbSession;
  /** {@link JOB_ATTRIBUTES.producer}, if set. */
  readonly producer: string | undefined;
}

const RESERVED_PREFIX = 's2m-';

/**
 * The worker's unit of work of a job: `<type>:<idempotencyKey>` (`job` for a job without a type). `Runtime.runWorker`
 * runs a job once per unit, and a FIFO queue deduplicates per unit ({@link jobDeduplicationId}). Pure.
 *
 * @param type - the job's type, if any
 * @param idempotencyKey - the job's business key
 * @returns `<type>:<key>`
 */
export function jobWorkKey(type: string | undefined, idempotencyKey: string): string {
  return `${type ?? 'job'}:${idempotencyKey}`;
}

/**
 * The default FIFO deduplication id of a job: the SHA-256 (hex) of its unit of work ({@link jobWorkKey}). The id must
 * cover the type: with the key alone, `order.shipped` sent within 5 minutes of `order.placed` for the same order was
 * accepted by SQS and never delivered. A hash also keeps within SQS's rule for the id (at most 128 characters of
 * letters, digits and punctuation) whatever the key holds. Pure.
 *
 * @param type - the job's type, if any
 * @param idempotencyKey - the job's business key
 * @returns 64 hex characters
 */
export function jobDeduplicationId(type: string | undefined, idempotencyKey: string): string {
  return createHash('sha256').update(jobWorkKey(type, idempotencyKey)).digest('hex');
}

function invalid(what: string, got: unknown): never {
  throw new RangeError(`${what} (got: ${JSON.stringify(got)})`);
}

function checkAttributeName(name: string): void {
  // SQS: letters, digits, '_', '-', '.'; no leading or trailing '.', no '..', not 'AWS.'/'Amazon.' (any case); ≤ 256.
  if (!/^[A-Za-z0-9_.-]{1,256}$/.test(name) || name.startsWith('.') || name.endsWith('.') || name.includes('..') || /^(aws|amazon)\./i.test(name)) {
    invalid('QueueProducer.send: attributes: a name may hold letters, digits, "_", "-" and "." (not first, last or doubled), up to 256, and may not start with "AWS." or "Amazon."', name);
  }
  if (name.startsWith(RESERVED_PREFIX)) invalid(`QueueProducer.send: attributes: names starting with "${RESERVED_PREFIX}" are the runtime's (type, idempotencyKey, session are options)`, name);
}

/**
 * The message attributes of a job: the runtime's ({@link JOB_ATTRIBUTES}) and the caller's. Pure.
 *
 * @param options - the send options
 * @param producer - `<service>@<version>` of the sender, if known
 * @returns SQS `MessageAttributes`
 * @throws RangeError naming the option and the value when one is malformed, or when there are more than 10
 */
export function jobMessageAttributes(options: SendJobOptions, producer?: string): Record<string, MessageAttributeValue> {
  const out: Record<string, MessageAttributeValue> = {};
  const put = (name: string, value: string | undefined, option: string): void => {
    if (value === undefined) return;
    if (typeof value !== 'string' || value === '') invalid(`QueueProducer.send: ${option} must be a non-empty string`, value);
    out[name] = { DataType: 'String', StringValue: value };
  };
  put(JOB_ATTRIBUTES.type, options.type, 'type');
  put(JOB_ATTRIBUTES.idempotencyKey, options.idempotencyKey, 'idempotencyKey');
  if (options.session !== undefined) {
    if (!(options.session instanceof DbSession)) invalid('QueueProducer.send: session must be a DbSession (db.session(token))', typeof options.session);
    // An empty session (no write inside its window) carries nothing worth sending.
    if (options.session.hasWrites) put(JOB_ATTRIBUTES.dbSession, options.session.token(), 'session');
  }
  if (producer !== undefined && producer !== '') put(JOB_ATTRIBUTES.producer, producer, 'producer');
  for (const [name, value] of Object.entries(options.attributes ?? {})) {
    checkAttributeName(name);
    put(name, value, `attributes.${name}`);
  }
  const count = Object.keys(out).length;
  if (count > MAX_MESSAGE_ATTRIBUTES) {
    invalid(`QueueProducer.send: a message carries at most ${MAX_MESSAGE_ATTRIBUTES} attributes, the runtime's included`, Object.keys(out));
  }
  return out;
}

/**
 * The `SendMessage` input of a job. Pure.
 *
 * @param queueUrl - the queue (`.fifo` URLs are FIFO queues)
 * @param body - a string is sent as it is; anything else as JSON
 * @param options - see {@link SendJobOptions}
 * @param producer - `<service>@<version>` of the sender
 * @returns the input of `SendMessageCommand`
 * @throws RangeError naming the option and the value when one does not fit the queue
 */
export function jobMessageInput(queueUrl: string, body: unknown, options: SendJobOptions = {}, producer?: string): SendMessageCommandInput {
  let text: string;
  if (typeof body === 'string') {
    text = body;
  } else {
    const json = body === undefined ? undefined : JSON.stringify(body);
    if (json === undefined) invalid('QueueProducer.send: body must be a string or a value with a JSON form', typeof body);
    text = json;
  }
  if (text === '') invalid('QueueProducer.send: body must not be empty (SQS refuses empty messages)', text);
  const fifo = queueUrl.endsWith('.fifo');
  const attributes = jobMessageAttributes(options, producer);
  if (fifo) {
    if (options.groupId === undefined || options.groupId === '') invalid(`QueueProducer.send: groupId is required on a FIFO queue (${queueUrl})`, options.groupId);
    if (options.delaySeconds !== undefined) invalid('QueueProducer.send: delaySeconds is not allowed per message on a FIFO queue (set the queue\'s delay)', options.delaySeconds);
  } else {
    if (options.groupId !== undefined) invalid(`QueueProducer.send: groupId is for FIFO queues only (${queueUrl} is a standard queue)`, options.groupId);
    if (options.deduplicationId !== undefined) invalid(`QueueProducer.send: deduplicationId is for FIFO queues only (${queueUrl} is a standard queue)`, options.deduplicationId);
    const d = options.delaySeconds;
    if (d !== undefined && (!Number.isInteger(d) || d < 0 || d > 900)) invalid('QueueProducer.send: delaySeconds must be a whole number from 0 to 900', d);
  }
  const dedup = options.deduplicationId ?? (fifo && options.idempotencyKey !== undefined ? jobDeduplicationId(options.type, options.idempotencyKey) : undefined);
  return {
    QueueUrl: queueUrl,
    MessageBody: text,
    ...(Object.keys(attributes).length > 0 ? { MessageAttributes: attributes } : {}),
    ...(fifo ? { MessageGroupId: options.groupId } : {}),
    ...(dedup !== undefined ? { MessageDeduplicationId: dedup } : {}),
    ...(options.delaySeconds !== undefined ? { DelaySeconds: options.delaySeconds } : {}),
  };
}

/**
 * A received message with the runtime's job attributes read. Pure.
 *
 * @param message - what the {@link QueueWorker} handed the handler
 * @param sessionTtlMs - the database session window (the `sessionTtlMs` of the database) @default 600000
 * @returns the job
 */
export function jobOf(message: QueueMessage, sessionTtlMs = 600_000): Job {
  const a = message.attributes;
  return {
    ...message,
    type: a[JOB_ATTRIBUTES.type],
    idempotencyKey: a[JOB_ATTRIBUTES.idempotencyKey],
    session: DbSession.fromToken(a[JOB_ATTRIBUTES.dbSession], sessionTtlMs),
    producer: a[JOB_ATTRIBUTES.producer],
  };
}

/** Options of {@link QueueProducer}. */
export interface QueueProducerOptions {
  /** The queue URL, or a function returning the one in use (e.g. from the live topology: it follows changes). */
  readonly queueUrl: string | (() => string);
  /** `<service>@<version>` sent as {@link JOB_ATTRIBUTES.producer}. @default - none */
  readonly producer?: string;
  /** SQS client. @default - `new SQSClient(sqsClientConfig(region))` (a request deadline of 35 s), created on the first send */
  readonly sqs?: SQSClient;
  /** Region of the default client. @default - the SDK's default chain */
  readonly region?: string;
}

/** Counters of a {@link QueueProducer}. */
export interface QueueProducerStats {
  /** Messages sent. */
  readonly sent: number;
  /** Sends that failed (the error went to the caller). */
  readonly failed: number;
}

/** Sends jobs to one queue. See the module documentation. */
export class QueueProducer {
  private readonly options: QueueProducerOptions;
  private client: Promise<{ sqs: SQSClient; sdk: typeof import('@aws-sdk/client-sqs') }> | undefined;
  private owned: SQSClient | undefined;
  private readonly counters = { sent: 0, failed: 0 };

  /**
   * @param options - see {@link QueueProducerOptions}
   * @throws RangeError for a queue URL that is not one
   */
  public constructor(options: QueueProducerOptions) {
    if (typeof options.queueUrl !== 'function' && (typeof options.queueUrl !== 'string' || !/^https?:\/\/\S+$/.test(options.queueUrl))) {
      invalid('QueueProducer: queueUrl must be the queue URL (QUEUE_KEYS.url) or a function returning it', options.queueUrl);
    }
    this.options = options;
  }

  /** The queue URL in use. */
  public get queueUrl(): string {
    const u = this.options.queueUrl;
    return typeof u === 'function' ? u() : u;
  }

  /**
   * Sends one job.
   *
   * @param body - a string as it is, anything else as JSON
   * @param options - see {@link SendJobOptions}
   * @returns the message id SQS gave it
   * @throws RangeError for malformed options (nothing is sent); SQS's error when the send fails
   */
  public async send(body: unknown, options: SendJobOptions = {}): Promise<{ readonly messageId: string }> {
    const input = jobMessageInput(this.queueUrl, body, options, this.options.producer);
    const { sqs, sdk } = await this.sqs();
    try {
      const out = await sqs.send(new sdk.SendMessageCommand(input));
      this.counters.sent++;
      return { messageId: out.MessageId ?? '' };
    } catch (e) {
      this.counters.failed++;
      throw e;
    }
  }

  /** Counters since creation. */
  public stats(): QueueProducerStats {
    return { ...this.counters };
  }

  /** Destroys the SQS client this producer created (not one passed in). */
  public destroy(): void {
    this.owned?.destroy();
    this.owned = undefined;
    this.client = undefined;
  }

  private sqs(): Promise<{ sqs: SQSClient; sdk: typeof import('@aws-sdk/client-sqs') }> {
    this.client ??= import('@aws-sdk/client-sqs').then((sdk) => {
      let sqs = this.options.sqs;
      if (sqs === undefined) {
        sqs = new sdk.SQSClient(sqsClientConfig(this.options.region));
        this.owned = sqs;
      }
      return { sqs, sdk };
    });
    return this.client;
  }
}
