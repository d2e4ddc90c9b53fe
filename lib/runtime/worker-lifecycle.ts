/**
 * Whether this instance is in service in its Auto Scaling group, for queue workers that must not take work before
 * it is. A fleet's launching lifecycle hook holds a new instance in `Pending:Wait` while the application already
 * runs; a worker that receives then cannot protect itself (`SetInstanceProtection` is refused for an instance that
 * is not `InService`, `EnteringStandby` or `Standby`), hands its messages back, and each such receive counts
 * towards the queue's `maxReceiveCount`.
 *
 * Instance metadata alone cannot tell: `autoscaling/target-lifecycle-state` is the state the instance is moving
 * *to* (only steady states: `InService`, `Terminated`, `Detached`, `Standby`, `Warmed:*`), and it reads `InService`
 * throughout `Pending:Wait` (AWS's own launch-hook tutorial waits for that value to complete the hook). So the
 * metadata item is the cheap first test (anything but `InService`: wait, without calling any API), and the current
 * state comes from `autoscaling:DescribeAutoScalingInstances` on this instance (which `WorkerFleet` grants).
 *
 * @module
 */

import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { InstanceMetadataOptions } from './worker-protection';

/** Tells whether this instance may take work. Inject your own in tests, or to use another source. */
export interface InstanceLifecycle {
  /**
   * @param signal - aborted when the worker stops
   * @returns true when the instance is `InService`, or in no Auto Scaling group (nothing to wait for); false while
   *   it is launching, in a warm pool, in standby, or leaving
   * @throws when the state cannot be read (the worker reports it, and stops waiting after a few failures in a row)
   */
  isInService(signal?: AbortSignal): Promise<boolean>;
}

/** Options of {@link AutoScalingInstanceLifecycle}. */
export interface AutoScalingInstanceLifecycleOptions {
  /** The instance. */
  readonly instanceId: string;
  /** Region of the default client. @default - the SDK's default chain */
  readonly region?: string;
  /** Where instance metadata is read (the same endpoint as the instance identity). @default - see {@link InstanceMetadataOptions} */
  readonly metadata?: InstanceMetadataOptions;
  /**
   * Auto Scaling client.
   * @default - `new AutoScalingClient({ region })`, created on first use
   */
  readonly client?: AutoScalingClient;
}

/** {@link InstanceLifecycle} from instance metadata, then `DescribeAutoScalingInstances` on this instance. */
export class AutoScalingInstanceLifecycle implements InstanceLifecycle {
  /** The instance. */
  public readonly instanceId: string;
  private readonly region: string | undefined;
  private readonly base: string;
  private readonly timeoutMs: number;
  private client: AutoScalingClient | undefined;
  private readonly ownsClient: boolean;

  /** @param options - see {@link AutoScalingInstanceLifecycleOptions} */
  public constructor(options: AutoScalingInstanceLifecycleOptions) {
    this.instanceId = options.instanceId;
    this.region = options.region;
    this.client = options.client;
    this.ownsClient = options.client === undefined;
    this.base = metadataEndpoint(options.metadata);
    this.timeoutMs = options.metadata?.timeoutMs ?? 1_000;
  }

  public async isInService(signal?: AbortSignal): Promise<boolean> {
    const target = await this.targetLifecycleState(signal);
    // No such item: not in an Auto Scaling group (or last moved before the item existed, March 2022).
    if (target === undefined) return true;
    if (target !== 'InService') return false;
    const current = await this.lifecycleState(signal);
    return current === undefined || current === 'InService';
  }

  /**
   * The state the instance is moving to, from IMDSv2 (`autoscaling/target-lifecycle-state`).
   *
   * @returns the state, or undefined when metadata has no such item (404)
   * @throws when the metadata service does not answer, or answers otherwise
   */
  public async targetLifecycleState(signal?: AbortSignal): Promise<string | undefined> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const s = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const token = await fetch(`${this.base}/latest/api/token`, { method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '60' }, signal: s });
    if (!token.ok) throw new Error(`instance metadata refused a token (HTTP ${token.status})`);
    const response = await fetch(`${this.base}/latest/meta-data/autoscaling/target-lifecycle-state`, { headers: { 'X-aws-ec2-metadata-token': await token.text() }, signal: s });
    if (response.status === 404) return undefined;
    if (!response.ok) throw new Error(`instance metadata answered HTTP ${response.status} for autoscaling/target-lifecycle-state`);
    return (await response.text()).trim();
  }

  /**
   * The instance's current lifecycle state (`DescribeAutoScalingInstances`).
   *
   * @returns the state (`Pending:Wait`, `InService`, ...), or undefined when the instance is in no group
   */
  public async lifecycleState(signal?: AbortSignal): Promise<string | undefined> {
    const sdk = await import('@aws-sdk/client-auto-scaling');
    this.client ??= new sdk.AutoScalingClient(this.region ? { region: this.region } : {});
    const out = await this.client.send(new sdk.DescribeAutoScalingInstancesCommand({ InstanceIds: [this.instanceId] }), signal ? { abortSignal: signal } : {});
    return out.AutoScalingInstances?.[0]?.LifecycleState;
  }

  /** Destroys the Auto Scaling client it created (not one it was given); a later call creates another. */
  public destroy(): void {
    if (!this.ownsClient) return;
    this.client?.destroy();
    this.client = undefined;
  }
}

/** The metadata service's base URL, as `readInstanceIdentity` and the AWS SDKs find it. */
function metadataEndpoint(options: InstanceMetadataOptions = {}): string {
  return (options.endpoint ?? process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT ?? 'http://169.254.169.254').replace(/\/+$/, '');
}
