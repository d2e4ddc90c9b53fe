import { Annotations, CfnOutput, CfnParameter, Duration, RemovalPolicy } from 'aws-cdk-lib/core';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { EdgeDistribution, OriginVerifyReplica, OriginVerifySecret } from '../../constructs/edge';
import { EDGE_REGION, type AppConfig } from '../config';
import { OutputKeys, pascal } from '../outputs';
import { apiDomainName, originDomainName } from '../../constructs/geo-dns';
import { ReferenceStack, type ReferenceStackProps } from './regional-stack';
import { createAlarmTopic } from './alarm-topic';

/**
 * Name prefix of the origin-verify secrets (`<name>/edge/origin-verify-0|1`): created in the primary
 * region's data stack; every other region's data stack pulls its own replica, and us-east-1's replica (for
 * CloudFront) is pulled by the us-east-1 data stack or, when us-east-1 hosts no region, by the edge stack.
 * Each consumer resolves them by name in its own region.
 */
export function originSecretNamePrefix(config: AppConfig): string {
  return `${config.name}/edge/origin-verify`;
}

/**
 * Whether the edge stack pulls the us-east-1 replica of the origin-verify secrets: only when us-east-1 is
 * neither the primary region (which holds the secrets) nor a configured region (whose data stack pulls it).
 * The edge stack never changes when other regions are added or removed.
 */
export function originVerifyReplicaInEdgeStack(config: AppConfig): boolean {
  return config.primaryRegion !== EDGE_REGION && !config.regions.some((r) => r.region === EDGE_REGION);
}

/**
 * Where a region's app stack writes, in us-east-1, the id of the Route 53 health check on its load balancer:
 * `/<name>/dns/health-checks/<region>`. The edge stack's alarm on that check reads it (Route 53 publishes the
 * checks' metrics in us-east-1 only, and the stacks use no cross-region references).
 */
export function healthCheckParameterName(config: AppConfig, region: string): string {
  return `/${config.name}/dns/health-checks/${region}`;
}

/** Properties of the {@link EdgeStack}. */
export interface EdgeStackProps extends Omit<ReferenceStackProps, 'tier' | 'region'> {
  /**
   * The regions whose app stack has DNS records and publishes its endpoint health check's id
   * ({@link healthCheckParameterName}): each gets an alarm here, with `monitoring.enabled`. Their app stacks must
   * deploy before this stack.
   * @default - none
   */
  readonly healthCheckRegions?: string[];
}

/**
 * `<name>-edge` in us-east-1: CloudFront, its certificate, the WAF web ACL, the static-assets bucket and
 * the apex/www records (CloudFront's certificate and web ACL must live in us-east-1), and the alarms on the
 * regions' Route 53 health checks (whose metrics exist in us-east-1 only). Without a domain (or with `edge.enabled`
 * false) it holds no distribution, with a warning: CloudFront cannot reach an origin name the product does not own.
 */
export class EdgeStack extends ReferenceStack {
  /** The edge, when enabled. */
  public readonly edge?: EdgeDistribution;
  /** The topic the CloudFront alarms notify (when `monitoring.enabled`). */
  public readonly alarmTopic?: sns.Topic;
  /** The us-east-1 replica of the origin-verify secrets, when no data stack in us-east-1 pulls it. */
  public readonly originVerifyReplica?: OriginVerifyReplica;
  /** Per region: the alarm on its load balancer's Route 53 health check (with `monitoring.enabled`). */
  public readonly healthCheckAlarms: Record<string, cloudwatch.Alarm> = {};

  constructor(scope: Construct, id: string, props: EdgeStackProps) {
    const { healthCheckRegions = [], ...rest } = props;
    super(scope, id, { ...rest, region: EDGE_REGION, tier: 'edge' });
    const { config } = this;
    const e = config.edge;
    const edgeOn = e.enabled && config.domain !== undefined;
    if (config.monitoring.enabled && (edgeOn || healthCheckRegions.length > 0)) {
      this.alarmTopic = createAlarmTopic(this, config, `${EDGE_REGION}, edge`);
      new CfnOutput(this, OutputKeys.alarmTopicArn, { value: this.alarmTopic.topicArn, description: 'SNS topic the CloudFront and Route 53 health check alarms notify' });
      for (const region of healthCheckRegions) this.healthCheckAlarms[region] = this.healthCheckAlarm(region, this.alarmTopic);
    }
    if (!edgeOn) {
      Annotations.of(this).addWarningV2('scale-to-millions:edge-disabled', config.domain
        ? 'edge.enabled is false: no CloudFront distribution; the load balancers serve viewers directly.'
        : 'No domain configured: no CloudFront distribution (the edge needs an origin name under your domain); the load balancers serve viewers directly over HTTP.');
      return;
    }
    const hostedZone = route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', {
      hostedZoneId: config.domain.hostedZoneId,
      zoneName: config.domain.hostedZoneName,
    });
    this.edge = new EdgeDistribution(this, 'Edge', {
      domainName: config.domain.name,
      hostedZone,
      originDomainName: originDomainName(config.domain.name, config.dns.originSubdomain),
      // API clients get the same edge: WAF, TLS, and load balancers that answer only to CloudFront.
      additionalDomainNames: [apiDomainName(config.domain.name, config.dns.apiSubdomain)],
      forwardViewerHost: e.forwardViewerHost,
      ...(e.certificateArn ? { certificate: acm.Certificate.fromCertificateArn(this, 'Certificate', e.certificateArn) } : {}),
      originVerifyHeader: { name: e.originHeaderName, value: OriginVerifySecret.references(originSecretNamePrefix(config), e.originSecretGeneration).current },
      staticPaths: e.staticPaths,
      priceClass: e.priceClass as cloudfront.PriceClass,
      rateLimitPer5Min: e.rateLimitPer5Min,
      blockLargeRequestBodies: e.blockLargeRequestBodies,
      forwardedHeaders: e.forwardedHeaders,
      forwardedCookies: e.forwardedCookies,
      forwardedQueryStrings: e.forwardedQueryStrings,
      dynamicDefaultTtl: Duration.seconds(e.dynamicDefaultTtlSeconds),
      dynamicMaxTtl: Duration.seconds(e.dynamicMaxTtlSeconds),
      ...(e.assetsFolder !== undefined ? { assetsFolder: e.assetsFolder } : {}),
      errorResponses: e.errorResponses.map((r) => ({
        httpStatus: r.httpStatus,
        ttl: Duration.seconds(r.ttlSeconds),
        ...(r.responseHttpStatus !== undefined ? { responseHttpStatus: r.responseHttpStatus } : {}),
        ...(r.responsePagePath !== undefined ? { responsePagePath: r.responsePagePath } : {}),
      })),
      accessLogRetention: Duration.days(e.logRetentionDays),
      wafLogGroupName: `aws-waf-logs-${config.name}-edge`,
      errorRateAlarmPercent: e.alarmErrorRatePercent,
      originLatencyAlarm: Duration.millis(e.alarmOriginLatencyMs),
      // CloudFront's metrics live in us-east-1: its alarms notify a topic of this stack, like each region's alarms
      // notify that region's topic. No monitoring, no alarms (nobody to notify).
      alarms: config.monitoring.enabled,
      ...(this.alarmTopic ? { alarmActions: [new cwActions.SnsAction(this.alarmTopic)] } : {}),
    });
    if (originVerifyReplicaInEdgeStack(config)) {
      this.originVerifyReplica = new OriginVerifyReplica(this, 'OriginVerifyReplica', {
        secretNamePrefix: originSecretNamePrefix(config),
        primaryRegion: config.primaryRegion,
        // Kept if this request ever moves to a us-east-1 data stack (us-east-1 added as a region): the
        // distribution must never lose the value it sends.
        removalPolicy: RemovalPolicy.RETAIN,
      });
      // CloudFront resolves the header value when the distribution is created or updated.
      this.edge.distribution.node.addDependency(this.originVerifyReplica);
    }
    new CfnOutput(this, OutputKeys.distributionId, { value: this.edge.distribution.distributionId, description: 'CloudFront distribution id (CloudWatch DistributionId, us-east-1)' });
    new CfnOutput(this, OutputKeys.distributionDomainName, { value: this.edge.distribution.distributionDomainName, description: 'CloudFront domain name' });
  }
  /**
   * The alarm on a region's endpoint health check: in ALARM while Route 53's checkers find the region's load
   * balancer unhealthy (its deep health path fails or times out), which takes the region out of DNS. Nothing in the
   * region says so otherwise: with its traffic gone, its 5xx and latency alarms go quiet. The endpoint check, not the
   * region's calculated one, so that a region drained on purpose (`s2m evacuate`, `dns.drainedRegions`) does not hold
   * this alarm in ALARM, where it could not tell of a failure; the drain alarms alarm in their own region.
   */
  private healthCheckAlarm(region: string, topic: sns.ITopic): cloudwatch.Alarm {
    const { config } = this;
    const id = pascal(region);
    const healthCheckId = new CfnParameter(this, `HealthCheckId${id}`, {
      type: 'AWS::SSM::Parameter::Value<String>',
      default: healthCheckParameterName(config, region),
      description: `The id of the Route 53 health check on the load balancer in ${region}, written by ${config.name}'s app stack there`,
    });
    const alarm = new cloudwatch.Alarm(this, `RegionHealthCheck${id}Alarm`, {
      alarmDescription: `${config.name} in ${region}: Route 53's checkers find the region's load balancer unhealthy (${config.dns.healthCheck.path} failing or timing out), so the region is out of DNS and serves nobody; its own 5xx and latency alarms go quiet without traffic. Look at the deep health's failing checks (database writer, cache) and the region's alarms.`,
      metric: new cloudwatch.Metric({
        namespace: 'AWS/Route53',
        metricName: 'HealthCheckStatus',
        dimensionsMap: { HealthCheckId: healthCheckId.valueAsString },
        statistic: cloudwatch.Stats.MINIMUM,
        period: Duration.minutes(1),
      }),
      // 1 healthy, 0 unhealthy: two minutes unhealthy, after the check's own failure threshold.
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      // Route 53 reports every minute while the check exists: no data is a check that is gone (replaced by a deploy of
      // the region's app stack alone, the edge not redeployed since), not a healthy region. It notifies too.
      treatMissingData: cloudwatch.TreatMissingData.MISSING,
    });
    alarm.addAlarmAction(new cwActions.SnsAction(topic));
    alarm.addOkAction(new cwActions.SnsAction(topic));
    alarm.addInsufficientDataAction(new cwActions.SnsAction(topic));
    return alarm;
  }
}
