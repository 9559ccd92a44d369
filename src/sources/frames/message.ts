/**
 * The `video_frames` message of a frame, as the original producer sends it:
 * keyed by `source`, the JPEG base64-encoded in `frame_data`.
 *
 * @module
 */

import { readJpegHeader } from "../../jobs/frames/jpeg_header.ts";
import type { Frame } from "./frame.ts";

/** Topic the `frames` job consumes. */
export const VIDEO_FRAMES_TOPIC = "video_frames";

/** Options of {@linkcode frameMessage}. */
export interface FrameMessageOptions {
  /** The message's `metadata` object. Default: `{}`. */
  metadata?: Record<string, unknown>;
  /**
   * Write `timestamp` without a zone, with microseconds, as Python's
   * `datetime.isoformat()` does (`2024-01-15T10:30:00.123000`, UTC wall
   * time), like producers modelled on the original pipeline. Default: false
   * (`2024-01-15T10:30:00.123Z`).
   */
  zoneless_timestamp?: boolean;
}

/** A message to produce: key and JSON value. */
export interface FrameMessage {
  key: string;
  value: string;
}

/**
 * The message of `frame`. `frame_channels` is the JPEG's component count (1
 * for greyscale, 3 for colour; 3 when the header cannot be read), and
 * `frame_size_bytes` the JPEG's size; `timestamp` is ISO-8601 UTC with
 * milliseconds.
 */
export function frameMessage(
  frame: Frame,
  options: FrameMessageOptions = {},
): FrameMessage {
  const { metadata = {}, zoneless_timestamp = false } = options;
  const header = readJpegHeader(frame.jpeg);
  const iso = new Date(frame.timestamp_ms).toISOString();
  const value = {
    frame_id: frame.frame_id,
    timestamp: zoneless_timestamp ? `${iso.slice(0, -1)}000` : iso,
    source: frame.source,
    frame_data: frame.jpeg.toBase64(),
    frame_width: frame.width,
    frame_height: frame.height,
    frame_channels: header.ok ? header.header.components : 3,
    frame_size_bytes: frame.jpeg.length,
    metadata,
  };
  return { key: frame.source, value: JSON.stringify(value) };
}
