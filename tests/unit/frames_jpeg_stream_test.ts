import assert from "node:assert/strict";
import fc from "fast-check";
import { JpegStreamSplitter } from "../../src/sources/frames/jpeg_stream.ts";
import { grayJpeg, patternJpeg, uniformJpeg } from "./frames_images.ts";

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

const text = (s: string) => new TextEncoder().encode(s);

/** Splits `stream` fed in pieces that end at `cuts`. */
function split(stream: Uint8Array, cuts: number[] = []): Uint8Array[] {
  const splitter = new JpegStreamSplitter();
  const out: Uint8Array[] = [];
  let from = 0;
  for (
    const cut of [...cuts.filter((c) => c > 0 && c < stream.length)].sort((
      a,
      b,
    ) => a - b)
  ) {
    out.push(...splitter.push(stream.subarray(from, cut)));
    from = cut;
  }
  out.push(...splitter.push(stream.subarray(from)));
  return out;
}

const jpegs = [
  await patternJpeg(160, 90, 70),
  await uniformJpeg(48, 32, [250, 250, 250]),
  grayJpeg(64, 64, 255),
  await patternJpeg(320, 240, 95),
];

Deno.test("JpegStreamSplitter cuts back-to-back JPEGs into the same JPEGs", () => {
  assert.deepEqual(split(concat(...jpegs)), jpegs);
});

Deno.test("JpegStreamSplitter gives the same JPEGs however the stream is chunked", () => {
  const stream = concat(...jpegs);
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: stream.length }), { maxLength: 40 }),
      (cuts) => {
        assert.deepEqual(split(stream, cuts), jpegs);
      },
    ),
    { numRuns: 60 },
  );
  // One byte at a time.
  assert.deepEqual(
    split(stream, Array.from({ length: stream.length }, (_, i) => i)),
    jpegs,
  );
});

Deno.test("JpegStreamSplitter skips multipart headers and junk between JPEGs", () => {
  const part = (jpeg: Uint8Array) =>
    concat(
      text(
        `--frame\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\n\r\n`,
      ),
      jpeg,
      text("\r\n"),
    );
  const stream = concat(
    text("junk\xff"),
    ...jpegs.map(part),
    text("--frame--\r\n"),
  );
  assert.deepEqual(split(stream), jpegs);
});

Deno.test("JpegStreamSplitter does not end a JPEG at an EOI inside a marker segment", () => {
  // An APP1 segment holding a whole JPEG (as an EXIF thumbnail does).
  const thumbnail = grayJpeg(8, 8, 10);
  const outer = jpegs[0]!;
  const length = thumbnail.length + 2;
  const app1 = concat(
    new Uint8Array([0xff, 0xe1, length >> 8, length & 0xff]),
    thumbnail,
  );
  const with_thumbnail = concat(outer.subarray(0, 2), app1, outer.subarray(2));
  assert.deepEqual(split(concat(with_thumbnail, jpegs[1]!)), [
    with_thumbnail,
    jpegs[1]!,
  ]);
});

Deno.test("JpegStreamSplitter reads stuffed bytes, restart markers and several scans", () => {
  // Structure only (not decodable): SOI, SOF, SOS + data with FF 00 and an
  // RST marker, DHT, a second SOS + data, EOI.
  const jpeg = new Uint8Array([
    0xff,
    0xd8,
    0xff,
    0xc2,
    0x00,
    0x0b,
    8,
    0,
    8,
    0,
    8,
    1,
    1,
    0x11,
    0,
    0xff,
    0xda,
    0x00,
    0x08,
    1,
    1,
    0,
    0,
    63,
    0,
    0x12,
    0xff,
    0x00,
    0x34,
    0xff,
    0xd3,
    0x56,
    0xff,
    0xc4,
    0x00,
    0x04,
    0x00,
    0x00,
    0xff,
    0xff,
    0xda,
    0x00,
    0x08,
    1,
    1,
    0,
    1,
    63,
    0,
    0x78,
    0xff,
    0x00,
    0xff,
    0xd9,
  ]);
  assert.deepEqual(split(concat(jpeg, jpeg)), [jpeg, jpeg]);
});

Deno.test("JpegStreamSplitter drops a JPEG cut short by the next one", () => {
  const cut = jpegs[0]!.subarray(0, 400);
  assert.deepEqual(split(concat(cut, jpegs[1]!, jpegs[2]!)), [
    jpegs[1]!,
    jpegs[2]!,
  ]);
  const header_cut = jpegs[0]!.subarray(0, 10);
  assert.deepEqual(split(concat(header_cut, jpegs[1]!)), [jpegs[1]!]);
});

Deno.test("JpegStreamSplitter holds an unfinished JPEG and refuses one over max_bytes", () => {
  const jpeg = jpegs[0]!;
  let sos = 2;
  while (!(jpeg[sos] === 0xff && jpeg[sos + 1] === 0xda)) sos++;
  const scan_start = sos + 2 + ((jpeg[sos + 2]! << 8) | jpeg[sos + 3]!);
  const splitter = new JpegStreamSplitter({ max_bytes: 1000 + scan_start });
  assert.deepEqual(splitter.push(jpeg.subarray(0, scan_start)), []);
  assert.equal(splitter.pending, scan_start);
  // Entropy-coded data without a marker: the JPEG never ends.
  assert.deepEqual(splitter.push(new Uint8Array(1000).fill(0x11)), []);
  assert.throws(
    () => splitter.push(new Uint8Array(1).fill(0x11)),
    new RegExp(
      `a JPEG must be at most ${1000 + scan_start} bytes: current value is ${
        1001 + scan_start
      } bytes`,
    ),
  );
});
