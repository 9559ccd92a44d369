/**
 * The `analytics` job through the shared test driver (sim/driver.ts):
 * windows and their statistics, the Redis keys and TTLs, trimming of each
 * id's window list, windows closing on a quiet stream, late events and
 * dead letters; and, over the recorded fixture, its counts.
 */

import assert from "node:assert/strict";
import { analytics } from "../../src/jobs/analytics/job.ts";
import {
  KEYS_KEY,
  latestKey,
  windowKey,
  windowsKey,
} from "../../src/jobs/analytics/keys.ts";
import { decodeFixture, parseFixture } from "../../src/core/fixture.ts";
import { reconciles } from "../../src/core/job.ts";
import { JobDriver } from "../../sim/driver.ts";
import { simulate } from "../../sim/simulator.ts";

const TOPIC = "flink-events";
const T0 = Date.UTC(2026, 2, 15, 8, 0, 0); // 2026-03-15T08:00:00Z
const DAY_MS = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();

function event(
  event_id: string,
  ts: number,
  value?: number,
): { value: string; key: string } {
  return {
    key: event_id,
    value: JSON.stringify({
      event_id,
      ...(value === undefined ? {} : { value }),
      timestamp: iso(ts),
    }),
  };
}

async function driver(options: Record<string, string> = {}) {
  return await JobDriver.open(analytics, {
    partitions: 1,
    start_ms: T0,
    overrides: { options },
  });
}

/** A sorted set as `member score` lines, by ascending score. */
async function zset(d: JobDriver, key: string): Promise<string[]> {
  return (await d.kv.zrange(key, 0, -1)).map((m) => `${m.member} ${m.score}`);
}

/** Ends (ms after T0) of the windows the id has in its list. */
async function ends(d: JobDriver, id: string): Promise<number[]> {
  return (await d.kv.zrange(windowsKey(id), 0, -1)).map((m) => m.score - T0);
}

function window(
  id: string,
  start: number,
  stats: { count: number; sum: number; min: number; max: number },
): Record<string, string> {
  return {
    count: String(stats.count),
    event_id: id,
    max: String(stats.max),
    min: String(stats.min),
    sum: String(stats.sum),
    window_end: iso(start + 30_000),
    window_start: iso(start),
  };
}

/** Side messages of `topic` as [key, reason]. */
function side(d: JobDriver, topic: string): Array<[string | null, string]> {
  return d.records(topic).map((r) => [r.key, JSON.parse(r.value).reason]);
}

Deno.test("analytics describes itself: input topic, partitions, side topics and options with defaults", () => {
  const job = analytics.create();
  assert.equal(job.name, "analytics");
  assert.equal(job.topic, TOPIC);
  assert.equal(job.partitions, 4);
  assert.equal(job.out_of_orderness_ms, 5_000);
  assert.deepEqual(job.outputTopics, [
    "flink-events.dead-letter",
    "flink-events.late",
  ]);
  assert.equal(analytics.fixture, "fixtures/analytics/analytics.jsonl.gz");
  assert.deepEqual(analytics.optionHelp(), [
    "partitions=4",
    "window_size_ms=30000",
    "window_slide_ms=10000",
    "out_of_orderness_ms=5000",
    "allowed_lateness_ms=0",
    "idle_advance_ms=5000",
    "window_ttl_ms=86400000",
  ]);
  assert.deepEqual(job.route(event("btn", T0).value), {
    key: "btn",
    timestamp: T0,
  });
  assert.throws(
    () => analytics.create({ options: { window_size_ms: "-5" } }),
    /'size_ms' must be a positive duration in whole milliseconds: current value is -5/,
  );
  assert.throws(
    () => analytics.create({ options: { window_ttl_ms: "ten" } }),
    /Cannot configure analytics as 'window_ttl_ms' must be a number/,
  );
});

Deno.test("analytics writes count, sum, min and max of every sliding window as it closes, with its keys", async () => {
  const d = await driver();
  await d.pipe([
    event("btn", T0 + 1_000, 1),
    event("btn", T0 + 2_000, 2.5),
    event("page", T0 + 4_000),
    event("btn", T0 + 9_999, -3),
  ]);
  assert.deepEqual(await d.kv.keys("analytics:*"), []);
  // Event time T0 + 15 s moves the watermark to T0 + 9.999 s: the window
  // [T0 - 20 s, T0 + 10 s) closes; the two later ones stay open.
  await d.pipe([event("other", T0 + 15_000)]);
  const btn = { count: 3, sum: 0.5, min: -3, max: 2.5 };
  const page = { count: 1, sum: 1, min: 1, max: 1 };
  assert.deepEqual(
    await d.kv.hgetall(windowKey("btn", T0 - 20_000)),
    window("btn", T0 - 20_000, btn),
  );
  assert.deepEqual(await ends(d, "btn"), [10_000]);
  await d.pipe([event("other", T0 + 35_000)]);
  for (const start of [T0 - 20_000, T0 - 10_000, T0]) {
    assert.deepEqual(
      await d.kv.hgetall(windowKey("btn", start)),
      window("btn", start, btn),
    );
    assert.deepEqual(
      await d.kv.hgetall(windowKey("page", start)),
      window("page", start, page),
    );
  }
  assert.deepEqual(await zset(d, windowsKey("btn")), [
    `${iso(T0 - 20_000)} ${T0 + 10_000}`,
    `${iso(T0 - 10_000)} ${T0 + 20_000}`,
    `${iso(T0)} ${T0 + 30_000}`,
  ]);
  assert.deepEqual(
    await d.kv.hgetall(latestKey("btn")),
    window("btn", T0, btn),
  );
  // `other` has windows closed too (the one holding T0 + 15 s).
  assert.deepEqual(await d.kv.zrevrange(KEYS_KEY, 0, -1), [
    { member: "btn", score: 3 },
    { member: "page", score: 1 },
    { member: "other", score: 1 },
  ]);
  for (
    const key of [
      windowKey("btn", T0),
      windowsKey("btn"),
      latestKey("btn"),
    ]
  ) {
    assert.equal(await d.kv.pttl(key), DAY_MS, key);
  }
  assert.equal(await d.kv.pttl(KEYS_KEY), -1);
  assert.deepEqual(d.counts(), {
    in: 6,
    out: 6,
    filtered: 0,
    dead_lettered: 0,
    late: 0,
  });
});

Deno.test("analytics sums exactly: the same values in another order give the same sum", async () => {
  const sums: string[] = [];
  for (const values of [[0.1, 0.2, 0.3], [0.3, 0.2, 0.1]]) {
    const d = await driver();
    await d.pipe(values.map((v, i) => event("x", T0 + i, v)));
    await d.endOfInput();
    sums.push((await d.kv.hgetall(windowKey("x", T0))).sum!);
  }
  assert.deepEqual(sums, ["0.6", "0.6"]);
});

Deno.test("analytics trims each id's window list of windows ending a TTL before its newest", async () => {
  const d = await driver({ window_ttl_ms: "60000" });
  await d.pipe([event("btn", T0 + 1_000), event("btn", T0 + 100_000)]);
  assert.deepEqual(await ends(d, "btn"), [10_000, 20_000, 30_000]);
  await d.pipe([event("btn", T0 + 200_000)]);
  // The windows of T0 + 100 s end at 110, 120 and 130 s: those ending at
  // 70 s or before leave the list.
  assert.deepEqual(await ends(d, "btn"), [110_000, 120_000, 130_000]);
  assert.equal(await d.kv.pttl(windowsKey("btn")), 60_000);
  assert.equal(await d.kv.pttl(windowKey("btn", T0 + 100_000)), 60_000);
  // The hashes of trimmed windows expire by their own TTL.
  d.clock.advanceTo(T0 + 60_001);
  assert.deepEqual(await d.kv.hgetall(windowKey("btn", T0)), {});
});

Deno.test("analytics closes the windows of a quiet stream by the idle advance", async () => {
  const d = await driver();
  await d.pipe([event("btn", T0 + 1_000, 4)]);
  await d.advanceClock(4_000);
  assert.deepEqual(await ends(d, "btn"), []);
  // Idle: the watermark follows the clock, 5 s behind the event time it
  // would have reached, so [T0 - 20 s, T0 + 10 s) closes at T0 + 14 s.
  await d.advanceClock(12_000);
  assert.deepEqual(await ends(d, "btn"), [10_000]);
  await d.advanceClock(30_000);
  assert.deepEqual(await ends(d, "btn"), [10_000, 20_000, 30_000]);
  assert.deepEqual(
    await d.kv.hgetall(latestKey("btn")),
    window("btn", T0, { count: 1, sum: 4, min: 4, max: 4 }),
  );
  assert.ok(d.events.some((e) => e.type === "tick"));
});

Deno.test("analytics sends an event whose every window closed to flink-events.late", async () => {
  const d = await driver();
  await d.pipe([event("btn", T0 + 60_000), event("btn", T0 + 10_000)]);
  // Watermark T0 + 54.999 s: the windows of T0 + 10 s end by T0 + 40 s.
  assert.deepEqual(side(d, `${TOPIC}.late`), [
    [
      `${TOPIC}:0:1`,
      "late beyond allowed lateness of 0 ms for: sliding windows",
    ],
  ]);
  // Late for some windows only: counted in the open ones.
  await d.pipe([event("btn", T0 + 45_000)]);
  assert.equal(d.records(`${TOPIC}.late`).length, 1);
  assert.deepEqual(d.counts(), {
    in: 3,
    out: 2,
    filtered: 0,
    dead_lettered: 0,
    late: 1,
  });
  await d.endOfInput();
  assert.equal(
    (await d.kv.hgetall(windowKey("btn", T0 + 40_000))).count,
    "2",
  );
  assert.equal(
    (await d.kv.hgetall(windowKey("btn", T0 + 10_000))).count,
    undefined,
  );
});

Deno.test("analytics dead-letters bad records with their reason and goes on", async () => {
  const d = await driver();
  const at = iso(T0);
  await d.pipe([
    { key: "a", value: "not json" },
    { key: "a", value: "[1]" },
    { key: "a", value: JSON.stringify({ value: 1, timestamp: at }) },
    { key: "a", value: JSON.stringify({ event_id: "", timestamp: at }) },
    { key: "a", value: JSON.stringify({ event_id: 42, timestamp: at }) },
    {
      key: "a",
      value: JSON.stringify({ event_id: "a", value: "12", timestamp: at }),
    },
    { key: "a", value: JSON.stringify({ event_id: "a", timestamp: "soon" }) },
    { key: "a", value: JSON.stringify({ event_id: "a" }) },
    { key: "b", value: JSON.stringify({ event_id: "a", timestamp: at }) },
    {
      key: "a",
      value: JSON.stringify({ event_id: "a", value: null, timestamp: at }),
    },
  ]);
  assert.deepEqual(side(d, `${TOPIC}.dead-letter`).map(([, r]) => r), [
    'payload is not valid JSON: "not json"',
    "payload must be a JSON object: current value is [1]",
    "'event_id' is missing",
    `'event_id' must be a non-empty string: current value is ""`,
    "'event_id' must be a non-empty string: current value is 42",
    `'value' must be a finite number: current value is "12"`,
    `'timestamp' must be ISO-8601 or epoch milliseconds: current value is "soon"`,
    "'timestamp' is missing",
    `the record's key must be its 'event_id' "a" (one partition sees every event of an id): current key is "b"`,
  ]);
  assert.deepEqual(d.counts(), {
    in: 10,
    out: 1,
    filtered: 0,
    dead_lettered: 9,
    late: 0,
  });
  await d.endOfInput();
  assert.equal((await d.kv.hgetall(windowKey("a", T0))).sum, "1");
});

Deno.test("with allowed lateness, a late event updates its window but not the id's latest", async () => {
  const d = await driver({ allowed_lateness_ms: "20000" });
  await d.pipe([event("btn", T0 + 1_000), event("btn", T0 + 35_000)]);
  // Watermark T0 + 40 s: [T0 + 10 s, T0 + 40 s) closes and is the latest.
  await d.pipe([event("btn", T0 + 45_001)]);
  assert.equal(
    (await d.kv.hgetall(latestKey("btn"))).window_end,
    iso(T0 + 40_000),
  );
  // Within lateness only for [T0, T0 + 30 s): it fires again, count 2.
  await d.pipe([event("btn", T0 + 5_000)]);
  assert.equal((await d.kv.hgetall(windowKey("btn", T0))).count, "2");
  assert.equal(
    (await d.kv.hgetall(windowKey("btn", T0 - 20_000))).count,
    "1",
  );
  const latest = await d.kv.hgetall(latestKey("btn"));
  assert.equal(latest.window_end, iso(T0 + 40_000));
  assert.equal(latest.count, "1");
  assert.deepEqual(await d.kv.zrevrange(KEYS_KEY, 0, -1), [
    { member: "btn", score: 1 },
  ]);
});

Deno.test("analytics over its recorded fixture: every record lands in one class, 202 dead letters, late as the fixture's README bounds", async () => {
  const fixture = parseFixture(
    await decodeFixture(
      await Deno.readFile(
        new URL("../../fixtures/analytics/analytics.jsonl.gz", import.meta.url),
      ),
    ),
  );
  const result = await simulate({
    job: analytics.create(),
    fixture,
    seed: 1,
  });
  const counts = result.counts;
  assert.ok(reconciles(counts), JSON.stringify(counts));
  assert.equal(counts.in, 101_000);
  assert.equal(counts.dead_lettered, 202);
  assert.equal(counts.filtered, 0);
  // 535 late without the idle advance; at most 555 with it (fixtures/analytics/README.md).
  assert.ok(
    counts.late >= 535 && counts.late <= 555,
    `late: ${counts.late}`,
  );
  const keys = await result.kv.zrange(KEYS_KEY, 0, -1);
  assert.equal(keys.length, 36);
  assert.equal(
    (await result.kv.keys("analytics:window:*")).length,
    22_282,
  );
});
