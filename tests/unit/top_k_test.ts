import assert from "node:assert/strict";
import fc from "fast-check";
import { byRank, type Ranked, topK } from "../../src/flow/aggregates.ts";

/** The model: sort everything, keep the first k positive counts. */
function sortedTopK(counts: Array<[string, number]>, k: number): Ranked[] {
  return counts
    .filter(([, count]) => count > 0)
    .map(([member, count]) => ({ member, count }))
    .sort(byRank)
    .slice(0, Math.max(0, k));
}

Deno.test("topK ranks by count descending, then member ascending", () => {
  assert.deepEqual(
    topK([["b", 2], ["a", 1], ["c", 5], ["d", 2]], 10),
    [
      { member: "c", count: 5 },
      { member: "b", count: 2 },
      { member: "d", count: 2 },
      { member: "a", count: 1 },
    ],
  );
});

Deno.test("topK breaks a tie at the cut by member, whatever the input order", () => {
  const expected = [
    { member: "x", count: 9 },
    { member: "a", count: 3 },
  ];
  assert.deepEqual(topK([["x", 9], ["a", 3], ["b", 3], ["c", 3]], 2), expected);
  assert.deepEqual(topK([["c", 3], ["b", 3], ["a", 3], ["x", 9]], 2), expected);
  assert.deepEqual(topK([["b", 3], ["x", 9], ["c", 3], ["a", 3]], 2), expected);
});

Deno.test("topK answers nothing for k <= 0 and skips counts that are not positive", () => {
  assert.deepEqual(topK([["a", 1]], 0), []);
  assert.deepEqual(topK([["a", 1]], -3), []);
  assert.deepEqual(topK([["a", 0], ["b", -2], ["c", 1]], 5), [
    { member: "c", count: 1 },
  ]);
  assert.deepEqual(topK([], 3), []);
});

Deno.test("topK reads any iterable, such as a Map", () => {
  const counts = new Map([["a", 1], ["b", 4]]);
  assert.deepEqual(topK(counts, 1), [{ member: "b", count: 4 }]);
});

Deno.test("topK equals sorting everything and keeping the first k", () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(
        fc.tuple(
          fc.stringMatching(/^[a-e]{1,3}$/),
          fc.integer({ min: -2, max: 6 }),
        ),
        { selector: ([member]) => member, maxLength: 40 },
      ),
      fc.integer({ min: -1, max: 12 }),
      (counts, k) => {
        assert.deepEqual(topK(counts, k), sortedTopK(counts, k));
      },
    ),
  );
});
