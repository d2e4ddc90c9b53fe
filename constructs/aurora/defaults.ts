import { Duration } from 'aws-cdk-lib/core';
import * as logs from 'aws-cdk-lib/aws-logs';

/** Default values of the `AuroraDatabase` construct. */
export const AURORA_DEFAULTS = {
  /** Engine when none is given. */
  engine: 'postgres',
  /** Aurora PostgreSQL version when none is given. */
  postgresVersion: '16.6',
  /** Aurora MySQL version when MySQL is chosen without a version. */
  mysqlVersion: '3.08.0',
  /** Writer (and reader) instance type. */
  instanceType: 'r7g.large',
  /** Readers created by CloudFormation. */
  readers: 2,
  /** Aurora's limit of replicas per cluster. */
  maxReaders: 15,
  /** The most secondary regions of an Aurora Global Database (each counts against the primary's 15 replicas). */
  maxGlobalSecondaries: 5,
  /** Serverless v2 capacity bounds (ACU). */
  serverlessMinCapacity: 0.5,
  serverlessMaxCapacity: 16,
  /** Automated backups. */
  backupRetention: Duration.days(7),
  /** Enhanced monitoring interval. */
  monitoringInterval: Duration.seconds(60),
  /** Retention of the exported database logs. */
  logRetention: logs.RetentionDays.ONE_MONTH,
  /** Database created in the cluster. */
  databaseName: 'app',
  /** Reader autoscaling targets and cooldowns. */
  autoScaling: {
    targetCpuPercent: 60,
    scaleInCooldown: Duration.minutes(10),
    scaleOutCooldown: Duration.minutes(5),
  },
  /** Days between credential rotations. */
  rotationInterval: Duration.days(30),
  /** The group role holding the application's privileges; every application user is a member. */
  applicationGroupRole: 's2m_application',
  /**
   * `statement_timeout` of every application user (`ALTER ROLE … SET`): the server cancels a statement that runs
   * longer, with SQLSTATE 57014, and the connection stays usable. 2 s below the runtime's client timeout before
   * it knew this value (30 s), so the server cancels first and the client gets the answer, not its own timeout
   * (which closes the connection and leaves the statement running on the server).
   */
  statementTimeout: Duration.seconds(28),
  /** The shortest and longest `statementTimeout` accepted. */
  statementTimeoutRange: { min: Duration.seconds(1), max: Duration.hours(24) },
} as const;

/**
 * Role names an application user may not take: PostgreSQL's and RDS's own, the master user and the group role.
 */
export const RESERVED_DATABASE_USERS: readonly string[] = [
  'postgres', 'public', 'rdsadmin', 'rdsproxyadmin', 'rds_superuser', 'rds_iam', 'rds_replication', 'rds_password',
  'rdstopmgr', 'dbadmin', 's2m_application',
];

/** Log types exported to CloudWatch Logs per engine. */
export const LOG_EXPORTS = {
  postgres: ['postgresql'],
  mysql: ['error', 'slowquery', 'audit'],
} as const;

/**
 * Cluster parameters the construct enforces (TLS only, slow-statement logging); user parameters are
 * merged over them except the TLS ones, which are applied last.
 */
export const CLUSTER_PARAMETERS = {
  postgres: { enforced: { 'rds.force_ssl': '1' }, defaults: { log_min_duration_statement: '1000', log_lock_waits: '1' } },
  mysql: { enforced: { require_secure_transport: 'ON' }, defaults: { slow_query_log: '1', long_query_time: '1', server_audit_logging: '1', server_audit_events: 'CONNECT,QUERY_DDL' } },
} as const;
