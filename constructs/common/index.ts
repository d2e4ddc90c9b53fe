export * from './endpoints';
export * from './log-bucket';
