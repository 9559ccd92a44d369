/**
 * The HTTP surface as one handler, on the twins and a virtual clock: routes,
 * /metrics (read back with the strict exposition parser), /api/jobs, the
 * analytics query API over the job's Redis keys, health and readiness.
 */

import assert from "node:assert/strict";
import { VirtualClock } from "../../../sim/clock.ts";
import { KvTwin } from "../../../sim/kv.ts";
import { LogTwin } from "../../../sim/log.ts";
import type { KvOp } from "../../../src/ports.ts";
import { HttpApp, type HttpAppOptions } from "../../../src/http/app.ts";
import {
  producerAvailable,
  type ReadinessCheck,
} from "../../../src/http/health.ts";
import {
  KEYS_KEY,
  latestKey,
  windowKey,
  windowsKey,
} from "../../../src/jobs/analytics/keys.ts";
import type { JobsSnapshot } from "../../../src/metrics/job_status.ts";
import { parseExposition, valueOf } from "../metrics/prom_text.ts";

const START_MS = Date.UTC(2026, 0, 15, 12, 0, 0);

async function app(options: Partial<HttpAppOptions> = {}) {
  const clock = new VirtualClock(START_MS);
  const log = new LogTwin({ clock });
  await log.createTopic("flink-events", 2);
  const kv = new KvTwin({ clock });
  const http = await HttpApp.create({
    clock,
    track: { log },
    kv,
    ...options,
  });
  const get = (path: string, headers: Record<string, string> = {}) =>
    http.handler(new Request(`http://127.0.0.1${path}`, { headers }));
  return { clock, log, kv, http, get };
}

/** The ops the analytics job writes for one closed window. */
function windowOps(
  event_id: string,
  start_ms: number,
  size_ms: number,
  stats: { count: number; sum: number; min: number; max: number },
): KvOp[] {
  const key = windowKey(event_id, start_ms);
  const fields: Record<string, string> = {
    event_id,
    window_start: new Date(start_ms).toISOString(),
    window_end: new Date(start_ms + size_ms).toISOString(),
    count: String(stats.count),
    sum: String(stats.sum),
    min: String(stats.min),
    max: String(stats.max),
  };
  return [
    ...Object.entries(fields).map(([field, value]) => ({
      op: "hset" as const,
      key,
      field,
      value,
    })),
    { op: "pexpire", key, ms: 86_400_000 },
    ...Object.entries(fields).map(([field, value]) => ({
      op: "hset" as const,
      key: latestKey(event_id),
      field,
      value,
    })),
    {
      op: "zadd",
      key: windowsKey(event_id),
      member: new Date(start_ms).toISOString(),
      score: start_ms + size_ms,
    },
    { op: "zadd", key: KEYS_KEY, member: event_id, score: stats.count },
  ];
}

Deno.test("GET /healthz answers up; unknown paths 404 and wrong methods 405, as JSON", async () => {
  const { get, http } = await app();
  const health = await get("/healthz");
  assert.deepEqual([health.status, await health.json()], [200, {
    status: "up",
  }]);
  const missing = await get("/nope");
  assert.deepEqual([missing.status, await missing.json()], [404, {
    error: "nothing is served at /nope",
  }]);
  const wrong = await http.handler(
    new Request("http://127.0.0.1/api/jobs", { method: "DELETE" }),
  );
  assert.equal(wrong.status, 405);
  assert.equal(wrong.headers.get("allow"), "GET");
  const track = await get("/track");
  assert.equal(track.status, 405);
  assert.equal(track.headers.get("allow"), "POST");
  await track.body?.cancel();
});

Deno.test("GET /readyz answers 200 when every check passes and 503 naming the failing ones", async () => {
  const { clock, get } = await app({
    readiness: [
      { name: "fine", check: () => true },
      { name: "void", check: async () => {} },
    ],
  });
  const ready = await get("/readyz");
  assert.deepEqual([ready.status, await ready.json()], [200, {
    ready: true,
    checks: [{ name: "fine", ok: true }, { name: "void", ok: true }],
  }]);

  const failing = await app({
    clock,
    readiness: [
      { name: "fine", check: () => true },
      { name: "no", check: () => false },
      { name: "why", check: () => "partitions not assigned yet" },
      {
        name: "throws",
        check: () => Promise.reject(new Error("ECONNREFUSED 127.0.0.1:6379")),
      },
    ],
  });
  const notReady = await failing.get("/readyz");
  assert.deepEqual([notReady.status, await notReady.json()], [503, {
    ready: false,
    checks: [
      { name: "fine", ok: true },
      { name: "no", ok: false, reason: "not ready" },
      { name: "why", ok: false, reason: "partitions not assigned yet" },
      { name: "throws", ok: false, reason: "ECONNREFUSED 127.0.0.1:6379" },
    ],
  }]);
});

Deno.test("GET /readyz fails a check that outlasts timeout_ms", async () => {
  const { clock, get } = await app({
    readiness: [{ name: "hangs", check: () => new Promise(() => {}) }],
    readiness_timeout_ms: 500,
  });
  const pending = get("/readyz");
  await new Promise((resolve) => setTimeout(resolve, 0));
  clock.advanceBy(500);
  const response = await pending;
  assert.deepEqual([response.status, await response.json()], [503, {
    ready: false,
    checks: [{ name: "hangs", ok: false, reason: "no answer within 500 ms" }],
  }]);
});

Deno.test("GET /api/jobs answers the provider's snapshot, or no jobs without one", async () => {
  const snapshot: JobsSnapshot = {
    at_ms: START_MS,
    jobs: [{
      job: "analytics",
      state: "running",
      restarts_total: 0,
      partitions: [{
        topic: "flink-events",
        partition: 0,
        input_rate_per_s: 12.5,
        output_rate_per_s: 3,
        records_in_total: 100,
        records_out_total: 20,
        filtered_total: 0,
        late_total: 2,
        dead_letter_total: 1,
        consumer_lag_records: 4,
        watermark_ms: START_MS - 6000,
        watermark_delay_ms: 6000,
        last_checkpoint_age_ms: 800,
        last_checkpoint_duration_ms: 35,
        checkpoints_total: 3,
        restarts_total: 0,
      }],
    }],
  };
  const { get } = await app({ jobs: () => snapshot });
  const response = await get("/api/jobs");
  assert.deepEqual([response.status, await response.json()], [200, snapshot]);
  const none = await (await app()).get("/api/jobs");
  assert.deepEqual(await none.json(), { at_ms: START_MS, jobs: [] });
});

Deno.test("GET /metrics is valid exposition text whose values match what was done", async () => {
  const { http, get } = await app({
    jobs: () => ({
      at_ms: START_MS,
      jobs: [{
        job: "analytics",
        state: "running",
        restarts_total: 1,
        partitions: [],
      }],
    }),
  });
  const post = (body: string) =>
    http.handler(
      new Request("http://127.0.0.1/track", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      }),
    );
  for (let i = 0; i < 3; i++) {
    await (await post('[{"event_id":"a"},{"event_id":"b"}]')).body?.cancel();
  }
  await (await post('[{"event_id":"a"},{"value":1},{"value":2}]')).body
    ?.cancel();
  await (await get("/healthz")).body?.cancel();
  http.job_metrics.observeLatency("analytics", 120);
  const response = await get("/metrics");
  assert.equal(
    response.headers.get("content-type"),
    "text/plain; version=0.0.4; charset=utf-8",
  );
  const families = parseExposition(await response.text());
  assert.equal(
    valueOf(families, "freshet_track_events_total", { outcome: "accepted" }),
    6,
  );
  assert.equal(
    valueOf(families, "freshet_track_events_total", { outcome: "invalid" }),
    2,
  );
  assert.equal(
    valueOf(families, "freshet_http_requests_total", {
      route: "/track",
      method: "POST",
      status: "202",
    }),
    3,
  );
  assert.equal(
    valueOf(families, "freshet_http_requests_total", {
      route: "/track",
      method: "POST",
      status: "400",
    }),
    1,
  );
  assert.equal(
    valueOf(families, "freshet_http_requests_total", {
      route: "/healthz",
      method: "GET",
      status: "200",
    }),
    1,
  );
  assert.equal(
    valueOf(families, "freshet_track_produce_calls_total", { outcome: "ok" }),
    3,
  );
  assert.equal(valueOf(families, "freshet_track_produce_batch_events_sum"), 6);
  assert.equal(valueOf(families, "freshet_track_in_flight_events"), 0);
  assert.equal(valueOf(families, "freshet_track_in_flight_bytes"), 0);
  assert.equal(
    valueOf(families, "freshet_job_restarts_total", { job: "analytics" }),
    1,
  );
  assert.equal(
    valueOf(families, "freshet_event_to_output_latency_seconds_count", {
      job: "analytics",
    }),
    1,
  );
});

Deno.test("GET /api/analytics/keys answers event ids by latest count with their latest window", async () => {
  const { kv, get } = await app();
  await kv.apply([
    ...windowOps("click", START_MS - 40_000, 30_000, {
      count: 5,
      sum: 7.5,
      min: 1,
      max: 2.5,
    }),
    ...windowOps("view", START_MS - 40_000, 30_000, {
      count: 9,
      sum: 9,
      min: 1,
      max: 1,
    }),
    ...windowOps("buy", START_MS - 40_000, 30_000, {
      count: 1,
      sum: 30,
      min: 30,
      max: 30,
    }),
  ]);
  const response = await get("/api/analytics/keys?limit=2");
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), {
    keys: [
      {
        event_id: "view",
        count: 9,
        latest: {
          event_id: "view",
          window_start: "2026-01-15T11:59:20.000Z",
          window_end: "2026-01-15T11:59:50.000Z",
          count: 9,
          sum: 9,
          min: 1,
          max: 1,
        },
      },
      {
        event_id: "click",
        count: 5,
        latest: {
          event_id: "click",
          window_start: "2026-01-15T11:59:20.000Z",
          window_end: "2026-01-15T11:59:50.000Z",
          count: 5,
          sum: 7.5,
          min: 1,
          max: 2.5,
        },
      },
    ],
  });
  const bad = await get("/api/analytics/keys?limit=0");
  assert.deepEqual([bad.status, await bad.json()], [400, {
    error: `'limit' must be an integer from 1 to 1000: current value is "0"`,
  }]);
});

Deno.test("GET /api/analytics/:event_id/windows answers the windows ending in [from, to], oldest first", async () => {
  const { clock, kv, get } = await app();
  // Sliding windows of 30 s every 10 s, ending at START - 50 s ... START.
  const ops: KvOp[] = [];
  for (let end = START_MS - 50_000; end <= START_MS; end += 10_000) {
    ops.push(
      ...windowOps("page view/é", end - 30_000, 30_000, {
        count: (end - START_MS) / 10_000 + 10,
        sum: 1,
        min: 1,
        max: 1,
      }),
    );
  }
  await kv.apply(ops);
  const id = encodeURIComponent("page view/é");
  const all = await (await get(`/api/analytics/${id}/windows`)).json();
  assert.equal(all.event_id, "page view/é");
  assert.equal(all.to_ms, START_MS);
  assert.equal(all.from_ms, START_MS - 3_600_000);
  assert.deepEqual(
    all.windows.map((w: { count: number }) => w.count),
    [5, 6, 7, 8, 9, 10],
  );
  assert.deepEqual(all.windows[5], {
    event_id: "page view/é",
    window_start: "2026-01-15T11:59:30.000Z",
    window_end: "2026-01-15T12:00:00.000Z",
    window_end_ms: START_MS,
    count: 10,
    sum: 1,
    min: 1,
    max: 1,
  });
  const from = new Date(START_MS - 30_000).toISOString();
  const ranged = await (await get(
    `/api/analytics/${id}/windows?from=${from}&to=${START_MS - 10_000}`,
  )).json();
  assert.deepEqual(
    ranged.windows.map((w: { window_end_ms: number }) => w.window_end_ms),
    [START_MS - 30_000, START_MS - 20_000, START_MS - 10_000],
  );
  const limited = await (await get(`/api/analytics/${id}/windows?limit=2`))
    .json();
  assert.deepEqual(
    limited.windows.map((w: { count: number }) => w.count),
    [9, 10],
  );
  // A window whose hash expired is left out; the sorted set still names it.
  await kv.apply([{
    op: "pexpire",
    key: windowKey("page view/é", START_MS - 80_000),
    ms: 1000,
  }]);
  clock.advanceBy(1001);
  const later = await (await get(
    `/api/analytics/${id}/windows?from=0&to=${START_MS}`,
  )).json();
  assert.deepEqual(
    later.windows.map((w: { count: number }) => w.count),
    [6, 7, 8, 9, 10],
  );
  const none = await (await get("/api/analytics/unknown/windows")).json();
  assert.deepEqual(none.windows, []);
});

Deno.test("GET /api/analytics/:event_id/windows answers 400 for bad from, to or limit", async () => {
  const { get } = await app();
  const cases: Array<[string, string]> = [
    [
      "from=yesterday",
      `'from' must be epoch milliseconds or an ISO-8601 date and time: current value is "yesterday"`,
    ],
    [
      "to=2026-01-15",
      `'to' must be epoch milliseconds or an ISO-8601 date and time: current value is "2026-01-15"`,
    ],
    [
      "from=20&to=10",
      "'from' must not be after 'to': current values are 20 and 10",
    ],
    [
      "limit=10001",
      `'limit' must be an integer from 1 to 10000: current value is "10001"`,
    ],
  ];
  for (const [query, error] of cases) {
    const response = await get(`/api/analytics/a/windows?${query}`);
    assert.deepEqual([response.status, await response.json()], [400, {
      error,
    }]);
  }
});

Deno.test("without kv or track options the app leaves out their routes", async () => {
  const clock = new VirtualClock(START_MS);
  const http = await HttpApp.create({ clock });
  const keys = await http.handler(
    new Request("http://127.0.0.1/api/analytics/keys"),
  );
  assert.equal(keys.status, 404);
  await keys.body?.cancel();
  const track = await http.handler(
    new Request("http://127.0.0.1/track", { method: "POST", body: "{}" }),
  );
  assert.equal(track.status, 404);
  await track.body?.cancel();
});

Deno.test("GET / serves the dashboard and /static/* its files, with ETags; nothing else is read", async () => {
  const { get } = await app();
  const index = await get("/");
  assert.equal(index.status, 200);
  assert.equal(index.headers.get("content-type"), "text/html; charset=utf-8");
  assert.match(await index.text(), /<title>freshet dashboard<\/title>/);
  const script = await get("/static/vendor/uPlot.iife.min.js");
  assert.equal(script.status, 200);
  assert.equal(
    script.headers.get("content-type"),
    "text/javascript; charset=utf-8",
  );
  const etag = script.headers.get("etag")!;
  await script.body?.cancel();
  const again = await get("/static/vendor/uPlot.iife.min.js", {
    "if-none-match": etag,
  });
  assert.equal(again.status, 304);
  for (
    const path of [
      "/static/missing.js",
      "/static/../app.ts",
      "/static/%2e%2e/app.ts",
      "/static/",
    ]
  ) {
    const response = await get(path);
    assert.equal(response.status, 404, path);
    await response.body?.cancel();
  }
});

Deno.test("every answer echoes a plain X-Request-Id and drops any other", async () => {
  const { get } = await app();
  const plain = await get("/healthz", { "x-request-id": "t1-42" });
  assert.equal(plain.headers.get("x-request-id"), "t1-42");
  await plain.body?.cancel();
  const missing = await get("/nope", { "x-request-id": "r:7" });
  assert.equal(missing.headers.get("x-request-id"), "r:7");
  await missing.body?.cancel();
  const odd = await get("/healthz", { "x-request-id": "<script>" });
  assert.equal(odd.headers.get("x-request-id"), null);
  await odd.body?.cancel();
});

Deno.test("producerAvailable() makes /readyz fail while /track backs off after a log failure", async () => {
  const clock = new VirtualClock(START_MS);
  const log = new LogTwin({ clock });
  await log.createTopic("flink-events", 1);
  const checks: ReadinessCheck[] = [];
  const http = await HttpApp.create({
    clock,
    track: { log, retry_after_s: 3, producer: { on_error: () => {} } },
    readiness: checks,
  });
  checks.push(producerAvailable(http.tracker!.producer));
  const readyz = () =>
    http.handler(new Request("http://127.0.0.1/readyz")).then((r) => r.status);
  assert.equal(await readyz(), 200);
  log.failNext(1);
  const failed = await http.handler(
    new Request("http://127.0.0.1/track", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"event_id":"a"}',
    }),
  );
  assert.equal(failed.status, 503);
  await failed.body?.cancel();
  assert.equal(await readyz(), 503);
  clock.advanceBy(3000);
  assert.equal(await readyz(), 200);
});
