import assert from "node:assert/strict";
import fc from "fast-check";
import {
  BATCH_OVERHEAD_BYTES,
  DEFAULT_MAX_MESSAGE_BYTES,
  MessageTooLargeError,
  RECORD_OVERHEAD_BYTES,
  recordBytes,
  splitBySize,
} from "../../src/adapters/kafka/batches.ts";
import { isRetriableKafkaError } from "../../src/adapters/kafka/errors.ts";
import type { LogMessage } from "../../src/ports.ts";
import { sideMessage } from "../../src/sinks/side_topics.ts";
import {
  MAX_TOPIC_MESSAGE_BYTES,
  TopicMessages,
} from "../../src/sinks/kafka.ts";

Deno.test("splitBySize() keeps every message in order, in runs under the limit", () => {
  const message = fc.record({
    key: fc.option(fc.string({ maxLength: 40 }), { nil: null }),
    value: fc.string({ maxLength: 3_000 }),
  });
  fc.assert(
    fc.property(
      fc.array(message, { maxLength: 200 }),
      fc.integer({ min: 4_000, max: 40_000 }),
      (messages: LogMessage[], max) => {
        const runs = splitBySize("t", messages, max);
        assert.deepEqual(runs.flat(), messages);
        for (const run of runs) {
          assert.ok(run.length > 0);
          const bytes = run.reduce((sum, m) => sum + recordBytes(m), 0);
          assert.ok(bytes <= max - BATCH_OVERHEAD_BYTES, `${bytes} > ${max}`);
        }
        // Runs are as long as they can be: the next message would not fit.
        for (let i = 0; i + 1 < runs.length; i++) {
          const bytes = runs[i]!.reduce((sum, m) => sum + recordBytes(m), 0);
          assert.ok(
            bytes + recordBytes(runs[i + 1]![0]!) > max - BATCH_OVERHEAD_BYTES,
          );
        }
      },
    ),
  );
});

Deno.test("splitBySize() cuts the dead letters of 6,000 bad lines into requests under 1 MB", () => {
  const messages = Array.from({ length: 6_000 }, (_, offset) =>
    sideMessage(
      {
        topic: "t",
        partition: 0,
        offset,
        key: null,
        value: "not json at all",
        timestamp: 1_700_000_000_000,
      },
      'payload is not valid JSON: "not json at all"',
    ));
  const total = messages.reduce((sum, m) => sum + recordBytes(m), 0);
  assert.ok(total > 1_048_588, `one batch's dead letters take ${total} bytes`);
  const runs = splitBySize("t.dead-letter", messages, 1_048_588);
  assert.ok(runs.length > 1);
  assert.deepEqual(runs.flat(), messages);
});

Deno.test("splitBySize() refuses a message over the limit on its own before cutting anything", () => {
  const messages = [
    { key: "a", value: "small" },
    { key: "b", value: "x".repeat(10_000) },
  ];
  assert.throws(
    () => splitBySize("t", messages, 8_000),
    (error: unknown) => {
      assert.ok(error instanceof MessageTooLargeError);
      assert.match(
        error.message,
        /^Cannot produce to topic 't' as message 1 must fit in a record batch of the topic's max.message.bytes \(8000 bytes, less 512 of batch overhead\): its record takes 10041 bytes/,
      );
      assert.equal(isRetriableKafkaError(error), false);
      return true;
    },
  );
  assert.throws(() => splitBySize("t", [], 100), RangeError);
});

Deno.test("isRetriableKafkaError() follows Kafka's flag on the innermost kafkajs error", () => {
  const protocol = (type: string, retriable: boolean) =>
    Object.assign(new Error(type), {
      name: "KafkaJSProtocolError",
      type,
      retriable,
    });
  const gaveUp = (cause: Error) =>
    Object.assign(new Error(`gave up: ${cause.message}`), {
      name: "KafkaJSNumberOfRetriesExceeded",
      retriable: false,
      cause,
    });
  const connection = Object.assign(
    new Error("Connection error: ECONNREFUSED"),
    {
      name: "KafkaJSConnectionError",
      retriable: true,
    },
  );
  assert.equal(
    isRetriableKafkaError(protocol("MESSAGE_TOO_LARGE", false)),
    false,
  );
  assert.equal(isRetriableKafkaError(protocol("INVALID_RECORD", false)), false);
  assert.equal(
    isRetriableKafkaError(gaveUp(protocol("MESSAGE_TOO_LARGE", false))),
    false,
  );
  assert.equal(
    isRetriableKafkaError(protocol("INVALID_PRODUCER_EPOCH", false)),
    false,
  );
  assert.equal(
    isRetriableKafkaError(protocol("NOT_LEADER_FOR_PARTITION", true)),
    true,
  );
  assert.equal(isRetriableKafkaError(connection), true);
  assert.equal(isRetriableKafkaError(gaveUp(connection)), true);
  assert.equal(isRetriableKafkaError(new Error("something else")), true);
});

Deno.test("the Kafka sink takes exactly the messages the adapter can produce under its default limit", () => {
  assert.equal(
    MAX_TOPIC_MESSAGE_BYTES,
    DEFAULT_MAX_MESSAGE_BYTES - BATCH_OVERHEAD_BYTES - RECORD_OVERHEAD_BYTES,
  );
  const out = new TopicMessages();
  // "é" takes two bytes of UTF-8: the limit counts bytes, not characters.
  const fits = "é".repeat((MAX_TOPIC_MESSAGE_BYTES - 2) / 2);
  out.send("t", "k2", fits);
  assert.deepEqual(
    splitBySize("t", out.byTopic.get("t")!, DEFAULT_MAX_MESSAGE_BYTES).length,
    1,
  );
  assert.throws(
    () => out.send("t", "k23", fits),
    /Cannot send to topic 't' as a message must take at most 999448 bytes \(key and value in UTF-8\): this one takes 999449$/,
  );
  assert.equal(
    out.byTopic.get("t")!.length,
    1,
    "a refused message is not kept",
  );
});
