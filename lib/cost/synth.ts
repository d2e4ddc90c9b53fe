/**
 * Synthesizes a config's stacks in memory (into a temporary directory, removed afterwards) so the estimate
 * counts what `cdk deploy` would create. No credentials, no network, no cdk.out of the user's touched.
 */
import { App } from 'aws-cdk-lib/core';
import { DISABLE_CREATION_STACK_TRACES } from 'aws-cdk-lib/cx-api';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../app';
import type { AppConfig } from '../config';
import { pascal } from '../outputs';
import type { CostAssumptions } from './assumptions';
import { estimateCost, type CostEstimate, type EstimateContext } from './estimate';
import { inventoryOf, type CfnTemplate, type StackTemplate } from './inventory';

/** The templates of every stack `buildApp` creates for `config`, with each stack's region and tier. */
export function synthesizeTemplates(config: AppConfig): StackTemplate[] {
  const outdir = mkdtempSync(join(tmpdir(), 's2m-cost-'));
  // The estimate needs the templates only: no validator report (aws-cdk-lib runs AWS's template validator at
  // every synth unless CDK_VALIDATION=false) and no jsii line per deprecated property a construct sets.
  const saved = { CDK_VALIDATION: process.env.CDK_VALIDATION, JSII_DEPRECATED: process.env.JSII_DEPRECATED };
  process.env.CDK_VALIDATION = 'false';
  process.env.JSII_DEPRECATED = 'quiet';
  try {
    // No feature-flag context: the flags change no billed resource. No construct tree (tree.json, for which
    // aws-cdk-lib resolves every resource's properties again) and no creation stack traces: the templates only.
    const app = new App({ outdir, treeMetadata: false, context: { [DISABLE_CREATION_STACK_TRACES]: true } });
    const built = buildApp(app, config, { nagChecks: false });
    const tiers = new Map<string, StackTemplate['tier']>();
    const nestedOf = new Map<string, Array<{ logicalId: string; stackName: string; file: string }>>();
    for (const r of Object.values(built.regions)) {
      tiers.set(r.network.stackName, 'network');
      tiers.set(r.data.stackName, 'data');
      tiers.set(r.app.stackName, 'app');
      nestedOf.set(r.app.stackName, [...r.app.serviceStacks, ...r.app.queueStacks].map(({ stack }) => ({
        logicalId: r.app.resolve(stack.nestedStackResource!.logicalId) as string,
        stackName: `${r.app.stackName}/${stack.node.id}`,
        file: join(outdir, stack.templateFile),
      })));
    }
    tiers.set(built.edge.stackName, 'edge');
    const assembly = app.synth();
    // Regions in the config's order (primary first), the edge stack last.
    const order = (s: { environment: { region: string }; stackName: string }) => (tiers.get(s.stackName) === 'edge' ? config.regions.length : config.regions.findIndex((r) => r.region === s.environment.region));
    return [...assembly.stacks].sort((a, b) => order(a) - order(b)).flatMap((s) => [
      {
        stackName: s.stackName,
        region: s.environment.region,
        ...(tiers.has(s.stackName) ? { tier: tiers.get(s.stackName) } : {}),
        template: s.template as CfnTemplate,
      },
      // The app stack's nested stacks (services and queues that did not fit in it) are files of their own in the assembly.
      ...(nestedOf.get(s.stackName) ?? []).map((n) => ({
        stackName: n.stackName,
        region: s.environment.region,
        tier: 'app' as const,
        template: nestedView(s.template as CfnTemplate, n.logicalId, JSON.parse(readFileSync(n.file, 'utf8')) as CfnTemplate),
      })),
    ]);
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    rmSync(outdir, { recursive: true, force: true });
  }
}

/**
 * A nested stack's template as the inventory reads it: its resources, and the parent's outputs that point into it
 * (`FleetName<Service>`, `WorkerFleetName<Queue>`: `Fn::GetAtt [<nested stack>, Outputs.<key>]`) as outputs of its own, so its fleets keep
 * their service names.
 */
function nestedView(parent: CfnTemplate, logicalId: string, nested: CfnTemplate): CfnTemplate {
  const outputs: Record<string, { Value?: unknown }> = {};
  for (const [key, out] of Object.entries(parent.Outputs ?? {})) {
    const att = (out.Value as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt'];
    if (!att || att[0] !== logicalId || !att[1].startsWith('Outputs.')) continue;
    const inner = nested.Outputs?.[att[1].slice('Outputs.'.length)];
    if (inner) outputs[key] = inner;
  }
  return { ...(nested.Resources ? { Resources: nested.Resources } : {}), Outputs: outputs };
}

/** What the config says that the templates cannot (the processing time of each queue's jobs). */
export function estimateContext(config: AppConfig): EstimateContext {
  return {
    queueProcessingSeconds: Object.fromEntries(config.queues.map((q) => [pascal(q.name), q.averageProcessingSeconds])),
    names: Object.fromEntries([...config.services, ...config.queues].map((x) => [pascal(x.name), x.name])),
  };
}

/** Synthesizes `config` and prices it. */
export function estimateConfig(config: AppConfig, assumptions: Partial<CostAssumptions> = {}): CostEstimate {
  return estimateCost(inventoryOf(synthesizeTemplates(config)), assumptions, estimateContext(config));
}
