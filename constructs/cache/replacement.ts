import type { CacheEngine } from './defaults';

/** How clients authenticate: an RBAC user group (default user disabled + an app user) or one AUTH token. */
export type CacheAuthMode = 'rbac' | 'auth-token';

/** Which subnets the cache's subnet group uses. */
export type CacheSubnets = 'isolated' | 'private';

/**
 * The settings CloudFormation can only change by replacing the replication group, i.e. by creating a
 * new, EMPTY cache (and deleting the old one after a final snapshot). Recorded once (in the config's
 * `cache.immutable` block, or the construct's `replacementGuard.previous`) and compared at every synth.
 *
 * Encryption at rest, TLS in transit and cluster mode are not listed: `CacheCluster` always enables them,
 * so they cannot change.
 */
export interface CacheReplacementSettings {
  /** `valkey` or `redis`. */
  readonly engine: CacheEngine;
  /** Port. */
  readonly port: number;
  /** Subnets of the subnet group. */
  readonly subnets: CacheSubnets;
  /** Authentication mode. */
  readonly authMode: CacheAuthMode;
  /** Member of a Global Datastore. */
  readonly globalDatastore: boolean;
  /**
   * Engine version. Not a replacement but a one-way door: ElastiCache upgrades in place and never
   * downgrades, so a lower version than recorded is always rejected.
   */
  readonly engineVersion: string;
  /**
   * Data tiering (`DataTieringEnabled`, create-only in CloudFormation): on for r6gd node types, which keep part of the
   * data on SSD, off for every other family. So a node type change into or out of r6gd replaces the cache; within a
   * family, or between other families, a node type changes in place.
   * @default - not recorded (blocks recorded before it was guarded): not compared, and the synth warns
   */
  readonly dataTiering?: boolean;
}

/** The keys of {@link CacheReplacementSettings}, in a stable order. */
export const REPLACEMENT_SETTING_KEYS = ['engine', 'engineVersion', 'port', 'subnets', 'authMode', 'globalDatastore', 'dataTiering'] as const;

/** One difference between the recorded and the requested settings. */
export interface ReplacementChange {
  /** The setting that differs. */
  readonly setting: keyof CacheReplacementSettings;
  /** Its recorded value. */
  readonly previous: unknown;
  /** Its value now. */
  readonly requested: unknown;
  /** `replacement` (acceptable with acceptReplacement) or `downgrade` (never possible). */
  readonly kind: 'replacement' | 'downgrade';
}

/** The differences between `previous` and `requested`; empty when nothing replaces the cache. */
export function replacementChanges(previous: CacheReplacementSettings, requested: CacheReplacementSettings): ReplacementChange[] {
  const out: ReplacementChange[] = [];
  for (const key of REPLACEMENT_SETTING_KEYS) {
    if (key === 'engineVersion') continue;
    // A setting missing from the record (recorded before it was guarded) cannot be compared.
    if (previous[key] === undefined || requested[key] === undefined) continue;
    if (previous[key] !== requested[key]) out.push({ setting: key, previous: previous[key], requested: requested[key], kind: 'replacement' });
  }
  // A version only matters within one engine: an engine change is already a replacement.
  if (previous.engine === requested.engine && compareVersions(requested.engineVersion, previous.engineVersion) < 0) {
    out.push({ setting: 'engineVersion', previous: previous.engineVersion, requested: requested.engineVersion, kind: 'downgrade' });
  }
  return out;
}

/** The sentence every replacement error carries, so users see the consequence before the setting. */
export const REPLACEMENT_CONSEQUENCE = 'CloudFormation can only apply this by replacing the replication group: the change means a new, EMPTY cache (every key and session is lost)';

/** Compares dotted versions numerically: `7.10` > `7.2`. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split('.').map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
