/**
 * `deno task run --prod --job sessions` serves the sessions metrics on the
 * same `/metrics` as the jobs' own: a session sent to Kafka closes (a short
 * gap and the idle advance), is published as Parquet and loaded into
 * PostgreSQL by the loader the run starts, and the metrics count it once:
 * closed in the job's checkpoints, one file published and loaded, one row,
 * one load lag observed.
 */

import assert from "node:assert/strict";
import postgres from "postgres";
import { Kafka, logLevel } from "kafkajs";
import { eventually, startRun } from "../e2e/run_process.ts";
import {
  DATABASE_URL,
  integration,
  KAFKA,
  KAFKA_BROKERS,
  POSTGRES,
  S3,
  S3_SETTINGS,
  uniqueName,
} from "./services.ts";
import { parseExposition } from "../unit/metrics/prom_text.ts";
import { S3ObjectStore } from "../../src/adapters/s3.ts";

/** Sum of a family's samples named `name` (all label sets). */
function total(text: string, family: string, name = family): number {
  const found = parseExposition(text).get(family);
  assert.ok(found !== undefined, `/metrics has no family ${family}`);
  return found.samples
    .filter((s) => s.name === name)
    .reduce((sum, s) => sum + s.value, 0);
}

await integration(
  "deno task run --prod --job sessions counts the loader's files, rows and lag and the job's closed sessions in /metrics",
  [KAFKA, S3, POSTGRES],
  async () => {
    const run_id = uniqueName("sessions-metrics");
    const database = run_id.replace(/[^a-z0-9_]/g, "_");
    const admin_sql = postgres(DATABASE_URL, { onnotice: () => {} });
    await admin_sql.unsafe(`CREATE DATABASE ${database}`);
    const kafka = new Kafka({
      brokers: KAFKA_BROKERS,
      logLevel: logLevel.NOTHING,
    });
    const run = await startRun([
      "--prod",
      "--job",
      "sessions",
      "--topic",
      run_id,
      "--group",
      run_id,
      "--checkpoint-prefix",
      run_id,
      "--checkpoint-interval-ms",
      "1000",
      "--load-interval-ms",
      "1000",
      "--session-timeout-ms",
      "6000",
      "--job-options",
      `gap_ms=2000,idle_advance_ms=1000,file_interval_ms=1000,prefix=${run_id}`,
    ], {
      KAFKA_BROKERS: KAFKA_BROKERS.join(","),
      S3_ENDPOINT: S3_SETTINGS.endpoint,
      S3_BUCKET: S3_SETTINGS.bucket,
      AWS_ACCESS_KEY_ID: S3_SETTINGS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3_SETTINGS.secretAccessKey,
      DATABASE_URL: DATABASE_URL.replace(/\/postgres$/, `/${database}`),
    });
    try {
      // Produce once the group holds the partitions, so that the job made
      // the topic with its own partition count.
      await eventually("the job's partitions", async () => {
        const ready = await fetch(`${run.url}readyz`);
        await ready.body?.cancel();
        return ready.status === 200 ? true : undefined;
      }, 60_000);
      const producer = kafka.producer();
      await producer.connect();
      const now = Date.now();
      const partitions = (await fetchPartitions(kafka, run_id)).length;
      // A session of three heartbeats, and one of a heartbeat on every
      // other partition: an input partition that never receives a record
      // holds the session stage's watermark back (README, the repartition).
      const heartbeat = (session: number, ago: number) =>
        JSON.stringify({
          user_id: `u${session}`,
          program_id: "p1",
          session_id: `${run_id}-s${session}`,
          device: "tv",
          event_time: now - ago,
        });
      await producer.send({
        topic: run_id,
        messages: [
          ...[3_000, 2_000, 1_000].map((ago) => ({
            partition: 0,
            value: heartbeat(0, ago),
          })),
          ...Array.from({ length: partitions - 1 }, (_, i) => ({
            partition: i + 1,
            value: heartbeat(i + 1, 1_000),
          })),
        ],
      });
      await producer.disconnect();

      const text = await eventually("the session's row loaded", async () => {
        const answer = await (await fetch(`${run.url}metrics`)).text();
        return total(answer, "freshet_sessions_rows_loaded_total") >=
              partitions &&
            total(answer, "freshet_sessions_files_pending") === 0
          ? answer
          : undefined;
      }, 60_000).catch((error) => {
        throw new Error(
          `${error.message}; the run's last lines:\n${
            run.lines.slice(-30).join("\n")
          }`,
        );
      });
      const files = (await publishedFiles(run_id)).length;
      assert.ok(files >= 1);
      assert.equal(
        total(text, "freshet_sessions_rows_loaded_total"),
        partitions,
      );
      assert.equal(total(text, "freshet_sessions_files_loaded_total"), files);
      assert.equal(
        total(
          text,
          "freshet_sessions_load_lag_seconds",
          "freshet_sessions_load_lag_seconds_count",
        ),
        partitions,
      );
      // The job's own metrics are in the same registry.
      assert.ok(parseExposition(text).has("freshet_job_running"));
      // Closed and open sessions come from the stage's checkpoints, which
      // may lag the loader by a checkpoint.
      const settled = await eventually("the closed session", async () => {
        const answer = await (await fetch(`${run.url}metrics`)).text();
        return total(answer, "freshet_sessions_closed") === partitions
          ? answer
          : undefined;
      });
      assert.equal(total(settled, "freshet_sessions_open"), 0);
      assert.equal(
        total(settled, "freshet_sessions_files_published"),
        files,
      );
      assert.equal(total(settled, "freshet_sessions_files_pending"), 0);
      const sql = postgres(
        DATABASE_URL.replace(/\/postgres$/, `/${database}`),
        { onnotice: () => {} },
      );
      try {
        const rows =
          await sql`SELECT session_id, events FROM sessions ORDER BY session_id`;
        assert.deepEqual(
          rows.map((r) => [r.session_id, Number(r.events)]),
          Array.from(
            { length: partitions },
            (_, i) => [`${run_id}-s${i}`, i === 0 ? 3 : 1],
          ),
        );
      } finally {
        await sql.end();
      }
    } finally {
      const code = await run.stop();
      await cleanUp(kafka, run_id);
      await admin_sql.unsafe(`DROP DATABASE IF EXISTS ${database}`)
        .catch(() => {});
      await admin_sql.end();
      assert.equal(code, 0, run.lines.join("\n"));
    }
  },
);

async function fetchPartitions(kafka: Kafka, topic: string) {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await admin.fetchTopicOffsets(topic);
  } finally {
    await admin.disconnect();
  }
}

function s3(): S3ObjectStore {
  return S3ObjectStore.fromConfig(S3_SETTINGS);
}

async function publishedFiles(prefix: string): Promise<string[]> {
  return (await s3().list(`${prefix}/`)).filter((k) =>
    k.endsWith(".parquet") && !k.includes("staging")
  );
}

/** Deletes the run's topics and its objects (files and checkpoints). */
async function cleanUp(kafka: Kafka, run_id: string): Promise<void> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const topics = (await admin.listTopics()).filter((t) => t.includes(run_id));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } catch (error) {
    console.warn(`clean-up of kafka: ${(error as Error).message}`);
  } finally {
    await admin.disconnect().catch(() => {});
  }
  const objects = s3();
  try {
    for (const key of await objects.list(`${run_id}/`)) {
      await objects.delete(key).catch(() => {});
    }
  } catch (error) {
    console.warn(`clean-up of s3: ${(error as Error).message}`);
  }
}
