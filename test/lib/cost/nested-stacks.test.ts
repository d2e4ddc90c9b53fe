import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile, type AppConfig } from '../../../lib/config';
import { pascal } from '../../../lib/outputs';
import { inventoryOf, synthesizeTemplates, type Inventory, type StackTemplate } from '../../../lib/cost';

describe('s2m cost with web services in nested stacks (test/fixtures/fifty-services.json)', () => {
  let config: AppConfig;
  let templates: StackTemplate[];
  let inventory: Inventory;

  beforeAll(() => {
    // GIVEN a config whose services do not all fit in the app stack WHEN its templates are read for the estimate
    config = loadConfigFile(join(__dirname, '..', '..', 'fixtures', 'fifty-services.json'));
    templates = synthesizeTemplates(config);
    inventory = inventoryOf(templates);
  }, 120_000);

  it('reads the nested stacks\' templates too, as app-tier stacks of the region', () => {
    const nested = templates.filter((t) => t.stackName.includes('/Services'));
    expect(nested.length).toBeGreaterThanOrEqual(4);
    for (const t of nested) {
      expect(t.tier).toBe('app');
      expect(t.region).toBe(config.regions[0].region);
    }
  });

  it('counts every service\'s fleet once, under its own name, and the workers', () => {
    const fleets = inventory.regions.flatMap((r) => r.fleets).filter((f) => f.role === 'web' || f.role === 'workers');
    expect(fleets.filter((f) => f.role === 'web').length).toBe(config.services.length);
    expect(fleets.filter((f) => f.role === 'workers').length).toBe(config.queues.length);
    const names = fleets.map((f) => f.name).sort();
    expect(names).toEqual([...config.services, ...config.queues].map((x) => pascal(x.name)).sort());
  });
});
