import assert from "node:assert/strict";
import { gzipSync } from "fflate";
import { decodeFixture, isGzip, parseFixture } from "../../src/core/fixture.ts";
import { readFixtureText, UsageError } from "../../src/cli/args.ts";
import { readFixtureText as readBenchFixture } from "../../scripts/bench/fixture.ts";

const TEXT = [
  '{"topic":"t","partition":0,"offset":0,"key":"k","value":"{\\"a\\":\\"é\\"}","timestamp":1}',
  '{"a":"raw payload"}',
  "",
].join("\n");
const BYTES = new TextEncoder().encode(TEXT);

async function builtInGzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

Deno.test("decodeFixture reads plain text as it is and gunzips gzip from any compressor", async () => {
  assert.equal(await decodeFixture(BYTES), TEXT);
  assert.equal(await decodeFixture(gzipSync(BYTES, { mtime: 0 })), TEXT);
  assert.equal(await decodeFixture(await builtInGzip(BYTES)), TEXT);
  assert.equal(await decodeFixture(new Uint8Array()), "");
});

Deno.test("decodeFixture decides by the magic bytes, not by a name", () => {
  assert.equal(isGzip(gzipSync(BYTES)), true);
  assert.equal(isGzip(BYTES), false);
  assert.equal(isGzip(new Uint8Array([0x1f])), false);
  assert.equal(isGzip(new TextEncoder().encode("\u001f\u008b")), false);
});

Deno.test("decodeFixture rejects truncated gzip with the rule it breaks", async () => {
  const gz = gzipSync(new TextEncoder().encode(TEXT.repeat(200)));
  await assert.rejects(
    () => decodeFixture(gz.slice(0, gz.length - 12)),
    /Cannot read fixture as its gzip data must be complete and valid/,
  );
});

Deno.test("readFixtureText of the CLI reads .jsonl.gz and .jsonl alike, and a corrupt or missing file is a usage error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/f.jsonl`, BYTES);
    await Deno.writeFile(`${dir}/f.jsonl.gz`, gzipSync(BYTES));
    await Deno.writeFile(`${dir}/bad.jsonl.gz`, gzipSync(BYTES).slice(0, 20));
    assert.equal(await readFixtureText(`${dir}/f.jsonl`), TEXT);
    assert.equal(await readFixtureText(`${dir}/f.jsonl.gz`), TEXT);
    assert.deepEqual(
      parseFixture(await readFixtureText(`${dir}/f.jsonl.gz`)),
      parseFixture(TEXT),
    );
    await assert.rejects(
      () => readFixtureText(`${dir}/bad.jsonl.gz`),
      (error) =>
        error instanceof UsageError &&
        /bad\.jsonl\.gz.*gzip/.test(error.message),
    );
    await assert.rejects(
      () => readFixtureText(`${dir}/missing.jsonl.gz`),
      UsageError,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the benchmarks' readFixtureText reads a gzipped fixture under the root it is given", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/f.jsonl.gz`, gzipSync(BYTES));
    const root = new URL(`file://${dir}/`);
    assert.equal(await readBenchFixture(root, "f.jsonl.gz"), TEXT);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
