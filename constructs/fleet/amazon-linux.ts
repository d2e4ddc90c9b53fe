import { Stack, Token, Validations } from 'aws-cdk-lib/core';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { AWS_CUSTOM_RESOURCE_ROLE_DESCRIPTION, awsCustomResourceProvider } from '../common/custom-resource-provider';
import { validationError } from '../common/errors';
import { FLEET_DEFAULTS } from './defaults';

/**
 * Context key that pins the Amazon Linux 2023 release of every fleet that uses the default image, e.g. in
 * `cdk.json`: `"context": { "@scale-to-millions/fleet:al2023Release": "2023.9.20251208.0" }`.
 */
export const AL2023_RELEASE_CONTEXT_KEY = '@scale-to-millions/fleet:al2023Release';

/** An Amazon Linux 2023 release version: `2023.<minor>.<yyyymmdd>.<n>`. */
const RELEASE = /^2023\.\d+\.\d{8}\.\d+$/;

/** Properties of a {@link PinnedAmazonLinux2023Image}. */
export interface PinnedAmazonLinux2023ImageProps {
  /** CPU architecture of the image. */
  readonly cpuType: ec2.AmazonLinuxCpuType;
  /**
   * The release, e.g. `2023.9.20251208.0`.
   * @default - the `@scale-to-millions/fleet:al2023Release` context value, else `FLEET_DEFAULTS.al2023Release`
   */
  readonly release?: string;
}

/**
 * The standard Amazon Linux 2023 AMI (kernel 6.1) of one pinned release, the same release in every region.
 *
 * Synth needs no credentials and no lookup: the template names the release, and a custom resource resolves it
 * to the region's AMI id when the stack deploys (`ec2:DescribeImages`, owner `amazon`, deprecated images
 * included, since a pinned release's AMI is deprecated as newer ones come out). The custom resource reruns only
 * when the release or architecture changes, so a deploy that changes nothing the user changed leaves every
 * launch template, and so every fleet, as it is; and AL2023 locks its package repositories to the AMI's
 * release, so the packages user data installs are fixed too. Moving to a new release is a one-line change of
 * the context value (see docs/fleets.md), which rolls every fleet on the default image through its instance
 * refresh.
 */
export class PinnedAmazonLinux2023Image implements ec2.IMachineImage {
  /** The AMI name pattern for `release` and `cpuType`, as AWS publishes it. */
  public static imageName(release: string, cpuType: ec2.AmazonLinuxCpuType): string {
    return `al2023-ami-${release}-kernel-6.1-${cpuType === ec2.AmazonLinuxCpuType.ARM_64 ? 'arm64' : 'x86_64'}`;
  }

  /** The release the default image uses in `scope`: the context value, else the package's pin. */
  public static releaseOf(scope: Construct): string {
    const fromContext = scope.node.tryGetContext(AL2023_RELEASE_CONTEXT_KEY) as unknown;
    if (fromContext === undefined) return FLEET_DEFAULTS.al2023Release;
    if (typeof fromContext !== 'string' || !RELEASE.test(fromContext)) {
      throw validationError(scope, `context ${AL2023_RELEASE_CONTEXT_KEY} must be an Amazon Linux 2023 release like ${FLEET_DEFAULTS.al2023Release} (got: ${JSON.stringify(fromContext)})`);
    }
    return fromContext;
  }

  constructor(private readonly props: PinnedAmazonLinux2023ImageProps) {}

  /** The image for `scope`'s region: its id is resolved at deploy (no lookup at synth). */
  public getImage(scope: Construct): ec2.MachineImageConfig {
    const release = this.props.release ?? PinnedAmazonLinux2023Image.releaseOf(scope);
    if (!Token.isUnresolved(release) && !RELEASE.test(release)) {
      throw validationError(scope, `PinnedAmazonLinux2023Image: release must look like ${FLEET_DEFAULTS.al2023Release} (got: ${JSON.stringify(release)})`);
    }
    const name = PinnedAmazonLinux2023Image.imageName(release, this.props.cpuType);
    return { imageId: imageLookup(Stack.of(scope), name).getResponseField('Images.0.ImageId'), osType: ec2.OperatingSystemType.LINUX, userData: ec2.UserData.forLinux() };
  }
}

/** One lookup per image name and stack, shared by every fleet of the stack that uses it. */
function imageLookup(stack: Stack, name: string): cr.AwsCustomResource {
  const holderId = 'AmazonLinux2023Images';
  const holder = (stack.node.tryFindChild(holderId) as Construct | undefined) ?? new Construct(stack, holderId);
  const id = name.replace(/[^A-Za-z0-9]/g, '');
  const existing = holder.node.tryFindChild(id) as cr.AwsCustomResource | undefined;
  if (existing) return existing;
  const provider = awsCustomResourceProvider(stack, { id: 'AwsCustomResourceProvider', description: AWS_CUSTOM_RESOURCE_ROLE_DESCRIPTION });
  const call: cr.AwsSdkCall = {
    service: 'EC2',
    action: 'describeImages',
    parameters: {
      Owners: ['amazon'],
      Filters: [{ Name: 'name', Values: [name] }, { Name: 'state', Values: ['available'] }],
      IncludeDeprecated: true,
    },
    physicalResourceId: cr.PhysicalResourceId.of(name),
    outputPaths: ['Images.0.ImageId'],
  };
  const lookup = new cr.AwsCustomResource(holder, id, {
    role: provider.role,
    logGroup: provider.logGroup,
    resourceType: 'Custom::AmazonLinux2023Image',
    onCreate: call,
    onUpdate: call,
    policy: cr.AwsCustomResourcePolicy.fromStatements([new iam.PolicyStatement({ actions: ['ec2:DescribeImages'], resources: ['*'] })]),
    installLatestAwsSdk: false,
  });
  Validations.of(lookup).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: 'ec2:DescribeImages supports no resource-level permission, so its resource must be "*"; it is read-only and the lookup asks only for one Amazon-owned image name.',
  });
  return lookup;
}
