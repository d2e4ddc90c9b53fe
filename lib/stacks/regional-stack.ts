import { CfnOutput, NestedStack, Stack, Tags, Validations, type CfnElement, type StackProps } from 'aws-cdk-lib/core';
import type { Construct } from 'constructs';
import type { AppConfig, RegionConfig } from '../config';

/** The tiers a stack belongs to (its `tier` tag). */
export type StackTier = 'network' | 'data' | 'app' | 'edge';

/** Properties every stack of the reference app takes. */
export interface ReferenceStackProps extends StackProps {
  /** The validated config. */
  readonly config: AppConfig;
  /** The region this stack is deployed to. */
  readonly region: string;
  /** The stack's tier (tagged on every resource). */
  readonly tier: StackTier;
}

/** Logical IDs allocated so far, by element (see {@link allocateOnce}). */
const allocated = new WeakMap<CfnElement, string>();

/**
 * `allocate()`'s logical ID for `element`, computed once. aws-cdk-lib allocates an element's logical ID again at every
 * resolution of it (its key in the template and every `Ref`, `Fn::GetAtt` and `DependsOn` naming it, in each of the
 * three passes of a synth: references, template, tree): an MD5 of the construct path each time, a tenth of a synth
 * without the template validator. The ID depends only on that path, which cannot change once the element exists;
 * renames (`renameLogicalId`) and `overrideLogicalId` apply after allocation, so they still take effect.
 */
function allocateOnce(element: CfnElement, allocate: () => string): string {
  let id = allocated.get(element);
  if (id === undefined) {
    id = allocate();
    allocated.set(element, id);
  }
  return id;
}

/** A nested stack of the reference app's stacks (an app stack's services or queues), logical IDs allocated once. */
export class ReferenceNestedStack extends NestedStack {
  protected override allocateLogicalId(element: CfnElement): string {
    return allocateOnce(element, () => super.allocateLogicalId(element));
  }
}

/**
 * Base of the reference app's stacks: explicit environment, the config's availability zones answered from
 * the config (never from AWS, even when an account is given), and the `app`, `stage` and `tier` tags.
 */
export class ReferenceStack extends Stack {
  /** The validated config. */
  public readonly config: AppConfig;

  constructor(scope: Construct, id: string, props: ReferenceStackProps) {
    const { config, region, tier, ...stackProps } = props;
    super(scope, id, {
      // Templates without indentation: a third smaller, so more services fit in CloudFormation's 1 MB (the estimate
      // in lib/config/limits.ts counts compact bytes).
      suppressTemplateIndentation: stackProps.suppressTemplateIndentation ?? true,
      ...stackProps,
      env: { region: region, ...(config.account ? { account: config.account } : {}) },
      description: stackProps.description ?? `scale-to-millions ${config.name}: ${tier} tier in ${region} (${config.stage} stage)`,
    });
    this.config = config;
    const zones = config.regions.find((r) => r.region === region)?.availabilityZones;
    if (config.account && zones) {
      // With an explicit account, Stack.availabilityZones becomes a context lookup; answer it from the config.
      this.node.setContext(`availability-zones:account=${config.account}:region=${region}`, zones);
    }
    Validations.of(this).acknowledge({
      id: 'CloudFormation-Validate::F0001',
      reason: 'A stack whose tiers are not configured (e.g. no data tier yet) is legitimately empty; the CDK CLI skips deploying a stack with no resources, and the wiring must exist for when a tier is added.',
    });
    const tags: Record<string, string> = { ...config.tags, app: config.name, stage: config.stage, tier };
    for (const [k, v] of Object.entries(tags)) Tags.of(this).add(k, v);
  }

  protected override allocateLogicalId(element: CfnElement): string {
    return allocateOnce(element, () => super.allocateLogicalId(element));
  }

  /**
   * The template, with the outputs aws-cdk-lib adds for other stacks' references (the children of `Publish`) in
   * logical-ID order, after the stack's own outputs.
   *
   * aws-cdk-lib creates those outputs in the order it finds the references, and it finds some of them in an IAM
   * statement whose resources it has sorted as strings that still hold token numbers (`rds-db:connect` on the
   * cluster and on the proxy: `…${Token[TOKEN.99998]}…` sorts after `…${Token[TOKEN.100003]}…`). Their order then
   * changed with how many tokens the process had made before this stack's references were resolved: adding a region
   * elsewhere in the app could reorder this stack's outputs.
   */
  protected override _toCloudFormation(): Record<string, unknown> {
    const template = super._toCloudFormation() as Record<string, unknown> & { Outputs?: Record<string, unknown> };
    const publish = this.node.tryFindChild('Publish');
    if (template.Outputs === undefined || publish === undefined) return template;
    const published = new Set(publish.node.children.filter((c): c is CfnOutput => c instanceof CfnOutput).map((o) => this.resolve(o.logicalId) as string));
    const outputs = Object.entries(template.Outputs);
    template.Outputs = Object.fromEntries([
      ...outputs.filter(([id]) => !published.has(id)),
      ...outputs.filter(([id]) => published.has(id)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    ]);
    return template;
  }

  /** The SSM parameter prefix for this app's values in this region: `/<name>`. */
  public get parameterPrefix(): string {
    return `/${this.config.name}`;
  }
}

/** Properties of a stack that serves one configured region. */
export interface RegionalStackProps extends Omit<ReferenceStackProps, 'tier' | 'region'> {
  /** The region this stack serves. */
  readonly regionConfig: RegionConfig;
}

/** A stack that serves one of the configured regions. */
export class RegionalStack extends ReferenceStack {
  /** This stack's region config. */
  public readonly regionConfig: RegionConfig;

  constructor(scope: Construct, id: string, props: RegionalStackProps & { readonly tier: StackTier }) {
    const { regionConfig, ...rest } = props;
    super(scope, id, { ...rest, region: regionConfig.region });
    this.regionConfig = regionConfig;
  }
}
