/**
 * The behaviour of a {@linkcode KeyValue} the jobs rely on, as Redis has it.
 * Run against the Redis twin (`twins_test.ts`) and the real Redis adapter.
 *
 * Agreed where Redis leaves a choice: `applyFenced` is all or nothing — a
 * batch containing an op that would fail (INCRBY on a non-integer) is
 * rejected with nothing written and the fence unmoved. The fence lives in a
 * hash at `fence.key` with fields `epoch` and `offset`.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { KeyValue } from "../../src/ports.ts";
import { type ContractOptions, testOptions, uniqueName } from "./options.ts";

/** A key-value store under test. */
export interface KvHarness {
  kv: KeyValue;
  /** Lets `ms` of the store's time pass (a real sleep against a real service). */
  advance(ms: number): Promise<void>;
  close(): Promise<void>;
}

/** Registers the key-value contract tests for the store that `open` returns. */
export function kvContract(
  name: string,
  open: () => Promise<KvHarness>,
  options: ContractOptions = {},
): void {
  const test = (
    title: string,
    body: (kv: KeyValue, h: KvHarness, p: string) => Promise<void>,
  ) =>
    Deno.test({
      name: `${name}: ${title}`,
      ...testOptions(options),
      fn: async () => {
        const harness = await open();
        try {
          await body(harness.kv, harness, `${uniqueName(name)}:`);
        } finally {
          await harness.close();
        }
      },
    });

  test(
    "incrby starts a missing key from 0 and adds in order",
    async (kv, _, p) => {
      assert.equal(await kv.get(`${p}n`), null);
      await kv.apply([
        { op: "incrby", key: `${p}n`, by: 5 },
        { op: "incrby", key: `${p}n`, by: -2 },
      ]);
      assert.equal(await kv.get(`${p}n`), "3");
    },
  );

  test(
    "incrby on a string that is not an integer fails and leaves it",
    async (kv, _, p) => {
      await kv.apply([{ op: "set", key: `${p}s`, value: "abc" }]);
      await assert.rejects(kv.apply([{ op: "incrby", key: `${p}s`, by: 1 }]));
      await kv.apply([{ op: "set", key: `${p}f`, value: "1.5" }]);
      await assert.rejects(kv.apply([{ op: "incrby", key: `${p}f`, by: 1 }]));
      assert.equal(await kv.get(`${p}s`), "abc");
      assert.equal(await kv.get(`${p}f`), "1.5");
    },
  );

  test(
    "zincrby adds float scores and zadd sets the score",
    async (kv, _, p) => {
      await kv.apply([
        { op: "zincrby", key: `${p}z`, member: "m", by: 1.5 },
        { op: "zincrby", key: `${p}z`, member: "m", by: 1.5 },
        { op: "zincrby", key: `${p}z`, member: "n", by: 0.25 },
        { op: "zadd", key: `${p}z`, member: "o", score: 10 },
        { op: "zadd", key: `${p}z`, member: "o", score: 2 },
      ]);
      assert.deepEqual(await kv.zrevrange(`${p}z`, 0, -1), [
        { member: "m", score: 3 },
        { member: "o", score: 2 },
        { member: "n", score: 0.25 },
      ]);
    },
  );

  test(
    "zrevrange orders by score descending, ties by member descending, with Redis ranks",
    async (kv, _, p) => {
      await kv.apply(
        ["a", "c", "b", "d"].map((member) => ({
          op: "zadd" as const,
          key: `${p}z`,
          member,
          score: member === "d" ? 2 : 1,
        })),
      );
      const members = async (start: number, stop: number) =>
        (await kv.zrevrange(`${p}z`, start, stop)).map((m) => m.member);
      assert.deepEqual(await members(0, -1), ["d", "c", "b", "a"]);
      assert.deepEqual(await members(1, 2), ["c", "b"]);
      assert.deepEqual(await members(-2, -1), ["b", "a"]);
      assert.deepEqual(await members(2, 100), ["b", "a"]);
      assert.deepEqual(await members(10, 20), []);
      assert.deepEqual(await kv.zrevrange(`${p}missing`, 0, -1), []);
    },
  );

  test(
    "zrange orders by score ascending, ties by member ascending, with Redis ranks",
    async (kv, _, p) => {
      await kv.apply(
        ["c", "a", "d", "b"].map((member) => ({
          op: "zadd" as const,
          key: `${p}z`,
          member,
          score: member === "a" ? 2 : 1.5,
        })),
      );
      assert.deepEqual(await kv.zrange(`${p}z`, 0, -1), [
        { member: "b", score: 1.5 },
        { member: "c", score: 1.5 },
        { member: "d", score: 1.5 },
        { member: "a", score: 2 },
      ]);
      const members = async (start: number, stop: number) =>
        (await kv.zrange(`${p}z`, start, stop)).map((m) => m.member);
      assert.deepEqual(await members(1, 2), ["c", "d"]);
      assert.deepEqual(await members(-2, -1), ["d", "a"]);
      assert.deepEqual(await members(-100, 0), ["b"]);
      assert.deepEqual(await members(3, 100), ["a"]);
      assert.deepEqual(await members(2, 1), []);
      assert.deepEqual(await members(10, 20), []);
      assert.deepEqual(await kv.zrange(`${p}missing`, 0, -1), []);
    },
  );

  test(
    "zrangeByScore answers members within inclusive bounds, infinities allowed",
    async (kv, _, p) => {
      const scores: Record<string, number> = {
        w1: 1_700_000_010_000,
        w2: 1_700_000_020_000,
        w3: 1_700_000_030_000,
        neg: -0.5,
        tie: 1_700_000_020_000,
      };
      await kv.apply(
        Object.entries(scores).map(([member, score]) => ({
          op: "zadd" as const,
          key: `${p}z`,
          member,
          score,
        })),
      );
      const members = async (min: number, max: number) =>
        (await kv.zrangeByScore(`${p}z`, min, max)).map((m) => m.member);
      assert.deepEqual(
        await kv.zrangeByScore(`${p}z`, 1_700_000_020_000, 1_700_000_030_000),
        [
          { member: "tie", score: 1_700_000_020_000 },
          { member: "w2", score: 1_700_000_020_000 },
          { member: "w3", score: 1_700_000_030_000 },
        ],
      );
      assert.deepEqual(await members(-Infinity, Infinity), [
        "neg",
        "w1",
        "tie",
        "w2",
        "w3",
      ]);
      assert.deepEqual(await members(-Infinity, 0), ["neg"]);
      assert.deepEqual(await members(1_700_000_020_001, Infinity), ["w3"]);
      assert.deepEqual(await members(1_700_000_010_001, 1_700_000_019_999), []);
      assert.deepEqual(await members(2, 1), []);
      assert.deepEqual(await kv.zrangeByScore(`${p}missing`, 0, 10), []);
    },
  );

  test(
    "zrange and zrangeByScore on a key that is not a sorted set fail",
    async (kv, _, p) => {
      await kv.apply([{ op: "set", key: `${p}s`, value: "v" }]);
      await assert.rejects(kv.zrange(`${p}s`, 0, -1), /WRONGTYPE/);
      await assert.rejects(kv.zrangeByScore(`${p}s`, 0, 1), /WRONGTYPE/);
    },
  );

  test(
    "set replaces the value, hset adds fields, hgetall of a missing key is empty",
    async (kv, _, p) => {
      await kv.apply([
        { op: "set", key: `${p}s`, value: "one" },
        { op: "set", key: `${p}s`, value: "two" },
        { op: "hset", key: `${p}h`, field: "a", value: "1" },
        { op: "hset", key: `${p}h`, field: "b", value: "2" },
        { op: "hset", key: `${p}h`, field: "a", value: "3" },
      ]);
      assert.equal(await kv.get(`${p}s`), "two");
      assert.deepEqual(await kv.hgetall(`${p}h`), { a: "3", b: "2" });
      assert.deepEqual(await kv.hgetall(`${p}missing`), {});
    },
  );

  test(
    "del removes keys of every type and ignores missing ones",
    async (kv, _, p) => {
      await kv.apply([
        { op: "set", key: `${p}s`, value: "x" },
        { op: "hset", key: `${p}h`, field: "f", value: "v" },
        { op: "zadd", key: `${p}z`, member: "m", score: 1 },
      ]);
      await kv.apply([
        { op: "del", key: `${p}s` },
        { op: "del", key: `${p}h` },
        { op: "del", key: `${p}z` },
        { op: "del", key: `${p}missing` },
      ]);
      assert.equal(await kv.get(`${p}s`), null);
      assert.deepEqual(await kv.hgetall(`${p}h`), {});
      assert.deepEqual(await kv.zrevrange(`${p}z`, 0, -1), []);
      assert.deepEqual(await kv.keys(`${p}*`), []);
    },
  );

  test(
    "zremrangebyscore removes the members in its inclusive range and deletes a set it empties",
    async (kv, _, p) => {
      await kv.apply([
        { op: "zadd", key: `${p}z`, member: "a", score: 1 },
        { op: "zadd", key: `${p}z`, member: "b", score: 2.5 },
        { op: "zadd", key: `${p}z`, member: "c", score: 3 },
        { op: "zadd", key: `${p}z`, member: "d", score: 10 },
        { op: "zremrangebyscore", key: `${p}z`, min: 2.5, max: 3 },
        { op: "zremrangebyscore", key: `${p}missing`, min: 0, max: 100 },
      ]);
      assert.deepEqual(await kv.zrange(`${p}z`, 0, -1), [
        { member: "a", score: 1 },
        { member: "d", score: 10 },
      ]);
      assert.deepEqual(await kv.keys(`${p}*`), [`${p}z`]);
      await kv.apply([
        { op: "pexpire", key: `${p}z`, ms: 60_000 },
        { op: "zremrangebyscore", key: `${p}z`, min: -Infinity, max: 1 },
      ]);
      const ttl = await kv.pttl(`${p}z`);
      assert.ok(ttl > 0 && ttl <= 60_000, `pttl is ${ttl}`);
      await kv.apply([
        { op: "zremrangebyscore", key: `${p}z`, min: -Infinity, max: Infinity },
        // Recreated without the TTL the emptied set had.
        { op: "zadd", key: `${p}z`, member: "e", score: 5 },
      ]);
      assert.equal(await kv.pttl(`${p}z`), -1);
      await kv.apply([
        { op: "zremrangebyscore", key: `${p}z`, min: 5, max: 5 },
      ]);
      assert.equal(await kv.pttl(`${p}z`), -2);
      await kv.apply([{ op: "set", key: `${p}s`, value: "v" }]);
      await assert.rejects(
        kv.apply([{ op: "zremrangebyscore", key: `${p}s`, min: 0, max: 1 }]),
        /WRONGTYPE/,
      );
    },
  );

  test("apply runs its ops in order", async (kv, _, p) => {
    await kv.apply([
      { op: "set", key: `${p}k`, value: "x" },
      { op: "del", key: `${p}k` },
      { op: "incrby", key: `${p}k`, by: 2 },
    ]);
    assert.equal(await kv.get(`${p}k`), "2");
  });

  test(
    "pttl tells a missing key (-2) from one without expiry (-1)",
    async (kv, _, p) => {
      assert.equal(await kv.pttl(`${p}missing`), -2);
      await kv.apply([{ op: "set", key: `${p}k`, value: "v" }]);
      assert.equal(await kv.pttl(`${p}k`), -1);
    },
  );

  test(
    "pexpire makes a key vanish once its time has passed",
    async (kv, h, p) => {
      await kv.apply([
        { op: "set", key: `${p}s`, value: "v" },
        { op: "zadd", key: `${p}z`, member: "m", score: 1 },
        { op: "pexpire", key: `${p}s`, ms: 100 },
        { op: "pexpire", key: `${p}z`, ms: 100 },
        { op: "set", key: `${p}stay`, value: "v" },
      ]);
      const ttl = await kv.pttl(`${p}s`);
      assert.ok(ttl > 0 && ttl <= 100, `pttl is ${ttl}`);
      await h.advance(200);
      assert.equal(await kv.get(`${p}s`), null);
      assert.equal(await kv.pttl(`${p}s`), -2);
      assert.deepEqual(await kv.zrevrange(`${p}z`, 0, -1), []);
      assert.deepEqual(await kv.keys(`${p}*`), [`${p}stay`]);
    },
  );

  test("pexpire on a missing key creates nothing", async (kv, _, p) => {
    await kv.apply([{ op: "pexpire", key: `${p}missing`, ms: 10_000 }]);
    assert.equal(await kv.pttl(`${p}missing`), -2);
    assert.equal(await kv.get(`${p}missing`), null);
  });

  test(
    "set clears a TTL while incrby, hset and zincrby keep it",
    async (kv, _, p) => {
      await kv.apply([
        { op: "set", key: `${p}s`, value: "1" },
        { op: "set", key: `${p}i`, value: "1" },
        { op: "hset", key: `${p}h`, field: "f", value: "1" },
        { op: "zadd", key: `${p}z`, member: "m", score: 1 },
        ...["s", "i", "h", "z"].map((k) => ({
          op: "pexpire" as const,
          key: `${p}${k}`,
          ms: 60_000,
        })),
      ]);
      await kv.apply([
        { op: "set", key: `${p}s`, value: "2" },
        { op: "incrby", key: `${p}i`, by: 1 },
        { op: "hset", key: `${p}h`, field: "g", value: "2" },
        { op: "zincrby", key: `${p}z`, member: "m", by: 1 },
      ]);
      assert.equal(await kv.pttl(`${p}s`), -1);
      for (const k of ["i", "h", "z"]) {
        const ttl = await kv.pttl(`${p}${k}`);
        assert.ok(ttl > 0 && ttl <= 60_000, `pttl of ${k} is ${ttl}`);
      }
    },
  );

  test(
    "keys matches * and ? globs and answers sorted keys",
    async (kv, _, p) => {
      await kv.apply(
        ["a:2", "b:1", "a:10", "a:1"].map((k) => ({
          op: "set" as const,
          key: `${p}${k}`,
          value: "v",
        })),
      );
      assert.deepEqual(await kv.keys(`${p}a:*`), [
        `${p}a:1`,
        `${p}a:10`,
        `${p}a:2`,
      ]);
      assert.deepEqual(await kv.keys(`${p}a:?`), [`${p}a:1`, `${p}a:2`]);
      assert.deepEqual(await kv.keys(`${p}*`), [
        `${p}a:1`,
        `${p}a:10`,
        `${p}a:2`,
        `${p}b:1`,
      ]);
      assert.deepEqual(await kv.keys(`${p}c*`), []);
    },
  );

  test(
    "claimFence increments the epoch and reports offset -1 before any batch",
    async (kv, _, p) => {
      assert.deepEqual(await kv.claimFence(`${p}fence`), {
        epoch: 1,
        offset: -1,
      });
      assert.deepEqual(await kv.claimFence(`${p}fence`), {
        epoch: 2,
        offset: -1,
      });
      assert.deepEqual(await kv.hgetall(`${p}fence`), {
        epoch: "2",
        offset: "-1",
      });
    },
  );

  test(
    "applyFenced applies newer offsets and answers duplicate for the rest",
    async (kv, _, p) => {
      const { epoch } = await kv.claimFence(`${p}fence`);
      const fence = (offset: number) => ({ key: `${p}fence`, epoch, offset });
      const bump = [{ op: "incrby" as const, key: `${p}count`, by: 1 }];
      assert.equal(await kv.applyFenced(fence(10), bump), "applied");
      assert.equal(await kv.get(`${p}count`), "1");
      assert.deepEqual(await kv.hgetall(`${p}fence`), {
        epoch: String(epoch),
        offset: "10",
      });
      assert.equal(await kv.applyFenced(fence(10), bump), "duplicate");
      assert.equal(await kv.applyFenced(fence(9), bump), "duplicate");
      assert.equal(await kv.get(`${p}count`), "1");
      assert.equal(await kv.applyFenced(fence(11), bump), "applied");
      assert.equal(await kv.get(`${p}count`), "2");
      assert.deepEqual(await kv.claimFence(`${p}fence`), {
        epoch: epoch + 1,
        offset: 11,
      });
    },
  );

  test(
    "applyFenced orders fractional positions between offsets, and claimFence answers them exactly",
    async (kv, _, p) => {
      const { epoch } = await kv.claimFence(`${p}fence`);
      const fence = (offset: number) => ({ key: `${p}fence`, epoch, offset });
      const bump = [{ op: "incrby" as const, key: `${p}count`, by: 1 }];
      // Processing-time steps after offset 7: 7 + 1/65536, 7 + 2/65536.
      const step = (k: number) => 7 + k / 65_536;
      assert.equal(await kv.applyFenced(fence(7), bump), "applied");
      assert.equal(await kv.applyFenced(fence(step(1)), bump), "applied");
      assert.equal(await kv.applyFenced(fence(step(1)), bump), "duplicate");
      assert.equal(await kv.applyFenced(fence(step(2)), bump), "applied");
      assert.deepEqual(await kv.claimFence(`${p}fence`), {
        epoch: epoch + 1,
        offset: step(2),
      });
      assert.equal(
        await kv.applyFenced({ ...fence(step(2)), epoch: epoch + 1 }, bump),
        "duplicate",
      );
      assert.equal(
        await kv.applyFenced({ ...fence(8), epoch: epoch + 1 }, bump),
        "applied",
      );
      assert.equal(await kv.get(`${p}count`), "4");
    },
  );

  test(
    "applyFenced answers fenced to an older epoch and writes nothing",
    async (kv, _, p) => {
      const old = await kv.claimFence(`${p}fence`);
      const current = await kv.claimFence(`${p}fence`);
      const write = [{ op: "set" as const, key: `${p}out`, value: "x" }];
      assert.equal(
        await kv.applyFenced({
          key: `${p}fence`,
          epoch: old.epoch,
          offset: 100,
        }, write),
        "fenced",
      );
      assert.equal(await kv.get(`${p}out`), null);
      assert.deepEqual(await kv.hgetall(`${p}fence`), {
        epoch: String(current.epoch),
        offset: "-1",
      });
      assert.equal(
        await kv.applyFenced({
          key: `${p}fence`,
          epoch: current.epoch,
          offset: 0,
        }, write),
        "applied",
      );
      assert.equal(await kv.get(`${p}out`), "x");
    },
  );

  test(
    "applyFenced applies every kind of op, TTLs included",
    async (kv, _, p) => {
      const { epoch } = await kv.claimFence(`${p}fence`);
      const result = await kv.applyFenced({
        key: `${p}fence`,
        epoch,
        offset: 0,
      }, [
        { op: "incrby", key: `${p}i`, by: 7 },
        { op: "zincrby", key: `${p}z`, member: "m", by: 2.5 },
        { op: "zadd", key: `${p}z`, member: "n", score: 1 },
        { op: "set", key: `${p}s`, value: "v" },
        { op: "hset", key: `${p}h`, field: "f", value: "g" },
        { op: "set", key: `${p}gone`, value: "v" },
        { op: "del", key: `${p}gone` },
        { op: "pexpire", key: `${p}z`, ms: 60_000 },
      ]);
      assert.equal(result, "applied");
      assert.equal(await kv.get(`${p}i`), "7");
      assert.deepEqual(await kv.zrevrange(`${p}z`, 0, -1), [
        { member: "m", score: 2.5 },
        { member: "n", score: 1 },
      ]);
      assert.equal(await kv.get(`${p}s`), "v");
      assert.deepEqual(await kv.hgetall(`${p}h`), { f: "g" });
      assert.equal(await kv.get(`${p}gone`), null);
      const ttl = await kv.pttl(`${p}z`);
      assert.ok(ttl > 0 && ttl <= 60_000, `pttl is ${ttl}`);
    },
  );

  test(
    "a fenced batch trims a sorted set as it grows, and counts a trimmed set as a sorted set",
    async (kv, _, p) => {
      await kv.apply([
        { op: "zadd", key: `${p}z`, member: "old", score: 1 },
        { op: "set", key: `${p}s`, value: "v" },
      ]);
      const { epoch } = await kv.claimFence(`${p}fence`);
      assert.equal(
        await kv.applyFenced({ key: `${p}fence`, epoch, offset: 0 }, [
          { op: "zremrangebyscore", key: `${p}z`, min: -Infinity, max: 5 },
          { op: "zadd", key: `${p}z`, member: "new", score: 20 },
          { op: "pexpire", key: `${p}z`, ms: 60_000 },
        ]),
        "applied",
      );
      assert.deepEqual(await kv.zrange(`${p}z`, 0, -1), [
        { member: "new", score: 20 },
      ]);
      // Whether the removal empties the set is not modelled: the hash
      // write after it is refused, with the whole batch.
      await assert.rejects(
        kv.applyFenced({ key: `${p}fence`, epoch, offset: 1 }, [
          { op: "zadd", key: `${p}y`, member: "m", score: 1 },
          {
            op: "zremrangebyscore",
            key: `${p}z`,
            min: -Infinity,
            max: Infinity,
          },
          { op: "hset", key: `${p}z`, field: "f", value: "v" },
        ]),
      );
      await assert.rejects(
        kv.applyFenced({ key: `${p}fence`, epoch, offset: 1 }, [
          { op: "zadd", key: `${p}y`, member: "m", score: 1 },
          { op: "zremrangebyscore", key: `${p}s`, min: 0, max: 1 },
        ]),
      );
      assert.deepEqual(await kv.zrange(`${p}y`, 0, -1), []);
      assert.deepEqual(await kv.zrange(`${p}z`, 0, -1), [
        { member: "new", score: 20 },
      ]);
      assert.equal(
        await kv.applyFenced({ key: `${p}fence`, epoch, offset: 1 }, [
          {
            op: "zremrangebyscore",
            key: `${p}z`,
            min: -Infinity,
            max: Infinity,
          },
          { op: "del", key: `${p}z` },
          { op: "hset", key: `${p}z`, field: "f", value: "v" },
        ]),
        "applied",
      );
      assert.deepEqual(await kv.hgetall(`${p}z`), { f: "v" });
    },
  );

  test(
    "a fenced batch with a failing op writes nothing and leaves the fence",
    async (kv, _, p) => {
      await kv.apply([{ op: "set", key: `${p}bad`, value: "not a number" }]);
      const { epoch } = await kv.claimFence(`${p}fence`);
      await assert.rejects(
        kv.applyFenced({ key: `${p}fence`, epoch, offset: 5 }, [
          { op: "incrby", key: `${p}good`, by: 1 },
          { op: "zadd", key: `${p}z`, member: "m", score: 1 },
          { op: "incrby", key: `${p}bad`, by: 1 },
        ]),
      );
      assert.equal(await kv.get(`${p}good`), null);
      assert.deepEqual(await kv.zrevrange(`${p}z`, 0, -1), []);
      assert.equal(await kv.get(`${p}bad`), "not a number");
      assert.deepEqual(await kv.hgetall(`${p}fence`), {
        epoch: String(epoch),
        offset: "-1",
      });
      assert.equal(
        await kv.applyFenced({ key: `${p}fence`, epoch, offset: 5 }, [
          { op: "incrby", key: `${p}good`, by: 1 },
        ]),
        "applied",
      );
      assert.equal(await kv.get(`${p}good`), "1");
    },
  );
}
