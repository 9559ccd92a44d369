/**
 * Reading a filled topic to the end, two ways: raw kafkajs (`eachBatch`, the
 * baseline) and freshet's {@linkcode KafkaLog} consumer polled in a loop (the
 * source path of the runner, with a null sink). Both parse every payload and
 * count its `videoId`, so both do the same work per message.
 *
 * @module
 */

import { KafkaLog } from "../../src/adapters/kafka.ts";
import type { TopicPartition } from "../../src/ports.ts";
import { benchKafka, groupName, SERVICES } from "./services.ts";

/** Timings of one read of a topic to its end. */
export interface ConsumeTiming {
  /** Messages read. */
  count: number;
  /** From creating the consumer to the last message (group join included). */
  total_ms: number;
  /** From the first message delivered to the last one. */
  steady_ms: number;
  /** From creating the consumer to the first message. */
  startup_ms: number;
  /** Batches delivered (kafkajs batches, or polls that returned records). */
  batches: number;
  /** Distinct videoIds seen (a check that the payloads were really parsed). */
  distinct: number;
}

/** Counts `videoId` of a payload; unparsable payloads count as bad. */
function countPayload(value: string, counts: Map<string, number>): void {
  try {
    const view = JSON.parse(value);
    const id = view?.videoId;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  } catch {
    counts.set("(bad)", (counts.get("(bad)") ?? 0) + 1);
  }
}

/** Options of the consume functions. */
export interface ConsumeOptions {
  /** Give up after this much wall time. Default: 120 000. */
  timeout_ms?: number;
}

/**
 * Reads `expected` messages of `topic` with a raw kafkajs consumer in a new
 * group: `eachBatch`, `JSON.parse` of every message, kafkajs defaults
 * otherwise (auto-resolve and auto-commit on, read committed).
 */
export async function consumeRaw(
  topic: string,
  expected: number,
  options: ConsumeOptions = {},
): Promise<ConsumeTiming> {
  const consumer = benchKafka("freshet-bench-raw").consumer({
    groupId: groupName("bench-raw"),
  });
  const counts = new Map<string, number>();
  let count = 0;
  let batches = 0;
  let first_ms = 0;
  let last_ms = 0;
  let finish = () => {};
  const finished = new Promise<void>((resolve) => finish = resolve);
  const started = performance.now();
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachBatch: ({ batch }) => {
        if (count === 0) first_ms = performance.now();
        batches++;
        for (const message of batch.messages) {
          countPayload(message.value?.toString("utf8") ?? "", counts);
        }
        count += batch.messages.length;
        if (count >= expected && last_ms === 0) {
          last_ms = performance.now();
          finish();
        }
        return Promise.resolve();
      },
    });
    await withTimeout(
      finished,
      options.timeout_ms ?? 120_000,
      () => `raw kafkajs consumer read ${count} of ${expected} messages`,
    );
  } finally {
    await consumer.disconnect();
  }
  return {
    count,
    total_ms: last_ms - started,
    steady_ms: last_ms - first_ms,
    startup_ms: first_ms - started,
    batches,
    distinct: counts.size,
  };
}

/**
 * Reads `expected` messages of `topic` through {@linkcode KafkaLog}'s
 * consumer in a new group, polled in a loop as the runner polls it; each
 * payload is parsed and counted, then dropped (a null sink).
 */
export async function consumeFreshet(
  topic: string,
  expected: number,
  options: ConsumeOptions & {
    /** Largest batch one poll hands out. Default: the adapter's (500). */
    max_batch_records?: number;
  } = {},
): Promise<ConsumeTiming> {
  const log = new KafkaLog({
    brokers: [...SERVICES.kafka_brokers],
    clientId: "freshet-bench-log",
    log_level: "error",
  });
  const counts = new Map<string, number>();
  let count = 0;
  let batches = 0;
  let first_ms = 0;
  const started = performance.now();
  const deadline = started + (options.timeout_ms ?? 120_000);
  try {
    const consumer = log.consumer({
      groupId: groupName("bench-freshet"),
      topics: [topic],
      maxBatchRecords: options.max_batch_records,
      hooks: {
        onAssign: (partitions: TopicPartition[]) =>
          Promise.resolve(partitions.map(() => 0)),
        onRevoke: () => Promise.resolve(),
      },
    });
    while (count < expected) {
      if (performance.now() > deadline) {
        throw new Error(
          `Cannot finish the benchmark as the freshet consumer read ${count} of ${expected} messages before the timeout`,
        );
      }
      const batch = await consumer.poll();
      if (batch === null || batch.records.length === 0) continue;
      if (count === 0) first_ms = performance.now();
      batches++;
      for (const record of batch.records) countPayload(record.value, counts);
      count += batch.records.length;
    }
    const last_ms = performance.now();
    await consumer.close();
    return {
      count,
      total_ms: last_ms - started,
      steady_ms: last_ms - first_ms,
      startup_ms: first_ms - started,
      batches,
      distinct: counts.size,
    };
  } finally {
    await log.close();
  }
}

/** Resolves with `promise`, or rejects after `timeout_ms` saying what was left. */
export async function withTimeout<T>(
  promise: Promise<T>,
  timeout_ms: number,
  progress: () => string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(
            `Cannot finish the benchmark within ${timeout_ms} ms: ${progress()}`,
          ),
        ),
      timeout_ms,
    );
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}
