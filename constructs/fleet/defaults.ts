import { Duration } from 'aws-cdk-lib';

/** Default values of the `Fleet` construct. */
export const FLEET_DEFAULTS = {
  /** Root volume size in GiB (gp3, encrypted). */
  rootVolumeSizeGiB: 20,
  /** Time an instance has to boot and pass its first ELB health check. */
  healthCheckGracePeriod: Duration.minutes(3),
  /** Time before a new instance's metrics count in the group's aggregate (scaling decisions). */
  defaultInstanceWarmup: Duration.minutes(2),
  /** Rolling update: how long CloudFormation waits for a batch to come into service. */
  rollingUpdatePause: Duration.minutes(5),
} as const;
