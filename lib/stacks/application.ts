import { Duration } from 'aws-cdk-lib/core';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { ApplicationSource, type FleetRolloutOptions } from '../../constructs/fleet';
import type { ApplicationConfig, RolloutConfig } from '../config';

/**
 * The application source of a config `application` block in `region` (undefined: the fleet's placeholder).
 * A machine image given per region takes only this region's AMI, so each region's template names its own.
 */
export function applicationSourceOf(scope: Construct, id: string, app: ApplicationConfig | undefined, region: string): ApplicationSource | undefined {
  if (!app) return undefined;
  switch (app.kind) {
    case 'image':
      return ApplicationSource.machineImage({
        image: app.ssmParameter !== undefined ? ec2.MachineImage.fromSsmParameter(app.ssmParameter) : ec2.MachineImage.genericLinux({ [region]: app.amis![region] }),
        ...(app.version !== undefined ? { version: app.version } : {}),
        ...(app.startCommand !== undefined ? { startCommand: app.startCommand } : {}),
      });
    case 'artifact':
      return ApplicationSource.artifact({
        bucket: s3.Bucket.fromBucketName(scope, `${id}ArtifactBucket`, app.bucket),
        key: app.key,
        ...(app.objectVersion !== undefined ? { objectVersion: app.objectVersion } : {}),
        ...(app.sha256 !== undefined ? { sha256: app.sha256 } : {}),
        ...(app.kmsKeyArn !== undefined ? { encryptionKey: kms.Key.fromKeyArn(scope, `${id}ArtifactKey`, app.kmsKeyArn) } : {}),
        startCommand: app.startCommand,
        packages: app.packages,
      });
    case 'asset':
      return ApplicationSource.fromAsset(app.path, { startCommand: app.startCommand, packages: app.packages });
    case 'nodejs':
      return ApplicationSource.nodejs({ entry: app.entry, nodeMajor: app.nodeVersion, args: app.args, packages: app.packages });
    default:
      return ApplicationSource.container({ image: app.image, ...(app.port !== undefined ? { containerPort: app.port } : {}) });
  }
}

/** The construct rollout options of a config `rollout` block. */
export function rolloutOf(r: RolloutConfig): FleetRolloutOptions {
  return {
    minHealthyPercentage: r.minHealthyPercent,
    maxHealthyPercentage: r.maxHealthyPercent,
    checkpointPercentages: r.checkpointPercentages,
    checkpointDelay: Duration.seconds(r.checkpointDelaySeconds),
  };
}
