/**
 * The CloudFormation output keys every stack of the reference app publishes, the contract between the
 * stacks and the `s2m` CLI (which reads them with DescribeStacks to know what exists where). Keys are
 * stable: renaming one breaks deployed CLIs. Per-item keys end with the item's name in PascalCase
 * (`api-v2` → `ApiV2`).
 */
export const OutputKeys = {
  // app stack <name>-app-<region>
  /** `app/<lb-name>/<id>`: the ALB's full name (CloudWatch `LoadBalancer` dimension). */
  loadBalancerFullName: 'LoadBalancerFullName',
  /** The ALB's DNS name. */
  loadBalancerDnsName: 'LoadBalancerDnsName',
  /** `targetgroup/<name>/<id>` of a service (CloudWatch `TargetGroup` dimension). */
  targetGroupFullName: (service: string) => `TargetGroupFullName${pascal(service)}`,
  /** Auto Scaling group name of a web service's fleet. */
  fleetName: (service: string) => `FleetName${pascal(service)}`,
  /** Auto Scaling group name of a queue's worker fleet. */
  workerFleetName: (queue: string) => `WorkerFleetName${pascal(queue)}`,
  /** Application log group of a web service's fleet. */
  logGroupName: (service: string) => `LogGroupName${pascal(service)}`,
  /** Application log group of a queue's worker fleet. */
  workerLogGroupName: (queue: string) => `WorkerLogGroupName${pascal(queue)}`,
  /** The region's dashboard name. */
  dashboardName: 'DashboardName',
  /** The region's alarm topic ARN. */
  alarmTopicArn: 'AlarmTopicArn',
  /** The region's composite health alarm name. */
  regionHealthAlarmName: 'RegionHealthAlarmName',
  /** The region's drain switch (a Route 53 health check always healthy until inverted); `s2m evacuate` and `restore` invert it. */
  drainHealthCheckId: 'DrainHealthCheckId',

  // data stack <name>-data-<region>
  /** Aurora cluster identifier (CloudWatch `DBClusterIdentifier`); with shards, one per shard. */
  databaseClusterId: (shard?: string) => `DatabaseClusterId${shard ? pascal(shard) : ''}`,
  /** ElastiCache replication group id (CloudWatch `ReplicationGroupId` dimension where available). */
  cacheReplicationGroupId: 'CacheReplicationGroupId',
  /** SQS queue name of a queue (CloudWatch `QueueName`). */
  queueName: (queue: string) => `QueueName${pascal(queue)}`,
  /** SQS dead-letter queue name of a queue. */
  deadLetterQueueName: (queue: string) => `DeadLetterQueueName${pascal(queue)}`,

  // edge stack <name>-edge
  /** CloudFront distribution id (CloudWatch `DistributionId`, us-east-1). */
  distributionId: 'DistributionId',
  /** CloudFront domain name. */
  distributionDomainName: 'DistributionDomainName',
} as const;

/** `api-v2` → `ApiV2`: the form item names take inside output keys and construct ids. */
export function pascal(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((p) => p[0].toUpperCase() + p.slice(1))
    .join('');
}
