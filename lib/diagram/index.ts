import { Stack, type App, type Stage } from 'aws-cdk-lib/core';
import { modelFromTemplates, type ArchitectureModel, type StackTemplate } from './model';

export * from './model';
export * from './svg';

/** The stacks of a synthesized app (or stage) as {@link StackTemplate}s, in creation order (primary region first). */
export function stackTemplates(app: App | Stage): StackTemplate[] {
  const assembly = app.synth();
  return app.node.children.filter((c): c is Stack => Stack.isStack(c)).map((stack) => {
    const s = assembly.getStackArtifact(stack.artifactId);
    return { name: s.stackName, region: s.environment.region, template: s.template as StackTemplate['template'] };
  });
}

/** The architecture model of a built app (synthesizes it). */
export function modelFromApp(app: App | Stage): ArchitectureModel {
  return modelFromTemplates(stackTemplates(app));
}
