// `npx tsx scripts/stages.ts`: rewrites the stage table in docs/stages.md from lib/config/presets.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderStageTable } from '../lib/config';

const file = join(__dirname, '..', 'docs', 'stages.md');
const text = readFileSync(file, 'utf8');
const start = '<!-- stage-table:start -->\n';
const end = '<!-- stage-table:end -->';
const i = text.indexOf(start);
const j = text.indexOf(end);
if (i < 0 || j < i) throw new Error(`${file}: markers ${start.trim()} … ${end} not found`);
writeFileSync(file, text.slice(0, i + start.length) + renderStageTable() + text.slice(j));
console.log(`updated ${file}`);
