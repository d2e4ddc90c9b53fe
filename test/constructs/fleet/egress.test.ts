import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { AuroraDatabase } from '../../../constructs/aurora';
import { CacheCluster } from '../../../constructs/cache';
import { ApplicationSource, Fleet } from '../../../constructs/fleet';
import { buildFreshTestApp, buildTestApp, configErrors, minimalConfig, stackWithVpc } from '../../helpers/app';
import { validationErrorOf } from '../../helpers/errors';

const ARM = new ec2.InstanceType('m7g.large');
const application = ApplicationSource.inline({ files: { 'srv.py': 'print(1)\n' }, startCommand: '/usr/bin/python3 srv.py' });
const HTTPS_OUT = { CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443, Description: 'HTTPS: AWS APIs and endpoints, package repositories, the RDS CA bundle, registries' };

type Resource = { Properties: Record<string, unknown> };
/** The inline egress rules of the security group with logical ID `id`. */
function inlineEgress(t: Template, id: string): unknown[] {
  return (t.toJSON().Resources[id] as Resource).Properties['SecurityGroupEgress'] as unknown[];
}
/** The logical ID of the (only) security group whose description names `path`. */
function groupOf(t: Template, path: string): string {
  const ids = Object.entries(t.findResources('AWS::EC2::SecurityGroup')).filter(([, r]) => (r as Resource).Properties['GroupDescription'] === `Instances of ${path}`).map(([id]) => id);
  expect(ids, path).toHaveLength(1);
  return ids[0]!;
}
/** The egress rule to the VPC's range on `port` (one per port, in the fleet's own group), with the VPC's range as written. */
const toVpc = (cidr: unknown, port: number) => ({ CidrIp: cidr, IpProtocol: 'tcp', FromPort: port, ToPort: port, Description: 'to a data tier in the VPC' });
/** The ingress rules letting group `id` in, as `port <the data group's logical ID in outputName>` (the group read from another stack's output). */
function ingressFrom(t: Template, id: string, groups: string[]): string[] {
  return Object.values(t.findResources('AWS::EC2::SecurityGroupIngress'))
    .map((r) => (r as Resource).Properties)
    .filter((p) => JSON.stringify(p['SourceSecurityGroupId']) === JSON.stringify({ 'Fn::GetAtt': [id, 'GroupId'] }))
    .map((p) => {
      const output = (p['GroupId'] as { 'Fn::GetStackOutput': { OutputName: string } })['Fn::GetStackOutput'].OutputName;
      return `${p['FromPort'] as number} ${groups.find((g) => output.includes(g))}`;
    })
    .sort();
}
/** The standalone egress rules leaving group `id`, as `port → destination group's GetAtt or import` pairs. */
function egressRulesFrom(t: Template, id: string): { port: number; to: unknown }[] {
  return Object.values(t.findResources('AWS::EC2::SecurityGroupEgress'))
    .map((r) => (r as Resource).Properties)
    .filter((p) => JSON.stringify(p['GroupId']).includes(`"${id}"`))
    .map((p) => ({ port: p['FromPort'] as number, to: p['DestinationSecurityGroupId'] }))
    .sort((a, b) => a.port - b.port);
}

describe('Fleet outbound traffic', () => {
  it('allows every outbound connection by default (aws-cdk-lib\'s default)', () => {
    const { stack, vpc } = stackWithVpc();
    new Fleet(stack, 'Fleet', { vpc, instanceType: ARM, minCapacity: 1, maxCapacity: 2, application });
    const t = Template.fromStack(stack);
    expect(inlineEgress(t, groupOf(t, 'TestStack/Fleet'))).toEqual([{ CidrIp: '0.0.0.0/0', IpProtocol: '-1', Description: 'Allow all outbound traffic by default' }]);
  });

  it('with allowAllOutbound false allows HTTPS out and, after a grant, the granted tier\'s port to the VPC\'s range, in its own group', () => {
    const { stack, vpc } = stackWithVpc();
    const fleet = new Fleet(stack, 'Fleet', { vpc, instanceType: ARM, minCapacity: 1, maxCapacity: 2, application, allowAllOutbound: false });
    // A cache without published endpoints grants through its own path (no PublishedEndpoints).
    const cache = new CacheCluster(stack, 'Cache', { vpc });
    cache.grantConsumer(fleet);
    const t = Template.fromStack(stack);
    const group = groupOf(t, 'TestStack/Fleet');
    const vpcId = stack.getLogicalId(vpc.node.defaultChild as ec2.CfnVPC);
    expect(inlineEgress(t, group)).toEqual([HTTPS_OUT, toVpc({ 'Fn::GetAtt': [vpcId, 'CidrBlock'] }, 6379)]);
    // no rule of its own naming the cache's group (which the cache's stack could then not delete)
    expect(egressRulesFrom(t, group)).toEqual([]);
    // and the cache still lets the fleet in, and no one else
    expect(Object.values(t.findResources('AWS::EC2::SecurityGroupIngress', { Properties: { FromPort: 6379, SourceSecurityGroupId: { 'Fn::GetAtt': [group, 'GroupId'] } } }))).toHaveLength(1);
    expect(Object.values(t.findResources('AWS::EC2::SecurityGroupIngress', { Properties: { FromPort: 6379 } }))).toHaveLength(1);
  });

  it('on an imported VPC without its range, builds the tiers (they read none) and names their groups in the egress rules', () => {
    const stack = stackWithVpc().stack;
    const azs = ['us-east-1a', 'us-east-1b', 'us-east-1c'];
    const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Imported', {
      vpcId: 'vpc-0123456789abcdef0', availabilityZones: azs,
      privateSubnetIds: ['subnet-a1', 'subnet-a2', 'subnet-a3'], isolatedSubnetIds: ['subnet-b1', 'subnet-b2', 'subnet-b3'],
    });
    // (aws-cdk-lib throws on reading such a VPC's vpcCidrBlock: the tiers must not read it unless a rule needs it)
    expect(() => vpc.vpcCidrBlock).toThrow(/vpcCidrBlock/);
    const fleet = new Fleet(stack, 'Fleet', { vpc, instanceType: ARM, minCapacity: 1, maxCapacity: 2, application, allowAllOutbound: false });
    const cache = new CacheCluster(stack, 'Cache', { vpc });
    const db = new AuroraDatabase(stack, 'Database', { vpc, clusterIdentifier: 'shop-db', parameterPrefix: '/shop/database' });
    cache.grantConsumer(fleet);
    db.grantConsumer(fleet);
    const t = Template.fromStack(stack);
    const group = groupOf(t, 'TestStack/Fleet');
    expect(inlineEgress(t, group)).toEqual([HTTPS_OUT]);
    const rules = egressRulesFrom(t, group);
    expect([...new Set(rules.map((r) => r.port))]).toEqual([5432, 6379]);
    for (const rule of rules) expect(rule.to).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/SecurityGroup/), 'GroupId'] });
  });

  it('refuses allowAllOutbound with a security group of the caller\'s, naming both', () => {
    const { stack, vpc } = stackWithVpc();
    const securityGroup = new ec2.SecurityGroup(stack, 'Mine', { vpc });
    expect(validationErrorOf(() => new Fleet(stack, 'Fleet', { vpc, instanceType: ARM, minCapacity: 1, maxCapacity: 2, application, securityGroup, allowAllOutbound: false }))).toEqual({
      path: 'TestStack/Fleet',
      message: expect.stringContaining('Fleet: give allowAllOutbound or securityGroup, not both: configure the outbound rules on the security group you give (got: allowAllOutbound false with securityGroup)'),
    });
  });
});

describe('the reference app with egress "https" on one service and on a queue\'s workers', () => {
  let app: Template;
  let data: Template;
  beforeAll(() => {
    const built = buildFreshTestApp(minimalConfig({
      services: [{ name: 'web', egress: 'https' }, { name: 'api', pathPatterns: ['/api/*'] }],
      queues: [{ name: 'jobs', workers: { egress: 'https' } }],
    }));
    app = Template.fromStack(built.regions['eu-west-1']!.app);
    data = Template.fromStack(built.regions['eu-west-1']!.data);
  });

  /** The logical ID of the data stack's (only) security group whose logical ID matches `pattern`. */
  function dataGroup(pattern: RegExp): string {
    const ids = Object.keys(data.findResources('AWS::EC2::SecurityGroup')).filter((id) => pattern.test(id));
    expect(ids, String(pattern)).toHaveLength(1);
    return ids[0]!;
  }

  it('gives those fleets HTTPS out and the database\'s and cache\'s ports in the VPC, the other service everything', () => {
    const groups = Object.entries(app.findResources('AWS::EC2::SecurityGroup')).filter(([, r]) => String((r as Resource).Properties['GroupDescription']).startsWith('Instances of '));
    const restricted = groups.filter(([, r]) => !JSON.stringify((r as Resource).Properties['SecurityGroupEgress']).includes('"-1"'));
    expect(restricted.map(([, r]) => (r as Resource).Properties['GroupDescription']).sort()).toEqual(['Instances of test-app-eu-west-1/Web/Service-web/Fleet', 'Instances of test-app-eu-west-1/WorkersJobs/Fleet']);
    const dataGroups = Object.keys(data.findResources('AWS::EC2::SecurityGroup'));
    for (const [id, r] of restricted) {
      // HTTPS anywhere, the database's and the cache's ports to the VPC's range (read from the network stack)
      const egress = (r as Resource).Properties['SecurityGroupEgress'] as { CidrIp: unknown }[];
      expect(egress).toEqual([HTTPS_OUT, toVpc(egress[1]!.CidrIp, 5432), toVpc(egress[1]!.CidrIp, 6379)]);
      expect(JSON.stringify(egress[1]!.CidrIp)).toMatch(/"StackName":"test-network-eu-west-1".*CidrBlock/);
      expect(egressRulesFrom(app, id)).toEqual([]);
      // and the database's, its proxy's and the cache's groups let it in
      expect(ingressFrom(app, id, dataGroups)).toEqual([`5432 ${dataGroup(/^DatabaseProxySecurityGroup/)}`, `5432 ${dataGroup(/^DatabaseSecurityGroup/)}`, `6379 ${dataGroup(/^CacheSecurityGroup/)}`]);
    }
    // the other service and nothing else keeps all outbound traffic
    const open = groups.filter(([, r]) => JSON.stringify((r as Resource).Properties['SecurityGroupEgress']).includes('"-1"'));
    expect(open).toHaveLength(1);
    expect((open[0]![1] as Resource).Properties['GroupDescription']).toBe('Instances of test-app-eu-west-1/Web/Service-api/Fleet');
  });
});

describe('config: egress', () => {
  it('takes "all" or "https" on a service and a queue\'s workers, naming the field and the value otherwise', () => {
    expect(configErrors(minimalConfig({ services: [{ name: 'web', egress: 'tcp' as never }] }))).toContain('services[0].egress: must be one of all, https (got: "tcp")');
    expect(configErrors(minimalConfig({ queues: [{ name: 'jobs', workers: { egress: 443 as never } }] }))).toContain('queues[0].workers.egress');
  });
});

describe('config/sharded.json (egress "https" on the api service and the workers): every shard is reachable', () => {
  it('lets the restricted fleets out to the database\'s and cache\'s ports in the VPC, and into every shard\'s cluster and proxy and the cache, in each region', () => {
    const built = buildTestApp('sharded');
    for (const [region, stacks] of Object.entries(built.regions)) {
      const app = Template.fromStack(stacks.app);
      const dataGroups = Object.keys(Template.fromStack(stacks.data).findResources('AWS::EC2::SecurityGroup'));
      const expected = [
        ...dataGroups.filter((g) => /^(Database|DatabaseShards\w+?)(Proxy)?SecurityGroup/.test(g) && !/ApplicationUsers|Rotation/.test(g)).map((g) => `5432 ${g}`),
        ...dataGroups.filter((g) => /^CacheSecurityGroup/.test(g)).map((g) => `6379 ${g}`),
      ].sort();
      // the first shard is the database itself; s1 and s2 have a cluster and a proxy each
      expect(expected.filter((e) => e.startsWith('5432'))).toHaveLength(6);
      for (const path of [`${stacks.app.stackName}/Web/Service-api/Fleet`, `${stacks.app.stackName}/WorkersJobs/Fleet`]) {
        const group = groupOf(app, path);
        // two egress rules whatever the number of shards (one per port), in the group itself
        const egress = inlineEgress(app, group) as { CidrIp: unknown }[];
        expect(egress, `${region} ${path}`).toEqual([HTTPS_OUT, toVpc(egress[1]!.CidrIp, 5432), toVpc(egress[1]!.CidrIp, 6379)]);
        expect(egressRulesFrom(app, group)).toEqual([]);
        expect(ingressFrom(app, group, dataGroups), `${region} ${path}`).toEqual(expected);
      }
    }
  });
});
