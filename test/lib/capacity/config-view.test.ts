import { describe, expect, it } from 'vitest';
import { capacityView } from '../../../lib/capacity/config-view';
import { classifyAwsError, ExitCode, isRetryable, isThrottling } from '../../../lib/capacity/errors';
import { loadConfigFile } from '../../../lib/config';
import { MILLIONS } from './helpers';

describe('capacityView', () => {
  it('reads the web tier of the resolved config', () => {
    const view = capacityView(loadConfigFile(MILLIONS));
    expect(view.name).toBe('shop');
    expect(view.regions).toEqual(['us-east-1', 'eu-west-1', 'ap-southeast-1']);
    expect(view.services).toEqual([
      { name: 'web', minCapacity: 3, maxCapacity: 30, targetCpuPercent: 50, targetRequestsPerInstance: 1000 },
      { name: 'api', minCapacity: 3, maxCapacity: 40, targetCpuPercent: 50, targetRequestsPerInstance: 1500 },
    ]);
    // the tiers of the resolved config are read too (details: config-view-resolved.test.ts)
    expect(view.database).toBeDefined();
    expect(view.cache).toBeDefined();
    expect(view.queues.map((q) => q.name)).toEqual(['jobs']);
  });

  it('counts a global database\'s secondary regions against the readers a cluster may have', () => {
    // GIVEN the three-region millions config, whose database is an Aurora Global Database
    const config = loadConfigFile(MILLIONS);
    expect(config.database.globalDatabase.enabled).toBe(true);
    // THEN its clusters may have 15 replicas minus the two secondaries
    expect(capacityView(config).database?.readerLimit).toBe(15 - (config.regions.length - 1));
    // and a one-region config keeps all 15
    expect(capacityView(loadConfigFile(MILLIONS.replace('millions', 'growth'))).database?.readerLimit).toBe(15);
  });
});

describe('AWS error classification', () => {
  const ctx = { region: 'eu-west-1', action: 'cloudwatch:GetMetricData' };
  const err = (name: string, status = 400, message = 'x') => Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });

  it('maps each failure to its exit code', () => {
    expect(classifyAwsError(err('ExpiredToken'), ctx).exitCode).toBe(ExitCode.credentials);
    expect(classifyAwsError(err('UnrecognizedClientException'), ctx).exitCode).toBe(ExitCode.credentials);
    expect(classifyAwsError(err('AccessDeniedException'), ctx).exitCode).toBe(ExitCode.accessDenied);
    expect(classifyAwsError(Object.assign(new Error('getaddrinfo ENOTFOUND monitoring.xx-east-9.amazonaws.com'), { code: 'ENOTFOUND' }), ctx).exitCode).toBe(ExitCode.region);
    expect(classifyAwsError(err('InvalidParameterValue', 400, 'The parameter Period must be a multiple of 60'), ctx)).toMatchObject({
      exitCode: ExitCode.aws,
      message: 'AWS error (cloudwatch:GetMetricData in eu-west-1): InvalidParameterValue: The parameter Period must be a multiple of 60',
    });
  });

  it('retries throttling and transient failures only', () => {
    for (const name of ['ThrottlingException', 'Throttling', 'TooManyRequestsException', 'RequestLimitExceeded']) expect(isThrottling(err(name))).toBe(true);
    expect(isThrottling(err('Whatever', 429))).toBe(true);
    expect(isThrottling(err('ServiceUnavailable', 503))).toBe(true);
    expect(isRetryable(err('InternalFailure', 500))).toBe(true);
    expect(isRetryable(err('ValidationError'))).toBe(false);
    expect(isRetryable(err('AccessDenied', 403))).toBe(false);
  });
});
