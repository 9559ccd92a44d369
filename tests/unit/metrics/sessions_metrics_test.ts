/** The sessions job's and loader's metrics, read back through the strict parser. */

import assert from "node:assert/strict";
import { SessionsMetrics } from "../../../src/metrics/sessions_metrics.ts";
import { newRegistry, renderMetrics } from "../../../src/metrics/prometheus.ts";
import { CheckpointStore } from "../../../src/core/checkpoint.ts";
import { Loader } from "../../../src/load/loader.ts";
import { sessionsTarget } from "../../../src/load/sessions_target.ts";
import { sessions } from "../../../src/jobs/sessions/job.ts";
import { formatIso } from "../../../src/core/time.ts";
import { JobDriver } from "../../../sim/driver.ts";
import { WarehouseTwin } from "../../../sim/warehouse.ts";
import { parseExposition, valueOf } from "./prom_text.ts";

const T0 = Date.UTC(2026, 2, 14, 18, 0, 0);

function beat(session_id: string, time_ms: number) {
  return {
    key: "u-1",
    timestamp: time_ms + 500,
    value: JSON.stringify({
      user_id: "u-1",
      program_id: "p",
      session_id,
      device: "tv",
      event_time: formatIso(time_ms),
    }),
  };
}

Deno.test("SessionsMetrics reports open and closed sessions from checkpoints, files published and loaded, and the load lag", async () => {
  const d = await JobDriver.open(sessions, { partitions: 1, start_ms: T0 });
  for (
    const b of [beat("a", T0), beat("b", T0 + 1_000), beat("c", T0 + 100_000)]
  ) {
    d.clock.advanceTo(b.timestamp);
    await d.pipe([b]);
  }
  // After the repartition a session is written a gap after its window's
  // end: "a" at T0 + 120 s, "b" at T0 + 121 s, each in the file of its
  // minute. The idle advance takes the watermark to about T0 + 195 s: both
  // files are published, and "c" (written at T0 + 220 s) is still open.
  await d.advanceClock(100_000);
  const registry = newRegistry();
  const metrics = new SessionsMetrics(registry, {
    store: new CheckpointStore(d.checkpoints),
    job: "sessions",
    topic: "sessions-by-session-repartition",
    partitions: 1,
  });
  let families = parseExposition(await renderMetrics(registry));
  assert.equal(
    valueOf(families, "freshet_sessions_open", { partition: "0" }),
    1,
  );
  assert.equal(
    valueOf(families, "freshet_sessions_closed", { partition: "0" }),
    2,
  );

  const w = await WarehouseTwin.open();
  const now = T0 + 200_000;
  const loader = new Loader({
    target: sessionsTarget(),
    objects: d.objects,
    warehouse: w,
    clock: { now: () => now, sleep: () => Promise.resolve() },
    observer: metrics,
  });
  const pass = await loader.pass();
  families = parseExposition(await renderMetrics(registry));
  assert.equal(
    valueOf(families, "freshet_sessions_files_published"),
    pass.published,
  );
  assert.equal(valueOf(families, "freshet_sessions_files_pending"), 0);
  assert.equal(
    valueOf(families, "freshet_sessions_files_loaded_total"),
    pass.loaded.length,
  );
  assert.equal(valueOf(families, "freshet_sessions_rows_loaded_total"), 2);
  // Closes at T0 + 60 s ("a") and T0 + 61 s ("b"): lags of 140 s and 139 s.
  assert.equal(valueOf(families, "freshet_sessions_load_lag_seconds_count"), 2);
  assert.equal(valueOf(families, "freshet_sessions_load_lag_seconds_sum"), 279);
  assert.equal(
    valueOf(families, "freshet_sessions_load_lag_seconds_bucket", {
      le: "120",
    }),
    0,
  );
  assert.equal(
    valueOf(families, "freshet_sessions_load_lag_seconds_bucket", {
      le: "180",
    }),
    2,
  );
  await w.close();
  await d.close();
});
