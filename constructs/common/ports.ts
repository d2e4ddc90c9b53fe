import { Token } from 'aws-cdk-lib/core';
import type { IConstruct } from 'constructs';
import { validationError } from './errors';

/** The largest TCP port. */
const MAX_PORT = 65535;

/**
 * Ports are `number`s across the constructs (as in aws-cdk-lib's `port` props); an `ec2.Port` only where a
 * security-group rule is meant. This is the one check: a whole number from `min` (1, or 1024 where the service
 * refuses privileged ports) to 65535, else a `ValidationError` of `scope` naming `who` and `prop`. Tokens pass.
 */
export function checkPort(scope: IConstruct, who: string, prop: string, port: number | undefined, min = 1): void {
  if (port === undefined || Token.isUnresolved(port)) return;
  if (!Number.isInteger(port) || port < min || port > MAX_PORT) {
    throw validationError(scope, `${who}: ${prop} must be a whole number from ${min} to ${MAX_PORT} (got: ${port})`);
  }
}
