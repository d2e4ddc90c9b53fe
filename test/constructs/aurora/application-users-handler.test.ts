import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { handler, type ApplicationUsersEvent } from '../../../constructs/aurora/application-users.handler';

/**
 * The users function's delete: the resource moves with the writer (a switchover deletes it from the demoted
 * region's stack) and is deleted with the stack, and neither may touch a user: it reads no secret and opens no
 * connection.
 */
describe('ApplicationUsers handler on Delete', () => {
  const secrets = mockClient(SecretsManagerClient);
  afterEach(() => secrets.reset());
  // The mock stubs the client's prototype, and this worker's later files share it (isolate: false): undo it.
  afterAll(() => secrets.restore());

  it('returns at once, keeping its physical id, without reading the master secret or connecting', async () => {
    secrets.on(GetSecretValueCommand).rejects(new Error('a delete must not read the secret'));
    const event: ApplicationUsersEvent = {
      RequestType: 'Delete',
      PhysicalResourceId: 'shop-db.cluster-c1.us-east-1.rds.amazonaws.com/app/application-users',
      ResourceProperties: { SecretArn: 'arn:aws:secretsmanager:us-east-1:111111111111:secret:shop/database/credentials', Host: '192.0.2.1', Port: '5432', DatabaseName: 'app', GroupRole: 's2m_application', Users: ['web', 'api'] },
    };
    await expect(handler(event)).resolves.toEqual({ PhysicalResourceId: 'shop-db.cluster-c1.us-east-1.rds.amazonaws.com/app/application-users', Data: {} });
    expect(secrets.calls()).toHaveLength(0);
  });
});
