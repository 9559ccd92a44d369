import assert from "node:assert/strict";
import { enrich, parseClick } from "../../src/jobs/clickstream/parse.ts";

const T0 = Date.UTC(2024, 9, 22, 18, 0, 0);
const W = { start: T0, end: T0 + 300_000 };

Deno.test("parseClick() takes epoch ms, ISO-8601 with a zone, and zone-less ISO as UTC, and keeps the trimmed text", () => {
  for (
    const [timestamp, expected] of [
      [T0 + 5, T0 + 5],
      ["2024-10-22T18:00:00.005Z", T0 + 5],
      ["2024-10-22T20:00:00+02:00", T0],
      ["2024-10-22T18:00:00", T0],
    ] as const
  ) {
    const text = JSON.stringify({
      event_id: "e",
      user_id: "u",
      event_type: "t",
      timestamp,
    });
    assert.deepEqual(parseClick(` ${text}\n`), {
      ok: true,
      value: { user_id: "u", time_ms: expected, text },
    });
  }
});

Deno.test("parseClick() refuses a missing, null or empty required field and a bad timestamp", () => {
  const base = { event_id: "e", user_id: "u", event_type: "t", timestamp: T0 };
  for (const field of ["event_id", "user_id", "event_type"]) {
    for (const value of [undefined, null, "", "  ", 7]) {
      const parsed = parseClick(JSON.stringify({ ...base, [field]: value }));
      assert.equal(parsed.ok, false, `${field} ${value}`);
      assert.match(
        (parsed as { reason: string }).reason,
        new RegExp(`^'${field}' (is missing|must be a non-empty string)`),
      );
    }
  }
  for (const timestamp of ["soon", -1, 1.5, {}, "2024-10-22T18:61:00Z"]) {
    const parsed = parseClick(JSON.stringify({ ...base, timestamp }));
    assert.equal(parsed.ok, false, JSON.stringify(timestamp));
  }
  assert.deepEqual(parseClick("null"), {
    ok: false,
    reason: "payload must be a JSON object: current value is null",
  });
});

Deno.test("enrich() appends the event time and window bounds to the payload's own text", () => {
  assert.equal(
    enrich({ time_ms: T0 + 1_250, text: '{"a":1.0 }' }, W.start, W.end),
    '{"a":1.0 ,"event_timestamp":"2024-10-22T18:00:01.250Z","event_timestamp_start":"2024-10-22T18:00:00Z","event_timestamp_end":"2024-10-22T18:05:00Z"}',
  );
});

Deno.test("enrich() rewrites a payload on several lines, or holding an added field, as one line", () => {
  const line = enrich(
    {
      time_ms: T0,
      text: '{"a":\n1,"event_timestamp_start":"x","b":"\\"event_timestamp"}',
    },
    W.start,
    W.end,
  );
  assert.ok(!line.includes("\n"));
  assert.deepEqual(JSON.parse(line), {
    a: 1,
    b: '"event_timestamp',
    event_timestamp: "2024-10-22T18:00:00Z",
    event_timestamp_start: "2024-10-22T18:00:00Z",
    event_timestamp_end: "2024-10-22T18:05:00Z",
  });
});
