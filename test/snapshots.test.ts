import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stableTemplates } from '../lib/testing';
import { buildTestApp } from './helpers/app';

const CONFIGS = readdirSync(join(__dirname, '..', 'config')).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, '')).sort();

describe.each(CONFIGS)('snapshot of every stack: config/%s.json', (config) => {
  let templates: Record<string, Record<string, unknown>>;

  beforeAll(() => {
    // GIVEN the example config, built with the cdk.json feature flags (testApp) WHEN every stack is synthesized
    templates = stableTemplates(buildTestApp(config).app);
  });

  it('matches the stored templates, asset hashes masked', () => {
    // THEN each template equals its snapshot (`npm run test:update` after an intended change; review the diff)
    expect(Object.keys(templates).length).toBeGreaterThan(0);
    for (const [name, template] of Object.entries(templates)) expect(template).toMatchSnapshot(name);
  });

  it('contains no unmasked asset hash and no bootstrap boilerplate', () => {
    for (const template of Object.values(templates)) {
      const text = JSON.stringify(template);
      expect(text).not.toMatch(/[0-9a-f]{64}/);
      expect(text).not.toContain('BootstrapVersion');
      expect(text).not.toContain('CDKMetadata');
    }
  });
});
