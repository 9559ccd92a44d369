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

Deno.test(
  "ObjectsTwin: a putIfAbsent whose reply is lost created the object, so its retry answers false",
  async () => {
    const store = new ObjectsTwin();
    store.failNext(1, "after");
    await assert.rejects(store.putIfAbsent("k", bytes("mine")), TransientError);
    assert.equal(await store.putIfAbsent("k", bytes("mine")), false);
    // The port's advice to a caller that retried: read back and compare.
    assert.deepEqual(await store.get("k"), bytes("mine"));
  },
);

Deno.test(
  "ObjectsTwin's fail rule sees putIfAbsent by name",
  async () => {
    const store = new ObjectsTwin({
      fail: (call) => call === "putIfAbsent" ? "after" : false,
    });
    await assert.rejects(store.putIfAbsent("k", bytes("v")), TransientError);
    assert.deepEqual(await store.get("k"), bytes("v"));
  },
);

Deno.test(
  "ObjectsTwin: a putIfAbsent failed before applying leaves the key free",
  async () => {
    const store = new ObjectsTwin();
    store.failNext(1);
    await assert.rejects(store.putIfAbsent("k", bytes("v")), TransientError);
    assert.equal(await store.get("k"), null);
    assert.equal(await store.putIfAbsent("k", bytes("v")), true);
  },
);

Deno.test(
  "ObjectsTwin's fail rule sees copy by name: 'before' copies nothing, 'after' copies",
  async () => {
    let mode: "before" | "after" = "before";
    const calls: string[] = [];
    const store = new ObjectsTwin({
      fail: (call) => {
        calls.push(call);
        return call === "copy" ? mode : false;
      },
    });
    await store.put("from", bytes("v"));
    await assert.rejects(store.copy("from", "to"), TransientError);
    assert.equal(await store.get("to"), null);
    mode = "after";
    await assert.rejects(store.copy("from", "to"), TransientError);
    assert.deepEqual(await store.get("to"), bytes("v"));
    assert.deepEqual(calls, ["put", "copy", "get", "copy", "get"]);
  },
);

Deno.test("ObjectsTwin.copy() copies the bytes, not the buffer", async () => {
  const store = new ObjectsTwin();
  await store.put("from", bytes("abc"));
  await store.copy("from", "to");
  await store.put("from", bytes("xyz"));
  assert.deepEqual(await store.get("to"), bytes("abc"));
});
