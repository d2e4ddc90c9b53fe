import { describe, expect, it } from 'vitest';
import {
  ShardMapValidationError,
  parseShardMap,
  parseShardMapJson,
  serializeShardMap,
  shardMapEpoch,
  validateShardMap,
  type ShardMap,
} from '../../../lib/runtime/shard-map';

const hashMap = {
  version: 1,
  strategy: 'hash',
  shards: [
    { id: 's0', writer: 'w0.example.internal', reader: 'r0.example.internal', port: 5432 },
    { id: 's1', proxy: 'p1.example.internal', proxyReadOnly: 'pro1.example.internal', secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:s1' },
  ],
};

const rangeMap = {
  version: 1,
  epoch: 7,
  description: 'users by numeric id',
  strategy: 'range',
  shards: [{ id: 'a' }, { id: 'b' }, { id: 'c' }],
  boundaries: [1000, 2000],
};

/** The ShardMapValidationError thrown for `input`, or fail. */
function errorFor(input: unknown): ShardMapValidationError {
  try {
    parseShardMap(input);
  } catch (err) {
    expect(err).toBeInstanceOf(ShardMapValidationError);
    return err as ShardMapValidationError;
  }
  throw new Error('expected parseShardMap to throw');
}

const withShards = (shards: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> => ({ version: 1, strategy: 'hash', shards, ...extra });

describe('parseShardMap: valid maps', () => {
  it('accepts a hash map and returns a normalized, frozen copy', () => {
    const map = parseShardMap(hashMap);
    expect(map.strategy).toBe('hash');
    expect(map.shards.map((s) => s.id)).toEqual(['s0', 's1']);
    expect(map.shards[0]).toEqual({ id: 's0', writer: 'w0.example.internal', reader: 'r0.example.internal', port: 5432 });
    expect(Object.isFrozen(map)).toBe(true);
    expect(Object.isFrozen(map.shards)).toBe(true);
    expect(Object.isFrozen(map.shards[0])).toBe(true);
    expect(map).not.toBe(hashMap);
    expect(validateShardMap(hashMap)).toEqual([]);
  });

  it('accepts a range map with numeric or string boundaries', () => {
    const map = parseShardMap(rangeMap);
    expect(map.strategy === 'range' && map.boundaries).toEqual([1000, 2000]);
    expect(shardMapEpoch(map)).toBe(7);
    expect(parseShardMap({ ...rangeMap, boundaries: ['g', 'p'] }).boundaries).toEqual(['g', 'p']);
  });

  it('accepts a single-shard range map with empty boundaries', () => {
    expect(parseShardMap({ version: 1, strategy: 'range', shards: [{ id: 'only' }], boundaries: [] }).shards).toHaveLength(1);
  });

  it('defaults the epoch to 0 and keeps metadata with sorted keys', () => {
    const map = parseShardMap(withShards([{ id: 's0', metadata: { z: '1', a: '2' } }]));
    expect(shardMapEpoch(map)).toBe(0);
    expect(Object.keys(map.shards[0]!.metadata!)).toEqual(['a', 'z']);
  });

  it('does not modify its input', () => {
    const input = JSON.parse(JSON.stringify(rangeMap)) as Record<string, unknown>;
    parseShardMap(input);
    expect(input).toEqual(rangeMap);
    expect(Object.isFrozen(input)).toBe(false);
  });

  it('serializes canonically: key order and -0 do not matter', () => {
    const a = serializeShardMap(parseShardMap({ version: 1, strategy: 'range', shards: [{ id: 'a' }, { id: 'b', port: 1, writer: 'w' }], boundaries: [-0] }));
    const b = serializeShardMap({ boundaries: [0], shards: [{ id: 'a' }, { writer: 'w', id: 'b', port: 1 }], strategy: 'range', version: 1 } as ShardMap);
    expect(a).toBe(b);
    expect(a).toBe('{"version":1,"strategy":"range","shards":[{"id":"a"},{"id":"b","writer":"w","port":1}],"boundaries":[0]}');
  });

  it('parses JSON text and reports invalid JSON as a validation error', () => {
    expect(parseShardMapJson(JSON.stringify(hashMap)).shards).toHaveLength(2);
    expect(() => parseShardMapJson('{"version": 1,', { source: 'SSM parameter "/x"' })).toThrow(
      /invalid shard map from SSM parameter "\/x": 1 problem\n {2}- \(root\): not valid JSON/,
    );
  });

  it('skips connection-field format checks for unresolved placeholders (e.g. CDK tokens)', () => {
    const token = -1.8881545897087626e289; // what a CDK number token looks like
    const doc = withShards([{ id: 's0', port: token, writer: '${Token[TOKEN.1]}' }]);
    expect(() => parseShardMap(doc)).toThrow(/shards\[0\]\.port: expected an integer in \[1, 65535\]/);
    expect(parseShardMap(doc, { isUnresolved: (v) => v === token }).shards[0]!.port).toBe(token);
  });
});

describe('parseShardMap: invalid maps are rejected with clear messages', () => {
  it('rejects a document that is not an object', () => {
    expect(() => parseShardMap(null)).toThrow(/\(root\): expected a shard-map object, got null \(got: null\)/);
    expect(() => parseShardMap([hashMap])).toThrow(/\(root\): expected a shard-map object, got an array/);
    expect(() => parseShardMap('{}')).toThrow(/got a string/);
  });

  it('rejects a wrong or missing version', () => {
    expect(() => parseShardMap({ ...hashMap, version: 2 })).toThrow(/version: unsupported shard-map version; this runtime reads version 1 \(got: 2\)/);
    expect(() => parseShardMap({ ...hashMap, version: '1' })).toThrow(/version: unsupported .*\(got: "1"\)/);
    const { version: _omit, ...noVersion } = hashMap;
    expect(() => parseShardMap(noVersion)).toThrow(/version: required; expected 1 \(got: undefined\)/);
  });

  it('rejects an unknown or missing strategy', () => {
    expect(() => parseShardMap({ ...hashMap, strategy: 'consistent' })).toThrow(/strategy: unknown strategy; expected "hash" or "range" \(got: "consistent"\)/);
    const { strategy: _omit, ...noStrategy } = hashMap;
    expect(() => parseShardMap(noStrategy)).toThrow(/strategy: required/);
  });

  it('rejects empty, missing or non-array shards', () => {
    expect(() => parseShardMap(withShards([]))).toThrow(/shards: must contain at least one shard \(got: \[\]\)/);
    expect(() => parseShardMap({ version: 1, strategy: 'hash' })).toThrow(/shards: required/);
    expect(() => parseShardMap(withShards({ id: 's0' } as unknown as unknown[]))).toThrow(/shards: expected a non-empty array of shards \(got: \{"id":"s0"\}\)/);
  });

  it('rejects duplicate shard ids, naming the index of both', () => {
    expect(() => parseShardMap(withShards([{ id: 's0' }, { id: 's1' }, { id: 's1' }]))).toThrow(
      /shards\[2\]\.id: duplicate shard id, first used at shards\[1\] \(got: "s1"\)/,
    );
  });

  it('rejects missing or malformed shard ids and non-object shards', () => {
    expect(() => parseShardMap(withShards([{ id: 's0' }, { writer: 'w' }]))).toThrow(/shards\[1\]\.id: required \(got: undefined\)/);
    expect(() => parseShardMap(withShards([{ id: 's0' }, { id: 'has space' }]))).toThrow(/shards\[1\]\.id: expected 1-64 characters/);
    expect(() => parseShardMap(withShards([{ id: 7 }]))).toThrow(/shards\[0\]\.id: expected .*\(got: 7\)/);
    expect(() => parseShardMap(withShards(['s0']))).toThrow(/shards\[0\]: expected a shard object with at least an "id", got a string \(got: "s0"\)/);
  });

  it('rejects bad connection fields', () => {
    expect(() => parseShardMap(withShards([{ id: 's0', port: 70000 }]))).toThrow(/shards\[0\]\.port: expected an integer in \[1, 65535\] \(got: 70000\)/);
    expect(() => parseShardMap(withShards([{ id: 's0', port: '5432' }]))).toThrow(/shards\[0\]\.port: .*\(got: "5432"\)/);
    expect(() => parseShardMap(withShards([{ id: 's0', writer: '' }]))).toThrow(/shards\[0\]\.writer: expected a host name/);
    expect(() => parseShardMap(withShards([{ id: 's0', reader: 'a b' }]))).toThrow(/shards\[0\]\.reader: expected a host name/);
    expect(() => parseShardMap(withShards([{ id: 's0', secretArn: 42 }]))).toThrow(/shards\[0\]\.secretArn: expected a non-empty string \(got: 42\)/);
    expect(() => parseShardMap(withShards([{ id: 's0', metadata: { team: 1 } }]))).toThrow(/shards\[0\]\.metadata\.team: expected a string \(got: 1\)/);
    expect(() => parseShardMap(withShards([{ id: 's0', metadata: ['x'] }]))).toThrow(/shards\[0\]\.metadata: expected an object of string values/);
  });

  it('rejects a bad epoch', () => {
    expect(() => parseShardMap({ ...hashMap, epoch: -1 })).toThrow(/epoch: expected a non-negative integer \(got: -1\)/);
    expect(() => parseShardMap({ ...hashMap, epoch: 1.5 })).toThrow(/epoch: .*\(got: 1\.5\)/);
  });

  it('rejects unknown keys (typos) at the top level and in shards, suggesting the right key', () => {
    expect(() => parseShardMap({ ...hashMap, shardz: [] })).toThrow(/shardz: unknown key in the shard map; did you mean "shards"\? \(got: \[\]\)/);
    expect(() => parseShardMap(withShards([{ id: 's0', wirter: 'w.example' }]))).toThrow(
      /shards\[0\]\.wirter: unknown key in a shard; did you mean "writer"\? \(got: "w\.example"\)/,
    );
    expect(() => parseShardMap(withShards([{ id: 's0', ProxyReadOnly: 'p' }]))).toThrow(/did you mean "proxyReadOnly"\?/);
    expect(() => parseShardMap({ ...hashMap, owner: 'team-a' })).toThrow(/owner: unknown key in the shard map; allowed keys: version, epoch/);
    expect(() => parseShardMap(withShards([{ id: 's0', 'weird key': 1 }]))).toThrow(/shards\[0\]\["weird key"\]: unknown key/);
  });

  it('rejects boundaries on a hash map', () => {
    expect(() => parseShardMap({ ...hashMap, boundaries: [5] })).toThrow(/boundaries: not allowed for strategy "hash".*\(got: \[5\]\)/);
  });

  it('rejects missing, non-array, too few and too many boundaries on a range map', () => {
    const { boundaries: _omit, ...noBoundaries } = rangeMap;
    expect(() => parseShardMap(noBoundaries)).toThrow(/boundaries: required for strategy "range": expected 2 strictly increasing split points for 3 shards \(got: undefined\)/);
    expect(() => parseShardMap({ ...rangeMap, boundaries: 1000 })).toThrow(/boundaries: expected an array of 2 strictly increasing split points/);
    expect(() => parseShardMap({ ...rangeMap, boundaries: [1000] })).toThrow(/boundaries: too few split points: expected 2 .* got 1 \(got: \[1000\]\)/);
    expect(() => parseShardMap({ ...rangeMap, boundaries: [1, 2, 3] })).toThrow(/boundaries: too many split points: expected 2 .* got 3 \(got: \[1,2,3\]\)/);
    expect(() => parseShardMap({ version: 1, strategy: 'range', shards: [{ id: 'a' }], boundaries: [1] })).toThrow(/expected 0 strictly increasing split points for 1 shard/);
  });

  it('rejects unsorted and duplicate boundaries', () => {
    expect(() => parseShardMap({ ...rangeMap, boundaries: [2000, 1000] })).toThrow(
      /boundaries\[1\]: boundaries must be strictly increasing: not greater than boundaries\[0\] \(2000\) \(got: 1000\)/,
    );
    expect(() => parseShardMap({ ...rangeMap, boundaries: [1000, 1000] })).toThrow(/boundaries\[1\]: boundaries must be strictly increasing/);
    expect(() => parseShardMap({ ...rangeMap, boundaries: ['m', 'c'] })).toThrow(/boundaries\[1\]: .*not greater than boundaries\[0\] \("m"\) \(got: "c"\)/);
  });

  it('rejects mixed and invalid boundary types', () => {
    expect(() => parseShardMap({ ...rangeMap, boundaries: [1000, 'm'] })).toThrow(
      /boundaries\[1\]: mixed boundary types: boundaries\[0\] is a number, this is a string; use all numbers or all strings \(got: "m"\)/,
    );
    expect(() => parseShardMap({ ...rangeMap, boundaries: [null, 5] })).toThrow(/boundaries\[0\]: expected a finite number or a string \(got: null\)/);
    expect(() => parseShardMap({ ...rangeMap, boundaries: [Number.NaN, 5] })).toThrow(/boundaries\[0\]: expected a finite number \(got: NaN\)/);
    expect(() => parseShardMap({ ...rangeMap, boundaries: ['', 'm'] })).toThrow(/boundaries\[0\]: an empty string as the first boundary/);
  });

  it('collects every problem, not only the first', () => {
    const err = errorFor({
      version: 3,
      strategy: 'range',
      shards: [{ id: 's0' }, { id: 's0', wirter: 'x' }, { id: 's2', port: 0 }],
      boundaries: [10, 'x', 5],
    });
    expect(err.issues.map((i) => i.path)).toEqual(['version', 'shards[1].wirter', 'shards[1].id', 'shards[2].port', 'boundaries', 'boundaries[1]', 'boundaries[2]']);
    expect(err.message).toMatch(/^invalid shard map: 7 problems\n/);
    expect(err.message).toContain('  - version: unsupported shard-map version; this runtime reads version 1 (got: 3)');
    expect(err.message).toContain('  - shards[1].id: duplicate shard id, first used at shards[0] (got: "s0")');
    expect(err.message).toContain('  - boundaries[2]: boundaries must be strictly increasing: not greater than boundaries[0] (10) (got: 5)');
    expect(err.issues[3]).toEqual({ path: 'shards[2].port', message: 'expected an integer in [1, 65535]', received: 0 });
    // validateShardMap reports the same issues without throwing
    expect(validateShardMap({ version: 3, strategy: 'hash', shards: [] })).toHaveLength(2);
  });

  it('rejects invalid hand-built maps passed to serializeShardMap', () => {
    expect(() => serializeShardMap({ version: 1, strategy: 'hash', shards: [] })).toThrow(ShardMapValidationError);
  });
});
