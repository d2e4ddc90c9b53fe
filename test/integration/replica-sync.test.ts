import { DescribeSecretCommand, ReplicateSecretToRegionsCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { runInNewContext } from 'node:vm';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { REPLICA_SYNC_HANDLER_SOURCE } from '../../constructs/common';
import { createSecret, motoClients } from './services/aws';

type WaitInSync = (props: Record<string, string>, describe: (id: string) => Promise<unknown>, sleep: (ms: number) => Promise<void>, now: () => number) => Promise<{ Region: string; Status: string }>;

/**
 * The replica wait of SecretReplica (REPLICA_SYNC_HANDLER_SOURCE) against Secrets Manager's real API shape (moto): the
 * primary region's DescribeSecret lists each replica region's status after ReplicateSecretToRegions, and the wait
 * reads it from there.
 */
describe('SecretReplica\'s replica wait against Secrets Manager (moto)', () => {
  const services = inject('services');
  const name = `it/replica-sync/${process.pid}-${Date.now() % 100000}`;
  let primary: SecretsManagerClient;
  let waitInSync: WaitInSync;
  const describeIn = (client: SecretsManagerClient) => (id: string) => client.send(new DescribeSecretCommand({ SecretId: id }));
  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.min(ms, 50)));

  beforeAll(async () => {
    primary = motoClients(services, 'us-east-1').secretsManager;
    const module = { exports: {} as Record<string, unknown> };
    runInNewContext(REPLICA_SYNC_HANDLER_SOURCE, { module, exports: module.exports, require: () => ({}), console, setTimeout, fetch, JSON, Number, String, Error, Date });
    waitInSync = module.exports.waitInSync as WaitInSync;
    // GIVEN a secret in us-east-1 that a secondary region's stack asked to replicate to eu-west-1
    await createSecret(primary, name, { password: 'p' });
    await primary.send(new ReplicateSecretToRegionsCommand({ SecretId: name, AddReplicaRegions: [{ Region: 'eu-west-1' }], ForceOverwriteReplicaSecret: true }));
  });

  it('returns once the primary region reports the replica region InSync, and the replica then answers in its region', async () => {
    const status = await waitInSync({ SecretId: name, PrimaryRegion: 'us-east-1', ReplicaRegion: 'eu-west-1', TimeoutSeconds: '5' }, describeIn(primary), sleep, Date.now);
    expect(status).toMatchObject({ Region: 'eu-west-1', Status: 'InSync' });
    const replica = await describeIn(motoClients(services, 'eu-west-1').secretsManager)(name);
    expect(replica.PrimaryRegion).toBe('us-east-1');
  });

  it('fails at its deadline for a region the secret does not replicate to', async () => {
    await expect(waitInSync({ SecretId: name, PrimaryRegion: 'us-east-1', ReplicaRegion: 'ap-southeast-1', TimeoutSeconds: '1', PollSeconds: '0.2' }, describeIn(primary), sleep, Date.now))
      .rejects.toThrow(`the replica of ${name} in ap-southeast-1 is not in sync after 1 s (the secret does not replicate to ap-southeast-1)`);
  });
});
