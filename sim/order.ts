/**
 * Byte order of UTF-8 strings, which Redis (memcmp) and S3 (ListObjectsV2)
 * sort by. JavaScript's `<` compares UTF-16 code units instead, which differs
 * for characters above U+FFFF against U+E000–U+FFFF.
 *
 * @module
 */

/** Maps a UTF-16 code unit so that unit order equals UTF-8 byte order. */
function rank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}

/** Negative, zero or positive as `a` sorts before, with or after `b` by UTF-8 bytes. */
export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return rank(x) - rank(y);
  }
  return a.length - b.length;
}
