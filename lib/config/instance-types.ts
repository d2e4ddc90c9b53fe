/**
 * Config checks of instance types against what AWS offers (constructs/common/instance-types-data.ts):
 * EC2 instance types of fleets, Aurora DB instance classes, ElastiCache node types and engine versions.
 * A type of a plausible shape but no real family (`gc7.large`) is caught here, naming the field, instead
 * of by the template validator after the templates are written.
 */
import {
  AURORA_INSTANCE_CLASSES,
  EC2_INSTANCE_TYPES,
  ELASTICACHE_ENGINE_VERSIONS,
  ELASTICACHE_NODE_TYPES,
  splitInstanceType,
  type InstanceCatalogue,
} from '../../constructs/common/instance-types';
import type { Checker } from './check';
import { nearest, orList } from './hints';

/** Why `type` is not in `cat` (`what` names the catalogue, e.g. "an EC2 instance type"), or undefined. */
function problem(cat: InstanceCatalogue, type: string, what: string, service: string): string | undefined {
  const parts = splitInstanceType(type);
  if (!parts) return `must be ${what}`;
  const sizes = cat.sizes(parts.family);
  if (!sizes) {
    const hints = nearest(parts.family, cat.families);
    return `is not ${what}: ${service} has no family "${parts.family}"${hints.length ? ` (did you mean ${orList(hints)}?)` : ''}`;
  }
  if (!sizes.includes(parts.size)) return `is not ${what}: ${parts.family} comes in ${sizes.join(', ')}`;
  return undefined;
}

/** Records a problem at `path` unless `type` (`m7g.large`) is an EC2 instance type AWS offers. */
export function checkEc2InstanceType(c: Checker, path: string, type: string): void {
  const p = problem(EC2_INSTANCE_TYPES, type, 'an EC2 instance type', 'EC2');
  if (p) c.fail(path, p, type);
}

/** Records a problem at `path` unless `cls` (`r7g.large`, no `db.` prefix) is an Aurora DB instance class of `engine`. */
export function checkAuroraInstanceClass(c: Checker, path: string, engine: 'postgres' | 'mysql', cls: string, written: string): void {
  const cat = AURORA_INSTANCE_CLASSES[engine];
  const name = engine === 'postgres' ? 'Aurora PostgreSQL' : 'Aurora MySQL';
  const parts = splitInstanceType(cls);
  if (parts && !cat.sizes(parts.family) && EC2_INSTANCE_TYPES.sizes(parts.family)) {
    c.fail(path, `is not an ${name} DB instance class: ${parts.family} is an EC2 family Aurora does not offer (Aurora families: ${cat.families.join(', ')}; or "serverless")`, written);
    return;
  }
  const p = problem(cat, cls, `an ${name} DB instance class`, name);
  if (p) c.fail(path, p, written);
}

/** Records a problem at `path` unless `nodeType` (`cache.r7g.large`) is an ElastiCache node type. */
export function checkCacheNodeType(c: Checker, path: string, nodeType: string): void {
  if (!nodeType.startsWith('cache.')) {
    c.fail(path, 'must be an ElastiCache node type like cache.r7g.large', nodeType);
    return;
  }
  const p = problem(ELASTICACHE_NODE_TYPES, nodeType.slice('cache.'.length), 'an ElastiCache node type', 'ElastiCache');
  if (p) c.fail(path, p, nodeType);
}

/** Records a problem at `path` unless `version` is an engine version ElastiCache creates for `engine`. */
export function checkCacheEngineVersion(c: Checker, path: string, engine: 'valkey' | 'redis', version: string): void {
  const known = ELASTICACHE_ENGINE_VERSIONS[engine];
  if (!known.includes(version)) c.fail(path, `is not a ${engine === 'valkey' ? 'Valkey' : 'Redis OSS'} version ElastiCache offers (${known.join(', ')})`, version);
}
