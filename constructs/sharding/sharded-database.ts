import { Stack, Token } from 'aws-cdk-lib/core';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { ShardMapValidationError, parseShardMap, type ShardEntry, type ShardMap, type ShardStrategy } from '../../lib/runtime/shard-map';
import { AuroraDatabase, type AuroraDatabaseProps } from '../aurora';
import { PublishedEndpoints, type EndpointConsumer, type IEndpointProvider } from '../common';
import { validationError } from '../common/errors';
import { MAX_SHARDS_PER_REGION, MAX_SHARD_ID_LENGTH, SHARDING_DEFAULTS, SHARD_ID, shardIdReadsAsSecretSuffix } from './defaults';

/** Settings every created shard shares: `AuroraDatabaseProps` without the per-shard physical names. */
export type ShardDefaults = AuroraDatabaseProps;

/** Per-shard settings over {@link ShardDefaults} (instance classes, readers, autoscaling...). */
export type ShardOverrides = Partial<Omit<AuroraDatabaseProps, 'vpc'>>;

/** One shard of a {@link ShardedDatabase}. */
export interface ShardProps {
  /**
   * Stable shard id (`s0`, `s1`, `eu-users`...): lowercase letters, digits and single dashes, starting with
   * a letter, at most 16 characters. It names the shard in the shard map and is part of the created
   * shard's construct id, cluster identifier and parameter prefix: never rename or reuse it.
   */
  readonly id: string;
  /**
   * An existing database to adopt as this shard instead of creating one, e.g. the cluster that held all
   * the data before sharding (so its logical IDs and identifiers stay as they are).
   * @default - a new `AuroraDatabase` with the shard defaults and `overrides`
   */
  readonly database?: AuroraDatabase;
  /**
   * Settings of this shard over the shared defaults (ignored with `database`). Physical names left out
   * are derived per shard: see {@link ShardedDatabase}.
   * @default - the shared defaults
   */
  readonly overrides?: ShardOverrides;
  /**
   * The shard is listed in the published shard map. Set `false` while a new shard is being created and
   * backfilled, so the application routes no key to an empty cluster; set `true` (and bump `epoch`) to
   * switch traffic. For `hash` maps the shards left out must come after every listed shard.
   * @default true
   */
  readonly inShardMap?: boolean;
}

/** Properties of a {@link ShardedDatabase}. */
export interface ShardedDatabaseProps {
  /**
   * Settings every created shard shares (VPC, engine, classes, global database...). Per-shard physical
   * names are derived from these: see {@link ShardedDatabase}.
   */
  readonly shardDefaults: ShardDefaults;
  /**
   * The shards, in shard-map order (for `hash` the order is the key assignment: only ever append). At
   * least one, at most 10 (the most an 8 KB parameter holds), ids unique.
   */
  readonly shards: ShardProps[];
  /** How keys are assigned to shards. @default 'hash' */
  readonly strategy?: ShardStrategy;
  /**
   * For `range`: one split point per listed shard but the first, strictly increasing, all numbers or all
   * strings; shard `i` holds `[boundaries[i-1], boundaries[i])`. Not allowed for `hash`.
   * @default - none (required for `range`)
   */
  readonly boundaries?: readonly number[] | readonly string[];
  /**
   * The map's revision; bump it on every change of the listed shards or boundaries (the runtime refuses
   * to go back to a lower epoch).
   * @default 0
   */
  readonly epoch?: number;
  /**
   * Name of the SSM parameter holding the shard map.
   * @default - `<shardDefaults.parameterPrefix>/shard-map` (e.g. `/shop/database/shard-map`), or the first
   * shard's parameter prefix followed by `/shard-map` when the defaults have no prefix
   */
  readonly shardMapParameterName?: string;
}

/** One shard of a {@link ShardedDatabase}. */
export interface Shard {
  /** The shard id. */
  readonly id: string;
  /** Its position in {@link ShardedDatabase.shards}. */
  readonly index: number;
  /** The cluster. */
  readonly database: AuroraDatabase;
  /** Listed in the published shard map. */
  readonly inShardMap: boolean;
}

/**
 * Data partitioning over several Aurora clusters: N shards, each an {@link AuroraDatabase} built from shared
 * defaults and per-shard overrides, and a published shard map (the JSON document of
 * `lib/runtime/shard-map.ts`, validated at synth by the same `parseShardMap` the application's router
 * uses) in an SSM parameter of the stack's region. `grantConsumer` gives a fleet the shard map, every
 * shard's endpoints and secret, and network access to every shard.
 *
 * Shards are addressed by id, never by position: a created shard's construct id is `Shard<Id>` (`s1` →
 * `ShardS1`), so adding a shard changes no existing shard's logical IDs. Physical names of a created shard
 * not given in its `overrides` are derived from the defaults and the shard id: cluster
 * `<clusterIdentifier>-<id>`, parameters `<parameterPrefix>/shards/<id>`, and with a global database
 * the global cluster `<globalClusterIdentifier>-<id>` and the secret `<secretName>-<id>` (so each shard is
 * its own global database, named identically in every region).
 */
export class ShardedDatabase extends Construct implements IEndpointProvider {
  /** The shards, in shard-map order. */
  public readonly shards: readonly Shard[];
  /** The shard map as published, with CDK tokens in place of the endpoints. */
  public readonly shardMap: ShardMap;
  /** The shard map as a JSON string (a token that resolves at deploy). */
  public readonly shardMapJson: string;
  /** The shard-map parameter. */
  public readonly shardMapParameter: ssm.StringParameter;
  /** The published shard map (the shared publishing and granting mechanism). */
  public readonly published: PublishedEndpoints;

  constructor(scope: Construct, id: string, props: ShardedDatabaseProps) {
    super(scope, id);
    const strategy = props.strategy ?? SHARDING_DEFAULTS.strategy;
    validateShards(this, props.shards, strategy, props.shardDefaults.globalDatabase !== undefined);
    const defaults = props.shardDefaults;
    this.shards = props.shards.map((s, index) => ({
      id: s.id,
      index,
      database: s.database ?? new AuroraDatabase(this, `Shard${pascalId(s.id)}`, shardProps(defaults, s)),
      inShardMap: s.inShardMap ?? true,
    }));
    checkDistinctNames(this, this.shards);

    const listed = this.shards.filter((s) => s.inShardMap);
    const document = {
      version: 1 as const,
      ...(props.epoch !== undefined ? { epoch: props.epoch } : {}),
      strategy,
      shards: listed.map((s) => shardEntry(s)),
      ...(props.boundaries !== undefined ? { boundaries: props.boundaries } : {}),
    };
    // Ids, order, strategy and boundaries are checked now; endpoint tokens resolve at deploy.
    try {
      this.shardMap = parseShardMap(document, { isUnresolved: (v) => Token.isUnresolved(v), source: `ShardedDatabase ${this.node.path}` });
    } catch (e) {
      // The runtime's own checks (shared with the application's router), raised as this construct's error.
      if (e instanceof ShardMapValidationError) throw Object.assign(validationError(this, e.message), { cause: e });
      throw e;
    }
    this.shardMapJson = Stack.of(this).toJsonString(this.shardMap);

    const prefix = defaults.parameterPrefix ?? this.shards[0].database.published.parameterPrefix;
    const parameterName = props.shardMapParameterName ?? `${prefix}/${SHARDING_DEFAULTS.shardMapParameter}`;
    if (!/^(\/[A-Za-z0-9_.-]+){2,}$/.test(parameterName)) {
      throw validationError(this, `ShardedDatabase: shardMapParameterName must be a parameter path like /app/database/shard-map (got: ${JSON.stringify(parameterName)})`);
    }
    const slash = parameterName.lastIndexOf('/');
    this.published = new PublishedEndpoints(this, 'ShardMap', {
      parameterPrefix: parameterName.slice(0, slash),
      values: { [parameterName.slice(slash + 1)]: this.shardMapJson },
      description: `Shard map (${strategy}, ${listed.length} shard${listed.length === 1 ? '' : 's'})`,
    });
    this.shardMapParameter = Object.values(this.published.parameters)[0];
    const bytes = estimatedBytes(listed);
    if (bytes > SHARDING_DEFAULTS.standardParameterBytes) {
      // Standard parameters hold 4 KB; the map may resolve to more, so it is published in the advanced tier.
      (this.shardMapParameter.node.defaultChild as ssm.CfnParameter).tier = ssm.ParameterTier.ADVANCED;
    }
  }

  /**
   * Lets `consumer` (a fleet) use every shard: read the shard map and each shard's published endpoints and
   * secret, and reach each shard's cluster and proxy on the database port.
   */
  public grantConsumer(consumer: EndpointConsumer): void {
    this.published.grantConsumer(consumer);
    for (const shard of this.shards) shard.database.grantConsumer(consumer);
  }

  /** The shard with id `id`; throws for an unknown id. */
  public shard(id: string): Shard {
    const found = this.shards.find((s) => s.id === id);
    if (!found) throw validationError(this, `ShardedDatabase: no shard with id ${JSON.stringify(id)} (shards: ${this.shards.map((s) => s.id).join(', ')})`);
    return found;
  }

  /**
   * One metric per shard, by shard id, e.g. `metricByShard((db) => db.metricCpuUtilization())` for a
   * dashboard row or one alarm per shard (a hot shard is a per-shard problem).
   */
  public metricByShard(metric: (database: AuroraDatabase) => cloudwatch.IMetric): Record<string, cloudwatch.IMetric> {
    return Object.fromEntries(this.shards.map((s) => [s.id, metric(s.database)]));
  }

  /** Average CPU % of each shard's instances, by shard id. */
  public metricCpuUtilizationByShard(opts?: cloudwatch.MetricOptions): Record<string, cloudwatch.IMetric> {
    return this.metricByShard((db) => db.metricCpuUtilization(opts));
  }

  /** Connections to each shard's instances (sum), by shard id. */
  public metricDatabaseConnectionsByShard(opts?: cloudwatch.MetricOptions): Record<string, cloudwatch.IMetric> {
    return this.metricByShard((db) => db.metricDatabaseConnections(opts));
  }

  /** Commit latency of each shard (ms, average), by shard id. */
  public metricCommitLatencyByShard(opts?: cloudwatch.MetricOptions): Record<string, cloudwatch.IMetric> {
    return this.metricByShard((db) => db.metricCommitLatency(opts));
  }

  /** Reader lag of each shard (ms, maximum), by shard id. */
  public metricReplicaLagByShard(opts?: cloudwatch.MetricOptions): Record<string, cloudwatch.IMetric> {
    return this.metricByShard((db) => db.metricReplicaLag(opts));
  }
}

/** `s1` → `S1`, `eu-users` → `EuUsers`: the form a shard id takes in construct ids and output keys. */
export function pascalId(id: string): string {
  return id.split('-').map((p) => p[0].toUpperCase() + p.slice(1)).join('');
}

function validateShards(scope: Construct, shards: ShardProps[], strategy: ShardStrategy, global: boolean): void {
  const fail = (msg: string): never => { throw validationError(scope, `ShardedDatabase: ${msg}`); };
  if (shards.length === 0) fail('shards must list at least one shard (got: 0)');
  if (shards.length > MAX_SHARDS_PER_REGION) fail(`shards must list at most ${MAX_SHARDS_PER_REGION} shards, the most a shard map parameter holds (got: ${shards.length})`);
  const seen = new Map<string, number>();
  shards.forEach((s, i) => {
    if (Token.isUnresolved(s.id) || !SHARD_ID.test(s.id) || s.id.length > MAX_SHARD_ID_LENGTH) {
      fail(`shards[${i}].id must be lowercase letters, digits and single dashes, starting with a letter, at most ${MAX_SHARD_ID_LENGTH} characters (got: ${JSON.stringify(s.id)})`);
    }
    const key = pascalId(s.id);
    const first = seen.get(key);
    if (first !== undefined) fail(`shards[${i}].id ${JSON.stringify(s.id)} duplicates shards[${first}].id ${JSON.stringify(shards[first].id)}`);
    seen.set(key, i);
    if (s.database && s.overrides) fail(`shards[${i}] (${s.id}) sets both database and overrides; an adopted database takes no overrides`);
    if (global && !s.database && shardIdReadsAsSecretSuffix(s.id)) {
      fail(`shards[${i}].id must not end in a part of exactly 6 characters with a global database: its secret "…-${s.id}" would read as a full ARN's random suffix in the secondary regions (got: ${JSON.stringify(s.id)})`);
    }
  });
  if (!shards.some((s) => s.inShardMap ?? true)) fail('at least one shard must be in the shard map (every shard has inShardMap: false)');
  if (strategy === 'hash') {
    // The order of a hash map is its key assignment: a shard left out in the middle would shift the rest.
    const gap = shards.findIndex((s) => s.inShardMap === false);
    const after = gap < 0 ? -1 : shards.findIndex((s, i) => i > gap && (s.inShardMap ?? true));
    if (after >= 0) fail(`shards[${after}] (${shards[after].id}) is in the hash shard map but comes after shards[${gap}] (${shards[gap].id}), which is not; shards left out of a hash map must be the last ones`);
  }
}

/** The created shard's props: defaults, then derived physical names, then the overrides. */
function shardProps(d: ShardDefaults, s: ShardProps): AuroraDatabaseProps {
  const o = s.overrides ?? {};
  const g = d.globalDatabase;
  return {
    ...d,
    ...(d.clusterIdentifier !== undefined ? { clusterIdentifier: `${d.clusterIdentifier}-${s.id}` } : {}),
    ...(d.parameterPrefix !== undefined ? { parameterPrefix: `${d.parameterPrefix}/${SHARDING_DEFAULTS.shardParameterPath}/${s.id}` } : {}),
    ...(g ? { globalDatabase: { ...g, globalClusterIdentifier: `${g.globalClusterIdentifier}-${s.id}`, secretName: `${g.secretName}-${s.id}` } } : {}),
    ...o,
  };
}

/** Two shards must never share a physical name (an override could make them). */
function checkDistinctNames(scope: Construct, shards: readonly Shard[]): void {
  const names: Array<[string, (s: Shard) => string | undefined]> = [
    ['cluster identifier', (s) => s.database.clusterIdentifier],
    ['parameter prefix', (s) => s.database.published.parameterPrefix],
    ['global cluster identifier', (s) => s.database.globalCluster?.globalClusterIdentifier ?? (s.database.cluster.node.defaultChild as { globalClusterIdentifier?: string }).globalClusterIdentifier],
  ];
  for (const [what, get] of names) {
    const seen = new Map<string, string>();
    for (const s of shards) {
      const v = get(s);
      if (v === undefined || Token.isUnresolved(v)) continue;
      const other = seen.get(v);
      if (other !== undefined) throw validationError(scope, `ShardedDatabase: shards ${other} and ${s.id} have the same ${what} (got: ${JSON.stringify(v)})`);
      seen.set(v, s.id);
    }
  }
}

function shardEntry(s: Shard): ShardEntry {
  const e = s.database.endpoints;
  return {
    id: s.id,
    writer: e.writer,
    reader: e.reader,
    ...(e.proxy !== undefined ? { proxy: e.proxy } : {}),
    ...(e.proxyReadOnly !== undefined ? { proxyReadOnly: e.proxyReadOnly } : {}),
    port: Token.isUnresolved(e.port) ? Token.asNumber(e.port) : Number(e.port),
    secretArn: e.secret.secretArn,
    database: e.databaseName,
  };
}

/** An upper bound of the map's resolved JSON length. */
function estimatedBytes(listed: readonly Shard[]): number {
  const b = SHARDING_DEFAULTS.estimatedBytes;
  let total = 64;
  for (const s of listed) {
    const e = s.database.endpoints;
    total += 120 + s.id.length + e.databaseName.length + 2 * b.clusterEndpoint + b.secretArn + (e.proxy !== undefined ? 2 * b.proxyEndpoint : 0);
  }
  return total;
}
