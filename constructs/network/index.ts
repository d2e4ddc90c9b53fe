export * from './network';
export * from './defaults';
export * from './nat-instances';
