/**
 * The floor of a synth (bench/synth.bench.ts): a CDK app that emits the reference app's templates again, each
 * resource a raw `CfnResource` with the same logical ID, construct path and attributes, each output a `CfnOutput`,
 * through the same cdk.json (feature flags, launcher) and with aws-cdk-lib's built-in template validator. What is
 * left is what any CDK app that writes these templates pays: loading aws-cdk-lib, resolving and writing the
 * templates, and validating them. The benchmark checks that the two apps' templates are equal.
 *
 * Input: S2M_FLOOR_TEMPLATES, a directory with the templates and `stacks.json` (`[{ name, file, region, account? }]`).
 */
import { App, CfnCondition, CfnMapping, CfnOutput, CfnParameter, CfnResource, Stack, Token, type ICfnConditionExpression } from 'aws-cdk-lib/core';
import { Construct } from 'constructs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface FloorStack {
  readonly name: string;
  readonly file: string;
  readonly region: string;
  readonly account?: string;
}

interface RawResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
  readonly [attribute: string]: unknown;
}

interface RawTemplate {
  readonly Description?: string;
  readonly Transform?: string | string[];
  readonly Resources: Record<string, RawResource>;
  readonly Outputs?: Record<string, { Value: unknown; Description?: string; Export?: { Name: unknown }; Condition?: string }>;
  readonly Mappings?: Record<string, Record<string, Record<string, unknown>>>;
  readonly Conditions?: Record<string, unknown>;
  readonly Parameters?: Record<string, { Type: string; Default?: string; Description?: string }>;
}

const dir = process.env.S2M_FLOOR_TEMPLATES;
if (!dir) throw new Error('S2M_FLOOR_TEMPLATES: the directory of the templates to emit is not set');
const stacks = JSON.parse(readFileSync(join(dir, 'stacks.json'), 'utf8')) as FloorStack[];

// Each resource's Metadata (its `aws:cdk:path` included) is emitted as written, in its place among the attributes.
const app = new App({ postCliContext: { 'aws:cdk:enable-path-metadata': false } });
for (const s of stacks) {
  const t = JSON.parse(readFileSync(join(dir, s.file), 'utf8')) as RawTemplate;
  // Version reporting off: the reference app's CDKMetadata resource is emitted below as it was.
  const stack = new Stack(app, s.name, { env: { region: s.region, ...(s.account ? { account: s.account } : {}) }, analyticsReporting: false, suppressTemplateIndentation: true });
  if (t.Description !== undefined) stack.templateOptions.description = t.Description;
  for (const transform of t.Transform === undefined ? [] : Array.isArray(t.Transform) ? t.Transform : [t.Transform]) stack.addTransform(transform);
  const scopes = new Map<string, Construct>([['', stack]]);
  /** The construct at `path` (below the stack), created on first use. */
  const scopeAt = (path: string[]): Construct => {
    const key = path.join('/');
    let scope = scopes.get(key);
    if (!scope) {
      scope = new Construct(scopeAt(path.slice(0, -1)), path[path.length - 1]);
      scopes.set(key, scope);
    }
    return scope;
  };
  // Sections in the template's order: a stack's template lists them in the order its constructs first add one.
  for (const section of Object.keys(t)) {
    if (section === 'Resources') {
      for (const [logicalId, r] of Object.entries(t.Resources)) {
        const { Type, Properties, ...attributes } = r;
        const cdkPath = typeof r.Metadata?.['aws:cdk:path'] === 'string' ? (r.Metadata['aws:cdk:path'] as string).split('/').slice(1) : [logicalId];
        const resource = new CfnResource(scopeAt(cdkPath.slice(0, -1)), cdkPath[cdkPath.length - 1], { type: Type, ...(Properties ? { properties: Properties } : {}) });
        resource.overrideLogicalId(logicalId);
        for (const [key, value] of Object.entries(attributes)) resource.addOverride(key, value);
      }
    } else if (section === 'Outputs') {
      for (const [logicalId, o] of Object.entries(t.Outputs ?? {})) {
        new CfnOutput(stack, logicalId, {
          value: Token.asString(Token.asAny(o.Value)),
          ...(o.Description !== undefined ? { description: o.Description } : {}),
          ...(o.Export ? { exportName: Token.asString(Token.asAny(o.Export.Name)) } : {}),
        }).overrideLogicalId(logicalId);
      }
    } else if (section === 'Mappings') {
      for (const [logicalId, mapping] of Object.entries(t.Mappings ?? {})) new CfnMapping(stack, logicalId, { mapping }).overrideLogicalId(logicalId);
    } else if (section === 'Parameters') {
      // The app's own parameters (e.g. SSM values resolved at deploy); the synthesizer adds BootstrapVersion after them.
      for (const [logicalId, p] of Object.entries(t.Parameters ?? {})) {
        if (logicalId === 'BootstrapVersion') continue;
        new CfnParameter(stack, logicalId, { type: p.Type, ...(p.Default !== undefined ? { default: p.Default } : {}), ...(p.Description !== undefined ? { description: p.Description } : {}) }).overrideLogicalId(logicalId);
      }
    } else if (section === 'Conditions') {
      for (const [logicalId, expression] of Object.entries(t.Conditions ?? {})) {
        new CfnCondition(stack, logicalId, { expression: Token.asAny(expression) as ICfnConditionExpression }).overrideLogicalId(logicalId);
      }
    }
    // Description and Transform are set above; the synthesizer adds the BootstrapVersion parameter and the
    // CheckBootstrapVersion rule itself, as it did for the reference app.
  }
}
app.synth();
