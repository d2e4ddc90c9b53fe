export * from './aurora-database';
export * from './defaults';
export * from './engine';
