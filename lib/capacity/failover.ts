/**
 * `s2m evacuate` and `s2m restore`: take a region out of DNS (invert its Route 53 drain switch) and, when it holds
 * the writer of an Aurora Global Database, move the writer (planned switchover, or unplanned failover that may lose
 * the writes in flight); then enable write forwarding on the demoted cluster and rewrite every region's published
 * `database/role`, `writer` and `write-forwarding`, so the runtime writes to the right place at once. A cache Global
 * Datastore is not moved: the command that promotes the target region's cache is printed. Every AWS call goes through
 * clients given as parameters; a dry run only reads and prints what it would do.
 */
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import {
  DescribeDBClustersCommand,
  DescribeGlobalClustersCommand,
  FailoverGlobalClusterCommand,
  ModifyDBClusterCommand,
  SwitchoverGlobalClusterCommand,
  type GlobalCluster,
  type RDSClient,
} from '@aws-sdk/client-rds';
import { GetHealthCheckCommand, UpdateHealthCheckCommand, type Route53Client } from '@aws-sdk/client-route-53';
import { GetParameterCommand, PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import type { AppConfig } from '../config';
import { DATABASE_KEYS, shardPrefix, tierPrefix } from '../runtime/contract';
import { CliError, ExitCode, classifyAwsError } from './errors';
import type { Clock } from './retry';
import { cliStackNames, readStackOutputs } from './stacks';
import { OutputKeys } from '../outputs';

/** The clients and clock the commands use. */
export interface FailoverDeps {
  readonly cloudFormation: (region: string) => CloudFormationClient;
  /** Route 53 is global (its API lives in us-east-1). */
  readonly route53: () => Route53Client;
  readonly rds: (region: string) => RDSClient;
  readonly ssm: (region: string) => SSMClient;
  readonly clock: Clock;
  /** One line of output (plan or progress). */
  readonly log: (line: string) => void;
}

/** What `evacuate` does. */
export interface EvacuateOptions {
  /** The region to take out of service. */
  readonly region: string;
  /** Where the writer goes. @default - with failover routing, the other region of `dns.failover`; else the first other configured region (config order) */
  readonly to?: string;
  /** Fail over without waiting for the target to catch up (the region is down): writes in flight are lost. @default false */
  readonly unplanned?: boolean;
  /** Leave DNS alone (move the database only). @default false */
  readonly keepDns?: boolean;
  /** Leave the database alone (drain DNS only). @default false */
  readonly keepDatabase?: boolean;
  /** Print what would be done; make no change. @default false */
  readonly dryRun?: boolean;
  /** Longest wait for a switchover or failover to finish, in seconds. @default 1800 */
  readonly timeoutSeconds?: number;
}

/** One Aurora Global Database of the app: shard 0 and each further shard has its own. */
interface GlobalDatabase {
  /** `<name>-global[-<shard>]`. */
  readonly globalId: string;
  /** `<name>-db[-<shard>]`, identical in every region. */
  readonly clusterId: string;
  /** SSM prefix of its published endpoints. */
  readonly parameterPrefix: string;
}

/** Every global database of the config (none without `database.globalDatabase.enabled`). */
export function globalDatabases(config: AppConfig): GlobalDatabase[] {
  if (!config.database.globalDatabase.enabled) return [];
  const prefix = `/${config.name}`;
  return config.database.shards.map((s, i) => (i === 0
    ? { globalId: `${config.name}-global`, clusterId: `${config.name}-db`, parameterPrefix: tierPrefix(prefix, 'database') }
    : { globalId: `${config.name}-global-${s.id}`, clusterId: `${config.name}-db-${s.id}`, parameterPrefix: shardPrefix(prefix, s.id) }));
}

const POLL_MS = 15_000;

/** The region of an RDS cluster ARN (`arn:aws:rds:<region>:<account>:cluster:<id>`). */
function arnRegion(arn: string): string {
  return arn.split(':')[3];
}

async function call<T>(what: { region: string; action: string }, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw classifyAwsError(e, what);
  }
}

/**
 * The region's drain switch (its app stack's `DrainHealthCheckId` output) and whether it is inverted. Draining inverts
 * the switch, never the endpoint check: an inverted endpoint check turns healthy when the region fails.
 */
async function healthCheckOf(config: AppConfig, region: string, deps: FailoverDeps): Promise<{ id: string; inverted: boolean; version: number }> {
  const stack = cliStackNames.app(config.name, region);
  const outputs = await readStackOutputs(deps.cloudFormation(region), region, stack, { clock: deps.clock });
  const id = outputs[OutputKeys.drainHealthCheckId];
  if (!id) {
    throw new CliError(`stack ${stack} has no ${OutputKeys.drainHealthCheckId} output: deploy it with this version (and a domain) first (earlier versions drained by inverting the endpoint check, which a failing region turns healthy again)`, ExitCode.stackMissing);
  }
  const out = await call({ region: 'us-east-1', action: 'route53:GetHealthCheck' }, () => deps.route53().send(new GetHealthCheckCommand({ HealthCheckId: id })));
  return { id, inverted: out.HealthCheck?.HealthCheckConfig?.Inverted ?? false, version: out.HealthCheck?.HealthCheckVersion ?? 1 };
}

async function setInverted(hc: { id: string; version: number }, inverted: boolean, deps: FailoverDeps): Promise<void> {
  await call({ region: 'us-east-1', action: 'route53:UpdateHealthCheck' }, () => deps.route53().send(new UpdateHealthCheckCommand({
    HealthCheckId: hc.id, HealthCheckVersion: hc.version, Inverted: inverted,
  })));
}

async function describeGlobal(db: GlobalDatabase, region: string, deps: FailoverDeps): Promise<GlobalCluster> {
  const out = await call({ region, action: 'rds:DescribeGlobalClusters' }, () => deps.rds(region).send(new DescribeGlobalClustersCommand({ GlobalClusterIdentifier: db.globalId })));
  const g = out.GlobalClusters?.[0];
  if (!g) throw new CliError(`global cluster ${db.globalId} not found from ${region}`, ExitCode.stackMissing);
  return g;
}

function writerRegion(g: GlobalCluster): string | undefined {
  const writer = g.GlobalClusterMembers?.find((m) => m.IsWriter);
  return writer?.DBClusterArn ? arnRegion(writer.DBClusterArn) : undefined;
}

/** Moves the writer of `db` from `from` to `to` and waits until `to` holds it. */
async function moveWriter(db: GlobalDatabase, from: string, to: string, opts: EvacuateOptions, deps: FailoverDeps): Promise<void> {
  const g = await describeGlobal(db, to, deps);
  const target = g.GlobalClusterMembers?.find((m) => m.DBClusterArn && arnRegion(m.DBClusterArn) === to)?.DBClusterArn;
  if (!target) throw new CliError(`global cluster ${db.globalId} has no member in ${to}`, ExitCode.region);
  const how = opts.unplanned ? 'fail over (unplanned: the writes not yet replicated to the target are lost)' : 'switch over (planned: waits for the target to catch up, no data loss)';
  deps.log(`${opts.dryRun ? 'would ' : ''}${how} ${db.globalId}: writer ${from} → ${to} (${target})`);
  if (!opts.dryRun) {
    // As the Aurora User Guide calls them: a switchover in the region of the current writer (the primary is healthy),
    // a failover in the region of the secondary it promotes (the primary's region may be down).
    const at = opts.unplanned ? to : from;
    await call({ region: at, action: opts.unplanned ? 'rds:FailoverGlobalCluster' : 'rds:SwitchoverGlobalCluster' }, () => deps.rds(at).send(opts.unplanned
      ? new FailoverGlobalClusterCommand({ GlobalClusterIdentifier: db.globalId, TargetDbClusterIdentifier: target, AllowDataLoss: true })
      : new SwitchoverGlobalClusterCommand({ GlobalClusterIdentifier: db.globalId, TargetDbClusterIdentifier: target })));
    const deadline = deps.clock.now().getTime() + (opts.timeoutSeconds ?? 1800) * 1000;
    for (;;) {
      const now = await describeGlobal(db, to, deps);
      if (writerRegion(now) === to && (now.Status ?? 'available') === 'available' && !now.FailoverState?.Status) break;
      if (deps.clock.now().getTime() >= deadline) {
        throw new CliError(`${db.globalId} did not finish moving its writer to ${to} within ${opts.timeoutSeconds ?? 1800} s (status ${now.Status}, ${now.FailoverState?.Status ?? 'no failover state'}): check the RDS console, then rerun`, ExitCode.aws);
      }
      deps.log(`  waiting: ${db.globalId} ${now.Status}${now.FailoverState?.Status ? `, ${now.FailoverState.Status}` : ''}`);
      await deps.clock.sleep(POLL_MS);
    }
  }
}

/**
 * Waits until RDS reports write forwarding enabled on `db`'s cluster in `region` (turned on just before, now that the
 * region is a secondary), at most `timeoutSeconds`.
 *
 * @returns whether it is enabled
 */
async function forwardingEnabled(db: GlobalDatabase, region: string, opts: { timeoutSeconds?: number }, deps: FailoverDeps): Promise<boolean> {
  const deadline = deps.clock.now().getTime() + (opts.timeoutSeconds ?? 1800) * 1000;
  for (;;) {
    const out = await call({ region, action: 'rds:DescribeDBClusters' }, () => deps.rds(region).send(new DescribeDBClustersCommand({ DBClusterIdentifier: db.clusterId })));
    const status = out.DBClusters?.[0]?.GlobalWriteForwardingStatus ?? 'unknown';
    if (status === 'enabled') return true;
    if (deps.clock.now().getTime() >= deadline) return false;
    deps.log(`  waiting: write forwarding on ${db.clusterId} in ${region} is ${status}`);
    await deps.clock.sleep(POLL_MS);
  }
}

/**
 * Writes the published role, writer and write-forwarding of `db` in every region, for the writer in `writer`: the new
 * writer's region first, then the others. `demoted` is the region that held the writer, where write forwarding was
 * just turned on: its values wait until RDS reports forwarding enabled, so that its processes never read a forwarding
 * secondary whose writes the cluster still refuses.
 *
 * A running process reads the three parameters whenever it refreshes, possibly between two of these writes. The order
 * keeps every state it can read one where a write fails with the writer's error (SQLSTATE 25006, which makes the
 * runtime read the topology again at once) rather than one where the region seems to take no writes at all
 * (`secondary` with forwarding `off`: writes refused by the SDK itself, read again only at the next periodic
 * refresh). A region becoming the writer's gets its role first, then its writer, then forwarding off; a region
 * becoming a forwarding secondary gets its writer (the reader endpoint) and forwarding on first, its role last.
 */
async function publishRoles(config: AppConfig, db: GlobalDatabase, writer: string, skip: string | undefined, opts: { dryRun?: boolean; timeoutSeconds?: number }, deps: FailoverDeps, demoted?: string): Promise<string | undefined> {
  const forwarding = config.database.globalDatabase.writeForwarding;
  const regions = config.regions.map((x) => x.region);
  let notForwarding: { region: string; commands: string[] } | undefined;
  for (const r of [writer, ...regions.filter((x) => x !== writer)]) {
    if (r === skip) {
      deps.log(`  skipped ${db.parameterPrefix} in ${r} (unreachable in an unplanned failover): deploy its data stack once it is back`);
      continue;
    }
    const cluster = await call({ region: r, action: 'rds:DescribeDBClusters' }, () => deps.rds(r).send(new DescribeDBClustersCommand({ DBClusterIdentifier: db.clusterId })));
    const c = cluster.DBClusters?.[0];
    if (!c?.Endpoint || !c.ReaderEndpoint) throw new CliError(`cluster ${db.clusterId} in ${r} has no endpoints`, ExitCode.aws);
    const primary = r === writer;
    let forwards = !primary && forwarding;
    if (forwards && r === demoted) {
      if (opts.dryRun) deps.log(`would wait until write forwarding is enabled on ${db.clusterId} in ${r}, then publish its role`);
      else if (!(await forwardingEnabled(db, r, opts, deps))) {
        // Published as a secondary without forwarding (its writes fail at once, saying so) instead of a forwarding one
        // whose every write the cluster refuses; the operator publishes forwarding once RDS has turned it on.
        forwards = false;
        const name = (key: string) => `${db.parameterPrefix}/${key}`;
        notForwarding = {
          region: r,
          commands: [
            `aws ssm put-parameter --region ${r} --overwrite --type String --name ${name(DATABASE_KEYS.writer)} --value ${c.ReaderEndpoint}`,
            `aws ssm put-parameter --region ${r} --overwrite --type String --name ${name(DATABASE_KEYS.writeForwarding)} --value on`,
          ],
        };
      }
    }
    const values: Array<[string, string]> = primary
      ? [[DATABASE_KEYS.role, 'primary'], [DATABASE_KEYS.writer, c.Endpoint], [DATABASE_KEYS.writeForwarding, 'off']]
      : [[DATABASE_KEYS.writer, forwards ? c.ReaderEndpoint : c.Endpoint], [DATABASE_KEYS.writeForwarding, forwards ? 'on' : 'off'], [DATABASE_KEYS.role, 'secondary']];
    for (const [key, value] of values) {
      const name = `${db.parameterPrefix}/${key}`;
      deps.log(`${opts.dryRun ? 'would set' : 'set'} ${name} = ${value} in ${r}`);
      if (!opts.dryRun) {
        await call({ region: r, action: 'ssm:PutParameter' }, () => deps.ssm(r).send(new PutParameterCommand({ Name: name, Value: value, Type: 'String', Overwrite: true })));
      }
    }
  }
  if (notForwarding === undefined) return undefined;
  return `The writer of ${db.globalId} moved to ${writer}, but write forwarding on ${db.clusterId} in ${notForwarding.region} was not enabled within ${opts.timeoutSeconds ?? 1800} s: ${notForwarding.region} is published as a secondary without forwarding (its writes fail with WriteUnavailableError). Once \`aws rds describe-db-clusters --region ${notForwarding.region} --db-cluster-identifier ${db.clusterId}\` shows GlobalWriteForwardingStatus "enabled", publish it: ${notForwarding.commands.join(' && ')}.`;
}

/**
 * A value `db` publishes in `region` (`<prefix>/<key>`), or undefined when it cannot be read (not published, not
 * allowed, the region unreachable): a read that says nothing.
 */
async function publishedValue(db: GlobalDatabase, region: string, key: string, deps: FailoverDeps): Promise<string | undefined> {
  try {
    const out = await deps.ssm(region).send(new GetParameterCommand({ Name: `${db.parameterPrefix}/${key}` }));
    return out?.Parameter?.Value;
  } catch {
    return undefined;
  }
}

/**
 * Whether what `db` publishes disagrees with where its writer is (`writer`): the writer's region not published as the
 * primary with its cluster endpoint, or another region still published as the primary. A run that stopped after the
 * writer moved (a switchover that outlasted `--timeout`, whose error says to rerun; a PutParameter that failed) or a
 * move made by hand leaves it so, and then the writer's region forwards its writes to replicas that refuse them and the
 * demoted region writes to an endpoint that no longer takes writes: until the roles are published, neither writes.
 * Values that cannot be read count as agreeing (nothing is rewritten on a guess); `skip` (a region that is down) is not
 * read.
 *
 * @returns whether to publish again, and the region still published as the writer's (it was demoted), if any
 */
async function publishedDisagrees(config: AppConfig, db: GlobalDatabase, writer: string, skip: string | undefined, deps: FailoverDeps): Promise<{ stale: boolean; demoted?: string }> {
  const role = await publishedValue(db, writer, DATABASE_KEYS.role, deps);
  const endpoint = await publishedValue(db, writer, DATABASE_KEYS.writer, deps);
  let stale = role !== undefined && role !== 'primary';
  if (!stale && endpoint !== undefined) {
    const cluster = await call({ region: writer, action: 'rds:DescribeDBClusters' }, () => deps.rds(writer).send(new DescribeDBClustersCommand({ DBClusterIdentifier: db.clusterId })));
    const actual = cluster?.DBClusters?.[0]?.Endpoint;
    stale = actual !== undefined && endpoint !== actual;
  }
  let demoted: string | undefined;
  for (const r of config.regions.map((x) => x.region)) {
    if (r === writer || r === skip) continue;
    if ((await publishedValue(db, r, DATABASE_KEYS.role, deps)) === 'primary') {
      stale = true;
      demoted ??= r;
    }
  }
  return { stale, ...(demoted !== undefined ? { demoted } : {}) };
}

/**
 * Fails the command, once everything else was done, when write forwarding was not enabled in time on a demoted
 * cluster: with how to finish each, and the config edits (which the next deploy needs whatever happened).
 */
function failUnfinished(unfinished: readonly string[], edits: readonly string[]): void {
  if (unfinished.length === 0) return;
  throw new CliError(`${unfinished.join(' ')} Config edits to make before the next deploy: ${edits.join('; ')}`, ExitCode.aws);
}

/**
 * `step`, and when it fails after a demoted cluster's forwarding was left unfinished, its error with how to finish
 * that too (and the config edits so far): the error alone would hide them.
 */
async function withUnfinished(unfinished: readonly string[], edits: readonly string[], step: () => Promise<void>): Promise<void> {
  try {
    await step();
  } catch (e) {
    if (unfinished.length === 0) throw e;
    const why = e instanceof Error ? e.message : String(e);
    throw new CliError(`${why}. Before that: ${unfinished.join(' ')} Config edits to make before the next deploy: ${edits.join('; ')}`, e instanceof CliError ? e.exitCode : ExitCode.aws);
  }
}

/**
 * The config edit that records where the writer is, with what deploying it does to the rotation of the database
 * credentials: the secret and its rotation live in the primary region, whose cluster sets each new password, so the
 * rotation pauses while the writer is elsewhere (AuroraDatabase leaves it out of a primary that does not hold the
 * writer) and comes back with the writer.
 */
function writerRegionEdit(config: AppConfig, region: string): string {
  const rotation = region === config.primaryRegion
    ? 'the deploy turns the rotation of the database credentials back on, its next rotation after the interval: first clear an AWSPENDING label a failed attempt left, docs/operations.md'
    : `the deploy pauses the rotation of the database credentials until the writer is back in ${config.primaryRegion}, whose cluster sets each new password`;
  return `database.globalDatabase.writerRegion: "${region}" (${rotation})`;
}

function checkRegion(config: AppConfig, region: string, what: string): void {
  const regions = config.regions.map((r) => r.region);
  if (!regions.includes(region)) throw new CliError(`${what} ${region} is not in the config (regions: ${regions.join(', ')})`, ExitCode.region);
}

/**
 * What to do about the cache's Global Datastore when the writer leaves the region that created it (`s2m evacuate`) or
 * comes back to it (`s2m restore --writer`): `s2m` has no ElastiCache client and does not move the Global Datastore's
 * primary, so it names the command that promotes `to`'s replication group (read from `to`'s data stack, which a down
 * region does not hinder). Nothing without a Global Datastore, or when the creating region is not involved.
 */
async function globalDatastoreAdvice(config: AppConfig, move: { readonly evacuated: string } | { readonly restored: string }, to: string, deps: FailoverDeps): Promise<void> {
  const g = config.cache.globalDatastore;
  const creator = config.primaryRegion;
  if (!g || ('evacuated' in move ? move.evacuated !== creator : move.restored !== creator)) return;
  let group = `<${OutputKeys.cacheReplicationGroupId} of ${cliStackNames.data(config.name, to)}>`;
  try {
    const outputs = await readStackOutputs(deps.cloudFormation(to), to, cliStackNames.data(config.name, to), { clock: deps.clock });
    group = outputs[OutputKeys.cacheReplicationGroupId] ?? group;
  } catch {
    // The command still names the Global Datastore and the region; the group is then read by hand.
  }
  const where = 'evacuated' in move
    ? `was created with its primary cache in ${creator}, and s2m does not move it: while its primary is there, the caches of the other regions refuse writes (the runtime serves their hits and loads their misses; sessions and idempotency keys kept in the cache cannot be written)`
    : `has its primary cache where s2m evacuate's advice moved it, if it was followed, and s2m does not move it back`;
  deps.log(`${g.globalReplicationGroupId}: the cache's Global Datastore ${where}. To make ${to}'s cache the primary: aws elasticache failover-global-replication-group --region ${to} --global-replication-group-id ${g.globalReplicationGroupId} --primary-region ${to} --primary-replication-group-id ${group}`);
}

/**
 * Takes `opts.region` out of service: its DNS (its drain switch inverted, unless `keepDns`) and, when it holds
 * the writer of a global database, the writer (moved to `opts.to`). Returns the config edits to make before the next
 * deploy (which would otherwise undo them).
 */
export async function evacuate(config: AppConfig, opts: EvacuateOptions, deps: FailoverDeps): Promise<string[]> {
  const regions = config.regions.map((r) => r.region);
  checkRegion(config, opts.region, 'region');
  // Active-passive DNS: the writer goes to the other region the failover records name, the only other one users reach.
  const failover = config.dns.routing === 'failover' ? config.dns.failover : undefined;
  const to = opts.to ?? (failover && [failover.primary, failover.secondary].includes(opts.region)
    ? (failover.primary === opts.region ? failover.secondary : failover.primary)
    : regions.find((r) => r !== opts.region));
  if (!to) throw new CliError('a single-region app has nowhere to move to', ExitCode.usage);
  checkRegion(config, to, '--to region');
  if (to === opts.region) throw new CliError(`--to must differ from the region evacuated (got: ${to})`, ExitCode.usage);
  const edits: string[] = [];
  // Demoted clusters whose write forwarding was not enabled in time: how to finish each (see failUnfinished).
  const unfinished: string[] = [];

  const drainDns = async (): Promise<void> => {
    if (opts.keepDns) return;
    if (!config.domain) throw new CliError('the config has no domain: there are no DNS records to drain (use --keep-dns)', ExitCode.config);
    // The regions with DNS records (and so a drain switch): with failover routing, the failover pair only.
    const routed = failover ? [failover.primary, failover.secondary] : regions;
    if (!routed.includes(opts.region)) {
      deps.log(`${opts.region} has no DNS records (failover routing answers with ${failover!.primary} and ${failover!.secondary} only): nothing to drain`);
      return;
    }
    const checks = await Promise.all(routed.map(async (r) => [r, await healthCheckOf(config, r, deps)] as const));
    const mine = checks.find(([r]) => r === opts.region)![1];
    if (checks.every(([r, hc]) => r === opts.region || hc.inverted)) {
      throw new CliError(`every other region is drained already: draining ${opts.region} too would leave Route 53 answering as if all were healthy`, ExitCode.usage);
    }
    if (mine.inverted) deps.log(`${opts.region} is out of DNS already (drain switch ${mine.id} inverted)`);
    else {
      deps.log(`${opts.dryRun ? 'would invert' : 'inverted'} drain switch ${mine.id}: Route 53 routes around ${opts.region} (resolvers follow within the TTL)`);
      if (!opts.dryRun) await setInverted(mine, true, deps);
    }
    edits.push(`dns.drainedRegions: add "${opts.region}" (a deploy of its app stack would otherwise put it back)`);
  };

  const moveDatabases = async (): Promise<void> => {
    if (opts.keepDatabase) return;
    const dbs = globalDatabases(config);
    if (dbs.length === 0) deps.log('no global database: nothing to move (each region has its own)');
    await withUnfinished(unfinished, edits, async () => {
      for (const db of dbs) {
        const g = await describeGlobal(db, to, deps);
        const from = writerRegion(g);
        // The region the move demoted: the evacuated one, or, finishing a move made by hand from elsewhere, the region
        // still published as the writer's.
        let demoted = opts.region;
        if (from !== opts.region) {
          // Already in the target: an earlier run may have stopped after the move (its error says to rerun), leaving the
          // roles published for the old writer. Finish it then; otherwise there is nothing to do.
          const published = from === to ? await publishedDisagrees(config, db, to, opts.unplanned ? opts.region : undefined, deps) : { stale: false };
          if (!published.stale) {
            deps.log(`${db.globalId}: the writer is in ${from ?? 'no region (a failover is under way?)'}, not ${opts.region}: nothing to move`);
            continue;
          }
          if (published.demoted !== undefined && !opts.unplanned) demoted = published.demoted;
          deps.log(`${db.globalId}: the writer is in ${to} already, but the published roles still name another region (a run that stopped after the move, or a move by hand): ${opts.dryRun ? 'would finish' : 'finishing'} the move${demoted !== opts.region ? ` from ${demoted}, still published as the writer's region` : ''}`);
        } else {
          await moveWriter(db, opts.region, to, opts, deps);
        }
        if (config.database.globalDatabase.writeForwarding && !opts.unplanned) {
          deps.log(`${opts.dryRun ? 'would enable' : 'enable'} write forwarding on ${db.clusterId} in ${demoted} (now a secondary)`);
          if (!opts.dryRun) {
            await call({ region: demoted, action: 'rds:ModifyDBCluster' }, () => deps.rds(demoted).send(new ModifyDBClusterCommand({
              DBClusterIdentifier: db.clusterId, EnableGlobalWriteForwarding: true, ApplyImmediately: true,
            })));
          }
        }
        const forwardingTurnedOn = config.database.globalDatabase.writeForwarding && !opts.unplanned;
        const left = await publishRoles(config, db, to, opts.unplanned ? opts.region : undefined, opts, deps, forwardingTurnedOn ? demoted : undefined);
        if (left !== undefined) unfinished.push(left);
        if (!edits.some((e) => e.startsWith('database.globalDatabase.writerRegion'))) {
          edits.push(writerRegionEdit(config, to));
          // Without forwarding the active region must hold the writer (the config check says so): swap the roles.
          if (failover && !config.database.globalDatabase.writeForwarding && failover.primary === opts.region) {
            edits.push(`dns.failover: { "primary": "${to}", "secondary": "${opts.region}" }`);
          }
        }
      }
    });
  };

  if (!opts.unplanned) {
    await drainDns();
    await moveDatabases();
    await globalDatastoreAdvice(config, { evacuated: opts.region }, to, deps);
    failUnfinished(unfinished, edits);
    return edits;
  }
  // Unplanned: the region is down, and so may be its CloudFormation endpoint (and Route 53's control plane, in
  // us-east-1). The writer moves first; a DNS step that then fails does not undo that, and says how to finish.
  await moveDatabases();
  await globalDatastoreAdvice(config, { evacuated: opts.region }, to, deps);
  try {
    await drainDns();
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new CliError(`the writer moved to ${to}, but ${opts.region} could not be drained from DNS: ${why}. Route 53 routes around it while its health check fails; to keep it out once it answers again, invert its drain switch (the ${OutputKeys.drainHealthCheckId} output of ${cliStackNames.app(config.name, opts.region)}): aws route53 update-health-check --health-check-id <id> --inverted. Config edits to make before the next deploy: ${[...edits, `dns.drainedRegions: add "${opts.region}"`].join('; ')}`, e instanceof CliError ? e.exitCode : ExitCode.aws);
  }
  return edits;
}

/** What `restore` does. */
export interface RestoreOptions {
  readonly region: string;
  /** Also move the writer back to the region (planned switchover). @default false */
  readonly writer?: boolean;
  readonly dryRun?: boolean;
  readonly timeoutSeconds?: number;
}

/** Puts `opts.region` back in DNS and, with `writer`, moves the writer back to it (planned). */
export async function restore(config: AppConfig, opts: RestoreOptions, deps: FailoverDeps): Promise<string[]> {
  checkRegion(config, opts.region, 'region');
  const edits: string[] = [];
  const unfinished: string[] = [];
  // Active-passive DNS without forwarding: failover routing answers with the primary record whenever it is healthy, so
  // putting that region back without the writer would send every user to a region that cannot write.
  const failover = config.dns.routing === 'failover' ? config.dns.failover : undefined;
  if (config.domain && !opts.writer && failover?.primary === opts.region && !config.database.globalDatabase.writeForwarding) {
    for (const db of globalDatabases(config)) {
      const from = writerRegion(await describeGlobal(db, opts.region, deps));
      if (from !== opts.region) {
        throw new CliError(`${opts.region} is the failover primary of DNS, and ${db.globalId}'s writer is in ${from ?? 'no region'}: without write forwarding, users sent back to ${opts.region} could not write. Pass --writer to move the writer back too, or keep it drained (and make ${from ?? 'the writer\'s region'} dns.failover.primary)`, ExitCode.usage);
      }
    }
  }
  if (config.domain && failover && ![failover.primary, failover.secondary].includes(opts.region)) {
    deps.log(`${opts.region} has no DNS records (failover routing answers with ${failover.primary} and ${failover.secondary} only): nothing to put back`);
  } else if (config.domain) {
    const hc = await healthCheckOf(config, opts.region, deps);
    if (!hc.inverted) deps.log(`${opts.region} is in DNS already (drain switch ${hc.id} not inverted)`);
    else {
      deps.log(`${opts.dryRun ? 'would restore' : 'restored'} drain switch ${hc.id}: Route 53 sends users to ${opts.region} again once it passes`);
      if (!opts.dryRun) await setInverted(hc, false, deps);
    }
    edits.push(`dns.drainedRegions: remove "${opts.region}"`);
  }
  if (opts.writer) {
    await withUnfinished(unfinished, edits, async () => {
      for (const db of globalDatabases(config)) {
        const g = await describeGlobal(db, opts.region, deps);
        const current = writerRegion(g);
        let from: string;
        if (!current) {
          deps.log(`${db.globalId}: the writer is in no region already`);
          continue;
        } else if (current === opts.region) {
          // Back already: an earlier run may have stopped after the move, leaving the roles published for the old writer
          // (the region still published as the primary is the one that was demoted).
          const published = await publishedDisagrees(config, db, opts.region, undefined, deps);
          if (!published.stale || published.demoted === undefined) {
            if (published.stale) {
              deps.log(`${db.globalId}: the writer is in ${opts.region} already, but the published roles disagree: ${opts.dryRun ? 'would publish' : 'publishing'} them again`);
              const left = await publishRoles(config, db, opts.region, undefined, opts, deps);
              if (left !== undefined) unfinished.push(left);
              if (!edits.some((e) => e.startsWith('database.globalDatabase.writerRegion'))) edits.push(writerRegionEdit(config, opts.region));
            } else {
              deps.log(`${db.globalId}: the writer is in ${opts.region} already`);
            }
            continue;
          }
          from = published.demoted;
          deps.log(`${db.globalId}: the writer is in ${opts.region} already, but ${from} is still published as its region (a run that stopped after the move, or a move by hand): ${opts.dryRun ? 'would finish' : 'finishing'} the move`);
        } else {
          from = current;
          await moveWriter(db, from, opts.region, { region: from, dryRun: opts.dryRun, timeoutSeconds: opts.timeoutSeconds }, deps);
        }
        if (config.database.globalDatabase.writeForwarding) {
          deps.log(`${opts.dryRun ? 'would enable' : 'enable'} write forwarding on ${db.clusterId} in ${from} (now a secondary)`);
          if (!opts.dryRun) {
            await call({ region: from, action: 'rds:ModifyDBCluster' }, () => deps.rds(from).send(new ModifyDBClusterCommand({
              DBClusterIdentifier: db.clusterId, EnableGlobalWriteForwarding: true, ApplyImmediately: true,
            })));
          }
        }
        const left = await publishRoles(config, db, opts.region, undefined, opts, deps, config.database.globalDatabase.writeForwarding ? from : undefined);
        if (left !== undefined) unfinished.push(left);
        if (!edits.some((e) => e.startsWith('database.globalDatabase.writerRegion'))) edits.push(writerRegionEdit(config, opts.region));
      }
    });
    await globalDatastoreAdvice(config, { restored: opts.region }, opts.region, deps);
  }
  failUnfinished(unfinished, edits);
  return edits;
}
