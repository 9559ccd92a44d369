import assert from "node:assert/strict";
import {
  type CheckpointId,
  CheckpointStore,
  type PartitionCheckpoint,
} from "../../src/core/checkpoint.ts";
import { FencedError } from "../../src/ports.ts";
import { ObjectsTwin } from "../../sim/objects.ts";

const ID: CheckpointId = { job: "j", topic: "t", partition: 0 };

function checkpoint(
  position: number,
  state: unknown = { position },
): PartitionCheckpoint {
  return {
    version: 2,
    job: "j",
    topic: "t",
    partition: 0,
    position,
    ticks: 0,
    pending_tick_ms: null,
    epoch: 0,
    state,
    sinks: { redis: { fence_key: "f" } },
  };
}

Deno.test("CheckpointStore's first claim of a partition answers epoch 1 and no checkpoint", async () => {
  const store = new CheckpointStore(new ObjectsTwin());
  const claim = await store.claim(ID);
  assert.equal(claim.epoch, 1);
  assert.equal(claim.checkpoint, null);
});

Deno.test("CheckpointStore reads back what a claim committed, with the committing epoch", async () => {
  const store = new CheckpointStore(new ObjectsTwin());
  const claim = await store.claim(ID);
  await claim.commit(checkpoint(10, { a: [1, 2] }));
  const next = await store.claim(ID);
  assert.equal(next.epoch, 2);
  assert.deepEqual(next.checkpoint, {
    ...checkpoint(10, { a: [1, 2] }),
    epoch: 1,
  });
  assert.deepEqual(await store.latest(ID), next.checkpoint);
});

Deno.test("CheckpointStore fences an older claim: its next commit fails with FencedError and changes nothing", async () => {
  const store = new CheckpointStore(new ObjectsTwin());
  const old = await store.claim(ID);
  await old.commit(checkpoint(5));
  const fresh = await store.claim(ID);
  await assert.rejects(old.commit(checkpoint(99)), FencedError);
  assert.equal((await store.latest(ID))?.position, 5);
  await fresh.commit(checkpoint(7));
  assert.equal((await store.latest(ID))?.position, 7);
});

Deno.test("CheckpointStore fences an owner so far behind that the manifest it would write next was pruned", async () => {
  const store = new CheckpointStore(new ObjectsTwin(), { retain: 2 });
  const stale = await store.claim(ID);
  const fresh = await store.claim(ID);
  for (const position of [1, 2, 3]) await fresh.commit(checkpoint(position));
  await assert.rejects(stale.commit(checkpoint(99)), FencedError);
  assert.equal((await store.latest(ID))?.position, 3);
  await fresh.commit(checkpoint(4));
  assert.equal((await store.latest(ID))?.position, 4);
});

Deno.test("CheckpointStore lets exactly one of two racing claims go on committing", async () => {
  const objects = new ObjectsTwin();
  const a = await new CheckpointStore(objects).claim(ID);
  const b = await new CheckpointStore(objects).claim(ID);
  assert.notEqual(a.epoch, b.epoch);
  const results = await Promise.allSettled([
    a.commit(checkpoint(1)),
    b.commit(checkpoint(2)),
  ]);
  // b claimed after a, so only b may commit.
  assert.equal(results[0]!.status, "rejected");
  assert.equal(results[1]!.status, "fulfilled");
});

Deno.test("CheckpointStore ignores a state object whose manifest was never written", async () => {
  const objects = new ObjectsTwin();
  const store = new CheckpointStore(objects);
  const claim = await store.claim(ID);
  await claim.commit(checkpoint(3));
  // A crash after the next state object, before its manifest.
  await objects.put(
    "checkpoints/j/t/0/state/0000000000000003-0000000000000001.json",
    new TextEncoder().encode(JSON.stringify(checkpoint(50))),
  );
  assert.equal((await store.latest(ID))?.position, 3);
  assert.equal((await store.claim(ID)).checkpoint?.position, 3);
});

Deno.test("CheckpointStore takes a manifest whose create reply was lost as its own", async () => {
  const objects = new ObjectsTwin();
  const store = new CheckpointStore(objects);
  const claim = await store.claim(ID);
  // The create is applied, its reply lost: the retry finds its own manifest.
  const put = objects.putIfAbsent.bind(objects);
  let lost = false;
  objects.putIfAbsent = async (key, body) => {
    if (!lost && key.includes("/manifest/")) {
      lost = true;
      await put(key, body);
      return false;
    }
    return await put(key, body);
  };
  await claim.commit(checkpoint(4));
  assert.equal((await store.latest(ID))?.position, 4);
});

Deno.test("CheckpointStore keeps the newest `retain` manifests and the state objects they name", async () => {
  const objects = new ObjectsTwin();
  const store = new CheckpointStore(objects, { retain: 2 });
  const claim = await store.claim(ID);
  for (let p = 1; p <= 6; p++) await claim.commit(checkpoint(p));
  const keys = await objects.list("checkpoints/j/t/0/");
  assert.deepEqual(keys, [
    "checkpoints/j/t/0/manifest/0000000000000006.json",
    "checkpoints/j/t/0/manifest/0000000000000007.json",
    "checkpoints/j/t/0/state/0000000000000006-0000000000000001.json",
    "checkpoints/j/t/0/state/0000000000000007-0000000000000001.json",
  ]);
  // Claims repeat the newest state: it stays while a kept manifest names it.
  for (let i = 0; i < 3; i++) await store.claim(ID);
  const last = await store.claim(ID);
  await last.commit(checkpoint(8));
  assert.equal((await store.latest(ID))?.position, 8);
});

Deno.test("CheckpointStore keeps one partition's series apart from another's", async () => {
  const objects = new ObjectsTwin();
  const store = new CheckpointStore(objects, { prefix: "cp" });
  const p0 = await store.claim(ID);
  const p1 = await store.claim({ ...ID, partition: 1 });
  await p0.commit(checkpoint(10));
  await p1.commit({ ...checkpoint(20), partition: 1 });
  assert.equal((await store.latest(ID))?.position, 10);
  assert.equal((await store.latest({ ...ID, partition: 1 }))?.position, 20);
  assert.ok((await objects.list("")).every((key) => key.startsWith("cp/j/t/")));
});

Deno.test("CheckpointStore refuses a retention below 2", () => {
  assert.throws(
    () => new CheckpointStore(new ObjectsTwin(), { retain: 1 }),
    /'retain' must be an integer of at least 2: current value is 1/,
  );
});
