import { aws_logs as logs } from 'aws-cdk-lib';

/** Default values of the `Network` construct. */
export const NETWORK_DEFAULTS = {
  /** Days VPC flow logs are kept. */
  flowLogRetention: logs.RetentionDays.THREE_MONTHS,
  /** Flow log aggregation interval (seconds): one minute, so incidents show up quickly. */
  flowLogMaxAggregationIntervalSeconds: 60,
  /** Root volume of a NAT instance, GiB (gp3, encrypted): the Amazon Linux 2023 image's size. */
  natInstanceRootVolumeGiB: 8,
  /** NAT instance type when NAT instances are asked for without one. */
  natInstanceType: 't4g.nano',
} as const;
