import { describe, expect, it } from 'vitest';
import { buildTestApp } from './helpers/app';

describe('reference app (startup config)', () => {
  it('creates network, data and app stacks per region and the edge stack', () => {
    const built = buildTestApp('startup');
    expect(Object.keys(built.regions)).toEqual(['us-east-1']);
    expect(built.edge.stackName).toBe('shop-edge');
  });
});
