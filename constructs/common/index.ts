export * from './endpoints';
export * from './secret-replica';
