/**
 * Replays the whole clickstream fixture (seed 1, no faults) and checks what
 * the job published against the facts `fixtures/clickstream/README.md`
 * states, computed there by the generator's own model of the job: every
 * valid event is either in exactly one published line or on the late topic,
 * every invalid one is a dead letter, and each line sits in its window's
 * file with that window's bounds.
 */

import assert from "node:assert/strict";
import { decodeFixture, parseFixture } from "../../src/core/fixture.ts";
import { clickstream } from "../../src/jobs/clickstream/job.ts";
import { simulate } from "../../sim/simulator.ts";

const ROOT = new URL("../../", import.meta.url);
const WINDOW_MS = 300_000;

Deno.test("a replay of the clickstream fixture publishes every on-time event once, as the fixture's README counts them", async () => {
  const job = clickstream.create();
  const fixture = parseFixture(
    await decodeFixture(
      await Deno.readFile(new URL(clickstream.fixture!, ROOT)),
    ),
  );
  const result = await simulate({
    job,
    fixture,
    seed: 1,
    checkpoint_interval_ms: 600_000,
  });
  // README: 120,000 lines, 152 invalid, 1,436 late for 5-min windows.
  assert.deepEqual(result.counts, {
    in: 120_000,
    out: 118_412,
    filtered: 0,
    dead_lettered: 152,
    late: 1_436,
  });

  const types = new Map<string, number>();
  const ids = new Set<string>();
  const windows = new Set<number>();
  const hours = new Set<string>();
  let lines = 0;
  const decoder = new TextDecoder();
  for (const { key, body } of result.objects.dump()) {
    const match =
      /^clickstream-events\/(dt=\d{4}-\d{2}-\d{2}\/hour=\d{2})\/part-([0-3])-(\d{10})-(\d{10})\.jsonl$/
        .exec(key);
    assert.ok(match !== null, `unexpected object ${key}`);
    hours.add(match[1]!);
    const text = decoder.decode(body);
    assert.ok(text.endsWith("\n"), key);
    for (const line of text.slice(0, -1).split("\n")) {
      lines++;
      const event = JSON.parse(line);
      const start = Date.parse(event.event_timestamp_start);
      const end = Date.parse(event.event_timestamp_end);
      const time = Date.parse(event.event_timestamp);
      assert.equal(end - start, WINDOW_MS, line);
      assert.equal(start % WINDOW_MS, 0, line);
      assert.ok(start <= time && time < end, line);
      const dir = `dt=${event.event_timestamp_start.slice(0, 10)}/hour=${
        event.event_timestamp_start.slice(11, 13)
      }`;
      assert.equal(dir, match[1], `${key}: ${line}`);
      assert.ok(!ids.has(event.event_id), `${event.event_id} twice`);
      ids.add(event.event_id);
      windows.add(start);
      types.set(event.event_type, (types.get(event.event_type) ?? 0) + 1);
    }
  }
  assert.equal(lines, 118_412);
  // README: 77 five-minute windows and 7 hours with on-time events.
  assert.equal(windows.size, 77);
  assert.equal(hours.size, 7);

  // Published and late together are the valid events, whose types the
  // README counts.
  const late = result.log.dump().topics.find((t) =>
    t.topic === "clickstream.late"
  )!.partitions.flat();
  const lateIds = new Set<string>();
  for (const record of late) {
    const event = JSON.parse(JSON.parse(record.value).value);
    if (lateIds.has(event.event_id)) continue;
    lateIds.add(event.event_id);
    assert.ok(!ids.has(event.event_id), `${event.event_id} late and written`);
    types.set(event.event_type, (types.get(event.event_type) ?? 0) + 1);
  }
  assert.equal(lateIds.size, 1_436);
  assert.deepEqual(Object.fromEntries([...types].sort()), {
    add_to_cart: 10_290,
    begin_checkout: 1_113,
    click: 33_967,
    page_view: 62_786,
    purchase: 588,
    remove_from_cart: 743,
    search: 10_361,
  });
});
