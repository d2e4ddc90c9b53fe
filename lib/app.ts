import { Annotations, Validations, type App, type IPolicyValidationPluginBeta1 } from 'aws-cdk-lib/core';
import type { IConstruct } from 'constructs';
import { resolveConfig, stageFindings, type AppConfig, type AppConfigInput } from './config';
import { AppStack, DataStack, EdgeStack, NetworkStack } from './stacks';

/** Options of {@link buildApp}. */
export interface BuildAppOptions {
  /**
   * Run the cdk-nag AwsSolutions checks at synth (findings fail the synth unless acknowledged). cdk-nag is an
   * optional peer dependency: install it (`npm i -D cdk-nag@3`) or pass `false`.
   * @default true
   */
  readonly nagChecks?: boolean;
}

/** The stacks of one region. */
export interface RegionStacks {
  readonly network: NetworkStack;
  readonly data: DataStack;
  readonly app: AppStack;
}

/** What {@link buildApp} created. */
export interface BuiltApp {
  /** The validated config the app was built from. */
  readonly config: AppConfig;
  /** Stacks per region, primary region first. */
  readonly regions: Record<string, RegionStacks>;
  /** The edge stack (us-east-1). */
  readonly edge: EdgeStack;
}

/** Stack names: `<name>-<tier>-<region>`, and `<name>-edge`. They are part of the deploy contract. */
export const stackNames = {
  network: (name: string, region: string) => `${name}-network-${region}`,
  data: (name: string, region: string) => `${name}-data-${region}`,
  app: (name: string, region: string) => `${name}-app-${region}`,
  edge: (name: string) => `${name}-edge`,
};

/**
 * Creates the whole reference app in `app`: for every region a network, data and app stack, and the edge
 * stack in us-east-1, wired by stack dependencies (network → data → app → edge; the primary region's data
 * stack first). Validates `config` first: nothing is created when it is invalid.
 */
export function buildApp(app: App, config: AppConfigInput | AppConfig, options: BuildAppOptions = {}): BuiltApp {
  const resolved = resolveConfig(config);
  const regions: Record<string, RegionStacks> = {};
  let primaryData: DataStack | undefined;
  for (const regionConfig of resolved.regions) {
    const { region } = regionConfig;
    const common = { config: resolved, regionConfig };
    const network = new NetworkStack(app, stackNames.network(resolved.name, region), common);
    const data = new DataStack(app, stackNames.data(resolved.name, region), {
      ...common,
      vpc: network.vpc,
      ...(network.secretsManagerEndpoint ? { secretsManagerEndpoint: network.secretsManagerEndpoint } : {}),
    });
    // Explicit: until a tier references the VPC, nothing else would order the data stack after the network.
    data.addStackDependency(network, 'stateful resources live in the region\'s VPC');
    if (primaryData) data.addStackDependency(primaryData, 'the primary region\'s data stack holds the writers and global resources');
    else primaryData = data;
    const appStack = new AppStack(app, stackNames.app(resolved.name, region), {
      ...common,
      vpc: network.vpc,
      endpointProviders: data.endpointProviders,
      webEndpointProviders: [data.sessionKey],
      workQueues: data.workQueues,
      cache: data.cache,
      database: data.database,
      ...(data.shardedDatabase ? { shards: data.shardedDatabase.shards.slice(1).map((s) => ({ id: s.id, database: s.database })) } : {}),
      // Where the writer is not: lag is published for secondaries only, and `s2m evacuate` moves the writer.
      databaseIsGlobalSecondary: resolved.database.globalDatabase.enabled && region !== resolved.database.globalDatabase.writerRegion,
      secretRotations: data.secretRotations,
    });
    appStack.addStackDependency(data, 'fleets read the data tier\'s endpoints');
    regions[region] = { network, data, app: appStack };
  }
  const edge = new EdgeStack(app, stackNames.edge(resolved.name), {
    config: resolved,
    // The regions with DNS records: their app stacks publish the endpoint health check's id the edge alarms on.
    healthCheckRegions: Object.entries(regions).filter(([, r]) => r.app.dns !== undefined).map(([region]) => region),
  });
  for (const r of Object.values(regions)) edge.addStackDependency(r.app, 'CloudFront routes to the regional load balancers');

  // A stage's minimums are advice, not errors: each finding is a warning with an id users can acknowledge.
  for (const f of stageFindings(resolved)) {
    const stack = f.tier === 'edge' ? edge : regions[f.region ?? resolved.primaryRegion][f.tier ?? 'app'];
    Annotations.of(stack).addWarningV2(f.id, f.message);
  }

  if (options.nagChecks ?? true) Validations.of(app).addPlugins(new (loadCdkNag().AwsSolutionsChecks)(app));
  return { config: resolved, regions, edge };
}

/**
 * The part of cdk-nag `buildApp` uses. Typed here rather than with cdk-nag's declarations, which import the root of
 * aws-cdk-lib and so have every TypeScript compile that sees them parse all of aws-cdk-lib's (about 1 M lines).
 */
export interface CdkNagChecks {
  /** cdk-nag's AWS Solutions rule pack, a policy validation plugin. */
  readonly AwsSolutionsChecks: new (scope: IConstruct) => IPolicyValidationPluginBeta1;
}

/**
 * cdk-nag, loaded only when `buildApp` runs its checks: importing a construct never loads it, and a user who
 * turns the checks off needs no copy of it.
 */
export function loadCdkNag(): CdkNagChecks {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('cdk-nag') as CdkNagChecks;
  } catch (e) {
    throw new Error('buildApp: nagChecks is on (the default) but cdk-nag is not installed: `npm install --save-dev cdk-nag@3`, or pass { nagChecks: false }', { cause: e });
  }
}
