import { Annotations, Token } from 'aws-cdk-lib/core';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { validationError } from '../common/errors';
import type { WebTier } from '../web-tier';
import type { IWorkQueue } from '../work-queue';
import { MONITORING_DEFAULTS } from './defaults';
import { mergeThresholds, thresholdProblems, type MonitoringThresholds, type MonitoringThresholdsInput, type SeverityThresholds } from './thresholds';

/**
 * What {@link RegionMonitoring} needs from a database: the metric helpers of a database construct (an
 * Aurora cluster, or one shard of it). Structural, so any construct with these methods fits; every
 * helper returns a metric in the unit named here.
 */
export interface IDatabaseMetrics {
  /** `CPUUtilization` in % of the writer (a cluster-wide average would let idle readers hide a saturated writer). */
  metricWriterCpuUtilization(opts?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  /** `CPUUtilization` in % of the readers (the average reader autoscaling tracks). */
  metricReaderCpuUtilization(opts?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  /** `DatabaseConnections`: open client connections. */
  metricDatabaseConnections(opts?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  /** `FreeableMemory` in bytes (the instance with the least). */
  metricFreeableMemory(opts?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  /** `CommitLatency` in milliseconds. */
  metricCommitLatency(opts?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  /** `AuroraReplicaLag` in milliseconds (the most lagging reader). */
  metricReplicaLag(opts?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  /**
   * The Global Database lag of this region's cluster behind the writer's region, in milliseconds (`AuroraDatabase`:
   * `AuroraGlobalDBRPOLag`, published for the regions without the writer). Read only when
   * `RegionMonitoringProps.watchGlobalReplicationLag` is true.
   * @default - no Global Database lag alarm or graph
   */
  metricGlobalReplicationLag?(opts?: cloudwatch.MetricOptions): cloudwatch.IMetric | undefined;
  /**
   * `ServerlessDatabaseCapacity` in ACUs, undefined for a cluster without Serverless v2 instances: graphed on
   * the dashboard (it is what the database is billed for).
   * @default - no capacity graph
   */
  metricServerlessDatabaseCapacity?(opts?: cloudwatch.MetricOptions): cloudwatch.IMetric | undefined;
}

/**
 * What {@link RegionMonitoring} needs from a cache: the metric helpers of `CacheCluster`. The CPU and memory
 * metrics get alarms, so they must be single metrics or metric math (not `SEARCH`); the rest are graphed only.
 */
export interface ICacheMetrics {
  /** Engine CPU % of the primaries (the busiest one where the metric allows). */
  metricEngineCpu(opts?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  /** Memory used for data, % of `maxmemory` on the primaries (the fullest one where the metric allows). */
  metricMemoryUsagePercent(opts?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  /** Evicted keys, all nodes. */
  metricEvictions(opts?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  /** Client connections, all nodes. */
  metricCurrentConnections(opts?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  /** Cache hit rate %. */
  metricCacheHitRate(opts?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  /** Replication lag in seconds of the most lagging replica. */
  metricReplicationLag(opts?: cloudwatch.MetricOptions): cloudwatch.IMetric;
}

/** A fleet to watch: anything with an Auto Scaling group (`Fleet`, `WorkerFleet`). */
export interface IMonitoredFleet {
  /** The fleet's Auto Scaling group (group metrics must be enabled, as `Fleet` does). */
  readonly autoScalingGroup: autoscaling.IAutoScalingGroup;
  /** Memory used on the fleet's instances, % (the CloudWatch agent's). @default - no memory graph for the fleet */
  metricMemoryUtilization?(opts?: cloudwatch.MetricOptions): cloudwatch.IMetric;
  /** Root volume used on the fleet's instances, % (the CloudWatch agent's). @default - no disk graph for the fleet */
  metricDiskUtilization?(opts?: cloudwatch.MetricOptions): cloudwatch.IMetric;
}

/** A work queue to watch, with the fleet that drains it. */
export interface MonitoredQueue {
  /** Name shown on the dashboard and in alarm ids (`[A-Za-z0-9-]`, unique). */
  readonly name: string;
  /** The queue and its dead-letter queue. */
  readonly workQueue: IWorkQueue;
  /** The workers. @default - no worker widgets or alarms */
  readonly workers?: IMonitoredFleet;
}

/** Alarm severity. */
export enum AlarmSeverity {
  /** Someone should look during working hours. */
  WARNING = 'Warning',
  /** Users are (or are about to be) affected; part of the region's health composite alarm. */
  CRITICAL = 'Critical',
}

/** One alarm {@link RegionMonitoring} created. */
export interface MonitoringAlarm {
  /** The alarm. */
  readonly alarm: cloudwatch.Alarm;
  /** Its severity. */
  readonly severity: AlarmSeverity;
  /** The tier it watches: `web`, `fleets`, `database`, `cache`, `queues` or `secrets`. */
  readonly tier: string;
  /**
   * True when the alarm watches one metric with a plain statistic (no metric math, no percentile), the
   * only kind a Route 53 `CLOUDWATCH_METRIC` health check accepts.
   */
  readonly route53Compatible: boolean;
  /**
   * True when, while it fires, the region cannot serve its users and DNS should send them elsewhere (a
   * service with no healthy target). Alarms about capacity, lag or backlogs are not: moving users would not
   * help, and a dead-letter queue that stays full would keep the region out of DNS.
   */
  readonly drainsRegion: boolean;
}

/**
 * Web services and queues whose alarms are created in another scope, typically the nested stack that holds their
 * fleets, behind a composite alarm of their own: the region's composite alarm then references that one alarm instead
 * of each of theirs, which keeps its rule under CloudWatch's 10,240 characters with dozens of services or queues.
 */
export interface MonitoringAlarmGroup {
  /** Where the group's alarms go (a construct `Monitoring` is created in it) and its composite alarm (`GroupHealth`). */
  readonly scope: Construct;
  /** Names of the web tier's services in the group; a service belongs to at most one group. @default - none */
  readonly services?: string[];
  /** Names of `queues` entries in the group (their and their workers' alarms); a queue belongs to at most one group. @default - none */
  readonly queues?: string[];
  /** Title of the group's rows of service graphs on the dashboard. @default - 'Services ' and the services' names */
  readonly title?: string;
}

/** A secret rotation to watch: its function's errors mean the rotation failed. */
export interface MonitoredSecretRotation {
  /** Name shown in the alarm id and description (`[A-Za-z0-9-]`, unique), e.g. `database`. */
  readonly name: string;
  /** Errors of the rotation function (`AWS/Lambda` `Errors`, Sum). */
  readonly errors: cloudwatch.IMetric;
}

/** A shard of the region's database, watched as the database is (see {@link RegionMonitoringProps.shards}). */
export interface MonitoredShard {
  /** The shard's id in the shard map (`s1`): part of its alarms' ids (`DatabaseS1WriterCpu`) and descriptions. */
  readonly id: string;
  /** The shard's cluster. */
  readonly database: IDatabaseMetrics;
}

/** Properties of a {@link RegionMonitoring}. */
export interface RegionMonitoringProps {
  /** The region's web tier: load balancer, services and their fleets. */
  readonly webTier: WebTier;
  /** Every alarm (and the composite alarm) notifies this topic; it is not created here. */
  readonly alarmTopic: sns.ITopic;
  /** The region's cache. @default - no cache widgets or alarms */
  readonly cache?: ICacheMetrics;
  /** The region's database (shard 0 of a sharded one). @default - no database widgets or alarms */
  readonly database?: IDatabaseMetrics;
  /**
   * The region's other shards, by shard id: the same alarms (ids `Database<Id>…`, e.g. `DatabaseS1WriterCpu`) and
   * dashboard rows each, since a saturated writer of any shard fails the requests it holds.
   * @default - none
   */
  readonly shards?: ReadonlyArray<MonitoredShard>;
  /**
   * The database is a secondary of an Aurora Global Database, its region without the writer: watch its lag behind
   * the writer's region (`metricGlobalReplicationLag`). After a switchover, the demoted primary's region.
   * @default false
   */
  readonly watchGlobalReplicationLag?: boolean;
  /** Work queues and their worker fleets. @default - none */
  readonly queues?: MonitoredQueue[];
  /** Secret rotations: a Warning alarm each when the rotation function fails. @default - none */
  readonly secretRotations?: MonitoredSecretRotation[];
  /**
   * Web services and queues whose alarms live elsewhere, each group behind a composite alarm of its own (see
   * {@link MonitoringAlarmGroup}); a group's services get graph rows of their own on the dashboard.
   * @default - every alarm is created here and the region's composite alarm references each Critical one
   */
  readonly alarmGroups?: MonitoringAlarmGroup[];
  /**
   * Thresholds, merged field by field over the defaults.
   * @default - `MONITORING_DEFAULTS.thresholds`
   */
  readonly thresholds?: MonitoringThresholdsInput;
  /**
   * Dashboard name (letters, digits, `-` and `_`, at most 255).
   * @default - a name generated by CloudFormation
   */
  readonly dashboardName?: string;
  /**
   * Send a notification when an alarm returns to OK, too.
   * @default true
   */
  readonly notifyOnOk?: boolean;
}

const STANDARD_STATISTICS = new Set(['Average', 'Minimum', 'Maximum', 'Sum', 'SampleCount']);
const NAME = /^[A-Za-z0-9-]+$/;

/**
 * The monitoring of one region: one CloudWatch dashboard with the golden signals of every tier, Warning and
 * Critical alarms with the given thresholds, all notifying `alarmTopic`, and one composite alarm,
 * {@link regionHealthAlarm}, in ALARM when any Critical alarm is.
 *
 * Route 53 `CLOUDWATCH_METRIC` health checks accept only single-metric alarms with a plain statistic, not
 * composite alarms: for DNS failover use {@link route53HealthAlarms} (one health check each, combined by a
 * `CALCULATED` health check); the composite alarm is the one to page on and to show.
 */
export class RegionMonitoring extends Construct {
  /** The region's dashboard. */
  public readonly dashboard: cloudwatch.Dashboard;
  /** The composite alarm: in ALARM when any Critical alarm is. */
  public readonly regionHealthAlarm: cloudwatch.IAlarm;
  /** Every alarm created, with its severity and tier. */
  public readonly alarms: MonitoringAlarm[] = [];
  /** The thresholds in force (defaults merged with the given ones). */
  public readonly thresholds: MonitoringThresholds;
  /** One composite alarm per {@link RegionMonitoringProps.alarmGroups} entry, in ALARM when any Critical alarm of its services or queues is. */
  public readonly alarmGroupHealthAlarms: cloudwatch.CompositeAlarm[] = [];
  /**
   * What the region's health alarm ORs: every Critical alarm (a group's through its composite) but those that can
   * stay in ALARM for hours (a fleet at 95 % of its maximum, a dead-letter queue until redriven, Global Database lag),
   * which notify the topic on their own.
   */
  public readonly regionHealthMembers: cloudwatch.IAlarm[];
  private readonly topic: sns.ITopic;
  /** Where the alarms of each grouped service go. */
  private readonly alarmScopes = new Map<string, Construct>();
  /** Where the alarms of each grouped queue go. */
  private readonly queueAlarmScopes = new Map<string, Construct>();
  /** Alarms created in a group's scope: the group's composite alarm references them, the region's does not. */
  private readonly groupedAlarms = new Set<cloudwatch.Alarm>();
  private readonly notifyOnOk: boolean;

  constructor(scope: Construct, id: string, props: RegionMonitoringProps) {
    super(scope, id);
    this.thresholds = mergeThresholds(MONITORING_DEFAULTS.thresholds, props.thresholds);
    validate(this, props, this.thresholds);
    this.topic = props.alarmTopic;
    this.notifyOnOk = props.notifyOnOk ?? true;
    const groups = props.alarmGroups ?? [];
    const grouped = new Set(groups.flatMap((g) => g.services ?? []));
    for (const g of groups) {
      const scope = new Construct(g.scope, 'Monitoring');
      for (const name of g.services ?? []) this.alarmScopes.set(name, scope);
      for (const name of g.queues ?? []) this.queueAlarmScopes.set(name, scope);
    }

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      ...(props.dashboardName !== undefined ? { dashboardName: props.dashboardName } : {}),
      defaultInterval: MONITORING_DEFAULTS.dashboardRange,
    });
    const rows: cloudwatch.IWidget[][] = [];
    rows.push(...this.web(props.webTier, grouped));
    if (props.database) rows.push(...this.database(props.database, props.watchGlobalReplicationLag ?? false));
    for (const shard of props.shards ?? []) {
      if (!/^[A-Za-z0-9-]+$/.test(shard.id)) throw validationError(this, `RegionMonitoring: shards[].id must be letters, digits and dashes (got: ${JSON.stringify(shard.id)})`);
      rows.push(...this.database(shard.database, props.watchGlobalReplicationLag ?? false, shard.id));
    }
    if (props.cache) rows.push(...this.cache(props.cache));
    for (const q of props.queues ?? []) rows.push(...this.queue(q));
    rows.push(...this.hosts([
      ...Object.values(props.webTier.services).map((svc) => ({ name: svc.name, fleet: svc.fleet as IMonitoredFleet })),
      ...(props.queues ?? []).filter((q) => q.workers).map((q) => ({ name: `${q.name} workers`, fleet: q.workers! })),
    ]));
    for (const r of props.secretRotations ?? []) this.rotation(r);
    for (const g of groups) rows.push(...this.alarmGroup(props.webTier, g));

    const critical = [...this.criticalAlarms.filter((a) => !this.groupedAlarms.has(a)), ...this.alarmGroupHealthAlarms];
    // Criticals that can stay in ALARM for hours are left out of the region's health alarm (they notify the topic on
    // their own): a fleet at 95 % of its maximum through a peak, a dead-letter queue until someone redrives it, the
    // Global Database's lag. While one of them held the composite in ALARM, a later outage did not notify again.
    const lasting = (a: cloudwatch.Alarm): boolean => {
      const entry = this.alarms.find((x) => x.alarm === a);
      return entry?.tier === 'fleets' || a.node.id.startsWith('QueueDeadLetters') || a.node.id.includes('GlobalReplicationLag');
    };
    const pages = critical.filter((a) => !(a instanceof cloudwatch.Alarm && lasting(a)));
    this.regionHealthMembers = pages;
    const composite = new cloudwatch.CompositeAlarm(this, 'RegionHealth', {
      alarmRule: cloudwatch.AlarmRule.anyOf(...pages.map((a) => cloudwatch.AlarmRule.fromAlarm(a, cloudwatch.AlarmState.ALARM))),
      alarmDescription: `Critical: the region is unhealthy, one of its ${pages.length} Critical alarms is in ALARM. See the dashboard for which tier.`,
    });
    this.addActions(composite);
    this.regionHealthAlarm = composite;

    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Region health and Critical alarms', alarms: [composite, ...critical], width: 24, height: 4 }),
    );
    for (const row of rows) this.dashboard.addWidgets(...row);
  }

  /** Critical alarms (the operands of the composite alarm). */
  public get criticalAlarms(): cloudwatch.Alarm[] {
    return this.alarms.filter((a) => a.severity === AlarmSeverity.CRITICAL).map((a) => a.alarm);
  }

  /** Warning alarms. */
  public get warningAlarms(): cloudwatch.Alarm[] {
    return this.alarms.filter((a) => a.severity === AlarmSeverity.WARNING).map((a) => a.alarm);
  }

  /** Critical alarms a Route 53 `CLOUDWATCH_METRIC` health check accepts (single metric, plain statistic). */
  public get route53HealthAlarms(): cloudwatch.IAlarm[] {
    return this.alarms.filter((a) => a.severity === AlarmSeverity.CRITICAL && a.route53Compatible).map((a) => a.alarm);
  }

  /**
   * The alarms that should take the region out of DNS while they fire (`drainsRegion`), all of them accepted by
   * Route 53 health checks: give them to `GeoDns.drainAlarms`.
   */
  public get regionDrainAlarms(): cloudwatch.IAlarm[] {
    return this.alarms.filter((a) => a.severity === AlarmSeverity.CRITICAL && a.route53Compatible && a.drainsRegion).map((a) => a.alarm);
  }

  private web(web: WebTier, grouped: ReadonlySet<string>): cloudwatch.IWidget[][] {
    const t = this.thresholds;
    const services = Object.values(web.services).filter((s) => !grouped.has(s.name));
    const lb = web.loadBalancer.metrics;
    const minute = { period: MONITORING_DEFAULTS.period };
    const errorRate = new cloudwatch.MathExpression({
      expression: `IF(r >= ${MONITORING_DEFAULTS.errorRateMinRequests}, 100 * (FILL(t, 0) + FILL(e, 0)) / r, 0)`,
      usingMetrics: {
        r: web.metricRequestCount({ statistic: 'Sum' }),
        t: web.metricHttp5xx(undefined, { statistic: 'Sum' }),
        e: web.metricElb5xx({ statistic: 'Sum' }),
      },
      label: '5xx % of requests',
      period: MONITORING_DEFAULTS.period,
    });
    this.addAlarmPair('Web5xxRate', 'web', errorRate, t.web.errorRatePercent, {
      what: '5xx responses (targets and load balancer) as % of requests',
      unit: '%',
    });

    for (const s of Object.values(web.services)) this.serviceAlarms(web, s.name);

    const per = (fn: (name: string) => cloudwatch.IMetric, label: string) => services.map((s) => withLabel(fn(s.name), `${s.name} ${label}`));
    return [
      [text('Web tier', 'Load balancer requests, latency, errors and hosts; fleets in service against their maximum.')],
      [
        graph('Requests per minute', [withLabel(web.metricRequestCount({ statistic: 'Sum' }), 'load balancer'), ...per((n) => web.metricRequestCountPerTarget(n), 'per target')]),
        graph('Latency p50 / p99 (s)', [...per((n) => web.metricTargetResponseTime(n, { statistic: 'p50' }), 'p50'), ...per((n) => web.metricTargetResponseTime(n, { statistic: 'p99' }), 'p99')],
          this.latencyLines()),
        graph('HTTP 4xx / 5xx', [
          withLabel(lb.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_4XX_COUNT, { ...minute, statistic: 'Sum' }), 'target 4xx'),
          withLabel(lb.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { ...minute, statistic: 'Sum' }), 'target 5xx'),
          withLabel(lb.httpCodeElb(elbv2.HttpCodeElb.ELB_4XX_COUNT, { ...minute, statistic: 'Sum' }), 'ELB 4xx'),
          withLabel(web.metricElb5xx({ statistic: 'Sum' }), 'ELB 5xx'),
        ], undefined, [errorRate]),
      ],
      this.hostGraphs(web, services),
    ];
  }

  /**
   * The rows of a group of services (their alarms were made with the others'), then the group's composite alarm.
   * Each graph holds the group's services only, which keeps it under CloudWatch's 100 metrics per graph.
   */
  private alarmGroup(web: WebTier, g: MonitoringAlarmGroup): cloudwatch.IWidget[][] {
    const scope = g.scope.node.findChild('Monitoring');
    const critical = this.criticalAlarms.filter((a) => a.node.scope === scope);
    const what = [g.services?.length ? `services ${g.services.join(', ')}` : '', g.queues?.length ? `queues ${g.queues.join(', ')}` : ''].filter(Boolean).join(' and ');
    const composite = new cloudwatch.CompositeAlarm(g.scope, 'GroupHealth', {
      alarmRule: cloudwatch.AlarmRule.anyOf(...critical.map((a) => cloudwatch.AlarmRule.fromAlarm(a, cloudwatch.AlarmState.ALARM))),
      alarmDescription: `Critical: one of the ${critical.length} Critical alarms of ${what} is in ALARM. Part of the region's health alarm.`,
    });
    this.addActions(composite);
    this.alarmGroupHealthAlarms.push(composite);
    if (!g.services?.length) return [];

    const services = g.services.map((n) => web.services[n]).filter((s) => s !== undefined);
    const per = (fn: (name: string) => cloudwatch.IMetric, label: string) => services.map((s) => withLabel(fn(s.name), `${s.name} ${label}`));
    return [
      [text(g.title ?? `Services ${g.services.join(', ')}`, 'Requests, latency and hosts of these services; fleets in service against their maximum.')],
      [
        graph('Requests per target per minute', per((n) => web.metricRequestCountPerTarget(n), 'per target'), undefined, undefined, 12),
        graph('Latency p50 / p99 (s)', [...per((n) => web.metricTargetResponseTime(n, { statistic: 'p50' }), 'p50'), ...per((n) => web.metricTargetResponseTime(n, { statistic: 'p99' }), 'p99')],
          this.latencyLines(), undefined, 12),
      ],
      this.hostGraphs(web, services),
    ];
  }

  private latencyLines(): cloudwatch.HorizontalAnnotation[] {
    const t = this.thresholds;
    return [{ value: t.web.p99LatencyMs.warning / 1000, label: 'p99 warning' }, { value: t.web.p99LatencyMs.critical / 1000, label: 'p99 critical', color: RED }];
  }

  private hostGraphs(web: WebTier, services: ReadonlyArray<{ name: string; fleet: IMonitoredFleet }>): cloudwatch.IWidget[] {
    const t = this.thresholds;
    const per = (fn: (name: string) => cloudwatch.IMetric, label: string) => services.map((s) => withLabel(fn(s.name), `${s.name} ${label}`));
    return [
      graph('Healthy / unhealthy hosts', [...per((n) => web.metricHealthyHosts(n), 'healthy'), ...per((n) => web.metricUnhealthyHosts(n), 'unhealthy')]),
      graph('Fleets: in service vs max', services.flatMap((s) => fleetSize(s.fleet.autoScalingGroup, s.name))),
      graph('Fleets: in service % of max', services.map((s, i) => withLabel(inServicePercent(s.fleet.autoScalingGroup, `_${i}`), s.name)), this.percentLines(t.fleets.inServicePercentOfMax)),
    ];
  }

  /** The alarms of one web service, in its group's scope when it has one. */
  private serviceAlarms(web: WebTier, name: string): void {
    const t = this.thresholds;
    const s = web.services[name];
    const scope = this.alarmScopes.get(name) ?? this;
    const key = pascalId(s.name);
    this.addAlarmPair(`WebLatency${key}`, 'web', web.metricTargetResponseTime(s.name, { statistic: 'p99' }), t.web.p99LatencyMs, {
      what: `p99 response time of service ${s.name}`,
      unit: 'ms',
      scale: 1 / 1000,
    }, scope);
    this.addAlarm(`WebNoHealthyHosts${key}Critical`, 'web', AlarmSeverity.CRITICAL, web.metricHealthyHosts(s.name), {
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      description: `Service ${s.name} has no healthy target: every request to it fails.`,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      drainsRegion: true,
    }, scope);
    this.addAlarm(`WebUnhealthyHosts${key}Warning`, 'web', AlarmSeverity.WARNING, web.metricUnhealthyHosts(s.name), {
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      description: `Service ${s.name} has unhealthy targets; the fleet should replace them.`,
    }, scope);
    this.fleetAlarms(`Fleet${key}`, `web service ${s.name}`, s.fleet, scope);
  }

  private fleetAlarms(id: string, what: string, fleet: IMonitoredFleet, scope: Construct = this): void {
    this.addAlarmPair(id, 'fleets', inServicePercent(fleet.autoScalingGroup), this.thresholds.fleets.inServicePercentOfMax, {
      what: `in-service instances of ${what} as % of its maximum size (raise maxCapacity before it is reached)`,
      unit: '%',
    }, scope);
  }

  /**
   * The alarms and rows of one database cluster: the region's (shard 0; ids `Database…`, kept as they were before
   * shards were watched) or shard `shard`'s (ids `Database<Shard>…`).
   */
  private database(db: IDatabaseMetrics, watchGlobal: boolean, shard?: string): cloudwatch.IWidget[][] {
    const t = this.thresholds.database;
    const id = (name: string): string => (shard === undefined ? `Database${name}` : `Database${pascal(shard)}${name}`);
    const of = shard === undefined ? 'database' : `database shard ${shard}`;
    // Per role: the writer alone takes the writes, and a cluster average would let idle readers hide it.
    this.addAlarmPair(id('WriterCpu'), 'database', db.metricWriterCpuUtilization(), t.cpuPercent, { what: `${of} writer CPU`, unit: '%' });
    this.addAlarmPair(id('ReaderCpu'), 'database', db.metricReaderCpuUtilization(), t.cpuPercent, { what: `average ${of} reader CPU (reader autoscaling cannot keep up or is at maxReaders)`, unit: '%' });
    this.addAlarmPair(id('ReplicaLag'), 'database', db.metricReplicaLag(), t.replicaLagMs, { what: shard === undefined ? 'Aurora replica lag of the readers' : `Aurora replica lag of the ${of} readers`, unit: 'ms' });
    this.addAlarmPair(id('CommitLatency'), 'database', db.metricCommitLatency(), t.commitLatencyMs, { what: `${of} commit latency`, unit: 'ms' });
    this.addAlarmPair(id('FreeableMemory'), 'database', db.metricFreeableMemory(), t.freeableMemoryMiB, {
      what: `${of} freeable memory`, unit: 'MiB', scale: 1024 * 1024, lowerIsWorse: true,
    });
    const global = watchGlobal ? db.metricGlobalReplicationLag?.() : undefined;
    const acu = db.metricServerlessDatabaseCapacity?.();
    if (global) this.addAlarmPair(id('GlobalReplicationLag'), 'database', global, t.globalReplicationLagMs, { what: shard === undefined ? 'Global Database replication lag of this region' : `Global Database replication lag of this region (${of})`, unit: 'ms' });
    if (shard !== undefined) {
      // One composite per shard in the region's health alarm, not its alarms one by one: CloudWatch caps an alarm rule
      // at 10,240 characters, and ten shards' Critical alarms by ARN go past it.
      const prefix = id('');
      const critical = this.criticalAlarms.filter((a) => a.node.scope === this && a.node.id.startsWith(prefix) && !this.groupedAlarms.has(a));
      for (const a of critical) this.groupedAlarms.add(a);
      const composite = new cloudwatch.CompositeAlarm(this, `${prefix}Health`, {
        alarmRule: cloudwatch.AlarmRule.anyOf(...critical.map((a) => cloudwatch.AlarmRule.fromAlarm(a, cloudwatch.AlarmState.ALARM))),
        alarmDescription: `Critical: one of the ${critical.length} Critical alarms of ${of} is in ALARM. Part of the region's health alarm.`,
      });
      this.addActions(composite);
      this.alarmGroupHealthAlarms.push(composite);
    }
    return [
      [text(shard === undefined ? 'Database' : `Database shard ${shard}`, 'Aurora CPU (writer and readers), connections, replica lag, commit latency and freeable memory.')],
      [
        graph('CPU % by role', [withLabel(db.metricWriterCpuUtilization(), 'writer'), withLabel(db.metricReaderCpuUtilization(), 'readers (average)')], this.percentLines(t.cpuPercent)),
        graph('Connections', [db.metricDatabaseConnections()]),
        graph('Replica lag (ms)', [withLabel(db.metricReplicaLag(), 'Aurora replica lag'), ...(global ? [withLabel(global, 'Global Database lag')] : [])], this.percentLines(t.replicaLagMs)),
      ],
      [
        graph('Commit latency (ms)', [db.metricCommitLatency()], this.percentLines(t.commitLatencyMs)),
        graph('Freeable memory (bytes)', [db.metricFreeableMemory()], [
          { value: t.freeableMemoryMiB.warning * 1024 * 1024, label: 'warning' },
          { value: t.freeableMemoryMiB.critical * 1024 * 1024, label: 'critical', color: RED },
        ]),
        ...(acu ? [graph('Serverless v2 capacity (ACU, billed)', [acu])] : []),
      ],
    ];
  }

  private cache(cache: ICacheMetrics): cloudwatch.IWidget[][] {
    const t = this.thresholds.cache;
    this.addAlarmPair('CacheCpu', 'cache', cache.metricEngineCpu(), t.cpuPercent, { what: 'cache engine CPU of the primaries', unit: '%' });
    // The memory alarm fires before eviction starts (at 100 % of maxmemory); evictions themselves are summed over
    // every node with SEARCH, which alarms do not accept, so they are graphed against their thresholds only.
    this.addAlarmPair('CacheMemory', 'cache', cache.metricMemoryUsagePercent(), t.memoryPercent, { what: 'cache memory used by data on the primaries (% of maxmemory; eviction starts at 100 %)', unit: '%' });
    return [
      [text('Cache', 'ElastiCache engine CPU, memory, hit rate, evictions and connections.')],
      [
        graph('Engine CPU % (primaries)', [cache.metricEngineCpu()], this.percentLines(t.cpuPercent)),
        graph('Memory used % of maxmemory (primaries)', [cache.metricMemoryUsagePercent()], this.percentLines(t.memoryPercent)),
        graph('Hit rate %', [cache.metricCacheHitRate()]),
      ],
      [
        graph('Evictions per minute', [cache.metricEvictions()], this.percentLines(t.evictionsPerMinute)),
        graph('Connections', [cache.metricCurrentConnections()]),
        graph('Replication lag (s)', [cache.metricReplicationLag()]),
      ],
    ];
  }

  private queue(q: MonitoredQueue): cloudwatch.IWidget[][] {
    const t = this.thresholds.queues;
    const scope = this.queueAlarmScopes.get(q.name) ?? this;
    const key = pascalId(q.name);
    const latency = q.workQueue.acceptableLatency.toSeconds();
    const minute = { period: MONITORING_DEFAULTS.period, statistic: 'Maximum' };
    const age = q.workQueue.queue.metricApproximateAgeOfOldestMessage(minute);
    const dlq = q.workQueue.deadLetterQueue.metricApproximateNumberOfMessagesVisible(minute);
    const ageSeconds: SeverityThresholds = {
      warning: (latency * t.oldestMessageAgePercentOfLatency.warning) / 100,
      critical: (latency * t.oldestMessageAgePercentOfLatency.critical) / 100,
    };
    this.addAlarmPair(`QueueAge${key}`, 'queues', age, ageSeconds, {
      what: `age of the oldest message of queue ${q.name} (acceptable latency ${latency} s)`,
      unit: 's',
    }, scope);
    this.addAlarmPair(`QueueDeadLetters${key}`, 'queues', dlq, t.deadLetterMessages, {
      what: `messages in the dead-letter queue of ${q.name}: jobs that failed every retry`,
      unit: 'messages',
    }, scope);
    if (q.workers) this.fleetAlarms(`Workers${key}`, `the workers of queue ${q.name}`, q.workers, scope);

    const workers = q.workers?.autoScalingGroup;
    const width = workers ? 6 : 8;
    return [
      [text(`Queue ${q.name}`, `Backlog, oldest message against the acceptable latency (${latency} s), dead letters and workers.`)],
      [
        graph('Backlog and in flight', [
          withLabel(q.workQueue.metricBacklog(), 'visible (backlog)'),
          withLabel(q.workQueue.queue.metricApproximateNumberOfMessagesNotVisible(minute), 'in flight'),
          ...(workers ? [withLabel(backlogPerInstance(q.workQueue, workers), 'backlog per worker')] : []),
        ], [{ value: q.workQueue.targetBacklogPerInstance, label: 'target backlog per worker' }], undefined, width),
        graph('Oldest message age (s)', [age], [
          { value: latency, label: 'acceptable latency' },
          { value: ageSeconds.critical, label: 'critical', color: RED },
        ], undefined, width),
        graph('Dead-letter queue depth', [dlq], this.percentLines(t.deadLetterMessages), undefined, width),
        ...(workers ? [graph('Workers: in service vs max', fleetSize(workers, 'workers'), undefined, undefined, width)] : []),
      ],
    ];
  }

  /** Memory and root volume use of every fleet's instances (the CloudWatch agent's metrics), when it reports them. */
  private hosts(fleets: Array<{ name: string; fleet: IMonitoredFleet }>): cloudwatch.IWidget[][] {
    const memory = fleets.flatMap((f) => (f.fleet.metricMemoryUtilization ? [withLabel(f.fleet.metricMemoryUtilization(), f.name)] : []));
    const disk = fleets.flatMap((f) => (f.fleet.metricDiskUtilization ? [withLabel(f.fleet.metricDiskUtilization(), f.name)] : []));
    if (memory.length === 0 && disk.length === 0) return [];
    return [
      [text('Hosts', 'Memory and root volume used on the fleets\' instances (CloudWatch agent, the fullest instance of each fleet).')],
      [
        graph('Memory used % (fullest instance)', memory, undefined, undefined, 12),
        graph('Root volume used % (fullest instance)', disk, undefined, undefined, 12),
      ],
    ];
  }

  /** A Warning alarm when a secret rotation's function fails (any error in 5 minutes; rotations are rare). */
  private rotation(r: MonitoredSecretRotation): void {
    const alarm = new cloudwatch.Alarm(this, `SecretRotation${pascalId(r.name)}Warning`, {
      metric: r.errors,
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `${AlarmSeverity.WARNING} (secrets): the rotation of the ${r.name} secret failed; its function's log group says why. The secret keeps its current value until a rotation succeeds.`,
    });
    this.addActions(alarm);
    this.alarms.push({ alarm, severity: AlarmSeverity.WARNING, tier: 'secrets', route53Compatible: isRoute53Compatible(r.errors), drainsRegion: false });
  }

  /** A Warning and a Critical alarm on one metric; `scale` converts the configured unit to the metric's. */
  private addAlarmPair(id: string, tier: string, metric: cloudwatch.IMetric, thresholds: SeverityThresholds,
    o: { what: string; unit: string; scale?: number; lowerIsWorse?: boolean }, scope: Construct = this): void {
    for (const severity of [AlarmSeverity.WARNING, AlarmSeverity.CRITICAL]) {
      const configured = severity === AlarmSeverity.WARNING ? thresholds.warning : thresholds.critical;
      const comparison = o.lowerIsWorse
        ? cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD
        : cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD;
      this.addAlarm(`${id}${severity}`, tier, severity, metric, {
        threshold: configured * (o.scale ?? 1),
        comparisonOperator: comparison,
        description: `${o.what} ${o.lowerIsWorse ? 'below' : 'at or above'} ${configured} ${o.unit}.`,
      }, scope);
    }
  }

  private addAlarm(id: string, tier: string, severity: AlarmSeverity, metric: cloudwatch.IMetric,
    o: { threshold: number; comparisonOperator: cloudwatch.ComparisonOperator; description: string; treatMissingData?: cloudwatch.TreatMissingData; drainsRegion?: boolean },
    scope: Construct = this): void {
    if (metric instanceof cloudwatch.MathExpression && metric.expression.includes('SEARCH(')) {
      // CloudWatch cannot alarm on SEARCH expressions (the cache uses them above 10 nodes).
      Annotations.of(this).addWarningV2('scale-to-millions:monitoring-alarm-skipped',
        `RegionMonitoring: no ${severity} alarm ${id}: its metric is a SEARCH expression, which CloudWatch alarms do not accept; it stays on the dashboard.`);
      return;
    }
    const alarm = new cloudwatch.Alarm(scope, id, {
      metric,
      threshold: o.threshold,
      comparisonOperator: o.comparisonOperator,
      evaluationPeriods: MONITORING_DEFAULTS.evaluationPeriods,
      datapointsToAlarm: MONITORING_DEFAULTS.datapointsToAlarm,
      treatMissingData: o.treatMissingData ?? cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `${severity} (${tier}): ${o.description}`,
    });
    this.addActions(alarm);
    if (scope !== this) this.groupedAlarms.add(alarm);
    this.alarms.push({ alarm, severity, tier, route53Compatible: isRoute53Compatible(metric), drainsRegion: o.drainsRegion ?? false });
  }

  private addActions(alarm: cloudwatch.AlarmBase): void {
    const action = new cwActions.SnsAction(this.topic);
    alarm.addAlarmAction(action);
    if (this.notifyOnOk) alarm.addOkAction(action);
  }

  private percentLines(t: SeverityThresholds): cloudwatch.HorizontalAnnotation[] {
    return [{ value: t.warning, label: 'warning' }, { value: t.critical, label: 'critical', color: RED }];
  }
}

const RED = '#d62728';

function validate(scope: Construct, props: RegionMonitoringProps, thresholds: MonitoringThresholds): void {
  const fail = (message: string) => validationError(scope, message);
  const problems = thresholdProblems(thresholds);
  if (problems.length > 0) throw fail(`RegionMonitoring: invalid thresholds: ${problems.join('; ')}`);
  const names = new Set<string>();
  for (const [i, q] of (props.queues ?? []).entries()) {
    if (!NAME.test(q.name)) throw fail(`RegionMonitoring: queues[${i}].name must be letters, digits and dashes (got: ${JSON.stringify(q.name)})`);
    if (names.has(pascalId(q.name))) throw fail(`RegionMonitoring: queues[${i}].name is a duplicate (got: ${JSON.stringify(q.name)})`);
    names.add(pascalId(q.name));
  }
  const rotations = new Set<string>();
  for (const [i, r] of (props.secretRotations ?? []).entries()) {
    if (!NAME.test(r.name)) throw fail(`RegionMonitoring: secretRotations[${i}].name must be letters, digits and dashes (got: ${JSON.stringify(r.name)})`);
    if (rotations.has(pascalId(r.name))) throw fail(`RegionMonitoring: secretRotations[${i}].name is a duplicate (got: ${JSON.stringify(r.name)})`);
    rotations.add(pascalId(r.name));
  }
  const inGroup = new Map<string, number>();
  const queueNames = new Set((props.queues ?? []).map((q) => q.name));
  for (const [i, g] of (props.alarmGroups ?? []).entries()) {
    if (!g.services?.length && !g.queues?.length) throw fail(`RegionMonitoring: alarmGroups[${i}] must name at least one service or queue (got: none)`);
    for (const name of g.services ?? []) {
      if (!props.webTier.services[name]) throw fail(`RegionMonitoring: alarmGroups[${i}].services names no service of the web tier (got: ${JSON.stringify(name)}; have: ${Object.keys(props.webTier.services).join(', ')})`);
      if (inGroup.has(`s:${name}`)) throw fail(`RegionMonitoring: alarmGroups[${i}].services repeats a service of alarmGroups[${inGroup.get(`s:${name}`)}] (got: ${JSON.stringify(name)})`);
      inGroup.set(`s:${name}`, i);
    }
    for (const name of g.queues ?? []) {
      if (!queueNames.has(name)) throw fail(`RegionMonitoring: alarmGroups[${i}].queues names no entry of queues (got: ${JSON.stringify(name)}; have: ${[...queueNames].join(', ')})`);
      if (inGroup.has(`q:${name}`)) throw fail(`RegionMonitoring: alarmGroups[${i}].queues repeats a queue of alarmGroups[${inGroup.get(`q:${name}`)}] (got: ${JSON.stringify(name)})`);
      inGroup.set(`q:${name}`, i);
    }
  }
  if (props.dashboardName !== undefined && !Token.isUnresolved(props.dashboardName) && !/^[A-Za-z0-9_-]{1,255}$/.test(props.dashboardName)) {
    throw fail(`RegionMonitoring: dashboardName must be 1-255 letters, digits, dashes and underscores (got: ${JSON.stringify(props.dashboardName)})`);
  }
}

function isRoute53Compatible(metric: cloudwatch.IMetric): boolean {
  return metric instanceof cloudwatch.Metric && STANDARD_STATISTICS.has(metric.statistic);
}

/** `api-v2` → `ApiV2`. */
function pascalId(name: string): string {
  return name.split(/[^A-Za-z0-9]+/).filter(Boolean).map((p) => p[0].toUpperCase() + p.slice(1)).join('');
}

function groupMetric(asg: autoscaling.IAutoScalingGroup, metricName: string, statistic: string): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/AutoScaling',
    metricName,
    dimensionsMap: { AutoScalingGroupName: asg.autoScalingGroupName },
    statistic,
    period: MONITORING_DEFAULTS.period,
  });
}

/** In-service instances as % of the group's maximum size (both group metrics). */
function inServicePercent(asg: autoscaling.IAutoScalingGroup, suffix = ''): cloudwatch.MathExpression {
  const s = `s${suffix}`;
  const m = `m${suffix}`;
  return new cloudwatch.MathExpression({
    expression: `100 * ${s} / IF(${m} > 0, ${m}, 1)`,
    usingMetrics: { [s]: groupMetric(asg, 'GroupInServiceInstances', 'Average'), [m]: groupMetric(asg, 'GroupMaxSize', 'Maximum') },
    label: 'In service % of max',
    period: MONITORING_DEFAULTS.period,
  });
}

function fleetSize(asg: autoscaling.IAutoScalingGroup, name: string): cloudwatch.IMetric[] {
  return [
    withLabel(groupMetric(asg, 'GroupInServiceInstances', 'Average'), `${name} in service`),
    withLabel(groupMetric(asg, 'GroupDesiredCapacity', 'Maximum'), `${name} desired`),
    withLabel(groupMetric(asg, 'GroupMaxSize', 'Maximum'), `${name} max`),
  ];
}

/** Backlog per in-service worker, as the worker fleet's target tracking sees it. */
function backlogPerInstance(q: IWorkQueue, asg: autoscaling.IAutoScalingGroup): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression: 'b / IF(s > 0, s, 1)',
    usingMetrics: { b: q.metricBacklog(), s: groupMetric(asg, 'GroupInServiceInstances', 'Average') },
    label: 'Backlog per worker',
    period: MONITORING_DEFAULTS.period,
  });
}

function withLabel(metric: cloudwatch.IMetric, label: string): cloudwatch.IMetric {
  if (metric instanceof cloudwatch.Metric) return metric.with({ label });
  if (metric instanceof cloudwatch.MathExpression) return metric.with({ label });
  return metric;
}

function text(title: string, body: string): cloudwatch.TextWidget {
  return new cloudwatch.TextWidget({ markdown: `## ${title}\n${body}`, width: 24, height: 2 });
}

function graph(title: string, left: cloudwatch.IMetric[], leftAnnotations?: cloudwatch.HorizontalAnnotation[], right?: cloudwatch.IMetric[], width = 8): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({
    title,
    left,
    ...(right ? { right } : {}),
    ...(leftAnnotations ? { leftAnnotations } : {}),
    width,
    height: 6,
  });
}

/** `s1` → `S1`, `eu-shard` → `EuShard`: a shard id in construct ids. */
function pascal(id: string): string {
  return id.split('-').map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
}
