/**
 * The flags of `freshet produce`'s frame sources, apart from the sources
 * themselves: the sources encode JPEG with imagescript's native module,
 * which needs `--allow-ffi` as soon as it is loaded, so the CLI loads them
 * only when a frame source is asked for (`deno task sim` runs without it).
 *
 * @module
 */

import type { ParsedArgs } from "./args.ts";

/** The frame sources' flags that take a value, with their help. */
export const FRAME_VALUE_FLAGS: Record<string, string> = {
  images: "frames: send the .jpg/.jpeg/.png files of a folder, in name order",
  video: "frames: send a video file's frames (through ffmpeg)",
  webcam:
    "frames: capture a camera device such as /dev/video0 (through ffmpeg)",
  mjpeg: "frames: read an HTTP MJPEG stream (multipart/x-mixed-replace)",
  size:
    "frames: WIDTHxHEIGHT of synthetic frames (default 1280x720), or scale video and webcam frames to it",
  fps:
    "frames per second (default: 1 for --images, 5 for --video, --webcam and --synthetic; --mjpeg: as served)",
  source:
    "frames' source and message key (default: the folder, file, device or host name; 'synthetic')",
  frames:
    "stop after N frames (default: the whole folder or video, else no limit)",
  duration: "stop after S seconds of frames (by the frames' timestamps)",
  seed: "seed of the --synthetic scene (default 1)",
};

/** The frame sources' on/off flags, with their help. */
export const FRAME_BOOLEAN_FLAGS: Record<string, string> = {
  synthetic:
    "frames: send seeded generated frames (moving shapes over a drifting gradient)",
  loop: "frames: start the folder or video again at its end",
};

/** The frame sources that take a value. */
export const SOURCE_FLAGS = ["images", "video", "webcam", "mjpeg"] as const;

/**
 * Whether the command line uses a frame source's flags (a source, or a flag
 * that needs one: then `chooseFrameSource` says which is missing).
 */
export function wantsFrameSource(parsed: ParsedArgs): boolean {
  return Object.keys(FRAME_VALUE_FLAGS).some((f) => parsed.values.has(f)) ||
    Object.keys(FRAME_BOOLEAN_FLAGS).some((f) => parsed.booleans.has(f));
}
