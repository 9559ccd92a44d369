import assert from "node:assert/strict";
import type { Clock } from "../../src/ports.ts";
import { InstantClock } from "../../src/sources/frames/frame.ts";
import { mjpegFrames } from "../../src/sources/frames/mjpeg.ts";
import { patternJpeg, uniformJpeg } from "./frames_images.ts";

const encoder = new TextEncoder();

async function collect<T>(iterable: AsyncIterable<T>, limit = Infinity) {
  const out: T[] = [];
  for await (const item of iterable) {
    out.push(item);
    if (out.length >= limit) break;
  }
  return out;
}

/** One multipart part as IP cameras write it. */
function part(boundary: string, jpeg: Uint8Array, content_length = true) {
  const head = `--${boundary}\r\nContent-Type: image/jpeg\r\n${
    content_length ? `Content-Length: ${jpeg.length}\r\n` : ""
  }\r\n`;
  const out = new Uint8Array(head.length + jpeg.length + 2);
  out.set(encoder.encode(head));
  out.set(jpeg, head.length);
  out.set(encoder.encode("\r\n"), head.length + jpeg.length);
  return out;
}

/** Serves `handler` on a free local port for the length of `fn`. */
async function withServer(
  handler: (request: Request) => Response,
  fn: (url: string) => Promise<void>,
): Promise<void> {
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    handler,
  );
  try {
    await fn(`http://127.0.0.1:${server.addr.port}/video.mjpg`);
  } finally {
    await server.shutdown();
  }
}

const jpegs = [
  await uniformJpeg(64, 48, [10, 10, 10]),
  await patternJpeg(320, 180),
  await uniformJpeg(128, 96, [240, 240, 240]),
];

Deno.test("mjpegFrames() reads every JPEG part of a multipart/x-mixed-replace stream", async () => {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      // Cameras' quirks: a boundary declared with dashes, a part without
      // Content-Length, parts split across writes.
      const parts = [
        part("--myboundary", jpegs[0]!),
        part("--myboundary", jpegs[1]!, false),
      ];
      const third = part("--myboundary", jpegs[2]!);
      parts.push(third.subarray(0, 100), third.subarray(100));
      for (const chunk of parts) controller.enqueue(chunk);
      controller.close();
    },
  });
  await withServer(
    () =>
      new Response(body, {
        headers: {
          "content-type": "multipart/x-mixed-replace; boundary=--myboundary",
        },
      }),
    async (url) => {
      const frames = await collect(
        mjpegFrames(url, { clock: new InstantClock(7_000) }),
      );
      assert.deepEqual(frames.map((f) => f.jpeg), jpegs);
      assert.deepEqual(
        frames.map((f) => [f.width, f.height, f.frame_id, f.source]),
        [
          [64, 48, "frame_0_7000", "127.0.0.1"],
          [320, 180, "frame_1_7000", "127.0.0.1"],
          [128, 96, "frame_2_7000", "127.0.0.1"],
        ],
      );
    },
  );
});

Deno.test("mjpegFrames() keeps at most fps frames per second of its clock", async () => {
  // Each frame arrives 100 ms after the previous one (10 fps); keep 4 fps.
  let time_ms = 0;
  const clock: Clock = {
    now: () => (time_ms += 100),
    sleep: () => Promise.resolve(),
  };
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < 10; i++) {
        controller.enqueue(part("frame", jpegs[i % 3]!));
      }
      controller.close();
    },
  });
  await withServer(
    () =>
      new Response(body, {
        headers: { "content-type": "multipart/x-mixed-replace;boundary=frame" },
      }),
    async (url) => {
      const frames = await collect(
        mjpegFrames(url, { fps: 4, clock, source: "gate" }),
      );
      assert.deepEqual(frames.map((f) => f.timestamp_ms), [
        100,
        400,
        700,
        1000,
      ]);
      assert.deepEqual(frames.map((f) => f.frame_id), [
        "frame_0_100",
        "frame_1_400",
        "frame_2_700",
        "frame_3_1000",
      ]);
    },
  );
});

Deno.test("mjpegFrames() stops an endless stream when the consumer stops", async () => {
  let cancelled = false;
  let sent = 0;
  await withServer(
    () =>
      new Response(
        new ReadableStream<Uint8Array>({
          pull(controller) {
            controller.enqueue(part("x", jpegs[sent++ % 3]!));
          },
          cancel() {
            cancelled = true;
          },
        }),
        {
          headers: { "content-type": "multipart/x-mixed-replace; boundary=x" },
        },
      ),
    async (url) => {
      const frames = await collect(
        mjpegFrames(url, { clock: new InstantClock(0) }),
        5,
      );
      assert.equal(frames.length, 5);
    },
  );
  assert.ok(cancelled, "the server's stream was not cancelled");
});

Deno.test("mjpegFrames() refuses a non-multipart answer, an error status and a bad URL without showing credentials", async () => {
  await withServer(
    (request) =>
      new URL(request.url).pathname === "/video.mjpg"
        ? new Response("<html></html>", {
          headers: { "content-type": "text/html" },
        })
        : new Response("gone", { status: 404 }),
    async (url) => {
      const secret = url.replace("http://", "http://admin:hunter2@") +
        "?pwd=hunter2";
      await assert.rejects(
        collect(mjpegFrames(secret, { clock: new InstantClock(0) })),
        (error: Error) => {
          assert.match(
            error.message,
            /^Cannot read MJPEG stream 'http:\/\/127\.0\.0\.1:\d+\/video\.mjpg' as its Content-Type must be multipart\/x-mixed-replace: current value is 'text\/html'$/,
          );
          return true;
        },
      );
      await assert.rejects(
        collect(
          mjpegFrames(url.replace("video.mjpg", "missing"), {
            clock: new InstantClock(0),
          }),
        ),
        /as the server must answer 200: it answered 404/,
      );
    },
  );
  await assert.rejects(
    collect(mjpegFrames("not a url hunter2", { clock: new InstantClock(0) })),
    (error: Error) => {
      assert.doesNotMatch(error.message, /hunter2/);
      assert.match(error.message, /must be an absolute http\(s\) URL/);
      return true;
    },
  );
});
