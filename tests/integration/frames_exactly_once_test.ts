/**
 * The `frames` job in production, exactly once: a short video made by
 * `ffmpeg -f lavfi -i testsrc` is sent with `produce --video`, and an MJPEG
 * stream served by a local HTTP server with `produce --mjpeg`; then
 * `main.ts run --prod` is SIGKILLed at seeded moments and restarted. What
 * an outside client (kcat, `isolation.level=read_committed`) reads from the
 * two output topics is exactly what the simulator computes from the same
 * input records: every processed frame and every window once, same bytes.
 * `frames tail` then shows them.
 *
 * Event time only moves with records, so the input ends with a small
 * (filtered) frame per partition half an hour of event time later: every
 * window closes, as at the simulator's end of input.
 *
 * Needs `bash scripts/services.sh up` (skipped without it outside CI),
 * ffmpeg and kcat (installed with apt-get when missing).
 */

import assert from "node:assert/strict";
import { Kafka, logLevel } from "kafkajs";
import { KafkaLog } from "../../src/adapters/kafka.ts";
import { S3ObjectStore } from "../../src/adapters/s3.ts";
import type { FixtureMessage } from "../../src/core/fixture.ts";
import { framesJob } from "../../src/jobs/frames/job.ts";
import { encodeJpeg, Image } from "../../src/sources/frames/jpeg_encode.ts";
import { JpegStreamSplitter } from "../../src/sources/frames/jpeg_stream.ts";
import { frameMessage } from "../../src/sources/frames/message.ts";
import { canonicalOutputs } from "../../sim/outputs.ts";
import { Rng } from "../../sim/random.ts";
import { simulate } from "../../sim/simulator.ts";
import { requireFfmpeg, runFfmpeg } from "../unit/ffmpeg_tool.ts";
import { Child, ensureKcat, output, REPO_ROOT, waitUntil } from "./harness.ts";
import {
  integration,
  KAFKA,
  KAFKA_BROKERS,
  S3,
  S3_SETTINGS,
  uniqueName,
} from "./services.ts";

const KILLS = 6;
const SEED = 20240115;
const PARTITIONS = 4;
const VIDEO_FRAMES = 100; // 10 s at 10 fps, 1280x720
const MJPEG_FRAMES = 40; // 1920x1080, served at about 12 fps

/** A JSON message of kcat's `-J` output. */
interface KcatMessage {
  partition: number;
  offset: number;
  key: string | null;
  payload: string | null;
}

/** Every committed message of `topic`, read by kcat with read_committed. */
async function kcatRead(bin: string, topic: string): Promise<KcatMessage[]> {
  const result = await output([
    bin,
    "-C",
    "-b",
    KAFKA_BROKERS[0]!,
    "-t",
    topic,
    "-o",
    "beginning",
    "-e",
    "-q",
    "-J",
    "-X",
    "isolation.level=read_committed",
  ]);
  assert.ok(result.success, `kcat must read ${topic}: ${result.text}`);
  return result.text.split("\n").filter((l) => l.startsWith("{")).map((l) =>
    JSON.parse(l) as KcatMessage
  );
}

/** JPEGs of ffmpeg's testsrc2 at `size`, as an IP camera would send them. */
async function cameraJpegs(size: string, count: number): Promise<Uint8Array[]> {
  const bytes = await runFfmpeg([
    "-f",
    "lavfi",
    "-i",
    `testsrc2=size=${size}:rate=12`,
    "-frames:v",
    String(count),
    "-pix_fmt",
    "yuvj420p",
    "-f",
    "image2pipe",
    "-c:v",
    "mjpeg",
    "-q:v",
    "5",
    "-",
  ]);
  return new JpegStreamSplitter().push(bytes);
}

/** Serves `jpegs` in a loop as a multipart MJPEG stream until shut down. */
function serveMjpeg(jpegs: Uint8Array[]): Deno.HttpServer<Deno.NetAddr> {
  const encoder = new TextEncoder();
  return Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, () => {
    let i = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const jpeg = jpegs[i++ % jpegs.length]!;
        controller.enqueue(
          encoder.encode(
            `--camera\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\n\r\n`,
          ),
        );
        controller.enqueue(jpeg);
        controller.enqueue(encoder.encode("\r\n"));
        await new Promise((resolve) => setTimeout(resolve, 80));
      },
    });
    return new Response(body, {
      headers: {
        "content-type": "multipart/x-mixed-replace; boundary=camera",
      },
    });
  });
}

if (!await requireFfmpeg()) {
  await integration(
    "the frames job leaves exactly the fault-free outputs in Kafka, read by kcat, however often it is SIGKILLed",
    [KAFKA, S3],
    async () => {
      const started = Date.now();
      const bin = await ensureKcat();
      const topic = uniqueName("it-frames");
      const group = `${topic}-group`;
      const checkpoint_prefix = `it-checkpoints/${topic}`;
      const topics = {
        processed: `${topic}-processed`,
        aggregations: `${topic}-aggregations`,
      };
      const dir = await Deno.makeTempDir({ prefix: "freshet-it-frames-" });
      const job_file = `${dir}/frames_job.ts`;
      await Deno.writeTextFile(
        job_file,
        `import { framesJob } from "${REPO_ROOT}src/jobs/frames/job.ts";\n` +
          `export default framesJob({ topics: ${JSON.stringify(topics)} });\n`,
      );
      const children: Child[] = [];
      const spawn = (name: string, args: string[]) => {
        const child = new Child(name, args);
        children.push(child);
        return child;
      };
      const jobArgs = ["--job-file", job_file, "--topic", topic];
      let server: Deno.HttpServer<Deno.NetAddr> | undefined;
      try {
        await createTopic(topic, PARTITIONS);

        // 1. Input: a video through ffmpeg, an MJPEG camera, closing frames.
        const video = `${dir}/lobby.mp4`;
        await runFfmpeg([
          "-f",
          "lavfi",
          "-i",
          "testsrc=size=1280x720:rate=25",
          "-t",
          String(VIDEO_FRAMES / 10),
          "-c:v",
          "mpeg4",
          "-y",
          video,
        ]);
        const sent_video = await spawn("video producer", [
          "produce",
          ...jobArgs,
          "--video",
          video,
          "--fps",
          "10",
        ]).status;
        assert.ok(sent_video.success, children.at(-1)!.stderrTail());
        server = serveMjpeg(await cameraJpegs("1920x1080", 12));
        const camera = spawn("MJPEG producer", [
          "produce",
          ...jobArgs,
          "--mjpeg",
          `http://127.0.0.1:${server.addr.port}/video.mjpg`,
          "--source",
          "gate-cam",
          "--frames",
          String(MJPEG_FRAMES),
        ]);
        assert.ok((await camera.status).success, camera.stderrTail());
        await server.shutdown();
        server = undefined;

        const input = await readInput(topic);
        const latest = Math.max(
          ...input.map((m) => JSON.parse(m.value).timestamp).map(Date.parse),
        );
        const closing = await closingFrames(topic, latest + 30 * 60_000);
        await Deno.writeTextFile(`${dir}/closing.jsonl`, closing);
        const sent_closing = await spawn("closing producer", [
          "produce",
          ...jobArgs,
          "--fixture",
          `${dir}/closing.jsonl`,
        ]).status;
        assert.ok(sent_closing.success, children.at(-1)!.stderrTail());
        const fixture = await readInput(topic);
        assert.equal(fixture.length, VIDEO_FRAMES + MJPEG_FRAMES + PARTITIONS);

        // 2. The fault-free outputs of exactly these records.
        const job = framesJob({ topics }).create({
          topic,
          options: { idle_advance_ms: "0" },
        });
        const clean = await simulate({ job, fixture, seed: 1 });
        const expected = new Map(
          (await canonicalOutputs(clean, [job.topic])).topics.map((
            t,
          ) => [t.topic, t.messages]),
        );
        const expected_processed = expected.get(topics.processed) ?? [];
        const expected_windows = expected.get(topics.aggregations) ?? [];
        assert.equal(expected_processed.length, VIDEO_FRAMES + MJPEG_FRAMES);
        assert.ok(expected_windows.length >= 2, `${expected_windows.length}`);
        const committed = async () =>
          (await kcatRead(bin, topics.processed)).length +
          (await kcatRead(bin, topics.aggregations)).length;
        const total = expected_processed.length + expected_windows.length;

        // 3. Instances killed at seeded moments, then one left to finish.
        const instance = (name: string) =>
          spawn(name, [
            "run",
            "--prod",
            ...jobArgs,
            "--group",
            group,
            "--checkpoint-prefix",
            checkpoint_prefix,
            "--checkpoint-interval-ms",
            "500",
            "--session-timeout-ms",
            "6000",
            "--job-options",
            "idle_advance_ms=0",
            "--port",
            "0",
            "--log-format",
            "json",
          ]);
        const rng = new Rng(SEED);
        const at_kills: number[] = [];
        for (let i = 1; i <= KILLS; i++) {
          const child = instance(`instance ${i}`);
          await child.waitForEvent(
            (e) => e.type === "assigned",
            60_000,
            "an assigned partition",
          );
          await waitUntil(() => child.exited, {
            timeout_ms: 1_000 + rng.int(8_000),
            interval_ms: 25,
          });
          assert.ok(
            !child.exited,
            `${child.name} must still run when killed; stderr:\n${child.stderrTail()}`,
          );
          child.kill("SIGKILL");
          await child.status;
          at_kills.push(await committed());
        }
        const last = instance("last instance");
        const done = await waitUntil(async () => await committed() >= total, {
          timeout_ms: 180_000,
          interval_ms: 1_000,
        });
        assert.ok(
          done,
          `the job must write ${total} outputs; stderr:\n${last.stderrTail()}`,
        );
        const stop = await last.stop("SIGTERM", 20_000);
        assert.ok(
          stop.graceful && stop.status.success,
          `the last instance must stop cleanly on SIGTERM (graceful ${stop.graceful}, code ${stop.status.code}); its log ends with:\n${
            last.lines.slice(-8).join("\n")
          }\nstderr:\n${last.stderrTail()}`,
        );

        // 4. What kcat reads is the fault-free run's, byte for byte.
        for (
          const [name, wanted] of [
            [topics.processed, expected_processed],
            [topics.aggregations, expected_windows],
          ] as const
        ) {
          const read = await kcatRead(bin, name);
          assert.deepEqual(
            read.map((m) => m.payload ?? "").sort(),
            wanted,
            `${name}: ${read.length} messages read, ${wanted.length} expected`,
          );
          for (const m of read) {
            assert.equal(m.key, JSON.parse(m.payload!).source, name);
          }
        }
        const processed = (await kcatRead(bin, topics.processed)).map((m) =>
          JSON.parse(m.payload!)
        );
        assert.deepEqual(
          [...new Set(processed.map((f) => f.source))].sort(),
          ["gate-cam", "lobby.mp4"],
        );
        assert.ok(
          processed.every((f) => f.frame_data === undefined),
          "frame_data is left out",
        );
        const restores = children.flatMap((c) => c.runnerEvents("assigned"))
          .filter((e) => e.restored === true);
        assert.ok(
          restores.length > 0,
          `instances must restore checkpoints; outputs committed at the kills: ${at_kills}`,
        );
        assert.ok(
          at_kills.some((n) => n > 0 && n < total),
          `some kill must strike while outputs were being committed: ${at_kills} of ${total}`,
        );

        // 5. frames tail shows them.
        const tail = spawn("tail", [
          "frames",
          "tail",
          "--from-beginning",
          "--plain",
          "--processed-topic",
          topics.processed,
          "--aggregations-topic",
          topics.aggregations,
        ]);
        const shown = await waitUntil(
          () =>
            tail.lines.filter((l) => /^(frame |window )/.test(l)).length >=
              total,
          { timeout_ms: 60_000, interval_ms: 200 },
        );
        const stopped = await tail.stop("SIGINT", 10_000);
        assert.ok(shown, `tail must show ${total} lines: ${tail.stderrTail()}`);
        assert.ok(stopped.graceful && stopped.status.success);
        assert.equal(
          tail.lines.filter((l) => l.startsWith("frame ")).length,
          expected_processed.length,
        );
        console.log(
          `frames crash test: ${KILLS} kills (outputs committed at each: ${
            at_kills.join(", ")
          } of ${total}), ${restores.length} restores; wall time ${
            ((Date.now() - started) / 1000).toFixed(1)
          } s`,
        );
      } finally {
        await server?.shutdown();
        for (const child of children) child.kill("SIGKILL");
        await Promise.allSettled(children.map((c) => c.status));
        await cleanup(
          [
            topic,
            `${topic}.dead-letter`,
            `${topic}.late`,
            ...Object.values(
              topics,
            ),
          ],
          group,
          `${checkpoint_prefix}/`,
        );
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
    },
  );
}

/** The input topic's records, as a fixture for the simulator. */
async function readInput(topic: string): Promise<FixtureMessage[]> {
  const log = new KafkaLog({ brokers: KAFKA_BROKERS, log_level: "error" });
  try {
    const ends = await log.endOffsets(topic);
    const messages: FixtureMessage[] = [];
    for (let p = 0; p < ends.length; p++) {
      if (ends[p] === 0) continue;
      for (const r of await log.read(topic, p, 0, ends[p]!)) {
        messages.push({
          line: messages.length + 1,
          partition: p,
          key: r.key,
          value: r.value,
          timestamp: r.timestamp,
        });
      }
    }
    return messages.sort((a, b) => a.timestamp! - b.timestamp!);
  } finally {
    await log.close();
  }
}

/**
 * A recorded-fixture line per partition: a 32x32 frame (filtered, as not
 * above 480 pixels) at `time_ms`, which moves every partition's watermark
 * past every window of the input.
 */
async function closingFrames(topic: string, time_ms: number): Promise<string> {
  const image = new Image(32, 32);
  image.fill(Image.rgbaToColor(128, 128, 128, 255));
  const jpeg = await encodeJpeg(image, 80);
  const lines: string[] = [];
  for (let partition = 0; partition < PARTITIONS; partition++) {
    const source = `closing-${partition}`;
    const { value } = frameMessage({
      jpeg,
      width: 32,
      height: 32,
      timestamp_ms: time_ms,
      source,
      frame_id: `frame_0_${time_ms}`,
    });
    lines.push(JSON.stringify({
      topic,
      partition,
      offset: 0,
      key: source,
      value,
      timestamp: time_ms,
    }));
  }
  return `${lines.join("\n")}\n`;
}

async function createTopic(topic: string, partitions: number): Promise<void> {
  const admin = new Kafka({
    brokers: KAFKA_BROKERS,
    logLevel: logLevel.NOTHING,
  })
    .admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [{ topic, numPartitions: partitions }],
    });
  } finally {
    await admin.disconnect();
  }
}

/** Removes the test's topics, group and objects; problems are logged, not thrown. */
async function cleanup(
  topics: string[],
  group: string,
  prefix: string,
): Promise<void> {
  const admin = new Kafka({
    brokers: KAFKA_BROKERS,
    logLevel: logLevel.NOTHING,
  })
    .admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const found = topics.filter((t) => existing.has(t));
    if (found.length > 0) await admin.deleteTopics({ topics: found });
    await admin.deleteGroups([group]).catch(() => {});
  } catch (error) {
    console.warn(`clean-up of kafka: ${(error as Error).message}`);
  } finally {
    await admin.disconnect().catch(() => {});
  }
  const objects = S3ObjectStore.fromConfig(S3_SETTINGS);
  try {
    for (const key of await objects.list(prefix)) await objects.delete(key);
  } catch (error) {
    console.warn(`clean-up of s3: ${(error as Error).message}`);
  } finally {
    await objects.close();
  }
}
