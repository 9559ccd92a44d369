import assert from "node:assert/strict";
import {
  frameEventTime,
  parseVideoFrame,
  REQUIRED_FIELDS,
} from "../../src/jobs/frames/parse.ts";

const EXAMPLE = {
  frame_id: "frame_123_1705123456789",
  timestamp: "2024-01-15T10:30:00",
  source: "webcam",
  frame_data: "/9j/4AAQ",
  frame_width: 1280,
  frame_height: 720,
  frame_channels: 3,
  frame_size_bytes: 45678,
  metadata: {},
};

function payload(changes: Record<string, unknown>): string {
  return JSON.stringify({ ...EXAMPLE, ...changes });
}

Deno.test("parseVideoFrame() reads the issue's example message", () => {
  const parsed = parseVideoFrame(JSON.stringify(EXAMPLE));
  assert.ok(parsed.ok, JSON.stringify(parsed));
  assert.deepEqual(parsed.frame, {
    ...EXAMPLE,
    timestamp_ms: Date.UTC(2024, 0, 15, 10, 30),
    fields: EXAMPLE,
  });
});

Deno.test("parseVideoFrame() keeps every field as given, unknown ones included, in their order", () => {
  const parsed = parseVideoFrame(
    JSON.stringify({ extra: [1, 2], ...EXAMPLE, metadata: null }),
  );
  assert.ok(parsed.ok);
  assert.deepEqual(Object.keys(parsed.frame.fields), [
    "extra",
    ...Object.keys(EXAMPLE),
  ]);
  assert.deepEqual(parsed.frame.fields.extra, [1, 2]);
  assert.equal(parsed.frame.fields.metadata, null);
  assert.deepEqual(parsed.frame.metadata, {});
});

Deno.test("frameEventTime() reads zone-less ISO times as UTC, and zoned ones and epoch ms as parseEventTime does", () => {
  assert.equal(
    frameEventTime("2024-01-15T10:30:00.250"),
    Date.UTC(2024, 0, 15, 10, 30, 0, 250),
  );
  assert.equal(
    frameEventTime("2024-01-15T10:30:00+01:00"),
    Date.UTC(2024, 0, 15, 9, 30),
  );
  assert.equal(frameEventTime(1705314600000), 1705314600000);
  for (
    const bad of [
      "2024-01-15",
      "2024-01-15 10:30:00",
      "2024-13-01T00:00:00",
      "",
      -1,
      1.5,
      true,
    ]
  ) {
    assert.equal(frameEventTime(bad), undefined, JSON.stringify(bad));
  }
});

Deno.test("parseVideoFrame() accepts a missing or null metadata as {}", () => {
  const { metadata: _, ...without } = EXAMPLE;
  for (const text of [JSON.stringify(without), payload({ metadata: null })]) {
    const parsed = parseVideoFrame(text);
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.frame.metadata, {});
  }
  const kept = parseVideoFrame(
    payload({ metadata: { camera: "front", fps: 5 } }),
  );
  assert.ok(kept.ok);
  assert.deepEqual(kept.frame.metadata, { camera: "front", fps: 5 });
});

Deno.test("parseVideoFrame() reports payloads that are not JSON objects", () => {
  const cases: Array<[string, string, RegExp]> = [
    ['{"frame_id":', "not-json", /^payload is not valid JSON: /],
    ["", "not-json", /^payload is not valid JSON: ""$/],
    ["<html>502</html>", "not-json", /not valid JSON/],
    ["[1,2]", "not-object", /must be a JSON object: current value is \[1,2\]/],
    ["null", "not-object", /current value is null/],
    ["42", "not-object", /current value is 42/],
  ];
  for (const [text, kind, reason] of cases) {
    const parsed = parseVideoFrame(text);
    assert.ok(!parsed.ok, text);
    assert.equal(parsed.kind, kind, text);
    assert.match(parsed.reason, reason);
  }
});

Deno.test("parseVideoFrame() names every missing field", () => {
  for (const field of REQUIRED_FIELDS) {
    for (const value of [undefined, null]) {
      const parsed = parseVideoFrame(payload({ [field]: value }));
      assert.ok(!parsed.ok, field);
      assert.equal(parsed.kind, "missing-field");
      assert.equal(parsed.reason, `'${field}' is missing`);
    }
  }
  const parsed = parseVideoFrame(JSON.stringify({ source: "cam" }));
  assert.ok(!parsed.ok);
  assert.equal(
    parsed.reason,
    "'frame_id', 'timestamp', 'frame_data', 'frame_width', 'frame_height', 'frame_channels', 'frame_size_bytes' are missing",
  );
});

Deno.test("parseVideoFrame() reports fields of the wrong type or range with their value", () => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [
      { frame_id: "" },
      "'frame_id' must be a non-empty string: current value is \"\"",
    ],
    [
      { frame_id: 7 },
      "'frame_id' must be a non-empty string: current value is 7",
    ],
    [
      { timestamp: "yesterday" },
      "'timestamp' must be ISO-8601 (UTC when it has no zone) or epoch milliseconds: current value is \"yesterday\"",
    ],
    [
      { source: "  " },
      "'source' must be a non-empty string: current value is \"  \"",
    ],
    [
      { frame_data: 12 },
      "'frame_data' must be a non-empty base64 string: current value is 12",
    ],
    [
      { frame_data: "" },
      "'frame_data' must be a non-empty base64 string: current value is \"\"",
    ],
    [
      { frame_width: 0 },
      "'frame_width' must be a positive integer: current value is 0",
    ],
    [
      { frame_width: "1280" },
      "'frame_width' must be a positive integer: current value is \"1280\"",
    ],
    [
      { frame_height: 720.5 },
      "'frame_height' must be a positive integer: current value is 720.5",
    ],
    [
      { frame_channels: 5 },
      "'frame_channels' must be 1, 2, 3 or 4: current value is 5",
    ],
    [
      { frame_size_bytes: -1 },
      "'frame_size_bytes' must be a non-negative integer: current value is -1",
    ],
    [
      { metadata: [1] },
      "'metadata' must be a JSON object: current value is [1]",
    ],
    [
      { metadata: "x" },
      "'metadata' must be a JSON object: current value is \"x\"",
    ],
  ];
  for (const [changes, reason] of cases) {
    const parsed = parseVideoFrame(payload(changes));
    assert.ok(!parsed.ok, JSON.stringify(changes));
    assert.equal(parsed.kind, "invalid-field");
    assert.equal(parsed.reason, reason);
  }
});

Deno.test("parseVideoFrame() shortens long values in reasons", () => {
  const parsed = parseVideoFrame(
    payload({ frame_id: 1, source: "x".repeat(500) }),
  );
  assert.ok(!parsed.ok);
  const long = parseVideoFrame(`not json ${"y".repeat(1000)}`);
  assert.ok(!long.ok);
  assert.ok(long.reason.length < 120, long.reason);
});
