import assert from "node:assert/strict";
import fc from "fast-check";
import { SpaceSaving } from "../../src/flow/space_saving.ts";

/** Streams skewed enough to have heavy hitters, over a small alphabet. */
const streams = fc.array(
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom("a", "b") },
    { weight: 2, arbitrary: fc.stringMatching(/^[c-z]$/) },
  ),
  { maxLength: 300 },
);

function trueCounts(stream: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const member of stream) {
    counts.set(member, (counts.get(member) ?? 0) + 1);
  }
  return counts;
}

Deno.test("SpaceSaving refuses a capacity that is not a positive integer", () => {
  for (const capacity of [0, -1, 1.5, Number.NaN]) {
    assert.throws(
      () => new SpaceSaving(capacity),
      {
        name: "RangeError",
        message:
          `Cannot build sketch as 'capacity' must be a positive integer: current value is ${capacity}`,
      },
    );
  }
});

Deno.test("SpaceSaving counts exactly while it holds fewer members than its capacity", () => {
  const sketch = new SpaceSaving(3);
  for (const member of ["a", "b", "a", "c", "a", "b"]) sketch.add(member);
  assert.deepEqual(sketch.estimate("a"), { count: 3, error: 0 });
  assert.deepEqual(sketch.estimate("b"), { count: 2, error: 0 });
  assert.deepEqual(sketch.estimate("c"), { count: 1, error: 0 });
  assert.equal(sketch.estimate("d"), undefined);
  assert.deepEqual(sketch.top(2), [
    { member: "a", count: 3 },
    { member: "b", count: 2 },
  ]);
});

Deno.test("SpaceSaving evicts the smallest counter, the largest member among equals, and inherits its count as error", () => {
  const sketch = new SpaceSaving(2);
  sketch.add("a");
  sketch.add("b");
  // "a" and "b" tie at 1: the larger member ("b") goes first.
  sketch.add("c");
  assert.equal(sketch.estimate("b"), undefined);
  assert.deepEqual(sketch.estimate("c"), { count: 2, error: 1 });
  assert.deepEqual(sketch.estimate("a"), { count: 1, error: 0 });
  sketch.add("d", 5);
  assert.equal(sketch.estimate("a"), undefined);
  assert.deepEqual(sketch.estimate("d"), { count: 6, error: 1 });
});

Deno.test("SpaceSaving tracks every member above total/capacity and brackets its true count", () => {
  fc.assert(
    fc.property(streams, fc.integer({ min: 1, max: 8 }), (stream, capacity) => {
      const sketch = new SpaceSaving(capacity);
      for (const member of stream) sketch.add(member);
      const counts = trueCounts(stream);
      for (const [member, n] of counts) {
        const estimate = sketch.estimate(member);
        if (n > stream.length / capacity) {
          assert.ok(
            estimate !== undefined,
            `'${member}' (${n} of ${stream.length}) must be tracked with capacity ${capacity}`,
          );
        }
        if (estimate !== undefined) {
          assert.ok(estimate.count - estimate.error <= n, `${member} lower`);
          assert.ok(n <= estimate.count, `${member} upper`);
        }
      }
      // The counters always sum to the stream's length.
      const tracked = sketch.snapshot();
      assert.ok(tracked.length <= capacity);
      assert.equal(
        tracked.reduce((sum, [, count]) => sum + count, 0),
        stream.length,
      );
    }),
  );
});

Deno.test("SpaceSaving with weighted adds keeps the same guarantees", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(
          fc.constantFrom("a", "b", "c", "d", "e"),
          fc.integer({ min: 1, max: 5 }),
        ),
        { maxLength: 60 },
      ),
      fc.integer({ min: 1, max: 4 }),
      (adds, capacity) => {
        const sketch = new SpaceSaving(capacity);
        const counts = new Map<string, number>();
        let total = 0;
        for (const [member, n] of adds) {
          sketch.add(member, n);
          counts.set(member, (counts.get(member) ?? 0) + n);
          total += n;
        }
        for (const [member, n] of counts) {
          const estimate = sketch.estimate(member);
          if (n > total / capacity) assert.ok(estimate !== undefined, member);
          if (estimate !== undefined) {
            assert.ok(estimate.count - estimate.error <= n);
            assert.ok(n <= estimate.count);
          }
        }
      },
    ),
  );
});

Deno.test("SpaceSaving resumed from a JSON snapshot behaves as the sketch that took it", () => {
  fc.assert(
    fc.property(
      streams,
      fc.nat(),
      fc.integer({ min: 1, max: 6 }),
      (stream, cut, capacity) => {
        const at = stream.length === 0 ? 0 : cut % (stream.length + 1);
        const whole = new SpaceSaving(capacity);
        const first = new SpaceSaving(capacity);
        for (const member of stream.slice(0, at)) {
          whole.add(member);
          first.add(member);
        }
        const resumed = new SpaceSaving(capacity);
        resumed.restore(JSON.parse(JSON.stringify(first.snapshot())));
        for (const member of stream.slice(at)) {
          whole.add(member);
          resumed.add(member);
        }
        assert.deepEqual(resumed.snapshot(), whole.snapshot());
        assert.deepEqual(resumed.top(capacity), whole.top(capacity));
        for (const member of new Set(stream)) {
          assert.deepEqual(resumed.estimate(member), whole.estimate(member));
        }
      },
    ),
  );
});
