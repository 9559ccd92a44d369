/**
 * `freshet frames tail`: the view of the frames job's outputs (lines and
 * the per-source screen), and the tail reading the job's topics over the
 * Kafka twin, from the beginning or from now.
 */

import assert from "node:assert/strict";
import { UsageError } from "../../src/cli/args.ts";
import { framesCommand, tailFrames } from "../../src/cli/frames_tail.ts";
import { FramesView } from "../../src/cli/frames_view.ts";
import { frames } from "../../src/jobs/frames/job.ts";
import { JobDriver } from "../../sim/driver.ts";
import { grayJpeg } from "./frames_images.ts";

const T0 = Date.UTC(2024, 0, 15, 10, 30, 0);

function frame(source: string, ms: number, grey: number, height = 488) {
  const jpeg = grayJpeg(16, height, grey);
  return JSON.stringify({
    frame_id: `frame_${ms}`,
    timestamp: new Date(T0 + ms).toISOString(),
    source,
    frame_data: jpeg.toBase64(),
    frame_width: 16,
    frame_height: height,
    frame_channels: 1,
    frame_size_bytes: jpeg.length,
    metadata: {},
  });
}

const PROCESSED = JSON.stringify({
  frame_id: "frame_1",
  timestamp: "2024-01-15T10:30:00.500Z",
  source: "lobby",
  frame_width: 1280,
  frame_height: 720,
  brightness: 47.5,
  aspect_ratio: 1.7778,
  aspect_label: "16:9",
  compression_ratio: 101.25,
  resolution_category: "HD",
});

const WINDOW = JSON.stringify({
  source: "lobby",
  window_start: "2024-01-15T10:30:00Z",
  window_end: "2024-01-15T10:30:10Z",
  frame_count: 10,
  fps: 1,
  brightness_min: 40,
  brightness_avg: 47.5,
  brightness_max: 55.25,
  compression_ratio_avg: 100.5,
  resolution_categories: { HD: 10, FHD: 0, QHD: 0, UHD: 0 },
});

Deno.test("FramesView gives one line per frame and per window", () => {
  const view = new FramesView();
  assert.equal(
    view.add("processed", PROCESSED),
    "frame  2024-01-15T10:30:00.500Z lobby 1280x720 HD 16:9 brightness 47.50 compression 101.25",
  );
  assert.equal(
    view.add("aggregations", WINDOW),
    "window 2024-01-15T10:30:00Z..2024-01-15T10:30:10Z lobby 10 frames 1 fps brightness 40.00/47.50/55.25 compression 100.50 HD 10",
  );
  assert.equal(view.add("processed", "not json"), null);
  assert.equal(view.add("aggregations", PROCESSED), null);
  assert.deepEqual(view.totals(), { frames: 1, windows: 1, unreadable: 2 });
});

Deno.test("FramesView's screen has a row per source with brightness over its frames and its last window", () => {
  const view = new FramesView({ recent_frames: 2 });
  const at = (brightness: number, source = "lobby") =>
    JSON.stringify({ ...JSON.parse(PROCESSED), brightness, source });
  view.add("processed", at(10));
  view.add("processed", at(30));
  view.add("processed", at(20));
  view.add("processed", at(99, "gate"));
  view.add("aggregations", WINDOW);
  const screen = view.render().split("\n");
  assert.equal(screen[0], "frames 4, windows 1, sources 2");
  assert.match(screen[2]!, /^source\s+res\s+frames\s+brightness min\/avg\/max/);
  assert.match(
    screen[3]!,
    /^gate\s+1280x720\s+1\s+99\.00\/99\.00\/99\.00\s+99\.00\s+16:9/,
  );
  assert.match(
    screen[4]!,
    /^lobby\s+1280x720\s+3\s+10\.00\/20\.00\/30\.00\s+20\.00\s+16:9\s+101\.25\s+10:30:00Z–10:30:10Z\s+1\s+10\s+47\.50$/,
  );
  assert.equal(screen[6], "recent frames:");
  assert.equal(screen.length, 9, "the two most recent frames");
  assert.match(screen[8]!, /gate .* brightness 99\.00/);
});

Deno.test("tailFrames() reads both output topics of the job from the beginning", async () => {
  const d = await JobDriver.open(frames, { partitions: 2, start_ms: T0 });
  await d.pipe([
    frame("lobby", 0, 40),
    frame("lobby", 1_000, 60),
    frame("gate", 500, 200),
    frame("gate", 600, 200, 480), // filtered
  ]);
  await d.endOfInput();
  const view = new FramesView();
  const seen: string[] = [];
  await tailFrames(d.log, {
    from_beginning: true,
    until_idle: true,
    onRecord(topic, value) {
      seen.push(topic);
      view.add(topic, value);
    },
  });
  assert.deepEqual(view.totals(), { frames: 3, windows: 2, unreadable: 0 });
  assert.equal(seen.filter((t) => t === "processed").length, 3);
  assert.match(view.render(), /lobby .* 2 +40\.00\/50\.00\/60\.00/);
  await d.close();
});

Deno.test("tailFrames() from now shows only what the job writes after it started", async () => {
  const d = await JobDriver.open(frames, { partitions: 1, start_ms: T0 });
  await d.pipe([frame("old", 0, 40), frame("old", 20_000, 40)]);
  const stop = new AbortController();
  const sources: string[] = [];
  const tail = tailFrames(d.log, {
    signal: stop.signal,
    onRecord(topic, value) {
      if (topic === "processed") {
        sources.push(JSON.parse(value).source);
      }
    },
  });
  // Until the tail's consumer has its partitions.
  for (let i = 0; i < 20; i++) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await d.pipe([frame("new", 21_000, 80), frame("new", 22_000, 90)]);
  for (let i = 0; i < 200 && sources.length < 2; i++) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  stop.abort();
  await tail;
  assert.deepEqual(sources, ["new", "new"]);
  await d.close();
});

Deno.test("frames answers help, and refuses an unknown subcommand or a bad flag in one line", async () => {
  const log = console.log;
  const printed: string[] = [];
  console.log = (text: string) => printed.push(text);
  try {
    assert.equal(await framesCommand([]), 0);
    assert.equal(await framesCommand(["tail", "--help"]), 0);
  } finally {
    console.log = log;
  }
  assert.match(printed[0]!, /^freshet frames: /);
  assert.match(printed[1]!, /--from-beginning/);
  await assert.rejects(
    () => framesCommand(["follow"]),
    (e: unknown) =>
      e instanceof UsageError &&
      e.message === "unknown frames command 'follow' (known: tail)",
  );
  await assert.rejects(
    () => framesCommand(["tail", "--interval-ms", "0"]),
    (e: unknown) =>
      e instanceof UsageError &&
      /--interval-ms must be a positive whole number: got '0'/.test(e.message),
  );
});
