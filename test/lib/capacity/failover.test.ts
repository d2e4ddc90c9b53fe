import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import {
  DescribeDBClustersCommand,
  DescribeGlobalClustersCommand,
  FailoverGlobalClusterCommand,
  ModifyDBClusterCommand,
  RDSClient,
  SwitchoverGlobalClusterCommand,
  type GlobalCluster,
} from '@aws-sdk/client-rds';
import { GetHealthCheckCommand, Route53Client, UpdateHealthCheckCommand } from '@aws-sdk/client-route-53';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { main, type CliDeps } from '../../../lib/capacity/cli';
import { ExitCode } from '../../../lib/capacity/errors';
import { MILLIONS, NOW, REPO } from './helpers';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-1'];
const SHARDED = join(REPO, 'config', 'sharded.json');
const arn = (region: string, id = 'shop-db') => `arn:aws:rds:${region}:123456789012:cluster:${id}`;

/** The world as AWS holds it: health checks per region, and where each global cluster's writer is. */
interface World {
  inverted: Record<string, boolean>;
  writer: Record<string, string>;
  /** DescribeGlobalClusters answers "switching over" this many times after a move, then the new state. */
  pendingPolls: number;
  /** DescribeDBClusters answers forwarding "enabling" this many times after ModifyDBCluster turned it on, then "enabled". */
  forwardingPolls: number;
  /** GlobalWriteForwardingStatus by region (none: "disabled"). */
  forwarding: Record<string, string>;
}

interface Mocked {
  deps: CliDeps;
  out: () => string;
  err: () => string;
  route53: AwsClientStub<Route53Client>;
  rds: Record<string, AwsClientStub<RDSClient>>;
  ssm: Record<string, AwsClientStub<SSMClient>>;
  sleeps: number[];
  world: World;
}

/** Mocked Route 53, RDS, SSM and CloudFormation behaving like one deployed `shop` app. */
function mocked(world: Partial<World> = {}, regions = REGIONS): Mocked {
  const w: World = { inverted: Object.fromEntries(regions.map((r) => [r, false])), writer: { 'shop-global': 'us-east-1' }, pendingPolls: 1, forwardingPolls: 1, forwarding: {}, ...world };
  const route53 = mockClient(new Route53Client({}));
  route53.on(GetHealthCheckCommand).callsFake((input: { HealthCheckId: string }) => {
    const region = input.HealthCheckId.replace('hc-', '');
    return { HealthCheck: { Id: input.HealthCheckId, CallerReference: 'x', HealthCheckVersion: 7, HealthCheckConfig: { Type: 'CALCULATED', HealthThreshold: 0, Inverted: w.inverted[region] } } };
  });
  route53.on(UpdateHealthCheckCommand).callsFake((input: { HealthCheckId: string; Inverted: boolean }) => {
    // Draining inverts the drain switch; an inverted endpoint check would turn healthy when the region fails.
    if (!input.HealthCheckId.startsWith('hc-')) throw new Error(`UpdateHealthCheck on ${input.HealthCheckId}: only drain switches may be inverted`);
    w.inverted[input.HealthCheckId.replace('hc-', '')] = input.Inverted;
    return {};
  });
  const cfn: Record<string, AwsClientStub<CloudFormationClient>> = {};
  const rds: Record<string, AwsClientStub<RDSClient>> = {};
  const ssm: Record<string, AwsClientStub<SSMClient>> = {};
  let polls = 0;
  for (const region of regions) {
    cfn[region] = mockClient(new CloudFormationClient({ region }));
    cfn[region].on(DescribeStacksCommand).callsFake((input: { StackName: string }) => ({
      Stacks: [{ StackName: input.StackName, CreationTime: NOW, StackStatus: 'UPDATE_COMPLETE', Outputs: [{ OutputKey: 'DrainHealthCheckId', OutputValue: `hc-${region}` }, { OutputKey: 'CacheReplicationGroupId', OutputValue: `shop-cache-${region}` }] }],
    }));
    rds[region] = mockClient(new RDSClient({ region }));
    rds[region].on(DescribeGlobalClustersCommand).callsFake((input: { GlobalClusterIdentifier: string }): { GlobalClusters: GlobalCluster[] } => {
      const id = input.GlobalClusterIdentifier;
      const cluster = id.replace('-global', '-db');
      const switching = polls > 0;
      if (switching) polls--;
      return {
        GlobalClusters: [{
          GlobalClusterIdentifier: id,
          Status: switching ? 'switching-over' : 'available',
          ...(switching ? { FailoverState: { Status: 'failing-over' as const } } : {}),
          GlobalClusterMembers: regions.map((r) => ({ DBClusterArn: arn(r, cluster), IsWriter: r === w.writer[id] })),
        }],
      };
    });
    const move = (input: { GlobalClusterIdentifier: string; TargetDbClusterIdentifier: string }) => {
      w.writer[input.GlobalClusterIdentifier] = input.TargetDbClusterIdentifier.split(':')[3];
      polls = w.pendingPolls;
      return {};
    };
    rds[region].on(SwitchoverGlobalClusterCommand).callsFake(move);
    rds[region].on(FailoverGlobalClusterCommand).callsFake(move);
    let enabling = 0;
    rds[region].on(ModifyDBClusterCommand).callsFake((input: { EnableGlobalWriteForwarding?: boolean }) => {
      if (input.EnableGlobalWriteForwarding) {
        w.forwarding[region] = 'enabling';
        enabling = w.forwardingPolls;
      }
      return {};
    });
    rds[region].on(DescribeDBClustersCommand).callsFake((input: { DBClusterIdentifier: string }) => {
      if (w.forwarding[region] === 'enabling' && enabling-- <= 0) w.forwarding[region] = 'enabled';
      return {
        DBClusters: [{
          DBClusterIdentifier: input.DBClusterIdentifier, Endpoint: `${input.DBClusterIdentifier}.cluster-x.${region}.rds.amazonaws.com`,
          ReaderEndpoint: `${input.DBClusterIdentifier}.cluster-ro-x.${region}.rds.amazonaws.com`, GlobalWriteForwardingStatus: (w.forwarding[region] ?? 'disabled') as 'enabled',
        }],
      };
    });
    ssm[region] = mockClient(new SSMClient({ region }));
    ssm[region].on(PutParameterCommand).resolves({ Version: 2 });
  }
  let out = '';
  let err = '';
  const sleeps: number[] = [];
  let t = NOW.getTime();
  const deps: CliDeps = {
    cloudFormation: (r) => cfn[r] as unknown as CloudFormationClient,
    cloudWatch: () => new CloudWatchClient({}),
    route53: () => route53 as unknown as Route53Client,
    rds: (r) => rds[r] as unknown as RDSClient,
    ssm: (r) => ssm[r] as unknown as SSMClient,
    clock: { now: () => new Date(t), sleep: async (ms) => { sleeps.push(ms); t += ms; } },
    stdout: { write: (s: string) => { out += s; } },
    stderr: { write: (s: string) => { err += s; } },
  };
  return { deps, out: () => out, err: () => err, route53, rds, ssm, sleeps, world: w };
}

const mutating = [UpdateHealthCheckCommand, SwitchoverGlobalClusterCommand, FailoverGlobalClusterCommand, ModifyDBClusterCommand, PutParameterCommand] as const;

function callsOf(m: Mocked, command: (typeof mutating)[number]): number {
  const stubs: Array<AwsClientStub<Route53Client> | AwsClientStub<RDSClient> | AwsClientStub<SSMClient>> = [m.route53, ...Object.values(m.rds), ...Object.values(m.ssm)];
  return stubs.reduce((n, s) => n + (s as AwsClientStub<RDSClient>).commandCalls(command as never).length, 0);
}

/**
 * Parameter Store as the regions hold it (`<region>` → name → value): GetParameter reads it, PutParameter writes it.
 * Seeded with what the stacks published while the writer was in `writerRegion` (forwarding secondaries elsewhere).
 */
function publishedStore(m: Mocked, writerRegion: string, regions = REGIONS): Record<string, Record<string, string>> {
  const store: Record<string, Record<string, string>> = {};
  for (const r of regions) {
    const primary = r === writerRegion;
    store[r] = {
      '/shop/database/role': primary ? 'primary' : 'secondary',
      '/shop/database/writer': `shop-db.${primary ? 'cluster' : 'cluster-ro'}-x.${r}.rds.amazonaws.com`,
      '/shop/database/write-forwarding': primary ? 'off' : 'on',
    };
    m.ssm[r]!.on(GetParameterCommand).callsFake((input: { Name: string }) => {
      const value = store[r]![input.Name];
      if (value === undefined) throw Object.assign(new Error(`Parameter ${input.Name} not found`), { name: 'ParameterNotFound' });
      return { Parameter: { Name: input.Name, Value: value } };
    });
    m.ssm[r]!.on(PutParameterCommand).callsFake((input: { Name: string; Value: string }) => {
      store[r]![input.Name] = input.Value;
      return { Version: 2 };
    });
  }
  return store;
}

describe('s2m evacuate', () => {
  it('--dry-run prints the plan (drain, planned switchover, forwarding, published roles) and changes nothing', async () => {
    const m = mocked();
    expect(await main(['evacuate', 'us-east-1', '--config', MILLIONS, '--dry-run'], m.deps)).toBe(ExitCode.ok);
    const out = m.out();
    expect(out).toMatch(/^Dry run: reads only, changes nothing\./);
    expect(out).toContain('would invert drain switch hc-us-east-1: Route 53 routes around us-east-1');
    expect(out).toContain('would switch over (planned: waits for the target to catch up, no data loss) shop-global: writer us-east-1 → eu-west-1 (arn:aws:rds:eu-west-1:123456789012:cluster:shop-db)');
    expect(out).toContain('would enable write forwarding on shop-db in us-east-1 (now a secondary)');
    expect(out).toContain('would set /shop/database/role = primary in eu-west-1');
    expect(out).toContain('would set /shop/database/writer = shop-db.cluster-ro-x.us-east-1.rds.amazonaws.com in us-east-1');
    expect(out).toMatch(/Then, before the next deploy, edit .*millions\.json[^\n]*\n {2}- dns\.drainedRegions: add "us-east-1"[^\n]*\n {2}- database\.globalDatabase\.writerRegion: "eu-west-1"/);
    for (const c of mutating) expect(callsOf(m, c), c.name).toBe(0);
    expect(m.err()).toBe('');
  });

  it('drains the region, switches the writer over and waits for it, forwards writes from the demoted cluster and republishes every region\'s role', async () => {
    const m = mocked({ pendingPolls: 2, forwardingPolls: 2 });
    expect(await main(['evacuate', 'us-east-1', '--config', MILLIONS, '--to', 'ap-southeast-1'], m.deps)).toBe(ExitCode.ok);
    expect(m.route53.commandCalls(UpdateHealthCheckCommand)[0].args[0].input).toEqual({ HealthCheckId: 'hc-us-east-1', HealthCheckVersion: 7, Inverted: true });
    // called in the writer's region, as the Aurora User Guide does (`aws rds --region region_of_primary switchover-global-cluster`)
    expect(m.rds['us-east-1'].commandCalls(SwitchoverGlobalClusterCommand)[0].args[0].input).toEqual({ GlobalClusterIdentifier: 'shop-global', TargetDbClusterIdentifier: arn('ap-southeast-1') });
    expect(m.rds['ap-southeast-1'].commandCalls(SwitchoverGlobalClusterCommand)).toHaveLength(0);
    // polled while the switchover ran (twice), then while forwarding was enabling on the demoted cluster (once)
    expect(m.sleeps).toEqual([15_000, 15_000, 15_000]);
    expect(m.out()).toContain('  waiting: write forwarding on shop-db in us-east-1 is enabling');
    expect(m.rds['us-east-1'].commandCalls(ModifyDBClusterCommand)[0].args[0].input).toEqual({ DBClusterIdentifier: 'shop-db', EnableGlobalWriteForwarding: true, ApplyImmediately: true });
    // Published in an order a process may read at any point without finding a region that takes no writes: the new
    // writer's region first (role, writer, forwarding off), the demoted one once forwarding is enabled (writer,
    // forwarding on, role last)
    const puts = (r: string) => m.ssm[r].commandCalls(PutParameterCommand).map((c) => [c.args[0].input.Name, c.args[0].input.Value]);
    expect(puts('ap-southeast-1')).toEqual([['/shop/database/role', 'primary'], ['/shop/database/writer', 'shop-db.cluster-x.ap-southeast-1.rds.amazonaws.com'], ['/shop/database/write-forwarding', 'off']]);
    expect(puts('us-east-1')).toEqual([['/shop/database/writer', 'shop-db.cluster-ro-x.us-east-1.rds.amazonaws.com'], ['/shop/database/write-forwarding', 'on'], ['/shop/database/role', 'secondary']]);
    expect(puts('eu-west-1').at(-1)).toEqual(['/shop/database/role', 'secondary']);
    expect(m.ssm['ap-southeast-1'].commandCalls(PutParameterCommand)[0].args[0].input).toMatchObject({ Name: '/shop/database/role' });
    const firstPut = (r: string) => m.ssm[r].commandCalls(PutParameterCommand)[0]!;
    expect(firstPut('ap-southeast-1').calledBefore(firstPut('us-east-1'))).toBe(true);
    expect(m.world).toMatchObject({ inverted: { 'us-east-1': true }, writer: { 'shop-global': 'ap-southeast-1' } });
    expect(callsOf(m, FailoverGlobalClusterCommand)).toBe(0);
  });

  it('--unplanned fails over with data loss allowed, and leaves the unreachable region\'s parameters and forwarding alone', async () => {
    const m = mocked();
    expect(await main(['evacuate', 'us-east-1', '--config', MILLIONS, '--unplanned'], m.deps)).toBe(ExitCode.ok);
    expect(m.rds['eu-west-1'].commandCalls(FailoverGlobalClusterCommand)[0].args[0].input).toEqual({ GlobalClusterIdentifier: 'shop-global', TargetDbClusterIdentifier: arn('eu-west-1'), AllowDataLoss: true });
    expect(callsOf(m, SwitchoverGlobalClusterCommand)).toBe(0);
    expect(callsOf(m, ModifyDBClusterCommand)).toBe(0);
    expect(m.ssm['us-east-1'].commandCalls(PutParameterCommand)).toHaveLength(0);
    expect(m.rds['us-east-1'].commandCalls(DescribeDBClustersCommand)).toHaveLength(0);
    expect(m.out()).toContain('fail over (unplanned: the writes not yet replicated to the target are lost)');
    expect(m.out()).toContain('skipped /shop/database in us-east-1');
  });

  it('--unplanned moves the writer first, and says how to finish when the down region\'s stack cannot be read for DNS', async () => {
    // GIVEN us-east-1 is down: its CloudFormation endpoint does not answer
    const m = mocked({ pendingPolls: 0 });
    (m.deps.cloudFormation('us-east-1') as unknown as AwsClientStub<CloudFormationClient>).on(DescribeStacksCommand).rejects(Object.assign(new Error('connect ETIMEDOUT 3.5.0.1:443'), { code: 'ETIMEDOUT' }));
    // WHEN it is evacuated unplanned
    const code = await main(['evacuate', 'us-east-1', '--config', MILLIONS, '--unplanned'], m.deps);
    // THEN the writer moved all the same, the command fails, and it names the switch to invert and the config edits
    expect(m.rds['eu-west-1'].commandCalls(FailoverGlobalClusterCommand)).toHaveLength(1);
    expect(m.world.writer['shop-global']).toBe('eu-west-1');
    expect(code).not.toBe(ExitCode.ok);
    expect(m.err()).toMatch(/the writer moved to eu-west-1, but us-east-1 could not be drained from DNS: .*ETIMEDOUT/);
    expect(m.err()).toMatch(/invert its drain switch \(the DrainHealthCheckId output of shop-app-us-east-1\)/);
    expect(m.err()).toMatch(/database\.globalDatabase\.writerRegion: "eu-west-1" \(the deploy pauses the rotation of the database credentials until the writer is back in us-east-1, whose cluster sets each new password\); dns\.drainedRegions: add "us-east-1"/);
    expect(callsOf(m, UpdateHealthCheckCommand)).toBe(0);
  });

  it('only drains DNS when the region does not hold the writer', async () => {
    const m = mocked();
    expect(await main(['evacuate', 'eu-west-1', '--config', MILLIONS], m.deps)).toBe(ExitCode.ok);
    expect(m.world.inverted['eu-west-1']).toBe(true);
    expect(callsOf(m, SwitchoverGlobalClusterCommand) + callsOf(m, FailoverGlobalClusterCommand) + callsOf(m, PutParameterCommand)).toBe(0);
    expect(m.out()).toContain('shop-global: the writer is in us-east-1, not eu-west-1: nothing to move');
  });

  it('moves the writer of every shard\'s global database', async () => {
    const m = mocked({ writer: { 'shop-sharded-global': 'us-east-1', 'shop-sharded-global-s1': 'us-east-1', 'shop-sharded-global-s2': 'us-east-1' }, pendingPolls: 0 }, ['us-east-1', 'eu-west-1']);
    expect(await main(['evacuate', 'us-east-1', '--config', SHARDED, '--keep-dns'], m.deps)).toBe(ExitCode.ok);
    const moved = m.rds['us-east-1'].commandCalls(SwitchoverGlobalClusterCommand).map((c) => c.args[0].input.GlobalClusterIdentifier);
    expect(moved).toEqual(['shop-sharded-global', 'shop-sharded-global-s1', 'shop-sharded-global-s2']);
    expect(m.ssm['eu-west-1'].commandCalls(PutParameterCommand).map((c) => c.args[0].input.Name)).toContain('/shop-sharded/database/shards/s2/role');
    expect(callsOf(m, UpdateHealthCheckCommand)).toBe(0);
  });

  it('refuses to drain the last region in service, and a region not in the config', async () => {
    const last = mocked({ inverted: { 'us-east-1': false, 'eu-west-1': true, 'ap-southeast-1': true } });
    expect(await main(['evacuate', 'us-east-1', '--config', MILLIONS], last.deps)).toBe(ExitCode.usage);
    expect(last.err()).toMatch(/^s2m: every other region is drained already: draining us-east-1 too would leave Route 53 answering as if all were healthy\n$/);
    expect(callsOf(last, UpdateHealthCheckCommand)).toBe(0);
    const unknown = mocked();
    expect(await main(['evacuate', 'eu-central-1', '--config', MILLIONS], unknown.deps)).toBe(ExitCode.region);
    expect(unknown.err()).toMatch(/region eu-central-1 is not in the config \(regions: us-east-1, eu-west-1, ap-southeast-1\)/);
  });

  it('publishes the demoted region as a secondary without forwarding, and says how to finish, when forwarding is not enabled in time', async () => {
    // GIVEN a demoted cluster whose write forwarding stays "enabling"
    const m = mocked({ pendingPolls: 0, forwardingPolls: 1_000 });
    // WHEN the region is evacuated with a 60 s timeout
    const code = await main(['evacuate', 'us-east-1', '--config', MILLIONS, '--timeout', '60'], m.deps);
    // THEN the new writer's region is published as the primary; the demoted one as a secondary that takes no writes
    // (the SDK refuses them at once, saying so), not as a forwarding one whose writes the cluster would refuse
    const puts = (r: string) => m.ssm[r].commandCalls(PutParameterCommand).map((c) => [c.args[0].input.Name, c.args[0].input.Value]);
    expect(puts('eu-west-1')[0]).toEqual(['/shop/database/role', 'primary']);
    expect(puts('us-east-1')).toEqual([['/shop/database/writer', 'shop-db.cluster-x.us-east-1.rds.amazonaws.com'], ['/shop/database/write-forwarding', 'off'], ['/shop/database/role', 'secondary']]);
    expect(code).toBe(ExitCode.aws);
    expect(m.err()).toMatch(/write forwarding on shop-db in us-east-1 was not enabled within 60 s: .*GlobalWriteForwardingStatus "enabled", publish it: aws ssm put-parameter --region us-east-1 --overwrite --type String --name \/shop\/database\/writer --value shop-db\.cluster-ro-x\.us-east-1\.rds\.amazonaws\.com && aws ssm put-parameter .*--name \/shop\/database\/write-forwarding --value on/);
    // and the config edits the next deploy needs, which a failed command would otherwise never print
    expect(m.err()).toMatch(/Config edits to make before the next deploy: .*database\.globalDatabase\.writerRegion: "eu-west-1"/);
    expect(m.sleeps.length).toBeGreaterThanOrEqual(4);
  });

  it('moves every shard\'s writer before failing for forwarding not enabled in time, naming each', async () => {
    const m = mocked({ writer: { 'shop-sharded-global': 'us-east-1', 'shop-sharded-global-s1': 'us-east-1', 'shop-sharded-global-s2': 'us-east-1' }, pendingPolls: 0, forwardingPolls: 1_000 }, ['us-east-1', 'eu-west-1']);
    const code = await main(['evacuate', 'us-east-1', '--config', SHARDED, '--keep-dns', '--timeout', '60'], m.deps);
    expect(code).toBe(ExitCode.aws);
    expect(m.world.writer).toEqual({ 'shop-sharded-global': 'eu-west-1', 'shop-sharded-global-s1': 'eu-west-1', 'shop-sharded-global-s2': 'eu-west-1' });
    for (const id of ['shop-sharded-global', 'shop-sharded-global-s1', 'shop-sharded-global-s2']) expect(m.err()).toContain(`The writer of ${id} moved to eu-west-1, but write forwarding`);
    expect(m.err()).toMatch(/Config edits to make before the next deploy: .*database\.globalDatabase\.writerRegion: "eu-west-1"/);
  });

  it('keeps how to finish a shard\'s forwarding in the error when a later shard\'s move fails', async () => {
    // GIVEN shard 0's forwarding that stays "enabling", and shard 1's switchover that RDS refuses
    const m = mocked({ writer: { 'shop-sharded-global': 'us-east-1', 'shop-sharded-global-s1': 'us-east-1', 'shop-sharded-global-s2': 'us-east-1' }, pendingPolls: 0, forwardingPolls: 1_000 }, ['us-east-1', 'eu-west-1']);
    m.rds['us-east-1'].on(SwitchoverGlobalClusterCommand, { GlobalClusterIdentifier: 'shop-sharded-global-s1' }).rejects(Object.assign(new Error('The global cluster is not in a valid state'), { name: 'InvalidGlobalClusterStateFault' }));
    const code = await main(['evacuate', 'us-east-1', '--config', SHARDED, '--keep-dns', '--timeout', '60'], m.deps);
    // THEN the error names the refused move, and how to finish shard 0, with the config edits
    expect(code).not.toBe(ExitCode.ok);
    expect(m.err()).toMatch(/not in a valid state.*Before that: The writer of shop-sharded-global moved to eu-west-1, but write forwarding .*put-parameter.*Config edits to make before the next deploy: .*writerRegion: "eu-west-1"/s);
  });

  it('a rerun after a switchover that outlasted --timeout finishes it: forwarding on the demoted cluster and the roles published', async () => {
    // GIVEN a switchover still running when the 2-minute timeout ran out (the error says to rerun)
    const m = mocked({ pendingPolls: 1000, forwardingPolls: 0 });
    const store = publishedStore(m, 'us-east-1');
    expect(await main(['evacuate', 'us-east-1', '--config', MILLIONS, '--timeout', '2m', '--keep-dns'], m.deps)).toBe(ExitCode.aws);
    expect(m.err()).toMatch(/did not finish moving its writer to eu-west-1 within 120 s .*then rerun/);
    // and which then finished: eu-west-1 holds the writer, while every region is still published as before it
    m.world.writer['shop-global'] = 'eu-west-1';
    expect(store['eu-west-1']!['/shop/database/role']).toBe('secondary');
    // WHEN the command is run again, as the error said
    const rerun = mocked({ writer: { 'shop-global': 'eu-west-1' }, pendingPolls: 0, forwardingPolls: 0 });
    const published = publishedStore(rerun, 'us-east-1');
    expect(await main(['evacuate', 'us-east-1', '--config', MILLIONS, '--keep-dns'], rerun.deps)).toBe(ExitCode.ok);
    // THEN it does not move the writer again, but finishes the move: the new writer's region published as the primary
    // (its writes went to replicas that refuse them), the demoted one forwarding (its writes went to an endpoint that no
    // longer takes them), and the config edit printed
    expect(callsOf(rerun, SwitchoverGlobalClusterCommand) + callsOf(rerun, FailoverGlobalClusterCommand)).toBe(0);
    expect(rerun.out()).toContain('shop-global: the writer is in eu-west-1 already, but the published roles still name another region');
    expect(rerun.rds['us-east-1'].commandCalls(ModifyDBClusterCommand)[0]?.args[0].input).toEqual({ DBClusterIdentifier: 'shop-db', EnableGlobalWriteForwarding: true, ApplyImmediately: true });
    expect(published['eu-west-1']).toEqual({ '/shop/database/role': 'primary', '/shop/database/writer': 'shop-db.cluster-x.eu-west-1.rds.amazonaws.com', '/shop/database/write-forwarding': 'off' });
    expect(published['us-east-1']).toEqual({ '/shop/database/role': 'secondary', '/shop/database/writer': 'shop-db.cluster-ro-x.us-east-1.rds.amazonaws.com', '/shop/database/write-forwarding': 'on' });
    expect(rerun.out()).toMatch(/database\.globalDatabase\.writerRegion: "eu-west-1"/);
    // and a third run, with everything published, has nothing left to do
    const third = mocked({ writer: { 'shop-global': 'eu-west-1' }, pendingPolls: 0 });
    publishedStore(third, 'eu-west-1');
    expect(await main(['evacuate', 'us-east-1', '--config', MILLIONS, '--keep-dns'], third.deps)).toBe(ExitCode.ok);
    expect(third.out()).toContain('shop-global: the writer is in eu-west-1, not us-east-1: nothing to move');
    expect(callsOf(third, PutParameterCommand) + callsOf(third, ModifyDBClusterCommand)).toBe(0);
  });

  it('finishing a move made by hand from a third region turns forwarding on where the writer was, not in the region named', async () => {
    // GIVEN the writer moved by hand from ap-southeast-1 to eu-west-1, every region still published as before it
    const m = mocked({ writer: { 'shop-global': 'eu-west-1' }, pendingPolls: 0, forwardingPolls: 0 });
    const published = publishedStore(m, 'ap-southeast-1');
    // WHEN us-east-1 is evacuated to eu-west-1
    expect(await main(['evacuate', 'us-east-1', '--config', MILLIONS, '--to', 'eu-west-1', '--keep-dns'], m.deps)).toBe(ExitCode.ok);
    // THEN forwarding is turned on in ap-southeast-1, the demoted region, which is published as a forwarding secondary
    // (it was turned on in us-east-1, a secondary already, and ap-southeast-1 published as forwarding without it)
    expect(m.rds['ap-southeast-1'].commandCalls(ModifyDBClusterCommand).map((c) => c.args[0].input)).toEqual([{ DBClusterIdentifier: 'shop-db', EnableGlobalWriteForwarding: true, ApplyImmediately: true }]);
    expect(m.rds['us-east-1'].commandCalls(ModifyDBClusterCommand)).toHaveLength(0);
    expect(published['ap-southeast-1']).toEqual({ '/shop/database/role': 'secondary', '/shop/database/writer': 'shop-db.cluster-ro-x.ap-southeast-1.rds.amazonaws.com', '/shop/database/write-forwarding': 'on' });
    expect(published['eu-west-1']!['/shop/database/role']).toBe('primary');
    expect(m.out()).toContain('from ap-southeast-1, still published as the writer\'s region');
  });

  it('after an unplanned failover, a planned evacuate of the recovered region finishes it there: forwarding on, its roles published', async () => {
    // GIVEN the writer failed over to eu-west-1 while us-east-1 was down: eu-west-1 published as the primary, us-east-1
    // skipped (still published as the primary), and us-east-1 now back as a secondary without forwarding
    const m = mocked({ writer: { 'shop-global': 'eu-west-1' }, pendingPolls: 0, forwardingPolls: 1 });
    const published = publishedStore(m, 'us-east-1');
    Object.assign(published['eu-west-1']!, { '/shop/database/role': 'primary', '/shop/database/writer': 'shop-db.cluster-x.eu-west-1.rds.amazonaws.com', '/shop/database/write-forwarding': 'off' });
    // WHEN it is evacuated again, planned, keeping DNS as it is (docs/aurora.md, unplanned failover, step 3)
    expect(await main(['evacuate', 'us-east-1', '--config', MILLIONS, '--to', 'eu-west-1', '--keep-dns'], m.deps)).toBe(ExitCode.ok);
    // THEN nothing moves, us-east-1 forwards and is published as a forwarding secondary, once RDS says it forwards
    expect(callsOf(m, SwitchoverGlobalClusterCommand) + callsOf(m, FailoverGlobalClusterCommand)).toBe(0);
    expect(m.rds['us-east-1'].commandCalls(ModifyDBClusterCommand)[0]?.args[0].input).toMatchObject({ EnableGlobalWriteForwarding: true });
    expect(published['us-east-1']).toEqual({ '/shop/database/role': 'secondary', '/shop/database/writer': 'shop-db.cluster-ro-x.us-east-1.rds.amazonaws.com', '/shop/database/write-forwarding': 'on' });
    expect(published['eu-west-1']!['/shop/database/role']).toBe('primary');
  });

  it('gives up with one line when the writer does not move in time', async () => {
    const m = mocked({ pendingPolls: 1000 });
    expect(await main(['evacuate', 'us-east-1', '--config', MILLIONS, '--timeout', '2m'], m.deps)).toBe(ExitCode.aws);
    expect(m.err()).toMatch(/^s2m: shop-global did not finish moving its writer to eu-west-1 within 120 s \(status switching-over, failing-over\)/);
    expect(m.sleeps.length).toBe(8);
  });

  it.each([
    { what: '--keep-dns with --keep-database (nothing left to do)', args: ['evacuate', 'us-east-1', '--keep-dns', '--keep-database'], err: /^s2m: option '--keep-dns' cannot be used with option '--keep-database'\n/ },
    { what: 'evacuate --dry-run with a timeout below 1m', args: ['evacuate', 'us-east-1', '--dry-run', '--timeout', '10s'], err: /^s2m: --timeout must be a duration of at least 1m, like 30m \(got: 10s\)\n$/ },
    { what: 'restore --dry-run with a timeout below 1m', args: ['restore', 'eu-west-1', '--dry-run', '--timeout', '10s'], err: /^s2m: --timeout must be a duration of at least 1m, like 30m \(got: 10s\)\n$/ },
  ])('exits 2 for $what, before any output or AWS call', async ({ args, err }) => {
    const m = mocked();
    expect(await main([...args, '--config', MILLIONS], m.deps)).toBe(ExitCode.usage);
    expect(m.err()).toMatch(err);
    expect(m.out()).toBe('');
    expect(m.route53).toHaveReceivedCommandTimes(GetHealthCheckCommand, 0);
  });

  it('says which stack to deploy when the drain switch output is missing (a stack of a version that inverted the endpoint check)', async () => {
    const m = mocked();
    (m.deps.cloudFormation('eu-west-1') as unknown as AwsClientStub<CloudFormationClient>).on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'shop-app-eu-west-1', CreationTime: NOW, StackStatus: 'UPDATE_COMPLETE', Outputs: [] }] });
    expect(await main(['evacuate', 'us-east-1', '--config', MILLIONS, '--dry-run'], m.deps)).toBe(ExitCode.stackMissing);
    expect(m.err()).toMatch(/stack shop-app-eu-west-1 has no DrainHealthCheckId output: deploy it with this version/);
  });
});

describe('active-passive DNS without write forwarding (dns.routing "failover")', () => {
  /** config/millions.json with failover routing between us-east-1 and ap-southeast-1, and no write forwarding. */
  function activePassive(): string {
    const raw = JSON.parse(readFileSync(MILLIONS, 'utf8')) as Record<string, unknown> & { database: { globalDatabase: Record<string, unknown> } };
    raw.dns = { routing: 'failover', failover: { primary: 'us-east-1', secondary: 'ap-southeast-1' } };
    raw.database.globalDatabase.writeForwarding = false;
    const dir = mkdtempSync(join(tmpdir(), 's2m-failover-'));
    const file = join(dir, 'active-passive.json');
    writeFileSync(file, JSON.stringify(raw));
    return file;
  }

  it('evacuates the primary to the failover secondary (not the next region in config order) and prints the roles to swap', async () => {
    const m = mocked({ pendingPolls: 0 });
    expect(await main(['evacuate', 'us-east-1', '--config', activePassive()], m.deps)).toBe(ExitCode.ok);
    expect(m.rds['us-east-1'].commandCalls(SwitchoverGlobalClusterCommand)[0].args[0].input.TargetDbClusterIdentifier).toBe(arn('ap-southeast-1'));
    expect(callsOf(m, ModifyDBClusterCommand)).toBe(0); // no forwarding to turn on
    expect(m.out()).toContain('- database.globalDatabase.writerRegion: "ap-southeast-1"');
    expect(m.out()).toContain('- dns.failover: { "primary": "ap-southeast-1", "secondary": "us-east-1" }');
  });

  it('reads only the failover pair\'s drain switches: the third region has no DNS records (nor the output)', async () => {
    // GIVEN eu-west-1, outside the failover pair, whose app stack has no drain switch output
    const m = mocked({ pendingPolls: 0 });
    (m.deps.cloudFormation('eu-west-1') as unknown as AwsClientStub<CloudFormationClient>).on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'shop-app-eu-west-1', CreationTime: NOW, StackStatus: 'UPDATE_COMPLETE', Outputs: [] }] });
    // WHEN the primary is evacuated THEN it is drained (the third region's stack never asked for its switch)
    expect(await main(['evacuate', 'us-east-1', '--config', activePassive()], m.deps)).toBe(ExitCode.ok);
    expect(m.world.inverted['us-east-1']).toBe(true);
    // AND evacuating or restoring the third region has nothing to do in DNS
    const third = mocked({ pendingPolls: 0 });
    (third.deps.cloudFormation('eu-west-1') as unknown as AwsClientStub<CloudFormationClient>).on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'shop-app-eu-west-1', CreationTime: NOW, StackStatus: 'UPDATE_COMPLETE', Outputs: [] }] });
    expect(await main(['evacuate', 'eu-west-1', '--config', activePassive()], third.deps)).toBe(ExitCode.ok);
    expect(third.out()).toContain('eu-west-1 has no DNS records (failover routing answers with us-east-1 and ap-southeast-1 only): nothing to drain');
    expect(await main(['restore', 'eu-west-1', '--config', activePassive()], third.deps)).toBe(ExitCode.ok);
    expect(callsOf(third, UpdateHealthCheckCommand)).toBe(0);
  });

  it('refuses to put the failover primary back in DNS without its writer, which would send every user to a region that cannot write', async () => {
    const config = activePassive();
    const m = mocked({ inverted: { 'us-east-1': true, 'eu-west-1': false, 'ap-southeast-1': false }, writer: { 'shop-global': 'ap-southeast-1' }, pendingPolls: 0 });
    expect(await main(['restore', 'us-east-1', '--config', config], m.deps)).toBe(ExitCode.usage);
    expect(m.err()).toMatch(/us-east-1 is the failover primary of DNS, and shop-global's writer is in ap-southeast-1: without write forwarding, users sent back to us-east-1 could not write\. Pass --writer/);
    expect(callsOf(m, UpdateHealthCheckCommand)).toBe(0);
    // WHEN --writer is given THEN the region comes back with its writer
    expect(await main(['restore', 'us-east-1', '--config', config, '--writer'], m.deps)).toBe(ExitCode.ok);
    expect(m.world).toMatchObject({ inverted: { 'us-east-1': false }, writer: { 'shop-global': 'us-east-1' } });
  });
});

describe('a cache Global Datastore, which s2m does not move', () => {
  /** config/millions.json with its cache in a Global Datastore (created in us-east-1, the primary region). */
  function withGlobalDatastore(): string {
    const c = JSON.parse(readFileSync(MILLIONS, 'utf8')) as { cache: Record<string, unknown> };
    const { immutable: _immutable, ...cache } = c.cache;
    const file = join(mkdtempSync(join(tmpdir(), 's2m-gd-')), 'config.json');
    writeFileSync(file, JSON.stringify({ ...c, cache: { ...cache, autoScaling: { enabled: false }, globalDatastore: { enabled: true } } }));
    return file;
  }
  const command = (to: string) => `aws elasticache failover-global-replication-group --region ${to} --global-replication-group-id ldgnf-shop-cache --primary-region ${to} --primary-replication-group-id shop-cache-${to}`;

  it('evacuate names the command that promotes the target region\'s cache, with its replication group from the target\'s data stack', async () => {
    const m = mocked();
    expect(await main(['evacuate', 'us-east-1', '--config', withGlobalDatastore(), '--unplanned'], m.deps)).toBe(ExitCode.ok);
    expect(m.out()).toContain('ldgnf-shop-cache: the cache\'s Global Datastore was created with its primary cache in us-east-1, and s2m does not move it: while its primary is there, the caches of the other regions refuse writes');
    expect(m.out()).toContain(`To make eu-west-1's cache the primary: ${command('eu-west-1')}`);
  });

  it('restore --writer names the command back; evacuating another region, or a config without one, says nothing of it', async () => {
    const back = mocked({ inverted: { 'us-east-1': true, 'eu-west-1': false, 'ap-southeast-1': false }, writer: { 'shop-global': 'eu-west-1' }, pendingPolls: 0 });
    expect(await main(['restore', 'us-east-1', '--config', withGlobalDatastore(), '--writer'], back.deps)).toBe(ExitCode.ok);
    expect(back.out()).toContain(`To make us-east-1's cache the primary: ${command('us-east-1')}`);
    // (planned, database left where it is: still printed, it moves nothing)
    const kept = mocked();
    expect(await main(['evacuate', 'us-east-1', '--config', withGlobalDatastore(), '--keep-database'], kept.deps)).toBe(ExitCode.ok);
    expect(kept.out()).toContain(`To make eu-west-1's cache the primary: ${command('eu-west-1')}`);
    const other = mocked();
    expect(await main(['evacuate', 'ap-southeast-1', '--config', withGlobalDatastore()], other.deps)).toBe(ExitCode.ok);
    expect(other.out()).not.toContain('Global Datastore');
    const none = mocked();
    expect(await main(['evacuate', 'us-east-1', '--config', MILLIONS], none.deps)).toBe(ExitCode.ok);
    expect(none.out()).not.toContain('Global Datastore');
  });
});

describe('s2m restore', () => {
  it('puts the region back in DNS, and with --writer switches the writer back (planned)', async () => {
    const m = mocked({ inverted: { 'us-east-1': true, 'eu-west-1': false, 'ap-southeast-1': false }, writer: { 'shop-global': 'eu-west-1' }, pendingPolls: 0 });
    expect(await main(['restore', 'us-east-1', '--config', MILLIONS, '--writer'], m.deps)).toBe(ExitCode.ok);
    expect(m.route53.commandCalls(UpdateHealthCheckCommand)[0].args[0].input).toEqual({ HealthCheckId: 'hc-us-east-1', HealthCheckVersion: 7, Inverted: false });
    expect(m.rds['eu-west-1'].commandCalls(SwitchoverGlobalClusterCommand)[0].args[0].input.TargetDbClusterIdentifier).toBe(arn('us-east-1'));
    expect(m.rds['eu-west-1'].commandCalls(ModifyDBClusterCommand)[0].args[0].input).toMatchObject({ DBClusterIdentifier: 'shop-db', EnableGlobalWriteForwarding: true });
    expect(m.out()).toMatch(/- dns\.drainedRegions: remove "us-east-1"\n {2}- database\.globalDatabase\.writerRegion: "us-east-1" \(the deploy turns the rotation of the database credentials back on, its next rotation after the interval: first clear an AWSPENDING label a failed attempt left, docs\/operations\.md\)\n$/);
  });

  it('--writer after a run that stopped once the writer was back publishes the roles: the region still published as the writer\'s forwards', async () => {
    // GIVEN the writer back in us-east-1 while eu-west-1, which held it, is still published as the primary
    const m = mocked({ writer: { 'shop-global': 'us-east-1' }, pendingPolls: 0, forwardingPolls: 0 });
    const published = publishedStore(m, 'eu-west-1');
    // WHEN restore --writer runs (again)
    expect(await main(['restore', 'us-east-1', '--config', MILLIONS, '--writer'], m.deps)).toBe(ExitCode.ok);
    // THEN no switchover, forwarding on the demoted cluster, and every region published for the writer in us-east-1
    expect(callsOf(m, SwitchoverGlobalClusterCommand)).toBe(0);
    expect(m.rds['eu-west-1'].commandCalls(ModifyDBClusterCommand)[0]?.args[0].input).toMatchObject({ DBClusterIdentifier: 'shop-db', EnableGlobalWriteForwarding: true });
    expect(published['us-east-1']!['/shop/database/role']).toBe('primary');
    expect(published['us-east-1']!['/shop/database/writer']).toBe('shop-db.cluster-x.us-east-1.rds.amazonaws.com');
    expect(published['eu-west-1']).toEqual({ '/shop/database/role': 'secondary', '/shop/database/writer': 'shop-db.cluster-ro-x.eu-west-1.rds.amazonaws.com', '/shop/database/write-forwarding': 'on' });
    expect(m.out()).toMatch(/database\.globalDatabase\.writerRegion: "us-east-1"/);
  });

  it('lists both commands in --help', async () => {
    const m = mocked();
    expect(await main(['--help'], m.deps)).toBe(ExitCode.ok);
    expect(m.out()).toMatch(/evacuate \[options\] <region>/);
    expect(m.out()).toMatch(/restore \[options\] <region>/);
  });
});
