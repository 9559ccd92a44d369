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
import type { LogMessage, LogRecord } from "../../ports.ts";

/** Where kafkajs log lines go. Default: `console.warn` / `console.error`. */
export type KafkaLogSink = (level: "warn" | "error", line: string) => void;

const defaultSink: KafkaLogSink = (level, line) => {
  if (level === "error") console.error(line);
  else console.warn(line);
};

/**
 * A kafkajs `logCreator` that prints one line per entry: namespace, message
 * and error text only. kafkajs attaches whole request/config objects to some
 * entries (SASL settings among them), so the rest of the entry is never
 * printed: that is how credentials stay out of the log.
 */
export function kafkaLogCreator(sink: KafkaLogSink = defaultSink) {
  return (_level: logLevel) => (entry: LogEntry) => {
    const { namespace, level, log } = entry;
    if (isExpectedNoise(namespace, String(log.message))) return;
    const error = typeof log.error === "string"
      ? log.error
      : log.error instanceof Error
      ? log.error.message
      : undefined;
    const line = `kafkajs ${namespace}: ${log.message}${
      error ? ` (${error})` : ""
    }`;
    sink(level === logLevel.ERROR ? "error" : "warn", line);
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

/** A kafkajs message as a {@linkcode LogRecord}. */
export function toLogRecord(
  topic: string,
  partition: number,
  message: KafkaMessage,
): LogRecord {
  return {
    topic,
    partition,
    offset: Number(message.offset),
    key: message.key === null || message.key === undefined
      ? null
      : message.key.toString("utf8"),
    value: message.value === null ? "" : message.value.toString("utf8"),
    timestamp: Number(message.timestamp),
  };
}

/** A {@linkcode LogMessage} as kafkajs sends it. */
export function toKafkaMessage(message: LogMessage): Message {
  return {
    key: message.key,
    value: message.value,
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
