/**
 * Sliding windows of the window engine (kept as panes, with a running total
 * when the aggregate subtracts), checked against a brute-force model of
 * Flink's sliding windows with a Top-K aggregate — the sliding leaderboard
 * of the `views` job.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { BoundedOutOfOrderness } from "../../src/core/watermarks.ts";
import {
  WindowOperator,
  type WindowResult,
} from "../../src/core/window_operator.ts";
import { sliding } from "../../src/core/windows.ts";
import { byRank, type Ranked, topKMembers } from "../../src/flow/aggregates.ts";

interface SlidingTopKOptions {
  size_ms: number;
  slide_ms: number;
  allowed_lateness_ms: number;
  k: number;
}

type WindowTopK = WindowResult<Ranked[]>;

// ---------------------------------------------------------------------------
// The brute-force model: Flink's sliding event-time windows with allowed
// lateness, one window at a time, no panes.
//
// - A record belongs to the windows [e - size, e) with e - size <= ts < e.
// - A window is late for a record when e - 1 + lateness <= watermark; the
//   record is not added to a late window. A record late for all its windows
//   is refused.
// - A window fires when the watermark reaches e - 1 (if it holds a record).
//   A record added to a window whose time has passed fires it again at once.

interface Params extends SlidingTopKOptions {
  bound_ms: number;
}

interface Event {
  member: string;
  ts: number;
}

/** What one record changed: refused or not, and the last Top-K fired per window end. */
interface StepResult {
  refused: boolean;
  fired: Array<[number, Ranked[]]>;
}

class Model {
  readonly #p: Params;
  readonly #windows = new Map<number, Map<string, number>>();
  readonly #fired = new Set<number>();
  #max_ts = Number.NEGATIVE_INFINITY;

  constructor(params: Params) {
    this.#p = params;
  }

  watermark(): number {
    return this.#max_ts - this.#p.bound_ms - 1;
  }

  step({ member, ts }: Event): StepResult {
    const { size_ms, slide_ms, allowed_lateness_ms } = this.#p;
    const wm = this.watermark();
    const fired = new Map<number, Ranked[]>();
    // Windows [start, start + size) with start aligned to the slide.
    const last_start = Math.floor(ts / slide_ms) * slide_ms;
    let refused = true;
    let first_start = last_start;
    while (first_start - slide_ms > ts - size_ms) first_start -= slide_ms;
    for (let start = first_start; start <= last_start; start += slide_ms) {
      const end = start + size_ms;
      if (end - 1 + allowed_lateness_ms <= wm) continue;
      refused = false;
      let counts = this.#windows.get(end);
      if (counts === undefined) this.#windows.set(end, counts = new Map());
      counts.set(member, (counts.get(member) ?? 0) + 1);
      if (end - 1 <= wm) {
        this.#fired.add(end);
        fired.set(end, this.#top(end));
      }
    }
    this.#max_ts = Math.max(this.#max_ts, ts);
    this.#fireDue(this.watermark(), fired);
    return { refused, fired: sortedFirings(fired) };
  }

  end(): Array<[number, Ranked[]]> {
    const fired = new Map<number, Ranked[]>();
    this.#fireDue(Number.POSITIVE_INFINITY, fired);
    return sortedFirings(fired);
  }

  #fireDue(wm: number, fired: Map<number, Ranked[]>): void {
    for (const end of this.#windows.keys()) {
      if (!this.#fired.has(end) && end - 1 <= wm) {
        this.#fired.add(end);
        fired.set(end, this.#top(end));
      }
    }
  }

  #top(end: number): Ranked[] {
    return [...this.#windows.get(end)!]
      .map(([member, count]) => ({ member, count }))
      .sort(byRank)
      .slice(0, this.#p.k);
  }
}

function sortedFirings(
  fired: Map<number, Ranked[]>,
): Array<[number, Ranked[]]> {
  return [...fired].sort((a, b) => a[0] - b[0]);
}

/** The subject: the engine with a Top-K aggregate, driven as the dataflow drives it. */
class Subject {
  op: WindowOperator<string, Map<string, number>, Ranked[]>;
  watermarks: BoundedOutOfOrderness;
  readonly #p: Params;

  constructor(params: Params) {
    this.#p = params;
    this.op = new WindowOperator({
      assigner: sliding({ size_ms: params.size_ms, slide_ms: params.slide_ms }),
      aggregate: topKMembers(params.k, (member: string) => member),
      allowed_lateness_ms: params.allowed_lateness_ms,
    });
    this.watermarks = new BoundedOutOfOrderness({ bound_ms: params.bound_ms });
  }

  step({ member, ts }: Event, out: WindowTopK[] = []): StepResult {
    const before = out.length;
    const accepted = this.op.add(
      "top",
      ts,
      member,
      this.watermarks.current(),
      out,
    );
    this.watermarks.observe(ts);
    this.op.advance(this.watermarks.current(), out);
    return {
      refused: !accepted,
      fired: lastPerWindow(out.slice(before), this.#p.size_ms),
    };
  }

  end(out: WindowTopK[] = []): Array<[number, Ranked[]]> {
    const before = out.length;
    this.op.advance(Number.POSITIVE_INFINITY, out);
    return lastPerWindow(out.slice(before), this.#p.size_ms);
  }

  /** A fresh subject resumed from this one's snapshots, through JSON. */
  resumed(): Subject {
    const copy = new Subject(this.#p);
    copy.op.restore(JSON.parse(JSON.stringify(this.op.snapshot())));
    copy.watermarks.restore(
      JSON.parse(JSON.stringify(this.watermarks.snapshot())),
    );
    return copy;
  }
}

function lastPerWindow(
  out: WindowTopK[],
  size_ms: number,
): Array<[number, Ranked[]]> {
  const fired = new Map<number, Ranked[]>();
  for (const w of out) {
    const { start, end } = w.window;
    assert.equal(end - start, size_ms, `window ${start}..${end}`);
    fired.set(end, w.value);
  }
  return sortedFirings(fired);
}

const params: fc.Arbitrary<Params> = fc
  .record({
    slide_ms: fc.integer({ min: 1, max: 4 }),
    panes: fc.integer({ min: 1, max: 4 }),
    // Sizes that are not a multiple of the slide make panes of their gcd.
    extra: fc.integer({ min: 0, max: 3 }),
    allowed_lateness_ms: fc.integer({ min: 0, max: 8 }),
    k: fc.integer({ min: 1, max: 3 }),
    bound_ms: fc.integer({ min: 0, max: 6 }),
  })
  .map(({ panes, extra, ...p }) => ({
    ...p,
    size_ms: p.slide_ms * panes + (extra % p.slide_ms),
  }));

/** Mostly ordered event times with occasional stragglers far behind. */
const events: fc.Arbitrary<Event[]> = fc
  .array(
    fc.record({
      member: fc.constantFrom("a", "b", "c", "d"),
      step: fc.nat(5),
      back: fc.oneof(
        { weight: 4, arbitrary: fc.nat(4) },
        { weight: 1, arbitrary: fc.nat(40) },
      ),
    }),
    { maxLength: 40 },
  )
  .map((draws) => {
    let base = 0;
    return draws.map(({ member, step, back }) => {
      base += step;
      return { member, ts: Math.max(0, base - back) };
    });
  });

// ---------------------------------------------------------------------------

function topK(
  params: {
    size_ms: number;
    slide_ms: number;
    allowed_lateness_ms: number;
    k: number;
  },
) {
  return new WindowOperator({
    assigner: sliding({ size_ms: params.size_ms, slide_ms: params.slide_ms }),
    aggregate: topKMembers(params.k, (member: string) => member),
    allowed_lateness_ms: params.allowed_lateness_ms,
  });
}

function shape(out: WindowTopK[]) {
  return out.map((w) => ({
    start: w.window.start,
    end: w.window.end,
    top: w.value,
    update: w.update,
  }));
}

const NONE = Number.NEGATIVE_INFINITY;

Deno.test("sliding windows fire each window once the watermark reaches its end - 1, in order of end", () => {
  const s = topK({ size_ms: 20, slide_ms: 10, allowed_lateness_ms: 0, k: 2 });
  const out: WindowTopK[] = [];
  assert.equal(s.add("top", 5, "a", NONE, out), true);
  assert.equal(s.add("top", 12, "b", NONE, out), true);
  assert.equal(s.add("top", 14, "b", NONE, out), true);
  s.advance(8, out);
  assert.deepEqual(out, []);
  s.advance(9, out);
  assert.deepEqual(shape(out), [
    { start: -10, end: 10, top: [{ member: "a", count: 1 }], update: false },
  ]);
  s.advance(29, out);
  assert.deepEqual(shape(out).slice(1), [
    {
      start: 0,
      end: 20,
      top: [{ member: "b", count: 2 }, { member: "a", count: 1 }],
      update: false,
    },
    { start: 10, end: 30, top: [{ member: "b", count: 2 }], update: false },
  ]);
});

Deno.test("sliding windows skip windows that hold no record", () => {
  const s = topK({ size_ms: 20, slide_ms: 10, allowed_lateness_ms: 0, k: 2 });
  const out: WindowTopK[] = [];
  s.add("top", 5, "a", NONE, out);
  s.add("top", 95, "b", NONE, out);
  s.advance(Number.POSITIVE_INFINITY, out);
  assert.deepEqual(out.map((w) => w.window.end), [10, 20, 100, 110]);
});

Deno.test("a sliding window re-fires as an update for a record within lateness", () => {
  const s = topK({ size_ms: 20, slide_ms: 10, allowed_lateness_ms: 10, k: 3 });
  const out: WindowTopK[] = [];
  s.add("top", 5, "a", NONE, out);
  s.advance(12, out); // fires [-10, 10)
  assert.deepEqual(out.map((w) => [w.window.end, w.update]), [[10, false]]);
  // Watermark 12: window 10 is within lateness (9 + 10 > 12), window 20 not yet fired.
  assert.equal(s.add("top", 7, "b", 12, out), true);
  assert.deepEqual(shape(out).slice(1), [
    {
      start: -10,
      end: 10,
      top: [{ member: "a", count: 1 }, { member: "b", count: 1 }],
      update: true,
    },
  ]);
});

Deno.test("a record late for every sliding window it belongs to is refused and changes nothing", () => {
  const s = topK({ size_ms: 20, slide_ms: 10, allowed_lateness_ms: 5, k: 3 });
  const out: WindowTopK[] = [];
  s.add("top", 25, "a", NONE, out);
  s.advance(40, out);
  const before = JSON.stringify(s.snapshot());
  // Last window of ts 5 is [0, 20): 19 + 5 <= 40.
  assert.equal(s.add("top", 5, "b", 40, out), false);
  assert.equal(JSON.stringify(s.snapshot()), before);
  // Last window of ts 15 is [10, 30): 29 + 5 <= 40 as well.
  assert.equal(s.add("top", 15, "b", 40, out), false);
  // Last window of ts 25 is [20, 40): 39 + 5 > 40, within lateness.
  assert.equal(s.add("top", 25, "b", 40, out), true);
});

Deno.test("a record never goes into a sliding window that is late for it, even one that never fired", () => {
  // size 3, slide 1, no lateness, watermark = max - 1. After a@0 and b@10 the
  // watermark is 9 and windows ending 1..3 fired; c@8 belongs to the windows
  // ending 9, 10 and 11, of which 9 and 10 are late (8 <= 9, 9 <= 9): as in
  // Flink, c only counts in [8, 11), which fires once the watermark reaches 10.
  const p: Params = {
    size_ms: 3,
    slide_ms: 1,
    allowed_lateness_ms: 0,
    k: 3,
    bound_ms: 0,
  };
  const subject = new Subject(p);
  const model = new Model(p);
  for (const event of [{ member: "a", ts: 0 }, { member: "b", ts: 10 }]) {
    assert.deepEqual(subject.step(event), model.step(event));
  }
  const c = { member: "c", ts: 8 };
  assert.deepEqual(model.step(c), { refused: false, fired: [] });
  assert.deepEqual(subject.step(c), { refused: false, fired: [] });
});

Deno.test("sliding Top-K windows match the brute-force Flink model: fired Top-K per window and refused records", () => {
  fc.assert(
    fc.property(params, events, (p, evs) => {
      const subject = new Subject(p);
      const model = new Model(p);
      evs.forEach((event, i) => {
        assert.deepEqual(
          subject.step(event),
          model.step(event),
          `after record ${i} (${event.member}@${event.ts})`,
        );
      });
      assert.deepEqual(subject.end(), model.end(), "at end of input");
    }),
    { numRuns: 500 },
  );
});

Deno.test("sliding windows resumed from a JSON snapshot fire exactly what uninterrupted ones fire", () => {
  fc.assert(
    fc.property(params, events, fc.nat(), (p, evs, cut) => {
      const at = cut % (evs.length + 1);
      const whole = new Subject(p);
      let split = new Subject(p);
      const wholeOut: WindowTopK[] = [];
      const splitOut: WindowTopK[] = [];
      evs.forEach((event, i) => {
        if (i === at) split = split.resumed();
        whole.step(event, wholeOut);
        split.step(event, splitOut);
      });
      if (at === evs.length) split = split.resumed();
      whole.end(wholeOut);
      split.end(splitOut);
      assert.deepEqual(splitOut, wholeOut);
    }),
    { numRuns: 300 },
  );
});

Deno.test("sliding windows let go of panes once every window holding them is late", () => {
  const s = topK({ size_ms: 20, slide_ms: 10, allowed_lateness_ms: 5, k: 3 });
  const out: WindowTopK[] = [];
  for (let ts = 0; ts < 1_000; ts += 3) {
    s.add("top", ts, "a", ts - 1, out);
    s.advance(ts, out);
  }
  // Panes of the running window plus those still within lateness: a handful.
  assert.ok(s.size() <= 4, `holds ${s.size()} panes`);
});
