import { Stack } from 'aws-cdk-lib/core';
import type { IConstruct } from 'constructs';

/**
 * An ARN as cdk-nag prints it in a finding id: references become `<LogicalId>` / `<LogicalId.Attr>`,
 * pseudo parameters `<AWS::Region>`, so an acknowledgement can name exactly one finding
 * (`AwsSolutions-IAM5[Resource::<nagArn>]`) instead of every IAM5 finding of the construct.
 */
export function nagArn(arn: string, scope: IConstruct): string {
  const render = (v: unknown): string => {
    if (typeof v === 'string') return v;
    const o = v as Record<string, unknown>;
    if (o.Ref !== undefined) return `<${String(o.Ref)}>`;
    if (Array.isArray(o['Fn::GetAtt'])) return `<${(o['Fn::GetAtt'] as string[]).join('.')}>`;
    if (Array.isArray(o['Fn::Join'])) {
      const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
      return parts.map(render).join(sep);
    }
    return JSON.stringify(v);
  };
  return render(Stack.of(scope).resolve(arn));
}
