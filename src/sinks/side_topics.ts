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
 * @module
 */

import type { LogMessage, LogRecord } from "../ports.ts";
import type { Sink, SinkWriter } from "./sink.ts";

/** Why a record was dead-lettered or set aside, as written to a side output. */
export interface SideRecord {
  reason: string;
  source: { topic: string; partition: number; offset: number };
  key: string | null;
  value: string;
  timestamp: number;
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
 * redelivered copy has the same key.
 */
export function sideMessage(record: LogRecord, reason: string): LogMessage {
  const side: SideRecord = {
    reason,
    source: {
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
    },
    key: record.key,
    value: record.value,
    timestamp: record.timestamp,
  };
  return {
    key: `${record.topic}:${record.partition}:${record.offset}`,
    value: JSON.stringify(side),
    partition: record.partition,
  };
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
