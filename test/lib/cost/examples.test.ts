import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { renderStageTable } from '../../../lib/config';
import { EXAMPLE_CONFIGS, exampleConfigCosts, floorRow, renderExampleCostTable, renderStageStepTable, type ExampleCost } from '../../../lib/cost/examples';

const ROOT = join(__dirname, '..', '..', '..');

describe('the example configs, priced', () => {
  let costs: ExampleCost[];
  const of = (name: string) => costs.find((c) => c.name === name)!.estimate;

  beforeAll(() => {
    // GIVEN every example config WHEN each is synthesized and priced with the default assumptions
    costs = exampleConfigCosts(join(ROOT, 'config'));
  });

  it('puts config/startup.json at a floor of at most $150 a month, its web tier still two clones in two zones behind an ALB', () => {
    const startup = of('startup');
    expect(startup.floor.total).toBeLessThanOrEqual(150);
    const web = startup.lines.filter((l) => l.part === 'floor' && l.tier === 'web');
    expect(web.map((l) => l.item)).toEqual(expect.arrayContaining([
      expect.stringMatching(/^EC2 t4g\.small × 2 \(web fleet web\)$/),
      expect.stringMatching(/^ALB public IPv4 × 2 \(one per zone\)$/),
    ]));
    // AND the database is one Serverless v2 writer at its minimum, without a proxy; egress is one NAT instance
    expect(startup.lines.filter((l) => l.tier === 'database' && l.part === 'floor').map((l) => l.item)).toContainEqual(expect.stringMatching(/^Aurora Serverless v2 × 1 at 0.5 ACU minimum/));
    expect(startup.floor.regions['us-east-1'].tiers.proxy).toBe(0);
    expect(startup.lines.filter((l) => l.tier === 'network' && l.part === 'floor').map((l) => l.item)).toContainEqual('EC2 t4g.nano × 1 (NAT instance)');
  });

  it('prices everything every example config deploys (nothing unpriced, every region in the table)', () => {
    for (const c of costs) expect([c.name, c.estimate.unpriced, c.estimate.warnings]).toEqual([c.name, [], []]);
  });

  it('costs more at each stage, and more with traffic than without', () => {
    const floors = ['startup', 'growth', 'millions', 'global'].map((s) => of(s).floor.total);
    expect([...floors].sort((a, b) => a - b)).toEqual(floors);
    for (const c of costs) expect(c.estimate.atLoad.total).toBeGreaterThan(c.estimate.floor.total);
  });

  it('is what README.md and docs/stages.md show (regenerate with `npx tsx scripts/stages.ts`)', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const stages = readFileSync(join(ROOT, 'docs', 'stages.md'), 'utf8');
    const table = renderStageTable(undefined, [floorRow(costs)]);
    expect(table).toMatch(/\| floor, \$\/month .* \| \$\d+ \| \$[\d,]+ \| \$[\d,]+ \| \$[\d,]+ \|/);
    for (const [name, text] of [['README.md', readme], ['docs/stages.md', stages]]) {
      expect(text, name).toContain(`<!-- stage-table:start -->\n${table}<!-- stage-table:end -->`);
      expect(text, name).toContain(`<!-- example-costs:start -->\n${renderExampleCostTable(costs)}<!-- example-costs:end -->`);
    }
    expect(stages).toContain(`<!-- stage-steps:start -->\n${renderStageStepTable(costs)}<!-- stage-steps:end -->`);
    for (const name of EXAMPLE_CONFIGS) expect(readme).toContain(`| \`config/${name}.json\` |`);
  });
});
