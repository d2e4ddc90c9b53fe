import { Duration } from 'aws-cdk-lib/core';
import * as logs from 'aws-cdk-lib/aws-logs';

/** Default values of the `Fleet` construct. */
export const FLEET_DEFAULTS = {
  /** Root volume size in GiB (gp3, encrypted). */
  rootVolumeSizeGiB: 20,
  /** Time an instance has to boot and pass its first ELB health check. */
  healthCheckGracePeriod: Duration.minutes(3),
  /** Time before a new instance's metrics count in the group's aggregate (scaling decisions). */
  defaultInstanceWarmup: Duration.minutes(2),
  /**
   * The Amazon Linux 2023 release of the default image (AMI names `al2023-ami-<release>-kernel-6.1-<arch>`),
   * the same in every region. Pin another one with the `@scale-to-millions/fleet:al2023Release` context key.
   */
  al2023Release: '2023.9.20251208.0',
  /** Retention of a fleet's application log group. */
  logRetention: logs.RetentionDays.ONE_MONTH,
  /**
   * How long a new instance has to install the application and answer its health check before its launch is
   * abandoned (the launching lifecycle hook's heartbeat timeout).
   */
  readinessTimeout: Duration.minutes(10),
  /** How long a terminating instance may take to stop its application (the terminating hook's timeout). */
  drainTimeout: Duration.minutes(2),
  /** Instance refresh: the share of the desired capacity kept healthy and in service (launch before terminate). */
  minHealthyPercentage: 100,
  /** Instance refresh: the most the group may grow above its desired capacity while it replaces instances. */
  maxHealthyPercentage: 125,
  /** Instance refresh: pause after a quarter of the group is replaced, and at the end, with the alarms watching. */
  checkpointPercentages: [25, 100] as readonly number[],
  /** Instance refresh: how long each checkpoint pause lasts. */
  checkpointDelay: Duration.minutes(5),
  /**
   * AWS's bundle of every RDS certificate authority, all commercial regions (Aurora User Guide, "Certificate bundles
   * for all AWS Regions"), downloaded by each instance at boot to `DATABASE_CA_FILE`.
   */
  rdsCaBundleUrl: 'https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem',
  /** Namespace of the CloudWatch agent's host metrics (memory, disk). */
  agentNamespace: 'CWAgent',
} as const;

/** Lifecycle hook names, fixed so the instance's scripts know them without a reference to the group. */
export const LIFECYCLE_HOOKS = {
  /** Completed by the instance once the application answers its health check (or is stable, for workers). */
  ready: 's2m-ready',
  /** Completed by the instance once the application has stopped (SIGTERM, then its timeout). */
  drain: 's2m-drain',
} as const;

/**
 * The tag every fleet's Auto Scaling group carries (and propagates to its instances), with a value unique to the
 * fleet: the instance role may complete lifecycle actions and set instance protection only on the group with
 * that tag (`autoscaling:ResourceTag/s2m:fleet`), a permission that needs no reference to the group, so it
 * exists before the group's first instances launch.
 */
export const FLEET_GROUP_TAG = 's2m:fleet';

/**
 * Whether EC2 accepts `key` as a tag key of an instance with tags in its instance metadata (every fleet's): ASCII
 * letters, digits and `+ - = . , _ :` and `@`, not `.`, `..` or `_index`. Any other key fails every launch (EC2
 * User Guide, "View tags for your EC2 instances using instance metadata").
 */
export function isInstanceMetadataTagKey(key: string): boolean {
  return /^[A-Za-z0-9+\-=.,_:@]+$/.test(key) && !['.', '..', '_index'].includes(key);
}

/** Where things live on an instance. */
export const INSTANCE_PATHS = {
  /** The fleet's own settings for the bootstrap scripts (not the application contract). */
  fleetEnv: '/etc/scale-to-millions/fleet.env',
  /** The application's directory (the current version). */
  appDir: '/opt/s2m/app',
  /** The bootstrap scripts. */
  binDir: '/opt/s2m/bin',
  /** The application's stdout and stderr, shipped by the CloudWatch agent. */
  logFile: '/var/log/s2m/app.log',
  /** The systemd unit running the application. */
  appUnit: 's2m-app.service',
  /** The unprivileged user the application runs as. */
  appUser: 's2m-app',
} as const;
