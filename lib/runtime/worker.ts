/**
 * An SQS queue worker for the worker fleets.
 *
 * ```ts
 * import { QueueWorker } from 'scale-to-millions/runtime';
 *
 * const worker = new QueueWorker({
 *   queueUrl: params.url,                 // QUEUE_KEYS.url under /<app>/queues/<queue>
 *   concurrency: 8,
 *   handler: async (message) => {
 *     const job = message.json<{ orderId: string }>();
 *     await fulfil(job.orderId, { signal: message.signal });
 *   },
 * });
 * await worker.run();                      // until SIGTERM/SIGINT, then drains; resolves with the counters
 * ```
 *
 * - **Long polling** (20 s), one receive at a time, never more messages held than `concurrency`.
 * - **Success deletes** the message, in `DeleteMessageBatch` calls of up to 10; entries that failed on the
 *   server's side are retried, a receipt handle that expired is reported (the message comes back: make handlers
 *   idempotent, see `Idempotency`).
 * - **Failure never deletes**: the message comes back after its visibility timeout (or after `retryDelaySeconds`)
 *   and, after the queue's `maxReceiveCount` receives, SQS moves it to the dead-letter queue. There is no
 *   in-process retry loop. A handler that throws a {@link RetryLaterError} defers the message instead (it is not
 *   ready yet, e.g. another worker holds its idempotency lease): it comes back after the error's `delaySeconds` (at
 *   most the visibility timeout), counted in `deferred`, not reported as a failure (the receive still counts towards
 *   `maxReceiveCount`).
 * - **Heartbeat**: a held message's visibility is extended to the full visibility timeout each time half of it
 *   has passed, so a long job is not handed to a second worker. (SQS caps a message's total visibility at 12 h.) The
 *   beats keep time whatever the previous call does: an extension without an answer within its deadline counts as
 *   failed, is reported, and is tried again a tenth of the timeout later.
 * - **Deadlines on every SQS call**: an extension, delete or hand-back call is abandoned after
 *   `min(visibility timeout / 4, 10 s)` (at least 1 s), a receive after its long poll plus 10 s: the SDK's client has no
 *   request deadline, and a call on a half-open connection would otherwise wait for as long as the socket lives,
 *   letting a job's visibility run out while it still runs (another worker then runs it too).
 * - **A deadline per job** (`maxProcessingSeconds`): past it the message's `signal` is aborted, its heartbeat stops and
 *   its slot is freed; the message is left to come back when its visibility timeout ends (a receive that counts towards
 *   the queue's `maxReceiveCount`), so a handler that hangs neither holds the worker and its scale-in protection for
 *   SQS's 12 h nor keeps its job from the dead-letter queue.
 * - **FIFO queues**: messages of one group run one after another in order, groups in parallel; when one fails,
 *   the group's later messages in the batch are handed back (visibility 0) so they run after it, in order.
 * - **Draining** (`stop()`, SIGTERM/SIGINT with `run()`): stop receiving, let handlers finish within
 *   `drainTimeoutMs`, then abort their `signal` and hand the rest back (visibility 0) so another worker takes them
 *   at once, flush deletes, lift scale-in protection. A second signal hands back at once.
 * - **In service first**: on an Auto Scaling instance nothing is received until the instance is `InService` (a
 *   launching lifecycle hook holds it in `Pending:Wait` while the application already runs, and protection cannot be
 *   set then). Off EC2, or in no group, it receives at once. See {@link AutoScalingInstanceLifecycle}.
 * - **Scale-in protection**: on an Auto Scaling instance the worker protects itself while it holds messages and
 *   lifts protection after an empty receive with nothing in flight (the fleet grants the call on its own group).
 *   If protecting fails (the instance is already leaving), the received messages are handed back and receiving
 *   pauses.
 *
 * @module
 */

import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import { exponentialBackoff, sleep } from './backoff';
import { sqsClientConfig } from './sqs-client';
import { SqsBatcher } from './worker-batch';
import { AutoScalingInstanceLifecycle, type InstanceLifecycle } from './worker-lifecycle';
import { AutoScalingInstanceProtection, readInstanceIdentity, type InstanceMetadataOptions, type InstanceProtection } from './worker-protection';

/** A received message, as the handler sees it. */
export interface QueueMessage {
  /** SQS message id (the same on every delivery of this message). */
  readonly id: string;
  /** The body. */
  readonly body: string;
  /** How many times SQS delivered it (1 the first time). */
  readonly receiveCount: number;
  /** FIFO: the message group. */
  readonly groupId?: string;
  /** FIFO: the deduplication id. */
  readonly deduplicationId?: string;
  /** When the producer sent it. */
  readonly sentAt?: Date;
  /** String (and number) message attributes by name. */
  readonly attributes: Readonly<Record<string, string>>;
  /** Aborted when the worker gives up on this message (drain deadline): stop, it is handed to another worker. */
  readonly signal: AbortSignal;
  /** The message as SQS returned it. */
  readonly raw: Message;
  /**
   * The body parsed as JSON.
   * @throws SyntaxError for a body that is not JSON (the message then fails, and ends in the dead-letter queue)
   */
  json<T = unknown>(): T;
}

/**
 * Thrown by a handler: the message cannot be worked on yet (another worker holds it, a resource is not ready), which
 * is not a failure. The worker makes it visible again after `delaySeconds`, at most the visibility timeout (a deferral
 * is never slower than a failure; `undefined` leaves the visibility timeout), counts it in `stats().deferred` and
 * reports nothing. The receive still counts towards the queue's `maxReceiveCount`, like any other.
 */
export class RetryLaterError extends Error {
  /** When the message should come back (s). */
  public readonly delaySeconds: number | undefined;
  /**
   * @param message - why
   * @param options - `delaySeconds` (default: the visibility timeout) and the `cause`
   */
  public constructor(message: string, options: { readonly delaySeconds?: number; readonly cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RetryLaterError';
    this.delaySeconds = options.delaySeconds;
  }
}

/** Defaults of {@link QueueWorkerOptions}. */
export const QUEUE_WORKER_DEFAULTS = {
  concurrency: 10,
  waitTimeSeconds: 20,
  drainTimeoutMs: 25_000,
  protectionRetryMs: 20_000,
  inServicePollMs: 5_000,
  inServiceReadFailures: 3,
  deleteBatchDelayMs: 10,
  /** Longest deadline of an extension, delete or hand-back call (ms); a quarter of the visibility timeout when less. */
  maxCallTimeoutMs: 10_000,
  /** Shortest deadline of an extension, delete or hand-back call (ms). */
  minCallTimeoutMs: 1_000,
  /** After a FIFO message failed, receives take one message for its retry delay (or visibility timeout), one visibility timeout more, and this. */
  fifoSingleReceiveMarginMs: 5_000,
  /** A receive's deadline is its long poll plus this (ms). */
  receiveTimeoutMarginMs: 10_000,
  /** The default `maxProcessingSeconds` is at least this (1 h)... */
  maxProcessingSecondsFloor: 3_600,
  /** ... and at least this many visibility timeouts... */
  maxProcessingVisibilityTimeouts: 4,
  /** ... and at most SQS's cap on a message's total visibility (12 h). */
  maxProcessingSecondsCap: 43_200,
  signals: ['SIGTERM', 'SIGINT'] as readonly NodeJS.Signals[],
} as const;

/** Options of {@link QueueWorker}. */
export interface QueueWorkerOptions {
  /** The queue (`QUEUE_KEYS.url`). */
  readonly queueUrl: string;
  /** Works on one message; resolving deletes it, throwing leaves it to a retry and eventually the dead-letter queue. */
  readonly handler: (message: QueueMessage) => void | Promise<void>;
  /** Most messages held (being worked on, or waiting behind their FIFO group) at once. @default 10 */
  readonly concurrency?: number;
  /** Long-poll wait of each receive (0 to 20). @default 20 */
  readonly waitTimeSeconds?: number;
  /**
   * Visibility timeout of received messages, also the heartbeat's extension.
   * @default - the queue's `VisibilityTimeout` (read at start)
   */
  readonly visibilityTimeoutSeconds?: number;
  /** Extend held messages' visibility while they are worked on. @default true */
  readonly heartbeat?: boolean;
  /**
   * Longest a handler may work on one message (seconds, up to 43200). Past it the message's `signal` is aborted, its
   * heartbeat stops and its slot is freed (scale-in protection is then lifted at the next empty receive, as usual);
   * the message is neither deleted nor handed back: it becomes visible when its visibility timeout ends, and that
   * receive counts towards the queue's `maxReceiveCount`, so a job that always hangs ends in the dead-letter queue.
   * Counted in `stats().overruns` and reported to `onError`. A handler that ignores its `signal` keeps running in
   * the background (nothing can stop it) and its result is ignored: honour the signal.
   * @default - the larger of 1 hour and 4 visibility timeouts, at most 12 h. Without a deadline the heartbeat kept a
   *   hung handler's message invisible up to SQS's 12 h cap: its slot and the instance's scale-in protection held all
   *   that time, the job never reached the dead-letter queue, and no alarm saw it (the age of the oldest message
   *   ignores messages in flight). An hour is far above what a queue job should take (the `WorkQueue` sizes the
   *   visibility timeout above the declared longest job, and the heartbeat covers the ones that run over), while 4
   *   visibility timeouts keep room on queues sized for long jobs.
   */
  readonly maxProcessingSeconds?: number;
  /**
   * After a failure, make the message visible again after this many seconds (e.g. an exponential backoff on
   * `receiveCount`: `exponentialBackoff({ base: 10, max: 900 })`); `undefined` leaves the visibility timeout.
   * @default - the message reappears when its visibility timeout ends
   */
  readonly retryDelaySeconds?: (receiveCount: number, error: unknown) => number | undefined;
  /** How long a drain lets handlers finish before handing their messages back. @default 25000 */
  readonly drainTimeoutMs?: number;
  /**
   * Scale-in protection while busy: `auto` finds the instance's Auto Scaling group in instance metadata (and runs
   * without protection, saying so once, when there is none); `false` turns it off; or your own implementation.
   * @default 'auto'
   */
  readonly scaleInProtection?: 'auto' | false | InstanceProtection;
  /** Pause of receiving after protection could not be set. @default 20000 */
  readonly protectionRetryMs?: number;
  /**
   * Receive nothing until this instance is `InService` in its Auto Scaling group: `auto` reads the target
   * lifecycle state from instance metadata and, once that is `InService`, the current state from
   * `DescribeAutoScalingInstances` (a launching hook's `Pending:Wait` already has the target `InService`); off EC2,
   * or in no group, the worker receives at once. When the state cannot be read 3 times in a row (no permission,
   * no network), it says so and receives. `false` receives at once; or your own implementation.
   * @default 'auto'
   */
  readonly waitForInService?: 'auto' | false | InstanceLifecycle;
  /** How often the lifecycle state is read while waiting for `InService`. @default 5000 */
  readonly inServicePollMs?: number;
  /** Instance metadata endpoint and time limit, for the `auto` protection and wait. @default - see `InstanceMetadataOptions` */
  readonly instanceMetadata?: InstanceMetadataOptions;
  /** How long a delete may wait for others to share its batch call. @default 10 */
  readonly deleteBatchDelayMs?: number;
  /**
   * SQS client. The worker bounds each of its calls itself (see the module documentation), whatever the client's
   * own settings.
   * @default - `new SQSClient(sqsClientConfig(region))` (a request deadline of 35 s), created at start and destroyed
   *   when `run()` ends
   */
  readonly sqs?: SQSClient;
  /** Region of the default client. @default - the SDK's default chain */
  readonly region?: string;
  /**
   * Every error the worker absorbs (handler failures, SQS errors, protection errors), with what it was doing.
   * @default - one `console.error` line each
   */
  readonly onError?: (error: Error, context: { readonly operation: string; readonly messageId?: string }) => void;
}

/** Counters of a {@link QueueWorker}. */
export interface QueueWorkerStats {
  /** Messages received. */
  readonly received: number;
  /** Handler calls that resolved. */
  readonly succeeded: number;
  /** Handler calls that threw (the message was not deleted). */
  readonly failed: number;
  /** Handler calls given up at `maxProcessingSeconds` (signal aborted; the message left to come back). */
  readonly overruns: number;
  /** Handler calls that threw a {@link RetryLaterError} (not failures: the message comes back after its delay). */
  readonly deferred: number;
  /** Messages deleted. */
  readonly deleted: number;
  /** Deletes that failed for good (the message will be delivered again). */
  readonly deleteFailures: number;
  /** `DeleteMessageBatch` calls made (up to 10 deletes each). */
  readonly deleteCalls: number;
  /** Messages handed back (visibility 0): drain, failed protection, or behind a failed FIFO message. */
  readonly handedBack: number;
  /** Visibility extensions by the heartbeat. */
  readonly extended: number;
  /** Extensions that failed (refused, or no answer within the call's deadline). */
  readonly extendFailures: number;
  /** Receive calls that failed (an error, or no answer within the long poll plus 10 s). */
  readonly receiveErrors: number;
  /** Receive calls that returned nothing. */
  readonly emptyReceives: number;
  /** Messages held right now. */
  readonly inFlight: number;
  /** Most messages held at once. */
  readonly maxInFlight: number;
  /** Scale-in protection set / lifted / failed calls. */
  readonly protection: { readonly set: number; readonly lifted: number; readonly failures: number };
}

type State = 'new' | 'running' | 'draining' | 'stopped';

interface Held {
  readonly message: Message;
  readonly id: string;
  readonly receiptHandle: string;
  readonly receiveCount: number;
  readonly groupId: string | undefined;
  readonly abort: AbortController;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** When the pending heartbeat timer fires (ms since the epoch). */
  beatAt: number;
  /** The `maxProcessingSeconds` timer of the running handler (cleared on release: a drained worker keeps none). */
  deadline: ReturnType<typeof setTimeout> | undefined;
  started: boolean;
  /** Ownership given up (handed back): a late result must not delete it. */
  released: boolean;
}

/** An SQS worker. See the module documentation. */
export class QueueWorker {
  private readonly options: QueueWorkerOptions;
  private readonly concurrency: number;
  private readonly waitTimeSeconds: number;
  private readonly drainTimeoutMs: number;
  private readonly protectionRetryMs: number;
  private readonly inServicePollMs: number;
  private readonly onError: NonNullable<QueueWorkerOptions['onError']>;
  private state: State = 'new';
  private sqs: SQSClient | undefined;
  private ownsSqs = false;
  private sdk: typeof import('@aws-sdk/client-sqs') | undefined;
  private visibilityTimeout = 30;
  /** The per-job deadline (ms), set at start. */
  private maxProcessingMs = 0;
  /** Deadline of each extension, delete and hand-back call (ms). */
  private callTimeoutMs: number = QUEUE_WORKER_DEFAULTS.maxCallTimeoutMs;
  private fifo = false;
  private protection: InstanceProtection | undefined;
  private lifecycle: InstanceLifecycle | undefined;
  /**
   * Whether this process last protected its instance from scale-in; unknown (undefined) until it first sets it: a
   * worker restarted after a crash while busy finds its instance still protected, and its first idle poll lifts it.
   */
  private protectedNow: boolean | undefined;
  /** On a FIFO queue, receives take one message until then (epoch ms): a message failed (see the receive). */
  private singleReceiveUntil = 0;
  /** A protection call was abandoned at its deadline: it may have landed or not. */
  private protectionUnknown = false;
  /** An abandoned protection call that has not settled yet (it may still land). */
  private abandonedProtection: Promise<void> | undefined;
  private pausedUntil = 0;
  private deletes: SqsBatcher | undefined;
  private visibility: SqsBatcher | undefined;
  private readonly held = new Set<Held>();
  private readonly groups = new Map<string, Held[]>();
  private readonly stopReceiving = new AbortController();
  private slotFreed: (() => void) | undefined;
  private drained: (() => void) | undefined;
  private deadlineNow: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private stopping: Promise<QueueWorkerStats> | undefined;
  private stoppedResolve!: (stats: QueueWorkerStats) => void;
  private readonly stopped = new Promise<QueueWorkerStats>((resolve) => { this.stoppedResolve = resolve; });
  private readonly receiveBackoff = exponentialBackoff({ base: 200, max: 20_000 });
  private readonly counters = {
    received: 0, succeeded: 0, failed: 0, overruns: 0, deferred: 0, deleted: 0, deleteFailures: 0, handedBack: 0, extended: 0, extendFailures: 0,
    receiveErrors: 0, emptyReceives: 0, maxInFlight: 0, protection: { set: 0, lifted: 0, failures: 0 },
  };

  /**
   * @param options - see {@link QueueWorkerOptions}
   * @throws RangeError naming the option and the value when one is invalid
   */
  public constructor(options: QueueWorkerOptions) {
    const fail = (what: string, got: unknown): never => {
      throw new RangeError(`QueueWorker: ${what} (got: ${typeof got === 'function' ? 'a function' : JSON.stringify(got)})`);
    };
    if (typeof options.queueUrl !== 'string' || !/^https?:\/\//.test(options.queueUrl)) fail('queueUrl must be the queue URL (QUEUE_KEYS.url)', options.queueUrl);
    if (typeof options.handler !== 'function') fail('handler must be a function', options.handler);
    const concurrency = options.concurrency ?? QUEUE_WORKER_DEFAULTS.concurrency;
    if (!Number.isInteger(concurrency) || concurrency < 1) fail('concurrency must be a whole number >= 1', options.concurrency);
    const wait = options.waitTimeSeconds ?? QUEUE_WORKER_DEFAULTS.waitTimeSeconds;
    if (!Number.isInteger(wait) || wait < 0 || wait > 20) fail('waitTimeSeconds must be a whole number from 0 to 20', options.waitTimeSeconds);
    const vis = options.visibilityTimeoutSeconds;
    if (vis !== undefined && (!Number.isInteger(vis) || vis < 1 || vis > 43_200)) fail('visibilityTimeoutSeconds must be a whole number from 1 to 43200', vis);
    const maxProcessing = options.maxProcessingSeconds;
    if (maxProcessing !== undefined && (typeof maxProcessing !== 'number' || !Number.isFinite(maxProcessing) || maxProcessing <= 0 || maxProcessing > 43_200)) {
      fail('maxProcessingSeconds must be a number above 0 and at most 43200', maxProcessing);
    }
    const drain = options.drainTimeoutMs ?? QUEUE_WORKER_DEFAULTS.drainTimeoutMs;
    if (!Number.isFinite(drain) || drain < 0) fail('drainTimeoutMs must be a number >= 0', options.drainTimeoutMs);
    const retry = options.protectionRetryMs ?? QUEUE_WORKER_DEFAULTS.protectionRetryMs;
    if (!Number.isFinite(retry) || retry < 0) fail('protectionRetryMs must be a number >= 0', options.protectionRetryMs);
    const sip = options.scaleInProtection ?? 'auto';
    if (sip !== 'auto' && sip !== false && (typeof sip !== 'object' || typeof sip.setProtected !== 'function')) fail("scaleInProtection must be 'auto', false or an InstanceProtection", sip);
    const wis = options.waitForInService ?? 'auto';
    if (wis !== 'auto' && wis !== false && (typeof wis !== 'object' || typeof wis.isInService !== 'function')) fail("waitForInService must be 'auto', false or an InstanceLifecycle", wis);
    const poll = options.inServicePollMs ?? QUEUE_WORKER_DEFAULTS.inServicePollMs;
    if (!Number.isFinite(poll) || poll < 100) fail('inServicePollMs must be a number >= 100', options.inServicePollMs);
    this.options = options;
    this.concurrency = concurrency;
    this.waitTimeSeconds = wait;
    this.drainTimeoutMs = drain;
    this.protectionRetryMs = retry;
    this.inServicePollMs = poll;
    this.onError = options.onError ?? ((error, context) => {
      console.error(`[QueueWorker] ${context.operation}${context.messageId ? ` (message ${context.messageId})` : ''}: ${error.message}`);
    });
  }

  /**
   * Starts receiving (returns once the queue's attributes are read and polling has begun).
   *
   * @throws when the queue's attributes cannot be read (wrong URL, no permission)
   */
  public async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`QueueWorker.start: the worker is ${this.state}; create a new one`);
    this.state = 'running';
    try {
      await this.init();
    } catch (e) {
      this.state = 'stopped';
      this.stoppedResolve(this.stats());
      throw e;
    }
    this.loop = this.receiveLoop();
  }

  /**
   * Starts, and drains on SIGTERM or SIGINT (a second signal hands back at once).
   *
   * @param options - `signals` to drain on (default SIGTERM, SIGINT)
   * @returns the counters once stopped
   */
  public async run(options: { readonly signals?: readonly NodeJS.Signals[] } = {}): Promise<QueueWorkerStats> {
    const signals = options.signals ?? QUEUE_WORKER_DEFAULTS.signals;
    const onSignal = (): void => {
      if (this.stopping) this.deadlineNow?.();
      else void this.stop();
    };
    for (const s of signals) process.on(s, onSignal);
    try {
      await this.start();
      return await this.stopped;
    } finally {
      for (const s of signals) process.off(s, onSignal);
      if (this.ownsSqs) this.sqs?.destroy();
    }
  }

  /**
   * Drains: stops receiving, waits for handlers up to `timeoutMs`, hands back what is left, flushes deletes and
   * lifts scale-in protection. Idempotent; a call with `timeoutMs: 0` during a drain cuts it short.
   *
   * @param options - `timeoutMs` (default `drainTimeoutMs`)
   * @returns the counters once stopped
   */
  public stop(options: { readonly timeoutMs?: number } = {}): Promise<QueueWorkerStats> {
    if (this.stopping) {
      if (options.timeoutMs === 0) this.deadlineNow?.();
      return this.stopping;
    }
    if (this.state === 'new' || this.state === 'stopped') {
      this.state = 'stopped';
      this.stoppedResolve(this.stats());
      return this.stopped;
    }
    this.state = 'draining';
    this.stopReceiving.abort();
    // The receive loop may be waiting for a free slot.
    const waiting = this.slotFreed;
    this.slotFreed = undefined;
    waiting?.();
    this.stopping = this.drain(options.timeoutMs ?? this.drainTimeoutMs).then((stats) => {
      this.state = 'stopped';
      this.stoppedResolve(stats);
      return stats;
    });
    return this.stopping;
  }

  /** Counters so far. */
  public stats(): QueueWorkerStats {
    return { ...this.counters, deleteCalls: this.deletes?.batchCalls ?? 0, inFlight: this.held.size, protection: { ...this.counters.protection } };
  }

  /** Reports an absorbed error; a reporter that throws must not break the worker. */
  private report(error: Error, context: { readonly operation: string; readonly messageId?: string }): void {
    try {
      this.onError(error, context);
    } catch {
      // ignored: logging is not allowed to stop message processing
    }
  }

  private async init(): Promise<void> {
    this.sdk = await import('@aws-sdk/client-sqs');
    const { sdk } = this;
    if (this.options.sqs) {
      this.sqs = this.options.sqs;
    } else {
      this.sqs = new sdk.SQSClient(sqsClientConfig(this.options.region));
      this.ownsSqs = true;
    }
    const sqs = this.sqs;
    const attrs = (await sqs.send(new sdk.GetQueueAttributesCommand({ QueueUrl: this.options.queueUrl, AttributeNames: ['VisibilityTimeout', 'RedrivePolicy', 'FifoQueue'] }))).Attributes ?? {};
    this.visibilityTimeout = this.options.visibilityTimeoutSeconds ?? Number(attrs.VisibilityTimeout ?? 30);
    this.fifo = attrs.FifoQueue === 'true';
    const d = QUEUE_WORKER_DEFAULTS;
    this.maxProcessingMs = Math.round(1_000 * (this.options.maxProcessingSeconds
      ?? Math.min(d.maxProcessingSecondsCap, Math.max(d.maxProcessingSecondsFloor, d.maxProcessingVisibilityTimeouts * this.visibilityTimeout))));
    // A quarter of the visibility timeout: a heartbeat that times out leaves time for its retry (a tenth later).
    this.callTimeoutMs = Math.max(QUEUE_WORKER_DEFAULTS.minCallTimeoutMs, Math.min(QUEUE_WORKER_DEFAULTS.maxCallTimeoutMs, this.visibilityTimeout * 250));
    if (!attrs.RedrivePolicy) {
      this.report(new Error(`queue ${this.options.queueUrl} has no redrive policy: a message that always fails is received again and again until it expires (the WorkQueue construct always sets one)`), { operation: 'start' });
    }
    const queueUrl = this.options.queueUrl;
    this.deletes = new SqsBatcher({
      operation: 'DeleteMessageBatch',
      maxDelayMs: this.options.deleteBatchDelayMs ?? QUEUE_WORKER_DEFAULTS.deleteBatchDelayMs,
      callTimeoutMs: this.callTimeoutMs,
      send: (entries, signal) => sqs.send(new sdk.DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries as never }), { abortSignal: signal }),
    });
    this.visibility = new SqsBatcher({
      operation: 'ChangeMessageVisibilityBatch',
      maxDelayMs: 0,
      callTimeoutMs: this.callTimeoutMs,
      send: (entries, signal) => sqs.send(new sdk.ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: entries as never }), { abortSignal: signal }),
    });
    const sip = this.options.scaleInProtection ?? 'auto';
    const wis = this.options.waitForInService ?? 'auto';
    // One metadata read for both (off EC2 it costs the metadata time limit once).
    const identity = sip === 'auto' || wis === 'auto' ? await readInstanceIdentity(this.options.instanceMetadata) : undefined;
    if (sip === 'auto') {
      if (identity?.autoScalingGroupName) {
        this.protection = new AutoScalingInstanceProtection({ instanceId: identity.instanceId, autoScalingGroupName: identity.autoScalingGroupName, region: identity.region });
      } else {
        this.report(new Error('no Auto Scaling group found in instance metadata (not on EC2, or metadata tags off): running without scale-in protection'), { operation: 'start' });
      }
    } else if (sip !== false) {
      this.protection = sip;
    }
    if (wis === 'auto') {
      // Not on EC2: nothing to wait for.
      if (identity) {
        this.lifecycle = new AutoScalingInstanceLifecycle({ instanceId: identity.instanceId, region: identity.region, ...(this.options.instanceMetadata ? { metadata: this.options.instanceMetadata } : {}) });
      }
    } else if (wis !== false) {
      this.lifecycle = wis;
    }
  }

  /**
   * Waits until the instance is in service (see `waitForInService`); returns at once when the worker stops. Reading
   * the state is not allowed to hold the worker forever: after a few failures in a row it receives anyway (and a
   * refused protection then hands the messages back, as before).
   */
  private async waitUntilInService(): Promise<void> {
    const lifecycle = this.lifecycle;
    if (!lifecycle) return;
    const { signal } = this.stopReceiving;
    let failures = 0;
    try {
      while (this.state === 'running') {
        try {
          if (await lifecycle.isInService(signal)) return;
          failures = 0;
        } catch (e) {
          if (signal.aborted) return;
          this.report(asError(e), { operation: 'lifecycle state (waiting for InService)' });
          if (++failures >= QUEUE_WORKER_DEFAULTS.inServiceReadFailures) {
            this.report(new Error(`the instance's lifecycle state could not be read ${failures} times in a row: receiving without waiting for InService`), { operation: 'lifecycle state (waiting for InService)' });
            return;
          }
        }
        await sleep(this.inServicePollMs, signal);
      }
    } finally {
      if (lifecycle instanceof AutoScalingInstanceLifecycle && lifecycle !== this.options.waitForInService) lifecycle.destroy();
    }
  }

  private async receiveLoop(): Promise<void> {
    const { sdk } = this;
    const sqs = this.sqs!;
    let failures = 0;
    await this.waitUntilInService();
    while (this.state === 'running') {
      if (this.held.size >= this.concurrency) {
        await new Promise<void>((resolve) => { this.slotFreed = resolve; });
        continue;
      }
      const pause = this.pausedUntil - Date.now();
      if (pause > 0) {
        await sleep(pause, this.stopReceiving.signal);
        continue;
      }
      let messages: Message[];
      // A stalled long poll (a half-open connection) must not idle the worker for as long as the socket lives.
      const receiveTimeoutMs = this.waitTimeSeconds * 1_000 + QUEUE_WORKER_DEFAULTS.receiveTimeoutMarginMs;
      // One controller per receive, aborted by the worker's stop or the deadline, its listener and timer removed after
      // the call. Not AbortSignal.any([stop, timeout]): on Node 20 the long-lived stop signal keeps every signal
      // derived from it (nodejs/node#55351), about 60 bytes per receive, never freed: 100 MB a day at 20 receives/s.
      const receive = new AbortController();
      let timedOut = false;
      let receivedAt: number;
      const onStop = (): void => receive.abort(this.stopReceiving.signal.reason);
      this.stopReceiving.signal.addEventListener('abort', onStop, { once: true });
      if (this.stopReceiving.signal.aborted) onStop();
      const timer = setTimeout(() => {
        timedOut = true;
        receive.abort(new Error('ReceiveMessage deadline'));
      }, receiveTimeoutMs);
      try {
        const out = await sqs.send(new sdk!.ReceiveMessageCommand({
          QueueUrl: this.options.queueUrl,
          // On a FIFO queue after a failure, one message a receive: SQS returns a group's next messages with its head,
          // and each receive counts towards their maxReceiveCount too, so a head that keeps failing took up to 9 healthy
          // messages of its group to the dead-letter queue with it.
          MaxNumberOfMessages: this.fifo && Date.now() < this.singleReceiveUntil ? 1 : Math.min(10, this.concurrency - this.held.size),
          WaitTimeSeconds: this.waitTimeSeconds,
          ...(this.options.visibilityTimeoutSeconds !== undefined ? { VisibilityTimeout: this.options.visibilityTimeoutSeconds } : {}),
          MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp', 'MessageGroupId', 'MessageDeduplicationId'],
          MessageAttributeNames: ['All'],
        }), { abortSignal: receive.signal });
        messages = out.Messages ?? [];
        receivedAt = Date.now();
        failures = 0;
      } catch (e) {
        if (this.stopReceiving.signal.aborted) break;
        this.counters.receiveErrors++;
        this.report(timedOut ? new Error(`no answer within ${receiveTimeoutMs} ms (a ${this.waitTimeSeconds} s long poll): the call was abandoned`) : asError(e), { operation: 'ReceiveMessage' });
        await sleep(this.receiveBackoff(++failures), this.stopReceiving.signal);
        continue;
      } finally {
        clearTimeout(timer);
        this.stopReceiving.signal.removeEventListener('abort', onStop);
      }
      if (messages.length === 0) {
        this.counters.emptyReceives++;
        if (this.held.size === 0) await this.setProtected(false);
        continue;
      }
      this.counters.received += messages.length;
      if (this.state !== 'running' || !(await this.setProtected(true))) {
        // Draining, or the instance is leaving the group: another worker takes them at once.
        await Promise.all(messages.map((m) => this.handBack(m.ReceiptHandle!, m.MessageId)));
        if (this.state === 'running') this.pausedUntil = Date.now() + this.protectionRetryMs;
        continue;
      }
      this.accept(messages, receivedAt);
    }
  }

  /** Starts the messages of a receive; `receivedAt` (when its answer came) times their first heartbeat. */
  private accept(messages: Message[], receivedAt: number): void {
    const batchGroups: Held[][] = [];
    for (const message of messages) {
      const attributes = message.Attributes ?? {};
      const h: Held = {
        message,
        id: message.MessageId ?? '',
        receiptHandle: message.ReceiptHandle!,
        receiveCount: Number(attributes.ApproximateReceiveCount ?? 1),
        groupId: this.fifo ? attributes.MessageGroupId : undefined,
        abort: new AbortController(),
        timer: undefined,
        beatAt: 0,
        deadline: undefined,
        started: false,
        released: false,
      };
      this.held.add(h);
      // Half a visibility timeout after the receive, not after the protection call the messages waited on.
      this.scheduleHeartbeat(h, Math.max(0, receivedAt + this.heartbeatIntervalMs() - Date.now()));
      if (h.groupId === undefined) {
        void this.process(h);
        continue;
      }
      const queue = this.groups.get(h.groupId);
      if (queue) {
        queue.push(h);
      } else {
        const fresh = [h];
        this.groups.set(h.groupId, fresh);
        batchGroups.push(fresh);
      }
    }
    this.counters.maxInFlight = Math.max(this.counters.maxInFlight, this.held.size);
    for (const group of batchGroups) void this.processGroup(group);
  }

  /** Runs a FIFO group's messages in order; after a failure, hands the rest back so they follow it. */
  private async processGroup(queue: Held[]): Promise<void> {
    const groupId = queue[0]!.groupId!;
    while (queue.length > 0) {
      const h = queue.shift()!;
      if (h.released) continue;
      if (this.state !== 'running' && !h.started) {
        await this.handBackHeld(h);
        continue;
      }
      // A failure ends this run of the group at once, before its retry delay is set (see process): a receive from then
      // on starts a run of its own. The retry delay takes effect before its answer comes back, so the next receive may
      // return the failed message again meanwhile; put in this run, it was handed back with the batch's rest without
      // running, a receive that counted towards maxReceiveCount (a poison message reached the dead-letter queue after
      // fewer attempts than that).
      const ok = await this.process(h, () => { if (this.groups.get(groupId) === queue) this.groups.delete(groupId); });
      if (!ok) {
        for (const rest of queue.splice(0)) await this.handBackHeld(rest);
      }
    }
    if (this.groups.get(groupId) === queue) this.groups.delete(groupId);
  }

  /**
   * Runs the handler on one message, within `maxProcessingSeconds`; resolves whether it succeeded. `onFailed` is called
   * when the handler failed, before the retry delay is set.
   */
  private async process(h: Held, onFailed?: () => void): Promise<boolean> {
    h.started = true;
    let error: unknown;
    let ok = false;
    let overrun = false;
    const deadline = new Promise<'overrun'>((resolve) => { h.deadline = setTimeout(() => resolve('overrun'), this.maxProcessingMs); });
    // The handler's promise stays subscribed (by the race) when the deadline wins: a late rejection is not unhandled.
    const run = (async (): Promise<void> => { await this.options.handler(toWorkerMessage(h)); })();
    try {
      overrun = (await Promise.race([run, deadline])) === 'overrun';
      ok = !overrun;
    } catch (e) {
      error = e;
    } finally {
      clearTimeout(h.deadline);
    }
    if (h.released) return ok;
    if (overrun) {
      this.counters.overruns++;
      // Not handed back: the handler may still be running (it ignores its signal); the message comes back when its
      // visibility timeout ends, a receive that counts towards maxReceiveCount.
      this.release(h);
      const seconds = this.maxProcessingMs / 1_000;
      h.abort.abort(new Error(`the job ran past maxProcessingSeconds (${seconds} s)`));
      this.report(new Error(`the handler ran past maxProcessingSeconds (${seconds} s): its signal is aborted, its heartbeat stopped and its slot freed; the message comes back when its visibility timeout ends (this was receive ${h.receiveCount})`), { operation: 'handler (maxProcessingSeconds)', messageId: h.id });
      return false;
    }
    if (ok) {
      this.counters.succeeded++;
      try {
        await this.deletes!.add({ ReceiptHandle: h.receiptHandle });
        this.counters.deleted++;
      } catch (e) {
        this.counters.deleteFailures++;
        this.report(asError(e), { operation: 'DeleteMessage', messageId: h.id });
      }
      this.release(h);
      return true;
    }
    let delay: number | undefined;
    if (error instanceof RetryLaterError) {
      this.counters.deferred++;
      if (error.delaySeconds !== undefined) delay = Math.min(error.delaySeconds, this.visibilityTimeout);
    } else {
      this.counters.failed++;
      this.report(asError(error), { operation: `handler (receive ${h.receiveCount})`, messageId: h.id });
      try {
        delay = this.options.retryDelaySeconds?.(h.receiveCount, error);
      } catch (e) {
        this.report(asError(e), { operation: 'retryDelaySeconds', messageId: h.id });
      }
    }
    this.release(h);
    onFailed?.();
    if (this.fifo) {
      // Until the message's next attempt was received and has had a visibility timeout to run (see the receive).
      const retryIn = delay !== undefined && Number.isFinite(delay) ? Math.max(0, delay) : this.visibilityTimeout;
      this.singleReceiveUntil = Math.max(this.singleReceiveUntil, Date.now() + (retryIn + this.visibilityTimeout) * 1_000 + QUEUE_WORKER_DEFAULTS.fifoSingleReceiveMarginMs);
    }
    if (delay !== undefined && Number.isFinite(delay)) {
      await this.visibility!.add({ ReceiptHandle: h.receiptHandle, VisibilityTimeout: Math.max(0, Math.min(43_200, Math.round(delay))) })
        .catch((e: unknown) => this.report(asError(e), { operation: 'ChangeMessageVisibility (retry delay)', messageId: h.id }));
    }
    return false;
  }

  /**
   * Extends the message's visibility every half visibility timeout while it is held. Each beat is scheduled when the
   * previous one starts, not when its call settles, and each extension has a deadline (`callTimeoutMs`, at most the
   * interval): a call that hangs (a half-open connection) would otherwise stop the heartbeat for as long as the socket
   * lives, and the message would become visible to another worker while its job still runs. An extension that failed
   * (the batcher's attempts used up: throttling, a network blip; or no answer by its deadline) is reported and tried
   * again after a tenth of the timeout, for as long as the message is held: one failure must not leave a long job to
   * become visible to another worker. (At most one report per message per tenth of the timeout.)
   */
  private scheduleHeartbeat(h: Held, delayMs = this.heartbeatIntervalMs()): void {
    if (this.options.heartbeat === false || h.released) return;
    if (h.timer !== undefined) clearTimeout(h.timer);
    h.beatAt = Date.now() + delayMs;
    h.timer = setTimeout(() => this.beat(h), delayMs);
    h.timer.unref();
  }

  private heartbeatIntervalMs(): number {
    return Math.max(500, this.visibilityTimeout * 500);
  }

  private beat(h: Held): void {
    h.timer = undefined;
    if (h.released) return;
    const interval = this.heartbeatIntervalMs();
    this.scheduleHeartbeat(h, interval);
    const signal = AbortSignal.timeout(Math.min(this.callTimeoutMs, interval));
    this.visibility!.add({ ReceiptHandle: h.receiptHandle, VisibilityTimeout: this.visibilityTimeout }, { signal }).then(() => {
      this.counters.extended++;
    }, (e: unknown) => {
      // Done or handed back meanwhile: the extension no longer matters.
      if (h.released) return;
      this.counters.extendFailures++;
      this.report(asError(e), { operation: 'ChangeMessageVisibility (heartbeat)', messageId: h.id });
      const retryMs = Math.max(500, this.visibilityTimeout * 100);
      if (h.beatAt - Date.now() > retryMs) this.scheduleHeartbeat(h, retryMs);
    });
  }

  /** Stops tracking a message (done, failed or handed back) and frees its slot. */
  private release(h: Held): void {
    if (h.released) return;
    h.released = true;
    if (h.timer !== undefined) clearTimeout(h.timer);
    if (h.deadline !== undefined) clearTimeout(h.deadline);
    this.held.delete(h);
    const freed = this.slotFreed;
    this.slotFreed = undefined;
    freed?.();
    if (this.held.size === 0) this.drained?.();
  }

  private async handBackHeld(h: Held): Promise<void> {
    if (h.released) return;
    this.release(h);
    h.abort.abort(new Error('the worker handed this message back'));
    await this.handBack(h.receiptHandle, h.id);
  }

  private async handBack(receiptHandle: string, messageId: string | undefined): Promise<void> {
    try {
      await this.visibility!.add({ ReceiptHandle: receiptHandle, VisibilityTimeout: 0 });
      this.counters.handedBack++;
    } catch (e) {
      // It becomes visible when its visibility timeout ends anyway.
      this.report(asError(e), { operation: 'ChangeMessageVisibility (hand back)', ...(messageId ? { messageId } : {}) });
    }
  }

  /**
   * Protects the instance from scale-in, or lifts it, within `callTimeoutMs` (at most a quarter of the visibility
   * timeout): received messages wait on it, invisible, and the Auto Scaling client has no deadline of its own, so a
   * call on a stalled connection would hold them past their visibility timeout (and another worker would run them
   * too) or, lifting, stop the receive loop. A call abandoned at its deadline may still land: the state is then
   * unknown, and the next change and the stop make their call whatever the last one was.
   *
   * @returns whether it is done (false: failed or abandoned; protecting, the caller hands its messages back)
   */
  private async setProtected(protect: boolean): Promise<boolean> {
    if (!this.protection || (this.protectedNow === protect && !this.protectionUnknown)) return true;
    const operation = protect ? 'SetInstanceProtection (protect)' : 'SetInstanceProtection (lift)';
    // An abandoned call may still land: none is made before it settled, or a late lift could undo a newer protect.
    if (this.abandonedProtection !== undefined && !(await this.settlesWithin(this.abandonedProtection, this.callTimeoutMs))) {
      this.counters.protection.failures++;
      this.report(new Error(`an earlier call, abandoned at its deadline, has not settled: no other is made before it does${protect ? ' (the messages received are handed back)' : ''}`), { operation });
      return false;
    }
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), this.callTimeoutMs); });
    try {
      const call = this.protection.setProtected(protect, { abortSignal: abort.signal });
      if ((await Promise.race([call.then(() => 'done' as const), deadline])) === 'timeout') {
        abort.abort();
        const settled = call.then(() => undefined, () => undefined); // its late failure says nothing more
        this.abandonedProtection = settled;
        void settled.then(() => { if (this.abandonedProtection === settled) this.abandonedProtection = undefined; });
        this.protectionUnknown = true;
        this.counters.protection.failures++;
        this.report(new Error(`no answer within ${this.callTimeoutMs} ms: the call was abandoned${protect ? ' and the messages received are handed back' : ''}`), { operation });
        return false;
      }
      this.protectedNow = protect;
      this.protectionUnknown = false;
      if (protect) this.counters.protection.set++;
      else this.counters.protection.lifted++;
      return true;
    } catch (e) {
      this.counters.protection.failures++;
      this.report(asError(e), { operation });
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Whether `p` settles within `ms`. */
  private async settlesWithin(p: Promise<void>, ms: number): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([p.then(() => true), new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), ms); })]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async drain(timeoutMs: number): Promise<QueueWorkerStats> {
    await this.loop;
    // FIFO messages not started yet: hand them back now rather than start new work.
    for (const h of [...this.held]) if (!h.started) await this.handBackHeld(h);
    if (this.held.size > 0) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.drained = undefined;
          this.deadlineNow = undefined;
          resolve();
        };
        const timer = setTimeout(done, timeoutMs);
        this.drained = done;
        this.deadlineNow = done;
      });
    }
    await Promise.all([...this.held].map((h) => this.handBackHeld(h)));
    await Promise.all([this.deletes?.flush(), this.visibility?.flush()]);
    // A protection this process set, or may have set (a call abandoned at its deadline may have landed); one never
    // touched (it stopped before its first idle poll) is left to the next run's first idle poll: a stopping worker's
    // instance is mostly being terminated anyway.
    if (this.protectedNow === true || this.protectionUnknown) await this.setProtected(false);
    return this.stats();
  }
}

function toWorkerMessage(h: Held): QueueMessage {
  const m = h.message;
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(m.MessageAttributes ?? {})) {
    if (value.StringValue !== undefined) attributes[name] = value.StringValue;
  }
  const sent = m.Attributes?.SentTimestamp;
  const dedup = m.Attributes?.MessageDeduplicationId;
  const body = m.Body ?? '';
  return {
    id: h.id,
    body,
    receiveCount: h.receiveCount,
    ...(h.groupId !== undefined ? { groupId: h.groupId } : {}),
    ...(dedup !== undefined ? { deduplicationId: dedup } : {}),
    ...(sent !== undefined ? { sentAt: new Date(Number(sent)) } : {}),
    attributes,
    signal: h.abort.signal,
    raw: m,
    json: <T>() => JSON.parse(body) as T,
  };
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
