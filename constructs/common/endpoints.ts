import { Arn, Stack } from 'aws-cdk-lib/core';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { validationError } from './errors';

/**
 * Something that runs application code: it can be granted permissions and network access (a `Fleet`), and may
 * have its own database user (IAM database authentication), which a database provider then lets it connect as.
 */
export interface EndpointConsumer extends iam.IGrantable, ec2.IConnectable {
  /**
   * The consumer's own database user, which `grantConsumer` of a database lets it connect as.
   * @default - none: the consumer gets no database identity
   */
  readonly databaseUser?: string;
}

/** A data-tier resource whose endpoints application fleets consume (database, cache, shard map). */
export interface IEndpointProvider {
  /**
   * Lets `consumer` use the resource: read its published endpoint parameters (and secret) and reach
   * it over the network.
   */
  grantConsumer(consumer: EndpointConsumer): void;
}

/** Properties of {@link PublishedEndpoints}. */
export interface PublishedEndpointsProps {
  /**
   * SSM parameter path the values are published under, e.g. `/shop/database`. Application code reads
   * them with `GetParametersByPath` at start-up; it is a contract, so it is not generated.
   */
  readonly parameterPrefix: string;
  /** Parameter name (relative to the prefix) → value; values may be tokens. */
  readonly values: Record<string, string>;
  /** Human description, used in each parameter's description. */
  readonly description: string;
  /**
   * Secret (credentials or auth token) consumers may read.
   * @default - none
   */
  readonly secret?: secretsmanager.ISecret;
  /**
   * The resource's connections and the port consumers may reach; several when consumers reach more than
   * one entry point (a database cluster and its proxy).
   * @default - no network access is granted
   */
  readonly network?: EndpointNetworkAccess | EndpointNetworkAccess[];
  /**
   * Keys of `values` consumers read only through `GetParametersByPath` on the prefix (as the runtime reads every
   * tier), which {@link PublishedEndpoints.grantConsumer} grants anyway: they get no `GetParameter` grant of their
   * own, so a consumer in another stack imports nothing for them (each import is an output of this stack and an ARN
   * in every fleet's policy, against CloudFormation's 200 outputs and the app stack's size budget).
   * @default - none: every value is granted by name too
   */
  readonly byPathOnly?: readonly string[];
}

/** Connections a consumer is allowed to reach, and on which port. */
export interface EndpointNetworkAccess {
  /** The resource's connections. */
  readonly connections: ec2.IConnectable;
  /** The port consumers may reach. */
  readonly port: ec2.Port;
  /**
   * Where a consumer that does not allow all outbound traffic may connect to on `port`: the address range of the
   * resource's VPC. An egress rule with an address range is written into the consumer's security group itself (no
   * resource of its own, one per port however many resources share it) and names no security group of the resource's
   * stack, which could then not delete one while the rule exists. The resource's own ingress rules still decide who
   * gets in.
   * @default - the resource's security groups
   */
  readonly egressPeer?: ec2.IPeer;
}

const PREFIX = /^(\/[A-Za-z0-9_.-]+)+$/;
const KEY = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;

/**
 * The shared mechanism by which data tiers publish their endpoints to the application: one SSM String
 * parameter per value under a fixed prefix, and one call, {@link grantConsumer}, that gives a fleet
 * exactly what it needs: `ssm:GetParameter(s)` on each parameter and `GetParametersByPath` on the prefix
 * (no wildcards), read access to the secret, and network access to the resource's port.
 */
export class PublishedEndpoints extends Construct implements IEndpointProvider {
  /** The parameters, by key. */
  public readonly parameters: Record<string, ssm.StringParameter> = {};
  /** The prefix the parameters live under. */
  public readonly parameterPrefix: string;
  private readonly props: PublishedEndpointsProps;

  constructor(scope: Construct, id: string, props: PublishedEndpointsProps) {
    super(scope, id);
    if (!PREFIX.test(props.parameterPrefix)) {
      throw validationError(this, `PublishedEndpoints: parameterPrefix must look like /app/tier (got: ${JSON.stringify(props.parameterPrefix)})`);
    }
    this.parameterPrefix = props.parameterPrefix;
    this.props = props;
    for (const key of props.byPathOnly ?? []) {
      if (!(key in props.values)) throw validationError(this, `PublishedEndpoints: byPathOnly names a key that is not in values (got: ${JSON.stringify(key)})`);
    }
    for (const [key, value] of Object.entries(props.values)) {
      if (!KEY.test(key)) throw validationError(this, `PublishedEndpoints: value key must be a relative parameter name (got: ${JSON.stringify(key)})`);
      this.parameters[key] = new ssm.StringParameter(this, key.replace(/[^A-Za-z0-9]/g, '-'), {
        parameterName: `${props.parameterPrefix}/${key}`,
        stringValue: value,
        description: `${props.description}: ${key}`,
        tier: ssm.ParameterTier.STANDARD,
      });
    }
  }

  /**
   * Grants `consumer` read access to every parameter (by name, but the `byPathOnly` ones, and by path) and the
   * secret, and network access to the port.
   */
  public grantConsumer(consumer: EndpointConsumer): void {
    const byPathOnly = this.props.byPathOnly ?? [];
    for (const [key, p] of Object.entries(this.parameters)) if (!byPathOnly.includes(key)) p.grantRead(consumer);
    iam.Grant.addToPrincipal({
      grantee: consumer,
      actions: ['ssm:GetParametersByPath'],
      resourceArns: [Arn.format({ service: 'ssm', resource: 'parameter', resourceName: this.parameterPrefix.slice(1) }, Stack.of(this))],
    });
    if (this.props.secret) grantSecretToPrincipal(this.props.secret, consumer, Stack.of(this).region);
    const network = this.props.network;
    for (const access of network === undefined ? [] : Array.isArray(network) ? network : [network]) allowConsumerTo(consumer, access.connections, access.port, access.egressPeer);
  }
}

/**
 * The address range of `vpc` as a peer (its primary CIDR block), for {@link EndpointNetworkAccess.egressPeer}; undefined
 * for an imported VPC whose `vpcCidrBlock` was not given (aws-cdk-lib throws on reading it), whose consumers then get
 * egress rules naming the resource's security groups instead. A data tier in a secondary CIDR block of the VPC is not
 * covered: give such a tier's consumers their own rule, or keep them on all outbound traffic.
 */
export function vpcRangePeer(vpc: ec2.IVpc): ec2.IPeer | undefined {
  try {
    return ec2.Peer.ipv4(vpc.vpcCidrBlock);
  } catch {
    return undefined;
  }
}

/**
 * Lets `consumer` open connections to `target` on `port`: an ingress rule on the target's security groups and, when
 * the consumer does not already allow all outbound traffic (a fleet with `allowAllOutbound: false`), an egress rule
 * on the consumer's, to `egressPeer` (the target's VPC range) or else to the target's security groups. The ingress
 * rule is a "remote" rule so it lands in the consumer's stack, which already depends on the target's (the other way
 * round the stacks would reference each other).
 */
export function allowConsumerTo(consumer: ec2.IConnectable, target: ec2.IConnectable, port: ec2.Port, egressPeer?: ec2.IPeer): void {
  const consumerGroups = consumer.connections.securityGroups;
  if (consumerGroups.length === 0 || (egressPeer === undefined && !consumerGroups.every((sg) => sg.allowAllOutbound))) {
    consumer.connections.allowTo(target, port, 'from an application fleet');
    return;
  }
  for (const sg of target.connections.securityGroups) {
    for (const peer of consumerGroups) sg.addIngressRule(peer, port, 'from an application fleet', true);
  }
  for (const sg of consumerGroups) if (!sg.allowAllOutbound) sg.addEgressRule(egressPeer!, port, 'to a data tier in the VPC');
}

/**
 * Lets `grantee` read `secret` (every version) with principal-side grants only: `secret.grantRead` also writes the
 * grantee's role into the KMS key policy, a reference from the secret's (data) stack to the grantee's (app) stack
 * that would make the stacks cyclic.
 */
export function grantSecretToPrincipal(secret: secretsmanager.ISecret, grantee: iam.IGrantable, region: string): void {
  iam.Grant.addToPrincipal({
    grantee,
    actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
    resourceArns: [secret.secretFullArn ?? `${secret.secretArn}-??????`],
  });
  if (secret.encryptionKey) {
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['kms:Decrypt'],
      resourceArns: [secret.encryptionKey.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${region}.amazonaws.com` } },
    });
  }
}
