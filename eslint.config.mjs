// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'cdk.out/', 'coverage/', '**/*.js', '**/*.cjs', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
      eqeqeq: ['error', 'smart'],
    },
  },
  {
    files: ['bin/**/*.ts', 'constructs/**/*.ts', 'lib/**/*.ts', 'index.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'error' },
  },
  {
    // Constructs raise aws-cdk-lib ValidationErrors carrying the construct path (constructs/common/errors.ts).
    // Lambda handlers run without aws-cdk-lib and throw plain errors.
    files: ['constructs/**/*.ts'],
    ignores: ['constructs/**/*.handler.ts'],
    rules: {
      'no-restricted-syntax': ['error', {
        selector: "ThrowStatement > NewExpression[callee.name='Error']",
        message: 'Throw validationError(scope, message) from constructs/common/errors.ts (or unscopedValidationError outside a construct), so the error carries the construct path.',
      }],
    },
  },
);
