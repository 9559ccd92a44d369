import assert from "node:assert/strict";
import fc from "fast-check";
import {
  analyzeFrameData,
  analyzeJpeg,
  aspectLabel,
  DEFAULT_MAX_PIXELS,
  meanLuma,
  resolutionCategory,
  roundTo,
} from "../../src/jobs/frames/analysis.ts";
import { JpegDecoder } from "../../src/jobs/frames/jpeg_decoder.ts";
import {
  grayJpeg,
  patternJpeg,
  scrambled,
  toBase64,
  uniformJpeg,
} from "./frames_images.ts";

function size(width: number, height: number) {
  return { frame_width: width, frame_height: height };
}

Deno.test("analyzeJpeg() gives a uniform grey image the brightness of its grey, within 1", async () => {
  for (const grey of [0, 1, 17, 64, 127, 128, 200, 254, 255]) {
    const jpeg = await uniformJpeg(64, 48, [grey, grey, grey]);
    const result = analyzeJpeg(jpeg, size(64, 48));
    assert.ok(result.ok, JSON.stringify(result));
    assert.ok(
      Math.abs(result.analysis.brightness - grey) <= 1,
      `grey ${grey}: brightness ${result.analysis.brightness}`,
    );
  }
});

Deno.test("analyzeJpeg() reads a greyscale JPEG's samples as luma, one channel", () => {
  for (const grey of [0, 1, 127, 128, 129, 254, 255]) {
    const jpeg = grayJpeg(64, 48, grey);
    const result = analyzeJpeg(jpeg, size(64, 48));
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal(result.analysis.brightness, grey);
    assert.equal(result.analysis.channels, 1);
    assert.equal(
      result.analysis.compression_ratio,
      Math.round((64 * 48 / jpeg.length) * 100) / 100,
    );
  }
});

Deno.test("analyzeJpeg() weighs red, green and blue as Rec. 601 luma", async () => {
  // Quality 95 keeps the colour of a uniform image within about 1 level.
  const cases: Array<[[number, number, number], number]> = [
    [[255, 0, 0], 76.245],
    [[0, 255, 0], 149.685],
    [[0, 0, 255], 29.07],
    [[40, 160, 220], 131.04],
  ];
  for (const [rgb, luma] of cases) {
    const jpeg = await uniformJpeg(32, 32, rgb, 95);
    const result = analyzeJpeg(jpeg, size(32, 32));
    assert.ok(result.ok, JSON.stringify(result));
    assert.ok(
      Math.abs(result.analysis.brightness - luma) <= 1.5,
      `${rgb}: brightness ${result.analysis.brightness}, luma ${luma}`,
    );
  }
});

Deno.test("analyzeJpeg() reports ratios, labels and categories of known sizes", async () => {
  const cases: Array<[number, number, number, string, string]> = [
    [1920, 1080, 1.7778, "16:9", "FHD"],
    [1280, 720, 1.7778, "16:9", "HD"],
    [640, 480, 1.3333, "4:3", "HD"],
    [720, 480, 1.5, "3:2", "HD"],
    [2560, 1440, 1.7778, "16:9", "QHD"],
    [2560, 1080, 2.3704, "21:9", "FHD"],
    [1080, 1920, 0.5625, "9:16", "UHD"],
    [1000, 1000, 1, "1:1", "FHD"],
    [1280, 1024, 1.25, "5:4", "FHD"],
    [1920, 1200, 1.6, "16:10", "QHD"],
    [352, 288, 1.2222, "other", "HD"],
  ];
  for (const [width, height, ratio, label, category] of cases) {
    const jpeg = await uniformJpeg(width, height, [90, 90, 90], 50);
    const result = analyzeJpeg(jpeg, size(width, height));
    assert.ok(result.ok, JSON.stringify(result));
    const { analysis } = result;
    assert.deepEqual(
      [
        analysis.width,
        analysis.height,
        analysis.aspect_ratio,
        analysis.aspect_label,
        analysis.resolution_category,
      ],
      [width, height, ratio, label, category],
      `${width}x${height}`,
    );
    assert.equal(analysis.channels, 3);
    assert.equal(analysis.jpeg_bytes, jpeg.length);
    assert.equal(
      analysis.compression_ratio,
      Math.round((width * height * 3 / jpeg.length) * 100) / 100,
    );
  }
});

Deno.test("resolutionCategory() puts each boundary height in the lower category", () => {
  const cases: Array<[number, string]> = [
    [1, "HD"],
    [240, "HD"],
    [480, "HD"],
    [720, "HD"],
    [721, "FHD"],
    [1080, "FHD"],
    [1081, "QHD"],
    [1440, "QHD"],
    [1441, "UHD"],
    [2160, "UHD"],
    [4320, "UHD"],
  ];
  for (const [height, category] of cases) {
    assert.equal(resolutionCategory(height), category, `height ${height}`);
  }
});

Deno.test("aspectLabel() accepts ratios within 2 % of a named one and nothing beyond", () => {
  assert.equal(aspectLabel(1366, 768), "16:9");
  assert.equal(aspectLabel(854, 480), "16:9");
  assert.equal(aspectLabel(3440, 1440), "other");
  // 16:9 = 1.7778; 2 % either side is 1.7422 .. 1.8133.
  assert.equal(aspectLabel(17423, 10000), "16:9");
  assert.equal(aspectLabel(17421, 10000), "other");
  assert.equal(aspectLabel(18133, 10000), "16:9");
  assert.equal(aspectLabel(18135, 10000), "other");
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 8000 }),
      fc.integer({ min: 1, max: 8000 }),
      (width, height) => {
        const label = aspectLabel(width, height);
        if (label === "other") return true;
        const [w, h] = label.split(":").map(Number);
        return Math.abs(width / height - w! / h!) / (w! / h!) <= 0.02;
      },
    ),
  );
});

Deno.test("meanLuma() averages greyscale samples and weighted RGB exactly", () => {
  const width = 300;
  const height = 200; // 60,000 pixels: several int32 chunks
  const white = new Uint8Array(width * height * 3).fill(255);
  assert.equal(
    meanLuma({ width, height, format: "rgb", channels: 3, pixels: white }),
    255,
  );
  const rgb = new Uint8Array([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30]);
  assert.equal(
    meanLuma({ width: 2, height: 2, format: "rgb", channels: 3, pixels: rgb }),
    (76.245 + 149.685 + 29.07 + (2.99 + 11.74 + 3.42)) / 4,
  );
  const gray = new Uint8Array([0, 100, 200, 255]);
  assert.equal(
    meanLuma({
      width: 4,
      height: 1,
      format: "gray",
      channels: 1,
      pixels: gray,
    }),
    138.75,
  );
});

Deno.test("roundTo() rounds to the given decimals", () => {
  assert.equal(roundTo(1.77777, 4), 1.7778);
  assert.equal(roundTo(127.994, 2), 127.99);
  assert.equal(roundTo(127.996, 2), 128);
  assert.equal(roundTo(82.5, 0), 83);
});

Deno.test("analyzeJpeg() refuses data that is not a JPEG", async () => {
  const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  for (const bytes of [png, new Uint8Array(), new Uint8Array(64).fill(0xff)]) {
    const result = analyzeJpeg(bytes, size(1, 1));
    assert.ok(!result.ok);
    assert.equal(result.kind, "not-jpeg", result.reason);
  }
  const header_only = (await uniformJpeg(64, 48, [1, 2, 3])).slice(0, 20);
  const result = analyzeJpeg(header_only, size(64, 48));
  assert.ok(!result.ok);
  assert.equal(result.kind, "not-jpeg");
});

Deno.test("analyzeJpeg() reports corrupt and truncated JPEGs as undecodable", async () => {
  const jpeg = await patternJpeg(320, 180);
  for (
    const bad of [
      jpeg.slice(0, jpeg.length >> 1),
      jpeg.slice(0, jpeg.length - 2),
      scrambled(jpeg, 700, 1400),
    ]
  ) {
    const result = analyzeJpeg(bad, size(320, 180));
    assert.ok(!result.ok);
    assert.equal(result.kind, "undecodable", result.reason);
    assert.match(result.reason, /does not decode/);
  }
  assert.ok(analyzeJpeg(jpeg, size(320, 180)).ok);
});

Deno.test("analyzeJpeg() refuses a declared size that differs from the JPEG's, before decoding", async () => {
  const jpeg = await patternJpeg(320, 180);
  for (const [width, height] of [[180, 320], [320, 181], [1280, 720]]) {
    const result = analyzeJpeg(jpeg, size(width!, height!));
    assert.ok(!result.ok);
    assert.equal(result.kind, "size-mismatch");
    assert.equal(
      result.reason,
      `declared frame size must match the JPEG: declared ${width}x${height}, JPEG is 320x180`,
    );
  }
  // A corrupt body with a mismatched size: the cheap check answers first.
  const decoder = new JpegDecoder();
  const result = analyzeJpeg(scrambled(jpeg, 700, 1400), size(1, 1), {
    decoder,
  });
  assert.ok(!result.ok);
  assert.equal(result.kind, "size-mismatch");
  assert.equal(decoder.instances, 0);
});

Deno.test("analyzeJpeg() refuses frames over the pixel limit from the header alone", async () => {
  // Only a header: 20,000 x 20,000 would take 1.2 GB decoded.
  const header = new Uint8Array([
    0xff,
    0xd8,
    0xff,
    0xc0,
    0x00,
    0x11,
    8,
    0x4e,
    0x20,
    0x4e,
    0x20,
    3,
    1,
    0x22,
    0,
    2,
    0x11,
    1,
    3,
    0x11,
    1,
    0xff,
    0xd9,
  ]);
  const decoder = new JpegDecoder();
  const result = analyzeJpeg(header, size(20_000, 20_000), { decoder });
  assert.ok(!result.ok);
  assert.equal(result.kind, "too-many-pixels");
  assert.equal(
    result.reason,
    `frame must have at most ${DEFAULT_MAX_PIXELS} pixels: current value is 20000x20000 = 400000000`,
  );
  assert.equal(decoder.instances, 0, "the decoder must not be called");

  const jpeg = await uniformJpeg(100, 100, [5, 5, 5]);
  const at_limit = analyzeJpeg(jpeg, size(100, 100), { max_pixels: 10_000 });
  assert.ok(at_limit.ok);
  const over = analyzeJpeg(jpeg, size(100, 100), { max_pixels: 9_999 });
  assert.ok(!over.ok);
  assert.equal(over.kind, "too-many-pixels");
});

Deno.test("analyzeFrameData() decodes base64 strictly before analysing", async () => {
  const jpeg = await uniformJpeg(64, 48, [128, 128, 128]);
  const base64 = toBase64(jpeg);
  const good = analyzeFrameData(base64, size(64, 48));
  assert.ok(good.ok);
  assert.ok(Math.abs(good.analysis.brightness - 128) <= 1);
  for (
    const bad of [
      "not base64!",
      base64.slice(0, -1),
      base64.slice(0, 4 * 10 + 1),
      `${base64}=`,
    ]
  ) {
    const result = analyzeFrameData(bad, size(64, 48));
    assert.ok(!result.ok);
    assert.equal(result.kind, "invalid-base64", JSON.stringify(bad.slice(-8)));
    assert.match(result.reason, /^'frame_data' must be base64: /);
  }
  // Whole base64 quanta of a cut JPEG decode, but the JPEG does not.
  const cut = analyzeFrameData(base64.slice(0, 400), size(64, 48));
  assert.ok(!cut.ok);
  assert.equal(cut.kind, "undecodable");
});

Deno.test("analyzeJpeg() gives the same analysis for the same bytes", async () => {
  const jpeg = await patternJpeg(640, 360, 40);
  const first = analyzeJpeg(jpeg, size(640, 360));
  const again = analyzeJpeg(jpeg.slice(), size(640, 360), {
    decoder: new JpegDecoder(),
  });
  assert.deepEqual(first, again);
});
