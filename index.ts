// Public entry of the scale-to-millions package.
export * from './constructs';
export * from './lib/config';
export { buildApp, stackNames, type BuildAppOptions, type BuiltApp, type RegionStacks } from './lib/app';
export * from './lib/stacks';
export * as testing from './lib/testing';
export { OutputKeys, pascal } from './lib/outputs';
export * as capacity from './lib/capacity';
export * as cost from './lib/cost';
export * as runtime from './lib/runtime';
export { ShardRouter, ShardMapLoader, parseShardMap, planResharding } from './lib/runtime';
