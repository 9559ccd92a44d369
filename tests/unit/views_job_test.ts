import assert from "node:assert/strict";
import type { KvOp, LogRecord } from "../../src/ports.ts";
import {
  emptyOutputs,
  type Outputs,
  type PartitionProcessor,
  sideMessage,
} from "../../src/core/job.ts";
import { parseFixture } from "../../src/core/fixture.ts";
import {
  countKey,
  deadLetterTopic,
  lateTopic,
  viewsConfig,
  viewsJob,
  type ViewsOptions,
} from "../../src/jobs/views/job.ts";

const TOPIC = "video-views";
const T0 = Date.UTC(2026, 2, 14, 6, 0, 0); // 2026-03-14T06:00:00Z
const HOUR_MS = 3_600_000;
const HOUR_TTL_MS = 48 * HOUR_MS;
const DAY_TTL_MS = 8 * 24 * HOUR_MS;
const SLIDING_TTL_MS = 2 * HOUR_MS;

function view(videoId: string, ts: number): string {
  return JSON.stringify({
    userId: "u-1",
    videoId,
    timestamp: new Date(ts).toISOString(),
  });
}

/** Records of partition 0 with consecutive offsets, arriving at T0. */
function records(values: string[], first_offset = 0): LogRecord[] {
  return values.map((value, i) => ({
    topic: TOPIC,
    partition: 0,
    offset: first_offset + i,
    key: null,
    value,
    timestamp: T0,
  }));
}

function processor(options: ViewsOptions = {}): PartitionProcessor {
  return viewsJob(options).createProcessor(0);
}

function run(
  p: PartitionProcessor,
  batch: readonly LogRecord[],
): Outputs {
  const out = emptyOutputs();
  p.process(batch, { now_ms: T0, out });
  return out;
}

function finish(p: PartitionProcessor): Outputs {
  const out = emptyOutputs();
  p.endOfInput({ now_ms: T0, out });
  return out;
}

/** Small windows so that a handful of records fills them. */
const SMALL: ViewsOptions = {
  window_size_ms: 120_000,
  window_slide_ms: 60_000,
  top_k: 2,
};

Deno.test("viewsJob describes the views job with its defaults", () => {
  const job = viewsJob();
  assert.equal(job.name, "views");
  assert.equal(job.topic, TOPIC);
  assert.equal(job.partitions, 4);
  assert.equal(job.out_of_orderness_ms, 10_000);
  assert.deepEqual(job.outputTopics, [
    "video-views.dead-letter",
    "video-views.late",
  ]);
  assert.deepEqual(viewsConfig(), {
    topic: TOPIC,
    partitions: 4,
    out_of_orderness_ms: 10_000,
    allowed_lateness_ms: 300_000,
    hour_ttl_ms: HOUR_TTL_MS,
    day_ttl_ms: DAY_TTL_MS,
    window_size_ms: HOUR_MS,
    window_slide_ms: 60_000,
    window_ttl_ms: SLIDING_TTL_MS,
    top_k: 10,
    heavy_hitters_capacity: 0,
  });
  assert.deepEqual(viewsJob({ topic: "v2" }).outputTopics, [
    "v2.dead-letter",
    "v2.late",
  ]);
});

Deno.test("viewsJob routes a view by its payload's videoId and event time, and a bad payload nowhere", () => {
  const job = viewsJob();
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

Deno.test("the views processor writes all-time counts, top_videos and hour and day leaderboards with TTLs, aggregated per batch", () => {
  const p = processor(SMALL);
  const out = run(
    p,
    records([
      view("vid-a", T0 + 1_000),
      view("vid-b", T0 + 2_000),
      view("vid-a", T0 + 3_000),
    ]),
  );
  const expected: KvOp[] = [
    { op: "incrby", key: "video:view:count:vid-a", by: 2 },
    { op: "zincrby", key: "top_videos", member: "vid-a", by: 2 },
    { op: "incrby", key: "video:view:count:vid-b", by: 1 },
    { op: "zincrby", key: "top_videos", member: "vid-b", by: 1 },
    {
      op: "zincrby",
      key: "top_videos:hour:2026031406",
      member: "vid-a",
      by: 2,
    },
    {
      op: "zincrby",
      key: "top_videos:hour:2026031406",
      member: "vid-b",
      by: 1,
    },
    { op: "pexpire", key: "top_videos:hour:2026031406", ms: HOUR_TTL_MS },
    { op: "zincrby", key: "top_videos:day:20260314", member: "vid-a", by: 2 },
    { op: "zincrby", key: "top_videos:day:20260314", member: "vid-b", by: 1 },
    { op: "pexpire", key: "top_videos:day:20260314", ms: DAY_TTL_MS },
  ];
  assert.deepEqual(out.kv, expected);
  assert.deepEqual(out.messages, []);
  assert.deepEqual(p.counts(), {
    in: 3,
    out: 3,
    filtered: 0,
    dead_lettered: 0,
    late: 0,
  });
  assert.equal(countKey("vid-a"), "video:view:count:vid-a");
});

Deno.test("the views processor writes each sliding window's Top-K under its end minute and partition when it fires", () => {
  const p = processor(SMALL);
  run(
    p,
    records([
      view("vid-a", T0 + 1_000),
      view("vid-b", T0 + 2_000),
      view("vid-a", T0 + 3_000),
      view("vid-c", T0 + 4_000),
    ]),
  );
  const window = (key: string): KvOp[] => [
    { op: "del", key },
    { op: "zadd", key, member: "vid-a", score: 2 },
    { op: "zadd", key, member: "vid-b", score: 1 },
    { op: "pexpire", key, ms: SLIDING_TTL_MS },
  ];
  // Both 2-minute windows holding the minute 06:00 fire at end of input:
  // [05:59, 06:01) and [06:00, 06:02). Top 2: vid-a 2, then vid-b before vid-c.
  assert.deepEqual(finish(p).kv, [
    ...window("top_videos:sliding:202603140601:0"),
    ...window("top_videos:sliding:202603140602:0"),
  ]);
  assert.deepEqual(finish(p).kv, [], "a second end of input fires nothing");
});

Deno.test("the views processor fires a sliding window as the watermark passes its end, in the batch that moved it", () => {
  const p = viewsJob({ ...SMALL, out_of_orderness_ms: 0 }).createProcessor(3);
  const first = run(p, records([view("vid-a", T0 + 1_000)]));
  assert.ok(!first.kv.some((op) => op.key.startsWith("top_videos:sliding:")));
  // Event time 06:01:00.001 moves the watermark to 06:01:00.000 = end - 1 of [05:59, 06:01).
  const second = run(p, records([view("vid-b", T0 + 60_001)], 1));
  const sliding = second.kv.filter((op) =>
    op.key.startsWith("top_videos:sliding:")
  );
  const key = "top_videos:sliding:202603140601:3";
  assert.deepEqual(sliding, [
    { op: "del", key },
    { op: "zadd", key, member: "vid-a", score: 1 },
    { op: "pexpire", key, ms: SLIDING_TTL_MS },
  ]);
});

Deno.test("a view late beyond lateness counts all-time, stays out of its closed hour, and goes to the late topic", () => {
  const p = processor({
    ...SMALL,
    out_of_orderness_ms: 0,
    allowed_lateness_ms: 60_000,
  });
  const batch = records([
    view("vid-a", T0 + 3 * HOUR_MS),
    view("vid-b", T0 + 1_000),
  ]);
  const out = run(p, batch);
  assert.deepEqual(out.kv, [
    { op: "incrby", key: "video:view:count:vid-a", by: 1 },
    { op: "zincrby", key: "top_videos", member: "vid-a", by: 1 },
    { op: "incrby", key: "video:view:count:vid-b", by: 1 },
    { op: "zincrby", key: "top_videos", member: "vid-b", by: 1 },
    {
      op: "zincrby",
      key: "top_videos:hour:2026031409",
      member: "vid-a",
      by: 1,
    },
    { op: "pexpire", key: "top_videos:hour:2026031409", ms: HOUR_TTL_MS },
    { op: "zincrby", key: "top_videos:day:20260314", member: "vid-a", by: 1 },
    { op: "zincrby", key: "top_videos:day:20260314", member: "vid-b", by: 1 },
    { op: "pexpire", key: "top_videos:day:20260314", ms: DAY_TTL_MS },
  ]);
  const reason =
    "late beyond allowed lateness of 60000 ms for: hour 2026031406, sliding windows";
  assert.deepEqual(out.messages, [
    { topic: "video-views.late", message: sideMessage(batch[1]!, reason) },
  ]);
  assert.equal(lateTopic(TOPIC), "video-views.late");
  assert.deepEqual(JSON.parse(out.messages[0]!.message.value), {
    reason,
    source: { topic: TOPIC, partition: 0, offset: 1 },
    key: null,
    value: batch[1]!.value,
    timestamp: T0,
  });
  assert.equal(out.messages[0]!.message.key, "video-views:0:1");
  assert.deepEqual(p.counts(), {
    in: 2,
    out: 1,
    filtered: 0,
    dead_lettered: 0,
    late: 1,
  });
});

Deno.test("a view late within lateness still lands in its closed hour's leaderboard", () => {
  const p = processor({ out_of_orderness_ms: 0, allowed_lateness_ms: 60_000 });
  // The watermark passes 07:00 by 30 s: hour 06 closed, but within lateness.
  const out = run(
    p,
    records([view("vid-a", T0 + HOUR_MS + 30_000), view("vid-b", T0 + 5)]),
  );
  assert.ok(
    out.kv.some((op) =>
      op.op === "zincrby" && op.key === "top_videos:hour:2026031406" &&
      op.member === "vid-b"
    ),
  );
  assert.deepEqual(out.messages, []);
  assert.equal(p.counts().late, 0);
});

Deno.test("the views processor dead-letters bad payloads with their reasons, keyed by source position", () => {
  const p = processor();
  const batch = records([
    "<html>502</html>",
    JSON.stringify({ userId: "u-1", timestamp: T0 }),
    view("vid-a", T0),
    JSON.stringify({ videoId: "vid-a", timestamp: "yesterday" }),
  ], 10);
  const out = run(p, batch);
  const topic = deadLetterTopic(TOPIC);
  assert.equal(topic, "video-views.dead-letter");
  assert.deepEqual(
    out.messages.map((m) => [m.topic, m.message.key, m.message.partition]),
    [
      [topic, "video-views:0:10", 0],
      [topic, "video-views:0:11", 0],
      [topic, "video-views:0:13", 0],
    ],
  );
  assert.deepEqual(
    out.messages.map((m) => JSON.parse(m.message.value).reason),
    [
      'payload is not valid JSON: "<html>502</html>"',
      "'videoId' is missing",
      `'timestamp' must be ISO-8601 with a time zone or epoch milliseconds: current value is "yesterday"`,
    ],
  );
  assert.deepEqual(
    out.kv.filter((op) => op.key === "video:view:count:vid-a"),
    [{ op: "incrby", key: "video:view:count:vid-a", by: 1 }],
  );
  assert.deepEqual(p.counts(), {
    in: 4,
    out: 1,
    filtered: 0,
    dead_lettered: 3,
    late: 0,
  });
});

Deno.test("a batch of bad payloads only writes side outputs", () => {
  const p = processor({ heavy_hitters_capacity: 4 });
  const out = run(p, records(["", "[]"]));
  assert.deepEqual(out.kv, []);
  assert.equal(out.messages.length, 2);
});

Deno.test("the heavy-hitter option writes the Space-Saving estimates per partition after each batch with views", () => {
  const p = processor({ ...SMALL, heavy_hitters_capacity: 2 });
  const out = run(
    p,
    records([
      view("vid-a", T0),
      view("vid-a", T0),
      view("vid-b", T0),
      view("vid-c", T0),
    ]),
  );
  // Capacity 2: vid-c evicts vid-b (1) and inherits its count: estimate 2.
  const key = "top_videos:heavy:0";
  assert.deepEqual(out.kv.filter((op) => op.key === key), [
    { op: "del", key },
    { op: "zadd", key, member: "vid-a", score: 2 },
    { op: "zadd", key, member: "vid-c", score: 2 },
  ]);
  assert.deepEqual(out.kv.slice(-3).map((op) => op.key), [key, key, key]);
  const plain = run(processor(SMALL), records([view("vid-a", T0)]));
  assert.ok(!plain.kv.some((op) => op.key.startsWith("top_videos:heavy:")));
});

// ---------------------------------------------------------------------------
// Against the recorded fixture

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

Deno.test("over the fixture, every record lands in exactly one class: in = out + filtered + dead_lettered + late", async () => {
  const all = await fixtureRecords();
  const job = viewsJob();
  let total_in = 0;
  let total_late = 0;
  let total_dead = 0;
  for (let partition = 0; partition < 4; partition++) {
    const p = job.createProcessor(partition);
    const mine = all.filter((r) => r.partition === partition);
    const side = { late: 0, dead: 0 };
    for (const batch of batches(mine, 300)) {
      const out = run(p, batch);
      for (const m of out.messages) {
        if (m.topic === lateTopic(TOPIC)) side.late++;
        else if (m.topic === deadLetterTopic(TOPIC)) side.dead++;
        else assert.fail(`unexpected topic ${m.topic}`);
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
  const job = viewsJob({ heavy_hitters_capacity: 50 });
  for (const partition of [0, 2]) {
    const mine = all.filter((r) => r.partition === partition);
    const whole = job.createProcessor(partition);
    let resumed = job.createProcessor(partition);
    for (const batch of batches(mine, 250)) {
      const expected = run(whole, batch);
      const copy = job.createProcessor(partition);
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
  const sums = (size: number) => {
    const p = viewsJob().createProcessor(1);
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

Deno.test("a view late for a sliding window never writes that window's key, even when the window never fired", () => {
  const p = processor({
    ...SMALL,
    out_of_orderness_ms: 0,
    allowed_lateness_ms: 0,
  });
  // The watermark goes to 06:09:59.999; then a view at 06:09:30 belongs to
  // [06:08, 06:10), late (its end - 1 is at the watermark), and to
  // [06:09, 06:11), on time. Only the second may hold it (as in Flink).
  const out = run(
    p,
    records([view("vid-a", T0 + 10 * 60_000), view("vid-b", T0 + 570_000)]),
  );
  const keys = [...out.kv, ...finish(p).kv]
    .filter((op) => op.op === "zadd")
    .map((op) => `${op.key} ${(op as { member: string }).member}`);
  assert.deepEqual(keys, [
    "top_videos:sliding:202603140611:0 vid-a",
    "top_videos:sliding:202603140611:0 vid-b",
    "top_videos:sliding:202603140612:0 vid-a",
  ]);
  assert.equal(p.counts().late, 0);
});
