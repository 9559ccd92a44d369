import assert from "node:assert/strict";
import fc from "fast-check";
import {
  intersects,
  maxTimestamp,
  mergeSessions,
  session,
  sliding,
  tumbling,
  windowStart,
} from "../../src/core/windows.ts";

Deno.test("tumbling() assigns an event on the boundary to the next window", () => {
  const w = tumbling({ size_ms: 10 });
  assert.deepEqual(w.assign(9), [{ start: 0, end: 10 }]);
  assert.deepEqual(w.assign(10), [{ start: 10, end: 20 }]);
  assert.equal(maxTimestamp({ start: 0, end: 10 }), 9);
});

Deno.test("tumbling() aligns to the epoch for negative timestamps too", () => {
  const w = tumbling({ size_ms: 10 });
  assert.deepEqual(w.assign(-1), [{ start: -10, end: 0 }]);
  assert.deepEqual(w.assign(-10), [{ start: -10, end: 0 }]);
  assert.deepEqual(w.assign(-11), [{ start: -20, end: -10 }]);
});

Deno.test("tumbling() shifts windows by the offset", () => {
  assert.deepEqual(tumbling({ size_ms: 10, offset_ms: 3 }).assign(2), [{
    start: -7,
    end: 3,
  }]);
  assert.deepEqual(tumbling({ size_ms: 10, offset_ms: -3 }).assign(7), [{
    start: 7,
    end: 17,
  }]);
  // one hour aligned to the epoch, as Flink's TumblingEventTimeWindows.of(Time.hours(1))
  const hour = 3_600_000;
  const ts = Date.UTC(2026, 2, 14, 15, 9, 26);
  assert.deepEqual(tumbling({ size_ms: hour }).assign(ts), [{
    start: Date.UTC(2026, 2, 14, 15),
    end: Date.UTC(2026, 2, 14, 16),
  }]);
});

Deno.test("tumbling() puts each timestamp in exactly one window with start <= t < end", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 10_000 }).chain((size_ms) =>
        fc.tuple(
          fc.constant(size_ms),
          fc.integer({ min: -(size_ms - 1), max: size_ms - 1 }),
          fc.integer({ min: -1e12, max: 1e12 }),
        )
      ),
      ([size_ms, offset_ms, t]) => {
        const windows = tumbling({ size_ms, offset_ms }).assign(t);
        assert.equal(windows.length, 1);
        const [w] = windows;
        assert.ok(w !== undefined && w.start <= t && t < w.end);
        assert.equal(w.end - w.start, size_ms);
        assert.equal(((w.start - offset_ms) % size_ms + size_ms) % size_ms, 0);
      },
    ),
  );
});

Deno.test("sliding() assigns every window containing the timestamp, ordered by start", () => {
  assert.deepEqual(sliding({ size_ms: 10, slide_ms: 5 }).assign(7), [
    { start: 0, end: 10 },
    { start: 5, end: 15 },
  ]);
  assert.deepEqual(sliding({ size_ms: 10, slide_ms: 5 }).assign(5), [
    { start: 0, end: 10 },
    { start: 5, end: 15 },
  ]);
  assert.deepEqual(sliding({ size_ms: 10, slide_ms: 5 }).assign(-1), [
    { start: -10, end: 0 },
    { start: -5, end: 5 },
  ]);
  assert.equal(
    sliding({ size_ms: 3_600_000, slide_ms: 60_000 }).assign(123_456_789)
      .length,
    60,
  );
});

Deno.test("sliding() windows are exactly the aligned windows that contain the timestamp", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 50 }).chain((slide_ms) =>
        fc.tuple(
          fc.constant(slide_ms),
          fc.integer({ min: slide_ms, max: 200 }),
          fc.integer({ min: -(slide_ms - 1), max: slide_ms - 1 }),
          fc.integer({ min: -10_000, max: 10_000 }),
        )
      ),
      ([slide_ms, size_ms, offset_ms, t]) => {
        const windows = sliding({ size_ms, slide_ms, offset_ms }).assign(t);
        const expected = [];
        for (let start = t - size_ms - slide_ms; start <= t; start++) {
          const aligned =
            ((start - offset_ms) % slide_ms + slide_ms) % slide_ms === 0;
          if (aligned && start <= t && t < start + size_ms) {
            expected.push({ start, end: start + size_ms });
          }
        }
        assert.deepEqual(windows, expected);
      },
    ),
  );
});

Deno.test("session() gives each timestamp the window [t, t + gap)", () => {
  const s = session({ gap_ms: 60_000 });
  assert.equal(s.merging, true);
  assert.deepEqual(s.assign(5), [{ start: 5, end: 60_005 }]);
});

Deno.test("mergeSessions() merges touching windows, so events exactly gap apart are one session", () => {
  assert.equal(intersects({ start: 0, end: 10 }, { start: 10, end: 20 }), true);
  assert.equal(
    intersects({ start: 0, end: 10 }, { start: 11, end: 21 }),
    false,
  );
  assert.deepEqual(
    mergeSessions([
      { start: 30, end: 40 },
      { start: 0, end: 10 },
      { start: 10, end: 20 },
      { start: 41, end: 51 },
      { start: 20, end: 30 },
    ]).map((m) => [m.window, m.members.length]),
    [[{ start: 0, end: 40 }, 4], [{ start: 41, end: 51 }, 1]],
  );
  assert.deepEqual(mergeSessions([]), []);
});

Deno.test("mergeSessions() leaves disjoint windows that cover every input", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          start: fc.integer({ min: -100, max: 100 }),
          len: fc.integer({ min: 1, max: 20 }),
        }),
      ),
      (items) => {
        const windows = items.map(({ start, len }) => ({
          start,
          end: start + len,
        }));
        const merged = mergeSessions(windows);
        for (let i = 1; i < merged.length; i++) {
          const prev = merged[i - 1]?.window;
          const next = merged[i]?.window;
          assert.ok(
            prev !== undefined && next !== undefined && prev.end < next.start,
          );
        }
        assert.equal(
          merged.reduce((n, m) => n + m.members.length, 0),
          windows.length,
        );
        for (const m of merged) {
          for (const w of m.members) {
            assert.ok(m.window.start <= w.start && w.end <= m.window.end);
          }
        }
      },
    ),
  );
});

Deno.test("windowStart() matches Flink's getWindowStartWithOffset", () => {
  assert.equal(windowStart(17, 0, 5), 15);
  assert.equal(windowStart(17, 3, 5), 13);
  assert.equal(windowStart(-17, 0, 5), -20);
  assert.equal(windowStart(-15, 0, 5), -15);
});

Deno.test("window assigners reject invalid options with the rule and the value", () => {
  assert.throws(
    () => tumbling({ size_ms: -5 }),
    /^RangeError: Cannot create tumbling windows as 'size_ms' must be a positive duration in whole milliseconds: current value is -5$/,
  );
  assert.throws(
    () => tumbling({ size_ms: 10, offset_ms: 10 }),
    /\|offset_ms\| < 'size_ms' \(10\): current value is 10/,
  );
  assert.throws(
    () => tumbling({ size_ms: 10, offset_ms: -10 }),
    /current value is -10/,
  );
  assert.throws(
    () => sliding({ size_ms: 10, slide_ms: 0 }),
    /'slide_ms' must be a positive duration/,
  );
  assert.throws(
    () => sliding({ size_ms: 10, slide_ms: 11 }),
    /'slide_ms' must not exceed 'size_ms' \(10\): current value is 11/,
  );
  assert.throws(
    () => sliding({ size_ms: 10, slide_ms: 5, offset_ms: 5 }),
    /\|offset_ms\| < 'slide_ms' \(5\)/,
  );
  assert.throws(
    () => session({ gap_ms: 0 }),
    /Cannot create session windows as 'gap_ms' must be a positive duration/,
  );
  assert.throws(() => session({ gap_ms: 1.5 }), /current value is 1.5/);
});
