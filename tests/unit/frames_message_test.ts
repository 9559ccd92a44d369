import assert from "node:assert/strict";
import { analyzeFrameData } from "../../src/jobs/frames/analysis.ts";
import { parseVideoFrame } from "../../src/jobs/frames/parse.ts";
import type { Frame } from "../../src/sources/frames/frame.ts";
import { frameMessage } from "../../src/sources/frames/message.ts";
import { grayJpeg, patternJpeg } from "./frames_images.ts";

Deno.test("frameMessage() writes the issue's fields, keyed by source, that the job parses back", async () => {
  const jpeg = await patternJpeg(320, 180);
  const frame: Frame = {
    jpeg,
    width: 320,
    height: 180,
    timestamp_ms: Date.UTC(2024, 0, 15, 10, 30, 0, 5),
    source: "webcam",
    frame_id: "frame_7_1705314600005",
  };
  const message = frameMessage(frame, { metadata: { fps: 5 } });
  assert.equal(message.key, "webcam");
  const value = JSON.parse(message.value);
  assert.deepEqual(Object.keys(value), [
    "frame_id",
    "timestamp",
    "source",
    "frame_data",
    "frame_width",
    "frame_height",
    "frame_channels",
    "frame_size_bytes",
    "metadata",
  ]);
  assert.equal(value.timestamp, "2024-01-15T10:30:00.005Z");
  assert.equal(value.frame_channels, 3);
  assert.equal(value.frame_size_bytes, jpeg.length);
  assert.deepEqual(value.metadata, { fps: 5 });

  const parsed = parseVideoFrame(message.value);
  assert.ok(parsed.ok, JSON.stringify(parsed));
  assert.equal(parsed.frame.timestamp_ms, frame.timestamp_ms);
  assert.equal(parsed.frame.frame_id, frame.frame_id);
  const analysis = analyzeFrameData(parsed.frame.frame_data, parsed.frame);
  assert.ok(analysis.ok, JSON.stringify(analysis));
  assert.equal(analysis.analysis.jpeg_bytes, jpeg.length);
});

Deno.test("frameMessage() declares one channel for a greyscale JPEG and defaults metadata to {}", () => {
  const jpeg = grayJpeg(16, 16, 100);
  const message = frameMessage({
    jpeg,
    width: 16,
    height: 16,
    timestamp_ms: 0,
    source: "ir-cam",
    frame_id: "frame_0_0",
  });
  const value = JSON.parse(message.value);
  assert.equal(value.frame_channels, 1);
  assert.deepEqual(value.metadata, {});
  assert.equal(value.frame_data, jpeg.toBase64());
});

Deno.test("frameMessage() writes a zone-less timestamp with microseconds when asked, which the job reads as UTC", () => {
  const frame: Frame = {
    jpeg: grayJpeg(8, 8, 1),
    width: 8,
    height: 8,
    timestamp_ms: Date.UTC(2024, 0, 15, 10, 30, 0, 123),
    source: "py",
    frame_id: "frame_0_1705314600123",
  };
  const message = frameMessage(frame, { zoneless_timestamp: true });
  assert.equal(
    JSON.parse(message.value).timestamp,
    "2024-01-15T10:30:00.123000",
  );
  const parsed = parseVideoFrame(message.value);
  assert.ok(parsed.ok);
  assert.equal(parsed.frame.timestamp_ms, frame.timestamp_ms);
});
