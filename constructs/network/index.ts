export * from './network';
export * from './defaults';
