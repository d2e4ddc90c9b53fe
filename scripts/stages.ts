// `npx tsx scripts/stages.ts`: rewrites the generated blocks of README.md and docs/stages.md: the stage table
// (lib/config/presets.ts, with the floor cost of each stage's example config from `s2m cost`), the cost of every
// example config, and what each move to the next stage costs. test/lib/cost/examples.test.ts checks they are current.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderStageTable } from '../lib/config';
import { exampleConfigCosts, floorRow, renderExampleCostTable, renderStageStepTable } from '../lib/cost/examples';

const root = join(__dirname, '..');
const costs = exampleConfigCosts(join(root, 'config'));
const blocks: Record<string, string> = {
  'stage-table': renderStageTable(undefined, [floorRow(costs)]),
  'example-costs': renderExampleCostTable(costs),
  'stage-steps': renderStageStepTable(costs),
};

/** Replaces the text between `<!-- name:start -->` and `<!-- name:end -->` of every block the file has. */
function rewrite(file: string, required: string[]): void {
  let text = readFileSync(file, 'utf8');
  for (const [name, body] of Object.entries(blocks)) {
    const start = `<!-- ${name}:start -->\n`;
    const end = `<!-- ${name}:end -->`;
    const i = text.indexOf(start);
    const j = text.indexOf(end);
    if (i < 0 || j < i) {
      if (required.includes(name)) throw new Error(`${file}: markers ${start.trim()} … ${end} not found`);
      continue;
    }
    text = text.slice(0, i + start.length) + body + text.slice(j);
  }
  writeFileSync(file, text);
  console.log(`updated ${file}`);
}

rewrite(join(root, 'docs', 'stages.md'), Object.keys(blocks));
rewrite(join(root, 'README.md'), ['stage-table', 'example-costs']);
