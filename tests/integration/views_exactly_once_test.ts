/**
 * The `views` job is exactly-once in production: `main.ts run --prod` is
 * SIGKILLed at seeded random moments while `main.ts produce` feeds Kafka, and
 * restarted each time; what it leaves in Redis equals what the fixture alone
 * says (all-time counts, `top_videos`) and what the simulator computes (hour
 * and day leaderboards), and every malformed record is in the dead-letter
 * topic with its reason.
 *
 * Needs `bash scripts/services.sh up` (skipped without it outside CI).
 */

import assert from "node:assert/strict";
import { Rng } from "../../sim/random.ts";
import {
  assertExactViews,
  type Child,
  expectedViews,
  fixtureSlice,
  mapDiff,
  simulateViews,
  waitUntil,
  World,
} from "./harness.ts";
import { integration, KAFKA, REDIS, S3 } from "./services.ts";

/** Lines of the recorded fixture to replay: all of it (201,000). */
const SLICE_LINES = Number.MAX_SAFE_INTEGER;
/** Production rate: the producer runs while most kills happen (~100 s). */
const RATE_PER_S = 2_000;
const KILLS = 12;
const SEED = 20260314;

interface Kill {
  instance: string;
  /** Killed while starting or joining (`early`), or after taking partitions. */
  mode: "early" | "owning";
  after_ms: number;
  partitions: number[];
  /** Valid views in Redis when the kill was decided, and when it struck. */
  counted_before: number;
  counted_at_kill: number;
}

/**
 * How long an owning instance may take to write its first batch before it is
 * killed anyway (a loaded machine restores and writes slowly; the kill must
 * strike while it writes, not before).
 */
const PROGRESS_TIMEOUT_MS = 60_000;

/** Runs named checks; a failure names the check and shows its evidence. */
function check(name: string, ok: boolean, evidence: () => string): void {
  if (!ok) {
    throw new assert.AssertionError({
      message: `check '${name}' failed: ${evidence()}`,
    });
  }
}

await integration(
  "the views job counts every view exactly once in production however often it is SIGKILLed",
  [KAFKA, REDIS, S3],
  async () => {
    const started = Date.now();
    const text = await fixtureSlice(SLICE_LINES);
    const expected = expectedViews(text);
    const simulated = await simulateViews(text);
    assert.ok(
      expected.malformed.length > 0,
      "the slice must hold malformed records",
    );
    const fixture = await Deno.makeTempFile({ suffix: ".jsonl" });
    await Deno.writeTextFile(fixture, text);
    const world = new World("it-views-crash", { partitions: 4 });
    const rng = new Rng(SEED);
    const kills: Kill[] = [];
    try {
      await world.createTopic();
      const producer = world.startProducer(fixture, RATE_PER_S);

      for (let i = 1; i <= KILLS; i++) {
        const instance = world.startInstance(`instance ${i}`);
        const mode = rng.chance(0.25) ? "early" : "owning";
        let counted_before: number;
        if (mode === "early") {
          counted_before = await world.countedViews();
          await sleepOrExit(instance, 300 + rng.int(3_700));
        } else {
          // A restarted instance waits for the dead one's session to expire.
          await instance.waitForEvent(
            (e) => e.type === "assigned",
            30_000,
            "an assigned partition",
          );
          counted_before = await world.countedViews();
          // Kill only after this instance was seen writing (unless the input
          // is all counted): a loaded machine may take seconds to restore.
          await waitUntil(
            async () =>
              instance.exited ||
              (await world.countedViews()) > counted_before ||
              counted_before >= expected.valid,
            { timeout_ms: PROGRESS_TIMEOUT_MS, interval_ms: 100 },
          );
          await sleepOrExit(instance, rng.int(2_000));
        }
        check(
          "every instance runs until it is killed",
          !instance.exited,
          () =>
            `${instance.name} exited on its own; stderr:\n${instance.stderrTail()}`,
        );
        const counted_at_kill = await world.countedViews();
        instance.kill("SIGKILL");
        await instance.status;
        kills.push({
          instance: instance.name,
          mode,
          after_ms: Date.now() - instance.started_ms,
          partitions: [
            ...new Set(
              instance.runnerEvents("assigned").map((e) => e.partition!),
            ),
          ],
          counted_before,
          counted_at_kill,
        });
      }

      const last = world.startInstance("last instance");
      const produced = await producer.status;
      check(
        "the producer succeeds",
        produced.success,
        () => `stderr:\n${producer.stderrTail()}`,
      );
      const counted = await world.settle(expected.valid, {
        timeout_ms: 90_000,
        stable_ms: 3_000,
      });
      const stop = await last.stop("SIGTERM", 20_000);
      check(
        "the last instance stops cleanly on SIGTERM",
        stop.graceful && stop.status.success,
        () => `code ${stop.status.code}; stderr:\n${last.stderrTail()}`,
      );

      // The risky case: Redis already holds writes past the checkpoint, so
      // records are replayed for state with their writes discarded.
      const ahead = world.children.flatMap((c) => c.runnerEvents("assigned"))
        .filter((e) =>
          e.restored === true &&
          (e.muted_through as number) >= (e.position as number)
        );
      console.log(
        `crash test: ${kills.length} kills (${
          kills.filter((k) => k.mode === "owning").length
        } while owning partitions), ${ahead.length} restores with Redis ahead of the checkpoint, ${expected.valid} valid views, ${expected.malformed.length} malformed; counted ${
          kills.map((k) => k.counted_at_kill).join(", ")
        } at the kills`,
      );
      const state = await world.readState();
      assertExactViews(state, counted, expected, simulated);

      const dead = await world.readSide("dead-letter");
      const expectedDead = new Map(
        expected.malformed.map((m) => [`${m.partition}:${m.value}`, m.reason]),
      );
      const actualDead = new Map(
        [...dead.records.values()].map((
          r,
        ) => [`${r.source.partition}:${r.value}`, r.reason]),
      );
      assert.equal(
        dead.records.size,
        expected.malformed.length,
        "the dead-letter topic must hold each malformed record once (after dropping repeats by key)",
      );
      assert.deepEqual(
        mapDiff(expectedDead, actualDead),
        [],
        "every malformed record must be dead-lettered with parseView's reason",
      );
      for (const [key, record] of dead.records) {
        assert.equal(
          key,
          `${world.topic}:${record.source.partition}:${record.source.offset}`,
          "a dead letter must be keyed by its source position",
        );
      }
      const late = await world.readSide("late");
      assert.equal(
        late.records.size,
        simulated.counts.late,
        "the late topic must hold as many distinct records as the simulator counts late",
      );
      // The faults must have struck where exactly-once is at stake (checked
      // after the outputs, so that a wrong output is what a failure shows).
      const killTable = () =>
        `kills (mode, ms after start, partitions, counted when decided -> at the kill):\n${
          kills.map((k) =>
            `  ${k.instance}: ${k.mode}, ${k.after_ms} ms, [${k.partitions}], ${k.counted_before} -> ${k.counted_at_kill}`
          ).join("\n")
        }`;
      check(
        "some restart finds Redis ahead of its checkpoint",
        ahead.length > 0,
        () =>
          `no restore had a fence past its checkpoint (${
            world.children.flatMap((c) => c.runnerEvents("assigned")).length
          } assignments)`,
      );
      const writing = kills.filter((k) => k.counted_at_kill > k.counted_before);
      check(
        "kills strike instances while they write",
        writing.length >= KILLS / 3,
        () =>
          `${writing.length} of ${KILLS} kills struck while Redis counts grew (at least ${
            Math.ceil(KILLS / 3)
          } wanted)\n${killTable()}`,
      );
      check(
        "some kills strike with most of the input still to come",
        kills.some((k) => k.counted_at_kill < expected.valid / 2),
        killTable,
      );
      check(
        "the last instance restores partitions from checkpoints",
        last.runnerEvents("assigned").some((e) => e.restored === true),
        () => JSON.stringify(last.runnerEvents("assigned")),
      );
      console.log(
        `crash test: dead letters ${dead.records.size} (+${dead.repeats} repeats), late ${late.records.size} (+${late.repeats} repeats); wall time ${
          ((Date.now() - started) / 1000).toFixed(1)
        } s`,
      );
    } finally {
      const problems = await world.cleanup();
      await Deno.remove(fixture).catch(() => {});
      if (problems.length > 0) {
        console.warn(`crash test clean-up: ${problems.join("; ")}`);
      }
    }
  },
);

/** Sleeps `ms`, or less when the child exits meanwhile. */
async function sleepOrExit(child: Child, ms: number): Promise<void> {
  await waitUntil(() => child.exited, { timeout_ms: ms, interval_ms: 25 });
}
