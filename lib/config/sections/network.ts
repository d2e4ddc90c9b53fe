import { INTERFACE_ENDPOINT_SERVICES, NETWORK_DEFAULTS, type InterfaceEndpointService } from '../../../constructs/network/defaults';
import { at, type Checker } from '../check';
import { checkEc2InstanceType } from '../instance-types';
import { PRESETS } from '../presets';
import type { Stage } from '../types';

/** How private subnets reach the internet: managed NAT gateways, or NAT instances (EC2, far cheaper, not managed). */
export type NatProviderName = 'gateway' | 'instance';

/** Network defaults for every region (config key `network`). */
export interface NetworkInput {
  /** NAT gateways (or NAT instances) per region: one per AZ for high availability, fewer to save cost. @default - stage preset */
  readonly natGateways?: number;
  /**
   * `gateway` (NAT gateways: managed, redundant within their zone, $33 a month each plus data processing) or
   * `instance` (one EC2 NAT instance each, about $7 a month with its address; see docs/stages.md for what it gives up).
   * @default - stage preset: `instance` at startup, `gateway` from growth on
   */
  readonly natProvider?: NatProviderName;
  /** Instance type of the NAT instances (`natProvider: instance`). @default 't4g.nano' */
  readonly natInstanceType?: string;
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
  readonly natProvider: NatProviderName;
  /** The NAT instance type (used with `natProvider: instance`). */
  readonly natInstanceType: string;
  /** Interface endpoints of every region's VPC (service short names). */
  readonly interfaceEndpoints: InterfaceEndpointService[];
}

/** Validates `network`; returns the resolved section and the NAT gateway count regions default to (if given). */
export function resolveNetwork(c: Checker, raw: unknown, stage: Stage, instanceTypePattern: RegExp): { network: NetworkConfig; natGateways?: number } {
  const o = c.object('network', raw, ['natGateways', 'natProvider', 'natInstanceType', 'flowLogRetentionDays', 'interfaceEndpoints']) ?? {};
  const natGateways = c.number('network.natGateways', o.natGateways, { integer: true, min: 0, max: 6 });
  const flowLogRetentionDays = c.number('network.flowLogRetentionDays', o.flowLogRetentionDays, { integer: true, min: 1, max: 3653 }) ?? 90;
  const natProvider = (c.string('network.natProvider', o.natProvider, { oneOf: ['gateway', 'instance'] }) ?? PRESETS[stage].natProvider) as NatProviderName;
  const writtenNatType = c.string('network.natInstanceType', o.natInstanceType, { pattern: instanceTypePattern, what: 'an EC2 instance type like t4g.nano' });
  if (writtenNatType !== undefined) checkEc2InstanceType(c, 'network.natInstanceType', writtenNatType);
  if (o.natInstanceType !== undefined && natProvider !== 'instance') c.fail('network.natInstanceType', 'is only used with network.natProvider: "instance"', o.natInstanceType);
  const natInstanceType = writtenNatType ?? NETWORK_DEFAULTS.natInstanceType;
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
  return { network: { flowLogRetentionDays, natProvider, natInstanceType, interfaceEndpoints }, ...(natGateways !== undefined ? { natGateways } : {}) };
}
