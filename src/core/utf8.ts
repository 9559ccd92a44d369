/**
 * UTF-8 sizes of strings without encoding them: what batch limits, side
 * message bounds and file rolls count.
 *
 * @module
 */

const NON_ASCII = /[\u0080-\uffff]/;

/**
 * Bytes of `text` in UTF-8, as `TextEncoder` would write it: a surrogate
 * pair is 4 bytes, a lone surrogate 3 (it is encoded as U+FFFD).
 */
export function utf8Length(text: string): number {
  // Most texts are ASCII: one native scan instead of a loop per character.
  if (!NON_ASCII.test(text)) return text.length;
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) {
      bytes += 1;
      continue;
    }
    // 3 bytes for one UTF-16 unit; a surrogate pair is 2 units and 4 bytes.
    bytes += 2;
    const next = text.charCodeAt(i + 1);
    if (code >= 0xd800 && code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      i++;
    }
  }
  return bytes;
}
