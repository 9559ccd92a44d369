import assert from "node:assert/strict";
import { parseEventTime } from "../../src/core/time.ts";
import { isWindowLate, sliding } from "../../src/core/windows.ts";
import {
  ANALYTICS_TOPIC,
  BAD_REASONS,
  CHECK_RUN,
  checkRunSha256,
  generateAnalytics,
  main,
  openWindowStarts,
} from "../../scripts/gen_analytics_fixture.ts";
import {
  generatorSuite,
  recordedLines,
  structuralProblems,
} from "./fixture_checks.ts";

generatorSuite({
  name: "gen_analytics_fixture",
  main,
  topic: ANALYTICS_TOPIC,
  partitions: 4,
  committed: "fixtures/analytics/analytics.jsonl.gz",
  readme: "fixtures/analytics/README.md",
  committed_lines_min: 100_000,
});

const ROOT = new URL("../../", import.meta.url);

/** Issue 10's rules, restated: the reason an event is bad, or null. */
function reasonOf(value: string): string | null {
  let data: unknown;
  try {
    data = JSON.parse(value);
  } catch {
    return "not-json";
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    return "not-object";
  }
  const event = data as Record<string, unknown>;
  if (!("event_id" in event)) return "event_id-missing";
  if (event.event_id === "") return "event_id-empty";
  if (typeof event.event_id !== "string") return "event_id-not-string";
  if ("value" in event && typeof event.value !== "number") {
    return "value-not-number";
  }
  if (parseEventTime(event.timestamp) === undefined) return "timestamp-bad";
  return null;
}

// 20 minutes of arrivals: dense enough for late events and quiet periods.
const small = generateAnalytics({
  seed: 7,
  messages: 6_000,
  duration_ms: 20 * 60_000,
});
const small_records = recordedLines(small.lines.join("\n"));

Deno.test("gen_analytics_fixture keys every valid event by its event_id, and its bad records are bad for exactly the reasons it counts", () => {
  const { stats } = small;
  assert.deepEqual(
    structuralProblems(small.lines.join("\n") + "\n", {
      topic: ANALYTICS_TOPIC,
      partitions: 4,
    }),
    [],
  );
  const reasons = new Map<string, number>();
  let valid = 0;
  let omitted = 0;
  for (const record of small_records) {
    const reason = reasonOf(record.value);
    if (reason !== null) {
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      continue;
    }
    valid++;
    const event = JSON.parse(record.value);
    assert.equal(event.event_id, record.key, `line ${record.line}`);
    if (!("value" in event)) omitted++;
  }
  for (const reason of BAD_REASONS) {
    assert.ok(stats.bad_by_reason[reason] > 0, `no ${reason} record`);
    assert.equal(reasons.get(reason) ?? 0, stats.bad_by_reason[reason], reason);
  }
  assert.equal(reasons.size, BAD_REASONS.length);
  assert.equal(valid, stats.valid_records);
  assert.equal(omitted, stats.values_omitted);
});

Deno.test("gen_analytics_fixture counts the late events the core's sliding windows and isWindowLate find, per partition", () => {
  const { stats } = small;
  const assigner = sliding({ size_ms: 30_000, slide_ms: 10_000 });
  const max_event = new Map<number, number>();
  const windows = new Set<string>();
  let late = 0;
  let partly = 0;
  for (const record of small_records) {
    if (reasonOf(record.value) !== null) continue;
    const t = parseEventTime(JSON.parse(record.value).timestamp)!;
    const watermark = (max_event.get(record.partition) ?? -Infinity) - 5_001;
    const all = assigner.assign(t);
    const open = all.filter((w) => !isWindowLate(w.end, 0, watermark));
    if (open.length === 0) late++;
    else if (open.length < all.length) partly++;
    for (const w of open) windows.add(`${record.key} ${w.start}`);
    max_event.set(
      record.partition,
      Math.max(max_event.get(record.partition) ?? -Infinity, t),
    );
  }
  assert.ok(late > 0, "the run must have late events");
  assert.equal(stats.late, late);
  assert.equal(stats.partly_late, partly);
  assert.equal(stats.windows_with_data, windows.size);
  assert.ok(stats.late_with_clock_watermark >= stats.late);
  assert.ok(
    stats.quiet_periods.some((q) => q.end_ms - q.start_ms > 60_000),
    "the run must have a quiet period over a minute",
  );
});

Deno.test("openWindowStarts() closes a sliding window exactly when the watermark reaches its end - 1", () => {
  // 25,000 is in [0, 30,000), [10,000, 40,000) and [20,000, 50,000).
  assert.deepEqual(openWindowStarts(25_000, 29_998, 30_000, 10_000), [
    0,
    10_000,
    20_000,
  ]);
  assert.deepEqual(openWindowStarts(25_000, 29_999, 30_000, 10_000), [
    10_000,
    20_000,
  ]);
  assert.deepEqual(openWindowStarts(25_000, 49_998, 30_000, 10_000), [20_000]);
  assert.deepEqual(openWindowStarts(25_000, 49_999, 30_000, 10_000), []);
  assert.deepEqual(openWindowStarts(-5_000, -Infinity, 30_000, 10_000), [
    -30_000,
    -20_000,
    -10_000,
  ]);
  const assigner = sliding({ size_ms: 30_000, slide_ms: 10_000 });
  for (const t of [0, 9_999, 10_000, 123_456]) {
    for (const watermark of [t - 5_001, t + 5_000, t + 25_000, t + 40_000]) {
      assert.deepEqual(
        openWindowStarts(t, watermark, 30_000, 10_000),
        assigner.assign(t).filter((w) => !isWindowLate(w.end, 0, watermark))
          .map((w) => w.start),
      );
    }
  }
});

Deno.test("the analytics README pins the check run the generator still writes (else: regenerate the fixture)", async () => {
  const readme = await Deno.readTextFile(
    new URL("fixtures/analytics/README.md", ROOT),
  );
  const line =
    `${await checkRunSha256()}  check run --seed ${CHECK_RUN.seed} --messages ${CHECK_RUN.messages}`;
  assert.ok(
    readme.includes(line),
    "the generator changed: regenerate the fixture and its README",
  );
});
