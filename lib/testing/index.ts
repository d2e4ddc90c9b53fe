import { App, Stage, Stack, type AppProps } from 'aws-cdk-lib/core';
import { Template } from 'aws-cdk-lib/assertions';
import { CURRENTLY_RECOMMENDED_FLAGS, DISABLE_CREATION_STACK_TRACES } from 'aws-cdk-lib/cx-api';

/** Options of {@link createTestApp}. */
export interface TestAppOptions {
  /**
   * Context over the recommended feature flags (e.g. your own cdk.json's `context`, or a flag to test).
   * @default - the feature flags `cdk init` writes for aws-cdk-lib's version, nothing else
   */
  readonly context?: Record<string, unknown>;
  /**
   * Where the app synthesizes to.
   * @default - aws-cdk-lib's default (a temporary directory)
   */
  readonly outdir?: string;
  /**
   * Further App properties.
   * @default - `treeMetadata: false`, nothing else
   */
  readonly appProps?: Omit<AppProps, 'context' | 'outdir'>;
}

/**
 * A new `App` for tests of your own stacks, with the feature flags a new CDK project gets (the ones this
 * package's templates are built and snapshot-tested with), so a snapshot does not depend on whichever flags the
 * test happens to set. Context you pass wins over the defaults.
 *
 * It synthesizes faster than a plain `new App()`, with the same templates: no construct tree (`tree.json`, for
 * which aws-cdk-lib resolves every resource's properties a second time) and no creation stack trace on each
 * resource's metadata (context `aws:cdk:disable-creation-stack-traces`). Together about a fifth of a synth's CPU. Pass
 * `appProps: { treeMetadata: true }` or the context key `false` for either.
 */
export function createTestApp(options: TestAppOptions = {}): App {
  return new App({
    treeMetadata: false,
    ...options.appProps,
    ...(options.outdir !== undefined ? { outdir: options.outdir } : {}),
    context: { ...CURRENTLY_RECOMMENDED_FLAGS, [DISABLE_CREATION_STACK_TRACES]: true, ...options.context },
  });
}

/** Options of {@link stableTemplate}. */
export interface StableTemplateOptions {
  /**
   * Also mask the CDK metadata and bootstrap-version boilerplate.
   * @default true
   */
  readonly stripBoilerplate?: boolean;
}

const HASH = /[0-9a-f]{64}/g;
const ASSET_TOKEN = '[ASSET-HASH]';

/**
 * The template of `stack` as plain JSON that stays the same across machines and aws-cdk-lib patch
 * releases of the same minor: asset hashes (64-hex S3 keys, image tags) and application versions taken from
 * them (their first 12 digits) are replaced by `[ASSET-HASH]`,
 * and the `BootstrapVersion` parameter and rule and `CDKMetadata` are removed. Use it in snapshot tests:
 * `expect(stableTemplate(stack)).toMatchSnapshot()`.
 */
export function stableTemplate(stack: Stack, options: StableTemplateOptions = {}): Record<string, unknown> {
  const json = Template.fromStack(stack, { skipCyclicalDependenciesCheck: true }).toJSON() as Record<string, unknown>;
  return maskTemplate(json, options);
}

/** {@link stableTemplate} for a template already synthesized (e.g. read from `cdk.out`). */
export function maskTemplate(template: Record<string, unknown>, options: StableTemplateOptions = {}): Record<string, unknown> {
  const text = JSON.stringify(template);
  // A fleet's application version is the first 12 digits of its asset's hash (S2M_APP_VERSION and the
  // s2m:app-version tag): mask it with the hash, or every edit of the bundled application changes a snapshot.
  const prefixes = new Set([...text.matchAll(HASH)].map((m) => m[0].slice(0, 12)));
  let masked = text.replace(HASH, ASSET_TOKEN);
  if (prefixes.size > 0) {
    masked = masked
      .replace(/"([0-9a-f]{12})"/g, (all, word: string) => (prefixes.has(word) ? `"${ASSET_TOKEN}"` : all))
      .replace(/(S2M_APP_VERSION=)([0-9a-f]{12})\b/g, (all, name: string, word: string) => (prefixes.has(word) ? name + ASSET_TOKEN : all));
  }
  const copy = JSON.parse(masked) as Record<string, unknown>;
  if (options.stripBoilerplate ?? true) {
    const params = copy.Parameters as Record<string, unknown> | undefined;
    if (params) {
      delete params.BootstrapVersion;
      if (Object.keys(params).length === 0) delete copy.Parameters;
    }
    const rules = copy.Rules as Record<string, unknown> | undefined;
    if (rules) {
      delete rules.CheckBootstrapVersion;
      if (Object.keys(rules).length === 0) delete copy.Rules;
    }
    const resources = copy.Resources as Record<string, unknown> | undefined;
    if (resources) delete resources.CDKMetadata;
    const conditions = copy.Conditions as Record<string, unknown> | undefined;
    if (conditions) {
      delete conditions.CDKMetadataAvailable;
      if (Object.keys(conditions).length === 0) delete copy.Conditions;
    }
  }
  return copy;
}

/** Stable templates of every stack in `app` (or a stage), keyed by stack name. */
export function stableTemplates(app: App | Stage, options: StableTemplateOptions = {}): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const child of app.node.findAll()) {
    if (Stack.isStack(child)) out[child.stackName] = stableTemplate(child, options);
  }
  return out;
}

/**
 * The logical IDs of the resources of `stack` whose type is in `types` (default: the stateful types
 * a refactor must never replace). Assert them in a test so a renamed construct fails loudly.
 */
export function statefulLogicalIds(stack: Stack, types: readonly string[] = STATEFUL_TYPES): Record<string, string> {
  const resources = Template.fromStack(stack, { skipCyclicalDependenciesCheck: true }).toJSON().Resources as Record<string, { Type: string }>;
  const out: Record<string, string> = {};
  for (const [id, r] of Object.entries(resources ?? {})) {
    if (types.includes(r.Type)) out[id] = r.Type;
  }
  return out;
}

/** Resource types that hold data: replacing one loses it. */
export const STATEFUL_TYPES: readonly string[] = [
  'AWS::RDS::DBCluster',
  'AWS::RDS::DBInstance',
  'AWS::RDS::GlobalCluster',
  'AWS::ElastiCache::ReplicationGroup',
  'AWS::ElastiCache::GlobalReplicationGroup',
  'AWS::SQS::Queue',
  'AWS::S3::Bucket',
  'AWS::KMS::Key',
  'AWS::SecretsManager::Secret',
  'AWS::Logs::LogGroup',
];
