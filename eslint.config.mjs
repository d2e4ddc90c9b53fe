// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'cdk.out/', 'coverage/', '.bench/', '**/*.js', '**/*.cjs', '**/*.d.ts'] },
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
    // aws-cdk-lib's root entry (and cdk-nag's declarations, which import it) make every compile that sees them parse
    // all of aws-cdk-lib's declarations: about 1.5 M lines against 0.9 M for the modules this project uses.
    rules: {
      'no-restricted-imports': ['error', {
        paths: [
          { name: 'aws-cdk-lib', message: 'Import from aws-cdk-lib/core or the module (aws-cdk-lib/aws-ec2, ...): the root entry makes tsc parse all of aws-cdk-lib.' },
          { name: 'cdk-nag', message: 'Use loadCdkNag() from lib/app: cdk-nag\'s declarations import the root of aws-cdk-lib.' },
        ],
      }],
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
