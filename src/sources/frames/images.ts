/**
 * Frames from a folder of images (`freshet produce --images DIR`): its
 * `.jpg`, `.jpeg` and `.png` files in name order, replayed at `fps`. JPEGs
 * are sent as they are; PNGs are re-encoded as JPEG.
 *
 * @module
 */

import type { Clock } from "../../ports.ts";
import { SystemClock } from "../../adapters/clock.ts";
import { decodeImage, encodeJpeg } from "./jpeg_encode.ts";
import {
  type Frame,
  frameId,
  FramePacer,
  jpegSize,
  requireFps,
} from "./frame.ts";

/** Options of {@linkcode imageFolderFrames}. */
export interface ImageFolderOptions {
  /** Frames per second. Default: 1. */
  fps?: number;
  /** The frames' `source`. Default: the folder's name. */
  source?: string;
  /** JPEG quality (1–100) of re-encoded PNGs. Default: 85. */
  quality?: number;
  /** Start again from the first file after the last, forever. Default: false. */
  loop?: boolean;
  /** Paces the frames. Default: the system clock. */
  clock?: Clock;
}

const IMAGE_FILE = /\.(jpe?g|png)$/i;

/** The image files of `dir`, sorted by name (code-point order). */
export async function listImageFiles(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && IMAGE_FILE.test(entry.name)) names.push(entry.name);
  }
  names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return names;
}

/** Replays the images of `dir` as frames at `fps`. */
export async function* imageFolderFrames(
  dir: string,
  options: ImageFolderOptions = {},
): AsyncGenerator<Frame> {
  const {
    fps = 1,
    source = folderName(dir),
    quality = 85,
    loop = false,
    clock = new SystemClock(),
  } = options;
  requireFps(fps, `replay images from '${dir}'`);
  const names = await listImageFiles(dir);
  if (names.length === 0) {
    throw new Error(
      `Cannot replay images as folder '${dir}' must hold .jpg, .jpeg or .png files: it has none`,
    );
  }
  const pacer = new FramePacer(fps, clock);
  do {
    for (const name of names) {
      const path = `${dir.replace(/\/+$/, "")}/${name}`;
      const bytes = await Deno.readFile(path);
      const jpeg = /\.png$/i.test(name)
        ? await encodeJpeg(await decodeImage(bytes), quality)
        : bytes;
      const { width, height } = jpegSize(jpeg, `'${path}'`);
      const index = pacer.index;
      const timestamp_ms = await pacer.next();
      yield {
        jpeg,
        width,
        height,
        timestamp_ms,
        source,
        frame_id: frameId(index, timestamp_ms),
      };
    }
  } while (loop);
}

function folderName(dir: string): string {
  const parts = dir.split("/").filter((part) => part !== "" && part !== ".");
  return parts.at(-1) ?? "images";
}
