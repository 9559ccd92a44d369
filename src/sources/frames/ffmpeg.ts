/**
 * Frames from a video file (`--video FILE`) or a webcam (`--webcam DEVICE`)
 * through the `ffmpeg` program (Debian's package `ffmpeg`): ffmpeg decodes
 * and re-encodes to JPEG at `fps` and writes the JPEGs back to back to its
 * standard output (`-f image2pipe -c:v mjpeg -`), which
 * {@linkcode JpegStreamSplitter} cuts into frames.
 *
 * A video file is replayed at `fps` by a {@linkcode FramePacer} (ffmpeg
 * blocks on the pipe meanwhile); a webcam paces itself and its frames are
 * stamped on arrival.
 *
 * @module
 */

import type { Clock } from "../../ports.ts";
import { SystemClock } from "../../adapters/clock.ts";
import {
  type Frame,
  frameId,
  FramePacer,
  jpegSize,
  requireFps,
} from "./frame.ts";
import { JpegStreamSplitter } from "./jpeg_stream.ts";

/** ffmpeg is not installed (or not at the given path). */
export class FfmpegMissingError extends Error {
  override name = "FfmpegMissingError";
}

/** Options shared by {@linkcode videoFrames} and {@linkcode webcamFrames}. */
export interface FfmpegFrameOptions {
  /** Frames per second ffmpeg emits. Default: 5. */
  fps?: number;
  /** The frames' `source`. Default: the file's name, or the device's. */
  source?: string;
  /**
   * JPEG quality on ffmpeg's scale, 2 (best) to 31 (smallest). Default: 5.
   */
  quality?: number;
  /** Scale every frame to this size. Default: the input's size. */
  size?: { width: number; height: number };
  /** Paces (video) or stamps (webcam) the frames. Default: the system clock. */
  clock?: Clock;
  /** The ffmpeg program. Default: `ffmpeg` on the PATH. */
  ffmpeg_path?: string;
}

/** Options of {@linkcode videoFrames}. */
export interface VideoFrameOptions extends FfmpegFrameOptions {
  /** Start the video again at its end, forever. Default: false. */
  loop?: boolean;
}

/** Options of {@linkcode webcamFrames}. */
export interface WebcamFrameOptions extends FfmpegFrameOptions {
  /**
   * ffmpeg's input format (`-f`) for the device: `v4l2` on Linux,
   * `avfoundation` on macOS, `dshow` on Windows. Default: `v4l2`.
   */
  input_format?: string;
}

/** Replays `file` as frames at `fps` through ffmpeg. */
export async function* videoFrames(
  file: string,
  options: VideoFrameOptions = {},
): AsyncGenerator<Frame> {
  const { fps = 5, loop = false, clock = new SystemClock() } = options;
  const what = `video '${file}'`;
  requireFps(fps, `read frames from ${what}`);
  const source = options.source ?? baseName(file);
  const args = [
    ...(loop ? ["-stream_loop", "-1"] : []),
    "-i",
    file,
    ...outputArgs(fps, options),
  ];
  const pacer = new FramePacer(fps, clock);
  for await (const jpeg of ffmpegJpegs(args, what, options.ffmpeg_path)) {
    const { width, height } = jpegSize(jpeg, what);
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
}

/** Captures frames from a camera `device` (such as `/dev/video0`) through ffmpeg. */
export async function* webcamFrames(
  device: string,
  options: WebcamFrameOptions = {},
): AsyncGenerator<Frame> {
  const {
    fps = 5,
    input_format = "v4l2",
    clock = new SystemClock(),
  } = options;
  const what = `webcam '${device}'`;
  requireFps(fps, `capture frames from ${what}`);
  const source = options.source ?? baseName(device);
  const args = [
    "-f",
    input_format,
    ...(input_format === "v4l2" ? ["-framerate", String(fps)] : []),
    "-i",
    device,
    ...outputArgs(fps, options),
  ];
  let index = 0;
  for await (const jpeg of ffmpegJpegs(args, what, options.ffmpeg_path)) {
    const { width, height } = jpegSize(jpeg, what);
    const timestamp_ms = clock.now();
    yield {
      jpeg,
      width,
      height,
      timestamp_ms,
      source,
      frame_id: frameId(index++, timestamp_ms),
    };
  }
}

function outputArgs(fps: number, options: FfmpegFrameOptions): string[] {
  const { quality = 5, size } = options;
  if (!Number.isInteger(quality) || quality < 2 || quality > 31) {
    throw new RangeError(
      `Cannot run ffmpeg as 'quality' must be an integer from 2 to 31: current value is ${quality}`,
    );
  }
  const filters = [`fps=${fps}`];
  if (size !== undefined) filters.push(`scale=${size.width}:${size.height}`);
  return [
    "-an",
    "-vf",
    filters.join(","),
    // Full-range YUV, as JPEG (JFIF) defines it.
    "-pix_fmt",
    "yuvj420p",
    "-f",
    "image2pipe",
    "-c:v",
    "mjpeg",
    "-q:v",
    String(quality),
    "-",
  ];
}

/**
 * The JPEGs ffmpeg writes when run with `args`. Stopping the iteration early
 * stops ffmpeg; ffmpeg failing throws with the end of its error output.
 */
export async function* ffmpegJpegs(
  args: string[],
  what: string,
  ffmpeg_path = "ffmpeg",
): AsyncGenerator<Uint8Array> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(ffmpeg_path, {
      args: ["-hide_banner", "-nostdin", "-loglevel", "error", ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new FfmpegMissingError(
        `Cannot read frames from ${what} as the program '${ffmpeg_path}' was not found: install the Debian package ffmpeg (apt-get install ffmpeg)`,
      );
    }
    throw error;
  }
  const stderr = tail(child.stderr, 2048);
  const reader = child.stdout.getReader();
  const splitter = new JpegStreamSplitter();
  let exhausted = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      for (const jpeg of splitter.push(value)) yield jpeg;
    }
    exhausted = true;
  } finally {
    if (!exhausted) {
      // The consumer stopped early (or splitting failed): stop ffmpeg.
      try {
        child.kill("SIGTERM");
      } catch {
        // Already exited.
      }
      await reader.cancel().catch(() => {});
    }
    reader.releaseLock();
    await child.status;
    await stderr;
  }
  const status = await child.status;
  if (!status.success) {
    const errors = (await stderr).trim();
    throw new Error(
      `Cannot read frames from ${what} as ffmpeg must succeed: it exited with code ${status.code}: ${
        errors || "(no error output)"
      }`,
    );
  }
}

/** The last `max_chars` characters of a stream's text, once it ends. */
async function tail(
  stream: ReadableStream<Uint8Array>,
  max_chars: number,
): Promise<string> {
  let text = "";
  const decoder = new TextDecoder();
  try {
    for await (const chunk of stream) {
      text = (text + decoder.decode(chunk, { stream: true })).slice(-max_chars);
    }
  } catch {
    // The process was killed: keep what was read.
  }
  return text;
}

function baseName(path: string): string {
  const parts = path.split("/").filter((part) => part !== "");
  return parts.at(-1) ?? path;
}
