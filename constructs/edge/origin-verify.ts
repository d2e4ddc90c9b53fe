import { RemovalPolicy, Token, Validations } from 'aws-cdk-lib/core';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct, type IConstruct } from 'constructs';
import { SecretReplica } from '../common';
import { unscopedValidationError, validationError } from '../common/errors';
import { EDGE_DEFAULTS } from './defaults';

/** The dynamic references to the origin-verify values, derived from the secret name and the generation alone. */
export interface OriginVerifyReferences {
  /** The value CloudFront sends (`{{resolve:secretsmanager:...}}`), the current generation's. */
  readonly current: string;
  /** The values the load balancers accept: the current and the previous generation's (zero-downtime rotation). */
  readonly accepted: string[];
}

/** Properties of an {@link OriginVerifySecret}. */
export interface OriginVerifySecretProps {
  /**
   * Name prefix of the two slot secrets, e.g. `shop/edge/origin-verify` (→ `…-0`, `…-1`). It is a
   * contract: CloudFront and every load balancer resolve the secrets by this name in their own region.
   */
  readonly secretNamePrefix: string;
  /**
   * Rotation generation, at least 1. Raising it by one generates a new value in the slot that held the
   * previous-but-one generation; load balancers accept both slots, CloudFront sends the newest.
   * @default 1
   */
  readonly generation?: number;
  /**
   * Regions the secrets are pushed to, excluding the stack's own region. Prefer an
   * {@link OriginVerifyReplica} in each consuming region's own stack: a list here puts every region in this
   * stack's template, so adding a region changes it.
   * @default - no replicas
   */
  readonly replicaRegions?: string[];
}

const NAME_PREFIX = /^[A-Za-z0-9/_+=.@-]{1,500}$/;

/**
 * The shared secret CloudFront sends in a custom origin header and the load balancers require. It is
 * kept in two Secrets Manager "slots" replicated to every region, each a generated alphanumeric value under
 * a JSON key naming its generation (`g<n>`). Consumers read it with CloudFormation dynamic references by
 * name (no cross-region references); bumping `generation` changes the key, so every consumer's template
 * changes and CloudFormation re-resolves it on the next deploy:
 * data (new value) → app stacks (accept new and old) → edge (send new): no request is refused mid-rotation.
 */
export class OriginVerifySecret extends Construct {
  /**
   * The dynamic references for a secret name prefix and generation. Pure: stacks in other regions call it
   * to get the same strings the secret's own stack would.
   */
  public static references(secretNamePrefix: string, generation = 1): OriginVerifyReferences {
    checkProps(secretNamePrefix, generation);
    const ref = (slot: number) => {
      const g = slotGeneration(slot, generation);
      // A plain string, not a SecretValue token: the same inputs give the same string in every stack.
      return `{{resolve:secretsmanager:${slotName(secretNamePrefix, slot)}:SecretString:g${g}::}}`;
    };
    const currentSlot = generation % 2;
    return { current: ref(currentSlot), accepted: [ref(currentSlot), ref(1 - currentSlot)] };
  }

  /** The names of the two slot secrets (index = slot) for a name prefix. */
  public static slotNames(secretNamePrefix: string): string[] {
    checkProps(secretNamePrefix, 1);
    return [0, 1].map((slot) => slotName(secretNamePrefix, slot));
  }

  /** The two slot secrets (index = slot). */
  public readonly secrets: secretsmanager.Secret[];
  /** The references consumers use. */
  public readonly references: OriginVerifyReferences;

  constructor(scope: Construct, id: string, props: OriginVerifySecretProps) {
    super(scope, id);
    const generation = props.generation ?? 1;
    checkProps(props.secretNamePrefix, generation, this);
    this.references = OriginVerifySecret.references(props.secretNamePrefix, generation);
    this.secrets = [0, 1].map((slot) => {
      const secret = new secretsmanager.Secret(this, `Slot${slot}`, {
        secretName: slotName(props.secretNamePrefix, slot),
        description: `Origin-verify header value (slot ${slot}): CloudFront sends it, the load balancers require it`,
        generateSecretString: {
          secretStringTemplate: '{}',
          generateStringKey: `g${slotGeneration(slot, generation)}`,
          excludePunctuation: true,
          includeSpace: false,
          passwordLength: EDGE_DEFAULTS.secretLength,
        },
        replicaRegions: (props.replicaRegions ?? []).map((region) => ({ region })),
        removalPolicy: RemovalPolicy.RETAIN,
      });
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason: 'Rotated by raising edge.originSecretGeneration and redeploying: CloudFront and every load balancer hold the value as a resolved dynamic reference, so a Lambda rotation would leave them stale; the two-slot scheme makes the redeploy rotation zero-downtime.',
      });
      return secret;
    });
  }
}

/** Properties of an {@link OriginVerifyReplica}. */
export interface OriginVerifyReplicaProps {
  /** Name prefix of the slot secrets, as given to the {@link OriginVerifySecret}. */
  readonly secretNamePrefix: string;
  /** Region of the {@link OriginVerifySecret} (the primary region). */
  readonly primaryRegion: string;
  /**
   * Whether deleting this construct removes the replicas (see {@link SecretReplicaProps.removalPolicy}).
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Pulls this stack's region's replicas of both origin-verify slot secrets from the primary region (one
 * {@link SecretReplica} per slot). Consumers in the stack (listener rules, the distribution) must be deployed
 * after it: in a later stack, or with `node.addDependency`.
 */
export class OriginVerifyReplica extends Construct {
  /** The requests, index = slot. */
  public readonly replicas: SecretReplica[];

  constructor(scope: Construct, id: string, props: OriginVerifyReplicaProps) {
    super(scope, id);
    this.replicas = OriginVerifySecret.slotNames(props.secretNamePrefix).map((secretName, slot) => new SecretReplica(this, `Slot${slot}`, {
      secretName,
      primaryRegion: props.primaryRegion,
      ...(props.removalPolicy ? { removalPolicy: props.removalPolicy } : {}),
    }));
  }
}

function slotName(prefix: string, slot: number): string {
  return `${prefix}-${slot}`;
}

/** The generation slot `slot` holds when the current generation is `n`: n for the current slot, n-1 for the other. */
function slotGeneration(slot: number, n: number): number {
  return slot === n % 2 ? n : n - 1;
}

/** Checks a name prefix and a generation; the errors carry `scope`'s path when there is one (not in the static helpers). */
function checkProps(prefix: string, generation: number, scope?: IConstruct): void {
  const fail = (message: string) => (scope ? validationError(scope, message) : unscopedValidationError(message));
  if (!Token.isUnresolved(prefix) && !NAME_PREFIX.test(prefix)) {
    throw fail(`OriginVerifySecret: secretNamePrefix must be 1-500 of A-Z a-z 0-9 /_+=.@- (got: ${JSON.stringify(prefix)})`);
  }
  if (!Number.isInteger(generation) || generation < 1) {
    throw fail(`OriginVerifySecret: generation must be a whole number of at least 1 (got: ${generation})`);
  }
}
