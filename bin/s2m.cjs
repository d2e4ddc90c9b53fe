#!/usr/bin/env node
// `npx s2m`: runs the compiled CLI when the package is installed (dist/), or the TypeScript source
// through tsx in a checkout of this repository (no build step needed for developers).
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const compiled = join(__dirname, '..', 'dist', 'bin', 's2m.js');
if (existsSync(compiled)) {
  require(compiled);
} else {
  require('tsx/cjs');
  require('./s2m.ts');
}
