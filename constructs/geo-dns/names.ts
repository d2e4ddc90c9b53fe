import { Token } from 'aws-cdk-lib/core';
import { unscopedValidationError } from '../common/errors';
import { GEO_DNS_DEFAULTS } from './defaults';

/**
 * The name CloudFront uses as its dynamic origin: `origin.<domain>`, latency- (or geo-) routed to the
 * healthy regional load balancers. The edge and the regional records must agree on it; both derive it
 * from the domain with this function, so no value ever crosses regions.
 */
export function originDomainName(domain: string, subdomain: string = GEO_DNS_DEFAULTS.originSubdomain): string {
  if (!Token.isUnresolved(domain) && !/^[a-z0-9.-]+$/.test(domain)) {
    throw unscopedValidationError(`originDomainName: domainName must be a lowercase DNS name (got: ${JSON.stringify(domain)})`);
  }
  return `${subdomain}.${domain}`;
}

/** The direct API name, `api.<domain>`, routed to the regional load balancers without CloudFront. */
export function apiDomainName(domain: string, subdomain: string = GEO_DNS_DEFAULTS.apiSubdomain): string {
  return `${subdomain}.${domain}`;
}
