/**
 * `s2m logs`: the application log of one fleet (a web service's, or a queue's workers') in one region, every
 * instance interleaved by time, optionally filtered (CloudWatch Logs filter pattern) and followed.
 */
import { FilterLogEventsCommand, type CloudWatchLogsClient, type FilteredLogEvent } from '@aws-sdk/client-cloudwatch-logs';
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { OutputKeys } from '../outputs';
import { CliError, ExitCode, classifyAwsError } from './errors';
import { withRetry, type Clock, type RetryOptions } from './retry';
import { cliStackNames, readStackOutputs } from './stacks';

/**
 * How far back each read of `--follow` starts before the newest event written: instances deliver their logs through
 * the CloudWatch agent a few seconds apart, so an event can arrive after a newer one was printed.
 */
export const FOLLOW_OVERLAP_MS = 10_000;

/** What `runLogs` needs from the outside world. */
export interface FleetLogsDeps {
  readonly cloudFormation: (region: string) => CloudFormationClient;
  readonly logs: (region: string) => CloudWatchLogsClient;
  readonly clock: Clock;
  /** Random in [0, 1) for retry jitter. @default Math.random */
  readonly random?: () => number;
  /** Receives each event as one line. */
  readonly write: (line: string) => void;
  /** Stops `follow` (Ctrl-C). @default - never: follow runs until the process ends */
  readonly signal?: AbortSignal;
}

/** Options of {@link runLogs}. */
export interface FleetLogsOptions {
  /** The app name. */
  readonly name: string;
  /** The service, or the queue whose workers' log to read. */
  readonly service: string;
  /** Services and queues of the config, for the error when `service` is neither. */
  readonly services: readonly string[];
  readonly queues: readonly string[];
  readonly region: string;
  /** How far back the first read starts, in seconds. */
  readonly sinceSeconds: number;
  /** A CloudWatch Logs filter pattern, e.g. `ERROR` or `"status=500"`. @default - every event */
  readonly filterPattern?: string;
  /** Keep reading new events every `pollIntervalMs`. @default false */
  readonly follow?: boolean;
  /** @default 2000 */
  readonly pollIntervalMs?: number;
  /** The first read stops after this many events (the newest window is then shorter). @default 10000 */
  readonly maxEvents?: number;
}

/** Reads (and with `follow`, keeps reading) the fleet's log group; returns the number of events written. */
export async function runLogs(deps: FleetLogsDeps, o: FleetLogsOptions): Promise<number> {
  const isService = o.services.includes(o.service);
  const isQueue = o.queues.includes(o.service);
  if (!isService && !isQueue) {
    throw new CliError(`--service must be a service or a queue of the config (services: ${o.services.join(', ') || 'none'}; queues: ${o.queues.join(', ') || 'none'}) (got: ${o.service})`, ExitCode.usage);
  }
  const retry: RetryOptions = { clock: deps.clock, ...(deps.random ? { random: deps.random } : {}) };
  const stack = cliStackNames.app(o.name, o.region);
  const outputs = await readStackOutputs(deps.cloudFormation(o.region), o.region, stack, retry);
  const key = isService ? OutputKeys.logGroupName(o.service) : OutputKeys.workerLogGroupName(o.service);
  const logGroupName = outputs[key];
  if (!logGroupName) {
    throw new CliError(`stack ${stack} in ${o.region} has no output ${key}: deploy it with this version first (npx cdk deploy ${stack})`, ExitCode.stackMissing);
  }
  const client = deps.logs(o.region);
  const fetch = (startTime: number, nextToken?: string) => withRetry(() => client.send(new FilterLogEventsCommand({
    logGroupName,
    startTime,
    ...(o.filterPattern ? { filterPattern: o.filterPattern } : {}),
    ...(nextToken ? { nextToken } : {}),
  })), retry).catch((e: unknown) => {
    throw classifyAwsError(e, { region: o.region, action: 'logs:FilterLogEvents' });
  });

  const maxEvents = o.maxEvents ?? 10_000;
  let written = 0;
  const windowStart = deps.clock.now().getTime() - o.sinceSeconds * 1000;
  let since = windowStart;
  // Events already written, by id, with their timestamps: a read starts FOLLOW_OVERLAP_MS before the newest one, so an
  // event an instance delivered late (its timestamp older than one already written) still appears, once.
  const seen = new Map<string, number>();
  const emit = (events: FilteredLogEvent[]) => {
    for (const e of [...events].sort((a, b) => (a.timestamp ?? 0) - (b.timestamp ?? 0))) {
      const ts = e.timestamp ?? 0;
      // (the API marks eventId optional: an event without one is told apart by its stream, time and text)
      const id = e.eventId ?? `${e.logStreamName ?? ''}\n${ts}\n${e.message ?? ''}`;
      if (seen.has(id)) continue;
      if (ts > since) since = ts;
      seen.set(id, ts);
      deps.write(`${new Date(ts).toISOString()} ${e.logStreamName ?? '-'} ${(e.message ?? '').trimEnd()}`);
      written++;
    }
    for (const [id, ts] of seen) if (ts < since - FOLLOW_OVERLAP_MS) seen.delete(id);
  };

  let first = true;
  const readAll = async (limit: number) => {
    // One start for every page: a next token belongs to the request that returned it.
    const start = first ? since : Math.max(windowStart, since - FOLLOW_OVERLAP_MS);
    first = false;
    let token: string | undefined;
    let count = 0;
    do {
      const page = await fetch(start, token);
      const events = page.events ?? [];
      emit(events);
      count += events.length;
      token = page.nextToken;
    } while (token && count < limit);
  };

  await readAll(maxEvents);
  if (!o.follow) return written;
  while (!deps.signal?.aborted) {
    await deps.clock.sleep(o.pollIntervalMs ?? 2000);
    if (deps.signal?.aborted) break;
    await readAll(Number.POSITIVE_INFINITY);
  }
  return written;
}
