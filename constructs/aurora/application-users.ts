import { CustomResource, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib/core';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { bundleNodeEntryForApp } from '../common/bundle';
import { validationError } from '../common/errors';
import { nagArn } from '../common/nag';
import { AURORA_DEFAULTS } from './defaults';

/** Properties of {@link ApplicationUsers}. */
export interface ApplicationUsersProps {
  /** The cluster (Aurora PostgreSQL) the users are created in, through its writer endpoint. */
  readonly cluster: rds.DatabaseCluster;
  /** The master credentials (`username`, `password`); only this construct's function may read them. */
  readonly secret: secretsmanager.ISecret;
  /** The database the users get privileges on. */
  readonly databaseName: string;
  /** The users, one per fleet. */
  readonly users: string[];
  /** The VPC of the cluster. */
  readonly vpc: ec2.IVpc;
  /**
   * Subnets of the function: it must reach the writer and Secrets Manager (NAT or an interface endpoint).
   * @default - the private subnets with egress
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** The group role holding the application's privileges. @default 's2m_application' */
  readonly groupRole?: string;
  /**
   * `statement_timeout` of every user (`ALTER ROLE <user> SET statement_timeout`): the server cancels a statement
   * that runs longer (SQLSTATE 57014) and rolls back its transaction, whatever the client does. A client that gives
   * up on its own (its query timeout) closes the connection, and the server goes on running the statement, holding
   * its locks and a backend, until it tries to send a result; RDS Proxy can neither cancel it nor pass the setting
   * at connect. Keep it below the clients' query timeout. Whole milliseconds, 1 second to 24 hours; changing it
   * updates the custom resource in place.
   * @default Duration.seconds(28) - below the runtime's 30 s client timeout
   */
  readonly statementTimeout?: Duration;
}

/**
 * Creates the application's database users in an Aurora PostgreSQL cluster at deploy time, without Docker and
 * without the master password in a template or a log: a Lambda function in the VPC (bundled at synth by
 * esbuild, run through the custom resource provider framework) reads the master secret itself and runs
 * idempotent SQL through the writer endpoint. Each user gets `rds_iam` (IAM database authentication: no
 * password exists) and membership of the group role with the application's privileges (read and write data,
 * no DDL). Users removed from the list are left as they are (their fleets may still be serving while this runs).
 *
 * Why not the RDS Data API (`ExecuteStatement` with the secret's ARN, no VPC function): it is not available on
 * T instance classes, which the startup stage uses, and needs `EnableHttpEndpoint` on the cluster.
 */
export class ApplicationUsers extends Construct {
  /** The custom resource. */
  public readonly resource: CustomResource;
  /** The function that runs the SQL. */
  public readonly function: lambda.Function;
  /** The function's network connections (it reaches the cluster's port). */
  public readonly connections: ec2.Connections;

  constructor(scope: Construct, id: string, props: ApplicationUsersProps) {
    super(scope, id);
    const groupRole = props.groupRole ?? AURORA_DEFAULTS.applicationGroupRole;
    checkStatementTimeout(this, 'ApplicationUsers: statementTimeout', props.statementTimeout);
    const bundle = bundleHandler(this);
    const logGroup = new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.THREE_MONTHS, removalPolicy: RemovalPolicy.DESTROY });
    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: `Creates the application users of ${props.cluster.node.path}`,
      allowAllOutbound: true,
    });
    this.connections = new ec2.Connections({ securityGroups: [securityGroup] });

    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Creates the application database users; the only reader of the master secret besides migrations',
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaVPCAccessExecutionRole')],
    });
    logGroup.grantWrite(role);
    props.secret.grantRead(role);
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
      reason: 'AWSLambdaVPCAccessExecutionRole is the AWS-maintained minimum for a function in a VPC (network interfaces, which support no resource-level permission); logs go to this construct\'s own log group.',
    });

    this.function = new lambda.Function(this, 'Function', {
      runtime: lambda.Runtime.NODEJS_24_X,
      code: lambda.Code.fromAsset(bundle.directory, { assetHash: bundle.hash }),
      handler: 'index.handler',
      role,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [securityGroup],
      timeout: Duration.minutes(5),
      memorySize: 256,
      logGroup,
      description: `Creates the application database users of ${props.cluster.node.path}`,
      environment: { NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem', NODE_OPTIONS: '--enable-source-maps' },
    });
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason: 'The function runs on nodejs24.x, the newest Node.js runtime this aws-cdk-lib knows; the rule compares against a list that may name runtimes Lambda does not offer yet.',
    });

    const frameworkLogs = new logs.LogGroup(this, 'ProviderLogs', { retention: logs.RetentionDays.THREE_MONTHS, removalPolicy: RemovalPolicy.DESTROY });
    const frameworkRole = new iam.Role(this, 'ProviderRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Runs the custom resource provider framework of the application users',
    });
    frameworkLogs.grantWrite(frameworkRole);
    const provider = new cr.Provider(this, 'Provider', { onEventHandler: this.function, frameworkOnEventRole: frameworkRole, logGroup: frameworkLogs });
    Validations.of(frameworkRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagArn(`${this.function.functionArn}:*`, this)}]`,
      reason: 'The provider framework may invoke any version of its one handler function (the `:*` qualifier), nothing else.',
    });
    const frameworkFunction = provider.node.tryFindChild('framework-onEvent');
    if (frameworkFunction) {
      Validations.of(frameworkFunction).acknowledge({
        id: 'AwsSolutions-L1',
        reason: 'The provider framework function is aws-cdk-lib\'s own; its runtime is chosen and updated by aws-cdk-lib.',
      });
    }

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::ApplicationUsers',
      properties: {
        SecretArn: props.secret.secretArn,
        Host: props.cluster.clusterEndpoint.hostname,
        Port: String(props.cluster.clusterEndpoint.port),
        DatabaseName: props.databaseName,
        GroupRole: groupRole,
        Users: props.users,
        StatementTimeoutMs: String((props.statementTimeout ?? AURORA_DEFAULTS.statementTimeout).toMilliseconds()),
      },
    });
    // The writer must be available, with its instances, before the function logs in.
    this.resource.node.addDependency(props.cluster);
  }
}

/**
 * Throws a ValidationError naming `name` when `value` is not whole milliseconds from 1 second to 24 hours.
 * @param scope - the construct the error names
 * @param name - the prop's name in the message
 * @param value - the prop; undefined and tokens pass
 */
export function checkStatementTimeout(scope: Construct, name: string, value: Duration | undefined): void {
  if (value === undefined || value.isUnresolved()) return;
  const ms = value.toMilliseconds({ integral: false });
  const { min, max } = AURORA_DEFAULTS.statementTimeoutRange;
  if (!Number.isInteger(ms) || ms < min.toMilliseconds() || ms > max.toMilliseconds()) {
    throw validationError(scope, `${name} must be whole milliseconds from 1 second to 24 hours (got: ${value.toHumanString()})`);
  }
}

/** Bundles the handler (the `.ts` source in this repository, the compiled `.js` in the package). */
function bundleHandler(scope: Construct): { directory: string; hash: string } {
  const entry = ['application-users.handler.ts', 'application-users.handler.js'].map((f) => join(__dirname, f)).find((f) => existsSync(f));
  if (!entry) throw validationError(scope, `ApplicationUsers: the handler is missing next to ${__dirname}`);
  try {
    // @aws-sdk/* is part of the Lambda Node.js runtime.
    return bundleNodeEntryForApp(scope, { entry, nodeMajor: 24, externals: ['@aws-sdk/*'] });
  } catch (e) {
    throw validationError(scope, `ApplicationUsers: ${(e as Error).message} (the handler needs esbuild and pg where cdk synth runs)`);
  }
}
