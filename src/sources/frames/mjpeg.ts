/**
 * Frames from an HTTP MJPEG stream (`--mjpeg URL`), as IP cameras serve
 * them: one response of type `multipart/x-mixed-replace`, each part a JPEG.
 *
 * Parts are found by their JPEG markers ({@linkcode JpegStreamSplitter})
 * rather than by the multipart boundary, which cameras often declare
 * inconsistently (`boundary=--frame` in the header, `--frame` or
 * `----frame` in the body; a missing or wrong `Content-Length`); the part
 * headers between JPEGs are skipped. Frames are stamped when they arrive.
 *
 * @module
 */

import type { Clock } from "../../ports.ts";
import { SystemClock } from "../../adapters/clock.ts";
import { type Frame, frameId, jpegSize, requireFps } from "./frame.ts";
import { JpegStreamSplitter } from "./jpeg_stream.ts";

/** Options of {@linkcode mjpegFrames}. */
export interface MjpegOptions {
  /** The frames' `source`. Default: the URL's host name. */
  source?: string;
  /**
   * Most frames per second to keep: a frame arriving sooner than
   * `1000 / fps` ms after the last kept one is dropped. Default: keep all.
   */
  fps?: number;
  /** Stamps the frames and times `fps`. Default: the system clock. */
  clock?: Clock;
  /** Stops the stream. Default: none (the stream runs until the server ends it). */
  signal?: AbortSignal;
  /** Request headers (such as `Authorization`). Default: none. */
  headers?: HeadersInit;
}

const MULTIPART = /^multipart\/(x-mixed-replace|mixed)\s*(;|$)/i;

/** Reads the MJPEG stream at `url` as frames. */
export async function* mjpegFrames(
  url: string,
  options: MjpegOptions = {},
): AsyncGenerator<Frame> {
  const { fps, clock = new SystemClock(), signal, headers } = options;
  if (!URL.canParse(url)) {
    throw new TypeError(
      "Cannot read MJPEG stream as its URL must be an absolute http(s) URL",
    );
  }
  const what = `MJPEG stream '${redact(url)}'`;
  if (fps !== undefined) requireFps(fps, `read ${what}`);
  const source = options.source ?? new URL(url).hostname;
  const response = await fetch(url, { signal, headers });
  if (!response.ok || response.body === null) {
    await response.body?.cancel();
    throw new Error(
      `Cannot read ${what} as the server must answer 200: it answered ${response.status} ${response.statusText}`,
    );
  }
  const type = response.headers.get("content-type") ?? "";
  if (!MULTIPART.test(type)) {
    await response.body.cancel();
    throw new Error(
      `Cannot read ${what} as its Content-Type must be multipart/x-mixed-replace: current value is '${type}'`,
    );
  }
  const min_gap_ms = fps === undefined ? 0 : 1000 / fps;
  const splitter = new JpegStreamSplitter();
  const reader = response.body.getReader();
  let index = 0;
  let last_ms = -Infinity;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      for (const jpeg of splitter.push(value)) {
        const timestamp_ms = clock.now();
        if (timestamp_ms - last_ms < min_gap_ms) continue;
        last_ms = timestamp_ms;
        const { width, height } = jpegSize(jpeg, what);
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
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/**
 * `url` without user information or query, for messages: cameras take
 * credentials in either.
 */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return "(an invalid URL)";
  }
}
