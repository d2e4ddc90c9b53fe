/**
 * Settings of the SQS clients the runtime creates itself (the worker's, the producer's, `Runtime.runWorker`'s).
 *
 * The SDK's client has no request deadline of its own (its `requestTimeout` only warns unless `throwOnRequestTimeout`
 * is set), so a call on a half-open connection waits until the socket is torn down. The worker gives each of its calls
 * a deadline of its own (`abortSignal`); this deadline is the backstop for the calls that have none (the queue's
 * attributes at start, a producer's `SendMessage`). It is above the longest long poll (20 s) with a margin.
 *
 * @module
 */

import type { SQSClientConfig } from '@aws-sdk/client-sqs';

/** Deadlines of the SQS clients the runtime creates (ms). */
export const SQS_CLIENT_DEFAULTS = {
  /** Whole request and response: above the 20 s long poll of `ReceiveMessage`, with a margin. */
  requestTimeoutMs: 35_000,
  /** TCP (and TLS) connection set-up. */
  connectionTimeoutMs: 5_000,
} as const;

/**
 * The configuration of an SQS client the runtime creates: the region, and a request deadline that throws.
 *
 * @param region - the region @default - the SDK's default chain
 * @returns the `SQSClient` configuration
 */
export function sqsClientConfig(region?: string): SQSClientConfig {
  return {
    ...(region ? { region } : {}),
    requestHandler: {
      requestTimeout: SQS_CLIENT_DEFAULTS.requestTimeoutMs,
      connectionTimeout: SQS_CLIENT_DEFAULTS.connectionTimeoutMs,
      throwOnRequestTimeout: true,
    },
  };
}
