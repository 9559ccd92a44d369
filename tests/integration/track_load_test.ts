/**
 * `/track` at overload from a second process (`wrk`, Debian package `wrk`;
 * CI must install it): for `TRACK_LOAD_SECONDS` (default 30) more
 * connections than the in-flight budget admits hammer the server, which
 * produces into the real Kafka. Then:
 * - every request was answered with a status (no socket error or timeout),
 *   202 or 503 only;
 * - the server's RSS stayed bounded;
 * - every event of every 202 answer is in Kafka exactly once, and no event
 *   is there twice (events of requests still in flight when wrk stopped may
 *   be there once).
 *
 * Bounded in time: wrk runs under `timeout` (killed
 * `WRK_GRACE_SECONDS` after its own end), and the whole test fails after
 * `TRACK_LOAD_SECONDS` + `CHECK_SECONDS_MAX` rather than hang the suite.
 *
 * Skipped (outside CI) when Kafka or wrk is missing; failing in CI.
 */

import assert from "node:assert/strict";
import { KafkaLog } from "../../src/adapters/kafka.ts";
import { SystemClock } from "../../src/adapters/clock.ts";
import { HttpApp, serveHttp } from "../../src/http/app.ts";
import type { LogRecord } from "../../src/ports.ts";
import { integration, KAFKA, KAFKA_BROKERS, uniqueName } from "./services.ts";

const SECONDS = Number(Deno.env.get("TRACK_LOAD_SECONDS") ?? "30");
const CONNECTIONS = 200;
const EVENTS_PER_REQUEST = 20;
/** Fewer events than the connections can hold in flight: overload shows as 503. */
const EVENTS_IN_FLIGHT_MAX = 2000;
const RSS_MAX_BYTES = 768 * 1024 * 1024;
/** wrk is killed this long after the end of its run. */
const WRK_GRACE_SECONDS = 45;
/** Longest the set-up and the checks after the run may take. */
const CHECK_SECONDS_MAX = 120;

const LUA = new URL("../../scripts/load/track.lua", import.meta.url);

async function hasWrk(): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("wrk", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    // wrk --version exits 1 after printing its usage.
    return success || true;
  } catch {
    return false;
  }
}

const wrkMissing = !await hasWrk();
const inCi = ["true", "1"].includes((Deno.env.get("CI") ?? "").toLowerCase());
if (wrkMissing && inCi) {
  Deno.test("the /track load test has wrk", () => {
    throw new Error(
      "Cannot run the /track load test as CI requires wrk: install the Debian package 'wrk'",
    );
  });
} else if (wrkMissing) {
  console.log(
    "skipping the /track load test: install wrk (apt-get install wrk)",
  );
} else {
  await integration(
    `/track at overload from wrk for ${SECONDS} s: every request answered, RSS bounded, every 202 event in Kafka once`,
    [KAFKA],
    () => withDeadline(loadTest(), (SECONDS + CHECK_SECONDS_MAX) * 1000),
  );
}

async function loadTest(): Promise<void> {
  const log = new KafkaLog({ brokers: KAFKA_BROKERS, log_level: "error" });
  const topic = uniqueName("track-load");
  await log.createTopic(topic, 3);
  const app = await HttpApp.create({
    clock: new SystemClock(),
    track: {
      log,
      topic,
      events_in_flight_max: EVENTS_IN_FLIGHT_MAX,
      producer: {
        produces_in_flight_max: Number(
          Deno.env.get("TRACK_LOAD_CONCURRENCY") ?? "1",
        ),
      },
    },
  });
  const controller = new AbortController();
  const server = serveHttp(app, {
    port: 0,
    signal: controller.signal,
    on_listen: () => {},
  });
  const out = await Deno.makeTempDir({ prefix: "freshet-track-load-" });
  const rss_before = Deno.memoryUsage().rss;
  const rss: number[] = [];
  const sampler = setInterval(() => rss.push(Deno.memoryUsage().rss), 500);
  let stdout = "";
  try {
    const run = uniqueName("run");
    const wrk = await new Deno.Command("timeout", {
      args: [
        "--kill-after=5",
        String(SECONDS + WRK_GRACE_SECONDS),
        "wrk",
        "-t2",
        `-c${CONNECTIONS}`,
        `-d${SECONDS}s`,
        "--timeout",
        "30s",
        "-s",
        LUA.pathname,
        `http://127.0.0.1:${server.addr.port}/track`,
      ],
      env: {
        TRACK_RUN: run,
        TRACK_OUT_DIR: out,
        TRACK_EVENTS_PER_REQUEST: String(EVENTS_PER_REQUEST),
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    stdout = new TextDecoder().decode(wrk.stdout);
    assert.ok(wrk.success, new TextDecoder().decode(wrk.stderr) + stdout);
  } finally {
    clearInterval(sampler);
    controller.abort();
    await server.finished;
  }
  try {
    const line = stdout.split("\n").find((l) => l.startsWith("STATUSES "));
    assert.ok(line, `wrk printed no STATUSES line:\n${stdout}`);
    const result = JSON.parse(line.slice("STATUSES ".length)) as {
      statuses: Record<string, number>;
      requests: number;
      errors: Record<string, number>;
      latency_p50_us: number;
      latency_p99_us: number;
    };
    const acked = new Set<string>();
    for await (const entry of Deno.readDir(out)) {
      const text = await Deno.readTextFile(`${out}/${entry.name}`);
      for (const id of text.split("\n")) if (id !== "") acked.add(id);
    }
    const rss_max = Math.max(...rss);
    console.log(
      `track load: ${result.requests} requests in ${SECONDS} s, statuses ${
        JSON.stringify(result.statuses)
      }, p50 ${result.latency_p50_us / 1000} ms, p99 ${
        result.latency_p99_us / 1000
      } ms, ${acked.size * EVENTS_PER_REQUEST} events acknowledged (${
        Math.round(acked.size * EVENTS_PER_REQUEST / SECONDS)
      }/s), RSS before ${mib(rss_before)} MiB, max ${
        mib(rss_max)
      } MiB, max per third of the run ${
        [0, 1, 2].map((t) =>
          mib(
            Math.max(
              ...rss.slice(t * rss.length / 3, (t + 1) * rss.length / 3),
            ),
          )
        ).join("/")
      } MiB`,
    );
    for (const kind of ["connect", "read", "write", "timeout"]) {
      assert.equal(result.errors[kind], 0, `wrk ${kind} errors`);
    }
    for (const status of Object.keys(result.statuses)) {
      assert.ok(["202", "503"].includes(status), `unexpected status ${status}`);
    }
    assert.equal(acked.size, result.statuses["202"] ?? 0);
    assert.ok(acked.size > 0, "some requests were acknowledged");
    assert.ok(rss_max < RSS_MAX_BYTES, `RSS reached ${rss_max} bytes`);

    const records = await readAll(log, topic);
    const seen = new Map<string, number>();
    for (const record of records) {
      const seq = JSON.parse(record.value).seq as string;
      seen.set(seq, (seen.get(seq) ?? 0) + 1);
    }
    const twice = [...seen].filter(([, n]) => n > 1);
    assert.deepEqual(twice.slice(0, 5), [], `${twice.length} events twice`);
    let missing = 0;
    for (const id of acked) {
      for (let i = 1; i <= EVENTS_PER_REQUEST; i++) {
        if (!seen.has(`${id}-${i}`)) missing++;
      }
    }
    assert.equal(
      missing,
      0,
      `${missing} acknowledged events missing from Kafka`,
    );
    const extra = records.length - acked.size * EVENTS_PER_REQUEST;
    assert.ok(
      extra >= 0 && extra <= CONNECTIONS * EVENTS_PER_REQUEST,
      `${extra} events in Kafka beyond the acknowledged ones`,
    );
  } finally {
    await Deno.remove(out, { recursive: true });
    await log.close();
  }
}

/** `work`, or a failure once `ms` have passed without it settling. */
async function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(`the /track load test did not finish within ${ms} ms`),
        ),
      ms,
    );
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

function mib(bytes: number): number {
  return Math.round(bytes / 1048576);
}

async function readAll(log: KafkaLog, topic: string): Promise<LogRecord[]> {
  const ends = await log.endOffsets(topic);
  const records: LogRecord[] = [];
  for (let p = 0; p < ends.length; p++) {
    if ((ends[p] ?? 0) > 0) {
      // Not push(...): a partition may hold more records than arguments fit.
      for (const record of await log.read(topic, p, 0, ends[p] as number)) {
        records.push(record);
      }
    }
  }
  return records;
}
