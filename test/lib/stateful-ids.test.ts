import { beforeAll, describe, expect, it } from 'vitest';
import { statefulLogicalIds } from '../../lib/testing';
import type { BuiltApp } from '../../lib/app';
import { buildTestApp } from '../helpers/app';

/**
 * The logical IDs of every stateful resource of the reference app (config/millions.json), per stack. A change
 * here means a deploy would REPLACE the resource and lose its data: never update this list to make the test
 * pass after a refactor; keep the construct ids stable instead. New tiers add their resources here.
 */
const DATA_EVERY_REGION: Record<string, string> = {
  // aurora tier
  DatabaseKey5E5D9547: 'AWS::KMS::Key',
  DatabaseLogPostgresql074561DA: 'AWS::Logs::LogGroup',
  DatabaseCluster5B53A178: 'AWS::RDS::DBCluster',
  DatabaseClusterWriterD43085C6: 'AWS::RDS::DBInstance',
  DatabaseClusterReader1D8B76102: 'AWS::RDS::DBInstance',
  DatabaseClusterReader26C65DE14: 'AWS::RDS::DBInstance',
  // cache tier
  Cache18F6EE16: 'AWS::ElastiCache::ReplicationGroup',
  CacheAuthSecretB5146BA1: 'AWS::SecretsManager::Secret',
  CacheDefaultUserSecret1DA60DDC: 'AWS::SecretsManager::Secret',
  CacheEngineLogFEAEB291: 'AWS::Logs::LogGroup',
  CacheKeyCDF9DE27: 'AWS::KMS::Key',
  CacheSlowLog43E55961: 'AWS::Logs::LogGroup',
  // the password rotation function's logs (operational, 90 days, DESTROY with the stack)
  CachePasswordRotationLogsF8782DC6: 'AWS::Logs::LogGroup',
  // work-queue tier
  QueueJobs9D704ECA: 'AWS::SQS::Queue',
  QueueJobsDeadLetterQueue548E2EF5: 'AWS::SQS::Queue',
};

const EXPECTED: Record<string, Record<string, string>> = {};
for (const region of ['us-east-1', 'eu-west-1', 'ap-southeast-1']) {
  EXPECTED[`shop-network-${region}`] = { NetworkFlowLogs2BEC3212: 'AWS::Logs::LogGroup' };
  EXPECTED[`shop-data-${region}`] = { ...DATA_EVERY_REGION };
  EXPECTED[`shop-app-${region}`] = {
    WebAccessLogs024BC47D: 'AWS::S3::Bucket',
    // monitoring: the alarm topic's key (encrypts notifications in flight only; DESTROY with the stack)
    AlarmTopicKey57B0D3A7: 'AWS::KMS::Key',
    // fleets: each one's application log group (retained), and the pinned AMI lookup's function logs (operational, DESTROY)
    WebServicewebFleetLogs18745D4F: 'AWS::Logs::LogGroup',
    WebServiceapiFleetLogs87356A96: 'AWS::Logs::LogGroup',
    WorkersJobsFleetLogs0D3E6578: 'AWS::Logs::LogGroup',
    AwsCustomResourceProviderLogs02511D13: 'AWS::Logs::LogGroup',
  };
}
// the primary region holds the Global Database, the master secret and the edge's origin-verify secrets
Object.assign(EXPECTED['shop-data-us-east-1'], {
  DatabaseGlobalCluster4A226354: 'AWS::RDS::GlobalCluster',
  // the function creating the application's database users, and its provider's (operational logs, DESTROY)
  DatabaseApplicationUsersLogs8AB9E410: 'AWS::Logs::LogGroup',
  DatabaseApplicationUsersProviderLogsF80ED1F0: 'AWS::Logs::LogGroup',
  shopdatauseast1DatabaseClusterSecret2791E40F3fdaad7efa858a3daf9490cf0a702aeb: 'AWS::SecretsManager::Secret',
  OriginVerifySlot016A412DD: 'AWS::SecretsManager::Secret',
  OriginVerifySlot1B84CA9FF: 'AWS::SecretsManager::Secret',
  // the key that seals session tokens (every other region pulls a replica) and its rotation function's logs
  SessionsE3A1DF70: 'AWS::SecretsManager::Secret',
  SessionsRotationLogs0AF98C49: 'AWS::Logs::LogGroup',
});
// every other region pulls its secret replicas (SecretReplica): the logs of the requests' provider and of the function
// waiting for the replicas to be in sync (operational, 90 days, DESTROY with the stack: they hold no data the app needs)
for (const region of ['eu-west-1', 'ap-southeast-1']) {
  Object.assign(EXPECTED[`shop-data-${region}`], { SecretReplicaProviderLogs02E1AAA9: 'AWS::Logs::LogGroup', SecretReplicaSyncLogsBB9E0C28: 'AWS::Logs::LogGroup' });
}
EXPECTED['shop-edge'] = {
  EdgeAssetsCDE1815C: 'AWS::S3::Bucket',
  EdgeLogsA4EA23EB: 'AWS::S3::Bucket',
  EdgeWebAclLogs58AB92DA: 'AWS::Logs::LogGroup',
  // the CloudFront alarms' topic key (in-flight notifications only; DESTROY with the stack)
  AlarmTopicKey57B0D3A7: 'AWS::KMS::Key',
};

describe('stateful logical IDs of the reference app', () => {
  let built: BuiltApp;

  beforeAll(() => {
    // GIVEN the default config WHEN the app is built
    built = buildTestApp('millions');
  });

  it('keeps the logical ID of every stateful resource in every stack', () => {
    // THEN the stateful resources are exactly the expected ones, under the expected logical IDs
    const actual: Record<string, Record<string, string>> = {};
    for (const r of Object.values(built.regions)) {
      for (const stack of [r.network, r.data, r.app]) actual[stack.stackName] = statefulLogicalIds(stack);
    }
    actual[built.edge.stackName] = statefulLogicalIds(built.edge);
    expect(actual).toEqual(EXPECTED);
  });
});
