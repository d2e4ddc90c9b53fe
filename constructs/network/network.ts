import { Annotations, Aws, RemovalPolicy, Token } from 'aws-cdk-lib/core';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { validationError } from '../common/errors';
import { NETWORK_DEFAULTS } from './defaults';
import { NatInstances } from './nat-instances';

/** Properties of a {@link Network}. */
export interface NetworkProps {
  /**
   * The availability zones, given explicitly so synth never asks AWS (no lookups). Use at least three for
   * production: every tier spreads over them.
   */
  readonly availabilityZones: string[];
  /** The VPC's IPv4 CIDR block, e.g. `10.0.0.0/16`. */
  readonly cidr: string;
  /**
   * NAT gateways (or NAT instances, with `natInstanceType`). One per AZ keeps egress alive when an AZ fails;
   * fewer saves cost.
   * @default - one per availability zone
   */
  readonly natGateways?: number;
  /**
   * Use EC2 NAT instances of this type instead of NAT gateways (see {@link NatInstances}): a t4g.nano costs
   * about $3 a month plus its public IPv4 address, a NAT gateway $33 plus data processing, but an instance is
   * not a managed, redundant service. `natGateways` sets how many.
   * @default - NAT gateways
   */
  readonly natInstanceType?: ec2.InstanceType;
  /**
   * How long VPC flow logs are kept.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly flowLogRetention?: logs.RetentionDays;
  /**
   * AWS services reached through interface endpoints (private DNS on, one network interface per AZ), e.g.
   * `ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER`. API calls then stay in the VPC: they keep working in an
   * AZ whose NAT gateway is down, from subnets with no route out (a secret rotation function in the isolated
   * subnets), and they pay no NAT data processing.
   * @default - none: AWS APIs are reached through the NAT gateways
   */
  readonly interfaceEndpoints?: ec2.InterfaceVpcEndpointAwsService[];
  /**
   * Subnets the interface endpoints' network interfaces go in (reachable from every subnet of the VPC).
   * @default - the private subnets with egress (the fleets' subnets)
   */
  readonly endpointSubnets?: ec2.SubnetSelection;
}

/**
 * A three-tier VPC over explicit availability zones: public subnets (load balancers, NAT), private
 * subnets with egress (fleets), isolated subnets (databases, caches). S3 and DynamoDB gateway endpoints,
 * flow logs of all traffic to CloudWatch Logs, and a default security group with no rules.
 */
export class Network extends Construct {
  /** The VPC. */
  public readonly vpc: ec2.Vpc;
  /** The log group that receives the VPC flow logs. */
  public readonly flowLogGroup: logs.LogGroup;
  /** The NAT instances, when `natInstanceType` is given (empty with NAT gateways). */
  public readonly natInstances: ec2.Instance[];
  /** The security group of the interface endpoints (HTTPS from the VPC's CIDR), when there are any. */
  public readonly endpointSecurityGroup?: ec2.SecurityGroup;
  /** Interface endpoints by service short name (`secretsmanager`, `ssm`, `ecr.dkr`...). */
  public readonly interfaceEndpoints: Record<string, ec2.InterfaceVpcEndpoint> = {};

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    const azs = props.availabilityZones;
    if (azs.length < 1 || azs.some((az) => Token.isUnresolved(az))) {
      throw validationError(this, `Network: availabilityZones must list concrete zone names (got: ${JSON.stringify(azs)})`);
    }
    const natGateways = props.natGateways ?? azs.length;
    if (!Number.isInteger(natGateways) || natGateways < 0 || natGateways > azs.length) {
      throw validationError(this, `Network: natGateways must be a whole number from 0 to the number of availability zones (${azs.length}) (got: ${natGateways})`);
    }
    if (azs.length < 3) {
      Annotations.of(this).addWarningV2('scale-to-millions:network-fewer-than-3-azs', `Network spans ${azs.length} availability zone(s); production tiers need 3 to survive the loss of one.`);
    }

    const natInstances = props.natInstanceType ? new NatInstances({ instanceType: props.natInstanceType, vpcCidr: props.cidr }) : undefined;
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(props.cidr),
      availabilityZones: azs,
      natGateways,
      ...(natInstances ? { natGatewayProvider: natInstances } : {}),
      restrictDefaultSecurityGroup: true,
      subnetConfiguration: [
        { name: 'Public', subnetType: ec2.SubnetType.PUBLIC, mapPublicIpOnLaunch: false },
        { name: 'Private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
        { name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      ],
      gatewayEndpoints: {
        S3: { service: ec2.GatewayVpcEndpointAwsService.S3 },
        DynamoDB: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB },
      },
    });
    this.natInstances = natInstances?.instances ?? [];
    // Without a NAT gateway the "private with egress" subnets would have no route out.
    if (natGateways === 0) {
      Annotations.of(this).addWarningV2('scale-to-millions:network-no-nat', 'Network has no NAT gateway: instances in private subnets reach S3 (Amazon Linux package repositories) and DynamoDB through the gateway endpoints and AWS APIs only through interface endpoints; nothing else on the internet (the RDS certificate bundle, container registries, third-party APIs).');
    }

    const services = props.interfaceEndpoints ?? [];
    if (services.length > 0) {
      const subnets = props.endpointSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
      // One group for every endpoint: HTTPS from the VPC's own CIDR (written out, not a reference), nothing out.
      this.endpointSecurityGroup = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
        vpc: this.vpc,
        description: 'Interface endpoints: HTTPS from the VPC only',
        allowAllOutbound: false,
      });
      this.endpointSecurityGroup.addIngressRule(ec2.Peer.ipv4(props.cidr), ec2.Port.tcp(443), 'HTTPS from the VPC');
      for (const service of services) {
        const name = service.shortName;
        if (this.interfaceEndpoints[name]) throw validationError(this, `Network: interfaceEndpoints lists ${name} twice (got: ${JSON.stringify(services.map((e) => e.shortName))})`);
        this.interfaceEndpoints[name] = this.vpc.addInterfaceEndpoint(`Endpoint${pascalCase(name)}`, {
          service, subnets, privateDnsEnabled: true, open: false, securityGroups: [this.endpointSecurityGroup],
        });
      }
    }

    this.flowLogGroup = new logs.LogGroup(this, 'FlowLogs', {
      retention: props.flowLogRetention ?? NETWORK_DEFAULTS.flowLogRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const flowLog = this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(this.flowLogGroup),
      trafficType: ec2.FlowLogTrafficType.ALL,
      maxAggregationInterval: ec2.FlowLogMaxAggregationInterval.ONE_MINUTE,
    });
    // The delivery role trusts the flow logs service only for this account's flow logs in this region (AWS's
    // confused-deputy guidance for flow log roles); an in-place update of the role's trust policy.
    const deliveryRole = flowLog.iamRole?.node.defaultChild;
    if (deliveryRole instanceof iam.CfnRole) {
      deliveryRole.addPropertyOverride('AssumeRolePolicyDocument.Statement.0.Condition', {
        StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
        ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:ec2:${Aws.REGION}:${Aws.ACCOUNT_ID}:vpc-flow-log/*` },
      });
    }
  }
}

/** `ecr.dkr` → `EcrDkr`: the endpoint's construct id. */
function pascalCase(name: string): string {
  return name.split(/[^A-Za-z0-9]+/).filter(Boolean).map((p) => p[0].toUpperCase() + p.slice(1)).join('');
}
