import { RemovalPolicy, Stack } from 'aws-cdk-lib/core';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** The execution role and log group of a stack's `AwsCustomResource` function. */
export interface AwsCustomResourceProvider {
  /** The function's role; each request adds its own statements. */
  readonly role: iam.Role;
  /** Where the function logs (with a retention). */
  readonly logGroup: logs.LogGroup;
}

/** The description of the role of a stack's `AwsCustomResource` function (what its requests do, in this project). */
export const AWS_CUSTOM_RESOURCE_ROLE_DESCRIPTION = 'Runs the AwsCustomResource requests of this stack (AMI lookups, parameters written in other regions)';

/** Construct ids the provider may have, the first one created in a stack wins (ids are part of logical IDs). */
const PROVIDER_IDS = ['SecretReplicaProvider', 'AwsCustomResourceProvider'] as const;

/**
 * The execution role and log group of the stack's AwsCustomResource Lambda. aws-cdk-lib runs every
 * `AwsCustomResource` of a stack in one singleton function, so there is one role per stack: the first caller
 * creates it (under its `id`), later callers get the same one. Logs go to a log group with a retention,
 * written through an inline policy scoped to it, instead of the AWS managed AWSLambdaBasicExecutionRole
 * (which allows every log group of the account).
 */
export function awsCustomResourceProvider(stack: Stack, options: { id: (typeof PROVIDER_IDS)[number]; description: string }): AwsCustomResourceProvider {
  for (const id of PROVIDER_IDS) {
    const existing = stack.node.tryFindChild(id) as Construct | undefined;
    if (existing) return { role: existing.node.findChild('Role') as iam.Role, logGroup: existing.node.findChild('Logs') as logs.LogGroup };
  }
  return functionRoleAndLogs(new Construct(stack, options.id), options.description);
}

/**
 * A Lambda function's execution role and log group, as children `Role` and `Logs` of `scope`: logs kept 90 days and
 * removed with the stack, written through an inline policy scoped to that log group instead of the AWS managed
 * AWSLambdaBasicExecutionRole (which allows every log group of the account).
 */
export function functionRoleAndLogs(scope: Construct, description: string): AwsCustomResourceProvider {
  const logGroup = new logs.LogGroup(scope, 'Logs', { retention: logs.RetentionDays.THREE_MONTHS, removalPolicy: RemovalPolicy.DESTROY });
  const role = new iam.Role(scope, 'Role', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description,
  });
  logGroup.grantWrite(role);
  return { role, logGroup };
}
