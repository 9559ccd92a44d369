/**
 * Analysis of one video frame (a JPEG): checks, then brightness, aspect
 * ratio and label, compression ratio and resolution category. Pure: the same
 * bytes and options always give the same result.
 *
 * Checks run cheapest first, and the size checks read the JPEG's frame header
 * before anything is decoded, so an oversized frame never reaches the
 * decoder:
 *
 * 1. `frame_data` is base64 (`invalid-base64`);
 * 2. the bytes are a JPEG with a readable frame header (`not-jpeg`);
 * 3. width × height is at most `max_pixels` (`too-many-pixels`);
 * 4. the declared `frame_width` × `frame_height` is the header's
 *    (`size-mismatch`);
 * 5. the image decodes, to greyscale or RGB (`undecodable`).
 *
 * @module
 */

import { type JpegHeader, readJpegHeader } from "./jpeg_header.ts";
import {
  type DecodedJpeg,
  JpegDecodeError,
  JpegDecoder,
} from "./jpeg_decoder.ts";

/** Why a frame cannot be analysed. */
export type AnalysisFailureKind =
  | "invalid-base64"
  | "not-jpeg"
  | "too-many-pixels"
  | "size-mismatch"
  | "undecodable";

/** What the analysis computes for a frame. */
export interface FrameAnalysis {
  /** Decoded width, pixels. */
  width: number;
  /** Decoded height, pixels. */
  height: number;
  /** Decoded channels: 1 for a greyscale JPEG, 3 for a colour one. */
  channels: number;
  /** Size of the JPEG, bytes. */
  jpeg_bytes: number;
  /** Mean luma (Rec. 601: 0.299 R + 0.587 G + 0.114 B), 0–255, 2 decimals. */
  brightness: number;
  /** width / height, 4 decimals. */
  aspect_ratio: number;
  /** The nearest of {@linkcode ASPECT_LABELS} within the tolerance, else `other`. */
  aspect_label: string;
  /** width × height × channels / JPEG bytes, 2 decimals. */
  compression_ratio: number;
  /** See {@linkcode resolutionCategory}. */
  resolution_category: ResolutionCategory;
}

/** The analysis of a frame, or why there is none. */
export type AnalysisResult =
  | { ok: true; analysis: FrameAnalysis }
  | { ok: false; kind: AnalysisFailureKind; reason: string };

/** The size a message declares for its frame. */
export interface DeclaredSize {
  frame_width: number;
  frame_height: number;
}

/** Options of {@linkcode analyzeJpeg} and {@linkcode analyzeFrameData}. */
export interface AnalyzeOptions {
  /**
   * Largest width × height accepted, read from the JPEG header before
   * decoding; a decoded RGB frame takes 3 bytes per pixel. Default:
   * 16,777,216 (16 Mi pixels: 4K and 5K frames pass, 8K frames do not).
   */
  max_pixels?: number;
  /**
   * The decoder to use (one per thread; not reentrant). Default: one shared
   * by every call in this module instance.
   */
  decoder?: JpegDecoder;
}

/** Default of {@linkcode AnalyzeOptions.max_pixels}. */
export const DEFAULT_MAX_PIXELS = 16_777_216;

/**
 * Named aspect ratios, landscape and portrait. `21:9` is the marketing name
 * of ultrawide screens; 2560×1080 (64:27 ≈ 2.370) is within the tolerance of
 * 21/9 ≈ 2.333, 3440×1440 (≈ 2.389) is not.
 */
export const ASPECT_LABELS: ReadonlyArray<
  { label: string; width: number; height: number }
> = [
  { label: "16:9", width: 16, height: 9 },
  { label: "4:3", width: 4, height: 3 },
  { label: "3:2", width: 3, height: 2 },
  { label: "16:10", width: 16, height: 10 },
  { label: "5:4", width: 5, height: 4 },
  { label: "1:1", width: 1, height: 1 },
  { label: "21:9", width: 21, height: 9 },
  { label: "9:16", width: 9, height: 16 },
  { label: "3:4", width: 3, height: 4 },
];

/**
 * Relative tolerance of an aspect label: a ratio r gets label L when
 * |r − L| ≤ 2 % of L (the nearest label wins; named ratios are at least 6 %
 * apart, so at most one is ever within it). 1366×768 and 854×480 are 16:9;
 * 352×288 (1.222) is `other`.
 */
export const ASPECT_TOLERANCE = 0.02;

/** Resolution categories, by height. */
export type ResolutionCategory = "HD" | "FHD" | "QHD" | "UHD";

/**
 * The resolution category of a frame by its height: `HD` up to 720 (so also
 * 480p and below, which the `frames` job filters out before analysis),
 * `FHD` up to 1080, `QHD` up to 1440, `UHD` above.
 */
export function resolutionCategory(height: number): ResolutionCategory {
  if (height <= 720) return "HD";
  if (height <= 1080) return "FHD";
  if (height <= 1440) return "QHD";
  return "UHD";
}

/** The aspect label of a width × height frame (see {@linkcode ASPECT_TOLERANCE}). */
export function aspectLabel(width: number, height: number): string {
  const ratio = width / height;
  let best = "other";
  let best_error = Infinity;
  for (const named of ASPECT_LABELS) {
    const target = named.width / named.height;
    const error = Math.abs(ratio - target) / target;
    if (error <= ASPECT_TOLERANCE && error < best_error) {
      best = named.label;
      best_error = error;
    }
  }
  return best;
}

/** `value` rounded half up to `decimals` decimals. */
export function roundTo(value: number, decimals: number): number {
  const scale = 10 ** decimals;
  return Math.round(value * scale) / scale;
}

/**
 * The mean Rec. 601 luma of a decoded image, 0–255, unrounded. Greyscale
 * samples are luma already. Sums integer weights (299, 587, 114) so a uniform
 * image gives its exact grey.
 */
export function meanLuma(image: DecodedJpeg): number {
  const { pixels } = image;
  const count = image.width * image.height;
  if (count === 0) return 0;
  let sum = 0;
  if (image.format === "gray") {
    for (let i = 0; i < pixels.length; i++) sum += pixels[i]!;
    return sum / count;
  }
  // Chunks of 8,192 pixels keep a partial sum within int32 (8,192 × 255,000
  // < 2^31), which the engine adds in integer registers.
  let i = 0;
  while (i < pixels.length) {
    const stop = Math.min(pixels.length, i + 3 * 8192);
    let partial = 0;
    for (; i < stop; i += 3) {
      partial = (partial +
        299 * pixels[i]! + 587 * pixels[i + 1]! + 114 * pixels[i + 2]!) | 0;
    }
    sum += partial;
  }
  return sum / (1000 * count);
}

const sharedDecoder = new JpegDecoder();

/** A JPEG that passed the checks made before decoding, or why it did not. */
export type JpegCheck =
  | { ok: true; header: JpegHeader }
  | { ok: false; kind: AnalysisFailureKind; reason: string };

/**
 * The checks made before decoding (header, pixel limit, declared size): a
 * frame that passes them decodes to `header`'s size or not at all, so a
 * caller may filter on that size without decoding. Never throws.
 */
export function checkJpeg(
  jpeg: Uint8Array,
  declared: DeclaredSize,
  options: Pick<AnalyzeOptions, "max_pixels"> = {},
): JpegCheck {
  const { max_pixels = DEFAULT_MAX_PIXELS } = options;
  const read = readJpegHeader(jpeg);
  if (!read.ok) return { ok: false, kind: "not-jpeg", reason: read.reason };
  const { width, height } = read.header;
  if (width * height > max_pixels) {
    return {
      ok: false,
      kind: "too-many-pixels",
      reason:
        `frame must have at most ${max_pixels} pixels: current value is ${width}x${height} = ${
          width * height
        }`,
    };
  }
  if (declared.frame_width !== width || declared.frame_height !== height) {
    return {
      ok: false,
      kind: "size-mismatch",
      reason:
        `declared frame size must match the JPEG: declared ${declared.frame_width}x${declared.frame_height}, JPEG is ${width}x${height}`,
    };
  }
  return { ok: true, header: read.header };
}

/**
 * Decodes a JPEG that passed {@linkcode checkJpeg} (with `header` its
 * answer) and analyses it; never throws.
 */
export function analyzeCheckedJpeg(
  jpeg: Uint8Array,
  header: JpegHeader,
  options: Pick<AnalyzeOptions, "decoder"> = {},
): AnalysisResult {
  const { decoder = sharedDecoder } = options;
  const { width, height } = header;
  try {
    return decoder.decode(jpeg, (image): AnalysisResult => {
      if (image.width !== width || image.height !== height) {
        return {
          ok: false,
          kind: "undecodable",
          reason:
            `JPEG decodes to another size than its header: ${image.width}x${image.height}, header says ${width}x${height}`,
        };
      }
      return {
        ok: true,
        analysis: {
          width,
          height,
          channels: image.channels,
          jpeg_bytes: jpeg.length,
          brightness: roundTo(meanLuma(image), 2),
          aspect_ratio: roundTo(width / height, 4),
          aspect_label: aspectLabel(width, height),
          compression_ratio: roundTo(
            width * height * image.channels / jpeg.length,
            2,
          ),
          resolution_category: resolutionCategory(height),
        },
      };
    });
  } catch (error) {
    if (!(error instanceof JpegDecodeError)) throw error;
    return { ok: false, kind: "undecodable", reason: error.message };
  }
}

/** Analyses a JPEG frame whose message declares `declared`; never throws. */
export function analyzeJpeg(
  jpeg: Uint8Array,
  declared: DeclaredSize,
  options: AnalyzeOptions = {},
): AnalysisResult {
  const checked = checkJpeg(jpeg, declared, options);
  if (!checked.ok) return checked;
  return analyzeCheckedJpeg(jpeg, checked.header, options);
}

/** The JPEG bytes of a message's base64 `frame_data`, or why there are none. */
export type FrameBytes =
  | { ok: true; jpeg: Uint8Array }
  | { ok: false; kind: "invalid-base64"; reason: string };

/** Decodes a message's base64 `frame_data`; never throws. */
export function decodeFrameData(frame_data: string): FrameBytes {
  try {
    // Strict: padding required and no stray bits, so a truncated string is
    // refused here rather than decoded into a shorter JPEG.
    return {
      ok: true,
      jpeg: Uint8Array.fromBase64(frame_data, { lastChunkHandling: "strict" }),
    };
  } catch (error) {
    return {
      ok: false,
      kind: "invalid-base64",
      reason: `'frame_data' must be base64: ${(error as Error).message}`,
    };
  }
}

/** Analyses a message's base64 `frame_data`; never throws. */
export function analyzeFrameData(
  frame_data: string,
  declared: DeclaredSize,
  options: AnalyzeOptions = {},
): AnalysisResult {
  const bytes = decodeFrameData(frame_data);
  if (!bytes.ok) return bytes;
  return analyzeJpeg(bytes.jpeg, declared, options);
}
