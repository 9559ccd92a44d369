/**
 * The `frames` job's source step: a `video_frames` record becomes an
 * analysed frame, or a dead letter whose reason starts with its kind
 * (`undecodable: JPEG data does not decode: ...`), so a reader of
 * `video_frames.dead-letter` can group them without parsing prose.
 *
 * The checks run cheapest first and every one of them runs in the source's
 * parse, so each bad record is reported once, for its first fault, with its
 * kind: message shape (`parse.ts`), base64, JPEG header, pixel limit,
 * declared size, then decoding (`analysis.ts`). (A check in a later `map`
 * step would be reported as `step 'map' failed: ...`.)
 *
 * **Filtering before decoding.** Frames whose height is at most
 * `keep_height_over` are filtered by the job. A frame that passed the header
 * checks either decodes to its header's size (which is also the declared
 * size) or does not decode at all, so that height is known before decoding:
 * by default such a frame is not decoded, and its analysis is `null`. The
 * one difference it makes: a corrupt frame of a low height (its header
 * readable, its scan data not) is `filtered` instead of dead-lettered.
 * Nothing downstream would have seen it either way, and the decodes skipped
 * are most of the work on sources that send low resolutions (in the fixture,
 * 540 of 936 good frames). `decode_filtered: true` decodes them too, so that
 * every undecodable frame is a dead letter.
 *
 * @module
 */

import type { Parsed } from "../../flow/source.ts";
import {
  analyzeCheckedJpeg,
  type AnalyzeOptions,
  checkJpeg,
  decodeFrameData,
  type FrameAnalysis,
} from "./analysis.ts";
import { parseVideoFrame } from "./parse.ts";

/** A well-formed frame, analysed unless it was filtered before decoding. */
export interface ReadFrame {
  /** Every field of the message as given (`frame_data` included). */
  fields: Record<string, unknown>;
  source: string;
  /** Height from the JPEG header (equal to the declared and decoded height). */
  height: number;
  /**
   * The analysis; `null` when the frame was not decoded because its height
   * is at most `keep_height_over` (see the module doc).
   */
  analysis: FrameAnalysis | null;
}

/** Options of {@linkcode readFrame}. */
export interface ReadFrameOptions extends AnalyzeOptions {
  /** Frames of at most this height are not decoded unless `decode_filtered`. */
  keep_height_over: number;
  /** Decode frames of at most `keep_height_over` too. Default: false. */
  decode_filtered?: boolean;
}

/** Reads one `video_frames` payload; never throws. */
export function readFrame(
  payload: string,
  options: ReadFrameOptions,
): Parsed<ReadFrame> {
  const parsed = parseVideoFrame(payload);
  if (!parsed.ok) return { error: `${parsed.kind}: ${parsed.reason}` };
  const { frame } = parsed;
  const bytes = decodeFrameData(frame.frame_data);
  if (!bytes.ok) return { error: `${bytes.kind}: ${bytes.reason}` };
  const checked = checkJpeg(bytes.jpeg, frame, options);
  if (!checked.ok) return { error: `${checked.kind}: ${checked.reason}` };
  const { height } = checked.header;
  let analysis: FrameAnalysis | null = null;
  if (height > options.keep_height_over || options.decode_filtered === true) {
    const analysed = analyzeCheckedJpeg(bytes.jpeg, checked.header, options);
    if (!analysed.ok) return { error: `${analysed.kind}: ${analysed.reason}` };
    analysis = analysed.analysis;
  }
  return {
    value: { fields: frame.fields, source: frame.source, height, analysis },
    time: frame.timestamp_ms,
    key: frame.source,
  };
}
