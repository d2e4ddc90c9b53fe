import { WORK_QUEUE_DEFAULTS, defaultVisibilityTimeoutSeconds, minimumVisibilityTimeoutSeconds } from '../../../constructs/work-queue/defaults';
import { at, type Checker } from '../check';
import { checkEc2InstanceType } from '../instance-types';
import { FLEET_FIELD_KEYS, resolveFleetFields, type FleetFieldsConfig, type FleetFieldsInput } from './application';
import { PRESETS } from '../presets';
import type { Stage } from '../types';

/** The worker fleet that drains a queue. */
export interface WorkersInput extends FleetFieldsInput {
  /** EC2 instance type of the workers, e.g. `m7g.large`. @default - stage preset (`queues.workers.instanceType`) */
  readonly instanceType?: string;
  /** Fewest workers; 0 lets the fleet sleep while the queue is empty. @default - stage preset */
  readonly minCapacity?: number;
  /** Most workers. @default - stage preset */
  readonly maxCapacity?: number;
}

/** One queue of slow work (`queues[]`), its dead-letter queue and its worker fleet, in every region. */
export interface QueueInput {
  /** Lowercase name, unique: `[a-z][a-z0-9-]*`, at most 20 characters (part of construct ids and output keys). */
  readonly name: string;
  /** A FIFO queue (and FIFO dead-letter queue). @default false */
  readonly fifo?: boolean;
  /** FIFO only: deduplicate on the message body. @default false */
  readonly contentBasedDeduplication?: boolean;
  /** Receives before a message moves to the dead-letter queue (1-1000). @default 5 */
  readonly maxReceiveCount?: number;
  /** Days the queue keeps a message (1-13; the dead-letter queue keeps 14). @default 4 */
  readonly retentionDays?: number;
  /** Average seconds a worker spends on one message. @default 10 */
  readonly averageProcessingSeconds?: number;
  /** Longest seconds a worker may spend on one message. @default - unknown */
  readonly maxProcessingSeconds?: number;
  /** Seconds a message may wait before a worker picks it up; the scaling target is this ÷ `averageProcessingSeconds`. @default 300 */
  readonly acceptableLatencySeconds?: number;
  /**
   * Visibility timeout in seconds; at least 6 × `averageProcessingSeconds` and `maxProcessingSeconds` + 30.
   * @default - the smallest such value, at least 30
   */
  readonly visibilityTimeoutSeconds?: number;
  /** Encryption at rest: SQS-managed keys or a customer managed KMS key. @default 'sqs-managed' */
  readonly encryption?: 'sqs-managed' | 'kms';
  /** The worker fleet. @default - stage preset */
  readonly workers?: WorkersInput;
}

/** A worker fleet's size (the stage presets set it). */
export interface WorkersSize {
  readonly instanceType: string;
  readonly minCapacity: number;
  readonly maxCapacity: number;
}

/** A worker fleet with its defaults resolved. */
export interface WorkersConfig extends WorkersSize, FleetFieldsConfig {}

/** A queue with its defaults resolved. */
export interface QueueConfig {
  readonly name: string;
  readonly fifo: boolean;
  readonly contentBasedDeduplication: boolean;
  readonly maxReceiveCount: number;
  readonly retentionDays: number;
  readonly averageProcessingSeconds: number;
  readonly maxProcessingSeconds?: number;
  readonly acceptableLatencySeconds: number;
  readonly visibilityTimeoutSeconds: number;
  readonly encryption: 'sqs-managed' | 'kms';
  readonly workers: WorkersConfig;
}

const QUEUE_KEYS = [
  'name', 'fifo', 'contentBasedDeduplication', 'maxReceiveCount', 'retentionDays', 'averageProcessingSeconds',
  'maxProcessingSeconds', 'acceptableLatencySeconds', 'visibilityTimeoutSeconds', 'encryption', 'workers',
] as const;
const WORKER_KEYS = ['instanceType', 'minCapacity', 'maxCapacity', ...FLEET_FIELD_KEYS] as const;
const NAME = /^[a-z][a-z0-9-]*$/;

/**
 * Validates `queues` (absent = no queues) and fills in the defaults; every problem is recorded on `c`.
 * `instanceTypePattern` is the config's EC2 instance type pattern.
 */
export function resolveQueues(c: Checker, raw: unknown, stage: Stage, instanceTypePattern: RegExp, regions: readonly string[] = []): QueueConfig[] {
  const preset = PRESETS[stage].queues.workers;
  const list = c.array('queues', raw) ?? [];
  const out: QueueConfig[] = [];
  const names = new Map<string, string>();
  list.forEach((item, i) => {
    const p = at('queues', i);
    const o = c.object(p, item, QUEUE_KEYS, true);
    if (!o) return;
    const name = c.string(at(p, 'name'), o.name, { required: true, pattern: NAME, what: 'lowercase letters, digits and dashes, starting with a letter' });
    if (name !== undefined && name.length > 20) c.fail(at(p, 'name'), 'must be at most 20 characters', name);
    if (name !== undefined) {
      if (names.has(name)) c.fail(at(p, 'name'), `duplicate queue name (also at ${names.get(name)})`, name);
      names.set(name, p);
    }
    const fifo = c.boolean(at(p, 'fifo'), o.fifo) ?? false;
    const contentBasedDeduplication = c.boolean(at(p, 'contentBasedDeduplication'), o.contentBasedDeduplication) ?? false;
    if (contentBasedDeduplication && !fifo) c.fail(at(p, 'contentBasedDeduplication'), 'needs fifo: true', contentBasedDeduplication);
    const maxReceiveCount = c.number(at(p, 'maxReceiveCount'), o.maxReceiveCount, { integer: true, min: 1, max: 1000 }) ?? WORK_QUEUE_DEFAULTS.maxReceiveCount;
    const retentionDays = c.number(at(p, 'retentionDays'), o.retentionDays, { integer: true, min: 1, max: 13 }) ?? WORK_QUEUE_DEFAULTS.retentionPeriod.toDays();
    const averageProcessingSeconds = positive(c, at(p, 'averageProcessingSeconds'), o.averageProcessingSeconds) ?? WORK_QUEUE_DEFAULTS.averageProcessingTime.toSeconds();
    const maxProcessingSeconds = positive(c, at(p, 'maxProcessingSeconds'), o.maxProcessingSeconds);
    if (maxProcessingSeconds !== undefined && maxProcessingSeconds < averageProcessingSeconds) {
      c.fail(at(p, 'maxProcessingSeconds'), `must not be below averageProcessingSeconds (${averageProcessingSeconds})`, maxProcessingSeconds);
    }
    const acceptableLatencySeconds = positive(c, at(p, 'acceptableLatencySeconds'), o.acceptableLatencySeconds) ?? WORK_QUEUE_DEFAULTS.acceptableLatency.toSeconds();
    if (acceptableLatencySeconds < averageProcessingSeconds) {
      c.fail(at(p, 'acceptableLatencySeconds'), `must be at least averageProcessingSeconds (${averageProcessingSeconds}): the scaling target, latency ÷ processing time, must be at least 1 message per worker`, acceptableLatencySeconds);
    }
    const minVisibility = minimumVisibilityTimeoutSeconds(averageProcessingSeconds, maxProcessingSeconds);
    const maxVisibility = WORK_QUEUE_DEFAULTS.maximumVisibilityTimeout.toSeconds();
    const visibility = c.number(at(p, 'visibilityTimeoutSeconds'), o.visibilityTimeoutSeconds, { integer: true, min: 0, max: maxVisibility });
    if (visibility !== undefined && visibility < minVisibility) {
      c.fail(at(p, 'visibilityTimeoutSeconds'), `must be comfortably above the processing time: at least ${minVisibility} (6 × averageProcessingSeconds${maxProcessingSeconds !== undefined ? ', maxProcessingSeconds + 30' : ''})`, visibility);
    }
    if (visibility === undefined && minVisibility > maxVisibility) {
      c.fail(at(p, 'averageProcessingSeconds'), `needs a visibility timeout of ${minVisibility} s, above the SQS maximum of ${maxVisibility} s`, averageProcessingSeconds);
    }
    const encryption = (c.string(at(p, 'encryption'), o.encryption, { oneOf: ['sqs-managed', 'kms'] }) ?? 'sqs-managed') as 'sqs-managed' | 'kms';
    const visibilityTimeoutSeconds = visibility ?? defaultVisibilityTimeoutSeconds(averageProcessingSeconds, maxProcessingSeconds);
    const workers = resolveWorkers(c, at(p, 'workers'), o.workers, preset, instanceTypePattern, regions, { maxReceiveCount, visibilityTimeoutSeconds });
    if (name === undefined) return;
    out.push({
      name, fifo, contentBasedDeduplication, maxReceiveCount, retentionDays, averageProcessingSeconds,
      ...(maxProcessingSeconds !== undefined ? { maxProcessingSeconds } : {}),
      acceptableLatencySeconds,
      visibilityTimeoutSeconds,
      encryption, workers,
    });
  });
  return out;
}

function positive(c: Checker, path: string, v: unknown): number | undefined {
  const n = c.number(path, v, { max: 43200 });
  if (n !== undefined && !(n > 0)) return c.fail(path, 'must be a positive number of seconds', n);
  return n;
}

function resolveWorkers(c: Checker, path: string, raw: unknown, preset: WorkersSize, instanceTypePattern: RegExp, regions: readonly string[], queue: { maxReceiveCount: number; visibilityTimeoutSeconds: number }): WorkersConfig {
  const o = c.object(path, raw, WORKER_KEYS) ?? {};
  const writtenType = c.string(at(path, 'instanceType'), o.instanceType, { pattern: instanceTypePattern, what: 'an EC2 instance type like m7g.large' });
  if (writtenType !== undefined) checkEc2InstanceType(c, at(path, 'instanceType'), writtenType);
  const instanceType = writtenType ?? preset.instanceType;
  const minCapacity = c.number(at(path, 'minCapacity'), o.minCapacity, { integer: true, min: 0, max: 1000 }) ?? preset.minCapacity;
  const maxCapacity = c.number(at(path, 'maxCapacity'), o.maxCapacity, { integer: true, min: 1, max: 1000 }) ?? Math.max(preset.maxCapacity, minCapacity, 1);
  if (minCapacity > maxCapacity) c.fail(at(path, 'maxCapacity'), `must not be below minCapacity (${minCapacity})`, maxCapacity);
  const fleet = resolveFleetFields(c, path, o, { role: 'worker', regions, instanceType, instanceTypePattern, warmPool: false, queue });
  return { instanceType, minCapacity, maxCapacity, ...fleet };
}
