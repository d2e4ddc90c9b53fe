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
  /** Fewest regions the stage is meant to run in (fewer gets the `stage-regions` warning). */
  readonly minRegions: number;
  /** Multi-region DNS defaults (used when a domain is configured). */
  readonly dns: {
    /** Routing policy between regions. */
    readonly routing: 'latency' | 'geolocation' | 'failover';
    /** Consecutive failed health checks before Route 53 drains a region. */
    readonly failureThreshold: number;
    /** Seconds between checks of one Route 53 checker (10 = fast failover, billed extra). */
    readonly requestInterval: 10 | 30;
  };
  /** Web fleet defaults. */
  readonly web: { readonly instanceType: string; readonly minCapacity: number; readonly maxCapacity: number; readonly deletionProtection: boolean };
}

/** Stage presets, documented in the README's stage table. */
export const PRESETS: Readonly<Record<Stage, StagePreset>> = {
  startup: {
    azs: 2,
    minAzs: 2,
    natGateways: 1,
    minRegions: 1,
    dns: { routing: 'latency', failureThreshold: 3, requestInterval: 30 },
    web: { instanceType: 't4g.small', minCapacity: 2, maxCapacity: 4, deletionProtection: false },
  },
  growth: {
    azs: 3,
    minAzs: 3,
    natGateways: 3,
    minRegions: 1,
    dns: { routing: 'latency', failureThreshold: 3, requestInterval: 30 },
    web: { instanceType: 'm7g.large', minCapacity: 3, maxCapacity: 12, deletionProtection: true },
  },
  millions: {
    azs: 3,
    minAzs: 3,
    natGateways: 3,
    minRegions: 1,
    dns: { routing: 'latency', failureThreshold: 3, requestInterval: 30 },
    web: { instanceType: 'm7g.large', minCapacity: 3, maxCapacity: 30, deletionProtection: true },
  },
  global: {
    azs: 3,
    minAzs: 3,
    natGateways: 3,
    minRegions: 2,
    dns: { routing: 'latency', failureThreshold: 3, requestInterval: 10 },
    web: { instanceType: 'm7g.xlarge', minCapacity: 6, maxCapacity: 60, deletionProtection: true },
  },
};
