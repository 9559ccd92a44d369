import assert from "node:assert/strict";
import {
  type JobEvent,
  JobFailedError,
  runJobs,
} from "../../src/run/production.ts";
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

/**
 * A key-value store whose next `n` fenced writes fail (the runner retries a
 * write 8 times before it gives up and fails).
 */
function failing(kv: KvTwin, n: number): KeyValue {
  let left = n;
  return new Proxy(kv, {
    get(target, property) {
      const value = Reflect.get(target, property);
      if (property !== "applyFenced") return value.bind(target);
      return (...args: Parameters<KeyValue["applyFenced"]>) => {
        if (left-- > 0) return Promise.reject(new Error("disk full"));
        return target.applyFenced(...args);
      };
    },
  });
}

function view(videoId: string, i: number): string {
  return JSON.stringify({ videoId, timestamp: T0 + i });
}

Deno.test("runJobs restarts a failed job from its checkpoints after a delay, then counts exactly once", async () => {
  const w = world();
  const job = views.create({ options: { partitions: "1" } });
  await w.log.createTopic(job.topic, 1);
  await w.log.produce(
    job.topic,
    Array.from({ length: 10 }, (_, i) => ({ key: "v", value: view("v", i) })),
  );
  const events: JobEvent[] = [];
  const controller = new AbortController();
  const started = w.clock.now();
  const running = runJobs({
    jobs: [job],
    ...w,
    kv: failing(w.kv, 16),
    checkpoint_interval_ms: 0,
    restart_attempts: 3,
    restart_delay_ms: 5_000,
    signal: controller.signal,
    onEvent: (event) => {
      events.push(event);
      // Stop once the counts are in.
      if (event.type === "runner" && event.event.type === "checkpoint") {
        controller.abort();
      }
    },
  });
  await running;
  assert.deepEqual(
    events.filter((e) => e.type === "restarting").map((e) =>
      (e as { restart: number }).restart
    ),
    [1, 2],
  );
  assert.ok(w.clock.now() - started >= 10_000, "waited before each restart");
  assert.equal(await w.kv.get("video:view:count:v"), "10");
});

Deno.test("runJobs fails with the cause once a job fails more often than its restart attempts", async () => {
  const w = world();
  const job = views.create({ options: { partitions: "1" } });
  await w.log.createTopic(job.topic, 1);
  await w.log.produce(job.topic, [{ key: "v", value: view("v", 0) }]);
  const events: JobEvent[] = [];
  await assert.rejects(
    runJobs({
      jobs: [job],
      ...w,
      kv: failing(w.kv, 100),
      checkpoint_interval_ms: 0,
      restart_attempts: 2,
      restart_delay_ms: 1_000,
      onEvent: (event) => events.push(event),
    }),
    (error: unknown) => {
      assert.ok(error instanceof JobFailedError);
      assert.match(
        error.message,
        /job 'views' running as it failed 3 times \(restart_attempts 2\); last failure: disk full/,
      );
      return true;
    },
  );
  assert.equal(events.filter((e) => e.type === "restarting").length, 2);
  assert.equal(events.filter((e) => e.type === "failed").length, 1);
});
