import { CfnOutput, Duration, type aws_ec2 as ec2 } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { IEndpointProvider } from '../../constructs/common';
import { WorkQueue, WorkQueueEncryption } from '../../constructs/work-queue';
import type { QueueConfig } from '../config';
import { OutputKeys, pascal } from '../outputs';
import { RegionalStack, type RegionalStackProps } from './regional-stack';

/** Properties of a {@link DataStack}. */
export interface DataStackProps extends RegionalStackProps {
  /** The region's VPC. */
  readonly vpc: ec2.IVpc;
}

/**
 * `<name>-data-<region>`: stateful resources only (databases, caches, queues). Termination protection is
 * on, and every stateful resource keeps a stable logical ID and a RETAIN or SNAPSHOT removal policy.
 */
export class DataStack extends RegionalStack {
  /** Endpoint providers the region's fleets consume (database, cache, ...). */
  public readonly endpointProviders: IEndpointProvider[] = [];
  /** Work queues (config `queues`) by name; their worker fleets live in the app stack. */
  public readonly workQueues: Record<string, WorkQueue> = {};

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, { ...props, tier: 'data', terminationProtection: true });
    for (const q of this.config.queues) this.addWorkQueue(q);
  }

  /** A queue and its dead-letter queue; the construct id is part of their logical IDs: never rename it. */
  private addWorkQueue(q: QueueConfig): void {
    const workQueue = new WorkQueue(this, `Queue${pascal(q.name)}`, {
      fifo: q.fifo,
      contentBasedDeduplication: q.contentBasedDeduplication,
      maxReceiveCount: q.maxReceiveCount,
      retentionPeriod: Duration.days(q.retentionDays),
      averageProcessingTime: Duration.seconds(q.averageProcessingSeconds),
      ...(q.maxProcessingSeconds !== undefined ? { maxProcessingTime: Duration.seconds(q.maxProcessingSeconds) } : {}),
      acceptableLatency: Duration.seconds(q.acceptableLatencySeconds),
      visibilityTimeout: Duration.seconds(q.visibilityTimeoutSeconds),
      encryption: q.encryption === 'kms' ? WorkQueueEncryption.KMS : WorkQueueEncryption.SQS_MANAGED,
      parameterPrefix: `${this.parameterPrefix}/queues/${q.name}`,
    });
    this.workQueues[q.name] = workQueue;
    // Producers: every web fleet of the region may read the queue's URL and send to it.
    this.endpointProviders.push(workQueue);
    new CfnOutput(this, OutputKeys.queueName(q.name), { value: workQueue.queue.queueName, description: `SQS queue of ${q.name}` });
    new CfnOutput(this, OutputKeys.deadLetterQueueName(q.name), { value: workQueue.deadLetterQueue.queueName, description: `SQS dead-letter queue of ${q.name}` });
  }
}
