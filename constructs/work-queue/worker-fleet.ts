import {
  Aws,
  Duration,
  Token,
  Validations,
  aws_autoscaling as autoscaling,
  aws_cloudwatch as cloudwatch,
  aws_cloudwatch_actions as cloudwatchActions,
  aws_ec2 as ec2,
  aws_iam as iam,
} from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { Fleet, checkCapacity } from '../fleet';
import { WORK_QUEUE_DEFAULTS } from './defaults';
import { defaultWorkerUserData } from './user-data';
import type { IWorkQueue } from './work-queue';
import { nagArn } from '../common/nag';

/** Properties of a {@link WorkerFleet}. */
export interface WorkerFleetProps {
  /** The queue the workers drain. */
  readonly workQueue: IWorkQueue;
  /** The VPC the workers run in (private subnets with egress; they reach SQS through NAT or an endpoint). */
  readonly vpc: ec2.IVpc;
  /**
   * Subnets of the workers.
   * @default - the private subnets with egress
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** Instance type of the workers. */
  readonly instanceType: ec2.InstanceType;
  /**
   * Fewest workers. 0 lets the fleet sleep while the queue is empty; a step policy wakes it (1 worker)
   * at the first message, since target tracking alone never scales out from zero instances.
   * @default 0
   */
  readonly minCapacity?: number;
  /** Most workers. */
  readonly maxCapacity: number;
  /**
   * Messages each worker may have waiting (the target of the backlog-per-instance tracking).
   * @default - the queue's `targetBacklogPerInstance`: acceptable latency ÷ average processing time
   */
  readonly targetBacklogPerInstance?: number;
  /**
   * User data of the workers. Your worker must protect its instance from scale-in while it works
   * (`SetInstanceProtection`, granted to the instance role for this group only) and lift it when idle.
   * @default - the placeholder worker loop of `defaultWorkerUserData`, which does exactly that
   */
  readonly userData?: ec2.UserData;
  /**
   * The AMI.
   * @default - the latest Amazon Linux 2023 for the instance type's architecture
   */
  readonly machineImage?: ec2.IMachineImage;
  /**
   * The instance role.
   * @default - a new role (SSM Session Manager, plus the grants made here)
   */
  readonly role?: iam.IRole;
}

/**
 * A worker fleet that drains a {@link IWorkQueue}: a {@link Fleet} (launch template, IMDSv2 with instance
 * tags in the metadata, instance role, user data) whose size follows the backlog per instance.
 *
 * Scaling:
 * - target tracking on the metric-math expression `m1 / IF(m2 > 0, m2, 1)` (messages visible ÷ in-service
 *   instances, the division guarded for an empty group), with target acceptable latency ÷ average
 *   processing time: each worker keeps at most the backlog it can clear within the latency;
 * - with `minCapacity` 0, a step policy that sets the capacity to 1 when a message is visible while the
 *   group's desired capacity is 0 (target tracking is proportional to the current size, so it cannot
 *   leave zero by itself).
 *
 * Scale-in safety: workers protect their own instance from scale-in while they hold a message
 * (`autoscaling:SetInstanceProtection`, granted on this group only) and lift it when idle. Scale-in then
 * lowers the desired capacity at once but terminates only idle workers, each as soon as it unprotects.
 * Terminations that are not scale-in (health replacement, rolling update) can still stop a job; its
 * message becomes visible again after the visibility timeout, so no work is lost.
 */
export class WorkerFleet extends Construct implements ec2.IConnectable, iam.IGrantable {
  /** The fleet. */
  public readonly fleet: Fleet;
  /** The Auto Scaling group. */
  public readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  /** The target tracking policy on backlog per instance. */
  public readonly backlogTrackingPolicy: autoscaling.CfnScalingPolicy;
  /** The messages-per-worker target in force. */
  public readonly targetBacklogPerInstance: number;
  /** The step action that wakes an empty fleet (only with `minCapacity` 0). */
  public readonly wakeUpAction?: autoscaling.StepScalingAction;
  /** The alarm that triggers it (only with `minCapacity` 0). */
  public readonly wakeUpAlarm?: cloudwatch.Alarm;
  /** The workers' network connections. */
  public readonly connections: ec2.Connections;
  /** The workers' principal (instance role). */
  public readonly grantPrincipal: iam.IPrincipal;
  private readonly workQueue: IWorkQueue;

  constructor(scope: Construct, id: string, props: WorkerFleetProps) {
    super(scope, id);
    const minCapacity = props.minCapacity ?? WORK_QUEUE_DEFAULTS.workerMinCapacity;
    checkCapacity(minCapacity, props.maxCapacity, 'WorkerFleet');
    const target = props.targetBacklogPerInstance ?? props.workQueue.targetBacklogPerInstance;
    if (!Token.isUnresolved(target) && !(Number.isFinite(target) && target > 0)) {
      throw new Error(`WorkerFleet: targetBacklogPerInstance must be a positive number of messages per worker (got: ${target})`);
    }
    this.targetBacklogPerInstance = target;
    this.workQueue = props.workQueue;
    const queue = props.workQueue.queue;

    this.fleet = new Fleet(this, 'Fleet', {
      vpc: props.vpc,
      ...(props.vpcSubnets ? { vpcSubnets: props.vpcSubnets } : {}),
      instanceType: props.instanceType,
      ...(props.machineImage ? { machineImage: props.machineImage } : {}),
      ...(props.role ? { role: props.role } : {}),
      minCapacity,
      maxCapacity: props.maxCapacity,
      instanceMetadataTags: true,
      userData: props.userData ?? defaultWorkerUserData({
        queueUrl: queue.queueUrl,
        region: Aws.REGION,
        processingSeconds: Math.max(1, Math.round(props.workQueue.averageProcessingTime.toSeconds({ integral: false }))),
      }),
    });
    this.autoScalingGroup = this.fleet.autoScalingGroup;
    this.connections = this.fleet.connections;
    this.grantPrincipal = this.fleet.grantPrincipal;
    const asg = this.autoScalingGroup;

    props.workQueue.grantConsumeMessages(this.fleet);
    this.grantScaleInProtection();

    this.backlogTrackingPolicy = new autoscaling.CfnScalingPolicy(this, 'BacklogPerInstanceTracking', {
      autoScalingGroupName: asg.autoScalingGroupName,
      policyType: 'TargetTrackingScaling',
      targetTrackingConfiguration: {
        targetValue: target,
        disableScaleIn: false,
        customizedMetricSpecification: {
          metrics: [
            {
              id: 'm1',
              label: 'Messages visible',
              metricStat: {
                metric: { namespace: 'AWS/SQS', metricName: 'ApproximateNumberOfMessagesVisible', dimensions: [{ name: 'QueueName', value: queue.queueName }] },
                stat: 'Sum',
              },
              returnData: false,
            },
            {
              id: 'm2',
              label: 'In-service instances',
              metricStat: {
                metric: { namespace: 'AWS/AutoScaling', metricName: 'GroupInServiceInstances', dimensions: [{ name: 'AutoScalingGroupName', value: asg.autoScalingGroupName }] },
                stat: 'Average',
              },
              returnData: false,
            },
            { id: 'e1', label: 'Backlog per instance', expression: BACKLOG_PER_INSTANCE, returnData: true },
          ],
        },
      },
    });

    if (minCapacity === 0) {
      this.wakeUpAction = new autoscaling.StepScalingAction(this, 'WakeUp', {
        autoScalingGroup: asg,
        adjustmentType: autoscaling.AdjustmentType.EXACT_CAPACITY,
        metricAggregationType: autoscaling.MetricAggregationType.MAXIMUM,
      });
      this.wakeUpAction.addAdjustment({ lowerBound: 0, adjustment: 1 });
      this.wakeUpAlarm = new cloudwatch.Alarm(this, 'WakeUpAlarm', {
        metric: new cloudwatch.MathExpression({
          expression: 'IF(m2 < 1, m1, 0)',
          usingMetrics: {
            m1: props.workQueue.metricBacklog(),
            m2: new cloudwatch.Metric({
              namespace: 'AWS/AutoScaling',
              metricName: 'GroupDesiredCapacity',
              dimensionsMap: { AutoScalingGroupName: asg.autoScalingGroupName },
              statistic: 'Maximum',
              period: Duration.minutes(1),
            }),
          },
          label: 'Messages visible while the group is at 0',
          period: Duration.minutes(1),
        }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: `Wakes the sleeping worker fleet ${this.node.path}: a message is waiting and the group is at 0.`,
      });
      this.wakeUpAlarm.addAlarmAction(new cloudwatchActions.AutoScalingAction(this.wakeUpAction));
    }
  }

  /** Backlog per in-service worker: `m1 / IF(m2 > 0, m2, 1)`, as the target tracking policy sees it. */
  public metricBacklogPerInstance(opts?: cloudwatch.MathExpressionOptions): cloudwatch.MathExpression {
    return new cloudwatch.MathExpression({
      expression: BACKLOG_PER_INSTANCE,
      usingMetrics: {
        m1: this.workQueue.metricBacklog({ statistic: 'Sum' }),
        m2: new cloudwatch.Metric({
          namespace: 'AWS/AutoScaling',
          metricName: 'GroupInServiceInstances',
          dimensionsMap: { AutoScalingGroupName: this.autoScalingGroup.autoScalingGroupName },
          statistic: 'Average',
          period: Duration.minutes(1),
        }),
      },
      label: 'Backlog per instance',
      period: Duration.minutes(1),
      ...opts,
    });
  }

  /**
   * Lets each worker set and lift scale-in protection of the instances of this group only. A separate
   * policy, not the role's default one: the launch template depends on the default policy and the group
   * on the launch template, so a default-policy statement naming the group would be a cycle.
   */
  private grantScaleInProtection(): void {
    const policy = new iam.Policy(this, 'ScaleInProtectionPolicy', {
      roles: [this.fleet.role],
      statements: [new iam.PolicyStatement({
        actions: ['autoscaling:SetInstanceProtection'],
        // arn:…:autoScalingGroup:*:autoScalingGroupName/<this group>
        resources: [this.autoScalingGroup.autoScalingGroupArn],
      })],
    });
    Validations.of(policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagArn(this.autoScalingGroup.autoScalingGroupArn, this)}]`,
      reason: 'The only wildcard is the UUID segment of the Auto Scaling group ARN, which CloudFormation does not expose; the ARN is pinned to this group by name and only SetInstanceProtection is allowed.',
    });
  }
}

/** Backlog per in-service instance, with the division guarded for a group at 0. */
const BACKLOG_PER_INSTANCE = 'm1 / IF(m2 > 0, m2, 1)';

