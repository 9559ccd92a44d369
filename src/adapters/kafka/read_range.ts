/**
 * Reads a range of one partition with read_committed isolation. kafkajs has
 * no manual partition assignment, so this joins a throwaway consumer group,
 * seeks, collects and leaves: a group join costs ~100 ms (with
 * `group.initial.rebalance.delay.ms=0`), fine for tests and recovery, not for
 * the hot path.
 *
 * @module
 */

import type { Kafka } from "kafkajs";
import type { LogRecord } from "../../ports.ts";
import { toLogRecord } from "./common.ts";

/** The range {@linkcode readRange} reads. */
export interface ReadRange {
  topic: string;
  partition: number;
  /** First offset to read. */
  from: number;
  /** Offset to read up to (exclusive): the partition's end offset. */
  end: number;
  /** Most records to answer. */
  max: number;
  /** Longest wait to reach `end` before failing. */
  timeout_ms: number;
}

/** Reads `[from, end)` of one partition (at most `max` records) with a throwaway group. */
export async function readRange(
  kafka: Kafka,
  range: ReadRange,
): Promise<LogRecord[]> {
  const { topic, partition, from, end, max, timeout_ms } = range;
  const consumer = kafka.consumer({
    groupId: `freshet-read-${crypto.randomUUID()}`,
    maxWaitTimeInMs: 100,
    sessionTimeout: 10000,
    heartbeatInterval: 1000,
    readUncommitted: false,
  });
  const records: LogRecord[] = [];
  let position = from;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => finish = resolve);
  const advance = (last_offset: number) => {
    position = Math.max(position, last_offset + 1);
    if (records.length >= max || position >= end) finish();
  };
  const { GROUP_JOIN, END_BATCH_PROCESS } = consumer.events;
  consumer.on(
    GROUP_JOIN,
    () => consumer.seek({ topic, partition, offset: String(position) }),
  );
  // Batches of only control or aborted records never reach eachBatch.
  consumer.on(END_BATCH_PROCESS, ({ payload }) => {
    if (
      payload.topic === topic && payload.partition === partition &&
      payload.batchSize === 0
    ) {
      advance(Number(payload.lastOffset));
    }
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      eachBatch: ({ batch, pause, isStale }) => {
        if (batch.partition !== partition) {
          pause();
          return Promise.resolve();
        }
        if (isStale()) return Promise.resolve();
        for (const message of batch.messages) {
          const offset = Number(message.offset);
          if (offset >= position && records.length < max) {
            records.push(toLogRecord(topic, partition, message));
          }
        }
        advance(Number(batch.lastOffset()));
        return Promise.resolve();
      },
    });
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeout_ms);
    });
    if (await Promise.race([finished, timeout]) === "timeout") {
      throw new Error(
        `Cannot read ${topic}:${partition} from ${from} as the end offset ${end} was not reached within ${timeout_ms} ms (reached ${position})`,
      );
    }
  } finally {
    clearTimeout(timer);
    await consumer.disconnect().catch(() => {});
  }
  return records.slice(0, max);
}
