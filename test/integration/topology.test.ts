import { beforeAll, describe, expect, inject, it } from 'vitest';
import { DATABASE_KEYS } from '../../lib/runtime/contract';
import { TopologyError, loadTopology, type TopologyChange, type TopologyLoader } from '../../lib/runtime/topology';
import { buildTestApp } from '../helpers/app';
import { createSecret, motoClients, putParameters, resolveValue, rotateSecret, synthesizedParameters } from './services/aws';

const services = inject('services');
const REGION = 'us-east-1';

/**
 * GIVEN moto seeded with every SSM parameter the data stack of config/sharded.json publishes, under exactly the
 * names the synthesized template gives them (values answered as the deployed resources would), and its secrets;
 * a renamed or added parameter on the construct side fails here.
 */
describe('topology from what a synthesized data stack publishes', () => {
  const { ssm, secretsManager } = motoClients(services, REGION);
  const secretArns: Record<string, string> = {};
  const answers: Record<string, string> = {};
  let names: string[] = [];
  let loader: TopologyLoader;
  const changes: TopologyChange[] = [];

  beforeAll(async () => {
    process.env.CDK_VALIDATION ??= 'false';
    const { regions } = buildTestApp('sharded');
    const { parameters, resources } = synthesizedParameters(regions[REGION]!.data);
    names = parameters.map((p) => p.name);
    for (const [id, r] of Object.entries(resources)) {
      if (r.Type === 'AWS::SecretsManager::Secret') secretArns[id] = await createSecret(secretsManager, `it-topology/${id}`, { username: 'dbadmin', password: `pw-${id}` });
    }
    const answer = (id: string, attr: string | undefined): string => {
      const type = resources[id]?.Type;
      if (type === 'AWS::SecretsManager::Secret' && attr === undefined) return secretArns[id]!;
      if (type === 'AWS::SecretsManager::SecretTargetAttachment' && attr === undefined) {
        // Ref of an attachment is its secret's ARN
        const secretId = (resources[id] as unknown as { Properties: { SecretId: { Ref: string } } }).Properties.SecretId.Ref;
        return secretArns[secretId]!;
      }
      if (type === 'AWS::SQS::Queue') {
        if (attr === undefined) return `https://sqs.${REGION}.amazonaws.com/123456789012/${id}`;
        if (attr === 'Arn') return `arn:aws:sqs:${REGION}:123456789012:${id}`;
        return id;
      }
      if (attr?.endsWith('Port')) return '5432';
      return `${id.toLowerCase()}.${(attr ?? 'ref').toLowerCase()}.example.internal`;
    };
    const values: Record<string, string> = {};
    for (const p of parameters) values[p.name] = resolveValue(p.value, answer);
    Object.assign(answers, values);
    await putParameters(ssm, values);
    loader = await loadTopology({ prefix: '/shop-sharded', region: REGION, ssm, secretsManager, onError: () => undefined });
    loader.onChange((c) => changes.push(c));
  });

  it('reads every published parameter (none unrecognized, none missing)', () => {
    expect(names.length).toBeGreaterThan(20);
    const t = loader.current;
    expect(t.unrecognized).toEqual([]);
    expect(t.database).toMatchObject({
      writer: answers['/shop-sharded/database/writer'],
      reader: answers['/shop-sharded/database/reader'],
      proxy: answers['/shop-sharded/database/proxy'],
      proxyReadOnly: answers['/shop-sharded/database/proxy-read-only'],
      port: 5432,
      databaseName: 'app',
      engine: 'postgres',
      role: 'primary',
      writeForwarding: false,
    });
    // Fleets connect as their own IAM database users: the master secret is published for migrations only.
    expect(t.database!.authentication).toBe('iam');
    expect(t.database!.secretArn).toBe(answers['/shop-sharded/database/secret-arn']);
    expect(t.shards!.epoch).toBe(1);
    expect([...t.shards!.shards.keys()]).toEqual(['s0', 's1', 's2']);
    expect(t.shards!.shards.get('s1')!.writer).toBe(answers['/shop-sharded/database/shards/s1/writer']);
    expect(t.cache).toMatchObject({ endpoint: answers['/shop-sharded/cache/endpoint'], tls: true, authMode: 'rbac', secretArn: answers['/shop-sharded/cache/secret-arn'] });
    expect(t.cache!.username).toBe(answers['/shop-sharded/cache/username']);
    expect(t.queues['jobs']).toMatchObject({ url: answers['/shop-sharded/queues/jobs/url'], arn: answers['/shop-sharded/queues/jobs/arn'] });
  });

  it('reads the secrets the topology names, and never the database master secret (IAM authentication)', () => {
    expect(loader.secret(loader.current.cache!.secretArn!)).toBeDefined();
    expect(loader.secret(loader.current.database!.secretArn!)).toBeUndefined();
  });

  it('picks up a new shard-map epoch and a rotated secret without a restart', async () => {
    const mapName = `/shop-sharded/database/${DATABASE_KEYS.shardMap}`;
    const map = JSON.parse(answers[mapName]!) as { epoch: number; description?: string };
    await putParameters(ssm, { [mapName]: JSON.stringify({ ...map, epoch: 2, description: 'resharded' }) });
    const arn = loader.current.cache!.secretArn!;
    await rotateSecret(secretsManager, arn, { username: 'dbadmin', password: 'rotated' });
    changes.length = 0;
    await loader.refresh();
    expect(loader.current.shards!.epoch).toBe(2);
    expect(changes.map((c) => c.kind)).toEqual(expect.arrayContaining(['shards', 'secret']));
    expect(changes.find((c) => c.kind === 'secret')!.secretArn).toBe(arn);
    expect(loader.secret(arn)!.json).toMatchObject({ password: 'rotated' });
    loader.stop();
  });

  it('fails naming the parameter when a published value is malformed', async () => {
    await putParameters(ssm, { '/it-bad/database/writer': 'db.example.internal', '/it-bad/database/port': 'five', '/it-bad/database/database-name': 'app', '/it-bad/database/authentication': 'iam' });
    const err = await loadTopology({ prefix: '/it-bad', region: REGION, ssm, secretsManager }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TopologyError);
    expect((err as Error).message).toContain('/it-bad/database/port: expected a port 1-65535 (got: "five")');
  });
});
