import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type Aggregate,
  WindowOperator,
  type WindowResult,
} from "../../src/core/window_operator.ts";
import {
  mergeSessions,
  session,
  sliding,
  type TimeWindow,
  tumbling,
  type WindowAssigner,
} from "../../src/core/windows.ts";
import {
  BoundedOutOfOrderness,
  NO_WATERMARK,
  WatermarkMerger,
} from "../../src/core/watermarks.ts";

// ---------------------------------------------------------------------------
// Helpers

const count: Aggregate<number, number, number> = {
  create: () => 0,
  add: (acc, value) => acc + value,
  merge: (a, b) => a + b,
  result: (acc) => acc,
  encode: (acc) => acc,
  decode: (data) => data as number,
};

type Kind = "tumbling" | "sliding" | "session";
const KINDS: Kind[] = ["tumbling", "sliding", "session"];

// The table uses windows of 10 ms: tumbling 10, sliding 10 every 5, sessions
// with a gap of 10.
function assignerOf(kind: Kind): WindowAssigner {
  if (kind === "tumbling") return tumbling({ size_ms: 10 });
  if (kind === "sliding") return sliding({ size_ms: 10, slide_ms: 5 });
  return session({ gap_ms: 10 });
}

function show(r: WindowResult<number>): string {
  const base = `${r.key}[${r.window.start},${r.window.end})=${r.value}`;
  return r.update ? `${base} update` : base;
}

/** One step of a table case. */
type Step =
  /** add(key, ts) under the current watermark */
  | { op: "add"; key: string; ts: number }
  /** advance the operator to a watermark */
  | { op: "wm"; watermark: number }
  /** a record on source partition `input` at processing time `now_ms` */
  | { op: "part"; input: string; key: string; ts: number; now_ms: number }
  /** processing time passes: re-read the merged watermark */
  | { op: "tick"; now_ms: number }
  /** snapshot everything to JSON text and continue on fresh objects */
  | { op: "restart" }
  /** record the operator's size in the trace */
  | { op: "size" };

const add = (key: string, ts: number): Step => ({ op: "add", key, ts });
const wm = (watermark: number): Step => ({ op: "wm", watermark });
const part = (
  input: string,
  key: string,
  ts: number,
  now_ms: number,
): Step => ({
  op: "part",
  input,
  key,
  ts,
  now_ms,
});
const tick = (now_ms: number): Step => ({ op: "tick", now_ms });
const restart: Step = { op: "restart" };
const size: Step = { op: "size" };

function label(step: Step): string {
  switch (step.op) {
    case "add":
      return `${step.key}@${step.ts}`;
    case "wm":
      return `wm ${step.watermark}`;
    case "part":
      return `${step.input} ${step.key}@${step.ts}`;
    case "tick":
      return `tick ${step.now_ms}`;
    case "restart":
      return "restart";
    case "size":
      return "size";
  }
}

/**
 * Runs steps and returns a trace: one line per step that fired something or
 * was late ("a@5 -> late, ..."), plus "size N" lines. Partitions p0 and p1
 * have bounded out-of-orderness 0 and idle after 100 ms; both are registered
 * at processing time 0. `restart_operator_after` restarts the operator alone
 * (from its JSON snapshot) after that step index.
 */
function run(
  kind: Kind,
  steps: Step[],
  options: { lateness_ms?: number; restart_operator_after?: number } = {},
): string[] {
  const make = () =>
    new WindowOperator({
      assigner: assignerOf(kind),
      aggregate: count,
      allowed_lateness_ms: options.lateness_ms ?? 0,
    });
  let op = make();
  let gens: Record<string, BoundedOutOfOrderness> = {
    p0: new BoundedOutOfOrderness({ bound_ms: 0 }),
    p1: new BoundedOutOfOrderness({ bound_ms: 0 }),
  };
  let merger = new WatermarkMerger({ idle_timeout_ms: 100 });
  merger.update("p0", NO_WATERMARK, 0);
  merger.update("p1", NO_WATERMARK, 0);
  let watermark = NO_WATERMARK;
  const trace: string[] = [];
  steps.forEach((step, index) => {
    const out: WindowResult<number>[] = [];
    const notes: string[] = [];
    switch (step.op) {
      case "add":
        if (!op.add(step.key, step.ts, 1, watermark, out)) notes.push("late");
        break;
      case "wm":
        watermark = step.watermark;
        op.advance(watermark, out);
        break;
      case "part": {
        if (!op.add(step.key, step.ts, 1, watermark, out)) notes.push("late");
        const gen = gens[step.input] as BoundedOutOfOrderness;
        gen.observe(step.ts);
        merger.update(step.input, gen.current(), step.now_ms);
        watermark = merger.current(step.now_ms);
        op.advance(watermark, out);
        break;
      }
      case "tick":
        watermark = merger.current(step.op === "tick" ? step.now_ms : 0);
        op.advance(watermark, out);
        break;
      case "restart": {
        const text = JSON.stringify({
          op: op.snapshot(),
          gens: { p0: gens.p0?.snapshot(), p1: gens.p1?.snapshot() },
          merger: merger.snapshot(),
        });
        const saved = JSON.parse(text);
        op = make();
        op.restore(saved.op);
        gens = {
          p0: BoundedOutOfOrderness.restore(saved.gens.p0, { bound_ms: 0 }),
          p1: BoundedOutOfOrderness.restore(saved.gens.p1, { bound_ms: 0 }),
        };
        merger = new WatermarkMerger({ idle_timeout_ms: 100 });
        merger.restore(saved.merger);
        break;
      }
      case "size":
        trace.push(`size ${op.size()}`);
        break;
    }
    const fired = [...notes, ...out.map(show)];
    if (fired.length > 0) trace.push(`${label(step)} -> ${fired.join(", ")}`);
    if (options.restart_operator_after === index) {
      const saved = JSON.parse(JSON.stringify(op.snapshot()));
      op = make();
      op.restore(saved);
    }
  });
  return trace;
}

// ---------------------------------------------------------------------------
// The edge-case table, run for every window kind

interface Case {
  name: string;
  lateness_ms?: number;
  steps: Step[];
  expected: Record<Kind, string[]>;
}

const BOUNDARY_STEPS = [
  add("a", 0),
  add("a", 9),
  add("a", 10),
  wm(8),
  wm(9),
  wm(19),
];
const MERGE_STEPS = [
  add("b", 0),
  add("b", 11),
  add("a", 0),
  add("a", 10),
  add("a", 30),
  wm(18),
  add("a", 20),
  wm(39),
];
const MERGE_EXPECTED: Record<Kind, string[]> = {
  tumbling: [
    "wm 18 -> a[0,10)=1, b[0,10)=1",
    "wm 39 -> a[10,20)=1, b[10,20)=1, a[20,30)=1, a[30,40)=1",
  ],
  sliding: [
    "wm 18 -> a[-5,5)=1, b[-5,5)=1, a[0,10)=1, b[0,10)=1, a[5,15)=1, b[5,15)=1",
    "wm 39 -> a[10,20)=1, b[10,20)=1, a[15,25)=1, a[20,30)=1, a[25,35)=1, a[30,40)=1",
  ],
  // b@0 and b@11 are gap + 1 apart: two sessions. a@0 and a@10 are exactly
  // gap apart: one session [0,20); a@20 bridges it with [30,40).
  session: ["wm 18 -> b[0,10)=1", "wm 39 -> b[11,21)=1, a[0,40)=4"],
};
const LATE_ALLOWED_STEPS = [
  add("a", 3),
  wm(14),
  add("a", 5),
  wm(16),
  add("a", 8),
  wm(30),
];
const LATE_ALLOWED_EXPECTED: Record<Kind, string[]> = {
  tumbling: [
    "wm 14 -> a[0,10)=1",
    "a@5 -> a[0,10)=2 update",
    "a@8 -> a[0,10)=3 update",
  ],
  sliding: [
    "wm 14 -> a[-5,5)=1, a[0,10)=1",
    // [5,15) is created already late but within lateness: it fires at once,
    // and it is not an update since it never fired before.
    "a@5 -> a[0,10)=2 update, a[5,15)=1",
    "a@8 -> a[0,10)=3 update, a[5,15)=2 update",
  ],
  session: [
    "wm 14 -> a[3,13)=1",
    // merges with the fired [3,13); the merged window is due, so it fires
    "a@5 -> a[3,15)=2 update",
    // extends the session past the watermark: fires when the watermark gets there
    "wm 30 -> a[3,18)=3 update",
  ],
};

const CASES: Case[] = [
  {
    name:
      "an event on a window boundary belongs to the next window, which fires at end - 1",
    steps: BOUNDARY_STEPS,
    expected: {
      tumbling: ["wm 9 -> a[0,10)=2", "wm 19 -> a[10,20)=1"],
      sliding: [
        "wm 8 -> a[-5,5)=1",
        "wm 9 -> a[0,10)=2",
        "wm 19 -> a[5,15)=2, a[10,20)=1",
      ],
      session: ["wm 19 -> a[0,20)=3"],
    },
  },
  {
    name: "sliding windows overlap, so one event counts in several windows",
    steps: [add("a", 7), add("b", 7), wm(9), wm(14), wm(16)],
    expected: {
      tumbling: ["wm 9 -> a[0,10)=1, b[0,10)=1"],
      sliding: [
        "wm 9 -> a[0,10)=1, b[0,10)=1",
        "wm 14 -> a[5,15)=1, b[5,15)=1",
      ],
      session: ["wm 16 -> a[7,17)=1, b[7,17)=1"],
    },
  },
  {
    name:
      "sessions merge when events are exactly gap apart and when an event bridges two",
    steps: MERGE_STEPS,
    expected: MERGE_EXPECTED,
  },
  {
    name:
      "a late event within allowed lateness updates and re-fires its window",
    lateness_ms: 10,
    steps: LATE_ALLOWED_STEPS,
    expected: LATE_ALLOWED_EXPECTED,
  },
  {
    name:
      "an event late beyond allowed lateness is rejected and changes nothing",
    steps: [
      add("b", 0),
      add("a", 20),
      wm(15),
      add("b", 1),
      add("b", 5),
      size,
      wm(30),
      size,
    ],
    expected: {
      tumbling: [
        "wm 15 -> b[0,10)=1",
        "b@1 -> late",
        "b@5 -> late",
        "size 1",
        "wm 30 -> a[20,30)=1",
        "size 0",
      ],
      sliding: [
        "wm 15 -> b[-5,5)=1, b[0,10)=1",
        "b@1 -> late",
        "b@5 -> late",
        // Sliding windows are kept as panes: one pane of 'a' is alive.
        "size 1",
        "wm 30 -> a[15,25)=1, a[20,30)=1",
        "size 0",
      ],
      session: [
        "wm 15 -> b[0,10)=1",
        "b@1 -> late",
        "b@5 -> late",
        "size 1",
        "wm 30 -> a[20,30)=1",
        "size 0",
      ],
    },
  },
  {
    name: "a partially late event updates only the windows that are not late",
    steps: [add("c", 0), wm(9), add("c", 7), wm(30)],
    expected: {
      tumbling: ["wm 9 -> c[0,10)=1", "c@7 -> late"],
      sliding: ["wm 9 -> c[-5,5)=1, c[0,10)=1", "wm 30 -> c[5,15)=1"],
      session: ["wm 9 -> c[0,10)=1", "wm 30 -> c[7,17)=1"],
    },
  },
  {
    name:
      "an idle partition stops holding the watermark back, and holds it again once active and caught up",
    steps: [
      part("p0", "a", 3, 10),
      part("p0", "a", 25, 60),
      // p1 has been silent for 100 ms: idle, so p0 alone sets the watermark
      part("p0", "a", 26, 100),
      // p1 wakes up behind the watermark: its record is late, and it does
      // not pull the watermark back
      part("p1", "b", 12, 110),
      // p1 catches up and holds the watermark back again (min of 44 and 39)
      part("p1", "b", 40, 120),
      part("p0", "a", 45, 130),
      tick(150),
      wm(Infinity),
    ],
    expected: {
      tumbling: [
        "p0 a@26 -> a[0,10)=1",
        "p1 b@12 -> late",
        "p0 a@45 -> a[20,30)=2",
        "wm Infinity -> a[40,50)=1, b[40,50)=1",
      ],
      sliding: [
        "p0 a@26 -> a[-5,5)=1, a[0,10)=1",
        "p1 b@12 -> late",
        "p0 a@45 -> a[20,30)=2, a[25,35)=2",
        "wm Infinity -> b[35,45)=1, a[40,50)=1, b[40,50)=1, a[45,55)=1",
      ],
      session: [
        "p0 a@26 -> a[3,13)=1",
        "p1 b@12 -> late",
        "p0 a@45 -> a[25,36)=2",
        "wm Infinity -> b[40,50)=1, a[45,55)=1",
      ],
    },
  },
  {
    name:
      "the end of input (watermark Infinity) fires every open window and empties the state",
    steps: [
      add("a", 1),
      add("b", 14),
      add("a", 27),
      wm(Infinity),
      size,
      add("a", 50),
    ],
    expected: {
      tumbling: [
        "wm Infinity -> a[0,10)=1, b[10,20)=1, a[20,30)=1",
        "size 0",
        "a@50 -> late",
      ],
      sliding: [
        "wm Infinity -> a[-5,5)=1, a[0,10)=1, b[5,15)=1, b[10,20)=1, a[20,30)=1, a[25,35)=1",
        "size 0",
        "a@50 -> late",
      ],
      session: [
        "wm Infinity -> a[1,11)=1, b[14,24)=1, a[27,37)=1",
        "size 0",
        "a@50 -> late",
      ],
    },
  },
  {
    name:
      "a snapshot and restore mid-stream yields the results of an uninterrupted run",
    steps: [...MERGE_STEPS.slice(0, 6), restart, ...MERGE_STEPS.slice(6)],
    expected: MERGE_EXPECTED,
  },
  {
    name:
      "a snapshot and restore between a firing and its late updates keeps the update flags",
    lateness_ms: 10,
    steps: [
      ...LATE_ALLOWED_STEPS.slice(0, 2),
      restart,
      ...LATE_ALLOWED_STEPS.slice(2),
    ],
    expected: LATE_ALLOWED_EXPECTED,
  },
];

Deno.test("WindowOperator handles the edge-case table for tumbling, sliding and session windows", async (t) => {
  for (const c of CASES) {
    for (const kind of KINDS) {
      await t.step(`${kind}: ${c.name}`, () => {
        assert.deepEqual(
          run(kind, c.steps, { lateness_ms: c.lateness_ms }),
          c.expected[kind],
        );
      });
    }
  }
});

Deno.test("WindowOperator gives the same table results when restarted from a snapshot after any step", () => {
  for (const c of CASES) {
    for (const kind of KINDS) {
      for (let i = 0; i < c.steps.length; i++) {
        assert.deepEqual(
          run(kind, c.steps, {
            lateness_ms: c.lateness_ms,
            restart_operator_after: i,
          }),
          c.expected[kind],
          `${kind}: ${c.name}: restart after step ${i}`,
        );
      }
    }
  }
});

// ---------------------------------------------------------------------------
// Unit tests

Deno.test("WindowOperator.add advances to a newer watermark before judging lateness", () => {
  const op = new WindowOperator({
    assigner: tumbling({ size_ms: 10 }),
    aggregate: count,
  });
  const out: WindowResult<number>[] = [];
  op.add("a", 1, 1, NO_WATERMARK, out);
  assert.equal(op.add("a", 2, 1, 9, out), false);
  assert.deepEqual(out, [{
    key: "a",
    window: { start: 0, end: 10 },
    value: 1,
    update: false,
  }]);
  assert.equal(op.watermark(), 9);
});

Deno.test("WindowOperator ignores a watermark that goes backwards", () => {
  const op = new WindowOperator({
    assigner: tumbling({ size_ms: 10 }),
    aggregate: count,
  });
  const out: WindowResult<number>[] = [];
  op.advance(20, out);
  op.advance(5, out);
  assert.equal(op.watermark(), 20);
  assert.equal(op.add("a", 12, 1, 5, out), false);
});

Deno.test("WindowOperator keeps window state until the watermark passes maxTimestamp + allowed lateness", () => {
  const op = new WindowOperator({
    assigner: tumbling({ size_ms: 10 }),
    aggregate: count,
    allowed_lateness_ms: 5,
  });
  const out: WindowResult<number>[] = [];
  op.add("a", 1, 1, NO_WATERMARK, out);
  op.advance(13, out);
  assert.equal(op.size(), 1);
  op.advance(14, out);
  assert.equal(op.size(), 0);
  assert.equal(out.length, 1);
});

Deno.test("WindowOperator fires session windows with one end in order of start before key", () => {
  const op = new WindowOperator({
    assigner: session({ gap_ms: 10 }),
    aggregate: count,
  });
  const out: WindowResult<number>[] = [];
  op.add("b", 3, 1, NO_WATERMARK, out);
  op.add("b", 5, 1, NO_WATERMARK, out);
  op.add("a", 5, 1, NO_WATERMARK, out);
  op.advance(14, out);
  assert.deepEqual(out.map(show), ["b[3,15)=2", "a[5,15)=1"]);
});

Deno.test("WindowOperator snapshots are JSON text that round-trips exactly", () => {
  const op = new WindowOperator({
    assigner: session({ gap_ms: 10 }),
    aggregate: count,
  });
  const out: WindowResult<number>[] = [];
  op.add("b", 5, 1, NO_WATERMARK, out);
  op.add("a", 1, 1, NO_WATERMARK, out);
  op.add("a", 30, 1, NO_WATERMARK, out);
  const text = JSON.stringify(op.snapshot());
  assert.deepEqual(JSON.parse(text), {
    kind: "entries",
    watermark: "-Infinity",
    windows: [
      { key: "a", start: 1, end: 11, acc: 1, emitted: false, pending: true },
      { key: "a", start: 30, end: 40, acc: 1, emitted: false, pending: true },
      { key: "b", start: 5, end: 15, acc: 1, emitted: false, pending: true },
    ],
  });
  const copy = new WindowOperator({
    assigner: session({ gap_ms: 10 }),
    aggregate: count,
  });
  copy.restore(JSON.parse(text));
  assert.equal(JSON.stringify(copy.snapshot()), text);
});

Deno.test("WindowOperator rejects a negative allowed lateness with the rule and the value", () => {
  assert.throws(
    () =>
      new WindowOperator({
        assigner: tumbling({ size_ms: 10 }),
        aggregate: count,
        allowed_lateness_ms: -5,
      }),
    /'allowed_lateness_ms' must be a non-negative duration.*current value is -5/,
  );
});

// ---------------------------------------------------------------------------
// Properties

interface Input {
  events: Array<{ key: string; ts: number }>;
  /** watermark raise before each event (cumulative; 0 = unchanged) */
  raises: number[];
}

const inputArb: fc.Arbitrary<Input> = fc
  .array(
    fc.record({
      key: fc.constantFrom("a", "b", "c"),
      ts: fc.integer({ min: -20, max: 120 }),
      raise: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 15 })),
    }),
    { maxLength: 60 },
  )
  .map((items) => ({
    events: items.map(({ key, ts }) => ({ key, ts })),
    raises: items.map(({ raise }) => raise),
  }));

const alignedArb = fc.oneof(
  fc.integer({ min: 1, max: 30 }).chain((size_ms) =>
    fc.integer({ min: -(size_ms - 1), max: size_ms - 1 }).map((offset_ms) =>
      tumbling({ size_ms, offset_ms })
    )
  ),
  fc.integer({ min: 1, max: 10 }).chain((slide_ms) =>
    fc.record({
      factor: fc.integer({ min: 1, max: 4 }),
      extra: fc.integer({ min: 0, max: slide_ms - 1 }),
      offset_ms: fc.integer({ min: -(slide_ms - 1), max: slide_ms - 1 }),
    }).map(({ factor, extra, offset_ms }) =>
      sliding({ size_ms: slide_ms * factor + extra, slide_ms, offset_ms })
    )
  ),
);

const anyAssignerArb = fc.oneof(
  alignedArb,
  fc.integer({ min: 1, max: 30 }).map((gap_ms) => session({ gap_ms })),
);

/** Feeds the input; the watermark rises by `raises[i]` before event i (from -10), then Infinity. */
function feed(
  op: WindowOperator<number, number, number>,
  input: Input,
  from = 0,
  to = input.events.length,
  out: WindowResult<number>[] = [],
  accepted: boolean[] = [],
): { out: WindowResult<number>[]; accepted: boolean[] } {
  let watermark = -10 + input.raises.slice(0, from).reduce((a, b) => a + b, 0);
  for (let i = from; i < to; i++) {
    watermark += input.raises[i] as number;
    op.advance(watermark, out);
    const e = input.events[i] as { key: string; ts: number };
    accepted.push(op.add(e.key, e.ts, 1, watermark, out));
  }
  if (to === input.events.length) op.advance(Infinity, out);
  return { out, accepted };
}

const windowId = (key: string, w: TimeWindow) => `${key}[${w.start},${w.end})`;

Deno.test("WindowOperator counts tumbling and sliding windows exactly as a brute-force model", () => {
  fc.assert(
    fc.property(
      alignedArb,
      fc.integer({ min: 0, max: 20 }),
      inputArb,
      (assigner, lateness_ms, input) => {
        const op = new WindowOperator({
          assigner,
          aggregate: count,
          allowed_lateness_ms: lateness_ms,
        });
        const { out, accepted } = feed(op, input);

        // Model: an event counts in each of its windows unless that window is
        // late; each late-but-allowed event re-fires its window, and every
        // window with an on-time event fires once more when the watermark
        // passes it.
        const model = new Map<
          string,
          { count: number; firings: number; on_time: boolean }
        >();
        const model_accepted: boolean[] = [];
        let watermark = -10;
        input.events.forEach((e, i) => {
          watermark += input.raises[i] as number;
          let any = false;
          for (const w of assigner.assign(e.ts)) {
            if (w.end - 1 + lateness_ms <= watermark) continue;
            any = true;
            const id = windowId(e.key, w);
            const m = model.get(id) ?? { count: 0, firings: 0, on_time: false };
            m.count++;
            if (w.end - 1 <= watermark) m.firings++;
            else m.on_time = true;
            model.set(id, m);
          }
          model_accepted.push(any);
        });
        assert.deepEqual(accepted, model_accepted);

        const seen = new Map<string, { last: number; firings: number }>();
        for (const r of out) {
          const id = windowId(r.key, r.window);
          const s = seen.get(id) ?? { last: 0, firings: 0 };
          assert.equal(r.update, s.firings > 0, `update flag of ${id}`);
          s.last = r.value;
          s.firings++;
          seen.set(id, s);
        }
        assert.deepEqual(
          [...seen.keys()].sort(),
          [...model.keys()].sort(),
        );
        for (const [id, m] of model) {
          const s = seen.get(id);
          assert.equal(s?.last, m.count, `final count of ${id}`);
          assert.equal(
            s?.firings,
            m.firings + (m.on_time ? 1 : 0),
            `firings of ${id}`,
          );
        }
        assert.equal(op.size(), 0);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("WindowOperator emits windows in order of end, then start, then key", () => {
  fc.assert(
    fc.property(anyAssignerArb, inputArb, (assigner, input) => {
      const op = new WindowOperator({ assigner, aggregate: count });
      const out: WindowResult<number>[] = [];
      for (const e of input.events) op.add(e.key, e.ts, 1, NO_WATERMARK, out);
      op.advance(Infinity, out);
      for (let i = 1; i < out.length; i++) {
        const a = out[i - 1] as WindowResult<number>;
        const b = out[i] as WindowResult<number>;
        const order = a.window.end - b.window.end ||
          a.window.start - b.window.start ||
          (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
        assert.ok(
          order < 0,
          `${windowId(a.key, a.window)} before ${windowId(b.key, b.window)}`,
        );
      }
    }),
    { numRuns: 200 },
  );
});

Deno.test("WindowOperator sessions without late data equal merging every event's [t, t + gap)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 30 }), inputArb, (gap_ms, input) => {
      const op = new WindowOperator({
        assigner: session({ gap_ms }),
        aggregate: count,
      });
      const out: WindowResult<number>[] = [];
      for (const e of input.events) op.add(e.key, e.ts, 1, NO_WATERMARK, out);
      op.advance(Infinity, out);
      const expected: string[] = [];
      for (const key of ["a", "b", "c"]) {
        const windows = input.events.filter((e) => e.key === key).map((e) => ({
          start: e.ts,
          end: e.ts + gap_ms,
        }));
        for (const m of mergeSessions(windows)) {
          expected.push(`${windowId(key, m.window)}=${m.members.length}`);
        }
      }
      assert.deepEqual(
        out.map((r) => `${windowId(r.key, r.window)}=${r.value}`).sort(),
        expected.sort(),
      );
      assert.ok(out.every((r) => !r.update));
    }),
    { numRuns: 300 },
  );
});

Deno.test("WindowOperator restored from a snapshot at a random point behaves as if never interrupted", () => {
  fc.assert(
    fc.property(
      anyAssignerArb,
      fc.integer({ min: 0, max: 20 }),
      inputArb,
      fc.nat(),
      (assigner, lateness_ms, input, cut_seed) => {
        const make = () =>
          new WindowOperator({
            assigner,
            aggregate: count,
            allowed_lateness_ms: lateness_ms,
          });
        const plain = feed(make(), input);
        const cut = input.events.length === 0
          ? 0
          : cut_seed % (input.events.length + 1);
        const first = make();
        const partial = feed(first, input, 0, cut);
        const second = make();
        second.restore(JSON.parse(JSON.stringify(first.snapshot())));
        const rest = feed(
          second,
          input,
          cut,
          input.events.length,
          partial.out,
          partial.accepted,
        );
        assert.deepEqual(rest.out, plain.out);
        assert.deepEqual(rest.accepted, plain.accepted);
      },
    ),
    { numRuns: 300 },
  );
});
