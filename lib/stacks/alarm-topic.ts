import { Annotations, RemovalPolicy, Stack } from 'aws-cdk-lib/core';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { AppConfig } from '../config';

/**
 * A stack's alarm topic (construct ids `AlarmTopicKey` and `AlarmTopic`): encrypted with a customer managed key
 * (CloudWatch cannot publish to a topic under the AWS managed `aws/sns` key, whose policy cannot be changed), TLS
 * only, published to by this account's CloudWatch alarms in the stack's region, with the configured email
 * subscriptions. Every app stack has one, and the edge stack (us-east-1, where CloudFront's alarms live).
 */
export function createAlarmTopic(stack: Stack, config: AppConfig, where: string): sns.Topic {
  const key = new kms.Key(stack, 'AlarmTopicKey', {
    description: `Encrypts the alarm topic of ${config.name} in ${where}`,
    enableKeyRotation: true,
    // Only in-flight notifications are encrypted with it: nothing outlives the stack, which must stay disposable.
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const cloudwatchPrincipal = new iam.ServicePrincipal('cloudwatch.amazonaws.com');
  key.addToResourcePolicy(new iam.PolicyStatement({
    sid: 'CloudWatchAlarmsPublishToTheEncryptedTopic',
    principals: [cloudwatchPrincipal],
    actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
    resources: ['*'],
  }));
  const topic = new sns.Topic(stack, 'AlarmTopic', {
    displayName: `${config.name} alarms (${where})`,
    masterKey: key,
    enforceSSL: true,
  });
  topic.addToResourcePolicy(new iam.PolicyStatement({
    sid: 'CloudWatchAlarmsOfThisAccount',
    principals: [cloudwatchPrincipal],
    actions: ['sns:Publish'],
    resources: [topic.topicArn],
    conditions: { ArnLike: { 'aws:SourceArn': `arn:${stack.partition}:cloudwatch:${stack.region}:${stack.account}:alarm:*` } },
  }));
  for (const email of config.monitoring.alarmEmails) topic.addSubscription(new subscriptions.EmailSubscription(email));
  if (config.monitoring.alarmEmails.length === 0) {
    Annotations.of(topic).addWarningV2('scale-to-millions:monitoring-no-alarm-emails',
      'monitoring.alarmEmails is empty: alarms notify a topic nobody is subscribed to. Add addresses, or subscribe a pager to the AlarmTopicArn output.');
  }
  return topic;
}
