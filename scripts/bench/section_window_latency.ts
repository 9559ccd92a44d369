/**
 * Benchmark 7: event → Redis window latency of the analytics pipeline
 * (`POST /track` → Kafka → the `analytics` job → Redis) at 10 % and 70 % of
 * the pipeline's maximum rate: the rate its job keeps up with while
 * requests come as fast as the process answers them (measured first, from
 * `/api/jobs`' input totals).
 *
 * The pipeline runs as users run it: `deno task run --prod --job analytics`
 * in a child process, its own topic, group and key prefix. This process
 * posts events paced at the rate, each stamped with its wall time of
 * posting, and polls Redis every {@linkcode POLL_MS} for each event id's
 * window list to learn when each window became readable. Two latencies:
 *
 * - **event → window**: for each event, from its POST to the moment the
 *   first window holding it is readable. Window semantics bound it from
 *   below: that window ends up to 10 s after the event, and closes only
 *   once an event 5 s (the out-of-orderness) past its end arrives;
 * - **window close → Redis**: for each window, from the earliest moment it
 *   could close (its end plus the out-of-orderness, on the wall clock,
 *   since events carry their posting time) to readable: the pipeline's own
 *   share (HTTP, Kafka, the job, the fenced write), plus up to the polling
 *   interval.
 *
 * Only windows closed by events of the load count (not by the idle advance
 * after it stops).
 *
 * @module
 */

import { Redis } from "ioredis";
import type { Section } from "./report.ts";
import { table } from "./report.ts";
import {
  deleteObjectsPrefix,
  deleteRedisPrefix,
  deleteTopics,
  SERVICES,
  uniqueName,
} from "./services.ts";
import { fmt, percentile } from "./stats.ts";

export const WINDOW_LATENCY_TITLE =
  "7. Event → Redis window latency of the analytics pipeline";

/** Shares of the maximum rate to measure at. */
export const WINDOW_LOAD_SHARES = [0.1, 0.7] as const;

const IDS = 20;
const EVENTS_PER_REQUEST = 50;
const POLL_MS = 50;
const SLIDE_MS = 10_000;
const BOUND_MS = 5_000;
const REQUESTS_IN_FLIGHT_MAX = 64;

/** Options of {@linkcode windowLatencySection}. */
export interface WindowLatencyOptions {
  /** /track's rate alone (events/s, benchmark 6), for the report; null when not measured. */
  track_rate: number | null;
  warmup_ms: number;
  measure_ms: number;
  log: (line: string) => void;
}

interface Phase {
  share: number;
  rate: number;
  posted: number;
  refused: number;
  event_to_window: number[];
  close_to_redis: number[];
}

/** A running `deno task run --prod --job analytics`. */
interface Pipeline {
  url: string;
  prefix: string;
  stop(): Promise<void>;
}

async function startPipeline(): Promise<Pipeline> {
  const id = uniqueName("bench-analytics");
  const prefix = `${id}:`;
  const root = new URL("../../", import.meta.url);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "main.ts",
      "run",
      "--prod",
      "--job",
      "analytics",
      "--topic",
      id,
      "--group",
      id,
      "--key-prefix",
      prefix,
      "--checkpoint-prefix",
      id,
      "--port",
      "0",
      "--log-format",
      "json",
    ],
    cwd: root,
    env: {
      KAFKA_BROKERS: SERVICES.kafka_brokers.join(","),
      REDIS_URL: SERVICES.redis_url,
      S3_ENDPOINT: SERVICES.s3.endpoint,
      S3_BUCKET: SERVICES.s3.bucket,
      AWS_ACCESS_KEY_ID: SERVICES.s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: SERVICES.s3.credentials.secretAccessKey,
    },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream());
  let url: string | null = null;
  let buffer = "";
  const reader = lines.getReader();
  const deadline = Date.now() + 60_000;
  while (url === null && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    url = /"url":"(http:\/\/[^"]+\/)"/.exec(buffer)?.[1] ?? null;
  }
  // Keep draining its output so it never blocks on a full pipe.
  const draining = (async () => {
    while (!(await reader.read()).done) { /* drop */ }
  })();
  if (url === null) {
    child.kill("SIGKILL");
    await child.status;
    throw new Error(`the analytics pipeline did not start: ${buffer}`);
  }
  return {
    url,
    prefix,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await draining;
      await deleteRedisPrefix(prefix);
      await deleteObjectsPrefix(`${id}/`);
      await deleteTopics([id, `${id}.dead-letter`, `${id}.late`]);
    },
  };
}

/** Events the analytics job read so far, from `/api/jobs`. */
async function jobInput(pipeline: Pipeline): Promise<number> {
  const snapshot = await (await fetch(`${pipeline.url}api/jobs`)).json() as {
    jobs: Array<{ partitions: Array<{ records_in_total: number }> }>;
  };
  return snapshot.jobs.flatMap((j) => j.partitions)
    .reduce((n, p) => n + p.records_in_total, 0);
}

/**
 * Posts as fast as the pipeline answers (at most
 * {@linkcode REQUESTS_IN_FLIGHT_MAX} requests in flight) for `warmup_ms +
 * measure_ms`; answers the rate at which its job read events while
 * measured.
 */
async function saturate(
  pipeline: Pipeline,
  warmup_ms: number,
  measure_ms: number,
): Promise<number> {
  const pending = new Set<Promise<void>>();
  const started = Date.now();
  let sent = 0;
  let from: { at: number; read: number } | null = null;
  while (Date.now() - started < warmup_ms + measure_ms) {
    if (from === null && Date.now() - started >= warmup_ms) {
      from = { at: Date.now(), read: await jobInput(pipeline) };
    }
    while (pending.size >= REQUESTS_IN_FLIGHT_MAX) await Promise.race(pending);
    const timestamp = Date.now();
    const body = Array.from(
      { length: EVENTS_PER_REQUEST },
      () =>
        JSON.stringify({
          event_id: `bench-${sent++ % IDS}`,
          value: 1,
          timestamp,
        }),
    ).join("\n");
    const request: Promise<void> = fetch(`${pipeline.url}track`, {
      method: "POST",
      headers: { "content-type": "application/x-ndjson" },
      body,
    }).then((r) => r.body?.cancel(), () => {}).finally(() =>
      pending.delete(request)
    );
    pending.add(request);
  }
  const read = await jobInput(pipeline);
  const at = Date.now();
  await Promise.all(pending);
  // Let the job catch up before the next phase.
  let last = -1;
  for (let i = 0; i < 60; i++) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const now = await jobInput(pipeline);
    if (now === last) break;
    last = now;
  }
  return from === null ? 0 : (read - from.read) * 1000 / (at - from.at);
}

async function measurePhase(
  pipeline: Pipeline,
  redis: Redis,
  share: number,
  max_rate: number,
  options: WindowLatencyOptions,
): Promise<Phase> {
  const rate = Math.max(EVENTS_PER_REQUEST, share * max_rate);
  const phase: Phase = {
    share,
    rate,
    posted: 0,
    refused: 0,
    event_to_window: [],
    close_to_redis: [],
  };
  /** Per request: when it was posted and how many events of each id. */
  const requests: Array<{ posted_ms: number; counts: Map<string, number> }> =
    [];
  /** First time each `<id> <window end>` was seen in Redis. */
  const seen = new Map<string, number>();
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const now = Date.now();
      const lists = await Promise.all(
        Array.from(
          { length: IDS },
          (_, i) =>
            redis.zrangebyscore(
              `${pipeline.prefix}analytics:windows:bench-${i}`,
              "-inf",
              "+inf",
              "WITHSCORES",
            ),
        ),
      );
      lists.forEach((flat, i) => {
        for (let j = 1; j < flat.length; j += 2) {
          const key = `bench-${i} ${flat[j]}`;
          if (!seen.has(key)) seen.set(key, now);
        }
      });
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  })();
  const started = Date.now();
  const duration_ms = options.warmup_ms + options.measure_ms;
  const interval_ms = EVENTS_PER_REQUEST * 1000 / rate;
  let in_flight = 0;
  let sent = 0;
  const pending: Promise<void>[] = [];
  for (let k = 0;; k++) {
    const due = started + k * interval_ms;
    if (due - started >= duration_ms) break;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    if (in_flight >= REQUESTS_IN_FLIGHT_MAX) {
      phase.refused++;
      continue;
    }
    const posted_ms = Date.now();
    const counts = new Map<string, number>();
    const events = Array.from({ length: EVENTS_PER_REQUEST }, () => {
      const id = `bench-${sent++ % IDS}`;
      counts.set(id, (counts.get(id) ?? 0) + 1);
      return JSON.stringify({ event_id: id, value: 1, timestamp: posted_ms });
    });
    in_flight++;
    pending.push(
      fetch(`${pipeline.url}track`, {
        method: "POST",
        headers: { "content-type": "application/x-ndjson" },
        body: events.join("\n"),
      }).then(async (response) => {
        await response.body?.cancel();
        if (response.status === 202) {
          requests.push({ posted_ms, counts });
          phase.posted += EVENTS_PER_REQUEST;
        } else phase.refused++;
      }, () => {
        phase.refused++;
      }).finally(() => in_flight--),
    );
  }
  const load_end = Date.now();
  await Promise.all(pending);
  // Windows closed by the load's last events need a moment to land.
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  polling = false;
  await poller;

  const measured_from = started + options.warmup_ms;
  // A window counts when events of the load (not the idle advance) closed it.
  const closable = (end: number) =>
    end + BOUND_MS >= measured_from && end + BOUND_MS + 1_000 <= load_end;
  for (const [key, at] of seen) {
    const end = Number(key.split(" ")[1]);
    if (closable(end)) phase.close_to_redis.push(at - (end + BOUND_MS));
  }
  for (const { posted_ms, counts } of requests) {
    if (posted_ms < measured_from) continue;
    const end = Math.floor(posted_ms / SLIDE_MS) * SLIDE_MS + SLIDE_MS;
    if (!closable(end)) continue;
    for (const [id, n] of counts) {
      const at = seen.get(`${id} ${end}`);
      if (at === undefined) continue;
      for (let i = 0; i < n; i++) phase.event_to_window.push(at - posted_ms);
    }
  }
  return phase;
}

function p(values: number[], q: number): string {
  return values.length === 0 ? "–" : fmt(percentile(values, q));
}

/** Runs benchmark 7 and writes its section. */
export async function windowLatencySection(
  options: WindowLatencyOptions,
): Promise<Section> {
  const pipeline = await startPipeline();
  const redis = new Redis(SERVICES.redis_url);
  const phases: Phase[] = [];
  let max_rate = 0;
  try {
    options.log("window latency: the pipeline's maximum rate");
    max_rate = await saturate(
      pipeline,
      options.warmup_ms,
      Math.max(5_000, options.measure_ms / 2),
    );
    for (const share of WINDOW_LOAD_SHARES) {
      options.log(
        `window latency: ${share * 100} % of ${fmt(max_rate)} events/s for ${
          fmt((options.warmup_ms + options.measure_ms) / 1000)
        } s`,
      );
      phases.push(
        await measurePhase(pipeline, redis, share, max_rate, options),
      );
    }
  } finally {
    redis.disconnect();
    await pipeline.stop();
  }
  const body = [
    `**Measured:** \`deno task run --prod --job analytics\` in a child process (default options: sliding windows of 30 s every 10 s, out-of-orderness 5 s); this process posts NDJSON requests of ${EVENTS_PER_REQUEST} events over ${IDS} event ids, paced at a share of the pipeline's maximum rate, each event stamped with the wall time it was posted, and polls Redis every ${POLL_MS} ms for each id's window list. Each share runs ${
      fmt(options.warmup_ms / 1000)
    } s of warm-up, then ${fmt(options.measure_ms / 1000)} s measured.`,
    "",
    `- **Maximum rate:** ${
      fmt(max_rate)
    } events/s, the rate the job read events at while requests came as fast as the process answered them (${REQUESTS_IN_FLIGHT_MAX} in flight), HTTP and job sharing one process${
      options.track_rate === null
        ? ""
        : `; /track alone, without the job, acknowledged ${
          fmt(options.track_rate)
        } events/s (benchmark 6)`
    }.`,
    "- **event → window**: per event, its POST to the first window holding it readable in Redis; at least the time to that window's end plus 5 s by the window semantics.",
    "- **window close → Redis**: per window, from its end plus the out-of-orderness (when an event of the load could first close it) to readable: the pipeline's own latency, plus up to the polling interval.",
    "",
    ...table(
      [
        "share",
        "events/s asked",
        "events acknowledged",
        "requests refused or skipped",
        "event → window p50 ms",
        "p99 ms",
        "window close → Redis p50 ms",
        "p99 ms",
        "windows",
      ],
      phases.map((ph) => [
        `${ph.share * 100} %`,
        fmt(ph.rate),
        fmt(ph.posted),
        fmt(ph.refused),
        p(ph.event_to_window, 50),
        p(ph.event_to_window, 99),
        p(ph.close_to_redis, 50),
        p(ph.close_to_redis, 99),
        fmt(ph.close_to_redis.length),
      ]),
    ),
  ];
  const at = (share: number) => phases.find((ph) => ph.share === share)!;
  return {
    title: WINDOW_LATENCY_TITLE,
    verdict: "reported",
    summary: {
      baseline: "–",
      candidate: WINDOW_LOAD_SHARES.map((share) =>
        `${share * 100} %: close → Redis p50 ${
          p(at(share).close_to_redis, 50)
        } / p99 ${p(at(share).close_to_redis, 99)} ms`
      ).join("; "),
      ratio: "–",
      target: "report p50/p99",
    },
    body,
  };
}
