import * as iam from 'aws-cdk-lib/aws-iam';

/**
 * What the SSM agent needs on an instance for Session Manager (shell and port-forwarding sessions, no SSH key, no
 * open port), and nothing else: AWS's documented minimum instance policy for Session Manager. Registering the
 * instance (`ssm:UpdateInstanceInformation`) and the session channels (`ssmmessages:*Channel`); none of these
 * actions supports resource-level permissions, so their resource is "*".
 *
 * Not `AmazonSSMManagedInstanceCore`: besides Session Manager it allows `ssm:GetParameter`, `ssm:GetParameters` and
 * `ssm:GetDocument` on every resource, so an instance of one fleet could read every SSM parameter of the account
 * and region (another application's included, and SecureStrings under the `aws/ssm` key), which undid the fleets'
 * per-parameter grants. Run Command, State Manager and Patch Manager (`ec2messages:*`, associations, inventory) are
 * not granted: nothing here uses them.
 */
export const SESSION_MANAGER_ACTIONS = [
  'ssm:UpdateInstanceInformation',
  'ssmmessages:CreateControlChannel',
  'ssmmessages:CreateDataChannel',
  'ssmmessages:OpenControlChannel',
  'ssmmessages:OpenDataChannel',
] as const;

/** Grants `grantee` {@link SESSION_MANAGER_ACTIONS} (on "*", which they require). */
export function grantSessionManager(grantee: iam.IGrantable): iam.Grant {
  return iam.Grant.addToPrincipal({ grantee, actions: [...SESSION_MANAGER_ACTIONS], resourceArns: ['*'] });
}
