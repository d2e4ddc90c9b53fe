import { Duration } from 'aws-cdk-lib/core';
import { HEALTH_PATHS } from '../../lib/runtime/contract';

/** Default values of the `GeoDns` construct. */
export const GEO_DNS_DEFAULTS = {
  /** Subdomain of the name CloudFront uses as its dynamic origin (`origin.<domain>`). */
  originSubdomain: 'origin',
  /** Subdomain of the direct API name (`api.<domain>`). */
  apiSubdomain: 'api',
  /**
   * Health check path: the runtime SDK's deep health (the writer, a reader and the cache answer within a budget),
   * so a region whose data tier is down leaves DNS; the load balancer's own target checks stay shallow.
   */
  healthCheckPath: HEALTH_PATHS.deep,
  /**
   * With geolocation routing, the label of each name's latency-routed fallback set (`fallback.origin.<domain>`):
   * every region is in it, and the default (`*`) location aliases it, so a location whose region is unhealthy
   * lands on the nearest healthy region instead of on nothing.
   */
  fallbackSubdomain: 'fallback',
  /** Consecutive failed (or passed) checks before Route 53 changes the endpoint's status. */
  failureThreshold: 3,
  /** Time between two checks of one Route 53 checker (10 s = fast, billed extra, or 30 s). */
  requestInterval: Duration.seconds(30),
} as const;

/** The regions Route 53 health checkers run in (the values `HealthCheckConfig.Regions` accepts). */
export const HEALTH_CHECKER_REGIONS: readonly string[] = [
  'us-east-1', 'us-west-1', 'us-west-2', 'eu-west-1', 'ap-southeast-1', 'ap-southeast-2', 'ap-northeast-1', 'sa-east-1',
];

/** Route 53 continent codes for geolocation records. */
export const CONTINENT_CODES: readonly string[] = ['AF', 'AN', 'AS', 'EU', 'NA', 'OC', 'SA'];

/** ISO 3166-1 alpha-2 country codes (the codes Route 53 geolocation accepts, plus UA as Route 53 lists it). */
export const COUNTRY_CODES: readonly string[] = (
  'AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ '
  + 'CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR '
  + 'GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO '
  + 'JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR '
  + 'MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO '
  + 'RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV '
  + 'TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW'
).split(' ');
