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
}
