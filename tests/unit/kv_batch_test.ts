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
      case "zremrangebyscore":
        batch.zremrangebyscore(op.key, op.min, op.max);
        break;
    }
  }
  return batch;
}

const key = fc.constantFrom("a", "b", "c");
const member = fc.constantFrom("x", "y");
const small = fc.integer({ min: -3, max: 3 });
const bound = fc.oneof(
  small,
  fc.constantFrom(-Infinity, Infinity, 0.5),
);
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
  fc.record({
    op: fc.constant("zremrangebyscore" as const),
    key,
    min: bound,
    max: bound,
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

// Sorted sets only, where removals meet adds, increments and TTLs often.
const zsetKey = fc.constantFrom("a", "b");
const zsetOp: fc.Arbitrary<KvOp> = fc.oneof(
  fc.record({
    op: fc.constant("zadd" as const),
    key: zsetKey,
    member,
    score: small,
  }),
  fc.record({
    op: fc.constant("zincrby" as const),
    key: zsetKey,
    member,
    by: small,
  }),
  fc.record({
    op: fc.constant("zremrangebyscore" as const),
    key: zsetKey,
    min: bound,
    max: bound,
  }),
  fc.record({
    op: fc.constant("pexpire" as const),
    key: zsetKey,
    ms: fc.constantFrom(1_000, 5_000),
  }),
  fc.record({ op: fc.constant("del" as const), key: zsetKey }),
);

Deno.test("KvBatch's combined writes to sorted sets leave the store as the commands one by one would", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(zsetOp, { maxLength: 8 }),
      fc.array(zsetOp, { maxLength: 12 }),
      async (seed, ops) => {
        const direct = await stateAfter(seed, ops);
        const combined = await stateAfter(seed, toBatch(ops).ops());
        assert.deepEqual(combined, direct);
      },
    ),
    { numRuns: 3_000 },
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

Deno.test("KvBatch keeps a sorted set trimmed as it grows to one removal and one zadd per member", () => {
  const batch = new KvBatch();
  const ttl = 86_400_000;
  for (let end = 100_000; end <= 150_000; end += 10_000) {
    batch.zadd("windows", `start-${end}`, end);
    batch.pexpire("windows", ttl);
    batch.zremrangebyscore("windows", -Infinity, end - ttl - 1);
  }
  assert.deepEqual(batch.ops(), [
    {
      op: "zremrangebyscore",
      key: "windows",
      min: -Infinity,
      max: 150_000 - ttl - 1,
    },
    ...[100_000, 110_000, 120_000, 130_000, 140_000, 150_000].map((end) => ({
      op: "zadd" as const,
      key: "windows",
      member: `start-${end}`,
      score: end,
    })),
    { op: "pexpire", key: "windows", ms: ttl },
  ]);
});

Deno.test("KvBatch keeps a removal in place when it could remove what the batch wrote or lose a TTL", () => {
  const inRange = new KvBatch();
  inRange.zadd("z", "a", 5);
  inRange.zremrangebyscore("z", 0, 10);
  inRange.zadd("z", "b", 20);
  assert.deepEqual(inRange.ops(), [
    { op: "zadd", key: "z", member: "a", score: 5 },
    { op: "zremrangebyscore", key: "z", min: 0, max: 10 },
    { op: "zadd", key: "z", member: "b", score: 20 },
  ]);
  // The increment's result depends on the stored score.
  const increment = new KvBatch();
  increment.zincrby("z", "a", 1);
  increment.zremrangebyscore("z", 0, 10);
  assert.equal(increment.ops().length, 2);
  assert.equal(increment.ops()[1]!.op, "zremrangebyscore");
  // Moved first, the removal could empty the set and drop its TTL.
  for (const lead of [false, true]) {
    const ttl = new KvBatch();
    if (lead) ttl.pexpire("z", 1_000);
    ttl.zadd("z", "a", 50);
    ttl.zremrangebyscore("z", 0, 10);
    assert.deepEqual(ttl.ops().map((op) => op.op), [
      ...(lead ? ["pexpire"] : []),
      "zadd",
      "zremrangebyscore",
    ]);
  }
  // After a del the set holds only the batch's members: nothing to remove.
  const deleted = new KvBatch();
  deleted.del("z");
  deleted.zadd("z", "a", 50);
  deleted.zremrangebyscore("z", 0, 10);
  assert.deepEqual(deleted.ops().map((op) => op.op), ["del", "zadd"]);
});
