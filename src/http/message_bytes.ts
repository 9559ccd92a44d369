/**
 * The size of a log message as the batch limits count it.
 *
 * @module
 */

import type { LogMessage } from "../ports.ts";
import { utf8Length } from "../core/utf8.ts";

/**
 * Bytes a message's key and value take in UTF-8, plus a fixed 64 for what a
 * Kafka record adds around them (lengths, timestamp and offset deltas,
 * headers), rounded up so that batches stay under the broker's
 * `max.message.bytes` with room to spare.
 */
export function messageBytes(message: LogMessage): number {
  return 64 + utf8Length(message.key ?? "") + utf8Length(message.value);
}
