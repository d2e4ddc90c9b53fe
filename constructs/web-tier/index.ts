export * from './web-tier';
export * from './defaults';
export * from './user-data';
export * from './limits';
