import assert from "node:assert/strict";
import { analyzeJpeg } from "../../src/jobs/frames/analysis.ts";
import { InstantClock } from "../../src/sources/frames/frame.ts";
import {
  imageFolderFrames,
  listImageFiles,
} from "../../src/sources/frames/images.ts";
import { Image } from "../../src/sources/frames/jpeg_encode.ts";
import { patternJpeg, uniformJpeg } from "./frames_images.ts";

async function withFolder(
  files: Record<string, Uint8Array>,
  fn: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "freshet-images-" });
  try {
    for (const [name, bytes] of Object.entries(files)) {
      await Deno.writeFile(`${dir}/${name}`, bytes);
    }
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function png(width: number, height: number, grey: number) {
  const image = new Image(width, height);
  image.fill(Image.rgbaToColor(grey, grey, grey, 255));
  return await image.encode();
}

async function collect<T>(iterable: AsyncIterable<T>, limit = Infinity) {
  const out: T[] = [];
  for await (const item of iterable) {
    out.push(item);
    if (out.length >= limit) break;
  }
  return out;
}

Deno.test("imageFolderFrames() replays JPEG and PNG files in name order at fps", async () => {
  const a = await uniformJpeg(64, 48, [30, 30, 30]);
  const c = await patternJpeg(320, 180);
  await withFolder({
    "b.png": await png(40, 30, 200),
    "a.jpg": a,
    "c.JPEG": c,
    "notes.txt": new TextEncoder().encode("not an image"),
  }, async (dir) => {
    const frames = await collect(
      imageFolderFrames(dir, { fps: 2, clock: new InstantClock(1_000) }),
    );
    assert.deepEqual(
      frames.map((f) => [f.width, f.height, f.timestamp_ms, f.frame_id]),
      [
        [64, 48, 1_000, "frame_0_1000"],
        [40, 30, 1_500, "frame_1_1500"],
        [320, 180, 2_000, "frame_2_2000"],
      ],
    );
    const source = dir.split("/").at(-1);
    assert.ok(frames.every((f) => f.source === source));
    // JPEGs are sent untouched; the PNG became a JPEG of the same picture.
    assert.deepEqual(frames[0]!.jpeg, a);
    assert.deepEqual(frames[2]!.jpeg, c);
    const converted = analyzeJpeg(frames[1]!.jpeg, {
      frame_width: 40,
      frame_height: 30,
    });
    assert.ok(converted.ok);
    assert.ok(Math.abs(converted.analysis.brightness - 200) <= 1);
  });
});

Deno.test("imageFolderFrames() loops when asked and takes a source name", async () => {
  await withFolder({
    "1.jpg": await uniformJpeg(16, 16, [0, 0, 0]),
    "2.jpg": await uniformJpeg(32, 16, [0, 0, 0]),
  }, async (dir) => {
    const frames = await collect(
      imageFolderFrames(`${dir}/`, {
        fps: 10,
        loop: true,
        source: "lobby",
        clock: new InstantClock(0),
      }),
      5,
    );
    assert.deepEqual(frames.map((f) => f.width), [16, 32, 16, 32, 16]);
    assert.deepEqual(frames.map((f) => f.timestamp_ms), [
      0,
      100,
      200,
      300,
      400,
    ]);
    assert.ok(frames.every((f) => f.source === "lobby"));
  });
});

Deno.test("imageFolderFrames() refuses an empty folder and names a file that is not a JPEG", async () => {
  await withFolder({ "readme.md": new Uint8Array([1]) }, async (dir) => {
    await assert.rejects(
      collect(imageFolderFrames(dir, { clock: new InstantClock(0) })),
      new RegExp(
        `folder '${dir}' must hold .jpg, .jpeg or .png files: it has none`,
      ),
    );
  });
  await withFolder(
    { "bad.jpg": new TextEncoder().encode("<html>") },
    async (dir) => {
      await assert.rejects(
        collect(imageFolderFrames(dir, { clock: new InstantClock(0) })),
        /Cannot read frame from '.*\/bad\.jpg' as it must be a JPEG with a readable header/,
      );
    },
  );
});

Deno.test("listImageFiles() keeps image extensions in any case, sorted by code point", async () => {
  const empty = new Uint8Array();
  await withFolder(
    {
      "b.PNG": empty,
      "a.jpeg": empty,
      "B.jpg": empty,
      "c.gif": empty,
      "d.jpg.txt": empty,
    },
    async (dir) => {
      assert.deepEqual(await listImageFiles(dir), ["B.jpg", "a.jpeg", "b.PNG"]);
    },
  );
});
