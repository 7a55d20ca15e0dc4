/** Where bytes stop being UTF-8: for an error that names the byte to fix. */

/** The offset of the first byte that does not start or continue a well-formed UTF-8 sequence. */
export function firstNonUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i]!;
    if (lead < 0x80) {
      i += 1;
      continue;
    }
    const more = lead >= 0xc2 && lead <= 0xdf ? 1 : lead >= 0xe0 && lead <= 0xef ? 2 : 3;
    if (lead < 0xc2 || lead > 0xf4) return i;
    // The second byte's range excludes overlong forms, surrogates and code points over U+10FFFF.
    const low = lead === 0xe0 ? 0xa0 : lead === 0xf0 ? 0x90 : 0x80;
    const high = lead === 0xed ? 0x9f : lead === 0xf4 ? 0x8f : 0xbf;
    const second = bytes[i + 1];
    if (second === undefined || second < low || second > high) return i;
    for (let k = 2; k <= more; k += 1) {
      const next = bytes[i + k];
      if (next === undefined || (next & 0xc0) !== 0x80) return i;
    }
    i += more + 1;
  }
  return bytes.length;
}

/** The byte at `at` as an error names it: `0xE9`. */
export function hexByte(bytes: Uint8Array, at: number): string {
  return `0x${(bytes[at] ?? 0).toString(16).toUpperCase().padStart(2, '0')}`;
}
