import assert from "node:assert/strict";
import { readJpegHeader } from "../../src/jobs/frames/jpeg_header.ts";
import { uniformJpeg } from "./frames_images.ts";

/** A JPEG made only of markers: SOI, the given segments, EOI. */
function markers(...segments: number[][]): Uint8Array {
  return new Uint8Array([0xff, 0xd8, ...segments.flat(), 0xff, 0xd9]);
}

/** A segment `FF marker` with `body` and its 2-byte length. */
function segment(marker: number, body: number[]): number[] {
  const length = body.length + 2;
  return [0xff, marker, length >> 8, length & 0xff, ...body];
}

/** An SOF body: precision, height, width, components (with 3 bytes each). */
function sof(width: number, height: number, components = 3): number[] {
  const body = [8, height >> 8, height & 0xff, width >> 8, width & 0xff];
  body.push(components);
  for (let c = 0; c < components; c++) body.push(c + 1, 0x11, 0);
  return body;
}

Deno.test("readJpegHeader() reads the size and components of an encoded JPEG", async () => {
  const jpeg = await uniformJpeg(320, 200, [10, 20, 30]);
  const read = readJpegHeader(jpeg);
  assert.ok(read.ok, JSON.stringify(read));
  assert.equal(read.header.width, 320);
  assert.equal(read.header.height, 200);
  assert.equal(read.header.components, 3);
  assert.equal(read.header.precision, 8);
});

Deno.test("readJpegHeader() skips APP segments and fill bytes before the frame header", () => {
  const exif = segment(0xe1, Array.from({ length: 300 }, (_, i) => i & 0xff));
  const jpeg = markers(
    segment(0xe0, [0x4a, 0x46, 0x49, 0x46, 0]),
    exif,
    [0xff, 0xff, 0xff],
    segment(0xc2, sof(65535, 1, 1)),
  );
  const read = readJpegHeader(jpeg);
  assert.ok(read.ok, JSON.stringify(read));
  assert.deepEqual(read.header, {
    width: 65535,
    height: 1,
    components: 1,
    precision: 8,
    sof_marker: 0xc2,
  });
});

Deno.test("readJpegHeader() does not take DHT, JPG or DAC segments for a frame header", () => {
  const jpeg = markers(
    segment(0xc4, [0, 0, 0, 0, 0, 0, 0, 0]),
    segment(0xc8, [0, 0, 0, 0, 0, 0]),
    segment(0xcc, [0, 0, 0, 0, 0, 0]),
    segment(0xc0, sof(640, 480)),
  );
  const read = readJpegHeader(jpeg);
  assert.ok(read.ok, JSON.stringify(read));
  assert.equal(read.header.width, 640);
  assert.equal(read.header.sof_marker, 0xc0);
});

Deno.test("readJpegHeader() refuses data that does not start with SOI", () => {
  for (
    const bytes of [
      new Uint8Array([]),
      new Uint8Array([0xff]),
      new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      new TextEncoder().encode("<html>"),
    ]
  ) {
    const read = readJpegHeader(bytes);
    assert.ok(!read.ok);
    assert.match(read.reason, /not a JPEG/);
  }
});

Deno.test("readJpegHeader() refuses a JPEG whose scan or end comes before any frame header", () => {
  const scan = readJpegHeader(markers(segment(0xda, [1, 1, 0, 0, 63, 0])));
  assert.ok(!scan.ok);
  assert.match(scan.reason, /scan data before any SOF/);
  const end = readJpegHeader(markers());
  assert.ok(!end.ok);
  assert.match(end.reason, /end of image before any SOF/);
});

Deno.test("readJpegHeader() refuses a truncated header, a bad length and a zero size", async () => {
  const jpeg = await uniformJpeg(64, 48, [0, 0, 0]);
  const read = readJpegHeader(jpeg);
  assert.ok(read.ok);
  // Cut inside the SOF segment: find it and stop two bytes into its body.
  let sof_at = 2;
  while (!(jpeg[sof_at] === 0xff && jpeg[sof_at + 1] === 0xc0)) sof_at++;
  const truncated = readJpegHeader(jpeg.slice(0, sof_at + 6));
  assert.ok(!truncated.ok);
  assert.match(truncated.reason, /truncated/);

  const bad_length = readJpegHeader(
    new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x01]),
  );
  assert.ok(!bad_length.ok);
  assert.match(bad_length.reason, /length 1/);

  const zero = readJpegHeader(markers(segment(0xc0, sof(640, 0))));
  assert.ok(!zero.ok);
  assert.match(zero.reason, /non-zero size: current value is 640x0/);

  const stray = readJpegHeader(new Uint8Array([0xff, 0xd8, 0x12, 0x34]));
  assert.ok(!stray.ok);
  assert.match(stray.reason, /expected a marker at byte 2, found 0x12/);
});
