/**
 * The source of the function {@link SecretReplica} deploys inline to wait for its replica (CommonJS, Node.js 24, the
 * AWS SDK v3 of the Lambda runtime; no bundling, no asset). A CloudFormation custom resource of its own
 * (`Custom::SecretReplicaInSync`): on create and update it asks Secrets Manager in the primary region for the secret's
 * replication status (`DescribeSecret`) until the replica region's is `InSync`, and fails the deployment with the
 * status message when it is `Failed` or not in sync by the deadline (an `AccessDeniedException` while the role's new
 * policy propagates counts as not yet). Delete does nothing, nor does an update that names the same replica (a changed
 * timeout, or a rollback). It answers CloudFormation
 * itself (a PUT of the response to the pre-signed URL), so no provider framework function is needed.
 *
 * `exports.waitInSync(props, describe, sleep, now)` is the waiting with its clock and client injected (tests run it).
 */
export const REPLICA_SYNC_HANDLER_SOURCE = String.raw`'use strict';
const wait = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitInSync(props, describe, sleep, now) {
  const seconds = Number(props.TimeoutSeconds);
  const deadline = now() + seconds * 1000;
  for (;;) {
    let status;
    let denied;
    try {
      const meta = await describe(props.SecretId);
      status = (meta.ReplicationStatus || []).find((r) => r.Region === props.ReplicaRegion);
    } catch (e) {
      // The role's policy is created just before this resource: IAM may not have it everywhere yet.
      if (!e || e.name !== 'AccessDeniedException') throw e;
      denied = e;
    }
    if (status && status.Status === 'InSync') return status;
    if (status && status.Status === 'Failed') {
      throw new Error('the replica of ' + props.SecretId + ' in ' + props.ReplicaRegion + ' failed: ' + (status.StatusMessage || 'no status message'));
    }
    if (now() >= deadline) {
      const last = denied ? denied.message : status ? 'status ' + status.Status : 'the secret does not replicate to ' + props.ReplicaRegion;
      throw new Error('the replica of ' + props.SecretId + ' in ' + props.ReplicaRegion + ' is not in sync after ' + seconds + ' s (' + last + ')');
    }
    await sleep(Number(props.PollSeconds || '3') * 1000);
  }
}

const same = (a, b) => !!a && !!b && ['SecretId', 'PrimaryRegion', 'ReplicaRegion'].every((k) => a[k] === b[k]);

async function respond(event, status, reason, data) {
  const props = event.ResourceProperties || {};
  const body = JSON.stringify({
    Status: status,
    Reason: reason,
    PhysicalResourceId: event.PhysicalResourceId || (props.SecretId + '@' + props.ReplicaRegion),
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
    Data: data || {},
  });
  // The URL is signed without a content type: send none.
  const res = await fetch(event.ResponseURL, { method: 'PUT', headers: { 'content-type': '' }, body });
  if (!res.ok) throw new Error('CloudFormation refused the response: HTTP ' + res.status);
}

exports.waitInSync = waitInSync;
exports.respond = respond;
exports.handler = async (event, context) => {
  const props = event.ResourceProperties || {};
  console.log(JSON.stringify({ request: event.RequestType, secret: props.SecretId, replicaRegion: props.ReplicaRegion }));
  if (event.RequestType === 'Delete') return respond(event, 'SUCCESS', 'nothing to wait for');
  // The same replica as before (only the timeout changed, or a rollback to it): it was in sync then.
  if (event.RequestType === 'Update' && same(props, event.OldResourceProperties)) return respond(event, 'SUCCESS', 'the same replica');
  try {
    const sm = require('@aws-sdk/client-secrets-manager');
    const client = new sm.SecretsManagerClient({ region: props.PrimaryRegion, requestHandler: { connectionTimeout: 5000, requestTimeout: 10000 } });
    // Answer before the function times out, or CloudFormation would wait for an answer that never comes.
    const left = context && context.getRemainingTimeInMillis ? Math.floor(context.getRemainingTimeInMillis() / 1000) - 30 : Infinity;
    const bounded = { ...props, TimeoutSeconds: String(Math.max(1, Math.min(Number(props.TimeoutSeconds), left))) };
    const status = await waitInSync(bounded, (id) => client.send(new sm.DescribeSecretCommand({ SecretId: id })), wait, Date.now);
    await respond(event, 'SUCCESS', 'replica in sync', { Status: status.Status });
  } catch (e) {
    console.error(e);
    await respond(event, 'FAILED', String(e && e.message ? e.message : e).slice(0, 900));
  }
};
`;
