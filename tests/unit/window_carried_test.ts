/**
 * Session windows after a repartition (`carried_watermarks`): elements come
 * from several upstream partitions, each carrying its partition's watermark,
 * and the operator's watermark is the minimum over the partitions. Whatever
 * the interleaving of the partitions (each in its own order), the sessions
 * fired and the elements refused as late are the same.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type Aggregate,
  WindowOperator,
  type WindowResult,
} from "../../src/core/window_operator.ts";
import { session } from "../../src/core/windows.ts";

/** The timestamps of a session, sorted: shows exactly what joined it. */
const members: Aggregate<number, number[], number[]> = {
  create: () => [],
  add: (acc, t) => [...acc, t],
  merge: (a, b) => [...a, ...b],
  result: (acc) => [...acc].sort((x, y) => x - y),
  encode: (acc) => acc,
  decode: (data) => [...(data as number[])],
};

const GAP = 10;
const BOUND = 3;

interface Sent {
  partition: number;
  key: string;
  t: number;
  /** The upstream partition's watermark when it sent the element. */
  carried: number;
  /** Its watermark after the element (what a marker then reports). */
  after: number;
}

/** Each partition's elements in its own order, with the watermarks they carry. */
function sendAll(
  partitions: Array<Array<{ key: string; t: number }>>,
): Sent[][] {
  return partitions.map((elements, partition) => {
    let max = Number.NEGATIVE_INFINITY;
    return elements.map(({ key, t }) => {
      const carried = max - BOUND - 1;
      max = Math.max(max, t);
      return { partition, key, t, carried, after: max - BOUND - 1 };
    });
  });
}

/** Runs one interleaving (`order` picks the next partition); answers fired sessions and late elements. */
function run(sent: Sent[][], order: number[], carried_watermarks: boolean) {
  const op = new WindowOperator<number, number[], number[]>({
    assigner: session({ gap_ms: GAP }),
    aggregate: members,
    carried_watermarks,
  });
  const reported = sent.map(() => Number.NEGATIVE_INFINITY);
  const clock = () => Math.min(...reported);
  const next = sent.map(() => 0);
  const fired: WindowResult<number[]>[] = [];
  const late: string[] = [];
  let pick = 0;
  for (;;) {
    const open = sent.map((_, p) => p).filter((p) =>
      next[p]! < sent[p]!.length
    );
    if (open.length === 0) break;
    const p = open[(order[pick++ % order.length] ?? 0) % open.length]!;
    const e = sent[p]![next[p]!++]!;
    if (!op.add(e.key, e.t, e.t, clock(), fired, e.carried)) {
      late.push(`${e.key}@${e.t}`);
    }
    // The element's own report follows it (a marker of its partition).
    reported[p] = Math.max(reported[p]!, e.after);
    op.advance(clock(), fired);
  }
  op.advance(Number.POSITIVE_INFINITY, fired);
  const sessions = fired
    .map((r) =>
      `${r.key}[${r.window.start},${r.window.end}):${r.value.join(",")}`
    )
    .sort();
  return { sessions, late: late.sort() };
}

const element = fc.record({
  key: fc.constantFrom("a", "b"),
  t: fc.integer({ min: 0, max: 60 }),
});

const scenario = fc.record({
  partitions: fc.array(fc.array(element, { maxLength: 12 }), {
    minLength: 2,
    maxLength: 3,
  }),
  first: fc.array(fc.nat(5), { minLength: 1, maxLength: 30 }),
  second: fc.array(fc.nat(5), { minLength: 1, maxLength: 30 }),
});

Deno.test("sessions judged by carried watermarks hold and refuse the same elements whatever the partitions' interleaving", () => {
  fc.assert(
    fc.property(scenario, ({ partitions, first, second }) => {
      const sent = sendAll(partitions);
      assert.deepEqual(run(sent, first, true), run(sent, second, true));
    }),
    { numRuns: 3_000 },
  );
});

Deno.test("sessions judged as within one stream depend on the interleaving (what carried watermarks fix)", () => {
  const differs = fc.check(
    fc.property(scenario, ({ partitions, first, second }) => {
      const sent = sendAll(partitions);
      assert.deepEqual(run(sent, first, false), run(sent, second, false));
    }),
    { numRuns: 3_000 },
  );
  assert.equal(differs.failed, true, "no interleaving changed the sessions");
});

Deno.test("sessions judged by carried watermarks refuse only elements late by their own window", () => {
  // Partition 0 is far ahead: "a"@5 carries 40 - 3 - 1 = 36 ≥ 5 + 10 - 1.
  const sent = sendAll([[{ key: "x", t: 40 }, { key: "a", t: 5 }], [{
    key: "a",
    t: 12,
  }]]);
  const { sessions, late } = run(sent, [0, 0, 1], true);
  assert.deepEqual(late, ["a@5"]);
  assert.deepEqual(sessions, ["a[12,22):12", "x[40,50):40"]);
});
