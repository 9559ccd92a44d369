import assert from "node:assert/strict";
import fc from "fast-check";
import { utf8Length } from "../../src/core/utf8.ts";

Deno.test("utf8Length() counts the bytes TextEncoder writes, lone surrogates included", () => {
  const encoder = new TextEncoder();
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string(),
        fc.fullUnicodeString(),
        fc.string16bits(),
        fc.string({ unit: "binary" }),
      ),
      (text) => {
        assert.equal(utf8Length(text), encoder.encode(text).length);
      },
    ),
    { numRuns: 2_000 },
  );
  assert.equal(utf8Length("abc"), 3);
  assert.equal(utf8Length("é€😀"), 2 + 3 + 4);
  assert.equal(utf8Length("\ud800x"), 3 + 1);
  assert.equal(utf8Length("x\ud800"), 1 + 3);
  assert.equal(utf8Length("\udc00\ud800"), 3 + 3);
});
