import { CfnOutput, Duration, aws_ec2 as ec2, aws_rds as rds } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { AuroraDatabase, type AuroraInstanceClass } from '../../constructs/aurora';
import type { IEndpointProvider } from '../../constructs/common';
import type { AppConfig } from '../config';
import { OutputKeys } from '../outputs';
import { RegionalStack, type RegionalStackProps } from './regional-stack';
import { retentionDays } from './network-stack';

/** Properties of a {@link DataStack}. */
export interface DataStackProps extends RegionalStackProps {
  /** The region's VPC. */
  readonly vpc: ec2.IVpc;
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

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, { ...props, tier: 'data', terminationProtection: true });
    this.database = new AuroraDatabase(this, 'Database', auroraProps(this.config, this.regionConfig.region, this.regionConfig.availabilityZones, props.vpc, this.parameterPrefix));
    this.endpointProviders.push(this.database);
    new CfnOutput(this, OutputKeys.databaseClusterId(), { value: this.database.clusterIdentifier, description: 'Aurora cluster identifier (CloudWatch DBClusterIdentifier)' });
  }
}

/** Deterministic names shared by every region (no cross-region references): cluster, global cluster, secret. */
export const databaseNames = {
  cluster: (name: string) => `${name}-db`,
  globalCluster: (name: string) => `${name}-global`,
  secret: (name: string) => `${name}/database/credentials`,
};

function auroraProps(config: AppConfig, region: string, availabilityZones: string[], vpc: ec2.IVpc, prefix: string) {
  const db = config.database;
  const cls = (t: string): AuroraInstanceClass => (t === 'serverless' ? 'serverless' : new ec2.InstanceType(t));
  const isPrimary = region === config.primaryRegion;
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
    ...(db.autoScaling ? {
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
    backupRetention: Duration.days(db.backupRetentionDays),
    deletionProtection: db.deletionProtection,
    databaseInsightsMode: db.databaseInsights === 'advanced' ? rds.DatabaseInsightsMode.ADVANCED : rds.DatabaseInsightsMode.STANDARD,
    monitoringInterval: Duration.seconds(db.monitoringIntervalSeconds),
    logRetention: retentionDays(db.logRetentionDays),
    clusterIdentifier: databaseNames.cluster(config.name),
    databaseName: db.databaseName,
    parameterPrefix: `${prefix}/database`,
    ...(db.globalDatabase.enabled ? {
      globalDatabase: {
        role: isPrimary ? 'primary' as const : 'secondary' as const,
        globalClusterIdentifier: databaseNames.globalCluster(config.name),
        secretName: databaseNames.secret(config.name),
        ...(isPrimary
          ? { replicaRegions: config.regions.map((r) => r.region).filter((r) => r !== region) }
          : { writeForwarding: db.globalDatabase.writeForwarding }),
      },
    } : {}),
  };
}
