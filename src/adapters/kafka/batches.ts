/**
 * Produce requests under the broker's size limit.
 *
 * The broker refuses a record batch larger than the topic's
 * `max.message.bytes` (the broker's `message.max.bytes` unless the topic
 * overrides it; 1 MiB by default) with MESSAGE_TOO_LARGE, and sending it again
 * cannot help. kafkajs puts every message of one `send` for a partition into
 * one batch, so `produce()` cuts its messages into sends whose records add up
 * to less than the limit: however many partitions a send spans, none of its
 * batches can then be over the limit. A message over the limit on its own is
 * refused before anything is sent ({@linkcode MessageTooLargeError}): a caller
 * that writes arbitrary input (dead letters) bounds its messages instead.
 *
 * @module
 */

import type { LogMessage } from "../../ports.ts";
import { utf8Length } from "../../core/utf8.ts";

/**
 * What Kafka's record batch (format v2) adds around the records: the batch
 * header (61 bytes) and a margin for the request's own framing.
 */
export const BATCH_OVERHEAD_BYTES = 512;

/**
 * What a record adds around its key and value, at most: length, attributes,
 * timestamp and offset deltas, key and value lengths (varints), header count.
 */
export const RECORD_OVERHEAD_BYTES = 40;

/**
 * The limit used when the broker does not tell the topic's
 * `max.message.bytes`: a little under Kafka's default of 1,048,588.
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 1_000_000;

/** A message too large for the topic on its own: it was not produced. */
export class MessageTooLargeError extends Error {
  override name = "MessageTooLargeError";
  /** The record's size as counted against the limit. */
  readonly bytes: number;
  /** The topic's `max.message.bytes`, as known to the producer. */
  readonly max_bytes: number;

  constructor(topic: string, index: number, bytes: number, max_bytes: number) {
    super(
      `Cannot produce to topic '${topic}' as message ${index} must fit in a record batch of the topic's max.message.bytes (${max_bytes} bytes, less ${BATCH_OVERHEAD_BYTES} of batch overhead): its record takes ${bytes} bytes; nothing of this call was produced`,
    );
    this.bytes = bytes;
    this.max_bytes = max_bytes;
  }
}

/** Bytes of `message`'s record in a batch, at most (key and value in UTF-8). */
export function recordBytes(message: LogMessage): number {
  return RECORD_OVERHEAD_BYTES + utf8Length(message.key ?? "") +
    utf8Length(message.value);
}

/**
 * Cuts `messages` into consecutive runs whose records add up to at most
 * `max_message_bytes − BATCH_OVERHEAD_BYTES`, keeping their order. Throws
 * {@linkcode MessageTooLargeError} (before any cut is answered) when a single
 * message does not fit.
 */
export function splitBySize(
  topic: string,
  messages: readonly LogMessage[],
  max_message_bytes: number,
): LogMessage[][] {
  if (
    !Number.isSafeInteger(max_message_bytes) ||
    max_message_bytes <= BATCH_OVERHEAD_BYTES
  ) {
    throw new RangeError(
      `Cannot split messages as 'max_message_bytes' must be an integer above ${BATCH_OVERHEAD_BYTES}: current value is ${max_message_bytes}`,
    );
  }
  const budget = max_message_bytes - BATCH_OVERHEAD_BYTES;
  const sizes = messages.map(recordBytes);
  sizes.forEach((bytes, i) => {
    if (bytes > budget) {
      throw new MessageTooLargeError(topic, i, bytes, max_message_bytes);
    }
  });
  const runs: LogMessage[][] = [];
  let run: LogMessage[] = [];
  let used = 0;
  messages.forEach((message, i) => {
    const bytes = sizes[i]!;
    if (used + bytes > budget && run.length > 0) {
      runs.push(run);
      run = [];
      used = 0;
    }
    run.push(message);
    used += bytes;
  });
  if (run.length > 0) runs.push(run);
  return runs;
}
