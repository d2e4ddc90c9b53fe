export * from './cache-cluster';
export * from './defaults';
export * from './global-datastore';
export * from './node-types';
export * from './replacement';
export * from './windows';
