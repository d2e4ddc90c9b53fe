import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { bucketOf } from '../../../lib/runtime/hash';
import { ShardMapValidationError } from '../../../lib/runtime/shard-map';
import {
  ShardMapLoadError,
  ShardMapLoader,
  ShardMapNotLoadedError,
  StaleShardMapError,
  systemClock,
  type ShardMapLoaderOptions,
} from '../../../lib/runtime/shard-map-loader';
import type { ShardRouter } from '../../../lib/runtime/shard-router';
import { ManualClock } from './manual-clock';

const PARAM = '/shop/prod/shard-map';

const mapJson = (shards: number, epoch: number, writerSuffix = ''): string =>
  JSON.stringify({
    version: 1,
    epoch,
    strategy: 'hash',
    shards: Array.from({ length: shards }, (_, i) => ({ id: `s${i}`, writer: `s${i}${writerSuffix}.cluster.internal` })),
  });

const parameter = (value: string, version: number) => ({ Parameter: { Name: PARAM, Value: value, Version: version, Type: 'String' as const } });

const ssmMock = mockClient(SSMClient);
// The mock stubs the client's prototype, and this worker's later files share it (isolate: false): undo it.
afterAll(() => ssmMock.restore());

describe('ShardMapLoader', () => {
  let clock: ManualClock;
  let errors: Error[];
  let changes: [ShardRouter, ShardRouter | undefined][];

  const newLoader = (overrides: Partial<ShardMapLoaderOptions> = {}): ShardMapLoader =>
    new ShardMapLoader({
      parameterName: PARAM,
      ssm: new SSMClient({ region: 'eu-west-1' }),
      clock,
      jitter: 0,
      onError: (err) => errors.push(err),
      onChange: (router, previous) => changes.push([router, previous]),
      ...overrides,
    });
  const calls = (): number => ssmMock.commandCalls(GetParameterCommand).length;

  beforeEach(() => {
    ssmMock.reset();
    clock = new ManualClock();
    errors = [];
    changes = [];
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('loads the map from SSM with decryption and builds a router', async () => {
    ssmMock.on(GetParameterCommand).resolves(parameter(mapJson(4, 1), 1));
    const loader = newLoader();
    const router = await loader.load();
    expect(router.size).toBe(4);
    expect(router.shardFor('user:42').id).toBe(`s${bucketOf('user:42', 4)}`);
    expect(loader.router()).toBe(router);
    expect(ssmMock.commandCalls(GetParameterCommand, { Name: PARAM, WithDecryption: true })).toHaveLength(1);
    expect(changes).toEqual([[router, undefined]]);
    expect(loader.status()).toMatchObject({ loaded: true, epoch: 1, parameterVersion: 1, loadedAt: clock.time, consecutiveFailures: 0, refreshing: false });
  });

  it('router() throws before the first load', () => {
    const loader = newLoader();
    expect(() => loader.router()).toThrow(ShardMapNotLoadedError);
    expect(() => loader.router()).toThrow(/no shard map loaded yet from SSM parameter "\/shop\/prod\/shard-map"/);
  });

  it('serves load() from the cache within the refresh interval, then fetches again', async () => {
    ssmMock.on(GetParameterCommand).resolves(parameter(mapJson(4, 1), 1));
    const loader = newLoader({ refreshIntervalMs: 30_000 });
    const first = await loader.load();
    clock.time += 29_999;
    expect(await loader.load()).toBe(first);
    expect(calls()).toBe(1);
    clock.time += 1;
    expect(await loader.load()).toBe(first); // same parameter version: same router
    expect(calls()).toBe(2);
  });

  it('shares one request between concurrent loads', async () => {
    ssmMock.on(GetParameterCommand).resolves(parameter(mapJson(2, 1), 1));
    const loader = newLoader();
    const [a, b, c] = await Promise.all([loader.load(), loader.load(), loader.refresh()]);
    expect(a).toBe(b);
    expect(b).toBe(c);
    expect(calls()).toBe(1);
  });

  it('installs a new map on refresh and calls onChange with the previous router', async () => {
    ssmMock.on(GetParameterCommand).resolvesOnce(parameter(mapJson(4, 1), 1)).resolves(parameter(mapJson(5, 2), 2));
    const loader = newLoader();
    const first = await loader.load();
    const second = await loader.refresh();
    expect(second).not.toBe(first);
    expect(second.size).toBe(5);
    expect(loader.router()).toBe(second);
    expect(changes.map(([r, p]) => [r.epoch, p?.epoch])).toEqual([
      [1, undefined],
      [2, 1],
    ]);
    expect(loader.status().changedAt).toBe(clock.time);
  });

  it('does not call onChange when a new parameter version has the same map', async () => {
    const sameMapReformatted = JSON.stringify(JSON.parse(mapJson(3, 1)), null, 2);
    ssmMock.on(GetParameterCommand).resolvesOnce(parameter(mapJson(3, 1), 1)).resolves(parameter(sameMapReformatted, 2));
    const loader = newLoader();
    const first = await loader.load();
    expect(await loader.refresh()).toBe(first);
    expect(changes).toHaveLength(1);
    expect(loader.status().parameterVersion).toBe(2);
  });

  it('skips parsing when the parameter version did not change', async () => {
    ssmMock.on(GetParameterCommand).resolvesOnce(parameter(mapJson(3, 1), 7)).resolves(parameter('not even json', 7));
    const loader = newLoader();
    const first = await loader.load();
    expect(await loader.refresh()).toBe(first);
    expect(errors).toEqual([]);
  });

  it('keeps the last good map when a refresh fails, and reports the error', async () => {
    ssmMock
      .on(GetParameterCommand)
      .resolvesOnce(parameter(mapJson(4, 1), 1))
      .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }))
      .resolves(parameter(mapJson(5, 2), 2));
    const loader = newLoader();
    const first = await loader.load();
    expect(await loader.refresh()).toBe(first);
    expect(loader.router()).toBe(first);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ShardMapLoadError);
    expect(errors[0]!.message).toBe('could not read the shard map from SSM parameter "/shop/prod/shard-map": ThrottlingException: Rate exceeded');
    expect(loader.status()).toMatchObject({ consecutiveFailures: 1, lastError: errors[0] });
    // the next refresh recovers
    expect((await loader.refresh()).size).toBe(5);
    expect(loader.status()).toMatchObject({ consecutiveFailures: 0, lastError: undefined });
  });

  it('keeps the last good map when the new one is invalid', async () => {
    const bad = JSON.stringify({ version: 1, epoch: 2, strategy: 'hash', shards: [{ id: 's0' }, { id: 's0' }] });
    ssmMock.on(GetParameterCommand).resolvesOnce(parameter(mapJson(2, 1), 1)).resolvesOnce(parameter(bad, 2)).resolves(parameter('{oops', 3));
    const loader = newLoader();
    const first = await loader.load();
    expect(await loader.refresh()).toBe(first);
    expect(await loader.refresh()).toBe(first);
    expect(errors.map((e) => e.constructor)).toEqual([ShardMapValidationError, ShardMapValidationError]);
    expect(errors[0]!.message).toMatch(/^invalid shard map from SSM parameter "\/shop\/prod\/shard-map": 1 problem\n {2}- shards\[1\]\.id: duplicate shard id/);
    expect(errors[1]!.message).toMatch(/\(root\): not valid JSON/);
    expect(changes).toHaveLength(1);
  });

  it('refuses a map with a lower epoch than the current one, but accepts the same epoch', async () => {
    ssmMock
      .on(GetParameterCommand)
      .resolvesOnce(parameter(mapJson(4, 5), 1))
      .resolvesOnce(parameter(mapJson(3, 4), 2))
      .resolves(parameter(mapJson(4, 5, '-new'), 3));
    const loader = newLoader();
    const first = await loader.load();
    expect(await loader.refresh()).toBe(first);
    expect(errors[0]).toBeInstanceOf(StaleShardMapError);
    expect(errors[0]!.message).toMatch(/refusing shard map with epoch 4, lower than the epoch in use \(5\); keeping the current map/);
    expect(errors[0]).toMatchObject({ currentEpoch: 5, receivedEpoch: 4 });
    const same = await loader.refresh();
    expect(same).not.toBe(first);
    expect(same.shards[0]!.writer).toBe('s0-new.cluster.internal');
  });

  it('dates the confirmation of the map in use from the start of the last successful fetch; failed and stale fetches confirm nothing', async () => {
    let answer: () => unknown = () => parameter(mapJson(4, 5), 1);
    ssmMock.on(GetParameterCommand).callsFake(async () => {
      clock.time += 700; // the fetch takes 700 ms: it may answer with what was published before it started, no newer
      return answer();
    });
    const loader = newLoader();
    const started = clock.time;
    await loader.load();
    expect(loader.status()).toMatchObject({ confirmedAt: started, loadedAt: started + 700 });
    clock.time += 10_000;
    answer = () => { throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }); };
    await loader.refresh();
    answer = () => parameter(mapJson(3, 4), 2);
    await loader.refresh();
    expect(errors.map((e) => e.name)).toEqual(['ShardMapLoadError', 'StaleShardMapError']);
    expect(loader.status().confirmedAt).toBe(started);
    answer = () => parameter(mapJson(4, 5), 1); // the same version again: confirms the map in use
    const again = clock.time;
    await loader.refresh();
    expect(loader.status().confirmedAt).toBe(again);
  });

  it('fails the first load outright (nothing to fall back to)', async () => {
    ssmMock.on(GetParameterCommand).rejects(Object.assign(new Error('Parameter /shop/prod/shard-map not found.'), { name: 'ParameterNotFound' }));
    const loader = newLoader();
    await expect(loader.load()).rejects.toThrow(ShardMapLoadError);
    await expect(loader.load()).rejects.toThrow(/could not read the shard map from SSM parameter "\/shop\/prod\/shard-map": ParameterNotFound/);
    expect(errors).toEqual([]); // the caller got the rejection
    expect(loader.status()).toMatchObject({ loaded: false, consecutiveFailures: 2 });
  });

  it('fails the first load on an empty parameter or an invalid map', async () => {
    ssmMock.on(GetParameterCommand).resolvesOnce({ Parameter: { Name: PARAM, Value: '  ' } }).resolves(parameter('{"version":1}', 1));
    const loader = newLoader();
    await expect(loader.load()).rejects.toThrow(/SSM parameter "\/shop\/prod\/shard-map" has no value/);
    await expect(loader.load()).rejects.toThrow(/strategy: required/);
  });

  it('refreshes periodically after start() and stops after stop()', async () => {
    ssmMock.on(GetParameterCommand).resolvesOnce(parameter(mapJson(2, 1), 1)).resolves(parameter(mapJson(3, 2), 2));
    const loader = newLoader({ refreshIntervalMs: 10_000 });
    await loader.load();
    loader.start();
    loader.start(); // idempotent
    expect(clock.pending).toBe(1);
    expect(loader.status().refreshing).toBe(true);
    clock.advance(9_999);
    expect(calls()).toBe(1);
    clock.advance(1);
    await vi.waitFor(() => expect(loader.router().size).toBe(3));
    expect(calls()).toBe(2);
    await vi.waitFor(() => expect(clock.pending).toBe(1)); // next refresh scheduled after this one finished
    clock.advance(10_000);
    await vi.waitFor(() => expect(calls()).toBe(3));
    loader.stop();
    loader.stop();
    await vi.waitFor(() => expect(clock.pending).toBe(0));
    clock.advance(100_000);
    expect(calls()).toBe(3);
    expect(loader.status().refreshing).toBe(false);
  });

  it('keeps refreshing after failures, and reports failures of a periodic first load', async () => {
    ssmMock.on(GetParameterCommand).rejectsOnce(new Error('network down')).resolves(parameter(mapJson(2, 1), 1));
    const loader = newLoader({ refreshIntervalMs: 1_000 });
    loader.start(); // without an initial load()
    clock.advance(1_000);
    await vi.waitFor(() => expect(errors).toHaveLength(1));
    expect(errors[0]!.message).toMatch(/network down/);
    await vi.waitFor(() => expect(clock.pending).toBe(1));
    clock.advance(1_000);
    await vi.waitFor(() => expect(loader.status().loaded).toBe(true));
    loader.stop();
  });

  it('spreads refreshes with jitter', () => {
    const low = newLoader({ refreshIntervalMs: 60_000, jitter: 0.1, random: () => 0 });
    low.start();
    const high = newLoader({ refreshIntervalMs: 60_000, jitter: 0.1, random: () => 0.999_999 });
    high.start();
    expect(clock.delays[0]).toBe(54_000);
    expect(clock.delays[1]).toBe(66_000);
    low.stop();
    high.stop();
  });

  it('reports a throwing onChange listener but installs the map anyway', async () => {
    ssmMock.on(GetParameterCommand).resolves(parameter(mapJson(2, 1), 1));
    const loader = newLoader({
      onChange: () => {
        throw new Error('listener bug');
      },
    });
    const router = await loader.load();
    expect(loader.router()).toBe(router);
    expect(errors[0]!.message).toMatch(/onChange listener threw \(the new map is in use anyway\): listener bug/);
  });

  it('creates its SSM client lazily when none is injected', async () => {
    ssmMock.on(GetParameterCommand).resolves(parameter(mapJson(2, 1), 1));
    const loader = new ShardMapLoader({ parameterName: PARAM, clock });
    expect(calls()).toBe(0);
    expect((await loader.load()).size).toBe(2);
    expect(calls()).toBe(1);
  });

  it('validates its options', () => {
    expect(() => new ShardMapLoader({ parameterName: '' })).toThrow(/parameterName must be a non-empty string/);
    expect(() => new ShardMapLoader({ parameterName: PARAM, refreshIntervalMs: 0 })).toThrow(/refreshIntervalMs must be a positive number/);
    expect(() => new ShardMapLoader({ parameterName: PARAM, jitter: 1 })).toThrow(/jitter must be in \[0, 1\)/);
  });

  it('defaults to warning on the console', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    ssmMock.on(GetParameterCommand).resolvesOnce(parameter(mapJson(2, 1), 1)).rejects(new Error('boom'));
    const loader = new ShardMapLoader({ parameterName: PARAM, clock });
    await loader.load();
    await loader.refresh();
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/^\[ShardMapLoader\] could not read the shard map .*boom/));
  });
});

describe('systemClock', () => {
  it('creates unref-ed timers that never keep the process alive', () => {
    const handle = systemClock.setTimeout(() => undefined, 60_000) as ReturnType<typeof setTimeout>;
    expect(handle.hasRef()).toBe(false);
    systemClock.clearTimeout(handle);
    expect(Math.abs(systemClock.now() - Date.now())).toBeLessThan(1_000);
  });
});
