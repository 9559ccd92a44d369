/**
 * Kafka → S3, two ways, on one topic filled with the `clickstream` fixture:
 * the production runner running `clickstream` (windows, the two-phase file
 * sink, checkpoints in S3) until every file is published, and the baseline,
 * raw kafkajs (`eachBatch`) putting the consumed payloads to S3 in objects
 * of the same size. Each run writes under a prefix of its own, deleted
 * afterwards.
 *
 * @module
 */

import type { Message } from "kafkajs";
import { KafkaLog } from "../../src/adapters/kafka.ts";
import { SystemClock } from "../../src/adapters/clock.ts";
import { CheckpointStore } from "../../src/core/checkpoint.ts";
import type { Counts } from "../../src/core/job.ts";
import { Runner } from "../../src/core/runner.ts";
import { clickstream } from "../../src/jobs/clickstream/job.ts";
import { parseFixture } from "../../src/core/fixture.ts";
import { deadLetterTopic, lateTopic } from "../../src/sinks/side_topics.ts";
import { withTimeout } from "./consume.ts";
import {
  type ObjectStats,
  observedLog,
  TimedObjectStore,
} from "./instrument.ts";
import {
  benchKafka,
  benchObjectStore,
  createTopics,
  deleteObjectsPrefix,
  deleteTopics,
  fillTopic,
  groupName,
  type PlacedMessage,
  SERVICES,
  uniqueName,
} from "./services.ts";

/** The recorded `clickstream` fixture. */
export const CLICKSTREAM_FIXTURE = "fixtures/clickstream/clickstream.jsonl.gz";
const PARTITIONS = 4;
const HOUR_MS = 3_600_000;

/**
 * The first `limit` fixture records as recorded, then one record per
 * partition half an hour of event time later: it closes every window of the
 * others (a bounded replay's end of input), and its own never closes.
 */
export function clickstreamMessages(
  text: string,
  limit: number,
): PlacedMessage[] {
  const job = clickstream.create();
  const messages: PlacedMessage[] = [];
  let latest = 0;
  for (const m of parseFixture(text)) {
    if (messages.length >= limit) break;
    messages.push({
      key: m.key ?? null,
      value: m.value,
      partition: (m.partition ?? 0) % PARTITIONS,
    });
    const time = job.route(m.value).timestamp;
    if (time !== undefined && time > latest) latest = time;
  }
  for (let partition = 0; partition < PARTITIONS; partition++) {
    messages.push({
      key: `closing-${partition}`,
      partition,
      value: JSON.stringify({
        event_id: `closing-${partition}`,
        user_id: `closing-${partition}`,
        event_type: "closing",
        timestamp: latest + 30 * 60_000,
      }),
    });
  }
  return messages;
}

/** A topic filled with {@linkcode clickstreamMessages}, and its side topics. */
export class ClickstreamTopic {
  readonly topic: string;
  readonly count: number;
  /** Bytes of the payloads, a line each (what the baseline puts). */
  readonly payload_bytes: number;

  private constructor(topic: string, count: number, payload_bytes: number) {
    this.topic = topic;
    this.count = count;
    this.payload_bytes = payload_bytes;
  }

  static async open(text: string, limit: number): Promise<ClickstreamTopic> {
    const topic = uniqueName("bench-clickstream");
    const messages = clickstreamMessages(text, limit);
    await createTopics(
      [topic, deadLetterTopic(topic), lateTopic(topic)],
      PARTITIONS,
    );
    await fillTopic(topic, messages);
    const bytes = messages.reduce(
      (n, m) => n + new TextEncoder().encode(m.value).length + 1,
      0,
    );
    return new ClickstreamTopic(topic, messages.length, bytes);
  }

  async close(): Promise<void> {
    await deleteTopics([
      this.topic,
      deadLetterTopic(this.topic),
      lateTopic(this.topic),
    ]);
  }
}

/** One run of the runner to the last published file. */
export interface ClickstreamTiming {
  count: number;
  counts: Counts;
  /** First batch polled to the last record handled. */
  steady_ms: number;
  /** The final checkpoint: staging and publishing what was still open. */
  close_ms: number;
  /** First batch to the last file published: the measured window. */
  measured_ms: number;
  startup_ms: number;
  checkpoints: number;
  objects: ObjectStats;
  /** Published files, their bytes and lines. */
  files: number;
  file_bytes: number;
  lines: number;
  /** Published files per hour directory (`dt=.../hour=..`). */
  by_hour: Map<string, number>;
  /** Hours of event time the published windows span. */
  input_hours: number;
  /** Staging objects left after the run (0 once everything is published). */
  staging_left: number;
}

/**
 * Runs `clickstream` on `topic` with the production adapters and the job's
 * defaults (checkpoints every `checkpoint_interval_ms`) until it handled
 * `expected` records, closes it (its last checkpoint publishes the rest),
 * and reads what it published.
 */
export async function runClickstream(
  topic: string,
  expected: number,
  options: { checkpoint_interval_ms: number; timeout_ms?: number },
): Promise<ClickstreamTiming> {
  const prefix = uniqueName("bench-cs");
  const kafka = new KafkaLog({
    brokers: [...SERVICES.kafka_brokers],
    clientId: "freshet-bench-clickstream",
    log_level: "error",
  });
  const s3 = benchObjectStore(`${prefix}/`);
  const objects = new TimedObjectStore(s3);
  const { log, stats: polls } = observedLog(kafka, () => {});
  let checkpoints = 0;
  const runner = new Runner({
    job: clickstream.create({ topic }),
    log,
    objects,
    checkpoints: new CheckpointStore(objects),
    clock: new SystemClock(),
    group_id: groupName(`${prefix}-group`),
    checkpoint_interval_ms: options.checkpoint_interval_ms,
    onEvent: (event) => {
      if (event.type === "checkpoint") checkpoints++;
    },
  });
  const started = performance.now();
  const deadline = started + (options.timeout_ms ?? 300_000);
  try {
    runner.start();
    while (runner.counts().in < expected) {
      if (performance.now() > deadline) {
        throw new Error(
          `Cannot finish the benchmark as the runner had handled only ${runner.counts().in} of ${expected} records when its time was up`,
        );
      }
      await runner.step();
    }
    const last_ms = performance.now();
    const counts = runner.counts();
    await runner.close();
    const closed_ms = performance.now();
    const keys = await s3.list("clickstream-events/");
    let file_bytes = 0;
    let lines = 0;
    let first = Number.POSITIVE_INFINITY;
    let last = Number.NEGATIVE_INFINITY;
    const by_hour = new Map<string, number>();
    for (const key of keys) {
      const body = await s3.get(key);
      if (body === null) continue;
      file_bytes += body.length;
      const text = new TextDecoder().decode(body);
      for (const line of text.split("\n")) {
        if (line === "") continue;
        lines++;
        const event = JSON.parse(line);
        first = Math.min(first, Date.parse(event.event_timestamp_start));
        last = Math.max(last, Date.parse(event.event_timestamp_end));
      }
      const hour = key.split("/").slice(1, 3).join("/");
      by_hour.set(hour, (by_hour.get(hour) ?? 0) + 1);
    }
    return {
      count: counts.in,
      counts,
      steady_ms: last_ms - polls.first_batch_at,
      close_ms: closed_ms - last_ms,
      measured_ms: closed_ms - polls.first_batch_at,
      startup_ms: polls.first_batch_at - started,
      checkpoints,
      objects: objects.stats,
      files: keys.length,
      file_bytes,
      lines,
      by_hour,
      input_hours: keys.length === 0 ? 0 : (last - first) / HOUR_MS,
      staging_left: (await s3.list("freshet-staging/")).length,
    };
  } finally {
    await kafka.close();
    await s3.close();
    await deleteObjectsPrefix(`${prefix}/`);
  }
}

/** One run of the baseline. */
export interface RawPutTiming {
  count: number;
  /** First message delivered to the last object put. */
  steady_ms: number;
  objects: number;
  bytes: number;
}

/**
 * Reads `expected` messages of `topic` with raw kafkajs (`eachBatch`, a new
 * group) and puts their payloads to S3, a line each, per partition in
 * objects of about `object_bytes` (each put awaited, as a plain consumer
 * would); the rest of each partition goes in a last object.
 */
export async function rawConsumeAndPut(
  topic: string,
  expected: number,
  object_bytes: number,
  options: { timeout_ms?: number } = {},
): Promise<RawPutTiming> {
  const prefix = uniqueName("bench-raw-put");
  const s3 = benchObjectStore(`${prefix}/`);
  const consumer = benchKafka("freshet-bench-raw-put").consumer({
    groupId: groupName("bench-raw-put"),
  });
  const encoder = new TextEncoder();
  const buffers = new Map<number, string[]>();
  const sizes = new Map<number, number>();
  let count = 0;
  let objects = 0;
  let bytes = 0;
  let first_ms = 0;
  let finish = () => {};
  const finished = new Promise<void>((resolve) => finish = resolve);
  const put = async (partition: number) => {
    const lines = buffers.get(partition) ?? [];
    if (lines.length === 0) return;
    const body = encoder.encode(`${lines.join("\n")}\n`);
    buffers.set(partition, []);
    sizes.set(partition, 0);
    await s3.put(`raw/${partition}/${String(objects).padStart(8, "0")}`, body);
    objects++;
    bytes += body.length;
  };
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        if (count === 0) first_ms = performance.now();
        const partition = batch.partition;
        let lines = buffers.get(partition);
        if (lines === undefined) buffers.set(partition, lines = []);
        for (const message of batch.messages as Message[]) {
          const value = message.value?.toString() ?? "";
          lines.push(value);
          const size = (sizes.get(partition) ?? 0) + value.length + 1;
          sizes.set(partition, size);
          if (size >= object_bytes) {
            await put(partition);
            lines = buffers.get(partition)!;
          }
        }
        count += batch.messages.length;
        if (count >= expected) {
          for (const p of buffers.keys()) await put(p);
          finish();
        }
      },
    });
    await withTimeout(
      finished,
      options.timeout_ms ?? 300_000,
      () => `raw kafkajs consumer read ${count} of ${expected} messages`,
    );
    return {
      count,
      steady_ms: performance.now() - first_ms,
      objects,
      bytes,
    };
  } finally {
    await consumer.disconnect();
    await s3.close();
    await deleteObjectsPrefix(`${prefix}/`);
  }
}
