import assert from "node:assert/strict";
import fc from "fast-check";
import type { KvOp } from "../../src/ports.ts";
import { KvBatch } from "../../src/sinks/kv_batch.ts";
import { VirtualClock } from "../../sim/clock.ts";
import { KvTwin } from "../../sim/kv.ts";

/** Applies ops to a fresh twin holding `seed`; answers its dump (TTL kept as present or not). */
async function stateAfter(seed: KvOp[], ops: KvOp[]) {
  const kv = new KvTwin({ clock: new VirtualClock(0) });
  await kv.apply(seed);
  let error: string | null = null;
  try {
    // One fenced batch, as the Redis sink writes it: all or nothing.
    const result = await kv.applyFenced({ key: "f", epoch: 1, offset: 1 }, ops);
    assert.equal(result, "applied");
  } catch (e) {
    error = (e as Error).name;
  }
  return {
    error,
    keys: kv.dump().filter((e) => e.key !== "f").map((
      { expire_at_ms, ...e },
    ) => ({
      ...e,
      ttl: expire_at_ms !== null,
    })),
  };
}

function toBatch(ops: KvOp[]): KvBatch {
  const batch = new KvBatch();
  for (const op of ops) {
    switch (op.op) {
      case "incrby":
        batch.incrby(op.key, op.by);
        break;
      case "zincrby":
        batch.zincrby(op.key, op.member, op.by);
        break;
      case "zadd":
        batch.zadd(op.key, op.member, op.score);
        break;
      case "set":
        batch.set(op.key, op.value);
        break;
      case "hset":
        batch.hset(op.key, op.field, op.value);
        break;
      case "del":
        batch.del(op.key);
        break;
      case "pexpire":
        batch.pexpire(op.key, op.ms);
        break;
    }
  }
  return batch;
}

const key = fc.constantFrom("a", "b", "c");
const member = fc.constantFrom("x", "y");
const small = fc.integer({ min: -3, max: 3 });
const op: fc.Arbitrary<KvOp> = fc.oneof(
  fc.record({ op: fc.constant("incrby" as const), key, by: small }),
  fc.record({
    op: fc.constant("zincrby" as const),
    key,
    member,
    by: small,
  }),
  fc.record({ op: fc.constant("zadd" as const), key, member, score: small }),
  fc.record({
    op: fc.constant("set" as const),
    key,
    value: fc.constantFrom("1", "v"),
  }),
  fc.record({
    op: fc.constant("hset" as const),
    key,
    field: member,
    value: fc.constantFrom("1", "2"),
  }),
  fc.record({ op: fc.constant("del" as const), key }),
  fc.record({
    op: fc.constant("pexpire" as const),
    key,
    ms: fc.constantFrom(-1, 0, 1_000, 5_000),
  }),
);

Deno.test("KvBatch's combined writes leave the store as the commands one by one would, and fail only when they would", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(op, { maxLength: 6 }),
      fc.array(op, { maxLength: 30 }),
      async (seed, ops) => {
        // The seed may itself be invalid: then start from nothing.
        const start = (await stateAfter([], seed)).error === null ? seed : [];
        const direct = await stateAfter(start, ops);
        const combined = await stateAfter(start, toBatch(ops).ops());
        // A batch whose every write goes through is combined exactly; one
        // with a type clash may lose it when a later `del` makes the
        // clashing write dead, never the other way round.
        if (direct.error === null) assert.deepEqual(combined, direct);
        if (combined.error !== null) assert.notEqual(direct.error, null);
      },
    ),
    { numRuns: 2_000 },
  );
});

Deno.test("KvBatch turns many increments of one key into one command", () => {
  const batch = new KvBatch();
  for (let i = 0; i < 100; i++) {
    batch.incrby("count", 1);
    batch.zincrby("top", `m${i % 3}`, 1);
    batch.pexpire("top", 60_000);
  }
  assert.deepEqual(batch.ops(), [
    { op: "incrby", key: "count", by: 100 },
    { op: "zincrby", key: "top", member: "m0", by: 34 },
    { op: "zincrby", key: "top", member: "m1", by: 33 },
    { op: "zincrby", key: "top", member: "m2", by: 33 },
    { op: "pexpire", key: "top", ms: 60_000 },
  ]);
  assert.equal(batch.commandsGiven(), 300);
});
