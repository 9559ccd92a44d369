import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import fc from "fast-check";
import type { KafkaMessage } from "kafkajs";
import {
  decodeUtf8,
  toKafkaMessage,
  toLogRecord,
} from "../../src/adapters/kafka/common.ts";

function message(
  key: Uint8Array | null,
  value: Uint8Array | null,
): KafkaMessage {
  return {
    key: key === null ? null : Buffer.from(key),
    value: value === null ? null : Buffer.from(value),
    offset: "7",
    timestamp: "1700000000000",
    attributes: 0,
    headers: {},
  } as KafkaMessage;
}

const utf8 = (text: string) => new TextEncoder().encode(text);

Deno.test("toLogRecord() reads an ordinary record as text, unmarked", () => {
  const record = toLogRecord("t", 1, message(utf8("v1"), utf8('{"a":"é"}')));
  assert.deepEqual(record, {
    topic: "t",
    partition: 1,
    offset: 7,
    key: "v1",
    value: '{"a":"é"}',
    timestamp: 1700000000000,
  });
});

Deno.test("toLogRecord() tells a tombstone from an empty message", () => {
  const tombstone = toLogRecord("t", 0, message(utf8("k"), null));
  const empty = toLogRecord("t", 0, message(utf8("k"), new Uint8Array()));
  assert.equal(tombstone.unreadable, "tombstone");
  assert.equal(tombstone.value, "");
  assert.equal(empty.unreadable, undefined);
  assert.equal(empty.value, "");
});

Deno.test("toLogRecord() marks keys and values that are not UTF-8 instead of replacing them silently", () => {
  const key = toLogRecord(
    "t",
    0,
    message(new Uint8Array([0x76, 0xff]), utf8("{}")),
  );
  assert.equal(key.unreadable, "invalid-utf8-key");
  assert.equal(key.key, "v\uFFFD");
  const value = toLogRecord(
    "t",
    0,
    message(utf8("k"), new Uint8Array([0xc3, 0x28])),
  );
  assert.equal(value.unreadable, "invalid-utf8-value");
  // A real U+FFFD (EF BF BD) is UTF-8, and a byte-order mark stays.
  const real = toLogRecord(
    "t",
    0,
    message(utf8("\uFFFD"), utf8("\uFEFF\uFFFD")),
  );
  assert.equal(real.unreadable, undefined);
  assert.equal(real.key, "\uFFFD");
  assert.equal(real.value, "\uFEFF\uFFFD");
});

Deno.test("decodeUtf8() agrees with a strict decoder on arbitrary bytes", () => {
  const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  const lenient = new TextDecoder("utf-8", { ignoreBOM: true });
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      let valid = true;
      try {
        strict.decode(bytes);
      } catch {
        valid = false;
      }
      const decoded = decodeUtf8(bytes);
      assert.equal(decoded.valid, valid);
      assert.equal(decoded.text, lenient.decode(bytes));
    }),
    { numRuns: 5_000 },
  );
});

Deno.test("toKafkaMessage() sends a tombstone as a null value and refuses bytes it does not have", () => {
  assert.equal(
    toKafkaMessage({ key: "k", value: "", unreadable: "tombstone" }).value,
    null,
  );
  assert.equal(toKafkaMessage({ key: "k", value: "" }).value, "");
  assert.throws(
    () =>
      toKafkaMessage({
        key: "k",
        value: "x",
        unreadable: "invalid-utf8-value",
      }),
    /'unreadable' must be "tombstone" or absent for Kafka/,
  );
});
