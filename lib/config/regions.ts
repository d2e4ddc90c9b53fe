/**
 * AWS commercial regions and the zone letters they offer to new accounts. Kept here (not looked up)
 * because synth must run with no credentials and no network.
 */
export const REGION_ZONES: Readonly<Record<string, readonly string[]>> = {
  'us-east-1': ['a', 'b', 'c', 'd', 'e', 'f'],
  'us-east-2': ['a', 'b', 'c'],
  'us-west-1': ['a', 'c'],
  'us-west-2': ['a', 'b', 'c', 'd'],
  'ca-central-1': ['a', 'b', 'd'],
  'ca-west-1': ['a', 'b', 'c'],
  'mx-central-1': ['a', 'b', 'c'],
  'sa-east-1': ['a', 'b', 'c'],
  'eu-west-1': ['a', 'b', 'c'],
  'eu-west-2': ['a', 'b', 'c'],
  'eu-west-3': ['a', 'b', 'c'],
  'eu-central-1': ['a', 'b', 'c'],
  'eu-central-2': ['a', 'b', 'c'],
  'eu-north-1': ['a', 'b', 'c'],
  'eu-south-1': ['a', 'b', 'c'],
  'eu-south-2': ['a', 'b', 'c'],
  'ap-southeast-1': ['a', 'b', 'c'],
  'ap-southeast-2': ['a', 'b', 'c'],
  'ap-southeast-3': ['a', 'b', 'c'],
  'ap-southeast-4': ['a', 'b', 'c'],
  'ap-southeast-5': ['a', 'b', 'c'],
  'ap-southeast-7': ['a', 'b', 'c'],
  'ap-northeast-1': ['a', 'c', 'd'],
  'ap-northeast-2': ['a', 'b', 'c', 'd'],
  'ap-northeast-3': ['a', 'b', 'c'],
  'ap-south-1': ['a', 'b', 'c'],
  'ap-south-2': ['a', 'b', 'c'],
  'ap-east-1': ['a', 'b', 'c'],
  'ap-east-2': ['a', 'b', 'c'],
  'me-south-1': ['a', 'b', 'c'],
  'me-central-1': ['a', 'b', 'c'],
  'il-central-1': ['a', 'b', 'c'],
  'af-south-1': ['a', 'b', 'c'],
};

/** True when `region` is a known AWS commercial region. */
export function isKnownRegion(region: string): boolean {
  return Object.prototype.hasOwnProperty.call(REGION_ZONES, region);
}

/** The first `count` availability zones of a known region (`us-east-1a`, ...). */
export function defaultZones(region: string, count: number): string[] {
  return (REGION_ZONES[region] ?? []).slice(0, count).map((l) => `${region}${l}`);
}

/** The region CloudFront certificates and web ACLs must live in. */
export const EDGE_REGION = 'us-east-1';
