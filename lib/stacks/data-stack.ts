import type { aws_ec2 as ec2 } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { IEndpointProvider } from '../../constructs/common';
import { RegionalStack, type RegionalStackProps } from './regional-stack';

/** Properties of a {@link DataStack}. */
export interface DataStackProps extends RegionalStackProps {
  /** The region's VPC. */
  readonly vpc: ec2.IVpc;
}

/**
 * `<name>-data-<region>`: stateful resources only (databases, caches, queues). Termination protection is
 * on, and every stateful resource keeps a stable logical ID and a RETAIN or SNAPSHOT removal policy.
 */
export class DataStack extends RegionalStack {
  /** Endpoint providers the region's fleets consume (database, cache, ...). */
  public readonly endpointProviders: IEndpointProvider[] = [];

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, { ...props, tier: 'data', terminationProtection: true });
  }
}
