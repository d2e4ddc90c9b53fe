/**
 * The assumptions of the variable part of a cost estimate (what a stated load adds to the floor). Every one is
 * printed with the estimate and can be overridden (`s2m cost --requests-per-month`, `--assume key=value`).
 */
import { notDecimal, parseDecimal } from '../capacity/numbers';

/** What the load part of an estimate assumes. */
export interface CostAssumptions {
  /** Dynamic and static requests viewers make in a month, all regions together. */
  readonly requestsPerMonth: number;
  /** Average response size, bytes (what viewers download per request). */
  readonly bytesPerRequest: number;
  /** Share of requests the CDN answers from its cache without reaching a load balancer (only with an edge). */
  readonly cacheHitRatio: number;
  /** Average load balancer capacity units per load balancer; undefined computes them from requests, bytes and connections. */
  readonly albLcus?: number;
  /** New connections a load balancer accepts per request (keep-alive and HTTP/2 reuse make it well below 1). */
  readonly newConnectionsPerRequest: number;
  /** Bytes through a NAT gateway per request that reaches a server (calls to third-party APIs, AWS APIs without endpoints). */
  readonly natBytesPerRequest: number;
  /** Bytes between a server and the database or cache per request (a share crosses availability zones). */
  readonly backendBytesPerRequest: number;
  /** Application log bytes sent to CloudWatch Logs per request that reaches a server. */
  readonly logBytesPerRequest: number;
  /** VPC flow log bytes per request that reaches a server. */
  readonly flowLogBytesPerRequest: number;
  /** WAF log bytes per request a web ACL inspects. */
  readonly wafLogBytesPerRequest: number;
  /** Background jobs (queue messages) per request that reaches a server. */
  readonly jobsPerRequest: number;
  /** Data stored in each Aurora cluster, GB (global secondaries hold a copy each). */
  readonly databaseGb: number;
  /** Aurora storage I/O operations per request that reaches a server (Standard storage only; I/O-Optimized has none). */
  readonly databaseIoPerRequest: number;
  /** Write I/O per request replicated to each global database secondary. */
  readonly databaseWriteIoPerRequest: number;
  /** Average ACUs of each Serverless v2 instance at the stated load; undefined keeps the cluster's minimum. */
  readonly serverlessAcus?: number;
  /** Bytes of one enhanced monitoring sample of an Aurora instance (CloudWatch Logs `RDSOSMetrics`). */
  readonly enhancedMonitoringBytesPerSample: number;
}

/** The defaults: a small but real product, 10 million requests a month (about 4 a second on average). */
export const DEFAULT_ASSUMPTIONS: CostAssumptions = {
  requestsPerMonth: 10_000_000,
  bytesPerRequest: 50_000,
  cacheHitRatio: 0.5,
  newConnectionsPerRequest: 0.1,
  natBytesPerRequest: 2_000,
  backendBytesPerRequest: 10_000,
  logBytesPerRequest: 500,
  flowLogBytesPerRequest: 300,
  wafLogBytesPerRequest: 1_500,
  jobsPerRequest: 0.05,
  databaseGb: 20,
  databaseIoPerRequest: 2,
  databaseWriteIoPerRequest: 0.5,
  enhancedMonitoringBytesPerSample: 5_000,
};

/** One assumption: its key, what it means, its unit and the CLI flag that sets it. */
export interface AssumptionInfo {
  readonly key: keyof CostAssumptions;
  readonly label: string;
  readonly unit: string;
  /** The dedicated flag, when there is one (every key is also accepted by `--assume key=value`). */
  readonly flag?: string;
  /** Share (0-1) rather than any non-negative number. */
  readonly ratio?: boolean;
}

/** Every assumption, in the order the estimate prints them. */
export const ASSUMPTIONS: readonly AssumptionInfo[] = [
  { key: 'requestsPerMonth', label: 'requests per month (all regions)', unit: 'requests', flag: '--requests-per-month' },
  { key: 'bytesPerRequest', label: 'response size', unit: 'bytes/request', flag: '--bytes-per-request' },
  { key: 'cacheHitRatio', label: 'CDN cache hit ratio (with an edge)', unit: 'share', flag: '--cache-hit-ratio', ratio: true },
  { key: 'albLcus', label: 'load balancer capacity units (average per ALB)', unit: 'LCU', flag: '--alb-lcus' },
  { key: 'newConnectionsPerRequest', label: 'new load balancer connections', unit: 'per request' },
  { key: 'natBytesPerRequest', label: 'NAT gateway traffic', unit: 'bytes/request' },
  { key: 'backendBytesPerRequest', label: 'server ↔ database/cache traffic', unit: 'bytes/request' },
  { key: 'logBytesPerRequest', label: 'application logs to CloudWatch Logs', unit: 'bytes/request' },
  { key: 'flowLogBytesPerRequest', label: 'VPC flow logs', unit: 'bytes/request' },
  { key: 'wafLogBytesPerRequest', label: 'WAF logs', unit: 'bytes/request' },
  { key: 'jobsPerRequest', label: 'background jobs', unit: 'per request' },
  { key: 'databaseGb', label: 'data per Aurora cluster', unit: 'GB' },
  { key: 'databaseIoPerRequest', label: 'Aurora I/O (Standard storage)', unit: 'per request' },
  { key: 'databaseWriteIoPerRequest', label: 'Aurora write I/O replicated to each global secondary', unit: 'per request' },
  { key: 'serverlessAcus', label: 'Serverless v2 capacity at this load (average per instance)', unit: 'ACU' },
  { key: 'enhancedMonitoringBytesPerSample', label: 'Aurora enhanced monitoring sample', unit: 'bytes' },
];

/** A bad assumption: which one, and why. */
export class AssumptionError extends Error {
  constructor(public readonly key: string, message: string) {
    super(message);
    this.name = 'AssumptionError';
  }
}

/**
 * Checks `overrides` (any subset of the assumptions, e.g. parsed from `--assume`) and fills in the defaults.
 * Throws an {@link AssumptionError} naming the key (as `nameOf` names it, by default its flag) and the value received.
 */
export function resolveAssumptions(overrides: Readonly<Record<string, unknown>> = {}, nameOf: (info: AssumptionInfo) => string = (info) => info.flag ?? info.key): CostAssumptions {
  const out: Record<string, number | undefined> = { ...DEFAULT_ASSUMPTIONS };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    const info = ASSUMPTIONS.find((a) => a.key === key);
    if (!info) throw new AssumptionError(key, `unknown assumption ${key} (known: ${ASSUMPTIONS.map((a) => a.key).join(', ')})`);
    const digits = typeof value === 'string' ? value.replace(/_/g, '') : '';
    const n = typeof value === 'number' ? value : (parseDecimal(digits) ?? NaN);
    const name = nameOf(info);
    if (!Number.isFinite(n)) throw new AssumptionError(key, notDecimal(name, digits, String(value)));
    if (n < 0) throw new AssumptionError(key, `${name} must be at least 0 (got: ${String(value)})`);
    if (info.ratio && n > 1) throw new AssumptionError(key, `${name} must be between 0 and 1 (got: ${String(value)})`);
    if (key === 'serverlessAcus' && (n < 0.5 || n > 256)) throw new AssumptionError(key, `${name} must be between 0.5 and 256 ACUs (got: ${String(value)})`);
    out[key] = n;
  }
  return out as unknown as CostAssumptions;
}

/** Parses `key=value,key=value` (the `--assume` flag) into overrides; throws an {@link AssumptionError} on a malformed pair. */
export function parseAssumePairs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new AssumptionError(part, `--assume takes key=value pairs like bytesPerRequest=20000 (got: ${part})`);
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}
