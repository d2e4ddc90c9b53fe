import type { aws_ec2 as ec2 } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { IEndpointProvider } from '../../constructs/common';
import { OriginVerifySecret } from '../../constructs/edge';
import { EDGE_REGION } from '../config';
import { originSecretNamePrefix } from './edge-stack';
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
  /**
   * The origin-verify secrets (primary region only, when the edge is on), replicated to every region and
   * us-east-1. They live here, not in the edge stack, because every app stack resolves them before the edge
   * stack deploys.
   */
  public readonly originVerifySecret?: OriginVerifySecret;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, { ...props, tier: 'data', terminationProtection: true });
    const { config } = this;
    if (config.edge.enabled && config.domain && this.regionConfig.region === config.primaryRegion) {
      const replicas = [...new Set([...config.regions.map((r) => r.region), EDGE_REGION])].filter((r) => r !== this.regionConfig.region);
      this.originVerifySecret = new OriginVerifySecret(this, 'OriginVerify', {
        secretNamePrefix: originSecretNamePrefix(config),
        generation: config.edge.originSecretGeneration,
        replicaRegions: replicas,
      });
    }
  }
}
