/**
 * The `frames` job's hot path: decode and analysis time per frame at 720p
 * and 1080p, and whether a pool of Web Workers pays.
 *
 * ```sh
 * deno run -A scripts/bench/frames_decode.ts [--frames N] [--rounds N] [--json]
 * ```
 *
 * For each resolution and encoder (imagescript's 4:4:4 JPEGs of the
 * synthetic scene; ffmpeg's 4:2:0 JPEGs of `testsrc2`, as cameras send, when
 * ffmpeg is installed) it reports, per frame:
 *
 * - `Image.decode`: imagescript's public decode (RGBA expanded in JS);
 * - `wasm decode`: imagescript's Wasm decoder alone (`JpegDecoder`);
 * - `analyzeJpeg`: header checks + decode + luma: the job's per-frame work;
 * - `base64 + JSON`: parsing a `video_frames` message and its base64;
 *
 * then frames/s of the analysis inline, in 1 worker and in 2 workers, and
 * how long the event loop stalls meanwhile (lateness of a 5 ms timer).
 * Times are wall-clock medians over rounds; `cpu` is the process's CPU time
 * per frame (user + system), steadier on a shared machine.
 *
 * @module
 */

import process from "node:process";
import { analyzeJpeg } from "../../src/jobs/frames/analysis.ts";
import { JpegDecoder } from "../../src/jobs/frames/jpeg_decoder.ts";
import { parseVideoFrame } from "../../src/jobs/frames/parse.ts";
import { InstantClock } from "../../src/sources/frames/frame.ts";
import { Image } from "../../src/sources/frames/jpeg_encode.ts";
import { frameMessage } from "../../src/sources/frames/message.ts";
import { syntheticFrames } from "../../src/sources/frames/synthetic.ts";
import { median, percentile } from "./stats.ts";
import type { DecodeReply, DecodeRequest } from "./frames_decode_worker.ts";

interface Flags {
  frames: number;
  rounds: number;
  json: boolean;
}

function parseFlags(args: string[]): Flags {
  const flags: Flags = { frames: 24, rounds: 3, json: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--json") flags.json = true;
    else if (arg === "--frames" || arg === "--rounds") {
      const value = Number(args[++i]);
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new Error(`${arg} must be a positive integer`);
      }
      flags[arg === "--frames" ? "frames" : "rounds"] = value;
    } else {
      throw new Error(
        `unknown argument '${arg}' (known: --frames N, --rounds N, --json)`,
      );
    }
  }
  return flags;
}

/** A set of frames of one size from one encoder. */
interface FrameSet {
  name: string;
  width: number;
  height: number;
  jpegs: Uint8Array[];
}

async function syntheticSet(
  width: number,
  height: number,
  count: number,
): Promise<FrameSet> {
  const jpegs: Uint8Array[] = [];
  for await (
    const frame of syntheticFrames({
      width,
      height,
      fps: 1,
      count,
      seed: 11,
      quality: 75,
      clock: new InstantClock(0),
    })
  ) jpegs.push(frame.jpeg);
  return {
    name: `${height}p imagescript q75 (4:4:4)`,
    width,
    height,
    jpegs,
  };
}

async function ffmpegSet(
  width: number,
  height: number,
  count: number,
): Promise<FrameSet | undefined> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("ffmpeg", {
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
      stderr: "piped",
    }).output();
  } catch {
    return undefined;
  }
  if (!output.success) return undefined;
  const { JpegStreamSplitter } = await import(
    "../../src/sources/frames/jpeg_stream.ts"
  );
  const jpegs = new JpegStreamSplitter().push(output.stdout);
  return {
    name: `${height}p ffmpeg q5 (4:2:0)`,
    width,
    height,
    jpegs,
  };
}

function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** Median wall ms per frame of `fn` over rounds, and CPU ms per frame. */
async function perFrame(
  set: FrameSet,
  rounds: number,
  fn: (jpeg: Uint8Array) => unknown,
): Promise<{ wall_ms: number; cpu_ms: number }> {
  for (const jpeg of set.jpegs.slice(0, 2)) await fn(jpeg); // warm up
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const cpu0 = cpuMs();
    const t0 = performance.now();
    for (const jpeg of set.jpegs) await fn(jpeg);
    walls.push((performance.now() - t0) / set.jpegs.length);
    cpus.push((cpuMs() - cpu0) / set.jpegs.length);
  }
  return { wall_ms: median(walls), cpu_ms: median(cpus) };
}

/**
 * Largest lateness of a 5 ms interval timer while `work` runs: how long the
 * event loop could not serve anything else.
 */
async function stalls<T>(
  work: () => Promise<T>,
): Promise<{ value: T; stall_ms_max: number; stall_ms_p99: number }> {
  const lateness: number[] = [];
  let expected = performance.now() + 5;
  const timer = setInterval(() => {
    const now = performance.now();
    lateness.push(Math.max(0, now - expected));
    expected = now + 5;
  }, 5);
  try {
    const value = await work();
    return {
      value,
      stall_ms_max: lateness.length === 0 ? NaN : Math.max(...lateness),
      stall_ms_p99: lateness.length === 0 ? NaN : percentile(lateness, 99),
    };
  } finally {
    clearInterval(timer);
  }
}

/** Lets timers run between frames, as a runner between batches would. */
function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Frames/s analysing `set` inline on the main thread. */
async function inlineThroughput(set: FrameSet) {
  const t0 = performance.now();
  const { stall_ms_max, stall_ms_p99 } = await stalls(async () => {
    for (const jpeg of set.jpegs) {
      analyzeJpeg(jpeg, { frame_width: set.width, frame_height: set.height });
      await yieldToLoop();
    }
  });
  const seconds = (performance.now() - t0) / 1000;
  return { fps: set.jpegs.length / seconds, stall_ms_max, stall_ms_p99 };
}

/** Frames/s analysing `set` in `workers` workers, two frames in flight each. */
async function poolThroughput(set: FrameSet, workers: number) {
  const pool = Array.from(
    { length: workers },
    () =>
      new Worker(new URL("./frames_decode_worker.ts", import.meta.url), {
        type: "module",
      }),
  );
  try {
    // Warm each worker up (module load, Wasm compile) before timing.
    await Promise.all(
      pool.map((worker) =>
        send(worker, {
          id: 0,
          jpeg: set.jpegs[0]!.slice(),
          width: set.width,
          height: set.height,
        })
      ),
    );
    const t0 = performance.now();
    const { stall_ms_max, stall_ms_p99 } = await stalls(async () => {
      let next = 0;
      const lane = async (worker: Worker) => {
        while (next < set.jpegs.length) {
          const id = next++;
          // A copy is transferred, as a consumer would hand over its buffer.
          const jpeg = set.jpegs[id]!.slice();
          const reply = await send(worker, {
            id,
            jpeg,
            width: set.width,
            height: set.height,
          }, [jpeg.buffer]);
          if (!reply.result.ok) throw new Error(reply.result.reason);
        }
      };
      await Promise.all(pool.flatMap((worker) => [lane(worker), lane(worker)]));
    });
    const seconds = (performance.now() - t0) / 1000;
    return { fps: set.jpegs.length / seconds, stall_ms_max, stall_ms_p99 };
  } finally {
    for (const worker of pool) worker.terminate();
  }
}

const pending = new Map<number, (reply: DecodeReply) => void>();
const listening = new WeakSet<Worker>();
let sequence = 0;

/** Posts `request` (its id replaced by a unique one) and awaits the reply. */
function send(
  worker: Worker,
  request: DecodeRequest,
  transfer: Transferable[] = [],
): Promise<DecodeReply> {
  if (!listening.has(worker)) {
    listening.add(worker);
    worker.onmessage = (event: MessageEvent<DecodeReply>) => {
      const resolve = pending.get(event.data.id);
      pending.delete(event.data.id);
      resolve?.(event.data);
    };
  }
  const id = sequence++;
  return new Promise((resolve) => {
    pending.set(id, resolve);
    worker.postMessage({ ...request, id }, transfer);
  });
}

async function main(): Promise<void> {
  const flags = parseFlags(Deno.args);
  const sets: FrameSet[] = [];
  for (const [width, height] of [[1280, 720], [1920, 1080]] as const) {
    sets.push(await syntheticSet(width, height, flags.frames));
    const camera = await ffmpegSet(width, height, flags.frames);
    if (camera !== undefined) sets.push(camera);
  }
  const load = (() => {
    try {
      return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3)
        .join(" ");
    } catch {
      return "unknown";
    }
  })();
  const results = [];
  for (const set of sets) {
    const decoder = new JpegDecoder();
    const messages = set.jpegs.map((jpeg, i) =>
      frameMessage({
        jpeg,
        width: set.width,
        height: set.height,
        timestamp_ms: i * 1000,
        source: "bench",
        frame_id: `frame_${i}_${i * 1000}`,
      }).value
    );
    let m = 0;
    const image_decode = await perFrame(
      set,
      flags.rounds,
      (jpeg) => Image.decode(jpeg),
    );
    const wasm_decode = await perFrame(
      set,
      flags.rounds,
      (jpeg) => decoder.decode(jpeg, () => null),
    );
    const analysis = await perFrame(
      set,
      flags.rounds,
      (jpeg) =>
        analyzeJpeg(jpeg, { frame_width: set.width, frame_height: set.height }),
    );
    const parse = await perFrame(set, flags.rounds, () => {
      const parsed = parseVideoFrame(messages[m++ % messages.length]!);
      if (!parsed.ok) throw new Error(parsed.reason);
      return Uint8Array.fromBase64(parsed.frame.frame_data);
    });
    const inline = await inlineThroughput(set);
    const one = await poolThroughput(set, 1);
    const two = await poolThroughput(set, 2);
    results.push({
      frames: set.name,
      jpeg_bytes_mean: Math.round(
        set.jpegs.reduce((n, j) => n + j.length, 0) / set.jpegs.length,
      ),
      image_decode,
      wasm_decode,
      analysis,
      parse,
      inline,
      workers_1: one,
      workers_2: two,
    });
  }
  if (flags.json) {
    console.log(JSON.stringify({ load, flags, results }, null, 2));
    return;
  }
  const f1 = (x: number) => x.toFixed(1);
  console.log(
    `frames per set ${flags.frames}, rounds ${flags.rounds}, load average ${load}, ${navigator.hardwareConcurrency} CPUs`,
  );
  console.log(
    "\nper frame, ms (wall median / cpu)      Image.decode   wasm decode    analyzeJpeg    base64+JSON",
  );
  for (const r of results) {
    console.log(
      `${r.frames.padEnd(30)} ${String(r.jpeg_bytes_mean).padStart(7)} B  ${
        [r.image_decode, r.wasm_decode, r.analysis, r.parse]
          .map((t) => `${f1(t.wall_ms)}/${f1(t.cpu_ms)}`.padStart(13))
          .join("  ")
      }`,
    );
  }
  console.log(
    "\nthroughput, frames/s (event-loop stall max / p99, ms)   inline            1 worker          2 workers",
  );
  for (const r of results) {
    console.log(
      `${r.frames.padEnd(52)} ${
        [r.inline, r.workers_1, r.workers_2]
          .map((t) =>
            `${f1(t.fps)} (${f1(t.stall_ms_max)}/${f1(t.stall_ms_p99)})`
              .padStart(16)
          )
          .join("  ")
      }`,
    );
  }
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    console.error(`frames_decode: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
