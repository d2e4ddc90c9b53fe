export * from './regional-stack';
export * from './network-stack';
export * from './data-stack';
export * from './app-stack';
export * from './edge-stack';
