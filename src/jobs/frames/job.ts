/**
 * The `frames` job: video frames from cameras, video files and images,
 * analysed and aggregated per source, Kafka to Kafka exactly once.
 *
 * Input: topic `video_frames`, keyed by `source`, messages
 * `{"frame_id","timestamp","source","frame_data" (base64 JPEG),
 * "frame_width","frame_height","frame_channels","frame_size_bytes",
 * "metadata"}`. Bad records go to `video_frames.dead-letter`, the reason
 * starting with its kind (`read_frame.ts`): `not-json`, `not-object`,
 * `missing-field`, `invalid-field`, `invalid-base64`, `not-jpeg`,
 * `too-many-pixels` (over `max_pixels`, read from the header before any
 * decoding), `size-mismatch`, `undecodable`. Frames of height at most
 * `keep_height_over` are `filtered` (by default without being decoded: see
 * `read_frame.ts`). Outputs (one Kafka transaction per input partition and
 * checkpoint: read them with `isolation.level=read_committed`):
 *
 * | topic | key | what |
 * |---|---|---|
 * | `processed_video_frames` | `source` | the message's fields as given, without `frame_data` (unless `keep_frame_data`), plus `brightness`, `aspect_ratio`, `aspect_label`, `compression_ratio`, `resolution_category` |
 * | `video_source_aggregations` | `source` | per source and tumbling event-time window of `window_ms`: `window_start`, `window_end` (ISO-8601 UTC), `frame_count`, `fps`, `brightness_min/avg/max`, `compression_ratio_avg`, `resolution_categories` |
 *
 * A frame too late for its window goes to `video_frames.late` (it still
 * reaches `processed_video_frames`). A partition whose cameras all stop
 * closes its last windows `idle_advance_ms` of processing time later.
 *
 * **Decoding is the hot path, and it runs inline.** Measured on 2 shared
 * vCPUs (`scripts/bench/frames_decode.ts`, `deno task bench --only frames`):
 * imagescript's Wasm decoder takes about 16 ms of CPU per 720p frame and
 * 35 ms per 1080p frame; everything else the job does per frame (JSON,
 * base64, header checks, luma, windows, the Kafka sink) adds about 17 %
 * (720p) and 8 % (1080p) of CPU time, and the job ran at 0.89× (720p) and
 * 0.90× (1080p) the frames/s of a bare decode of the same frames. The runner processes a partition's batch
 * synchronously, so a batch blocks the event loop for (frames × decode
 * time); with Kafka a batch is what one fetch brings per partition
 * (kafkajs's 1 MB: 10 to 30 frames, under a second), within the
 * consumer's heartbeat and session timeouts. A pool of Web Workers would
 * need an asynchronous processing step, which the runtime does not offer;
 * measured alone, it shortened the event loop's stalls (to one frame's
 * transfer instead of one frame's decode) but did not raise throughput
 * consistently on this machine (1 worker 0.8–1.6×, 2 workers 0.8–1.5× of
 * inline, varying with load), and more instances in the consumer group
 * (one per core, as freshet scales) give the same parallelism while the
 * job stays deterministic and simple.
 *
 * @module
 */

import { defineJob, type JobSpec } from "../../flow/define.ts";
import type { Flow } from "../../flow/stream.ts";
import { tumbling } from "../../core/windows.ts";
import { kafkaSink } from "../../sinks/kafka.ts";
import { DEFAULT_MAX_PIXELS } from "./analysis.ts";
import { readFrame } from "./read_frame.ts";
import { parseVideoFrame } from "./parse.ts";
import {
  type KeptFrame,
  sourceAggregation,
  sourceStats,
} from "./source_stats.ts";
import type { Log } from "../../ports.ts";

export const FRAMES_TOPIC = "video_frames";
export const PROCESSED_FRAMES = "processed_video_frames";
export const SOURCE_AGGREGATIONS = "video_source_aggregations";

/** The options of `frames`, with their defaults. */
export const FRAMES_OPTIONS = {
  /** Partitions to create the input topic with when it is missing. */
  partitions: 4,
  /** Bounded out-of-orderness of event time. */
  out_of_orderness_ms: 5_000,
  /** How long after a window fires late frames still update it. */
  allowed_lateness_ms: 0,
  /** Size of the tumbling per-source windows. */
  window_ms: 10_000,
  /**
   * Processing time without records after which a partition's watermark
   * moves on, so the last windows of cameras that stopped close; 0: never.
   */
  idle_advance_ms: 30_000,
  /** Frames of at most this height are `filtered`; taller ones are kept. */
  keep_height_over: 480,
  /** Decode filtered frames too, so a corrupt one is a dead letter. */
  decode_filtered: false,
  /** Largest width × height accepted (read from the JPEG header). */
  max_pixels: DEFAULT_MAX_PIXELS,
  /** Keep `frame_data` in `processed_video_frames`. */
  keep_frame_data: false,
};

/** The two output topics of the job. */
export interface FramesTopics {
  processed: string;
  aggregations: string;
}

/** Options of {@linkcode framesJob}: names a deployment may choose. */
export interface FramesJobOptions {
  /**
   * The job's name: it keys checkpoints, transactional ids and the default
   * consumer group. Default: `"frames"`.
   */
  name?: string;
  /** Output topics. Default: `processed_video_frames`, `video_source_aggregations`. */
  topics?: Partial<FramesTopics>;
}

/**
 * The `frames` job under other names, e.g. for a second deployment on the
 * same Kafka cluster (`--job-file` with
 * `export default framesJob({ name, topics })`); the registry's is
 * {@linkcode frames}.
 */
export function framesJob(options: FramesJobOptions = {}): JobSpec {
  const topics: FramesTopics = {
    processed: PROCESSED_FRAMES,
    aggregations: SOURCE_AGGREGATIONS,
    ...options.topics,
  };
  return defineJob({
    name: options.name ?? "frames",
    description:
      "video frames: decode, keep height > 480, brightness, aspect, compression, per-source windows (Kafka, exactly once)",
    fixture: "fixtures/frames/frames.jsonl.gz",
    options: FRAMES_OPTIONS,
    build: (flow, o) => build(flow, o, topics),
    summarize: ({ log }) => summarizeFrames(log, topics),
  });
}

/** The `frames` job. */
export const frames: JobSpec = framesJob();

function build(
  flow: Flow,
  o: typeof FRAMES_OPTIONS,
  topics: FramesTopics,
): void {
  const kafka = kafkaSink({ topics: [topics.processed, topics.aggregations] });
  const read = {
    keep_height_over: o.keep_height_over,
    decode_filtered: o.decode_filtered,
    max_pixels: o.max_pixels,
  };
  const kept = flow
    .source(FRAMES_TOPIC, {
      parse: (payload) => readFrame(payload, read),
      // Placing and reordering a replay's records needs no decoding.
      route: (payload) => {
        const parsed = parseVideoFrame(payload);
        return parsed.ok
          ? { key: parsed.frame.source, time: parsed.frame.timestamp_ms }
          : null;
      },
      out_of_orderness_ms: o.out_of_orderness_ms,
      idle_advance_ms: o.idle_advance_ms > 0 ? o.idle_advance_ms : undefined,
      partitions: o.partitions,
    })
    .filter((f) => f.height > o.keep_height_over && f.analysis !== null)
    .map((f): KeptFrame => ({ ...f, analysis: f.analysis! }));

  kept.to(kafka, ({ fields, source, analysis: a }, out) => {
    const { frame_data, ...rest } = fields;
    out.send(
      topics.processed,
      source,
      JSON.stringify({
        ...rest,
        ...(o.keep_frame_data ? { frame_data } : {}),
        brightness: a.brightness,
        aspect_ratio: a.aspect_ratio,
        aspect_label: a.aspect_label,
        compression_ratio: a.compression_ratio,
        resolution_category: a.resolution_category,
      }),
    );
  });

  kept
    .keyBy((f) => f.source)
    .window({
      name: "source",
      assigner: tumbling({ size_ms: o.window_ms }),
      allowed_lateness_ms: o.allowed_lateness_ms,
      aggregate: sourceStats,
    })
    .to(kafka, (r, out) =>
      out.send(
        topics.aggregations,
        r.key,
        JSON.stringify(sourceAggregation(r)),
      ));
}

/** Lines on what the job left in its two topics. */
export async function summarizeFrames(
  log: Log,
  topics: FramesTopics,
): Promise<string[]> {
  const processed = await readTopic(log, topics.processed);
  const windows = await readTopic(log, topics.aggregations);
  const lines = [
    `${topics.processed}: ${processed.length} frames`,
    `${topics.aggregations}: ${windows.length} windows`,
  ];
  const bySource = new Map<
    string,
    { frames: number; windows: number; brightness: number; category: string }
  >();
  for (const value of processed) {
    const frame = JSON.parse(value) as {
      source: string;
      brightness: number;
      resolution_category: string;
    };
    const entry = bySource.get(frame.source) ??
      { frames: 0, windows: 0, brightness: 0, category: "" };
    entry.frames++;
    entry.brightness += frame.brightness;
    entry.category = frame.resolution_category;
    bySource.set(frame.source, entry);
  }
  for (const value of windows) {
    const { source } = JSON.parse(value) as { source: string };
    const entry = bySource.get(source);
    if (entry !== undefined) entry.windows++;
  }
  for (const [source, e] of [...bySource].sort(([a], [b]) => a < b ? -1 : 1)) {
    lines.push(
      `  ${source.padEnd(16)} ${e.category.padEnd(4)} ${
        String(e.frames).padStart(6)
      } frames, ${String(e.windows).padStart(4)} windows, mean brightness ${
        (e.brightness / e.frames).toFixed(2)
      }`,
    );
  }
  return lines;
}

async function readTopic(log: Log, topic: string): Promise<string[]> {
  const ends = await log.endOffsets(topic).catch(() => [] as number[]);
  const values: string[] = [];
  for (let p = 0; p < ends.length; p++) {
    for (const record of await log.read(topic, p, 0, Number.MAX_SAFE_INTEGER)) {
      values.push(record.value);
    }
  }
  return values;
}
