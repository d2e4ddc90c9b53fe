/** The real AWS clients, clock and streams for `s2m`; created on call, never at module load. */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { CliDeps } from './cli';

/**
 * The production dependencies of `main`: SDK clients per region (`maxAttempts: 1`, because the CLI
 * retries throttling itself with backoff and jitter and counts every call), the system clock and the
 * process streams.
 *
 * The SDK's Node-version deprecation warning (several lines on stderr under Node 20, the project's runtime)
 * is turned off unless `AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED` is already set: the CLI promises
 * one line on stderr per failure, and scripts parse it.
 */
export function defaultCliDeps(): CliDeps {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return {
    cloudFormation: (region) => new CloudFormationClient({ region, maxAttempts: 1 }),
    cloudWatch: (region) => new CloudWatchClient({ region, maxAttempts: 1 }),
    clock: { now: () => new Date(), sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) },
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
  };
}
