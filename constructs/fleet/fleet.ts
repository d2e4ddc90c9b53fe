import {
  Duration,
  Token,
  Validations,
  aws_autoscaling as autoscaling,
  aws_ec2 as ec2,
  aws_iam as iam,
} from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { FLEET_DEFAULTS } from './defaults';

/** Properties of a {@link Fleet}. */
export interface FleetProps {
  /** The VPC the instances run in. */
  readonly vpc: ec2.IVpc;
  /**
   * Subnets for the instances. They never get a public IP.
   * @default - the private subnets with egress
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** Instance type, e.g. `ec2.InstanceType.of(ec2.InstanceClass.M7G, ec2.InstanceSize.LARGE)`. */
  readonly instanceType: ec2.InstanceType;
  /**
   * The AMI.
   * @default - the latest Amazon Linux 2023 for the instance type's architecture, resolved at deploy
   *   time from AWS's public SSM parameter (no lookup at synth)
   */
  readonly machineImage?: ec2.IMachineImage;
  /** Fewest instances. May be 0 for a worker fleet that sleeps. */
  readonly minCapacity: number;
  /** Most instances. */
  readonly maxCapacity: number;
  /**
   * User data run at first boot.
   * @default - an empty Linux user data
   */
  readonly userData?: ec2.UserData;
  /**
   * The instance role.
   * @default - a new role with SSM Session Manager access and nothing more
   */
  readonly role?: iam.IRole;
  /**
   * Root volume size in GiB (always gp3 and encrypted).
   * @default 20
   */
  readonly rootVolumeSizeGiB?: number;
  /**
   * Replace instances that fail the load balancer's health check, not only EC2's.
   * @default false
   */
  readonly elbHealthChecks?: boolean;
  /**
   * Time a new instance has to pass its first health check.
   * @default Duration.minutes(3)
   */
  readonly healthCheckGracePeriod?: Duration;
  /**
   * Time before a new instance's metrics count for scaling.
   * @default Duration.minutes(2)
   */
  readonly defaultInstanceWarmup?: Duration;
  /**
   * New instances start protected from scale-in (workers that protect themselves while busy).
   * @default false
   */
  readonly newInstancesProtectedFromScaleIn?: boolean;
  /**
   * Expose the instance's tags in the instance metadata (IMDSv2), e.g. `aws:autoscaling:groupName`, so
   * software on the instance can find its group (workers that protect themselves from scale-in).
   * @default false
   */
  readonly instanceMetadataTags?: boolean;
  /**
   * A warm pool of stopped, pre-initialised instances.
   * @default - no warm pool
   */
  readonly warmPool?: autoscaling.WarmPoolOptions;
  /**
   * Security group of the instances.
   * @default - a new security group, all outbound allowed, no inbound
   */
  readonly securityGroup?: ec2.ISecurityGroup;
}

/**
 * An EC2 Auto Scaling fleet of identical, stateless server clones: a launch template (IMDSv2 required,
 * encrypted gp3 root volume, no public IP, detailed monitoring), an instance role with SSM access only,
 * group metrics, AZ-balanced capacity, a rolling update policy that replaces instances in one deploy
 * when the launch template changes, and never a `desiredCapacity` (scaling policies own it).
 *
 * The web tier builds one per service and the work queue one per worker pool.
 */
export class Fleet extends Construct implements ec2.IConnectable, iam.IGrantable {
  /** The Auto Scaling group. */
  public readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  /** The launch template. */
  public readonly launchTemplate: ec2.LaunchTemplate;
  /** The instance role. */
  public readonly role: iam.IRole;
  /** The instances' user data; add commands to it. */
  public readonly userData: ec2.UserData;
  /** The instances' network connections (their security group). */
  public readonly connections: ec2.Connections;
  /** The principal to grant permissions to (the instance role). */
  public readonly grantPrincipal: iam.IPrincipal;

  constructor(scope: Construct, id: string, props: FleetProps) {
    super(scope, id);
    checkCapacity(props.minCapacity, props.maxCapacity);
    const rootSize = props.rootVolumeSizeGiB ?? FLEET_DEFAULTS.rootVolumeSizeGiB;
    if (!Number.isInteger(rootSize) || rootSize < 8 || rootSize > 16384) {
      throw new Error(`Fleet: rootVolumeSizeGiB must be a whole number from 8 to 16384 (got: ${rootSize})`);
    }

    this.role = props.role ?? this.createRole();
    this.grantPrincipal = this.role;
    this.userData = props.userData ?? ec2.UserData.forLinux();
    const securityGroup = props.securityGroup ?? new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: `Instances of ${this.node.path}`,
      allowAllOutbound: true,
    });
    const cpuType = props.instanceType.architecture === ec2.InstanceArchitecture.ARM_64
      ? ec2.AmazonLinuxCpuType.ARM_64
      : ec2.AmazonLinuxCpuType.X86_64;

    this.launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      instanceType: props.instanceType,
      machineImage: props.machineImage ?? ec2.MachineImage.latestAmazonLinux2023({ cpuType }),
      userData: this.userData,
      role: this.role,
      securityGroup,
      requireImdsv2: true,
      httpPutResponseHopLimit: 1,
      httpTokens: ec2.LaunchTemplateHttpTokens.REQUIRED,
      ...(props.instanceMetadataTags ? { instanceMetadataTags: true } : {}),
      associatePublicIpAddress: false,
      detailedMonitoring: true,
      blockDevices: [{
        deviceName: '/dev/xvda',
        volume: ec2.BlockDeviceVolume.ebs(rootSize, {
          volumeType: ec2.EbsDeviceVolumeType.GP3,
          encrypted: true,
          deleteOnTermination: true,
        }),
      }],
    });

    const grace = props.healthCheckGracePeriod ?? FLEET_DEFAULTS.healthCheckGracePeriod;
    this.autoScalingGroup = new autoscaling.AutoScalingGroup(this, 'Group', {
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      launchTemplate: this.launchTemplate,
      minCapacity: props.minCapacity,
      maxCapacity: props.maxCapacity,
      healthChecks: props.elbHealthChecks
        ? autoscaling.HealthChecks.withAdditionalChecks({ additionalTypes: [autoscaling.AdditionalHealthCheckType.ELB], gracePeriod: grace })
        : autoscaling.HealthChecks.ec2({ gracePeriod: grace }),
      defaultInstanceWarmup: props.defaultInstanceWarmup ?? FLEET_DEFAULTS.defaultInstanceWarmup,
      groupMetrics: [autoscaling.GroupMetrics.all()],
      azCapacityDistributionStrategy: autoscaling.CapacityDistributionStrategy.BALANCED_BEST_EFFORT,
      newInstancesProtectedFromScaleIn: props.newInstancesProtectedFromScaleIn ?? false,
      updatePolicy: rollingUpdate(props.minCapacity, props.maxCapacity),
    });
    if (props.warmPool) this.autoScalingGroup.addWarmPool(props.warmPool);
    this.connections = new ec2.Connections({ securityGroups: [securityGroup] });

    Validations.of(this.autoScalingGroup).acknowledge({
      id: 'AwsSolutions-AS3',
      reason: 'Scaling activity is visible through the group metrics and CloudTrail; the monitoring construct alarms on the fleet, so per-group SNS notifications would only duplicate it.',
    });
  }

  private createRole(): iam.Role {
    const role = new iam.Role(this, 'InstanceRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: `Instances of ${this.node.path}: SSM Session Manager only; grants add the rest`,
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore')],
    });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]',
      reason: 'AmazonSSMManagedInstanceCore is the AWS-maintained minimum for Session Manager access (no SSH keys, no open port 22); AWS updates it as the agent needs.',
    });
    return role;
  }
}

/** Throws when fleet bounds are invalid; shared by every construct that builds a fleet. */
export function checkCapacity(min: number, max: number, prefix = 'Fleet'): void {
  if (Token.isUnresolved(min) || Token.isUnresolved(max)) return;
  if (!Number.isInteger(min) || min < 0) throw new Error(`${prefix}: minCapacity must be a whole number ≥ 0 (got: ${min})`);
  if (!Number.isInteger(max) || max < 1) throw new Error(`${prefix}: maxCapacity must be a whole number ≥ 1 (got: ${max})`);
  if (min > max) throw new Error(`${prefix}: minCapacity (${min}) must not exceed maxCapacity (${max})`);
}

/**
 * Replaces instances in batches of about a third of the fleet when the launch template changes, keeping
 * the rest in service, so a new AMI or user data rolls out in one deploy.
 */
function rollingUpdate(min: number, max: number): autoscaling.UpdatePolicy {
  const inService = Math.max(0, Math.min(min, max - 1));
  return autoscaling.UpdatePolicy.rollingUpdate({
    maxBatchSize: Math.max(1, Math.ceil(Math.max(min, 1) / 3)),
    minInstancesInService: inService,
    pauseTime: FLEET_DEFAULTS.rollingUpdatePause,
    suspendProcesses: [
      autoscaling.ScalingProcess.HEALTH_CHECK,
      autoscaling.ScalingProcess.REPLACE_UNHEALTHY,
      autoscaling.ScalingProcess.AZ_REBALANCE,
      autoscaling.ScalingProcess.ALARM_NOTIFICATION,
      autoscaling.ScalingProcess.SCHEDULED_ACTIONS,
    ],
  });
}
