export * from './cross-region-parameter';
export * from './endpoints';
export * from './log-bucket';
export * from './secret-replica';
export * from './secret-rotation';
export * from './rotation-handler';
export * from './replica-sync-handler';
