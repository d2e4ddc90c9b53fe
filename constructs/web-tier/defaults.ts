import { Duration } from 'aws-cdk-lib/core';
import { HEALTH_PATHS } from '../../lib/runtime/contract';

/** Default values of the `WebTier` construct and its services. */
export const WEB_TIER_DEFAULTS = {
  /** Port the application listens on. */
  port: 8080,
  /** Health check path of the target groups (shallow: the process answers). */
  healthCheckPath: HEALTH_PATHS.shallow,
  /** The path Route 53 checks (deep: the data tier answers), exempted from the origin header. */
  dnsHealthCheckPath: HEALTH_PATHS.deep,
  /** Target average CPU utilisation of a fleet (%). */
  targetCpuPercent: 50,
  /** Target ALB requests per instance per minute. */
  targetRequestsPerInstance: 1000,
  /** Time the load balancer lets in-flight requests finish before deregistering a target. */
  deregistrationDelay: Duration.seconds(30),
  /** Load balancer idle timeout. */
  idleTimeout: Duration.seconds(60),
  /** Health check cadence: a target is healthy after 2 passes 10 s apart, unhealthy after 3 failures. */
  healthCheckInterval: Duration.seconds(10),
  healthyThresholdCount: 2,
  unhealthyThresholdCount: 3,
  /** How long ALB access logs are kept. */
  accessLogRetention: Duration.days(90),
  /**
   * The rollback alarms of each service's instance refresh: 5xx at or above `errorRatePercent` of the target
   * group's requests (counted only from `minRequestsPerMinute` requests), or an unhealthy target, `minutes`
   * minutes in a row.
   */
  rollback: { errorRatePercent: 5, minRequestsPerMinute: 20, minutes: 3 },
} as const;
