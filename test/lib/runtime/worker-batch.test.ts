import { describe, expect, it } from 'vitest';
import { BatchEntryError, SqsBatcher, type BatchCallResult, type BatchEntry } from '../../../lib/runtime';

type Sent = (BatchEntry & { Id: string })[];

/** A batcher whose calls are answered by `answer` (per call index), recording what was sent. */
function batcher(answer: (entries: Sent, call: number) => BatchCallResult | Promise<BatchCallResult>, maxAttempts = 3) {
  const calls: Sent[] = [];
  const b = new SqsBatcher({
    operation: 'DeleteMessageBatch',
    maxDelayMs: 5,
    maxAttempts,
    retryDelayMs: () => 1,
    send: async (entries) => {
      calls.push(entries);
      return answer(entries, calls.length - 1);
    },
  });
  return { b, calls };
}

const allOk = (entries: Sent): BatchCallResult => ({ Successful: entries.map((e) => ({ Id: e.Id })), Failed: [] });

describe('SqsBatcher', () => {
  it('sends 25 entries as batches of 10, 10 and 5 with ids unique per call', async () => {
    const { b, calls } = batcher(allOk);
    await Promise.all(Array.from({ length: 25 }, (_, i) => b.add({ ReceiptHandle: `h${i}` })));
    expect(calls.map((c) => c.length)).toEqual([10, 10, 5]);
    for (const c of calls) expect(new Set(c.map((e) => e.Id)).size).toBe(c.length);
    expect(calls.flat().map((e) => e.ReceiptHandle)).toEqual(Array.from({ length: 25 }, (_, i) => `h${i}`));
    expect(b.batchCalls).toBe(3);
  });

  it('joins entries added within maxDelayMs into one call', async () => {
    const { b, calls } = batcher(allOk);
    const first = b.add({ ReceiptHandle: 'a' });
    const second = b.add({ ReceiptHandle: 'b' });
    await Promise.all([first, second]);
    expect(calls).toHaveLength(1);
  });

  it('retries entries that failed on the server side, alone, and resolves them when they succeed', async () => {
    const { b, calls } = batcher((entries, call) => call === 0
      ? { Successful: [{ Id: entries[0]!.Id }], Failed: [{ Id: entries[1]!.Id, SenderFault: false, Code: 'InternalError', Message: 'try again' }] }
      : allOk(entries));
    await Promise.all([b.add({ ReceiptHandle: 'ok' }), b.add({ ReceiptHandle: 'retry-me' })]);
    expect(calls.map((c) => c.map((e) => e.ReceiptHandle))).toEqual([['ok', 'retry-me'], ['retry-me']]);
  });

  it('rejects a sender-fault entry at once (no retry) and the others still succeed', async () => {
    const { b, calls } = batcher((entries) => ({
      Successful: entries.filter((e) => e.ReceiptHandle !== 'expired').map((e) => ({ Id: e.Id })),
      Failed: entries.filter((e) => e.ReceiptHandle === 'expired').map((e) => ({ Id: e.Id, SenderFault: true, Code: 'ReceiptHandleIsInvalid', Message: 'gone' })),
    }));
    const results = await Promise.allSettled([b.add({ ReceiptHandle: 'fine' }), b.add({ ReceiptHandle: 'expired' })]);
    expect(results[0]!.status).toBe('fulfilled');
    expect(results[1]!.status).toBe('rejected');
    const err = (results[1] as PromiseRejectedResult).reason as BatchEntryError;
    expect(err).toBeInstanceOf(BatchEntryError);
    expect(err).toMatchObject({ code: 'ReceiptHandleIsInvalid', senderFault: true });
    expect(err.message).toBe('DeleteMessageBatch: ReceiptHandleIsInvalid: gone');
    expect(calls).toHaveLength(1);
  });

  it('retries a failed call up to maxAttempts, then rejects every entry with the error', async () => {
    const { b, calls } = batcher(() => { throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }); }, 3);
    const results = await Promise.allSettled([b.add({ ReceiptHandle: 'a' }), b.add({ ReceiptHandle: 'b' })]);
    expect(calls).toHaveLength(3);
    for (const r of results) expect((r as PromiseRejectedResult).reason.message).toBe('DeleteMessageBatch: TimeoutError: socket hang up (after 3 attempts)');
  });

  it('flush sends what is queued and waits for retries to settle', async () => {
    const { b, calls } = batcher((entries, call) => call === 0
      ? { Successful: [], Failed: entries.map((e) => ({ Id: e.Id, SenderFault: false, Code: 'ServiceUnavailable' })) }
      : allOk(entries));
    let settled = false;
    void b.add({ ReceiptHandle: 'x' }).then(() => { settled = true; });
    await b.flush();
    expect(settled).toBe(true);
    expect(calls).toHaveLength(2);
  });

  it('abandons a call that has no answer within callTimeoutMs and retries it (a half-open connection)', async () => {
    // GIVEN a first call that never settles unless its deadline aborts it
    const calls: Sent[] = [];
    const b = new SqsBatcher({
      operation: 'ChangeMessageVisibilityBatch',
      maxDelayMs: 0,
      retryDelayMs: () => 1,
      callTimeoutMs: 50,
      send: (entries, signal) => {
        calls.push(entries);
        if (calls.length > 1) return Promise.resolve(allOk(entries));
        return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('Request aborted'))));
      },
    });
    // WHEN an entry is added THEN it succeeds on the second call
    await b.add({ ReceiptHandle: 'a' });
    expect(calls).toHaveLength(2);
  });

  it('rejects an entry whose signal aborts first, with the last error, and never sends it again', async () => {
    // GIVEN calls that are always throttled
    const { b, calls } = batcher(() => { throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }); }, 1_000);
    const controller = new AbortController();
    // WHEN the entry's deadline passes after a few attempts
    const added = b.add({ ReceiptHandle: 'a' }, { signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 30));
    controller.abort();
    const error = await added.then(() => undefined, (e: unknown) => e as BatchEntryError);
    const sent = calls.length;
    await b.flush();
    // THEN it is given up with code Timeout and the last error, and not retried
    expect(error).toBeInstanceOf(BatchEntryError);
    expect(error!.code).toBe('Timeout');
    expect(error!.message).toMatch(/DeleteMessageBatch: Timeout: given up at its deadline after \d+ attempt\(s\) \(last error: ThrottlingException: Rate exceeded\)/);
    expect(sent).toBeGreaterThanOrEqual(1);
    expect(calls.length).toBeLessThanOrEqual(sent + 1);
  });

  it('rejects at once an entry whose signal has already aborted, sending nothing', async () => {
    const { b, calls } = batcher(allOk);
    await expect(b.add({ ReceiptHandle: 'a' }, { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'Timeout' });
    await b.flush();
    expect(calls).toHaveLength(0);
  });
});
