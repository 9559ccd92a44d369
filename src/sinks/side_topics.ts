/**
 * Side outputs: dead letters and late records, written to topics at least
 * once.
 *
 * Protocol (`at-least-once`): a batch's side messages are produced before
 * the batch's exactly-once writes, so a record is never lost; a replay that
 * passes the exactly-once sinks' positions produces them again. Each message
 * is keyed by its record's source position (`topic:partition:offset`), so a
 * repeat carries the same key: compact the topic, or drop repeats by key.
 *
 * **Every side message fits, whatever the input.** A side message is a JSON
 * {@linkcode SideRecord}, and JSON escaping can make a payload up to six
 * times longer (a control byte becomes `\u0001`), so a record just under the
 * broker's limit could become a dead letter over it, refused on every
 * restart. Side messages are therefore bounded: the payload is cut to its
 * first {@linkcode MAX_SIDE_VALUE_BYTES} bytes of UTF-8 (at a character
 * boundary), the key to {@linkcode MAX_SIDE_KEY_BYTES} and the reason to
 * {@linkcode MAX_SIDE_REASON_LENGTH} characters. A cut field keeps its whole
 * size in bytes and the SHA-256 of its whole UTF-8 encoding next to it
 * (`value_bytes`, `value_sha256`, ...), and `source` points at the record,
 * which stays readable in full at that position for as long as the topic
 * retains it. (Base64 of the whole payload was the other choice: it keeps
 * every byte, but it is unreadable to a person and makes large dead letters
 * larger still, so it would need a bound too.) Whatever the input, a side
 * message takes at most {@linkcode MAX_SIDE_MESSAGE_BYTES} bytes, far below
 * Kafka's default `max.message.bytes` (1 MiB).
 *
 * A record that is not text (`LogRecord.unreadable`) keeps that mark:
 * `unreadable: "tombstone"` with `value: null` for a tombstone, so it is
 * never mistaken for an empty message (`value: ""`).
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { LogMessage, LogRecord, Unreadable } from "../ports.ts";
import type { Sink, SinkWriter } from "./sink.ts";
import { utf8Length } from "../core/utf8.ts";

/** Longest payload a side record holds, in UTF-8 bytes (16 KiB). */
export const MAX_SIDE_VALUE_BYTES = 16_384;

/** Longest record key a side record holds, in UTF-8 bytes. */
export const MAX_SIDE_KEY_BYTES = 1_024;

/** Longest reason a side record holds, in UTF-16 code units. */
export const MAX_SIDE_REASON_LENGTH = 1_000;

/**
 * Largest side message, key and value in UTF-8, for source topics named as
 * Kafka allows (at most 249 characters): the bounded fields, each at most six
 * times longer once escaped, and the fixed fields around them.
 */
export const MAX_SIDE_MESSAGE_BYTES = 131_072;

/** Why a record was dead-lettered or set aside, as written to a side output. */
export interface SideRecord {
  /** At most {@linkcode MAX_SIDE_REASON_LENGTH} characters (cut with `…`). */
  reason: string;
  /** Where the whole record is. */
  source: { topic: string; partition: number; offset: number };
  /** The record's key, or its first {@linkcode MAX_SIDE_KEY_BYTES} bytes. */
  key: string | null;
  /**
   * The payload, or its first {@linkcode MAX_SIDE_VALUE_BYTES} bytes;
   * `null` for a tombstone.
   */
  value: string | null;
  /** The record's append time, epoch ms. */
  timestamp: number;
  /**
   * Size of the whole payload in UTF-8 bytes (0 for a tombstone; for a
   * payload that is not UTF-8, of its reading with U+FFFD).
   */
  value_bytes: number;
  /** Present when `value` was cut: SHA-256 (hex) of the whole payload's UTF-8. */
  value_sha256?: string;
  /** Present when `key` was cut: the whole key's size in UTF-8 bytes. */
  key_bytes?: number;
  /** Present when `key` was cut: SHA-256 (hex) of the whole key's UTF-8. */
  key_sha256?: string;
  /** Present when the record is not text (see `LogRecord.unreadable`). */
  unreadable?: Unreadable;
}

/** One batch of side messages, by topic. */
export class SideMessages {
  readonly byTopic = new Map<string, LogMessage[]>();

  /** Adds the side message of `record` with `reason` to `topic`. */
  add(topic: string, record: LogRecord, reason: string): void {
    let list = this.byTopic.get(topic);
    if (list === undefined) this.byTopic.set(topic, list = []);
    list.push(sideMessage(record, reason));
  }

  isEmpty(): boolean {
    return this.byTopic.size === 0;
  }
}

/** Topic of records that could not be parsed, with the reason. */
export function deadLetterTopic(topic: string): string {
  return `${topic}.dead-letter`;
}

/** Topic of records too late for a windowed output. */
export function lateTopic(topic: string): string {
  return `${topic}.late`;
}

/**
 * A side-output message for a record: keyed by its source position so that a
 * redelivered copy has the same key; bounded as the module doc says.
 */
export function sideMessage(record: LogRecord, reason: string): LogMessage {
  const tombstone = record.unreadable === "tombstone";
  const value = tombstone ? null : excerpt(record.value, MAX_SIDE_VALUE_BYTES);
  const key = record.key === null
    ? null
    : excerpt(record.key, MAX_SIDE_KEY_BYTES);
  const side: SideRecord = {
    reason: reason.length > MAX_SIDE_REASON_LENGTH
      ? `${reason.slice(0, MAX_SIDE_REASON_LENGTH - 1)}…`
      : reason,
    source: {
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
    },
    key: key === null ? null : key.text,
    value: value === null ? null : value.text,
    timestamp: record.timestamp,
    value_bytes: value === null ? 0 : value.bytes,
  };
  if (value?.sha256 !== undefined) side.value_sha256 = value.sha256;
  if (key?.sha256 !== undefined) {
    side.key_bytes = key.bytes;
    side.key_sha256 = key.sha256;
  }
  if (record.unreadable !== undefined) side.unreadable = record.unreadable;
  return {
    key: `${record.topic}:${record.partition}:${record.offset}`,
    value: JSON.stringify(side),
    partition: record.partition,
  };
}

const encoder = new TextEncoder();

/**
 * `text` whole, or its longest prefix of at most `max_bytes` UTF-8 bytes that
 * ends at a character boundary, with the whole text's size and (when cut)
 * SHA-256.
 */
function excerpt(
  text: string,
  max_bytes: number,
): { text: string; bytes: number; sha256?: string } {
  // At most 3 bytes per UTF-16 unit: short texts need no counting.
  if (text.length * 3 <= max_bytes) {
    return { text, bytes: utf8Length(text) };
  }
  const bytes = utf8Length(text);
  if (bytes <= max_bytes) return { text, bytes };
  let used = 0;
  let end = 0;
  while (end < text.length) {
    const code = text.charCodeAt(end);
    const pair = code >= 0xd800 && code <= 0xdbff &&
      isLowSurrogate(text.charCodeAt(end + 1));
    const size = code < 0x80 ? 1 : code < 0x800 ? 2 : pair ? 4 : 3;
    if (used + size > max_bytes) break;
    used += size;
    end += pair ? 2 : 1;
  }
  const sha256 = createHash("sha256").update(encoder.encode(text)).digest(
    "hex",
  );
  return { text: text.slice(0, end), bytes, sha256 };
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/** The side-output sink every job has (name `side-topics`). */
export function sideTopicsSink(): Sink<SideMessages> {
  return {
    name: "side-topics",
    protocol: "at-least-once",
    buffer: () => new SideMessages(),
    isEmpty: (batch) => batch.isEmpty(),
    open(context): Promise<SinkWriter<SideMessages>> {
      const log = context.ports.log;
      return Promise.resolve({
        async write(batch) {
          for (const [topic, messages] of batch.byTopic) {
            await log.produce(topic, messages);
          }
        },
        prepare: () => Promise.resolve(null),
        commit: () => Promise.resolve(),
        close: () => Promise.resolve(),
      });
    },
  };
}
