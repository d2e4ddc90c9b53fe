import { Annotations, ArnFormat, Aws, type CfnAutoScalingInstanceRefreshAlarmSpecification, type CfnUpdatePolicy, Duration, Lazy, Names, RemovalPolicy, Stack, TagManager, Tags, Token, Validations } from 'aws-cdk-lib/core';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct, Dependable, type IConstruct } from 'constructs';
import { APP_VERSION_TAG, ENV_VARS, HEALTH_PATHS } from '../../lib/runtime/contract';
import { unscopedValidationError, validationError } from '../common/errors';
import { nagArn } from '../common/nag';
import { SESSION_MANAGER_ACTIONS, grantSessionManager } from '../common/session-manager';
import { checkHealthPath, checkServiceHealthPath } from '../common/health-paths';
import { checkPort } from '../common/ports';
import { PinnedAmazonLinux2023Image } from './amazon-linux';
import { ApplicationSource, type ApplicationSourceConfig, type FleetRole } from './application-source';
import { bootstrapCommands } from './bootstrap';
import { FLEET_DEFAULTS, FLEET_GROUP_TAG, LIFECYCLE_HOOKS, isInstanceMetadataTagKey } from './defaults';

/** How a new application version rolls out over a fleet (an Auto Scaling instance refresh). */
export interface FleetRolloutOptions {
  /**
   * Share of the desired capacity kept healthy and in service while instances are replaced (0-100); 100 means
   * new instances are launched, and pass their health checks, before old ones are terminated.
   * @default 100
   */
  readonly minHealthyPercentage?: number;
  /**
   * Most the group may hold, in service or launching, as a share of the desired capacity (100-200, at most 100
   * above `minHealthyPercentage`): the batch size.
   * @default 125
   */
  readonly maxHealthyPercentage?: number;
  /**
   * Shares of the group replaced (ascending, the last 100) after which the refresh pauses for
   * `checkpointDelay` while the rollback alarms watch the new instances. An empty list turns checkpoints off.
   * @default [25, 100]
   */
  readonly checkpointPercentages?: number[];
  /** How long each checkpoint pause lasts. @default Duration.minutes(5) */
  readonly checkpointDelay?: Duration;
  /** How long after a new instance is in service before the refresh counts it and moves on. @default - the group's default instance warmup */
  readonly instanceWarmup?: Duration;
}

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
   * More instance types the group may launch, in order of preference after `instanceType`, so a large
   * scale-out does not stop when one type has no capacity in a zone (a mixed instances policy, On-Demand,
   * prioritized). All must share `instanceType`'s architecture. A group with more than one type cannot have a
   * warm pool: Auto Scaling rejects warm pools on mixed instances groups.
   * @default - `instanceType` only
   */
  readonly additionalInstanceTypes?: ec2.InstanceType[];
  /**
   * The AMI. An application source that is a machine image sets it too; give one or the other.
   * @default - the pinned Amazon Linux 2023 release (`PinnedAmazonLinux2023Image`) for the instance type's
   *   architecture, resolved to the region's AMI id at deploy (no lookup at synth)
   */
  readonly machineImage?: ec2.IMachineImage;
  /** Fewest instances. May be 0 for a worker fleet that sleeps. */
  readonly minCapacity: number;
  /** Most instances. */
  readonly maxCapacity: number;
  /**
   * What the fleet runs. The user data installs it as the systemd service `s2m-app` under an unprivileged
   * user, with the environment file, the CloudWatch agent, and the readiness and drain services that complete
   * the fleet's lifecycle hooks.
   * @default - nothing: give `application` or `userData`
   */
  readonly application?: ApplicationSource;
  /**
   * Your own user data instead of an application source: the fleet then adds no lifecycle hook (nothing on
   * the instance would complete it), no environment file and no agent configuration.
   * @default - the application source's user data
   */
  readonly userData?: ec2.UserData;
  /** Web service or worker (`S2M_ROLE`). @default 'worker' */
  readonly applicationRole?: FleetRole;
  /** The service or queue name (`S2M_SERVICE`). @default - the construct id */
  readonly serviceName?: string;
  /**
   * The port the instances serve on (the load balancer's target port); with it, readiness waits for the health path
   * to answer there. The application's `S2M_PORT`, except where its source listens on a port of its own (a
   * container's `containerPort`, onto which this port is published).
   * @default - none
   */
  readonly port?: number;
  /** The shallow health path (`S2M_HEALTH_PATH`), checked on `port` for readiness. @default '/health' */
  readonly healthCheckPath?: string;
  /**
   * The deep health path (`S2M_DEEP_HEALTH_PATH`): the path the region's Route 53 health check requests, which the
   * runtime SDK and the placeholder server answer with the data tier's health. Give the path that check uses
   * (`dns.healthCheck.path` in the reference app): an application that answers another path fails the check, and
   * the region leaves DNS. One exact path, not `healthCheckPath`.
   * @default '/health/deep' (`HEALTH_PATHS.deep`)
   */
  readonly deepHealthCheckPath?: string;
  /**
   * More variables of the environment file (`/etc/scale-to-millions/env`), e.g. the app name, primary region
   * and parameter prefix of the application contract. Never a secret: values must be plain words, and a value
   * that resolves to a Secrets Manager or SecureString reference is refused.
   * @default - none
   */
  readonly environment?: Record<string, string>;
  /**
   * The idle timeout of the load balancer in front of the fleet, written as `S2M_LOAD_BALANCER_IDLE_TIMEOUT` (whole
   * seconds, 1-4000): the application's HTTP keep-alive timeout must be longer, or the load balancer reuses a
   * connection the application is closing and answers 502. The runtime SDK's `serve` keeps connections open 5 s
   * longer (at least 65 s). A `WebTier` sets it for its services.
   * @default - not written: the application assumes an ALB's default, 60 seconds
   */
  readonly loadBalancerIdleTimeout?: Duration;
  /** The fleet's own database user (`S2M_DATABASE_USER`), for IAM database authentication. @default - none */
  readonly databaseUser?: string;
  /**
   * The instance role.
   * @default - a new role with SSM Session Manager access and what the fleet itself needs; grants add the rest
   */
  readonly role?: iam.IRole;
  /**
   * Root volume size in GiB (always gp3 and encrypted). Ignored when `blockDevices` is given.
   * @default 20
   */
  readonly rootVolumeSizeGiB?: number;
  /** The block devices of the launch template. @default - an encrypted gp3 root volume of `rootVolumeSizeGiB` */
  readonly blockDevices?: ec2.BlockDevice[];
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
   * Time before a new instance's metrics count for scaling (and before an instance refresh moves on).
   * @default Duration.minutes(2)
   */
  readonly defaultInstanceWarmup?: Duration;
  /**
   * New instances start protected from scale-in (workers that protect themselves while busy).
   * @default false
   */
  readonly newInstancesProtectedFromScaleIn?: boolean;
  /**
   * A warm pool of stopped, pre-initialised instances (`poolState` STOPPED, the default; with an application, no
   * other state: an instance leaving a running or hibernated pool does not boot, and the readiness check runs at
   * boot). An instance refresh replaces the pool's instances after the in-service ones, so the pool never keeps an
   * old version.
   * @default - no warm pool
   */
  readonly warmPool?: autoscaling.WarmPoolOptions;
  /**
   * Security group of the instances.
   * @default - a new security group, no inbound, outbound as `allowAllOutbound` says
   */
  readonly securityGroup?: ec2.ISecurityGroup;
  /**
   * Whether the instances may open connections to any address on any port. With `false` the fleet's security group
   * allows outbound TCP 443 to any IPv4 address (the AWS APIs and interface endpoints, Amazon Linux's package
   * repositories and the CDK assets through the S3 endpoint, AWS's RDS certificate bundle, container registries, your
   * application's HTTPS calls) and the ports of what the fleet is granted: `grantConsumer` of a database (cluster and
   * proxy), a cache or a shard adds an egress rule to its security group. Nothing else leaves, so an application that
   * calls out on another port (SMTP, a third-party database) needs a rule of its own
   * (`fleet.connections.allowTo(...)`). Security groups never filter the VPC's DNS resolver, the instance metadata
   * service or the Amazon Time Sync Service. Not with `securityGroup` (configure the group you give instead).
   * @default true
   */
  readonly allowAllOutbound?: boolean;
  /** Retention of the application's log group. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /**
   * How long a new instance has to install and start the application before its launch is abandoned
   * (30 s-2 h).
   * @default Duration.minutes(10)
   */
  readonly readinessTimeout?: Duration;
  /** How long the application may take to stop (SIGTERM, then kill) when the instance terminates (30 s-2 h). @default Duration.minutes(2) */
  readonly drainTimeout?: Duration;
  /**
   * How long a terminating instance keeps its application running, before SIGTERM, while a load balancer stops
   * sending it requests (whole seconds, 0-3600): give the deregistration delay of the target group the fleet is
   * attached to. Auto Scaling starts the deregistration when the instance starts terminating, and a load balancer
   * goes on sending new requests to a target for several seconds after it began draining: an application stopped at
   * once refuses them, which the load balancer answers with 502. `WebTier` sets it for its services.
   * @default - no delay: the application is stopped as soon as the instance starts terminating (a fleet behind no load balancer)
   */
  readonly drainDelay?: Duration;
  /** How a new version rolls out. @default - see {@link FleetRolloutOptions} */
  readonly rollout?: FleetRolloutOptions;
}

const SERVICE = /^[A-Za-z0-9_.-]{1,64}$/;
const ENV_KEY = /^[A-Z_][A-Z0-9_]*$/;
/** Values of the environment file: plain words, so systemd, Docker and bash read them alike. */
const ENV_VALUE = /^[A-Za-z0-9_./:@+,=-]*$/;
const SECRET_REFERENCE = /\{\{resolve:(secretsmanager|ssm-secure):/;
/** Auto Scaling's limit of alarms watched by an instance refresh. */
/** User data size allowed at synth: EC2's 16,384 bytes less room for token values. */
const USER_DATA_BUDGET = 15_000;
const MAX_ROLLBACK_ALARMS = 10;

/**
 * An EC2 Auto Scaling fleet of identical, stateless server clones that runs one application: a launch
 * template (IMDSv2 required with instance tags, encrypted gp3 root volume, no public IP, detailed
 * monitoring, the pinned Amazon Linux 2023 image unless the application brings its own), an instance role
 * with SSM access and exactly the grants the application source and its consumers need, a log group with
 * retention, group metrics, AZ-balanced capacity, and never a `desiredCapacity` (scaling policies own it).
 *
 * Rollout: a new launch template (a new application version, image or setting) is rolled out by an instance
 * refresh: launch before terminate, checkpoints, and rollback on the fleet's alarms ({@link addRollbackAlarm}):
 * when the refresh fails, CloudFormation rolls the stack back and refreshes the instances to the previous
 * version. A new instance counts as ready only when its application is: a launching lifecycle hook, completed
 * from the instance once the health path answers (or the worker service is stable), abandoned otherwise; a
 * terminating hook gives the application `drainTimeout` to stop after SIGTERM.
 */
export class Fleet extends Construct implements ec2.IConnectable, iam.IGrantable {
  /** The Auto Scaling group. */
  public readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  /** The launch template. */
  public readonly launchTemplate: ec2.LaunchTemplate;
  /** The instance role. */
  public readonly role: iam.IRole;
  /** The instances' user data. */
  public readonly userData: ec2.UserData;
  /** The instances' network connections (their security group). */
  public readonly connections: ec2.Connections;
  /** The principal to grant permissions to (the instance role). */
  public readonly grantPrincipal: iam.IPrincipal;
  /** The application's log group (stdout and stderr, and the bootstrap log, one stream per instance). */
  public readonly logGroup: logs.LogGroup;
  /** The application version the instances report (`S2M_APP_VERSION`); undefined when it is the AMI id, read at boot. */
  public readonly applicationVersion?: string;
  /** The fleet's own database user, when it has one. */
  public readonly databaseUser?: string;
  /** Alarms that fail, and roll back, an instance refresh. */
  public readonly rollbackAlarms: cloudwatch.IAlarm[] = [];
  /** The value of the group's {@link FLEET_GROUP_TAG} tag: unique to this fleet among the stacks of an account and region. */
  public readonly groupTagValue: string;
  private readonly ownGroupActions = new Set<string>();
  private ownGroupGranted = false;

  constructor(scope: Construct, id: string, props: FleetProps) {
    super(scope, id);
    checkCapacity(props.minCapacity, props.maxCapacity, 'Fleet', this);
    const cpuType = cpuTypeOf(this, props.instanceType, props.additionalInstanceTypes ?? []);
    this.validate(props);

    this.role = props.role ?? this.createRole();
    this.grantPrincipal = this.role;
    this.databaseUser = props.databaseUser;
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? FLEET_DEFAULTS.logRetention,
      // Application logs are evidence: they outlive a redeploy of the stateless stack.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const role: FleetRole = props.applicationRole ?? 'worker';
    const source = props.application?.bind(this, { grantee: this, cpuType, role, ...(props.port !== undefined ? { port: props.port } : {}) });
    if (source?.machineImage && props.machineImage) throw validationError(this, 'Fleet: give machineImage or an application source that is a machine image, not both (got both)');
    this.applicationVersion = source?.version;
    this.userData = props.userData ?? ec2.UserData.forLinux();
    const readiness = props.readinessTimeout ?? FLEET_DEFAULTS.readinessTimeout;
    const drain = props.drainTimeout ?? FLEET_DEFAULTS.drainTimeout;
    const drainDelay = props.drainDelay?.toSeconds() ?? 0;
    if (source) this.bootstrap(props, source, role, readiness, drain, drainDelay);

    if (props.securityGroup && props.allowAllOutbound !== undefined) {
      throw validationError(this, `Fleet: give allowAllOutbound or securityGroup, not both: configure the outbound rules on the security group you give (got: allowAllOutbound ${props.allowAllOutbound} with securityGroup)`);
    }
    const allowAllOutbound = props.allowAllOutbound ?? true;
    const securityGroup = props.securityGroup ?? new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: `Instances of ${this.node.path}`,
      allowAllOutbound,
    });
    if (!props.securityGroup && !allowAllOutbound) {
      securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS: AWS APIs and endpoints, package repositories, the RDS CA bundle, registries');
    }
    this.launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      instanceType: props.instanceType,
      machineImage: props.machineImage ?? source?.machineImage ?? new PinnedAmazonLinux2023Image({ cpuType }),
      userData: this.userData,
      role: this.role,
      securityGroup,
      requireImdsv2: true,
      httpPutResponseHopLimit: source?.httpPutResponseHopLimit ?? 1,
      httpTokens: ec2.LaunchTemplateHttpTokens.REQUIRED,
      // The instance's scripts find their Auto Scaling group in the instance tags (no reference to the group).
      instanceMetadataTags: true,
      associatePublicIpAddress: false,
      detailedMonitoring: true,
      blockDevices: props.blockDevices ?? [{
        deviceName: '/dev/xvda',
        volume: ec2.BlockDeviceVolume.ebs(props.rootVolumeSizeGiB ?? FLEET_DEFAULTS.rootVolumeSizeGiB, {
          volumeType: ec2.EbsDeviceVolumeType.GP3,
          encrypted: true,
          deleteOnTermination: true,
        }),
      }],
    });

    const grace = props.healthCheckGracePeriod ?? FLEET_DEFAULTS.healthCheckGracePeriod;
    const additional = props.additionalInstanceTypes ?? [];
    this.autoScalingGroup = new autoscaling.AutoScalingGroup(this, 'Group', {
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      ...(additional.length > 0 ? {
        mixedInstancesPolicy: {
          launchTemplate: this.launchTemplate,
          launchTemplateOverrides: [props.instanceType, ...additional].map((instanceType) => ({ instanceType })),
          instancesDistribution: {
            onDemandAllocationStrategy: autoscaling.OnDemandAllocationStrategy.PRIORITIZED,
            onDemandPercentageAboveBaseCapacity: 100,
          },
        },
      } : { launchTemplate: this.launchTemplate }),
      minCapacity: props.minCapacity,
      maxCapacity: props.maxCapacity,
      healthChecks: props.elbHealthChecks
        ? autoscaling.HealthChecks.withAdditionalChecks({ additionalTypes: [autoscaling.AdditionalHealthCheckType.ELB], gracePeriod: grace })
        : autoscaling.HealthChecks.ec2({ gracePeriod: grace }),
      defaultInstanceWarmup: props.defaultInstanceWarmup ?? FLEET_DEFAULTS.defaultInstanceWarmup,
      groupMetrics: [autoscaling.GroupMetrics.all()],
      azCapacityDistributionStrategy: autoscaling.CapacityDistributionStrategy.BALANCED_BEST_EFFORT,
      newInstancesProtectedFromScaleIn: props.newInstancesProtectedFromScaleIn ?? false,
    });
    // The instances' permission on their own group is scoped by this tag, not by the group's name (see grantOnOwnGroup).
    this.groupTagValue = `${Aws.STACK_NAME}/${Names.uniqueResourceName(this, { maxLength: 100 })}`;
    Tags.of(this.autoScalingGroup).add(FLEET_GROUP_TAG, this.groupTagValue, { applyToLaunchedInstances: true });
    const cfnGroup = this.autoScalingGroup.node.defaultChild as autoscaling.CfnAutoScalingGroup;
    // Keep what aws-cdk-lib set (AutoScalingScheduledAction: scheduled sizes survive a deploy).
    cfnGroup.cfnOptions.updatePolicy = { ...cfnGroup.cfnOptions.updatePolicy, ...this.instanceRefreshPolicy(props.rollout ?? {}, source !== undefined) };
    if (source) {
      // On the group itself, so the instances of the first launch wait for them too.
      cfnGroup.lifecycleHookSpecificationList = [
        { lifecycleHookName: LIFECYCLE_HOOKS.ready, lifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING', heartbeatTimeout: readiness.toSeconds(), defaultResult: 'ABANDON' },
        // The drain delay counts too: the instance's target state may read Terminated only once the load balancer has
        // deregistered it, when this hook starts (Auto Scaling's 2 h limit caps it).
        { lifecycleHookName: LIFECYCLE_HOOKS.drain, lifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING', heartbeatTimeout: Math.min(drainDelay + drain.toSeconds() + 60, 7200), defaultResult: 'CONTINUE' },
      ];
      this.grantOnOwnGroup('autoscaling:CompleteLifecycleAction');
    }
    // The version the group launches, for operators (`s2m status`): the source's, else the image's id.
    const version = source?.version ?? (source ? this.launchTemplate.imageId : undefined);
    if (version !== undefined) Tags.of(this.autoScalingGroup).add(APP_VERSION_TAG, version);
    if (props.warmPool) {
      const state = props.warmPool.poolState ?? autoscaling.PoolState.STOPPED;
      // The readiness check runs at boot; an instance leaving a running or hibernated pool does not boot, so its
      // launching hook would wait out readinessTimeout and abandon it, every scale-out.
      if (source && state !== autoscaling.PoolState.STOPPED) {
        throw validationError(this, `Fleet: warmPool.poolState must be STOPPED with an application (got: ${state}): an instance leaving a running or hibernated pool does not boot again, so the readiness check that completes its launching lifecycle hook (s2m-ready, run at boot) never runs and Auto Scaling abandons it after readinessTimeout`);
      }
      this.autoScalingGroup.addWarmPool(props.warmPool);
    }
    this.connections = new ec2.Connections({ securityGroups: [securityGroup] });
    // Late: tags (`Tags.of(app).add(...)`) are applied by aspects just before validation.
    this.node.addValidation({ validate: () => [...this.instanceTagProblems(), ...this.userDataProblems()] });

    Validations.of(this.autoScalingGroup).acknowledge({
      id: 'AwsSolutions-AS3',
      reason: 'Scaling activity is visible through the group metrics and CloudTrail; the monitoring construct alarms on the fleet, so per-group SNS notifications would only duplicate it.',
    });
  }

  /**
   * Fails the fleet's instance refresh, which CloudFormation then rolls back, when `alarm` goes into ALARM
   * during it (at most 10 alarms). An alarm already in ALARM when a deploy starts fails that deploy: alarm on
   * a rate over a short window, not on something that stays high.
   */
  public addRollbackAlarm(alarm: cloudwatch.IAlarm): void {
    if (this.rollbackAlarms.length >= MAX_ROLLBACK_ALARMS) {
      throw validationError(this, `Fleet: an instance refresh watches at most ${MAX_ROLLBACK_ALARMS} alarms (got: one more than ${MAX_ROLLBACK_ALARMS})`);
    }
    this.rollbackAlarms.push(alarm);
    // The refresh names the alarm: it must exist before the group's update starts.
    this.autoScalingGroup.node.addDependency(alarm);
  }

  /**
   * Lets the instances call `actions` on their own Auto Scaling group only (e.g. `autoscaling:SetInstanceProtection`
   * for workers that protect themselves while busy). The statement names no group: it allows any group of this
   * account and region that carries this fleet's {@link FLEET_GROUP_TAG} tag (`autoscaling:ResourceTag/…`), so it
   * does not wait for the group to exist, and the group waits for it. The group's first instances complete their
   * launching hook with the permission in place, and on stack deletion the group (and its terminating instances'
   * drain) goes before the permission. An imported role gets the statement through `iam.Grant` (a mutable one) or
   * not at all (an immutable one: grant it yourself).
   */
  public grantOnOwnGroup(...actions: string[]): void {
    for (const a of actions) this.ownGroupActions.add(a);
    if (this.ownGroupGranted) return;
    this.ownGroupGranted = true;
    const groups = Stack.of(this).formatArn({
      service: 'autoscaling',
      resource: 'autoScalingGroup',
      resourceName: '*:autoScalingGroupName/*',
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const grant = {
      actions: Lazy.list({ produce: () => [...this.ownGroupActions].sort() }),
      resources: [groups],
      conditions: { StringEquals: { [`autoscaling:ResourceTag/${FLEET_GROUP_TAG}`]: this.groupTagValue } },
    };
    if (!(this.role instanceof iam.Role)) {
      const added = iam.Grant.addToPrincipal({ grantee: this, actions: grant.actions, resourceArns: grant.resources, conditions: grant.conditions });
      added.applyBefore(this.autoScalingGroup);
      // An immutable imported role takes nothing and says it did: no policy depends on the grant then.
      if (!added.success || Dependable.of(added).dependencyRoots.length === 0) {
        Annotations.of(this).addWarningV2('scale-to-millions:fleet-own-group-grant', `Fleet: the role given cannot take the fleet's own-group permission (an imported role that is not mutable): give it autoscaling:CompleteLifecycleAction (and, for workers, autoscaling:SetInstanceProtection) on Auto Scaling groups with the tag ${FLEET_GROUP_TAG} of this fleet (condition autoscaling:ResourceTag/${FLEET_GROUP_TAG}), or every launch is abandoned when its lifecycle hook times out`);
      }
      return;
    }
    const policy = new iam.Policy(this, 'OwnGroupPolicy', { roles: [this.role], statements: [new iam.PolicyStatement(grant)] });
    this.autoScalingGroup.node.addDependency(policy);
    Validations.of(policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagArn(groups, this)}]`,
      reason: `Auto Scaling group ARNs hold a UUID CloudFormation does not expose, and naming the group would make this permission wait for the group whose first instances need it; the condition autoscaling:ResourceTag/${FLEET_GROUP_TAG} pins it to this fleet's group, and only the lifecycle and protection calls the instances make on their own group are allowed.`,
    });
  }

  /**
   * EC2 takes at most 16 KB of user data (before base64): more fails the launch template at deploy. Tokens are
   * counted as their placeholders (an ARN or a name is usually longer), hence the margin.
   */
  private userDataProblems(): string[] {
    const bytes = Buffer.byteLength(this.userData.render(), 'utf8');
    if (bytes <= USER_DATA_BUDGET) return [];
    return [`Fleet: the user data is about ${bytes} bytes, over what fits in EC2's 16 KB with room for the values CloudFormation fills in (${USER_DATA_BUDGET}): move files into an artifact or the image, or environment values into SSM parameters (got: ${bytes} bytes)`];
  }

  /**
   * Tag keys that reach the instances (propagated by the group, or the launch template's instance tags) and that
   * EC2 refuses on an instance with tags in its metadata, which would fail every launch.
   */
  private instanceTagProblems(): string[] {
    const propagated = ((this.autoScalingGroup.node.defaultChild as autoscaling.CfnAutoScalingGroup).tags.renderTags() as Array<{ key?: string; Key?: string; propagateAtLaunch?: boolean; PropagateAtLaunch?: boolean }> | undefined ?? [])
      .filter((t) => t.propagateAtLaunch ?? t.PropagateAtLaunch)
      .map((t) => t.key ?? t.Key ?? '');
    const keys = [...new Set([...propagated, ...Object.keys(TagManager.of(this.launchTemplate)?.tagValues() ?? {})])];
    return keys.filter((k) => !Token.isUnresolved(k) && !isInstanceMetadataTagKey(k)).map((k) =>
      `Fleet: tag key ${JSON.stringify(k)} reaches the instances, which have tags in their instance metadata: EC2 then allows only ASCII letters, digits and + - = . , _ : @ in keys (no spaces, no /, not ".", ".." or "_index") and refuses every launch otherwise; rename the tag (got: ${JSON.stringify(k)})`);
  }

  /** Memory used on the fleet's instances, % (CloudWatch agent; Maximum over the instances by default). */
  public metricMemoryUtilization(opts?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.agentMetric('mem_used_percent', opts);
  }

  /** Root volume used on the fleet's instances, % (CloudWatch agent; Maximum over the instances by default). */
  public metricDiskUtilization(opts?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.agentMetric('disk_used_percent', opts);
  }

  private agentMetric(metricName: string, opts?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: FLEET_DEFAULTS.agentNamespace,
      metricName,
      dimensionsMap: { AutoScalingGroupName: this.autoScalingGroup.autoScalingGroupName },
      statistic: 'Maximum',
      period: Duration.minutes(1),
      ...opts,
    });
  }

  private validate(props: FleetProps): void {
    const rootSize = props.rootVolumeSizeGiB ?? FLEET_DEFAULTS.rootVolumeSizeGiB;
    if (!Number.isInteger(rootSize) || rootSize < 8 || rootSize > 16384) {
      throw validationError(this, `Fleet: rootVolumeSizeGiB must be a whole number from 8 to 16384 (got: ${rootSize})`);
    }
    if (props.application && props.userData) throw validationError(this, 'Fleet: give application or userData, not both (got both)');
    if (props.warmPool && (props.additionalInstanceTypes?.length ?? 0) > 0) {
      throw validationError(this, `Fleet: warmPool and additionalInstanceTypes exclude each other: Auto Scaling rejects a warm pool on a group with several instance types (got: ${props.additionalInstanceTypes!.length + 1} types)`);
    }
    if (props.serviceName !== undefined && !SERVICE.test(props.serviceName)) throw validationError(this, `Fleet: serviceName must be 1-64 of A-Z a-z 0-9 _ . - (got: ${JSON.stringify(props.serviceName)})`);
    checkPort(this, 'Fleet', 'port', props.port);
    checkHealthPath(this, 'Fleet', 'deepHealthCheckPath', props.deepHealthCheckPath);
    checkServiceHealthPath(this, 'Fleet', 'healthCheckPath', props.healthCheckPath);
    checkIdleTimeout(this, 'Fleet', 'loadBalancerIdleTimeout', props.loadBalancerIdleTimeout);
    const shallow = props.healthCheckPath ?? HEALTH_PATHS.shallow;
    if (props.deepHealthCheckPath === shallow) {
      throw validationError(this, `Fleet: deepHealthCheckPath must differ from healthCheckPath, which the runtime answers first without checking the data tier (got: ${JSON.stringify(shallow)} for both)`);
    }
    for (const [name, d] of [['readinessTimeout', props.readinessTimeout], ['drainTimeout', props.drainTimeout]] as const) {
      const s = d?.toSeconds();
      if (s !== undefined && (s < 30 || s > 7140)) throw validationError(this, `Fleet: ${name} must be 30 seconds to 119 minutes (got: ${s} seconds)`);
    }
    const delay = props.drainDelay?.toSeconds({ integral: false });
    if (delay !== undefined && (!Number.isInteger(delay) || delay < 0 || delay > 3600)) {
      throw validationError(this, `Fleet: drainDelay must be whole seconds from 0 to 3600, a target group's deregistration delay (got: ${delay} seconds)`);
    }
    const drainSeconds = (props.drainTimeout ?? FLEET_DEFAULTS.drainTimeout).toSeconds();
    if ((delay ?? 0) + drainSeconds > 7140) {
      throw validationError(this, `Fleet: drainDelay + drainTimeout must be at most 7140 seconds: the terminating lifecycle hook (at most 7200 s) waits for both and 60 s more, and would end the drain (got: ${delay ?? 0} + ${drainSeconds} seconds)`);
    }
    for (const [k, v] of Object.entries(props.environment ?? {})) {
      if (!ENV_KEY.test(k)) throw validationError(this, `Fleet: environment keys must be upper-case names like S2M_APP (got: ${JSON.stringify(k)})`);
      if (!Token.isUnresolved(v) && !ENV_VALUE.test(v)) throw validationError(this, `Fleet: environment.${k} must be a plain word of A-Z a-z 0-9 _ . / : @ + , = - (got: ${JSON.stringify(v)})`);
    }
    const additional = props.additionalInstanceTypes ?? [];
    const names = [props.instanceType, ...additional].map((t) => t.toString());
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup) throw validationError(this, `Fleet: additionalInstanceTypes repeats an instance type (got: ${dup})`);
    if (names.length > 40) throw validationError(this, `Fleet: at most 40 instance types (got: ${names.length})`);
  }

  /** Writes the application's bootstrap into the user data and grants what the instance's scripts need. */
  private bootstrap(props: FleetProps, source: ApplicationSourceConfig, role: FleetRole, readiness: Duration, drain: Duration, drainDelay: number): void {
    const stack = Stack.of(this);
    const port = props.port;
    // What the application listens on where it runs (a container's own port); the host-side checks use `port`.
    const applicationPort = port !== undefined ? source.applicationPort ?? port : undefined;
    const healthPath = props.healthCheckPath ?? HEALTH_PATHS.shallow;
    const environment: Record<string, string> = {
      [ENV_VARS.region]: stack.region,
      AWS_REGION: stack.region,
      AWS_DEFAULT_REGION: stack.region,
      [ENV_VARS.role]: role,
      [ENV_VARS.service]: props.serviceName ?? this.node.id,
      ...(applicationPort !== undefined ? { [ENV_VARS.port]: String(applicationPort) } : {}),
      [ENV_VARS.healthPath]: healthPath,
      [ENV_VARS.deepHealthPath]: props.deepHealthCheckPath ?? HEALTH_PATHS.deep,
      ...(props.loadBalancerIdleTimeout !== undefined ? { [ENV_VARS.loadBalancerIdleTimeout]: String(props.loadBalancerIdleTimeout.toSeconds()) } : {}),
      [ENV_VARS.stopTimeout]: String(drain.toSeconds()),
      ...(source.version !== undefined ? { [ENV_VARS.version]: source.version } : {}),
      ...(props.databaseUser !== undefined ? { [ENV_VARS.databaseUser]: props.databaseUser } : {}),
      ...props.environment,
      ...source.environment,
    };
    // Late: tokens (a secret's dynamic reference) resolve only now.
    this.node.addValidation({
      validate: () => Object.entries(environment)
        .filter(([, v]) => SECRET_REFERENCE.test(JSON.stringify(stack.resolve(v))))
        .map(([k]) => `Fleet: environment.${k} resolves to a secret; the environment file never holds one: read it at run time through the runtime SDK`),
    });
    this.userData.addCommands(...bootstrapCommands({
      source,
      environment,
      settings: {
        S2M_APP_UNIT: 's2m-app.service',
        S2M_READY_HOOK: LIFECYCLE_HOOKS.ready,
        S2M_DRAIN_HOOK: LIFECYCLE_HOOKS.drain,
        // Counted from boot (the hook's timeout runs from launch, moments earlier); the margin leaves the script
        // time to complete the hook itself before it times out.
        S2M_READY_TIMEOUT: String(Math.max(readiness.toSeconds() - 30, 15)),
        // A fleet with a database identity connects to Aurora, directly where no proxy serves it (a stage without
        // one, a forwarding secondary): it is never ready without the RDS certificate bundle.
        ...(props.databaseUser !== undefined ? { S2M_DATABASE_CA_REQUIRED: 'yes' } : {}),
        ...(port !== undefined ? { S2M_HEALTH_URL: `http://127.0.0.1:${port}${healthPath}` } : {}),
        // Seconds the drain keeps the application serving while the load balancer deregisters the instance.
        ...(drainDelay > 0 ? { S2M_DRAIN_DELAY: String(drainDelay) } : {}),
      },
      logGroupName: this.logGroup.logGroupName,
      metricsNamespace: FLEET_DEFAULTS.agentNamespace,
      stopTimeoutSeconds: drain.toSeconds(),
      description: `${role} ${props.serviceName ?? this.node.id}, ${source.kind}`,
    }));

    this.logGroup.grantWrite(this);
    iam.Grant.addToPrincipal({
      grantee: this,
      actions: ['cloudwatch:PutMetricData'],
      resourceArns: ['*'],
      conditions: { StringEquals: { 'cloudwatch:namespace': FLEET_DEFAULTS.agentNamespace } },
    });
    iam.Grant.addToPrincipal({ grantee: this, actions: ['ec2:DescribeTags'], resourceArns: ['*'] });
    const policy = this.role.node.tryFindChild('DefaultPolicy');
    if (policy) {
      Validations.of(policy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: `Only actions without resource-level permissions use "*": Session Manager's (${SESSION_MANAGER_ACTIONS.join(', ')}: the SSM agent registers its instance and opens its session channels), cloudwatch:PutMetricData (limited to the ${FLEET_DEFAULTS.agentNamespace} namespace by condition), ec2:DescribeTags (read-only, the CloudWatch agent's group dimension)${source.kind === 'container' ? ' and ecr:GetAuthorizationToken (pulls are allowed from the image\'s repository only)' : ''}.`,
      });
    }
  }

  private instanceRefreshPolicy(r: FleetRolloutOptions, drains: boolean): CfnUpdatePolicy {
    const min = r.minHealthyPercentage ?? FLEET_DEFAULTS.minHealthyPercentage;
    const max = r.maxHealthyPercentage ?? FLEET_DEFAULTS.maxHealthyPercentage;
    if (!Number.isInteger(min) || min < 0 || min > 100) throw validationError(this, `Fleet: rollout.minHealthyPercentage must be a whole number 0-100 (got: ${min})`);
    if (!Number.isInteger(max) || max < 100 || max > 200) throw validationError(this, `Fleet: rollout.maxHealthyPercentage must be a whole number 100-200 (got: ${max})`);
    if (max - min > 100) throw validationError(this, `Fleet: rollout.maxHealthyPercentage may be at most 100 above minHealthyPercentage (got: ${min} and ${max})`);
    const checkpoints = r.checkpointPercentages ?? [...FLEET_DEFAULTS.checkpointPercentages];
    checkpoints.forEach((c, i) => {
      if (!Number.isInteger(c) || c < 1 || c > 100 || (i > 0 && c <= checkpoints[i - 1])) {
        throw validationError(this, `Fleet: rollout.checkpointPercentages must be whole numbers 1-100 in ascending order (got: ${JSON.stringify(checkpoints)})`);
      }
    });
    if (checkpoints.length > 0 && checkpoints[checkpoints.length - 1] !== 100) {
      throw validationError(this, `Fleet: rollout.checkpointPercentages must end with 100, or the refresh stops before replacing every instance (got: ${JSON.stringify(checkpoints)})`);
    }
    const delay = (r.checkpointDelay ?? FLEET_DEFAULTS.checkpointDelay).toSeconds();
    if (delay > 172800) throw validationError(this, `Fleet: rollout.checkpointDelay must be at most 48 hours (got: ${delay} seconds)`);
    const alarms = Lazy.any({ produce: () => (this.rollbackAlarms.length > 0 ? { alarms: this.rollbackAlarms.map((a) => a.alarmName) } : undefined) }) as CfnAutoScalingInstanceRefreshAlarmSpecification;
    return {
      autoScalingInstanceRefresh: {
        strategy: 'Rolling',
        preferences: {
          minHealthyPercentage: min,
          maxHealthyPercentage: max,
          ...(r.instanceWarmup ? { instanceWarmup: r.instanceWarmup.toSeconds() } : {}),
          skipMatching: true,
          ...(checkpoints.length > 0 ? { checkpointPercentages: checkpoints, checkpointDelay: delay } : {}),
          alarmSpecification: alarms,
          // Busy workers are protected from scale-in. With the drain hook, a refresh may replace them: the
          // application gets SIGTERM and finishes the job in hand first. Without it, wait for them (1 h at most).
          scaleInProtectedInstances: drains ? 'Refresh' : 'Wait',
          // An instance an operator put in standby is out of service anyway: replace it with the new version.
          standbyInstances: 'Terminate',
        },
      },
    };
  }

  private createRole(): iam.Role {
    const role = new iam.Role(this, 'InstanceRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: `Instances of ${this.node.path}: SSM Session Manager and the fleet's own needs; grants add the rest`,
    });
    // Session Manager only (constructs/common/session-manager.ts), not AmazonSSMManagedInstanceCore, which lets an
    // instance read every SSM parameter of the account and region.
    grantSessionManager(role);
    return role;
  }
}

/**
 * Throws a `ValidationError` (of `scope`, when given) when fleet bounds are invalid; shared by every construct that
 * builds a fleet. `prefix` names the construct and the field in the message.
 */
export function checkCapacity(min: number, max: number, prefix = 'Fleet', scope?: IConstruct): void {
  if (Token.isUnresolved(min) || Token.isUnresolved(max)) return;
  const fail = (msg: string) => (scope ? validationError(scope, msg) : unscopedValidationError(msg));
  if (!Number.isInteger(min) || min < 0) throw fail(`${prefix}: minCapacity must be a whole number ≥ 0 (got: ${min})`);
  if (!Number.isInteger(max) || max < 1) throw fail(`${prefix}: maxCapacity must be a whole number ≥ 1 (got: ${max})`);
  if (min > max) throw fail(`${prefix}: minCapacity (${min}) must not exceed maxCapacity (${max})`);
}

/**
 * Throws a `ValidationError` of `scope` naming `who` and `prop` unless `timeout` is whole seconds from 1 to 4000, an
 * Application Load Balancer's range. Tokens pass.
 */
export function checkIdleTimeout(scope: IConstruct, who: string, prop: string, timeout: Duration | undefined): void {
  if (timeout === undefined || timeout.isUnresolved()) return;
  const ms = timeout.toMilliseconds();
  if (ms % 1000 !== 0 || ms < 1000 || ms > 4_000_000) {
    throw validationError(scope, `${who}: ${prop} must be whole seconds from 1 to 4000, an Application Load Balancer's range (got: ${ms / 1000} seconds)`);
  }
}

/** The AL2023 architecture of the instance types, which must all share one. */
function cpuTypeOf(scope: Construct, first: ec2.InstanceType, more: ec2.InstanceType[]): ec2.AmazonLinuxCpuType {
  const arch = first.architecture;
  const other = more.find((t) => t.architecture !== arch);
  if (other) {
    throw validationError(scope, `Fleet: additionalInstanceTypes must share instanceType's architecture (${arch}), since one AMI serves them all (got: ${other.toString()}, ${other.architecture})`);
  }
  return arch === ec2.InstanceArchitecture.ARM_64 ? ec2.AmazonLinuxCpuType.ARM_64 : ec2.AmazonLinuxCpuType.X86_64;
}
