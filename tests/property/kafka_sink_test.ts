/**
 * The Kafka transactional sink under faults: a job that copies its input to
 * a topic through it leaves every record exactly once whatever crashes,
 * redeliveries and failing transaction calls happen, and the checker
 * catches a deliberately broken variant that commits outputs and offsets in
 * two transactions.
 */

import assert from "node:assert/strict";
import { defineJob } from "../../src/flow/define.ts";
import { jsonEvents } from "../../src/flow/json.ts";
import { kafkaSink } from "../../src/sinks/kafka.ts";
import { compareOutputs } from "../../sim/checker.ts";
import { canonicalOutputs } from "../../sim/outputs.ts";
import { FAULT_KINDS, simulate } from "../../sim/simulator.ts";
import type { FixtureMessage } from "../../src/core/fixture.ts";

function copyJob(broken_commit: boolean) {
  return defineJob({
    name: "copy",
    build(flow) {
      const kafka = kafkaSink({ topics: ["copied"], broken_commit });
      flow.source("in", {
        parse: jsonEvents({ key: "k", time: "t" }),
        out_of_orderness_ms: 0,
        partitions: 2,
      }).to(
        kafka,
        (e, out) => out.send("copied", e.k as string, JSON.stringify(e)),
      );
    },
  }).create();
}

const T0 = Date.UTC(2026, 0, 5, 9);
const FIXTURE: FixtureMessage[] = Array.from({ length: 2_000 }, (_, i) => ({
  line: i + 1,
  partition: i % 2,
  key: `k${i % 7}`,
  value: JSON.stringify({ k: `k${i % 7}`, t: T0 + i * 500, i }),
  timestamp: T0 + i * 500,
}));

Deno.test("the Kafka sink writes every record once under every fault", async () => {
  const base = {
    job: copyJob(false),
    fixture: FIXTURE,
    checkpoint_interval_ms: 20_000,
  };
  const expected = await canonicalOutputs(
    await simulate({ ...base, seed: 1 }),
    [],
  );
  assert.equal(
    expected.topics.find((t) => t.topic === "copied")?.messages.length,
    2_000,
  );
  let crashed = 0;
  for (let seed = 1; seed <= 25; seed++) {
    const result = await simulate({
      ...base,
      seed,
      faults: FAULT_KINDS,
      instances: 1 + seed % 2,
    });
    if (result.injected.crashes > 0) crashed++;
    assert.deepEqual(
      compareOutputs(expected, await canonicalOutputs(result, [])),
      [],
      `seed ${seed}`,
    );
  }
  assert.ok(crashed > 10, `only ${crashed} runs crashed`);
});

Deno.test("the checker catches a Kafka sink that commits outputs apart from their offsets", async () => {
  const base = {
    job: copyJob(true),
    fixture: FIXTURE,
    checkpoint_interval_ms: 20_000,
  };
  const expected = await canonicalOutputs(
    await simulate({ ...base, seed: 1 }),
    [],
  );
  const seeds = 16;
  let caught = 0;
  for (let seed = 1; seed <= seeds; seed++) {
    const broken = await simulate({
      ...base,
      seed,
      faults: ["crash"],
      expected_crashes: 12,
    });
    if (
      compareOutputs(expected, await canonicalOutputs(broken, [])).length > 0
    ) {
      caught++;
    }
  }
  assert.ok(
    caught > seeds / 2,
    `caught the broken sink in ${caught} of ${seeds} runs`,
  );
});
