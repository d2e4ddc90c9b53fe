import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';

// Each integration file (a process of its own) puts its temporary files, and the cdk.out directories of the apps it
// synthesizes, in a directory inside the run's scratch directory, which the global set-up removes when the run ends.
process.env.TMPDIR = mkdtempSync(join(inject('integrationScratchDirectory'), 'file-'));
