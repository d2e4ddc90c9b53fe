import { Match, Template } from 'aws-cdk-lib/assertions';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BuiltApp } from '../../../lib/app';
import type { AppConfigInput, ServiceInput } from '../../../lib/config';
import { OutputKeys } from '../../../lib/outputs';
import { buildTestApp, minimalConfig } from '../../helpers/app';
import { renderedUserData } from '../../helpers/user-data';

const ENTRY = join(__dirname, '..', '..', 'fixtures', 'node-app', 'src', 'server.ts');
const REGIONS = [{ region: 'us-east-1', vpcCidr: '10.0.0.0/16' }, { region: 'eu-west-1', vpcCidr: '10.1.0.0/16' }];

/** Two services and a queue; the api's artifact version is `apiVersion`. */
function shop(apiVersion: string, web: Partial<ServiceInput> = {}): AppConfigInput {
  return minimalConfig({
    name: 'shop',
    regions: REGIONS,
    services: [
      { name: 'web', application: { nodejs: { entry: ENTRY } }, logRetentionDays: 14, ...web },
      { name: 'api', pathPatterns: ['/api/*'], application: { artifact: { bucket: 'shop-releases', key: 'api.tar.gz', objectVersion: apiVersion, startCommand: '/usr/bin/node-22 server.js', packages: ['nodejs22'] } } },
    ],
    queues: [{ name: 'jobs', workers: { application: { container: { image: 'public.ecr.aws/shop/worker:2.0.1' } } } }],
    monitoring: { alarmEmails: ['oncall@example.com'] },
  });
}

const launchTemplate = (t: Template, part: string): string => JSON.stringify(Object.entries(t.findResources('AWS::EC2::LaunchTemplate')).find(([id]) => id.includes(part))![1]);
const ltId = (t: Template, part: string): string => Object.keys(t.findResources('AWS::EC2::LaunchTemplate')).find((id) => id.includes(part))!;

describe('reference app: applications on the fleets, from the config', () => {
  let built: BuiltApp;
  let app: Template;
  beforeAll(() => {
    built = buildTestApp(shop('v1'));
    app = Template.fromStack(built.regions['eu-west-1'].app);
  });

  it('writes the contract\'s variables into every fleet\'s environment file, with the fleet\'s own database user', () => {
    for (const [part, user, role, service] of [['WebServicewebFleet', 'web', 'web', 'web'], ['WebServiceapiFleet', 'api', 'web', 'api'], ['WorkersJobs', 'worker_jobs', 'worker', 'jobs']] as const) {
      const env = /cat > \/etc\/scale-to-millions\/env <<'ENV'\n([\s\S]*?)\nENV/.exec(renderedUserData(app, ltId(app, part)))![1].split('\n');
      expect(env).toEqual(expect.arrayContaining([
        'S2M_APP=shop', 'S2M_REGION=eu-west-1', 'S2M_PRIMARY_REGION=us-east-1', 'S2M_PARAMETER_PREFIX=/shop',
        `S2M_ROLE=${role}`, `S2M_SERVICE=${service}`, `S2M_DATABASE_USER=${user}`, 'S2M_HEALTH_PATH=/health', 'S2M_DEEP_HEALTH_PATH=/health/deep',
      ]));
    }
  });

  it('lets the fleet decrypt an artifact encrypted with a key of its own (kmsKeyArn), through S3 in the key\'s region only', () => {
    const config = shop('v1');
    const keyArn = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const services = config.services!.map((s) => (s.name === 'api' ? { ...s, application: { artifact: { ...s.application!.artifact!, kmsKeyArn: keyArn } } } : s));
    const t = Template.fromStack(buildTestApp({ ...config, services }).regions['eu-west-1'].app);
    const decrypts = Object.values(t.findResources('AWS::IAM::Policy')).flatMap((p) => (p as { Properties: { PolicyDocument: { Statement: Array<Record<string, unknown>> } } }).Properties.PolicyDocument.Statement).filter((st) => st.Action === 'kms:Decrypt' && st.Resource === keyArn);
    expect(decrypts).toEqual([{ Effect: 'Allow', Action: 'kms:Decrypt', Resource: keyArn, Condition: { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['s3.us-east-1.', { Ref: 'AWS::URLSuffix' }]] } } } }]);
  });

  it('gives every web fleet the deep health path Route 53 checks (dns.healthCheck.path), and the load balancer lets it through', () => {
    // GIVEN a health check path of our own, behind the edge (the origin header), in a fresh app
    const own = buildTestApp({ ...shop('v1'), domain: { name: 'shop.example.com', hostedZoneId: 'Z0123456789ABCDEFGHIJ', hostedZoneName: 'example.com' }, dns: { healthCheck: { path: '/status/region' } } });
    const t = Template.fromStack(own.regions['eu-west-1'].app);
    // THEN Route 53, the exemption rule and both web fleets' environment files agree on it
    t.hasResourceProperties('AWS::Route53::HealthCheck', { HealthCheckConfig: { ResourcePath: '/status/region' } });
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', { Conditions: Match.arrayWith([{ Field: 'path-pattern', PathPatternConfig: { Values: ['/status/region'] } }]) });
    for (const part of ['WebServicewebFleet', 'WebServiceapiFleet']) expect(renderedUserData(t, ltId(t, part))).toMatch(/\nS2M_DEEP_HEALTH_PATH=\/status\/region\n/);
  });

  it('tells the web fleets web.idleTimeoutSeconds, which the load balancer uses, and the workers nothing', () => {
    const own = buildTestApp({ ...shop('v1'), web: { idleTimeoutSeconds: 900 } });
    const t = Template.fromStack(own.regions['eu-west-1'].app);
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { LoadBalancerAttributes: Match.arrayWith([{ Key: 'idle_timeout.timeout_seconds', Value: '900' }]) });
    for (const part of ['WebServicewebFleet', 'WebServiceapiFleet']) expect(renderedUserData(t, ltId(t, part))).toMatch(/\nS2M_LOAD_BALANCER_IDLE_TIMEOUT=900\n/);
    expect(renderedUserData(t, ltId(t, 'WorkersJobs'))).not.toContain('S2M_LOAD_BALANCER_IDLE_TIMEOUT');
  });

  it('runs each source: the Node.js bundle, the artifact at its version, the container', () => {
    expect(renderedUserData(app, ltId(app, 'WebServicewebFleet'))).toContain('exec /usr/bin/node-22 --enable-source-maps index.js');
    expect(renderedUserData(app, ltId(app, 'WebServiceapiFleet'))).toContain("S2M_ARTIFACT_OBJECT_VERSION='v1'");
    expect(renderedUserData(app, ltId(app, 'WorkersJobs'))).toContain('public.ecr.aws/shop/worker:2.0.1');
  });

  it('keeps each fleet\'s logs in its own log group with the configured retention, and outputs its name', () => {
    const groups = Object.entries(app.findResources('AWS::Logs::LogGroup')).filter(([id]) => /FleetLogs/.test(id));
    expect(Object.fromEntries(groups.map(([id, r]) => [id.replace(/[0-9A-F]{8}$/, ''), (r as { Properties: { RetentionInDays: number } }).Properties.RetentionInDays]))).toEqual({
      WebServicewebFleetLogs: 14, WebServiceapiFleetLogs: 30, WorkersJobsFleetLogs: 30,
    });
    const outputs = app.toJSON().Outputs as Record<string, unknown>;
    for (const key of [OutputKeys.logGroupName('web'), OutputKeys.logGroupName('api'), OutputKeys.workerLogGroupName('jobs')]) expect(outputs).toHaveProperty(key);
  });

  it('notifies the region\'s alarm topic when a rollout rolls back', () => {
    const rollback = Object.entries(app.findResources('AWS::CloudWatch::Alarm')).filter(([id]) => id.includes('Rollback'));
    expect(rollback).toHaveLength(5); // 2 per service, 1 for the workers
    for (const [, alarm] of rollback) expect((alarm as { Properties: { AlarmActions: unknown[] } }).Properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^AlarmTopic/) }]);
  });

  it('rolls exactly the fleet whose version changed, in every region, and nothing else', () => {
    const bumped = buildTestApp(shop('v2'));
    for (const region of ['us-east-1', 'eu-west-1']) {
      const before = Template.fromStack(built.regions[region].app);
      const after = Template.fromStack(bumped.regions[region].app);
      expect(launchTemplate(after, 'WebServicewebFleet')).toBe(launchTemplate(before, 'WebServicewebFleet'));
      expect(launchTemplate(after, 'WorkersJobs')).toBe(launchTemplate(before, 'WorkersJobs'));
      expect(launchTemplate(after, 'WebServiceapiFleet')).not.toBe(launchTemplate(before, 'WebServiceapiFleet'));
      expect(JSON.stringify(Template.fromStack(bumped.regions[region].data).toJSON())).toBe(JSON.stringify(Template.fromStack(built.regions[region].data).toJSON()));
    }
  });
});

describe('reference app: a golden image per region', () => {
  it('names only its own region\'s AMI in each region\'s template', () => {
    const built = buildTestApp(shop('v1', { application: { image: { amis: { 'us-east-1': 'ami-0123456789abcdef0', 'eu-west-1': 'ami-0fedcba9876543210' }, version: '2026.11.1' } } }));
    const eu = JSON.stringify(Template.fromStack(built.regions['eu-west-1'].app).toJSON());
    expect(eu).toContain('ami-0fedcba9876543210');
    expect(eu).not.toContain('ami-0123456789abcdef0');
  });

  it('resolves a pipeline\'s SSM parameter at deploy (a parameter of the template, no lookup at synth)', () => {
    const built = buildTestApp(shop('v1', { application: { image: { ssmParameter: '/golden/web' } } }));
    const params = Template.fromStack(built.regions['eu-west-1'].app).toJSON().Parameters as Record<string, { Type: string; Default: string }>;
    expect(Object.values(params)).toContainEqual({ Type: 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>', Default: '/golden/web' });
  });
});
