/**
 * JPEG decoding with imagescript's WebAssembly decoder
 * (`imagescript/wasm/any/jpeg.wasm`), called directly rather than through
 * `Image.decode`:
 *
 * - `Image.decode` expands every pixel to RGBA in JavaScript, which costs
 *   several times the decode itself at 1080p; here the decoded pixels are read
 *   in place in the decoder's memory.
 * - `Image.decode` loads the Wasm file through Node's `fs` and reads an
 *   environment variable, so it needs `--allow-read` and `--allow-env` and
 *   does not survive `deno bundle`; here the Wasm bytes are embedded as
 *   base64 (`jpeg_wasm.ts`, written by `scripts/gen_jpeg_wasm.ts`), which
 *   needs no permission, is inlined by the bundler and, unlike a bytes
 *   import, is accepted by `deno publish`.
 * - A panic inside the decoder traps the Wasm instance without unwinding its
 *   shadow stack, so every trap leaks stack; a few hundred traps leave the
 *   instance unusable. The module is therefore compiled once from its bytes
 *   and a fresh instance replaces one that trapped.
 *
 * @module
 */

import { JPEG_WASM_BASE64 } from "./jpeg_wasm.ts";

/** Pixel layouts the decoder produces. */
export type PixelFormat = "gray" | "rgb";

/** A decoded image, valid only during the callback it is passed to. */
export interface DecodedJpeg {
  width: number;
  height: number;
  format: PixelFormat;
  /** Channels per pixel: 1 for `gray`, 3 for `rgb`. */
  channels: number;
  /** Row-major samples, `channels` per pixel, viewing the decoder's memory. */
  pixels: Uint8Array;
}

/** The decoder could not decode the data. */
export class JpegDecodeError extends Error {
  override name = "JpegDecodeError";
}

/** The exports of imagescript's jpeg.wasm that decoding uses. */
interface JpegExports {
  memory: WebAssembly.Memory;
  walloc(size: number): number;
  wlen(): number;
  decode(ptr: number, length: number, width: number, height: number): number;
  decode_width(handle: number): number;
  decode_height(handle: number): number;
  decode_format(handle: number): number;
  decode_buffer(handle: number): number;
  decode_free(handle: number): void;
}

// The decoder's pixel formats (jpeg-decoder's PixelFormat, in order).
const FORMAT_L8 = 0;
const FORMAT_RGB24 = 1;
const FORMAT_CMYK32 = 2;

let compiled: WebAssembly.Module | undefined;

function jpegModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(Uint8Array.fromBase64(JPEG_WASM_BASE64));
  return compiled;
}

/**
 * One instance of the decoder. Not reentrant: decode one image at a time
 * (the pixels passed to a callback live in the instance's memory).
 */
export class JpegDecoder {
  #exports: JpegExports | undefined;
  #instances = 0;

  /** Instances created so far: more than one means a trap replaced one. */
  get instances(): number {
    return this.#instances;
  }

  /**
   * Decodes `jpeg` and passes the image to `read`; returns what `read`
   * returns. Throws {@linkcode JpegDecodeError} when the data does not decode.
   */
  decode<T>(jpeg: Uint8Array, read: (image: DecodedJpeg) => T): T {
    const wasm = this.#instance();
    let handle: number;
    try {
      const ptr = wasm.walloc(jpeg.length);
      new Uint8Array(wasm.memory.buffer, ptr, jpeg.length).set(jpeg);
      // The decoder takes ownership of the input and frees it.
      handle = wasm.decode(ptr, jpeg.length, 0, 0);
    } catch (error) {
      // A trap (a panic in the decoder) leaves the instance's stack pointer
      // where the panic was: never call it again.
      this.#exports = undefined;
      throw new JpegDecodeError(
        `JPEG data does not decode: the decoder stopped (${
          (error as Error).message
        })`,
      );
    }
    if (handle === 0 || handle === 1) {
      throw new JpegDecodeError(
        "JPEG data does not decode: it is corrupt or uses an unsupported coding",
      );
    }
    try {
      const width = wasm.decode_width(handle);
      const height = wasm.decode_height(handle);
      const code = wasm.decode_format(handle);
      const buffer = wasm.decode_buffer(handle);
      const length = wasm.wlen();
      if (code !== FORMAT_L8 && code !== FORMAT_RGB24) {
        throw new JpegDecodeError(
          `JPEG data does not decode to greyscale or RGB: current pixel format is ${
            code === FORMAT_CMYK32 ? "CMYK" : `#${code}`
          }`,
        );
      }
      const channels = code === FORMAT_L8 ? 1 : 3;
      if (length !== width * height * channels) {
        throw new JpegDecodeError(
          `JPEG data does not decode to a whole image: ${length} bytes for ${width}x${height}x${channels}`,
        );
      }
      return read({
        width,
        height,
        format: code === FORMAT_L8 ? "gray" : "rgb",
        channels,
        pixels: new Uint8Array(wasm.memory.buffer, buffer, length),
      });
    } finally {
      wasm.decode_free(handle);
    }
  }

  #instance(): JpegExports {
    if (this.#exports === undefined) {
      const instance = new WebAssembly.Instance(jpegModule());
      this.#exports = instance.exports as unknown as JpegExports;
      this.#instances++;
    }
    return this.#exports;
  }
}
