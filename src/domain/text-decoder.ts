/**
 * The platform's `TextDecoder` with Windows-1252 as the Encoding Standard has it. Node 20.18.3 and
 * later (22.13 and later) decode Windows-1252, the encoding of every label the standard gives it
 * (`latin1`, `ISO-8859-1`, `cp1252`…), as ISO-8859-1 when not streaming: bytes 0x80–0x9F come out as
 * C1 control characters, invisible, instead of `€ ‚ ƒ „ … † ‡ ˆ ‰ Š ‹ Œ Ž ‘ ’ “ ” • – — ˜ ™ š › œ ž Ÿ`
 * (nodejs/node#56542, #60888). An Excel "CSV" saved on Windows would lose them unseen.
 */
import { TextDecoder as PlatformTextDecoder } from 'node:util';

/**
 * Windows-1252's characters for bytes 0x80–0x9F; its other bytes are ISO-8859-1's. The five it
 * leaves unassigned (0x81, 0x8D, 0x8F, 0x90, 0x9D) decode to the C1 control of the same number.
 */
const WINDOWS_1252_C1 =
  '\u20AC\u0081\u201A\u0192\u201E\u2026\u2020\u2021\u02C6\u2030\u0160\u2039\u0152\u008D\u017D\u008F' +
  '\u0090\u2018\u2019\u201C\u201D\u2022\u2013\u2014\u02DC\u2122\u0161\u203A\u0153\u009D\u017E\u0178';

const C1 = /[\u0080-\u009F]/g;

/**
 * A `TextDecoder` (same labels, options and errors) whose Windows-1252 gives the standard's
 * characters. A correct Windows-1252 decode yields a C1 control only for the five unassigned bytes,
 * which map to themselves: the mapping is right whether or not the platform is fixed.
 *
 * ### Examples
 * ```ts
 * new StandardTextDecoder('latin1').decode(Uint8Array.of(0x93, 0x80, 0x94)); // → '“€”'
 * ```
 */
export class StandardTextDecoder extends PlatformTextDecoder {
  override decode(
    input?: NodeJS.ArrayBufferView | ArrayBuffer | null,
    options?: { stream?: boolean | undefined },
  ): string {
    const text = super.decode(input, options);
    if (this.encoding !== 'windows-1252') return text;
    return text.replace(C1, (char) => WINDOWS_1252_C1[char.charCodeAt(0) - 0x80]!);
  }
}

/**
 * The encoding a byte order mark at the start of `bytes` names, if one is there: it decides over
 * any label (the Encoding Standard's decode).
 */
export function byteOrderMark(bytes: Uint8Array): 'utf-8' | 'utf-16le' | 'utf-16be' | undefined {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return 'utf-8';
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'utf-16le';
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'utf-16be';
  return undefined;
}
