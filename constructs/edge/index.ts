export * from './defaults';
export * from './origin-verify';
export * from './web-acl';
export * from './edge-distribution';
