import { Errors } from 'aws-cdk-lib/core';

/** What a construct's validation error says and where it points. */
export interface ValidationFailure {
  /** The path of the construct that raised it (undefined for a check outside any construct). */
  readonly path: string | undefined;
  /** The message. */
  readonly message: string;
}

/**
 * Runs `fn`, which must throw an aws-cdk-lib `ValidationError` (`Errors.isValidationError`), and returns its construct
 * path and message for the test to compare, e.g.
 * `expect(validationErrorOf(() => new X(stack, 'X', props))).toEqual({ path: 'TestStack/X', message: expect.stringMatching(/…/) })`.
 * Throws (failing the test) when `fn` returns, or throws anything else.
 */
export function validationErrorOf(fn: () => unknown): ValidationFailure {
  try {
    fn();
  } catch (e) {
    if (!Errors.isValidationError(e)) throw new Error(`expected an aws-cdk-lib ValidationError, got: ${String(e)}`, { cause: e });
    return { path: e.constructPath, message: e.message };
  }
  throw new Error('expected a ValidationError, but nothing was thrown');
}
