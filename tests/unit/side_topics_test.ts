import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import fc from "fast-check";
import type { LogRecord, Unreadable } from "../../src/ports.ts";
import {
  MAX_SIDE_KEY_BYTES,
  MAX_SIDE_MESSAGE_BYTES,
  MAX_SIDE_REASON_LENGTH,
  MAX_SIDE_VALUE_BYTES,
  sideMessage,
  type SideRecord,
} from "../../src/sinks/side_topics.ts";

const encoder = new TextEncoder();
const bytes = (text: string) => encoder.encode(text).length;

function record(value: string, extra: Partial<LogRecord> = {}): LogRecord {
  return {
    topic: "video-views",
    partition: 3,
    offset: 41,
    key: "v1",
    value,
    timestamp: 1_700_000_000_000,
    ...extra,
  };
}

function side(value: string, extra: Partial<LogRecord> = {}, reason = "bad") {
  const message = sideMessage(record(value, extra), reason);
  return {
    message,
    size: bytes(message.value) + bytes(message.key ?? ""),
    side: JSON.parse(message.value) as SideRecord,
  };
}

Deno.test("sideMessage() keeps a small record whole, keyed by its source position", () => {
  const { message, side: s } = side(
    '{"videoId":',
    {},
    "payload is not valid JSON",
  );
  assert.equal(message.key, "video-views:3:41");
  assert.equal(message.partition, 3);
  assert.deepEqual(s, {
    reason: "payload is not valid JSON",
    source: { topic: "video-views", partition: 3, offset: 41 },
    key: "v1",
    value: '{"videoId":',
    timestamp: 1_700_000_000_000,
    value_bytes: 11,
  });
});

Deno.test("sideMessage() bounds the poison pills of issue 8 far under the broker's limit", () => {
  const nested = `{"a":`.repeat(150_000) + "1" + "}".repeat(150_000);
  const pills = {
    "300,000 bytes of 0x01": "\u0001".repeat(300_000),
    "400,000 bytes of 0xFF (read as U+FFFD)": "\uFFFD".repeat(400_000),
    '600,000 "': '"'.repeat(600_000),
    "a 900 KB nested object": nested,
  };
  for (const [name, value] of Object.entries(pills)) {
    const { size, side: s } = side(value);
    assert.ok(size <= MAX_SIDE_MESSAGE_BYTES, `${name}: ${size} bytes`);
    assert.ok(bytes(s.value!) <= MAX_SIDE_VALUE_BYTES, name);
    assert.ok(value.startsWith(s.value!), `${name}: a prefix of the payload`);
    assert.equal(s.value_bytes, bytes(value), name);
    assert.equal(
      s.value_sha256,
      createHash("sha256").update(encoder.encode(value)).digest("hex"),
      name,
    );
  }
});

Deno.test("sideMessage() cuts at a character boundary, never inside a surrogate pair", () => {
  const value = "a" + "😀".repeat(10_000); // 1 + 40,000 bytes
  const { side: s } = side(value);
  assert.equal(
    bytes(s.value!),
    1 + 4 * Math.floor((MAX_SIDE_VALUE_BYTES - 1) / 4),
  );
  assert.ok(value.startsWith(s.value!));
  assert.ok(!/[\uD800-\uDBFF]$/.test(s.value!));
});

Deno.test("sideMessage() bounds key and reason, and says a tombstone is one", () => {
  const long_key = "k".repeat(5_000);
  const { side: cut } = side("x", { key: long_key }, "r".repeat(5_000));
  assert.equal(cut.key, "k".repeat(MAX_SIDE_KEY_BYTES));
  assert.equal(cut.key_bytes, 5_000);
  assert.equal(cut.reason.length, MAX_SIDE_REASON_LENGTH);
  assert.ok(cut.reason.endsWith("…"));
  const { side: tombstone } = side("", { unreadable: "tombstone" });
  const { side: empty } = side("");
  assert.equal(tombstone.value, null);
  assert.equal(tombstone.unreadable, "tombstone");
  assert.equal(empty.value, "");
  assert.equal(empty.unreadable, undefined);
});

Deno.test("sideMessage() fits under MAX_SIDE_MESSAGE_BYTES whatever the record", () => {
  const text = fc.oneof(
    fc.string16bits({ maxLength: 300 }),
    fc.fullUnicodeString({ maxLength: 300 }),
    // Long runs of what grows most when escaped.
    fc.tuple(
      fc.constantFrom("\u0001", '"', "\\", "\uD800", "😀", "é", "\uFFFD"),
      fc.integer({ min: 0, max: 200_000 }),
    ).map(([c, n]) => c.repeat(n)),
  );
  fc.assert(
    fc.property(
      text,
      fc.option(text, { nil: null }),
      text,
      fc.constantFrom<Array<Unreadable | undefined>>(
        undefined,
        "tombstone",
        "invalid-utf8-key",
        "invalid-utf8-value",
      ),
      (value, key, reason, unreadable) => {
        const message = sideMessage(
          record(value, { key, ...(unreadable ? { unreadable } : {}) }),
          reason,
        );
        const size = bytes(message.value) + bytes(message.key ?? "");
        assert.ok(size <= MAX_SIDE_MESSAGE_BYTES, `${size} bytes`);
        JSON.parse(message.value);
      },
    ),
    { numRuns: 300 },
  );
});
