/**
 * JPEG encoding for the frame sources, with imagescript's encoder. It is a
 * native Node-API module shipped in the npm package, so encoding needs
 * `--allow-ffi` (the `produce` command runs with `--allow-all`); its output
 * is the same bytes for the same pixels on a given platform.
 *
 * @module
 */

import { Image } from "imagescript";

export { Image };

/** Encodes an RGBA `image` as a JPEG at `quality` (an integer 1–100). */
export async function encodeJpeg(
  image: Image,
  quality: number,
): Promise<Uint8Array> {
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) {
    throw new RangeError(
      `Cannot encode JPEG as 'quality' must be an integer from 1 to 100: current value is ${quality}`,
    );
  }
  return await image.encodeJPEG(quality as Parameters<Image["encodeJPEG"]>[0]);
}

/** Decodes a PNG or JPEG file's bytes into an RGBA image. */
export async function decodeImage(bytes: Uint8Array): Promise<Image> {
  const decoded = await Image.decode(bytes);
  if (!(decoded instanceof Image)) {
    throw new TypeError(
      "Cannot decode image as it must be a still PNG or JPEG",
    );
  }
  return decoded;
}
