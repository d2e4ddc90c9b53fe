export * from './types';
export * from './check';
export * from './presets';
export * from './regions';
export { resolveConfig } from './validate';
export { loadConfigFile, DEFAULT_CONFIG_PATH } from './load';
export * from './sections/dns';
export * from './stage-checks';
export * from './stage-table';
