export * from './common';
export * from './network';
export * from './fleet';
export * from './web-tier';
export * from './cache';
export * from './work-queue';
export * from './monitoring';
