import assert from "node:assert/strict";
import { VirtualClock } from "../../sim/clock.ts";
import { KvTwin, TransientError } from "../../sim/kv.ts";

function twin(
  options: { unfenced?: boolean; fail?: (call: string) => boolean } = {},
) {
  const clock = new VirtualClock(1_000);
  return { clock, kv: new KvTwin({ clock, ...options }) };
}

Deno.test("KvTwin.dump() lists live keys sorted, with typed values and expiry times", async () => {
  const { clock, kv } = twin();
  await kv.apply([
    { op: "zadd", key: "z", member: "b", score: 1 },
    { op: "zadd", key: "z", member: "a", score: 1 },
    { op: "zadd", key: "z", member: "c", score: 5 },
    { op: "hset", key: "h", field: "y", value: "2" },
    { op: "hset", key: "h", field: "x", value: "1" },
    { op: "set", key: "s", value: "v" },
    { op: "set", key: "gone", value: "v" },
    { op: "pexpire", key: "z", ms: 500 },
    { op: "pexpire", key: "gone", ms: 10 },
  ]);
  clock.advanceBy(11);
  assert.deepEqual(kv.dump(), [
    { key: "h", type: "hash", value: { x: "1", y: "2" }, expire_at_ms: null },
    { key: "s", type: "string", value: "v", expire_at_ms: null },
    {
      key: "z",
      type: "zset",
      value: [{ member: "c", score: 5 }, { member: "a", score: 1 }, {
        member: "b",
        score: 1,
      }],
      expire_at_ms: 1_500,
    },
  ]);
});

Deno.test("KvTwin keeps a key alive at its expiry time and drops it just after, as Redis", async () => {
  const { clock, kv } = twin();
  await kv.apply([{ op: "set", key: "k", value: "v" }, {
    op: "pexpire",
    key: "k",
    ms: 100,
  }]);
  clock.advanceBy(100);
  assert.equal(await kv.pttl("k"), 0);
  assert.equal(await kv.get("k"), "v");
  clock.advanceBy(1);
  assert.equal(await kv.get("k"), null);
  assert.equal(await kv.pttl("k"), -2);
});

Deno.test("KvTwin deletes a key given a non-positive expiry, as Redis", async () => {
  const { kv } = twin();
  await kv.apply([{ op: "set", key: "k", value: "v" }, {
    op: "pexpire",
    key: "k",
    ms: 0,
  }]);
  assert.equal(await kv.pttl("k"), -2);
});

Deno.test("KvTwin refuses commands against a key of the wrong type", async () => {
  const { kv } = twin();
  await kv.apply([{ op: "hset", key: "h", field: "f", value: "v" }]);
  await assert.rejects(kv.get("h"), /WRONGTYPE/);
  await assert.rejects(
    kv.apply([{ op: "incrby", key: "h", by: 1 }]),
    /WRONGTYPE/,
  );
  await assert.rejects(
    kv.apply([{ op: "zadd", key: "h", member: "m", score: 1 }]),
    /WRONGTYPE/,
  );
  await assert.rejects(kv.zrevrange("h", 0, -1), /WRONGTYPE/);
});

Deno.test("KvTwin.apply() runs every op and then throws the first error, like a pipeline", async () => {
  const { kv } = twin();
  await kv.apply([{ op: "set", key: "s", value: "x" }]);
  await assert.rejects(
    kv.apply([
      { op: "incrby", key: "a", by: 1 },
      { op: "incrby", key: "s", by: 1 },
      { op: "incrby", key: "b", by: 1 },
    ]),
    /not an integer/,
  );
  assert.equal(await kv.get("a"), "1");
  assert.equal(await kv.get("b"), "1");
});

Deno.test("KvTwin orders zset ties by UTF-8 bytes, not UTF-16 units", async () => {
  const { kv } = twin();
  // U+FF5E sorts before U+1F600 in UTF-8 but after it in UTF-16.
  await kv.apply([
    { op: "zadd", key: "z", member: "\uff5e", score: 1 },
    { op: "zadd", key: "z", member: "\u{1f600}", score: 1 },
  ]);
  assert.deepEqual((await kv.zrevrange("z", 0, -1)).map((m) => m.member), [
    "\u{1f600}",
    "\uff5e",
  ]);
});

Deno.test("KvTwin.failNext() fails writes with a TransientError and applies nothing", async () => {
  const { kv } = twin();
  kv.failNext(2);
  await assert.rejects(
    kv.apply([{ op: "set", key: "a", value: "1" }]),
    TransientError,
  );
  await assert.rejects(kv.claimFence("f"), TransientError);
  assert.deepEqual(kv.dump(), []);
  await kv.apply([{ op: "set", key: "a", value: "1" }]);
  assert.equal(await kv.get("a"), "1");
});

Deno.test("KvTwin's 'after' failures apply the write and then lose the reply", async () => {
  const { kv } = twin();
  const { epoch } = await kv.claimFence("f");
  kv.failNext(1, "after");
  const batch = [{ op: "incrby" as const, key: "n", by: 1 }];
  await assert.rejects(
    kv.applyFenced({ key: "f", epoch, offset: 3 }, batch),
    TransientError,
  );
  assert.equal(await kv.get("n"), "1");
  assert.equal(
    await kv.applyFenced({ key: "f", epoch, offset: 3 }, batch),
    "duplicate",
  );
});

Deno.test("KvTwin's fail rule sees the name of each write call", async () => {
  const calls: string[] = [];
  const { kv } = twin({
    fail: (call) => {
      calls.push(call);
      return call === "applyFenced";
    },
  });
  const { epoch } = await kv.claimFence("f");
  await assert.rejects(
    kv.applyFenced({ key: "f", epoch, offset: 0 }, []),
    TransientError,
  );
  await kv.apply([]);
  await kv.get("x");
  assert.deepEqual(calls, ["claimFence", "applyFenced", "apply"]);
});

Deno.test("an unfenced KvTwin applies stale and duplicate batches", async () => {
  const { kv } = twin({ unfenced: true });
  await kv.claimFence("f");
  await kv.claimFence("f");
  const batch = [{ op: "incrby" as const, key: "n", by: 1 }];
  assert.equal(
    await kv.applyFenced({ key: "f", epoch: 1, offset: 5 }, batch),
    "applied",
  );
  assert.equal(
    await kv.applyFenced({ key: "f", epoch: 2, offset: 5 }, batch),
    "applied",
  );
  assert.equal(await kv.get("n"), "2");
});

Deno.test("KvTwin.applyFenced() with a newer epoch than stored applies and stores that epoch", async () => {
  const { kv } = twin();
  await kv.claimFence("f");
  assert.equal(
    await kv.applyFenced({ key: "f", epoch: 4, offset: 0 }, []),
    "applied",
  );
  assert.deepEqual(await kv.hgetall("f"), { epoch: "4", offset: "0" });
  assert.equal(
    await kv.applyFenced({ key: "f", epoch: 3, offset: 1 }, []),
    "fenced",
  );
});

Deno.test("KvTwin.keys() understands character classes and escapes", async () => {
  const { kv } = twin();
  await kv.apply(
    ["a1", "b1", "c1", "*1"].map((key) => ({
      op: "set" as const,
      key,
      value: "v",
    })),
  );
  assert.deepEqual(await kv.keys("[ab]1"), ["a1", "b1"]);
  assert.deepEqual(await kv.keys("[^ab]1"), ["*1", "c1"]);
  assert.deepEqual(await kv.keys("\\*1"), ["*1"]);
});
