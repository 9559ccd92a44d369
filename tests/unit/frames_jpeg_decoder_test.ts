import assert from "node:assert/strict";
import {
  JpegDecodeError,
  JpegDecoder,
} from "../../src/jobs/frames/jpeg_decoder.ts";
import { patternJpeg, scrambled, uniformJpeg } from "./frames_images.ts";

Deno.test("JpegDecoder.decode() gives RGB pixels of a colour JPEG", async () => {
  const jpeg = await uniformJpeg(33, 17, [200, 100, 50]);
  const decoder = new JpegDecoder();
  const seen = decoder.decode(jpeg, (image) => ({
    width: image.width,
    height: image.height,
    format: image.format,
    channels: image.channels,
    length: image.pixels.length,
    first: Array.from(image.pixels.subarray(0, 3)),
  }));
  assert.deepEqual(
    { ...seen, first: undefined },
    {
      width: 33,
      height: 17,
      format: "rgb",
      channels: 3,
      length: 33 * 17 * 3,
      first: undefined,
    },
  );
  const want = [200, 100, 50];
  seen.first.forEach((got, i) => {
    assert.ok(Math.abs(got - want[i]!) <= 2, `${seen.first} vs ${want}`);
  });
});

Deno.test("JpegDecoder.decode() throws JpegDecodeError for truncated and non-JPEG data", async () => {
  const jpeg = await patternJpeg(160, 90);
  const decoder = new JpegDecoder();
  for (
    const bad of [
      jpeg.slice(0, jpeg.length >> 1),
      jpeg.slice(0, jpeg.length - 2),
      new Uint8Array([0xff, 0xd8, 0xff, 0xd9]),
      new Uint8Array(100).fill(7),
    ]
  ) {
    assert.throws(
      () => decoder.decode(bad, () => null),
      JpegDecodeError,
    );
  }
  assert.equal(decoder.decode(jpeg, (image) => image.width), 160);
});

Deno.test("JpegDecoder keeps decoding after a thousand decoder traps", async () => {
  // Scrambled scan data makes imagescript's decoder panic (a Wasm trap); each
  // trap leaks the instance's stack, which kills an instance within a few
  // hundred traps unless a fresh one replaces it.
  const jpeg = await patternJpeg(320, 180);
  const bad = scrambled(jpeg, 700, 1400);
  const decoder = new JpegDecoder();
  let traps = 0;
  for (let i = 0; i < 1000; i++) {
    try {
      decoder.decode(bad, () => null);
    } catch (error) {
      assert.ok(error instanceof JpegDecodeError);
      if (/stopped/.test(error.message)) traps++;
    }
  }
  assert.ok(traps > 900, `only ${traps} traps: the test data no longer traps`);
  assert.equal(decoder.decode(jpeg, (image) => image.height), 180);
  assert.ok(decoder.instances > 1);
});

Deno.test("JpegDecoder does not grow its memory over repeated failed and good decodes", async () => {
  const jpeg = await patternJpeg(320, 180);
  const decoder = new JpegDecoder();
  const sizes: number[] = [];
  for (let i = 0; i < 200; i++) {
    decoder.decode(jpeg, (image) => {
      if (i % 50 === 49) sizes.push(image.pixels.buffer.byteLength);
    });
    assert.throws(() => decoder.decode(jpeg.slice(0, 2000), () => null));
  }
  assert.equal(decoder.instances, 1);
  assert.equal(new Set(sizes).size, 1, `memory grew: ${sizes}`);
});
