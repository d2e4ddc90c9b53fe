import { ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib/core';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { functionRoleAndLogs } from './custom-resource-provider';
import { ROTATION_HANDLER_SOURCE } from './rotation-handler';
import { validationError } from './errors';

/** Properties of a {@link GeneratedSecretRotation}. */
export interface GeneratedSecretRotationProps {
  /** The secret to rotate (a JSON object); it must be defined in this stack. */
  readonly secret: secretsmanager.ISecret;
  /** The JSON key of the generated value, e.g. `password` or `key`; other keys are kept as they are. */
  readonly field: string;
  /** Length of a generated value (letters and digits), 16-128. @default 32 */
  readonly length?: number;
  /**
   * An ElastiCache RBAC user whose password is the value: each rotation gives the user both the current and the
   * new password (a user holds two), so connected clients and clients still holding the old value keep working.
   * @default - the value is used by the application alone (e.g. a key that seals session tokens)
   */
  readonly elastiCacheUserId?: string;
  /** Time between rotations (4 hours to 1000 days). @default Duration.days(30) */
  readonly automaticallyAfter?: Duration;
  /**
   * Rotate as soon as the schedule is created or changed. Off by default: the first rotation would race the
   * deployment of what uses the secret (an ElastiCache user being attached to its cache).
   * @default false
   */
  readonly rotateImmediatelyOnUpdate?: boolean;
}

const FIELD = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Rotation of a Secrets Manager secret whose value is generated (a password, a key): a small Lambda function
 * (inline, Node.js, outside any VPC: it calls only the public Secrets Manager and ElastiCache endpoints) with its
 * own role and log group, on a rotation schedule. Secrets Manager has no hosted rotation for ElastiCache users or
 * application keys; this is that function. Watch {@link metricErrors}: a failed rotation leaves the secret as it was.
 */
export class GeneratedSecretRotation extends Construct {
  /** The rotation function. */
  public readonly function: lambda.Function;
  /** Its log group. */
  public readonly logGroup: logs.LogGroup;
  /** The rotation schedule. */
  public readonly schedule: secretsmanager.RotationSchedule;

  constructor(scope: Construct, id: string, props: GeneratedSecretRotationProps) {
    super(scope, id);
    const length = props.length ?? 32;
    if (!FIELD.test(props.field)) throw validationError(this, `GeneratedSecretRotation: field must be a JSON key of letters, digits, _ and - (got: ${JSON.stringify(props.field)})`);
    if (!Number.isInteger(length) || length < 16 || length > 128) throw validationError(this, `GeneratedSecretRotation: length must be a whole number from 16 to 128 (got: ${length})`);
    const stack = Stack.of(this);

    const { role, logGroup } = functionRoleAndLogs(this, `Rotates ${this.node.path}`);
    this.logGroup = logGroup;
    this.function = new lambda.Function(this, 'Function', {
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline(ROTATION_HANDLER_SOURCE),
      role,
      logGroup: this.logGroup,
      timeout: Duration.minutes(5),
      memorySize: 256,
      description: 'Secrets Manager rotation of a generated value (see scale-to-millions GeneratedSecretRotation)',
      environment: {
        FIELD: props.field,
        LENGTH: String(length),
        ...(props.elastiCacheUserId ? { USER_ID: props.elastiCacheUserId } : {}),
      },
    });
    if (props.elastiCacheUserId) {
      role.addToPrincipalPolicy(new iam.PolicyStatement({
        actions: ['elasticache:ModifyUser', 'elasticache:DescribeUsers'],
        resources: [stack.formatArn({ service: 'elasticache', resource: 'user', resourceName: props.elastiCacheUserId, arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
      }));
    }
    this.schedule = new secretsmanager.RotationSchedule(this, 'Schedule', {
      secret: props.secret,
      rotationLambda: this.function,
      automaticallyAfter: props.automaticallyAfter ?? Duration.days(30),
      rotateImmediatelyOnUpdate: props.rotateImmediatelyOnUpdate ?? false,
    });
    this.acknowledge();
  }

  /** Errors of the rotation function (Sum per 5 minutes): anything above 0 is a failed rotation step. */
  public metricErrors(opts?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.function.metricErrors({ statistic: 'Sum', period: Duration.minutes(5), ...opts });
  }

  private acknowledge(): void {
    // aws-cdk-lib's RotationSchedule grants GetRandomPassword on "*" to the function's role.
    Validations.of(this.function.role!.node.findChild('DefaultPolicy')).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'secretsmanager:GetRandomPassword has no resource to scope to (IAM supports only "*" for it); every other action is limited to this secret and, for ElastiCache, this user.',
    });
  }
}
