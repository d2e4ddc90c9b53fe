import { describe, expect, it } from 'vitest';
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
