/**
 * Lookups over the instance types AWS offers (`instance-types-data.ts`, generated from the data aws-cdk-lib's
 * template validator uses): which families exist for EC2, Aurora and ElastiCache, and in which sizes.
 */
import { AURORA_MYSQL_CLASSES, AURORA_POSTGRES_CLASSES, EC2_INSTANCE_SIZES, ELASTICACHE_ENGINE_VERSIONS, ELASTICACHE_NODE_SIZES } from './instance-types-data';

export { ELASTICACHE_ENGINE_VERSIONS };

/** A catalogue of one service's instance families and their sizes. */
export interface InstanceCatalogue {
  /** Every family, sorted. */
  readonly families: readonly string[];
  /** The sizes of `family` (smallest first), or undefined when there is no such family. */
  sizes(family: string): readonly string[] | undefined;
}

function catalogue(table: Readonly<Record<string, string>>): InstanceCatalogue {
  const sizes = new Map(Object.entries(table).map(([family, list]) => [family, list.split(' ')]));
  return { families: [...sizes.keys()].sort(), sizes: (family) => sizes.get(family) };
}

/** EC2 instance types (`m7g.large`: family `m7g`, size `large`). */
export const EC2_INSTANCE_TYPES: InstanceCatalogue = catalogue(EC2_INSTANCE_SIZES);

/** Aurora DB instance classes per engine, without the `db.` prefix (`r7g.large`); `serverless` is not listed. */
export const AURORA_INSTANCE_CLASSES: Readonly<Record<'postgres' | 'mysql', InstanceCatalogue>> = {
  postgres: catalogue(AURORA_POSTGRES_CLASSES),
  mysql: catalogue(AURORA_MYSQL_CLASSES),
};

/** ElastiCache node types, without the `cache.` prefix (`r7g.large`). */
export const ELASTICACHE_NODE_TYPES: InstanceCatalogue = catalogue(ELASTICACHE_NODE_SIZES);

/** `family.size` → its parts; undefined without a dot. */
export function splitInstanceType(type: string): { readonly family: string; readonly size: string } | undefined {
  const dot = type.indexOf('.');
  return dot > 0 ? { family: type.slice(0, dot), size: type.slice(dot + 1) } : undefined;
}

/** True when `type` (`family.size`) is in `cat`. */
export function isOffered(cat: InstanceCatalogue, type: string): boolean {
  const parts = splitInstanceType(type);
  return parts !== undefined && (cat.sizes(parts.family)?.includes(parts.size) ?? false);
}
