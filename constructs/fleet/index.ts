export * from './fleet';
export * from './defaults';
export * from './application-source';
export * from './amazon-linux';
