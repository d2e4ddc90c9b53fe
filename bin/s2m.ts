#!/usr/bin/env node
// Entry point of the `s2m` CLI: no logic here (see lib/capacity/cli.ts). Runs as `node dist/bin/s2m.js`
// after `npm run build`, or from source with `npx tsx bin/s2m.ts`.
import { defaultCliDeps } from '../lib/capacity/aws';
import { main } from '../lib/capacity/cli';

void main(process.argv.slice(2), defaultCliDeps()).then((code) => {
  process.exitCode = code;
});
