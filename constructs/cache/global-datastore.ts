/**
 * Global Datastore ids. ElastiCache prefixes the id suffix we choose with a code of the PRIMARY's region
 * (`ldgnf-` in us-east-1), and a secondary joins by that full id. CloudFormation cannot pass the id
 * across regions, so the secondaries derive it from the config: prefix table + suffix.
 */
import { unscopedValidationError } from '../common/errors';

/**
 * Region → Global Datastore id prefix, as listed in the ElastiCache user guide ("Using the AWS CLI with
 * global datastores"). Regions missing here need an explicit `globalReplicationGroupId`.
 */
export const GLOBAL_DATASTORE_ID_PREFIXES: Readonly<Record<string, string>> = {
  'us-east-1': 'ldgnf',
  'us-east-2': 'fpkhr',
  'us-west-1': 'dsdfu',
  'us-west-2': 'sgaui',
  'ca-central-1': 'bxodz',
  'sa-east-1': 'juxlw',
  'eu-west-1': 'virxk',
  'eu-central-1': 'iudkw',
  'ap-south-1': 'erpgt',
  'ap-northeast-1': 'quwsw',
  'ap-northeast-2': 'lfqnh',
  'ap-southeast-1': 'vlqxn',
  'ap-southeast-2': 'vbgxd',
};

const SUFFIX = /^[a-z][a-z0-9-]{0,38}[a-z0-9]$/;

/** True when `suffix` is a valid Global Datastore id suffix. */
export function isValidGlobalIdSuffix(suffix: string): boolean {
  return SUFFIX.test(suffix) && !suffix.includes('--');
}

/**
 * The full Global Datastore id a secondary joins: `<prefix of the primary region>-<suffix>`. Throws when
 * the primary region's prefix is not known here.
 */
export function globalDatastoreId(primaryRegion: string, suffix: string): string {
  const prefix = GLOBAL_DATASTORE_ID_PREFIXES[primaryRegion];
  if (!prefix) {
    throw unscopedValidationError(`Global Datastore id prefix of ${primaryRegion} is not known; give the full id (globalReplicationGroupId) after creating the primary`);
  }
  return `${prefix}-${suffix}`;
}
