/**
 * Replays the whole views fixture and compares the outputs with the golden
 * files in `fixtures/views/golden/`. When a change of the job is meant to
 * change them, regenerate them with
 * `deno run --allow-read --allow-write scripts/update_golden.ts` and justify
 * the change in the commit (see fixtures/views/golden/README.md).
 */

import assert from "node:assert/strict";
import { FAULT_KINDS } from "../../sim/simulator.ts";
import {
  type Golden,
  GOLDEN_PATHS,
  goldenFiles,
  viewsGolden,
  type ViewsSummary,
} from "../../scripts/update_golden.ts";

const ROOT = new URL("../../", import.meta.url);
const UPDATE =
  "If the change is intended, run `deno run --allow-read --allow-write scripts/update_golden.ts` and say why in the commit.";

let cleanRun: Promise<Golden> | undefined;
/** The fault-free replay, shared by the tests of this file. */
function clean(): Promise<Golden> {
  cleanRun ??= viewsGolden();
  return cleanRun;
}

async function golden(path: string): Promise<string> {
  return await Deno.readTextFile(new URL(path, ROOT));
}

Deno.test("a replay of the views fixture (seed 1, no faults) gives the golden summary", async () => {
  const expected = JSON.parse(
    await golden(GOLDEN_PATHS.summary),
  ) as ViewsSummary;
  const { summary } = await clean();
  // Field by field, so that a failure names what changed.
  for (const field of Object.keys(expected) as Array<keyof ViewsSummary>) {
    assert.deepEqual(
      summary[field],
      expected[field],
      `'${field}' differs from ${GOLDEN_PATHS.summary}. ${UPDATE}`,
    );
  }
  assert.deepEqual(Object.keys(summary), Object.keys(expected));
  assert.equal(
    goldenFiles(await clean()).summary,
    await golden(GOLDEN_PATHS.summary),
  );
});

Deno.test("a replay of the views fixture (seed 1, no faults) gives the golden digest", async () => {
  const { digest } = await clean();
  assert.equal(
    `${digest}\n`,
    await golden(GOLDEN_PATHS.digest),
    `The canonical outputs changed (the summary test names what a person sees). ${UPDATE}`,
  );
});

Deno.test("a replay of the views fixture with every fault (seed 1) gives the golden digest", async () => {
  const faulty = await viewsGolden({ faults: FAULT_KINDS });
  assert.equal(
    `${faulty.digest}\n`,
    await golden(GOLDEN_PATHS.digest),
    "Faults changed the outputs: exactly-once is broken. Reproduce with `deno task sim --job views --seed 1 --faults all`.",
  );
});

Deno.test("the golden replay agrees with the facts the fixture generator printed", async () => {
  // From fixtures/views/README.md, computed by the generator, not by the job.
  const { summary } = await clean();
  const { counts } = summary;
  assert.equal(counts.in, 201_000);
  assert.equal(counts.dead_lettered, 71, "bad records");
  assert.equal(counts.out + counts.late, 200_929, "valid records");
  assert.equal(counts.late, 431, "late beyond 5 min allowed lateness");
  assert.equal(counts.filtered, 0);
  assert.equal(
    summary.keys_by_prefix["video:view:count:<videoId>"],
    14_243,
    "distinct videos in valid records",
  );
  assert.deepEqual(summary.top_videos.slice(0, 5), [
    "vid-02155 29330",
    "vid-04828 13632",
    "vid-10539 8677",
    "vid-15825 6430",
    "vid-04199 5002",
  ]);
  // Every hour of the 6 h of arrivals (plus 05:xx event times) has a leaderboard.
  for (const hour of ["06", "07", "08", "09", "10", "11"]) {
    assert.ok(
      `top_videos:hour:20260314${hour}` in summary.hour_leaderboards,
      `hour ${hour}`,
    );
  }
  const dead = Object.values(summary.dead_letter_reasons)
    .reduce((a, b) => a + b, 0);
  assert.equal(dead, 71, "one dead letter per bad record");
  const late = Object.values(summary.late_reasons).reduce((a, b) => a + b, 0);
  assert.equal(late, 431, "one late message per late record");
});
