import { Annotations, CfnOutput, Duration, RemovalPolicy } from 'aws-cdk-lib/core';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { EdgeDistribution, OriginVerifyReplica, OriginVerifySecret } from '../../constructs/edge';
import { EDGE_REGION, type AppConfig } from '../config';
import { OutputKeys } from '../outputs';
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
 * `<name>-edge` in us-east-1: CloudFront, its certificate, the WAF web ACL, the static-assets bucket and
 * the apex/www records (CloudFront's certificate and web ACL must live in us-east-1). Without a domain
 * (or with `edge.enabled` false) it holds nothing, with a warning: CloudFront cannot reach an origin name
 * the product does not own.
 */
export class EdgeStack extends ReferenceStack {
  /** The edge, when enabled. */
  public readonly edge?: EdgeDistribution;
  /** The topic the CloudFront alarms notify (when `monitoring.enabled`). */
  public readonly alarmTopic?: sns.Topic;
  /** The us-east-1 replica of the origin-verify secrets, when no data stack in us-east-1 pulls it. */
  public readonly originVerifyReplica?: OriginVerifyReplica;

  constructor(scope: Construct, id: string, props: Omit<ReferenceStackProps, 'tier' | 'region'>) {
    super(scope, id, { ...props, region: EDGE_REGION, tier: 'edge' });
    const { config } = this;
    const e = config.edge;
    if (!e.enabled || !config.domain) {
      Annotations.of(this).addWarningV2('scale-to-millions:edge-disabled', config.domain
        ? 'edge.enabled is false: no CloudFront distribution; the load balancers serve viewers directly.'
        : 'No domain configured: no CloudFront distribution (the edge needs an origin name under your domain); the load balancers serve viewers directly over HTTP.');
      return;
    }
    if (config.monitoring.enabled) {
      this.alarmTopic = createAlarmTopic(this, config, `${EDGE_REGION}, edge`);
      new CfnOutput(this, OutputKeys.alarmTopicArn, { value: this.alarmTopic.topicArn, description: 'SNS topic the CloudFront alarms notify' });
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
}
