/** Stack names and stack outputs, read with CloudFormation DescribeStacks. */
import { DescribeStacksCommand, type CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { classifyAwsError } from './errors';
import { withRetry, type RetryOptions } from './retry';

/**
 * The stack names the CLI reads. They mirror `stackNames` of `lib/app.ts` (a test asserts they agree);
 * kept here so the CLI does not load aws-cdk-lib and every stack just to name them.
 */
export const cliStackNames = {
  data: (name: string, region: string) => `${name}-data-${region}`,
  app: (name: string, region: string) => `${name}-app-${region}`,
  edge: (name: string) => `${name}-edge`,
};

/** A stack's outputs, key → value. */
export type StackOutputs = Readonly<Record<string, string>>;

/**
 * Reads one stack's outputs with a single DescribeStacks call (retried on throttling; `onCall` is called
 * before every attempt). A missing stack,
 * access denied or missing credentials become a `CliError` with one clear line.
 */
export async function readStackOutputs(client: CloudFormationClient, region: string, stackName: string, retry: RetryOptions, onCall?: () => void): Promise<StackOutputs> {
  try {
    const out = await withRetry(() => {
      onCall?.();
      return client.send(new DescribeStacksCommand({ StackName: stackName }));
    }, retry);
    const stack = out.Stacks?.[0];
    if (!stack) throw Object.assign(new Error(`Stack with id ${stackName} does not exist`), { name: 'ValidationError' });
    const outputs: Record<string, string> = {};
    for (const o of stack.Outputs ?? []) {
      if (o.OutputKey && o.OutputValue !== undefined) outputs[o.OutputKey] = o.OutputValue;
    }
    return outputs;
  } catch (e) {
    throw classifyAwsError(e, { region, action: 'cloudformation:DescribeStacks', stackName });
  }
}
