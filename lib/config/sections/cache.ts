/**
 * The `cache` section of the config: the ElastiCache (Valkey/Redis OSS) replication group of every region.
 */
import {
  CACHE_DEFAULTS,
  GLOBAL_DATASTORE_ID_PREFIXES,
  REPLACEMENT_CONSEQUENCE,
  autoScalingNodeTypeProblem,
  compareVersions,
  globalDatastoreNodeTypeProblem,
  isValidGlobalIdSuffix,
  parseNodeType,
  replacementChanges,
  windowProblems,
  type CacheAuthMode,
  type CacheEngine,
  type CacheReplacementSettings,
  type CacheSubnets,
} from '../../../constructs/cache';
import { at, type Checker } from '../check';
import { checkCacheEngineVersion, checkCacheNodeType } from '../instance-types';
import { PRESETS } from '../presets';
import type { Stage } from '../types';

/** Autoscaling of the cache (Application Auto Scaling, target tracking on engine CPU and memory). */
export interface CacheAutoScalingInput {
  /** Autoscale at all. @default - the stage preset (off at `startup`: t-class nodes cannot autoscale) */
  readonly enabled?: boolean;
  /** Fewest shards. @default - `shards` */
  readonly minShards?: number;
  /** Most shards (≤ 500). @default - 4 × `shards` */
  readonly maxShards?: number;
  /** Fewest replicas per shard (≥ 1). @default - `replicasPerShard` */
  readonly minReplicasPerShard?: number;
  /** Most replicas per shard (≤ 5). @default - `replicasPerShard` + 2, at most 5 */
  readonly maxReplicasPerShard?: number;
  /** Target engine CPU % (35-70, what ElastiCache Auto Scaling accepts). @default 60 */
  readonly targetCpuPercent?: number;
  /** Target memory % (used memory counted for eviction; 35-70). @default 70 */
  readonly targetMemoryPercent?: number;
}

/** Global Datastore: one writable primary region, read-only secondaries in the other regions (at most 2). */
export interface CacheGlobalDatastoreInput {
  /** Turn it on. @default false */
  readonly enabled?: boolean;
  /** Id suffix of the Global Datastore. @default - `<name>-cache` */
  readonly idSuffix?: string;
  /**
   * The full Global Datastore id (AWS prefixes the suffix with a code of the primary region). Needed only
   * when the primary region's prefix is not in `GLOBAL_DATASTORE_ID_PREFIXES`; read it from the console or
   * `aws elasticache describe-global-replication-groups` after the primary region is deployed.
   * @default - derived: `<prefix of the primary region>-<idSuffix>`
   */
  readonly globalReplicationGroupId?: string;
}

/** The cache tier. */
export interface CacheInput {
  /** `valkey` or `redis`. @default 'valkey' */
  readonly engine?: CacheEngine;
  /** Engine version. @default - '8.1' (Valkey), '7.1' (Redis OSS) */
  readonly engineVersion?: string;
  /** Node type, e.g. `cache.r7g.large`. @default - stage preset */
  readonly nodeType?: string;
  /** Shards (node groups), 1-500. @default - stage preset */
  readonly shards?: number;
  /** Replicas per shard, 1-5 (Multi-AZ is always on). @default - stage preset */
  readonly replicasPerShard?: number;
  /** Port. @default 6379 */
  readonly port?: number;
  /** Subnets of the cache: `isolated` or `private`. @default 'isolated' */
  readonly subnets?: CacheSubnets;
  /** `rbac` or `auth-token`. @default - 'rbac'; 'auth-token' with a Global Datastore */
  readonly authMode?: CacheAuthMode;
  /** Days automatic snapshots are kept (0-35). @default - stage preset */
  readonly snapshotRetentionDays?: number;
  /** Weekly maintenance window, UTC. @default 'sun:05:00-sun:06:00' */
  readonly maintenanceWindow?: string;
  /** Daily snapshot window, UTC (not overlapping the maintenance window). @default '03:00-04:00' */
  readonly snapshotWindow?: string;
  /** Days the slow and engine logs are kept. @default 30 */
  readonly logRetentionDays?: number;
  /** `snapshot` (final snapshot on removal or replacement) or `retain`. @default 'snapshot' */
  readonly removalPolicy?: 'snapshot' | 'retain';
  /** Autoscaling. */
  readonly autoScaling?: CacheAutoScalingInput;
  /** Global Datastore across the configured regions. */
  readonly globalDatastore?: CacheGlobalDatastoreInput;
  /**
   * The replacement-sensitive settings the deployed caches were created with. When present, a config
   * whose settings differ is rejected (a change means a new, empty cache) unless `acceptReplacement`.
   * @default - no guard, and a synth warning with the block to record
   */
  readonly immutable?: CacheReplacementSettings;
  /** Accept that a changed replacement-sensitive setting creates new, empty caches. @default false */
  readonly acceptReplacement?: boolean;
}

/** The cache tier with every default resolved. */
export interface CacheConfig {
  readonly engine: CacheEngine;
  readonly engineVersion: string;
  readonly nodeType: string;
  readonly shards: number;
  readonly replicasPerShard: number;
  readonly port: number;
  readonly subnets: CacheSubnets;
  readonly authMode: CacheAuthMode;
  readonly snapshotRetentionDays: number;
  readonly maintenanceWindow: string;
  readonly snapshotWindow: string;
  readonly logRetentionDays: number;
  readonly removalPolicy: 'snapshot' | 'retain';
  /** Undefined when autoscaling is off. */
  readonly autoScaling?: {
    readonly minShards: number; readonly maxShards: number;
    readonly minReplicasPerShard: number; readonly maxReplicasPerShard: number;
    readonly targetCpuPercent: number; readonly targetMemoryPercent: number;
  };
  /** Undefined when off. */
  readonly globalDatastore?: {
    readonly idSuffix: string;
    /** The full id secondaries join. */
    readonly globalReplicationGroupId: string;
    /** Name of the AUTH token secret, replicated from the primary region to the secondaries. */
    readonly authSecretName: string;
  };
  readonly immutable?: CacheReplacementSettings;
  readonly acceptReplacement: boolean;
}

/** The keys of the `cache` object. */
export const CACHE_KEYS = [
  'engine', 'engineVersion', 'nodeType', 'shards', 'replicasPerShard', 'port', 'subnets', 'authMode', 'snapshotRetentionDays',
  'maintenanceWindow', 'snapshotWindow', 'logRetentionDays', 'removalPolicy', 'autoScaling', 'globalDatastore', 'immutable',
  'acceptReplacement',
] as const;

/** What the cache section needs from the rest of the config. */
export interface CacheContext {
  readonly name: string | undefined;
  readonly primaryRegion: string | undefined;
  readonly regions: readonly string[];
}

const ENGINES: readonly CacheEngine[] = ['valkey', 'redis'];
const VERSION = /^\d+\.\d+(\.\d+)?$/;

/** The cache settings CloudFormation can only change by replacing the replication group. */
export function cacheReplacementSettings(cache: CacheConfig): CacheReplacementSettings {
  return {
    engine: cache.engine,
    engineVersion: cache.engineVersion,
    port: cache.port,
    subnets: cache.subnets,
    authMode: cache.authMode,
    globalDatastore: cache.globalDatastore !== undefined,
    dataTiering: parseNodeType(cache.nodeType)?.family === 'r6gd',
  };
}

/** Validates the `cache` section and fills in the stage defaults; every problem is recorded on `c`. */
export function resolveCache(c: Checker, raw: unknown, stage: Stage, ctx: CacheContext): CacheConfig {
  const preset = PRESETS[stage].cache;
  const o = c.object('cache', raw, CACHE_KEYS) ?? {};
  const engine = (c.string('cache.engine', o.engine, { oneOf: ENGINES }) ?? CACHE_DEFAULTS.engine) as CacheEngine;
  const engineVersion = c.string('cache.engineVersion', o.engineVersion, { pattern: VERSION, what: 'a version like 8.1' }) ?? CACHE_DEFAULTS.engineVersion[engine];
  if (engine === 'valkey' && VERSION.test(engineVersion) && compareVersions(engineVersion, '7.2') < 0) c.fail('cache.engineVersion', 'must be 7.2 or later for valkey', engineVersion);
  else if (engine === 'redis' && VERSION.test(engineVersion) && (compareVersions(engineVersion, '6') < 0 || compareVersions(engineVersion, '8') >= 0)) {
    c.fail('cache.engineVersion', 'must be 6.x or 7.x for redis (RBAC and TLS-required mode need 6+)', engineVersion);
  } else if (o.engineVersion !== undefined && VERSION.test(engineVersion)) checkCacheEngineVersion(c, 'cache.engineVersion', engine, engineVersion);
  let nodeType = c.string('cache.nodeType', o.nodeType) ?? preset.nodeType;
  if (!parseNodeType(nodeType)) {
    const before = c.issues.length;
    checkCacheNodeType(c, 'cache.nodeType', nodeType);
    if (c.issues.length === before) c.fail('cache.nodeType', 'must be a Valkey/Redis node type like cache.r7g.large', nodeType);
    nodeType = preset.nodeType;
  }
  const shards = c.number('cache.shards', o.shards, { integer: true, min: 1, max: 500 }) ?? preset.shards;
  const replicasPerShard = readReplicas(c, o.replicasPerShard) ?? preset.replicasPerShard;
  if (shards * (replicasPerShard + 1) > 500) c.fail('cache.shards', `shards × (replicasPerShard + 1) must be at most 500 nodes (${shards * (replicasPerShard + 1)})`, shards);
  const port = c.number('cache.port', o.port, { integer: true, min: 1024, max: 65535 }) ?? CACHE_DEFAULTS.port;
  const subnets = (c.string('cache.subnets', o.subnets, { oneOf: ['isolated', 'private'] }) ?? 'isolated') as CacheSubnets;
  const snapshotRetentionDays = c.number('cache.snapshotRetentionDays', o.snapshotRetentionDays, { integer: true, min: 0, max: 35 }) ?? preset.snapshotRetentionDays;
  const maintenanceWindow = c.string('cache.maintenanceWindow', o.maintenanceWindow) ?? CACHE_DEFAULTS.maintenanceWindow;
  const snapshotWindow = c.string('cache.snapshotWindow', o.snapshotWindow) ?? CACHE_DEFAULTS.snapshotWindow;
  for (const p of windowProblems(maintenanceWindow, snapshotWindow)) {
    c.fail(at('cache', p.window), p.message, p.window === 'maintenanceWindow' ? maintenanceWindow : snapshotWindow);
  }
  const logRetentionDays = c.number('cache.logRetentionDays', o.logRetentionDays, { integer: true, min: 1, max: 3653 }) ?? 30;
  const removalPolicy = (c.string('cache.removalPolicy', o.removalPolicy, { oneOf: ['snapshot', 'retain'] }) ?? 'snapshot') as 'snapshot' | 'retain';

  const globalDatastore = resolveGlobal(c, o.globalDatastore, nodeType, ctx);
  const authMode = (c.string('cache.authMode', o.authMode, { oneOf: ['rbac', 'auth-token'] }) ?? (globalDatastore ? 'auth-token' : 'rbac')) as CacheAuthMode;
  if (globalDatastore && authMode === 'rbac') {
    c.fail('cache.authMode', 'must be auth-token with a Global Datastore (secondaries inherit the primary\'s AUTH token; RBAC users are not replicated across regions)', authMode);
  }
  const autoScaling = resolveAutoScaling(c, o.autoScaling, { nodeType, shards, replicasPerShard, global: globalDatastore !== undefined, presetOn: preset.autoScaling });

  const acceptReplacement = c.boolean('cache.acceptReplacement', o.acceptReplacement) ?? false;
  const immutable = resolveImmutable(c, o.immutable);
  const resolved: CacheConfig = {
    engine, engineVersion, nodeType, shards, replicasPerShard, port, subnets, authMode, snapshotRetentionDays, maintenanceWindow,
    snapshotWindow, logRetentionDays, removalPolicy, acceptReplacement,
    ...(autoScaling ? { autoScaling } : {}),
    ...(globalDatastore ? { globalDatastore } : {}),
    ...(immutable ? { immutable } : {}),
  };
  if (immutable) {
    for (const change of replacementChanges(immutable, cacheReplacementSettings(resolved))) {
      // (data tiering follows the node type's family: the field the user changed is nodeType)
      const path = change.setting === 'globalDatastore' ? 'cache.globalDatastore.enabled' : change.setting === 'dataTiering' ? 'cache.nodeType' : at('cache', change.setting);
      if (change.kind === 'downgrade') {
        c.fail(path, `cannot go below cache.immutable.engineVersion (${String(change.previous)}): ElastiCache never downgrades an engine`, change.requested);
      } else if (!acceptReplacement) {
        c.fail(path, `differs from cache.immutable.${change.setting} (${JSON.stringify(change.previous)}): ${REPLACEMENT_CONSEQUENCE}. Set cache.acceptReplacement: true to accept that, then record the new value in cache.immutable`, change.requested);
      }
    }
  }
  return resolved;
}

function readReplicas(c: Checker, v: unknown): number | undefined {
  const n = c.number('cache.replicasPerShard', v, { integer: true, min: 0, max: 5 });
  if (n === 0) return c.fail('cache.replicasPerShard', 'must be at least 1: Multi-AZ with automatic failover is always on and needs a replica in every shard', n);
  return n;
}

function resolveGlobal(c: Checker, raw: unknown, nodeType: string, ctx: CacheContext): CacheConfig['globalDatastore'] {
  const o = c.object('cache.globalDatastore', raw, ['enabled', 'idSuffix', 'globalReplicationGroupId']);
  if (!o) return undefined;
  const enabled = c.boolean('cache.globalDatastore.enabled', o.enabled) ?? false;
  const suffixRaw = c.string('cache.globalDatastore.idSuffix', o.idSuffix);
  const explicitId = c.string('cache.globalDatastore.globalReplicationGroupId', o.globalReplicationGroupId, {
    pattern: /^[a-z]{5}-[a-z][a-z0-9-]*$/, what: 'a Global Datastore id like ldgnf-shop-cache (prefix, dash, suffix)',
  });
  if (!enabled) return undefined;
  const idSuffix = suffixRaw ?? `${ctx.name ?? 'app'}-cache`;
  if (!isValidGlobalIdSuffix(idSuffix)) c.fail('cache.globalDatastore.idSuffix', 'must be 2-40 lowercase letters, digits and single dashes, starting with a letter', idSuffix);
  if (ctx.regions.length < 2 || ctx.regions.length > 3) {
    c.fail('cache.globalDatastore.enabled', 'a Global Datastore needs 2 or 3 regions (one primary, up to two secondaries)', ctx.regions);
  }
  const problem = globalDatastoreNodeTypeProblem(nodeType);
  if (problem) c.fail('cache.nodeType', `is not supported by a Global Datastore: ${problem}`, nodeType);
  let globalReplicationGroupId = explicitId;
  if (explicitId !== undefined && !explicitId.endsWith(`-${idSuffix}`)) {
    c.fail('cache.globalDatastore.globalReplicationGroupId', `must end with -${idSuffix} (the idSuffix)`, explicitId);
  }
  if (globalReplicationGroupId === undefined && ctx.primaryRegion !== undefined) {
    const prefix = GLOBAL_DATASTORE_ID_PREFIXES[ctx.primaryRegion];
    if (prefix) globalReplicationGroupId = `${prefix}-${idSuffix}`;
    else c.fail('cache.globalDatastore.globalReplicationGroupId', `is required: the Global Datastore id prefix of ${ctx.primaryRegion} is not known here (deploy the primary region, then copy the id)`, undefined);
  }
  return { idSuffix, globalReplicationGroupId: globalReplicationGroupId ?? '', authSecretName: `${ctx.name ?? 'app'}/cache/auth-token` };
}

function resolveAutoScaling(
  c: Checker, raw: unknown,
  ctx: { nodeType: string; shards: number; replicasPerShard: number; global: boolean; presetOn: boolean },
): CacheConfig['autoScaling'] {
  const p = 'cache.autoScaling';
  const o = c.object(p, raw, ['enabled', 'minShards', 'maxShards', 'minReplicasPerShard', 'maxReplicasPerShard', 'targetCpuPercent', 'targetMemoryPercent']) ?? {};
  const explicit = c.boolean(at(p, 'enabled'), o.enabled);
  const enabled = explicit ?? (ctx.presetOn && !ctx.global);
  if (!enabled) return undefined;
  if (ctx.global) c.fail(at(p, 'enabled'), 'must be false with a Global Datastore (ElastiCache Auto Scaling does not support Global Datastore members)', true);
  const problem = autoScalingNodeTypeProblem(ctx.nodeType);
  if (problem) c.fail('cache.nodeType', `cannot autoscale: ${problem}; set cache.autoScaling.enabled: false or pick such a node type`, ctx.nodeType);
  const minShards = c.number(at(p, 'minShards'), o.minShards, { integer: true, min: 1, max: 500 }) ?? ctx.shards;
  const maxShards = c.number(at(p, 'maxShards'), o.maxShards, { integer: true, min: 1, max: 500 }) ?? Math.min(500, Math.max(ctx.shards * 4, minShards));
  const minReplicasPerShard = c.number(at(p, 'minReplicasPerShard'), o.minReplicasPerShard, { integer: true, min: 1, max: 5 }) ?? ctx.replicasPerShard;
  const maxReplicasPerShard = c.number(at(p, 'maxReplicasPerShard'), o.maxReplicasPerShard, { integer: true, min: 1, max: 5 }) ?? Math.min(5, Math.max(ctx.replicasPerShard + 2, minReplicasPerShard));
  if (minShards > maxShards) c.fail(at(p, 'minShards'), `must not exceed maxShards (${maxShards})`, minShards);
  else if (ctx.shards < minShards || ctx.shards > maxShards) c.fail('cache.shards', `must be within cache.autoScaling minShards-maxShards (${minShards}-${maxShards})`, ctx.shards);
  if (minReplicasPerShard > maxReplicasPerShard) c.fail(at(p, 'minReplicasPerShard'), `must not exceed maxReplicasPerShard (${maxReplicasPerShard})`, minReplicasPerShard);
  else if (ctx.replicasPerShard < minReplicasPerShard || ctx.replicasPerShard > maxReplicasPerShard) {
    c.fail('cache.replicasPerShard', `must be within cache.autoScaling minReplicasPerShard-maxReplicasPerShard (${minReplicasPerShard}-${maxReplicasPerShard})`, ctx.replicasPerShard);
  }
  // ElastiCache Auto Scaling rejects other target values when the policy is created, i.e. mid-deploy.
  const range = CACHE_DEFAULTS.targetPercentRange;
  const targetCpuPercent = c.number(at(p, 'targetCpuPercent'), o.targetCpuPercent, range) ?? CACHE_DEFAULTS.targetCpuPercent;
  const targetMemoryPercent = c.number(at(p, 'targetMemoryPercent'), o.targetMemoryPercent, range) ?? CACHE_DEFAULTS.targetMemoryPercent;
  return { minShards, maxShards, minReplicasPerShard, maxReplicasPerShard, targetCpuPercent, targetMemoryPercent };
}

function resolveImmutable(c: Checker, raw: unknown): CacheReplacementSettings | undefined {
  const p = 'cache.immutable';
  const o = c.object(p, raw, ['engine', 'engineVersion', 'port', 'subnets', 'authMode', 'globalDatastore', 'dataTiering']);
  if (!o) return undefined;
  const engine = c.string(at(p, 'engine'), o.engine, { required: true, oneOf: ENGINES }) as CacheEngine | undefined;
  const engineVersion = c.string(at(p, 'engineVersion'), o.engineVersion, { required: true, pattern: VERSION, what: 'a version like 8.1' });
  if (engine !== undefined && engineVersion !== undefined) checkCacheEngineVersion(c, at(p, 'engineVersion'), engine, engineVersion);
  const port = c.number(at(p, 'port'), o.port, { required: true, integer: true, min: 1, max: 65535 });
  const subnets = c.string(at(p, 'subnets'), o.subnets, { required: true, oneOf: ['isolated', 'private'] }) as CacheSubnets | undefined;
  const authMode = c.string(at(p, 'authMode'), o.authMode, { required: true, oneOf: ['rbac', 'auth-token'] }) as CacheAuthMode | undefined;
  const globalDatastore = c.boolean(at(p, 'globalDatastore'), o.globalDatastore, true);
  // Optional: blocks recorded before data tiering was guarded lack it (the synth then warns).
  const dataTiering = c.boolean(at(p, 'dataTiering'), o.dataTiering);
  if (engine === undefined || engineVersion === undefined || port === undefined || subnets === undefined || authMode === undefined || globalDatastore === undefined) return undefined;
  return { engine, engineVersion, port, subnets, authMode, globalDatastore, ...(dataTiering !== undefined ? { dataTiering } : {}) };
}
