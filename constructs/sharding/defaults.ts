import { DATABASE_KEYS } from '../../lib/runtime/contract';

/** Default values and limits of the `ShardedDatabase` construct. */
export const SHARDING_DEFAULTS = {
  /** Key placement strategy when none is given. */
  strategy: 'hash',
  /** Name of the shard-map parameter, relative to the first shard's parameter prefix. */
  shardMapParameter: DATABASE_KEYS.shardMap,
  /** Parameter prefix of a created shard, relative to the shared prefix: `<prefix>/shards/<id>`. */
  shardParameterPath: DATABASE_KEYS.shards,
  /** Standard SSM parameters hold 4 KB; advanced ones 8 KB. */
  standardParameterBytes: 4096,
  advancedParameterBytes: 8192,
  /**
   * Upper bounds of the resolved length of values that are tokens at synth, used to choose the
   * parameter tier: cluster and reader endpoints, proxy endpoints, secret ARNs.
   */
  estimatedBytes: { clusterEndpoint: 110, proxyEndpoint: 125, secretArn: 130 },
} as const;

/**
 * Shard ids of the infrastructure: lowercase letters, digits and single dashes, starting with a letter,
 * at most 16 characters. They become part of cluster identifiers, construct ids and output keys, so they
 * are stricter than what the shard-map format allows.
 */
export const SHARD_ID = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
/** Longest shard id. */
export const MAX_SHARD_ID_LENGTH = 16;

/**
 * Whether a created shard's secret, `<secretName>-<id>`, would end in a dash and six characters: Secrets Manager reads
 * such a name, given as a partial ARN (as secondary regions of a global database publish it), as a full ARN's random
 * suffix, and finds nothing. True for `shard1` and `eu-users1`.
 */
export function shardIdReadsAsSecretSuffix(id: string): boolean {
  return /(^|-)[^-]{6}$/.test(id);
}
/**
 * Most shards one `ShardedDatabase` manages: with every endpoint at its longest, a map of 10 shards still
 * fits an 8 KB (advanced) SSM parameter.
 */
export const MAX_SHARDS_PER_REGION = 10;
