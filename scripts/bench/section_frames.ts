/**
 * Benchmark: frames/s of the `frames` job against a bare decode of the
 * same frames, at 720p and 1080p.
 *
 * - **Baseline:** imagescript's Wasm JPEG decoder (`JpegDecoder`, the
 *   decoder the job uses) decoding each frame's JPEG bytes, already in
 *   memory: the least any job that looks at the pixels must do.
 * - **Candidate:** the whole job in the simulator, from the recorded
 *   `video_frames` messages to both output topics: JSON, base64, header
 *   checks, decoding, luma, windows, the Kafka transactional sink's twin and
 *   checkpoints (`simulate({ job: frames.create(), ... })`).
 *
 * Frames are ffmpeg's `testsrc2` encoded as cameras do (4:2:0, `-q:v 5`)
 * when ffmpeg is installed, else the synthetic scene (imagescript's 4:4:4
 * encoder). Runs alternate, after a warm-up of each; the ratio is of the
 * median frames/s (wall clock), with CPU time per frame beside it, as the
 * machine may be shared.
 *
 * @module
 */

import process from "node:process";
import type { FixtureMessage } from "../../src/core/fixture.ts";
import { frames } from "../../src/jobs/frames/job.ts";
import { JpegDecoder } from "../../src/jobs/frames/jpeg_decoder.ts";
import { InstantClock } from "../../src/sources/frames/frame.ts";
import { JpegStreamSplitter } from "../../src/sources/frames/jpeg_stream.ts";
import { frameMessage } from "../../src/sources/frames/message.ts";
import { syntheticFrames } from "../../src/sources/frames/synthetic.ts";
import { simulate } from "../../sim/simulator.ts";
import { type Section, table, verdictOf } from "./report.ts";
import { fmt, median, perSecond } from "./stats.ts";

export const FRAMES_TITLE =
  "11. `frames` job throughput vs a bare decode of the same frames (720p, 1080p)";
export const FRAMES_TARGET = 0.8;

/** Options of {@linkcode framesSection}. */
export interface FramesSectionOptions {
  /** Measured runs of each side per resolution, after one warm-up each. */
  runs: number;
  /** Frames per resolution. */
  frames: number;
  log: (line: string) => void;
}

/** Frames of one resolution, as JPEG bytes and as recorded messages. */
interface FrameSet {
  label: string;
  encoder: string;
  jpegs: Uint8Array[];
  fixture: FixtureMessage[];
}

const T0 = Date.UTC(2024, 0, 15, 10, 30, 0);
const SOURCES = ["cam-a", "cam-b", "cam-c", "cam-d"];

async function ffmpegJpegs(
  width: number,
  height: number,
  count: number,
): Promise<Uint8Array[] | undefined> {
  try {
    const output = await new Deno.Command("ffmpeg", {
      args: [
        "-hide_banner",
        "-loglevel",
        "error",
        "-f",
        "lavfi",
        "-i",
        `testsrc2=size=${width}x${height}:rate=10`,
        "-frames:v",
        String(count),
        "-pix_fmt",
        "yuvj420p",
        "-q:v",
        "5",
        "-f",
        "image2pipe",
        "-c:v",
        "mjpeg",
        "-",
      ],
      stdout: "piped",
      stderr: "null",
    }).output();
    if (!output.success) return undefined;
    return new JpegStreamSplitter().push(output.stdout);
  } catch {
    return undefined;
  }
}

async function frameSet(
  width: number,
  height: number,
  count: number,
): Promise<FrameSet> {
  let jpegs = await ffmpegJpegs(width, height, count);
  let encoder = "ffmpeg testsrc2, 4:2:0, -q:v 5";
  if (jpegs === undefined || jpegs.length !== count) {
    jpegs = [];
    for await (
      const frame of syntheticFrames({
        width,
        height,
        count,
        fps: 10,
        quality: 75,
        clock: new InstantClock(0),
      })
    ) jpegs.push(frame.jpeg);
    encoder = "synthetic scene, imagescript 4:4:4, quality 75";
  }
  // Four cameras at 10 fps each, spread over the job's partitions by key.
  const fixture = jpegs.map((jpeg, i): FixtureMessage => {
    const source = SOURCES[i % SOURCES.length]!;
    const timestamp_ms = T0 + Math.floor(i / SOURCES.length) * 100;
    const { key, value } = frameMessage({
      jpeg,
      width,
      height,
      timestamp_ms,
      source,
      frame_id: `frame_${i}_${timestamp_ms}`,
    });
    return { line: i + 1, key, value, timestamp: timestamp_ms + 40 };
  });
  return { label: `${height}p`, encoder, jpegs, fixture };
}

function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

interface Timing {
  wall_ms: number;
  cpu_ms: number;
}

function baselinePass(set: FrameSet, decoder: JpegDecoder): Timing {
  const cpu = cpuMs();
  const t0 = performance.now();
  let pixels = 0;
  for (const jpeg of set.jpegs) {
    pixels += decoder.decode(jpeg, (image) => image.width * image.height);
  }
  const timing = {
    wall_ms: performance.now() - t0,
    cpu_ms: cpuMs() - cpu,
  };
  if (pixels === 0) throw new Error("Cannot time decoding: nothing decoded");
  return timing;
}

async function candidatePass(set: FrameSet): Promise<Timing> {
  const job = frames.create();
  const cpu = cpuMs();
  const t0 = performance.now();
  const result = await simulate({ job, fixture: set.fixture, seed: 1 });
  const timing = {
    wall_ms: performance.now() - t0,
    cpu_ms: cpuMs() - cpu,
  };
  if (result.counts.out !== set.jpegs.length) {
    throw new Error(
      `Cannot compare as the job must keep every ${set.label} frame: it kept ${result.counts.out} of ${set.jpegs.length}`,
    );
  }
  return timing;
}

interface Measured {
  set: FrameSet;
  base: Timing[];
  cand: Timing[];
  base_rate: number;
  cand_rate: number;
  ratio: number;
  cpu_ratio: number;
}

/** Runs the benchmark and writes its section. */
export async function framesSection(
  options: FramesSectionOptions,
): Promise<Section> {
  const decoder = new JpegDecoder();
  const measured: Measured[] = [];
  for (const [width, height] of [[1280, 720], [1920, 1080]] as const) {
    options.log(`frames: encoding ${options.frames} frames of ${height}p`);
    const set = await frameSet(width, height, options.frames);
    options.log(`frames: ${height}p warm-up`);
    baselinePass(set, decoder);
    await candidatePass(set);
    const base: Timing[] = [];
    const cand: Timing[] = [];
    for (let i = 0; i < options.runs; i++) {
      base.push(baselinePass(set, decoder));
      cand.push(await candidatePass(set));
      options.log(
        `frames: ${height}p run ${i + 1}/${options.runs}: decode ${
          fmt(base.at(-1)!.wall_ms)
        } ms, job ${fmt(cand.at(-1)!.wall_ms)} ms`,
      );
    }
    const n = set.jpegs.length;
    const base_rate = median(base.map((t) => perSecond(n, t.wall_ms)));
    const cand_rate = median(cand.map((t) => perSecond(n, t.wall_ms)));
    const cpu_ratio = median(base.map((t) => t.cpu_ms)) /
      median(cand.map((t) => t.cpu_ms));
    measured.push({
      set,
      base,
      cand,
      base_rate,
      cand_rate,
      ratio: cand_rate / base_rate,
      cpu_ratio,
    });
  }
  const worst = Math.min(...measured.map((m) => m.ratio));
  const verdict = verdictOf(worst, FRAMES_TARGET);
  const rate = (value: number) => value.toFixed(1);
  const body = [
    `**Measured:** frames per second through each side, ${options.frames} frames per resolution (four cameras at 10 fps), ${options.runs} runs of each side alternating after a warm-up; the ratio is of the medians.`,
    "",
    "- **Baseline:** imagescript's Wasm JPEG decoder (`src/jobs/frames/jpeg_decoder.ts`, what the job decodes with) on each frame's JPEG bytes, already in memory.",
    "- **Candidate:** `simulate({ job: frames.create(), fixture, seed: 1 })`: the whole job from the `video_frames` messages (JSON, base64, header checks, decoding, Rec. 601 luma, per-source windows) to its two topics through the Kafka twin's transactions, with checkpoints.",
    "",
    ...table(
      [
        "resolution",
        "frames",
        "decode frames/s",
        "job frames/s",
        "ratio (wall)",
        "decode CPU ms/frame",
        "job CPU ms/frame",
        "ratio (CPU)",
      ],
      measured.map((m) => {
        const n = m.set.jpegs.length;
        return [
          `${m.set.label} (${m.set.encoder})`,
          String(n),
          rate(m.base_rate),
          rate(m.cand_rate),
          m.ratio.toFixed(3),
          (median(m.base.map((t) => t.cpu_ms)) / n).toFixed(1),
          (median(m.cand.map((t) => t.cpu_ms)) / n).toFixed(1),
          m.cpu_ratio.toFixed(3),
        ];
      }),
    ),
    "",
    `**Result:** the job runs at ${
      measured.map((m) => `${m.ratio.toFixed(3)}× (${m.set.label})`).join(
        " and ",
      )
    } the bare decode's frames/s, target ≥ ${FRAMES_TARGET} at both: **${verdict}**. The job decodes inline, one frame at a time per partition (see \`src/jobs/frames/job.ts\` on why not in a worker pool).`,
  ];
  return {
    title: FRAMES_TITLE,
    verdict,
    summary: {
      baseline: measured.map((m) => `${m.set.label} ${rate(m.base_rate)} f/s`)
        .join(", "),
      candidate: measured.map((m) => `${m.set.label} ${rate(m.cand_rate)} f/s`)
        .join(", "),
      ratio: measured.map((m) => m.ratio.toFixed(3)).join(" / "),
      target: `≥ ${FRAMES_TARGET}`,
    },
    body,
  };
}
