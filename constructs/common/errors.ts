import { UnscopedValidationError, ValidationError } from 'aws-cdk-lib/core';
import type { IConstruct } from 'constructs';

/** The `name` every error of this package carries (aws-cdk-lib's own errors name the failed rule). */
const NAME = 'ScaleToMillionsValidation' as never;

/**
 * An aws-cdk-lib `ValidationError` (it carries the construct path, and `Errors.isValidationError` knows it)
 * with our message, which names the prop and the value received. The one place that knows the class's
 * constructor, whose first argument aws-cdk-lib types as a literal-string brand.
 */
export function validationError(scope: IConstruct, message: string): ValidationError {
  return new ValidationError(NAME, message, scope);
}

/**
 * The same for a check outside any construct (a helper function given plain values, such as `originDomainName`):
 * an aws-cdk-lib `UnscopedValidationError`, which `Errors.isValidationError` also recognises, without a path.
 * Constructs that call such a helper pass their scope where they can, so the user learns which construct failed.
 */
export function unscopedValidationError(message: string): UnscopedValidationError {
  return new UnscopedValidationError(NAME, message);
}
