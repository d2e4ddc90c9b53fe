import { AURORA_DEFAULTS } from '../../../constructs/aurora/defaults';
import { auroraEngineVersions, type AuroraEngineKind } from '../../../constructs/aurora/engine';
import { at, type Checker } from '../check';
import { checkAuroraInstanceClass } from '../instance-types';
import { PRESETS } from '../presets';
import type { Stage } from '../types';
import { SHARDING_KEYS, resolveSharding, type DatabaseShardingConfig, type DatabaseShardingInput } from './sharding';

/** Aurora engines the database tier supports. */
export type DatabaseEngine = AuroraEngineKind;

/** The reader autoscaling block of the `database` section. */
export interface DatabaseAutoScalingInput {
  /** Readers Application Auto Scaling keeps at least (0-15). @default - the `readers` count */
  readonly minReaders?: number;
  /**
   * Readers Application Auto Scaling may grow to (1-15; with a global database 15 minus the secondary regions).
   * @default - 15; 10 in a global database (15 minus the most secondary regions it may have, 5, so adding a
   *   region changes no region's template)
   */
  readonly maxReaders?: number;
  /** Target average reader CPU % (10-90). @default 60 */
  readonly targetCpuPercent?: number;
  /** Target average connections per reader. @default - no connections policy */
  readonly targetConnections?: number;
  /** Seconds between scale-in activities. @default 600 */
  readonly scaleInCooldownSeconds?: number;
  /** Seconds between scale-out activities. @default 300 */
  readonly scaleOutCooldownSeconds?: number;
}

/** The RDS Proxy block of the `database` section. */
export interface DatabaseProxyInput {
  /** Put an RDS Proxy (TLS required) and a read-only proxy endpoint in front of the cluster. @default - stage preset */
  readonly enabled?: boolean;
  /** Clients authenticate to the proxy with IAM instead of the password. @default false */
  readonly iamAuth?: boolean;
}

/** The Aurora Global Database block of the `database` section. */
export interface DatabaseGlobalInput {
  /** One global cluster across every configured region (the primary region writes). @default - stage preset */
  readonly enabled?: boolean;
  /**
   * Secondary clusters forward writes to the writer (Aurora global write forwarding), so every region the DNS
   * sends users to can write. `false` is an active-passive setup: then `dns.routing` must be `failover`, with the
   * writer's region as its primary, so users only reach a read-only region when the writer's region is down.
   * @default true
   */
  readonly writeForwarding?: boolean;
  /**
   * The region holding the global writer now. It differs from `primaryRegion` (which created the global cluster
   * and never changes) only after a switchover or failover (`s2m evacuate`, `s2m restore --writer`); it sets each region's published
   * `database/role` and `database/writer` and which clusters forward writes, never a stateful template.
   * @default - the primary region
   */
  readonly writerRegion?: string;
}

/** What a user writes under `database`: the Aurora cluster of every region. */
export interface DatabaseInput extends DatabaseShardingInput {
  /** `postgres` (Aurora PostgreSQL) or `mysql` (Aurora MySQL 3). @default 'postgres' */
  readonly engine?: DatabaseEngine;
  /** Engine version: `16.6`, `17.4`... for PostgreSQL; `3.08.0`... for MySQL. @default 16.6 / 3.08.0 */
  readonly engineVersion?: string;
  /** Writer instance type (`r7g.large`) or `serverless` (Serverless v2). @default - stage preset */
  readonly instanceType?: string;
  /** Reader instance type or `serverless`. @default - `instanceType` */
  readonly readerInstanceType?: string;
  /**
   * Readers created by CloudFormation (0-15; with a global database 15 minus the secondary regions), spread over the AZs.
   * @default - stage preset
   */
  readonly readers?: number;
  /** Serverless v2 minimum ACU (0 or 0.5-256). @default 0.5 */
  readonly serverlessMinCapacity?: number;
  /** Serverless v2 maximum ACU (1-256). @default 16 */
  readonly serverlessMaxCapacity?: number;
  /** Reader autoscaling; `false` turns it off. @default - stage preset */
  readonly autoScaling?: DatabaseAutoScalingInput | false;
  /** RDS Proxy. @default - stage preset: off at startup, on from growth */
  readonly proxy?: DatabaseProxyInput;
  /**
   * Performance Insights (Database Insights standard mode, 7 days of query-level load). AWS recommends a
   * Serverless v2 minimum of 2 ACUs with it on; off, a 0.5 ACU instance keeps its memory for the database.
   * @default - stage preset: off at startup, on from growth
   */
  readonly performanceInsights?: boolean;
  /** IAM database authentication on the cluster. @default true */
  readonly iamAuthentication?: boolean;
  /** Days of automated backups (1-35). @default 7 */
  readonly backupRetentionDays?: number;
  /** Deletion protection on the cluster. @default true */
  readonly deletionProtection?: boolean;
  /** `standard` or `advanced` Database Insights (advanced keeps Performance Insights 15 months). @default 'standard' */
  readonly databaseInsights?: 'standard' | 'advanced';
  /** Enhanced monitoring interval in seconds (0 = off, 1, 5, 10, 15, 30, 60). @default 60 */
  readonly monitoringIntervalSeconds?: number;
  /** Days to keep the exported database logs. @default 30 */
  readonly logRetentionDays?: number;
  /** Name of the database created in the cluster. @default 'app' */
  readonly databaseName?: string;
  /**
   * `statement_timeout` of the fleets' database users, in whole seconds (1-86400): the server cancels a statement
   * that runs longer, and the runtime's client timeout follows it (plus 2 s). PostgreSQL only.
   * @default 28
   */
  readonly statementTimeoutSeconds?: number;
  /** Aurora Global Database across the configured regions. */
  readonly globalDatabase?: DatabaseGlobalInput;
}

/** The `database` section with its defaults resolved. */
export interface DatabaseConfig extends DatabaseShardingConfig {
  readonly engine: DatabaseEngine;
  readonly engineVersion: string;
  /** `serverless` or an instance type. */
  readonly instanceType: string;
  readonly readerInstanceType: string;
  readonly readers: number;
  readonly serverlessMinCapacity: number;
  readonly serverlessMaxCapacity: number;
  readonly autoScaling?: Required<Omit<DatabaseAutoScalingInput, 'targetConnections'>> & { readonly targetConnections?: number };
  readonly proxy: { readonly enabled: boolean; readonly iamAuth: boolean };
  readonly performanceInsights: boolean;
  readonly iamAuthentication: boolean;
  readonly backupRetentionDays: number;
  readonly deletionProtection: boolean;
  readonly databaseInsights: 'standard' | 'advanced';
  readonly monitoringIntervalSeconds: number;
  readonly logRetentionDays: number;
  readonly databaseName: string;
  /** `statement_timeout` of the application users, seconds. */
  readonly statementTimeoutSeconds: number;
  readonly globalDatabase: {
    readonly enabled: boolean;
    /** Secondaries forward writes (every region can write). */
    readonly writeForwarding: boolean;
    /** The region holding the global writer now (the primary region until a switchover or failover). */
    readonly writerRegion: string;
  };
}

/** Keys allowed under `database`. */
export const DATABASE_KEYS = [
  'engine', 'engineVersion', 'instanceType', 'readerInstanceType', 'readers', 'serverlessMinCapacity', 'serverlessMaxCapacity',
  'autoScaling', 'proxy', 'performanceInsights', 'iamAuthentication', 'backupRetentionDays', 'deletionProtection', 'databaseInsights',
  'monitoringIntervalSeconds', 'logRetentionDays', 'databaseName', 'statementTimeoutSeconds', 'globalDatabase', ...SHARDING_KEYS,
] as const;

/** Default engine version per engine. */
export const DEFAULT_ENGINE_VERSION: Readonly<Record<DatabaseEngine, string>> = { postgres: '16.6', mysql: '3.08.0' };

/** The shape of an Aurora instance class; the `db.` prefix is implied (`r7g.large`, `t4g.medium`, `x2g.xlarge`). */
const DB_INSTANCE_TYPE = /^[a-z][a-z0-9-]*[0-9][a-z0-9-]*\.(micro|small|medium|large|xlarge|[0-9]+xlarge)$/;
const DB_NAME = /^[A-Za-z][A-Za-z0-9_]{0,62}$/;
const MONITORING_INTERVALS = [0, 1, 5, 10, 15, 30, 60];

/**
 * Validates the `database` section against the stage preset. `regionCount` is the number of configured
 * regions (a global database needs at least two). Engine versions are checked against those aws-cdk-lib knows.
 */
export function resolveDatabase(
  c: Checker,
  raw: unknown,
  stage: Stage,
  regions: readonly string[],
  primaryRegion: string | undefined,
): DatabaseConfig {
  const regionCount = regions.length;
  const p = 'database';
  const preset = PRESETS[stage].database;
  const o = c.object(p, raw, DATABASE_KEYS) ?? {};
  const engine = (c.string(at(p, 'engine'), o.engine, { oneOf: ['postgres', 'mysql'] }) ?? 'postgres') as DatabaseEngine;
  const engineVersion = c.string(at(p, 'engineVersion'), o.engineVersion) ?? DEFAULT_ENGINE_VERSION[engine];
  const known = auroraEngineVersions(engine);
  if (o.engineVersion !== undefined && typeof o.engineVersion === 'string' && !known.includes(engineVersion)) {
    const major = engineVersion.split('.')[0];
    const near = known.filter((v) => v.split('.')[0] === major).slice(-6);
    c.fail(at(p, 'engineVersion'), `is not an Aurora ${engine === 'postgres' ? 'PostgreSQL' : 'MySQL'} version${near.length ? ` (known ${major}.x: ${near.join(', ')})` : ` (examples: ${known.slice(-4).join(', ')})`}`, engineVersion);
  }

  const instanceClass = (ch: Checker, path: string, raw: unknown): string | undefined => auroraClass(ch, path, raw, engine);
  const instanceType = instanceClass(c, at(p, 'instanceType'), o.instanceType) ?? preset.instanceType;
  const readerInstanceType = instanceClass(c, at(p, 'readerInstanceType'), o.readerInstanceType) ?? instanceType;
  const readers = c.number(at(p, 'readers'), o.readers, { integer: true, min: 0, max: AURORA_DEFAULTS.maxReaders }) ?? preset.readers;

  const serverlessMinCapacity = c.number(at(p, 'serverlessMinCapacity'), o.serverlessMinCapacity, { min: 0, max: 256 }) ?? 0.5;
  if (serverlessMinCapacity > 0 && serverlessMinCapacity < 0.5) c.fail(at(p, 'serverlessMinCapacity'), 'must be 0 or between 0.5 and 256', serverlessMinCapacity);
  if (serverlessMinCapacity % 0.5 !== 0) c.fail(at(p, 'serverlessMinCapacity'), 'must be a multiple of 0.5 ACU', serverlessMinCapacity);
  const serverlessMaxCapacity = c.number(at(p, 'serverlessMaxCapacity'), o.serverlessMaxCapacity, { min: 1, max: 256 }) ?? Math.max(16, serverlessMinCapacity);
  if (serverlessMaxCapacity % 0.5 !== 0) c.fail(at(p, 'serverlessMaxCapacity'), 'must be a multiple of 0.5 ACU', serverlessMaxCapacity);
  if (serverlessMinCapacity > serverlessMaxCapacity) c.fail(at(p, 'serverlessMinCapacity'), `must not exceed serverlessMaxCapacity (${serverlessMaxCapacity})`, serverlessMinCapacity);

  // A global database's primary counts each secondary cluster against Aurora's 15 replicas, and any region can
  // become the primary (switchover, failover): the limit holds for every region's cluster.
  const globalRaw = c.object(at(p, 'globalDatabase'), o.globalDatabase, ['enabled', 'writeForwarding', 'writerRegion']) ?? {};
  const globalEnabled = c.boolean(at(p, 'globalDatabase.enabled'), globalRaw.enabled) ?? (preset.globalDatabase && regionCount > 1);
  const limit = readerLimit(globalEnabled, regionCount);
  if (readers > limit.max && readers <= AURORA_DEFAULTS.maxReaders) c.fail(at(p, 'readers'), `must be at most ${limit.max}: ${limit.reason}`, readers);
  const autoScaling = resolveAutoScaling(c, at(p, 'autoScaling'), o.autoScaling, preset.autoScaling, readers, limit);

  const proxyRaw = c.object(at(p, 'proxy'), o.proxy, ['enabled', 'iamAuth']) ?? {};
  const proxy = {
    enabled: c.boolean(at(p, 'proxy.enabled'), proxyRaw.enabled) ?? preset.proxy,
    iamAuth: c.boolean(at(p, 'proxy.iamAuth'), proxyRaw.iamAuth) ?? false,
  };
  const performanceInsights = c.boolean(at(p, 'performanceInsights'), o.performanceInsights) ?? preset.performanceInsights;
  const iamAuthentication = c.boolean(at(p, 'iamAuthentication'), o.iamAuthentication) ?? true;
  const backupRetentionDays = c.number(at(p, 'backupRetentionDays'), o.backupRetentionDays, { integer: true, min: 1, max: 35 }) ?? 7;
  const deletionProtection = c.boolean(at(p, 'deletionProtection'), o.deletionProtection) ?? true;
  const databaseInsights = (c.string(at(p, 'databaseInsights'), o.databaseInsights, { oneOf: ['standard', 'advanced'] }) ?? 'standard') as 'standard' | 'advanced';
  if (databaseInsights === 'advanced' && !performanceInsights) c.fail(at(p, 'databaseInsights'), 'advanced Database Insights needs database.performanceInsights: true', databaseInsights);
  const monitoringIntervalSeconds = c.number(at(p, 'monitoringIntervalSeconds'), o.monitoringIntervalSeconds, { integer: true }) ?? 60;
  if (!MONITORING_INTERVALS.includes(monitoringIntervalSeconds)) c.fail(at(p, 'monitoringIntervalSeconds'), `must be one of ${MONITORING_INTERVALS.join(', ')}`, monitoringIntervalSeconds);
  const logRetentionDays = c.number(at(p, 'logRetentionDays'), o.logRetentionDays, { integer: true, min: 1, max: 3653 }) ?? 30;
  const databaseName = c.string(at(p, 'databaseName'), o.databaseName, { pattern: DB_NAME, what: 'a database name: a letter, then letters, digits or _ (at most 63)' }) ?? 'app';

  const { min: shortest, max: longest } = AURORA_DEFAULTS.statementTimeoutRange;
  const statementTimeoutSeconds = c.number(at(p, 'statementTimeoutSeconds'), o.statementTimeoutSeconds, { integer: true, min: shortest.toSeconds(), max: longest.toSeconds() })
    ?? AURORA_DEFAULTS.statementTimeout.toSeconds();

  const writeForwarding = c.boolean(at(p, 'globalDatabase.writeForwarding'), globalRaw.writeForwarding) ?? globalEnabled;
  const writerRegion = c.string(at(p, 'globalDatabase.writerRegion'), globalRaw.writerRegion) ?? primaryRegion ?? regions[0] ?? '';
  if (globalRaw.writerRegion !== undefined && !regions.includes(writerRegion)) c.fail(at(p, 'globalDatabase.writerRegion'), `must be one of the configured regions (${regions.join(', ')})`, writerRegion);
  if (globalRaw.writerRegion !== undefined && !globalEnabled) c.fail(at(p, 'globalDatabase.writerRegion'), 'needs globalDatabase.enabled', writerRegion);
  if (writeForwarding && globalEnabled && engine === 'postgres') {
    const problem = writeForwardingVersionProblem(engineVersion);
    if (problem) c.fail(at(p, 'engineVersion'), problem, engineVersion);
  }
  if (globalEnabled && regionCount < 2) c.fail(at(p, 'globalDatabase.enabled'), `a global database needs at least 2 regions (configured: ${regionCount})`, globalEnabled);
  if (globalEnabled) {
    for (const [key, cls] of [['instanceType', instanceType], ['readerInstanceType', readerInstanceType]] as const) {
      if (cls.startsWith('t')) c.fail(at(p, key), 'burstable (t) classes cannot be used in a global database; use an r-class type or "serverless"', cls);
    }
  }
  if (globalRaw.writeForwarding === true && !globalEnabled) c.fail(at(p, 'globalDatabase.writeForwarding'), 'needs globalDatabase.enabled', writeForwarding);
  if (regionCount > AURORA_DEFAULTS.maxGlobalSecondaries + 1 && globalEnabled) c.fail(at(p, 'globalDatabase.enabled'), `a global database spans at most ${AURORA_DEFAULTS.maxGlobalSecondaries + 1} regions (configured: ${regionCount})`, globalEnabled);
  const sharding = resolveSharding(c, p, o, {
    instanceType, readerInstanceType, readers, ...(autoScaling ? { autoScaling } : {}), globalDatabase: globalEnabled, instanceClass,
    maxReaders: limit.max, maxReadersReason: limit.reason,
    autoScalingOf: (ch, path, rawScaling, shardReaders) => resolveAutoScaling(ch, path, rawScaling, true, shardReaders, limit),
  });

  return {
    engine, engineVersion, instanceType, readerInstanceType, readers, serverlessMinCapacity, serverlessMaxCapacity,
    ...(autoScaling ? { autoScaling } : {}),
    proxy, performanceInsights, iamAuthentication, backupRetentionDays, deletionProtection, databaseInsights, monitoringIntervalSeconds,
    logRetentionDays, databaseName, statementTimeoutSeconds, globalDatabase: { enabled: globalEnabled, writeForwarding: writeForwarding && globalEnabled, writerRegion }, ...sharding,
  };
}

/** An Aurora DB instance class of `engine` (`r7g.large`, `db.r7g.large` or `serverless`), without the `db.` prefix. */
function auroraClass(c: Checker, path: string, raw: unknown, engine: DatabaseEngine): string | undefined {
  const s = c.string(path, raw);
  if (s === undefined || s === 'serverless') return s;
  const bare = s.startsWith('db.') ? s.slice(3) : s;
  if (!DB_INSTANCE_TYPE.test(bare)) return c.fail(path, 'must be an Aurora instance type like r7g.large or "serverless"', s);
  const before = c.issues.length;
  checkAuroraInstanceClass(c, path, engine, bare, s);
  return c.issues.length === before ? bare : undefined;
}

/**
 * Why an Aurora PostgreSQL version cannot forward writes from a global secondary, or undefined: global write
 * forwarding needs 14.9+, 15.4+, or any 16 and later minor.
 */
export function writeForwardingVersionProblem(version: string): string | undefined {
  const [major, minor] = version.split('.').map((x) => Number.parseInt(x, 10));
  const least: Record<number, number> = { 14: 9, 15: 4 };
  if (major >= 16 || (least[major] !== undefined && minor >= least[major])) return undefined;
  return 'global write forwarding needs Aurora PostgreSQL 14.9+, 15.4+ or 16 and later; upgrade, or set globalDatabase.writeForwarding false with dns.routing "failover"';
}

/** The most readers one cluster may have: Aurora's 15 replicas, minus the secondary clusters of a global database. */
export function maxReadersPerCluster(global: boolean, regionCount: number): number {
  return readerLimit(global, regionCount).max;
}

/** The most readers a cluster may have, and why: Aurora's 15 replicas, minus the secondary clusters of a global database. */
function readerLimit(global: boolean, regionCount: number): { max: number; defaultMax: number; reason: string } {
  const all = AURORA_DEFAULTS.maxReaders;
  if (!global || regionCount < 2) return { max: all, defaultMax: all, reason: `Aurora allows ${all} replicas per cluster` };
  const secondaries = regionCount - 1;
  return {
    max: all - secondaries,
    // The default must not depend on the region count: adding a region would change every region's data stack.
    defaultMax: all - AURORA_DEFAULTS.maxGlobalSecondaries,
    reason: `in a global database the primary cluster counts each of its ${secondaries} secondary cluster(s) against Aurora's ${all} replicas, and any region can become the primary`,
  };
}

function resolveAutoScaling(c: Checker, path: string, raw: unknown, presetOn: boolean, readers: number, limit: { max: number; defaultMax: number; reason: string }): DatabaseConfig['autoScaling'] {
  if (raw === false) return undefined;
  if (raw === undefined && !presetOn) return undefined;
  const o = c.object(path, raw ?? {}, ['minReaders', 'maxReaders', 'targetCpuPercent', 'targetConnections', 'scaleInCooldownSeconds', 'scaleOutCooldownSeconds']);
  if (!o) return undefined;
  const minReaders = c.number(at(path, 'minReaders'), o.minReaders, { integer: true, min: 0, max: 15 }) ?? readers;
  const maxReaders = c.number(at(path, 'maxReaders'), o.maxReaders, { integer: true, min: 1, max: AURORA_DEFAULTS.maxReaders }) ?? Math.max(limit.defaultMax, readers);
  if (maxReaders > limit.max) c.fail(at(path, 'maxReaders'), `must be at most ${limit.max}: ${limit.reason}`, maxReaders);
  if (minReaders > maxReaders) c.fail(at(path, 'minReaders'), `must not exceed maxReaders (${maxReaders})`, minReaders);
  if (readers > maxReaders) c.fail(at(path, 'maxReaders'), `must be at least database.readers (${readers})`, maxReaders);
  const targetCpuPercent = c.number(at(path, 'targetCpuPercent'), o.targetCpuPercent, { min: 10, max: 90 }) ?? 60;
  const targetConnections = c.number(at(path, 'targetConnections'), o.targetConnections, { integer: true, min: 1 });
  const scaleInCooldownSeconds = c.number(at(path, 'scaleInCooldownSeconds'), o.scaleInCooldownSeconds, { integer: true, min: 0, max: 86400 }) ?? 600;
  const scaleOutCooldownSeconds = c.number(at(path, 'scaleOutCooldownSeconds'), o.scaleOutCooldownSeconds, { integer: true, min: 0, max: 86400 }) ?? 300;
  return { minReaders, maxReaders, targetCpuPercent, scaleInCooldownSeconds, scaleOutCooldownSeconds, ...(targetConnections !== undefined ? { targetConnections } : {}) };
}
