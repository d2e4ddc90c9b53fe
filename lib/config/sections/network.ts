import { INTERFACE_ENDPOINT_SERVICES, type InterfaceEndpointService } from '../../../constructs/network/defaults';
import { at, type Checker } from '../check';
import { PRESETS } from '../presets';
import type { Stage } from '../types';

/** Network defaults for every region (config key `network`). */
export interface NetworkInput {
  /** NAT gateways per region: one per AZ for high availability, fewer to save cost. @default - stage preset */
  readonly natGateways?: number;
  /** Days to keep VPC flow logs. @default 90 */
  readonly flowLogRetentionDays?: number;
  /**
   * AWS services every region's VPC reaches through interface endpoints instead of the NAT gateways, by short
   * name: `secretsmanager`, `ssm`, `sqs`, `kms`, `logs`, `sts`, `ssmmessages`, `ec2messages`, `monitoring`,
   * `autoscaling`, `ecr.api`, `ecr.dkr`. `[]` for none.
   * @default - stage preset (none for startup; the runtime's and rotation's services from growth on)
   */
  readonly interfaceEndpoints?: string[];
}

/** The resolved `network` section. */
export interface NetworkConfig {
  readonly flowLogRetentionDays: number;
  /** Interface endpoints of every region's VPC (service short names). */
  readonly interfaceEndpoints: InterfaceEndpointService[];
}

/** Validates `network`; returns the resolved section and the NAT gateway count regions default to (if given). */
export function resolveNetwork(c: Checker, raw: unknown, stage: Stage): { network: NetworkConfig; natGateways?: number } {
  const o = c.object('network', raw, ['natGateways', 'flowLogRetentionDays', 'interfaceEndpoints']) ?? {};
  const natGateways = c.number('network.natGateways', o.natGateways, { integer: true, min: 0, max: 6 });
  const flowLogRetentionDays = c.number('network.flowLogRetentionDays', o.flowLogRetentionDays, { integer: true, min: 1, max: 3653 }) ?? 90;
  let interfaceEndpoints: InterfaceEndpointService[] = [...PRESETS[stage].interfaceEndpoints];
  const list = c.array('network.interfaceEndpoints', o.interfaceEndpoints);
  if (list) {
    interfaceEndpoints = [];
    list.forEach((v, i) => {
      const name = c.string(at('network.interfaceEndpoints', i), v, { required: true, oneOf: INTERFACE_ENDPOINT_SERVICES });
      if (name === undefined) return;
      if (interfaceEndpoints.includes(name as InterfaceEndpointService)) c.fail(at('network.interfaceEndpoints', i), 'duplicate service', name);
      else interfaceEndpoints.push(name as InterfaceEndpointService);
    });
  }
  return { network: { flowLogRetentionDays, interfaceEndpoints }, ...(natGateways !== undefined ? { natGateways } : {}) };
}
