import { describe, expect, it, vi } from 'vitest';
import { QueueWorker, type QueueWorkerOptions } from '../../../lib/runtime';

describe('QueueWorker options', () => {
  const ok: QueueWorkerOptions = { queueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/jobs', handler: () => undefined };

  it.each([
    [{ queueUrl: 'jobs' }, /queueUrl must be the queue URL \(QUEUE_KEYS\.url\) \(got: "jobs"\)/],
    [{ handler: 'nope' }, /handler must be a function \(got: "nope"\)/],
    [{ concurrency: 0 }, /concurrency must be a whole number >= 1 \(got: 0\)/],
    [{ waitTimeSeconds: 21 }, /waitTimeSeconds must be a whole number from 0 to 20 \(got: 21\)/],
    [{ visibilityTimeoutSeconds: 50_000 }, /visibilityTimeoutSeconds must be a whole number from 1 to 43200 \(got: 50000\)/],
    [{ drainTimeoutMs: -1 }, /drainTimeoutMs must be a number >= 0 \(got: -1\)/],
    [{ scaleInProtection: true }, /scaleInProtection must be 'auto', false or an InstanceProtection \(got: true\)/],
    [{ waitForInService: 'yes' }, /waitForInService must be 'auto', false or an InstanceLifecycle \(got: "yes"\)/],
    [{ inServicePollMs: 10 }, /inServicePollMs must be a number >= 100 \(got: 10\)/],
    [{ maxProcessingSeconds: 0 }, /maxProcessingSeconds must be a number above 0 and at most 43200 \(got: 0\)/],
    [{ maxProcessingSeconds: 43_201 }, /maxProcessingSeconds must be a number above 0 and at most 43200 \(got: 43201\)/],
  ])('fails for %j', (bad, message) => {
    expect(() => new QueueWorker({ ...ok, ...(bad as Partial<QueueWorkerOptions>) })).toThrow(message);
  });

  it('stops at once when it never started', async () => {
    const worker = new QueueWorker(ok);
    expect(await worker.stop()).toMatchObject({ received: 0, inFlight: 0 });
    await expect(worker.start()).rejects.toThrow(/the worker is stopped; create a new one/);
  });
});

describe('QueueWorker receive loop', () => {
  it('leaves nothing behind per receive on the worker\'s long-lived stop signal (Node 20 kept every AbortSignal.any derived from it)', async () => {
    // GIVEN a worker on a queue that is always empty, answering at once (a stand-in client: only the count matters)
    let receives = 0;
    const sqs = {
      send: async (command: object) => {
        const name = command.constructor.name;
        if (name === 'GetQueueAttributesCommand') return { Attributes: { VisibilityTimeout: '30', RedrivePolicy: '{}' } };
        if (name === 'ReceiveMessageCommand') {
          receives++;
          await new Promise((resolve) => setImmediate(resolve));
          return { Messages: [] };
        }
        return {};
      },
      destroy: () => undefined,
    };
    const worker = new QueueWorker({ queueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/jobs', handler: () => undefined, sqs: sqs as never, waitTimeSeconds: 0, scaleInProtection: false, waitForInService: false, onError: () => undefined });
    await worker.start();
    // WHEN it receives some thousands of times
    for (let i = 0; i < 200 && receives < 5_000; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    const signal = (worker as unknown as { stopReceiving: AbortController }).stopReceiving.signal;
    const dependants = Object.getOwnPropertySymbols(signal).filter((s) => String(s).includes('ependant')).map((s) => (signal as unknown as Record<symbol, Set<unknown>>)[s]);
    await worker.stop();
    // THEN the stop signal holds no signal per receive (it held one each: about 60 bytes a receive, never freed)
    expect(receives).toBeGreaterThanOrEqual(1_000);
    expect(dependants.map((d) => d.size).reduce((a, b) => a + b, 0)).toBeLessThan(10);
  });
});

describe('QueueWorker scale-in protection calls', () => {
  /**
   * A worker on a stand-in queue (visibility timeout 4 s: heartbeats every 2 s, calls abandoned after 1 s) that
   * receives one message, then nothing; its protection takes `protectMs` to protect (forever when undefined) and
   * lifts at once. Fake timers: every time below is exact.
   */
  function setup(protectMs: number | undefined, handler: QueueWorkerOptions['handler']) {
    const visibility: { at: number; timeout: number }[] = [];
    const protectCalls: boolean[] = [];
    const errors: string[] = [];
    let receives = 0;
    let receivedAt = 0;
    const sqs = {
      send: async (command: { constructor: { name: string }; input: { Entries?: { Id: string; VisibilityTimeout?: number }[] } }) => {
        const name = command.constructor.name;
        if (name === 'GetQueueAttributesCommand') return { Attributes: { VisibilityTimeout: '4', RedrivePolicy: '{}' } };
        if (name === 'ReceiveMessageCommand') {
          if (receives++ === 0) {
            receivedAt = Date.now();
            return { Messages: [{ MessageId: 'm1', ReceiptHandle: 'r1', Body: '{}', Attributes: { ApproximateReceiveCount: '1' } }] };
          }
          await new Promise((resolve) => setTimeout(resolve, 500));
          return { Messages: [] };
        }
        if (name === 'ChangeMessageVisibilityBatchCommand') {
          for (const e of command.input.Entries ?? []) visibility.push({ at: Date.now() - receivedAt, timeout: e.VisibilityTimeout! });
          return { Successful: (command.input.Entries ?? []).map((e) => ({ Id: e.Id })), Failed: [] };
        }
        if (name === 'DeleteMessageBatchCommand') return { Successful: (command.input.Entries ?? []).map((e) => ({ Id: e.Id })), Failed: [] };
        return {};
      },
      destroy: () => undefined,
    };
    const protection = {
      setProtected: (protect: boolean, options?: { abortSignal?: AbortSignal }) => {
        protectCalls.push(protect);
        if (!protect) return Promise.resolve();
        // Never answering (a stalled connection) until aborted, as the SDK client's call is
        if (protectMs === undefined) return new Promise<void>((_, reject) => options?.abortSignal?.addEventListener('abort', () => reject(new Error('aborted'))));
        return new Promise<void>((resolve) => setTimeout(resolve, protectMs));
      },
    };
    const worker = new QueueWorker({
      queueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/jobs',
      handler,
      sqs: sqs as never,
      waitTimeSeconds: 0,
      scaleInProtection: protection,
      waitForInService: false,
      idempotency: false,
      onError: (e, context) => errors.push(`${context?.operation}: ${e.message}`),
    } as QueueWorkerOptions);
    return { worker, visibility, protectCalls, errors };
  }

  it('abandons a protection call that does not answer within a quarter of the visibility timeout, hands the messages back, and lifts at the stop', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      // GIVEN a worker whose protection call never answers (a stalled connection: the Auto Scaling client has no deadline)
      const ran: string[] = [];
      const { worker, visibility, protectCalls, errors } = setup(undefined, (job) => { ran.push(job.id); });
      await worker.start();
      // WHEN a message is received and 1.1 s pass
      await vi.advanceTimersByTimeAsync(1_100);
      // THEN the message is handed back (visibility 0) at the deadline, never run, and the abandoned call is reported
      // (without a deadline it waited for ever, and its message ran again elsewhere once visible)
      expect(visibility.map((v) => v.timeout)).toEqual([0]);
      expect(visibility[0]!.at).toBeGreaterThanOrEqual(1_000);
      expect(visibility[0]!.at).toBeLessThan(1_050);
      expect(ran).toEqual([]);
      expect(errors).toEqual([expect.stringMatching(/^SetInstanceProtection \(protect\): no answer within 1000 ms: the call was abandoned/)]);
      expect(worker.stats()).toMatchObject({ handedBack: 1, protection: { failures: 1, set: 0 } });
      // AND the stop lifts the protection the late call may have set
      const stopping = worker.stop();
      await vi.advanceTimersByTimeAsync(2_000);
      await stopping;
      expect(protectCalls).toEqual([true, false]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('extends a message half a visibility timeout after it was received, not after the protection call it waited on', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      // GIVEN a protection call that takes 0.8 s (within its 1 s deadline) and a job of 5 s
      const { worker, visibility } = setup(800, () => new Promise<void>((resolve) => setTimeout(resolve, 5_000)));
      await worker.start();
      // WHEN the job runs
      await vi.advanceTimersByTimeAsync(5_500);
      // THEN the extensions come 2 s and 4 s after the receive (they came at 2.8 s and 4.8 s: with a protection call
      // of over 2 s, after the message was visible again)
      const extensions = visibility.filter((v) => v.timeout === 4).map((v) => v.at);
      expect(extensions).toHaveLength(2);
      expect(extensions[0]).toBeGreaterThanOrEqual(2_000);
      expect(extensions[0]).toBeLessThan(2_050);
      expect(extensions[1]).toBeGreaterThanOrEqual(4_000);
      expect(extensions[1]).toBeLessThan(4_050);
      const stopping = worker.stop();
      await vi.advanceTimersByTimeAsync(2_000);
      expect(await stopping).toMatchObject({ succeeded: 1, deleted: 1, inFlight: 0 });
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('QueueWorker: an abandoned protection call', () => {
  it('is not overtaken: no other call is made before it settles, so a late lift cannot undo a newer protect', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      // GIVEN a worker (visibility 4 s: calls abandoned after 1 s) whose lift takes 3 s and ignores the abort, on a queue
      // that gives one message, then nothing once, then a second message
      const landed: boolean[] = [];
      const ran: string[] = [];
      const messages = [['m1'], [], ['m2']];
      const sqs = {
        send: async (command: { constructor: { name: string }; input: { Entries?: { Id: string; ReceiptHandle: string; VisibilityTimeout?: number }[] } }) => {
          const name = command.constructor.name;
          if (name === 'GetQueueAttributesCommand') return { Attributes: { VisibilityTimeout: '4', RedrivePolicy: '{}' } };
          if (name === 'ReceiveMessageCommand') {
            const next = messages.shift();
            if (next === undefined) await new Promise((resolve) => setTimeout(resolve, 500));
            return { Messages: (next ?? []).map((id) => ({ MessageId: id, ReceiptHandle: `r-${id}`, Body: '{}', Attributes: { ApproximateReceiveCount: '1' } })) };
          }
          // a message handed back (visibility 0) is received again
          for (const e of command.input.Entries ?? []) if (e.VisibilityTimeout === 0) messages.unshift([e.ReceiptHandle.slice(2)]);
          return { Successful: (command.input.Entries ?? []).map((e) => ({ Id: e.Id })), Failed: [] };
        },
        destroy: () => undefined,
      };
      const protection = {
        setProtected: (protect: boolean) => new Promise<void>((resolve) => setTimeout(() => { landed.push(protect); resolve(); }, protect ? 10 : 3_000)),
      };
      const worker = new QueueWorker({
        queueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/jobs',
        // each job notes whether its instance is protected when it starts and 3.5 s later
        handler: async (job) => {
          const atStart = landed.at(-1);
          await new Promise((resolve) => setTimeout(resolve, 3_500));
          ran.push(`${job.id}:${atStart}:${landed.at(-1)}`);
        },
        sqs: sqs as never, concurrency: 1, waitTimeSeconds: 0, scaleInProtection: protection, waitForInService: false, idempotency: false, protectionRetryMs: 100,
        onError: () => undefined,
      } as QueueWorkerOptions);
      await worker.start();
      // WHEN the first job ran, the lift after it was abandoned, and the second message came while it was still running
      await vi.advanceTimersByTimeAsync(15_000);
      // THEN each job ran protected from start to end: the second one's protect was made after the late lift landed (it
      // was handed back meanwhile), not before it, where the late lift unprotected the instance in the middle of the job
      expect(ran).toEqual(['m1:true:true', 'm2:true:true']);
      const stopping = worker.stop();
      await vi.advanceTimersByTimeAsync(5_000);
      await stopping;
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('QueueWorker on a FIFO queue: a failed message received again before its retry delay was set', () => {
  it('runs the new delivery instead of handing it back with the group the failure left (each receive counts towards maxReceiveCount)', async () => {
    // GIVEN a FIFO queue (a stand-in) whose head fails, a retry delay of 0, and a ChangeMessageVisibilityBatch that
    // SQS applies at once but whose answer arrives after the next receive has returned the message again: the order
    // a loaded machine gave (the poison reached the dead-letter queue after 2 of its 3 attempts)
    let receives = 0;
    let answerVisibility: (() => void) | undefined;
    let visible = true;
    const sqs = {
      send: async (command: { constructor: { name: string }; input: { Entries?: { Id: string; ReceiptHandle: string; VisibilityTimeout?: number }[] } }) => {
        const name = command.constructor.name;
        if (name === 'GetQueueAttributesCommand') return { Attributes: { VisibilityTimeout: '30', RedrivePolicy: '{}', FifoQueue: 'true' } };
        if (name === 'ReceiveMessageCommand') {
          if (!visible || receives >= 3) {
            await new Promise((resolve) => setTimeout(resolve, 5));
            return { Messages: [] };
          }
          visible = false;
          receives++;
          return { Messages: [{ MessageId: 'poison', ReceiptHandle: `r${receives}`, Body: '{}', Attributes: { ApproximateReceiveCount: String(receives), MessageGroupId: 'g' } }] };
        }
        const entries = command.input.Entries ?? [];
        if (name === 'ChangeMessageVisibilityBatchCommand' && entries.some((e) => e.VisibilityTimeout === 0)) {
          visible = true; // applied: the next receive gets it
          if (answerVisibility === undefined) await new Promise<void>((resolve) => { answerVisibility = resolve; });
        }
        return { Successful: entries.map((e) => ({ Id: e.Id })), Failed: [] };
      },
      destroy: () => undefined,
    };
    const attempts: string[] = [];
    const worker = new QueueWorker({
      queueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/jobs.fifo',
      sqs: sqs as never, waitTimeSeconds: 0, concurrency: 10, scaleInProtection: false, waitForInService: false, idempotency: false,
      retryDelaySeconds: () => 0,
      handler: (m) => {
        attempts.push(`${m.id} ${m.receiveCount}`);
        throw new Error('cannot process this');
      },
      onError: () => undefined,
    } as QueueWorkerOptions);
    try {
      await worker.start();
      // WHEN the first attempt fails and, before the answer to its retry delay (visibility 0), the message is received again
      for (let i = 0; i < 200 && receives < 2; i++) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(receives).toBe(2);
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
      answerVisibility?.();
      // THEN the second delivery runs (attempt 2) rather than being handed back unrun with the failed group's rest
      for (let i = 0; i < 200 && attempts.length < 3; i++) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(attempts).toEqual(['poison 1', 'poison 2', 'poison 3']);
    } finally {
      answerVisibility?.();
      await worker.stop({ timeoutMs: 0 });
    }
  });
});
