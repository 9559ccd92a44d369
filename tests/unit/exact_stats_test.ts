import assert from "node:assert/strict";
import fc from "fast-check";
import {
  addPartial,
  exactStats,
  exactSum,
} from "../../src/flow/exact_stats.ts";

/** The double nearest to the exact sum of `values`, all multiples of 2^-60. */
function referenceSum(values: readonly number[]): number {
  const scale = 2n ** 60n;
  let total = 0n;
  for (const v of values) total += BigInt(v * 2 ** 60);
  // Number(bigint) rounds to nearest, ties to even; dividing by a power of
  // two is exact in this range.
  return Number(total) / Number(scale);
}

function sumOf(values: readonly number[]): number {
  const partials: number[] = [];
  for (const v of values) addPartial(partials, v);
  return exactSum(partials);
}

/** Doubles n × 2^-k: their exact sums are integers once scaled by 2^60. */
const dyadic = fc
  .record({
    n: fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }),
    k: fc.integer({ min: 0, max: 60 }),
  })
  .map(({ n, k }) => n * 2 ** -k);

Deno.test("exactSum() answers the double nearest to the exact sum of the values", () => {
  fc.assert(
    fc.property(fc.array(dyadic, { maxLength: 40 }), (values) => {
      assert.equal(sumOf(values), referenceSum(values));
    }),
    { numRuns: 3_000 },
  );
  // Where a running sum of doubles is off in the last bit.
  assert.equal(sumOf([0.1, 0.2, 0.3]), 0.6);
  assert.equal(0.1 + 0.2 + 0.3, 0.6000000000000001);
  assert.equal(sumOf([1e16, 1, -1e16]), 1);
  assert.equal(sumOf([]), 0);
  const agg = exactStats((v: number) => v);
  assert.ok(Object.is(agg.result(agg.add(agg.create(), -0)).min, 0));
});

Deno.test("exactSum() rounds a tie to even across partials", () => {
  // 2^53 + 1 lies halfway between two doubles; the tiny part decides.
  assert.equal(sumOf([2 ** 53, 1, 2 ** -60]), 2 ** 53 + 2);
  assert.equal(sumOf([2 ** 53, 1, -(2 ** -60)]), 2 ** 53);
  assert.equal(sumOf([2 ** 53, 1]), 2 ** 53);
  assert.equal(sumOf([2 ** 53, 3]), 2 ** 53 + 4);
});

Deno.test("exactStats() gives the same statistics whatever the order of adds and merges", () => {
  const agg = exactStats((v: number) => v);
  fc.assert(
    fc.property(
      fc.array(fc.double({ min: -1e12, max: 1e12, noNaN: true }), {
        minLength: 1,
        maxLength: 30,
      }),
      fc.nat(),
      fc.nat(),
      (values, seed, cut) => {
        let one = agg.create();
        for (const v of values) one = agg.add(one, v);
        // Another order, in two accumulators merged, through a snapshot.
        const shuffled = [...values].sort((a, b) =>
          ((a * 7919 + seed) % 13) - ((b * 7919 + seed) % 13)
        );
        const at = cut % (shuffled.length + 1);
        let left = agg.create();
        let right = agg.create();
        for (const v of shuffled.slice(0, at)) left = agg.add(left, v);
        for (const v of shuffled.slice(at)) right = agg.add(right, v);
        const restored = agg.decode(
          JSON.parse(JSON.stringify(agg.encode(right))),
        );
        const two = agg.merge(left, restored);
        assert.deepEqual(agg.result(two), agg.result(one));
        assert.deepEqual(agg.result(one), {
          count: values.length,
          sum: agg.result(one).sum,
          // -0 counts as 0 (see exactStats).
          min: Math.min(...values) + 0,
          max: Math.max(...values) + 0,
        });
      },
    ),
    { numRuns: 2_000 },
  );
});

Deno.test("exactStats() leaves the merged accumulator untouched and starts empty", () => {
  const agg = exactStats((v: number) => v);
  assert.deepEqual(agg.result(agg.create()), {
    count: 0,
    sum: 0,
    min: null,
    max: null,
  });
  const a = agg.add(agg.create(), 0.1);
  const b = agg.add(agg.add(agg.create(), 0.2), -7);
  const before = JSON.stringify(b);
  assert.deepEqual(agg.result(agg.merge(a, b)), {
    count: 3,
    sum: 0.1 + 0.2 - 7,
    min: -7,
    max: 0.2,
  });
  assert.equal(JSON.stringify(b), before);
});
