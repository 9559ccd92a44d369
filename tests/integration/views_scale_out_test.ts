/**
 * The `views` job scales out: two `main.ts run --prod` instances in one
 * consumer group share a 6-partition topic; one is SIGKILLed mid-stream; the
 * survivor takes its partitions after the session timeout, restores them from
 * the checkpoints in S3 and seeks; the final Redis state is exact.
 *
 * Needs `bash scripts/services.sh up` (skipped without it outside CI).
 */

import assert from "node:assert/strict";
import {
  assertExactViews,
  expectedViews,
  fixtureSlice,
  repartition,
  simulateViews,
  waitUntil,
  World,
} from "./harness.ts";
import { integration, KAFKA, REDIS, S3 } from "./services.ts";

const PARTITIONS = 6;
const SLICE_LINES = 30_000;
/** The producer runs about 25 s: the kill lands mid-stream. */
const RATE_PER_S = 1_200;
const SESSION_TIMEOUT_MS = 6_000;

await integration(
  "two views instances share the partitions and the survivor of a SIGKILL finishes them exactly once",
  [KAFKA, REDIS, S3],
  async () => {
    const started = Date.now();
    // Recorded partitions over 6, so that `produce` and the simulator agree.
    const text = repartition(await fixtureSlice(SLICE_LINES), PARTITIONS);
    const expected = expectedViews(text);
    const simulated = await simulateViews(text);
    const fixture = await Deno.makeTempFile({ suffix: ".jsonl" });
    await Deno.writeTextFile(fixture, text);
    const world = new World("it-views-scale", {
      partitions: PARTITIONS,
      session_timeout_ms: SESSION_TIMEOUT_MS,
    });
    try {
      await world.createTopic();
      const producer = world.startProducer(fixture, RATE_PER_S);
      const a = world.startInstance("instance A");
      await a.waitForEvent(
        (e) => e.type === "assigned",
        30_000,
        "an assigned partition",
      );
      const b = world.startInstance("instance B");
      await b.waitForEvent(
        (e) => e.type === "assigned",
        30_000,
        "an assigned partition",
      );

      // Each owns what it was assigned last and did not lose since, with the
      // epoch it claimed and the fence offset it found.
      const owned = (events: typeof a.events) => {
        const set = new Map<number, { epoch: number; claimed: number }>();
        for (const e of events) {
          if (e.type === "assigned") {
            set.set(e.partition!, {
              epoch: e.epoch!,
              claimed: e.muted_through as number,
            });
          }
          if (e.type === "revoked") set.delete(e.partition!);
        }
        return set;
      };
      // Both must have written to Redis: the fence of a partition holds the
      // epoch of its writer and the last offset written, which moves past the
      // offset found when the fence was claimed only by a write.
      const wrote = async (events: typeof a.events) => {
        const fences = await world.fences();
        return [...owned(events)].filter(([p, { epoch, claimed }]) => {
          const fence = fences.get(p);
          return fence !== undefined && fence.epoch === epoch &&
            fence.offset > claimed;
        }).map(([p]) => p);
      };
      let a_wrote: number[] = [];
      let b_wrote: number[] = [];
      const both = await waitUntil(async () => {
        a_wrote = await wrote(a.events);
        b_wrote = await wrote(b.events);
        return owned(a.events).size + owned(b.events).size === PARTITIONS &&
          a_wrote.length > 0 && b_wrote.length > 0;
      }, { timeout_ms: 30_000, interval_ms: 200 });
      assert.ok(
        both,
        `both instances must own partitions and write before the kill: A owns ${[
          ...owned(a.events).keys(),
        ]}, B owns ${[...owned(b.events).keys()]}, fences ${
          JSON.stringify([...await world.fences()])
        }`,
      );
      const a_owned = [...owned(a.events).keys()].sort();
      const b_owned = [...owned(b.events).keys()].sort();
      assert.equal(
        a_owned.length + b_owned.length,
        PARTITIONS,
        `the two instances must split the ${PARTITIONS} partitions: A ${a_owned}, B ${b_owned}`,
      );
      // Let A write a little more, then kill it mid-stream.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const counted_at_kill = await world.countedViews();
      assert.ok(
        !producer.exited,
        "the producer must still run at the kill (mid-stream)",
      );
      a.kill("SIGKILL");
      await a.status;
      const killed_ms = Date.now();

      // The survivor takes A's partitions, restored from S3, at a position.
      const taken = await waitUntil(
        () =>
          a_owned.every((p) =>
            b.events.some((e) =>
              e.type === "assigned" && e.partition === p &&
              e.at_ms + b.started_ms > killed_ms
            )
          ),
        { timeout_ms: SESSION_TIMEOUT_MS + 30_000, interval_ms: 100 },
      );
      assert.ok(
        taken,
        `instance B must take A's partitions ${a_owned}; B reported ${
          JSON.stringify(b.runnerEvents("assigned"))
        }; stderr:\n${b.stderrTail()}`,
      );
      const takeover = b.runnerEvents("assigned").filter((e) =>
        a_owned.includes(e.partition!) && e.at_ms + b.started_ms > killed_ms
      );
      const takeover_s = (Math.min(...takeover.map((e) => e.at_ms)) +
        b.started_ms - killed_ms) / 1000;
      for (const e of takeover) {
        assert.equal(
          e.restored,
          true,
          `partition ${e.partition} must be restored from A's checkpoint`,
        );
        assert.ok(
          (e.position as number) > 0,
          `partition ${e.partition} must resume past offset 0: position ${e.position}`,
        );
      }

      const produced = await producer.status;
      assert.ok(
        produced.success,
        `the producer must succeed; stderr:\n${producer.stderrTail()}`,
      );
      const counted = await world.settle(expected.valid, {
        timeout_ms: 60_000,
        stable_ms: 3_000,
      });
      const stop = await b.stop("SIGTERM", 20_000);
      assert.ok(
        stop.graceful && stop.status.success,
        `instance B must stop cleanly on SIGTERM (code ${stop.status.code}); stderr:\n${b.stderrTail()}`,
      );

      const state = await world.readState();
      assertExactViews(state, counted, expected, simulated);
      const dead = await world.readSide("dead-letter");
      assert.deepEqual(
        [...dead.records.values()].map((r) => r.reason).sort(),
        expected.malformed.map((m) => m.reason).sort(),
        "every malformed record must be dead-lettered once, with its reason",
      );
      console.log(
        `scale-out test: A owned ${a_owned} (wrote ${a_wrote}), B owned ${b_owned} (wrote ${b_wrote}); killed A at ${counted_at_kill} of ${expected.valid} views; B took over after ${
          takeover_s.toFixed(1)
        } s at positions ${
          takeover.map((e) =>
            `${e.partition}@${e.position} (Redis through ${e.muted_through})`
          ).join(", ")
        }; wall time ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
    } finally {
      const problems = await world.cleanup();
      await Deno.remove(fixture).catch(() => {});
      if (problems.length > 0) {
        console.warn(`scale-out test clean-up: ${problems.join("; ")}`);
      }
    }
  },
);
