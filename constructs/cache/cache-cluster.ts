import { Duration, Names, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib/core';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { GeneratedSecretRotation, PublishedEndpoints, type EndpointConsumer, type IEndpointProvider } from '../common';
import { allowConsumerTo, vpcRangePeer } from '../common/endpoints';
import { dataPlacement } from '../common/placement';
import { validationError } from '../common/errors';
import { checkPort } from '../common/ports';
import { CACHE_KEYS } from '../../lib/runtime/contract';
import { CACHE_DEFAULTS, type CacheEngine } from './defaults';
import { isValidGlobalIdSuffix } from './global-datastore';
import { autoScalingNodeTypeProblem, globalDatastoreNodeTypeProblem, parseNodeType, type CacheNodeType } from './node-types';
import {
  REPLACEMENT_CONSEQUENCE,
  replacementChanges,
  type CacheAuthMode,
  type CacheReplacementSettings,
  type CacheSubnets,
} from './replacement';
import { windowProblems } from './windows';

/** Bounds of one autoscaled dimension. */
export interface CacheScalingBounds {
  /** Fewest (shards: ≥ 1; replicas per shard: ≥ 1 since Multi-AZ is always on). */
  readonly min: number;
  /** Most (shards: ≤ 500; replicas per shard: ≤ 5). */
  readonly max: number;
}

/**
 * Application Auto Scaling of the replication group (`elasticache:replication-group:NodeGroups` and
 * `:Replicas`), target tracking on engine CPU and on memory used for data.
 */
export interface CacheAutoScalingOptions {
  /**
   * Shard (node group) bounds: tracks primary engine CPU and memory (`ElastiCachePrimaryEngineCPUUtilization`,
   * `ElastiCacheDatabaseMemoryUsageCountedForEvictPercentage`, or with data tiering (r6gd), which is not eligible for it,
   * `ElastiCacheDatabaseCapacityUsageCountedForEvictPercentage`); more shards add memory and write capacity.
   * @default - the number of shards is fixed
   */
  readonly shards?: CacheScalingBounds;
  /**
   * Replicas-per-shard bounds: tracks replica engine CPU (`ElastiCacheReplicaEngineCPUUtilization`);
   * more replicas add read capacity.
   * @default - the number of replicas is fixed
   */
  readonly replicasPerShard?: CacheScalingBounds;
  /** Target engine CPU % (ElastiCache accepts 35-70). @default 60 */
  readonly targetCpuPercent?: number;
  /** Target memory % (shards only; ElastiCache accepts 35-70). @default 70 */
  readonly targetMemoryPercent?: number;
}

/** Membership in a Global Datastore (cross-region replication, one writer region). */
export type CacheGlobalDatastoreOptions =
  | {
    /** This replication group is the writer; the Global Datastore is created here. */
    readonly role: 'primary';
    /** Id suffix; ElastiCache prefixes it with a code of this region (see `globalDatastoreId`). */
    readonly idSuffix: string;
  }
  | {
    /** This replication group is a read-only secondary of an existing Global Datastore. */
    readonly role: 'secondary';
    /** The Global Datastore's full id (prefix + suffix), e.g. from `globalDatastoreId(primaryRegion, suffix)`. */
    readonly globalReplicationGroupId: string;
  };

/** Rotation of the application user's password (RBAC). */
export interface CachePasswordRotation {
  /** Time between rotations. @default Duration.days(30) */
  readonly automaticallyAfter?: Duration;
}

/** Name and replica regions of a generated AUTH token secret (see `CacheClusterProps.authSecretReplication`). */
export interface CacheAuthSecretReplication {
  /** The secret's name, identical in every region, e.g. `shop/cache/auth-token`. */
  readonly secretName: string;
  /**
   * Regions Secrets Manager pushes replicas to from this (the primary's) stack.
   * @default - none: each secondary pulls its own replica (`SecretReplica`)
   */
  readonly replicaRegions?: string[];
}

/** Guard against settings that replace the cache (see {@link CacheReplacementSettings}). */
export interface CacheReplacementGuard {
  /** The settings the deployed cache was created with. */
  readonly previous: CacheReplacementSettings;
  /** Accept that a changed setting creates a new, empty cache. @default false */
  readonly acceptReplacement?: boolean;
}

/** Properties of a {@link CacheCluster}. */
export interface CacheClusterProps {
  /** VPC of the cache. */
  readonly vpc: ec2.IVpc;
  /**
   * Subnets of the subnet group: private subnets, all isolated or all with egress (never public). Changing the kind
   * is a setting {@link replacementGuard} watches (`subnets`).
   * @default - the VPC's isolated subnets (no route to the internet); in a VPC without any (a default `ec2.Vpc`),
   *   its private subnets with egress
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** Engine. @default 'valkey' */
  readonly engine?: CacheEngine;
  /** Engine version (`major.minor`). @default - '8.1' for Valkey, '7.1' for Redis OSS */
  readonly engineVersion?: string;
  /** Node type, e.g. `new CacheNodeType('cache.r7g.large')`. @default - cache.r7g.large */
  readonly nodeType?: CacheNodeType;
  /** Shards (node groups), 1-500. @default 2 */
  readonly shards?: number;
  /** Replicas per shard, 1-5 (Multi-AZ with automatic failover is always on and needs one). @default 1 */
  readonly replicasPerShard?: number;
  /** Port. @default 6379 */
  readonly port?: number;
  /**
   * Authentication. `rbac`: a user group with the `default` user disabled and one application user whose
   * password is in Secrets Manager. `auth-token`: one AUTH token from Secrets Manager.
   * @default 'rbac'
   */
  readonly authMode?: CacheAuthMode;
  /**
   * Existing auth secret (JSON with `password`, plus `username` in `rbac` mode).
   * @default - a new secret with a generated 32-character password
   */
  readonly authSecret?: secretsmanager.ISecret;
  /**
   * Name (and optionally regions to push replicas to) for the generated AUTH token secret, so the
   * secondaries of a Global Datastore (which inherit the primary's token) can read it by name in their own
   * region. Prefer a `SecretReplica` (constructs/common) in each secondary's own stack over `replicaRegions`:
   * a list here puts every secondary region in the primary's template.
   * @default - a generated name, no replicas
   */
  readonly authSecretReplication?: CacheAuthSecretReplication;
  /**
   * Rotate the application user's password (RBAC with a generated secret): a function gives the user the new
   * password next to the current one (ElastiCache users hold two), so no client is cut off; the replaced one
   * stays valid until the next rotation. `false` turns it off.
   * @default - every 30 days with RBAC and a generated secret; none with an AUTH token or a given `authSecret`
   */
  readonly passwordRotation?: CachePasswordRotation | false;
  /** KMS key for encryption at rest. @default - a new customer managed key with rotation, retained */
  readonly encryptionKey?: kms.IKey;
  /** How long automatic snapshots are kept, in whole days from 0 (no snapshots) to 35. @default Duration.days(7) */
  readonly snapshotRetention?: Duration;
  /** Weekly maintenance window, UTC (`ddd:hh:mm-ddd:hh:mm`, ≥ 60 min). @default 'sun:05:00-sun:06:00' */
  readonly maintenanceWindow?: string;
  /** Daily snapshot window, UTC (`hh:mm-hh:mm`, ≥ 60 min, not overlapping maintenance). @default '03:00-04:00' */
  readonly snapshotWindow?: string;
  /** Retention of the slow-log and engine-log groups. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the replication group when it is removed or replaced: SNAPSHOT (CloudFormation takes a
   * final snapshot, named by CloudFormation) or RETAIN.
   * @default RemovalPolicy.SNAPSHOT
   */
  readonly removalPolicy?: RemovalPolicy;
  /** Autoscaling. @default - none */
  readonly autoScaling?: CacheAutoScalingOptions;
  /** Global Datastore membership. @default - a regional cache */
  readonly globalDatastore?: CacheGlobalDatastoreOptions;
  /**
   * SSM parameter prefix the endpoints are published under (e.g. `/shop/cache`): `endpoint`, `port`, `tls`,
   * `auth-mode`, `secret-arn` and, with RBAC, `username`.
   * @default - nothing is published; `grantConsumer` grants the secret and the port only
   */
  readonly endpointParameterPrefix?: string;
  /** Reject settings that would replace the deployed cache. @default - no check */
  readonly replacementGuard?: CacheReplacementGuard;
}

/**
 * An ElastiCache (Valkey or Redis OSS) replication group in cluster mode, built on the L1 resources:
 * shards × replicas spread over the subnet group's AZs, Multi-AZ with automatic failover, TLS required,
 * encryption at rest with a customer managed KMS key, RBAC (or an AUTH token) with the secret in Secrets
 * Manager, a cluster-mode parameter group, snapshots, slow and engine logs to CloudWatch Logs, online
 * resharding, optional autoscaling and Global Datastore membership. Its endpoints are published as SSM
 * parameters and granted to fleets through `PublishedEndpoints`.
 */
export class CacheCluster extends Construct implements ec2.IConnectable, IEndpointProvider {
  /** The replication group. */
  public readonly replicationGroup: elasticache.CfnReplicationGroup;
  /** The replication group id (CloudWatch `CacheClusterId` values start with it). */
  public readonly replicationGroupId: string;
  /** The configuration endpoint (cluster mode). */
  public readonly configurationEndpoint: string;
  /** The port. */
  public readonly port: number;
  /** The subnet group. */
  public readonly subnetGroup: elasticache.CfnSubnetGroup;
  /** The VPC's address range: where a consumer that does not allow all outbound traffic may connect to on the port. */
  private readonly egressPeer: ec2.IPeer | undefined;
  /** The cluster-mode parameter group (undefined for a Global Datastore secondary, which inherits it). */
  public readonly parameterGroup?: elasticache.CfnParameterGroup;
  /** The security group. */
  public readonly securityGroup: ec2.SecurityGroup;
  /** Network access to the cache (default port: the cache port). */
  public readonly connections: ec2.Connections;
  /** The encryption key. */
  public readonly encryptionKey: kms.IKey;
  /** The secret clients authenticate with (JSON: `password`, and `username` with RBAC). */
  public readonly authSecret: secretsmanager.ISecret;
  /** The RBAC user group (undefined with an AUTH token). */
  public readonly userGroup?: elasticache.CfnUserGroup;
  /** The application user (RBAC). */
  public readonly appUser?: elasticache.CfnUser;
  /** The rotation of the application user's password (RBAC with a generated secret, unless turned off). */
  public readonly passwordRotation?: GeneratedSecretRotation;
  /** The slow-log group. */
  public readonly slowLogGroup: logs.LogGroup;
  /** The engine-log group. */
  public readonly engineLogGroup: logs.LogGroup;
  /** The Global Datastore, when this is its primary. */
  public readonly globalReplicationGroup?: elasticache.CfnGlobalReplicationGroup;
  /** Scalable targets created for autoscaling. */
  public readonly scalableTargets: { shards?: appscaling.CfnScalableTarget; replicas?: appscaling.CfnScalableTarget } = {};
  /**
   * The nodes tier data between memory and SSD (an r6gd node type): their memory is meant to run full, so memory is
   * measured as the share of the whole capacity (`DatabaseCapacityUsageCountedForEvictPercentage`), see
   * {@link metricMemoryUsagePercent}.
   */
  public readonly dataTiering: boolean;
  /** The published endpoints (when `endpointParameterPrefix` is given). */
  public readonly endpoints?: PublishedEndpoints;


  constructor(scope: Construct, id: string, props: CacheClusterProps) {
    super(scope, id);
    const engine = props.engine ?? CACHE_DEFAULTS.engine;
    const engineVersion = props.engineVersion ?? CACHE_DEFAULTS.engineVersion[engine];
    const nodeType = props.nodeType?.toString() ?? CACHE_DEFAULTS.nodeType;
    const shards = props.shards ?? CACHE_DEFAULTS.shards;
    const replicas = props.replicasPerShard ?? CACHE_DEFAULTS.replicasPerShard;
    const port = props.port ?? CACHE_DEFAULTS.port;
    const authMode = props.authMode ?? 'rbac';
    const placement = dataPlacement(this, 'CacheCluster', 'vpcSubnets', props.vpc, props.vpcSubnets);
    const subnets: CacheSubnets = placement.kind;
    const maintenanceWindow = props.maintenanceWindow ?? CACHE_DEFAULTS.maintenanceWindow;
    const snapshotWindow = props.snapshotWindow ?? CACHE_DEFAULTS.snapshotWindow;
    const retention = (props.snapshotRetention ?? CACHE_DEFAULTS.snapshotRetention).toDays({ integral: false });
    const removalPolicy = props.removalPolicy ?? CACHE_DEFAULTS.removalPolicy;
    const global = props.globalDatastore;
    const secondary = global?.role === 'secondary';
    validate(this, { engine, engineVersion, nodeType, shards, replicas, port, authMode, maintenanceWindow, snapshotWindow, retention, removalPolicy, global, autoScaling: props.autoScaling });
    if (props.replacementGuard) {
      // (a Global Datastore secondary inherits the primary's node type: data tiering is the primary's to change)
      checkReplacement(this, props.replacementGuard, { engine, engineVersion, port, subnets, authMode, globalDatastore: global !== undefined, ...(secondary ? {} : { dataTiering: parseNodeType(nodeType)?.family === 'r6gd' }) });
    }
    this.port = port;
    this.egressPeer = vpcRangePeer(props.vpc);
    this.dataTiering = parseNodeType(nodeType)?.family === 'r6gd';
    const base = physicalBase(this);

    this.encryptionKey = props.encryptionKey ?? new kms.Key(this, 'Key', {
      description: `Encryption at rest of ${this.node.path}`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: `Cache ${this.node.path}: clients on port ${port} only`,
      allowAllOutbound: false,
    });
    this.connections = new ec2.Connections({ securityGroups: [this.securityGroup], defaultPort: ec2.Port.tcp(port) });

    this.subnetGroup = new elasticache.CfnSubnetGroup(this, 'SubnetGroup', {
      description: `Cache ${this.node.path} (${subnets} subnets)`,
      subnetIds: props.vpc.selectSubnets(placement.vpcSubnets).subnetIds,
    });

    if (!secondary) {
      this.parameterGroup = new elasticache.CfnParameterGroup(this, 'ParameterGroup', {
        cacheParameterGroupFamily: parameterGroupFamily(engine, engineVersion),
        description: `Cluster mode for ${this.node.path}`,
        properties: { 'cluster-enabled': 'yes' },
      });
    }

    this.authSecret = props.authSecret ?? this.createSecret('AuthSecret', authMode === 'rbac' ? CACHE_DEFAULTS.appUserName : undefined, props.authSecretReplication,
      authMode === 'rbac' && props.passwordRotation !== false
        ? undefined
        : authMode === 'rbac'
          ? 'Rotation of the application user\'s password is turned off for this cache (passwordRotation: false); rotate it by hand (ModifyUser with the new password next to the old, then update the secret).'
          : 'An AUTH token is set on the replication group (and inherited by Global Datastore secondaries); changing it is a ModifyReplicationGroup with AuthTokenUpdateStrategy ROTATE then SET, which CloudFormation also drives from this secret, so it is rotated by the documented procedure (docs/cache.md), not by a function.');
    if (authMode === 'rbac') {
      const { userGroup, appUser } = this.createUserGroup(engine, base);
      this.userGroup = userGroup;
      this.appUser = appUser;
      if (!props.authSecret && props.passwordRotation !== false) {
        this.passwordRotation = new GeneratedSecretRotation(this, 'PasswordRotation', {
          secret: this.authSecret,
          field: 'password',
          elastiCacheUserId: appUser.userId,
          ...(props.passwordRotation?.automaticallyAfter ? { automaticallyAfter: props.passwordRotation.automaticallyAfter } : {}),
        });
        // The function changes the user: it must exist first.
        this.passwordRotation.schedule.node.addDependency(appUser);
      }
    } else if (props.passwordRotation) {
      throw validationError(this, 'CacheCluster: passwordRotation applies to RBAC users; with authMode auth-token rotate the AUTH token by the documented procedure (got: authMode auth-token)');
    }

    this.slowLogGroup = new logs.LogGroup(this, 'SlowLog', { retention: props.logRetention ?? CACHE_DEFAULTS.logRetention, removalPolicy: RemovalPolicy.RETAIN });
    this.engineLogGroup = new logs.LogGroup(this, 'EngineLog', { retention: props.logRetention ?? CACHE_DEFAULTS.logRetention, removalPolicy: RemovalPolicy.RETAIN });
    const logDelivery = (type: string, group: logs.LogGroup): elasticache.CfnReplicationGroup.LogDeliveryConfigurationRequestProperty => ({
      destinationType: 'cloudwatch-logs',
      destinationDetails: { cloudWatchLogsDetails: { logGroup: group.logGroupName } },
      logFormat: 'json',
      logType: type,
    });

    const dataTiering = this.dataTiering;
    this.replicationGroup = new elasticache.CfnReplicationGroup(this, 'Resource', {
      replicationGroupDescription: `${engine} cache ${this.node.path}`,
      // A secondary inherits engine, version, node type, shard count, encryption, auth token and
      // parameters from the Global Datastore; CloudFormation rejects them on it.
      ...(secondary ? { globalReplicationGroupId: global.globalReplicationGroupId } : {
        engine,
        engineVersion,
        cacheNodeType: nodeType,
        numNodeGroups: shards,
        clusterMode: 'enabled',
        cacheParameterGroupName: this.parameterGroup!.ref,
        atRestEncryptionEnabled: true,
        transitEncryptionEnabled: true,
        transitEncryptionMode: 'required',
        ...(authMode === 'auth-token' ? { authToken: this.authSecret.secretValueFromJson('password').unsafeUnwrap() } : {}),
        ...(dataTiering ? { dataTieringEnabled: true } : {}),
      }),
      replicasPerNodeGroup: replicas,
      automaticFailoverEnabled: true,
      multiAzEnabled: true,
      kmsKeyId: this.encryptionKey.keyArn,
      ...(this.userGroup ? { userGroupIds: [this.userGroup.ref] } : {}),
      cacheSubnetGroupName: this.subnetGroup.ref,
      securityGroupIds: [this.securityGroup.securityGroupId],
      port,
      autoMinorVersionUpgrade: true,
      snapshotRetentionLimit: retention,
      snapshotWindow,
      preferredMaintenanceWindow: maintenanceWindow,
      logDeliveryConfigurations: [logDelivery('slow-log', this.slowLogGroup), logDelivery('engine-log', this.engineLogGroup)],
    });
    // Changing the shard count reshards online instead of replacing the group.
    this.replicationGroup.cfnOptions.updatePolicy = { useOnlineResharding: true };
    this.replicationGroup.applyRemovalPolicy(removalPolicy);
    this.replicationGroupId = this.replicationGroup.ref;
    this.configurationEndpoint = this.replicationGroup.attrConfigurationEndPointAddress;

    if (global?.role === 'primary') {
      this.globalReplicationGroup = new elasticache.CfnGlobalReplicationGroup(this, 'GlobalDatastore', {
        globalReplicationGroupIdSuffix: global.idSuffix,
        globalReplicationGroupDescription: `Global Datastore of ${this.node.path}`,
        automaticFailoverEnabled: true,
        members: [{ replicationGroupId: this.replicationGroup.ref, replicationGroupRegion: Stack.of(this).region, role: 'PRIMARY' }],
      });
      this.globalReplicationGroup.applyRemovalPolicy(RemovalPolicy.RETAIN);
    }
    if (props.autoScaling) this.addAutoScaling(props.autoScaling, base);

    if (props.endpointParameterPrefix !== undefined) {
      this.endpoints = new PublishedEndpoints(this, 'Endpoints', {
        parameterPrefix: props.endpointParameterPrefix,
        description: `${engine} cache (cluster mode, TLS required)`,
        values: {
          [CACHE_KEYS.endpoint]: this.configurationEndpoint,
          [CACHE_KEYS.port]: String(port),
          [CACHE_KEYS.tls]: 'required',
          [CACHE_KEYS.authMode]: authMode,
          [CACHE_KEYS.secretArn]: this.authSecret.secretArn,
          ...(authMode === 'rbac' ? { [CACHE_KEYS.username]: CACHE_DEFAULTS.appUserName } : {}),
        },
        secret: this.authSecret,
        network: { connections: this, port: ec2.Port.tcp(port), ...(this.egressPeer ? { egressPeer: this.egressPeer } : {}) },
      });
    }
    this.acknowledgeNagRules(authMode, secondary);
  }

  /** Lets `consumer` read the endpoints (when published) and the auth secret, and reach the port. */
  public grantConsumer(consumer: EndpointConsumer): void {
    if (this.endpoints) {
      this.endpoints.grantConsumer(consumer);
      return;
    }
    this.authSecret.grantRead(consumer);
    allowConsumerTo(consumer, this, ec2.Port.tcp(this.port), this.egressPeer);
  }

  /** Errors of the password rotation function (undefined when nothing rotates). */
  public metricPasswordRotationErrors(opts?: cloudwatch.MetricOptions): cloudwatch.IMetric | undefined {
    return this.passwordRotation?.metricErrors(opts);
  }

  /**
   * A metric ElastiCache publishes per replication group and node role (dimensions `ReplicationGroupId` and
   * `Role` = `Primary` or `Replica`, those of its Auto Scaling metrics). Unlike node ids, the role follows
   * shards and replicas added by autoscaling and primaries moved by a failover, so alarms on it stay right.
   */
  public metricByRole(metricName: string, role: 'Primary' | 'Replica', opts?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/ElastiCache',
      metricName,
      dimensionsMap: { ReplicationGroupId: this.replicationGroupId, Role: role },
      statistic: 'Maximum',
      period: Duration.minutes(1),
      ...opts,
    });
  }

  /**
   * Engine CPU % of the primaries (`EngineCPUUtilization`, role `Primary`, Maximum: at least their average, and
   * the busiest one's when ElastiCache publishes per-node samples under the role). Alarms accept it.
   */
  public metricEngineCpu(opts?: cloudwatch.MetricOptions): cloudwatch.IMetric {
    return this.metricByRole('EngineCPUUtilization', 'Primary', opts);
  }

  /**
   * Memory used for data as % of `maxmemory` on the primaries (`DatabaseMemoryUsageCountedForEvictPercentage`, role
   * `Primary`, Maximum): eviction starts at 100 %. Alarms accept it.
   *
   * With data tiering (r6gd) the data's share of memory and SSD together (`DatabaseCapacityUsageCountedForEvictPercentage`):
   * such nodes keep memory full by design and move values to SSD, so the memory metric sits near 100 % on a healthy
   * cache (ElastiCache's Auto Scaling refuses it for r6gd for that reason).
   */
  public metricMemoryUsagePercent(opts?: cloudwatch.MetricOptions): cloudwatch.IMetric {
    return this.metricByRole(this.dataTiering ? 'DatabaseCapacityUsageCountedForEvictPercentage' : 'DatabaseMemoryUsageCountedForEvictPercentage', 'Primary', opts);
  }

  /** Evicted keys, summed over every node of the group (a `SEARCH` expression: dashboards only, alarms reject it). */
  public metricEvictions(opts?: cloudwatch.MetricOptions): cloudwatch.IMetric {
    return this.searchAggregate('Evictions', 'Sum', 'SUM', 'Evictions', opts);
  }

  /** Client connections, summed over every node (`SEARCH`: dashboards only). */
  public metricCurrentConnections(opts?: cloudwatch.MetricOptions): cloudwatch.IMetric {
    return this.searchAggregate('CurrConnections', 'Average', 'SUM', 'Connections', opts);
  }

  /** Replication lag in seconds of the most lagging replica (`ReplicationLag`, only replicas publish it; `SEARCH`: dashboards only). */
  public metricReplicationLag(opts?: cloudwatch.MetricOptions): cloudwatch.IMetric {
    return this.searchAggregate('ReplicationLag', 'Maximum', 'MAX', 'Replication lag (s, worst replica)', opts);
  }

  /** Cache hit rate %: hits / (hits + misses) over every node (`SEARCH`: dashboards only). */
  public metricCacheHitRate(opts?: cloudwatch.MetricOptions): cloudwatch.IMetric {
    const period = opts?.period ?? Duration.minutes(1);
    const hits = this.search('CacheHits', 'Sum', period);
    const misses = this.search('CacheMisses', 'Sum', period);
    return new cloudwatch.MathExpression({ expression: `100 * SUM(${hits}) / (SUM(${hits}) + SUM(${misses}))`, usingMetrics: {}, label: 'Cache hit rate %', period });
  }

  /**
   * One metric aggregated over every node of the group, whatever autoscaling added: a `SEARCH` over the node
   * metrics (`CacheClusterId = <group>-<shard>-<node>`), which CloudWatch graphs but alarms do not accept.
   */
  private searchAggregate(metricName: string, statistic: string, fn: 'MAX' | 'SUM', label: string, opts?: cloudwatch.MetricOptions): cloudwatch.IMetric {
    const period = opts?.period ?? Duration.minutes(1);
    return new cloudwatch.MathExpression({ expression: `${fn}(${this.search(metricName, opts?.statistic ?? statistic, period)})`, usingMetrics: {}, label, period });
  }

  private search(metricName: string, statistic: string, period: Duration): string {
    return `SEARCH('{AWS/ElastiCache,CacheClusterId} MetricName="${metricName}" "${this.replicationGroupId}"', '${statistic}', ${period.toSeconds()})`;
  }

  /**
   * A generated secret (32 letters and digits). `unrotatedReason` acknowledges AwsSolutions-SMG4 for a secret no
   * function rotates, with why.
   */
  private createSecret(id: string, username: string | undefined, replication?: CacheAuthSecretReplication, unrotatedReason?: string): secretsmanager.Secret {
    const secret = new secretsmanager.Secret(this, id, {
      description: `Credentials of ${this.node.path}`,
      ...(replication ? { secretName: replication.secretName, replicaRegions: (replication.replicaRegions ?? []).map((region) => ({ region })) } : {}),
      generateSecretString: {
        secretStringTemplate: JSON.stringify(username ? { username } : {}),
        generateStringKey: 'password',
        // ElastiCache passwords: 16-128 printable characters with a restricted set of symbols; letters and
        // digits only keeps every client's URL parsing happy.
        excludePunctuation: true,
        passwordLength: 32,
      },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    if (unrotatedReason) Validations.of(secret).acknowledge({ id: 'AwsSolutions-SMG4', reason: unrotatedReason });
    return secret;
  }

  private createUserGroup(engine: CacheEngine, base: string): { userGroup: elasticache.CfnUserGroup; appUser: elasticache.CfnUser } {
    // The user group must contain a user named `default`: ours is switched off with no command allowed
    // (a Valkey user group only admits users with a password, so it gets one nobody is granted).
    const defaultSecret = this.createSecret('DefaultUserSecret', 'default', undefined,
      'The password of the user named default, which is switched off with no command allowed (off -@all): it is never used to connect, only required by ElastiCache for a user in a Valkey user group.');
    const defaultUser = new elasticache.CfnUser(this, 'DefaultUser', {
      engine,
      userId: `${base}-default`,
      userName: 'default',
      accessString: 'off -@all',
      authenticationMode: { Type: 'password', Passwords: [defaultSecret.secretValueFromJson('password').unsafeUnwrap()] },
    });
    const appUser = new elasticache.CfnUser(this, 'AppUser', {
      engine,
      userId: `${base}-app`,
      userName: CACHE_DEFAULTS.appUserName,
      accessString: CACHE_DEFAULTS.appUserAccessString,
      authenticationMode: { Type: 'password', Passwords: [this.authSecret.secretValueFromJson('password').unsafeUnwrap()] },
    });
    const userGroup = new elasticache.CfnUserGroup(this, 'UserGroup', {
      engine,
      userGroupId: `${base}-users`,
      userIds: [defaultUser.ref, appUser.ref],
    });
    return { userGroup, appUser };
  }

  private addAutoScaling(opts: CacheAutoScalingOptions, base: string): void {
    const cpu = opts.targetCpuPercent ?? CACHE_DEFAULTS.targetCpuPercent;
    const memory = opts.targetMemoryPercent ?? CACHE_DEFAULTS.targetMemoryPercent;
    const resourceId = `replication-group/${this.replicationGroup.ref}`;
    const tracking = (scope: string, target: appscaling.CfnScalableTarget, name: string, metric: string, value: number) =>
      new appscaling.CfnScalingPolicy(this, scope, {
        policyName: `${base}-${name}`,
        policyType: 'TargetTrackingScaling',
        scalingTargetId: target.ref,
        targetTrackingScalingPolicyConfiguration: {
          targetValue: value,
          predefinedMetricSpecification: { predefinedMetricType: metric },
          scaleOutCooldown: CACHE_DEFAULTS.scaleOutCooldown.toSeconds(),
          scaleInCooldown: CACHE_DEFAULTS.scaleInCooldown.toSeconds(),
        },
      });
    if (opts.shards) {
      // No RoleARN: Application Auto Scaling uses its service-linked role for ElastiCache.
      const target = new appscaling.CfnScalableTarget(this, 'ShardScaling', {
        serviceNamespace: 'elasticache',
        scalableDimension: 'elasticache:replication-group:NodeGroups',
        resourceId,
        minCapacity: opts.shards.min,
        maxCapacity: opts.shards.max,
      });
      tracking('ShardCpuTracking', target, 'shards-cpu', 'ElastiCachePrimaryEngineCPUUtilization', cpu);
      // r6gd (data tiering) is not eligible for the memory metric: its memory runs full by design, so track the capacity
      // (memory and SSD) used instead, as ElastiCache's target tracking documentation prescribes.
      tracking('ShardMemoryTracking', target, 'shards-memory', this.dataTiering
        ? 'ElastiCacheDatabaseCapacityUsageCountedForEvictPercentage'
        : 'ElastiCacheDatabaseMemoryUsageCountedForEvictPercentage', memory);
      this.scalableTargets.shards = target;
    }
    if (opts.replicasPerShard) {
      const target = new appscaling.CfnScalableTarget(this, 'ReplicaScaling', {
        serviceNamespace: 'elasticache',
        scalableDimension: 'elasticache:replication-group:Replicas',
        resourceId,
        minCapacity: opts.replicasPerShard.min,
        maxCapacity: opts.replicasPerShard.max,
      });
      tracking('ReplicaCpuTracking', target, 'replicas-cpu', 'ElastiCacheReplicaEngineCPUUtilization', cpu);
      this.scalableTargets.replicas = target;
      // Both targets change the same group: let CloudFormation register them one after the other.
      if (this.scalableTargets.shards) target.addResourceDependency(this.scalableTargets.shards);
    }
  }

  private acknowledgeNagRules(authMode: CacheAuthMode, secondary: boolean): void {
    if (authMode === 'rbac') {
      Validations.of(this.replicationGroup).acknowledge({
        id: 'AwsSolutions-AEC6',
        reason: 'Clients authenticate with RBAC (a user group whose default user is disabled and whose application user has a Secrets Manager password), which supersedes the single AUTH token this rule looks for.',
      });
    }
    if (secondary) {
      if (authMode === 'auth-token') {
        Validations.of(this.replicationGroup).acknowledge({
          id: 'AwsSolutions-AEC6',
          reason: 'A Global Datastore secondary inherits the primary\'s AUTH token (the primary sets it from Secrets Manager); CloudFormation rejects AuthToken on a secondary.',
        });
      }
      Validations.of(this.replicationGroup).acknowledge({
        id: 'AwsSolutions-AEC3',
        reason: 'A Global Datastore secondary inherits encryption at rest and TLS in transit from the primary (which sets both); CloudFormation rejects the properties on a secondary.',
      });
      Validations.of(this.replicationGroup).acknowledge({
        id: 'AwsSolutions-AEC5',
        reason: 'A Global Datastore secondary inherits its engine, so the rule cannot see it; the port is reachable only from the security groups granted through grantConsumer.',
      });
    }
  }
}

/** The parameter group family of an engine version: `valkey8`, `redis7`, `redis6.x`. */
export function parameterGroupFamily(engine: CacheEngine, version: string): string {
  const major = Number.parseInt(version, 10);
  if (engine === 'valkey') return `valkey${major}`;
  return major === 6 ? 'redis6.x' : `redis${major}`;
}

interface Validated {
  engine: CacheEngine; engineVersion: string; nodeType: string; shards: number; replicas: number; port: number;
  authMode: CacheAuthMode; maintenanceWindow: string; snapshotWindow: string; retention: number; removalPolicy: RemovalPolicy;
  global?: CacheGlobalDatastoreOptions; autoScaling?: CacheAutoScalingOptions;
}

function validate(scope: Construct, v: Validated): void {
  const fail = (msg: string): never => {
    throw validationError(scope, `CacheCluster: ${msg}`);
  };
  if (v.engine !== 'valkey' && v.engine !== 'redis') fail(`engine must be valkey or redis (got: ${JSON.stringify(v.engine)})`);
  const m = /^(\d+)\.(\d+)(\.\d+)?$/.exec(v.engineVersion);
  if (!m) fail(`engineVersion must look like 8.1 (got: ${JSON.stringify(v.engineVersion)})`);
  const [major, minor] = [Number(m![1]), Number(m![2])];
  if (v.engine === 'valkey' && (major < 7 || (major === 7 && minor < 2))) fail(`engineVersion of valkey must be 7.2 or later (got: ${v.engineVersion})`);
  if (v.engine === 'redis' && (major < 6 || major > 7)) fail(`engineVersion of redis must be 6.x or 7.x (RBAC and TLS modes need 6+) (got: ${v.engineVersion})`);
  if (!parseNodeType(v.nodeType)) fail(`nodeType must be a Valkey/Redis node type like cache.r7g.large (got: ${JSON.stringify(v.nodeType)})`);
  if (!Token.isUnresolved(v.shards) && (!Number.isInteger(v.shards) || v.shards < 1 || v.shards > 500)) fail(`shards must be a whole number from 1 to 500 (got: ${v.shards})`);
  if (!Number.isInteger(v.replicas) || v.replicas < 0 || v.replicas > 5) fail(`replicasPerShard must be 0-5 (got: ${v.replicas})`);
  if (v.replicas === 0) fail('replicasPerShard must be at least 1: Multi-AZ with automatic failover is always on and needs a replica in every shard (got: 0)');
  if (v.shards * (v.replicas + 1) > 500) fail(`shards × (replicasPerShard + 1) must be at most 500 nodes (got: ${v.shards * (v.replicas + 1)})`);
  checkPort(scope, 'CacheCluster', 'port', v.port, 1024);
  if (!Number.isInteger(v.retention) || v.retention < 0 || v.retention > 35) fail(`snapshotRetention must be whole days from 0 to 35 (got: ${v.retention} days)`);
  if (v.removalPolicy !== RemovalPolicy.SNAPSHOT && v.removalPolicy !== RemovalPolicy.RETAIN) fail(`removalPolicy must be SNAPSHOT or RETAIN (got: ${v.removalPolicy})`);
  for (const p of windowProblems(v.maintenanceWindow, v.snapshotWindow)) {
    fail(`${p.window} ${p.message} (got: ${JSON.stringify(p.window === 'maintenanceWindow' ? v.maintenanceWindow : v.snapshotWindow)})`);
  }
  if (v.global) {
    const problem = globalDatastoreNodeTypeProblem(v.nodeType);
    if (problem) fail(`nodeType cannot join a Global Datastore: ${problem} (got: ${v.nodeType})`);
    if (v.authMode === 'rbac') fail('globalDatastore needs authMode auth-token: secondaries inherit the primary\'s AUTH token, and this construct does not replicate RBAC users across regions (got: rbac)');
    if (v.autoScaling) fail('autoScaling is not supported on Global Datastore members (ElastiCache Auto Scaling limitation); scale the Global Datastore instead');
    if (v.global.role === 'primary' && !isValidGlobalIdSuffix(v.global.idSuffix)) fail(`globalDatastore.idSuffix must be 2-40 lowercase letters, digits and single dashes, starting with a letter (got: ${JSON.stringify(v.global.idSuffix)})`);
  }
  if (v.autoScaling) {
    const problem = autoScalingNodeTypeProblem(v.nodeType);
    if (problem) fail(`nodeType cannot autoscale: ${problem} (got: ${v.nodeType})`);
    checkBounds('autoScaling.shards', v.autoScaling.shards, v.shards, 1, 500, fail);
    checkBounds('autoScaling.replicasPerShard', v.autoScaling.replicasPerShard, v.replicas, 1, 5, fail);
    const { min, max } = CACHE_DEFAULTS.targetPercentRange;
    for (const [k, t] of [['targetCpuPercent', v.autoScaling.targetCpuPercent], ['targetMemoryPercent', v.autoScaling.targetMemoryPercent]] as const) {
      if (t !== undefined && (t < min || t > max)) fail(`autoScaling.${k} must be ${min}-${max}, the target values ElastiCache Auto Scaling accepts (got: ${t})`);
    }
  }
}

function checkBounds(name: string, b: CacheScalingBounds | undefined, current: number, lo: number, hi: number, fail: (m: string) => never): void {
  if (!b) return;
  if (!Number.isInteger(b.min) || b.min < lo) fail(`${name}.min must be a whole number ≥ ${lo} (got: ${b.min})`);
  if (!Number.isInteger(b.max) || b.max > hi) fail(`${name}.max must be a whole number ≤ ${hi} (got: ${b.max})`);
  if (b.min > b.max) fail(`${name}.min (${b.min}) must not exceed max (${b.max})`);
  if (current < b.min || current > b.max) fail(`${name} bounds ${b.min}-${b.max} must include the provisioned ${current}`);
}

function checkReplacement(scope: Construct, guard: CacheReplacementGuard, requested: CacheReplacementSettings): void {
  const changes = replacementChanges(guard.previous, requested);
  const downgrades = changes.filter((c) => c.kind === 'downgrade');
  if (downgrades.length > 0) {
    throw validationError(scope, `CacheCluster: engineVersion cannot go down from ${String(downgrades[0].previous)}: ElastiCache never downgrades (got: ${String(downgrades[0].requested)})`);
  }
  if (changes.length > 0 && !guard.acceptReplacement) {
    const list = changes.map((c) => `${c.setting} ${JSON.stringify(c.previous)} → ${JSON.stringify(c.requested)}`).join(', ');
    throw validationError(scope, `CacheCluster: ${list}: ${REPLACEMENT_CONSEQUENCE}. Set replacementGuard.acceptReplacement to accept it (got: ${list})`);
  }
}

/** A deterministic, lowercase physical-name base for the RBAC users and group (unique per stack path). */
function physicalBase(scope: Construct): string {
  const raw = Names.uniqueResourceName(scope, { maxLength: 30, separator: '-' }).toLowerCase();
  let s = raw.replace(/[^a-z0-9-]/g, '').replace(/-+/g, '-').replace(/^-|-$/g, '');
  if (!/^[a-z]/.test(s)) s = `c${s}`;
  return s.slice(0, 30).replace(/-$/, '');
}
