/**
 * The dataflow API's runtime, through the shared test driver: where every
 * record goes (counts), what a failing user function does, the window
 * engine's emit modes, process functions with state and timers, the late
 * stream, and the checks made when a job is built or restored.
 */

import assert from "node:assert/strict";
import { count, reduce, sum } from "../../src/flow/aggregates.ts";
import { defineJob } from "../../src/flow/define.ts";
import { jsonEvents } from "../../src/flow/json.ts";
import type { Flow, Stream } from "../../src/flow/stream.ts";
import { global, tumbling } from "../../src/core/windows.ts";
import { redisSink } from "../../src/sinks/redis.ts";
import { JobDriver } from "../../sim/driver.ts";

const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);

type Event = Record<string, unknown>;

function job(
  body: (events: Stream<Event>, flow: Flow) => void,
  source: { idle_advance_ms?: number } = {},
) {
  return defineJob({
    name: "test",
    build(flow) {
      body(
        flow.source("in", {
          parse: jsonEvents({ key: "k", time: "t" }),
          out_of_orderness_ms: 0,
          ...source,
        }),
        flow,
      );
    },
  });
}

function event(k: string, t: number, extra: Record<string, unknown> = {}) {
  return JSON.stringify({ k, t, ...extra });
}

async function drive(spec: ReturnType<typeof job>) {
  return await JobDriver.open(spec, { partitions: 1, start_ms: T0 });
}

Deno.test("every record lands in exactly one class: out, filtered, dead-lettered or late", async () => {
  const redis = redisSink();
  const d = await drive(job((events) => {
    const kept = events.filter((e) => e.keep === true);
    kept.flatMap((e) => Array.from({ length: e.n as number }, (_, i) => i))
      .to(redis, (i, kv) => kv.incrby("items", i + 1));
    kept.keyBy((e) => e.k as string)
      .window({ assigner: tumbling({ size_ms: 1_000 }), aggregate: count() })
      .to(redis, (r, kv) => kv.incrby(`count:${r.key}`, r.value));
  }));
  await d.pipe([
    event("a", T0, { keep: true, n: 2 }), // out
    event("a", T0 + 5_000, { keep: false }), // filtered
    event("b", T0 + 100, { keep: true, n: 0 }), // late for its window, no items
    "not json", // dead-lettered
    event("b", T0 + 6_000, { keep: true, n: 0 }), // out: the window took it
  ]);
  assert.deepEqual(d.counts(), {
    in: 5,
    out: 2,
    filtered: 1,
    dead_lettered: 1,
    late: 1,
  });
  await d.endOfInput();
  assert.equal(await d.kv.get("items"), "3");
  assert.equal(await d.kv.get("count:a"), "1");
  assert.equal(await d.kv.get("count:b"), "1");
  assert.deepEqual(
    d.records("in.late").map((r) => JSON.parse(r.value).reason),
    ["late beyond allowed lateness of 0 ms for: window-1"],
  );
});

Deno.test("a user function that throws dead-letters its record with the error, and the job goes on", async () => {
  const redis = redisSink();
  const d = await drive(job((events) => {
    events
      .map((e) => {
        if (e.boom === true) throw new Error("kaboom");
        return e;
      })
      .keyBy((e) => e.boom === "key" ? 42 as unknown as string : e.k as string)
      .to(redis, (e, kv) => kv.incrby(`seen:${e.k}`, 1));
  }));
  await d.pipe([
    event("a", T0),
    event("a", T0 + 1, { boom: true }),
    event("a", T0 + 2, { boom: "key" }),
    event("a", T0 + 3),
  ]);
  assert.equal(await d.kv.get("seen:a"), "2");
  assert.deepEqual(
    d.records("in.dead-letter").map((r) => JSON.parse(r.value).reason),
    [
      "step 'map' failed: kaboom",
      "step 'keyBy' failed: a key must be a string: current value is 42",
    ],
  );
  assert.deepEqual(d.counts(), {
    in: 4,
    out: 2,
    filtered: 0,
    dead_lettered: 2,
    late: 0,
  });
});

Deno.test("windows emit per batch with 'updates' (current results) and 'deltas' (the batch's share)", async () => {
  const redis = redisSink();
  const d = await drive(job((events) => {
    const keyed = events.keyBy((e) => e.k as string);
    keyed.window({
      name: "updates",
      assigner: tumbling({ size_ms: 60_000 }),
      aggregate: sum((e: Event) => e.v as number),
      emit: "updates",
    }).to(redis, (r, kv) => {
      kv.set(`latest:${r.key}`, String(r.value));
      kv.incrby(`emits:${r.key}`, 1);
    });
    keyed.window({
      name: "deltas",
      assigner: global(),
      aggregate: sum((e: Event) => e.v as number),
      emit: "deltas",
    }).to(redis, (r, kv) => kv.incrby(`total:${r.key}`, r.value));
  }));
  await d.pipe([event("a", T0, { v: 2 }), event("a", T0 + 1, { v: 3 })]);
  assert.equal(await d.kv.get("latest:a"), "5");
  assert.equal(await d.kv.get("total:a"), "5");
  await d.pipe([event("a", T0 + 2, { v: 10 })]);
  assert.equal(await d.kv.get("latest:a"), "15");
  assert.equal(await d.kv.get("emits:a"), "2", "one update per batch");
  assert.equal(await d.kv.get("total:a"), "15");
});

Deno.test("a process function keeps state per key and fires event-time and processing-time timers", async () => {
  const redis = redisSink();
  const d = await drive(job((events) => {
    events.keyBy((e) => e.k as string)
      .process<number, string>({
        name: "tracker",
        processElement(_e, ctx) {
          const seen = (ctx.state.get() ?? 0) + 1;
          ctx.state.set(seen);
          ctx.timers.registerEventTime(ctx.timestamp + 1_000);
          ctx.timers.registerProcessingTime(ctx.now_ms + 30_000);
        },
        onTimer(timestamp, ctx) {
          ctx.emit(`${ctx.domain} ${timestamp - T0} ${ctx.state.get()}`);
        },
      })
      .to(redis, (line, kv, ctx) => kv.zadd(`timers:${ctx.key}`, line, 1));
  }));
  d.clock.advanceTo(T0 + 10);
  await d.pipe([event("a", T0), event("a", T0 + 500)]);
  // The watermark (out-of-orderness 0) is at 499: no event timer yet.
  await d.pipe([event("b", T0 + 1_200)]);
  const members = async (key: string) =>
    (await d.kv.zrevrange(key, 0, -1)).map((m) => m.member).sort();
  assert.deepEqual(await members("timers:a"), ["event 1000 2"]);
  await d.advanceClock(30_000);
  assert.deepEqual(await members("timers:a"), [
    "event 1000 2",
    "processing 30010 2",
  ]);
  assert.deepEqual(await members("timers:b"), ["processing 30010 1"]);
  await d.endOfInput();
  assert.deepEqual(await members("timers:a"), [
    "event 1000 2",
    "event 1500 2",
    "processing 30010 2",
  ]);
  assert.deepEqual(await members("timers:b"), [
    "event 2200 1",
    "processing 30010 1",
  ]);
});

Deno.test("a window's late stream carries the records late for all its windows", async () => {
  const redis = redisSink();
  const d = await drive(job((events) => {
    const windowed = events.keyBy((e) => e.k as string).window({
      assigner: tumbling({ size_ms: 1_000 }),
      aggregate: reduce<Event, number>({
        initial: () => 0,
        add: (n) => n + 1,
        merge: (a, b) => a + b,
      }),
    });
    windowed.late.to(redis, (e, kv) => kv.incrby(`late:${e.k}`, 1));
  }));
  await d.pipe([event("a", T0 + 5_000), event("a", T0), event("a", T0 + 1)]);
  assert.equal(await d.kv.get("late:a"), "2");
  assert.equal(d.counts().late, 2);
  assert.equal(d.records("in.late").length, 2);
});

Deno.test("a job refuses two steps or two sinks with one name, and a checkpoint of other steps", () => {
  assert.throws(
    () =>
      job((events) => {
        const keyed = events.keyBy((e) => e.k as string);
        const w = { assigner: global(), aggregate: count(), name: "same" };
        keyed.window(w);
        keyed.window(w);
      }).create(),
    /'name' must be unique within the job: 'same' is taken/,
  );
  assert.throws(
    () =>
      job((events) => {
        events.to(redisSink(), () => {});
        events.to(redisSink(), () => {});
      }).create(),
    /sink names must be unique: two sinks are named 'redis'/,
  );
  const stage = job((events) =>
    events.keyBy((e) => e.k as string).window({
      name: "mine",
      assigner: global(),
      aggregate: count(),
    })
  ).create().stages[0]!;
  const p = stage.createProcessor(0);
  const snapshot = p.snapshot() as { steps: Record<string, unknown> };
  const renamed = { ...snapshot, steps: { theirs: snapshot.steps.mine } };
  assert.throws(
    () => stage.createProcessor(0).restore(renamed),
    /holds steps \["theirs"\] but the job has \["mine"\]/,
  );
});

Deno.test("an event time far ahead of its append time, or before 2000, is a bad record and never moves the watermark", async () => {
  const redis = redisSink();
  const d = await drive(job((events) => {
    events.keyBy((e) => e.k as string)
      .window({ assigner: tumbling({ size_ms: 1_000 }), aggregate: count() })
      .to(redis, (r, kv) => kv.incrby(`count:${r.key}`, r.value));
  }));
  // Appended at T0 (the driver's clock): an hour ahead is the limit.
  await d.pipe([
    event("a", T0 + 3_600_000 + 1),
    event("a", 946_684_799_999),
    event("a", T0 + 100),
    event("a", T0 + 3_600_000),
  ]);
  assert.deepEqual(
    d.records("in.dead-letter").map((r) => JSON.parse(r.value).reason),
    [
      "event time 2026-01-05T10:00:00.001Z is more than 3600000 ms ahead of the record's append time 2026-01-05T09:00:00Z",
      "event time 1999-12-31T23:59:59.999Z is before 2000-01-01T00:00:00Z, the earliest accepted",
    ],
  );
  // Had the first one moved the watermark, T0 + 100 would have been late.
  assert.deepEqual(d.counts(), {
    in: 4,
    out: 2,
    filtered: 0,
    dead_lettered: 2,
    late: 0,
  });
});
