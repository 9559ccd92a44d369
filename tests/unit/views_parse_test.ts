import assert from "node:assert/strict";
import { parseView } from "../../src/jobs/views/parse.ts";

const T0 = Date.UTC(2026, 2, 14, 6, 0, 0); // 2026-03-14T06:00:00Z

function reasonOf(payload: string): string {
  const parsed = parseView(payload);
  assert.equal(parsed.ok, false, `expected ${payload} to be refused`);
  return (parsed as { ok: false; reason: string }).reason;
}

function timestampOf(payload: string): number {
  const parsed = parseView(payload);
  assert.ok(parsed.ok, `expected ${payload} to be a view`);
  return parsed.view.timestamp;
}

const view = (fields: Record<string, unknown>) => JSON.stringify(fields);

Deno.test("parseView answers each kind of bad payload with its reason", async (t) => {
  const cases: Array<[string, string, string]> = [
    [
      "truncated JSON",
      '{"userId":"u-1","timest',
      "payload is not valid JSON: ",
    ],
    [
      "a non-JSON line",
      "userId=u-1 videoId=vid-1",
      "payload is not valid JSON: ",
    ],
    [
      "an HTML error page",
      "<html><body>502 Bad Gateway</body></html>",
      "payload is not valid JSON: ",
    ],
    ["an empty payload", "", "payload is not valid JSON: "],
    ["a blank payload", "  \t ", "payload is not valid JSON: "],
    [
      "a JSON array",
      "[1,2]",
      "payload must be a JSON object: current value is [1,2]",
    ],
    [
      "JSON null",
      "null",
      "payload must be a JSON object: current value is null",
    ],
    [
      "a JSON string",
      '"vid-1"',
      'payload must be a JSON object: current value is "vid-1"',
    ],
    [
      "a JSON number",
      "42",
      "payload must be a JSON object: current value is 42",
    ],
    [
      "a missing videoId",
      view({ userId: "u-1", timestamp: T0 }),
      "'videoId' is missing",
    ],
    [
      "a null videoId",
      view({ videoId: null, timestamp: T0 }),
      "'videoId' is missing",
    ],
    [
      "an empty videoId",
      view({ videoId: "", timestamp: T0 }),
      `'videoId' must be a non-empty string: current value is ""`,
    ],
    [
      "a blank videoId",
      view({ videoId: "   ", timestamp: T0 }),
      `'videoId' must be a non-empty string: current value is "   "`,
    ],
    [
      "a numeric videoId",
      view({ videoId: 12907, timestamp: T0 }),
      "'videoId' must be a non-empty string: current value is 12907",
    ],
    [
      "an object videoId",
      view({ videoId: { id: "vid-1" }, timestamp: T0 }),
      `'videoId' must be a non-empty string: current value is {"id":"vid-1"}`,
    ],
    [
      "a missing timestamp",
      view({ userId: "u-1", videoId: "vid-1" }),
      "'timestamp' is missing",
    ],
    [
      "a null timestamp",
      view({ videoId: "vid-1", timestamp: null }),
      "'timestamp' is missing",
    ],
    [
      "a word for a timestamp",
      view({ videoId: "vid-1", timestamp: "yesterday" }),
      `'timestamp' must be ISO-8601 with a time zone or epoch milliseconds: current value is "yesterday"`,
    ],
    [
      "an impossible date",
      view({ videoId: "vid-1", timestamp: "2026-13-45T99:00:00Z" }),
      `'timestamp' must be ISO-8601 with a time zone or epoch milliseconds: current value is "2026-13-45T99:00:00Z"`,
    ],
    [
      "an empty timestamp",
      view({ videoId: "vid-1", timestamp: "" }),
      `'timestamp' must be ISO-8601 with a time zone or epoch milliseconds: current value is ""`,
    ],
    [
      "a local time without zone",
      view({ videoId: "vid-1", timestamp: "2026-03-14T06:00:00" }),
      `'timestamp' must be ISO-8601 with a time zone or epoch milliseconds: current value is "2026-03-14T06:00:00"`,
    ],
    [
      "a date without time",
      view({ videoId: "vid-1", timestamp: "2026-03-14" }),
      `'timestamp' must be ISO-8601 with a time zone or epoch milliseconds: current value is "2026-03-14"`,
    ],
    [
      "a negative epoch",
      view({ videoId: "vid-1", timestamp: -1 }),
      "'timestamp' must be ISO-8601 with a time zone or epoch milliseconds: current value is -1",
    ],
    [
      "a fractional epoch",
      view({ videoId: "vid-1", timestamp: 1.5 }),
      "'timestamp' must be ISO-8601 with a time zone or epoch milliseconds: current value is 1.5",
    ],
    [
      "a boolean timestamp",
      view({ videoId: "vid-1", timestamp: true }),
      "'timestamp' must be ISO-8601 with a time zone or epoch milliseconds: current value is true",
    ],
  ];
  for (const [name, payload, reason] of cases) {
    await t.step(`${name} is refused`, () => {
      const got = reasonOf(payload);
      // A reason ending in ": " is followed by the payload, as JSON.
      const expected = reason.endsWith(": ")
        ? `${reason}${JSON.stringify(payload)}`
        : reason;
      assert.equal(got, expected);
    });
  }
});

Deno.test("parseView shows the offending payload in the reason, cut at 80 characters", () => {
  assert.equal(
    reasonOf("<html>"),
    'payload is not valid JSON: "<html>"',
  );
  const long = `not json ${"x".repeat(200)}`;
  const reason = reasonOf(long);
  assert.equal(
    reason,
    `payload is not valid JSON: ${JSON.stringify(long).slice(0, 80)}…`,
  );
});

Deno.test("parseView accepts epoch milliseconds and ISO-8601 with Z or an offset", () => {
  assert.equal(timestampOf(view({ videoId: "v", timestamp: T0 })), T0);
  assert.equal(timestampOf(view({ videoId: "v", timestamp: 0 })), 0);
  assert.equal(
    timestampOf(view({ videoId: "v", timestamp: "2026-03-14T06:00:00Z" })),
    T0,
  );
  assert.equal(
    timestampOf(view({ videoId: "v", timestamp: "2026-03-14T06:00:00.123Z" })),
    T0 + 123,
  );
  // Fractions beyond milliseconds are truncated, as Instant.toEpochMilli.
  assert.equal(
    timestampOf(
      view({ videoId: "v", timestamp: "2026-03-14T06:00:00.987654321Z" }),
    ),
    T0 + 987,
  );
  assert.equal(
    timestampOf(view({ videoId: "v", timestamp: "2026-03-14T08:00:00+02:00" })),
    T0,
  );
  assert.equal(
    timestampOf(view({ videoId: "v", timestamp: "2026-03-14T00:30:00-05:30" })),
    T0,
  );
  assert.equal(
    timestampOf(view({ videoId: "v", timestamp: "2026-03-14T06:00:00+00:00" })),
    T0,
  );
});

Deno.test("parseView keeps videoId and userId, and answers a null userId when it is absent or not a string", () => {
  assert.deepEqual(
    parseView(view({ userId: "u-7", videoId: "vid-1", timestamp: T0 })),
    { ok: true, view: { videoId: "vid-1", userId: "u-7", timestamp: T0 } },
  );
  assert.deepEqual(
    parseView(view({ videoId: "vid-1", timestamp: T0 })),
    { ok: true, view: { videoId: "vid-1", userId: null, timestamp: T0 } },
  );
  assert.deepEqual(
    parseView(view({ userId: 7, videoId: "vid-1", timestamp: T0 })),
    { ok: true, view: { videoId: "vid-1", userId: null, timestamp: T0 } },
  );
});

Deno.test("parseView accepts JSON padded with whitespace, as the fixture's value-whitespace lines are", () => {
  const parsed = parseView(
    `   ${view({ userId: "u-1", videoId: "vid-1", timestamp: T0 })}\t `,
  );
  assert.ok(parsed.ok);
  assert.equal(parsed.view.videoId, "vid-1");
});

Deno.test("parseView never throws, whatever the payload", () => {
  for (
    const payload of [
      "\u0000",
      "{",
      "}",
      '{"videoId":"v","timestamp":"2026-02-30T00:00:00Z"}',
      '{"videoId":"v","timestamp":1e400}',
      '{"__proto__":{"videoId":"v"}}',
    ]
  ) {
    const parsed = parseView(payload);
    assert.equal(parsed.ok, false, payload);
  }
});
