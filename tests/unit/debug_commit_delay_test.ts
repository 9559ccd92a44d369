import assert from "node:assert/strict";
import {
  commitDelayFromEnv,
  withCommitDelay,
} from "../../src/cli/debug_commit_delay.ts";
import { VirtualClock } from "../../sim/clock.ts";
import { LogTwin } from "../../sim/log.ts";

function env(value: string | undefined) {
  return { get: () => value };
}

Deno.test("commitDelayFromEnv() reads whole milliseconds, 0 when unset, and refuses anything else", () => {
  assert.equal(commitDelayFromEnv(env(undefined)), 0);
  assert.equal(commitDelayFromEnv(env("")), 0);
  assert.equal(commitDelayFromEnv(env("1500")), 1500);
  for (const bad of ["-1", "1.5", "soon"]) {
    assert.throws(
      () => commitDelayFromEnv(env(bad)),
      new RegExp(
        `'FRESHET_DEBUG_COMMIT_DELAY_MS' must be a whole number of milliseconds >= 0: current value is '${bad}'`,
      ),
    );
  }
});

Deno.test("withCommitDelay() holds a transaction with offsets between sendOffsets and commit, its outputs and offsets not yet visible", async () => {
  const twin = new LogTwin({ clock: new VirtualClock(0) });
  await twin.createTopic("out", 1);
  await twin.createTopic("in", 1);
  const seen: string[] = [];
  const log = withCommitDelay(twin, {
    delay_ms: 250,
    onDelay: (id) => seen.push(`delay ${id}`),
    sleep: async (ms) => {
      // Inside the window: nothing committed yet.
      const visible = twin.dump().topics.find((t) => t.topic === "out")!
        .partitions[0]!.length;
      const committed = await twin.committedOffsets("g", "in");
      seen.push(
        `sleep ${ms}: ${visible} visible, offset ${committed[0]!.offset}`,
      );
    },
  });
  const producer = await log.transactionalProducer("t-0");
  const txn = await producer.begin();
  await txn.produce("out", [{ key: "k", value: "v" }]);
  await txn.sendOffsets("g", [{
    topic: "in",
    partition: 0,
    offset: 7,
    metadata: "m",
  }]);
  await txn.commit();
  assert.deepEqual(seen, ["delay t-0", "sleep 250: 0 visible, offset -1"]);
  assert.equal((await twin.committedOffsets("g", "in"))[0]!.offset, 7);
  // Without offsets, no wait.
  const plain = await producer.begin();
  await plain.produce("out", [{ key: "k", value: "w" }]);
  await plain.commit();
  assert.equal(seen.length, 2);
  assert.equal(
    twin.dump().topics.find((t) => t.topic === "out")!.partitions[0]!.length,
    2,
  );
  // Other calls go to the log itself.
  assert.equal(await log.partitionCount("out"), 1);
});
