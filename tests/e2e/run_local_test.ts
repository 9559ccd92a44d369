/**
 * `deno task run` without `--prod`, as a user starts it: a child process on
 * embedded backends. Events posted to `/track` show up as windows in the
 * analytics API, the jobs in `/api/jobs`, and their counts in `/metrics`
 * (read by the strict Prometheus parser); the token guards `/track`; SIGTERM
 * stops every job cleanly.
 */

import assert from "node:assert/strict";
import { eventually, startRun } from "./run_process.ts";
import { parseExposition, valueOf } from "../unit/metrics/prom_text.ts";
import type { JobsSnapshot } from "../../src/metrics/job_status.ts";

Deno.test({
  name:
    "deno task run serves /track, the analytics API, /api/jobs and /metrics on embedded backends",
  // The child's output is read to its end before the test returns.
  sanitizeResources: false,
  fn: async () => {
    const run = await startRun([], { TRACK_TOKEN: "s3cret-token" });
    try {
      const post = (body: unknown, token: string | null = "s3cret-token") =>
        fetch(`${run.url}track`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            ...(token === null ? {} : { authorization: `Bearer ${token}` }),
          },
          body: JSON.stringify(body),
        });
      const unauthorized = await post({ event_id: "btn" }, null);
      assert.equal(unauthorized.status, 401);
      await unauthorized.body?.cancel();
      const invalid = await post([{ event_id: "btn", value: "x" }]);
      assert.equal(invalid.status, 400);
      assert.match((await invalid.json()).error, /1 of 1 events are invalid/);
      // Two events of one id, a minute apart in event time: the later one
      // moves the watermark past the windows of the earlier one.
      const now = Date.now();
      const accepted = await post([
        { event_id: "btn", value: 2.5, timestamp: now - 60_000 },
        { event_id: "btn", value: 4, timestamp: now },
      ]);
      assert.equal(accepted.status, 202);
      assert.deepEqual(await accepted.json(), { accepted: 2 });

      const windows = await eventually("a closed window", async () => {
        const answer = await (await fetch(
          `${run.url}api/analytics/btn/windows?from=${now - 120_000}`,
        )).json();
        return answer.windows.length > 0 ? answer.windows : undefined;
      });
      assert.deepEqual(
        windows.map((w: { count: number; sum: number }) => [w.count, w.sum]),
        windows.map(() => [1, 2.5]),
      );
      const keys = await (await fetch(`${run.url}api/analytics/keys`)).json();
      assert.equal(keys.keys[0].event_id, "btn");

      const snapshot: JobsSnapshot = await eventually(
        "the analytics job's counts",
        async () => {
          const s: JobsSnapshot = await (await fetch(`${run.url}api/jobs`))
            .json();
          const analytics = s.jobs.find((j) => j.job === "analytics");
          const read = analytics?.partitions.reduce(
            (n, p) => n + p.records_in_total,
            0,
          );
          return read === 2 ? s : undefined;
        },
      );
      assert.deepEqual(
        snapshot.jobs.map((j) => [j.job, j.state]).sort(),
        snapshot.jobs.map((j) => [j.job, "running"]).sort(),
      );
      assert.ok(snapshot.jobs.some((j) => j.job === "views"));

      const metrics = await fetch(`${run.url}metrics`);
      assert.equal(metrics.status, 200);
      const families = parseExposition(await metrics.text());
      let read = 0;
      for (const sample of families.get("freshet_records_in_total")!.samples) {
        if (sample.labels.job === "analytics") read += sample.value;
      }
      assert.equal(read, 2);
      assert.equal(
        valueOf(families, "freshet_job_running", { job: "analytics" }),
        1,
      );
      assert.equal((await fetch(`${run.url}healthz`)).status, 200);
      const ready = await eventually("ready", async () => {
        const r = await fetch(`${run.url}readyz`);
        const body = await r.json();
        return r.status === 200 ? body : undefined;
      });
      assert.equal(ready.ready, true);
      const page = await fetch(run.url);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /freshet dashboard/);
    } finally {
      const code = await run.stop();
      assert.equal(code, 0, run.lines.join("\n"));
    }
    assert.ok(
      run.lines.some((l) => l.includes('"message":"job analytics stopped"')),
    );
    assert.ok(
      !run.lines.some((l) => l.includes("s3cret-token")),
      "the token appears in the log",
    );
  },
});
