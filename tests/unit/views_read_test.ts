import assert from "node:assert/strict";
import { KvTwin } from "../../sim/kv.ts";
import { VirtualClock } from "../../sim/clock.ts";
import {
  readSlidingTopK,
  slidingWindowEnds,
} from "../../src/jobs/views/read.ts";

function zadd(key: string, entries: Record<string, number>) {
  return Object.entries(entries).map(([member, score]) => ({
    op: "zadd" as const,
    key,
    member,
    score,
  }));
}

Deno.test("readSlidingTopK merges the partitions' sets of one window, ranked", async () => {
  const kv = new KvTwin({ clock: new VirtualClock(0) });
  await kv.apply([
    ...zadd("top_videos:sliding:202603141200:0", { a: 5, b: 2 }),
    ...zadd("top_videos:sliding:202603141200:1", { c: 4, d: 2 }),
    ...zadd("top_videos:sliding:202603141200:2", { a: 1 }),
    ...zadd("top_videos:sliding:202603141201:0", { z: 99 }),
  ]);
  assert.deepEqual(await readSlidingTopK(kv, "202603141200", 3), [
    { member: "a", count: 6 },
    { member: "c", count: 4 },
    { member: "b", count: 2 },
  ]);
  assert.deepEqual(await slidingWindowEnds(kv), [
    "202603141200",
    "202603141201",
  ]);
  assert.deepEqual(await readSlidingTopK(kv, "202603141300", 3), []);
});
