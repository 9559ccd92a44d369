/**
 * The analysis's brightness against an outside decoder: ffmpeg's
 * `signalstats` filter reports YAVG, the mean of the decoded Y plane. A JPEG
 * stores full-range Rec. 601 YCbCr, so the Y plane is the luma our analysis
 * recomputes from decoded RGB; the two differ only by rounding, clamping and
 * the decoders' IDCT and chroma upsampling.
 *
 * Tolerance: 0.5 levels of 255 (observed here: at most 0.17, a uniform
 * colour at ffmpeg quality 2; greys agree exactly).
 *
 * @module
 */

import assert from "node:assert/strict";
import { analyzeJpeg } from "../../src/jobs/frames/analysis.ts";
import { readJpegHeader } from "../../src/jobs/frames/jpeg_header.ts";
import { ffmpegTest, runFfmpeg } from "./ffmpeg_tool.ts";
import { grayJpeg, patternJpeg, uniformJpeg } from "./frames_images.ts";

const TOLERANCE = 0.5;

/** ffmpeg's YAVG of the first frame of `path`. */
async function yavg(path: string): Promise<number> {
  const out = new TextDecoder().decode(
    await runFfmpeg([
      "-i",
      path,
      "-vf",
      "signalstats,metadata=mode=print:key=lavfi.signalstats.YAVG:file=-",
      "-f",
      "null",
      "-",
    ]),
  );
  const match = /lavfi\.signalstats\.YAVG=([0-9.]+)/.exec(out);
  assert.ok(match, `no YAVG in ffmpeg output: ${out}`);
  return Number(match[1]);
}

/** ffmpeg lavfi sources, sizes, pixel formats and qualities to encode. */
const FFMPEG_IMAGES: Array<[string, string, number]> = [
  ["testsrc2=s=1280x720", "yuvj420p", 5],
  ["testsrc2=s=1920x1080", "yuvj420p", 10],
  ["smptebars=s=640x480", "yuvj422p", 3],
  ["mandelbrot=s=800x600", "yuvj444p", 8],
  ["gradients=s=854x480:seed=7", "yuvj420p", 20],
  ["color=c=0x3a7bd5:s=320x240", "yuvj420p", 2],
  ["cellauto=s=640x360:seed=3", "yuvj420p", 31],
];

await ffmpegTest(
  "analyzeJpeg() brightness agrees with ffmpeg signalstats YAVG within 0.5",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "freshet-frames-" });
    try {
      const files: Array<[string, Uint8Array]> = [];
      for (const [source, pix_fmt, q] of FFMPEG_IMAGES) {
        const path = `${dir}/${files.length}.jpg`;
        await runFfmpeg([
          "-f",
          "lavfi",
          "-i",
          source,
          "-frames:v",
          "1",
          "-pix_fmt",
          pix_fmt,
          "-q:v",
          String(q),
          "-y",
          path,
        ]);
        files.push([`${source} ${pix_fmt} q${q}`, await Deno.readFile(path)]);
      }
      // JPEGs from other encoders too: imagescript's and a greyscale one.
      files.push(["imagescript pattern", await patternJpeg(640, 360, 60)]);
      files.push(["imagescript grey", await uniformJpeg(64, 64, [77, 77, 77])]);
      files.push(["hand-written greyscale", grayJpeg(128, 64, 201)]);
      let worst = 0;
      for (const [index, [name, jpeg]] of files.entries()) {
        const path = `${dir}/check-${index}.jpg`;
        await Deno.writeFile(path, jpeg);
        const reference = await yavg(path);
        const header = readJpegHeader(jpeg);
        assert.ok(header.ok, name);
        const result = analyzeJpeg(jpeg, {
          frame_width: header.header.width,
          frame_height: header.header.height,
        });
        assert.ok(result.ok, `${name}: ${JSON.stringify(result)}`);
        const difference = Math.abs(result.analysis.brightness - reference);
        worst = Math.max(worst, difference);
        assert.ok(
          difference <= TOLERANCE,
          `${name}: brightness ${result.analysis.brightness}, YAVG ${reference}`,
        );
      }
      assert.ok(
        worst > 0,
        "every image agreed exactly: the comparison may be vacuous",
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
