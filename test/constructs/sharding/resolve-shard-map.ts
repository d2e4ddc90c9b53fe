import type { Stack } from 'aws-cdk-lib/core';

/**
 * The shard-map JSON with every CloudFormation reference replaced by a placeholder (`@ref<n>`), parsed,
 * and the references by placeholder: the structure can be asserted without deploying.
 */
export function resolveShardMap(stack: Stack, json: string): { doc: Record<string, unknown>; refs: Record<string, unknown> } {
  const resolved = stack.resolve(json) as string | { 'Fn::Join': [string, unknown[]] };
  if (typeof resolved === 'string') return { doc: JSON.parse(resolved) as Record<string, unknown>, refs: {} };
  const refs: Record<string, unknown> = {};
  const text = resolved['Fn::Join'][1].map((part, i) => {
    if (typeof part === 'string') return part;
    refs[`@ref${i}`] = part;
    return `@ref${i}`;
  }).join('');
  return { doc: JSON.parse(text) as Record<string, unknown>, refs };
}
