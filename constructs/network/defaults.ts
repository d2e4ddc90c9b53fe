import * as logs from 'aws-cdk-lib/aws-logs';

/**
 * The interface endpoints the reference fleets and functions call, by service short name
 * (`com.amazonaws.<region>.<name>`): the runtime SDK (SSM parameters, Secrets Manager, SQS, KMS-encrypted
 * queues), secret rotation (Secrets Manager), logs and metrics (CloudWatch Logs, CloudWatch), SDK credential
 * exchanges (STS), Session Manager (SSM messages, EC2 messages), the workers' scale-in protection
 * (Auto Scaling) and container images (ECR API and Docker).
 */
export const INTERFACE_ENDPOINT_SERVICES = [
  'secretsmanager', 'ssm', 'sqs', 'kms', 'logs', 'sts', 'ssmmessages', 'ec2messages', 'monitoring', 'autoscaling', 'ecr.api', 'ecr.dkr',
] as const;

/** A service {@link INTERFACE_ENDPOINT_SERVICES} lists. */
export type InterfaceEndpointService = (typeof INTERFACE_ENDPOINT_SERVICES)[number];

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
