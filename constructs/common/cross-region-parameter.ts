import { ArnFormat, Stack, Token } from 'aws-cdk-lib/core';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { AWS_CUSTOM_RESOURCE_ROLE_DESCRIPTION, awsCustomResourceProvider } from './custom-resource-provider';
import { validationError } from './errors';

/** Properties of a {@link CrossRegionParameter}. */
export interface CrossRegionParameterProps {
  /** The parameter's name, a path starting with `/` (e.g. `/shop/dns/health-checks/eu-west-1`). */
  readonly parameterName: string;
  /** The value: a string of this stack, tokens allowed (e.g. a health check's id). */
  readonly value: string;
  /** The region the parameter is written in (this stack's own: a plain `ssm.StringParameter`). */
  readonly region: string;
  /** The parameter's description. @default - none */
  readonly description?: string;
}

const NAME = /^\/[A-Za-z0-9_./-]{1,1010}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

/**
 * A `String` SSM parameter this stack writes in another region: what a stack there reads with a parameter of type
 * `AWS::SSM::Parameter::Value<String>` (resolved at each of its deploys, so a new value reaches it at the next
 * `cdk deploy`, which always redeploys a stack with such parameters) instead of `crossRegionReferences`, whose
 * exports lock the producer's value while a consumer uses it. A custom resource puts the parameter on create and on
 * every change of its value (`PutParameter`, overwriting), and deletes it with the resource. Its request runs in the
 * stack's shared `AwsCustomResource` function, allowed only this parameter.
 *
 * In the stack's own region it is an `ssm.StringParameter`, so the same code serves every region.
 *
 * The consumer's stack must deploy after this one (a stack dependency): before the first deploy, there is nothing to
 * resolve.
 */
export class CrossRegionParameter extends Construct {
  /** The parameter's name. */
  public readonly parameterName: string;
  /** The region it is written in. */
  public readonly region: string;
  /** The custom resource writing it, in another region. */
  public readonly resource?: cr.AwsCustomResource;
  /** The parameter, when it is in this stack's own region. */
  public readonly parameter?: ssm.StringParameter;

  constructor(scope: Construct, id: string, props: CrossRegionParameterProps) {
    super(scope, id);
    const stack = Stack.of(this);
    if (!NAME.test(props.parameterName) || props.parameterName.includes('//')) {
      throw validationError(this, `CrossRegionParameter: parameterName must be a path like /app/name, of letters, digits and _ . / - (got: ${JSON.stringify(props.parameterName)})`);
    }
    if (!REGION.test(props.region)) {
      throw validationError(this, `CrossRegionParameter: region must be a region code like us-east-1 (got: ${JSON.stringify(props.region)})`);
    }
    this.parameterName = props.parameterName;
    this.region = props.region;
    if (Token.isUnresolved(stack.region)) {
      throw validationError(this, 'CrossRegionParameter: the stack needs a concrete region (env.region), to tell whether the parameter is in another one');
    }
    if (stack.region === props.region) {
      this.parameter = new ssm.StringParameter(this, 'Parameter', {
        parameterName: props.parameterName,
        stringValue: props.value,
        ...(props.description !== undefined ? { description: props.description } : {}),
      });
      return;
    }
    const put: cr.AwsSdkCall = {
      service: 'SSM',
      action: 'putParameter',
      region: props.region,
      parameters: {
        Name: props.parameterName,
        Value: props.value,
        Type: 'String',
        Overwrite: true,
        ...(props.description !== undefined ? { Description: props.description } : {}),
      },
      physicalResourceId: cr.PhysicalResourceId.of(`${props.parameterName}@${props.region}`),
    };
    const provider = awsCustomResourceProvider(stack, { id: 'AwsCustomResourceProvider', description: AWS_CUSTOM_RESOURCE_ROLE_DESCRIPTION });
    // On the function's role itself, not in a policy of its own: one resource fewer in stacks near CloudFormation's
    // limits (the app stacks' layout is budgeted by resource, lib/config/limits.ts).
    const grant = provider.role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['ssm:PutParameter', 'ssm:DeleteParameter'],
      resources: [stack.formatArn({ service: 'ssm', region: props.region, resource: 'parameter', resourceName: props.parameterName.slice(1), arnFormat: ArnFormat.SLASH_RESOURCE_NAME })],
    }));
    this.resource = new cr.AwsCustomResource(this, 'Request', {
      role: provider.role,
      logGroup: provider.logGroup,
      resourceType: 'Custom::CrossRegionParameter',
      onCreate: put,
      onUpdate: put,
      onDelete: {
        service: 'SSM',
        action: 'deleteParameter',
        region: props.region,
        parameters: { Name: props.parameterName },
        // Already gone: nothing to delete.
        ignoreErrorCodesMatching: 'ParameterNotFound',
      },
      installLatestAwsSdk: false,
    });
    // The call runs once the role may make it.
    if (grant.policyDependable) this.resource.node.addDependency(grant.policyDependable);
  }
}
