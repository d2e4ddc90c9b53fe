/** SQS helpers for the worker tests, on moto: work queues with a dead-letter queue, and a raw consumer. */
import {
  CreateQueueCommand, DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageBatchCommand, type Message, type SQSClient,
} from '@aws-sdk/client-sqs';
import { randomBytes } from 'node:crypto';

/** A work queue and its dead-letter queue. */
export interface TestQueue {
  readonly url: string;
  readonly deadLetterUrl: string;
  readonly name: string;
}

/**
 * Creates a queue with a redrive policy, as the WorkQueue construct does.
 *
 * @param sqs - a client on moto
 * @param options - visibility timeout (s), maxReceiveCount, fifo
 */
export async function createTestQueue(sqs: SQSClient, options: { visibilityTimeout?: number; maxReceiveCount?: number; fifo?: boolean } = {}): Promise<TestQueue> {
  const suffix = options.fifo ? '.fifo' : '';
  const name = `it-${randomBytes(5).toString('hex')}`;
  const fifoAttributes: Record<string, string> = options.fifo ? { FifoQueue: 'true', ContentBasedDeduplication: 'true' } : {};
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq${suffix}`, Attributes: fifoAttributes }));
  const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  const queue = await sqs.send(new CreateQueueCommand({
    QueueName: `${name}${suffix}`,
    Attributes: {
      ...fifoAttributes,
      VisibilityTimeout: String(options.visibilityTimeout ?? 30),
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: options.maxReceiveCount ?? 5 }),
    },
  }));
  return { url: queue.QueueUrl!, deadLetterUrl: dlq.QueueUrl!, name };
}

/**
 * Sends bodies in batches of 10.
 *
 * @returns the message ids, in order
 */
export async function sendBodies(sqs: SQSClient, url: string, bodies: string[], groupOf?: (i: number) => string): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < bodies.length; start += 10) {
    const chunk = bodies.slice(start, start + 10);
    const out = await sqs.send(new SendMessageBatchCommand({
      QueueUrl: url,
      Entries: chunk.map((body, i) => ({ Id: String(i), MessageBody: body, ...(groupOf ? { MessageGroupId: groupOf(start + i) } : {}) })),
    }));
    if (out.Failed?.length) throw new Error(`SendMessageBatch failed: ${JSON.stringify(out.Failed)}`);
    const byId = new Map(out.Successful!.map((s) => [s.Id!, s.MessageId!]));
    chunk.forEach((_, i) => ids.push(byId.get(String(i))!));
  }
  return ids;
}

/**
 * Receives (and deletes) until `expected` messages arrived or `timeoutMs` passed (bounded).
 *
 * @returns the messages received
 */
export async function receiveAll(sqs: SQSClient, url: string, expected: number, timeoutMs: number): Promise<Message[]> {
  const got: Message[] = [];
  const deadline = Date.now() + timeoutMs;
  while (got.length < expected && Date.now() < deadline) {
    const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageSystemAttributeNames: ['All'] }));
    for (const m of out.Messages ?? []) {
      got.push(m);
      await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
    }
  }
  return got;
}

/** Visible + in-flight + delayed messages of a queue. */
export async function queueDepth(sqs: SQSClient, url: string): Promise<number> {
  const a = (await sqs.send(new GetQueueAttributesCommand({
    QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
  }))).Attributes ?? {};
  return Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) + Number(a.ApproximateNumberOfMessagesDelayed ?? 0);
}
