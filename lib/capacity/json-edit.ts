/** Edits of a user's JSON file by the CLI (`s2m plan --config`, `s2m ami --pin`). */
import { patchJsonText } from '../config/json-text';

/**
 * `patchJsonText` keeping the file's line ends: a file whose every line ends in CRLF gets CRLF in the lines added
 * too (patchJsonText writes LF); a file that mixes line ends gets LF in them.
 */
export function patchText(text: string, before: unknown, after: unknown): string {
  const crlf = text.includes('\r\n') && !/(^|[^\r])\n/.test(text);
  return crlf ? patchJsonText(text.replace(/\r\n/g, '\n'), before, after).replace(/\n/g, '\r\n') : patchJsonText(text, before, after);
}
