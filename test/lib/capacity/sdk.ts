// The SDK commands the tests assert on, in one place.
export { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
export { GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
