import assert from "node:assert/strict";
import { analyzeJpeg } from "../../src/jobs/frames/analysis.ts";
import {
  FfmpegMissingError,
  videoFrames,
  webcamFrames,
} from "../../src/sources/frames/ffmpeg.ts";
import { InstantClock } from "../../src/sources/frames/frame.ts";
import { ffmpegTest, runFfmpeg } from "./ffmpeg_tool.ts";

async function collect<T>(iterable: AsyncIterable<T>, limit = Infinity) {
  const out: T[] = [];
  for await (const item of iterable) {
    out.push(item);
    if (out.length >= limit) break;
  }
  return out;
}

/** A 2 s, 10 fps, 320x240 test video (MPEG-4 part 2 in MP4). */
async function withVideo(fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "freshet-video-" });
  try {
    const path = `${dir}/clip.mp4`;
    await runFfmpeg([
      "-f",
      "lavfi",
      "-i",
      "testsrc2=size=320x240:rate=10",
      "-t",
      "2",
      "-c:v",
      "mpeg4",
      "-y",
      path,
    ]);
    await fn(path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

await ffmpegTest(
  "videoFrames() replays a video file as JPEG frames at fps",
  async () => {
    await withVideo(async (path) => {
      const frames = await collect(
        videoFrames(path, { fps: 5, clock: new InstantClock(60_000) }),
      );
      assert.equal(frames.length, 10, "2 s at 5 fps");
      assert.deepEqual(
        frames.map((f) => f.timestamp_ms),
        Array.from({ length: 10 }, (_, i) => 60_000 + 200 * i),
      );
      assert.deepEqual(frames[3]!.frame_id, "frame_3_60600");
      for (const frame of frames) {
        assert.equal(frame.source, "clip.mp4");
        assert.deepEqual([frame.width, frame.height], [320, 240]);
        const analysis = analyzeJpeg(frame.jpeg, {
          frame_width: 320,
          frame_height: 240,
        });
        assert.ok(analysis.ok, JSON.stringify(analysis));
      }
    });
  },
);

await ffmpegTest(
  "videoFrames() scales, loops, and stops ffmpeg when the consumer stops",
  async () => {
    await withVideo(async (path) => {
      const frames = await collect(
        videoFrames(path, {
          fps: 10,
          loop: true,
          size: { width: 160, height: 90 },
          source: "lobby",
          clock: new InstantClock(0),
        }),
        45, // more than the 20 frames of one pass
      );
      assert.equal(frames.length, 45);
      assert.ok(frames.every((f) => f.width === 160 && f.height === 90));
      assert.ok(frames.every((f) => f.source === "lobby"));
    });
  },
);

await ffmpegTest(
  "videoFrames() reports ffmpeg's error for a file it cannot read",
  async () => {
    await assert.rejects(
      collect(
        videoFrames("/nonexistent/clip.mp4", { clock: new InstantClock(0) }),
      ),
      /Cannot read frames from video '\/nonexistent\/clip\.mp4' as ffmpeg must succeed: it exited with code \d+: .*No such file or directory/,
    );
  },
);

await ffmpegTest(
  "webcamFrames() stamps frames on arrival from an ffmpeg input device",
  async () => {
    // No camera here: ffmpeg's lavfi input stands in for v4l2; everything
    // after the input (filters, pipe, splitting, stamping) is the same.
    const clock = new InstantClock(5_000);
    const frames = await collect(
      webcamFrames("testsrc2=size=160x120:rate=25", {
        input_format: "lavfi",
        fps: 5,
        source: "cam-1",
        clock,
      }),
      3,
    );
    assert.deepEqual(frames.map((f) => f.frame_id), [
      "frame_0_5000",
      "frame_1_5000",
      "frame_2_5000",
    ]);
    assert.ok(frames.every((f) => f.width === 160 && f.height === 120));
  },
);

await ffmpegTest(
  "webcamFrames() reports a device that does not exist",
  async () => {
    await assert.rejects(
      collect(webcamFrames("/dev/video-none", { clock: new InstantClock(0) })),
      /Cannot read frames from webcam '\/dev\/video-none' as ffmpeg must succeed: it exited with code \d+: .*video-none/,
    );
  },
);

Deno.test("videoFrames() and webcamFrames() name the Debian package when ffmpeg is missing", async () => {
  for (
    const frames of [
      videoFrames("clip.mp4", { ffmpeg_path: "/nonexistent/ffmpeg" }),
      webcamFrames("/dev/video0", { ffmpeg_path: "/nonexistent/ffmpeg" }),
    ]
  ) {
    await assert.rejects(collect(frames), (error: Error) => {
      assert.ok(error instanceof FfmpegMissingError);
      assert.match(
        error.message,
        /the program '\/nonexistent\/ffmpeg' was not found: install the Debian package ffmpeg \(apt-get install ffmpeg\)/,
      );
      return true;
    });
  }
});

Deno.test("videoFrames() refuses a quality outside ffmpeg's 2..31", async () => {
  await assert.rejects(
    collect(videoFrames("clip.mp4", { quality: 1 })),
    /'quality' must be an integer from 2 to 31: current value is 1/,
  );
});
