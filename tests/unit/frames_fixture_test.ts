/**
 * The `frames` fixture: the generator writes the same bytes for the same
 * flags, every line is a recorded record partitioned by FNV-1a of its key in
 * arrival order and gets the verdict it was made for, and the committed file
 * is the one `fixtures/frames/README.md` pins, with the README's counts.
 */

import assert from "node:assert/strict";
import { decodeFixture, parseFixture } from "../../src/core/fixture.ts";
import { readJpegHeader } from "../../src/jobs/frames/jpeg_header.ts";
import { parseVideoFrame } from "../../src/jobs/frames/parse.ts";
import {
  BAD_KINDS,
  type BadKind,
  checkVerdicts,
  generateFrames,
  gzipLines,
  type SourcePlan,
  verdictOf,
} from "../../scripts/gen_frames_fixture.ts";
import { partitionOf } from "../../scripts/gen_views_fixture.ts";

const ROOT = new URL("../../", import.meta.url);

const SMALL_SOURCES: SourcePlan[] = [
  {
    source: "cam-a",
    width: 320,
    height: 240,
    fps: 2,
    quality: 30,
    metadata: {},
    zoneless: false,
  },
  {
    source: "cam-b",
    width: 640,
    height: 496,
    fps: 1,
    quality: 30,
    metadata: { x: 1 },
    zoneless: true,
  },
];
const ONE_EACH = Object.fromEntries(BAD_KINDS.map((k) => [k, 1])) as Record<
  BadKind,
  number
>;

function small(seed: number) {
  return generateFrames({
    seed,
    seconds: 4,
    sources: SMALL_SOURCES,
    bad_counts: ONE_EACH,
  });
}

/** Checks the recorded-record rules over `lines`. */
function checkRecords(lines: string[], partitions = 4): void {
  const next_offset: number[] = new Array(partitions).fill(0);
  let last_arrival = -Infinity;
  for (const [index, line] of lines.entries()) {
    const record = JSON.parse(line);
    assert.equal(record.topic, "video_frames");
    assert.equal(record.partition, partitionOf(record.key, partitions));
    assert.equal(
      record.offset,
      next_offset[record.partition]!++,
      `line ${index + 1}`,
    );
    assert.ok(
      record.timestamp >= last_arrival,
      `line ${index + 1} arrives early`,
    );
    last_arrival = record.timestamp;
  }
}

Deno.test("gen_frames_fixture writes the same bytes for the same seed, other bytes for another", async () => {
  const first = await small(7);
  const again = await small(7);
  const other = await small(8);
  assert.deepEqual(gzipLines(first.lines), gzipLines(again.lines));
  assert.notDeepEqual(gzipLines(first.lines), gzipLines(other.lines));
});

Deno.test("gen_frames_fixture gives every line its verdict and writes recorded records in arrival order", async () => {
  const { lines, verdicts, stats } = await small(7);
  checkRecords(lines);
  const counts = new Map<string, number>();
  for (const verdict of verdicts) {
    counts.set(verdict, (counts.get(verdict) ?? 0) + 1);
  }
  for (const kind of BAD_KINDS) assert.equal(counts.get(kind), 1, kind);
  // 4 s: cam-a (240 lines high) 8 frames filtered, cam-b (496) 4 kept.
  assert.equal(counts.get("filtered"), 8);
  assert.equal(counts.get("kept"), 4);
  assert.equal(stats.lines, lines.length);
  // A wrong verdict is caught.
  const wrong = [...verdicts];
  wrong[verdicts.indexOf("kept")] = "filtered";
  assert.throws(
    () => checkVerdicts(lines, wrong),
    /must be 'filtered' for the job: it is 'kept'/,
  );
});

Deno.test("the committed frames fixture is the one its README pins, with the README's counts", async () => {
  const bytes = await Deno.readFile(
    new URL("fixtures/frames/frames.jsonl.gz", ROOT),
  );
  const readme = await Deno.readTextFile(
    new URL("fixtures/frames/README.md", ROOT),
  );
  const digest = Array.from(
    new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  assert.ok(readme.includes(`\`${digest}\``), `README does not pin ${digest}`);
  assert.ok(
    readme.includes(
      `| \`frames.jsonl.gz\` | ${bytes.length.toLocaleString("en-US")} |`,
    ),
  );

  const text = await decodeFixture(bytes);
  const lines = text.split("\n").filter((line) => line !== "");
  assert.equal(lines.length, 958);
  checkRecords(lines);

  // Parse failures and the generator's bad frames get the full verdict; good
  // frames are classified from their header, and every 25th is decoded too.
  const per_source = new Map<string, { frames: number; kept: number }>();
  const bad = new Map<string, number>();
  let good = 0;
  for (const message of parseFixture(text)) {
    const parsed = parseVideoFrame(message.value);
    if (!parsed.ok || parsed.frame.frame_id.startsWith("frame_bad_")) {
      const verdict = verdictOf(message.value);
      bad.set(verdict, (bad.get(verdict) ?? 0) + 1);
      continue;
    }
    const { frame } = parsed;
    const header = readJpegHeader(Uint8Array.fromBase64(frame.frame_data));
    assert.ok(header.ok);
    assert.deepEqual(
      [header.header.width, header.header.height],
      [frame.frame_width, frame.frame_height],
    );
    const verdict = frame.frame_height > 480 ? "kept" : "filtered";
    if (good++ % 25 === 0) assert.equal(verdictOf(message.value), verdict);
    const entry = per_source.get(frame.source) ?? { frames: 0, kept: 0 };
    entry.frames++;
    if (verdict === "kept") entry.kept++;
    per_source.set(frame.source, entry);
  }
  assert.deepEqual(Object.fromEntries(per_source), {
    "lobby-cam": { frames: 180, kept: 180 },
    "parking-cam": { frames: 90, kept: 90 },
    "doorbell": { frames: 360, kept: 0 },
    "dashcam": { frames: 180, kept: 0 },
    "phone": { frames: 90, kept: 90 },
    "ultrawide": { frames: 36, kept: 36 },
  });
  assert.deepEqual(Object.fromEntries([...bad].sort()), {
    "invalid-base64": 2,
    "invalid-field": 3,
    "missing-field": 3,
    "not-jpeg": 2,
    "not-json": 3,
    "not-object": 1,
    "size-mismatch": 3,
    "too-many-pixels": 2,
    "undecodable": 3,
  });
});
