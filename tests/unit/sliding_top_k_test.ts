import assert from "node:assert/strict";
import fc from "fast-check";
import { BoundedOutOfOrderness } from "../../src/core/watermarks.ts";
import {
  SlidingTopK,
  type SlidingTopKOptions,
  type WindowTopK,
} from "../../src/jobs/views/sliding_top_k.ts";
import { byRank, type Ranked } from "../../src/jobs/views/top_k.ts";

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
    const first_end = Math.floor(ts / slide_ms) * slide_ms + slide_ms;
    let refused = true;
    for (let end = first_end; end - size_ms <= ts; end += slide_ms) {
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

/** The subject, driven as the views processor drives it. */
class Subject {
  sliding: SlidingTopK;
  watermarks: BoundedOutOfOrderness;
  readonly #p: Params;

  constructor(params: Params) {
    this.#p = params;
    this.sliding = new SlidingTopK(params);
    this.watermarks = new BoundedOutOfOrderness({ bound_ms: params.bound_ms });
  }

  step({ member, ts }: Event, out: WindowTopK[] = []): StepResult {
    const before = out.length;
    const accepted = this.sliding.add(
      member,
      ts,
      this.watermarks.current(),
      out,
    );
    this.watermarks.observe(ts);
    this.sliding.advance(this.watermarks.current(), out);
    return {
      refused: !accepted,
      fired: lastPerWindow(out.slice(before), this.#p.size_ms),
    };
  }

  end(out: WindowTopK[] = []): Array<[number, Ranked[]]> {
    const before = out.length;
    this.sliding.advance(Number.POSITIVE_INFINITY, out);
    return lastPerWindow(out.slice(before), this.#p.size_ms);
  }

  /** A fresh subject resumed from this one's snapshots, through JSON. */
  resumed(): Subject {
    const copy = new Subject(this.#p);
    copy.sliding.restore(
      JSON.parse(JSON.stringify(this.sliding.snapshot())),
    );
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
    assert.equal(w.end - w.start, size_ms, `window ${w.start}..${w.end}`);
    fired.set(w.end, w.top);
  }
  return sortedFirings(fired);
}

const params: fc.Arbitrary<Params> = fc
  .record({
    slide_ms: fc.integer({ min: 1, max: 4 }),
    panes: fc.integer({ min: 1, max: 4 }),
    allowed_lateness_ms: fc.integer({ min: 0, max: 8 }),
    k: fc.integer({ min: 1, max: 3 }),
    bound_ms: fc.integer({ min: 0, max: 6 }),
  })
  .map(({ panes, ...p }) => ({ ...p, size_ms: p.slide_ms * panes }));

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

Deno.test("SlidingTopK refuses options that do not make a sliding window", () => {
  const ok = { size_ms: 60, slide_ms: 10, allowed_lateness_ms: 0, k: 3 };
  const cases: Array<[Partial<SlidingTopKOptions>, string]> = [
    [
      { size_ms: -5 },
      "Cannot slide window as 'size_ms' must be a positive duration in whole milliseconds: current value is -5",
    ],
    [
      { slide_ms: 0 },
      "Cannot slide window as 'slide_ms' must be a positive duration in whole milliseconds: current value is 0",
    ],
    [
      { allowed_lateness_ms: -1 },
      "Cannot slide window as 'allowed_lateness_ms' must be a non-negative duration in whole milliseconds: current value is -1",
    ],
    [
      { slide_ms: 7 },
      "Cannot slide window as 'slide_ms' must divide 'size_ms' (60): current value is 7",
    ],
    [
      { k: 0 },
      "Cannot rank window as 'k' must be a positive integer: current value is 0",
    ],
    [
      { k: 1.5 },
      "Cannot rank window as 'k' must be a positive integer: current value is 1.5",
    ],
  ];
  for (const [change, message] of cases) {
    assert.throws(() => new SlidingTopK({ ...ok, ...change }), {
      name: "RangeError",
      message,
    });
  }
});

Deno.test("SlidingTopK fires each window once the watermark reaches its end - 1, in order of end", () => {
  const s = new SlidingTopK({
    size_ms: 20,
    slide_ms: 10,
    allowed_lateness_ms: 0,
    k: 2,
  });
  const out: WindowTopK[] = [];
  assert.equal(s.add("a", 5, Number.NEGATIVE_INFINITY, out), true);
  assert.equal(s.add("b", 12, Number.NEGATIVE_INFINITY, out), true);
  assert.equal(s.add("b", 14, Number.NEGATIVE_INFINITY, out), true);
  s.advance(8, out);
  assert.deepEqual(out, []);
  s.advance(9, out);
  assert.deepEqual(out, [
    { start: -10, end: 10, top: [{ member: "a", count: 1 }], update: false },
  ]);
  s.advance(29, out);
  assert.deepEqual(out.slice(1), [
    {
      start: 0,
      end: 20,
      top: [{ member: "b", count: 2 }, { member: "a", count: 1 }],
      update: false,
    },
    { start: 10, end: 30, top: [{ member: "b", count: 2 }], update: false },
  ]);
});

Deno.test("SlidingTopK skips windows that hold no record", () => {
  const s = new SlidingTopK({
    size_ms: 20,
    slide_ms: 10,
    allowed_lateness_ms: 0,
    k: 2,
  });
  const out: WindowTopK[] = [];
  s.add("a", 5, Number.NEGATIVE_INFINITY, out);
  s.add("b", 95, Number.NEGATIVE_INFINITY, out);
  s.advance(Number.POSITIVE_INFINITY, out);
  assert.deepEqual(out.map((w) => w.end), [10, 20, 100, 110]);
});

Deno.test("SlidingTopK re-fires a fired window as an update for a record within lateness", () => {
  const s = new SlidingTopK({
    size_ms: 20,
    slide_ms: 10,
    allowed_lateness_ms: 10,
    k: 3,
  });
  const out: WindowTopK[] = [];
  s.add("a", 5, Number.NEGATIVE_INFINITY, out);
  s.advance(12, out); // fires [-10, 10)
  assert.deepEqual(out.map((w) => [w.end, w.update]), [[10, false]]);
  // Watermark 12: window 10 is within lateness (9 + 10 > 12), window 20 not yet fired.
  assert.equal(s.add("b", 7, 12, out), true);
  assert.deepEqual(out.slice(1), [
    {
      start: -10,
      end: 10,
      top: [{ member: "a", count: 1 }, { member: "b", count: 1 }],
      update: true,
    },
  ]);
});

Deno.test("SlidingTopK refuses a record late for every window it belongs to, and changes nothing", () => {
  const s = new SlidingTopK({
    size_ms: 20,
    slide_ms: 10,
    allowed_lateness_ms: 5,
    k: 3,
  });
  const out: WindowTopK[] = [];
  s.add("a", 25, Number.NEGATIVE_INFINITY, out);
  s.advance(40, out);
  const before = JSON.stringify(s.snapshot());
  // Last window of ts 5 is [0, 20): 19 + 5 <= 40.
  assert.equal(s.add("b", 5, 40, out), false);
  assert.equal(JSON.stringify(s.snapshot()), before);
  // Last window of ts 15 is [10, 30): 29 + 5 <= 40 as well.
  assert.equal(s.add("b", 15, 40, out), false);
  // Last window of ts 25 is [20, 40): 39 + 5 > 40, within lateness.
  assert.equal(s.add("b", 25, 40, out), true);
});

Deno.test("SlidingTopK does not put a record in a window that is late for it, even one that never fired", () => {
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

Deno.test("SlidingTopK matches the brute-force Flink model: fired Top-K per window and refused records", () => {
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
    { numRuns: 300 },
  );
});

Deno.test("SlidingTopK resumed from a JSON snapshot fires exactly what the uninterrupted one fires", () => {
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

Deno.test("SlidingTopK lets go of panes once every window holding them is late", () => {
  const s = new SlidingTopK({
    size_ms: 20,
    slide_ms: 10,
    allowed_lateness_ms: 5,
    k: 3,
  });
  const out: WindowTopK[] = [];
  for (let ts = 0; ts < 1_000; ts += 3) {
    s.add("a", ts, ts - 1, out);
    s.advance(ts, out);
  }
  // Panes of the running window plus those still within lateness: a handful.
  assert.ok(s.panes() <= 4, `holds ${s.panes()} panes`);
});
