/** Numbers the CLI accepts on its command line. */

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/**
 * The number `text` writes in decimal (`12`, `0.5`, `-1.5e3`, surrounding blanks ignored); `undefined` for anything
 * else, including the forms `Number` also reads (`0x1`, `0b1`, `0o1`, `Infinity`, an empty string as 0).
 */
export function parseDecimal(text: string): number | undefined {
  const t = text.trim();
  return DECIMAL.test(t) ? Number(t) : undefined;
}

/** The message for `text` that {@link parseDecimal} refuses (`shown` as the user typed it): "a decimal number" when `Number` would read it (`0x1`). */
export function notDecimal(name: string, text: string, shown = text): string {
  const other = text.trim() !== '' && Number.isFinite(Number(text));
  return `${name} must be a ${other ? 'decimal ' : ''}number (got: ${shown})`;
}
