export * from './defaults';
export * from './thresholds';
export * from './region-monitoring';
