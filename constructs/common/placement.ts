import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { IConstruct } from 'constructs';
import { validationError } from './errors';

/** The kind of subnets a data-tier resource was placed in. */
export type DataSubnetKind = 'isolated' | 'private';

/** Where a data-tier resource (database, cache) goes, and what kind of subnets that is. */
export interface DataPlacement {
  /** The selection to hand to the resource. */
  readonly vpcSubnets: ec2.SubnetSelection;
  /** Isolated (no route out) or private with egress. */
  readonly kind: DataSubnetKind;
}

/**
 * The subnets of a data-tier resource. Given a selection, it must pick private subnets (isolated or with egress),
 * never public ones. Without one, the VPC's isolated subnets, or, in a VPC that has none (a default `ec2.Vpc`
 * has public and private-with-egress subnets only), its private subnets with egress, which is where aws-cdk-lib
 * puts a database by default: still no public address, and the security group admits only the granted clients.
 * A VPC with neither is a `ValidationError` naming `who`'s `prop` and the subnets the VPC has.
 */
export function dataPlacement(scope: IConstruct, who: string, prop: string, vpc: ec2.IVpc, given?: ec2.SubnetSelection): DataPlacement {
  if (!given) {
    if (vpc.isolatedSubnets.length > 0) return { vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED }, kind: 'isolated' };
    if (vpc.privateSubnets.length > 0) return { vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }, kind: 'private' };
    throw validationError(scope, `${who}: ${prop} is not given and the VPC has no isolated or private subnets to default to (got: a VPC with ${subnetSummary(vpc)}); give ${prop}, or a VPC with private subnets`);
  }
  const selected = vpc.selectSubnets(given).subnets;
  const isolated = selected.filter((s) => vpc.isolatedSubnets.includes(s)).length;
  const priv = selected.filter((s) => vpc.privateSubnets.includes(s)).length;
  if (selected.length > 0 && isolated === selected.length) return { vpcSubnets: given, kind: 'isolated' };
  if (selected.length > 0 && priv === selected.length) return { vpcSubnets: given, kind: 'private' };
  const kinds = [isolated > 0 ? 'isolated' : '', priv > 0 ? 'private' : '', selected.length - isolated - priv > 0 ? 'public' : ''].filter(Boolean).join(' and ');
  throw validationError(scope, `${who}: ${prop} must select private subnets, all isolated or all with egress, never public ones (got: ${selected.length} ${kinds || 'no'} subnet(s))`);
}

function subnetSummary(vpc: ec2.IVpc): string {
  const parts = [[vpc.publicSubnets.length, 'public'], [vpc.privateSubnets.length, 'private'], [vpc.isolatedSubnets.length, 'isolated']] as const;
  const have = parts.filter(([n]) => n > 0).map(([n, k]) => `${n} ${k}`);
  return have.length ? `${have.join(', ')} subnet(s)` : 'no subnets';
}
