import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startServices, stopServices, type TestServices } from './services';

declare module 'vitest' {
  export interface ProvidedContext {
    services: TestServices;
    /** The integration run's scratch directory: each test file's temporary files go in a directory inside (scratch.ts). */
    integrationScratchDirectory: string;
  }
}

/**
 * Starts PostgreSQL (primary, replica, second shard), Redis (standalone, cluster) and moto once per run, and makes
 * the run's scratch directory, removed at the end with the servers: the apps the tests synthesize write their
 * assemblies under os.tmpdir(), which aws-cdk-lib never removes (about 3 MB a synth, left in /tmp by every run).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const scratch = mkdtempSync(join(tmpdir(), 's2m-integration-'));
  project.provide('integrationScratchDirectory', scratch);
  let services: TestServices;
  try {
    services = await startServices();
  } catch (e) {
    rmSync(scratch, { recursive: true, force: true });
    throw e;
  }
  project.provide('services', services);
  return async () => {
    try {
      await stopServices(services);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  };
}
