export * from './endpoints';
export * from './log-bucket';
export * from './secret-replica';
