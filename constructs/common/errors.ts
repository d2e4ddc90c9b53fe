import { ValidationError } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * An aws-cdk-lib `ValidationError` (it carries the construct path, and `Errors.isValidationError` knows it)
 * with our message, which names the prop and the value received. The one place that knows the class's
 * constructor, whose first argument aws-cdk-lib types as a literal-string brand.
 */
export function validationError(scope: IConstruct, message: string): ValidationError {
  return new ValidationError('ScaleToMillionsValidation' as never, message, scope);
}
