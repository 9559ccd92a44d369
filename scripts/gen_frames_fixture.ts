/**
 * Generates the recorded input of the `frames` job:
 * `fixtures/frames/frames.jsonl.gz` (recorded log records of topic
 * `video_frames`, keyed by `source`). Seeded and deterministic: the same
 * flags write the same bytes on the same platform (the JPEG encoder is
 * imagescript's native one, so it needs `--allow-ffi`).
 *
 * ```sh
 * deno run -A scripts/gen_frames_fixture.ts [--seed N] [--seconds N] [--out FILE] [--help]
 * ```
 *
 * Every line is checked against the job's own parser and analysis before it
 * is written: a bad record must fail for the reason it was made for, a good
 * one must pass. See `fixtures/frames/README.md`.
 *
 * @module
 */

import { gzipSync } from "fflate";
import { analyzeFrameData } from "../src/jobs/frames/analysis.ts";
import { parseVideoFrame } from "../src/jobs/frames/parse.ts";
import { type Frame, InstantClock } from "../src/sources/frames/frame.ts";
import { encodeJpeg } from "../src/sources/frames/jpeg_encode.ts";
import {
  frameMessage,
  VIDEO_FRAMES_TOPIC,
} from "../src/sources/frames/message.ts";
import {
  syntheticFrames,
  SyntheticScene,
} from "../src/sources/frames/synthetic.ts";
import { createRandom, partitionOf } from "./gen_views_fixture.ts";
import {
  flagHelp,
  type FlagSpec,
  parseArgs,
  UsageError,
} from "../src/cli/args.ts";

/** One camera of the fixture. */
export interface SourcePlan {
  source: string;
  width: number;
  height: number;
  fps: number;
  /** JPEG quality, 1–100. */
  quality: number;
  metadata: Record<string, unknown>;
  /** Zone-less timestamps with microseconds, as a Python producer writes. */
  zoneless: boolean;
}

/** The cameras: two at 480p or below (filtered by the job), four above. */
export const SOURCES: readonly SourcePlan[] = [
  {
    source: "lobby-cam",
    width: 1280,
    height: 720,
    fps: 1,
    quality: 30,
    metadata: { location: "lobby", model: "ipcam-720" },
    zoneless: false,
  },
  {
    source: "parking-cam",
    width: 1920,
    height: 1080,
    fps: 0.5,
    quality: 30,
    metadata: { location: "parking", model: "ipcam-1080" },
    zoneless: false,
  },
  {
    source: "doorbell",
    width: 640,
    height: 480,
    fps: 2,
    quality: 40,
    metadata: { location: "front door" },
    zoneless: false,
  },
  {
    source: "dashcam",
    width: 640,
    height: 360,
    fps: 1,
    quality: 40,
    metadata: {},
    zoneless: true,
  },
  {
    source: "phone",
    width: 720,
    height: 1280,
    fps: 0.5,
    quality: 30,
    metadata: { app: "python-producer" },
    zoneless: true,
  },
  {
    source: "ultrawide",
    width: 2560,
    height: 1080,
    fps: 0.2,
    quality: 30,
    metadata: { location: "control room" },
    zoneless: false,
  },
];

/** Why a bad record is bad: the job's dead-letter kinds. */
export const BAD_KINDS = [
  "not-json",
  "not-object",
  "missing-field",
  "invalid-field",
  "invalid-base64",
  "not-jpeg",
  "undecodable",
  "size-mismatch",
  "too-many-pixels",
] as const;

/** One kind of bad record. */
export type BadKind = typeof BAD_KINDS[number];

/** Bad records of each kind (variants taken in turn). */
export const BAD_COUNTS: Readonly<Record<BadKind, number>> = {
  "not-json": 3,
  "not-object": 1,
  "missing-field": 3,
  "invalid-field": 3,
  "invalid-base64": 2,
  "not-jpeg": 2,
  "undecodable": 3,
  "size-mismatch": 3,
  "too-many-pixels": 2,
};

/** What the job must do with a record. */
export type Verdict = "kept" | "filtered" | BadKind;

/** Options of {@linkcode generateFrames}. */
export interface GenerateFramesOptions {
  /** Seed of every choice. Default: 20260314. */
  seed?: number;
  /** Event time covered, seconds. Default: 180. */
  seconds?: number;
  /** First event time, epoch ms. Default: 2026-03-14T06:00:00Z. */
  start_ms?: number;
  /** Partitions of the topic. Default: 4. */
  partitions?: number;
  /** The cameras. Default: {@linkcode SOURCES}. */
  sources?: readonly SourcePlan[];
  /** Bad records per kind. Default: {@linkcode BAD_COUNTS}. */
  bad_counts?: Readonly<Record<BadKind, number>>;
}

/** A record before partitions and offsets are given. */
interface Pending {
  source: string;
  value: string;
  event_ms: number;
  arrival_ms: number;
  verdict: Verdict;
  /** Tie-break of equal arrival times: generation order. */
  seq: number;
}

/** Facts about a generated fixture (the README prints them). */
export interface FramesFixtureStats {
  seed: number;
  lines: number;
  partition_lines: number[];
  /** Per source: resolution, fps, frames (good records), kept or filtered. */
  sources: Array<{
    source: string;
    partition: number;
    resolution: string;
    fps: number;
    frames: number;
    verdict: "kept" | "filtered";
    jpeg_bytes_mean: number;
  }>;
  bad_by_kind: Record<BadKind, number>;
  kept: number;
  filtered: number;
  event_ms_min: number;
  event_ms_max: number;
  arrival_ms_min: number;
  arrival_ms_max: number;
}

/** The generated lines and their facts. */
export interface GeneratedFrames {
  lines: string[];
  /** What the job must do with each line, in line order. */
  verdicts: Verdict[];
  stats: FramesFixtureStats;
}

/** Generates the recorded `video_frames` records (one JSON line each). */
export async function generateFrames(
  options: GenerateFramesOptions = {},
): Promise<GeneratedFrames> {
  const {
    seed = DEFAULT_SEED,
    seconds = 180,
    start_ms = Date.UTC(2026, 2, 14, 6),
    partitions = 4,
    sources = SOURCES,
    bad_counts = BAD_COUNTS,
  } = options;
  const random = createRandom(seed);
  const pending: Pending[] = [];
  let seq = 0;
  const delay = () => 30 + Math.floor(random() * 270);

  for (const [index, plan] of sources.entries()) {
    // Cameras do not start on the same millisecond.
    const offset_ms = Math.floor(random() * 1000);
    const count = Math.floor(seconds * plan.fps);
    for await (
      const frame of syntheticFrames({
        width: plan.width,
        height: plan.height,
        fps: plan.fps,
        seed: seed + 1 + index,
        source: plan.source,
        quality: plan.quality,
        count,
        start_ms: start_ms + offset_ms,
        clock: new InstantClock(start_ms),
      })
    ) {
      pending.push({
        source: plan.source,
        value: message(frame, plan),
        event_ms: frame.timestamp_ms,
        arrival_ms: frame.timestamp_ms + delay(),
        verdict: plan.height > 480 ? "kept" : "filtered",
        seq: seq++,
      });
    }
  }

  for (const kind of BAD_KINDS) {
    for (let variant = 0; variant < bad_counts[kind]; variant++) {
      // Bad frames come from cameras above 480p, so that a filter on the
      // height cannot be what stops them.
      const kept = sources.filter((plan) => plan.height > 480);
      const plan = kept[Math.floor(random() * kept.length)]!;
      const event_ms = start_ms + Math.floor(random() * seconds * 1000);
      const scene_seed = seed + 1 + sources.indexOf(plan);
      const frame = await frameAt(plan, scene_seed, event_ms, start_ms);
      pending.push({
        source: plan.source,
        value: badValue(kind, variant, frame, plan),
        event_ms,
        arrival_ms: event_ms + delay(),
        verdict: kind,
        seq: seq++,
      });
    }
  }

  pending.sort((a, b) => a.arrival_ms - b.arrival_ms || a.seq - b.seq);
  const offsets: number[] = new Array(partitions).fill(0);
  const lines: string[] = [];
  const verdicts: Verdict[] = [];
  for (const record of pending) {
    const partition = partitionOf(record.source, partitions);
    lines.push(JSON.stringify({
      topic: VIDEO_FRAMES_TOPIC,
      partition,
      offset: offsets[partition]!++,
      key: record.source,
      value: record.value,
      timestamp: record.arrival_ms,
    }));
    verdicts.push(record.verdict);
  }
  checkVerdicts(lines, verdicts);
  return {
    lines,
    verdicts,
    stats: summarize(pending, sources, { seed, partitions, offsets }),
  };
}

function message(frame: Frame, plan: SourcePlan): string {
  return frameMessage(frame, {
    metadata: plan.metadata,
    zoneless_timestamp: plan.zoneless,
  }).value;
}

/** The camera's frame at `event_ms` (the scene at that instant). */
async function frameAt(
  plan: SourcePlan,
  scene_seed: number,
  event_ms: number,
  start_ms: number,
): Promise<Frame> {
  const scene = new SyntheticScene(scene_seed, plan.width, plan.height);
  const jpeg = await encodeJpeg(
    scene.render((event_ms - start_ms) / 1000),
    plan.quality,
  );
  return {
    jpeg,
    width: plan.width,
    height: plan.height,
    timestamp_ms: event_ms,
    source: plan.source,
    frame_id: `frame_bad_${event_ms}`,
  };
}

/** The payload of a bad record of `kind` (its `variant`th). */
function badValue(
  kind: BadKind,
  variant: number,
  frame: Frame,
  plan: SourcePlan,
): string {
  const good = JSON.parse(message(frame, plan)) as Record<string, unknown>;
  const withFrame = (jpeg: Uint8Array, changes: Record<string, unknown> = {}) =>
    JSON.stringify({
      ...good,
      frame_data: jpeg.toBase64(),
      frame_size_bytes: jpeg.length,
      ...changes,
    });
  switch (kind) {
    case "not-json": {
      const text = JSON.stringify(good);
      return [
        text.slice(0, 180),
        "<html><body><h1>502 Bad Gateway</h1></body></html>",
        `frame_id=${good.frame_id} source=${good.source} width=${good.frame_width}`,
      ][variant % 3]!;
    }
    case "not-object":
      return JSON.stringify([good.frame_id, good.source]);
    case "missing-field": {
      const field = ["frame_data", "timestamp", "frame_height"][variant % 3]!;
      const { [field]: _, ...rest } = good;
      return JSON.stringify(rest);
    }
    case "invalid-field":
      return JSON.stringify({
        ...good,
        ...[
          { frame_width: String(good.frame_width) },
          { timestamp: "yesterday" },
          { frame_channels: 0 },
        ][variant % 3]!,
      });
    case "invalid-base64": {
      const data = good.frame_data as string;
      return JSON.stringify({
        ...good,
        frame_data: variant % 2 === 0
          ? `${data.slice(0, 64)}!!!${data.slice(64)}`
          : data.slice(0, -1),
      });
    }
    case "not-jpeg":
      return variant % 2 === 0
        ? withFrame(PNG_SIGNATURE_AND_HEADER)
        : withFrame(new TextEncoder().encode("no camera attached\n"));
    case "undecodable": {
      const jpeg = frame.jpeg;
      const cut = [
        jpeg.slice(0, Math.floor(jpeg.length / 2)),
        jpeg.slice(0, jpeg.length - 2),
        scrambled(jpeg),
      ][variant % 3]!;
      return withFrame(cut);
    }
    case "size-mismatch":
      return JSON.stringify({
        ...good,
        ...[
          { frame_width: plan.height, frame_height: plan.width },
          plan.width === 1920
            ? { frame_width: 1280, frame_height: 720 }
            : { frame_width: 1920, frame_height: 1080 },
          { frame_height: plan.height - 8 },
        ][variant % 3]!,
      });
    case "too-many-pixels": {
      // Only a header, claiming 8K (or 10,000 x 10,000): the job must refuse
      // it from the header, before allocating 100 MB or more to decode it.
      const [width, height] = variant % 2 === 0 ? [7680, 4320] : [10000, 10000];
      return withFrame(oversizedHeader(width, height), {
        frame_width: width,
        frame_height: height,
      });
    }
  }
}

/** The first bytes of a PNG file (signature and IHDR): not a JPEG. */
// deno-fmt-ignore
const PNG_SIGNATURE_AND_HEADER = new Uint8Array([
  0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d,
  0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x02, 0x80, 0x00, 0x00, 0x01, 0xe0,
  0x08, 0x02, 0x00, 0x00, 0x00,
]);

/** SOI, a baseline SOF of `width` x `height` with 3 components, EOI. */
function oversizedHeader(width: number, height: number): Uint8Array {
  // deno-fmt-ignore
  return new Uint8Array([
    0xff, 0xd8,
    0xff, 0xc0, 0x00, 0x11, 8, height >> 8, height & 0xff, width >> 8,
    width & 0xff, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1,
    0xff, 0xd9,
  ]);
}

/**
 * `jpeg` with a stretch of its scan data overwritten: imagescript's decoder
 * panics on it (the job must survive that, see jpeg_decoder.ts).
 */
function scrambled(jpeg: Uint8Array): Uint8Array {
  const copy = jpeg.slice();
  let sos = 2;
  while (!(copy[sos] === 0xff && copy[sos + 1] === 0xda)) sos++;
  const from = sos + 2 + ((copy[sos + 2]! << 8) | copy[sos + 3]!) + 64;
  for (let i = from; i < Math.min(from + 1500, copy.length - 2); i++) {
    copy[i] = (i * 7) & 0xff;
  }
  return copy;
}

/** Throws unless the job's parser and analysis give every line its verdict. */
export function checkVerdicts(lines: string[], verdicts: Verdict[]): void {
  for (const [index, line] of lines.entries()) {
    const expected = verdicts[index]!;
    const actual = verdictOf(JSON.parse(line).value);
    if (actual !== expected) {
      throw new Error(
        `line ${
          index + 1
        } must be '${expected}' for the job: it is '${actual}'`,
      );
    }
  }
}

/** What the job's parser and analysis make of a payload. */
export function verdictOf(value: string, min_height = 480): Verdict {
  const parsed = parseVideoFrame(value);
  if (!parsed.ok) return parsed.kind;
  const analysis = analyzeFrameData(parsed.frame.frame_data, parsed.frame);
  if (!analysis.ok) return analysis.kind;
  return analysis.analysis.height > min_height ? "kept" : "filtered";
}

function summarize(
  pending: Pending[],
  sources: readonly SourcePlan[],
  options: { seed: number; partitions: number; offsets: number[] },
): FramesFixtureStats {
  const bad_by_kind = Object.fromEntries(
    BAD_KINDS.map((kind) => [kind, 0]),
  ) as Record<BadKind, number>;
  let kept = 0;
  let filtered = 0;
  const frames = new Map<string, { count: number; bytes: number }>();
  for (const record of pending) {
    if (record.verdict === "kept") kept++;
    else if (record.verdict === "filtered") filtered++;
    else {
      bad_by_kind[record.verdict]++;
      continue;
    }
    const entry = frames.get(record.source) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += JSON.parse(record.value).frame_size_bytes as number;
    frames.set(record.source, entry);
  }
  return {
    seed: options.seed,
    lines: pending.length,
    partition_lines: options.offsets,
    sources: sources.map((plan) => {
      const entry = frames.get(plan.source) ?? { count: 0, bytes: 0 };
      return {
        source: plan.source,
        partition: partitionOf(plan.source, options.partitions),
        resolution: `${plan.width}x${plan.height}`,
        fps: plan.fps,
        frames: entry.count,
        verdict: plan.height > 480 ? "kept" : "filtered",
        jpeg_bytes_mean: entry.count === 0
          ? 0
          : Math.round(entry.bytes / entry.count),
      };
    }),
    bad_by_kind,
    kept,
    filtered,
    event_ms_min: Math.min(...pending.map((r) => r.event_ms)),
    event_ms_max: Math.max(...pending.map((r) => r.event_ms)),
    arrival_ms_min: Math.min(...pending.map((r) => r.arrival_ms)),
    arrival_ms_max: Math.max(...pending.map((r) => r.arrival_ms)),
  };
}

/** Renders `stats` as the lines the generator prints. */
export function formatFramesStats(stats: FramesFixtureStats): string {
  const iso = (ms: number) => new Date(ms).toISOString();
  const rows = [
    `seed                 ${stats.seed}`,
    `lines                ${stats.lines}`,
    `lines per partition  ${stats.partition_lines.join(" / ")}`,
    `event time           ${iso(stats.event_ms_min)} .. ${
      iso(stats.event_ms_max)
    }`,
    `arrival time         ${iso(stats.arrival_ms_min)} .. ${
      iso(stats.arrival_ms_max)
    }`,
    `good frames          ${
      stats.kept + stats.filtered
    } (kept ${stats.kept}, filtered ${stats.filtered})`,
  ];
  for (const s of stats.sources) {
    rows.push(
      `  ${s.source.padEnd(12)} p${s.partition} ${s.resolution.padEnd(10)} ${
        String(s.fps).padStart(4)
      } fps ${
        String(s.frames).padStart(4)
      } frames, mean JPEG ${s.jpeg_bytes_mean} bytes (${s.verdict})`,
    );
  }
  const bad = Object.values(stats.bad_by_kind).reduce((a, b) => a + b, 0);
  rows.push(`bad records          ${bad}`);
  for (const kind of BAD_KINDS) {
    rows.push(`  ${kind.padEnd(18)} ${stats.bad_by_kind[kind]}`);
  }
  return rows.join("\n");
}

/** Default seed of the committed fixture. */
export const DEFAULT_SEED = 20260314;

/** Deflate level of the written file; changing it changes the bytes. */
export const GZIP_LEVEL = 9;

/** The gzip bytes of `lines` (one per line), with a zero modification time. */
export function gzipLines(lines: readonly string[]): Uint8Array {
  const text = new TextEncoder().encode(lines.join("\n") + "\n");
  // fflate's pure-JS deflate gives the same bytes on every machine and Deno
  // version; mtime 0 and no file name keep the header free of the machine.
  return gzipSync(text, { level: GZIP_LEVEL, mtime: 0 });
}

const FLAGS: FlagSpec = {
  values: {
    seed: `seed of every random choice (default ${DEFAULT_SEED})`,
    seconds: "seconds of frames from every camera (default 180)",
    out: "fixture file, gzipped (default fixtures/frames/frames.jsonl.gz)",
  },
  booleans: { help: "print this help and exit" },
};

const HELP =
  `Generates the recorded input of the frames job (see fixtures/frames/README.md).

Usage: deno run -A scripts/gen_frames_fixture.ts [flags]

Flags:
${flagHelp(FLAGS)}`;

/** The generator's flags, or null for --help. */
function parseFlags(args: string[]): {
  seed: number;
  seconds: number;
  out: string;
} | null {
  const parsed = parseArgs(args, FLAGS);
  if (parsed.booleans.has("help")) return null;
  if (parsed.positional.length > 0) {
    throw new UsageError(
      `unknown argument '${parsed.positional[0]}' (every argument is a --flag)`,
    );
  }
  const integer = (name: string, fallback: number) => {
    const text = parsed.values.get(name);
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isSafeInteger(n) || n < 1) {
      throw new UsageError(
        `--${name} must be a positive integer: current value is '${text}'`,
      );
    }
    return n;
  };
  return {
    seed: integer("seed", DEFAULT_SEED),
    seconds: integer("seconds", 180),
    out: parsed.values.get("out") ?? "fixtures/frames/frames.jsonl.gz",
  };
}

if (import.meta.main) {
  let flags;
  try {
    flags = parseFlags(Deno.args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`gen_frames_fixture: ${error.message}`);
    Deno.exit(2);
  }
  if (flags === null) {
    console.log(HELP);
    Deno.exit(0);
  }
  const { lines, stats } = await generateFrames({
    seed: flags.seed,
    seconds: flags.seconds,
  });
  const bytes = gzipLines(lines);
  const slash = flags.out.lastIndexOf("/");
  if (slash > 0) {
    await Deno.mkdir(flags.out.slice(0, slash), { recursive: true });
  }
  await Deno.writeFile(flags.out, bytes);
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>),
  );
  console.log(formatFramesStats(stats));
  console.log(`bytes                ${bytes.length} (${flags.out})`);
  console.log(
    `sha256               ${
      Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("")
    }`,
  );
}
