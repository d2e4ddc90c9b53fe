import { Duration } from 'aws-cdk-lib/core';

/** Default values of the `SessionKey` construct. */
export const SESSION_KEY_DEFAULTS = {
  /** JSON key of the generated value in the secret. */
  field: 'key',
  /** Length of the generated key (letters and digits: about 380 bits). */
  length: 64,
  /** Time between rotations; a session older than this may have been sealed with a key that is no longer accepted. */
  rotationInterval: Duration.days(30),
} as const;
