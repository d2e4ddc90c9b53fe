/**
 * Scale-in protection for queue workers: while a worker holds messages it protects its own instance from
 * scale-in (`autoscaling:SetInstanceProtection`, which the `WorkerFleet` construct grants on its group only), and
 * lifts the protection when it is idle. Scale-in then lowers the group's desired capacity but terminates only idle
 * instances, each as soon as it unprotects.
 *
 * The instance finds its group through instance metadata (IMDSv2): `instance-id`, `placement/region` and the
 * instance tag `aws:autoscaling:groupName` (the fleets turn on `instanceMetadataTags`).
 *
 * @module
 */

import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';

/** Sets or lifts this instance's scale-in protection. Inject your own in tests, or to use another mechanism. */
export interface InstanceProtection {
  /**
   * @param protect - true to protect, false to lift
   * @param options - `abortSignal`: aborted when the worker gives up on the call (its deadline); pass it to the
   *   client, or ignore it (the worker stops waiting either way)
   * @throws when the call fails; protecting fails for an instance that is already leaving the group (the worker
   *   then hands its messages back)
   */
  setProtected(protect: boolean, options?: { readonly abortSignal?: AbortSignal }): Promise<void>;
}

/** What instance metadata says about this instance. */
export interface InstanceIdentity {
  readonly instanceId: string;
  readonly region: string;
  /** The Auto Scaling group, when the instance is in one and metadata tags are on. */
  readonly autoScalingGroupName?: string;
}

/** Options of {@link readInstanceIdentity}. */
export interface InstanceMetadataOptions {
  /**
   * Base URL of the instance metadata service.
   * @default - `AWS_EC2_METADATA_SERVICE_ENDPOINT`, else `http://169.254.169.254`
   */
  readonly endpoint?: string;
  /** Time limit of each metadata request. @default 1000 */
  readonly timeoutMs?: number;
}

/**
 * Reads the instance id, region and Auto Scaling group from IMDSv2.
 *
 * @param options - see {@link InstanceMetadataOptions}
 * @returns the identity, or undefined when no metadata service answers (not on EC2)
 */
export async function readInstanceIdentity(options: InstanceMetadataOptions = {}): Promise<InstanceIdentity | undefined> {
  const base = (options.endpoint ?? process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT ?? 'http://169.254.169.254').replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 1_000;
  const request = async (path: string, init: RequestInit): Promise<Response | undefined> => {
    try {
      return await fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    } catch {
      return undefined;
    }
  };
  const tokenResponse = await request('/latest/api/token', { method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '300' } });
  if (!tokenResponse?.ok) return undefined;
  const token = await tokenResponse.text();
  const get = async (path: string): Promise<string | undefined> => {
    const response = await request(`/latest/meta-data/${path}`, { headers: { 'X-aws-ec2-metadata-token': token } });
    return response?.ok ? (await response.text()).trim() || undefined : undefined;
  };
  const [instanceId, region, group] = await Promise.all([get('instance-id'), get('placement/region'), get('tags/instance/aws:autoscaling:groupName')]);
  if (!instanceId || !region) return undefined;
  return { instanceId, region, ...(group ? { autoScalingGroupName: group } : {}) };
}

/** Options of {@link AutoScalingInstanceProtection}. */
export interface AutoScalingInstanceProtectionOptions {
  /** The instance. */
  readonly instanceId: string;
  /** Its Auto Scaling group. */
  readonly autoScalingGroupName: string;
  /**
   * Auto Scaling client.
   * @default - `new AutoScalingClient({ region })`, created on first use
   */
  readonly client?: AutoScalingClient;
  /** Region for the default client. @default - the SDK's default chain */
  readonly region?: string;
}

/** {@link InstanceProtection} through `autoscaling:SetInstanceProtection` on this instance's own group. */
export class AutoScalingInstanceProtection implements InstanceProtection {
  /**
   * Finds this instance's group in instance metadata.
   *
   * @param options - metadata endpoint and timeout, and an Auto Scaling client
   * @returns the protection, or undefined when not on EC2 or not in an Auto Scaling group (or the metadata tags
   *   are off)
   */
  public static async fromInstanceMetadata(options: InstanceMetadataOptions & { readonly client?: AutoScalingClient } = {}): Promise<AutoScalingInstanceProtection | undefined> {
    const identity = await readInstanceIdentity(options);
    if (!identity?.autoScalingGroupName) return undefined;
    return new AutoScalingInstanceProtection({
      instanceId: identity.instanceId,
      autoScalingGroupName: identity.autoScalingGroupName,
      region: identity.region,
      ...(options.client ? { client: options.client } : {}),
    });
  }

  /** The instance. */
  public readonly instanceId: string;
  /** Its group. */
  public readonly autoScalingGroupName: string;
  private client: AutoScalingClient | undefined;
  private readonly region: string | undefined;

  /** @param options - see {@link AutoScalingInstanceProtectionOptions} */
  public constructor(options: AutoScalingInstanceProtectionOptions) {
    this.instanceId = options.instanceId;
    this.autoScalingGroupName = options.autoScalingGroupName;
    this.client = options.client;
    this.region = options.region;
  }

  public async setProtected(protect: boolean, options: { readonly abortSignal?: AbortSignal } = {}): Promise<void> {
    const sdk = await import('@aws-sdk/client-auto-scaling');
    this.client ??= new sdk.AutoScalingClient(this.region ? { region: this.region } : {});
    await this.client.send(new sdk.SetInstanceProtectionCommand({
      AutoScalingGroupName: this.autoScalingGroupName,
      InstanceIds: [this.instanceId],
      ProtectedFromScaleIn: protect,
    }), options.abortSignal ? { abortSignal: options.abortSignal } : {});
  }
}
