import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPLICA_SYNC_HANDLER_SOURCE } from '../../../constructs/common';

interface Status { Region: string; Status: string; StatusMessage?: string }
interface Handler {
  waitInSync(props: Record<string, string>, describe: (id: string) => Promise<{ ReplicationStatus?: Status[] }>, sleep: (ms: number) => Promise<void>, now: () => number): Promise<Status>;
  handler(event: Record<string, unknown>, context?: { getRemainingTimeInMillis(): number }): Promise<void>;
}

/** Loads the inline source as Lambda would (CommonJS), with the given `require` for the AWS SDK. */
function load(sdk: unknown = {}): Handler {
  const module = { exports: {} as Record<string, unknown> };
  runInNewContext(REPLICA_SYNC_HANDLER_SOURCE, { module, exports: module.exports, require: () => sdk, console: { log: () => undefined, error: () => undefined }, setTimeout, fetch, JSON, Number, String, Error, Date });
  return module.exports as unknown as Handler;
}

/** A clock that the injected sleep advances, and a describe that answers the given statuses in turn (the last one repeats). */
function scripted(statuses: Array<Status[] | undefined>) {
  let t = 0;
  const calls: string[] = [];
  return {
    calls,
    describe: async (id: string) => {
      calls.push(id);
      const next = statuses.length > 1 ? statuses.shift() : statuses[0];
      return next === undefined ? {} : { ReplicationStatus: next };
    },
    sleep: async (ms: number) => { t += ms; },
    now: () => t,
    elapsed: () => t,
  };
}

const PROPS = { SecretId: 'shop/database/credentials', PrimaryRegion: 'us-east-1', ReplicaRegion: 'eu-west-1', TimeoutSeconds: '60' };

describe('waitInSync (the replica wait of SecretReplica)', () => {
  const { waitInSync } = load();

  it('fits in a Lambda function\'s inline code (ZipFile: at most 4,096 characters)', () => {
    expect(REPLICA_SYNC_HANDLER_SOURCE.length).toBeLessThanOrEqual(4096);
  });

  it('polls the primary region until the replica region is InSync', async () => {
    // GIVEN a replica that is in progress twice, then in sync, beside another region's
    const s = scripted([
      [{ Region: 'eu-west-1', Status: 'InProgress' }],
      [{ Region: 'ap-southeast-1', Status: 'InSync' }, { Region: 'eu-west-1', Status: 'InProgress' }],
      [{ Region: 'ap-southeast-1', Status: 'InSync' }, { Region: 'eu-west-1', Status: 'InSync', StatusMessage: 'Replication succeeded' }],
    ]);
    // WHEN waited for THEN it returns the region's status after two pauses of 3 s, asking about the secret by name
    await expect(waitInSync(PROPS, s.describe, s.sleep, s.now)).resolves.toEqual({ Region: 'eu-west-1', Status: 'InSync', StatusMessage: 'Replication succeeded' });
    expect(s.calls).toEqual(Array(3).fill('shop/database/credentials'));
    expect(s.elapsed()).toBe(6000);
  });

  it('fails at once with the status message when the replication failed', async () => {
    const s = scripted([[{ Region: 'eu-west-1', Status: 'Failed', StatusMessage: 'Replication failed: a secret with this name already exists in eu-west-1' }]]);
    await expect(waitInSync(PROPS, s.describe, s.sleep, s.now)).rejects.toThrow('the replica of shop/database/credentials in eu-west-1 failed: Replication failed: a secret with this name already exists in eu-west-1');
    expect(s.calls).toHaveLength(1);
  });

  it('keeps polling through AccessDenied while the role\'s new policy propagates, and names it at the deadline', async () => {
    const denied = Object.assign(new Error('User: arn:aws:sts::123456789012:assumed-role/x is not authorized to perform: secretsmanager:DescribeSecret'), { name: 'AccessDeniedException' });
    let calls = 0;
    let t = 0;
    const flaky = async () => {
      calls++;
      if (calls <= 2) throw denied;
      return { ReplicationStatus: [{ Region: 'eu-west-1', Status: 'InSync' }] };
    };
    await expect(waitInSync(PROPS, flaky, async (ms) => { t += ms; }, () => t)).resolves.toMatchObject({ Status: 'InSync' });
    expect(calls).toBe(3);
    t = 0;
    await expect(waitInSync({ ...PROPS, TimeoutSeconds: '6' }, async () => { throw denied; }, async (ms) => { t += ms; }, () => t)).rejects.toThrow(`is not in sync after 6 s (${denied.message})`);
    // any other error fails at once
    await expect(waitInSync(PROPS, async () => { throw Object.assign(new Error('Secrets Manager can\'t find the specified secret.'), { name: 'ResourceNotFoundException' }); }, async () => undefined, () => 0)).rejects.toThrow('can\'t find the specified secret');
  });

  it('fails at the deadline, naming the last status, or that the secret does not replicate to the region', async () => {
    const slow = scripted([[{ Region: 'eu-west-1', Status: 'InProgress' }]]);
    await expect(waitInSync({ ...PROPS, TimeoutSeconds: '10' }, slow.describe, slow.sleep, slow.now)).rejects.toThrow('the replica of shop/database/credentials in eu-west-1 is not in sync after 10 s (status InProgress)');
    expect(slow.elapsed()).toBe(12000);
    const none = scripted([undefined]);
    await expect(waitInSync({ ...PROPS, TimeoutSeconds: '5' }, none.describe, none.sleep, none.now)).rejects.toThrow('(the secret does not replicate to eu-west-1)');
  });
});

describe('the replica wait function as CloudFormation calls it', () => {
  const received: Array<{ method?: string; headers: IncomingHttpHeaders; body: Record<string, unknown> }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString(); });
    req.on('end', () => {
      received.push({ method: req.method, headers: req.headers, body: JSON.parse(body) as Record<string, unknown> });
      res.end();
    });
  });
  let url: string;
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/response?X-Amz-Signature=x`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const event = (type: string, extra: Record<string, unknown> = {}) => ({
    RequestType: type, ResponseURL: url, StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/shop-data-eu-west-1/x', RequestId: `r-${type}`,
    LogicalResourceId: 'DatabaseSecretReplicaInSync', ResourceProperties: PROPS, ...extra,
  });
  /** A fake AWS SDK module: DescribeSecret answers `status` for the replica region, and records the clients' regions. */
  const sdk = (status: Status | Error) => {
    const regions: string[] = [];
    return {
      regions,
      module: {
        SecretsManagerClient: class { constructor(c: { region: string }) { regions.push(c.region); } async send(cmd: { input: { SecretId: string } }) { if (status instanceof Error) throw status; return { ARN: cmd.input.SecretId, ReplicationStatus: [status] }; } },
        DescribeSecretCommand: class { constructor(public readonly input: { SecretId: string }) {} },
      },
    };
  };

  it('answers SUCCESS once the replica is in sync: a PUT without a content type, with the ids CloudFormation sent', async () => {
    const aws = sdk({ Region: 'eu-west-1', Status: 'InSync' });
    await load(aws.module).handler(event('Create'));
    const answer = received.pop()!;
    expect(answer.method).toBe('PUT');
    expect(answer.headers['content-type'] ?? '').toBe('');
    expect(answer.body).toEqual({
      Status: 'SUCCESS', Reason: 'replica in sync', PhysicalResourceId: 'shop/database/credentials@eu-west-1',
      StackId: event('Create').StackId, RequestId: 'r-Create', LogicalResourceId: 'DatabaseSecretReplicaInSync', Data: { Status: 'InSync' },
    });
    expect(aws.regions).toEqual(['us-east-1']);
  });

  it('answers FAILED with the reason when the replication failed or the secret cannot be described', async () => {
    await load(sdk({ Region: 'eu-west-1', Status: 'Failed', StatusMessage: 'KMS key not found' }).module).handler(event('Update', { PhysicalResourceId: 'shop/database/credentials@eu-west-1' }));
    expect(received.pop()!.body).toMatchObject({ Status: 'FAILED', Reason: 'the replica of shop/database/credentials in eu-west-1 failed: KMS key not found', PhysicalResourceId: 'shop/database/credentials@eu-west-1' });
    await load(sdk(Object.assign(new Error('Secrets Manager can\'t find the specified secret.'), { name: 'ResourceNotFoundException' })).module).handler(event('Create'));
    expect(received.pop()!.body).toMatchObject({ Status: 'FAILED', Reason: 'Secrets Manager can\'t find the specified secret.' });
  });

  it('answers SUCCESS at once to an update naming the same replica (a changed timeout, or a rollback), and waits when it names another', async () => {
    const aws = sdk(new Error('must not be called'));
    await load(aws.module).handler(event('Update', { PhysicalResourceId: 'shop/database/credentials@eu-west-1', OldResourceProperties: { ...PROPS, TimeoutSeconds: '300' } }));
    expect(received.pop()!.body).toMatchObject({ Status: 'SUCCESS', Reason: 'the same replica' });
    expect(aws.regions).toEqual([]);
    const moved = sdk({ Region: 'eu-west-1', Status: 'InSync' });
    await load(moved.module).handler(event('Update', { PhysicalResourceId: 'shop/old@eu-west-1', OldResourceProperties: { ...PROPS, SecretId: 'shop/old' } }));
    expect(received.pop()!.body).toMatchObject({ Status: 'SUCCESS', Reason: 'replica in sync', PhysicalResourceId: 'shop/old@eu-west-1' });
    expect(moved.regions).toEqual(['us-east-1']);
  });

  it('gives up in time to answer before the function itself times out', async () => {
    // GIVEN 31 s left in the invocation and a replica that stays in progress WHEN it waits THEN it answers FAILED
    // after 1 s (31 - 30), not after the 60 s asked for
    const aws = sdk({ Region: 'eu-west-1', Status: 'InProgress' });
    const started = Date.now();
    await load(aws.module).handler({ ...event('Create'), ResourceProperties: { ...PROPS, PollSeconds: '0.05' } }, { getRemainingTimeInMillis: () => 31_000 });
    expect(received.pop()!.body).toMatchObject({ Status: 'FAILED', Reason: expect.stringContaining('is not in sync after 1 s (status InProgress)') });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('answers SUCCESS to a delete without calling AWS', async () => {
    const aws = sdk(new Error('must not be called'));
    await load(aws.module).handler(event('Delete', { PhysicalResourceId: 'shop/database/credentials@eu-west-1' }));
    expect(received.pop()!.body).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: 'shop/database/credentials@eu-west-1' });
    expect(aws.regions).toEqual([]);
  });
});
