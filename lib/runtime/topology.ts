/**
 * The application's view of what the stacks publish: SSM parameters under the app's prefix (names from
 * `contract.ts` only) and the secrets they point at, as typed endpoints.
 *
 * ```ts
 * const topology = await loadTopology();               // prefix and region from the environment file
 * topology.current.database?.writer;                   // 'shop-db.cluster-…rds.amazonaws.com'
 * topology.onChange((e) => log.info(`topology: ${e.kind} changed`));
 * ```
 *
 * - **Reads**: `GetParametersByPath` (recursive, paginated, decrypted) per tier path (`<prefix>/database`,
 *   `/cache`, `/sessions`, `/queues` or each `/queues/<name>`: that is how fleets are granted); the shard map
 *   through a {@link ShardMapLoader} (one `GetParameter`, its epoch policy: never backwards); the secrets the
 *   topology names (`GetSecretValue`).
 * - **Refresh**: the whole path every `refreshIntervalMs` (5 min), the shard map every
 *   `shardMapRefreshIntervalMs` (60 s), each ±10 % jitter, `setTimeout` chains that never overlap and are
 *   unref'd. A failed refresh keeps the last good topology and is reported to `onError`.
 * - **Changes**: a new epoch, moved endpoints or a rotated secret (new version id) emit a {@link TopologyChange};
 *   the database pools listen and pick the change up without a restart.
 * - The AWS SDK modules are imported on first use; clients can be injected.
 *
 * Throughput: Parameter Store's default quota is 40 transactions per second per account and region, shared by
 * `GetParameter` and `GetParametersByPath` (10 parameters per page). 1 000 instances at the defaults make about
 * 1000/300 × pages + 1000/60 ≈ 17 + 3.3 × pages per second. Raise the intervals (or the account's throughput
 * setting) for larger fleets.
 *
 * @module
 */

import type { SSMClient } from '@aws-sdk/client-ssm';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CACHE_KEYS, DATABASE_KEYS, QUEUE_KEYS, SESSION_KEYS, queuePrefix, shardPrefix, tierPrefix } from './contract';
import { readEnvironment, type RuntimeEnvironment } from './env';
import { formatReceived, parseShardMapJson } from './shard-map';
import { RefreshLoop, safeReport, systemClock, toError, type RefreshClock } from './refresh-loop';
import { ShardMapLoader } from './shard-map-loader';
import { ShardRouter } from './shard-router';

/** How application servers log in to a database. */
export type DatabaseAuthentication = 'iam' | 'password';

/** One database cluster (or shard) as published under `<prefix>/database` (or `<prefix>/database/shards/<id>`). */
export interface DatabaseEndpoints {
  /** Cluster (writer) endpoint host. */
  readonly writer: string;
  /** Reader endpoint host. @default - none: reads go to the writer */
  readonly reader?: string;
  /** RDS Proxy read/write endpoint host. */
  readonly proxy?: string;
  /** RDS Proxy read-only endpoint host. */
  readonly proxyReadOnly?: string;
  /** Port. */
  readonly port: number;
  /** Application database name. */
  readonly databaseName: string;
  /** Engine family. */
  readonly engine: 'postgres' | 'mysql';
  /** `iam` (a token per connection, user from the environment) or `password` (secret JSON). */
  readonly authentication: DatabaseAuthentication;
  /** The credentials secret (`username`, `password`), when authentication is `password`. */
  readonly secretArn?: string;
  /** `primary` (holds the writer) or `secondary` (a Global Database secondary). */
  readonly role: 'primary' | 'secondary';
  /** A secondary forwards writes to the primary region. */
  readonly writeForwarding: boolean;
  /**
   * The most connections of each forwarding pool the stacks budgeted for a process (`forwarding-pool-max`).
   * @default - none published: the runtime's own pool sizes
   */
  readonly forwardingPoolMax?: number;
  /**
   * The `statement_timeout` the application's database users have on the server, ms (`statement-timeout`): the
   * client query timeout defaults to it plus a margin (see `PoolOptions.queryTimeoutMs`).
   * @default - none published: the server's own (none on PostgreSQL), and a client timeout of 30 s
   */
  readonly statementTimeoutMs?: number;
  /** The parameter path these values were read from (for messages). */
  readonly source: string;
}

/** One shard: its id in the shard map and its endpoints. */
export interface ShardEndpoints extends DatabaseEndpoints {
  /** The shard id. */
  readonly id: string;
}

/** The sharded layout: the router over the published shard map and every listed shard's endpoints. */
export interface ShardTopology {
  /** The shard-map parameter. */
  readonly parameterName: string;
  /** The map's epoch. */
  readonly epoch: number;
  /** The router over the map (`ShardRouter`). */
  readonly router: ShardRouter;
  /** Endpoints of every shard in the map, by id. */
  readonly shards: ReadonlyMap<string, ShardEndpoints>;
}

/** The cache as published under `<prefix>/cache`. */
export interface CacheEndpoints {
  /** Configuration endpoint host (cluster mode). */
  readonly endpoint: string;
  /** Port. */
  readonly port: number;
  /** Clients must use TLS. */
  readonly tls: boolean;
  /** `rbac` or `auth-token`. */
  readonly authMode: 'rbac' | 'auth-token';
  /** RBAC user name. */
  readonly username?: string;
  /** The secret holding `password` (and `username` with RBAC). */
  readonly secretArn?: string;
}

/** One work queue as published under `<prefix>/queues/<name>`. */
export interface QueueEndpoints {
  /** The queue's name in the config (the path segment). */
  readonly name: string;
  /** Queue URL. */
  readonly url: string;
  /** Queue ARN. */
  readonly arn?: string;
  /** The SQS queue name. */
  readonly queueName?: string;
  /** URL of the dead-letter queue, when published. */
  readonly deadLetterUrl?: string;
}

/** What the session stores read, `<prefix>/sessions`. */
export interface SessionEndpoints {
  /** The secret sealing session tokens. */
  readonly secretArn: string;
}

/** A snapshot of everything published under the prefix. Immutable; a refresh makes a new one. */
export interface Topology {
  /** The parameter prefix, e.g. `/shop`. */
  readonly prefix: string;
  /** The region read. */
  readonly region: string;
  /** The database (shard 0 of a sharded app). */
  readonly database?: DatabaseEndpoints;
  /** The sharded layout, when a shard map is published. */
  readonly shards?: ShardTopology;
  /** The cache. */
  readonly cache?: CacheEndpoints;
  /** Work queues by name. */
  readonly queues: Readonly<Record<string, QueueEndpoints>>;
  /** Session sealing. */
  readonly sessions?: SessionEndpoints;
  /**
   * Parameters under the prefix this SDK does not read (published by a newer stack, or a typo). The loader
   * reports them once; a test of the contract asserts there are none.
   */
  readonly unrecognized: readonly string[];
}

/** One problem in the published parameters. */
export interface TopologyIssue {
  /** The full parameter name. */
  readonly parameter: string;
  /** What is wrong. */
  readonly message: string;
  /** The value received (`undefined` when missing). */
  readonly received: unknown;
}

/** The published parameters do not make a usable topology; lists every problem with the parameter's name. */
export class TopologyError extends Error {
  /** Every problem. */
  public readonly issues: readonly TopologyIssue[];
  /** @param issues - the problems (at least one) */
  public constructor(issues: readonly TopologyIssue[]) {
    super([`invalid topology: ${issues.length} problem${issues.length === 1 ? '' : 's'}`,
      ...issues.map((i) => `  - ${i.parameter}: ${i.message} (got: ${formatReceived(i.received)})`)].join('\n'));
    this.name = 'TopologyError';
    this.issues = issues;
  }
}

/** Options of {@link parseTopology}. */
export interface ParseTopologyOptions {
  /** The region the parameters were read in. */
  readonly region: string;
  /** The router to use for the shard map. @default - parsed from the `database/shard-map` value, if any */
  readonly shardRouter?: ShardRouter;
}

class Issues {
  public readonly list: TopologyIssue[] = [];
  public add(parameter: string, message: string, received: unknown): void {
    this.list.push({ parameter, message, received });
  }
}

function hostOf(params: ReadonlyMap<string, string>, name: string, issues: Issues, required: boolean): string | undefined {
  const v = params.get(name);
  if (v === undefined) {
    if (required) issues.add(name, 'missing: required', undefined);
    return undefined;
  }
  if (!/^[A-Za-z0-9.-]+$/.test(v)) {
    issues.add(name, 'expected a host name', v);
    return undefined;
  }
  return v;
}

/** A whole number of at least 1, or undefined when not published. */
function countOf(params: ReadonlyMap<string, string>, name: string, issues: Issues): number | undefined {
  const v = params.get(name);
  if (v === undefined) return undefined;
  if (!/^[1-9]\d{0,5}$/.test(v)) {
    issues.add(name, 'expected a whole number, at least 1', v);
    return undefined;
  }
  return Number(v);
}

/** A duration in whole milliseconds, at least 1 (up to about 115 days). */
function millisecondsOf(params: ReadonlyMap<string, string>, name: string, issues: Issues): number | undefined {
  const v = params.get(name);
  if (v === undefined) return undefined;
  if (!/^[1-9]\d{0,9}$/.test(v)) {
    issues.add(name, 'expected a whole number of milliseconds, at least 1', v);
    return undefined;
  }
  return Number(v);
}

function portOf(params: ReadonlyMap<string, string>, name: string, issues: Issues, fallback?: number): number {
  const v = params.get(name);
  if (v === undefined) {
    if (fallback !== undefined) return fallback;
    issues.add(name, 'missing: required', undefined);
    return 0;
  }
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 65535) {
    issues.add(name, 'expected a port 1-65535', v);
    return 0;
  }
  return n;
}

function oneOf<T extends string>(params: ReadonlyMap<string, string>, name: string, allowed: readonly T[], fallback: T, issues: Issues): T {
  const v = params.get(name);
  if (v === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(v)) {
    issues.add(name, `expected ${allowed.map((a) => `"${a}"`).join(' or ')}`, v);
    return fallback;
  }
  return v as T;
}

function arnOf(params: ReadonlyMap<string, string>, name: string, issues: Issues): string | undefined {
  const v = params.get(name);
  if (v === undefined) return undefined;
  if (!/^arn:[a-z-]+:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/.test(v)) {
    issues.add(name, 'expected a Secrets Manager secret ARN', v);
    return undefined;
  }
  return v;
}

interface DatabaseDefaults {
  readonly authentication?: DatabaseAuthentication;
  readonly role?: 'primary' | 'secondary';
  readonly writeForwarding?: boolean;
  readonly forwardingPoolMax?: number;
  readonly statementTimeoutMs?: number;
  readonly databaseName?: string;
}

/** `<base>/<key>` values as one cluster's endpoints; `undefined` when nothing is published under `base`. */
function parseDatabase(params: ReadonlyMap<string, string>, base: string, issues: Issues, inherit: DatabaseDefaults = {}): DatabaseEndpoints | undefined {
  const k = (key: string): string => `${base}/${key}`;
  const own = [...params.keys()].some((n) => n.startsWith(`${base}/`) && !n.startsWith(`${base}/${DATABASE_KEYS.shards}/`) && n !== k(DATABASE_KEYS.shardMap));
  if (!own) return undefined;
  const writer = hostOf(params, k(DATABASE_KEYS.writer), issues, true) ?? '';
  const reader = hostOf(params, k(DATABASE_KEYS.reader), issues, false);
  const proxy = hostOf(params, k(DATABASE_KEYS.proxy), issues, false);
  const proxyReadOnly = hostOf(params, k(DATABASE_KEYS.proxyReadOnly), issues, false);
  const engine = oneOf(params, k(DATABASE_KEYS.engine), ['postgres', 'mysql'] as const, 'postgres', issues);
  const port = portOf(params, k(DATABASE_KEYS.port), issues, engine === 'mysql' ? 3306 : 5432);
  const databaseName = params.get(k(DATABASE_KEYS.databaseName)) ?? inherit.databaseName;
  if (databaseName === undefined) issues.add(k(DATABASE_KEYS.databaseName), 'missing: required', undefined);
  const secretArn = arnOf(params, k(DATABASE_KEYS.secretArn), issues);
  const authentication = oneOf(params, k(DATABASE_KEYS.authentication), ['iam', 'password'] as const, inherit.authentication ?? 'password', issues);
  if (authentication === 'password' && secretArn === undefined && !params.has(k(DATABASE_KEYS.secretArn))) {
    issues.add(k(DATABASE_KEYS.secretArn), `missing: required when ${k(DATABASE_KEYS.authentication)} is "password"`, undefined);
  }
  const role = oneOf(params, k(DATABASE_KEYS.role), ['primary', 'secondary'] as const, inherit.role ?? 'primary', issues);
  const forwarding = oneOf(params, k(DATABASE_KEYS.writeForwarding), ['on', 'off'] as const, inherit.writeForwarding ? 'on' : 'off', issues);
  const forwardingPoolMax = countOf(params, k(DATABASE_KEYS.forwardingPoolMax), issues) ?? (params.has(k(DATABASE_KEYS.forwardingPoolMax)) ? undefined : inherit.forwardingPoolMax);
  const statementTimeoutMs = millisecondsOf(params, k(DATABASE_KEYS.statementTimeout), issues) ?? (params.has(k(DATABASE_KEYS.statementTimeout)) ? undefined : inherit.statementTimeoutMs);
  return {
    writer,
    ...(reader !== undefined ? { reader } : {}),
    ...(proxy !== undefined ? { proxy } : {}),
    ...(proxyReadOnly !== undefined ? { proxyReadOnly } : {}),
    port,
    databaseName: databaseName ?? '',
    engine,
    authentication,
    ...(secretArn !== undefined ? { secretArn } : {}),
    role,
    writeForwarding: forwarding === 'on',
    ...(forwardingPoolMax !== undefined ? { forwardingPoolMax } : {}),
    ...(statementTimeoutMs !== undefined ? { statementTimeoutMs } : {}),
    source: base,
  };
}

/**
 * Whether two hosts name the same cluster: equal, or an Aurora cluster's writer and reader endpoints
 * (`<id>.cluster-<suffix>` and `<id>.cluster-ro-<suffix>`). The shard map holds the endpoint a region's shard 0 had at
 * deploy (the reader endpoint in a forwarding secondary); `s2m evacuate` rewrites `database/writer` when the writer
 * moves, and shard 0 must still be the cluster published under `database/`, not the stale map entry.
 */
function sameClusterHost(a: string, b: string): boolean {
  const cluster = (host: string): string => host.toLowerCase().replace(/^([^.]+)\.cluster-ro-/, '$1.cluster-');
  return cluster(a) === cluster(b);
}

function parseShards(params: ReadonlyMap<string, string>, prefix: string, database: DatabaseEndpoints | undefined, issues: Issues, router: ShardRouter | undefined): ShardTopology | undefined {
  const dbBase = tierPrefix(prefix, 'database');
  const parameterName = `${dbBase}/${DATABASE_KEYS.shardMap}`;
  let r = router;
  if (r === undefined) {
    const text = params.get(parameterName);
    if (text === undefined) return undefined;
    try {
      r = ShardRouter.fromShardMap(parseShardMapJson(text, { source: `SSM parameter "${parameterName}"` }));
    } catch (e) {
      issues.add(parameterName, (e as Error).message, text);
      return undefined;
    }
  }
  const inherit: DatabaseDefaults = database ?? {};
  const shards = new Map<string, ShardEndpoints>();
  r.shards.forEach((entry, i) => {
    const base = shardPrefix(prefix, entry.id);
    const published = parseDatabase(params, base, issues, inherit);
    const where = `${parameterName} shards[${i}]`;
    let endpoints: DatabaseEndpoints | undefined = published;
    const isDatabase = database !== undefined && entry.writer !== undefined && sameClusterHost(entry.writer, database.writer)
      && (entry.port ?? database.port) === database.port && (entry.database ?? database.databaseName) === database.databaseName;
    if (endpoints === undefined && isDatabase) endpoints = database; // shard 0 is the cluster published under database/
    if (endpoints === undefined) {
      if (entry.writer === undefined) {
        issues.add(`${where}.writer`, `shard "${entry.id}" has no writer in the map and nothing is published under ${base}`, undefined);
        return;
      }
      const secretArn = entry.secretArn ?? undefined;
      const authentication = inherit.authentication ?? 'password';
      if (authentication === 'password' && secretArn === undefined) {
        issues.add(`${where}.secretArn`, `shard "${entry.id}" needs a secret for password authentication`, undefined);
      }
      const databaseName = entry.database ?? inherit.databaseName;
      if (databaseName === undefined) issues.add(`${where}.database`, `shard "${entry.id}" names no database and ${dbBase} has none to inherit`, undefined);
      endpoints = {
        writer: entry.writer,
        ...(entry.reader !== undefined ? { reader: entry.reader } : {}),
        ...(entry.proxy !== undefined ? { proxy: entry.proxy } : {}),
        ...(entry.proxyReadOnly !== undefined ? { proxyReadOnly: entry.proxyReadOnly } : {}),
        port: entry.port ?? database?.port ?? 5432,
        databaseName: databaseName ?? '',
        engine: database?.engine ?? 'postgres',
        authentication,
        ...(secretArn !== undefined ? { secretArn } : {}),
        role: inherit.role ?? 'primary',
        writeForwarding: inherit.writeForwarding ?? false,
        ...(inherit.forwardingPoolMax !== undefined ? { forwardingPoolMax: inherit.forwardingPoolMax } : {}),
        ...(inherit.statementTimeoutMs !== undefined ? { statementTimeoutMs: inherit.statementTimeoutMs } : {}),
        source: where,
      };
    }
    shards.set(entry.id, { ...endpoints, id: entry.id });
  });
  return { parameterName, epoch: r.epoch, router: r, shards };
}

function parseCache(params: ReadonlyMap<string, string>, prefix: string, issues: Issues): CacheEndpoints | undefined {
  const base = tierPrefix(prefix, 'cache');
  if (![...params.keys()].some((n) => n.startsWith(`${base}/`))) return undefined;
  const k = (key: string): string => `${base}/${key}`;
  const endpoint = hostOf(params, k(CACHE_KEYS.endpoint), issues, true) ?? '';
  const port = portOf(params, k(CACHE_KEYS.port), issues, 6379);
  const tls = oneOf(params, k(CACHE_KEYS.tls), ['required', 'off'] as const, 'required', issues) === 'required';
  const authMode = oneOf(params, k(CACHE_KEYS.authMode), ['rbac', 'auth-token'] as const, 'rbac', issues);
  const username = params.get(k(CACHE_KEYS.username));
  if (authMode === 'rbac' && username === undefined) issues.add(k(CACHE_KEYS.username), `missing: required when ${k(CACHE_KEYS.authMode)} is "rbac"`, undefined);
  const secretArn = arnOf(params, k(CACHE_KEYS.secretArn), issues);
  return { endpoint, port, tls, authMode, ...(username !== undefined ? { username } : {}), ...(secretArn !== undefined ? { secretArn } : {}) };
}

function parseQueues(params: ReadonlyMap<string, string>, prefix: string, issues: Issues): Record<string, QueueEndpoints> {
  const base = `${tierPrefix(prefix, 'queues')}/`;
  const names = new Set<string>();
  for (const n of params.keys()) if (n.startsWith(base)) names.add(n.slice(base.length).split('/')[0]!);
  const queues: Record<string, QueueEndpoints> = {};
  for (const name of [...names].sort()) {
    const k = (key: string): string => `${base}${name}/${key}`;
    const url = params.get(k(QUEUE_KEYS.url));
    if (url === undefined || !/^https?:\/\/\S+$/.test(url)) {
      issues.add(k(QUEUE_KEYS.url), url === undefined ? 'missing: required' : 'expected a queue URL', url);
      continue;
    }
    const arn = params.get(k(QUEUE_KEYS.arn));
    const queueName = params.get(k(QUEUE_KEYS.name));
    const deadLetterUrl = params.get(k(QUEUE_KEYS.deadLetterUrl));
    queues[name] = { name, url, ...(arn !== undefined ? { arn } : {}), ...(queueName !== undefined ? { queueName } : {}), ...(deadLetterUrl !== undefined ? { deadLetterUrl } : {}) };
  }
  return queues;
}

/**
 * Builds a {@link Topology} from parameter values. Pure: no AWS calls.
 *
 * @param prefix - the app prefix, e.g. `/shop`
 * @param params - full parameter name → value (what `GetParametersByPath` returned)
 * @param options - see {@link ParseTopologyOptions}
 * @returns the topology
 * @throws TopologyError naming every malformed or missing parameter
 */
export function parseTopology(prefix: string, all: ReadonlyMap<string, string>, options: ParseTopologyOptions): Topology {
  const issues = new Issues();
  const read = new Set<string>();
  // Records every name the parsers look at, so what they never read is reported as unrecognized.
  const params: ReadonlyMap<string, string> = {
    get: (name: string) => {
      read.add(name);
      return all.get(name);
    },
    has: (name: string) => {
      read.add(name);
      return all.has(name);
    },
    keys: () => all.keys(),
  } as ReadonlyMap<string, string>;
  read.add(`${tierPrefix(prefix, 'database')}/${DATABASE_KEYS.shardMap}`);
  const database = parseDatabase(params, tierPrefix(prefix, 'database'), issues);
  const shards = parseShards(params, prefix, database, issues, options.shardRouter);
  const cache = parseCache(params, prefix, issues);
  const queues = parseQueues(params, prefix, issues);
  const sessionArnName = `${tierPrefix(prefix, 'sessions')}/${SESSION_KEYS.secretArn}`;
  const sessionArn = arnOf(params, sessionArnName, issues);
  if (issues.list.length > 0) throw new TopologyError(issues.list);
  return {
    prefix,
    region: options.region,
    ...(database ? { database } : {}),
    ...(shards ? { shards } : {}),
    ...(cache ? { cache } : {}),
    queues,
    ...(sessionArn ? { sessions: { secretArn: sessionArn } } : {}),
    unrecognized: [...all.keys()].filter((n) => !read.has(n)).sort(),
  };
}

/** Every secret ARN a topology names (database and shard credentials, cache, sessions). */
export function secretArnsOf(topology: Topology): string[] {
  const arns = new Set<string>();
  if (topology.database?.authentication === 'password' && topology.database.secretArn) arns.add(topology.database.secretArn);
  for (const s of topology.shards?.shards.values() ?? []) if (s.authentication === 'password' && s.secretArn) arns.add(s.secretArn);
  if (topology.cache?.secretArn) arns.add(topology.cache.secretArn);
  if (topology.sessions) arns.add(topology.sessions.secretArn);
  return [...arns];
}

/** A secret's current value. */
export interface SecretValue {
  /** The secret's ARN as published. */
  readonly arn: string;
  /** Version id of the value (changes on rotation). */
  readonly versionId: string | undefined;
  /** The secret string. */
  readonly value: string;
  /** The value parsed as JSON, when it is a JSON object. */
  readonly json: Readonly<Record<string, unknown>> | undefined;
}

/** What changed in a refresh. */
export interface TopologyChange {
  /** `database`, `shards` (a new map or shard endpoints), `cache`, `queues`, `sessions`, or `secret` (a new version). */
  readonly kind: 'database' | 'shards' | 'cache' | 'queues' | 'sessions' | 'secret';
  /** The topology now in use. */
  readonly topology: Topology;
  /** The one before. */
  readonly previous: Topology;
  /** For `secret`: its ARN. */
  readonly secretArn?: string;
}

/** Options of {@link loadTopology} and {@link TopologyLoader}. */
export interface TopologyLoaderOptions {
  /** The app's parameter prefix. @default - `S2M_PARAMETER_PREFIX` from the environment file or process */
  readonly prefix?: string;
  /** The region to read. @default - `S2M_REGION` from the environment */
  readonly region?: string;
  /** The environment to take defaults from. @default - `readEnvironment()` when prefix or region is missing */
  readonly environment?: RuntimeEnvironment;
  /** SSM client. @default - `new SSMClient({ region })`, created on first use */
  readonly ssm?: SSMClient;
  /** Secrets Manager client. @default - `new SecretsManagerClient({ region })`, created on first use */
  readonly secretsManager?: SecretsManagerClient;
  /** Interval of the full refresh (parameters and secrets), ms. @default 300000 (5 min) */
  readonly refreshIntervalMs?: number;
  /** Interval of the shard-map refresh, ms. @default 60000 */
  readonly shardMapRefreshIntervalMs?: number;
  /** Random spread of both intervals, a fraction in [0, 1). @default 0.1 */
  readonly jitter?: number;
  /**
   * The queues this fleet reads (`<prefix>/queues/<name>` each). Fleets are granted each queue's path, not
   * `<prefix>/queues`.
   * @default - every queue under `<prefix>/queues`, when the fleet may read that path
   */
  readonly queues?: readonly string[];
  /**
   * The tiers to read (a worker that keeps no sessions, an operator's tool that needs the database only): tiers left
   * out are neither read nor reported as denied.
   * @default - every tier: database, cache, sessions, queues
   */
  readonly tiers?: ReadonlyArray<'database' | 'cache' | 'sessions' | 'queues'>;
  /** Read the secrets the topology names. @default true */
  readonly resolveSecrets?: boolean;
  /** Failed refreshes while a topology is loaded, and throwing listeners. @default - `console.warn` */
  readonly onError?: (error: Error) => void;
  /** Time source and timers. @default - Node timers, unref'd */
  readonly clock?: RefreshClock;
  /** Random source for the jitter. @default Math.random */
  readonly random?: () => number;
}

/** State of a loader, for a health endpoint. */
export interface TopologyLoaderStatus {
  /** A topology is loaded. */
  readonly loaded: boolean;
  /** When the last full refresh succeeded (clock ms). */
  readonly loadedAt: number | undefined;
  /** The last refresh error, if the last refresh failed. */
  readonly lastError: Error | undefined;
  /** Failed refreshes since the last success. */
  readonly consecutiveFailures: number;
  /** Shard-map epoch in use. */
  readonly shardMapEpoch: number | undefined;
  /** When the last successful read of the shard map started (clock ms); see {@link TopologyLoader.shardMapAgeMs}. */
  readonly shardMapConfirmedAt: number | undefined;
}

/** Reads, holds and refreshes the topology. Create it with {@link loadTopology}. */
export class TopologyLoader {
  /** The app prefix. */
  public readonly prefix: string;
  /** The region read. */
  public readonly region: string;
  /** The environment the prefix and region came from, when they were not given. */
  public readonly environment: RuntimeEnvironment | undefined;
  private readonly options: TopologyLoaderOptions;
  private readonly clock: RefreshClock;
  private readonly random: () => number;
  private readonly jitter: number;
  private readonly loop: RefreshLoop;
  private readonly onError: (error: Error) => void;
  private readonly listeners = new Set<(change: TopologyChange) => void>();
  private readonly secrets = new Map<string, SecretValue>();
  private readonly secretReads = new Map<string, Promise<SecretValue>>();
  private readonly denied = new Set<string>();
  private ssm: SSMClient | undefined;
  private secretsManager: SecretsManagerClient | undefined;
  private shardMaps: ShardMapLoader | undefined;
  private params: ReadonlyMap<string, string> | undefined;
  private topology: Topology | undefined;
  private inflight: Promise<Topology> | undefined;
  /** A read of the database tier alone in flight ({@link TopologyLoader.refreshDatabase}). */
  private inflightDatabase: Promise<Topology> | undefined;
  /** A read of the database tier queued behind a read in flight ({@link TopologyLoader.refreshDatabase}). */
  private queuedDatabase: Promise<Topology> | undefined;
  /** {@link TopologyLoader.stop} was called (and no start since): a queued read does not start. */
  private stopped = false;
  private loadedAt: number | undefined;
  private lastError: Error | undefined;
  private failures = 0;

  /**
   * @param options - see {@link TopologyLoaderOptions}
   * @throws EnvironmentError when prefix or region come from an incomplete environment
   * @throws RangeError for a non-positive interval or a jitter outside [0, 1)
   */
  public constructor(options: TopologyLoaderOptions = {}) {
    const env = options.environment ?? (options.prefix !== undefined && options.region !== undefined ? undefined : readEnvironment());
    this.environment = env;
    this.prefix = options.prefix ?? env!.parameterPrefix;
    this.region = options.region ?? env!.region;
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    const intervalMs = options.refreshIntervalMs ?? 300_000;
    if (!(intervalMs > 0)) throw new RangeError(`TopologyLoader: refreshIntervalMs must be a positive number of milliseconds (got: ${intervalMs})`);
    this.jitter = options.jitter ?? 0.1;
    if (!(this.jitter >= 0 && this.jitter < 1)) throw new RangeError(`TopologyLoader: jitter must be in [0, 1) (got: ${this.jitter})`);
    this.onError = options.onError ?? ((e) => console.warn(`[topology] ${e.message}`));
    this.loop = new RefreshLoop({ intervalMs, jitter: this.jitter, clock: this.clock, random: this.random, run: () => this.refresh(), onError: (e) => this.report(e) });
  }

  /**
   * The topology in use. Synchronous and cheap.
   * @throws Error before the first successful load
   */
  public get current(): Topology {
    if (this.topology === undefined) throw new Error(`no topology loaded yet from ${this.prefix}: await loadTopology() (or loader.refresh()) at start-up`);
    return this.topology;
  }

  /**
   * Subscribes to changes.
   * @param listener - called after a change is in place
   * @returns a function that unsubscribes
   */
  public onChange(listener: (change: TopologyChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The cached value of a secret the topology names (read at load and every refresh). */
  public secret(arn: string): SecretValue | undefined {
    return this.secrets.get(arn);
  }

  /**
   * Reads a secret now (sharing a read in flight), e.g. after a database refused a password that may have been
   * rotated. Emits a `secret` change when the version differs from the cached one.
   *
   * @param arn - the secret's ARN
   * @returns the current value
   */
  public refreshSecret(arn: string): Promise<SecretValue> {
    let p = this.secretReads.get(arn);
    if (p === undefined) {
      p = this.readSecret(arn).then((value) => {
        const before = this.secrets.get(arn);
        this.secrets.set(arn, value);
        if (before !== undefined && before.versionId !== value.versionId && this.topology !== undefined) {
          this.emit({ kind: 'secret', topology: this.topology, previous: this.topology, secretArn: arn });
        }
        return value;
      }).finally(() => this.secretReads.delete(arn));
      this.secretReads.set(arn, p);
    }
    return p;
  }

  /**
   * Reads everything now (sharing a read in flight) and installs it, emitting changes.
   * @returns the topology in use afterwards
   * @throws the read or parse error only when nothing was loaded before
   */
  public refresh(): Promise<Topology> {
    // After a read of the database tier in flight: never installed before it, so its older values cannot win.
    this.inflight ??= (this.inflightDatabase ?? Promise.resolve()).catch(() => undefined).then(() => this.fetchAndInstall()).finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /**
   * Reads the database tier alone now (`<prefix>/database`: the writer, role and write-forwarding of the database and
   * its shards) and installs it with the other tiers as last read, emitting changes. What a process does after a lost
   * write: during a switchover every process's writes fail for a minute, and a full refresh (every tier, the shard map
   * and the secrets) would cost each of them several more calls against Parameter Store's shared throughput. Before
   * anything was loaded, and for a loader without the database tier, it is {@link TopologyLoader.refresh}.
   *
   * The read starts after the call: a read already in flight (of the database tier, or a full one) may have read the
   * tier before what made the caller ask (a write refused because `s2m evacuate` just republished it), so it is not
   * what the call returns. One read is queued behind it, shared by every call made before it starts.
   *
   * @returns the topology in use afterwards
   */
  public refreshDatabase(): Promise<Topology> {
    const tiers = this.options.tiers ?? ['database', 'cache', 'sessions', 'queues'];
    if (this.params === undefined || this.topology === undefined || !tiers.includes('database')) return this.refresh();
    const running = this.inflightDatabase ?? this.inflight;
    if (running === undefined) return this.startDatabaseRead();
    this.queuedDatabase ??= running.catch(() => undefined).then(() => {
      this.queuedDatabase = undefined;
      // Stopped meanwhile (the runtime closed): no read after that, the topology as it is.
      if (this.stopped) return this.topology!;
      // A full refresh that started meanwhile started after the calls this read answers: it serves them.
      return this.inflight ?? this.startDatabaseRead();
    });
    return this.queuedDatabase;
  }

  /** Starts a read of the database tier, or returns the one in flight (started after every call it answers). */
  private startDatabaseRead(): Promise<Topology> {
    this.inflightDatabase ??= this.fetchDatabaseAndInstall().finally(() => {
      this.inflightDatabase = undefined;
    });
    return this.inflightDatabase;
  }

  /** Starts periodic refresh (idempotent); timers are unref'd. */
  public start(): void {
    this.stopped = false;
    this.loop.start();
    this.shardMaps?.start();
  }

  /** Stops periodic refresh (idempotent), and a read of the database tier queued behind one in flight. */
  public stop(): void {
    this.stopped = true;
    this.loop.stop();
    this.shardMaps?.stop();
  }

  /** State for a health endpoint. */
  public status(): TopologyLoaderStatus {
    return {
      loaded: this.topology !== undefined,
      loadedAt: this.loadedAt,
      lastError: this.lastError,
      consecutiveFailures: this.failures,
      shardMapEpoch: this.topology?.shards?.epoch,
      shardMapConfirmedAt: this.shardMaps?.status().confirmedAt,
    };
  }

  /**
   * How long ago (ms, by this loader's clock) the last successful read of the shard map started: no map published
   * before then is newer than the one in use. `Infinity` while the topology routes by another map than the one last
   * read (a new map the topology could not be built with, e.g. a shard with no endpoints: the old map stays in use).
   * `undefined` without a shard map.
   */
  public shardMapAgeMs(): number | undefined {
    const maps = this.shardMaps?.status();
    if (maps?.confirmedAt === undefined) return undefined;
    if (this.topology?.shards?.router !== this.shardMaps!.router()) return Number.POSITIVE_INFINITY;
    return this.clock.now() - maps.confirmedAt;
  }

  private report(error: Error): void {
    safeReport(this.onError, error);
  }

  private emit(change: TopologyChange): void {
    for (const l of this.listeners) {
      try {
        l(change);
      } catch (e) {
        this.report(new Error(`topology change listener threw (the change is in place anyway): ${toError(e).message}`, { cause: e }));
      }
    }
  }

  private async fetchAndInstall(): Promise<Topology> {
    try {
      const params = await this.readParameters();
      const mapName = `${tierPrefix(this.prefix, 'database')}/${DATABASE_KEYS.shardMap}`;
      if (params.has(mapName) && this.shardMaps === undefined) {
        this.shardMaps = new ShardMapLoader({
          parameterName: mapName,
          ssm: await this.ssmClient(),
          ...(this.options.shardMapRefreshIntervalMs !== undefined ? { refreshIntervalMs: this.options.shardMapRefreshIntervalMs } : {}),
          jitter: this.jitter,
          clock: this.clock,
          random: this.random,
          onError: (e) => this.report(e),
          onChange: () => {
            // a new map between full refreshes: rebuild from the last parameters with the new router
            if (this.params !== undefined && this.topology !== undefined) this.install(this.params);
          },
        });
        await this.shardMaps.load();
        if (this.loop.running) this.shardMaps.start();
      } else if (this.shardMaps !== undefined) {
        await this.shardMaps.refresh(); // a full refresh includes the map (failures keep the last good one)
      }
      const first = this.topology === undefined;
      const topology = this.install(params);
      if (first && topology.unrecognized.length > 0) {
        this.report(new Error(`parameters under ${this.prefix} this runtime does not read (a newer stack, or a typo): ${topology.unrecognized.join(', ')}`));
      }
      if (this.options.resolveSecrets ?? true) {
        await Promise.all(secretArnsOf(topology).map((arn) => this.refreshSecret(arn)));
      }
      this.loadedAt = this.clock.now();
      this.failures = 0;
      this.lastError = undefined;
      return topology;
    } catch (e) {
      const err = toError(e);
      this.failures++;
      this.lastError = err;
      if (this.topology === undefined) throw err;
      this.report(err);
      return this.topology;
    }
  }

  private async fetchDatabaseAndInstall(): Promise<Topology> {
    try {
      const path = tierPrefix(this.prefix, 'database');
      const fresh = await this.readParameters([path]);
      // The other tiers as the last full read left them (read now, after the await: a full refresh may have landed).
      const params = new Map([...(this.params ?? [])].filter(([name]) => name !== path && !name.startsWith(`${path}/`)));
      for (const [name, value] of fresh) params.set(name, value);
      const topology = this.install(params);
      if (this.options.resolveSecrets ?? true) {
        // A secret the database now names that was never read (its ARN changed); the others stay as they were.
        await Promise.all(secretArnsOf(topology).filter((arn) => !this.secrets.has(arn)).map((arn) => this.refreshSecret(arn)));
      }
      return topology;
    } catch (e) {
      const err = toError(e);
      this.report(err);
      return this.topology!;
    }
  }

  private install(params: ReadonlyMap<string, string>): Topology {
    const next = parseTopology(this.prefix, params, { region: this.region, ...(this.shardMaps ? { shardRouter: this.shardMaps.router() } : {}) });
    const previous = this.topology;
    this.params = params;
    this.topology = next;
    if (previous !== undefined) {
      const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
      const shardView = (t: Topology) => (t.shards ? { epoch: t.shards.epoch, map: t.shards.router.map, shards: [...t.shards.shards.values()] } : undefined);
      const kinds: TopologyChange['kind'][] = [];
      if (!same(previous.database, next.database)) kinds.push('database');
      if (!same(shardView(previous), shardView(next))) kinds.push('shards');
      if (!same(previous.cache, next.cache)) kinds.push('cache');
      if (!same(previous.queues, next.queues)) kinds.push('queues');
      if (!same(previous.sessions, next.sessions)) kinds.push('sessions');
      for (const kind of kinds) this.emit({ kind, topology: next, previous });
    }
    return next;
  }

  private async ssmClient(): Promise<SSMClient> {
    if (this.ssm === undefined) {
      const sdk = await import('@aws-sdk/client-ssm');
      this.ssm = this.options.ssm ?? new sdk.SSMClient({ region: this.region });
    }
    return this.ssm;
  }

  /**
   * One recursive read per tier path. Fleets are granted `ssm:GetParametersByPath` per tier (and per queue), not
   * on the app prefix, so the prefix itself is never read. A path this fleet may not read (AccessDenied) is a
   * tier it was not given: it is left out and reported once.
   */
  private async readParameters(only?: readonly string[]): Promise<Map<string, string>> {
    const sdk = await import('@aws-sdk/client-ssm');
    const ssm = await this.ssmClient();
    const params = new Map<string, string>();
    const tiers = new Set(this.options.tiers ?? ['database', 'cache', 'sessions', 'queues']);
    const paths = only ?? [
      ...(['database', 'cache', 'sessions'] as const).filter((t) => tiers.has(t)).map((t) => tierPrefix(this.prefix, t)),
      ...(!tiers.has('queues') ? [] : this.options.queues ? this.options.queues.map((q) => queuePrefix(this.prefix, q)) : [tierPrefix(this.prefix, 'queues')]),
    ];
    let readable = 0;
    for (const path of paths) {
      let token: string | undefined;
      try {
        // Bounded: 1000 pages of 10 is far beyond anything the stacks publish.
        for (let page = 0; page < 1000; page++) {
          const out = await ssm.send(new sdk.GetParametersByPathCommand({ Path: path, Recursive: true, WithDecryption: true, MaxResults: 10, ...(token ? { NextToken: token } : {}) }));
          for (const p of out.Parameters ?? []) if (p.Name !== undefined && p.Value !== undefined) params.set(p.Name, p.Value);
          token = out.NextToken;
          if (!token) break;
        }
        readable++;
      } catch (e) {
        const err = toError(e);
        if (err.name === 'AccessDeniedException') {
          if (!this.denied.has(path)) {
            this.denied.add(path);
            const hint = path === tierPrefix(this.prefix, 'queues') ? ' (queues are granted one by one: pass the names this fleet uses as `queues`)' : '';
            this.report(new Error(`not allowed to read ${path} (ssm:GetParametersByPath): this fleet was not given that tier; it is left out of the topology${hint}`));
          }
          continue;
        }
        throw new Error(`could not read the topology under ${path} in ${this.region} (ssm:GetParametersByPath): ${err.name}: ${err.message}`, { cause: e });
      }
    }
    if (params.size === 0) {
      throw new Error(`no parameters under ${this.prefix} in ${this.region}${readable === 0 ? ' (every tier path was denied)' : ''}: is the data stack deployed in this region, and is S2M_PARAMETER_PREFIX right?`);
    }
    return params;
  }

  private async readSecret(arn: string): Promise<SecretValue> {
    const sdk = await import('@aws-sdk/client-secrets-manager');
    this.secretsManager ??= this.options.secretsManager ?? new sdk.SecretsManagerClient({ region: this.region });
    let out;
    try {
      out = await this.secretsManager.send(new sdk.GetSecretValueCommand({ SecretId: arn }));
    } catch (e) {
      const err = toError(e);
      throw new Error(`could not read secret ${arn} (secretsmanager:GetSecretValue): ${err.name}: ${err.message}`, { cause: e });
    }
    const value = out.SecretString;
    if (value === undefined) throw new Error(`secret ${arn} has no string value`);
    let json: Record<string, unknown> | undefined;
    try {
      const parsed: unknown = JSON.parse(value);
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) json = parsed as Record<string, unknown>;
    } catch {
      // not JSON: a plain secret string
    }
    return { arn, versionId: out.VersionId, value, json };
  }
}

/**
 * Loads the topology once (failing if it cannot) and starts its periodic refresh.
 *
 * @param options - see {@link TopologyLoaderOptions}
 * @returns the started loader; `loader.current` is the topology
 */
export async function loadTopology(options: TopologyLoaderOptions = {}): Promise<TopologyLoader> {
  const loader = new TopologyLoader(options);
  await loader.refresh();
  loader.start();
  return loader;
}
