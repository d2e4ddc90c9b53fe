export * from './defaults';
export * from './sharded-database';
