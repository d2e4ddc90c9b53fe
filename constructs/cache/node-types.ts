/**
 * ElastiCache node types: parsing and the families each feature supports (kept here, not looked up,
 * because synth runs offline). Sources: the node types of `constructs/common/instance-types-data.ts`
 * (generated from AWS's data), and the ElastiCache user guide's "Global datastore prerequisites" and
 * "Auto Scaling prerequisites".
 */
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import { ELASTICACHE_NODE_TYPES } from '../common/instance-types';

/**
 * An ElastiCache node type, e.g. `new CacheNodeType('cache.r7g.large')` or
 * `CacheNodeType.of(ec2.InstanceClass.R7G, ec2.InstanceSize.LARGE)`. The construct that uses it checks it against
 * the node types ElastiCache offers for Valkey and Redis OSS ({@link parseNodeType}), naming its prop.
 */
export class CacheNodeType {
  /** `cache.<class>.<size>` from an EC2 instance class and size (`r7g`, `large`). */
  public static of(instanceClass: ec2.InstanceClass | string, size: ec2.InstanceSize | string): CacheNodeType {
    return new CacheNodeType(`cache.${instanceClass}.${size}`);
  }

  /** @param name - the node type, `cache.<family>.<size>` */
  public constructor(private readonly name: string) {}

  /** The node type, `cache.<family>.<size>`. */
  public toString(): string {
    return this.name;
  }
}

/** Node families ElastiCache offers for Valkey and Redis OSS. */
export const NODE_FAMILIES: readonly string[] = ELASTICACHE_NODE_TYPES.families;

/** Families a Global Datastore accepts (size large and above). */
export const GLOBAL_DATASTORE_FAMILIES: readonly string[] = ['m5', 'm6g', 'm7g', 'r5', 'r6g', 'r6gd', 'r7g', 'c7gn'];

/** Families ElastiCache Auto Scaling accepts. */
export const AUTO_SCALING_FAMILIES: readonly string[] = ['m5', 'm6g', 'm7g', 'r5', 'r6g', 'r6gd', 'r7g', 'c7gn'];

/** Sizes ElastiCache Auto Scaling accepts. */
export const AUTO_SCALING_SIZES: readonly string[] = ['large', 'xlarge', '2xlarge'];

const NODE_TYPE = /^cache\.([a-z][a-z0-9]*)\.(micro|small|medium|large|xlarge|(\d+)xlarge)$/;

/** A parsed node type such as `cache.r7g.large`. */
export interface NodeType {
  /** The family, e.g. `r7g`. */
  readonly family: string;
  /** The size, e.g. `large`. */
  readonly size: string;
  /** Relative size: micro 0, small 1, medium 2, large 3, xlarge 4, Nxlarge 4 + N. */
  readonly rank: number;
}

/** Parses `cache.<family>.<size>`; undefined when it is not a Valkey/Redis node type ElastiCache offers. */
export function parseNodeType(nodeType: string): NodeType | undefined {
  const m = NODE_TYPE.exec(nodeType);
  if (!m || !ELASTICACHE_NODE_TYPES.sizes(m[1])?.includes(m[2])) return undefined;
  const size = m[2];
  const rank = ({ micro: 0, small: 1, medium: 2, large: 3, xlarge: 4 } as Record<string, number>)[size] ?? 4 + Number(m[3]);
  return { family: m[1], size, rank };
}

/** Why a node type cannot run a Global Datastore, or undefined when it can. */
export function globalDatastoreNodeTypeProblem(nodeType: string): string | undefined {
  const t = parseNodeType(nodeType);
  if (!t) return `unknown node type ${nodeType}`;
  if (!GLOBAL_DATASTORE_FAMILIES.includes(t.family) || t.rank < 3) {
    return `Global Datastore needs a ${GLOBAL_DATASTORE_FAMILIES.join('/')} node of size large or larger (no t-class)`;
  }
  return undefined;
}

/** Why a node type cannot use ElastiCache Auto Scaling, or undefined when it can. */
export function autoScalingNodeTypeProblem(nodeType: string): string | undefined {
  const t = parseNodeType(nodeType);
  if (!t) return `unknown node type ${nodeType}`;
  if (!AUTO_SCALING_FAMILIES.includes(t.family) || !AUTO_SCALING_SIZES.includes(t.size)) {
    return `ElastiCache Auto Scaling needs a ${AUTO_SCALING_FAMILIES.join('/')} node of size ${AUTO_SCALING_SIZES.join(', ')}`;
  }
  return undefined;
}
