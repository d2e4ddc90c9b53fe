/**
 * The instance's environment file ({@link ENV_FILE}, written by the fleet's user data) as a typed object.
 *
 * ```ts
 * const env = readEnvironment();                       // /etc/scale-to-millions/env, then process.env
 * const env = readEnvironment({ file: false, overrides: { parameterPrefix: '/shop', region: 'eu-west-1' } }); // tests, laptops
 * ```
 *
 * Precedence, highest first: `overrides`, the process environment (`S2M_*` variables), the file. So a
 * developer can run the same binary on a laptop with `S2M_PARAMETER_PREFIX=/shop S2M_REGION=eu-west-1`, and an
 * instance needs nothing but the file.
 *
 * @module
 */

import { readFileSync } from 'node:fs';
import { ENV_FILE, ENV_VARS, HEALTH_PATHS } from './contract';

/** What every instance knows about itself. */
export interface RuntimeEnvironment {
  /** The app name (`config.name`). */
  readonly app: string | undefined;
  /** The instance's region. */
  readonly region: string;
  /** The region holding the writers. @default - {@link RuntimeEnvironment.region} */
  readonly primaryRegion: string;
  /** `web` or `worker`. */
  readonly role: 'web' | 'worker' | undefined;
  /** The web service's name, or the queue's name for a worker fleet. */
  readonly service: string | undefined;
  /** The SSM parameter prefix of the app, e.g. `/shop`. */
  readonly parameterPrefix: string;
  /** The port a web service listens on. */
  readonly port: number | undefined;
  /** The shallow health path. @default {@link HEALTH_PATHS.shallow} */
  readonly healthPath: string;
  /** The deep health path. @default {@link HEALTH_PATHS.deep} */
  readonly deepHealthPath: string;
  /** The deployed application version. */
  readonly version: string | undefined;
  /** The fleet's own database user (IAM authentication). */
  readonly databaseUser: string | undefined;
  /**
   * The idle timeout of the load balancer in front of the service, seconds ({@link ENV_VARS.loadBalancerIdleTimeout}):
   * `Runtime.serve` keeps connections open longer. @default - undefined (the ALB default, 60 s, is assumed)
   */
  readonly loadBalancerIdleTimeoutSeconds?: number;
  /**
   * How long the application has after SIGTERM before systemd kills it, seconds ({@link ENV_VARS.stopTimeout}): the
   * fleet's drain timeout. `Runtime.runWorker` drains within it. @default - undefined (not on a fleet)
   */
  readonly stopTimeoutSeconds?: number;
}

/** Options of {@link readEnvironment}. */
export interface ReadEnvironmentOptions {
  /**
   * The environment file, or `false` to read none.
   * @default - {@link ENV_FILE}; a missing file is not an error (the variables may come from the process)
   */
  readonly file?: string | false;
  /** The process environment. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Values that win over the file and the process environment (local development, tests). @default - none */
  readonly overrides?: Partial<RuntimeEnvironment>;
}

/** The environment is incomplete or a value is malformed; the message names the variable and where it came from. */
export class EnvironmentError extends Error {
  /** @param message - what is wrong */
  public constructor(message: string) {
    super(message);
    this.name = 'EnvironmentError';
  }
}

/**
 * Parses the `KEY=value` lines of an environment file. Blank lines and `#` comments are skipped; a value may be
 * wrapped in single or double quotes; `export ` in front of a key is accepted.
 *
 * @param text - the file's content
 * @param source - the file name, for error messages
 * @returns the variables
 * @throws EnvironmentError for a line that is not `KEY=value`
 */
export function parseEnvFile(text: string, source = ENV_FILE): Record<string, string> {
  const out: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) throw new EnvironmentError(`${source}:${i + 1}: expected KEY=value (got: ${JSON.stringify(raw)})`);
    let value = m[2]!.trim();
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value[value.length - 1] === value[0]) value = value.slice(1, -1);
    out[m[1]!] = value;
  });
  return out;
}

/**
 * Reads the instance's environment: the file, then the process environment, then `overrides`.
 *
 * @param options - see {@link ReadEnvironmentOptions}
 * @returns the typed environment
 * @throws EnvironmentError when the prefix or the region is missing, or a value is malformed
 */
export function readEnvironment(options: ReadEnvironmentOptions = {}): RuntimeEnvironment {
  const file = options.file === undefined ? ENV_FILE : options.file;
  let fromFile: Record<string, string> = {};
  if (file !== false) {
    let text: string | undefined;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || options.file !== undefined) {
        throw new EnvironmentError(`cannot read the environment file ${file}: ${(e as Error).message}`);
      }
    }
    if (text !== undefined) fromFile = parseEnvFile(text, file);
  }
  const env = options.env ?? process.env;
  const source = (name: string): string => (env[name] !== undefined ? `the process environment (${name})` : `${file === false ? 'the environment' : file} (${name})`);
  const get = (name: string): string | undefined => {
    const v = env[name] ?? fromFile[name];
    return v === undefined || v === '' ? undefined : v;
  };
  const o = options.overrides ?? {};

  const parameterPrefix = o.parameterPrefix ?? get(ENV_VARS.parameterPrefix);
  if (parameterPrefix === undefined) {
    throw new EnvironmentError(`${ENV_VARS.parameterPrefix} is not set: neither ${file === false ? 'the process environment' : `${file} nor the process environment`} gives the app's SSM parameter prefix (e.g. /shop)`);
  }
  if (!/^(\/[A-Za-z0-9_.-]+)+$/.test(parameterPrefix)) {
    throw new EnvironmentError(`${o.parameterPrefix !== undefined ? 'overrides.parameterPrefix' : source(ENV_VARS.parameterPrefix)}: expected an SSM path like /shop (got: ${JSON.stringify(parameterPrefix)})`);
  }
  const region = o.region ?? get(ENV_VARS.region) ?? env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'];
  if (region === undefined) throw new EnvironmentError(`${ENV_VARS.region} is not set (nor AWS_REGION): the instance's region is needed to read its topology`);

  const portText = get(ENV_VARS.port);
  let port = o.port;
  if (port === undefined && portText !== undefined) {
    port = Number(portText);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new EnvironmentError(`${source(ENV_VARS.port)}: expected a port 1-65535 (got: ${JSON.stringify(portText)})`);
  }
  /** A variable of whole seconds from 1 to `max`, or undefined when not set. */
  const wholeSeconds = (name: string, max: number): number | undefined => {
    const text = get(name);
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < 1 || value > max) throw new EnvironmentError(`${source(name)}: expected whole seconds 1-${max} (got: ${JSON.stringify(text)})`);
    return value;
  };
  const loadBalancerIdleTimeoutSeconds = o.loadBalancerIdleTimeoutSeconds ?? wholeSeconds(ENV_VARS.loadBalancerIdleTimeout, 4000);
  const stopTimeoutSeconds = o.stopTimeoutSeconds ?? wholeSeconds(ENV_VARS.stopTimeout, 86400);
  const role = o.role ?? get(ENV_VARS.role);
  if (role !== undefined && role !== 'web' && role !== 'worker') {
    throw new EnvironmentError(`${source(ENV_VARS.role)}: expected "web" or "worker" (got: ${JSON.stringify(role)})`);
  }
  return {
    app: o.app ?? get(ENV_VARS.app),
    region,
    primaryRegion: o.primaryRegion ?? get(ENV_VARS.primaryRegion) ?? region,
    role,
    service: o.service ?? get(ENV_VARS.service),
    parameterPrefix,
    port,
    healthPath: o.healthPath ?? get(ENV_VARS.healthPath) ?? HEALTH_PATHS.shallow,
    deepHealthPath: o.deepHealthPath ?? get(ENV_VARS.deepHealthPath) ?? HEALTH_PATHS.deep,
    version: o.version ?? get(ENV_VARS.version),
    databaseUser: o.databaseUser ?? get(ENV_VARS.databaseUser),
    ...(loadBalancerIdleTimeoutSeconds !== undefined ? { loadBalancerIdleTimeoutSeconds } : {}),
    ...(stopTimeoutSeconds !== undefined ? { stopTimeoutSeconds } : {}),
  };
}
