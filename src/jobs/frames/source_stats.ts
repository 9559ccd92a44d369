/**
 * Per-source statistics of a window of frames (`video_source_aggregations`):
 * frame count, brightness minimum, mean and maximum, mean compression ratio
 * and frames per resolution category.
 *
 * Brightness and compression ratio are 2-decimal numbers; they are summed as
 * integer hundredths, so a window's means never depend on the order its
 * frames arrived in (a float sum would, in its last bits, and a replay after
 * a crash or a reordered input must give the same bytes).
 *
 * @module
 */

import type { Aggregate } from "../../core/window_operator.ts";
import type { WindowResult } from "../../core/window_operator.ts";
import { formatIso } from "../../core/time.ts";
import {
  type FrameAnalysis,
  type ResolutionCategory,
  roundTo,
} from "./analysis.ts";
import type { ReadFrame } from "./read_frame.ts";

/** The resolution categories, in the order records list them. */
export const RESOLUTION_CATEGORIES: readonly ResolutionCategory[] = [
  "HD",
  "FHD",
  "QHD",
  "UHD",
];

/** A frame the job kept, with its analysis. */
export interface KeptFrame extends ReadFrame {
  analysis: FrameAnalysis;
}

/** A window's running statistics (JSON-compatible). */
export interface SourceStats {
  count: number;
  /** Brightness in hundredths. */
  brightness_min: number;
  brightness_max: number;
  brightness_sum: number;
  /** Compression ratio in hundredths. */
  compression_sum: number;
  /** Frames per category, in {@linkcode RESOLUTION_CATEGORIES} order. */
  categories: number[];
}

/** A `video_source_aggregations` record. */
export interface SourceAggregation {
  source: string;
  window_start: string;
  window_end: string;
  frame_count: number;
  fps: number;
  brightness_min: number;
  brightness_avg: number;
  brightness_max: number;
  compression_ratio_avg: number;
  resolution_categories: Record<ResolutionCategory, number>;
}

function hundredths(value: number): number {
  return Math.round(value * 100);
}

/** The window aggregate of kept frames. */
export const sourceStats: Aggregate<KeptFrame, SourceStats, SourceStats> = {
  create: () => ({
    count: 0,
    brightness_min: Number.POSITIVE_INFINITY,
    brightness_max: Number.NEGATIVE_INFINITY,
    brightness_sum: 0,
    compression_sum: 0,
    categories: RESOLUTION_CATEGORIES.map(() => 0),
  }),
  add(acc, { analysis: frame }) {
    const brightness = hundredths(frame.brightness);
    acc.count++;
    acc.brightness_min = Math.min(acc.brightness_min, brightness);
    acc.brightness_max = Math.max(acc.brightness_max, brightness);
    acc.brightness_sum += brightness;
    acc.compression_sum += hundredths(frame.compression_ratio);
    acc.categories[RESOLUTION_CATEGORIES.indexOf(frame.resolution_category)]!++;
    return acc;
  },
  merge(a, b) {
    a.count += b.count;
    a.brightness_min = Math.min(a.brightness_min, b.brightness_min);
    a.brightness_max = Math.max(a.brightness_max, b.brightness_max);
    a.brightness_sum += b.brightness_sum;
    a.compression_sum += b.compression_sum;
    a.categories = a.categories.map((n, i) => n + b.categories[i]!);
    return a;
  },
  result: (acc) => ({ ...acc, categories: [...acc.categories] }),
  encode: (acc) =>
    acc.count === 0
      ? { ...acc, brightness_min: null, brightness_max: null }
      : acc,
  decode(data) {
    const s = data as SourceStats & {
      brightness_min: number | null;
      brightness_max: number | null;
    };
    return {
      ...s,
      brightness_min: s.brightness_min ?? Number.POSITIVE_INFINITY,
      brightness_max: s.brightness_max ?? Number.NEGATIVE_INFINITY,
      categories: [...s.categories],
    };
  },
};

/** The `video_source_aggregations` record of a fired window. */
export function sourceAggregation(
  r: WindowResult<SourceStats>,
): SourceAggregation {
  const s = r.value;
  const seconds = (r.window.end - r.window.start) / 1000;
  return {
    source: r.key,
    window_start: formatIso(r.window.start),
    window_end: formatIso(r.window.end),
    frame_count: s.count,
    fps: roundTo(s.count / seconds, 3),
    brightness_min: s.brightness_min / 100,
    brightness_avg: Math.round(s.brightness_sum / s.count) / 100,
    brightness_max: s.brightness_max / 100,
    compression_ratio_avg: Math.round(s.compression_sum / s.count) / 100,
    resolution_categories: Object.fromEntries(
      RESOLUTION_CATEGORIES.map((c, i) => [c, s.categories[i]!]),
    ) as Record<ResolutionCategory, number>,
  };
}
