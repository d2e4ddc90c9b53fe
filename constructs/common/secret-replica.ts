import { ArnFormat, CustomResource, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib/core';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { awsCustomResourceProvider, functionRoleAndLogs } from './custom-resource-provider';
import { validationError } from './errors';
import { nagArn } from './nag';
import { REPLICA_SYNC_HANDLER_SOURCE } from './replica-sync-handler';

/** How the primary secret is encrypted, when it is not with `aws/secretsmanager`. */
export interface SecretReplicaPrimaryKey {
  /**
   * ARN of the customer managed key in the primary region. When it is not known in this stack (it lives in
   * another region's stack), leave it out: the request may then decrypt with any key of the primary region,
   * but only through Secrets Manager there and only for this secret (`kms:ViaService` and the `SecretARN`
   * encryption context).
   * @default - any key of the primary region, narrowed by the conditions above
   */
  readonly keyArn?: string;
}

/** Properties of a {@link SecretReplica}. */
export interface SecretReplicaProps {
  /** Name of the primary secret (without the random suffix), identical in every region, e.g. `shop/database/credentials`. */
  readonly secretName: string;
  /** Region of the primary secret. Must differ from this stack's region. */
  readonly primaryRegion: string;
  /**
   * Region the replica is created in.
   * @default - this stack's region
   */
  readonly replicaRegion?: string;
  /**
   * Key the replica is encrypted with (in the replica region); the request is granted `kms:Encrypt` and
   * `kms:GenerateDataKey` on it.
   * @default - the `aws/secretsmanager` key of the replica region
   */
  readonly replicaKey?: kms.IKey;
  /**
   * The primary secret is encrypted with a customer managed key: the request is granted `kms:Decrypt` on it
   * (replicating requires it).
   * @default - the primary secret uses `aws/secretsmanager`: no KMS permission
   */
  readonly primaryKey?: SecretReplicaPrimaryKey;
  /**
   * `DESTROY` removes the region from the secret's replication when this resource is deleted (the region
   * is removed from the config); `RETAIN` leaves the replica in place, for a replica something outside
   * this stack's lifetime also depends on.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * How long the deployment waits for the replica to be `InSync` after the request, at most 14 minutes. Resources
   * that depend on this construct (a dynamic reference to the replica, a function reading it) are created only then.
   * @default Duration.minutes(10)
   */
  readonly syncTimeout?: Duration;
}

const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

/**
 * Pulls a replica of a Secrets Manager secret into a region, from that region's own stack: a custom resource
 * asks Secrets Manager in the primary region to replicate the secret to this region
 * (`ReplicateSecretToRegions`) and, on delete, to stop (`RemoveRegionsFromReplication`).
 *
 * Why not the secret's `ReplicaRegions`: that property lists every region in the primary's template, so
 * adding or removing a region would change the primary region's stateful stack. With a `SecretReplica`
 * per region, adding a region adds only that region's stacks, and removing it removes only its replica.
 * Resources in this stack that read the replica must depend on this construct (`node.addDependency`).
 */
export class SecretReplica extends Construct {
  /** The custom resource making the request. */
  public readonly resource: cr.AwsCustomResource;
  /**
   * The custom resource that completes once the replica is `InSync` (`DescribeSecret` in the primary region, polled
   * by a function of the stack's own, {@link REPLICA_SYNC_HANDLER_SOURCE}). Replication is asynchronous: the request
   * returns while the replica is still `InProgress`, and a dynamic reference resolved then fails the deployment.
   */
  public readonly inSync: CustomResource;
  /** The region the replica is created in. */
  public readonly replicaRegion: string;
  /** The ARN pattern of the primary secret (`arn:…:secret:<name>-??????`) the request is allowed to act on. */
  public readonly primarySecretArnPattern: string;

  constructor(scope: Construct, id: string, props: SecretReplicaProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.replicaRegion = props.replicaRegion ?? stack.region;
    validate(this, props, this.replicaRegion);

    this.primarySecretArnPattern = stack.formatArn({
      service: 'secretsmanager',
      region: props.primaryRegion,
      resource: 'secret',
      resourceName: `${props.secretName}-??????`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const statements = [
      new iam.PolicyStatement({
        actions: ['secretsmanager:ReplicateSecretToRegions', 'secretsmanager:RemoveRegionsFromReplication'],
        resources: [this.primarySecretArnPattern],
      }),
    ];
    if (props.primaryKey) {
      statements.push(new iam.PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [props.primaryKey.keyArn ?? stack.formatArn({ service: 'kms', region: props.primaryRegion, resource: 'key', resourceName: '*' })],
        conditions: {
          StringEquals: { 'kms:ViaService': `secretsmanager.${props.primaryRegion}.${stack.urlSuffix}` },
          StringLike: { 'kms:EncryptionContext:SecretARN': this.primarySecretArnPattern },
        },
      }));
    }
    if (props.replicaKey) {
      statements.push(new iam.PolicyStatement({
        actions: ['kms:Encrypt', 'kms:GenerateDataKey'],
        resources: [props.replicaKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${this.replicaRegion}.${stack.urlSuffix}` } },
      }));
    }

    const replicate: cr.AwsSdkCall = {
      service: 'SecretsManager',
      action: 'replicateSecretToRegions',
      region: props.primaryRegion,
      parameters: {
        SecretId: props.secretName,
        AddReplicaRegions: [{ Region: this.replicaRegion, ...(props.replicaKey ? { KmsKeyId: props.replicaKey.keyArn } : {}) }],
        // A secret of the same name left in the region (e.g. by an earlier deployment) becomes the replica.
        ForceOverwriteReplicaSecret: true,
      },
      // One request per secret and region: a change of either replaces it (and removes the old replica).
      physicalResourceId: cr.PhysicalResourceId.of(`${props.secretName}@${this.replicaRegion}`),
      // The response lists the replication status; the replica's value is never in it, but keep it out of the logs anyway.
      logging: cr.Logging.withDataHidden(),
    };
    const retain = props.removalPolicy === RemovalPolicy.RETAIN;
    const provider = awsCustomResourceProvider(stack, { id: 'SecretReplicaProvider', description: 'Runs the SecretReplica requests (Secrets Manager replication) of this stack' });
    this.resource = new cr.AwsCustomResource(this, 'Request', {
      role: provider.role,
      logGroup: provider.logGroup,
      resourceType: 'Custom::SecretReplica',
      onCreate: replicate,
      onUpdate: replicate,
      ...(retain ? {} : {
        onDelete: {
          service: 'SecretsManager',
          action: 'removeRegionsFromReplication',
          region: props.primaryRegion,
          parameters: { SecretId: props.secretName, RemoveReplicaRegions: [this.replicaRegion] },
          // Already gone (the primary secret deleted, or the region no longer a replica): nothing to remove.
          ignoreErrorCodesMatching: 'ResourceNotFoundException|InvalidParameterException',
          logging: cr.Logging.withDataHidden(),
        },
      }),
      policy: cr.AwsCustomResourcePolicy.fromStatements(statements),
      installLatestAwsSdk: false,
    });
    if (props.primaryKey && !props.primaryKey.keyArn) {
      Validations.of(this.resource).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagArn(statements[1].resources[0], this)}]`,
        reason: 'The primary secret\'s customer key lives in another region\'s stack (no cross-region references), so its id is not known here: kms:Decrypt is allowed on the primary region\'s keys only through Secrets Manager (kms:ViaService) and only for this secret (kms:EncryptionContext:SecretARN).',
      });
    }

    const timeout = props.syncTimeout ?? Duration.minutes(10);
    const waiter = replicaSyncFunction(stack);
    waiter.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['secretsmanager:DescribeSecret'], resources: [this.primarySecretArnPattern] }));
    this.inSync = new CustomResource(this, 'InSync', {
      serviceToken: waiter.function.functionArn,
      resourceType: 'Custom::SecretReplicaInSync',
      // CloudFormation stops waiting for an answer after this, not after its default hour.
      serviceTimeout: timeout.plus(Duration.minutes(1)),
      properties: {
        SecretId: props.secretName,
        PrimaryRegion: props.primaryRegion,
        ReplicaRegion: this.replicaRegion,
        TimeoutSeconds: String(timeout.toSeconds()),
      },
    });
    // After the request (also when it is replaced), and once the function may describe the secret.
    this.inSync.node.addDependency(this.resource, waiter.role);
  }
}

/** The function of a stack that waits for its replicas (one per stack, shared by every SecretReplica in it). */
function replicaSyncFunction(stack: Stack): { function: lambda.Function; role: iam.Role } {
  const existing = stack.node.tryFindChild('SecretReplicaSync');
  if (existing) return { function: existing.node.findChild('Function') as lambda.Function, role: existing.node.findChild('Role') as iam.Role };
  const scope = new Construct(stack, 'SecretReplicaSync');
  const { role, logGroup } = functionRoleAndLogs(scope, `Waits for the secret replicas of ${stack.stackName} to be in sync`);
  const fn = new lambda.Function(scope, 'Function', {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline(REPLICA_SYNC_HANDLER_SOURCE),
    role,
    logGroup,
    // The longest wait (14 minutes) and the time to answer CloudFormation.
    timeout: Duration.minutes(15),
    memorySize: 128,
    description: 'Waits until a Secrets Manager replica is InSync (see scale-to-millions SecretReplica)',
  });
  return { function: fn, role };
}

/** Cross-region by design: the request runs in the primary region, the replica lands in this one. */
function validate(scope: Construct, props: SecretReplicaProps, replicaRegion: string): void {
  if (props.syncTimeout !== undefined && (props.syncTimeout.toSeconds() < 1 || props.syncTimeout.toSeconds() > 14 * 60)) {
    throw validationError(scope, `SecretReplica: syncTimeout must be from 1 second to 14 minutes (got: ${props.syncTimeout.toHumanString()})`);
  }
  if (!Token.isUnresolved(props.secretName) && !SECRET_NAME.test(props.secretName)) {
    throw validationError(scope, `SecretReplica: secretName must be 1-512 of A-Z a-z 0-9 /_+=.@- (got: ${JSON.stringify(props.secretName)})`);
  }
  if (!Token.isUnresolved(props.primaryRegion) && !REGION.test(props.primaryRegion)) {
    throw validationError(scope, `SecretReplica: primaryRegion must be a region name such as us-east-1 (got: ${JSON.stringify(props.primaryRegion)})`);
  }
  if (Token.isUnresolved(replicaRegion)) {
    throw validationError(scope, 'SecretReplica: the replica region must be known at synth: give replicaRegion or deploy the stack to an explicit region');
  }
  if (!REGION.test(replicaRegion)) {
    throw validationError(scope, `SecretReplica: replicaRegion must be a region name such as eu-west-1 (got: ${JSON.stringify(replicaRegion)})`);
  }
  if (replicaRegion === props.primaryRegion) {
    throw validationError(scope, `SecretReplica: replicaRegion must differ from primaryRegion (got: ${replicaRegion} for both)`);
  }
}
