import { describe, expect, it } from 'vitest';
import {
  FALLBACK_REGION,
  GLOBAL_PRICES,
  PRICE_REGIONS,
  PRICE_TABLE_DATE,
  auroraClassVcpus,
  auroraInstanceHourPrice,
  cacheNodeHourPrice,
  ec2HourPrice,
  ec2SizeFactor,
  hasRegionPrices,
  regionalPrice,
} from '../../../lib/cost';

describe('price table', () => {
  it('is dated and covers the regions the presets and example configs use', () => {
    expect(PRICE_TABLE_DATE).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    for (const r of ['us-east-1', 'eu-west-1', 'ap-southeast-1', 'sa-east-1']) expect(hasRegionPrices(r)).toBe(true);
    expect(hasRegionPrices('eu-central-1')).toBe(false);
  });

  it.each([
    // EC2 scales linearly from the family's large size: nano 1/16 ... 2xlarge 4x (us-east-1 list prices)
    ['us-east-1', 't4g.nano', 0.0042],
    ['us-east-1', 't4g.small', 0.0168],
    ['us-east-1', 'm7g.large', 0.0816],
    ['us-east-1', 'm7g.2xlarge', 0.3264],
    ['us-east-1', 'c7g.xlarge', 0.145],
    // a region's own listed price (t4g.small in eu-west-1 is $0.0184)
    ['eu-west-1', 't4g.small', 0.0184],
    ['sa-east-1', 't4g.small', 0.0269],
  ])('EC2 %s %s is $%s an hour', (region, type, usd) => {
    expect(ec2HourPrice(region, type)?.usd).toBeCloseTo(usd, 6);
    expect(ec2HourPrice(region, type)?.source).toBe('list');
  });

  it('derives a price the region does not list from us-east-1 times its multiplier, rounded up, and says so', () => {
    // m7g.large in eu-west-1: 0.0816 × 1.14 = 0.093024 (not listed in the table)
    expect(ec2HourPrice('eu-west-1', 'm7g.large')).toEqual({ usd: 0.09303, source: 'derived' });
    // Aurora db.r7g.large in ap-southeast-1: 0.276 × 1.34 = 0.36984
    expect(auroraInstanceHourPrice('ap-southeast-1', 'db.r7g.large')).toEqual({ usd: 0.36984, source: 'derived' });
    expect(regionalPrice('sa-east-1', 'auroraAcuHour')).toEqual({ usd: 0.216, source: 'derived' });
    expect(PRICE_REGIONS['eu-west-1'].multipliers.ec2).toBe(1.14);
  });

  it('prices a region outside the table at us-east-1 prices (the estimate warns)', () => {
    expect(ec2HourPrice('eu-central-1', 'm7g.large')).toEqual(ec2HourPrice(FALLBACK_REGION, 'm7g.large'));
    expect(regionalPrice('eu-central-1', 'natGatewayHour')).toEqual({ usd: 0.045, source: 'list' });
  });

  it('has no price for an unknown family or size', () => {
    expect(ec2HourPrice('us-east-1', 'x9z.large')).toBeUndefined();
    expect(ec2HourPrice('us-east-1', 'm7g.metal')).toBeUndefined();
    expect(auroraInstanceHourPrice('us-east-1', 'db.x2g.large')).toBeUndefined();
    expect(cacheNodeHourPrice('us-east-1', 'cache.c7gn.large', 'valkey')).toBeUndefined();
  });

  it('prices Valkey nodes 20% below Redis OSS', () => {
    expect(cacheNodeHourPrice('us-east-1', 'cache.r7g.large', 'redis')?.usd).toBeCloseTo(0.219, 6);
    expect(cacheNodeHourPrice('us-east-1', 'cache.r7g.large', 'valkey')?.usd).toBeCloseTo(0.1752, 6);
    expect(cacheNodeHourPrice('us-east-1', 'cache.t4g.micro', 'valkey')?.usd).toBeCloseTo(0.0128, 6);
    expect(GLOBAL_PRICES.valkeyNodeDiscount).toBe(0.2);
  });

  it('knows the vCPUs RDS Proxy bills for', () => {
    expect(auroraClassVcpus('db.t4g.medium')).toBe(2);
    expect(auroraClassVcpus('db.r7g.large')).toBe(2);
    expect(auroraClassVcpus('db.r7g.xlarge')).toBe(4);
    expect(auroraClassVcpus('db.r7g.16xlarge')).toBe(64);
    expect(ec2SizeFactor('12xlarge')).toBe(24);
  });
});
