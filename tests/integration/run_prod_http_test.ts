/**
 * `deno task run --prod` serves the same HTTP surface as a local run, over
 * the real services: events posted to `/track` go through Kafka to the
 * analytics job, whose windows the API reads back from Redis; `/api/jobs`
 * and `/readyz` report the job's partitions.
 */

import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { eventually, startRun } from "../e2e/run_process.ts";
import {
  integration,
  KAFKA,
  KAFKA_BROKERS,
  REDIS,
  REDIS_URL,
  S3,
  S3_SETTINGS,
  uniqueName,
} from "./services.ts";
import type { JobsSnapshot } from "../../src/metrics/job_status.ts";

await integration(
  "deno task run --prod serves /track, the analytics API and /api/jobs over Kafka, Redis and S3",
  [KAFKA, REDIS, S3],
  async () => {
    const run_id = uniqueName("prod-http");
    const run = await startRun([
      "--prod",
      "--job",
      "analytics",
      "--topic",
      run_id,
      "--group",
      run_id,
      "--key-prefix",
      `${run_id}:`,
      "--checkpoint-prefix",
      run_id,
      "--session-timeout-ms",
      "6000",
    ], {
      KAFKA_BROKERS: KAFKA_BROKERS.join(","),
      REDIS_URL,
      S3_ENDPOINT: S3_SETTINGS.endpoint,
      S3_BUCKET: S3_SETTINGS.bucket,
      AWS_ACCESS_KEY_ID: S3_SETTINGS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3_SETTINGS.secretAccessKey,
    });
    try {
      const now = Date.now();
      const posted = await fetch(`${run.url}track`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify([
          { event_id: "btn", value: 3, timestamp: now - 60_000 },
          { event_id: "btn", value: 1, timestamp: now },
        ]),
      });
      assert.equal(posted.status, 202);
      await posted.body?.cancel();
      const windows = await eventually("a window in Redis", async () => {
        const answer = await (await fetch(
          `${run.url}api/analytics/btn/windows?from=${now - 120_000}`,
        )).json();
        return answer.windows.length === 3 ? answer.windows : undefined;
      }, 60_000);
      for (const w of windows) assert.deepEqual([w.count, w.sum], [1, 3]);
      const snapshot: JobsSnapshot = await eventually(
        "the job's partitions",
        async () => {
          const s: JobsSnapshot = await (await fetch(`${run.url}api/jobs`))
            .json();
          return s.jobs[0]?.partitions.some((p) => p.records_in_total === 2)
            ? s
            : undefined;
        },
      );
      assert.equal(snapshot.jobs[0]!.job, "analytics");
      assert.equal(snapshot.jobs[0]!.state, "running");
      assert.ok(snapshot.jobs[0]!.partitions.every((p) => p.topic === run_id));
      const ready = await fetch(`${run.url}readyz`);
      assert.equal(ready.status, 200, await ready.text());
    } finally {
      const code = await run.stop();
      const admin = new Redis(REDIS_URL);
      try {
        const keys = await admin.keys(`${run_id}:*`);
        if (keys.length > 0) await admin.del(...keys);
      } finally {
        await admin.quit();
      }
      assert.equal(code, 0, run.lines.join("\n"));
    }
  },
);
