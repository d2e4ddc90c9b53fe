import { describe, expect, it } from 'vitest';
import { parseJsonText, patchJsonText } from '../../../lib/config/json-text';

/** The shape of the document the tests edit. */
interface Doc {
  services: Array<Record<string, unknown>>;
  database: Record<string, unknown>;
  tags: Record<string, unknown>;
  queues?: unknown[];
  edge?: unknown;
}

/** Applies `change` to a copy of the JSON in `text` and patches the text to match. */
function patch(text: string, change: (v: Doc) => void): string {
  const before = JSON.parse(text) as Doc;
  const after = structuredClone(before);
  change(after);
  const out = patchJsonText(text, before, after);
  expect(JSON.parse(out)).toEqual(after);
  return out;
}

describe('patchJsonText', () => {
  const TEXT = `{
    "name":"shop",
  "services": [
      { "name": "web", "maxCapacity": 4, "application": { "artifact": "s3://b/app.zip", "env": {"A": "1"} } },
      { "name": "api",
        "pathPatterns": ["/api/*"] }
  ],
  "database": {
    "readers": 2
  },
  "edge":   { "priceClass": "PriceClass_200" },
  "tags": {}
}
`;

  it('replaces a value where it stands and keeps every other byte, sections it does not know included', () => {
    const out = patch(TEXT, (v) => {
      v.services[0].maxCapacity = 40;
      v.database.readers = 1;
    });
    expect(out).toBe(TEXT.replace('"maxCapacity": 4,', '"maxCapacity": 40,').replace('"readers": 2', '"readers": 1'));
  });

  it('adds a key after the last member, on its own line in a multi-line object and inline in a one-line object', () => {
    const out = patch(TEXT, (v) => {
      v.database.autoScaling = { maxReaders: 4 };
      v.services[0].minCapacity = 3;
      v.services[1].maxCapacity = 9;
    });
    expect(out).toBe(TEXT
      .replace('"env": {"A": "1"} } },', '"env": {"A": "1"} }, "minCapacity": 3 },')
      .replace('"pathPatterns": ["/api/*"] }', '"pathPatterns": ["/api/*"],\n        "maxCapacity": 9 }')
      .replace('"readers": 2\n', '"readers": 2,\n    "autoScaling": { "maxReaders": 4 }\n'));
  });

  it('appends list items in the list\'s layout, and fills an empty object', () => {
    const out = patch(TEXT, (v) => {
      v.services.push({ name: 'admin', pathPatterns: ['/admin/*'] });
      v.tags.team = 'platform';
      v.queues = [{ name: 'jobs' }];
    });
    expect(out).toBe(TEXT
      .replace('"pathPatterns": ["/api/*"] }\n  ],', '"pathPatterns": ["/api/*"] },\n      { "name": "admin", "pathPatterns": ["/admin/*"] }\n  ],')
      .replace('"tags": {}\n}', '"tags": { "team": "platform" },\n  "queues": [{ "name": "jobs" }]\n}'));
  });

  it('refuses to drop a key (plan only changes and adds)', () => {
    expect(() => patch(TEXT, (v) => delete v.edge)).toThrow(/edge was removed; only changes and additions are supported/);
  });
});

describe('parseJsonText', () => {
  it('finds duplicate keys at any depth, with their lines and both values', () => {
    const { duplicates } = parseJsonText('{"a": 1,\n "b": [{"c": 1, "c": 2}],\n "a": {"x": true}}');
    expect(duplicates).toEqual([
      { path: 'b[0].c', firstLine: 2, line: 2, firstValue: 1, value: 2 },
      { path: 'a', firstLine: 1, line: 3, firstValue: 1, value: { x: true } },
    ]);
  });

  it('throws JSON.parse\'s error for text that is not JSON', () => {
    expect(() => parseJsonText('{"a": }')).toThrow(SyntaxError);
  });

  it('reads strings with escapes and keys with quotes', () => {
    const { root, duplicates } = parseJsonText('{"k\\"ey": "va\\\\l\\"ue", "n": -1.5e3, "t": [true, null]}');
    expect(duplicates).toEqual([]);
    expect(root.members!.map((m) => m.key)).toEqual(['k"ey', 'n', 't']);
  });
});
