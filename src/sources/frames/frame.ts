/**
 * Video frames as the frame sources produce them, and their pacing.
 *
 * Every source is an async iterable of {@linkcode Frame}s. Replayed sources
 * (images, video files, synthetic) pace themselves at `fps` on a
 * {@linkcode Clock}: frame n is due at `start + n × 1000 / fps` and stamped
 * with that due time, so a clock that does not really sleep
 * ({@linkcode InstantClock}) replays at full speed with the same timestamps.
 * Live sources (webcam, MJPEG) stamp a frame with the clock's time when it
 * arrives.
 *
 * @module
 */

import type { Clock } from "../../ports.ts";
import { readJpegHeader } from "../../jobs/frames/jpeg_header.ts";

/** One captured frame. */
export interface Frame {
  /** The frame as a JPEG. */
  jpeg: Uint8Array;
  width: number;
  height: number;
  /** Capture time, epoch ms. */
  timestamp_ms: number;
  /** Which camera or stream the frame comes from (the message key). */
  source: string;
  /** `frame_<n>_<timestamp_ms>`, n counting from 0 per source run. */
  frame_id: string;
}

/** The id of the `index`th frame of a run, as the example shapes it. */
export function frameId(index: number, timestamp_ms: number): string {
  return `frame_${index}_${timestamp_ms}`;
}

/** Throws unless `fps` is a positive finite number. */
export function requireFps(fps: number, action: string): void {
  if (!(Number.isFinite(fps) && fps > 0)) {
    throw new RangeError(
      `Cannot ${action} as 'fps' must be a positive number: current value is ${fps}`,
    );
  }
}

/**
 * Paces frames at `fps` on `clock`: {@linkcode FramePacer.next} waits until
 * the next frame is due and returns its due time. The first frame is due at
 * once (or at `start_ms`).
 */
export class FramePacer {
  readonly #fps: number;
  readonly #clock: Clock;
  #start_ms: number | undefined;
  #index = 0;

  constructor(fps: number, clock: Clock, start_ms?: number) {
    requireFps(fps, "pace frames");
    this.#fps = fps;
    this.#clock = clock;
    this.#start_ms = start_ms;
  }

  /** Frames handed out so far. */
  get index(): number {
    return this.#index;
  }

  /** Waits until the next frame is due; returns its due time (epoch ms). */
  async next(): Promise<number> {
    this.#start_ms ??= this.#clock.now();
    // From the start, not from the previous frame: rounding never drifts.
    const due_ms = this.#start_ms + Math.round(this.#index * 1000 / this.#fps);
    this.#index++;
    const wait_ms = due_ms - this.#clock.now();
    if (wait_ms > 0) await this.#clock.sleep(wait_ms);
    return due_ms;
  }
}

/**
 * A clock whose `sleep` moves its own time forward at once: replays run as
 * fast as they can while their frames keep paced timestamps (fixture
 * generation, tests).
 */
export class InstantClock implements Clock {
  #now_ms: number;

  constructor(start_ms: number) {
    this.#now_ms = start_ms;
  }

  now(): number {
    return this.#now_ms;
  }

  sleep(ms: number): Promise<void> {
    if (ms > 0) this.#now_ms += ms;
    return Promise.resolve();
  }
}

/**
 * The size of `jpeg` from its header, or an error naming `what` (a file, a
 * stream) when the header cannot be read.
 */
export function jpegSize(
  jpeg: Uint8Array,
  what: string,
): { width: number; height: number; components: number } {
  const read = readJpegHeader(jpeg);
  if (!read.ok) {
    throw new Error(
      `Cannot read frame from ${what} as it must be a JPEG with a readable header: ${read.reason}`,
    );
  }
  const { width, height, components } = read.header;
  return { width, height, components };
}

/** Largest frame width or height a `--size` may give. */
export const MAX_SIDE = 8192;

/** Parses a `--size` value such as `1280x720`. */
export function parseSize(text: string): { width: number; height: number } {
  const match = /^(\d{1,5})x(\d{1,5})$/.exec(text.trim());
  const width = Number(match?.[1]);
  const height = Number(match?.[2]);
  if (
    match === null || width < 1 || height < 1 || width > MAX_SIDE ||
    height > MAX_SIDE
  ) {
    throw new RangeError(
      `Cannot read size as it must be WIDTHxHEIGHT with sides from 1 to ${MAX_SIDE}: current value is '${text}'`,
    );
  }
  return { width, height };
}
