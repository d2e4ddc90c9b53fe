import type { Construct } from 'constructs';
import { EDGE_REGION } from '../config';
import { ReferenceStack, type ReferenceStackProps } from './regional-stack';

/**
 * `<name>-edge` in us-east-1: CloudFront, its certificate, the WAF web ACL, the static-assets bucket and
 * the apex/www records (CloudFront's certificate and web ACL must live in us-east-1).
 */
export class EdgeStack extends ReferenceStack {
  constructor(scope: Construct, id: string, props: Omit<ReferenceStackProps, 'tier' | 'region'>) {
    super(scope, id, { ...props, region: EDGE_REGION, tier: 'edge' });
  }
}
