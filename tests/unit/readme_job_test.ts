/**
 * The README's custom job, as a user would run it: the code block in the
 * README is the file `examples/clicks_per_minute.ts` (this test keeps them
 * equal), it runs in the simulator with faults and leaves the fault-free
 * outputs, which match counts taken straight from its input file, and a
 * window closes during the input's quiet spell through the idle advance.
 */

import assert from "node:assert/strict";
import { parseFixture } from "../../src/core/fixture.ts";
import { formatIso, parseEventTime } from "../../src/core/time.ts";
import { isJobSpec } from "../../src/flow/define.ts";
import { compareOutputs } from "../../sim/checker.ts";
import { canonicalOutputs } from "../../sim/outputs.ts";
import { FAULT_KINDS, simulate, swarmFaults } from "../../sim/simulator.ts";

const ROOT = new URL("../../", import.meta.url);
const EXAMPLE = "examples/clicks_per_minute.ts";

/** The first TypeScript block of the README after "## Your own job". */
async function readmeBlock(): Promise<string> {
  const readme = await Deno.readTextFile(new URL("README.md", ROOT));
  const section = readme.slice(readme.indexOf("## Your own job"));
  const match = /```ts\n([\s\S]*?)```/.exec(section);
  assert.ok(match !== null, "README has a ```ts block under '## Your own job'");
  return match[1]!;
}

Deno.test("the README's custom job is examples/clicks_per_minute.ts, import path aside", async () => {
  const block = await readmeBlock();
  const file = await Deno.readTextFile(new URL(EXAMPLE, ROOT));
  assert.equal(
    block.replace('from "./mod.ts"', 'from "../mod.ts"'),
    file,
    `the README block and ${EXAMPLE} differ`,
  );
  const lines = block.trim().split("\n").length;
  assert.ok(lines <= 30, `the README job takes ${lines} lines`);
});

const spec = (await import(new URL(EXAMPLE, ROOT).href)).default;
const fixture = parseFixture(
  await Deno.readTextFile(new URL("examples/clicks.jsonl", ROOT)),
);

Deno.test("the README's job counts each user's clicks per minute, as counted from its input", async () => {
  assert.ok(isJobSpec(spec));
  const job = spec.create();
  const result = await simulate({ job, fixture, seed: 1 });
  const expected = new Map<string, Map<string, number>>();
  let valid = 0;
  for (const { value } of fixture) {
    let click: { user?: unknown; ts?: unknown };
    try {
      click = JSON.parse(value);
    } catch {
      continue;
    }
    const ts = parseEventTime(click.ts);
    if (
      typeof click.user !== "string" || click.user === "" || ts === undefined
    ) {
      continue;
    }
    valid++;
    const minute = formatIso(ts - (ts % 60_000));
    const user = expected.get(click.user) ?? new Map<string, number>();
    user.set(minute, (user.get(minute) ?? 0) + 1);
    expected.set(click.user, user);
  }
  for (const [user, minutes] of expected) {
    const stored = await result.kv.hgetall(`clicks:${user}`);
    assert.deepEqual(
      stored,
      Object.fromEntries([...minutes].map(([m, n]) => [m, String(n)])),
      user,
    );
  }
  assert.equal(result.counts.out + result.counts.late, valid);
  assert.equal(result.counts.dead_lettered, fixture.length - valid);
});

Deno.test("the README's job leaves the fault-free outputs under faults chosen by many seeds", async () => {
  const base = { job: spec.create(), fixture, checkpoint_interval_ms: 5_000 };
  const expected = await canonicalOutputs(
    await simulate({ ...base, seed: 1 }),
    ["clicks"],
  );
  for (let seed = 1; seed <= 40; seed++) {
    const rates = swarmFaults(seed);
    const result = await simulate({
      ...base,
      seed,
      faults: FAULT_KINDS.filter((kind) => rates[kind] !== undefined),
      fault_rates: rates,
      instances: 1 + seed % 2,
    });
    assert.deepEqual(
      compareOutputs(expected, await canonicalOutputs(result, ["clicks"])),
      [],
      `seed ${seed}: deno task sim --job-file ${EXAMPLE} --fixture examples/clicks.jsonl --seed ${seed} --faults ${
        Object.keys(rates).join(",")
      } --instances ${1 + seed % 2} --checkpoint-interval-ms 5000`,
    );
  }
});

Deno.test("the README's job closes windows during its input's quiet spell through the idle advance", async () => {
  const ticks: number[] = [];
  await simulate({
    job: spec.create(),
    fixture,
    seed: 1,
    onEvent: (_, event) => {
      if (event.type === "tick") ticks.push(event.now_ms);
    },
  });
  // The input is quiet from 09:10 to about 09:14 (event and arrival time).
  const quiet_from = Date.UTC(2026, 0, 5, 9, 10);
  const quiet_to = Date.UTC(2026, 0, 5, 9, 14);
  assert.ok(
    ticks.some((t) => t > quiet_from && t < quiet_to),
    `processing-time steps at ${ticks.map((t) => formatIso(t)).join(", ")}`,
  );
});
