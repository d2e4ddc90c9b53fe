/**
 * QueueWorker throughput vs a raw receive/delete loop, against the same moto_server queue (started here on loopback,
 * stopped by its pid). No goal is set: moto is a single-threaded Python server, so the absolute figures say
 * little about SQS; the ratio says what the worker's machinery (heartbeat timers, batching, bookkeeping) costs
 * or gains against the simplest correct loop.
 *
 *   npx tsx bench/worker.bench.ts
 *
 * A: one receive of up to 10 messages, then one DeleteMessageBatch, repeated. B: `QueueWorker` with concurrency 10
 * and a no-op handler. Each round fills a fresh queue with the same number of messages (not timed) and times the
 * drain; rounds alternate A and B. Writes `.bench/worker.json`.
 */
import { CreateQueueCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { QueueWorker } from '../lib/runtime';
import { runCleanups, startMoto, type Cleanup } from '../test/integration/services';

const MESSAGES = 200;
const PAIRS = 3;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** A fresh queue (with a dead-letter queue, as the WorkQueue construct makes) holding MESSAGES messages. */
async function filledQueue(sqs: SQSClient, round: number): Promise<string> {
  const dlq = (await sqs.send(new CreateQueueCommand({ QueueName: `bench-${round}-dlq` }))).QueueUrl!;
  const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  const url = (await sqs.send(new CreateQueueCommand({
    QueueName: `bench-${round}`,
    Attributes: { VisibilityTimeout: '60', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 5 }) },
  }))).QueueUrl!;
  for (let i = 0; i < MESSAGES; i += 10) {
    const out = await sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: Array.from({ length: 10 }, (_, j) => ({ Id: String(j), MessageBody: JSON.stringify({ n: i + j }) })) }));
    if (out.Failed?.length) throw new Error(`SendMessageBatch failed: ${JSON.stringify(out.Failed)}`);
  }
  const visible = Number((await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }))).Attributes?.ApproximateNumberOfMessages);
  if (visible !== MESSAGES) throw new Error(`bench queue holds ${visible} messages, expected ${MESSAGES}`);
  return url;
}

/** A: the raw loop. Returns messages per second. */
async function rawLoop(sqs: SQSClient, url: string): Promise<number> {
  const start = performance.now();
  let done = 0;
  for (let empty = 0; done < MESSAGES && empty < 5;) {
    const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    const messages = out.Messages ?? [];
    if (messages.length === 0) {
      empty++;
      continue;
    }
    for (const m of messages) JSON.parse(m.Body!);
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }));
    done += messages.length;
  }
  if (done !== MESSAGES) throw new Error(`raw loop drained ${done} of ${MESSAGES}`);
  return MESSAGES / ((performance.now() - start) / 1000);
}

/** B: the QueueWorker. Returns messages per second. */
async function worker(sqs: SQSClient, url: string): Promise<number> {
  const w = new QueueWorker({ queueUrl: url, sqs, concurrency: 10, waitTimeSeconds: 1, scaleInProtection: false, handler: (m) => { JSON.parse(m.body); } });
  const start = performance.now();
  await w.start();
  const deadline = Date.now() + 300_000;
  while (w.stats().deleted < MESSAGES && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  const elapsed = performance.now() - start;
  const stats = await w.stop();
  if (stats.deleted !== MESSAGES) throw new Error(`worker deleted ${stats.deleted} of ${MESSAGES}`);
  return MESSAGES / (elapsed / 1000);
}

async function main(): Promise<void> {
  const root = mkdtempSync(path.join(os.tmpdir(), 's2m-bench-worker-'));
  const cleanups: Cleanup[] = [() => rmSync(root, { recursive: true, force: true })];
  let sqs: SQSClient | undefined;
  try {
    const moto = await startMoto(root, cleanups);
    sqs = new SQSClient({ region: moto.region, endpoint: moto.endpoint, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
    const load = os.loadavg()[0]!;
    console.log(`worker benchmark: node ${process.version}, moto_server on loopback, ${MESSAGES} messages per round, ${os.cpus().length} cpus, load ${load.toFixed(2)}`);
    const raw: number[] = [];
    const sdk: number[] = [];
    let round = 0;
    for (let pair = 0; pair < PAIRS; pair++) {
      for (const which of pair % 2 === 0 ? ['raw', 'worker'] : ['worker', 'raw']) {
        const url = await filledQueue(sqs, round++);
        if (which === 'raw') raw.push(await rawLoop(sqs, url));
        else sdk.push(await worker(sqs, url));
      }
    }
    const ratios = raw.map((r, i) => sdk[i]! / r);
    const result = { rawPerSecond: median(raw), workerPerSecond: median(sdk), ratio: median(ratios) };
    console.log(`  raw receive/delete loop   ${result.rawPerSecond.toFixed(0).padStart(6)} msg/s`);
    console.log(`  QueueWorker (concurrency 10)   ${result.workerPerSecond.toFixed(0).padStart(6)} msg/s`);
    console.log(`  throughput ratio worker/raw ${result.ratio.toFixed(2)} (no goal; > 1 means faster than the raw loop)`);
    const out = path.join(process.cwd(), '.bench');
    mkdirSync(out, { recursive: true });
    writeFileSync(path.join(out, 'worker.json'), `${JSON.stringify({ date: new Date().toISOString(), load, messages: MESSAGES, raw, worker: sdk, ...result }, null, 2)}\n`);
  } finally {
    sqs?.destroy();
    await runCleanups(cleanups);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
