/**
 * Groups SQS per-message calls (delete, change visibility) into batch calls of up to 10 entries, retrying the
 * entries that failed for the server's reasons and reporting those the request itself got wrong (e.g. a receipt
 * handle that expired: the message is someone else's now). Each call can have a deadline (`callTimeoutMs`: a call on a
 * half-open connection is abandoned, and retried like any other failed call) and each entry one of its own (`add`'s
 * `signal`: the entry is given up and reported, whatever its calls still do).
 *
 * @module
 */

import { exponentialBackoff, sleep } from './backoff';

/** One entry of an SQS batch request, without its `Id` (assigned per call). */
export type BatchEntry = Record<string, unknown>;

/** The result shape shared by SQS `*Batch` calls. */
export interface BatchCallResult {
  readonly Successful?: readonly { readonly Id?: string }[];
  readonly Failed?: readonly { readonly Id?: string; readonly SenderFault?: boolean; readonly Code?: string; readonly Message?: string }[];
}

/** An entry failed for good: `senderFault` entries will never succeed (e.g. `ReceiptHandleIsInvalid`). */
export class BatchEntryError extends Error {
  /** The SQS error code. */
  public readonly code: string;
  /** Whether the request was at fault (not retried). */
  public readonly senderFault: boolean;
  /**
   * @param operation - e.g. `DeleteMessageBatch`
   * @param code - SQS error code
   * @param message - SQS message
   * @param senderFault - the request's fault
   * @param attempts - calls made
   */
  public constructor(operation: string, code: string, message: string, senderFault: boolean, attempts: number) {
    super(`${operation}: ${code}: ${message}${senderFault ? '' : ` (after ${attempts} attempts)`}`);
    this.name = 'BatchEntryError';
    this.code = code;
    this.senderFault = senderFault;
  }
}

/** Options of {@link SqsBatcher}. */
export interface SqsBatcherOptions {
  /** The operation's name, for errors. */
  readonly operation: string;
  /**
   * Sends one batch of at most 10 entries (each with an `Id`); `signal` aborts when the call's deadline
   * (`callTimeoutMs`) has passed: pass it to the SDK (`sqs.send(command, { abortSignal: signal })`).
   */
  readonly send: (entries: (BatchEntry & { Id: string })[], signal: AbortSignal) => Promise<BatchCallResult>;
  /**
   * Deadline of each call (ms): a call that has no answer by then is aborted and counts as a failed attempt. The SDK's
   * own client has no deadline by default, so a call on a half-open connection would otherwise never settle.
   * @default - none
   */
  readonly callTimeoutMs?: number;
  /** How long an entry may wait for others to join its batch. @default 10 */
  readonly maxDelayMs?: number;
  /** Calls per entry before giving up on server-side failures. @default 4 */
  readonly maxAttempts?: number;
  /** Delay before retry `n` (ms). @default exponential from 100 ms to 2 s, full jitter */
  readonly retryDelayMs?: (attempt: number) => number;
}

interface Pending {
  readonly entry: BatchEntry;
  attempts: number;
  /** Settled (succeeded, failed, or given up at its deadline): later answers are ignored and it is not retried. */
  settled: boolean;
  /** The last failure, for the error of an entry given up at its deadline. */
  lastError: string | undefined;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

/** Options of {@link SqsBatcher.add}. */
export interface BatchAddOptions {
  /**
   * Gives the entry up when aborted (e.g. `AbortSignal.timeout(ms)`): `add` rejects with a {@link BatchEntryError}
   * of code `Timeout` at once, and the entry is neither sent again nor retried.
   * @default - the entry waits for its calls (each bounded by `callTimeoutMs`) and retries
   */
  readonly signal?: AbortSignal;
}

const MAX_BATCH = 10;

/** Batches SQS calls. `add` resolves when its entry succeeded, rejects when it failed for good. */
export class SqsBatcher {
  private readonly options: SqsBatcherOptions;
  private readonly maxDelayMs: number;
  private readonly maxAttempts: number;
  private readonly retryDelayMs: (attempt: number) => number;
  private readonly callTimeoutMs: number | undefined;
  private queue: Pending[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly inflight = new Set<Promise<void>>();
  private calls = 0;

  /** @param options - see {@link SqsBatcherOptions} */
  public constructor(options: SqsBatcherOptions) {
    this.options = options;
    this.maxDelayMs = options.maxDelayMs ?? 10;
    this.maxAttempts = options.maxAttempts ?? 4;
    this.retryDelayMs = options.retryDelayMs ?? exponentialBackoff({ base: 100, max: 2_000 });
    const timeout = options.callTimeoutMs;
    if (timeout !== undefined && (!Number.isFinite(timeout) || timeout <= 0)) throw new RangeError(`SqsBatcher: callTimeoutMs must be a number > 0 (got: ${timeout})`);
    this.callTimeoutMs = timeout;
  }

  /** Number of batch calls made so far. */
  public get batchCalls(): number {
    return this.calls;
  }

  /**
   * Queues one entry.
   *
   * @param entry - the entry without `Id`
   * @param options - see {@link BatchAddOptions}
   * @returns resolves once it succeeded
   * @throws BatchEntryError when it failed for good, or (code `Timeout`) when its `signal` aborted first
   */
  public add(entry: BatchEntry, options: BatchAddOptions = {}): Promise<void> {
    const { signal } = options;
    return new Promise((resolve, reject) => {
      const p: Pending = {
        entry,
        attempts: 0,
        settled: false,
        lastError: undefined,
        resolve: () => {
          if (p.settled) return;
          p.settled = true;
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (e) => {
          if (p.settled) return;
          p.settled = true;
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      const onAbort = (): void => {
        const last = p.lastError === undefined ? '' : ` (last error: ${p.lastError})`;
        p.reject(new BatchEntryError(this.options.operation, 'Timeout', `given up at its deadline after ${p.attempts} attempt(s)${last}`, false, p.attempts));
      };
      if (signal?.aborted) {
        onAbort();
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.enqueue(p);
    });
  }

  /** Sends everything queued now and waits for every call in flight (retries included). */
  public async flush(): Promise<void> {
    while (this.queue.length > 0 || this.inflight.size > 0) {
      this.sendQueued();
      await Promise.allSettled([...this.inflight]);
    }
  }

  private enqueue(p: Pending): void {
    this.queue.push(p);
    if (this.queue.length >= MAX_BATCH) {
      this.sendQueued();
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => this.sendQueued(), this.maxDelayMs);
    }
  }

  private sendQueued(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    // Entries given up while they waited are not sent.
    this.queue = this.queue.filter((p) => !p.settled);
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      const call = this.call(batch).finally(() => this.inflight.delete(call));
      this.inflight.add(call);
    }
  }

  private async call(batch: Pending[]): Promise<void> {
    this.calls++;
    for (const p of batch) p.attempts++;
    let result: BatchCallResult;
    const deadline = this.callTimeoutMs === undefined ? new AbortController().signal : AbortSignal.timeout(this.callTimeoutMs);
    try {
      result = await this.options.send(batch.map((p, i) => ({ ...p.entry, Id: String(i) })), deadline);
    } catch (e) {
      const err = e as { name?: string; message?: string };
      if (deadline.aborted) await this.retryOrFail(batch, 'Timeout', `no answer within ${this.callTimeoutMs} ms`);
      else await this.retryOrFail(batch, err.name ?? 'Error', err.message ?? String(e));
      return;
    }
    const byId = (id: string | undefined): Pending | undefined => (id === undefined ? undefined : batch[Number(id)]);
    for (const ok of result.Successful ?? []) byId(ok.Id)?.resolve();
    const retry: Pending[] = [];
    for (const failed of result.Failed ?? []) {
      const p = byId(failed.Id);
      if (!p) continue;
      if (failed.SenderFault) p.reject(new BatchEntryError(this.options.operation, failed.Code ?? 'Unknown', failed.Message ?? '', true, p.attempts));
      else retry.push(p);
    }
    if (retry.length > 0) {
      const first = (result.Failed ?? []).find((f) => !f.SenderFault);
      await this.retryOrFail(retry, first?.Code ?? 'InternalError', first?.Message ?? '');
    }
  }

  private async retryOrFail(entries: Pending[], code: string, message: string): Promise<void> {
    const open = entries.filter((p) => !p.settled);
    for (const p of open) p.lastError = `${code}: ${message}`;
    const again = open.filter((p) => p.attempts < this.maxAttempts);
    for (const p of open) {
      if (p.attempts >= this.maxAttempts) p.reject(new BatchEntryError(this.options.operation, code, message, false, p.attempts));
    }
    if (again.length === 0) return;
    await sleep(this.retryDelayMs(Math.max(...again.map((p) => p.attempts))));
    for (const p of again) if (!p.settled) this.enqueue(p);
  }
}
