export * from './defaults';
export * from './session-key';
