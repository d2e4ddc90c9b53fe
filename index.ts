/**
 * Public entry of the scale-to-millions package: the constructs, the config types and validation, `buildApp`
 * and the reference app's stacks. Importing it loads aws-cdk-lib's modules and nothing heavier: no AWS SDK
 * client, no cdk-nag (loaded by `buildApp` only when it runs its checks), no `aws-cdk-lib/assertions`.
 *
 * The rest lives under sub-paths, each loaded only by those who use it:
 * - `scale-to-millions/runtime`: the runtime SDK for application servers (never loads aws-cdk-lib);
 * - `scale-to-millions/testing`: helpers for snapshot tests of your own stacks;
 * - `scale-to-millions/capacity`: the logic behind the `s2m` CLI (headroom, plans);
 * - `scale-to-millions/cost`: the cost estimator behind `s2m cost`.
 *
 * @module
 */
export * from './constructs';
export * from './lib/config';
export { buildApp, stackNames, type BuildAppOptions, type BuiltApp, type RegionStacks } from './lib/app';
export * from './lib/stacks';
export { OutputKeys, pascal } from './lib/outputs';
