// Types of the aws-sdk-client-mock-vitest matchers (registered in test/lib/capacity/helpers.ts).
import 'vitest';
import type { CustomMatcher } from 'aws-sdk-client-mock-vitest';

declare module 'vitest' {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any, @typescript-eslint/no-empty-object-type
  interface Matchers<T = any> extends CustomMatcher<T> {}
}
