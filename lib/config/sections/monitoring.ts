import { LOWER_IS_WORSE, type MonitoringThresholds, type SeverityThresholds } from '../../../constructs/monitoring/thresholds';
import { at, type Checker } from '../check';
import { PRESETS } from '../presets';
import type { Stage } from '../types';

/** A Warning/Critical pair in the config; either may be omitted to keep the stage preset's value. */
export interface SeverityThresholdsInput {
  /** Warning threshold. @default - stage preset */
  readonly warning?: number;
  /** Critical threshold. @default - stage preset */
  readonly critical?: number;
}

/** `monitoring.thresholds`: per tier, per signal, a Warning/Critical pair (see docs/monitoring.md for units). */
export interface MonitoringThresholdsConfigInput {
  readonly web?: { readonly p99LatencyMs?: SeverityThresholdsInput; readonly errorRatePercent?: SeverityThresholdsInput };
  readonly fleets?: { readonly inServicePercentOfMax?: SeverityThresholdsInput };
  readonly database?: {
    readonly cpuPercent?: SeverityThresholdsInput;
    readonly replicaLagMs?: SeverityThresholdsInput;
    readonly globalReplicationLagMs?: SeverityThresholdsInput;
    readonly commitLatencyMs?: SeverityThresholdsInput;
    readonly freeableMemoryMiB?: SeverityThresholdsInput;
  };
  readonly cache?: { readonly cpuPercent?: SeverityThresholdsInput; readonly memoryPercent?: SeverityThresholdsInput; readonly evictionsPerMinute?: SeverityThresholdsInput };
  readonly queues?: { readonly oldestMessageAgePercentOfLatency?: SeverityThresholdsInput; readonly deadLetterMessages?: SeverityThresholdsInput };
}

/** The `monitoring` section: per-region dashboards, alarms, alarm topic and region health alarm. */
export interface MonitoringInput {
  /** Create the dashboards, alarms and alarm topics. @default true */
  readonly enabled?: boolean;
  /** Addresses subscribed by email to every region's alarm topic (each must confirm). @default - none */
  readonly alarmEmails?: string[];
  /** Thresholds, merged over the stage preset field by field. @default - stage preset */
  readonly thresholds?: MonitoringThresholdsConfigInput;
}

/** `monitoring` with its defaults resolved. */
export interface MonitoringConfig {
  readonly enabled: boolean;
  readonly alarmEmails: string[];
  readonly thresholds: MonitoringThresholds;
}

const KEYS = ['enabled', 'alarmEmails', 'thresholds'] as const;
/** A pragmatic address check: one `@`, no spaces, a dot in the domain. SNS confirms the rest. */
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Validates `monitoring` (absent = enabled with the stage preset) and fills in the defaults. */
export function resolveMonitoring(c: Checker, raw: unknown, stage: Stage): MonitoringConfig {
  const preset = PRESETS[stage].monitoring.thresholds;
  const o = c.object('monitoring', raw, KEYS) ?? {};
  const enabled = c.boolean('monitoring.enabled', o.enabled) ?? true;

  const alarmEmails: string[] = [];
  const list = c.array('monitoring.alarmEmails', o.alarmEmails, { max: 20 }) ?? [];
  list.forEach((v, i) => {
    const p = at('monitoring.alarmEmails', i);
    const email = c.string(p, v, { required: true, pattern: EMAIL, what: 'an email address like ops@example.com' });
    if (email === undefined) return;
    if (alarmEmails.includes(email)) c.fail(p, 'duplicate address', email);
    else alarmEmails.push(email);
  });

  const tp = 'monitoring.thresholds';
  const to = c.object(tp, o.thresholds, Object.keys(preset)) ?? {};
  const thresholds: Record<string, Record<string, SeverityThresholds>> = {};
  for (const [tier, fields] of Object.entries(preset) as Array<[string, Record<string, SeverityThresholds>]>) {
    const tierPath = at(tp, tier);
    const tierRaw = c.object(tierPath, to[tier], Object.keys(fields)) ?? {};
    thresholds[tier] = {};
    for (const [field, base] of Object.entries(fields)) {
      thresholds[tier][field] = resolvePair(c, at(tierPath, field), tierRaw[field], base, `${tier}.${field}`);
    }
  }
  return { enabled, alarmEmails, thresholds: thresholds as unknown as MonitoringThresholds };
}

function resolvePair(c: Checker, path: string, raw: unknown, base: SeverityThresholds, key: string): SeverityThresholds {
  const o = c.object(path, raw, ['warning', 'critical']);
  if (!o) return base;
  // A share of a whole (CPU %, in-service % of the maximum) never passes 100: a threshold above it never fires.
  const max = key.endsWith('Percent') || key.endsWith('PercentOfMax') ? 100 : undefined;
  const opts = { min: 0, ...(max !== undefined ? { max } : {}) };
  const warning = c.number(at(path, 'warning'), o.warning, opts) ?? base.warning;
  const critical = c.number(at(path, 'critical'), o.critical, opts) ?? base.critical;
  const lowerIsWorse = LOWER_IS_WORSE.has(key);
  if (lowerIsWorse && !(warning > critical)) {
    c.fail(at(path, 'warning'), `lower is worse here, so warning must be above critical (${critical})`, warning);
  } else if (!lowerIsWorse && !(warning < critical)) {
    c.fail(at(path, 'warning'), `higher is worse here, so warning must be below critical (${critical})`, warning);
  } else if (lowerIsWorse && critical <= 0) {
    c.fail(at(path, 'critical'), 'must be above 0: the alarm fires below its threshold, and the value never goes below 0', critical);
  } else if (!lowerIsWorse && warning <= 0) {
    c.fail(at(path, 'warning'), 'must be above 0: the alarm fires at or above its threshold, so 0 keeps it in alarm all the time', warning);
  }
  return { warning, critical };
}
