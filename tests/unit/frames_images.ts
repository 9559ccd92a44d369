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
