/**
 * `freshet produce --job frames` with frame sources, end to end over the
 * Kafka twin: flags, each source (images, video, webcam, MJPEG, synthetic)
 * into `video_frames`, then through the `frames` job; the one-line errors
 * (a missing ffmpeg naming its Debian package).
 */

import assert from "node:assert/strict";
import { parseArgs, UsageError } from "../../src/cli/args.ts";
import {
  chooseFrameSource,
  FRAME_BOOLEAN_FLAGS,
  FRAME_VALUE_FLAGS,
  sendFrames,
  wantsFrameSource,
} from "../../src/cli/produce_frames.ts";
import { frames } from "../../src/jobs/frames/job.ts";
import { readFrame } from "../../src/jobs/frames/read_frame.ts";
import { InstantClock } from "../../src/sources/frames/frame.ts";
import { Image } from "../../src/sources/frames/jpeg_encode.ts";
import { JobDriver } from "../../sim/driver.ts";
import { LogTwin } from "../../sim/log.ts";
import { VirtualClock } from "../../sim/clock.ts";
import { ffmpegTest, runFfmpeg } from "./ffmpeg_tool.ts";
import { patternJpeg, uniformJpeg } from "./frames_images.ts";

const SPEC = {
  values: { ...FRAME_VALUE_FLAGS, fixture: "", rate: "", job: "" },
  booleans: FRAME_BOOLEAN_FLAGS,
};
const T0 = Date.UTC(2024, 0, 15, 10, 30, 0);
const TOPIC = "video_frames";

function flags(args: string[]) {
  return parseArgs(args, SPEC);
}

/** A twin and its records of `TOPIC` after `sendFrames` of `args`. */
async function produce(args: string[], start_ms = T0) {
  const log = new LogTwin({ clock: new VirtualClock(start_ms) });
  await log.createTopic(TOPIC, 4);
  const choice = chooseFrameSource(flags(args), {
    clock: new InstantClock(start_ms),
  });
  const { sent } = await sendFrames(choice, TOPIC, () => Promise.resolve(log));
  const records = log.dump().topics.find((t) => t.topic === TOPIC)!
    .partitions.flat().sort((a, b) => a.timestamp - b.timestamp);
  return { sent, records, choice };
}

function usageError(fn: () => unknown, pattern: RegExp) {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof UsageError, String(error));
    assert.match(error.message, pattern);
    return true;
  });
}

Deno.test("chooseFrameSource() takes exactly one source and only the flags it uses", () => {
  assert.equal(wantsFrameSource(flags([])), false);
  assert.equal(wantsFrameSource(flags(["--fps", "2"])), true);
  usageError(
    () => chooseFrameSource(flags(["--fps", "2"])),
    /flag --fps needs a frame source: --images DIR, --video FILE/,
  );
  usageError(
    () => chooseFrameSource(flags(["--images", "d", "--synthetic"])),
    /flags --images, --synthetic exclude each other/,
  );
  usageError(
    () => chooseFrameSource(flags(["--synthetic", "--fixture", "f.jsonl"])),
    /flag --fixture does not go with a frame source \(--synthetic\)/,
  );
  usageError(
    () => chooseFrameSource(flags(["--images", "d", "--size", "64x48"])),
    /flag --size applies to --synthetic, --video, --webcam, not to --images/,
  );
  usageError(
    () => chooseFrameSource(flags(["--video", "v.mp4", "--seed", "2"])),
    /flag --seed applies to --synthetic/,
  );
  usageError(
    () => chooseFrameSource(flags(["--mjpeg", "u", "--loop"])),
    /flag --loop applies to --images, --video, not to --mjpeg/,
  );
  usageError(
    () => chooseFrameSource(flags(["--synthetic", "--fps", "0"])),
    /flag --fps must be a positive number: got '0'/,
  );
  usageError(
    () => chooseFrameSource(flags(["--synthetic", "--frames", "2.5"])),
    /flag --frames must be a positive whole number: got '2.5'/,
  );
  usageError(
    () => chooseFrameSource(flags(["--synthetic", "--size", "64"])),
    /size as it must be WIDTHxHEIGHT/,
  );
  usageError(
    () => chooseFrameSource(flags(["--mjpeg", "ftp://u:secret@cam/x"])),
    /flag --mjpeg must be an absolute http\(s\) URL: got 'ftp:\/\/cam\/x'/,
  );
});

Deno.test("--synthetic sends seeded frames of --size at --fps, keyed by --source, until --frames", async () => {
  const { sent, records } = await produce([
    "--synthetic",
    "--size",
    "96x64",
    "--fps",
    "4",
    "--source",
    "lab",
    "--frames",
    "6",
  ]);
  assert.equal(sent.frames, 6);
  assert.equal(records.length, 6);
  for (const [i, record] of records.entries()) {
    assert.equal(record.key, "lab");
    const read = readFrame(record.value, { keep_height_over: 0 });
    assert.ok("value" in read, JSON.stringify(read));
    assert.equal(read.time, T0 + i * 250);
    assert.equal(read.value.analysis?.width, 96);
    assert.equal(read.value.analysis?.height, 64);
  }
  const again = await produce([
    "--synthetic",
    "--size",
    "96x64",
    "--fps",
    "4",
    "--source",
    "lab",
    "--frames",
    "6",
  ]);
  assert.deepEqual(
    again.records.map((r) => r.value),
    records.map((r) => r.value),
    "same flags, same messages",
  );
  const other = await produce([
    "--synthetic",
    "--size",
    "96x64",
    "--seed",
    "2",
    "--frames",
    "1",
  ]);
  assert.equal(other.records[0]!.key, "synthetic");
  assert.notEqual(
    JSON.parse(other.records[0]!.value).frame_data,
    JSON.parse(records[0]!.value).frame_data,
  );
});

Deno.test("--duration stops at the first frame that many seconds after the first", async () => {
  const { sent } = await produce([
    "--synthetic",
    "--size",
    "32x32",
    "--fps",
    "10",
    "--duration",
    "1.5",
  ]);
  assert.equal(sent.frames, 15);
  assert.equal(sent.last_ms - sent.first_ms, 1_400);
});

Deno.test("--images sends a folder's JPEGs as they are and its PNGs re-encoded, in name order, with --loop", async () => {
  const dir = await Deno.makeTempDir({ prefix: "freshet-images-" });
  try {
    const first = await uniformJpeg(64, 48, [30, 30, 30]);
    await Deno.writeFile(`${dir}/a.jpg`, first);
    const png = new Image(32, 16);
    png.fill(Image.rgbaToColor(200, 200, 200, 255));
    await Deno.writeFile(`${dir}/b.png`, await png.encode());
    await Deno.writeFile(`${dir}/c.jpeg`, await patternJpeg(80, 60));
    await Deno.writeTextFile(`${dir}/notes.txt`, "not an image");
    const { records } = await produce([
      "--images",
      dir,
      "--fps",
      "2",
      "--loop",
      "--frames",
      "5",
    ]);
    const sizes = records.map((r) => {
      const m = JSON.parse(r.value);
      return `${m.frame_width}x${m.frame_height}`;
    });
    assert.deepEqual(sizes, ["64x48", "32x16", "80x60", "64x48", "32x16"]);
    const name = dir.split("/").at(-1);
    assert.ok(records.every((r) => r.key === name));
    assert.equal(
      JSON.parse(records[0]!.value).frame_data,
      first.toBase64(),
    );
    const png_jpeg = Uint8Array.fromBase64(
      JSON.parse(records[1]!.value).frame_data,
    );
    assert.deepEqual([...png_jpeg.subarray(0, 2)], [0xff, 0xd8]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a source that cannot start is a one-line usage error naming it", async () => {
  await assert.rejects(
    () => produce(["--images", "/nonexistent/frames"]),
    (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.match(
        error.message,
        /^cannot read frames from --images \/nonexistent\/frames: /,
      );
      return true;
    },
  );
  const empty = await Deno.makeTempDir({ prefix: "freshet-empty-" });
  try {
    await assert.rejects(
      () => produce(["--images", empty]),
      /must hold \.jpg, \.jpeg or \.png files: it has none/,
    );
  } finally {
    await Deno.remove(empty);
  }
});

Deno.test("--mjpeg reads a camera's multipart stream until --frames, and closes it", async () => {
  const jpeg = await uniformJpeg(64, 48, [90, 90, 90]);
  const head = new TextEncoder().encode(
    "--frame\r\nContent-Type: image/jpeg\r\n\r\n",
  );
  let cancelled = false;
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    () =>
      new Response(
        new ReadableStream<Uint8Array>({
          async pull(controller) {
            controller.enqueue(head);
            controller.enqueue(jpeg);
            controller.enqueue(new TextEncoder().encode("\r\n"));
            await new Promise((resolve) => setTimeout(resolve, 5));
          },
          cancel() {
            cancelled = true;
          },
        }),
        {
          headers: {
            "content-type": "multipart/x-mixed-replace; boundary=frame",
          },
        },
      ),
  );
  try {
    const url = `http://user:secret@127.0.0.1:${server.addr.port}/video.mjpg`;
    const { records, choice } = await produce([
      "--mjpeg",
      url,
      "--frames",
      "4",
    ]);
    assert.equal(records.length, 4);
    assert.equal(
      choice.name,
      `--mjpeg http://127.0.0.1:${server.addr.port}/video.mjpg`,
    );
    assert.ok(records.every((r) => r.key === "127.0.0.1"));
    assert.ok(
      records.every((r) => JSON.parse(r.value).frame_data === jpeg.toBase64()),
    );
    for (let i = 0; i < 50 && !cancelled; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.ok(cancelled, "the stream was closed");
  } finally {
    await server.shutdown();
  }
});

/** A 2 s, 10 fps test video made by ffmpeg. */
async function withVideo(
  size: string,
  fn: (path: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "freshet-video-" });
  try {
    const path = `${dir}/clip.mp4`;
    await runFfmpeg([
      "-f",
      "lavfi",
      "-i",
      `testsrc=size=${size}:rate=10`,
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
  "--video sends a video's frames at --fps, scaled to --size, named after the file",
  async () => {
    await withVideo("320x240", async (path) => {
      const { records } = await produce(["--video", path, "--fps", "5"]);
      assert.equal(records.length, 10, "2 s at 5 fps");
      assert.ok(records.every((r) => r.key === "clip.mp4"));
      const scaled = await produce([
        "--video",
        path,
        "--fps",
        "2",
        "--size",
        "160x120",
        "--source",
        "door",
      ]);
      assert.equal(scaled.records.length, 4);
      for (const record of scaled.records) {
        const read = readFrame(record.value, { keep_height_over: 0 });
        assert.ok("value" in read, JSON.stringify(read));
        assert.equal(read.key, "door");
        assert.equal(read.value.analysis?.width, 160);
      }
    });
  },
);

await ffmpegTest(
  "--webcam of a device that does not exist is a one-line usage error with ffmpeg's reason",
  async () => {
    await assert.rejects(
      () => produce(["--webcam", "/dev/freshet-no-such-camera"]),
      (error: unknown) => {
        assert.ok(error instanceof UsageError);
        assert.match(
          error.message,
          /^cannot read frames from --webcam \/dev\/freshet-no-such-camera: .*ffmpeg must succeed/,
        );
        return true;
      },
    );
  },
);

Deno.test("produce --video without ffmpeg on the PATH exits 2 naming the Debian package", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../../main.ts", import.meta.url).pathname,
      "produce",
      "--job",
      "frames",
      "--video",
      "/tmp/freshet-clip.mp4",
    ],
    env: { PATH: "/nonexistent", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 2, stderr);
  assert.match(
    stderr,
    /^freshet: .*the program 'ffmpeg' was not found: install the Debian package ffmpeg \(apt-get install ffmpeg\)\n$/,
  );
});

await ffmpegTest(
  "frames from --video and --synthetic go through the frames job: kept, analysed and aggregated",
  async () => {
    const start_ms = T0;
    const d = await JobDriver.open(frames, { partitions: 2, start_ms });
    await withVideo("1280x720", async (path) => {
      const choice = chooseFrameSource(
        flags(["--video", path, "--fps", "5", "--source", "lobby"]),
        { clock: new InstantClock(start_ms) },
      );
      await sendFrames(choice, TOPIC, () => Promise.resolve(d.log));
    });
    const low = chooseFrameSource(
      flags([
        "--synthetic",
        "--size",
        "640x360",
        "--fps",
        "5",
        "--frames",
        "10",
      ]),
      { clock: new InstantClock(start_ms) },
    );
    await sendFrames(low, TOPIC, () => Promise.resolve(d.log));
    await d.run();
    await d.endOfInput();
    assert.deepEqual(d.counts(), {
      in: 20,
      out: 10,
      filtered: 10,
      dead_lettered: 0,
      late: 0,
    });
    const processed = d.records("processed_video_frames").map((r) =>
      JSON.parse(r.value)
    );
    assert.equal(processed.length, 10);
    for (const frame of processed) {
      assert.equal(frame.source, "lobby");
      assert.equal(frame.aspect_label, "16:9");
      assert.equal(frame.resolution_category, "HD");
      assert.equal(frame.frame_data, undefined);
      assert.ok(frame.brightness > 20 && frame.brightness < 235);
    }
    const windows = d.records("video_source_aggregations").map((r) =>
      JSON.parse(r.value)
    );
    assert.deepEqual(
      windows.map((w) => [w.source, w.frame_count, w.fps]),
      [["lobby", 10, 1]],
    );
    await d.close();
  },
);
