import { Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib/core';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { GeneratedSecretRotation, PublishedEndpoints, SecretReplica, grantSecretToPrincipal, type EndpointConsumer, type IEndpointProvider } from '../common';
import { validationError } from '../common/errors';
import { SESSION_KEY_DEFAULTS } from './defaults';

/** How the session key rotates. */
export interface SessionKeyRotation {
  /** Time between rotations. @default Duration.days(30) */
  readonly automaticallyAfter?: Duration;
}

/** Properties of a {@link SessionKey}. */
export interface SessionKeyProps {
  /** Name of the secret, identical in every region (no cross-region reference), e.g. `shop/sessions/key`. */
  readonly secretName: string;
  /**
   * The primary region's secret, if this stack is in another region: this construct then pulls its own replica
   * (a `SecretReplica`), so adding a region changes no other region's stack.
   * @default - this is the primary: the secret is created here
   */
  readonly primaryRegion?: string;
  /**
   * Rotate the key (primary only): a function puts a new generated key in place; the replicas follow. Sessions
   * sealed with the previous key stay valid while the runtime accepts it (AWSPREVIOUS), i.e. for one more interval.
   * `false` turns rotation off.
   * @default - every 30 days
   */
  readonly rotation?: SessionKeyRotation | false;
  /**
   * SSM path the secret's ARN is published under (`<prefix>/secret-arn`), e.g. `/shop/sessions`.
   * @default - nothing is published; `grantConsumer` grants reading the secret only
   */
  readonly parameterPrefix?: string;
}

/**
 * The key that seals session tokens (encrypted and authenticated by the application), so a session issued in one
 * region is valid in every region: a user moved by DNS (a failover moves everyone) keeps their session, and no
 * session store has to be shared across regions. A Secrets Manager secret (`{"key": "<64 letters and digits>"}`)
 * created in the primary region and replicated to each other region by that region's own stack, rotated every 30
 * days by a function; web fleets read it through `grantConsumer`. Retained on delete: losing it signs everyone out.
 */
export class SessionKey extends Construct implements IEndpointProvider {
  /** The secret in this region (the primary, or this region's replica read by name). */
  public readonly secret: secretsmanager.ISecret;
  /** The request pulling this region's replica (not in the primary region). */
  public readonly replica?: SecretReplica;
  /** The rotation (primary only, unless turned off). */
  public readonly rotation?: GeneratedSecretRotation;
  /** The published ARN (when `parameterPrefix` is given). */
  public readonly published?: PublishedEndpoints;

  constructor(scope: Construct, id: string, props: SessionKeyProps) {
    super(scope, id);
    if (!Token.isUnresolved(props.secretName) && !/^[A-Za-z0-9/_+=.@-]{1,512}$/.test(props.secretName)) {
      throw validationError(this, `SessionKey: secretName must be 1-512 of A-Z a-z 0-9 /_+=.@- (got: ${JSON.stringify(props.secretName)})`);
    }
    if (props.primaryRegion !== undefined && props.rotation) {
      throw validationError(this, `SessionKey: rotation is configured on the primary; a replica follows it (got: a rotation with primaryRegion ${props.primaryRegion})`);
    }
    if (props.primaryRegion === undefined) {
      const secret = new secretsmanager.Secret(this, 'Resource', {
        secretName: props.secretName,
        description: 'Seals session tokens (every region reads its replica): rotating it makes sessions older than one interval invalid',
        generateSecretString: {
          secretStringTemplate: '{}',
          generateStringKey: SESSION_KEY_DEFAULTS.field,
          excludePunctuation: true,
          includeSpace: false,
          passwordLength: SESSION_KEY_DEFAULTS.length,
        },
        removalPolicy: RemovalPolicy.RETAIN,
      });
      this.secret = secret;
      if (props.rotation !== false) {
        this.rotation = new GeneratedSecretRotation(this, 'Rotation', {
          secret,
          field: SESSION_KEY_DEFAULTS.field,
          length: SESSION_KEY_DEFAULTS.length,
          automaticallyAfter: props.rotation?.automaticallyAfter ?? SESSION_KEY_DEFAULTS.rotationInterval,
        });
      }
    } else {
      this.replica = new SecretReplica(this, 'Replica', { secretName: props.secretName, primaryRegion: props.primaryRegion });
      this.secret = secretsmanager.Secret.fromSecretNameV2(this, 'Resource', props.secretName);
    }
    if (props.parameterPrefix !== undefined) {
      this.published = new PublishedEndpoints(this, 'Endpoints', {
        parameterPrefix: props.parameterPrefix,
        description: 'Session token key',
        values: { 'secret-arn': this.secret.secretArn },
        secret: this.secret,
      });
      // Consumers resolve the replica by name: publish only once it exists.
      if (this.replica) this.published.node.addDependency(this.replica);
    }
  }

  /** Lets `consumer` (a web fleet) read the published ARN and the key (every version: AWSCURRENT and AWSPREVIOUS). */
  public grantConsumer(consumer: EndpointConsumer): void {
    if (this.published) this.published.grantConsumer(consumer);
    else grantSecretToPrincipal(this.secret, consumer, Stack.of(this).region);
  }
}
