/**
 * The dated price table `s2m cost` uses: AWS on-demand list prices in USD, no network access. Every figure
 * here is a public list price as AWS's pricing pages state it, or, where the table is unsure of a region's
 * own price, the us-east-1 price times a regional multiplier (rounded up, and marked `derived` in every
 * estimate that uses it). Update {@link PRICE_TABLE_DATE} whenever a price changes.
 */

/** When the prices below were taken. */
export const PRICE_TABLE_DATE = '2026-11-30';

/** Where they were taken from, and on what basis. */
export const PRICE_TABLE_SOURCE =
  'AWS public on-demand pricing pages (aws.amazon.com/<service>/pricing) for EC2, EBS, VPC, ELB, RDS Aurora, RDS Proxy, '
  + 'ElastiCache, CloudFront, WAF, Route 53, CloudWatch, KMS, Secrets Manager, SQS, S3 and data transfer; taken without the Price '
  + 'List API (no network), as published in 2025; no free tier, no Savings Plans or Reserved Instances';

/** Hours in a month, AWS's billing convention. */
export const HOURS_PER_MONTH = 730;

/** Where a price came from. */
export type PriceSource = 'list' | 'derived';

/** A price and whether it is a region's listed price or derived from us-east-1. */
export interface Price {
  /** USD per unit. */
  readonly usd: number;
  readonly source: PriceSource;
}

/** Prices that differ by region. Hourly prices are USD per hour; `Gb` prices are per GB (10^9 bytes). */
export interface RegionalPrices {
  /** EC2 Linux on-demand, USD/hour of the family's `large` size; other sizes scale linearly (see {@link ec2SizeFactor}). */
  readonly ec2Large: Readonly<Record<string, number>>;
  /** EBS gp3 storage, USD per GB-month (the 3,000 IOPS / 125 MB/s baseline is included). */
  readonly ebsGp3GbMonth: number;
  /** EBS gp2 storage, USD per GB-month. */
  readonly ebsGp2GbMonth: number;
  /** A public IPv4 address, in use or idle, USD/hour. */
  readonly publicIpv4Hour: number;
  /** NAT gateway, USD/hour. */
  readonly natGatewayHour: number;
  /** NAT gateway data processing, USD/GB. */
  readonly natGatewayGb: number;
  /** Application Load Balancer, USD/hour. */
  readonly albHour: number;
  /** ALB load balancer capacity unit, USD per LCU-hour. */
  readonly albLcuHour: number;
  /** Network Load Balancer, USD/hour. */
  readonly nlbHour: number;
  /** Interface VPC endpoint (and RDS Proxy endpoint), USD/hour per availability zone. */
  readonly interfaceEndpointHourPerAz: number;
  /** Interface VPC endpoint data processing, USD/GB. */
  readonly interfaceEndpointGb: number;
  /** Aurora (PostgreSQL and MySQL) provisioned instances, Standard storage configuration, USD/hour by class. */
  readonly auroraInstanceHour: Readonly<Record<string, number>>;
  /** Aurora Serverless v2, Standard configuration, USD per ACU-hour. */
  readonly auroraAcuHour: number;
  /** Aurora Standard storage, USD per GB-month. */
  readonly auroraStorageGbMonth: number;
  /** Aurora Standard I/O, USD per million requests. */
  readonly auroraIoPerMillion: number;
  /** Aurora I/O-Optimized storage, USD per GB-month. */
  readonly auroraIoOptimizedStorageGbMonth: number;
  /** RDS Proxy, USD per vCPU-hour of the instances behind it (per ACU-hour for Serverless v2). */
  readonly rdsProxyUnitHour: number;
  /** ElastiCache Redis OSS node, USD/hour by node type (Valkey: {@link GlobalPrices.valkeyNodeDiscount} off). */
  readonly cacheNodeHour: Readonly<Record<string, number>>;
  /** CloudWatch standard-resolution metric alarm, USD per metric-month. */
  readonly alarmMetricMonth: number;
  /** CloudWatch high-resolution metric alarm, USD per metric-month. */
  readonly alarmHighResMetricMonth: number;
  /** CloudWatch composite alarm, USD per month. */
  readonly compositeAlarmMonth: number;
  /** CloudWatch custom metric (first 10,000), USD per metric-month; EC2 detailed monitoring bills 7 per instance. */
  readonly customMetricMonth: number;
  /** CloudWatch Logs standard ingestion (also vended logs' first tier: VPC flow logs, WAF logs), USD/GB. */
  readonly logsIngestGb: number;
  /** S3 Standard storage (first 50 TB), USD per GB-month. */
  readonly s3GbMonth: number;
  /** Data transfer out to the internet (first 10 TB a month), USD/GB. */
  readonly dataTransferOutGb: number;
  /** Data transfer between availability zones, USD/GB in each direction. */
  readonly interAzGb: number;
  /** Data transfer to another AWS region, USD/GB. */
  readonly interRegionGb: number;
  /** SQS standard queue requests, USD per million (64 KB chunks). */
  readonly sqsPerMillion: number;
  /** SQS FIFO queue requests, USD per million. */
  readonly sqsFifoPerMillion: number;
}

/** Prices that are the same everywhere (global services or uniform list prices). */
export interface GlobalPrices {
  /** Share off the Redis OSS node price for Valkey nodes. */
  readonly valkeyNodeDiscount: number;
  /** Aurora I/O-Optimized: multiplier on instance and ACU prices. */
  readonly auroraIoOptimizedMultiplier: number;
  /** RDS Proxy bills at least this many vCPUs (provisioned targets). */
  readonly rdsProxyMinVcpus: number;
  /** RDS Proxy bills at least this many ACUs (Serverless v2 targets). */
  readonly rdsProxyMinAcus: number;
  /** Database Insights advanced mode, USD per vCPU-hour (provisioned) of the monitored instances. */
  readonly databaseInsightsAdvancedVcpuHour: number;
  /** Database Insights advanced mode, USD per ACU-hour (Serverless v2). */
  readonly databaseInsightsAdvancedAcuHour: number;
  /** CloudWatch dashboard, USD per month. */
  readonly dashboardMonth: number;
  /** KMS customer managed key, USD per month (rotation adds $1/month for each of the first two rotations). */
  readonly kmsKeyMonth: number;
  /** Secrets Manager secret (each replica is one more), USD per month. */
  readonly secretMonth: number;
  /** SSM Parameter Store advanced parameter, USD per month. */
  readonly ssmAdvancedParameterMonth: number;
  /** WAF web ACL, USD per month. */
  readonly wafWebAclMonth: number;
  /** WAF rule (including a managed rule group), USD per month. */
  readonly wafRuleMonth: number;
  /** WAF requests, USD per million. */
  readonly wafPerMillionRequests: number;
  /** Paid managed rule groups (Bot Control, fraud control): subscription USD per month. */
  readonly wafPaidRuleGroupMonth: number;
  /** Route 53 health check of an AWS endpoint, USD per month. */
  readonly healthCheckAwsMonth: number;
  /** Route 53 health check of a non-AWS endpoint, USD per month. */
  readonly healthCheckOtherMonth: number;
  /** Route 53 optional health check feature (HTTPS, string match, fast interval, latency), AWS endpoint, USD per month. */
  readonly healthCheckFeatureAwsMonth: number;
  /** The same feature for a non-AWS endpoint. */
  readonly healthCheckFeatureOtherMonth: number;
  /** CloudFront per price class: data transfer out (first 10 TB) USD/GB and HTTPS requests USD per 10,000, at the highest rate of the class's edge regions. */
  readonly cloudFront: Readonly<Record<string, { readonly gb: number; readonly per10kHttps: number }>>;
  /** CloudFront additional distribution metrics: custom metrics billed per distribution. */
  readonly cloudFrontAdditionalMetrics: number;
}

/** How a region's prices relate to us-east-1 where the table has no listed price of its own. */
export interface RegionEntry {
  /** Multipliers on us-east-1 prices by service group, used for prices this region does not list (rounded up). */
  readonly multipliers: { readonly ec2: number; readonly rds: number; readonly elasticache: number; readonly other: number };
  /** The region's own listed prices. */
  readonly listed: Partial<RegionalPrices>;
}

/** us-east-1 (N. Virginia): the base every other region is compared with. */
const US_EAST_1: RegionalPrices = {
  ec2Large: {
    // Graviton burstable, general purpose, compute, memory; then common x86 families.
    t4g: 0.0672, t3: 0.0832, t3a: 0.0752,
    m6g: 0.077, m7g: 0.0816, m8g: 0.08976,
    c6g: 0.068, c7g: 0.0725, c8g: 0.07976,
    r6g: 0.1008, r7g: 0.1071, r8g: 0.11782,
    m5: 0.096, m6i: 0.096, m7i: 0.1008, 'm7i-flex': 0.09576,
    c5: 0.085, c6i: 0.085, c7i: 0.08925,
    r5: 0.126, r6i: 0.126, r7i: 0.1323,
  },
  ebsGp3GbMonth: 0.08,
  ebsGp2GbMonth: 0.10,
  publicIpv4Hour: 0.005,
  natGatewayHour: 0.045,
  natGatewayGb: 0.045,
  albHour: 0.0225,
  albLcuHour: 0.008,
  nlbHour: 0.0225,
  interfaceEndpointHourPerAz: 0.01,
  interfaceEndpointGb: 0.01,
  auroraInstanceHour: {
    'db.t3.medium': 0.082, 'db.t3.large': 0.164,
    'db.t4g.medium': 0.073, 'db.t4g.large': 0.146,
    'db.r5.large': 0.29, 'db.r5.xlarge': 0.58, 'db.r5.2xlarge': 1.16, 'db.r5.4xlarge': 2.32,
    'db.r6g.large': 0.26, 'db.r6g.xlarge': 0.519, 'db.r6g.2xlarge': 1.038, 'db.r6g.4xlarge': 2.076, 'db.r6g.8xlarge': 4.152,
    'db.r6i.large': 0.29, 'db.r6i.xlarge': 0.58, 'db.r6i.2xlarge': 1.16,
    'db.r7g.large': 0.276, 'db.r7g.xlarge': 0.552, 'db.r7g.2xlarge': 1.104, 'db.r7g.4xlarge': 2.208, 'db.r7g.8xlarge': 4.416,
    'db.r7g.12xlarge': 6.624, 'db.r7g.16xlarge': 8.832,
  },
  auroraAcuHour: 0.12,
  auroraStorageGbMonth: 0.10,
  auroraIoPerMillion: 0.20,
  auroraIoOptimizedStorageGbMonth: 0.225,
  rdsProxyUnitHour: 0.015,
  cacheNodeHour: {
    'cache.t3.micro': 0.017, 'cache.t3.small': 0.034, 'cache.t3.medium': 0.068,
    'cache.t4g.micro': 0.016, 'cache.t4g.small': 0.032, 'cache.t4g.medium': 0.065,
    'cache.m6g.large': 0.149, 'cache.m6g.xlarge': 0.297, 'cache.m6g.2xlarge': 0.594,
    'cache.m7g.large': 0.158, 'cache.m7g.xlarge': 0.315, 'cache.m7g.2xlarge': 0.629,
    'cache.r6g.large': 0.206, 'cache.r6g.xlarge': 0.411, 'cache.r6g.2xlarge': 0.821, 'cache.r6g.4xlarge': 1.642,
    'cache.r7g.large': 0.219, 'cache.r7g.xlarge': 0.437, 'cache.r7g.2xlarge': 0.873, 'cache.r7g.4xlarge': 1.747,
  },
  alarmMetricMonth: 0.10,
  alarmHighResMetricMonth: 0.30,
  compositeAlarmMonth: 0.50,
  customMetricMonth: 0.30,
  logsIngestGb: 0.50,
  s3GbMonth: 0.023,
  dataTransferOutGb: 0.09,
  interAzGb: 0.01,
  interRegionGb: 0.02,
  sqsPerMillion: 0.40,
  sqsFifoPerMillion: 0.50,
};

/**
 * The regions the presets and example configs use, with what each lists itself. us-east-2 and us-west-2 list
 * the us-east-1 prices for every service priced here.
 */
export const PRICE_REGIONS: Readonly<Record<string, RegionEntry>> = {
  'us-east-1': { multipliers: { ec2: 1, rds: 1, elasticache: 1, other: 1 }, listed: US_EAST_1 },
  'us-east-2': { multipliers: { ec2: 1, rds: 1, elasticache: 1, other: 1 }, listed: US_EAST_1 },
  'us-west-2': { multipliers: { ec2: 1, rds: 1, elasticache: 1, other: 1 }, listed: US_EAST_1 },
  'eu-west-1': {
    multipliers: { ec2: 1.14, rds: 1.12, elasticache: 1.12, other: 1.14 },
    listed: {
      ec2Large: { t4g: 0.0736, t3: 0.0912, m6g: 0.086, c6g: 0.0772 },
      ebsGp3GbMonth: 0.088, ebsGp2GbMonth: 0.11, publicIpv4Hour: 0.005,
      natGatewayHour: 0.048, natGatewayGb: 0.048,
      albHour: 0.0252, albLcuHour: 0.008, nlbHour: 0.0252,
      interfaceEndpointHourPerAz: 0.011, interfaceEndpointGb: 0.01,
      auroraStorageGbMonth: 0.11, auroraIoPerMillion: 0.22,
      alarmMetricMonth: 0.10, alarmHighResMetricMonth: 0.30, compositeAlarmMonth: 0.50, customMetricMonth: 0.30,
      logsIngestGb: 0.57, s3GbMonth: 0.023, dataTransferOutGb: 0.09, interAzGb: 0.01, interRegionGb: 0.02,
      sqsPerMillion: 0.40, sqsFifoPerMillion: 0.50,
    },
  },
  'ap-southeast-1': {
    multipliers: { ec2: 1.27, rds: 1.34, elasticache: 1.3, other: 1.4 },
    listed: {
      ec2Large: { t4g: 0.0848, m6g: 0.096 },
      ebsGp3GbMonth: 0.096, ebsGp2GbMonth: 0.12, publicIpv4Hour: 0.005,
      natGatewayHour: 0.059, natGatewayGb: 0.059,
      albHour: 0.0252, albLcuHour: 0.008, nlbHour: 0.0252,
      interfaceEndpointHourPerAz: 0.013, interfaceEndpointGb: 0.01,
      auroraStorageGbMonth: 0.10, auroraIoPerMillion: 0.20,
      alarmMetricMonth: 0.10, alarmHighResMetricMonth: 0.30, compositeAlarmMonth: 0.50, customMetricMonth: 0.30,
      logsIngestGb: 0.70, s3GbMonth: 0.025, dataTransferOutGb: 0.12, interAzGb: 0.01, interRegionGb: 0.09,
      sqsPerMillion: 0.40, sqsFifoPerMillion: 0.50,
    },
  },
  'sa-east-1': {
    multipliers: { ec2: 1.62, rds: 1.8, elasticache: 1.6, other: 1.8 },
    listed: {
      ec2Large: { t4g: 0.1076, m6g: 0.1232 },
      ebsGp3GbMonth: 0.152, ebsGp2GbMonth: 0.19, publicIpv4Hour: 0.005,
      natGatewayHour: 0.093, natGatewayGb: 0.093,
      albHour: 0.034, albLcuHour: 0.011, nlbHour: 0.034,
      s3GbMonth: 0.0405, dataTransferOutGb: 0.15, interAzGb: 0.01, interRegionGb: 0.138,
      alarmMetricMonth: 0.10, compositeAlarmMonth: 0.50,
    },
  },
};

/** Prices that do not depend on the region. */
export const GLOBAL_PRICES: GlobalPrices = {
  valkeyNodeDiscount: 0.2,
  auroraIoOptimizedMultiplier: 1.3,
  rdsProxyMinVcpus: 2,
  rdsProxyMinAcus: 8,
  databaseInsightsAdvancedVcpuHour: 0.0125,
  databaseInsightsAdvancedAcuHour: 0.003125,
  dashboardMonth: 3,
  kmsKeyMonth: 1,
  secretMonth: 0.40,
  ssmAdvancedParameterMonth: 0.05,
  wafWebAclMonth: 5,
  wafRuleMonth: 1,
  wafPerMillionRequests: 0.60,
  wafPaidRuleGroupMonth: 10,
  healthCheckAwsMonth: 0.50,
  healthCheckOtherMonth: 0.75,
  healthCheckFeatureAwsMonth: 1,
  healthCheckFeatureOtherMonth: 2,
  cloudFront: {
    // PriceClass_100: US, Canada, Europe, Israel; 200 adds Asia, Middle East, Africa, India; All adds South America and Oceania.
    PriceClass_100: { gb: 0.085, per10kHttps: 0.012 },
    PriceClass_200: { gb: 0.12, per10kHttps: 0.016 },
    PriceClass_All: { gb: 0.12, per10kHttps: 0.022 },
  },
  cloudFrontAdditionalMetrics: 8,
};

/** The region whose prices stand in for a region the table does not have (with a warning). */
export const FALLBACK_REGION = 'us-east-1';

/** Service group of each regional price, for the multiplier of a derived price. */
type PriceGroup = keyof RegionEntry['multipliers'];

function groupOf(key: keyof RegionalPrices): PriceGroup {
  if (key === 'ec2Large' || key.startsWith('ebs')) return 'ec2';
  if (key.startsWith('aurora') || key === 'rdsProxyUnitHour') return 'rds';
  if (key === 'cacheNodeHour') return 'elasticache';
  return 'other';
}

/** Rounds a derived price up to 5 decimal places, so a derived price is never below the product. */
function roundUp(n: number): number {
  return Math.ceil(n * 1e5 - 1e-6) / 1e5;
}

/** True when the table has the region (or an alias of us-east-1 prices). */
export function hasRegionPrices(region: string): boolean {
  return region in PRICE_REGIONS;
}

/**
 * The price of one regional scalar (`natGatewayHour`, ...) in `region`: its listed price, else us-east-1's
 * times the region's multiplier (source `derived`). A region the table does not have uses us-east-1's prices
 * as listed there (callers warn about it; see {@link hasRegionPrices}).
 */
export function regionalPrice(region: string, key: Exclude<keyof RegionalPrices, 'ec2Large' | 'auroraInstanceHour' | 'cacheNodeHour'>): Price {
  const entry = PRICE_REGIONS[region] ?? PRICE_REGIONS[FALLBACK_REGION];
  const listed = entry.listed[key];
  if (listed !== undefined) return { usd: listed, source: 'list' };
  return { usd: roundUp(US_EAST_1[key] * entry.multipliers[groupOf(key)]), source: 'derived' };
}

function mapPrice(region: string, key: 'ec2Large' | 'auroraInstanceHour' | 'cacheNodeHour', name: string): Price | undefined {
  const entry = PRICE_REGIONS[region] ?? PRICE_REGIONS[FALLBACK_REGION];
  const listed = entry.listed[key]?.[name];
  if (listed !== undefined) return { usd: listed, source: 'list' };
  const base = US_EAST_1[key][name];
  if (base === undefined) return undefined;
  return { usd: roundUp(base * entry.multipliers[groupOf(key)]), source: entry.multipliers[groupOf(key)] === 1 ? 'list' : 'derived' };
}

const SIZE_FACTORS: Readonly<Record<string, number>> = { nano: 1 / 16, micro: 1 / 8, small: 1 / 4, medium: 1 / 2, large: 1, xlarge: 2 };

/** How many `large` instances one instance of `size` is priced as: nano 1/16 … xlarge 2, `Nxlarge` 2N. */
export function ec2SizeFactor(size: string): number | undefined {
  if (size in SIZE_FACTORS) return SIZE_FACTORS[size];
  const m = /^(\d+)xlarge$/.exec(size);
  return m ? 2 * Number(m[1]) : undefined;
}

/** EC2 Linux on-demand price of `instanceType` (`m7g.large`) per hour in `region`; undefined when not in the table. */
export function ec2HourPrice(region: string, instanceType: string): Price | undefined {
  const [family, size] = instanceType.split('.');
  const factor = size === undefined ? undefined : ec2SizeFactor(size);
  const large = mapPrice(region, 'ec2Large', family);
  if (factor === undefined || !large) return undefined;
  return { usd: roundUp(large.usd * factor), source: large.source };
}

/** Aurora provisioned instance price per hour (Standard configuration) of `dbClass` (`db.r7g.large`). */
export function auroraInstanceHourPrice(region: string, dbClass: string): Price | undefined {
  return mapPrice(region, 'auroraInstanceHour', dbClass);
}

/** ElastiCache node price per hour of `nodeType` for `engine` (`valkey` is {@link GlobalPrices.valkeyNodeDiscount} below Redis OSS). */
export function cacheNodeHourPrice(region: string, nodeType: string, engine: string): Price | undefined {
  const p = mapPrice(region, 'cacheNodeHour', nodeType);
  if (!p) return undefined;
  return engine === 'valkey' ? { usd: roundUp(p.usd * (1 - GLOBAL_PRICES.valkeyNodeDiscount)), source: p.source } : p;
}

/** vCPUs of an Aurora instance class (`db.r7g.large` → 2), for RDS Proxy; undefined for an unknown size. */
export function auroraClassVcpus(dbClass: string): number | undefined {
  const size = dbClass.split('.')[2];
  if (size === undefined) return undefined;
  if (size === 'medium' || size === 'small' || size === 'micro') return 2;
  const f = ec2SizeFactor(size);
  return f === undefined ? undefined : Math.max(2, 2 * f);
}
