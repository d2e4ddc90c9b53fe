import { CfnOutput, NestedStack } from 'aws-cdk-lib/core';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { CrossRegionParameter, type IEndpointProvider } from '../../constructs/common';
import { DnsRouting, GeoDns, type GeoDnsProps, HealthCheckProtocol, apiDomainName, originDomainName } from '../../constructs/geo-dns';
import { RegionMonitoring, type ICacheMetrics, type IDatabaseMetrics, type MonitoredSecretRotation } from '../../constructs/monitoring';
import { WebTier, type WebServiceProps } from '../../constructs/web-tier';
import { OriginVerifySecret, RegionalWebAcl } from '../../constructs/edge';
import { WorkQueue, WorkerFleet, type IWorkQueue } from '../../constructs/work-queue';
import { EDGE_REGION, type QueueConfig, type ServiceConfig } from '../config';
import { appStackOrder, appStackPlacement } from '../config/limits';
import { DATABASE_USERS, ENV_VARS } from '../runtime/contract';
import { OutputKeys, pascal } from '../outputs';
import { applicationSourceOf, rolloutOf } from './application';
import { healthCheckParameterName, originSecretNamePrefix } from './edge-stack';
import { retentionDays } from './network-stack';
import { ReferenceNestedStack, RegionalStack, type RegionalStackProps } from './regional-stack';
import { createAlarmTopic } from './alarm-topic';
import { Schedule } from 'aws-cdk-lib/aws-autoscaling';
import { Duration } from 'aws-cdk-lib/core';

/** Properties of an {@link AppStack}. */
export interface AppStackProps extends RegionalStackProps {
  /** The region's VPC. */
  readonly vpc: ec2.IVpc;
  /** Data-tier endpoints every fleet of the region is granted. */
  readonly endpointProviders: IEndpointProvider[];
  /**
   * What web fleets alone are granted (the session key: workers handle no sessions).
   * @default - none
   */
  readonly webEndpointProviders?: IEndpointProvider[];
  /**
   * The region's work queues (in the data stack) by name, one per config `queues` entry.
   * @default - none; required when the config has queues
   */
  readonly workQueues?: Record<string, IWorkQueue>;
  /** The region's cache (in the data stack), for the dashboard and alarms. @default - no cache monitoring */
  readonly cache?: ICacheMetrics;
  /** The region's database (in the data stack), for the dashboard and alarms. @default - no database monitoring */
  readonly database?: IDatabaseMetrics;
  /** The region's other shards (shard 0 is `database`): the same alarms and rows each. @default - none */
  readonly shards?: ReadonlyArray<{ readonly id: string; readonly database: IDatabaseMetrics }>;
  /** The database is a Global Database secondary: alarm on its replication lag. @default false */
  readonly databaseIsGlobalSecondary?: boolean;
  /** The region's secret rotations (in the data stack): a Warning alarm each when one fails. @default - none */
  readonly secretRotations?: MonitoredSecretRotation[];
}

/**
 * `<name>-app-<region>`: the stateless tiers (web tier and its fleets; later workers, DNS records,
 * dashboards). It can be destroyed and redeployed without losing data.
 */
export class AppStack extends RegionalStack {
  /** The web tier. */
  public readonly webTier: WebTier;
  /** The hosted zone, when a domain is configured. */
  public readonly hostedZone?: route53.IHostedZone;
  /** Worker fleets by queue name. */
  public readonly workerFleets: Record<string, WorkerFleet> = {};
  /** The regional web ACL on the load balancer (`edge.regionalWaf`). */
  public readonly regionalWebAcl?: RegionalWebAcl;
  /** This region's DNS records and health checks (when a domain is configured and the routing serves this region). */
  public readonly dns?: GeoDns;
  /** The region's alarm topic (undefined when `monitoring.enabled` is false). */
  public readonly alarmTopic?: sns.Topic;
  /** The region's dashboard, alarms and health alarm (undefined when `monitoring.enabled` is false). */
  public readonly monitoring?: RegionMonitoring;
  /**
   * Nested stacks `Services2`, `Services3`, … holding the web services that do not fit in this stack (see
   * `appStackPlacement` in lib/config/limits.ts), with the names of the services each holds; empty when all fit.
   */
  public readonly serviceStacks: Array<{ stack: NestedStack; services: string[] }> = [];
  /**
   * Nested stacks `Queues2`, `Queues3`, … holding the worker fleets of the queues that do not fit in this stack, with
   * the names of the queues each holds; empty when all fit.
   */
  public readonly queueStacks: Array<{ stack: NestedStack; queues: string[] }> = [];

  constructor(scope: Construct, id: string, props: AppStackProps) {
    super(scope, id, { ...props, tier: 'app' });
    const { config } = this;
    if (config.domain) {
      this.hostedZone = route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', {
        hostedZoneId: config.domain.hostedZoneId,
        zoneName: config.domain.hostedZoneName,
      });
    }
    const placement = appStackPlacement(config.services, config.queues);
    const ordered = appStackOrder(config.services);
    const stackOfService = new Map<string, NestedStack>();
    let next = placement.inAppStack;
    placement.nestedStacks.forEach((size, g) => {
      const services = ordered.slice(next, next + size).map((s) => s.name);
      next += size;
      const id = `Services${g + 2}`;
      const stack = new ReferenceNestedStack(this, id, { description: `Web services ${services.join(', ')} of ${this.stackName}: fleets, target groups, listener rules, alarms` });
      this.serviceStacks.push({ stack, services });
      for (const name of services) stackOfService.set(name, stack);
    });
    const stackOfQueue = new Map<string, NestedStack>();
    let nextQueue = placement.queuesInAppStack;
    placement.queueStacks.forEach((size, g) => {
      const queues = config.queues.slice(nextQueue, nextQueue + size).map((q) => q.name);
      nextQueue += size;
      const id = `Queues${g + 2}`;
      const stack = new ReferenceNestedStack(this, id, { description: `Worker fleets of queues ${queues.join(', ')} of ${this.stackName}: fleets, scaling, alarms` });
      this.queueStacks.push({ stack, queues });
      for (const name of queues) stackOfQueue.set(name, stack);
    });
    this.webTier = new WebTier(this, 'Web', {
      vpc: props.vpc,
      environment: this.applicationEnvironment(),
      deletionProtection: config.web.deletionProtection,
      idleTimeout: Duration.seconds(config.web.idleTimeoutSeconds),
      // What Route 53 checks: every service answers it with the data tier's health (S2M_DEEP_HEALTH_PATH).
      deepHealthCheckPath: config.dns.healthCheck.path,
      ...(config.domain && this.hostedZone ? { domain: { domainName: config.domain.name, hostedZone: this.hostedZone } } : {}),
      services: config.services.map((svc) => this.serviceProps(svc)),
      ...(stackOfService.size > 0 ? { serviceScope: (svc: WebServiceProps) => stackOfService.get(svc.name) } : {}),
      ...(config.edge.enabled && config.domain ? {
        originVerifyHeader: {
          name: config.edge.originHeaderName,
          values: OriginVerifySecret.references(originSecretNamePrefix(config), config.edge.originSecretGeneration).accepted,
          // Route 53's checkers send no custom header: exactly the path they check (deepHealthCheckPath) is let through.
        },
      } : {}),
    });
    if (config.edge.regionalWaf) {
      this.regionalWebAcl = new RegionalWebAcl(this, 'RegionalWaf', {
        loadBalancerArn: this.webTier.loadBalancer.loadBalancerArn,
        rateLimitPer5Min: config.edge.rateLimitPer5Min,
        blockLargeRequestBodies: config.edge.blockLargeRequestBodies,
        logGroupName: `aws-waf-logs-${config.name}-${this.regionConfig.region}`,
        logRetention: retentionDays(config.edge.logRetentionDays),
        metricPrefix: `${config.name}-regional`,
        // Behind CloudFront every source IP is an edge location's: count per viewer IP instead.
        ...(config.edge.enabled && config.domain ? { forwardedIpHeader: 'X-Forwarded-For' } : {}),
        // CloudFront's secret for the load balancers, by the name the config gives it: never in the logs.
        redactedHeaders: [config.edge.originHeaderName],
      });
    }
    this.webTier.forEachFleet((fleet) => {
      for (const provider of [...props.endpointProviders, ...(props.webEndpointProviders ?? [])]) provider.grantConsumer(fleet);
    });


    const lb = this.webTier.loadBalancer;
    new CfnOutput(this, OutputKeys.loadBalancerFullName, { value: lb.loadBalancerFullName, description: 'ALB full name (CloudWatch LoadBalancer dimension)' });
    new CfnOutput(this, OutputKeys.loadBalancerDnsName, { value: lb.loadBalancerDnsName, description: 'ALB DNS name' });
    this.webTier.forEachFleet((fleet, service) => {
      new CfnOutput(this, OutputKeys.targetGroupFullName(service.name), { value: service.targetGroup.targetGroupFullName, description: `Target group full name of service ${service.name}` });
      new CfnOutput(this, OutputKeys.fleetName(service.name), { value: fleet.autoScalingGroup.autoScalingGroupName, description: `Auto Scaling group of service ${service.name}` });
    });

    for (const q of config.queues) this.addWorkers(q, props, stackOfQueue.get(q.name) ?? this);
    this.webTier.forEachFleet((fleet, service) => {
      new CfnOutput(this, OutputKeys.logGroupName(service.name), { value: fleet.logGroup.logGroupName, description: `Application log group of service ${service.name}` });
    });

    if (config.monitoring.enabled) {
      this.alarmTopic = createAlarmTopic(this, config, this.regionConfig.region);
      // A rolled-back deploy is news: every fleet's rollback alarms notify the region's topic too.
      const action = new cloudwatchActions.SnsAction(this.alarmTopic);
      for (const alarm of [...Object.values(this.webTier.services).flatMap((s) => s.rollbackAlarms), ...Object.values(this.workerFleets).flatMap((w) => w.rollbackAlarms)]) {
        alarm.addAlarmAction(action);
      }
      this.monitoring = new RegionMonitoring(this, 'Monitoring', {
        webTier: this.webTier,
        alarmTopic: this.alarmTopic,
        ...(props.cache ? { cache: props.cache } : {}),
        ...(props.database ? { database: props.database, watchGlobalReplicationLag: props.databaseIsGlobalSecondary ?? false } : {}),
        ...(props.shards?.length ? { shards: props.shards } : {}),
        queues: config.queues.map((q) => ({ name: q.name, workQueue: props.workQueues![q.name], workers: this.workerFleets[q.name] })),
        secretRotations: props.secretRotations ?? [],
        ...(this.serviceStacks.length + this.queueStacks.length > 0 ? {
          alarmGroups: [
            ...this.serviceStacks.map(({ stack, services }) => ({ scope: stack, services, title: `Services in nested stack ${stack.node.id}` })),
            ...this.queueStacks.map(({ stack, queues }) => ({ scope: stack, queues })),
          ],
        } : {}),
        thresholds: config.monitoring.thresholds,
        dashboardName: `${config.name}-${this.regionConfig.region}`,
      });
      new CfnOutput(this, OutputKeys.dashboardName, { value: this.monitoring.dashboard.dashboardName, description: 'CloudWatch dashboard of the region' });
      new CfnOutput(this, OutputKeys.alarmTopicArn, { value: this.alarmTopic.topicArn, description: 'SNS topic every alarm of the region notifies' });
      new CfnOutput(this, OutputKeys.regionHealthAlarmName, { value: this.monitoring.regionHealthAlarm.alarmName, description: 'Composite alarm: in ALARM when any Critical alarm of the region is' });
    }

    // After the monitoring: the region leaves DNS while its deep health fails or one of its drain alarms fires.
    if (this.hostedZone) {
      this.dns = this.createDns(this.hostedZone, this.monitoring?.regionDrainAlarms ?? []);
      if (this.dns) {
        new CfnOutput(this, OutputKeys.drainHealthCheckId, { value: this.dns.drainSwitch.healthCheckId, description: 'The region\'s drain switch: invert this Route 53 health check to take the region out of DNS (s2m evacuate), whatever its endpoint does' });
        // Route 53 publishes its health checks' metrics in us-east-1 only: the edge stack alarms there on this
        // region's endpoint check, whose id it reads from this parameter (no cross-region reference).
        if (config.monitoring.enabled) {
          new CrossRegionParameter(this, 'EndpointHealthCheckIdForAlarm', {
            parameterName: healthCheckParameterName(config, this.regionConfig.region),
            value: this.dns.endpointHealthCheck.healthCheckId,
            region: EDGE_REGION,
            description: `The Route 53 health check of ${config.name}'s load balancer in ${this.regionConfig.region}: the edge stack's alarm reads it`,
          });
        }
      }
    }
  }

  /** The worker fleet of a queue; it consumes the queue and the data tier's endpoints, but does not send. */
  private addWorkers(q: QueueConfig, props: AppStackProps, scope: Construct): void {
    const workQueue = props.workQueues?.[q.name];
    if (!workQueue) throw new Error(`AppStack: the config has queue "${q.name}" but workQueues has no such queue (got: ${JSON.stringify(Object.keys(props.workQueues ?? {}))})`);
    const w = q.workers;
    const id = `Workers${pascal(q.name)}`;
    const application = applicationSourceOf(this, id, w.application, this.regionConfig.region);
    const workers = new WorkerFleet(scope, id, {
      workQueue,
      vpc: props.vpc,
      instanceType: new ec2.InstanceType(w.instanceType),
      ...(w.additionalInstanceTypes.length > 0 ? { additionalInstanceTypes: w.additionalInstanceTypes.map((t) => new ec2.InstanceType(t)) } : {}),
      ...(w.egress === 'https' ? { allowAllOutbound: false } : {}),
      minCapacity: w.minCapacity,
      maxCapacity: w.maxCapacity,
      serviceName: q.name,
      ...(application ? { application } : {}),
      environment: this.applicationEnvironment(),
      databaseUser: DATABASE_USERS.worker(q.name),
      logRetention: retentionDays(w.logRetentionDays),
      rollout: rolloutOf(w.rollout),
      rollbackOnAlarms: w.rollout.rollbackOnAlarms,
    });
    this.workerFleets[q.name] = workers;
    for (const provider of props.endpointProviders) {
      if (!(provider instanceof WorkQueue)) provider.grantConsumer(workers.fleet);
    }
    new CfnOutput(this, OutputKeys.workerFleetName(q.name), { value: workers.autoScalingGroup.autoScalingGroupName, description: `Auto Scaling group of the workers of queue ${q.name}` });
    new CfnOutput(this, OutputKeys.workerLogGroupName(q.name), { value: workers.fleet.logGroup.logGroupName, description: `Application log group of the workers of queue ${q.name}` });
  }

  /** The application contract's app-wide variables of every fleet's environment file. */
  private applicationEnvironment(): Record<string, string> {
    return {
      [ENV_VARS.app]: this.config.name,
      [ENV_VARS.primaryRegion]: this.config.primaryRegion,
      [ENV_VARS.parameterPrefix]: this.parameterPrefix,
    };
  }

  /** A config service as a web tier service: sizes, routing, scaling, and its application and rollout. */
  private serviceProps(s: ServiceConfig): WebServiceProps {
    const application = applicationSourceOf(this, `Service${pascal(s.name)}`, s.application, this.regionConfig.region);
    return {
      name: s.name,
      ...(s.pathPatterns.length ? { pathPatterns: s.pathPatterns } : {}),
      ...(s.hostPatterns.length ? { hostPatterns: s.hostPatterns } : {}),
      priority: s.priority,
      instanceType: new ec2.InstanceType(s.instanceType),
      ...(s.additionalInstanceTypes.length > 0 ? { additionalInstanceTypes: s.additionalInstanceTypes.map((t) => new ec2.InstanceType(t)) } : {}),
      ...(s.egress === 'https' ? { allowAllOutbound: false } : {}),
      minCapacity: s.minCapacity,
      maxCapacity: s.maxCapacity,
      targetCpuPercent: s.targetCpuPercent,
      targetRequestsPerInstance: s.targetRequestsPerInstance,
      port: s.port,
      healthCheckPath: s.healthCheckPath,
      deregistrationDelay: Duration.seconds(s.deregistrationDelaySeconds),
      ...(s.slowStartSeconds > 0 ? { slowStart: Duration.seconds(s.slowStartSeconds) } : {}),
      scheduledScaling: s.scheduledScaling.map((x) => ({
        name: x.name,
        schedule: Schedule.expression(x.schedule),
        ...(x.minCapacity !== undefined ? { minCapacity: x.minCapacity } : {}),
        ...(x.maxCapacity !== undefined ? { maxCapacity: x.maxCapacity } : {}),
      })),
      ...(s.stepScaling ? { stepScaling: s.stepScaling } : {}),
      ...(s.warmPool ? { warmPool: { minSize: s.warmPool.minSize ?? 0, reuseOnScaleIn: s.warmPool.reuseOnScaleIn ?? false } } : {}),
      ...(application ? { application } : {}),
      databaseUser: DATABASE_USERS.service(s.name),
      logRetention: retentionDays(s.logRetentionDays),
      rollout: rolloutOf(s.rollout),
      rollbackOnAlarms: s.rollout.rollbackOnAlarms,
    };
  }

  /**
   * The region's records for `origin.<domain>` and `api.<domain>`. Everything here derives from this
   * region's config alone, so adding or removing a region leaves the other regions' templates unchanged.
   */
  private createDns(zone: route53.IHostedZone, drainAlarms: cloudwatch.IAlarm[]): GeoDns | undefined {
    const { config, region } = this;
    const { dns } = config;
    const domain = config.domain!.name;
    let routing: Partial<Pick<GeoDnsProps, 'routing' | 'geoLocations' | 'failover'>>;
    if (dns.routing === 'geolocation') {
      const geo = dns.geolocation!;
      const locations = [
        ...Object.entries(geo.continents).filter(([, r]) => r === region).map(([code]) => route53.GeoLocation.continent(code as route53.Continent)),
        ...Object.entries(geo.countries).filter(([, r]) => r === region).map(([code]) => route53.GeoLocation.country(code)),
        ...(geo.default === region ? [route53.GeoLocation.default()] : []),
      ];
      // A region that serves no location still joins the fallback sets (unhealthy and unmapped locations).
      routing = { routing: DnsRouting.GEOLOCATION, geoLocations: locations };
    } else if (dns.routing === 'failover') {
      const role = dns.failover!.primary === region ? route53.Failover.PRIMARY : dns.failover!.secondary === region ? route53.Failover.SECONDARY : undefined;
      if (!role) return undefined;
      routing = { routing: DnsRouting.FAILOVER, failover: role };
    } else {
      routing = { routing: DnsRouting.LATENCY };
    }
    return new GeoDns(this, 'Dns', {
      zone,
      domainName: domain,
      loadBalancer: this.webTier.loadBalancer,
      ...routing,
      // With the edge, api.<domain> is an alias of the distribution (edge stack): only the origin name is regional.
      recordNames: [originDomainName(domain, dns.originSubdomain), ...(config.edge.enabled ? [] : [apiDomainName(domain, dns.apiSubdomain)])],
      healthCheck: {
        path: dns.healthCheck.path,
        protocol: this.webTier.certificate ? HealthCheckProtocol.HTTPS : HealthCheckProtocol.HTTP,
        ...(dns.healthCheck.port !== undefined ? { port: dns.healthCheck.port } : {}),
        failureThreshold: dns.healthCheck.failureThreshold,
        requestInterval: Duration.seconds(dns.healthCheck.requestInterval),
        ...(dns.healthCheck.regions ? { regions: dns.healthCheck.regions } : {}),
      },
      drained: dns.drainedRegions.includes(region),
      drainAlarms,
    });
  }
}
