import assert from "node:assert/strict";
import {
  CheckpointStore,
  type PartitionCheckpoint,
} from "../../src/core/checkpoint.ts";
import { ObjectsTwin } from "../../sim/objects.ts";

function checkpoint(
  position: number,
  epoch = 1,
  partition = 0,
): PartitionCheckpoint {
  return {
    version: 1,
    job: "views",
    topic: "video-views",
    partition,
    position,
    epoch,
    state: { seen: position, nested: { list: [1, 2, 3] } },
    sinks: {
      kv: { fence_key: `freshet:fence:views:video-views:${partition}` },
    },
  };
}

const DIR = "checkpoints/views/video-views/0";

Deno.test("CheckpointStore answers null for a partition without checkpoints", async () => {
  const store = new CheckpointStore(new ObjectsTwin());
  assert.equal(await store.latest("views", "video-views", 0), null);
});

Deno.test("CheckpointStore reads back what it wrote", async () => {
  const store = new CheckpointStore(new ObjectsTwin());
  await store.write(checkpoint(42));
  assert.deepEqual(
    await store.latest("views", "video-views", 0),
    checkpoint(42),
  );
  assert.equal(await store.latest("views", "video-views", 1), null);
  assert.equal(await store.latest("other", "video-views", 0), null);
});

Deno.test("CheckpointStore writes the state object first and the manifest last", async () => {
  const objects = new ObjectsTwin();
  const puts: string[] = [];
  const store = new CheckpointStore({
    put: (key, body) => {
      puts.push(key);
      return objects.put(key, body);
    },
    get: (key) => objects.get(key),
    list: (prefix) => objects.list(prefix),
    delete: (key) => objects.delete(key),
  });
  await store.write(checkpoint(7, 3));
  const stem = "0000000000000007-0000000000000003";
  assert.deepEqual(puts, [
    `${DIR}/state/${stem}.json`,
    `${DIR}/manifest/${stem}.json`,
  ]);
});

Deno.test("CheckpointStore ignores a state object whose manifest was never written", async () => {
  const objects = new ObjectsTwin();
  const store = new CheckpointStore(objects);
  await store.write(checkpoint(10));
  // A crash after the state object of position 20 and before its manifest.
  let puts = 0;
  const crashing = new CheckpointStore({
    put: (key, body) => {
      if (++puts === 2) return Promise.reject(new Error("crash"));
      return objects.put(key, body);
    },
    get: (key) => objects.get(key),
    list: (prefix) => objects.list(prefix),
    delete: (key) => objects.delete(key),
  });
  await assert.rejects(() => crashing.write(checkpoint(20)), /crash/);
  assert.ok(
    (await objects.list(`${DIR}/state/`)).some((k) =>
      k.includes("0000000000000020")
    ),
    "the orphan state object exists",
  );
  assert.equal(
    (await store.latest("views", "video-views", 0))?.position,
    10,
  );
});

Deno.test("CheckpointStore answers the newest complete checkpoint: highest position, then highest epoch", async () => {
  const store = new CheckpointStore(new ObjectsTwin(), { retain: 10 });
  await store.write(checkpoint(10, 1));
  await store.write(checkpoint(30, 1));
  await store.write(checkpoint(20, 2));
  assert.equal((await store.latest("views", "video-views", 0))?.position, 30);
  await store.write(checkpoint(30, 2));
  const latest = await store.latest("views", "video-views", 0);
  assert.deepEqual([latest?.position, latest?.epoch], [30, 2]);
});

Deno.test("CheckpointStore sorts positions numerically, not as text", async () => {
  const store = new CheckpointStore(new ObjectsTwin(), { retain: 10 });
  await store.write(checkpoint(9));
  await store.write(checkpoint(100_000));
  await store.write(checkpoint(20));
  assert.equal(
    (await store.latest("views", "video-views", 0))?.position,
    100_000,
  );
});

Deno.test("CheckpointStore falls back to an older checkpoint when the newest manifest names a missing state object", async () => {
  const objects = new ObjectsTwin();
  const store = new CheckpointStore(objects);
  await store.write(checkpoint(10));
  await store.write(checkpoint(20));
  await objects.delete(`${DIR}/state/0000000000000020-0000000000000001.json`);
  assert.equal((await store.latest("views", "video-views", 0))?.position, 10);
});

Deno.test("CheckpointStore keeps the newest `retain` checkpoints and prunes older ones and orphans", async () => {
  const objects = new ObjectsTwin();
  const store = new CheckpointStore(objects, { retain: 2 });
  // An orphan state object left by a crashed write.
  await objects.put(
    `${DIR}/state/0000000000000005-0000000000000001.json`,
    new TextEncoder().encode("{}"),
  );
  for (const position of [10, 20, 30]) await store.write(checkpoint(position));
  const stems = (keys: string[]) =>
    keys.map((k) =>
      k.slice(k.lastIndexOf("/") + 1, k.indexOf("-", k.lastIndexOf("/")))
    );
  assert.deepEqual(stems(await objects.list(`${DIR}/manifest/`)), [
    "0000000000000020",
    "0000000000000030",
  ]);
  assert.deepEqual(stems(await objects.list(`${DIR}/state/`)), [
    "0000000000000020",
    "0000000000000030",
  ]);
  assert.equal((await store.latest("views", "video-views", 0))?.position, 30);
});

Deno.test("CheckpointStore prunes one partition's series without touching another's", async () => {
  const objects = new ObjectsTwin();
  const store = new CheckpointStore(objects, { retain: 1 });
  await store.write(checkpoint(10, 1, 0));
  await store.write(checkpoint(10, 1, 1));
  await store.write(checkpoint(20, 1, 0));
  assert.equal((await store.latest("views", "video-views", 0))?.position, 20);
  assert.equal((await store.latest("views", "video-views", 1))?.position, 10);
  assert.equal((await objects.list("checkpoints/")).length, 4);
});

Deno.test("CheckpointStore uses its prefix for every object", async () => {
  const objects = new ObjectsTwin();
  const store = new CheckpointStore(objects, { prefix: "ck/a" });
  await store.write(checkpoint(1));
  const keys = await objects.list("");
  assert.equal(keys.length, 2);
  assert.ok(
    keys.every((k) => k.startsWith("ck/a/views/video-views/0/")),
    keys.join(),
  );
});

Deno.test("CheckpointStore refuses a retention that is not a positive integer", () => {
  for (const retain of [0, -1, 1.5]) {
    assert.throws(() => new CheckpointStore(new ObjectsTwin(), { retain }), {
      name: "RangeError",
      message:
        `Cannot keep checkpoints as 'retain' must be a positive integer: current value is ${retain}`,
    });
  }
});
