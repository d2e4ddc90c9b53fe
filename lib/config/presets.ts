import type { PriceClassName } from './sections/edge';
import type { Stage } from './types';

/**
 * The defaults each stage of growth sets. One place for every tier's stage-dependent default; explicit
 * config values always win.
 */
export interface StagePreset {
  /** Availability zones per region (and the minimum the stage accepts without a warning). */
  readonly azs: number;
  /** Fewest AZs the stage accepts at all. */
  readonly minAzs: number;
  /** NAT gateways per region. */
  readonly natGateways: number;
  /** Web fleet defaults. */
  readonly web: { readonly instanceType: string; readonly minCapacity: number; readonly maxCapacity: number; readonly deletionProtection: boolean };
  /** Edge defaults. */
  readonly edge: { readonly priceClass: PriceClassName };
}

/** Stage presets, documented in the README's stage table. */
export const PRESETS: Readonly<Record<Stage, StagePreset>> = {
  startup: {
    azs: 2,
    minAzs: 2,
    natGateways: 1,
    web: { instanceType: 't4g.small', minCapacity: 2, maxCapacity: 4, deletionProtection: false },
    edge: { priceClass: 'PriceClass_100' },
  },
  growth: {
    azs: 3,
    minAzs: 3,
    natGateways: 3,
    web: { instanceType: 'm7g.large', minCapacity: 3, maxCapacity: 12, deletionProtection: true },
    edge: { priceClass: 'PriceClass_100' },
  },
  millions: {
    azs: 3,
    minAzs: 3,
    natGateways: 3,
    web: { instanceType: 'm7g.large', minCapacity: 3, maxCapacity: 30, deletionProtection: true },
    edge: { priceClass: 'PriceClass_200' },
  },
  global: {
    azs: 3,
    minAzs: 3,
    natGateways: 3,
    web: { instanceType: 'm7g.xlarge', minCapacity: 6, maxCapacity: 60, deletionProtection: true },
    edge: { priceClass: 'PriceClass_All' },
  },
};
