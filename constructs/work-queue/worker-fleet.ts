import { Annotations, Duration, Token, Validations } from 'aws-cdk-lib/core';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { validationError } from '../common/errors';
import { ApplicationSource, Fleet, checkCapacity, type FleetRolloutOptions } from '../fleet';
import { WORK_QUEUE_DEFAULTS, deadLetterRolloutDelaySeconds } from './defaults';
import { placeholderWorker } from './user-data';
import type { IWorkQueue } from './work-queue';

/** Properties of a {@link WorkerFleet}. */
export interface WorkerFleetProps {
  /** The queue the workers drain. */
  readonly workQueue: IWorkQueue;
  /** The queue's name for the workers' environment (`S2M_SERVICE`). @default - the construct id */
  readonly serviceName?: string;
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
   * What the workers run (`ApplicationSource`). Your worker receives nothing before its instance is `InService`
   * (`DescribeAutoScalingInstances` is granted for that), protects its instance from scale-in while it works
   * (`SetInstanceProtection`, granted to the instance role for this group only) and lifts it when idle, and on
   * SIGTERM finishes the message in hand and exits. The runtime SDK's `QueueWorker` does all of it.
   * @default - the placeholder worker loop of `placeholderWorker`, which does exactly that
   */
  readonly application?: ApplicationSource;
  /**
   * Your own user data instead of an application source (no readiness or drain hooks, no agent).
   * @default - the application source's user data
   */
  readonly userData?: ec2.UserData;
  /**
   * The AMI (not with an application source that is a machine image).
   * @default - the fleet's pinned Amazon Linux 2023 for the instance type's architecture
   */
  readonly machineImage?: ec2.IMachineImage;
  /**
   * The instance role.
   * @default - a new role (SSM Session Manager, plus the grants made here)
   */
  readonly role?: iam.IRole;
  /** More instance types, in order of preference (see `FleetProps.additionalInstanceTypes`). @default - `instanceType` only */
  readonly additionalInstanceTypes?: ec2.InstanceType[];
  /**
   * Whether the instances may connect anywhere on any port; `false` allows HTTPS out and the ports of what the fleet
   * is granted (see `FleetProps.allowAllOutbound`).
   * @default true
   */
  readonly allowAllOutbound?: boolean;
  /** Block devices. @default - an encrypted 20 GiB gp3 root volume */
  readonly blockDevices?: ec2.BlockDevice[];
  /** Variables of the workers' environment file (never a secret). @default - none */
  readonly environment?: Record<string, string>;
  /** The workers' own database user (`S2M_DATABASE_USER`, IAM authentication). @default - none */
  readonly databaseUser?: string;
  /** Retention of the workers' log group. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /**
   * How a new version rolls out (instance refresh).
   * @default - as `FleetRolloutOptions`, but with `rollbackOnAlarms`: one checkpoint, when every instance runs the
   *   new version, lasting long enough for a job that fails on every receive to reach the dead-letter queue and its
   *   depth to reach CloudWatch (`maxReceiveCount` × the visibility timeout + 15 minutes), at least 5 minutes
   */
  readonly rollout?: FleetRolloutOptions;
  /**
   * Roll an instance refresh back when messages reach the dead-letter queue during it (its depth grows within
   * five minutes), the sign of a worker version that fails its jobs. A message gets there only after
   * `maxReceiveCount` receives, a visibility timeout apart, and while old workers still run, a failing job is
   * mostly retried and completed by one of them: the rollout's last checkpoint is what gives the alarm its chance
   * (see `rollout`; a shorter `checkpointDelay` is warned about at synth).
   * @default true
   */
  readonly rollbackOnAlarms?: boolean;
  /**
   * How long a worker may take to finish its job after SIGTERM when its instance terminates (30 s-119 min).
   * @default - the queue's visibility timeout (the longest a job may take), or 6 × its average processing time
   */
  readonly drainTimeout?: Duration;
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
 * Every other termination (an instance refresh, a health replacement) goes through the fleet's drain: the
 * worker gets SIGTERM and `drainTimeout` (by default the visibility timeout) to finish the job in hand. An
 * instance refresh therefore replaces busy, protected workers too (`ScaleInProtectedInstances: Refresh`)
 * instead of waiting for them, which on a busy queue would fail the refresh after an hour. A job cut short
 * anyway (the instance lost) reappears after the visibility timeout: no work is lost.
 *
 * Rollout: a new version rolls out by instance refresh and rolls back when messages reach the dead-letter
 * queue during it ({@link rollbackAlarms}).
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
  /** The alarms that roll back the workers' instance refresh (empty with `rollbackOnAlarms: false`); no action of their own. */
  public readonly rollbackAlarms: cloudwatch.Alarm[] = [];
  private readonly workQueue: IWorkQueue;

  constructor(scope: Construct, id: string, props: WorkerFleetProps) {
    super(scope, id);
    const minCapacity = props.minCapacity ?? WORK_QUEUE_DEFAULTS.workerMinCapacity;
    checkCapacity(minCapacity, props.maxCapacity, 'WorkerFleet', this);
    const target = props.targetBacklogPerInstance ?? props.workQueue.targetBacklogPerInstance;
    if (!Token.isUnresolved(target) && !(Number.isFinite(target) && target > 0)) {
      throw validationError(this, `WorkerFleet: targetBacklogPerInstance must be a positive number of messages per worker (got: ${target})`);
    }
    this.targetBacklogPerInstance = target;
    this.workQueue = props.workQueue;
    const queue = props.workQueue.queue;

    if (props.application && props.userData) throw validationError(this, 'WorkerFleet: give application or userData, not both (got both)');
    this.fleet = new Fleet(this, 'Fleet', {
      vpc: props.vpc,
      ...(props.vpcSubnets ? { vpcSubnets: props.vpcSubnets } : {}),
      instanceType: props.instanceType,
      ...(props.additionalInstanceTypes ? { additionalInstanceTypes: props.additionalInstanceTypes } : {}),
      ...(props.allowAllOutbound !== undefined ? { allowAllOutbound: props.allowAllOutbound } : {}),
      ...(props.machineImage ? { machineImage: props.machineImage } : {}),
      ...(props.role ? { role: props.role } : {}),
      ...(props.blockDevices ? { blockDevices: props.blockDevices } : {}),
      minCapacity,
      maxCapacity: props.maxCapacity,
      ...(props.userData ? { userData: props.userData } : {
        application: props.application ?? placeholderWorker({
          queueUrl: queue.queueUrl,
          processingTime: props.workQueue.averageProcessingTime,
        }),
      }),
      applicationRole: 'worker',
      serviceName: props.serviceName ?? id,
      ...(props.environment ? { environment: props.environment } : {}),
      ...(props.databaseUser !== undefined ? { databaseUser: props.databaseUser } : {}),
      ...(props.logRetention !== undefined ? { logRetention: props.logRetention } : {}),
      ...(props.rollbackOnAlarms ?? true ? { rollout: this.watchedRollout(props.workQueue, props.rollout) } : props.rollout ? { rollout: props.rollout } : {}),
      drainTimeout: props.drainTimeout ?? drainTimeoutOf(props.workQueue),
    });
    this.autoScalingGroup = this.fleet.autoScalingGroup;
    this.connections = this.fleet.connections;
    this.grantPrincipal = this.fleet.grantPrincipal;
    const asg = this.autoScalingGroup;

    props.workQueue.grantConsumeMessages(this.fleet);
    // The runtime's worker finds its queue in the published parameters (queues/<name>/url), as fleets find the data
    // tier, and may send to its own queue (a job re-enqueued later, the example's relay of orders a web server left
    // unsent); no other queue.
    props.workQueue.grantReadEndpoints?.(this.fleet);
    props.workQueue.grantSendMessages(this.fleet);
    this.fleet.grantOnOwnGroup('autoscaling:SetInstanceProtection');
    this.grantReadLifecycleState();
    if (props.rollbackOnAlarms ?? true) this.addRollbackAlarm(props.workQueue);

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

  /** Memory used on the workers, % (CloudWatch agent, the fullest instance by default). */
  public metricMemoryUtilization(opts?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.fleet.metricMemoryUtilization(opts);
  }

  /** Root volume used on the workers, % (CloudWatch agent, the fullest instance by default). */
  public metricDiskUtilization(opts?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.fleet.metricDiskUtilization(opts);
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
   * Lets the workers read their own lifecycle state, so they receive nothing while a launching hook holds their
   * instance in `Pending:Wait` (instance metadata only has the target state, which reads `InService` by then). A policy
   * of its own that the group waits for, so the first instances have it; an imported role gets it through `iam.Grant`.
   */
  private grantReadLifecycleState(): void {
    const actions = ['autoscaling:DescribeAutoScalingInstances'];
    const role = this.fleet.role;
    if (!(role instanceof iam.Role)) {
      iam.Grant.addToPrincipal({ grantee: this.fleet, actions, resourceArns: ['*'] });
      return;
    }
    const policy = new iam.Policy(this, 'LifecycleStatePolicy', { roles: [role], statements: [new iam.PolicyStatement({ actions, resources: ['*'] })] });
    this.autoScalingGroup.node.addDependency(policy);
    Validations.of(policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'autoscaling:DescribeAutoScalingInstances supports no resource-level permission, so its resource must be "*"; it is read-only, and the workers ask only for their own instance (to wait for InService before receiving).',
    });
  }

  /**
   * The rollout with the dead-letter alarm watching: its last checkpoint must outlast the time a job that fails on
   * every receive takes to reach the dead-letter queue (`maxReceiveCount` × the visibility timeout) and the queue's
   * depth to reach CloudWatch. By default one checkpoint at 100 % that long (a checkpoint while old workers run
   * rarely sees a dead letter: they complete the failing jobs); a shorter delay the user chose is warned about.
   */
  private watchedRollout(workQueue: IWorkQueue, rollout: FleetRolloutOptions = {}): FleetRolloutOptions {
    const visibility = workQueue.visibilityTimeout;
    const receives = workQueue.maxReceiveCount ?? WORK_QUEUE_DEFAULTS.maxReceiveCount;
    if (visibility === undefined || Token.isUnresolved(receives) || Token.isUnresolved(visibility.toSeconds())) return rollout;
    const needed = deadLetterRolloutDelaySeconds(receives, visibility.toSeconds());
    const why = `a job that fails on every receive reaches the dead-letter queue after ${receives} receives ${visibility.toSeconds()} s apart, and its depth may take ${WORK_QUEUE_DEFAULTS.deadLetterMetricDelay.toMinutes()} minutes more to reach CloudWatch`;
    const checkpoints = rollout.checkpointPercentages;
    if (checkpoints !== undefined && checkpoints.length === 0) {
      Annotations.of(this).addWarningV2('scale-to-millions:worker-rollout-unwatched', `WorkerFleet: rollout.checkpointPercentages is empty, so the refresh ends as soon as the last worker is replaced and the dead-letter rollback alarm can hardly fire: ${why} (${needed} s). Give a checkpoint at 100 with a checkpointDelay of at least ${needed} s, or set rollbackOnAlarms: false`);
      return rollout;
    }
    if (rollout.checkpointDelay !== undefined) {
      if (!Token.isUnresolved(rollout.checkpointDelay.toSeconds()) && rollout.checkpointDelay.toSeconds() < needed) {
        Annotations.of(this).addWarningV2('scale-to-millions:worker-rollout-unwatched', `WorkerFleet: rollout.checkpointDelay is ${rollout.checkpointDelay.toSeconds()} s, shorter than the ${needed} s the dead-letter rollback alarm needs to see a failing version: ${why}. A version that fails every job then completes its rollout`);
      }
      return rollout;
    }
    return {
      ...rollout,
      checkpointPercentages: checkpoints ?? [100],
      checkpointDelay: Duration.seconds(needed),
    };
  }

  /**
   * Fails the workers' instance refresh when the dead-letter queue grows during it: the new version fails
   * jobs (every receive of a message failed). A rate, not the depth, so dead letters already waiting for an
   * operator do not block a deploy.
   */
  private addRollbackAlarm(workQueue: IWorkQueue): void {
    const alarm = new cloudwatch.Alarm(this, 'RollbackDeadLettersAlarm', {
      metric: new cloudwatch.MathExpression({
        expression: 'DIFF(d)',
        usingMetrics: { d: workQueue.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }) },
        label: 'Messages added to the dead-letter queue',
        period: Duration.minutes(1),
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 5,
      datapointsToAlarm: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `Rollback (workers ${this.node.path}): messages reached the dead-letter queue; an instance refresh in progress fails and CloudFormation rolls it back.`,
    });
    this.fleet.addRollbackAlarm(alarm);
    this.rollbackAlarms.push(alarm);
  }
}

/** The longest a job may take (the visibility timeout), within the lifecycle hook's limits. */
function drainTimeoutOf(q: IWorkQueue): Duration {
  const seconds = q.visibilityTimeout?.toSeconds() ?? Math.ceil(q.averageProcessingTime.toSeconds({ integral: false }) * 6);
  return Duration.seconds(Math.min(Math.max(seconds, 30), 7140));
}

/** Backlog per in-service instance, with the division guarded for a group at 0. */
const BACKLOG_PER_INSTANCE = 'm1 / IF(m2 > 0, m2, 1)';

