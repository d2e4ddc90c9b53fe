import { aws_logs as logs } from 'aws-cdk-lib';

/** Default values of the `Network` construct. */
export const NETWORK_DEFAULTS = {
  /** Days VPC flow logs are kept. */
  flowLogRetention: logs.RetentionDays.THREE_MONTHS,
  /** Flow log aggregation interval (seconds): one minute, so incidents show up quickly. */
  flowLogMaxAggregationIntervalSeconds: 60,
} as const;
