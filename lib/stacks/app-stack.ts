import { CfnOutput, aws_ec2 as ec2, aws_route53 as route53 } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { IEndpointProvider } from '../../constructs/common';
import { DnsRouting, GeoDns, type GeoDnsProps, HealthCheckProtocol, apiDomainName, originDomainName } from '../../constructs/geo-dns';
import { WebTier } from '../../constructs/web-tier';
import type { ServiceConfig } from '../config';
import { OutputKeys } from '../outputs';
import { RegionalStack, type RegionalStackProps } from './regional-stack';
import { Schedule } from 'aws-cdk-lib/aws-autoscaling';
import { Duration } from 'aws-cdk-lib';

/** Properties of an {@link AppStack}. */
export interface AppStackProps extends RegionalStackProps {
  /** The region's VPC. */
  readonly vpc: ec2.IVpc;
  /** Data-tier endpoints every fleet of the region is granted. */
  readonly endpointProviders: IEndpointProvider[];
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
  /** This region's DNS records and health checks (when a domain is configured and the routing serves this region). */
  public readonly dns?: GeoDns;

  constructor(scope: Construct, id: string, props: AppStackProps) {
    super(scope, id, { ...props, tier: 'app' });
    const { config } = this;
    if (config.domain) {
      this.hostedZone = route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', {
        hostedZoneId: config.domain.hostedZoneId,
        zoneName: config.domain.hostedZoneName,
      });
    }
    this.webTier = new WebTier(this, 'Web', {
      vpc: props.vpc,
      deletionProtection: config.web.deletionProtection,
      idleTimeout: Duration.seconds(config.web.idleTimeoutSeconds),
      ...(config.domain && this.hostedZone ? { domain: { domainName: config.domain.name, hostedZone: this.hostedZone } } : {}),
      services: config.services.map(serviceProps),
    });
    this.webTier.forEachFleet((fleet) => {
      for (const provider of props.endpointProviders) provider.grantConsumer(fleet);
    });

    if (this.hostedZone) this.dns = this.createDns(this.hostedZone);

    const lb = this.webTier.loadBalancer;
    new CfnOutput(this, OutputKeys.loadBalancerFullName, { value: lb.loadBalancerFullName, description: 'ALB full name (CloudWatch LoadBalancer dimension)' });
    new CfnOutput(this, OutputKeys.loadBalancerDnsName, { value: lb.loadBalancerDnsName, description: 'ALB DNS name' });
    this.webTier.forEachFleet((fleet, service) => {
      new CfnOutput(this, OutputKeys.targetGroupFullName(service.name), { value: service.targetGroup.targetGroupFullName, description: `Target group full name of service ${service.name}` });
      new CfnOutput(this, OutputKeys.fleetName(service.name), { value: fleet.autoScalingGroup.autoScalingGroupName, description: `Auto Scaling group of service ${service.name}` });
    });
  }

  /**
   * The region's records for `origin.<domain>` and `api.<domain>`. Everything here derives from this
   * region's config alone, so adding or removing a region leaves the other regions' templates unchanged.
   */
  private createDns(zone: route53.IHostedZone): GeoDns | undefined {
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
      if (locations.length === 0) return undefined;
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
      recordNames: [originDomainName(domain, dns.originSubdomain), apiDomainName(domain, dns.apiSubdomain)],
      healthCheck: {
        path: dns.healthCheck.path,
        protocol: this.webTier.certificate ? HealthCheckProtocol.HTTPS : HealthCheckProtocol.HTTP,
        ...(dns.healthCheck.port !== undefined ? { port: dns.healthCheck.port } : {}),
        failureThreshold: dns.healthCheck.failureThreshold,
        requestInterval: Duration.seconds(dns.healthCheck.requestInterval),
        ...(dns.healthCheck.regions ? { regions: dns.healthCheck.regions } : {}),
      },
      drained: dns.drainedRegions.includes(region),
    });
  }
}

function serviceProps(s: ServiceConfig) {
  return {
    name: s.name,
    ...(s.pathPatterns.length ? { pathPatterns: s.pathPatterns } : {}),
    ...(s.hostPatterns.length ? { hostPatterns: s.hostPatterns } : {}),
    priority: s.priority,
    instanceType: new ec2.InstanceType(s.instanceType),
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
  };
}
