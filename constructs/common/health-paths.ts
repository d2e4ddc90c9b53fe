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
