/**
 * A small, dependency-free validator for plain JSON config. Every problem is collected (not only the
 * first) and reported as `path.to.field: what is wrong (got: value)`.
 */
import { nearest } from './hints';

/** One problem found in a config. */
export interface ConfigIssue {
  /** Dotted path of the field, e.g. `regions[1].vpcCidr`. */
  readonly path: string;
  /** What is wrong, e.g. `must be a CIDR block like 10.0.0.0/16`. */
  readonly message: string;
  /** The value received (rendered with {@link formatValue}). */
  readonly got: unknown;
}

/** Thrown when a config has one or more problems; `message` lists all of them, one per line. */
export class ConfigError extends Error {
  /** Every problem found. */
  public readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], source?: string) {
    const head = `Invalid config${source ? ` ${source}` : ''}: ${issues.length} problem${issues.length === 1 ? '' : 's'}`;
    super([head, ...issues.map((i) => `  ${formatIssue(i)}`)].join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** Renders a received value for an error message (short, JSON-like, `undefined` shown as such). */
export function formatValue(v: unknown): string {
  if (v === undefined) return 'undefined';
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** `path: message (got: value)`; a problem with the whole document (empty path) reads `(root): ...`. */
export function formatIssue(i: ConfigIssue): string {
  return `${i.path || '(root)'}: ${i.message} (got: ${formatValue(i.got)})`;
}

/** Joins a path and a key: `a` + `b` = `a.b`, `a` + 0 = `a[0]`. */
export function at(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

export type Obj = Record<string, unknown>;

/**
 * Collects issues while reading a raw JSON value. Each reader returns the value when it is valid and
 * `undefined` (after recording an issue) when it is not, so callers can keep going and report everything.
 */
export class Checker {
  public readonly issues: ConfigIssue[] = [];

  /** Records a problem. */
  public fail(path: string, message: string, got: unknown): undefined {
    this.issues.push({ path, message, got });
    return undefined;
  }

  /** Throws a {@link ConfigError} when any problem was recorded. */
  public throwIfAny(source?: string): void {
    if (this.issues.length > 0) throw new ConfigError(this.issues, source);
  }

  /**
   * Reads an object and rejects keys outside `allowed`, so a typo never falls back to a default silently.
   * Returns `undefined` when the value is absent and not required.
   */
  public object(path: string, v: unknown, allowed: readonly string[], required = false): Obj | undefined {
    if (v === undefined) return required ? this.fail(path, 'is required', v) : undefined;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return this.fail(path, 'must be an object', v);
    const o = v as Obj;
    for (const k of Object.keys(o)) {
      if (!allowed.includes(k)) {
        const hint = closest(k, allowed);
        this.fail(at(path, k), `unknown key${hint ? ` (did you mean "${hint}"?)` : ''}; allowed: ${allowed.join(', ')}`, o[k]);
      }
    }
    return o;
  }

  /** Reads an array; `min` is the minimum length. */
  public array(path: string, v: unknown, opts: { required?: boolean; min?: number; max?: number } = {}): unknown[] | undefined {
    if (v === undefined) return opts.required ? this.fail(path, 'is required', v) : undefined;
    if (!Array.isArray(v)) return this.fail(path, 'must be an array', v);
    if (opts.min !== undefined && v.length < opts.min) return this.fail(path, `must have at least ${opts.min} item${opts.min === 1 ? '' : 's'}`, v);
    if (opts.max !== undefined && v.length > opts.max) return this.fail(path, `must have at most ${opts.max} items`, v);
    return v;
  }

  /** Reads a string, optionally matching `pattern` (described by `what`). */
  public string(path: string, v: unknown, opts: { required?: boolean; pattern?: RegExp; what?: string; oneOf?: readonly string[] } = {}): string | undefined {
    if (v === undefined) return opts.required ? this.fail(path, 'is required', v) : undefined;
    if (typeof v !== 'string') return this.fail(path, 'must be a string', v);
    if (opts.oneOf && !opts.oneOf.includes(v)) return this.fail(path, `must be one of ${opts.oneOf.join(', ')}`, v);
    if (opts.pattern && !opts.pattern.test(v)) return this.fail(path, `must be ${opts.what ?? `a string matching ${opts.pattern}`}`, v);
    return v;
  }

  /** Reads a number; `integer` rejects fractions; `min`/`max` are inclusive. */
  public number(path: string, v: unknown, opts: { required?: boolean; integer?: boolean; min?: number; max?: number } = {}): number | undefined {
    if (v === undefined) return opts.required ? this.fail(path, 'is required', v) : undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) return this.fail(path, 'must be a number', v);
    if (opts.integer && !Number.isInteger(v)) return this.fail(path, 'must be a whole number', v);
    if (opts.min !== undefined && v < opts.min) {
      return this.fail(path, opts.min === 1 && opts.integer ? 'must be a positive whole number (at least 1)' : `must be at least ${opts.min}`, v);
    }
    if (opts.max !== undefined && v > opts.max) return this.fail(path, `must be at most ${opts.max}`, v);
    return v;
  }

  /** Reads a boolean. */
  public boolean(path: string, v: unknown, required = false): boolean | undefined {
    if (v === undefined) return required ? this.fail(path, 'is required', v) : undefined;
    if (typeof v !== 'boolean') return this.fail(path, 'must be true or false', v);
    return v;
  }

  /** Reads a map of string to string (tags). */
  public stringMap(path: string, v: unknown): Record<string, string> | undefined {
    if (v === undefined) return undefined;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return this.fail(path, 'must be an object of strings', v);
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(v as Obj)) {
      const s = this.string(at(path, k), val);
      if (s !== undefined) out[k] = s;
    }
    return out;
  }
}

/** The allowed key closest to `key` (edit distance ≤ 2), for "did you mean" hints. */
function closest(key: string, allowed: readonly string[]): string | undefined {
  return nearest(key, allowed, 1)[0];
}
