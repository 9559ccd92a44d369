import assert from "node:assert/strict";
import { analyzeJpeg } from "../../src/jobs/frames/analysis.ts";
import { InstantClock } from "../../src/sources/frames/frame.ts";
import {
  parseSize,
  seededRandom,
  syntheticFrames,
  SyntheticScene,
} from "../../src/sources/frames/synthetic.ts";

async function collect<T>(iterable: AsyncIterable<T>) {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

function frames(seed: number, count = 4) {
  return collect(
    syntheticFrames({
      width: 160,
      height: 90,
      fps: 2,
      seed,
      count,
      clock: new InstantClock(1_000),
    }),
  );
}

Deno.test("syntheticFrames() gives the same bytes for the same seed, other bytes for another", async () => {
  const first = await frames(42);
  const again = await frames(42);
  const other = await frames(43);
  assert.deepEqual(first.map((f) => f.jpeg), again.map((f) => f.jpeg));
  for (let i = 0; i < first.length; i++) {
    assert.notDeepEqual(first[i]!.jpeg, other[i]!.jpeg);
  }
  // Consecutive frames differ: the scene moves.
  assert.notDeepEqual(first[0]!.jpeg, first[1]!.jpeg);
});

Deno.test("syntheticFrames() emits count frames of the asked size, paced at fps", async () => {
  const out = await frames(7, 5);
  assert.deepEqual(
    out.map((f) => [f.width, f.height, f.timestamp_ms, f.frame_id, f.source]),
    [0, 1, 2, 3, 4].map((
      i,
    ) => [
      160,
      90,
      1_000 + 500 * i,
      `frame_${i}_${1_000 + 500 * i}`,
      "synthetic",
    ]),
  );
  for (const frame of out) {
    const result = analyzeJpeg(frame.jpeg, {
      frame_width: 160,
      frame_height: 90,
    });
    assert.ok(result.ok, JSON.stringify(result));
  }
});

Deno.test("syntheticFrames() frames vary in brightness over a minute", async () => {
  const brightness: number[] = [];
  for await (
    const frame of syntheticFrames({
      width: 96,
      height: 54,
      fps: 0.2, // one frame every 5 s, for 90 s
      count: 19,
      seed: 3,
      clock: new InstantClock(0),
    })
  ) {
    const result = analyzeJpeg(frame.jpeg, {
      frame_width: 96,
      frame_height: 54,
    });
    assert.ok(result.ok);
    brightness.push(result.analysis.brightness);
  }
  const range = Math.max(...brightness) - Math.min(...brightness);
  assert.ok(range > 30, `brightness only ranges over ${range}: ${brightness}`);
});

Deno.test("SyntheticScene.light() stays within 0.15 and 0.95", () => {
  for (let seed = 0; seed < 20; seed++) {
    const scene = new SyntheticScene(seed, 8, 8);
    for (let t = 0; t < 200; t += 0.7) {
      const light = scene.light(t);
      assert.ok(light >= 0.15 - 1e-9 && light <= 0.95 + 1e-9, `${light}`);
    }
  }
});

Deno.test("syntheticFrames() starts at first_index and start_ms", async () => {
  const out = await collect(
    syntheticFrames({
      width: 32,
      height: 32,
      fps: 4,
      count: 2,
      first_index: 10,
      start_ms: 9_000,
      clock: new InstantClock(0),
    }),
  );
  assert.deepEqual(out.map((f) => f.frame_id), [
    "frame_10_9000",
    "frame_11_9250",
  ]);
  // Frame 10 alone is the same picture as the 11th frame of a run from 0.
  const from_zero = await collect(
    syntheticFrames({
      width: 32,
      height: 32,
      fps: 4,
      count: 11,
      clock: new InstantClock(0),
    }),
  );
  assert.deepEqual(out[0]!.jpeg, from_zero[10]!.jpeg);
});

Deno.test("parseSize() reads WIDTHxHEIGHT and refuses anything else", () => {
  assert.deepEqual(parseSize("1280x720"), { width: 1280, height: 720 });
  assert.deepEqual(parseSize(" 1x1 "), { width: 1, height: 1 });
  for (
    const bad of [
      "1280",
      "1280x",
      "x720",
      "0x720",
      "1280x0",
      "1280X720",
      "-5x5",
      "9000x10",
      "1.5x2",
    ]
  ) {
    assert.throws(
      () => parseSize(bad),
      new RegExp(
        `must be WIDTHxHEIGHT with sides from 1 to 8192: current value is '${
          bad.replace(".", "\\.")
        }'`,
      ),
    );
  }
});

Deno.test("seededRandom() repeats for a seed and stays in [0, 1)", () => {
  const a = seededRandom(99);
  const b = seededRandom(99);
  const c = seededRandom(100);
  const xs = Array.from({ length: 1000 }, () => a());
  assert.deepEqual(xs, Array.from({ length: 1000 }, () => b()));
  assert.notDeepEqual(xs.slice(0, 5), Array.from({ length: 5 }, () => c()));
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.05, `mean ${mean}`);
});
