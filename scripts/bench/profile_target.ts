/**
 * What `profile.ts` runs under `--cpu-prof`: one benchmark candidate, alone
 * in its process, so the profile holds nothing else.
 *
 * Usage: `deno run -A --cpu-prof scripts/bench/profile_target.ts --target sim [--runs N]`
 * or `... --target consume|eo --topic TOPIC --expected N` (the topic filled
 * already).
 *
 * @module
 */

import { intFlag, parseArgs } from "../../src/cli/args.ts";
import { consumeFreshet } from "./consume.ts";
import { runViews } from "./exactly_once.ts";
import { readFixtureText } from "./fixture.ts";
import { deleteGroups } from "./services.ts";
import { candidatePass } from "./sim.ts";

const parsed = parseArgs(Deno.args, {
  values: {
    target: "sim, consume or eo",
    topic: "filled input topic (consume, eo)",
    expected: "records to read (consume, eo)",
    runs: "candidate runs (default: 2)",
  },
  booleans: {},
});
const runs = intFlag(parsed, "runs", 2);
switch (parsed.values.get("target")) {
  case "sim": {
    const text = await readFixtureText(new URL("../../", import.meta.url));
    for (let i = 0; i < runs; i++) await candidatePass(text);
    break;
  }
  case "consume":
  case "eo": {
    const target = parsed.values.get("target");
    const topic = parsed.values.get("topic");
    const expected = intFlag(parsed, "expected", 0);
    if (topic === undefined || expected <= 0) {
      throw new Error(`--target ${target} needs --topic and --expected`);
    }
    try {
      for (let i = 0; i < runs; i++) {
        if (target === "consume") await consumeFreshet(topic, expected);
        else await runViews(topic, { stop: (handled) => handled >= expected });
      }
    } finally {
      await deleteGroups();
    }
    break;
  }
  default:
    throw new Error(
      `Cannot profile as '--target' must be sim, consume or eo: current value is ${
        parsed.values.get("target")
      }`,
    );
}
