import { PRESETS, type StagePreset } from './presets';
import { STAGES, type AppConfig } from './types';

/**
 * Something a config does that its stage says it should not, though it still synthesizes (e.g. one
 * region for the `global` stage). `buildApp` turns each finding into a warning on the named stack; users
 * acknowledge it by id: `Annotations.of(stack).acknowledgeWarning('scale-to-millions:stage-regions')`.
 */
export interface StageFinding {
  /** The warning id, `scale-to-millions:stage-<what>` (see {@link stageWarningId}). */
  readonly id: string;
  /** What is below the stage's minimum, and what to do about it. */
  readonly message: string;
  /** Region of the stack that carries the warning. @default - the primary region */
  readonly region?: string;
  /** Tier of the stack that carries the warning (`edge` ignores `region`). @default 'app' */
  readonly tier?: 'network' | 'data' | 'app' | 'edge';
}

/** One check: a pure function of the resolved config and its stage's preset. */
export type StageCheck = (config: AppConfig, preset: StagePreset) => StageFinding[];

/** `regions` → `scale-to-millions:stage-regions`. */
export function stageWarningId(what: string): string {
  return `scale-to-millions:stage-${what}`;
}

/** The global stage runs in several regions. */
export const checkRegions: StageCheck = (config, preset) => config.regions.length >= preset.minRegions ? [] : [{
  id: stageWarningId('regions'),
  message: `The ${config.stage} stage runs in at least ${preset.minRegions} regions (got: ${config.regions.length}); one region cannot take over when another fails. Add a region, or pick a smaller stage.`,
}];

/** Each region spreads over the stage's number of zones (the hard floor, `minAzs`, is a config error). */
export const checkAzs: StageCheck = (config, preset) => config.regions
  .filter((r) => r.availabilityZones.length < preset.azs)
  .map((r) => ({
    id: stageWarningId('azs'),
    message: `The ${config.stage} stage spreads each region over ${preset.azs} availability zones; ${r.region} has ${r.availabilityZones.length} (got: ${r.availabilityZones.join(', ')}), so losing one zone loses ${Math.round(100 / r.availabilityZones.length)}% of capacity.`,
    region: r.region,
    tier: 'network' as const,
  }));

/** Stages with a NAT gateway per zone keep egress alive when a zone fails. */
export const checkNat: StageCheck = (config, preset) => preset.natGateways < preset.azs ? [] : config.regions
  .filter((r) => r.natGateways < r.availabilityZones.length)
  .map((r) => ({
    id: stageWarningId('nat'),
    message: `The ${config.stage} stage has a NAT gateway per availability zone; ${r.region} has ${r.natGateways} for ${r.availabilityZones.length} zones (got: ${r.natGateways}), so a zone failure can cut the others' egress.`,
    region: r.region,
    tier: 'network' as const,
  }));

/** Several regions without a domain: nothing routes users between them or fails over. */
export const checkMultiRegionDns: StageCheck = (config) => config.regions.length < 2 || config.domain ? [] : [{
  id: stageWarningId('dns'),
  message: `The config runs ${config.regions.length} regions (${config.regions.map((r) => r.region).join(', ')}) but sets no \`domain\`: no latency records, health checks or failover route users between them. Add \`domain\`.`,
}];

/**
 * Failover routing answers from two regions (the primary, and the secondary while the primary is
 * unhealthy): any other region is deployed and paid for but gets no users.
 */
export const checkFailoverRegions: StageCheck = (config) => {
  const f = config.dns.failover;
  if (!config.domain || config.dns.routing !== 'failover' || !f) return [];
  return config.regions
    .filter((r) => r.region !== f.primary && r.region !== f.secondary)
    .map((r) => ({
      id: stageWarningId('failover-regions'),
      message: `dns.routing "failover" sends users to ${f.primary} and, while it is unhealthy, to ${f.secondary}; ${r.region} is deployed but no record routes to it (got: ${config.regions.length} regions). Route with "latency" or "geolocation" to serve every region, or remove this one.`,
      region: r.region,
    }));
};

/** From the growth stage on, every database cluster has a reader: the failover target and the read capacity. */
export const checkDatabaseReplicas: StageCheck = (config) => STAGES.indexOf(config.stage) < STAGES.indexOf('growth') ? [] : config.database.shards
  .filter((shard) => (shard.readers ?? config.database.readers) < 1)
  .map((shard) => ({
    id: stageWarningId('database-replicas'),
    message: `The ${config.stage} stage keeps at least one Aurora reader per cluster; ${config.database.shards.length > 1 ? `shard ${shard.id}` : 'the database'} has none (got: 0), so a writer failure means a new instance is created (minutes) instead of a reader promoted (about 30 s). Set database.readers ≥ 1.`,
    tier: 'data' as const,
  }));

/**
 * Every stage check. A tier adds its own in one line (e.g. a `millions` config with no read replica or a
 * queue without a dead-letter queue): a {@link StageCheck} returning findings with `stageWarningId('…')`.
 */
export const STAGE_CHECKS: readonly StageCheck[] = [checkRegions, checkAzs, checkNat, checkMultiRegionDns, checkDatabaseReplicas, checkFailoverRegions];

/** The findings of `checks` (default: all) for a resolved config. */
export function stageFindings(config: AppConfig, checks: readonly StageCheck[] = STAGE_CHECKS, preset: StagePreset = PRESETS[config.stage]): StageFinding[] {
  return checks.flatMap((check) => check(config, preset));
}
