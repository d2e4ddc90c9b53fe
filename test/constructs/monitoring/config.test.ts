import { describe, expect, it } from 'vitest';
import { MONITORING_DEFAULTS } from '../../../constructs/monitoring';
import { ConfigError, PRESETS, resolveConfig, type AppConfigInput, type MonitoringInput } from '../../../lib/config';
import { buildTestApp, minimalConfig } from '../../helpers/app';

function monitoringOf(monitoring: MonitoringInput | undefined, overrides: Partial<AppConfigInput> = {}) {
  return resolveConfig(minimalConfig({ ...(monitoring ? { monitoring } : {}), ...overrides })).monitoring;
}

function errorsOf(monitoring: unknown): string {
  try {
    resolveConfig({ ...minimalConfig(), monitoring });
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('monitoring config: defaults', () => {
  it('is enabled with no emails and the stage preset thresholds when absent', () => {
    const m = monitoringOf(undefined);
    expect(m).toEqual({ enabled: true, alarmEmails: [], thresholds: PRESETS.growth.monitoring.thresholds });
    expect(m.thresholds.web.p99LatencyMs).toEqual({ warning: 800, critical: 2000 });
  });

  it('sets stage-dependent thresholds: startup is more tolerant of latency and of fleets near their small maximum', () => {
    const startup = monitoringOf(undefined, { stage: 'startup', regions: [{ region: 'us-east-1', vpcCidr: '10.0.0.0/16' }] });
    expect(startup.thresholds.web.p99LatencyMs).toEqual({ warning: 1000, critical: 3000 });
    expect(startup.thresholds.fleets.inServicePercentOfMax).toEqual({ warning: 75, critical: 100 });
    expect(PRESETS.millions.monitoring.thresholds).toEqual(MONITORING_DEFAULTS.thresholds);
    expect(PRESETS.global.monitoring.thresholds.web.p99LatencyMs).toEqual({ warning: 400, critical: 1200 });
  });

  it('merges overrides field by field: one severity given keeps the preset for the other', () => {
    const m = monitoringOf({
      enabled: true,
      alarmEmails: ['ops@example.com', 'pager+shop@example.org'],
      thresholds: { web: { p99LatencyMs: { critical: 2500 } }, database: { freeableMemoryMiB: { warning: 4096, critical: 1024 } } },
    });
    expect(m.alarmEmails).toEqual(['ops@example.com', 'pager+shop@example.org']);
    expect(m.thresholds.web.p99LatencyMs).toEqual({ warning: 800, critical: 2500 });
    expect(m.thresholds.web.errorRatePercent).toEqual(PRESETS.growth.monitoring.thresholds.web.errorRatePercent);
    expect(m.thresholds.database.freeableMemoryMiB).toEqual({ warning: 4096, critical: 1024 });
  });
});

describe('monitoring config: errors', () => {
  it('fails on invalid, duplicate or too many email addresses', () => {
    const msg = errorsOf({ alarmEmails: ['ops@example.com', 'not-an-email', 'ops@example.com', 42] });
    expect(msg).toContain('monitoring.alarmEmails[1]: must be an email address like ops@example.com (got: "not-an-email")');
    expect(msg).toContain('monitoring.alarmEmails[2]: duplicate address (got: "ops@example.com")');
    expect(msg).toContain('monitoring.alarmEmails[3]: must be a string (got: 42)');
    expect(errorsOf({ alarmEmails: 'ops@example.com' })).toContain('monitoring.alarmEmails: must be an array');
  });

  it('fails when warning is not below critical where higher is worse, or not above it where lower is worse', () => {
    const msg = errorsOf({ thresholds: { cache: { cpuPercent: { warning: 95, critical: 90 } }, database: { freeableMemoryMiB: { warning: 256, critical: 1024 } } } });
    expect(msg).toContain('monitoring.thresholds.cache.cpuPercent.warning: higher is worse here, so warning must be below critical (90) (got: 95)');
    expect(msg).toContain('monitoring.thresholds.database.freeableMemoryMiB.warning: lower is worse here, so warning must be above critical (1024) (got: 256)');
  });

  it('fails when a warning override crosses the preset critical', () => {
    expect(errorsOf({ thresholds: { web: { p99LatencyMs: { warning: 5000 } } } }))
      .toContain('monitoring.thresholds.web.p99LatencyMs.warning: higher is worse here, so warning must be below critical (2000) (got: 5000)');
  });

  it('fails on non-numbers, negative numbers and percentages above 100', () => {
    const msg = errorsOf({ thresholds: { web: { errorRatePercent: { warning: '1', critical: 101 } }, queues: { deadLetterMessages: { warning: -1 } } } });
    expect(msg).toContain('monitoring.thresholds.web.errorRatePercent.warning: must be a number (got: "1")');
    expect(msg).toContain('monitoring.thresholds.web.errorRatePercent.critical: must be at most 100 (got: 101)');
    expect(msg).toContain('monitoring.thresholds.queues.deadLetterMessages.warning: must be at least 0 (got: -1)');
  });

  it('fails on unknown keys at every level, with a hint', () => {
    const msg = errorsOf({ enable: true, thresholds: { webb: {}, cache: { cpu: {} }, fleets: { inServicePercentOfMax: { warn: 1 } } } });
    expect(msg).toContain('monitoring.enable: unknown key (did you mean "enabled"?)');
    expect(msg).toContain('monitoring.thresholds.webb: unknown key (did you mean "web"?)');
    expect(msg).toContain('monitoring.thresholds.cache.cpu: unknown key');
    expect(msg).toContain('monitoring.thresholds.fleets.inServicePercentOfMax.warn: unknown key');
    expect(errorsOf({ enabled: 'yes' })).toContain('monitoring.enabled: must be true or false (got: "yes")');
  });
});

describe('monitoring config: enabled false', () => {
  it('creates no dashboard, alarm topic, alarms or monitoring outputs in the app stack', () => {
    const built = buildTestApp(minimalConfig({ monitoring: { enabled: false } }));
    const app = built.regions['eu-west-1'].app;
    expect(app.monitoring).toBeUndefined();
    expect(app.alarmTopic).toBeUndefined();
    expect(app.node.tryFindChild('DashboardName')).toBeUndefined();
    expect(app.node.tryFindChild('Monitoring')).toBeUndefined();
  });
});
