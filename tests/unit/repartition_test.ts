/**
 * Repartitioning (`keyBy(fn, { repartition: true })`): elements reach the
 * task of their new key through an internal topic in the upstream stage's
 * transaction; the downstream watermark waits for every upstream partition;
 * lateness is judged by the watermark an element carries, so outputs do not
 * depend on how upstream partitions interleave — checked under faults with
 * several instances.
 */

import assert from "node:assert/strict";
import { count } from "../../src/flow/aggregates.ts";
import { defineJob } from "../../src/flow/define.ts";
import { jsonEvents } from "../../src/flow/json.ts";
import { tumbling } from "../../src/core/windows.ts";
import { kafkaSink } from "../../src/sinks/kafka.ts";
import type { FixtureMessage } from "../../src/core/fixture.ts";
import { JobDriver } from "../../sim/driver.ts";
import { compareOutputs } from "../../sim/checker.ts";
import { canonicalOutputs } from "../../sim/outputs.ts";
import { simulate, swarmFaults } from "../../sim/simulator.ts";

const T0 = Date.UTC(2026, 0, 5, 9);

/** Counts per color and 10 s window, input keyed by user. */
const colors = defineJob({
  name: "colors",
  build(flow) {
    const kafka = kafkaSink({ topics: ["color_counts"] });
    flow.source("picks", {
      parse: jsonEvents({ key: "user", time: "t", strings: ["color"] }),
      out_of_orderness_ms: 1_000,
      partitions: 3,
    })
      .keyBy((p) => p.color as string, { repartition: true, name: "by-color" })
      .window({ assigner: tumbling({ size_ms: 10_000 }), aggregate: count() })
      .to(kafka, (r, out) =>
        out.send(
          "color_counts",
          r.key,
          JSON.stringify({ color: r.key, start: r.window.start, n: r.value }),
        ));
  },
});

function pick(user: string, color: string, t: number): string {
  return JSON.stringify({ user, color, t });
}

function counts(d: JobDriver): string[] {
  return d.records("color_counts").map((r) => r.value).sort();
}

Deno.test("a repartition makes two stages: the input's and the internal topic's", () => {
  const job = colors.create();
  assert.deepEqual(job.stages.map((s) => s.topic), [
    "picks",
    "colors-by-color-repartition",
  ]);
  assert.deepEqual(job.outputTopics, [
    "picks.dead-letter",
    "picks.late",
    "color_counts",
  ]);
});

Deno.test("a deployment on another input topic has internal topics of its own", () => {
  const job = colors.create({ topic: "picks-eu" });
  assert.deepEqual(job.stages.map((s) => s.topic), [
    "picks-eu",
    "colors-picks-eu-by-color-repartition",
  ]);
  assert.deepEqual(
    colors.create({ topic: "picks" }).stages.map((s) => s.topic),
    ["picks", "colors-by-color-repartition"],
  );
});

Deno.test("elements of one key from every input partition meet in one window after the repartition", async () => {
  const d = await JobDriver.open(colors, { partitions: 3, start_ms: T0 });
  await d.pipe([
    { value: pick("a", "red", T0), partition: 0 },
    { value: pick("b", "red", T0 + 1), partition: 1 },
    { value: pick("c", "red", T0 + 2), partition: 2 },
    { value: pick("c", "blue", T0 + 3), partition: 2 },
  ]);
  await d.endOfInput();
  assert.deepEqual(counts(d), [
    JSON.stringify({ color: "blue", start: T0, n: 1 }),
    JSON.stringify({ color: "red", start: T0, n: 3 }),
  ]);
});

Deno.test("the stage after a repartition fires a window only once every upstream partition has passed it", async () => {
  const d = await JobDriver.open(colors, { partitions: 3, start_ms: T0 });
  const t = T0 + 20_000;
  // Partitions 0 and 1 move far past the window [T0, T0 + 10 s); 2 does not.
  await d.pipe([
    { value: pick("a", "red", T0), partition: 0 },
    { value: pick("a", "red", t), partition: 0 },
    { value: pick("b", "red", t), partition: 1 },
    { value: pick("c", "red", T0 + 5), partition: 2 },
  ]);
  assert.deepEqual(counts(d), [], "partition 2 holds the watermark back");
  await d.pipe([{ value: pick("c", "green", t), partition: 2 }]);
  assert.deepEqual(counts(d), [
    JSON.stringify({ color: "red", start: T0, n: 2 }),
  ]);
});

Deno.test("an element is late after a repartition by the watermark it carries, however the partitions interleave", async () => {
  const d = await JobDriver.open(colors, { partitions: 3, start_ms: T0 });
  await d.pipe([
    { value: pick("a", "red", T0 + 20_000), partition: 0 },
    // Late on partition 0: its watermark is past the window's end.
    { value: pick("a", "red", T0 + 100), partition: 0 },
    // On time on partition 1, whose watermark has not moved.
    { value: pick("b", "red", T0 + 200), partition: 1 },
  ]);
  await d.endOfInput();
  assert.deepEqual(counts(d), [
    JSON.stringify({ color: "red", start: T0, n: 1 }),
    JSON.stringify({ color: "red", start: T0 + 20_000, n: 1 }),
  ]);
  const late = d.records("picks.late").map((r) => JSON.parse(r.value));
  assert.equal(late.length, 1);
  assert.deepEqual(late[0].source, {
    topic: "colors-by-color-repartition",
    partition: 0,
    offset: 1,
  });
});

Deno.test("an element too large for the internal topic once encoded is dead-lettered with the reason, and the others go on", async () => {
  const d = await JobDriver.open(colors, { partitions: 3, start_ms: T0 });
  // 400 KB of input: its color is the message key, and the envelope holds
  // it twice more (as the key and in the element), 1.2 MB in all.
  const huge = "x".repeat(400_000);
  await d.pipe([
    { value: pick("a", "red", T0), partition: 0 },
    { value: pick("b", huge, T0 + 1), partition: 0 },
    { value: pick("c", "red", T0 + 2), partition: 0 },
  ]);
  await d.endOfInput();
  assert.deepEqual(counts(d), [
    JSON.stringify({ color: "red", start: T0, n: 2 }),
  ]);
  const dead = d.records("picks.dead-letter").map((r) => JSON.parse(r.value));
  assert.equal(dead.length, 1);
  assert.equal(dead[0].source.offset, 1);
  assert.match(
    dead[0].reason,
    /^step 'keyBy' failed: Cannot send to topic 'colors-by-color-repartition' as a message must take at most 999448 bytes .*: this one takes 1200\d{3}$/,
  );
  const c = d.counts();
  assert.equal(c.in, c.out + c.filtered + c.dead_lettered + c.late);
  assert.equal(c.dead_lettered, 1);
});

Deno.test("a repartitioned job leaves the fault-free outputs under faults, with several instances", async () => {
  const fixture: FixtureMessage[] = [];
  let offset = 0;
  const palette = ["red", "green", "blue", "amber", "teal"];
  for (let i = 0; i < 1_500; i++) {
    // Out of order within the bound, a few beyond it.
    const jitter = (i * 7919) % 1_500 - (i % 97 === 0 ? 15_000 : 0);
    const t = T0 + i * 200 + jitter;
    fixture.push({
      line: i + 1,
      partition: i % 3,
      key: `u${i % 11}`,
      value: pick(`u${i % 11}`, palette[(i * 31) % 5]!, Math.max(T0, t)),
      timestamp: T0 + i * 200,
    });
    offset++;
  }
  const job = colors.create();
  const base = { job, fixture, checkpoint_interval_ms: 15_000 };
  const expected = await canonicalOutputs(
    await simulate({ ...base, seed: 1 }),
    [],
  );
  assert.ok(
    (expected.topics.find((t) => t.topic === "color_counts")?.messages.length ??
      0) > 100,
  );
  for (let seed = 1; seed <= 30; seed++) {
    const rates = swarmFaults(seed);
    const result = await simulate({
      ...base,
      seed,
      faults: Object.keys(rates) as never,
      fault_rates: rates,
      instances: 1 + seed % 3,
    });
    assert.deepEqual(
      compareOutputs(expected, await canonicalOutputs(result, [])),
      [],
      `seed ${seed} (${JSON.stringify(rates)})`,
    );
  }
  assert.equal(offset, 1_500);
});
