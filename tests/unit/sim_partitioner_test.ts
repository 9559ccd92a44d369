import assert from "node:assert/strict";
import fc from "fast-check";
import { fnv1a32, partitionFor, roundRobin } from "../../sim/partitioner.ts";
import { Rng } from "../../sim/random.ts";

const utf8 = (s: string) => new TextEncoder().encode(s);

Deno.test("fnv1a32() matches the published FNV-1a test vectors", () => {
  assert.equal(fnv1a32(utf8("")), 0x811c9dc5);
  assert.equal(fnv1a32(utf8("a")), 0xe40c292c);
  assert.equal(fnv1a32(utf8("foobar")), 0xbf9cf968);
});

Deno.test("partitionFor() is the FNV-1a hash of the UTF-8 key modulo the partition count", () => {
  assert.equal(partitionFor("foobar", 7), 0xbf9cf968 % 7);
  assert.equal(partitionFor("é", 5), fnv1a32(new Uint8Array([0xc3, 0xa9])) % 5);
});

Deno.test("partitionFor() sends a key always to the same partition in range", () => {
  fc.assert(
    fc.property(fc.string(), fc.integer({ min: 1, max: 64 }), (key, n) => {
      const p = partitionFor(key, n);
      assert.ok(Number.isInteger(p) && p >= 0 && p < n);
      assert.equal(partitionFor(key, n), p);
    }),
  );
});

Deno.test("partitionFor() spreads a null key with the chooser it is given", () => {
  const rr = roundRobin();
  assert.deepEqual([0, 1, 2, 3, 4].map(() => partitionFor(null, 3, rr)), [
    0,
    1,
    2,
    0,
    1,
  ]);
  const a = new Rng(9);
  const b = new Rng(9);
  assert.equal(partitionFor(null, 10, a), partitionFor(null, 10, b));
  assert.throws(() => partitionFor(null, 3), /'choose' must be given/);
});

Deno.test("partitionFor() rejects a partition count that is not a positive integer", () => {
  assert.throws(() => partitionFor("k", 0), /current value is 0/);
  assert.throws(() => partitionFor("k", 1.5), /current value is 1.5/);
});
