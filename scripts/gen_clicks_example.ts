/**
 * Writes `examples/clicks.jsonl`, the input of the README's custom job
 * (`examples/clicks_per_minute.ts`): raw click payloads over 20 minutes of
 * event time from a few users, with a quiet spell, clicks out of order and
 * a few bad lines. A pure function of the seed.
 *
 * Usage: `deno run --allow-write scripts/gen_clicks_example.ts [--seed N] [--out FILE]`
 *
 * @module
 */

import { intFlag, parseArgs } from "../src/cli/args.ts";
import { Rng } from "../sim/random.ts";

const parsed = parseArgs(Deno.args, {
  values: {
    seed: "seed (default: 7)",
    out: "file (default: examples/clicks.jsonl)",
  },
  booleans: { help: "print this help" },
});
if (parsed.booleans.has("help")) {
  console.log(
    "deno run --allow-write scripts/gen_clicks_example.ts [--seed N] [--out FILE]",
  );
  Deno.exit(0);
}
const rng = new Rng(intFlag(parsed, "seed", 7));
const out = parsed.values.get("out") ?? "examples/clicks.jsonl";
const users = ["ada", "grace", "alan", "barbara", "edsger"];
const start = Date.UTC(2026, 0, 5, 9, 0, 0);
const lines: string[] = [];
let t = start;
while (t < start + 20 * 60_000) {
  // A quiet spell of four minutes after the tenth minute.
  t += t >= start + 10 * 60_000 && t < start + 14 * 60_000
    ? 240_000
    : 200 + rng.int(3_000);
  const skew = rng.chance(0.05) ? rng.int(4_000) : 0;
  const ts = new Date(t - skew).toISOString();
  const user = rng.pick(users);
  lines.push(
    rng.chance(0.01)
      ? rng.pick(["not json", `{"user":"","ts":"${ts}"}`, `{"user":"${user}"}`])
      : JSON.stringify({ user, ts, page: `/p/${rng.int(20)}` }),
  );
}
await Deno.writeTextFile(out, `${lines.join("\n")}\n`);
console.log(`wrote ${lines.length} lines to ${out}`);
