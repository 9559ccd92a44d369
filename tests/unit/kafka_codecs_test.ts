import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import fc from "fast-check";
import { CompressionCodecs, CompressionTypes } from "kafkajs";
// kafkajs's own record batch encoder and decoder, to check the codecs where
// kafkajs calls them. No import map entry reaches these paths.
// deno-lint-ignore no-import-prefix
import { RecordBatch } from "npm:kafkajs@2.2.4/src/protocol/recordBatch/v0/index.js";
// deno-lint-ignore no-import-prefix
import Record from "npm:kafkajs@2.2.4/src/protocol/recordBatch/record/v0/index.js";
// deno-lint-ignore no-import-prefix
import decodeRecordBatch from "npm:kafkajs@2.2.4/src/protocol/recordBatch/v0/decoder.js";
// deno-lint-ignore no-import-prefix
import Decoder from "npm:kafkajs@2.2.4/src/protocol/decoder.js";
// deno-lint-ignore no-import-prefix
import snappy from "npm:snappyjs@0.7.0";
import {
  CompressionCodecError,
  lz4Codec,
  MAX_DECOMPRESSED_BYTES,
  registerCompressionCodecs,
  snappyCodec,
  zstdCodec,
} from "../../src/adapters/kafka_codecs.ts";

/** 40 JSON lines, 1190 bytes: the input of the two CLI vectors below. */
const PLAIN = Array.from(
  { length: 40 },
  (_, i) => `{"videoId":"vid-${String(i % 5).padStart(4, "0")}","n":${i}}\n`,
).join("");

/** `zstd -19` (v1.5.4) of PLAIN. */
const ZSTD_CLI =
  "KLUv/WSmA4UDABIFDxGg7ZM0PjyusFvIlwkZAxI8AmCm3d3d3d3////ftm3b1kTQnhsXJWT3t8FUFV4QQVV1MBeDCmzBxlwMMjGoEeDv/xmgM0oHEeiEXxFgwvMDX8vEl1ymJSy2QhWlAEVOYCIUeMgJHXhAFIH3VwEbfteo";

/**
 * `lz4 --content-size -BX` (v1.9.4) of PLAIN: a frame with content size,
 * block checksums and a content checksum.
 */
const LZ4_CLI =
  "BCJNGHxApgQAAAAAAADaBQEAALB7InZpZGVvSWQiOgoA7y0wMDAwIiwibiI6MH0KHQAAEjEdAB8xHQACEjIdAB8yHQACEjMdAB8zHQACEjQdAB80HQACA5EAHzUdAAIDkQAfNh0AAgORAB83HQACA5EAHzgdAAIDkQAfOR0AAgORAB8xIwELDyQBCh8xJQEKHzEmAQofMScBCh8xKAEKHzEpAQofMSoBCh8xKwEKHzEsAQofMiwBCh8yLAEKHzIsAQofMiwBCh8yLAEKHzIsAQofMiwBCh8yLAEKHzIsAQofMiwBCh8zLAEKHzMsAQofMywBCh8zLAEKHzMsAQofMywBCh8zLAEKHzMsAQofMywBCVA6Mzl9CvQLZ5wAAAAARCbm8A==";

const PROPERTY = { seed: 20260314, numRuns: 100 };

const bytes = () => fc.uint8Array({ maxLength: 4096 });

/** Bytes that compress well, as real batches of JSON do. */
const repetitive = () =>
  fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.nat(200)).map((
    [unit, times],
  ) => new Uint8Array(Array.from({ length: times }, () => [...unit]).flat()));

function encoder(data: Uint8Array): { buffer: Buffer } {
  return { buffer: Buffer.from(data) };
}

/** Frames raw snappy blocks as the Java client's xerial SnappyOutputStream does. */
function xerialFrame(chunks: Uint8Array[]): Buffer {
  const header = Buffer.from([
    0x82,
    ...Buffer.from("SNAPPY"),
    0x00,
    0,
    0,
    0,
    1,
    0,
    0,
    0,
    1,
  ]);
  const blocks = chunks.map((chunk) => {
    const compressed = Buffer.from(snappy.compress(Buffer.from(chunk)));
    const length = Buffer.alloc(4);
    length.writeUInt32BE(compressed.length);
    return Buffer.concat([length, compressed]);
  });
  return Buffer.concat([header, ...blocks]);
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail("the promise must reject");
}

Deno.test("snappyCodec decompresses what it compressed, as raw snappy", async () => {
  await fc.assert(
    fc.asyncProperty(fc.oneof(bytes(), repetitive()), async (data) => {
      const compressed = await snappyCodec.compress(encoder(data));
      assert.ok(Buffer.isBuffer(compressed));
      assert.notEqual(compressed[0], 0x82, "raw snappy, not xerial-framed");
      assert.deepEqual(
        await snappyCodec.decompress(compressed),
        Buffer.from(data),
      );
    }),
    PROPERTY,
  );
});

Deno.test("snappyCodec decompresses the xerial framing of the Java client, block after block", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.oneof(bytes(), repetitive()), { maxLength: 5 }),
      async (chunks) => {
        const decompressed = await snappyCodec.decompress(xerialFrame(chunks));
        assert.deepEqual(decompressed, Buffer.concat(chunks));
      },
    ),
    PROPERTY,
  );
});

Deno.test("snappyCodec rejects a truncated xerial block naming the codec", async () => {
  const frame = xerialFrame([new TextEncoder().encode(PLAIN)]);
  const error = await rejection(
    snappyCodec.decompress(frame.subarray(0, frame.length - 3)),
  );
  assert.ok(error instanceof CompressionCodecError);
  assert.equal(error.codec, "snappy");
  assert.match(
    error.message,
    /snappy data is invalid: xerial block .* must fit/,
  );
});

Deno.test("snappyCodec rejects a raw stream cut short instead of padding it with zeros", async () => {
  const compressed = await snappyCodec.compress(
    encoder(new TextEncoder().encode(PLAIN)),
  );
  for (const cut of [1, 5, 20]) {
    const error = await rejection(
      snappyCodec.decompress(compressed.subarray(0, compressed.length - cut)),
    );
    assert.ok(error instanceof CompressionCodecError, `cut ${cut}: ${error}`);
    assert.equal(error.retriable, false, "decoding again cannot help");
  }
});

Deno.test("snappyCodec rejects a copy that points before the start of the output", async () => {
  // Length 8, then a 1-byte-offset copy of 4 bytes from offset 1 with nothing decoded yet.
  const error = await rejection(
    snappyCodec.decompress(Buffer.from([8, 0x01, 0x01])),
  );
  assert.ok(error instanceof CompressionCodecError);
  assert.match(
    error.message,
    /snappy copy at byte 3 must point into the output: offset 1, 0 bytes decoded/,
  );
});

Deno.test("snappyCodec rejects a declared length beyond MAX_DECOMPRESSED_BYTES before allocating it", async () => {
  // Varint 2^32 - 1: a corrupt header asking for 4 GiB.
  const error = await rejection(
    snappyCodec.decompress(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00])),
  );
  assert.ok(error instanceof CompressionCodecError);
  assert.equal(MAX_DECOMPRESSED_BYTES, 268435456);
  assert.match(
    error.message,
    /must be at most 268435456 bytes \(MAX_DECOMPRESSED_BYTES\): current value is 4294967295/,
  );
});

Deno.test("lz4Codec decompresses what it compressed, as an LZ4 frame", async () => {
  await fc.assert(
    fc.asyncProperty(fc.oneof(bytes(), repetitive()), async (data) => {
      const compressed = await lz4Codec.compress(encoder(data));
      assert.ok(Buffer.isBuffer(compressed));
      assert.equal(compressed.readUInt32LE(0), 0x184d2204, "LZ4 frame magic");
      assert.deepEqual(
        await lz4Codec.decompress(compressed),
        Buffer.from(data),
      );
    }),
    PROPERTY,
  );
});

Deno.test("lz4Codec decompresses a frame of the lz4 CLI with content size and checksums", async () => {
  const decompressed = await lz4Codec.decompress(
    Buffer.from(LZ4_CLI, "base64"),
  );
  assert.equal(decompressed.toString("utf8"), PLAIN);
});

Deno.test("lz4Codec rejects a block longer than the input naming the codec", async () => {
  const frame = Buffer.from(LZ4_CLI, "base64");
  const error = await rejection(
    lz4Codec.decompress(frame.subarray(0, frame.length - 40)),
  );
  assert.ok(error instanceof CompressionCodecError);
  assert.equal(error.codec, "lz4");
  assert.match(error.message, /lz4 data is invalid: LZ4 block must fit/);
});

Deno.test("zstdCodec decompresses a frame of the zstd CLI", async () => {
  const decompressed = await zstdCodec.decompress(
    Buffer.from(ZSTD_CLI, "base64"),
  );
  assert.ok(Buffer.isBuffer(decompressed));
  assert.equal(decompressed.toString("utf8"), PLAIN);
});

Deno.test("zstdCodec rejects compression, since freshet only reads zstd", async () => {
  const error = await rejection(zstdCodec.compress(encoder(new Uint8Array(8))));
  assert.ok(error instanceof CompressionCodecError);
  assert.equal(error.codec, "zstd");
  assert.match(error.message, /Cannot compress with zstd/);
});

Deno.test("each codec rejects bytes that are not its format with a CompressionCodecError", async () => {
  const garbage = Buffer.from("this is not compressed at all, not even a bit");
  for (
    const [name, codec] of [["snappy", snappyCodec], ["lz4", lz4Codec], [
      "zstd",
      zstdCodec,
    ]] as const
  ) {
    const error = await rejection(codec.decompress(garbage));
    assert.ok(error instanceof CompressionCodecError, `${name}: ${error}`);
    assert.equal(error.codec, name);
    assert.match(
      error.message,
      new RegExp(
        `^Cannot decompress a Kafka batch as its ${name} data is invalid: .+ \\(45 compressed bytes\\)$`,
      ),
    );
  }
});

Deno.test("registerCompressionCodecs() installs the codecs in kafkajs and can be called twice", () => {
  registerCompressionCodecs();
  const first = CompressionCodecs[CompressionTypes.Snappy];
  registerCompressionCodecs();
  assert.equal(CompressionCodecs[CompressionTypes.Snappy], first);
  assert.equal(CompressionCodecs[CompressionTypes.Snappy](), snappyCodec);
  assert.equal(CompressionCodecs[CompressionTypes.LZ4](), lz4Codec);
  assert.equal(CompressionCodecs[CompressionTypes.ZSTD](), zstdCodec);
});

Deno.test("kafkajs decodes record batches it compressed with snappy or lz4 once the codecs are registered", async () => {
  registerCompressionCodecs();
  for (const compression of [CompressionTypes.Snappy, CompressionTypes.LZ4]) {
    const records = [0, 1, 2].map((i) =>
      Record({
        offsetDelta: i,
        timestampDelta: 0,
        key: Buffer.from(`vid-${i}`),
        value: Buffer.from(PLAIN.slice(i * 30)),
        headers: {},
      })
    );
    const encoded = await RecordBatch({
      compression,
      records,
      lastOffsetDelta: 2,
      firstTimestamp: 1_000,
      maxTimestamp: 1_000,
    });
    const decoded = await decodeRecordBatch(new Decoder(encoded.buffer));
    assert.deepEqual(
      decoded.records.map((
        r: { offset: string; key: Buffer; value: Buffer },
      ) => [
        r.offset,
        r.key.toString(),
        r.value.toString(),
      ]),
      [0, 1, 2].map((i) => [String(i), `vid-${i}`, PLAIN.slice(i * 30)]),
      `compression type ${compression}`,
    );
  }
});
