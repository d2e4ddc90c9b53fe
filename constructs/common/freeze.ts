/**
 * Freezes `value` and every plain object and array under it, and returns it. For the library's defaults and
 * presets: the configs it resolves share their objects (a preset's thresholds are the defaults' own), so code that
 * wrote into one would change every config resolved after it in the process. Instances of classes (a `Duration`)
 * are left as they are.
 */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (Array.isArray(value) || proto === Object.prototype || proto === null) {
      Object.freeze(value);
      for (const v of Object.values(value as object)) deepFreeze(v);
    }
  }
  return value;
}
