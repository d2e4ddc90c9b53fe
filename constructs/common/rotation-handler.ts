/**
 * The source of the rotation function {@link GeneratedSecretRotation} deploys inline (CommonJS, Node.js 24, the AWS
 * SDK v3 of the Lambda runtime; no bundling, no asset). It follows Secrets Manager's four-step protocol for a secret
 * whose JSON holds one generated value under `FIELD`:
 *
 * - `createSecret`: a new random value (GetRandomPassword, letters and digits) as the AWSPENDING version;
 * - `setSecret`: with `USER_ID`, the ElastiCache user is given both the current and the pending password, so
 *   clients holding either keep working while they refresh;
 * - `testSecret`: with `USER_ID`, the user is active and holds two passwords;
 * - `finishSecret`: AWSPENDING becomes AWSCURRENT (the old value stays as AWSPREVIOUS, and on the user until the
 *   next rotation replaces it).
 *
 * `exports.rotate(event, clients, sleep)` is the same logic with its clients injected (tests run it).
 */
export const ROTATION_HANDLER_SOURCE = String.raw`'use strict';
const wait = (ms) => new Promise((r) => setTimeout(r, ms));
const FIELD = process.env.FIELD;
const USER_ID = process.env.USER_ID;
const LENGTH = Number(process.env.LENGTH || '32');

async function rotate(event, c, sleep) {
  const { SecretId: id, ClientRequestToken: token, Step: step } = event;
  const meta = await c.sm('DescribeSecret', { SecretId: id });
  if (!meta.RotationEnabled) throw new Error('rotation is not enabled on ' + id);
  const stages = (meta.VersionIdsToStages || {})[token];
  if (!stages) throw new Error('version ' + token + ' is not a version of ' + id);
  if (stages.includes('AWSCURRENT')) return;
  if (!stages.includes('AWSPENDING')) throw new Error('version ' + token + ' is not AWSPENDING');
  const value = async (stage, versionId) => JSON.parse((await c.sm('GetSecretValue', { SecretId: id, VersionStage: stage, ...(versionId ? { VersionId: versionId } : {}) })).SecretString);
  const user = async () => (await c.ec('DescribeUsers', { UserId: USER_ID })).Users[0];
  const active = async () => {
    for (let i = 0; i < 36; i++) {
      const u = await user();
      if (u.Status === 'active') return u;
      await sleep(5000);
    }
    throw new Error('ElastiCache user ' + USER_ID + ' is not active after 3 minutes');
  };
  if (step === 'createSecret') {
    const current = await value('AWSCURRENT');
    try {
      await value('AWSPENDING', token);
      return;
    } catch (e) {
      if (e.name !== 'ResourceNotFoundException') throw e;
    }
    const random = await c.sm('GetRandomPassword', { PasswordLength: LENGTH, ExcludePunctuation: true, IncludeSpace: false });
    await c.sm('PutSecretValue', { SecretId: id, ClientRequestToken: token, SecretString: JSON.stringify({ ...current, [FIELD]: random.RandomPassword }), VersionStages: ['AWSPENDING'] });
  } else if (step === 'setSecret') {
    if (!USER_ID) return;
    const [current, pending] = [await value('AWSCURRENT'), await value('AWSPENDING', token)];
    await active();
    await c.ec('ModifyUser', { UserId: USER_ID, AuthenticationMode: { Type: 'password', Passwords: [current[FIELD], pending[FIELD]] } });
    await active();
  } else if (step === 'testSecret') {
    if (!USER_ID) return;
    const u = await active();
    if (!u.Authentication || u.Authentication.PasswordCount !== 2) throw new Error('ElastiCache user ' + USER_ID + ' does not hold the current and the pending password');
  } else if (step === 'finishSecret') {
    const current = Object.keys(meta.VersionIdsToStages).find((v) => meta.VersionIdsToStages[v].includes('AWSCURRENT'));
    await c.sm('UpdateSecretVersionStage', { SecretId: id, VersionStage: 'AWSCURRENT', MoveToVersionId: token, RemoveFromVersionId: current });
  } else {
    throw new Error('unknown step ' + step);
  }
}

function clients() {
  const sm = require('@aws-sdk/client-secrets-manager');
  const smClient = new sm.SecretsManagerClient({});
  let ecClient;
  let ec;
  return {
    sm: (op, input) => smClient.send(new sm[op + 'Command'](input)),
    ec: (op, input) => {
      if (!ecClient) { ec = require('@aws-sdk/client-elasticache'); ecClient = new ec.ElastiCacheClient({}); }
      return ecClient.send(new ec[op + 'Command'](input));
    },
  };
}

exports.rotate = rotate;
exports.handler = async (event) => {
  console.log(JSON.stringify({ step: event.Step, secret: event.SecretId }));
  await rotate(event, clients(), wait);
};
`;
