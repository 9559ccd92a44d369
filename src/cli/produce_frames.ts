/**
 * `freshet produce --job frames` with a frame source instead of a fixture:
 * `--images DIR`, `--video FILE`, `--webcam DEVICE`, `--mjpeg URL` or
 * `--synthetic`, each frame sent as a `video_frames` message keyed by its
 * source (`src/sources/frames/`).
 *
 * The source's first frame is read before connecting to Kafka, so a missing
 * folder, an unreachable stream or a missing ffmpeg is a one-line error that
 * needs no broker.
 *
 * @module
 */

import type { Clock, Log } from "../ports.ts";
import type { JobSpec } from "../flow/define.ts";
import { SystemClock } from "../adapters/clock.ts";
import { type ParsedArgs, UsageError } from "./args.ts";
import { jobOverrides, loadSettings } from "./options.ts";
import { logOptions } from "./log_flags.ts";
import {
  FRAME_BOOLEAN_FLAGS,
  FRAME_VALUE_FLAGS,
  SOURCE_FLAGS,
} from "./frame_flags.ts";
import { closeLogging, logger, setupLogging } from "../logging/setup.ts";
import { Progress, type ProgressUpdate } from "./progress.ts";
import { type Frame, parseSize } from "../sources/frames/frame.ts";
import { frameMessage } from "../sources/frames/message.ts";
import {
  FfmpegMissingError,
  videoFrames,
  webcamFrames,
} from "../sources/frames/ffmpeg.ts";
import { mjpegFrames } from "../sources/frames/mjpeg.ts";

export {
  FRAME_BOOLEAN_FLAGS,
  FRAME_VALUE_FLAGS,
  SOURCE_FLAGS,
  wantsFrameSource,
} from "./frame_flags.ts";

/** Options of {@linkcode chooseFrameSource}. */
export interface ProduceFramesOptions {
  /** Paces and stamps the frames. Default: the system clock. */
  clock?: Clock;
  /** Stops the source (e.g. on Ctrl-C). Default: none. */
  signal?: AbortSignal;
}

/** A frame source chosen by flags, with what stops it. */
export interface FrameSourceChoice {
  /** `--images DIR`, ... for messages. */
  name: string;
  frames: AsyncIterable<Frame>;
  max_frames: number;
  duration_ms: number;
}

function positiveNumber(parsed: ParsedArgs, flag: string): number | undefined {
  const text = parsed.values.get(flag);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || value <= 0) {
    throw new UsageError(
      `flag --${flag} must be a positive number: got '${text}'`,
    );
  }
  return value;
}

function positiveInteger(
  parsed: ParsedArgs,
  flag: string,
): number | undefined {
  const value = positiveNumber(parsed, flag);
  if (value !== undefined && !Number.isSafeInteger(value)) {
    throw new UsageError(
      `flag --${flag} must be a positive whole number: got '${
        parsed.values.get(flag)
      }'`,
    );
  }
  return value;
}

/**
 * The frame source the flags name; throws {@linkcode UsageError} for a
 * contradiction (two sources, a flag the source does not take).
 */
export function chooseFrameSource(
  parsed: ParsedArgs,
  options: ProduceFramesOptions = {},
): FrameSourceChoice {
  const named = [
    ...SOURCE_FLAGS.filter((flag) => parsed.values.has(flag)),
    ...(parsed.booleans.has("synthetic") ? ["synthetic"] : []),
  ];
  if (named.length === 0) {
    const used = [
      ...[...parsed.values.keys()].filter((f) => f in FRAME_VALUE_FLAGS),
      ...[...parsed.booleans].filter((f) => f in FRAME_BOOLEAN_FLAGS),
    ];
    throw new UsageError(
      `flag --${
        used[0]
      } needs a frame source: --images DIR, --video FILE, --webcam DEVICE, --mjpeg URL or --synthetic`,
    );
  }
  if (named.length > 1) {
    throw new UsageError(
      `flags ${
        named.map((f) => `--${f}`).join(", ")
      } exclude each other: choose one frame source`,
    );
  }
  for (const flag of ["fixture", "rate"]) {
    if (parsed.values.has(flag)) {
      throw new UsageError(
        `flag --${flag} does not go with a frame source (--${
          named[0]
        }): frames are paced by --fps`,
      );
    }
  }
  const kind = named[0]!;
  const only = (flag: string, sources: string[]) => {
    if (
      (parsed.values.has(flag) || parsed.booleans.has(flag)) &&
      !sources.includes(kind)
    ) {
      throw new UsageError(
        `flag --${flag} applies to ${
          sources.map((s) => `--${s}`).join(", ")
        }, not to --${kind}`,
      );
    }
  };
  only("size", ["synthetic", "video", "webcam"]);
  only("seed", ["synthetic"]);
  only("loop", ["images", "video"]);
  const fps = positiveNumber(parsed, "fps");
  const max_frames = positiveInteger(parsed, "frames") ?? Infinity;
  const duration_s = positiveNumber(parsed, "duration");
  const duration_ms = duration_s === undefined ? Infinity : duration_s * 1000;
  const size_text = parsed.values.get("size");
  let size: { width: number; height: number } | undefined;
  if (size_text !== undefined) {
    try {
      size = parseSize(size_text);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  const source = parsed.values.get("source");
  if (source !== undefined && source.trim() === "") {
    throw new UsageError("flag --source must not be empty");
  }
  const loop = parsed.booleans.has("loop");
  const { clock = new SystemClock(), signal } = options;
  const common = { clock, ...(source !== undefined ? { source } : {}) };
  const value = parsed.values.get(kind) ?? "";
  const name = kind === "synthetic"
    ? "--synthetic"
    : `--${kind} ${kind === "mjpeg" ? redactUrl(value) : value}`;
  let frames: AsyncIterable<Frame>;
  switch (kind) {
    case "images":
      frames = encodingSource<typeof import("../sources/frames/images.ts")>(
        "../sources/frames/images.ts",
        (m) => m.imageFolderFrames(value, { ...common, fps: fps ?? 1, loop }),
      );
      break;
    case "video":
      frames = videoFrames(value, {
        ...common,
        fps: fps ?? 5,
        loop,
        ...(size !== undefined ? { size } : {}),
      });
      break;
    case "webcam":
      frames = webcamFrames(value, {
        ...common,
        fps: fps ?? 5,
        ...(size !== undefined ? { size } : {}),
      });
      break;
    case "mjpeg":
      if (!/^https?:\/\//i.test(value) || !URL.canParse(value)) {
        throw new UsageError(
          `flag --mjpeg must be an absolute http(s) URL: got '${
            redactUrl(value)
          }'`,
        );
      }
      frames = mjpegFrames(value, {
        ...common,
        ...(fps !== undefined ? { fps } : {}),
        ...(signal !== undefined ? { signal } : {}),
      });
      break;
    default: {
      const seed = positiveInteger(parsed, "seed") ?? 1;
      frames = encodingSource<
        typeof import("../sources/frames/synthetic.ts")
      >("../sources/frames/synthetic.ts", (m) =>
        m.syntheticFrames({
          ...common,
          fps: fps ?? 5,
          seed,
          width: size?.width ?? 1280,
          height: size?.height ?? 720,
        }));
    }
  }
  return { name, frames, max_frames, duration_ms };
}

/**
 * Frames of a source that encodes JPEGs (`--synthetic`, and `--images`
 * for PNGs) with imagescript's encoder, a native Node-API addon: a bundle
 * of freshet cannot carry it (`deno bundle` has no loader for `.node`
 * files), so these sources are loaded when asked for, from a specifier the
 * bundler does not follow, and the other sources stay in the bundle.
 */
function encodingSource<M>(
  path: string,
  open: (module: M) => AsyncIterable<Frame>,
): AsyncIterable<Frame> {
  return (async function* () {
    const url = new URL(path, import.meta.url).href;
    let module: M;
    try {
      module = await import(url) as M;
    } catch (error) {
      throw new Error(
        `this source needs imagescript's JPEG encoder, which did not load (a bundled freshet does not carry it: run from the sources): ${
          (error as Error).message
        }`,
      );
    }
    yield* open(module);
  })();
}

/** What {@linkcode sendFrames} sent. */
export interface ProducedFrames {
  frames: number;
  /** Event time of the first and last frame sent, epoch ms (NaN when none). */
  first_ms: number;
  last_ms: number;
}

/**
 * Sends the frames of `choice` to `topic`, one message per frame as it
 * comes, until the source ends, `max_frames` were sent, a frame is
 * `duration_ms` or more after the first, or `signal` aborts. The log is
 * opened by `open` once the first frame is in hand; answers it with what was
 * sent (`log` null when no frame came).
 */
export async function sendFrames(
  choice: FrameSourceChoice,
  topic: string,
  open: () => Promise<Log>,
  options: {
    signal?: AbortSignal;
    /** Called after each frame sent, with the totals so far. */
    onSent?: (sent: ProducedFrames) => void;
  } = {},
): Promise<{ sent: ProducedFrames; log: Log | null }> {
  const sent: ProducedFrames = { frames: 0, first_ms: NaN, last_ms: NaN };
  let log: Log | null = null;
  const iterator = choice.frames[Symbol.asyncIterator]();
  try {
    while (sent.frames < choice.max_frames && !options.signal?.aborted) {
      let next: IteratorResult<Frame>;
      try {
        next = await iterator.next();
      } catch (error) {
        if (options.signal?.aborted) break;
        // Before any frame, a source that cannot start is a usage problem
        // (a missing folder, program or stream): one line, exit code 2.
        if (error instanceof FfmpegMissingError) {
          throw new UsageError(error.message);
        }
        if (log === null) {
          throw new UsageError(
            `cannot read frames from ${choice.name}: ${
              (error as Error).message
            }`,
          );
        }
        throw error;
      }
      if (next.done) break;
      const frame = next.value;
      if (log === null) {
        log = await open();
        sent.first_ms = frame.timestamp_ms;
      } else if (frame.timestamp_ms - sent.first_ms >= choice.duration_ms) {
        break;
      }
      const { key, value } = frameMessage(frame);
      await log.produce(topic, [{ key, value }]);
      sent.frames++;
      sent.last_ms = frame.timestamp_ms;
      options.onSent?.(sent);
    }
  } finally {
    // Stops ffmpeg or the HTTP stream when we stop first.
    await iterator.return?.(undefined);
  }
  return { sent, log };
}

/**
 * `freshet produce` with a frame source: frames to the job's input topic
 * (`video_frames`, or `--topic`) until the source ends, `--frames` or
 * `--duration` is reached, or Ctrl-C. Answers the exit code.
 */
export async function produceFramesCommand(
  parsed: ParsedArgs,
  spec: JobSpec,
): Promise<number> {
  if (parsed.values.has("job") && spec.name !== "frames") {
    throw new UsageError(
      `frame sources send video_frames messages: use them with --job frames (or --job-file), not --job ${spec.name}`,
    );
  }
  const job = spec.create(jobOverrides(parsed, [spec]));
  const settings = await loadSettings(parsed);
  await setupLogging(logOptions(parsed));
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  const started = performance.now();
  let close = (): Promise<void> => Promise.resolve();
  const progress = new Progress(`produce to '${job.topic}'`, {
    unit: "frames",
  });
  try {
    const choice = chooseFrameSource(parsed, { signal: stop.signal });
    const result = await sendFrames(choice, job.topic, async () => {
      const { KafkaLog } = await import("../adapters/kafka.ts");
      const log = new KafkaLog({ brokers: settings.kafka().brokers });
      close = () => log.close();
      await log.createTopic(job.topic, job.partitions);
      return log;
    }, {
      signal: stop.signal,
      onSent: (sent) => progress.update(frameProgress(choice, sent)),
    });
    progress.finish();
    logger("produce").info(
      "produced {frames} frames from {source} to '{topic}' in {seconds} s",
      {
        frames: result.sent.frames,
        source: choice.name,
        topic: job.topic,
        seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
      },
    );
  } finally {
    progress.finish();
    Deno.removeSignalListener("SIGINT", onSignal);
    await close();
    await closeLogging();
  }
  return 0;
}

/**
 * How far a frame source got: out of `--frames` when given; else, with
 * `--duration`, the time left by the frames' timestamps; else a count.
 */
export function frameProgress(
  choice: Pick<FrameSourceChoice, "max_frames" | "duration_ms">,
  sent: ProducedFrames,
): ProgressUpdate {
  const update: ProgressUpdate = { done: sent.frames };
  if (Number.isFinite(choice.max_frames)) {
    update.total = choice.max_frames;
  } else if (Number.isFinite(choice.duration_ms) && sent.frames > 0) {
    update.remaining_ms = Math.max(
      0,
      choice.duration_ms - (sent.last_ms - sent.first_ms),
    );
  }
  return update;
}

/** `url` without user information or query (cameras take credentials in either). */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return "(an invalid URL)";
  }
}
