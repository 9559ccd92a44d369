/**
 * The behaviour of an {@linkcode ObjectStore} the jobs and checkpoints rely
 * on, as S3 has it. Run against the S3 twin (`twins_test.ts`) and the real S3
 * adapter.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { ObjectStore } from "../../src/ports.ts";
import { type ContractOptions, testOptions, uniqueName } from "./options.ts";

/** An object store under test. */
export interface ObjectsHarness {
  objects: ObjectStore;
  close(): Promise<void>;
}

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (body: Uint8Array | null) =>
  body === null ? null : new TextDecoder().decode(body);

/** Registers the object-store contract tests for the store that `open` returns. */
export function objectsContract(
  name: string,
  open: () => Promise<ObjectsHarness>,
  options: ContractOptions = {},
): void {
  const test = (
    title: string,
    body: (store: ObjectStore, p: string) => Promise<void>,
  ) =>
    Deno.test({
      name: `${name}: ${title}`,
      ...testOptions(options),
      fn: async () => {
        const harness = await open();
        try {
          await body(harness.objects, `${uniqueName(name)}/`);
        } finally {
          await harness.close();
        }
      },
    });

  test("put then get returns the same bytes", async (store, p) => {
    await store.put(`${p}a.txt`, bytes("hello"));
    assert.equal(text(await store.get(`${p}a.txt`)), "hello");
  });

  test("get of a missing key answers null", async (store, p) => {
    assert.equal(await store.get(`${p}missing`), null);
  });

  test("put overwrites an existing object", async (store, p) => {
    await store.put(`${p}k`, bytes("first"));
    await store.put(`${p}k`, bytes("second"));
    assert.equal(text(await store.get(`${p}k`)), "second");
  });

  test("binary bodies round-trip byte for byte", async (store, p) => {
    const body = Uint8Array.from({ length: 512 }, (_, i) => (i * 7) % 256);
    await store.put(`${p}bin`, body);
    assert.deepEqual(await store.get(`${p}bin`), body);
  });

  test("an empty object exists and has no bytes", async (store, p) => {
    await store.put(`${p}empty`, new Uint8Array(0));
    const body = await store.get(`${p}empty`);
    assert.ok(body !== null, "an empty object must not read as missing");
    assert.equal(body.length, 0);
    assert.deepEqual(await store.list(`${p}empty`), [`${p}empty`]);
  });

  test(
    "changing the buffer after put does not change the stored object",
    async (store, p) => {
      const body = bytes("abc");
      await store.put(`${p}k`, body);
      body[0] = 0x7a;
      assert.equal(text(await store.get(`${p}k`)), "abc");
    },
  );

  test("list answers the keys under a prefix, sorted", async (store, p) => {
    for (const key of ["b/2", "a/2", "b/1", "a/1", "a/10", "c"]) {
      await store.put(`${p}${key}`, bytes(key));
    }
    assert.deepEqual(await store.list(`${p}a/`), [
      `${p}a/1`,
      `${p}a/10`,
      `${p}a/2`,
    ]);
    assert.deepEqual(await store.list(`${p}b`), [`${p}b/1`, `${p}b/2`]);
    assert.deepEqual(await store.list(p), [
      `${p}a/1`,
      `${p}a/10`,
      `${p}a/2`,
      `${p}b/1`,
      `${p}b/2`,
      `${p}c`,
    ]);
    assert.deepEqual(await store.list(`${p}d`), []);
  });

  test(
    "delete removes an object and ignores a missing key",
    async (store, p) => {
      await store.put(`${p}k`, bytes("v"));
      await store.put(`${p}keep`, bytes("v"));
      await store.delete(`${p}k`);
      await store.delete(`${p}missing`);
      assert.equal(await store.get(`${p}k`), null);
      assert.deepEqual(await store.list(p), [`${p}keep`]);
    },
  );

  test("putIfAbsent creates an object only once", async (store, p) => {
    assert.equal(await store.putIfAbsent(`${p}k`, bytes("first")), true);
    assert.equal(await store.putIfAbsent(`${p}k`, bytes("second")), false);
    assert.equal(text(await store.get(`${p}k`)), "first");
  });

  test(
    "putIfAbsent answers false for an object put earlier and creates it again once deleted",
    async (store, p) => {
      await store.put(`${p}k`, bytes("put"));
      assert.equal(await store.putIfAbsent(`${p}k`, bytes("lost")), false);
      assert.equal(text(await store.get(`${p}k`)), "put");
      await store.delete(`${p}k`);
      assert.equal(await store.putIfAbsent(`${p}k`, bytes("again")), true);
      assert.equal(text(await store.get(`${p}k`)), "again");
    },
  );

  test(
    "putIfAbsent by 10 callers at once creates the object once, with the winner's body",
    async (store, p) => {
      // Bodies of 64 KiB keep each write in flight long enough for a store
      // that checks and then writes to let several callers through.
      const body = (i: number) =>
        bytes(`caller ${i} `.padEnd(64 * 1024, String.fromCharCode(97 + i)));
      for (let round = 0; round < 3; round++) {
        const key = `${p}race-${round}`;
        const created = await Promise.all(
          Array.from({ length: 10 }, (_, i) => store.putIfAbsent(key, body(i))),
        );
        const winners = created.flatMap((won, i) => won ? [i] : []);
        assert.equal(
          winners.length,
          1,
          `exactly one caller must create '${key}': callers ${
            JSON.stringify(winners)
          } answered true`,
        );
        assert.deepEqual(await store.get(key), body(winners[0]!));
      }
    },
  );

  test("copy replaces the target and leaves the source", async (store, p) => {
    await store.put(`${p}from`, bytes("new"));
    await store.put(`${p}to`, bytes("old"));
    await store.copy(`${p}from`, `${p}to`);
    assert.equal(text(await store.get(`${p}to`)), "new");
    assert.equal(text(await store.get(`${p}from`)), "new");
    assert.deepEqual(await store.list(p), [`${p}from`, `${p}to`]);
  });

  test("copy creates a missing target", async (store, p) => {
    await store.put(`${p}from`, bytes("v"));
    await store.copy(`${p}from`, `${p}staged/to`);
    assert.equal(text(await store.get(`${p}staged/to`)), "v");
  });

  test(
    "copy of a missing key rejects, naming it, and leaves the target",
    async (store, p) => {
      await store.put(`${p}to`, bytes("kept"));
      await assert.rejects(
        store.copy(`${p}missing`, `${p}to`),
        (error: Error) => error.message.includes(`${p}missing`),
      );
      assert.equal(text(await store.get(`${p}to`)), "kept");
      assert.deepEqual(await store.list(p), [`${p}to`]);
    },
  );

  test("copy onto itself keeps the object", async (store, p) => {
    await store.put(`${p}k`, bytes("v"));
    await store.copy(`${p}k`, `${p}k`);
    assert.equal(text(await store.get(`${p}k`)), "v");
    await assert.rejects(store.copy(`${p}missing`, `${p}missing`));
  });

  test("copy of a 6 MB object copies every byte", async (store, p) => {
    const body = new Uint8Array(6 * 1024 * 1024);
    for (let i = 0; i < body.length; i++) body[i] = (i * 31 + (i >> 12)) % 251;
    await store.put(`${p}big`, body);
    await store.copy(`${p}big`, `${p}big-copy`);
    const copied = await store.get(`${p}big-copy`);
    assert.equal(copied?.length, body.length);
    assert.ok(
      copied !== null && copied.every((byte, i) => byte === body[i]),
      "the copy must equal the source byte for byte",
    );
  });

  test(
    "keys with spaces, '=' and non-ASCII characters work in every call",
    async (store, p) => {
      const staged =
        `${p}_staging/dt=2024-01-01/hour=05/part 0-1-2 é 日本.jsonl`;
      const final = `${p}dt=2024-01-01/hour=05/part 0-1-2 é 日本.jsonl`;
      assert.equal(await store.putIfAbsent(staged, bytes('{"a":1}\n')), true);
      assert.equal(await store.putIfAbsent(staged, bytes("other")), false);
      await store.copy(staged, final);
      assert.equal(text(await store.get(final)), '{"a":1}\n');
      assert.deepEqual(await store.list(`${p}dt=2024-01-01/hour=05/`), [final]);
      await store.put(`${p}a b=c`, bytes("x"));
      assert.deepEqual(await store.list(p), [
        `${p}_staging/dt=2024-01-01/hour=05/part 0-1-2 é 日本.jsonl`,
        `${p}a b=c`,
        final,
      ]);
      await store.delete(staged);
      assert.equal(await store.get(staged), null);
      assert.equal(text(await store.get(final)), '{"a":1}\n');
    },
  );
}
