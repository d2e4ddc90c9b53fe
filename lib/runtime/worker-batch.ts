/**
 * Groups SQS per-message calls (delete, change visibility) into batch calls of up to 10 entries, retrying the
 * entries that failed for the server's reasons and reporting those the request itself got wrong (e.g. a receipt
 * handle that expired: the message is someone else's now).
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
  /** Sends one batch of at most 10 entries (each with an `Id`). */
  readonly send: (entries: (BatchEntry & { Id: string })[]) => Promise<BatchCallResult>;
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
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

const MAX_BATCH = 10;

/** Batches SQS calls. `add` resolves when its entry succeeded, rejects when it failed for good. */
export class SqsBatcher {
  private readonly options: SqsBatcherOptions;
  private readonly maxDelayMs: number;
  private readonly maxAttempts: number;
  private readonly retryDelayMs: (attempt: number) => number;
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
  }

  /** Number of batch calls made so far. */
  public get batchCalls(): number {
    return this.calls;
  }

  /**
   * Queues one entry.
   *
   * @param entry - the entry without `Id`
   * @returns resolves once it succeeded
   * @throws BatchEntryError when it failed for good
   */
  public add(entry: BatchEntry): Promise<void> {
    return new Promise((resolve, reject) => {
      this.enqueue({ entry, attempts: 0, resolve, reject });
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
    try {
      result = await this.options.send(batch.map((p, i) => ({ ...p.entry, Id: String(i) })));
    } catch (e) {
      const err = e as { name?: string; message?: string };
      await this.retryOrFail(batch, err.name ?? 'Error', err.message ?? String(e));
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
    const again = entries.filter((p) => p.attempts < this.maxAttempts);
    for (const p of entries) {
      if (p.attempts >= this.maxAttempts) p.reject(new BatchEntryError(this.options.operation, code, message, false, p.attempts));
    }
    if (again.length === 0) return;
    await sleep(this.retryDelayMs(Math.max(...again.map((p) => p.attempts))));
    for (const p of again) this.enqueue(p);
  }
}
