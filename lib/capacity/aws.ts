/** The real AWS clients, clock and streams for `s2m`; created on call, never at module load. */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { RDSClient } from '@aws-sdk/client-rds';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SSMClient } from '@aws-sdk/client-ssm';
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
    autoScaling: (region) => new AutoScalingClient({ region, maxAttempts: 1 }),
    elasticLoadBalancing: (region) => new ElasticLoadBalancingV2Client({ region, maxAttempts: 1 }),
    logs: (region) => new CloudWatchLogsClient({ region, maxAttempts: 1 }),
    ec2: (region) => new EC2Client({ region, maxAttempts: 1 }),
    // Only `s2m logs --follow` asks: it then ends on Ctrl-C, cleanly; every other command keeps Node's default.
    interrupted: () => {
      const interrupt = new AbortController();
      process.once('SIGINT', () => interrupt.abort());
      return interrupt.signal;
    },
    // Failover calls are few and must not fail on a blip: the SDK's own retries are on.
    route53: once(() => new Route53Client({ region: 'us-east-1' })),
    rds: perRegion((region) => new RDSClient({ region })),
    ssm: perRegion((region) => new SSMClient({ region })),
    clock: { now: () => new Date(), sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) },
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
  };
}

function once<T>(make: () => T): () => T {
  let made: T | undefined;
  return () => (made ??= make());
}

function perRegion<T>(make: (region: string) => T): (region: string) => T {
  const made = new Map<string, T>();
  return (region) => {
    if (!made.has(region)) made.set(region, make(region));
    return made.get(region)!;
  };
}
