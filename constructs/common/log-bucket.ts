import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib/core';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';

/** Options of {@link createLogBucket}. */
export interface LogBucketOptions {
  /** How long a log object is kept (whole days). */
  readonly retention: Duration;
  /**
   * Object ownership. CloudFront standard logging needs ACLs (`BUCKET_OWNER_PREFERRED`); ALB logs do not.
   * @default s3.ObjectOwnership.BUCKET_OWNER_ENFORCED
   */
  readonly objectOwnership?: s3.ObjectOwnership;
  /** Who writes here, for the AwsSolutions-S1 acknowledgement (e.g. "the load balancer"). */
  readonly writers: string;
}

/**
 * A bucket that receives service access logs: SSE-S3 (the only encryption ALB and CloudFront log delivery
 * support), TLS only, no public access, versioned, retained on delete, logs expired after `retention`.
 * Its own server access logging is acknowledged (AwsSolutions-S1): it is the log destination itself.
 * `id` becomes part of the bucket's logical ID: keep it stable.
 */
export function createLogBucket(scope: Construct, id: string, options: LogBucketOptions): s3.Bucket {
  const bucket = new s3.Bucket(scope, id, {
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: options.objectOwnership ?? s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    versioned: true,
    removalPolicy: RemovalPolicy.RETAIN,
    lifecycleRules: [{
      id: 'expire-logs',
      expiration: options.retention,
      noncurrentVersionExpiration: Duration.days(7),
      abortIncompleteMultipartUploadAfter: Duration.days(1),
    }],
  });
  Validations.of(bucket).acknowledge({
    id: 'AwsSolutions-S1',
    reason: `This bucket is itself the access-log destination of ${options.writers}; logging it to another bucket would recurse without adding evidence.`,
  });
  return bucket;
}
