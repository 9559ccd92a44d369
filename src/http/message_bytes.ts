/**
 * The size of a log message as the batch limits count it.
 *
 * @module
 */

import type { LogMessage } from "../ports.ts";

/**
 * Bytes a message's key and value take in UTF-8, plus a fixed 64 for what a
 * Kafka record adds around them (lengths, timestamp and offset deltas,
 * headers), rounded up so that batches stay under the broker's
 * `max.message.bytes` with room to spare.
 */
export function messageBytes(message: LogMessage): number {
  return 64 + utf8Length(message.key ?? "") + utf8Length(message.value);
}

/** Length of `text` in UTF-8, without encoding it. */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) bytes += 1;
    else {
      // 3 bytes; a surrogate pair is 2 UTF-16 units and 4 bytes (and a lone
      // surrogate is encoded as U+FFFD, 3 bytes).
      bytes += 2;
      const next = text.charCodeAt(i + 1);
      if (
        code >= 0xd800 && code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff
      ) {
        i++;
      }
    }
  }
  return bytes;
}
