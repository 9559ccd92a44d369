/**
 * Quiet streams: with `idle_advance_ms`, a partition that receives nothing
 * for that long moves its watermark on with processing time, so windows and
 * sessions close without further input — and a restart repeats such a step
 * exactly, writing nothing twice.
 */

import assert from "node:assert/strict";
import { count } from "../../src/flow/aggregates.ts";
import { defineJob } from "../../src/flow/define.ts";
import { jsonEvents } from "../../src/flow/json.ts";
import { session, tumbling } from "../../src/core/windows.ts";
import { formatIso } from "../../src/core/time.ts";
import { redisSink } from "../../src/sinks/redis.ts";
import { JobDriver } from "../../sim/driver.ts";

const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);

/** Clicks per user and minute; every firing also bumps `fired:<user>`. */
function clicks(idle_advance_ms: number | undefined, windows = "tumbling") {
  return defineJob({
    name: "clicks",
    build(flow) {
      const redis = redisSink();
      flow.source("clicks", {
        parse: jsonEvents({ key: "user", time: "ts" }),
        out_of_orderness_ms: 5_000,
        idle_advance_ms,
      })
        .keyBy((c) => c.user as string)
        .window({
          assigner: windows === "tumbling"
            ? tumbling({ size_ms: 60_000 })
            : session({ gap_ms: 60_000 }),
          aggregate: count(),
        })
        .to(redis, (r, kv) => {
          kv.hset(
            `clicks:${r.key}`,
            `${formatIso(r.window.start)}/${formatIso(r.window.end)}`,
            String(r.value),
          );
          kv.incrby(`fired:${r.key}`, 1);
        });
    },
  });
}

function click(user: string, ts: number): string {
  return JSON.stringify({ user, ts: formatIso(ts) });
}

async function open(idle: number | undefined, windows = "tumbling") {
  return await JobDriver.open(clicks(idle, windows), {
    partitions: 1,
    start_ms: T0,
    checkpoint_interval_ms: 3_600_000,
  });
}

Deno.test("a window closes on a quiet stream only through the idle advance", async () => {
  for (const idle of [10_000, undefined]) {
    const d = await open(idle);
    d.clock.advanceTo(T0 + 1_000);
    await d.pipe([click("ada", T0 + 1_000), click("ada", T0 + 2_000)]);
    // Watermark at T: 09:00:02 (largest event time) + (T − 09:00:01, the
    // last append) − 5 s − 1 ms; the window [09:00, 09:01) fires at
    // 09:00:59.999, so at T = 09:01:04.
    await d.advanceClock(62_000);
    assert.deepEqual(await d.kv.hgetall("clicks:ada"), {}, `idle ${idle}`);
    await d.advanceClock(10 * 60_000);
    const closed = await d.kv.hgetall("clicks:ada");
    if (idle === undefined) {
      assert.deepEqual(closed, {}, "without idle advance, event time stops");
      await d.endOfInput();
    }
    assert.deepEqual(await d.kv.hgetall("clicks:ada"), {
      "2026-01-05T09:00:00Z/2026-01-05T09:01:00Z": "2",
    });
    if (idle !== undefined) {
      assert.deepEqual(closed, await d.kv.hgetall("clicks:ada"));
      assert.ok(d.events.some((e) => e.type === "tick"));
    }
  }
});

Deno.test("the idle advance fires when its time comes, not before", async () => {
  const d = await open(10_000);
  d.clock.advanceTo(T0 + 2_000);
  await d.pipe([click("ada", T0 + 2_000)]);
  await d.advanceClock(62_999); // 09:01:04.999: watermark 09:00:59.998
  assert.deepEqual(await d.kv.hgetall("clicks:ada"), {});
  await d.advanceClock(1); // 09:01:05.000: watermark 09:00:59.999 = end - 1
  assert.deepEqual(await d.kv.hgetall("clicks:ada"), {
    "2026-01-05T09:00:00Z/2026-01-05T09:01:00Z": "1",
  });
});

Deno.test("a session closes about a gap after the viewer stops, with no other traffic", async () => {
  const d = await open(10_000, "session");
  for (let t = 0; t <= 20_000; t += 4_000) {
    d.clock.advanceTo(T0 + t);
    await d.pipe([click("tv-1", T0 + t)]);
  }
  // Last heartbeat 09:00:20; session [09:00:00, 09:01:20) closes when the
  // watermark reaches 09:01:19.999, at 09:01:25 of processing time.
  await d.advanceClock(64_000);
  assert.deepEqual(await d.kv.hgetall("clicks:tv-1"), {});
  await d.advanceClock(2_000);
  assert.deepEqual(await d.kv.hgetall("clicks:tv-1"), {
    "2026-01-05T09:00:00Z/2026-01-05T09:01:20Z": "6",
  });
});

Deno.test("after a quiet spell, a record's own append time advances the watermark before it is judged", async () => {
  for (const idle of [10_000, undefined]) {
    const d = await open(idle);
    await d.pipe([{ value: click("ada", T0 + 1_000), timestamp: T0 + 1_000 }]);
    // Five minutes later a click stamped 09:00:30 arrives (a slow producer),
    // with no clock step in between: only its append time tells the gap.
    await d.pipe([{
      value: click("ada", T0 + 30_000),
      timestamp: T0 + 5 * 60_000,
    }]);
    if (idle === undefined) {
      assert.equal(d.counts().late, 0);
    } else {
      assert.equal(d.counts().late, 1, "late against the advanced watermark");
      assert.deepEqual(await d.kv.hgetall("clicks:ada"), {
        "2026-01-05T09:00:00Z/2026-01-05T09:01:00Z": "1",
      });
    }
  }
});

Deno.test("a restart after a window closed through the idle advance writes it once", async () => {
  const d = await open(10_000);
  d.clock.advanceTo(T0 + 1_000);
  await d.pipe([click("ada", T0 + 1_000)]);
  await d.advanceClock(2 * 60_000);
  assert.equal(await d.kv.get("fired:ada"), "1");
  // No checkpoint since the step's own: the new instance takes the step
  // again from it, and the fence drops what it writes.
  await d.crash();
  await d.advanceClock(2 * 60_000);
  await d.pipe([click("ada", T0 + 5 * 60_000)]);
  await d.endOfInput();
  assert.equal(await d.kv.get("fired:ada"), "2");
  assert.deepEqual(await d.kv.hgetall("clicks:ada"), {
    "2026-01-05T09:00:00Z/2026-01-05T09:01:00Z": "1",
    "2026-01-05T09:05:00Z/2026-01-05T09:06:00Z": "1",
  });
});
