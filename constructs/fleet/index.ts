export * from './fleet';
export * from './defaults';
