import { Annotations, Duration, Stack, Token, Validations } from 'aws-cdk-lib/core';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { createLogBucket } from '../common/log-bucket';
import { validationError } from '../common/errors';
import { checkHealthPath, checkServiceHealthPath } from '../common/health-paths';
import { checkPort } from '../common/ports';
import { ApplicationSource, Fleet, checkCapacity, checkIdleTimeout, type FleetRolloutOptions } from '../fleet';
import { WEB_TIER_DEFAULTS } from './defaults';
import { MAX_DEREGISTRATION_DELAY_SECONDS } from './limits';
import { placeholderServer } from './user-data';

/** A scheduled capacity change. */
export interface ScheduledCapacity {
  /** Name, unique within the service (part of the construct id). */
  readonly name: string;
  /** When, e.g. `autoscaling.Schedule.cron({ hour: '8', minute: '0', weekDay: 'MON-FRI' })` (UTC). */
  readonly schedule: autoscaling.Schedule;
  /** New minimum. @default - unchanged */
  readonly minCapacity?: number;
  /** New maximum. @default - unchanged */
  readonly maxCapacity?: number;
}

/** Step scaling on average CPU, for spikes target tracking reacts to too slowly. */
export interface CpuStepScaling {
  /** Average CPU % at or above which instances are added (two minutes in a row). */
  readonly cpuAbove: number;
  /** Instances added each time. */
  readonly addInstances: number;
}

/** The domain a {@link WebTier} creates its certificate for. */
export interface WebTierDomain {
  /** The domain, e.g. `shop.example.com`; the certificate covers it and `*.<domain>`. */
  readonly domainName: string;
  /** The hosted zone holding it, where the validation records go. */
  readonly hostedZone: route53.IHostedZone;
}

/** One service (functional partition) of the web tier: its own fleet, target group and routing rule. */
export interface WebServiceProps {
  /** Service name, `[a-z][a-z0-9-]*`; it is part of construct ids, so renaming replaces the fleet. */
  readonly name: string;
  /**
   * Path patterns routed to this service. A service with no path and no host patterns is the default
   * one (exactly one per tier).
   * @default - none
   */
  readonly pathPatterns?: string[];
  /** Host patterns routed to this service. @default - none */
  readonly hostPatterns?: string[];
  /** Listener rule priority, unique. @default - 10 × (position + 1) */
  readonly priority?: number;
  /** Instance type. */
  readonly instanceType: ec2.InstanceType;
  /**
   * Subnets of the service's fleet (never given public IPs).
   * @default - the VPC's private subnets with egress
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * More instance types, in order of preference, for when `instanceType` has no capacity (see
   * `FleetProps.additionalInstanceTypes`; not with a warm pool).
   * @default - `instanceType` only
   */
  readonly additionalInstanceTypes?: ec2.InstanceType[];
  /**
   * Whether the instances may connect anywhere on any port; `false` allows HTTPS out and the ports of what the fleet
   * is granted (see `FleetProps.allowAllOutbound`).
   * @default true
   */
  readonly allowAllOutbound?: boolean;
  /** Fewest instances (at least 1 for a web service). */
  readonly minCapacity: number;
  /** Most instances. */
  readonly maxCapacity: number;
  /** Target average CPU %. @default 50 */
  readonly targetCpuPercent?: number;
  /** Target requests per instance per minute. @default 1000 */
  readonly targetRequestsPerInstance?: number;
  /** Application port. @default 8080 */
  readonly port?: number;
  /**
   * Health check path: the load balancer's characters less the quotes (`A-Z a-z 0-9 _ - . $ / ~ @ : + &`), no query
   * string. @default /health
   */
  readonly healthCheckPath?: string;
  /** Time to drain in-flight requests. @default Duration.seconds(30) */
  readonly deregistrationDelay?: Duration;
  /** Ramp-up time of a new target (30-900 s). @default - no slow start */
  readonly slowStart?: Duration;
  /**
   * What the service runs: a machine image, an artifact or asset, a Node.js bundle or a container image
   * (`ApplicationSource`); it must answer `healthCheckPath` on `port`.
   * @default - a placeholder HTTP server answering the health path (`placeholderServer`), for a first deploy
   */
  readonly application?: ApplicationSource;
  /**
   * Your own user data instead of an application source (no readiness or drain hooks, no agent).
   * @default - the application source's user data
   */
  readonly userData?: ec2.UserData;
  /** The AMI (not with an application source that is a machine image). @default - the fleet's pinned Amazon Linux 2023 */
  readonly machineImage?: ec2.IMachineImage;
  /** The instance role. @default - a new role per service */
  readonly role?: iam.IRole;
  /** Block devices. @default - an encrypted 20 GiB gp3 root volume */
  readonly blockDevices?: ec2.BlockDevice[];
  /** The service's own database user (`S2M_DATABASE_USER`, IAM authentication). @default - none */
  readonly databaseUser?: string;
  /** Retention of the service's log group. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** How a new version rolls out (instance refresh). @default - see `FleetRolloutOptions` */
  readonly rollout?: FleetRolloutOptions;
  /**
   * Roll an instance refresh back when the service's targets answer 5xx to 5 % or more of at least 20
   * requests a minute, or when a target is unhealthy, three minutes in a row ({@link WebService.rollbackAlarms}).
   * @default true
   */
  readonly rollbackOnAlarms?: boolean;
  /** Scheduled capacity changes. @default - none */
  readonly scheduledScaling?: ScheduledCapacity[];
  /** Step scaling on CPU for spikes, besides target tracking. @default - none */
  readonly stepScaling?: CpuStepScaling;
  /** Warm pool of stopped instances (see `FleetProps.warmPool`: no running or hibernated pool). @default - none */
  readonly warmPool?: autoscaling.WarmPoolOptions;
  /** Enable sticky sessions (the tier is stateless: keep it off). @default - off */
  readonly stickiness?: Duration;
}

/** A service the tier created. */
export interface WebService {
  /** The service's name. */
  readonly name: string;
  /** Its fleet. */
  readonly fleet: Fleet;
  /** Its target group. */
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  /** True for the default service. */
  readonly isDefault: boolean;
  /** The alarms that roll back its instance refresh (empty with `rollbackOnAlarms: false`); they have no action of their own. */
  readonly rollbackAlarms: cloudwatch.Alarm[];
}

/**
 * Makes the load balancer answer only requests that carry a secret header (the one CloudFront adds as a
 * custom origin header): the listener's default action becomes a fixed 403, every service's rule also
 * requires the header, and the default service gets a rule of its own.
 */
export interface OriginVerifyHeaderOptions {
  /** Header name, e.g. `X-Origin-Verify`. */
  readonly name: string;
  /**
   * Accepted values (1-2: the current and the previous during a rotation); tokens such as
   * `{{resolve:secretsmanager:...}}` dynamic references are fine. ALB header matching is case-insensitive.
   */
  readonly values: string[];
  /**
   * Priority of the rule for the default service (lowest precedence).
   * @default 50000
   */
  readonly defaultServicePriority?: number;
  /**
   * The path Route 53 health checks request (they cannot send custom headers): GET and HEAD of exactly this path
   * are forwarded to the default service without the header. It reveals only the health answer.
   * @default - the tier's `deepHealthCheckPath` (`/health/deep`), which the runtime SDK answers; the target groups'
   *   own checks stay on each service's shallow path and go straight to the instances
   */
  readonly healthCheckPath?: string;
  /**
   * Priority of the rule that forwards GET/HEAD of {@link healthCheckPath} without the header. Set
   * `exemptHealthCheckPath: false` to drop it.
   * @default 1
   */
  readonly healthCheckExemptionPriority?: number;
  /** Keep the health check path reachable without the header. @default true */
  readonly exemptHealthCheckPath?: boolean;
}

/** Properties of a {@link WebTier}. */
export interface WebTierProps {
  /** The VPC: the load balancer goes in its public subnets, the fleets in its private subnets. */
  readonly vpc: ec2.IVpc;
  /**
   * Subnets of the internet-facing load balancer (public subnets in at least two zones).
   * @default - the VPC's public subnets
   */
  readonly loadBalancerSubnets?: ec2.SubnetSelection;
  /** The services; exactly one has no path and host patterns and takes the rest. */
  readonly services: WebServiceProps[];
  /**
   * HTTPS certificate for the listener.
   * @default - one is created when `domain` is given; otherwise HTTP only, with a warning
   */
  readonly certificate?: acm.ICertificate;
  /**
   * Domain for which a DNS-validated certificate is created (the name and `*.name`) when no
   * `certificate` is given.
   * @default - no certificate is created
   */
  readonly domain?: WebTierDomain;
  /** Load balancer deletion protection. @default true */
  readonly deletionProtection?: boolean;
  /**
   * The load balancer's idle timeout (whole seconds, 1-4000). Every service is told it
   * (`S2M_LOAD_BALANCER_IDLE_TIMEOUT`, the fleets' `loadBalancerIdleTimeout`) so its HTTP keep-alive outlasts it.
   * @default Duration.seconds(60)
   */
  readonly idleTimeout?: Duration;
  /**
   * The deep health path of every service (`S2M_DEEP_HEALTH_PATH`), which the runtime SDK and the placeholder
   * server answer with the data tier's health: give the path the region's Route 53 health check requests. The path
   * `originVerifyHeader` lets through without the header, unless that names its own.
   * @default '/health/deep' (`HEALTH_PATHS.deep`)
   */
  readonly deepHealthCheckPath?: string;
  /**
   * Bucket for access logs (SSE-S3; ALB access logs do not support KMS keys).
   * @default - a new encrypted, TLS-only, private bucket keeping logs 90 days
   */
  readonly accessLogsBucket?: s3.IBucket;
  /**
   * Require a secret header on every request (the load balancer answers only to CloudFront).
   * @default - no header required: the load balancer serves anyone who reaches it
   */
  readonly originVerifyHeader?: OriginVerifyHeaderOptions;
  /**
   * Variables added to every service's environment file (e.g. `S2M_APP`, `S2M_PRIMARY_REGION`,
   * `S2M_PARAMETER_PREFIX`); never a secret.
   * @default - none
   */
  readonly environment?: Record<string, string>;
  /**
   * Where each service's constructs (`Service-<name>`: fleet, target group, listener rule, rollback alarms) are
   * created: return a construct, for example a `NestedStack` of the tier's stack, to hold the service there, or
   * undefined for the tier itself. `index` is the service's position in `services`. Moving a service from one
   * scope to another changes its logical IDs, which replaces its fleet, target group and listener rule.
   * @default - every service under the tier
   */
  readonly serviceScope?: (service: WebServiceProps, index: number) => Construct | undefined;
}

const SERVICE_NAME = /^[a-z][a-z0-9-]*$/;

/**
 * The web tier: an internet-facing Application Load Balancer in front of one Auto Scaling fleet per
 * service (functional partitioning). HTTPS with HTTP redirected, invalid headers dropped, desync
 * mitigation, access logs; per service a target group with least-outstanding-requests routing and no
 * stickiness (servers are stateless clones), and target tracking on CPU and on requests per target.
 * Its stack needs an explicit region (`env: { region }`): the load balancer's access logs go to a bucket whose
 * policy names that region's Elastic Load Balancing account.
 */
export class WebTier extends Construct implements ec2.IConnectable {
  /** The load balancer. */
  public readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  /** The listener that serves traffic (HTTPS when a certificate exists, else HTTP). */
  public readonly listener: elbv2.ApplicationListener;
  /** The HTTP listener that redirects to HTTPS (undefined when HTTP-only). */
  public readonly redirectListener?: elbv2.ApplicationListener;
  /** The certificate served, if any. */
  public readonly certificate?: acm.ICertificate;
  /** The access logs bucket. */
  public readonly accessLogsBucket: s3.IBucket;
  /** Services by name, in the order given. */
  public readonly services: Record<string, WebService>;
  /** The load balancer's connections. */
  public readonly connections: ec2.Connections;
  /** The rule exempting the health check path from the origin header, when there is one. */
  public readonly healthCheckExemptionRule?: elbv2.ApplicationListenerRule;
  private readonly originVerify?: OriginVerifyHeaderOptions;
  private readonly environment?: Record<string, string>;
  private readonly deepHealthCheckPath: string;
  private readonly idleTimeout: Duration;

  constructor(scope: Construct, id: string, props: WebTierProps) {
    super(scope, id);
    if (Token.isUnresolved(Stack.of(this).region)) {
      throw validationError(this, 'WebTier: the stack needs an explicit region (env: { region }): the load balancer\'s access logs go to a bucket whose policy names the region\'s Elastic Load Balancing account (got: a region-agnostic stack)');
    }
    this.deepHealthCheckPath = props.deepHealthCheckPath ?? WEB_TIER_DEFAULTS.dnsHealthCheckPath;
    checkIdleTimeout(this, 'WebTier', 'idleTimeout', props.idleTimeout);
    this.idleTimeout = props.idleTimeout ?? WEB_TIER_DEFAULTS.idleTimeout;
    validateServices(this, props.services, props.originVerifyHeader, props.deepHealthCheckPath);
    this.originVerify = props.originVerifyHeader;
    this.environment = props.environment;
    const exempted = this.originVerify?.healthCheckPath;
    if (exempted !== undefined && exempted !== this.deepHealthCheckPath && (this.originVerify!.exemptHealthCheckPath ?? true)) {
      Annotations.of(this).addWarningV2('scale-to-millions:web-tier-health-path-mismatch', `WebTier: originVerifyHeader.healthCheckPath (${exempted}) is not deepHealthCheckPath (${this.deepHealthCheckPath}), which the services answer with the data tier's health: a Route 53 check of ${exempted} does not test the data tier, or gets a 404`);
    }

    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc: props.vpc,
      internetFacing: true,
      vpcSubnets: props.loadBalancerSubnets ?? { subnetType: ec2.SubnetType.PUBLIC },
      deletionProtection: props.deletionProtection ?? true,
      dropInvalidHeaderFields: true,
      desyncMitigationMode: elbv2.DesyncMitigationMode.DEFENSIVE,
      http2Enabled: true,
      idleTimeout: this.idleTimeout,
    });
    this.connections = this.loadBalancer.connections;

    this.accessLogsBucket = props.accessLogsBucket ?? this.createAccessLogsBucket();
    this.loadBalancer.logAccessLogs(this.accessLogsBucket, 'alb');

    this.certificate = props.certificate ?? (props.domain
      ? new acm.Certificate(this, 'Certificate', {
        domainName: props.domain.domainName,
        subjectAlternativeNames: [`*.${props.domain.domainName}`],
        validation: acm.CertificateValidation.fromDns(props.domain.hostedZone),
      })
      : undefined);

    if (this.certificate) {
      this.listener = this.loadBalancer.addListener('Https', {
        protocol: elbv2.ApplicationProtocol.HTTPS,
        port: 443,
        certificates: [this.certificate],
        sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
        open: true,
      });
      this.redirectListener = this.loadBalancer.addRedirect({ sourcePort: 80, targetPort: 443 }) as elbv2.ApplicationListener;
    } else {
      Annotations.of(this).addWarningV2('scale-to-millions:web-tier-http-only', 'WebTier has no certificate: the load balancer serves plain HTTP. Give a certificate or a domain for HTTPS.');
      this.listener = this.loadBalancer.addListener('Http', { protocol: elbv2.ApplicationProtocol.HTTP, port: 80, open: true });
    }
    Validations.of(this.loadBalancer).acknowledge({
      id: 'AwsSolutions-EC23',
      reason: 'An internet-facing load balancer must accept 80/443 from the internet; the edge restricts who may reach content (origin header) and the fleets accept traffic only from this load balancer.',
    });

    if (this.originVerify) {
      if (!this.certificate) {
        Annotations.of(this).addWarningV2('scale-to-millions:web-tier-origin-header-over-http', 'WebTier requires an origin header but serves plain HTTP: the header value crosses the internet in clear text.');
      }
      this.listener.addAction('Default', {
        action: elbv2.ListenerAction.fixedResponse(403, { contentType: 'text/plain', messageBody: 'Forbidden' }),
      });
    }

    this.services = {};
    const scopes = new Map<string, Construct>();
    props.services.forEach((svc, i) => {
      scopes.set(svc.name, props.serviceScope?.(svc, i) ?? this);
      this.services[svc.name] = this.addService(svc, i, scopes.get(svc.name)!);
    });

    const defaultService = Object.values(this.services).find((s) => s.isDefault)!;
    if (this.originVerify && (this.originVerify.exemptHealthCheckPath ?? true)) {
      // With the default service's target group: its fleet waits for the rule, so a rule in another stack than the
      // fleet would make the two stacks depend on each other.
      this.healthCheckExemptionRule = new elbv2.ApplicationListenerRule(scopes.get(defaultService.name)!, 'HealthCheckExemption', {
        listener: this.listener,
        priority: this.originVerify.healthCheckExemptionPriority ?? 1,
        conditions: [
          // A pattern with no wildcard matches that path only (case-sensitive); the query string is not part of it.
          elbv2.ListenerCondition.pathPatterns([this.originVerify.healthCheckPath ?? this.deepHealthCheckPath]),
          elbv2.ListenerCondition.httpRequestMethods(['GET', 'HEAD']),
        ],
        action: elbv2.ListenerAction.forward([defaultService.targetGroup]),
      });
    }
  }

  /** Requests per target per minute of one service. */
  public metricRequestCountPerTarget(service: string, opts?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.service(service).targetGroup.metrics.requestCountPerTarget({ period: Duration.minutes(1), ...opts });
  }

  /** Target response time of one service (p99 by default). */
  public metricTargetResponseTime(service: string, opts?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.service(service).targetGroup.metrics.targetResponseTime({ statistic: 'p99', period: Duration.minutes(1), ...opts });
  }

  /** 5xx responses from the targets of one service, or of the whole tier when `service` is omitted. */
  public metricHttp5xx(service?: string, opts?: cloudwatch.MetricOptions): cloudwatch.Metric {
    if (service === undefined) {
      return this.loadBalancer.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { period: Duration.minutes(1), ...opts });
    }
    return this.service(service).targetGroup.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { period: Duration.minutes(1), ...opts });
  }

  /** 5xx responses generated by the load balancer itself (no healthy target, timeouts). */
  public metricElb5xx(opts?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.loadBalancer.metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { period: Duration.minutes(1), ...opts });
  }

  /** Unhealthy hosts (maximum) of one service. */
  public metricUnhealthyHosts(service: string, opts?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.service(service).targetGroup.metrics.unhealthyHostCount({ statistic: 'Maximum', period: Duration.minutes(1), ...opts });
  }

  /** Healthy hosts (minimum) of one service. */
  public metricHealthyHosts(service: string, opts?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.service(service).targetGroup.metrics.healthyHostCount({ statistic: 'Minimum', period: Duration.minutes(1), ...opts });
  }

  /** Requests to the whole load balancer. */
  public metricRequestCount(opts?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.loadBalancer.metrics.requestCount({ period: Duration.minutes(1), ...opts });
  }

  /** Calls `fn` for every service's fleet, e.g. to grant each one access to the database endpoints. */
  public forEachFleet(fn: (fleet: Fleet, service: WebService) => void): void {
    for (const s of Object.values(this.services)) fn(s.fleet, s);
  }

  private service(name: string): WebService {
    const s = this.services[name];
    if (!s) throw validationError(this, `WebTier: no service named "${name}" (have: ${Object.keys(this.services).join(', ')})`);
    return s;
  }

  private addService(svc: WebServiceProps, index: number, parent: Construct): WebService {
    const scope = new Construct(parent, `Service-${svc.name}`);
    const port = svc.port ?? WEB_TIER_DEFAULTS.port;
    const healthCheckPath = svc.healthCheckPath ?? WEB_TIER_DEFAULTS.healthCheckPath;
    const deregistrationDelay = svc.deregistrationDelay ?? WEB_TIER_DEFAULTS.deregistrationDelay;
    // An instance serves through the delay, then has it + 30 s to stop, within the terminating hook's 2 hours.
    if (deregistrationDelay.toSeconds({ integral: false }) > MAX_DEREGISTRATION_DELAY_SECONDS) {
      throw validationError(this, `WebTier: services[${svc.name}].deregistrationDelay must be at most ${MAX_DEREGISTRATION_DELAY_SECONDS} seconds: a terminating instance serves through it, then has it + 30 s to stop, within its lifecycle hook's 2 hours (got: ${deregistrationDelay.toSeconds({ integral: false })} seconds)`);
    }
    const fleet = new Fleet(scope, 'Fleet', {
      vpc: this.loadBalancer.vpc!,
      ...(svc.vpcSubnets ? { vpcSubnets: svc.vpcSubnets } : {}),
      instanceType: svc.instanceType,
      ...(svc.additionalInstanceTypes ? { additionalInstanceTypes: svc.additionalInstanceTypes } : {}),
      ...(svc.allowAllOutbound !== undefined ? { allowAllOutbound: svc.allowAllOutbound } : {}),
      minCapacity: svc.minCapacity,
      maxCapacity: svc.maxCapacity,
      ...(svc.userData ? { userData: svc.userData } : { application: svc.application ?? placeholderServer({ serviceName: svc.name, healthCheckPath, deepHealthCheckPath: this.deepHealthCheckPath }) }),
      applicationRole: 'web',
      serviceName: svc.name,
      port,
      healthCheckPath,
      deepHealthCheckPath: this.deepHealthCheckPath,
      // The application's keep-alive must outlast the load balancer's idle timeout, or the load balancer answers 502.
      loadBalancerIdleTimeout: this.idleTimeout,
      ...(this.environment ? { environment: this.environment } : {}),
      ...(svc.databaseUser !== undefined ? { databaseUser: svc.databaseUser } : {}),
      ...(svc.machineImage ? { machineImage: svc.machineImage } : {}),
      ...(svc.role ? { role: svc.role } : {}),
      ...(svc.blockDevices ? { blockDevices: svc.blockDevices } : {}),
      ...(svc.logRetention !== undefined ? { logRetention: svc.logRetention } : {}),
      ...(svc.rollout ? { rollout: svc.rollout } : {}),
      // The load balancer stops sending new requests first (the application serves on through the deregistration
      // delay); the application then has the rest to stop.
      ...(deregistrationDelay.toSeconds() > 0 ? { drainDelay: deregistrationDelay } : {}),
      drainTimeout: deregistrationDelay.plus(Duration.seconds(30)),
      elbHealthChecks: true,
      ...(svc.warmPool ? { warmPool: svc.warmPool } : {}),
    });
    const isDefault = !svc.pathPatterns?.length && !svc.hostPatterns?.length;
    const targetGroup = new elbv2.ApplicationTargetGroup(scope, 'TargetGroup', {
      vpc: this.loadBalancer.vpc,
      port,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targetType: elbv2.TargetType.INSTANCE,
      loadBalancingAlgorithmType: elbv2.TargetGroupLoadBalancingAlgorithmType.LEAST_OUTSTANDING_REQUESTS,
      deregistrationDelay,
      ...(svc.slowStart ? { slowStart: svc.slowStart } : {}),
      ...(svc.stickiness ? { stickinessCookieDuration: svc.stickiness } : {}),
      healthCheck: {
        path: healthCheckPath,
        healthyHttpCodes: '200',
        interval: WEB_TIER_DEFAULTS.healthCheckInterval,
        timeout: Duration.seconds(5),
        healthyThresholdCount: WEB_TIER_DEFAULTS.healthyThresholdCount,
        unhealthyThresholdCount: WEB_TIER_DEFAULTS.unhealthyThresholdCount,
      },
    });
    fleet.autoScalingGroup.attachToApplicationTargetGroup(targetGroup);

    if (isDefault && !this.originVerify) {
      this.listener.addTargetGroups('Default', { targetGroups: [targetGroup] });
    } else {
      const conditions: elbv2.ListenerCondition[] = [];
      if (svc.pathPatterns?.length) conditions.push(elbv2.ListenerCondition.pathPatterns(svc.pathPatterns));
      if (svc.hostPatterns?.length) conditions.push(elbv2.ListenerCondition.hostHeaders(svc.hostPatterns));
      if (this.originVerify) conditions.push(elbv2.ListenerCondition.httpHeader(this.originVerify.name, this.originVerify.values));
      new elbv2.ApplicationListenerRule(scope, 'Rule', {
        listener: this.listener,
        priority: isDefault ? (this.originVerify?.defaultServicePriority ?? DEFAULT_SERVICE_PRIORITY) : (svc.priority ?? (index + 1) * 10),
        conditions,
        action: elbv2.ListenerAction.forward([targetGroup]),
      });
    }

    const asg = fleet.autoScalingGroup;
    asg.scaleOnCpuUtilization('CpuTracking', { targetUtilizationPercent: svc.targetCpuPercent ?? WEB_TIER_DEFAULTS.targetCpuPercent });
    asg.scaleOnRequestCount('RequestTracking', { targetRequestsPerMinute: svc.targetRequestsPerInstance ?? WEB_TIER_DEFAULTS.targetRequestsPerInstance });
    for (const s of svc.scheduledScaling ?? []) {
      asg.scaleOnSchedule(`Schedule-${s.name}`, {
        schedule: s.schedule,
        ...(s.minCapacity !== undefined ? { minCapacity: s.minCapacity } : {}),
        ...(s.maxCapacity !== undefined ? { maxCapacity: s.maxCapacity } : {}),
        timeZone: 'Etc/UTC',
      });
    }
    if (svc.stepScaling) addCpuStepScaling(asg, svc.stepScaling);
    const rollbackAlarms = (svc.rollbackOnAlarms ?? true) ? this.addRollbackAlarms(scope, svc.name, fleet, targetGroup) : [];
    return { name: svc.name, fleet, targetGroup, isDefault, rollbackAlarms };
  }

  /**
   * The alarms that fail a service's instance refresh: its targets' 5xx rate and unhealthy targets, each over
   * three minutes in a row, so a deploy that breaks the service is rolled back while it rolls.
   */
  private addRollbackAlarms(scope: Construct, name: string, fleet: Fleet, targetGroup: elbv2.ApplicationTargetGroup): cloudwatch.Alarm[] {
    const d = WEB_TIER_DEFAULTS.rollback;
    const minute = { period: Duration.minutes(1), statistic: 'Sum' };
    const errors = new cloudwatch.Alarm(scope, 'Rollback5xxAlarm', {
      metric: new cloudwatch.MathExpression({
        expression: `IF(r >= ${d.minRequestsPerMinute}, 100 * FILL(e, 0) / r, 0)`,
        usingMetrics: {
          r: targetGroup.metrics.requestCount(minute),
          e: targetGroup.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, minute),
        },
        label: `5xx % of requests to ${name}`,
        period: Duration.minutes(1),
      }),
      threshold: d.errorRatePercent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: d.minutes,
      datapointsToAlarm: d.minutes,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `Rollback (web ${name}): its targets answered 5xx to ${d.errorRatePercent} % or more of the requests ${d.minutes} minutes in a row; an instance refresh in progress fails and CloudFormation rolls it back.`,
    });
    const unhealthy = new cloudwatch.Alarm(scope, 'RollbackUnhealthyAlarm', {
      metric: targetGroup.metrics.unhealthyHostCount({ period: Duration.minutes(1), statistic: 'Maximum' }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: d.minutes,
      datapointsToAlarm: d.minutes,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `Rollback (web ${name}): a target failed its health check ${d.minutes} minutes in a row; an instance refresh in progress fails and CloudFormation rolls it back.`,
    });
    for (const alarm of [errors, unhealthy]) fleet.addRollbackAlarm(alarm);
    return [errors, unhealthy];
  }

  private createAccessLogsBucket(): s3.Bucket {
    return createLogBucket(this, 'AccessLogs', { retention: WEB_TIER_DEFAULTS.accessLogRetention, writers: 'the load balancer' });
  }
}

/**
 * Step scaling on average CPU: `addInstances` more instances while CPU is at or above `cpuAbove` for two
 * minutes. It builds what `asg.scaleOnMetric('CpuStepScaling', …)` builds for these two steps (same
 * construct ids, so the same resources and logical IDs), because `StepScalingPolicy` always hands its
 * deprecated `cooldown` prop to `StepScalingAction`, even when unset, and aws-cdk-lib then prints a
 * deprecation warning at every synth.
 */
function addCpuStepScaling(asg: autoscaling.AutoScalingGroup, step: CpuStepScaling): void {
  const scope = new Construct(asg, 'CpuStepScaling');
  const action = new autoscaling.StepScalingAction(scope, 'UpperPolicy', {
    autoScalingGroup: asg,
    adjustmentType: autoscaling.AdjustmentType.CHANGE_IN_CAPACITY,
    metricAggregationType: autoscaling.MetricAggregationType.AVERAGE,
  });
  action.addAdjustment({ adjustment: step.addInstances, lowerBound: 0 });
  const alarm = new cloudwatch.Alarm(scope, 'UpperAlarm', {
    metric: new cloudwatch.Metric({
      namespace: 'AWS/EC2',
      metricName: 'CPUUtilization',
      dimensionsMap: { AutoScalingGroupName: asg.autoScalingGroupName },
      statistic: 'Average',
      period: Duration.minutes(1),
    }),
    alarmDescription: 'Upper threshold scaling alarm',
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: 2,
    threshold: step.cpuAbove,
  });
  alarm.addAlarmAction({ bind: () => ({ alarmActionArn: action.scalingPolicyArn }) });
}

/** Priority of the default service's rule when an origin header is required (ALB's lowest precedence). */
const DEFAULT_SERVICE_PRIORITY = 50000;
/** ALB limit: condition values per rule. */
const MAX_CONDITION_VALUES = 5;
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,40}$/;

function validateOriginVerify(scope: Construct, o: OriginVerifyHeaderOptions, services: WebServiceProps[]): void {
  const fail = (message: string) => validationError(scope, message);
  if (!Token.isUnresolved(o.name) && !HEADER_NAME.test(o.name)) {
    throw fail(`WebTier: originVerifyHeader.name must be an HTTP header name of at most 40 characters (got: ${JSON.stringify(o.name)})`);
  }
  if (o.values.length < 1 || o.values.length > 2) throw fail(`WebTier: originVerifyHeader.values must hold 1 or 2 values (got: ${o.values.length})`);
  if (o.healthCheckPath !== undefined && !/^\/[A-Za-z0-9_\-.$/~"'@:+=!,;%]{0,127}$/.test(o.healthCheckPath)) {
    throw fail(`WebTier: originVerifyHeader.healthCheckPath must be one exact path (no wildcard), starting with / (got: ${JSON.stringify(o.healthCheckPath)})`);
  }
  const reserved = new Map<number, string>();
  reserved.set(o.defaultServicePriority ?? DEFAULT_SERVICE_PRIORITY, 'originVerifyHeader.defaultServicePriority');
  if (o.exemptHealthCheckPath ?? true) {
    const p = o.healthCheckExemptionPriority ?? 1;
    if (reserved.has(p)) throw fail(`WebTier: originVerifyHeader.healthCheckExemptionPriority equals defaultServicePriority (got: ${p})`);
    reserved.set(p, 'originVerifyHeader.healthCheckExemptionPriority');
  }
  for (const [p, what] of reserved) {
    if (!Number.isInteger(p) || p < 1 || p > 50000) throw fail(`WebTier: ${what} must be 1-50000 (got: ${p})`);
  }
  services.forEach((s, i) => {
    if (!s.pathPatterns?.length && !s.hostPatterns?.length) return;
    const p = s.priority ?? (i + 1) * 10;
    if (reserved.has(p)) throw fail(`WebTier: services[${i}].priority is taken by ${reserved.get(p)} (got: ${p})`);
    const n = (s.pathPatterns?.length ?? 0) + (s.hostPatterns?.length ?? 0) + o.values.length;
    if (n > MAX_CONDITION_VALUES) {
      throw fail(`WebTier: services[${i}] (${s.name}) has ${n} condition values with the origin header; an ALB rule allows ${MAX_CONDITION_VALUES}: use at most ${MAX_CONDITION_VALUES - o.values.length} path and host patterns (got: ${n})`);
    }
  });
}

function validateServices(scope: Construct, services: WebServiceProps[], originVerify?: OriginVerifyHeaderOptions, deepHealthCheckPath?: string): void {
  const fail = (message: string) => validationError(scope, message);
  if (services.length === 0) throw fail('WebTier: services must list at least one service (got: [])');
  checkHealthPath(scope, 'WebTier', 'deepHealthCheckPath', deepHealthCheckPath);
  const names = new Set<string>();
  const priorities = new Set<number>();
  let defaults = 0;
  services.forEach((s, i) => {
    if (!SERVICE_NAME.test(s.name)) throw fail(`WebTier: services[${i}].name must be lowercase letters, digits and dashes (got: ${JSON.stringify(s.name)})`);
    if (names.has(s.name)) throw fail(`WebTier: services[${i}].name is a duplicate (got: ${JSON.stringify(s.name)})`);
    names.add(s.name);
    checkCapacity(s.minCapacity, s.maxCapacity, `WebTier: services[${i}] (${s.name})`, scope);
    checkServiceHealthPath(scope, 'WebTier', `services[${i}].healthCheckPath`, s.healthCheckPath);
    if (!Token.isUnresolved(s.minCapacity) && s.minCapacity < 1) throw fail(`WebTier: services[${i}].minCapacity must be at least 1 for a web service (got: ${s.minCapacity})`);
    const isDefault = !s.pathPatterns?.length && !s.hostPatterns?.length;
    if (isDefault) defaults++;
    else {
      const p = s.priority ?? (i + 1) * 10;
      if (priorities.has(p)) throw fail(`WebTier: services[${i}].priority is a duplicate (got: ${p})`);
      priorities.add(p);
    }
    if (s.application && s.userData) throw validationError(scope, `WebTier: services[${i}] (${s.name}) gives application and userData; give one (got both)`);
    checkPort(scope, 'WebTier', `services[${i}].port`, s.port);
    if ((s.healthCheckPath ?? WEB_TIER_DEFAULTS.healthCheckPath) === (deepHealthCheckPath ?? WEB_TIER_DEFAULTS.dnsHealthCheckPath)) {
      throw fail(`WebTier: services[${i}].healthCheckPath must differ from deepHealthCheckPath, or the deep check is answered by the shallow one (got: ${JSON.stringify(s.healthCheckPath ?? WEB_TIER_DEFAULTS.healthCheckPath)} for both)`);
    }
    const slow = s.slowStart?.toSeconds();
    if (slow !== undefined && (slow < 30 || slow > 900)) throw fail(`WebTier: services[${i}].slowStart must be 30-900 seconds (got: ${slow})`);
  });
  if (defaults !== 1) throw fail(`WebTier: exactly one service must have no pathPatterns and no hostPatterns (got: ${defaults})`);
  if (originVerify) validateOriginVerify(scope, originVerify, services);
}
