/**
 * JPEGs for the frames tests, encoded with imagescript's encoder (which
 * needs `--allow-ffi`: `deno test -A` gives it).
 *
 * @module
 */

import { encodeJpeg, Image } from "../../src/sources/frames/jpeg_encode.ts";

/** A width × height JPEG of one colour. */
export async function uniformJpeg(
  width: number,
  height: number,
  rgb: [number, number, number],
  quality = 90,
): Promise<Uint8Array> {
  const image = new Image(width, height);
  image.fill(Image.rgbaToColor(rgb[0], rgb[1], rgb[2], 255));
  return await encodeJpeg(image, quality);
}

/** A width × height JPEG of a horizontal ramp with a vertical band, for non-uniform content. */
export async function patternJpeg(
  width: number,
  height: number,
  quality = 80,
): Promise<Uint8Array> {
  const image = new Image(width, height);
  const bitmap = image.bitmap;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = 4 * (y * width + x);
      const ramp = Math.floor((255 * x) / Math.max(1, width - 1));
      const band = x > width / 3 && x < width / 2;
      bitmap[i] = band ? 240 : ramp;
      bitmap[i + 1] = band ? 30 : (ramp + y) & 255;
      bitmap[i + 2] = band ? 60 : 255 - ramp;
      bitmap[i + 3] = 255;
    }
  }
  return await encodeJpeg(image, quality);
}

/** `jpeg` as base64, as a `video_frames` message carries it. */
export function toBase64(jpeg: Uint8Array): string {
  return jpeg.toBase64();
}

/** `jpeg` with its bytes from `from` to `to` overwritten (its end marker kept). */
export function scrambled(
  jpeg: Uint8Array,
  from: number,
  to: number,
): Uint8Array {
  const copy = jpeg.slice();
  for (let i = from; i < Math.min(to, copy.length - 2); i++) {
    copy[i] = (i * 7) & 0xff;
  }
  return copy;
}

/**
 * A uniform greyscale (one-component) baseline JPEG, written by hand since
 * neither imagescript nor ffmpeg's mjpeg encoder writes greyscale: quantizer
 * 1, every 8×8 block only a DC coefficient, so it decodes to exactly `grey`.
 * `width` and `height` must be multiples of 8.
 */
export function grayJpeg(
  width: number,
  height: number,
  grey: number,
): Uint8Array {
  if (width % 8 !== 0 || height % 8 !== 0) {
    throw new RangeError(`grayJpeg() needs multiples of 8: ${width}x${height}`);
  }
  const first_dc = (grey - 128) * 8;
  const category = first_dc === 0
    ? 0
    : Math.floor(Math.log2(Math.abs(first_dc))) + 1;
  // DC table: "00" -> the first block's category, "01" -> category 0 (the
  // other blocks repeat the same DC). AC table: "0" -> end of block.
  const dc_symbols = category === 0 ? [0] : [category, 0];
  const bytes: number[] = [0xff, 0xd8];
  const segment = (marker: number, body: number[]) => {
    bytes.push(
      0xff,
      marker,
      (body.length + 2) >> 8,
      (body.length + 2) & 0xff,
      ...body,
    );
  };
  segment(0xdb, [0x00, ...new Array(64).fill(1)]);
  segment(0xc0, [
    8,
    height >> 8,
    height & 0xff,
    width >> 8,
    width & 0xff,
    1,
    1,
    0x11,
    0,
  ]);
  const dc_counts = new Array(16).fill(0);
  dc_counts[1] = dc_symbols.length;
  segment(0xc4, [0x00, ...dc_counts, ...dc_symbols]);
  const ac_counts = new Array(16).fill(0);
  ac_counts[0] = 1;
  segment(0xc4, [0x10, ...ac_counts, 0x00]);
  segment(0xda, [1, 1, 0x00, 0, 63, 0]);
  let acc = 0;
  let filled = 0;
  const put = (value: number, length: number) => {
    for (let bit = length - 1; bit >= 0; bit--) {
      acc = (acc << 1) | ((value >> bit) & 1);
      if (++filled === 8) {
        bytes.push(acc);
        if (acc === 0xff) bytes.push(0x00);
        acc = 0;
        filled = 0;
      }
    }
  };
  const blocks = (width / 8) * (height / 8);
  for (let block = 0; block < blocks; block++) {
    if (block === 0 && category !== 0) {
      put(0b00, 2);
      put(first_dc > 0 ? first_dc : first_dc + (1 << category) - 1, category);
    } else {
      put(
        dc_symbols.length === 1 ? 0b0 : 0b01,
        dc_symbols.length === 1 ? 1 : 2,
      );
    }
    put(0, 1); // end of block
  }
  if (filled > 0) put(0xff, 8 - filled);
  bytes.push(0xff, 0xd9);
  return new Uint8Array(bytes);
}
