import { Annotations, CfnOutput, Duration, RemovalPolicy } from 'aws-cdk-lib/core';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { AuroraDatabase, type AuroraDatabaseProps, type AuroraInstanceClass, type AuroraReaderAutoScaling } from '../../constructs/aurora';
import { ShardedDatabase, type ShardOverrides } from '../../constructs/sharding';
import { CacheCluster, CacheNodeType, replacementChanges, type CacheGlobalDatastoreOptions } from '../../constructs/cache';
import { SecretReplica, type IEndpointProvider } from '../../constructs/common';
import type { MonitoredSecretRotation } from '../../constructs/monitoring';
import { SessionKey } from '../../constructs/sessions';
import { WorkQueue, WorkQueueEncryption } from '../../constructs/work-queue';
import type { AppConfig, DatabaseConfig, DatabaseShardConfig, QueueConfig } from '../config';
import { cacheReplacementSettings } from '../config/sections/cache';
import { forwardingPoolMax } from '../config/limits';
import { OutputKeys, pascal } from '../outputs';
import { DATABASE_USERS } from '../runtime/contract';
import { retentionDays } from './network-stack';
import { OriginVerifyReplica, OriginVerifySecret } from '../../constructs/edge';
import { EDGE_REGION } from '../config';
import { originSecretNamePrefix } from './edge-stack';
import { RegionalStack, type RegionalStackProps } from './regional-stack';
import { queuePrefix, tierPrefix } from '../runtime/contract';

/** Properties of a {@link DataStack}. */
export interface DataStackProps extends RegionalStackProps {
  /** The region's VPC. */
  readonly vpc: ec2.IVpc;
  /**
   * The VPC's Secrets Manager interface endpoint (`network.interfaceEndpoints`): the database credentials rotate
   * through it from the isolated subnets.
   * @default - rotation reaches Secrets Manager through the NAT gateways, from the private subnets
   */
  readonly secretsManagerEndpoint?: ec2.IInterfaceVpcEndpoint;
}

/**
 * `<name>-data-<region>`: stateful resources only (databases, caches, queues). Termination protection is
 * on, and every stateful resource keeps a stable logical ID and a RETAIN or SNAPSHOT removal policy.
 */
export class DataStack extends RegionalStack {
  /** Endpoint providers the region's fleets consume (database, cache, ...). */
  public readonly endpointProviders: IEndpointProvider[] = [];
  /** The region's Aurora cluster (the primary or a secondary of the global database). */
  public readonly database: AuroraDatabase;

  /**
   * The region's shards when `database.shards` is 2 or more (construct id `DatabaseShards`); shard 0 is
   * {@link database}.
   */
  public readonly shardedDatabase?: ShardedDatabase;

  /** The region's cache (construct id `Cache`: part of the logical IDs, never rename it). */
  public readonly cache: CacheCluster;

  /** Work queues (config `queues`) by name; their worker fleets live in the app stack. */
  public readonly workQueues: Record<string, WorkQueue> = {};

  /**
   * The origin-verify secrets (primary region only, when the edge is on). They live here, not in the edge
   * stack, because every app stack resolves them before the edge stack deploys. The primary's template
   * lists no replica region: each other region pulls its own replica ({@link originVerifyReplica}).
   */
  public readonly originVerifySecret?: OriginVerifySecret;

  /**
   * This region's replicas of the origin-verify secrets (every region but the primary, when the edge is
   * on), pulled from the primary region before the region's app stack resolves them.
   */
  public readonly originVerifyReplica?: OriginVerifyReplica;

  /** This region's replica of the cache AUTH secret (Global Datastore secondaries). */
  public readonly cacheAuthSecretReplica?: SecretReplica;

  /**
   * The key that seals session tokens (construct id `Sessions`): created in the primary region, a replica pulled
   * everywhere else, so a session is valid in every region. Web fleets read it (not workers).
   */
  public readonly sessionKey: SessionKey;

  /** The secret rotations of this region (database credentials, cache password, session key), for the monitoring to alarm on. */
  public readonly secretRotations: MonitoredSecretRotation[] = [];

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, { ...props, tier: 'data', terminationProtection: true });
    const dbProps: AuroraDatabaseProps = {
      ...auroraProps(this.config, this.regionConfig.region, this.regionConfig.availabilityZones, props.vpc, this.parameterPrefix),
      ...(props.secretsManagerEndpoint ? { secretsManagerEndpoint: props.secretsManagerEndpoint } : {}),
    };
    const shards = this.config.database.shards;
    // Shard 0 is always the construct `Database`: sharding an existing app keeps its cluster and logical IDs.
    this.database = new AuroraDatabase(this, 'Database', { ...dbProps, ...shardOverrides(this.config.database, shards[0], this.regionConfig.region) });
    if (shards.length > 1) {
      this.shardedDatabase = this.createShards(dbProps, shards);
      this.endpointProviders.push(this.shardedDatabase);
    } else {
      this.endpointProviders.push(this.database);
      new CfnOutput(this, OutputKeys.databaseClusterId(), { value: this.database.clusterIdentifier, description: 'Aurora cluster identifier (CloudWatch DBClusterIdentifier)' });
    }
    this.cache = this.createCache(props.vpc);
    const datastore = this.config.cache.globalDatastore;
    if (datastore && this.regionConfig.region !== this.config.primaryRegion) {
      // A Global Datastore secondary reads the primary's AUTH token by name in its own region (the cache
      // secret uses aws/secretsmanager: no KMS permission needed).
      this.cacheAuthSecretReplica = new SecretReplica(this, 'CacheAuthSecretReplica', {
        secretName: datastore.authSecretName,
        primaryRegion: this.config.primaryRegion,
      });
      // RBAC users and the published endpoints resolve the replica by name: create them after it.
      this.cache.node.addDependency(this.cacheAuthSecretReplica);
    }
    this.endpointProviders.push(this.cache);
    const isPrimary = this.regionConfig.region === this.config.primaryRegion;
    this.sessionKey = new SessionKey(this, 'Sessions', {
      secretName: sessionKeySecretName(this.config.name),
      ...(isPrimary ? {} : { primaryRegion: this.config.primaryRegion }),
      parameterPrefix: `${this.parameterPrefix}/sessions`,
    });
    this.collectRotations();
    for (const q of this.config.queues) this.addWorkQueue(q);
    const { config } = this;
    if (config.edge.enabled && config.domain) {
      const { region } = this.regionConfig;
      if (region === config.primaryRegion) {
        this.originVerifySecret = new OriginVerifySecret(this, 'OriginVerify', {
          secretNamePrefix: originSecretNamePrefix(config),
          generation: config.edge.originSecretGeneration,
        });
      } else {
        this.originVerifyReplica = new OriginVerifyReplica(this, 'OriginVerifyReplica', {
          secretNamePrefix: originSecretNamePrefix(config),
          primaryRegion: config.primaryRegion,
          // CloudFront needs the us-east-1 replica whether or not us-east-1 hosts a region: removing this
          // region must not remove it (see originVerifyReplicaInEdgeStack).
          ...(region === EDGE_REGION ? { removalPolicy: RemovalPolicy.RETAIN } : {}),
        });
      }
    }
  }

  /** The rotations whose failures the region's monitoring alarms on. */
  private collectRotations(): void {
    const databases = this.shardedDatabase
      ? this.shardedDatabase.shards.map((s) => ({ name: `database-${s.id}`, db: s.database }))
      : [{ name: 'database', db: this.database }];
    for (const { name, db } of databases) {
      const errors = db.metricRotationErrors();
      if (errors) this.secretRotations.push({ name, errors });
    }
    const cacheErrors = this.cache.metricPasswordRotationErrors();
    if (cacheErrors) this.secretRotations.push({ name: 'cache', errors: cacheErrors });
    if (this.sessionKey.rotation) this.secretRotations.push({ name: 'sessions', errors: this.sessionKey.rotation.metricErrors() });
  }

  /** Shards 1..N-1 next to `Database` (shard 0), the region's shard map, and one cluster-id output per shard. */
  private createShards(dbProps: AuroraDatabaseProps, shards: DatabaseShardConfig[]): ShardedDatabase {
    const db = this.config.database;
    const sharded = new ShardedDatabase(this, 'DatabaseShards', {
      shardDefaults: dbProps,
      shards: shards.map((s, i) => ({
        id: s.id,
        inShardMap: s.inShardMap,
        ...(i === 0 ? { database: this.database } : { overrides: shardOverrides(db, s, this.regionConfig.region) }),
      })),
      strategy: db.shardStrategy,
      ...(db.shardBoundaries ? { boundaries: db.shardBoundaries } : {}),
      epoch: db.shardMapEpoch,
    });
    for (const shard of sharded.shards) {
      new CfnOutput(this, OutputKeys.databaseClusterId(shard.id), { value: shard.database.clusterIdentifier, description: `Aurora cluster identifier of shard ${shard.id} (CloudWatch DBClusterIdentifier)` });
    }
    return sharded;
  }

  private createCache(vpc: ec2.IVpc): CacheCluster {
    const { config, regionConfig } = this;
    const c = config.cache;
    const isPrimary = regionConfig.region === config.primaryRegion;
    const g = c.globalDatastore;
    let globalDatastore: CacheGlobalDatastoreOptions | undefined;
    if (g) globalDatastore = isPrimary ? { role: 'primary', idSuffix: g.idSuffix } : { role: 'secondary', globalReplicationGroupId: g.globalReplicationGroupId };
    const cache = new CacheCluster(this, 'Cache', {
      vpc,
      engine: c.engine,
      engineVersion: c.engineVersion,
      nodeType: new CacheNodeType(c.nodeType),
      shards: c.shards,
      replicasPerShard: c.replicasPerShard,
      port: c.port,
      vpcSubnets: { subnetType: c.subnets === 'private' ? ec2.SubnetType.PRIVATE_WITH_EGRESS : ec2.SubnetType.PRIVATE_ISOLATED },
      authMode: c.authMode,
      snapshotRetention: Duration.days(c.snapshotRetentionDays),
      maintenanceWindow: c.maintenanceWindow,
      snapshotWindow: c.snapshotWindow,
      logRetention: retentionDays(c.logRetentionDays),
      removalPolicy: c.removalPolicy === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.SNAPSHOT,
      ...(c.autoScaling ? {
        autoScaling: {
          shards: { min: c.autoScaling.minShards, max: c.autoScaling.maxShards },
          replicasPerShard: { min: c.autoScaling.minReplicasPerShard, max: c.autoScaling.maxReplicasPerShard },
          targetCpuPercent: c.autoScaling.targetCpuPercent,
          targetMemoryPercent: c.autoScaling.targetMemoryPercent,
        },
      } : {}),
      ...(globalDatastore ? { globalDatastore } : {}),
      // Secondaries inherit the primary's AUTH token: the primary creates its secret under a fixed name and
      // each secondary pulls its own replica of it (below), so the primary's template lists no region.
      ...(g && isPrimary ? { authSecretReplication: { secretName: g.authSecretName } } : {}),
      ...(g && !isPrimary ? { authSecret: secretsmanager.Secret.fromSecretNameV2(this, 'CacheAuthSecret', g.authSecretName) } : {}),
      endpointParameterPrefix: tierPrefix(this.parameterPrefix, 'cache'),
    });
    new CfnOutput(this, OutputKeys.cacheReplicationGroupId, { value: cache.replicationGroupId, description: 'ElastiCache replication group id' });

    const current = cacheReplacementSettings(c);
    if (!c.immutable) {
      Annotations.of(cache).addWarningV2('scale-to-millions:cache-immutable-missing',
        `cache.immutable is not set, so nothing guards against a change that replaces the cache with an empty one. Record the settings it was created with: "immutable": ${JSON.stringify(current)}`);
    } else {
      if (c.immutable.dataTiering === undefined) {
        Annotations.of(cache).addWarningV2('scale-to-millions:cache-immutable-incomplete',
          `cache.immutable does not record dataTiering, so a node type change into or out of r6gd (data tiering, which CloudFormation can only change by replacing the cache with an empty one) is not guarded. Add the value the cache was created with: "dataTiering": ${String(current.dataTiering)}`);
      }
      if (c.acceptReplacement && replacementChanges(c.immutable, current).length > 0) {
        Annotations.of(cache).addWarningV2('scale-to-millions:cache-replacement-accepted',
          'cache.acceptReplacement is true and a replacement-sensitive setting changed: this deploy creates a new, EMPTY cache. Record the new settings in cache.immutable afterwards.');
      }
    }
    return cache;
  }

  /** A queue and its dead-letter queue; the construct id is part of their logical IDs: never rename it. */
  private addWorkQueue(q: QueueConfig): void {
    const workQueue = new WorkQueue(this, `Queue${pascal(q.name)}`, {
      fifo: q.fifo,
      contentBasedDeduplication: q.contentBasedDeduplication,
      maxReceiveCount: q.maxReceiveCount,
      retentionPeriod: Duration.days(q.retentionDays),
      averageProcessingTime: Duration.seconds(q.averageProcessingSeconds),
      ...(q.maxProcessingSeconds !== undefined ? { maxProcessingTime: Duration.seconds(q.maxProcessingSeconds) } : {}),
      acceptableLatency: Duration.seconds(q.acceptableLatencySeconds),
      visibilityTimeout: Duration.seconds(q.visibilityTimeoutSeconds),
      encryption: q.encryption === 'kms' ? WorkQueueEncryption.KMS : WorkQueueEncryption.SQS_MANAGED,
      parameterPrefix: queuePrefix(this.parameterPrefix, q.name),
      // The region's monitoring (app stack) alarms on both, at two severities, notifying the alarm topic.
      alarms: false,
    });
    this.workQueues[q.name] = workQueue;
    // Producers: every web fleet of the region may read the queue's URL and send to it.
    this.endpointProviders.push(workQueue);
    new CfnOutput(this, OutputKeys.queueName(q.name), { value: workQueue.queue.queueName, description: `SQS queue of ${q.name}` });
    new CfnOutput(this, OutputKeys.deadLetterQueueName(q.name), { value: workQueue.deadLetterQueue.queueName, description: `SQS dead-letter queue of ${q.name}` });
  }
}

/** Name of the session key secret, identical in every region: `<name>/sessions/key`. */
export function sessionKeySecretName(name: string): string {
  return `${name}/sessions/key`;
}

/** Deterministic names shared by every region (no cross-region references): cluster, global cluster, secret. */
export const databaseNames = {
  cluster: (name: string) => `${name}-db`,
  globalCluster: (name: string) => `${name}-global`,
  secret: (name: string) => `${name}/database/credentials`,
};

/**
 * Whether the region's clusters get reader autoscaling: not a Global Database secondary (a region without the writer),
 * which Aurora Auto Scaling does not scale (Aurora User Guide, "Amazon Aurora Auto Scaling with Aurora Replicas").
 */
function readersAutoscale(db: DatabaseConfig, region: string): boolean {
  return !db.globalDatabase.enabled || region === db.globalDatabase.writerRegion;
}

/** A shard's settings over the `database` section's (only those that differ, so shard 0 of an unsharded app is unchanged). */
function shardOverrides(db: DatabaseConfig, s: DatabaseShardConfig, region: string): ShardOverrides {
  const cls = (t: string): AuroraInstanceClass => (t === 'serverless' ? 'serverless' : new ec2.InstanceType(t));
  return {
    ...(s.instanceType !== db.instanceType ? { writerInstance: cls(s.instanceType) } : {}),
    ...(s.readerInstanceType !== db.readerInstanceType ? { readerInstance: cls(s.readerInstanceType) } : {}),
    ...(s.readers !== db.readers ? { readers: s.readers } : {}),
    ...(s.autoScaling !== db.autoScaling && readersAutoscale(db, region) ? { readerAutoScaling: readerAutoScaling(s.autoScaling) } : {}),
  };
}

function readerAutoScaling(a: DatabaseConfig['autoScaling']): AuroraReaderAutoScaling | undefined {
  if (!a) return undefined;
  return {
    minReaders: a.minReaders,
    maxReaders: a.maxReaders,
    targetCpuPercent: a.targetCpuPercent,
    ...(a.targetConnections !== undefined ? { targetConnections: a.targetConnections } : {}),
    scaleInCooldown: Duration.seconds(a.scaleInCooldownSeconds),
    scaleOutCooldown: Duration.seconds(a.scaleOutCooldownSeconds),
  };
}

function auroraProps(config: AppConfig, region: string, availabilityZones: string[], vpc: ec2.IVpc, prefix: string): AuroraDatabaseProps {
  const db = config.database;
  const cls = (t: string): AuroraInstanceClass => (t === 'serverless' ? 'serverless' : new ec2.InstanceType(t));
  const isPrimary = region === config.primaryRegion;
  const poolMax = forwardingPoolMax(config);
  return {
    vpc,
    availabilityZones,
    engine: db.engine,
    engineVersion: db.engineVersion,
    writerInstance: cls(db.instanceType),
    readerInstance: cls(db.readerInstanceType),
    readers: db.readers,
    serverlessV2MinCapacity: db.serverlessMinCapacity,
    serverlessV2MaxCapacity: db.serverlessMaxCapacity,
    ...(db.autoScaling && readersAutoscale(db, region) ? {
      readerAutoScaling: {
        minReaders: db.autoScaling.minReaders,
        maxReaders: db.autoScaling.maxReaders,
        targetCpuPercent: db.autoScaling.targetCpuPercent,
        ...(db.autoScaling.targetConnections !== undefined ? { targetConnections: db.autoScaling.targetConnections } : {}),
        scaleInCooldown: Duration.seconds(db.autoScaling.scaleInCooldownSeconds),
        scaleOutCooldown: Duration.seconds(db.autoScaling.scaleOutCooldownSeconds),
      },
    } : {}),
    proxy: db.proxy.enabled,
    proxyIamAuth: db.proxy.iamAuth,
    iamAuthentication: db.iamAuthentication,
    // One database user per fleet (IAM authentication); the primary creates them, secondaries' proxies use them.
    applicationUsers: [...config.services.map((s) => DATABASE_USERS.service(s.name)), ...config.queues.map((q) => DATABASE_USERS.worker(q.name))],
    statementTimeout: Duration.seconds(db.statementTimeoutSeconds),
    backupRetention: Duration.days(db.backupRetentionDays),
    deletionProtection: db.deletionProtection,
    databaseInsightsMode: db.databaseInsights === 'advanced' ? rds.DatabaseInsightsMode.ADVANCED : rds.DatabaseInsightsMode.STANDARD,
    performanceInsights: db.performanceInsights,
    monitoringInterval: Duration.seconds(db.monitoringIntervalSeconds),
    logRetention: retentionDays(db.logRetentionDays),
    clusterIdentifier: databaseNames.cluster(config.name),
    databaseName: db.databaseName,
    parameterPrefix: tierPrefix(prefix, 'database'),
    ...(db.globalDatabase.enabled ? {
      globalDatabase: {
        role: isPrimary ? 'primary' as const : 'secondary' as const,
        globalClusterIdentifier: databaseNames.globalCluster(config.name),
        secretName: databaseNames.secret(config.name),
        writeForwarding: db.globalDatabase.writeForwarding,
        ...(poolMax !== undefined ? { forwardingPoolMax: poolMax } : {}),
        holdsWriter: region === db.globalDatabase.writerRegion,
        // Each secondary pulls its own replica of the credentials secret from the primary region, so the
        // primary's template never lists the other regions.
        ...(isPrimary ? {} : { primaryRegion: config.primaryRegion }),
      },
    } : {}),
  };
}
