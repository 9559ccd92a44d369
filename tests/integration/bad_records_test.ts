/**
 * Regression tests of issue 8's defects against the real broker: what once
 * stopped the `views` job for good. A backlog of malformed records (its dead
 * letters once went out as one produce request over the broker's
 * `message.max.bytes`, refused as MESSAGE_TOO_LARGE, retried, fatal on every
 * restart), poison pills whose dead letter grew over the limit by JSON
 * escaping, a far-future timestamp (which froze the watermark), a key that is
 * not UTF-8 (read as U+FFFD) and a tombstone (dead-lettered as `""`). In each
 * case the job keeps running (no failure, no restart), the valid views
 * between them are counted exactly, and every bad record is in the
 * dead-letter topic, once, keyed by its source position, with its reason.
 *
 * Needs `bash scripts/services.sh up` (skipped without it outside CI).
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Kafka, logLevel, type Message } from "kafkajs";
import { parseView } from "../../src/jobs/views/parse.ts";
import {
  MAX_SIDE_MESSAGE_BYTES,
  type SideRecord,
} from "../../src/sinks/side_topics.ts";
import { type Child, waitUntil, World } from "./harness.ts";
import { integration, KAFKA, KAFKA_BROKERS, REDIS, S3 } from "./services.ts";

/** A bad record as produced, and the reason its dead letter must give. */
interface Bad {
  name: string;
  key: Buffer | null;
  value: Buffer | null;
  reason: RegExp | string;
}

const utf8 = (text: string) => Buffer.from(text, "utf8");

/** Valid views, their event times within the last hour. */
function validViews(count: number, prefix: string): Buffer[] {
  const start = Date.now() - 3_600_000;
  return Array.from({ length: count }, (_, i) =>
    utf8(JSON.stringify({
      userId: `u-${i % 17}`,
      videoId: `${prefix}-${i % 5}`,
      timestamp: new Date(start + i * 1_000).toISOString(),
    })));
}

function parseReason(text: string): string {
  const parsed = parseView(text);
  if (parsed.ok) throw new Error(`not a bad record: ${text.slice(0, 40)}`);
  return parsed.reason;
}

/**
 * Produces `messages` to partition 0 in order, raw (bytes, null values),
 * each send under 1 MB.
 */
async function produceRaw(
  topic: string,
  messages: Array<{ key: Buffer | null; value: Buffer | null }>,
): Promise<void> {
  const producer = new Kafka({
    brokers: KAFKA_BROKERS,
    logLevel: logLevel.NOTHING,
  }).producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    let batch: Message[] = [];
    let bytes = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      await producer.send({ topic, messages: batch, acks: -1 });
      batch = [];
      bytes = 0;
    };
    for (const { key, value } of messages) {
      const size = (key?.length ?? 0) + (value?.length ?? 0) + 64;
      if (bytes + size > 700_000) await flush();
      batch.push({ key, value, partition: 0 });
      bytes += size;
    }
    await flush();
  } finally {
    await producer.disconnect();
  }
}

/**
 * Runs one instance of `views` on a 1-partition topic holding `bad` records
 * between valid views; checks that it keeps running, counts the views
 * exactly and dead-letters every bad record with its reason.
 */
async function runThrough(base: string, bad: Bad[]): Promise<void> {
  const world = new World(base, { partitions: 1 });
  const valid = validViews(bad.length < 100 ? 300 : 1_000, base);
  // Valid views around and between the bad ones, in one order.
  const messages: Array<{ key: Buffer | null; value: Buffer | null }> = [];
  const bad_offsets = new Map<number, Bad>();
  const step = Math.max(1, Math.floor(bad.length / valid.length));
  let v = 0;
  for (let i = 0; i < bad.length; i++) {
    if (i % step === 0 && v < valid.length) {
      messages.push({ key: null, value: valid[v++]! });
    }
    bad_offsets.set(messages.length, bad[i]!);
    messages.push({ key: bad[i]!.key, value: bad[i]!.value });
  }
  while (v < valid.length) messages.push({ key: null, value: valid[v++]! });
  let instance: Child | undefined;
  try {
    await world.createTopic();
    await produceRaw(world.topic, messages);
    instance = world.startInstance("instance");
    const counted = await world.settle(valid.length, {
      timeout_ms: 120_000,
      stable_ms: 2_000,
    });
    assert.equal(
      counted,
      valid.length,
      `the job must count the ${valid.length} valid views exactly; its stderr ends with:\n${instance.stderrTail()}`,
    );
    let dead = await world.readSide("dead-letter");
    await waitUntil(async () => {
      dead = await world.readSide("dead-letter");
      return dead.records.size >= bad.length;
    }, { timeout_ms: 30_000, interval_ms: 500 });
    assert.ok(
      !instance.exited,
      `the job must keep running; its stderr ends with:\n${instance.stderrTail()}`,
    );
    const trouble = instance.events.filter((e) =>
      e.event === "restarting" || e.event === "failed" || e.type === "retry"
    );
    assert.deepEqual(trouble, [], "no write may fail, no job may restart");

    assert.equal(
      dead.records.size,
      bad.length,
      "every bad record must be in the dead-letter topic once (repeats dropped by key)",
    );
    const wrong: string[] = [];
    for (const [offset, expected] of bad_offsets) {
      const key = `${world.topic}:0:${offset}`;
      const side = dead.records.get(key);
      if (side === undefined) {
        wrong.push(`${expected.name} (offset ${offset}): missing`);
        continue;
      }
      const reason_ok = typeof expected.reason === "string"
        ? side.reason === expected.reason
        : expected.reason.test(side.reason);
      if (!reason_ok) {
        wrong.push(`${expected.name}: reason ${JSON.stringify(side.reason)}`);
      }
      checkPayload(expected, side, wrong);
    }
    assert.deepEqual(wrong, [], "each dead letter must say why, and show what");
    await checkSizes(world);
    const stop = await instance.stop("SIGTERM", 20_000);
    assert.ok(
      stop.graceful && stop.status.success,
      `the job must stop cleanly; its stderr ends with:\n${instance.stderrTail()}`,
    );
  } finally {
    const problems = await world.cleanup();
    if (problems.length > 0) console.warn(`clean-up: ${problems.join("; ")}`);
  }
}

/** What a dead letter shows of the payload: all of it, or a bounded prefix. */
function checkPayload(expected: Bad, side: SideRecord, wrong: string[]): void {
  if (expected.value === null) {
    if (side.value !== null || side.unreadable !== "tombstone") {
      wrong.push(`${expected.name}: must read as a tombstone, not as ""`);
    }
    return;
  }
  // Bytes that are not UTF-8 are shown (and counted) as read, with U+FFFD.
  const text = expected.value.toString("utf8");
  const bytes = Buffer.byteLength(text, "utf8");
  if (side.value_bytes !== bytes) {
    wrong.push(
      `${expected.name}: value_bytes ${side.value_bytes}, expected ${bytes}`,
    );
  }
  if (side.value === null || !text.startsWith(side.value)) {
    wrong.push(`${expected.name}: value must be a prefix of the payload`);
  }
  if (side.value !== text && side.value_sha256 === undefined) {
    wrong.push(`${expected.name}: a cut payload must keep its SHA-256`);
  }
}

/** Every message of the dead-letter topic is far under the broker's limit. */
async function checkSizes(world: World): Promise<void> {
  const { KafkaLog } = await import("../../src/adapters/kafka.ts");
  const log = new KafkaLog({ brokers: KAFKA_BROKERS, log_level: "error" });
  try {
    const topic = `${world.topic}.dead-letter`;
    const [end] = await log.endOffsets(topic);
    let largest = 0;
    for (const record of await log.read(topic, 0, 0, end!)) {
      largest = Math.max(largest, Buffer.byteLength(record.value, "utf8"));
    }
    assert.ok(
      largest <= MAX_SIDE_MESSAGE_BYTES,
      `dead letters must stay bounded: the largest takes ${largest} bytes`,
    );
  } finally {
    await log.close();
  }
}

await integration(
  "a backlog of 6,000 malformed lines and 1,100 lines of 1 KB is dead-lettered while the job keeps counting",
  [KAFKA, REDIS, S3],
  async () => {
    const kilobyte = `{"videoId": ${"x".repeat(1_010)}`;
    await runThrough("it-bad-backlog", [
      ...Array.from({ length: 6_000 }, () => ({
        name: "not json at all",
        key: null,
        value: utf8("not json at all"),
        reason: parseReason("not json at all"),
      })),
      ...Array.from({ length: 1_100 }, () => ({
        name: "a line of 1 KB",
        key: null,
        value: utf8(kilobyte),
        reason: parseReason(kilobyte),
      })),
    ]);
  },
);

await integration(
  "poison pills, a far-future timestamp, keys and payloads that are not UTF-8 and a tombstone are dead-lettered with their reasons",
  [KAFKA, REDIS, S3],
  async () => {
    const nested = `{"a":`.repeat(150_000) + "1" + "}".repeat(150_000);
    const quotes = '"'.repeat(600_000);
    const controls = "\u0001".repeat(300_000);
    const view = (videoId: string, timestamp: unknown) =>
      JSON.stringify({ userId: "u", videoId, timestamp });
    await runThrough("it-bad-pills", [
      {
        name: "300,000 bytes of 0x01",
        key: null,
        value: utf8(controls),
        reason: parseReason(controls),
      },
      {
        name: "400,000 bytes of 0xFF",
        key: null,
        value: Buffer.alloc(400_000, 0xff),
        reason: "payload is not valid UTF-8",
      },
      {
        name: '600,000 "',
        key: null,
        value: utf8(quotes),
        reason: parseReason(quotes),
      },
      {
        name: "a 900 KB nested object",
        key: null,
        value: utf8(nested),
        reason: parseReason(nested),
      },
      {
        name: "a far-future timestamp",
        key: null,
        value: utf8(view("v-future", Number.MAX_SAFE_INTEGER)),
        reason:
          /^event time .* is more than 3600000 ms ahead of the record's append time /,
      },
      {
        name: "a key that is not UTF-8",
        key: Buffer.from([0x76, 0x2d, 0xff]),
        value: utf8(view("v-key", new Date().toISOString())),
        reason: /^record key is not valid UTF-8/,
      },
      {
        name: "a videoId that is not UTF-8",
        key: null,
        value: Buffer.concat([
          utf8('{"videoId":"v-'),
          Buffer.from([0xc3, 0x28]),
          utf8(`","timestamp":"${new Date().toISOString()}"}`),
        ]),
        reason: "payload is not valid UTF-8",
      },
      {
        name: "a tombstone",
        key: utf8("v-gone"),
        value: null,
        reason: /^record is a tombstone \(null value\)/,
      },
      {
        name: "an empty message",
        key: utf8("v-empty"),
        value: Buffer.alloc(0),
        reason: parseReason(""),
      },
    ]);
  },
);
