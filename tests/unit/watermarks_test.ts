import assert from "node:assert/strict";
import fc from "fast-check";
import {
  BoundedOutOfOrderness,
  END_OF_INPUT,
  NO_WATERMARK,
  WatermarkMerger,
} from "../../src/core/watermarks.ts";

Deno.test("BoundedOutOfOrderness is -Infinity before any event", () => {
  assert.equal(
    new BoundedOutOfOrderness({ bound_ms: 100 }).current(),
    NO_WATERMARK,
  );
  assert.equal(NO_WATERMARK, -Infinity);
  assert.equal(END_OF_INPUT, Infinity);
});

Deno.test("BoundedOutOfOrderness keeps an event exactly bound behind the maximum on time", () => {
  const gen = new BoundedOutOfOrderness({ bound_ms: 600_000 });
  gen.observe(1_000_000);
  assert.equal(gen.current(), 1_000_000 - 600_000 - 1);
  // An event at max - bound is on time: the watermark is strictly below it.
  assert.ok(1_000_000 - 600_000 > gen.current());
  // One more millisecond behind is at the watermark: late for a window ending there.
  assert.ok(1_000_000 - 600_000 - 1 <= gen.current());
});

Deno.test("BoundedOutOfOrderness follows the largest timestamp and never goes backwards", () => {
  fc.assert(
    fc.property(
      fc.nat(50),
      fc.array(fc.integer({ min: 0, max: 1e9 }), { minLength: 1 }),
      (bound_ms, ts) => {
        const gen = new BoundedOutOfOrderness({ bound_ms });
        let last = gen.current();
        for (const t of ts) {
          gen.observe(t);
          assert.ok(gen.current() >= last);
          last = gen.current();
        }
        assert.equal(gen.current(), Math.max(...ts) - bound_ms - 1);
      },
    ),
  );
});

Deno.test("BoundedOutOfOrderness restores from a JSON snapshot", () => {
  const gen = new BoundedOutOfOrderness({ bound_ms: 5 });
  const empty = JSON.parse(JSON.stringify(gen.snapshot()));
  assert.deepEqual(empty, { max_timestamp: null });
  assert.equal(
    BoundedOutOfOrderness.restore(empty, { bound_ms: 5 }).current(),
    NO_WATERMARK,
  );
  gen.observe(100);
  const copy = BoundedOutOfOrderness.restore(
    JSON.parse(JSON.stringify(gen.snapshot())),
    { bound_ms: 5 },
  );
  assert.equal(copy.current(), 94);
  assert.throws(
    () => copy.restore({ max_timestamp: "soon" }),
    /'max_timestamp' must be a finite number or null/,
  );
  assert.throws(
    () => new BoundedOutOfOrderness({ bound_ms: -1 }),
    /'bound_ms' must be a non-negative duration in whole milliseconds: current value is -1/,
  );
});

Deno.test("WatermarkMerger is the minimum over active inputs", () => {
  const m = new WatermarkMerger({ idle_timeout_ms: 1000 });
  assert.equal(m.current(0), NO_WATERMARK);
  m.update("p0", 50, 0);
  m.update("p1", 20, 0);
  assert.equal(m.current(10), 20);
  m.update("p1", 80, 20);
  assert.equal(m.current(20), 50);
});

Deno.test("WatermarkMerger stops waiting for an input idle for idle_timeout_ms", () => {
  const m = new WatermarkMerger({ idle_timeout_ms: 100 });
  m.update("p0", NO_WATERMARK, 0);
  m.update("p1", NO_WATERMARK, 0);
  m.update("p0", 40, 50);
  assert.equal(m.current(99), NO_WATERMARK);
  assert.equal(m.isIdle("p1", 99), false);
  assert.equal(m.current(100), 40);
  assert.equal(m.isIdle("p1", 100), true);
});

Deno.test("WatermarkMerger does not go backwards when an idle input returns behind it", () => {
  const m = new WatermarkMerger({ idle_timeout_ms: 100 });
  m.update("p0", 10, 0);
  m.update("p1", 10, 0);
  m.update("p0", 500, 150);
  assert.equal(m.current(150), 500);
  // p1 returns far behind: it neither pulls the watermark back nor holds it
  // until it catches up (Flink marks it unaligned)
  m.update("p1", 30, 160);
  assert.equal(m.current(160), 500);
  m.update("p0", 900, 170);
  assert.equal(m.current(170), 900);
  // caught up: it holds the watermark again
  m.update("p1", 950, 180);
  m.update("p0", 1200, 190);
  assert.equal(m.current(190), 950);
});

Deno.test("WatermarkMerger advances to the maximum when every input is idle", () => {
  const m = new WatermarkMerger({ idle_timeout_ms: 100 });
  m.update("p0", 10, 0);
  m.update("p1", 70, 0);
  assert.equal(m.current(50), 10);
  assert.equal(m.current(100), 70);
  // activity resumes behind the flushed watermark: no going back
  m.update("p0", 20, 200);
  assert.equal(m.current(200), 70);
});

Deno.test("WatermarkMerger never idles inputs with idle_timeout_ms Infinity", () => {
  const m = new WatermarkMerger({ idle_timeout_ms: Infinity });
  m.update("p0", 10, 0);
  m.update("p1", 70, 0);
  assert.equal(m.current(1e12), 10);
  assert.throws(
    () => new WatermarkMerger({ idle_timeout_ms: 0 }),
    /'idle_timeout_ms' must be a positive duration in whole milliseconds: current value is 0/,
  );
});

Deno.test("WatermarkMerger forgets a removed input", () => {
  const m = new WatermarkMerger({ idle_timeout_ms: 100 });
  m.update("p0", 10, 0);
  m.update("p1", 70, 0);
  m.remove("p0");
  assert.equal(m.current(1), 70);
});

Deno.test("WatermarkMerger restores watermarks from JSON and restarts idleness from the next call", () => {
  const m = new WatermarkMerger({ idle_timeout_ms: 100 });
  m.update("p1", NO_WATERMARK, 0);
  m.update("p0", 40, 0);
  m.update("p0", 60, 150);
  assert.equal(m.current(150), 60);
  const text = JSON.stringify(m.snapshot());
  assert.deepEqual(JSON.parse(text), {
    watermark: 60,
    inputs: [{ input: "p0", watermark: 60 }, {
      input: "p1",
      watermark: "-Infinity",
    }],
  });
  const copy = new WatermarkMerger({ idle_timeout_ms: 100 });
  copy.restore(JSON.parse(text));
  copy.update("p0", 80, 10_000);
  // p1 counts as active again after the restore but cannot pull the watermark back
  assert.equal(copy.current(10_000), 60);
  assert.equal(copy.current(10_099), 60);
  assert.equal(copy.current(10_100), 80);
});

Deno.test("WatermarkMerger output is monotonic and never above the maximum input", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          input: fc.constantFrom("p0", "p1", "p2"),
          wm: fc.integer({ min: 0, max: 1000 }),
          dt: fc.nat(80),
        }),
      ),
      (updates) => {
        const m = new WatermarkMerger({ idle_timeout_ms: 100 });
        let now = 0;
        let last = m.current(now);
        let max = -Infinity;
        for (const u of updates) {
          now += u.dt;
          m.update(u.input, u.wm, now);
          max = Math.max(max, u.wm);
          const w = m.current(now);
          assert.ok(w >= last, `${w} >= ${last}`);
          assert.ok(w <= max);
          last = w;
        }
      },
    ),
  );
});
