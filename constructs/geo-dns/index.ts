export * from './geo-dns';
export * from './defaults';
export * from './names';
