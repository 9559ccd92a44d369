import assert from "node:assert/strict";
import jpegWasm from "imagescript/wasm/any/jpeg.wasm" with { type: "bytes" };
import { JPEG_WASM_BASE64 } from "../../src/jobs/frames/jpeg_wasm.ts";
import { jpegWasmModule } from "../../scripts/gen_jpeg_wasm.ts";

Deno.test("the embedded JPEG decoder is imagescript's jpeg.wasm byte for byte", () => {
  const embedded = Uint8Array.fromBase64(JPEG_WASM_BASE64);
  assert.equal(embedded.length, jpegWasm.length);
  assert.ok(
    embedded.every((byte, i) => byte === jpegWasm[i]),
    "src/jobs/frames/jpeg_wasm.ts differs from the pinned imagescript's jpeg.wasm: run `deno run --allow-write scripts/gen_jpeg_wasm.ts`",
  );
});

Deno.test("jpegWasmModule() embeds bytes that decode back to the same bytes", () => {
  const bytes = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 255]);
  const text = jpegWasmModule(bytes);
  const base64 = /JPEG_WASM_BASE64 =\s+"([^"]*)"/.exec(text)?.[1];
  assert.ok(base64 !== undefined, "the module defines JPEG_WASM_BASE64");
  assert.deepEqual(Uint8Array.fromBase64(base64), bytes);
  // A changed byte must show: the check above is not vacuous.
  assert.notDeepEqual(
    Uint8Array.fromBase64(base64),
    new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 254]),
  );
});
