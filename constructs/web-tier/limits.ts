/**
 * The longest deregistration delay a web service may have: its instances serve through it, then have it + 30 s to
 * stop, and the terminating lifecycle hook (at most 7,200 s) waits for both and 60 s more. No imports: the config
 * validation reads it without loading aws-cdk-lib.
 */
export const MAX_DEREGISTRATION_DELAY_SECONDS = 3555;
