/**
 * The `frames` job through the shared test driver (sim/driver.ts): which
 * frames are kept, filtered or dead-lettered (and why), the analysis fields
 * of `processed_video_frames`, the per-source windows of
 * `video_source_aggregations`, lateness, quiet partitions and crashes.
 */

import assert from "node:assert/strict";
import { frames, framesJob } from "../../src/jobs/frames/job.ts";
import { readFrame } from "../../src/jobs/frames/read_frame.ts";
import { JobDriver } from "../../sim/driver.ts";
import { grayJpeg, patternJpeg, uniformJpeg } from "./frames_images.ts";

const TOPIC = "video_frames";
const PROCESSED = "processed_video_frames";
const AGGREGATIONS = "video_source_aggregations";
const T0 = Date.UTC(2024, 0, 15, 10, 30, 0); // 2024-01-15T10:30:00Z

let next_id = 0;

/** A `video_frames` message of `jpeg` from `source` at `ms` after T0. */
function message(
  source: string,
  ms: number,
  jpeg: Uint8Array,
  size: { width: number; height: number },
  changes: Record<string, unknown> = {},
): string {
  return JSON.stringify({
    frame_id: `frame_${next_id++}_${T0 + ms}`,
    timestamp: new Date(T0 + ms).toISOString(),
    source,
    frame_data: jpeg.toBase64(),
    frame_width: size.width,
    frame_height: size.height,
    frame_channels: 3,
    frame_size_bytes: jpeg.length,
    metadata: { camera: source },
    ...changes,
  });
}

/** A grey frame of `width` × `height` (multiples of 8) at `ms` after T0. */
function grey(
  source: string,
  ms: number,
  width: number,
  height: number,
  level: number,
): string {
  return message(source, ms, grayJpeg(width, height, level), {
    width,
    height,
  });
}

/** A JPEG of only a frame header (SOI, SOF0, EOI) declaring `width` × `height`. */
function headerOnly(width: number, height: number): Uint8Array {
  return new Uint8Array([
    0xff,
    0xd8,
    0xff,
    0xc0,
    0x00,
    0x11,
    0x08,
    height >> 8,
    height & 0xff,
    width >> 8,
    width & 0xff,
    0x03,
    ...[1, 2, 3].flatMap((id) => [id, 0x11, 0x00]),
    0xff,
    0xd9,
  ]);
}

async function driver(options: Record<string, string> = {}) {
  return await JobDriver.open(frames, {
    partitions: 1,
    start_ms: T0 + 60_000,
    overrides: { options },
  });
}

function values(d: JobDriver, topic: string): Record<string, unknown>[] {
  return d.records(topic).map((r) => JSON.parse(r.value));
}

/** Dead letters as [kind, reason]. */
function deadLetters(d: JobDriver): Array<[string, string]> {
  return d.records(`${TOPIC}.dead-letter`).map((r) => {
    const { reason } = JSON.parse(r.value) as { reason: string };
    return [reason.slice(0, reason.indexOf(":")), reason];
  });
}

Deno.test("frames describes itself: topic, partitions, output topics, fixture and options", () => {
  const job = frames.create();
  assert.equal(job.name, "frames");
  assert.equal(job.topic, TOPIC);
  assert.equal(job.partitions, 4);
  assert.deepEqual(job.outputTopics, [
    "video_frames.dead-letter",
    "video_frames.late",
    PROCESSED,
    AGGREGATIONS,
  ]);
  assert.equal(frames.fixture, "fixtures/frames/frames.jsonl.gz");
  assert.deepEqual(frames.optionHelp(), [
    "partitions=4",
    "out_of_orderness_ms=5000",
    "allowed_lateness_ms=0",
    "window_ms=10000",
    "idle_advance_ms=30000",
    "keep_height_over=480",
    "decode_filtered=false",
    "max_pixels=16777216",
    "keep_frame_data=false",
  ]);
});

Deno.test("frames keeps frames taller than 480 pixels and filters the rest, by the frame's height", async () => {
  const d = await driver();
  await d.pipe([
    grey("tall", 0, 16, 488, 100),
    grey("tall", 1_000, 16, 480, 100), // exactly 480: filtered
    grey("tall", 2_000, 480, 16, 100), // wide but low: filtered
    grey("tall", 3_000, 8, 1088, 100),
  ]);
  await d.endOfInput();
  assert.deepEqual(
    values(d, PROCESSED).map((f) => `${f.frame_width}x${f.frame_height}`),
    ["16x488", "8x1088"],
  );
  assert.deepEqual(d.counts(), {
    in: 4,
    out: 2,
    filtered: 2,
    dead_lettered: 0,
    late: 0,
  });
  await d.close();

  const lower = await driver({ keep_height_over: "400" });
  await lower.pipe([grey("tall", 0, 16, 480, 100)]);
  await lower.endOfInput();
  assert.equal(values(lower, PROCESSED).length, 1);
  await lower.close();
});

Deno.test("frames dead-letters each kind of bad record with a reason that starts with its kind", async () => {
  const good = await patternJpeg(64, 496);
  const size = { width: 64, height: 496 };
  const base = JSON.parse(message("cam", 0, good, size));
  const without = (field: string) => {
    const copy = { ...base };
    delete copy[field];
    return JSON.stringify(copy);
  };
  const d = await driver({ max_pixels: "1000000" });
  const bad: Array<[string, string]> = [
    ["not-json", JSON.stringify(base).slice(0, 120)],
    ["not-object", JSON.stringify(["frame_1", "cam"])],
    ["missing-field", without("frame_data")],
    ["invalid-field", message("cam", 0, good, size, { frame_width: "64" })],
    [
      "invalid-base64",
      message("cam", 0, good, size, {
        frame_data: good.toBase64().slice(0, -1),
      }),
    ],
    [
      "not-jpeg",
      message("cam", 0, new TextEncoder().encode("no camera attached\n"), size),
    ],
    [
      "too-many-pixels",
      message("cam", 0, headerOnly(1000, 1001), { width: 1000, height: 1001 }),
    ],
    ["size-mismatch", message("cam", 0, good, { width: 64, height: 488 })],
    [
      "undecodable",
      message("cam", 0, good.slice(0, good.length >> 1), size),
    ],
  ];
  await d.pipe(bad.map(([, payload]) => payload));
  await d.pipe([message("cam", 100, good, size)]);
  await d.endOfInput();
  const letters = deadLetters(d);
  assert.deepEqual(letters.map(([kind]) => kind), bad.map(([kind]) => kind));
  for (const [kind, reason] of letters) {
    assert.ok(reason.length > kind.length + 10, reason);
  }
  assert.match(
    letters[6]![1],
    /at most 1000000 pixels: current value is 1000x1001/,
  );
  assert.match(letters[7]![1], /declared 64x488, JPEG is 64x496/);
  assert.equal(values(d, PROCESSED).length, 1);
  assert.deepEqual(d.counts(), {
    in: 10,
    out: 1,
    filtered: 0,
    dead_lettered: 9,
    late: 0,
  });
  await d.close();
});

Deno.test("frames filters a corrupt low frame without decoding it, unless decode_filtered is set", async () => {
  const jpeg = await patternJpeg(64, 480);
  const corrupt = message("low", 0, jpeg.slice(0, jpeg.length >> 1), {
    width: 64,
    height: 480,
  });
  // Checked from the header even when not decoded: a dead letter either way.
  const mismatch = message("low", 0, jpeg, { width: 64, height: 472 });

  const d = await driver();
  await d.pipe([corrupt, mismatch]);
  await d.endOfInput();
  assert.deepEqual(deadLetters(d).map(([kind]) => kind), ["size-mismatch"]);
  assert.equal(d.counts().filtered, 1);
  await d.close();

  const decoding = await driver({ decode_filtered: "true" });
  await decoding.pipe([corrupt, mismatch]);
  await decoding.endOfInput();
  assert.deepEqual(deadLetters(decoding).map(([kind]) => kind), [
    "undecodable",
    "size-mismatch",
  ]);
  assert.equal(decoding.counts().filtered, 0);
  await decoding.close();
});

Deno.test("readFrame() decodes a frame only when its height is kept or decode_filtered is set", async () => {
  const jpeg = await patternJpeg(64, 480);
  const payload = message("low", 0, jpeg, { width: 64, height: 480 });
  const skipped = readFrame(payload, { keep_height_over: 480 });
  assert.ok("value" in skipped);
  assert.equal(skipped.value.analysis, null);
  assert.equal(skipped.value.height, 480);
  assert.equal(skipped.key, "low");
  assert.equal(skipped.time, T0);
  const decoded = readFrame(payload, {
    keep_height_over: 480,
    decode_filtered: true,
  });
  assert.ok("value" in decoded);
  assert.equal(decoded.value.analysis?.height, 480);
});

Deno.test("processed_video_frames holds the message's fields without frame_data, plus the analysis, keyed by source", async () => {
  const jpeg = await uniformJpeg(1280, 720, [200, 200, 200], 90);
  const payload = message("lobby", 0, jpeg, { width: 1280, height: 720 }, {
    extra: "kept as given",
  });
  const d = await driver();
  await d.pipe([payload]);
  await d.endOfInput();
  const [record] = d.records(PROCESSED);
  assert.equal(record!.key, "lobby");
  const frame = JSON.parse(record!.value);
  const { frame_data: _, ...fields } = JSON.parse(payload);
  const { brightness, ...rest } = frame;
  assert.deepEqual(rest, {
    ...fields,
    aspect_ratio: 1.7778,
    aspect_label: "16:9",
    compression_ratio: Math.round(1280 * 720 * 3 / jpeg.length * 100) / 100,
    resolution_category: "HD",
  });
  assert.ok(Math.abs(brightness - 200) <= 1, `brightness ${brightness}`);
  assert.deepEqual(Object.keys(frame).slice(-5), [
    "brightness",
    "aspect_ratio",
    "aspect_label",
    "compression_ratio",
    "resolution_category",
  ]);
  await d.close();

  const keeping = await driver({ keep_frame_data: "true" });
  await keeping.pipe([payload]);
  await keeping.endOfInput();
  const [kept] = values(keeping, PROCESSED);
  assert.equal(kept!.frame_data, jpeg.toBase64());
  await keeping.close();
});

Deno.test("processed_video_frames names each resolution category and aspect label", async () => {
  const d = await driver();
  await d.pipe([
    grey("cats", 0, 16, 720, 50),
    grey("cats", 100, 16, 1080, 50),
    grey("cats", 200, 8, 1440, 50),
    grey("cats", 300, 8, 1448, 50),
    grey("cats", 400, 648, 488, 50), // 1.3279: 4:3 within 2 %
    grey("cats", 500, 488, 488, 50),
  ]);
  await d.endOfInput();
  assert.deepEqual(
    values(d, PROCESSED).map((f) => [
      f.resolution_category,
      f.aspect_label,
      f.brightness,
    ]),
    [
      ["HD", "other", 50],
      ["FHD", "other", 50],
      ["QHD", "other", 50],
      ["UHD", "other", 50],
      ["HD", "4:3", 50],
      ["HD", "1:1", 50],
    ],
  );
  await d.close();
});

Deno.test("video_source_aggregations has per-source 10 s windows with count, fps, brightness and categories", async () => {
  const d = await driver();
  await d.pipe([
    // Window 10:30:00–10:30:10 of cam-a: brightness 10, 20, 40.
    grey("cam-a", 0, 16, 488, 10),
    grey("cam-a", 4_000, 16, 488, 20),
    grey("cam-a", 9_999, 8, 1080, 40),
    // The next window of cam-a, and cam-b in the first one.
    grey("cam-a", 10_000, 16, 488, 90),
    grey("cam-b", 5_000, 8, 1448, 200),
    grey("cam-b", 6_000, 8, 1448, 201),
    // Filtered frames count nowhere.
    grey("cam-a", 1_000, 16, 480, 255),
  ]);
  await d.endOfInput();
  const records = d.records(AGGREGATIONS);
  assert.deepEqual(
    records.map((r) => r.key),
    records.map((r) => JSON.parse(r.value).source),
  );
  const bySource = values(d, AGGREGATIONS).sort((a, b) =>
    `${a.source}${a.window_start}` < `${b.source}${b.window_start}` ? -1 : 1
  );
  // The window's mean of the ratios its frames were given.
  const ratios = values(d, PROCESSED)
    .filter((f) => f.source === "cam-a" && f.brightness !== 90)
    .map((f) => Math.round((f.compression_ratio as number) * 100));
  assert.equal(ratios.length, 3);
  assert.deepEqual(bySource[0], {
    source: "cam-a",
    window_start: "2024-01-15T10:30:00Z",
    window_end: "2024-01-15T10:30:10Z",
    frame_count: 3,
    fps: 0.3,
    brightness_min: 10,
    brightness_avg: 23.33,
    brightness_max: 40,
    compression_ratio_avg:
      Math.round((ratios[0]! + ratios[1]! + ratios[2]!) / 3) / 100,
    resolution_categories: { HD: 2, FHD: 1, QHD: 0, UHD: 0 },
  });
  assert.deepEqual(
    bySource.slice(1).map((w) => [
      w.source,
      w.window_start,
      w.window_end,
      w.frame_count,
      w.fps,
      w.brightness_min,
      w.brightness_avg,
      w.brightness_max,
      w.resolution_categories,
    ]),
    [
      [
        "cam-a",
        "2024-01-15T10:30:10Z",
        "2024-01-15T10:30:20Z",
        1,
        0.1,
        90,
        90,
        90,
        { HD: 1, FHD: 0, QHD: 0, UHD: 0 },
      ],
      [
        "cam-b",
        "2024-01-15T10:30:00Z",
        "2024-01-15T10:30:10Z",
        2,
        0.2,
        200,
        200.5,
        201,
        { HD: 0, FHD: 0, QHD: 0, UHD: 2 },
      ],
    ],
  );
  await d.close();
});

Deno.test("video_source_aggregations follows window_ms, and fps divides by the window's seconds", async () => {
  const d = await driver({ window_ms: "3000" });
  await d.pipe(
    [0, 500, 1_000, 2_999, 3_000].map((ms) => grey("cam", ms, 8, 488, 100)),
  );
  await d.endOfInput();
  assert.deepEqual(
    values(d, AGGREGATIONS).map((w) => [
      w.window_start,
      w.window_end,
      w.frame_count,
      w.fps,
    ]),
    [
      ["2024-01-15T10:30:00Z", "2024-01-15T10:30:03Z", 4, 1.333],
      ["2024-01-15T10:30:03Z", "2024-01-15T10:30:06Z", 1, 0.333],
    ],
  );
  await d.close();
});

Deno.test("a frame too late for its window goes to video_frames.late and still to processed_video_frames", async () => {
  const d = await driver();
  await d.pipe([0, 10_000, 20_000].map((ms) => grey("cam", ms, 8, 488, 60)));
  // The watermark is 20 s − 5 s − 1 ms: the first window has fired.
  await d.pipe([grey("cam", 9_000, 8, 488, 60)]);
  await d.endOfInput();
  assert.equal(values(d, PROCESSED).length, 4);
  assert.equal(d.records(`${TOPIC}.late`).length, 1);
  assert.deepEqual(
    values(d, AGGREGATIONS).map((w) => w.frame_count),
    [1, 1, 1],
  );
  assert.equal(d.counts().late, 1);
  await d.close();
});

Deno.test("the last windows of cameras that stop close once the partition has been quiet for idle_advance_ms", async () => {
  const d = await driver({ idle_advance_ms: "20000" });
  await d.pipe([0, 1_000, 2_000].map((ms) => grey("cam", ms, 8, 488, 60)));
  await d.advanceClock(15_000);
  assert.equal(d.records(AGGREGATIONS).length, 0);
  await d.advanceClock(20_000);
  assert.deepEqual(values(d, AGGREGATIONS).map((w) => w.frame_count), [3]);
  await d.close();

  const never = await driver({ idle_advance_ms: "0" });
  await never.pipe([grey("cam", 0, 8, 488, 60)]);
  await never.advanceClock(3_600_000);
  assert.equal(never.records(AGGREGATIONS).length, 0);
  await never.close();
});

Deno.test("frames leaves each output once when its instance crashes between checkpoints", async () => {
  const input = Array.from(
    { length: 30 },
    (_, i) => grey(`cam-${i % 3}`, i * 700, 8, 488, 10 * (i % 20)),
  );
  const expected = await driver();
  await expected.pipe(input);
  await expected.endOfInput();

  const d = await JobDriver.open(frames, {
    partitions: 1,
    start_ms: T0 + 60_000,
    checkpoint_interval_ms: 5_000,
    max_batch_records: 4,
  });
  await d.pipe(input.slice(0, 17));
  await d.crash();
  await d.advanceClock(6_000);
  await d.pipe(input.slice(17));
  await d.crash();
  await d.endOfInput();
  for (const topic of [PROCESSED, AGGREGATIONS]) {
    assert.deepEqual(
      d.records(topic).map((r) => r.value).sort(),
      expected.records(topic).map((r) => r.value).sort(),
      topic,
    );
  }
  await d.close();
  await expected.close();
});

Deno.test("frames' summary lists frames and windows per source", async () => {
  const d = await driver();
  await d.pipe([
    grey("cam-a", 0, 16, 720, 100),
    grey("cam-a", 12_000, 16, 720, 50),
    grey("cam-b", 0, 8, 1080, 30),
  ]);
  await d.endOfInput();
  const lines = await frames.summarize({
    kv: d.kv,
    log: d.log,
    objects: d.objects,
  });
  assert.deepEqual(lines, [
    "processed_video_frames: 3 frames",
    "video_source_aggregations: 3 windows",
    "  cam-a            HD        2 frames,    2 windows, mean brightness 75.00",
    "  cam-b            FHD       1 frames,    1 windows, mean brightness 30.00",
  ]);
  await d.close();
});

Deno.test("framesJob() names another deployment: its name and output topics", async () => {
  const spec = framesJob({
    name: "frames-b",
    topics: { processed: "b_frames", aggregations: "b_windows" },
  });
  const job = spec.create();
  assert.equal(job.name, "frames-b");
  assert.deepEqual(job.outputTopics, [
    "video_frames.dead-letter",
    "video_frames.late",
    "b_frames",
    "b_windows",
  ]);
  const d = await JobDriver.open(spec, {
    partitions: 1,
    start_ms: T0 + 60_000,
  });
  await d.pipe([grey("cam", 0, 8, 488, 60)]);
  await d.endOfInput();
  assert.equal(d.records("b_frames").length, 1);
  assert.equal(d.records("b_windows").length, 1);
  assert.equal(d.records(PROCESSED).length, 0);
  assert.deepEqual(
    await spec.summarize({ kv: d.kv, log: d.log, objects: d.objects }),
    [
      "b_frames: 1 frames",
      "b_windows: 1 windows",
      "  cam              HD        1 frames,    1 windows, mean brightness 60.00",
    ],
  );
  await d.close();
});
