import type { TestProject } from 'vitest/node';
import { startServices, stopServices, type TestServices } from './services';

declare module 'vitest' {
  export interface ProvidedContext {
    services: TestServices;
  }
}

/** Starts PostgreSQL (primary, replica, second shard), Redis (standalone, cluster) and moto once per run. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const services = await startServices();
  project.provide('services', services);
  return async () => stopServices(services);
}
