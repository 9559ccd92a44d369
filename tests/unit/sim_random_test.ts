import assert from "node:assert/strict";
import fc from "fast-check";
import { Rng } from "../../sim/random.ts";

function draws(rng: Rng, n: number): number[] {
  return Array.from({ length: n }, () => rng.next());
}

Deno.test("Rng gives the same sequence for the same seed", () => {
  assert.deepEqual(draws(new Rng("seed-1"), 50), draws(new Rng("seed-1"), 50));
  assert.deepEqual(draws(new Rng(42), 10), draws(new Rng("42"), 10));
});

Deno.test("Rng gives different sequences for different seeds", () => {
  assert.notDeepEqual(draws(new Rng("a"), 10), draws(new Rng("b"), 10));
  assert.notDeepEqual(draws(new Rng(1), 10), draws(new Rng(2), 10));
});

Deno.test("Rng.next() stays in [0, 1) and int() in [0, max)", () => {
  fc.assert(
    fc.property(fc.string(), fc.integer({ min: 1, max: 1000 }), (seed, max) => {
      const rng = new Rng(seed);
      for (let i = 0; i < 20; i++) {
        const x = rng.next();
        assert.ok(x >= 0 && x < 1, `next() = ${x}`);
        const n = rng.int(max);
        assert.ok(
          Number.isInteger(n) && n >= 0 && n < max,
          `int(${max}) = ${n}`,
        );
      }
    }),
  );
});

Deno.test("Rng.int() covers every value roughly uniformly", () => {
  const rng = new Rng("uniform");
  const counts = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  for (let i = 0; i < 10_000; i++) counts[rng.int(10)]!++;
  for (const count of counts) {
    assert.ok(count > 850 && count < 1150, `${counts}`);
  }
});

Deno.test("Rng.int() rejects a non-positive or fractional bound", () => {
  const rng = new Rng(1);
  assert.throws(() => rng.int(0), /'maxExclusive' must be an integer/);
  assert.throws(() => rng.int(2.5), /current value is 2.5/);
});

Deno.test("Rng.pick() returns an element and rejects an empty array", () => {
  const rng = new Rng(3);
  const xs = ["a", "b", "c"] as const;
  for (let i = 0; i < 20; i++) assert.ok(xs.includes(rng.pick(xs)));
  assert.throws(() => rng.pick([]), /must not be empty/);
});

Deno.test("Rng.chance() honours its bounds and its probability", () => {
  const rng = new Rng(4);
  let hits = 0;
  for (let i = 0; i < 10_000; i++) {
    assert.equal(rng.chance(0), false);
    assert.equal(rng.chance(1), true);
    if (rng.chance(0.3)) hits++;
  }
  assert.ok(hits > 2700 && hits < 3300, `hits = ${hits}`);
});

Deno.test("Rng.fork() gives a stream independent of draws made before it", () => {
  const a = new Rng("root");
  const b = new Rng("root");
  draws(b, 7);
  assert.deepEqual(draws(a.fork("faults"), 10), draws(b.fork("faults"), 10));
  assert.notDeepEqual(
    draws(a.fork("faults"), 10),
    draws(a.fork("network"), 10),
  );
  assert.notDeepEqual(draws(a.fork("faults"), 10), draws(new Rng("root"), 10));
});
