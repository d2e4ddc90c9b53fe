import { Annotations, ArnFormat, Stack, Duration, Lazy, Names, RemovalPolicy, SecretValue, Token, Validations } from 'aws-cdk-lib/core';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { PublishedEndpoints, SecretReplica, vpcRangePeer, type EndpointConsumer, type IEndpointProvider } from '../common';
import { DATABASE_KEYS } from '../../lib/runtime/contract';
import { validationError } from '../common/errors';
import { dataPlacement } from '../common/placement';
import { ApplicationUsers, checkStatementTimeout } from './application-users';
import { AURORA_DEFAULTS, CLUSTER_PARAMETERS, LOG_EXPORTS, RESERVED_DATABASE_USERS } from './defaults';
import { auroraEngine, globalLagMetricName, type AuroraEngineKind } from './engine';

/** An instance class: a provisioned instance type or Aurora Serverless v2. */
export type AuroraInstanceClass = ec2.InstanceType | 'serverless';

/** Reader autoscaling through Application Auto Scaling (`rds:cluster:ReadReplicaCount`). */
export interface AuroraReaderAutoScaling {
  /**
   * Fewest readers (0-15). Readers below this count that CloudFormation did not create are added by
   * Application Auto Scaling.
   * @default - the `readers` count
   */
  readonly minReaders?: number;
  /** Most readers (1-15, at least `readers`). */
  readonly maxReaders: number;
  /**
   * Target average reader CPU % (`RDSReaderAverageCPUUtilization`).
   * @default 60
   */
  readonly targetCpuPercent?: number;
  /**
   * Target average connections per reader (`RDSReaderAverageDatabaseConnections`).
   * @default - no connections policy
   */
  readonly targetConnections?: number;
  /** Time between scale-in activities. @default Duration.minutes(10) */
  readonly scaleInCooldown?: Duration;
  /** Time between scale-out activities. @default Duration.minutes(5) */
  readonly scaleOutCooldown?: Duration;
}

/** This cluster's role in an Aurora Global Database. */
export interface AuroraGlobalDatabaseProps {
  /**
   * `primary`: this cluster holds the writer and creates the global cluster from itself. `secondary`:
   * this cluster joins the (already created) global cluster as a read-only secondary.
   */
  readonly role: 'primary' | 'secondary';
  /**
   * The global cluster identifier, identical in every region (derived from configuration, never a
   * cross-region reference), e.g. `shop-global`.
   */
  readonly globalClusterIdentifier: string;
  /**
   * Name of the credentials secret, identical in every region: the primary creates it; a secondary reads
   * its regional replica by this name (pulled with `primaryRegion`, or pushed with the primary's `replicaRegions`).
   */
  readonly secretName: string;
  /**
   * Regions the primary pushes the credentials secret to. Prefer `primaryRegion` on each secondary: a list
   * here puts every secondary region in the primary's template, so adding a region changes the primary.
   * @default - none
   */
  readonly replicaRegions?: string[];
  /**
   * Secondary only: the primary's region. The secondary then pulls its own replica of the credentials
   * secret (a {@link SecretReplica} in this stack, allowed to decrypt with the primary's customer key through
   * Secrets Manager only), and the proxy waits for it. Deleting the secondary removes its replica.
   * @default - no request: the replica must already exist (e.g. pushed by the primary's `replicaRegions`)
   */
  readonly primaryRegion?: string;
  /**
   * Secondaries forward writes to the writer (`EnableGlobalWriteForwarding`), so applications in every region can
   * write through their local cluster. Set it on every member: a primary gets the flag once it no longer holds the
   * writer (`holdsWriter: false`, after a switchover), and its proxy keeps room for the forwarded sessions it
   * receives while it does. Writes through a secondary must go to its reader endpoint (its cluster endpoint is
   * inactive); that is what it publishes as `writer`.
   * @default false
   */
  readonly writeForwarding?: boolean;
  /**
   * With `writeForwarding`: the most connections each forwarding pool of a runtime process should hold, published as
   * `forwarding-pool-max` (the runtime caps its `forward` and `global` pools at it). Each holds a forwarded session
   * on the writer, which takes at most 25 % of its `max_connections` from every secondary together; the reference
   * app divides that among the secondaries' processes at the fleets' maxima (`forwardedSessionBudget`).
   * @default - none published: the runtime's own pool sizes
   */
  readonly forwardingPoolMax?: number;
  /**
   * Whether this cluster holds the global writer now. It differs from `role` only after a switchover or failover
   * (the `primary` cluster created the global cluster; the writer may since have moved). It sets the published
   * `role`, `writer` and `write-forwarding` values, and write forwarding on a demoted primary. A demoted primary
   * also leaves out the credentials' rotation (see {@link AuroraDatabase.rotation}).
   * @default - true for the primary, false for a secondary
   */
  readonly holdsWriter?: boolean;
}

/** Properties of an {@link AuroraDatabase}. */
export interface AuroraDatabaseProps {
  /** The VPC. */
  readonly vpc: ec2.IVpc;
  /**
   * Subnets for the cluster and the proxy: private subnets, all isolated or all with egress (the database is never
   * public).
   * @default - the VPC's isolated subnets; in a VPC without any (a default `ec2.Vpc`), its private subnets with egress
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * Availability zones the writer and readers are placed in, round-robin (the writer in the first).
   * @default - the VPC's availability zones
   */
  readonly availabilityZones?: string[];
  /** Aurora PostgreSQL or Aurora MySQL 3. @default 'postgres' */
  readonly engine?: AuroraEngineKind;
  /**
   * Engine version (`16.6`, `17.4`, `3.08.0`...), set on the cluster only (instances follow it).
   * @default '16.6' for PostgreSQL, '3.08.0' for MySQL
   */
  readonly engineVersion?: string;
  /** The writer's class. @default r7g.large */
  readonly writerInstance?: AuroraInstanceClass;
  /** Readers CloudFormation creates (0-15), in the AZs after the writer's. @default 2 */
  readonly readers?: number;
  /** The readers' class. @default - the writer's */
  readonly readerInstance?: AuroraInstanceClass;
  /** Serverless v2 minimum ACU (0 or 0.5-256). @default 0.5 */
  readonly serverlessV2MinCapacity?: number;
  /** Serverless v2 maximum ACU (1-256). @default 16 */
  readonly serverlessV2MaxCapacity?: number;
  /**
   * Reader autoscaling. Left out (with a warning) on a Global Database member that does not hold the writer: Aurora
   * Auto Scaling does not scale the secondary clusters of a Global Database.
   * @default - none: the reader count is fixed
   */
  readonly readerAutoScaling?: AuroraReaderAutoScaling;
  /** Put an RDS Proxy (TLS required) with a read-only endpoint in front. @default true */
  readonly proxy?: boolean;
  /**
   * Clients that log in with a password from the proxy's secret authenticate to the proxy with IAM. Ignored
   * with `applicationUsers`, whose proxy uses end-to-end IAM authentication and holds no secret.
   * @default false
   */
  readonly proxyIamAuth?: boolean;
  /** IAM database authentication on the cluster (required by `applicationUsers`). @default true */
  readonly iamAuthentication?: boolean;
  /**
   * The application's own database users, one per fleet (`[a-z][a-z0-9_]*`), that log in with IAM database
   * authentication only: fleets never get the master secret. On the PostgreSQL cluster that holds the writer
   * (standalone, a Global Database's primary, or the member `holdsWriter` names after a switchover) an
   * {@link ApplicationUsers} function creates them at deploy (members of `s2m_application`, which may read and
   * write data but run no DDL); on the other members they replicate from it. The proxy then
   * uses end-to-end IAM authentication (`DefaultAuthScheme: IAM_AUTH`): it holds no secret and its role may
   * connect as these users only. Grant a fleet its user with {@link grantConnect}, or pass a consumer with a
   * `databaseUser` to {@link grantConsumer}.
   * @default - none: the proxy logs in with the master secret, and consumers get no database identity
   */
  readonly applicationUsers?: string[];
  /**
   * Subnets of the function that creates `applicationUsers`: it must reach the writer and Secrets Manager.
   * @default - the private subnets with egress
   */
  readonly applicationUsersSubnets?: ec2.SubnetSelection;
  /**
   * `statement_timeout` of the `applicationUsers` on Aurora PostgreSQL (`ALTER ROLE <user> SET statement_timeout`,
   * per user: role settings are not inherited through the group). The server cancels a statement that runs longer
   * (SQLSTATE 57014) and its connection stays usable. Without it a statement whose client gave up (the runtime's
   * query timeout closes the connection) goes on running on the server with its transaction and locks, and a pool
   * that opens new connections meanwhile holds more server connections than its `max`; RDS Proxy cannot cancel a
   * statement nor pass the setting at connect. Published as `statement-timeout`: the runtime's client timeout defaults
   * to it plus 2 s. A statement that needs longer sets `SET LOCAL statement_timeout` in its transaction. Whole
   * milliseconds, 1 second to 24 hours; changing it updates the users in place.
   * @default Duration.seconds(28) - 2 s below the runtime's former fixed client timeout of 30 s
   */
  readonly statementTimeout?: Duration;
  /** Automated backup retention (1-35 days). @default Duration.days(7) */
  readonly backupRetention?: Duration;
  /** Deletion protection. @default true */
  readonly deletionProtection?: boolean;
  /** What happens to the cluster and its instances when removed from the stack. @default RemovalPolicy.SNAPSHOT */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Database Insights mode; `ADVANCED` keeps Performance Insights for 15 months.
   * @default rds.DatabaseInsightsMode.STANDARD (Performance Insights, 7 days)
   */
  readonly databaseInsightsMode?: rds.DatabaseInsightsMode;
  /**
   * Performance Insights on the cluster and its instances. AWS recommends a Serverless v2 minimum of 2 ACUs
   * with it on; turn it off to run a 0.5 ACU instance without its memory overhead (CloudWatch metrics and the
   * exported logs remain).
   * @default true
   */
  readonly performanceInsights?: boolean;
  /** Enhanced monitoring interval; `Duration.seconds(0)` turns it off. @default Duration.seconds(60) */
  readonly monitoringInterval?: Duration;
  /** Retention of the exported database logs. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Customer key for storage, Performance Insights and the credentials secret.
   * @default - a new key with yearly rotation
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * Cluster identifier (instances are `<id>-writer`, `<id>-reader-<n>`). It is a physical name: changing
   * it replaces the cluster.
   * @default - derived from the construct path
   */
  readonly clusterIdentifier?: string;
  /** Database created in the cluster (not on a global secondary). @default 'app' */
  readonly databaseName?: string;
  /** Extra cluster parameters, over the construct's defaults (TLS enforcement always wins). @default - none */
  readonly clusterParameters?: Record<string, string>;
  /** Instance parameters. @default - none */
  readonly instanceParameters?: Record<string, string>;
  /**
   * SSM parameter path the endpoints are published under, e.g. `/shop/database`.
   * @default - `/<cluster identifier>`
   */
  readonly parameterPrefix?: string;
  /** Membership in an Aurora Global Database. @default - a standalone cluster */
  readonly globalDatabase?: AuroraGlobalDatabaseProps;
  /** Days between credential rotations (primary or standalone). @default Duration.days(30) */
  readonly rotationInterval?: Duration;
  /**
   * The VPC's Secrets Manager interface endpoint, with private DNS on (CDK's default). The rotation function then
   * runs next to the cluster (its subnets) and calls Secrets Manager's regional name, which private DNS resolves
   * to the endpoint, with no route to the internet.
   * @default - no endpoint: the rotation function runs in the VPC's private subnets with egress (NAT)
   */
  readonly secretsManagerEndpoint?: ec2.IInterfaceVpcEndpoint;
  /**
   * Subnets of the credentials' rotation function. It must reach the cluster and Secrets Manager (through
   * `secretsManagerEndpoint`, or a NAT gateway).
   * @default - the cluster's subnets with `secretsManagerEndpoint`, else the private subnets with egress
   */
  readonly rotationSubnets?: ec2.SubnetSelection;
}

/** The read/write split as a typed contract: where writes go, where reads go, and how to log in. */
export interface AuroraEndpoints {
  /** Cluster (writer) endpoint hostname. */
  readonly writer: string;
  /** Cluster reader endpoint hostname (load-balances over the readers). */
  readonly reader: string;
  /** Proxy read/write endpoint hostname. @default - none: the database has no proxy */
  readonly proxy?: string;
  /** Proxy read-only endpoint hostname. @default - none: the database has no proxy */
  readonly proxyReadOnly?: string;
  /** Database port. */
  readonly port: string;
  /** Credentials secret (`username`, `password`). */
  readonly secret: secretsmanager.ISecret;
  /** Database name. */
  readonly databaseName: string;
}

const IDENTIFIER = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const DATABASE_USER = /^[a-z][a-z0-9_]{0,62}$/;
const USERNAME = 'dbadmin';

/**
 * An Aurora cluster for the read-heavy tier of a web product: one writer and N readers spread over the
 * AZs with explicit promotion tiers (provisioned or Serverless v2, mixable), reader autoscaling, an RDS
 * Proxy with a read-only endpoint, KMS encryption, credentials in Secrets Manager with rotation, 7-day
 * backups, deletion protection and SNAPSHOT removal, Database Insights, enhanced monitoring, log exports
 * with retention, and parameter groups enforcing TLS. Optionally the primary or a secondary of an Aurora
 * Global Database.
 *
 * Readers are created one after another after the writer, so an instance-class change rolls them one at
 * a time; see docs/aurora.md for changing the writer's class without an outage.
 */
export class AuroraDatabase extends Construct implements IEndpointProvider, ec2.IConnectable {
  /** The cluster. */
  public readonly cluster: rds.DatabaseCluster;
  /** The cluster identifier (a known string, not a token, unless given as one). */
  public readonly clusterIdentifier: string;
  /** The customer key (storage, Performance Insights, the primary's secret). */
  public readonly encryptionKey: kms.IKey;
  /** The credentials secret (the regional replica on a global secondary). */
  public readonly secret: secretsmanager.ISecret;
  /** The request pulling the credentials secret's replica (a global secondary given `primaryRegion`). */
  public readonly secretReplica?: SecretReplica;
  /**
   * The credentials' rotation (primary or standalone; a secondary's replica follows the primary's). None on a primary
   * that does not hold the writer (`globalDatabase.holdsWriter: false`): rotation pauses until the writer is back.
   */
  public readonly rotation?: secretsmanager.SecretRotation;
  /** The proxy, unless disabled. */
  public readonly proxy?: rds.DatabaseProxy;
  /** The proxy's read-only endpoint (readers), unless the proxy is disabled. */
  public readonly proxyReadOnlyEndpoint?: rds.DatabaseProxyEndpoint;
  /** The global cluster (primary only). */
  public readonly globalCluster?: rds.CfnGlobalCluster;
  /** The reader scalable target, when autoscaling is on (never on a Global Database secondary). */
  public readonly readerScalableTarget?: appscaling.CfnScalableTarget;
  /** The cluster parameter group. */
  public readonly clusterParameterGroup: rds.ParameterGroup;
  /** The instance parameter group. */
  public readonly instanceParameterGroup: rds.ParameterGroup;
  /** Log groups of the exported logs, by log type. */
  public readonly logGroups: Record<string, logs.LogGroup> = {};
  /** The read/write split. */
  public readonly endpoints: AuroraEndpoints;
  /** The published endpoints (SSM parameters) consumers read. */
  public readonly published: PublishedEndpoints;
  /** The application's database users (`applicationUsers`). */
  public readonly applicationUsers: readonly string[];
  /**
   * The function that creates them: on the cluster that holds the writer (a standalone cluster, a Global Database's
   * primary, or the member a switchover moved the writer to) with `applicationUsers`, on Aurora PostgreSQL.
   */
  public readonly applicationUsersProvisioning?: ApplicationUsers;
  /**
   * Network access: the cluster's and the proxy's security groups. `allowFrom`/`allowDefaultPortFrom`
   * open both the cluster port and the proxy.
   */
  public readonly connections: ec2.Connections;
  /** The engine. */
  public readonly engineKind: AuroraEngineKind;
  /** Whether this cluster holds the writer (a standalone cluster always does). */
  public readonly holdsWriter: boolean;
  /** Whether writes through this cluster are forwarded to the writer in another region (published `write-forwarding`). */
  public readonly forwardsWrites: boolean;
  private readonly port: number;
  private readonly engineVersion: string;
  private readonly isSecondary: boolean;
  private readonly hasServerless: boolean;

  constructor(scope: Construct, id: string, props: AuroraDatabaseProps) {
    super(scope, id);
    const d = AURORA_DEFAULTS;
    this.engineKind = props.engine ?? 'postgres';
    const engineKind = this.engineKind;
    this.engineVersion = props.engineVersion ?? (engineKind === 'postgres' ? d.postgresVersion : d.mysqlVersion);
    const engine = auroraEngine(engineKind, this.engineVersion, this);
    const readerCount = props.readers ?? d.readers;
    validateProps(this, props, readerCount);
    const global = props.globalDatabase;
    const poolMax = global?.forwardingPoolMax;
    if (poolMax !== undefined && !(Number.isInteger(poolMax) && poolMax >= 1 && poolMax <= 100_000)) {
      throw validationError(this, `AuroraDatabase: globalDatabase.forwardingPoolMax must be a whole number of connections from 1 to 100000 (got: ${poolMax})`);
    }
    if (poolMax !== undefined && !(global?.writeForwarding && engineKind === 'postgres')) {
      throw validationError(this, `AuroraDatabase: globalDatabase.forwardingPoolMax sizes the runtime's forwarding pools, which exist only with Aurora PostgreSQL's write forwarding (globalDatabase.writeForwarding: true); got engine ${engineKind}, writeForwarding ${String(global?.writeForwarding ?? false)} (got: ${poolMax})`);
    }
    this.isSecondary = global?.role === 'secondary';
    this.port = engineKind === 'postgres' ? 5432 : 3306;

    this.clusterIdentifier = props.clusterIdentifier ?? defaultIdentifier(this);
    const azs = props.availabilityZones ?? props.vpc.availabilityZones;
    if (azs.length === 0) throw validationError(this, 'AuroraDatabase: availabilityZones must not be empty (got: [])');
    const vpcSubnets = dataPlacement(this, 'AuroraDatabase', 'vpcSubnets', props.vpc, props.vpcSubnets).vpcSubnets;

    this.encryptionKey = props.encryptionKey ?? new kms.Key(this, 'Key', {
      description: `Aurora cluster ${this.clusterIdentifier}: storage, Performance Insights, credentials`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // Parameter groups: the family comes from the engine; the version lives on the cluster only.
    const enforced = CLUSTER_PARAMETERS[engineKind];
    // Aurora MySQL forwards no write until aurora_replica_read_consistency is set (PostgreSQL's
    // apg_write_forward.consistency_mode already defaults to SESSION); sessions may still choose their own level.
    // With RDS Proxy in front, the cluster default is EVENTUAL: the proxy does not support SESSION with write
    // forwarding ("unexpected behavior", Aurora User Guide, RDS Proxy with global databases), and its sessions take
    // the cluster's default. A direct connection that must read its own forwarded writes sets SESSION itself.
    const forwarding: Record<string, string> = global?.writeForwarding && engineKind === 'mysql'
      ? { aurora_replica_read_consistency: (props.proxy ?? true) ? 'EVENTUAL' : 'SESSION' }
      : {};
    this.clusterParameterGroup = new rds.ParameterGroup(this, 'ClusterParameters', {
      engine,
      description: `Cluster parameters of ${this.clusterIdentifier}`,
      parameters: { ...enforced.defaults, ...forwarding, ...props.clusterParameters, ...enforced.enforced },
    });
    this.instanceParameterGroup = new rds.ParameterGroup(this, 'InstanceParameters', {
      engine,
      description: `Instance parameters of ${this.clusterIdentifier}`,
      parameters: { ...props.instanceParameters },
    });

    const logTypes = [...LOG_EXPORTS[engineKind]];
    for (const type of logTypes) {
      // Created before the cluster so the retention applies; RDS would otherwise create them unbounded.
      this.logGroups[type] = new logs.LogGroup(this, `Log${type[0].toUpperCase()}${type.slice(1)}`, {
        logGroupName: `/aws/rds/cluster/${this.clusterIdentifier}/${type}`,
        retention: props.logRetention ?? d.logRetention,
        removalPolicy: RemovalPolicy.RETAIN,
      });
    }

    const monitoringInterval = props.monitoringInterval ?? d.monitoringInterval;
    const monitoringRole = monitoringInterval.toSeconds() > 0 ? this.createMonitoringRole() : undefined;
    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: `Aurora cluster ${this.clusterIdentifier}`,
      allowAllOutbound: false,
    });

    const insights = props.databaseInsightsMode ?? rds.DatabaseInsightsMode.STANDARD;
    const performanceInsights = props.performanceInsights ?? true;
    const instanceClass = (c: AuroraInstanceClass | undefined) => c ?? props.writerInstance ?? new ec2.InstanceType(d.instanceType);
    const writerClass = instanceClass(props.writerInstance);
    const readerClass = props.readerInstance ?? writerClass;
    this.hasServerless = writerClass === 'serverless' || (readerCount > 0 && readerClass === 'serverless');
    const piRetention = insights === rds.DatabaseInsightsMode.ADVANCED ? rds.PerformanceInsightRetention.MONTHS_15 : rds.PerformanceInsightRetention.DEFAULT;
    const instanceOptions = (n: string) => ({
      instanceIdentifier: `${this.clusterIdentifier}-${n}`,
      enablePerformanceInsights: performanceInsights,
      ...(performanceInsights ? { performanceInsightEncryptionKey: this.encryptionKey, performanceInsightRetention: piRetention } : {}),
      parameterGroup: this.instanceParameterGroup,
      publiclyAccessible: false,
      autoMinorVersionUpgrade: !global,
    });
    const writer = makeInstance('Writer', writerClass, { ...instanceOptions('writer'), availabilityZone: azs[0] }, 0);
    const readers = Array.from({ length: readerCount }, (_, i) => {
      const n = i + 1;
      // The first reader is the preferred failover target (tier 1, sized like the writer); the rest tier 2.
      return makeInstance(`Reader${n}`, readerClass, { ...instanceOptions(`reader-${n}`), availabilityZone: azs[n % azs.length] }, n === 1 ? 1 : 2);
    });

    // A secondary of a global database has no master user of its own: it inherits the primary's. Credentials
    // are set to a placeholder below and removed from the template.
    let credentials: rds.Credentials;
    if (global?.role === 'secondary') {
      credentials = rds.Credentials.fromPassword(USERNAME, SecretValue.unsafePlainText('inherited-from-the-global-primary'));
    } else {
      credentials = rds.Credentials.fromGeneratedSecret(USERNAME, {
        encryptionKey: this.encryptionKey,
        excludeCharacters: ' %+~`#$&*()|[]{}:;<>?!\'/@"\\',
        ...(global ? { secretName: global.secretName, replicaRegions: (global.replicaRegions ?? []).map((region) => ({ region })) } : {}),
      });
    }

    this.cluster = new rds.DatabaseCluster(this, 'Cluster', {
      engine,
      credentials,
      clusterIdentifier: this.clusterIdentifier,
      writer,
      readers,
      vpc: props.vpc,
      vpcSubnets,
      securityGroups: [securityGroup],
      serverlessV2MinCapacity: props.serverlessV2MinCapacity ?? d.serverlessMinCapacity,
      serverlessV2MaxCapacity: props.serverlessV2MaxCapacity ?? d.serverlessMaxCapacity,
      parameterGroup: this.clusterParameterGroup,
      storageEncrypted: true,
      storageEncryptionKey: this.encryptionKey,
      backup: { retention: props.backupRetention ?? d.backupRetention },
      deletionProtection: props.deletionProtection ?? true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.SNAPSHOT,
      iamAuthentication: props.iamAuthentication ?? true,
      cloudwatchLogsExports: logTypes,
      ...(monitoringRole ? { monitoringInterval, monitoringRole } : {}),
      enablePerformanceInsights: performanceInsights,
      ...(performanceInsights ? { performanceInsightEncryptionKey: this.encryptionKey, databaseInsightsMode: insights, performanceInsightRetention: piRetention } : {}),
      copyTagsToSnapshot: true,
      instanceUpdateBehaviour: rds.InstanceUpdateBehaviour.ROLLING,
      ...(this.isSecondary ? {} : { defaultDatabaseName: props.databaseName ?? d.databaseName }),
    });
    for (const group of Object.values(this.logGroups)) this.cluster.node.addDependency(group);
    const cfnCluster = this.cluster.node.defaultChild as rds.CfnDBCluster;

    for (const id of ['Writer', ...readers.map((_, i) => `Reader${i + 1}`)]) {
      Validations.of(this.cluster.node.findChild(id)).acknowledge({
        id: 'CloudFormation-Validate::W3010',
        reason: 'Instances are pinned to explicit zones on purpose: the writer and readers are spread over the configured AZs (from config, never looked up) so one zone outage leaves a promotable reader.',
      });
    }

    // Readers roll one at a time: each waits for the previous one (CDK's ROLLING only covers legacy instances).
    for (let n = 2; n <= readerCount; n++) {
      this.cluster.node.findChild(`Reader${n}`).node.addDependency(this.cluster.node.findChild(`Reader${n - 1}`));
    }

    if (global?.role === 'secondary') {
      cfnCluster.addPropertyDeletionOverride('MasterUsername');
      cfnCluster.addPropertyDeletionOverride('MasterUserPassword');
      cfnCluster.globalClusterIdentifier = global.globalClusterIdentifier;
      this.secret = secretsmanager.Secret.fromSecretNameV2(this, 'Secret', global.secretName);
      if (global.primaryRegion) {
        this.secretReplica = new SecretReplica(this, 'SecretReplica', {
          secretName: global.secretName,
          primaryRegion: global.primaryRegion,
          primaryKey: {},
        });
      }
    } else {
      this.secret = this.cluster.secret!;
      const secret = this.cluster.node.findChild('Secret') as secretsmanager.Secret;
      // The credentials outlive the stack like the snapshot they unlock (CDK would delete them).
      secret.applyRemovalPolicy(RemovalPolicy.RETAIN);
      // A primary that no longer holds the writer has no rotation: the function would set the new password through
      // this cluster's endpoint, inactive on a secondary, and fail at every attempt (the secondaries' replicas cannot
      // rotate, and their region's writer is out of this VPC's reach). Deleting the schedule turns the secret's
      // rotation off; it comes back with the writer.
      if (global?.holdsWriter !== false) {
        this.rotation = this.addRotation(props, vpcSubnets);
      } else {
        // The resource policy the rotation schedule puts on the secret (the account root may not delete it) stays.
        secret.denyAccountRootDelete();
        Validations.of(secret).acknowledge({
          id: 'AwsSolutions-SMG4',
          reason: 'Rotation pauses while the Global Database writer is in another region (holdsWriter: false): the rotation function can reach only this cluster, whose endpoint is inactive on a secondary. It resumes when the writer is back (database.globalDatabase.writerRegion).',
        });
      }
    }
    // A secondary forwards from its creation on; the primary cannot be created with the flag (it is not a member
    // yet), so it gets it only once demoted, when the writer has moved to another region.
    if (global?.writeForwarding && (global.role === 'secondary' || global.holdsWriter === false)) cfnCluster.enableGlobalWriteForwarding = true;
    if (global?.role === 'primary') {
      this.globalCluster = new rds.CfnGlobalCluster(this, 'GlobalCluster', {
        globalClusterIdentifier: global.globalClusterIdentifier,
        sourceDbClusterIdentifier: this.cluster.clusterIdentifier,
        deletionProtection: props.deletionProtection ?? true,
      });
      this.globalCluster.applyRemovalPolicy(RemovalPolicy.RETAIN);
      // The global cluster is created once the primary is available with its instances.
      this.globalCluster.node.addDependency(this.cluster);
    }

    if (props.readerAutoScaling) {
      // Aurora Auto Scaling does not scale the secondary clusters of a Global Database (Aurora User Guide, "Amazon Aurora
      // Auto Scaling with Aurora Replicas"): a policy here would never add a reader. Only the member holding the writer
      // gets it; after a switchover `holdsWriter` moves it with the writer.
      if (global === undefined || (global.holdsWriter ?? global.role === 'primary')) {
        this.readerScalableTarget = this.addReaderAutoScaling(props.readerAutoScaling, readerCount);
      } else {
        Annotations.of(this).addWarningV2('scale-to-millions:aurora-secondary-no-autoscaling',
          `AuroraDatabase: readerAutoScaling is left out on this Global Database secondary: Aurora Auto Scaling does not scale secondary clusters, so its readers stay at ${readerCount} (readers); size readers for this region's read load.`);
      }
    }

    this.applicationUsers = [...(props.applicationUsers ?? [])];
    const identities = this.applicationUsers.length > 0;
    const statementTimeout = props.statementTimeout ?? d.statementTimeout;
    // Where the users carry it (a secondary's users, and their settings, replicate from the writer's cluster).
    const publishesTimeout = identities && engineKind === 'postgres';
    const connections = [securityGroup];
    if (props.proxy ?? true) {
      const proxySecurityGroup = new ec2.SecurityGroup(this, 'ProxySecurityGroup', {
        vpc: props.vpc,
        description: `RDS Proxy of ${this.clusterIdentifier}`,
        allowAllOutbound: false,
      });
      this.proxy = new rds.DatabaseProxy(this, 'Proxy', {
        // A physical name unique per stack path, set here rather than left to the consumer's
        // `@aws-cdk/aws-rds:databaseProxyUniqueResourceName` flag: without it every proxy would be named `Proxy`
        // and the second database of an account and region would fail to deploy. The same name the flag gives.
        dbProxyName: Lazy.string({ produce: () => Names.uniqueResourceName(this.proxy!, { maxLength: 60 }) }),
        proxyTarget: rds.ProxyTarget.fromCluster(this.cluster),
        // End-to-end IAM: clients and the proxy both authenticate with IAM; the proxy reads no secret.
        ...(identities ? { defaultAuthScheme: rds.DefaultAuthScheme.IAM_AUTH, role: this.createProxyRole() } : { secrets: [this.secret], iamAuth: props.proxyIamAuth ?? false }),
        vpc: props.vpc,
        vpcSubnets,
        securityGroups: [proxySecurityGroup],
        requireTLS: true,
        // Forwarded sessions from other regions land on the writer's connections: whichever cluster holds the
        // writer (it moves on switchover) keeps room for them outside the proxy's pool.
        maxConnectionsPercent: global?.writeForwarding ? 70 : 90,
      });
      // The proxy reads the secret when it is created: the regional replica must exist by then.
      if (this.secretReplica) this.proxy.node.addDependency(this.secretReplica);
      proxySecurityGroup.connections.allowTo(securityGroup, ec2.Port.tcp(this.port), 'proxy to the cluster');
      this.proxyReadOnlyEndpoint = new rds.DatabaseProxyEndpoint(this, 'ProxyReadOnly', {
        dbProxy: this.proxy,
        vpc: props.vpc,
        vpcSubnets,
        securityGroups: [proxySecurityGroup],
        targetRole: rds.ProxyEndpointTargetRole.READ_ONLY,
      });
      connections.push(proxySecurityGroup);
    }
    this.connections = new ec2.Connections({ securityGroups: connections, defaultPort: ec2.Port.tcp(this.port) });

    const databaseName = props.databaseName ?? d.databaseName;
    this.holdsWriter = global ? (global.holdsWriter ?? global.role === 'primary') : true;
    this.forwardsWrites = !this.holdsWriter && (global?.writeForwarding ?? false);
    this.endpoints = {
      // A cluster that does not hold the writer has an inactive cluster endpoint; with write forwarding its
      // instances (the reader endpoint) take the writes and forward them.
      writer: this.forwardsWrites ? this.cluster.clusterReadEndpoint.hostname : this.cluster.clusterEndpoint.hostname,
      reader: this.cluster.clusterReadEndpoint.hostname,
      ...(this.proxy ? { proxy: this.proxy.endpoint, proxyReadOnly: this.proxyReadOnlyEndpoint!.endpoint } : {}),
      port: String(this.port),
      secret: this.secret,
      databaseName,
    };
    const vpcRange = vpcRangePeer(props.vpc);
    const egressPeer = vpcRange ? { egressPeer: vpcRange } : {};
    this.published = new PublishedEndpoints(this, 'Endpoints', {
      parameterPrefix: props.parameterPrefix ?? `/${this.clusterIdentifier}`,
      description: `Aurora cluster ${this.clusterIdentifier}`,
      values: {
        [DATABASE_KEYS.writer]: this.endpoints.writer,
        [DATABASE_KEYS.reader]: this.endpoints.reader,
        ...(this.endpoints.proxy ? { [DATABASE_KEYS.proxy]: this.endpoints.proxy, [DATABASE_KEYS.proxyReadOnly]: this.endpoints.proxyReadOnly! } : {}),
        [DATABASE_KEYS.port]: this.endpoints.port,
        // For migrations, which read it with their own (elevated) credentials: consumers are never granted it.
        [DATABASE_KEYS.secretArn]: this.secret.secretArn,
        [DATABASE_KEYS.databaseName]: databaseName,
        [DATABASE_KEYS.engine]: engineKind,
        [DATABASE_KEYS.authentication]: (props.iamAuthentication ?? true) ? 'iam' : 'password',
        [DATABASE_KEYS.role]: this.holdsWriter ? 'primary' : 'secondary',
        [DATABASE_KEYS.writeForwarding]: this.forwardsWrites ? 'on' : 'off',
        // Every member publishes it: the writer moves, and the budget is the same wherever it is.
        ...(global?.forwardingPoolMax !== undefined ? { [DATABASE_KEYS.forwardingPoolMax]: String(global.forwardingPoolMax) } : {}),
        ...(publishesTimeout ? { [DATABASE_KEYS.statementTimeout]: String(statementTimeout.toMilliseconds()) } : {}),
      },
      // Read by the runtime's GetParametersByPath only: no per-parameter grant, so the app stacks import nothing more.
      byPathOnly: publishesTimeout ? [DATABASE_KEYS.statementTimeout] : [],
      network: [
        { connections: securityGroup, port: ec2.Port.tcp(this.port), ...egressPeer },
        ...(this.proxy ? [{ connections: this.proxy, port: ec2.Port.tcp(this.port), ...egressPeer }] : []),
      ],
    });

    // The users are created through the writer, wherever it is now: after a switchover the region that holds it
    // (a former secondary, reading its replica of the master secret) runs the function, and the demoted primary's
    // is deleted, which leaves every user in place.
    if (identities && this.holdsWriter && engineKind === 'postgres') {
      this.applicationUsersProvisioning = new ApplicationUsers(this, 'ApplicationUsers', {
        cluster: this.cluster,
        secret: this.secret,
        databaseName,
        users: this.applicationUsers as string[],
        statementTimeout,
        vpc: props.vpc,
        ...(props.applicationUsersSubnets ? { vpcSubnets: props.applicationUsersSubnets } : {}),
      });
      if (this.secretReplica) this.applicationUsersProvisioning.node.addDependency(this.secretReplica);
      securityGroup.connections.allowFrom(this.applicationUsersProvisioning, ec2.Port.tcp(this.port), 'creates the application users');
    } else if (identities && this.holdsWriter) {
      Annotations.of(this).addWarningV2('scale-to-millions:aurora-users-manual',
        `AuroraDatabase: the application users are created automatically on Aurora PostgreSQL only; on ${engineKind} create them once with the master user: ${this.applicationUsers.map((u) => `CREATE USER '${u}' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'; GRANT SELECT, INSERT, UPDATE, DELETE ON \`${databaseName}\`.* TO '${u}';`).join(' ')}`);
    }

    this.acknowledge(global);
  }

  /**
   * Lets `consumer` (a fleet) use the database: read the published endpoint parameters, reach the cluster and
   * the proxy on the database port, and, when it names its `databaseUser`, connect as that user (IAM database
   * authentication). Never the master secret: migrations read it with their own credentials.
   */
  public grantConsumer(consumer: EndpointConsumer): void {
    this.published.grantConsumer(consumer);
    if (consumer.databaseUser !== undefined) this.grantConnect(consumer, consumer.databaseUser);
  }

  /**
   * `rds-db:connect` for `grantee` as `dbUser` on the cluster (`dbuser:<cluster resource id>/<user>`) and, with a
   * proxy, on the proxy too (`dbuser:prx-…/<user>`): an IAM login is authorized against the resource it reaches,
   * and clients reach the cluster directly wherever the proxy does not serve them (a forwarding secondary's writes
   * and strong reads, which RDS Proxy cannot carry; a region demoted by a switchover). With `applicationUsers`,
   * `dbUser` must be one of them.
   */
  public grantConnect(grantee: iam.IGrantable, dbUser: string = USERNAME): iam.Grant {
    if (this.applicationUsers.length > 0 && !this.applicationUsers.includes(dbUser)) {
      throw validationError(this, `AuroraDatabase: grantConnect's dbUser must be one of applicationUsers (${this.applicationUsers.join(', ')}) (got: ${JSON.stringify(dbUser)})`);
    }
    const cluster = this.cluster.grantConnect(grantee, dbUser);
    return this.proxy ? this.proxy.grantConnect(grantee, dbUser).combine(cluster) : cluster;
  }

  /**
   * The proxy's role for end-to-end IAM authentication: it may connect to this cluster as the application
   * users only (`rds-db:connect` on `dbuser:<cluster resource id>/<user>`), and reads no secret.
   */
  private createProxyRole(): iam.Role {
    const role = new iam.Role(this, 'ProxyRole', {
      assumedBy: new iam.ServicePrincipal('rds.amazonaws.com'),
      description: `RDS Proxy of ${this.clusterIdentifier}: connects as the application users with IAM authentication`,
    });
    const stack = Stack.of(this);
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['rds-db:connect'],
      resources: this.applicationUsers.map((u) => stack.formatArn({
        service: 'rds-db',
        resource: 'dbuser',
        resourceName: `${this.cluster.clusterResourceIdentifier}/${u}`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      })),
    }));
    return role;
  }

  /** Average CPU % of the cluster's instances (writer and readers together: see the per-role metrics for alarms). */
  public metricCpuUtilization(opts?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.cluster.metricCPUUtilization({ statistic: 'Average', ...opts });
  }

  /** CPU % of the writer (`DBClusterIdentifier` + `Role=WRITER`); a global secondary has no writer, hence no data. */
  public metricWriterCpuUtilization(opts?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metricByRole('CPUUtilization', 'WRITER', { statistic: 'Average', ...opts });
  }

  /** Average CPU % of the readers (`Role=READER`), including those reader autoscaling added. */
  public metricReaderCpuUtilization(opts?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metricByRole('CPUUtilization', 'READER', { statistic: 'Average', ...opts });
  }

  /** A metric of one role of the cluster's instances (`WRITER` or `READER`), as Aurora publishes it per cluster. */
  public metricByRole(metricName: string, role: 'WRITER' | 'READER', opts?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/RDS',
      metricName,
      dimensionsMap: { DBClusterIdentifier: this.clusterIdentifier, Role: role },
      period: Duration.minutes(1),
      ...opts,
    });
  }

  /**
   * Connections to the cluster's instances (sum over 1-minute periods by default: each instance reports once a
   * minute, so the sum is the total; over a longer period it would add up several samples of each).
   */
  public metricDatabaseConnections(opts?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.cluster.metricDatabaseConnections({ statistic: 'Sum', period: Duration.minutes(1), ...opts });
  }

  /** Freeable memory (bytes, minimum over the instances, per minute by default). */
  public metricFreeableMemory(opts?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.cluster.metricFreeableMemory({ statistic: 'Minimum', period: Duration.minutes(1), ...opts });
  }

  /** Commit latency (ms, average, per minute by default). */
  public metricCommitLatency(opts?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.cluster.metric('CommitLatency', { statistic: 'Average', period: Duration.minutes(1), ...opts });
  }

  /** `AuroraReplicaLag` of the readers (ms, maximum): how stale a read on a reader can be. */
  public metricReplicaLag(opts?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metricByRole('AuroraReplicaLag', 'READER', { statistic: 'Maximum', ...opts });
  }

  /**
   * `ServerlessDatabaseCapacity` (ACUs, average over the cluster's Serverless v2 instances): what the cluster is
   * billed for. Undefined when the cluster has no Serverless v2 instance.
   */
  public metricServerlessDatabaseCapacity(opts?: cloudwatch.MetricOptions): cloudwatch.Metric | undefined {
    if (!this.hasServerless) return undefined;
    return this.cluster.metric('ServerlessDatabaseCapacity', { statistic: 'Average', period: Duration.minutes(1), ...opts });
  }

  /**
   * How far this secondary of a Global Database is behind the writer's region (ms, maximum per period, default 1
   * minute): `AuroraGlobalDBRPOLag` for Aurora PostgreSQL and for Aurora MySQL 3.04 and later, `AuroraGlobalDBReplicationLag`
   * for earlier Aurora MySQL, as the Aurora User Guide advises for a failover decision.
   *
   * A Metrics Insights query over this cluster's identifier rather than a plain metric: Aurora publishes these metrics
   * in the secondary's region with a `SourceRegion` dimension (the writer's region) besides the cluster's, and an alarm
   * matches one exact dimension set. The query matches whichever set carries `DBClusterIdentifier`, and keeps matching
   * after a switchover changes the source region. Only `period`, `label` and `color` of `opts` apply.
   */
  public metricGlobalReplicationLag(opts?: cloudwatch.MetricOptions): cloudwatch.MathExpression {
    const metricName = globalLagMetricName(this.engineKind, this.engineVersion);
    return new cloudwatch.MathExpression({
      // The cluster's own identifier (a Ref): RDS stores identifiers in lower case.
      expression: `SELECT MAX(${metricName}) FROM "AWS/RDS" WHERE DBClusterIdentifier = '${this.cluster.clusterIdentifier}'`,
      usingMetrics: {},
      period: opts?.period ?? Duration.minutes(1),
      label: opts?.label ?? metricName,
      ...(opts?.color ? { color: opts.color } : {}),
    });
  }

  /**
   * Errors of the credentials' rotation function (`AWS/Lambda` `Errors`, Sum per 5 minutes): a failed rotation.
   * Undefined where nothing rotates (a global secondary).
   */
  public metricRotationErrors(opts?: cloudwatch.MetricOptions): cloudwatch.Metric | undefined {
    if (!this.rotation) return undefined;
    return new cloudwatch.Metric({
      namespace: 'AWS/Lambda',
      metricName: 'Errors',
      dimensionsMap: { FunctionName: rotationFunctionName(this.rotation) },
      statistic: 'Sum',
      period: Duration.minutes(5),
      ...opts,
    });
  }

  /**
   * Single-user rotation of the credentials, with a path to Secrets Manager: through the interface endpoint from
   * the cluster's subnets, or through a NAT gateway from the private subnets. In the isolated subnets with neither,
   * every rotation would time out.
   */
  private addRotation(props: AuroraDatabaseProps, clusterSubnets: ec2.SubnetSelection): secretsmanager.SecretRotation {
    const endpoint = props.secretsManagerEndpoint;
    const subnets = props.rotationSubnets ?? (endpoint ? clusterSubnets : { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS });
    if (!endpoint && !props.rotationSubnets && props.vpc.privateSubnets.length === 0) {
      throw validationError(this, 'AuroraDatabase: the credentials\' rotation needs a path to Secrets Manager: give secretsManagerEndpoint (an interface endpoint) or a VPC with private subnets with egress (got: neither)');
    }
    if (endpoint instanceof ec2.InterfaceVpcEndpoint) {
      const cfn = endpoint.node.defaultChild as ec2.CfnVPCEndpoint;
      if (cfn.privateDnsEnabled === false) {
        throw validationError(this, 'AuroraDatabase: secretsManagerEndpoint must have private DNS on, so that secretsmanager.<region>.amazonaws.com reaches it from the rotation function (got: privateDnsEnabled false)');
      }
    }
    // The endpoint is not passed on: aws-cdk-lib would give the rotation function the host name
    // `vpce-<id>.secretsmanager.<region>.amazonaws.com`, which is not one of the endpoint's documented names
    // (those end in .vpce.amazonaws.com). With private DNS on, the regional name resolves to the endpoint's
    // interfaces inside the VPC, so the function's default endpoint already goes through it.
    const rotation = this.cluster.addRotationSingleUser({
      automaticallyAfter: props.rotationInterval ?? AURORA_DEFAULTS.rotationInterval,
      vpcSubnets: subnets,
      // Not at creation: the first rotation would start while the writer instance is still being created (it cannot
      // log in, fails, and may leave an AWSPENDING version), and could race the application users' function, which
      // logs in with the password it read. The schedule's first rotation comes after its interval (Secrets Manager
      // still tests the function once, which the dependency on the instances below makes safe).
      rotateImmediatelyOnUpdate: false,
    });
    // And after the instances all the same: an update that rotates at once must find a writer to log in to.
    const schedule = this.cluster.node.findAll().find((c) => c instanceof secretsmanager.CfnRotationSchedule);
    const instances = this.cluster.node.findAll().filter((c) => c instanceof rds.CfnDBInstance);
    if (schedule !== undefined) for (const instance of instances) schedule.node.addDependency(instance);
    return rotation;
  }

  private addReaderAutoScaling(a: AuroraReaderAutoScaling, readers: number): appscaling.CfnScalableTarget {
    const min = a.minReaders ?? readers;
    const target = new appscaling.CfnScalableTarget(this, 'ReaderScaling', {
      serviceNamespace: 'rds',
      scalableDimension: 'rds:cluster:ReadReplicaCount',
      resourceId: `cluster:${this.clusterIdentifier}`,
      minCapacity: min,
      maxCapacity: a.maxReaders,
      // No RoleARN: registering creates Application Auto Scaling's service-linked role for Aurora when the
      // account has none yet; naming it would fail in such an account.
    });
    // Registering needs an available cluster with its CloudFormation instances.
    target.node.addDependency(this.cluster);
    const cooldowns = {
      scaleInCooldown: (a.scaleInCooldown ?? AURORA_DEFAULTS.autoScaling.scaleInCooldown).toSeconds(),
      scaleOutCooldown: (a.scaleOutCooldown ?? AURORA_DEFAULTS.autoScaling.scaleOutCooldown).toSeconds(),
    };
    new appscaling.CfnScalingPolicy(this, 'ReaderCpuScaling', {
      policyName: `${this.clusterIdentifier}-reader-cpu`,
      policyType: 'TargetTrackingScaling',
      scalingTargetId: target.ref,
      targetTrackingScalingPolicyConfiguration: {
        targetValue: a.targetCpuPercent ?? AURORA_DEFAULTS.autoScaling.targetCpuPercent,
        predefinedMetricSpecification: { predefinedMetricType: 'RDSReaderAverageCPUUtilization' },
        ...cooldowns,
      },
    });
    if (a.targetConnections !== undefined) {
      new appscaling.CfnScalingPolicy(this, 'ReaderConnectionsScaling', {
        policyName: `${this.clusterIdentifier}-reader-connections`,
        policyType: 'TargetTrackingScaling',
        scalingTargetId: target.ref,
        targetTrackingScalingPolicyConfiguration: {
          targetValue: a.targetConnections,
          predefinedMetricSpecification: { predefinedMetricType: 'RDSReaderAverageDatabaseConnections' },
          ...cooldowns,
        },
      });
    }
    return target;
  }

  private createMonitoringRole(): iam.Role {
    const role = new iam.Role(this, 'MonitoringRole', {
      assumedBy: new iam.ServicePrincipal('monitoring.rds.amazonaws.com'),
      description: 'RDS enhanced monitoring',
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonRDSEnhancedMonitoringRole')],
    });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]',
      reason: 'AmazonRDSEnhancedMonitoringRole is the AWS-maintained policy for enhanced monitoring; it only writes the RDSOSMetrics log group.',
    });
    return role;
  }

  private acknowledge(global: AuroraGlobalDatabaseProps | undefined): void {
    if (this.engineKind === 'mysql') {
      Validations.of(this.cluster).acknowledge({
        id: 'AwsSolutions-RDS11',
        reason: 'The engine\'s default port is kept so standard MySQL clients and drivers work unchanged; the cluster sits in isolated subnets and its security group admits only the proxy and granted fleets, so a non-standard port would add no protection.',
      });
      Validations.of(this.cluster).acknowledge({
        id: 'AwsSolutions-RDS14',
        reason: global
          ? 'Backtrack is not supported on Aurora Global Database clusters; point-in-time restore from the automated backups covers recovery.'
          : 'Point-in-time restore from the automated backups covers recovery; backtrack cannot be enabled on existing clusters and rewinds the whole cluster, which the runbook does not rely on.',
      });
    }
  }
}

/**
 * The name aws-cdk-lib's SecretRotation gives its function (the serverless application's `functionName`
 * parameter): the last 64 characters of the construct's unique id. Known at synth, so the alarm needs no lookup.
 */
function rotationFunctionName(rotation: secretsmanager.SecretRotation): string {
  const uniqueId = Names.uniqueId(rotation);
  return uniqueId.substring(Math.max(uniqueId.length - 64, 0));
}

function makeInstance(id: string, cls: AuroraInstanceClass, opts: rds.ClusterInstanceOptions & { availabilityZone: string }, tier: number): rds.IClusterInstance {
  if (cls === 'serverless') return rds.ClusterInstance.serverlessV2(id, { ...opts, scaleWithWriter: tier <= 1 });
  return rds.ClusterInstance.provisioned(id, { ...opts, instanceType: cls, ...(tier > 0 ? { promotionTier: tier } : {}) });
}

function defaultIdentifier(scope: Construct): string {
  const raw = Names.uniqueResourceName(scope, { maxLength: 40, separator: '-' }).toLowerCase();
  const clean = raw.replace(/[^a-z0-9-]/g, '-').replace(/-+/g, '-').replace(/^[^a-z]+/, '').replace(/-$/, '');
  return clean || 'aurora';
}

function validateProps(scope: Construct, props: AuroraDatabaseProps, readers: number): void {
  const fail = (msg: string) => { throw validationError(scope, `AuroraDatabase: ${msg}`); };
  const users = props.applicationUsers ?? [];
  users.forEach((u, i) => {
    if (!DATABASE_USER.test(u)) fail(`applicationUsers[${i}] must be lowercase letters, digits and _, starting with a letter, at most 63 characters (got: ${JSON.stringify(u)})`);
    if (RESERVED_DATABASE_USERS.includes(u)) fail(`applicationUsers[${i}] is a reserved role name (got: ${JSON.stringify(u)})`);
    if (users.indexOf(u) !== i) fail(`applicationUsers[${i}] is a duplicate (got: ${JSON.stringify(u)})`);
  });
  checkStatementTimeout(scope, 'AuroraDatabase: statementTimeout', props.statementTimeout);
  if (users.length > 0 && props.iamAuthentication === false) fail('applicationUsers log in with IAM database authentication: iamAuthentication must be true (got: false)');

  if (!Number.isInteger(readers) || readers < 0 || readers > AURORA_DEFAULTS.maxReaders) fail(`readers must be a whole number from 0 to 15 (got: ${readers})`);
  const min = props.serverlessV2MinCapacity ?? AURORA_DEFAULTS.serverlessMinCapacity;
  const max = props.serverlessV2MaxCapacity ?? AURORA_DEFAULTS.serverlessMaxCapacity;
  if (!Token.isUnresolved(min) && (min < 0 || min > 256 || (min > 0 && min < 0.5) || min % 0.5 !== 0)) fail(`serverlessV2MinCapacity must be 0 or 0.5-256 in steps of 0.5 (got: ${min})`);
  if (!Token.isUnresolved(max) && (max < 1 || max > 256 || max % 0.5 !== 0)) fail(`serverlessV2MaxCapacity must be 1-256 in steps of 0.5 (got: ${max})`);
  if (min > max) fail(`serverlessV2MinCapacity (${min}) must not exceed serverlessV2MaxCapacity (${max})`);
  const a = props.readerAutoScaling;
  if (a) {
    const minReaders = a.minReaders ?? readers;
    if (!Number.isInteger(a.maxReaders) || a.maxReaders < 1 || a.maxReaders > 15) fail(`readerAutoScaling.maxReaders must be a whole number from 1 to 15 (got: ${a.maxReaders})`);
    if (!Number.isInteger(minReaders) || minReaders < 0 || minReaders > 15) fail(`readerAutoScaling.minReaders must be a whole number from 0 to 15 (got: ${minReaders})`);
    if (minReaders > a.maxReaders) fail(`readerAutoScaling.minReaders (${minReaders}) must not exceed maxReaders (${a.maxReaders})`);
    if (readers > a.maxReaders) fail(`readerAutoScaling.maxReaders (${a.maxReaders}) must be at least readers (${readers})`);
    const cpu = a.targetCpuPercent ?? AURORA_DEFAULTS.autoScaling.targetCpuPercent;
    if (cpu < 10 || cpu > 90) fail(`readerAutoScaling.targetCpuPercent must be 10-90 (got: ${cpu})`);
    if (a.targetConnections !== undefined && (!Number.isInteger(a.targetConnections) || a.targetConnections < 1)) fail(`readerAutoScaling.targetConnections must be a positive whole number (got: ${a.targetConnections})`);
  }
  const retention = props.backupRetention?.toDays();
  if (retention !== undefined && (retention < 1 || retention > 35)) fail(`backupRetention must be 1-35 days (got: ${retention})`);
  if (props.performanceInsights === false && props.databaseInsightsMode === rds.DatabaseInsightsMode.ADVANCED) fail('databaseInsightsMode ADVANCED needs performanceInsights (got: performanceInsights false)');
  const interval = props.monitoringInterval?.toSeconds();
  if (interval !== undefined && ![0, 1, 5, 10, 15, 30, 60].includes(interval)) fail(`monitoringInterval must be 0, 1, 5, 10, 15, 30 or 60 seconds (got: ${interval})`);
  if (props.clusterIdentifier !== undefined && !Token.isUnresolved(props.clusterIdentifier) && (!IDENTIFIER.test(props.clusterIdentifier) || props.clusterIdentifier.length > 52)) {
    fail(`clusterIdentifier must be lowercase letters, digits and single dashes, starting with a letter, at most 52 characters (got: ${JSON.stringify(props.clusterIdentifier)})`);
  }
  const g = props.globalDatabase;
  if (g) {
    for (const [name, cls] of [['writerInstance', props.writerInstance], ['readerInstance', props.readerInstance]] as const) {
      if (cls !== undefined && cls !== 'serverless' && cls.toString().startsWith('t')) {
        fail(`${name} ${cls.toString()} cannot be used in a global database (burstable classes are not supported; use r-class or serverless)`);
      }
    }
    if (!IDENTIFIER.test(g.globalClusterIdentifier) || g.globalClusterIdentifier.length > 63) fail(`globalDatabase.globalClusterIdentifier must be lowercase letters, digits and single dashes (got: ${JSON.stringify(g.globalClusterIdentifier)})`);
    if (g.role === 'secondary' && g.replicaRegions?.length) fail('globalDatabase.replicaRegions is only for the primary');
    if (g.role === 'primary' && g.primaryRegion !== undefined) fail(`globalDatabase.primaryRegion is only for a secondary (got: ${g.primaryRegion})`);
  }
}
