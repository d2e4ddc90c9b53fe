export * from './work-queue';
export * from './worker-fleet';
export * from './defaults';
export * from './user-data';
