/**
 * The `views` job through the shared test driver (sim/driver.ts): what it
 * leaves in Redis and on its side topics for small inputs, and, against the
 * recorded fixture, that its processors reconcile their counts and resume
 * from snapshots exactly.
 */

import assert from "node:assert/strict";
import type { KvOp, LogRecord } from "../../src/ports.ts";
import { Outputs, type PartitionProcessor } from "../../src/core/job.ts";
import { parseFixture } from "../../src/core/fixture.ts";
import { countKey, views } from "../../src/jobs/views/job.ts";
import type { KvBatch } from "../../src/sinks/kv_batch.ts";
import type { SideMessages } from "../../src/sinks/side_topics.ts";
import { JobDriver } from "../../sim/driver.ts";

const TOPIC = "video-views";
const T0 = Date.UTC(2026, 2, 14, 6, 0, 0); // 2026-03-14T06:00:00Z
const HOUR_MS = 3_600_000;

function view(videoId: string, ts: number): string {
  return JSON.stringify({
    userId: "u-1",
    videoId,
    timestamp: new Date(ts).toISOString(),
  });
}

/** Small windows so that a handful of records fills them. */
const SMALL = {
  window_size_ms: "120000",
  window_slide_ms: "60000",
  top_k: "2",
};

async function driver(options: Record<string, string> = {}) {
  return await JobDriver.open(views, {
    partitions: 1,
    start_ms: T0,
    overrides: { options },
  });
}

/** A sorted set as `member score` lines, by rank. */
async function zset(d: JobDriver, key: string): Promise<string[]> {
  return (await d.kv.zrevrange(key, 0, -1)).map((m) =>
    `${m.member} ${m.score}`
  );
}

/** Side messages of `topic` as [key, reason]. */
function side(d: JobDriver, topic: string): Array<[string | null, string]> {
  return d.records(topic).map((r) => [r.key, JSON.parse(r.value).reason]);
}

Deno.test("views describes itself: input topic, partitions, side topics and options with defaults", () => {
  const job = views.create();
  assert.equal(job.name, "views");
  assert.equal(job.topic, TOPIC);
  assert.equal(job.partitions, 4);
  assert.equal(job.out_of_orderness_ms, 10_000);
  assert.deepEqual(job.outputTopics, [
    "video-views.dead-letter",
    "video-views.late",
  ]);
  assert.deepEqual(views.optionHelp(), [
    "partitions=4",
    "out_of_orderness_ms=10000",
    "allowed_lateness_ms=300000",
    "hour_ttl_ms=172800000",
    "day_ttl_ms=691200000",
    "window_size_ms=3600000",
    "window_slide_ms=60000",
    "window_ttl_ms=7200000",
    "top_k=10",
    "heavy_hitters_capacity=0",
  ]);
  assert.deepEqual(views.create({ topic: "v2" }).outputTopics, [
    "v2.dead-letter",
    "v2.late",
  ]);
  assert.throws(
    () => views.create({ options: { nope: "1" } }),
    /Cannot configure views as 'nope' is not one of its options/,
  );
  assert.throws(
    () => views.create({ options: { window_size_ms: "-5" } }),
    /'size_ms' must be a positive duration in whole milliseconds: current value is -5/,
  );
});

Deno.test("views routes a view by its payload's videoId and event time, and a bad payload nowhere", () => {
  const job = views.create();
  assert.deepEqual(job.route(view("vid-1", T0)), {
    key: "vid-1",
    timestamp: T0,
  });
  assert.deepEqual(job.route("not json"), { key: null, timestamp: undefined });
  assert.deepEqual(job.route(JSON.stringify({ videoId: "vid-1" })), {
    key: null,
    timestamp: undefined,
  });
});

Deno.test("views writes all-time counts, top_videos and hour and day leaderboards with TTLs", async () => {
  const d = await driver(SMALL);
  await d.pipe([
    view("vid-a", T0 + 1_000),
    view("vid-b", T0 + 2_000),
    view("vid-a", T0 + 3_000),
  ]);
  assert.equal(await d.kv.get(countKey("vid-a")), "2");
  assert.equal(await d.kv.get(countKey("vid-b")), "1");
  assert.deepEqual(await zset(d, "top_videos"), ["vid-a 2", "vid-b 1"]);
  assert.deepEqual(await zset(d, "top_videos:hour:2026031406"), [
    "vid-a 2",
    "vid-b 1",
  ]);
  assert.deepEqual(await zset(d, "top_videos:day:20260314"), [
    "vid-a 2",
    "vid-b 1",
  ]);
  assert.equal(await d.kv.pttl("top_videos:hour:2026031406"), 48 * HOUR_MS);
  assert.equal(await d.kv.pttl("top_videos:day:20260314"), 8 * 24 * HOUR_MS);
  assert.equal(await d.kv.pttl("top_videos"), -1);
  assert.deepEqual(d.counts(), {
    in: 3,
    out: 3,
    filtered: 0,
    dead_lettered: 0,
    late: 0,
  });
});

Deno.test("views writes each sliding window's Top-K under its end minute and partition when it fires", async () => {
  const d = await driver(SMALL);
  await d.pipe([
    view("vid-a", T0 + 1_000),
    view("vid-b", T0 + 2_000),
    view("vid-a", T0 + 3_000),
    view("vid-c", T0 + 4_000),
  ]);
  assert.deepEqual(await d.kv.keys("top_videos:sliding:*"), []);
  // Both 2-minute windows holding the minute 06:00 fire at end of input:
  // [05:59, 06:01) and [06:00, 06:02). Top 2: vid-a 2, then vid-b before vid-c.
  await d.endOfInput();
  for (const minute of ["202603140601", "202603140602"]) {
    const key = `top_videos:sliding:${minute}:0`;
    assert.deepEqual(await zset(d, key), ["vid-a 2", "vid-b 1"]);
    assert.equal(await d.kv.pttl(key), 2 * HOUR_MS);
  }
  assert.equal((await d.kv.keys("top_videos:sliding:*")).length, 2);
});

Deno.test("views fires a sliding window as the watermark passes its end, in the batch that moved it", async () => {
  const d = await driver({ ...SMALL, out_of_orderness_ms: "0" });
  await d.pipe([view("vid-a", T0 + 1_000)]);
  assert.deepEqual(await d.kv.keys("top_videos:sliding:*"), []);
  // Event time 06:01:00.001 moves the watermark to 06:01:00.000 = end - 1 of [05:59, 06:01).
  await d.pipe([view("vid-b", T0 + 60_001)]);
  assert.deepEqual(await d.kv.keys("top_videos:sliding:*"), [
    "top_videos:sliding:202603140601:0",
  ]);
  assert.deepEqual(await zset(d, "top_videos:sliding:202603140601:0"), [
    "vid-a 1",
  ]);
});

Deno.test("a view late beyond lateness counts all-time, stays out of its closed hour, and goes to the late topic", async () => {
  const d = await driver({
    ...SMALL,
    out_of_orderness_ms: "0",
    allowed_lateness_ms: "60000",
  });
  // Appended at 09:00 (an event time ahead of its append time is refused).
  d.clock.advanceTo(T0 + 3 * HOUR_MS);
  await d.pipe([view("vid-a", T0 + 3 * HOUR_MS), view("vid-b", T0 + 1_000)]);
  assert.equal(await d.kv.get(countKey("vid-b")), "1");
  assert.deepEqual(await zset(d, "top_videos"), ["vid-b 1", "vid-a 1"]);
  assert.deepEqual(await d.kv.keys("top_videos:hour:*"), [
    "top_videos:hour:2026031409",
  ]);
  assert.deepEqual(await zset(d, "top_videos:day:20260314"), [
    "vid-b 1",
    "vid-a 1",
  ]);
  const late = d.records("video-views.late");
  assert.equal(late.length, 1);
  assert.equal(late[0]!.key, "video-views:0:1");
  assert.deepEqual(JSON.parse(late[0]!.value), {
    reason:
      "late beyond allowed lateness of 60000 ms for: hour 2026031406, sliding windows",
    source: { topic: TOPIC, partition: 0, offset: 1 },
    key: "vid-b",
    value: view("vid-b", T0 + 1_000),
    timestamp: T0 + 3 * HOUR_MS,
    value_bytes: view("vid-b", T0 + 1_000).length,
  });
  assert.deepEqual(d.counts(), {
    in: 2,
    out: 1,
    filtered: 0,
    dead_lettered: 0,
    late: 1,
  });
});

Deno.test("a view late within lateness still lands in its closed hour's leaderboard", async () => {
  const d = await driver({
    out_of_orderness_ms: "0",
    allowed_lateness_ms: "60000",
  });
  // The watermark passes 07:00 by 30 s: hour 06 closed, but within lateness.
  d.clock.advanceTo(T0 + HOUR_MS + 30_000);
  await d.pipe([view("vid-a", T0 + HOUR_MS + 30_000), view("vid-b", T0 + 5)]);
  assert.deepEqual(await zset(d, "top_videos:hour:2026031406"), ["vid-b 1"]);
  assert.deepEqual(d.records("video-views.late"), []);
  assert.equal(d.counts().late, 0);
});

Deno.test("views dead-letters bad payloads with their reasons, keyed by source position", async () => {
  const d = await driver();
  await d.pipe([
    "<html>502</html>",
    JSON.stringify({ userId: "u-1", timestamp: T0 }),
    view("vid-a", T0),
    JSON.stringify({ videoId: "vid-a", timestamp: "yesterday" }),
  ]);
  assert.deepEqual(side(d, "video-views.dead-letter"), [
    ["video-views:0:0", 'payload is not valid JSON: "<html>502</html>"'],
    ["video-views:0:1", "'videoId' is missing"],
    [
      "video-views:0:3",
      `'timestamp' must be ISO-8601 with a time zone or epoch milliseconds: current value is "yesterday"`,
    ],
  ]);
  assert.equal(await d.kv.get(countKey("vid-a")), "1");
  assert.deepEqual(d.counts(), {
    in: 4,
    out: 1,
    filtered: 0,
    dead_lettered: 3,
    late: 0,
  });
});

Deno.test("a batch of bad payloads writes only side outputs", async () => {
  const d = await driver({ heavy_hitters_capacity: "4" });
  await d.pipe(["", "[]"]);
  assert.deepEqual(
    (await d.kv.keys("*")).filter((k) => !k.startsWith("freshet:")),
    [],
  );
  assert.equal(d.records("video-views.dead-letter").length, 2);
});

Deno.test("the heavy-hitter option writes the Space-Saving estimates per partition after each batch with views", async () => {
  const d = await driver({ ...SMALL, heavy_hitters_capacity: "2" });
  await d.pipe([
    view("vid-a", T0),
    view("vid-a", T0),
    view("vid-b", T0),
    view("vid-c", T0),
  ]);
  // Capacity 2: vid-c evicts vid-b (1) and inherits its count: estimate 2.
  assert.deepEqual(await zset(d, "top_videos:heavy:0"), ["vid-c 2", "vid-a 2"]);
  const plain = await driver(SMALL);
  await plain.pipe([view("vid-a", T0)]);
  assert.deepEqual(await plain.kv.keys("top_videos:heavy:*"), []);
});

Deno.test("a view late for a sliding window never writes that window's key, even when the window never fired", async () => {
  const d = await driver({
    ...SMALL,
    out_of_orderness_ms: "0",
    allowed_lateness_ms: "0",
  });
  // The watermark goes to 06:09:59.999; then a view at 06:09:30 belongs to
  // [06:08, 06:10), late (its end - 1 is at the watermark), and to
  // [06:09, 06:11), on time. Only the second may hold it (as in Flink).
  await d.pipe([view("vid-a", T0 + 10 * 60_000), view("vid-b", T0 + 570_000)]);
  await d.endOfInput();
  assert.deepEqual(await d.kv.keys("top_videos:sliding:*"), [
    "top_videos:sliding:202603140611:0",
    "top_videos:sliding:202603140612:0",
  ]);
  assert.deepEqual(await zset(d, "top_videos:sliding:202603140611:0"), [
    "vid-b 1",
    "vid-a 1",
  ]);
  assert.equal(d.counts().late, 0);
});

Deno.test("views keeps its outputs across a crash and a restart", async () => {
  const d = await driver(SMALL);
  await d.pipe([view("vid-a", T0), view("vid-b", T0 + 1)]);
  await d.crash();
  await d.pipe([view("vid-a", T0 + 2)]);
  await d.restart();
  await d.pipe([view("vid-a", T0 + 3)]);
  assert.equal(await d.kv.get(countKey("vid-a")), "3");
  assert.deepEqual(d.counts(), {
    in: 4,
    out: 4,
    filtered: 0,
    dead_lettered: 0,
    late: 0,
  });
});

// ---------------------------------------------------------------------------
// Against the recorded fixture, processor by processor

const FIXTURE_LINES = 20_000;

async function fixtureRecords(): Promise<LogRecord[]> {
  const file = await Deno.open(
    new URL("../../fixtures/views/views.jsonl", import.meta.url),
  );
  // The first lines are enough: read about 4 MB rather than 40.
  const buffer = new Uint8Array(FIXTURE_LINES * 260);
  let filled = 0;
  for (;;) {
    const n = await file.read(buffer.subarray(filled));
    if (n === null || n === 0) break;
    filled += n;
    if (filled === buffer.length) break;
  }
  file.close();
  const text = new TextDecoder().decode(buffer.subarray(0, filled));
  const lines = text.split("\n").slice(0, FIXTURE_LINES).join("\n");
  const offsets = new Map<number, number>();
  return parseFixture(lines).map((m) => {
    const partition = m.partition!;
    const offset = offsets.get(partition) ?? 0;
    offsets.set(partition, offset + 1);
    return {
      topic: TOPIC,
      partition,
      offset,
      key: m.key ?? null,
      value: m.value,
      timestamp: m.timestamp!,
    };
  });
}

function batches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) {
    out.push(items.slice(i, i + size));
  }
  return out;
}

/** What a batch wrote: key-value ops and side messages, as plain data. */
function written(out: Outputs): { kv: KvOp[]; side: unknown[] } {
  const result: { kv: KvOp[]; side: unknown[] } = { kv: [], side: [] };
  for (const [sink, buffer] of out.buffers()) {
    if (sink.name === "redis") result.kv = (buffer as KvBatch).ops();
    else {
      result.side = [...(buffer as SideMessages).byTopic];
    }
  }
  return result;
}

function run(p: PartitionProcessor, batch: readonly LogRecord[]) {
  const out = new Outputs();
  p.process(batch, { now_ms: T0, out });
  return written(out);
}

function finish(p: PartitionProcessor) {
  const out = new Outputs();
  p.endOfInput({ now_ms: T0, out });
  return written(out);
}

Deno.test("over the fixture, every record lands in exactly one class: in = out + filtered + dead_lettered + late", async () => {
  const all = await fixtureRecords();
  const stage = views.create().stages[0]!;
  let total_in = 0;
  let total_late = 0;
  let total_dead = 0;
  for (let partition = 0; partition < 4; partition++) {
    const p = stage.createProcessor(partition);
    const mine = all.filter((r) => r.partition === partition);
    const side = { late: 0, dead: 0 };
    for (const batch of batches(mine, 300)) {
      for (
        const [topic, messages] of run(p, batch).side as Array<
          [string, unknown[]]
        >
      ) {
        if (topic === "video-views.late") side.late += messages.length;
        else if (topic === "video-views.dead-letter") {
          side.dead += messages.length;
        } else assert.fail(`unexpected topic ${topic}`);
      }
    }
    finish(p);
    const c = p.counts();
    assert.equal(c.in, mine.length);
    assert.equal(c.in, c.out + c.filtered + c.dead_lettered + c.late);
    assert.equal(c.late, side.late, "one late message per late record");
    assert.equal(c.dead_lettered, side.dead, "one dead letter per bad record");
    total_in += c.in;
    total_late += c.late;
    total_dead += c.dead_lettered;
  }
  assert.equal(total_in, FIXTURE_LINES);
  assert.ok(total_dead > 0, "the first 20,000 lines hold bad payloads");
  assert.ok(total_late > 0, "the first 20,000 lines hold late views");
});

Deno.test("over the fixture, a processor resumed from a JSON snapshot after every batch writes what an uninterrupted one writes", async () => {
  const all = await fixtureRecords();
  const stage = views.create({ options: { heavy_hitters_capacity: "50" } })
    .stages[0]!;
  for (const partition of [0, 2]) {
    const mine = all.filter((r) => r.partition === partition);
    const whole = stage.createProcessor(partition);
    let resumed = stage.createProcessor(partition);
    for (const batch of batches(mine, 250)) {
      const expected = run(whole, batch);
      const copy = stage.createProcessor(partition);
      copy.restore(JSON.parse(JSON.stringify(resumed.snapshot())));
      resumed = copy;
      assert.deepEqual(run(resumed, batch), expected);
    }
    assert.deepEqual(finish(resumed), finish(whole));
    assert.deepEqual(resumed.counts(), whole.counts());
  }
});

Deno.test("over the fixture, the batch size changes no total: per-key sums of increments are the same", async () => {
  const all = (await fixtureRecords()).filter((r) => r.partition === 1);
  const stage = views.create().stages[0]!;
  const sums = (size: number) => {
    const p = stage.createProcessor(1);
    const totals = new Map<string, number>();
    const outs = [...batches(all, size).map((b) => run(p, b)), finish(p)];
    for (const op of outs.flatMap((o) => o.kv)) {
      if (op.op === "incrby") {
        totals.set(op.key, (totals.get(op.key) ?? 0) + op.by);
      } else if (op.op === "zincrby") {
        const name = `${op.key} ${op.member}`;
        totals.set(name, (totals.get(name) ?? 0) + op.by);
      }
    }
    return [...totals].sort((a, b) => a[0] < b[0] ? -1 : 1);
  };
  assert.deepEqual(sums(1), sums(777));
});
