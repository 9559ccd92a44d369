/**
 * Pieces shared by the kafkajs-based log and consumer: log routing, record
 * conversion, a wake-up signal.
 *
 * @module
 */

import {
  type KafkaMessage,
  type LogEntry,
  logLevel,
  type Message,
} from "kafkajs";
import { Buffer } from "node:buffer";
import { logger } from "../../logging/setup.ts";
import type { LogMessage, LogRecord, Unreadable } from "../../ports.ts";

/** Where kafkajs log lines go. Default: the `freshet.kafka` logger. */
export type KafkaLogSink = (level: "warn" | "error", line: string) => void;

/**
 * A kafkajs `logCreator` that logs one line per entry: namespace, message
 * and error text only, to `sink` or else to the `freshet.kafka` logger (with
 * the namespace and broker as fields; the log set-up rate-limits it). kafkajs
 * attaches whole request/config objects to some entries (SASL settings among
 * them), so the rest of the entry is never logged: that is how credentials
 * stay out of the log.
 */
export function kafkaLogCreator(sink?: KafkaLogSink) {
  const log = logger("kafka");
  return (_level: logLevel) => (entry: LogEntry) => {
    const { namespace, level, log: fields } = entry;
    if (isExpectedNoise(namespace, String(fields.message))) return;
    const error = typeof fields.error === "string"
      ? fields.error
      : fields.error instanceof Error
      ? fields.error.message
      : undefined;
    const line = `kafkajs ${namespace}: ${fields.message}${
      error ? ` (${error})` : ""
    }`;
    const severity = level === logLevel.ERROR ? "error" : "warn";
    if (sink !== undefined) return sink(severity, line);
    const broker = typeof fields.broker === "string"
      ? fields.broker
      : undefined;
    log[severity]("{line}", {
      line,
      namespace,
      ...(broker === undefined ? {} : { broker }),
    });
  };
}

/**
 * kafkajs logs every error response of the protocol (fencing, rebalances:
 * the caller gets them as errors anyway) and warns that our producers retry a
 * bounded number of times (deliberate: a dead broker must surface as an error).
 * Its producer also logs a fenced send (the caller gets a `FencedError`) and
 * each retry of a send refused with CONCURRENT_TRANSACTIONS, which a
 * transaction begun right after the previous one ended meets while the
 * coordinator writes markers (tulios/kafkajs#1315: harmless, retried; if the
 * retries run out, the caller gets the error).
 */
function isExpectedNoise(namespace: string, message: string): boolean {
  return (namespace === "Connection" && message.startsWith("Response ")) ||
    message.startsWith("Limiting retries for the idempotent producer") ||
    (namespace === "Producer" &&
      (message.startsWith(
        "Producer attempted an operation with an old epoch",
      ) ||
        message.startsWith(
          "Failed to send messages: The producer attempted to update a transaction while another concurrent operation",
        )));
}

/**
 * A kafkajs message as a {@linkcode LogRecord}. Key and value are decoded as
 * UTF-8; bytes that are not UTF-8 are not silently replaced by U+FFFD (two
 * different keys would read as one): the record is marked `unreadable` and
 * the runtime dead-letters it. A null value (a tombstone) is marked too, so
 * it is never mistaken for an empty message.
 */
export function toLogRecord(
  topic: string,
  partition: number,
  message: KafkaMessage,
): LogRecord {
  const key = message.key === null || message.key === undefined
    ? null
    : decodeUtf8(message.key);
  const value = message.value === null ? null : decodeUtf8(message.value);
  const unreadable: Unreadable | undefined = value === null
    ? "tombstone"
    : !value.valid
    ? "invalid-utf8-value"
    : key !== null && !key.valid
    ? "invalid-utf8-key"
    : undefined;
  const record: LogRecord = {
    topic,
    partition,
    offset: Number(message.offset),
    key: key === null ? null : key.text,
    value: value === null ? "" : value.text,
    timestamp: Number(message.timestamp),
  };
  if (unreadable !== undefined) record.unreadable = unreadable;
  return record;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * `bytes` as text, and whether they are UTF-8. The lenient decoding is the
 * fast path; only text holding U+FFFD (rare) is decoded again strictly, to
 * tell a replacement from a real U+FFFD.
 */
export function decodeUtf8(
  bytes: Uint8Array,
): { text: string; valid: boolean } {
  const text = Buffer.isBuffer(bytes)
    ? bytes.toString("utf8")
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString(
      "utf8",
    );
  if (!text.includes("\uFFFD")) return { text, valid: true };
  try {
    strictUtf8.decode(bytes);
    return { text, valid: true };
  } catch {
    return { text, valid: false };
  }
}

/**
 * A {@linkcode LogMessage} as kafkajs sends it. A tombstone is sent with a
 * null value; a message marked as not UTF-8 cannot be sent (its bytes are
 * not known).
 */
export function toKafkaMessage(message: LogMessage): Message {
  if (
    message.unreadable !== undefined && message.unreadable !== "tombstone"
  ) {
    throw new TypeError(
      `Cannot produce a message as 'unreadable' must be "tombstone" or absent for Kafka: current value is "${message.unreadable}"`,
    );
  }
  return {
    key: message.key,
    value: message.unreadable === "tombstone" ? null : message.value,
    ...(message.partition === undefined
      ? {}
      : { partition: message.partition }),
    ...(message.timestamp === undefined
      ? {}
      : { timestamp: String(message.timestamp) }),
  };
}

/** `topic:partition`, for maps. */
export function partitionId(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}

/**
 * Resolves waiters when something changed. `wait()` also gives up after a
 * time, so a missed notification costs a delay, never a hang.
 */
export class Signal {
  #waiters = new Set<() => void>();

  notify(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }

  wait(timeout_ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, timeout_ms));
      this.#waiters.add(done);
    });
  }
}
