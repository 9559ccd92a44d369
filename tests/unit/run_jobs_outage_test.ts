import assert from "node:assert/strict";
import { type JobEvent, runJobs } from "../../src/run/production.ts";
import { views } from "../../src/jobs/views/job.ts";
import type { Clock, KeyValue } from "../../src/ports.ts";
import { VirtualClock } from "../../sim/clock.ts";
import { KvTwin } from "../../sim/kv.ts";
import { LogTwin } from "../../sim/log.ts";
import { ObjectsTwin } from "../../sim/objects.ts";

const T0 = Date.UTC(2026, 2, 14, 6);

function world() {
  const vclock = new VirtualClock(T0);
  const clock: Clock = {
    now: () => vclock.now(),
    sleep: (ms) => Promise.resolve(vclock.advanceBy(Math.max(0, ms))),
  };
  return {
    clock,
    log: new LogTwin({ clock }),
    kv: new KvTwin({ clock }),
    objects: new ObjectsTwin(),
  };
}

class Unreachable extends Error {
  override name = "Unreachable";
}

/** A key-value store that is down for its next `n` fenced writes. */
function down(kv: KvTwin, n: number): KeyValue {
  let left = n;
  return new Proxy(kv, {
    get(target, property) {
      const value = Reflect.get(target, property);
      if (property !== "applyFenced") return value.bind(target);
      return (...args: Parameters<KeyValue["applyFenced"]>) => {
        if (left-- > 0) return Promise.reject(new Unreachable("ECONNREFUSED"));
        return target.applyFenced(...args);
      };
    },
  });
}

function view(videoId: string, i: number): string {
  return JSON.stringify({ videoId, timestamp: T0 + i });
}

Deno.test("runJobs outlasts an outage longer than its restart attempts, backing off, and counts exactly once", async () => {
  const w = world();
  const job = views.create({ options: { partitions: "1" } });
  await w.log.createTopic(job.topic, 1);
  await w.log.produce(
    job.topic,
    Array.from({ length: 10 }, (_, i) => ({ key: "v", value: view("v", i) })),
  );
  const events: JobEvent[] = [];
  const controller = new AbortController();
  await runJobs({
    jobs: [job],
    ...w,
    // 8 failed attempts per runner: 6 restarts' worth of outage.
    kv: down(w.kv, 8 * 6),
    checkpoint_interval_ms: 0,
    restart_attempts: 1,
    restart_delay_ms: 1_000,
    outage_delay_max_ms: 8_000,
    is_outage: (error) => error instanceof Unreachable,
    is_transient: () => true,
    signal: controller.signal,
    onEvent: (event) => {
      events.push(event);
      if (event.type === "runner" && event.event.type === "checkpoint") {
        controller.abort();
      }
    },
  });
  const restarts = events.filter((e) => e.type === "restarting") as Array<
    Extract<JobEvent, { type: "restarting" }>
  >;
  assert.deepEqual(
    restarts.map((e) => [e.delay_ms, e.outage]),
    [
      [1_000, true],
      [2_000, true],
      [4_000, true],
      [8_000, true],
      [8_000, true],
      [8_000, true],
    ],
  );
  assert.equal(await w.kv.get("video:view:count:v"), "10");
});

Deno.test("runJobs counts an outage's restarts apart from failures", async () => {
  const w = world();
  const job = views.create({ options: { partitions: "1" } });
  await w.log.createTopic(job.topic, 1);
  await w.log.produce(job.topic, [{ key: "v", value: view("v", 0) }]);
  await assert.rejects(
    runJobs({
      jobs: [job],
      ...w,
      kv: down(w.kv, 1_000),
      checkpoint_interval_ms: 0,
      restart_attempts: 2,
      restart_delay_ms: 1_000,
      is_outage: () => false,
    }),
    /failed 3 times \(restart_attempts 2\)/,
  );
});

Deno.test("runJobs stops within shutdown_timeout_ms while a write hangs, without its final checkpoint", async () => {
  const w = world();
  const job = views.create({ options: { partitions: "1" } });
  await w.log.createTopic(job.topic, 1);
  await w.log.produce(job.topic, [{ key: "v", value: view("v", 0) }]);
  const hanging: KeyValue = new Proxy(w.kv, {
    get(target, property) {
      const value = Reflect.get(target, property);
      if (property !== "applyFenced") return value.bind(target);
      return () => new Promise(() => {});
    },
  });
  const events: JobEvent[] = [];
  const controller = new AbortController();
  const started = performance.now();
  const running = runJobs({
    jobs: [job],
    ...w,
    kv: hanging,
    checkpoint_interval_ms: 0,
    shutdown_timeout_ms: 200,
    signal: controller.signal,
    onEvent: (event) => {
      events.push(event);
      if (event.type === "runner" && event.event.type === "assigned") {
        setTimeout(() => controller.abort(), 50);
      }
    },
  });
  await running;
  const waited_ms = performance.now() - started;
  assert.ok(waited_ms < 2_000, `stopped after ${waited_ms} ms`);
  assert.deepEqual(events.at(-1), {
    type: "stopped",
    job: "views",
    abandoned: true,
  });
  assert.equal(await w.kv.get("video:view:count:v"), null);
});
