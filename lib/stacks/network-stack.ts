import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { Network } from '../../constructs/network';
import { RegionalStack, type RegionalStackProps } from './regional-stack';

/** `<name>-network-<region>`: the VPC every other stack of the region uses. */
export class NetworkStack extends RegionalStack {
  /** The network. */
  public readonly network: Network;
  /** The VPC. */
  public readonly vpc: ec2.IVpc;

  /** The Secrets Manager interface endpoint, when `network.interfaceEndpoints` has one (secret rotation uses it). */
  public get secretsManagerEndpoint(): ec2.IInterfaceVpcEndpoint | undefined {
    return this.network.interfaceEndpoints.secretsmanager;
  }

  constructor(scope: Construct, id: string, props: RegionalStackProps) {
    super(scope, id, { ...props, tier: 'network' });
    this.network = new Network(this, 'Network', {
      availabilityZones: this.regionConfig.availabilityZones,
      cidr: this.regionConfig.vpcCidr,
      natGateways: this.regionConfig.natGateways,
      ...(this.config.network.natProvider === 'instance' ? { natInstanceType: new ec2.InstanceType(this.config.network.natInstanceType) } : {}),
      flowLogRetention: retentionDays(this.config.network.flowLogRetentionDays),
      interfaceEndpoints: this.config.network.interfaceEndpoints.map((name) => new ec2.InterfaceVpcEndpointAwsService(name)),
    });
    this.vpc = this.network.vpc;
  }
}

/** The CloudWatch Logs retention that keeps logs at least `days`. */
export function retentionDays(days: number): logs.RetentionDays {
  const allowed = Object.values(logs.RetentionDays).filter((v): v is number => typeof v === 'number' && v > 0).sort((a, b) => a - b);
  return (allowed.find((d) => d >= days) ?? logs.RetentionDays.INFINITE) as logs.RetentionDays;
}
