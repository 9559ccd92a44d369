import assert from "node:assert/strict";
import { ObjectsTwin, TransientError } from "../../sim/objects.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

Deno.test("ObjectsTwin.list() sorts keys by UTF-8 bytes, as S3 does", async () => {
  const store = new ObjectsTwin();
  for (const key of ["p/\u{1f600}", "p/\uff5e", "p/z", "p/a"]) {
    await store.put(key, bytes(key));
  }
  assert.deepEqual(await store.list("p/"), [
    "p/a",
    "p/z",
    "p/\uff5e",
    "p/\u{1f600}",
  ]);
});

Deno.test("ObjectsTwin.get() returns a copy the caller may change", async () => {
  const store = new ObjectsTwin();
  await store.put("k", bytes("abc"));
  const first = await store.get("k");
  first![0] = 0;
  assert.deepEqual(await store.get("k"), bytes("abc"));
});

Deno.test("ObjectsTwin.dump() lists every object in key order", async () => {
  const store = new ObjectsTwin();
  await store.put("b", bytes("2"));
  await store.put("a", bytes("1"));
  assert.deepEqual(store.dump(), [
    { key: "a", body: bytes("1") },
    { key: "b", body: bytes("2") },
  ]);
});

Deno.test("ObjectsTwin rejects an empty key", async () => {
  await assert.rejects(
    new ObjectsTwin().put("", bytes("x")),
    /'key' must not be empty/,
  );
});

Deno.test("ObjectsTwin.failNext() fails calls with nothing applied", async () => {
  const store = new ObjectsTwin();
  store.failNext(1);
  await assert.rejects(store.put("k", bytes("v")), TransientError);
  assert.deepEqual(store.dump(), []);
  await store.put("k", bytes("v"));
  assert.equal(store.dump().length, 1);
});

Deno.test("ObjectsTwin's fail rule can lose the reply of an applied put", async () => {
  const store = new ObjectsTwin({
    fail: (call) => call === "put" ? "after" : false,
  });
  await assert.rejects(store.put("k", bytes("v")), TransientError);
  assert.deepEqual(await store.get("k"), bytes("v"));
});
