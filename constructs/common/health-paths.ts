import { Token } from 'aws-cdk-lib/core';
import type { IConstruct } from 'constructs';
import { HEALTH_PATH_PATTERN } from '../../lib/runtime/contract';
import { validationError } from './errors';

/** What {@link HEALTH_PATH_PATTERN} allows, for messages. */
export const HEALTH_PATH_WHAT = 'one exact path starting with / of A-Z a-z 0-9 _ . / @ : + - (no wildcard or query string, at most 255 characters)';

/** Throws a `ValidationError` of `scope` naming `who` and `prop` when `path` is not a {@link HEALTH_PATH_PATTERN}. Tokens pass. */
export function checkHealthPath(scope: IConstruct, who: string, prop: string, path: string | undefined): void {
  if (path === undefined || Token.isUnresolved(path)) return;
  if (!HEALTH_PATH_PATTERN.test(path)) throw validationError(scope, `${who}: ${prop} must be ${HEALTH_PATH_WHAT} (got: ${JSON.stringify(path)})`);
}

/**
 * A target group's health check path: the load balancer's characters less the quotes (the path goes into the
 * instances' settings file, single-quoted, and their environment file), no query string.
 */
export const SERVICE_HEALTH_PATH_PATTERN = /^\/[A-Za-z0-9_.$/~@:+&-]{0,1023}$/;

/** What {@link SERVICE_HEALTH_PATH_PATTERN} allows, for messages. */
export const SERVICE_HEALTH_PATH_WHAT = 'a path starting with / of A-Z a-z 0-9 _ - . $ / ~ @ : + & (no query string, wildcard or quote)';

/** Throws a `ValidationError` of `scope` naming `who` and `prop` when `path` is not a {@link SERVICE_HEALTH_PATH_PATTERN}. Tokens pass. */
export function checkServiceHealthPath(scope: IConstruct, who: string, prop: string, path: string | undefined): void {
  if (path === undefined || Token.isUnresolved(path)) return;
  if (!SERVICE_HEALTH_PATH_PATTERN.test(path)) throw validationError(scope, `${who}: ${prop} must be ${SERVICE_HEALTH_PATH_WHAT} (got: ${JSON.stringify(path)})`);
}
