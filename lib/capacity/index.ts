/** The logic behind the `s2m` CLI: metric queries, headroom math, capacity planning. */
export * from './config-view';
export * from './duration';
export * from './errors';
export * from './headroom';
export * from './metrics';
export * from './plan';
export * from './plan-config';
export * from './queries';
export * from './report';
export * from './retry';
export * from './stacks';
export { PLAN_SCHEMA_VERSION, main, renderPlan, type CliDeps, type Writer } from './cli';
export { packageVersion } from './version';
export { renderReport, table } from './render';
export { defaultCliDeps } from './aws';
