import {
  AutoScalingClient, CreateAutoScalingGroupCommand, CreateLaunchConfigurationCommand, DescribeAutoScalingGroupsCommand, DescribeAutoScalingInstancesCommand,
  EnterStandbyCommand, ExitStandbyCommand,
} from '@aws-sdk/client-auto-scaling';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import {
  AutoScalingInstanceLifecycle, AutoScalingInstanceProtection, QueueProducer, QueueWorker, type InstanceLifecycle, type InstanceProtection, type QueueWorkerOptions,
} from '../../lib/runtime';
import { motoClientConfig } from './services/aws';
import { sleep, spawnEventChild } from './services';
import { createTestQueue, queueDepth, receiveAll, sendBodies } from './services/sqs';
import { startStallProxy } from './services/stall-proxy';

const services = inject('services');
const sqs = new SQSClient(motoClientConfig(services));
afterAll(() => sqs.destroy());

const errors: string[] = [];
const base = (queueUrl: string, handler: QueueWorkerOptions['handler'], extra: Partial<QueueWorkerOptions> = {}): QueueWorkerOptions => ({
  queueUrl, handler, sqs, waitTimeSeconds: 1, scaleInProtection: false, waitForInService: false, onError: (e, c) => { errors.push(`${c.operation}: ${e.message}`); }, ...extra,
});

/** Polls `probe` (bounded) until true. */
async function until(probe: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return true;
    await sleep(50);
  }
  return false;
}

/**
 * A stand-in for the instance metadata service on loopback (IMDSv2: a token from PUT, then metadata with the token;
 * 404 for an item it does not have). `values` is read at each request, so a test can change what it answers.
 */
async function startImds(values: () => Record<string, string | undefined>): Promise<{ endpoint: string; hits: Map<string, number>; close: () => Promise<void> }> {
  const token = randomBytes(8).toString('hex');
  const hits = new Map<string, number>();
  const server = createServer((req, res) => {
    if (req.method === 'PUT' && req.url === '/latest/api/token' && req.headers['x-aws-ec2-metadata-token-ttl-seconds']) return void res.end(token);
    if (req.headers['x-aws-ec2-metadata-token'] !== token) return void res.writeHead(401).end();
    const path = (req.url ?? '').replace(/^\/latest\/meta-data\//, '');
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const value = values()[path];
    if (value === undefined) return void res.writeHead(404).end();
    res.end(value);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    endpoint: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
    hits,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** Messages of a queue: visible, and received but not yet deleted (in flight). */
async function queueCounts(url: string): Promise<{ visible: number; inFlight: number }> {
  const a = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }))).Attributes ?? {};
  return { visible: Number(a.ApproximateNumberOfMessages), inFlight: Number(a.ApproximateNumberOfMessagesNotVisible) };
}

/** A moto Auto Scaling group of one instance. */
async function motoGroup(asg: AutoScalingClient): Promise<{ group: string; instanceId: string }> {
  const group = `workers-${randomBytes(4).toString('hex')}`;
  await asg.send(new CreateLaunchConfigurationCommand({ LaunchConfigurationName: group, ImageId: 'ami-12c6146b', InstanceType: 't3.micro' }));
  await asg.send(new CreateAutoScalingGroupCommand({ AutoScalingGroupName: group, LaunchConfigurationName: group, MinSize: 0, MaxSize: 1, DesiredCapacity: 1, AvailabilityZones: ['us-east-1a'] }));
  const instanceId = (await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group] }))).AutoScalingGroups![0]!.Instances![0]!.InstanceId!;
  return { group, instanceId };
}

/** The ids another consumer receives from `queueUrl` while it polls for `ms` (leaving what it gets visible). */
async function receivedByAnotherConsumer(queueUrl: string, ms: number): Promise<string[]> {
  const ids: string[] = [];
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1, VisibilityTimeout: 0 }));
    for (const m of out.Messages ?? []) ids.push(m.MessageId!);
  }
  return ids;
}

describe('QueueWorker on moto SQS', () => {
  it('processes and deletes every message in batch deletes, never holding more than `concurrency`', async () => {
    const queue = await createTestQueue(sqs);
    const ids = await sendBodies(sqs, queue.url, Array.from({ length: 60 }, (_, i) => JSON.stringify({ n: i })));
    let running = 0;
    let maxRunning = 0;
    const seen = new Set<string>();
    const worker = new QueueWorker(base(queue.url, async (m) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      seen.add(m.id);
      expect(m.json<{ n: number }>().n).toBeGreaterThanOrEqual(0);
      await sleep(20);
      running--;
    }, { concurrency: 5 }));
    await worker.start();
    expect(await until(() => worker.stats().deleted === 60, 30_000)).toBe(true);
    const stats = await worker.stop();
    expect(seen).toEqual(new Set(ids));
    expect(maxRunning).toBe(5);
    expect(stats.maxInFlight).toBe(5);
    expect(stats).toMatchObject({ received: 60, succeeded: 60, deleted: 60, failed: 0, deleteFailures: 0, inFlight: 0 });
    expect(stats.deleteCalls).toBeLessThan(60);
    expect(await queueDepth(sqs, queue.url)).toBe(0);
  });

  it('leaves a poison message to the redrive policy: it reaches the dead-letter queue after maxReceiveCount, never deleted', async () => {
    const queue = await createTestQueue(sqs, { visibilityTimeout: 1, maxReceiveCount: 3 });
    const [poisonId] = await sendBodies(sqs, queue.url, ['poison', 'fine-1', 'fine-2']);
    const attempts: number[] = [];
    const worker = new QueueWorker(base(queue.url, (m) => {
      if (m.body === 'poison') {
        attempts.push(m.receiveCount);
        throw new Error('cannot process this');
      }
    }));
    await worker.start();
    const dead = await receiveAll(sqs, queue.deadLetterUrl, 1, 20_000);
    const stats = await worker.stop();
    expect(dead.map((m) => m.MessageId)).toEqual([poisonId]);
    expect(dead[0]!.Body).toBe('poison');
    expect(attempts).toEqual([1, 2, 3]);
    expect(stats).toMatchObject({ failed: 3, succeeded: 2, deleted: 2 });
    expect(await queueDepth(sqs, queue.url)).toBe(0);
  });

  it('retries sooner with retryDelaySeconds (backoff on receiveCount) and then deletes on success', async () => {
    const queue = await createTestQueue(sqs, { visibilityTimeout: 30, maxReceiveCount: 5 });
    await sendBodies(sqs, queue.url, ['flaky']);
    const delays: number[] = [];
    const worker = new QueueWorker(base(queue.url, (m) => {
      if (m.receiveCount < 3) throw new Error(`transient failure ${m.receiveCount}`);
    }, { retryDelaySeconds: (receiveCount) => { delays.push(receiveCount); return 0; } }));
    await worker.start();
    // With the queue's 30 s visibility this would take a minute; the retry delay of 0 makes it immediate.
    expect(await until(() => worker.stats().deleted === 1, 10_000)).toBe(true);
    const stats = await worker.stop();
    expect(delays).toEqual([1, 2]);
    expect(stats).toMatchObject({ failed: 2, succeeded: 1, deleted: 1 });
  });

  // The long-job tests (these, the hung receive and the hung job below) run side by side (their queues, workers,
  // consumers and proxies are their own; the error assertions look for their own messages): each needs several
  // visibility timeouts of wall time (together 45 s one after the other, 24 s side by side), and timeouts short enough to run them one after the other left a busy machine
  // (moto shares the CPU with the other tests) too little margin. Side by side, the two below still lost the message
  // (received again) in 2 of 2 npm test runs beside 2 CPU burners (load 15-20, moto answering in seconds): their
  // visibility timeouts are now 12 s and 14 s (about 30 s side by side), their jobs still over twice that long.
  it.concurrent('extends the visibility of a long job so no other consumer receives it meanwhile', async ({ expect }) => {
    // A 12 s visibility timeout: the heartbeat extends it every 6 s, so a heartbeat may come up to 6 s late; with
    // 2 s (a 4 s timeout), one second of delay let the message reappear, and with 8 s, moto under load did.
    const queue = await createTestQueue(sqs, { visibilityTimeout: 12 });
    const [id] = await sendBodies(sqs, queue.url, ['slow']);
    let calls = 0;
    // (its own reports too, for the failure messages: the file's list has those of the tests running beside it)
    const reports: string[] = [];
    const worker = new QueueWorker(base(queue.url, async () => {
      calls++;
      await sleep(27_000);
    }, { onError: (e, c) => { reports.push(`${c.operation}: ${e.message}`); errors.push(`${c.operation}: ${e.message}`); } }));
    await worker.start();
    expect(await until(() => calls === 1, 5_000)).toBe(true);
    // Another consumer polls for the whole job (twice the visibility timeout): nothing to receive.
    const other = await receivedByAnotherConsumer(queue.url, 24_000);
    expect(await until(() => worker.stats().deleted === 1, 8_000)).toBe(true);
    const stats = await worker.stop();
    expect(other).toEqual([]);
    expect(calls).toBe(1);
    expect(stats.extended).toBeGreaterThanOrEqual(3);
    // No extension refused (a wrong receipt handle, a message SQS no longer holds). One left unanswered at its deadline
    // (a quarter of the timeout: 3 s; twice in about 24 runs beside two CPU burners, moto otherwise answering in 7-133
    // ms) is retried a tenth of the timeout later, which the next test covers: the message still stayed invisible
    // (`other` is empty) and ran once.
    expect(reports.filter((r) => !/^ChangeMessageVisibility \(heartbeat\): ChangeMessageVisibilityBatch: Timeout: given up at its deadline/.test(r)), reports.join('\n')).toEqual([]);
    expect(stats.extendFailures, reports.join('\n')).toBeLessThanOrEqual(1);
    expect(id).toBeDefined();
  });

  it.concurrent('keeps extending after a heartbeat fails (throttled), so no other consumer receives the long job', async ({ expect }) => {
    // GIVEN a worker whose first extensions SQS refuses (every attempt the batcher makes for the first heartbeat):
    // with a 14 s visibility timeout, the first heartbeat at 7 s, its refused attempts (about 0.7 s of back-off) and
    // the retry a tenth of the timeout later leave 4.9 s for moto's answers before the message would reappear (3.3 s
    // with 10 s was not enough under load)
    const queue = await createTestQueue(sqs, { visibilityTimeout: 14 });
    await sendBodies(sqs, queue.url, ['slow']);
    const flaky = new SQSClient(motoClientConfig(services));
    let refused = 0;
    flaky.middlewareStack.add((next, context) => async (args) => {
      if (context.commandName === 'ChangeMessageVisibilityBatchCommand' && refused < 4) {
        refused++;
        throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      }
      return next(args);
    }, { step: 'initialize', name: 'refuseFirstExtensions' });
    let calls = 0;
    const reported = errors.length;
    const worker = new QueueWorker(base(queue.url, async () => {
      calls++;
      await sleep(30_000);
    }, { sqs: flaky }));
    try {
      await worker.start();
      expect(await until(() => calls === 1, 5_000)).toBe(true);
      // WHEN another consumer polls for the whole job (twice the visibility timeout)
      const other = await receivedByAnotherConsumer(queue.url, 28_000);
      expect(await until(() => worker.stats().deleted === 1, 8_000)).toBe(true);
      const stats = await worker.stop();
      // THEN the heartbeat tried again after the failure and the job stayed invisible
      expect(refused).toBe(4);
      expect(stats.extendFailures).toBeGreaterThanOrEqual(1);
      expect(stats.extended).toBeGreaterThanOrEqual(2);
      expect(errors.slice(reported)).toContainEqual(expect.stringMatching(/^ChangeMessageVisibility \(heartbeat\): .*Rate exceeded/));
      expect(other).toEqual([]);
      expect(calls).toBe(1);
    } finally {
      await worker.stop();
      flaky.destroy();
    }
  });

  it.concurrent('keeps the heartbeat going when an extension call hangs (half-open connection): no other consumer receives the long job', async ({ expect }) => {
    // GIVEN a worker whose first ChangeMessageVisibilityBatch call is read by a proxy and never answered, on a queue
    // with a 16 s visibility timeout: beats every 8 s, each call abandoned after 4 s, a failed beat retried 1.6 s later
    const queue = await createTestQueue(sqs, { visibilityTimeout: 16 });
    const [id] = await sendBodies(sqs, queue.url, ['slow']);
    const proxy = await startStallProxy(services.moto.endpoint, (operation, count) => operation === 'ChangeMessageVisibilityBatch' && count === 0);
    const stalling = new SQSClient({ ...motoClientConfig(services), endpoint: proxy.endpoint });
    const reported = errors.length;
    let calls = 0;
    // (the job outlasts the other consumer's poll, then the heartbeat's second extension, bounded: the retry comes 13.6 s
    // in and the next beat 8 s later, which left a loaded moto 2.4 s to answer before the job ended; once it had not,
    // and the assertion below failed with 1)
    const worker: QueueWorker = new QueueWorker(base(queue.url, async () => {
      calls++;
      await sleep(24_000);
      await until(() => worker.stats().extended >= 2, 20_000);
    }, { sqs: stalling }));
    try {
      await worker.start();
      expect(await until(() => calls === 1, 5_000)).toBe(true);
      // WHEN another consumer polls for longer than the visibility timeout
      const other = await receivedByAnotherConsumer(queue.url, 22_000);
      // THEN the message never became visible: the stalled beat timed out, was reported, and the next one extended it
      expect(other).toEqual([]);
      expect(await until(() => worker.stats().deleted === 1, 10_000)).toBe(true);
      const stats = await worker.stop();
      expect(proxy.stalled.get('ChangeMessageVisibilityBatch')).toBe(1);
      expect(calls).toBe(1);
      expect(stats.extendFailures).toBeGreaterThanOrEqual(1);
      expect(stats.extended).toBeGreaterThanOrEqual(2);
      expect(errors.slice(reported)).toContainEqual(expect.stringMatching(/^ChangeMessageVisibility \(heartbeat\): ChangeMessageVisibilityBatch: Timeout: /));
      expect(id).toBeDefined();
    } finally {
      await proxy.close();
      await worker.stop();
      stalling.destroy();
    }
  });

  it.concurrent('abandons a receive that hangs (half-open connection) after its long poll plus 10 s, says so, and receives again', async ({ expect }) => {
    // GIVEN a worker whose first ReceiveMessage call is read by a proxy and never answered
    const queue = await createTestQueue(sqs);
    await sendBodies(sqs, queue.url, ['job']);
    const proxy = await startStallProxy(services.moto.endpoint, (operation, count) => operation === 'ReceiveMessage' && count === 0);
    const stalling = new SQSClient({ ...motoClientConfig(services), endpoint: proxy.endpoint });
    const reported = errors.length;
    const worker = new QueueWorker(base(queue.url, () => undefined, { sqs: stalling }));
    try {
      // WHEN it runs (a 1 s long poll: the stalled receive is abandoned after 11 s)
      await worker.start();
      // THEN it receives again and processes the message
      expect(await until(() => worker.stats().deleted === 1, 40_000)).toBe(true);
      const stats = await worker.stop();
      expect(proxy.stalled.get('ReceiveMessage')).toBe(1);
      expect(stats.receiveErrors).toBe(1);
      expect(errors.slice(reported)).toContainEqual('ReceiveMessage: no answer within 11000 ms (a 1 s long poll): the call was abandoned');
    } finally {
      await proxy.close();
      await worker.stop();
      stalling.destroy();
    }
  });

  it.concurrent('gives up a hung job at maxProcessingSeconds: aborts its signal, frees its slot, and lets it reach the dead-letter queue', async ({ expect }) => {
    // GIVEN one slot, a job whose handler hangs and ignores its signal, and a job behind it; a 3 s visibility timeout
    // (heartbeats every 1.5 s would keep the hung one invisible up to SQS's 12 h) and maxReceiveCount 2
    const queue = await createTestQueue(sqs, { visibilityTimeout: 3, maxReceiveCount: 2 });
    const [stuckId] = await sendBodies(sqs, queue.url, ['stuck']);
    const aborted: string[] = [];
    const hung: (() => void)[] = [];
    const done: string[] = [];
    const reported = errors.length;
    const worker = new QueueWorker(base(queue.url, async (m) => {
      if (m.body !== 'stuck') {
        done.push(m.body);
        return;
      }
      m.signal.addEventListener('abort', () => aborted.push(String((m.signal.reason as Error).message)));
      await new Promise<void>((resolve) => hung.push(resolve));
    }, { concurrency: 1, maxProcessingSeconds: 2 }));
    try {
      await worker.start();
      expect(await until(() => hung.length === 1, 10_000)).toBe(true);
      await sendBodies(sqs, queue.url, ['fine']);
      // WHEN the hung job passes its deadline, twice (it comes back once)
      // THEN the job behind it runs meanwhile, and the hung one reaches the dead-letter queue
      const dead = await receiveAll(sqs, queue.deadLetterUrl, 1, 30_000);
      expect(dead.map((m) => m.MessageId)).toEqual([stuckId]);
      expect(await until(() => done.length === 1, 10_000)).toBe(true);
      const stats = await worker.stop();
      expect(done).toEqual(['fine']);
      expect(hung).toHaveLength(2);
      expect(aborted).toEqual(['the job ran past maxProcessingSeconds (2 s)', 'the job ran past maxProcessingSeconds (2 s)']);
      expect(stats).toMatchObject({ overruns: 2, succeeded: 1, deleted: 1, failed: 0, inFlight: 0 });
      expect(errors.slice(reported).filter((e) => e.startsWith('handler (maxProcessingSeconds): the handler ran past maxProcessingSeconds (2 s)'))).toHaveLength(2);
    } finally {
      for (const resolve of hung) resolve();
      await worker.stop();
    }
  });

  it('keeps FIFO order within each message group, runs groups in parallel, and keeps order after a failure', async () => {
    const queue = await createTestQueue(sqs, { fifo: true, visibilityTimeout: 5, maxReceiveCount: 5 });
    const groups = ['a', 'b', 'c'];
    const bodies = Array.from({ length: 15 }, (_, i) => JSON.stringify({ group: groups[i % 3], seq: Math.floor(i / 3) }));
    await sendBodies(sqs, queue.url, bodies, (i) => groups[i % 3]!);
    const completed = new Map<string, number[]>(groups.map((g) => [g, []]));
    let failedOnce = false;
    let running = 0;
    let maxRunning = 0;
    const worker = new QueueWorker(base(queue.url, async (m) => {
      const { group, seq } = m.json<{ group: string; seq: number }>();
      expect(m.groupId).toBe(group);
      running++;
      maxRunning = Math.max(maxRunning, running);
      await sleep(30);
      running--;
      if (group === 'b' && seq === 1 && !failedOnce) {
        failedOnce = true;
        throw new Error('fail b/1 once');
      }
      completed.get(group)!.push(seq);
    }, { concurrency: 10, retryDelaySeconds: () => 0 }));
    await worker.start();
    expect(await until(() => worker.stats().deleted === 15, 30_000)).toBe(true);
    await worker.stop();
    for (const g of groups) expect(completed.get(g), `group ${g}`).toEqual([0, 1, 2, 3, 4]);
    expect(failedOnce).toBe(true);
    expect(maxRunning).toBeGreaterThan(1);
  });

  it('on a FIFO queue, sends a poison message to the dead-letter queue alone: after a failure it receives one message at a time, so its group\'s followers are not received (and counted) with each retry', async () => {
    // GIVEN a FIFO group whose head always fails, and three healthy messages behind it; maxReceiveCount 3
    const queue = await createTestQueue(sqs, { fifo: true, visibilityTimeout: 2, maxReceiveCount: 3 });
    const [poisonId] = await sendBodies(sqs, queue.url, ['poison', 'fine-1', 'fine-2', 'fine-3'], () => 'g');
    const attempts: number[] = [];
    const done: string[] = [];
    const worker = new QueueWorker(base(queue.url, (m) => {
      if (m.body === 'poison') {
        attempts.push(m.receiveCount);
        throw new Error('cannot process this');
      }
      done.push(m.body);
    }, { concurrency: 10, retryDelaySeconds: () => 0 }));
    await worker.start();
    // WHEN it has run the group
    expect(await until(() => done.length === 3, 30_000)).toBe(true);
    await worker.stop();
    // THEN the poison message alone reached the dead-letter queue after its 3 attempts, and the healthy ones ran, in
    // order (each receive of the head used to return them too, so their counts grew with its: all four went there)
    expect(attempts).toEqual([1, 2, 3]);
    expect(done).toEqual(['fine-1', 'fine-2', 'fine-3']);
    expect((await receiveAll(sqs, queue.deadLetterUrl, 1, 5_000)).map((m) => m.MessageId)).toEqual([poisonId]);
  });

  it('hands messages back and pauses when scale-in protection cannot be set (the instance is leaving)', async () => {
    const queue = await createTestQueue(sqs);
    await sendBodies(sqs, queue.url, ['m1', 'm2']);
    const refusing: InstanceProtection = { setProtected: async () => { throw new Error('ValidationError: instance is not InService'); } };
    let calls = 0;
    const worker = new QueueWorker(base(queue.url, () => { calls++; }, { scaleInProtection: refusing, protectionRetryMs: 60_000 }));
    await worker.start();
    expect(await until(() => worker.stats().handedBack === 2, 10_000)).toBe(true);
    const stats = await worker.stop();
    expect(calls).toBe(0);
    expect(stats.protection.failures).toBe(1);
    // Handed back with visibility 0: another worker receives them at once.
    expect((await receiveAll(sqs, queue.url, 2, 5_000)).map((m) => m.Body).sort()).toEqual(['m1', 'm2']);
  });
});

describe('QueueProducer on a FIFO queue (moto)', () => {
  it('delivers two job types of one idempotency key, and still drops a producer\'s retry of either', async () => {
    // GIVEN a FIFO queue (content-based deduplication on, as the test queues have) and a producer
    const queue = await createTestQueue(sqs, { fifo: true });
    const producer = new QueueProducer({ queueUrl: queue.url, sqs });
    // WHEN one order's two jobs are sent with the same key (and the same body), then each again (a retry)
    const sent = [
      await producer.send({ orderId: 'a1' }, { type: 'order.placed', idempotencyKey: 'a1', groupId: 'a1' }),
      await producer.send({ orderId: 'a1' }, { type: 'order.shipped', idempotencyKey: 'a1', groupId: 'a1' }),
      await producer.send({ orderId: 'a1' }, { type: 'order.placed', idempotencyKey: 'a1', groupId: 'a1' }),
      await producer.send({ orderId: 'a1' }, { type: 'order.shipped', idempotencyKey: 'a1', groupId: 'a1' }),
    ];
    // THEN both jobs arrive, in order, once each (the receive waits 5 s for a third that must not come)
    const received = await receiveAll(sqs, queue.url, 3, 5_000);
    expect(received.map((m) => m.MessageId)).toEqual([sent[0]!.messageId, sent[1]!.messageId]);
  });
});

describe('QueueWorker scale-in protection through instance metadata and Auto Scaling (moto)', () => {
  let imds: Server | undefined;
  afterAll(() => imds?.close());

  it('protects its instance while busy and lifts the protection when idle', async () => {
    const asg = new AutoScalingClient(motoClientConfig(services));
    const group = `workers-${randomBytes(4).toString('hex')}`;
    await asg.send(new CreateLaunchConfigurationCommand({ LaunchConfigurationName: group, ImageId: 'ami-12c6146b', InstanceType: 't3.micro' }));
    await asg.send(new CreateAutoScalingGroupCommand({ AutoScalingGroupName: group, LaunchConfigurationName: group, MinSize: 1, MaxSize: 1, DesiredCapacity: 1, AvailabilityZones: ['us-east-1a'] }));
    const instanceId = (await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group] }))).AutoScalingGroups![0]!.Instances![0]!.InstanceId!;
    const isProtected = async (): Promise<boolean> =>
      (await asg.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [instanceId] }))).AutoScalingInstances![0]!.ProtectedFromScaleIn!;

    // A stand-in for the instance metadata service (IMDSv2: token, then metadata with the token).
    const token = randomBytes(8).toString('hex');
    imds = createServer((req, res) => {
      if (req.method === 'PUT' && req.url === '/latest/api/token' && req.headers['x-aws-ec2-metadata-token-ttl-seconds']) return void res.end(token);
      if (req.headers['x-aws-ec2-metadata-token'] !== token) return void res.writeHead(401).end();
      const values: Record<string, string> = {
        '/latest/meta-data/instance-id': instanceId,
        '/latest/meta-data/placement/region': services.moto.region,
        '/latest/meta-data/tags/instance/aws:autoscaling:groupName': group,
      };
      const value = values[req.url ?? ''];
      if (value === undefined) return void res.writeHead(404).end();
      res.end(value);
    });
    await new Promise<void>((resolve) => imds!.listen(0, '127.0.0.1', resolve));
    const address = imds.address();
    const endpoint = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

    const protection = await AutoScalingInstanceProtection.fromInstanceMetadata({ endpoint, client: asg });
    expect(protection).toMatchObject({ instanceId, autoScalingGroupName: group });

    const queue = await createTestQueue(sqs);
    await sendBodies(sqs, queue.url, ['job']);
    let protectedDuringJob: boolean | undefined;
    const worker = new QueueWorker(base(queue.url, async () => {
      protectedDuringJob = await isProtected();
    }, { scaleInProtection: protection! }));
    await worker.start();
    expect(await until(() => worker.stats().deleted === 1, 10_000)).toBe(true);
    expect(protectedDuringJob).toBe(true);
    // Idle: the next empty receive lifts it.
    expect(await until(async () => !(await isProtected()), 10_000)).toBe(true);
    const stats = await worker.stop();
    expect(stats.protection).toEqual({ set: 1, lifted: 1, failures: 0 });

    // A worker that crashed while busy left its instance protected; the one systemd starts again (a new process, on an
    // empty queue) lifts it at its first idle poll, so the idle instance can be scaled in again
    await protection!.setProtected(true);
    expect(await isProtected()).toBe(true);
    const restarted = new QueueWorker(base(queue.url, async () => undefined, { scaleInProtection: protection! }));
    await restarted.start();
    expect(await until(async () => !(await isProtected()), 10_000)).toBe(true);
    expect((await restarted.stop()).protection).toEqual({ set: 0, lifted: 1, failures: 0 });
    asg.destroy();
  });

  it('finds no group when no metadata service answers', async () => {
    expect(await AutoScalingInstanceProtection.fromInstanceMetadata({ endpoint: 'http://127.0.0.1:1', timeoutMs: 500 })).toBeUndefined();
  });
});

describe('QueueWorker waits until its instance is InService before receiving', () => {
  const asg = new AutoScalingClient(motoClientConfig(services));
  afterAll(() => asg.destroy());

  it('receives nothing while the target state is not InService, nor while the group has not put the instance in service', async () => {
    // GIVEN a worker on an instance of a (moto) Auto Scaling group, in a warm pool at first (target Warmed:Running)
    const { group, instanceId } = await motoGroup(asg);
    let target = 'Warmed:Running';
    const imds = await startImds(() => ({ 'autoscaling/target-lifecycle-state': target }));
    const queue = await createTestQueue(sqs, { visibilityTimeout: 30 });
    await sendBodies(sqs, queue.url, ['job']);
    const receiveCounts: number[] = [];
    const lifecycle = new AutoScalingInstanceLifecycle({ instanceId, metadata: { endpoint: imds.endpoint }, client: asg });
    const worker = new QueueWorker(base(queue.url, (m) => { receiveCounts.push(m.receiveCount); }, {
      waitForInService: lifecycle, inServicePollMs: 200, scaleInProtection: new AutoScalingInstanceProtection({ instanceId, autoScalingGroupName: group, client: asg }),
    }));
    try {
      await worker.start();
      expect(await until(() => (imds.hits.get('autoscaling/target-lifecycle-state') ?? 0) >= 3, 10_000)).toBe(true);
      // THEN it has not received (a receive would make the message in flight, and count towards maxReceiveCount)
      expect(await queueCounts(queue.url)).toEqual({ visible: 1, inFlight: 0 });
      expect(await lifecycle.lifecycleState()).toBe('InService');

      // WHEN it is launched into service: the launching hook holds it (Pending:Wait) while the target already reads
      // InService. moto cannot hold an instance in Pending:Wait; Standby stands in for "not InService yet".
      await asg.send(new EnterStandbyCommand({ AutoScalingGroupName: group, InstanceIds: [instanceId], ShouldDecrementDesiredCapacity: true }));
      target = 'InService';
      const polled = imds.hits.get('autoscaling/target-lifecycle-state')!;
      expect(await until(() => imds.hits.get('autoscaling/target-lifecycle-state')! >= polled + 3, 10_000)).toBe(true);
      // THEN still nothing received
      expect(await queueCounts(queue.url)).toEqual({ visible: 1, inFlight: 0 });
      expect(worker.stats().received).toBe(0);

      // WHEN the group puts it in service
      await asg.send(new ExitStandbyCommand({ AutoScalingGroupName: group, InstanceIds: [instanceId] }));
      // THEN it receives the message for the first time (receive count 1), protected, and deletes it
      expect(await until(() => worker.stats().deleted === 1, 10_000)).toBe(true);
      const stats = await worker.stop();
      expect(receiveCounts).toEqual([1]);
      expect(stats).toMatchObject({ received: 1, handedBack: 0, protection: { set: 1, failures: 0 } });
      expect(errors.filter((e) => e.startsWith('lifecycle state'))).toEqual([]);
    } finally {
      await worker.stop();
      await imds.close();
    }
  });

  it("with 'auto': receives at once off EC2 (no metadata service) and on an instance in no group (no target state)", async () => {
    const queue = await createTestQueue(sqs);
    await sendBodies(sqs, queue.url, ['a']);
    const offEc2 = new QueueWorker(base(queue.url, () => undefined, { waitForInService: 'auto', instanceMetadata: { endpoint: 'http://127.0.0.1:1', timeoutMs: 300 }, inServicePollMs: 60_000 }));
    await offEc2.start();
    expect(await until(() => offEc2.stats().deleted === 1, 10_000)).toBe(true);
    await offEc2.stop();

    // An EC2 instance outside Auto Scaling: metadata answers, without autoscaling/target-lifecycle-state. (A queue of
    // its own: moto keeps serving the long poll the first worker aborted when it stopped, and would take 'c'.)
    const other = await createTestQueue(sqs);
    await sendBodies(sqs, other.url, ['c']);
    const imds = await startImds(() => ({ 'instance-id': 'i-0123456789abcdef0', 'placement/region': services.moto.region }));
    const plain = new QueueWorker(base(other.url, () => undefined, { waitForInService: 'auto', instanceMetadata: { endpoint: imds.endpoint }, inServicePollMs: 60_000 }));
    try {
      await plain.start();
      expect(await until(() => plain.stats().deleted === 1, 10_000)).toBe(true);
      expect(imds.hits.get('autoscaling/target-lifecycle-state')).toBe(1);
    } finally {
      await plain.stop();
      await imds.close();
    }
  });

  it('stops waiting at once when stopped, having received nothing', async () => {
    const queue = await createTestQueue(sqs);
    await sendBodies(sqs, queue.url, ['job']);
    let reads = 0;
    const pending: InstanceLifecycle = { isInService: async () => { reads++; return false; } };
    const worker = new QueueWorker(base(queue.url, () => undefined, { waitForInService: pending, inServicePollMs: 60_000 }));
    await worker.start();
    expect(await until(() => reads === 1, 5_000)).toBe(true);
    const before = Date.now();
    const stats = await worker.stop();
    expect(Date.now() - before).toBeLessThan(1_000);
    expect(stats.received).toBe(0);
    expect(await queueCounts(queue.url)).toEqual({ visible: 1, inFlight: 0 });
  });

  it('receives anyway after the state could not be read 3 times in a row (no permission), saying so', async () => {
    const queue = await createTestQueue(sqs);
    await sendBodies(sqs, queue.url, ['job']);
    const reported = errors.length;
    const denied: InstanceLifecycle = { isInService: async () => { throw new Error('AccessDenied: autoscaling:DescribeAutoScalingInstances'); } };
    const worker = new QueueWorker(base(queue.url, () => undefined, { waitForInService: denied, inServicePollMs: 100 }));
    await worker.start();
    expect(await until(() => worker.stats().deleted === 1, 10_000)).toBe(true);
    await worker.stop();
    const said = errors.slice(reported);
    expect(said.filter((e) => /AccessDenied/.test(e))).toHaveLength(3);
    expect(said).toContainEqual(expect.stringMatching(/could not be read 3 times in a row: receiving without waiting for InService/));
  });
});

describe('QueueWorker drain on SIGTERM (a child process, signalled by its pid)', () => {
  const script = join(__dirname, 'fixtures', 'worker-child.ts');

  async function runChild(queueUrl: string, settings: { concurrency: number; jobMs: number; drainMs: number }): Promise<{ events: { event: string; id?: string; stats?: Record<string, number> }[]; code: number | null }> {
    const { child, events, stderr: errors, exited } = spawnEventChild<{ event: string; id?: string; stats?: Record<string, number> }>(script, {
      QUEUE_URL: queueUrl, MOTO_ENDPOINT: services.moto.endpoint, CONCURRENCY: String(settings.concurrency), JOB_MS: String(settings.jobMs), DRAIN_MS: String(settings.drainMs),
    });
    try {
      const started = await until(() => events.filter((e) => e.event === 'start').length >= settings.concurrency, 30_000);
      if (!started) throw new Error(`the worker child did not start ${settings.concurrency} jobs: ${JSON.stringify(events)}\n${errors()}`);
      process.kill(child.pid!, 'SIGTERM');
      const code = await Promise.race([exited, sleep(30_000).then(() => 'timeout' as const)]);
      if (code === 'timeout') throw new Error(`the worker child did not exit within 30 s of SIGTERM: ${JSON.stringify(events)}\n${errors()}`);
      return { events, code };
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }

  it('finishes in-flight jobs within the deadline, deletes them, and leaves the rest in the queue: no message lost', async () => {
    const queue = await createTestQueue(sqs, { visibilityTimeout: 30 });
    const ids = await sendBodies(sqs, queue.url, Array.from({ length: 20 }, (_, i) => `job-${i}`));
    const { events, code } = await runChild(queue.url, { concurrency: 4, jobMs: 1_000, drainMs: 10_000 });
    expect(code).toBe(0);
    const started = events.filter((e) => e.event === 'start').map((e) => e.id!);
    const done = new Set(events.filter((e) => e.event === 'done').map((e) => e.id!));
    const stats = events.find((e) => e.event === 'stopped')!.stats!;
    expect(new Set(started)).toEqual(done);
    expect(stats).toMatchObject({ handedBack: 0, deleted: done.size, inFlight: 0 });
    expect(stats.maxInFlight).toBeLessThanOrEqual(4);
    // Everything not done is still in the queue, visible now (never received, or handed back).
    const rest = await receiveAll(sqs, queue.url, ids.length - done.size, 10_000);
    const all = new Set([...done, ...rest.map((m) => m.MessageId!)]);
    expect(all).toEqual(new Set(ids));
    expect(done.size + rest.length).toBe(ids.length);
  });

  it('hands jobs that outlive the deadline back (visibility 0) so another worker takes them at once: no message lost', async () => {
    const queue = await createTestQueue(sqs, { visibilityTimeout: 60 });
    const ids = await sendBodies(sqs, queue.url, Array.from({ length: 12 }, (_, i) => `long-${i}`));
    const { events, code } = await runChild(queue.url, { concurrency: 3, jobMs: 60_000, drainMs: 300 });
    expect(code).toBe(0);
    const started = new Set(events.filter((e) => e.event === 'start').map((e) => e.id!));
    const aborted = new Set(events.filter((e) => e.event === 'aborted').map((e) => e.id!));
    const stats = events.find((e) => e.event === 'stopped')!.stats!;
    expect(started.size).toBe(3);
    expect(aborted).toEqual(started);
    expect(stats).toMatchObject({ handedBack: 3, deleted: 0, succeeded: 0 });
    // With a 60 s visibility timeout, only a hand-back makes them receivable within these 10 s.
    const rest = await receiveAll(sqs, queue.url, ids.length, 10_000);
    expect(new Set(rest.map((m) => m.MessageId!))).toEqual(new Set(ids));
  });
});
