import assert from "node:assert/strict";
import fc from "fast-check";
import type { FrameAnalysis } from "../../src/jobs/frames/analysis.ts";
import {
  type KeptFrame,
  sourceAggregation,
  type SourceStats,
  sourceStats,
} from "../../src/jobs/frames/source_stats.ts";

const CATEGORIES = ["HD", "FHD", "QHD", "UHD"] as const;

function kept(
  brightness: number,
  compression_ratio: number,
  category: number,
): KeptFrame {
  const analysis: FrameAnalysis = {
    width: 16,
    height: 720,
    channels: 3,
    jpeg_bytes: 100,
    brightness,
    aspect_ratio: 0.0222,
    aspect_label: "other",
    compression_ratio,
    resolution_category: CATEGORIES[category]!,
  };
  return {
    fields: {},
    source: "cam",
    height: 720,
    analysis,
  };
}

const frame = fc.tuple(
  fc.integer({ min: 0, max: 25_500 }).map((n) => n / 100),
  fc.integer({ min: 1, max: 100_000 }).map((n) => n / 100),
  fc.integer({ min: 0, max: 3 }),
).map(([b, c, k]) => kept(b, c, k));

function fold(frames: readonly KeptFrame[]): SourceStats {
  let acc = sourceStats.create();
  for (const f of frames) acc = sourceStats.add(acc, f);
  return acc;
}

function record(acc: SourceStats) {
  return sourceAggregation({
    key: "cam",
    window: { start: 0, end: 10_000 },
    value: sourceStats.result(acc),
    update: false,
  });
}

Deno.test("sourceStats gives the same record whatever the order of the frames and however they are merged and snapshot", () => {
  fc.assert(
    fc.property(
      fc.array(frame, { minLength: 1, maxLength: 40 }),
      fc.nat(),
      fc.nat(),
      (frames, seed, cut) => {
        // The accumulator itself, not only the rounded record: a float sum
        // would differ in its last bits from one order to another.
        const expected = JSON.stringify([
          sourceStats.encode(fold(frames)),
          record(fold(frames)),
        ]);
        const shuffled = [...frames];
        let s = seed;
        for (let i = shuffled.length - 1; i > 0; i--) {
          s = (s * 1_103_515_245 + 12_345) >>> 0;
          const j = s % (i + 1);
          [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
        }
        const again = fold(shuffled);
        assert.equal(
          JSON.stringify([sourceStats.encode(again), record(again)]),
          expected,
        );
        const at = cut % (frames.length + 1);
        const left = sourceStats.decode(
          JSON.parse(
            JSON.stringify(sourceStats.encode(fold(shuffled.slice(0, at)))),
          ),
        );
        const merged = sourceStats.merge(left, fold(shuffled.slice(at)));
        assert.equal(
          JSON.stringify([sourceStats.encode(merged), record(merged)]),
          expected,
        );
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("sourceAggregation() rounds means of hundredths half up to 2 decimals", () => {
  const r = record(
    fold([kept(10, 1.01, 0), kept(20, 1.02, 0), kept(40.01, 1, 1)]),
  );
  assert.equal(r.brightness_avg, 23.34); // 7001 / 3 = 2333.67 hundredths
  assert.equal(r.compression_ratio_avg, 1.01);
  assert.equal(r.brightness_min, 10);
  assert.equal(r.brightness_max, 40.01);
  assert.equal(r.fps, 0.3);
  assert.deepEqual(r.resolution_categories, { HD: 2, FHD: 1, QHD: 0, UHD: 0 });
});

Deno.test("an empty accumulator survives a snapshot as JSON", () => {
  const empty = sourceStats.decode(
    JSON.parse(JSON.stringify(sourceStats.encode(sourceStats.create()))),
  );
  assert.deepEqual(empty, sourceStats.create());
});
