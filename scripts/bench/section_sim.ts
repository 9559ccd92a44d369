/**
 * Benchmark 1: simulator replay throughput of `views` against a bare loop.
 *
 * @module
 */

import { readFixtureText, VIEWS_FIXTURE } from "./fixture.ts";
import {
  type CategoryRule,
  profileChild,
  type ProfileSummary,
} from "./profile.ts";
import { profileSections, type Section, table, verdictOf } from "./report.ts";
import { baselinePass, candidatePass, type PassTiming } from "./sim.ts";
import { fmt, median, perSecond } from "./stats.ts";

export const SIM_TITLE = "1. Simulator replay throughput of `views`";
export const SIM_TARGET = 0.5;

/** Virtual time between polls of the comparison runs (the simulator's default: 1 s). */
export const COARSE_POLL_MS = 60_000;

const SIM_CATEGORIES: CategoryRule[] = [
  ["fixture parsing (the baseline does this too)", ["src/core/fixture.ts"]],
  ["payload parsing and event time (parse.ts, time.ts)", [
    "src/jobs/views/parse.ts",
    "src/core/time.ts",
  ]],
  ["views job: windows, sliding Top-K, aggregation", [
    "src/jobs/",
    "src/core/windows.ts",
    "src/core/watermarks.ts",
  ]],
  ["Redis twin (sim/kv.ts)", ["sim/kv.ts"]],
  ["Kafka twin (sim/log.ts)", ["sim/log.ts", "sim/partitioner.ts"]],
  ["S3 twin and checkpoints", ["sim/objects.ts", "src/core/checkpoint.ts"]],
  ["runner and simulator loop", [
    "src/core/runner.ts",
    "src/core/job.ts",
    "sim/",
  ]],
  ["garbage collector", ["(garbage collector)"]],
  ["V8 and Deno internals", ["(program)", "(native)", "deno "]],
  ["idle (the profiled child reading the fixture file)", ["(idle)"]],
];

/** Options of {@linkcode simSection}. */
export interface SimSectionOptions {
  /** Measured runs of each side, after one warm-up run each. */
  runs: number;
  /** Profile the candidate when it falls short. */
  profile: boolean;
  /** Runs polling every {@linkcode COARSE_POLL_MS}, for comparison only; 0 skips them. */
  coarse_runs: number;
  log: (line: string) => void;
}

/** Runs benchmark 1 and writes its section. */
export async function simSection(
  root: URL,
  options: SimSectionOptions,
): Promise<Section> {
  const text = await readFixtureText(root);
  options.log("sim: warm-up");
  baselinePass(text);
  await candidatePass(text);
  const base: PassTiming[] = [];
  const cand: PassTiming[] = [];
  for (let i = 0; i < options.runs; i++) {
    base.push(baselinePass(text));
    cand.push(await candidatePass(text));
    options.log(
      `sim: run ${i + 1}/${options.runs}: baseline ${
        fmt(base.at(-1)!.ms)
      } ms, simulator ${fmt(cand.at(-1)!.ms)} ms`,
    );
  }
  const records = base[0]!.records;
  const mismatch = cand.find((c) => c.records !== records);
  if (mismatch !== undefined) {
    throw new Error(
      `Cannot compare as the simulator handled ${mismatch.records} records and the baseline ${records}`,
    );
  }
  const base_rate = median(base.map((b) => perSecond(b.records, b.ms)));
  const cand_rate = median(cand.map((c) => perSecond(c.records, c.ms)));
  const ratio = cand_rate / base_rate;
  const verdict = verdictOf(ratio, SIM_TARGET);

  const coarse: PassTiming[] = [];
  for (let i = 0; i < options.coarse_runs; i++) {
    options.log(`sim: comparison run polling every ${COARSE_POLL_MS} ms`);
    coarse.push(await candidatePass(text, COARSE_POLL_MS));
  }

  let profile: ProfileSummary | { error: string } | null = null;
  if (verdict === "short" && options.profile) {
    options.log("sim: profiling the simulator (child process, --cpu-prof)");
    profile = await profileChild(["--target", "sim", "--runs", "2"]);
  }

  const body = [
    `**Measured:** records per second through each side, both starting from the fixture's text in memory (\`${VIEWS_FIXTURE}\`, ${
      fmt(records)
    } lines, read once before timing) and both parsing it inside the timing.`,
    "",
    "- **Baseline:** a bare loop: split lines, `JSON.parse` each recorded record, `JSON.parse` its `value`, count `videoId` in a `Map`.",
    "- **Candidate:** `simulate({ job: views.create(), fixture: parseFixture(text), seed: 1 })` (`sim/simulator.ts`): twins of Kafka, Redis and S3, virtual clock, checkpoints, no faults.",
    `- ${options.runs} runs of each, alternating, after one warm-up run of each; the ratio is of the medians.`,
    "",
    ...table(
      [
        "run",
        "baseline ms",
        "baseline records/s",
        "simulator ms",
        "simulator records/s",
        "ratio",
      ],
      base.map((b, i) => {
        const c = cand[i]!;
        const br = perSecond(b.records, b.ms);
        const cr = perSecond(c.records, c.ms);
        return [
          String(i + 1),
          fmt(b.ms),
          fmt(br),
          fmt(c.ms),
          fmt(cr),
          (cr / br).toFixed(3),
        ];
      }),
    ),
    "",
    `**Result:** median ${fmt(cand_rate)} records/s (simulator) vs ${
      fmt(base_rate)
    } records/s (bare loop): ratio **${
      ratio.toFixed(3)
    }**, target ≥ ${SIM_TARGET}: **${verdict}**.`,
    "",
    `The simulator took ${fmt(cand[0]!.check)} poll steps for ${
      fmt(records)
    } records (${
      fmt(records / cand[0]!.check, 1)
    } per step): it replays 6 hours of recorded arrivals polling every second of virtual time, so a batch holds what one partition received in that second.`,
  ];
  if (coarse.length > 0) {
    const coarse_rate = median(coarse.map((c) => perSecond(c.records, c.ms)));
    const gain = coarse_rate / cand_rate;
    body.push(
      "",
      `**Larger batches, for comparison** (not the verdict): polling every ${
        COARSE_POLL_MS / 1000
      } s of virtual time instead (${fmt(coarse[0]!.check)} steps, ${
        fmt(records / coarse[0]!.check, 1)
      } records per step), the simulator ran at ${
        fmt(coarse_rate)
      } records/s, ${gain.toFixed(2)}× the default: ${
        gain < 1.5
          ? "most of the cost is per record, not per batch."
          : "much of the cost is per batch."
      }`,
    );
  }
  body.push(
    ...profileSections(profile, {
      heading: "**Where the time goes** (self time of the profile, grouped):",
      categories: SIM_CATEGORIES,
      how: "2 simulator runs in a child process under `deno run --cpu-prof`",
    }),
  );
  return {
    title: SIM_TITLE,
    verdict,
    summary: {
      baseline: `${fmt(base_rate)} records/s`,
      candidate: `${fmt(cand_rate)} records/s`,
      ratio: ratio.toFixed(3),
      target: `≥ ${SIM_TARGET}`,
    },
    body,
  };
}
