/**
 * `deno task bench`: the benchmarks, written to `BENCHMARKS.md`.
 *
 * Every target is a ratio against a baseline measured in the same run:
 * 1. simulator replay of `views` vs a bare parse-and-count loop (≥ 0.5);
 * 2. Kafka → null sink through freshet's consumer vs raw kafkajs (≥ 0.9);
 * 3. the exactly-once runner Kafka → Redis vs raw kafkajs (≥ 0.7), with
 *    Redis commands per event;
 * 4. event → Redis p50/p99 latency at 10 % and 70 % of the rate of 3;
 * 5. restart to resume after a SIGKILL (< 10 s), against the former session
 *    timeouts;
 * 6. `POST /track` events acknowledged per second vs a raw kafkajs producer
 *    of the same events (≥ 0.5; needs wrk);
 * 7. event → Redis window latency of the analytics pipeline at 10 % and
 *    70 % of its maximum rate.
 * 11. the `frames` job's frames/s vs a bare decode of the same frames, at
 *    720p and 1080p (≥ 0.8; no services).
 * 12. the `transactions` job Kafka → Kafka exactly once vs a raw kafkajs
 *    consume → produce loop at least once, same parsing (≥ 0.5).
 * 2 to 5 need Kafka, Redis and S3 (`deno task services up`); without them
 * their rows say "skipped: services down".
 *
 * @module
 */

import { flagHelp, parseArgs, UsageError } from "../src/cli/args.ts";
import { readFixtureText } from "./bench/fixture.ts";
import { KafkaContext } from "./bench/kafka_context.ts";
import { type Fact, loadAverage, machineFacts } from "./bench/machine.ts";
import { renderReport, type Section, skippedSection } from "./bench/report.ts";
import {
  CONSUME_TARGET,
  CONSUME_TITLE,
  consumeSection,
} from "./bench/section_consume.ts";
import { EO_TARGET, EO_TITLE, eoSection } from "./bench/section_eo.ts";
import { LATENCY_TITLE, latencySection } from "./bench/section_latency.ts";
import {
  RESTART_TARGET_S,
  RESTART_TITLE,
  restartSection,
} from "./bench/section_restart.ts";
import { SIM_TARGET, SIM_TITLE, simSection } from "./bench/section_sim.ts";
import {
  LOADER_TARGET,
  LOADER_TITLE,
  loaderSection,
  PARQUET_TARGET,
  PARQUET_TITLE,
  parquetSection,
} from "./bench/section_sessions.ts";
import {
  CLICKSTREAM_TARGET,
  CLICKSTREAM_TITLE,
  clickstreamSection,
} from "./bench/section_clickstream.ts";
import { CLICKSTREAM_FIXTURE } from "./bench/clickstream_s3.ts";
import {
  TRANSACTIONS_TARGET,
  TRANSACTIONS_TITLE,
  transactionsSection,
} from "./bench/section_transactions.ts";
import { TRANSACTIONS_FIXTURE } from "./bench/transactions_kafka.ts";
import { missingServices, redisVersion } from "./bench/services.ts";
import {
  FRAMES_TARGET,
  FRAMES_TITLE,
  framesSection,
} from "./bench/section_frames.ts";
import {
  hasWrk,
  TRACK_TARGET,
  TRACK_TITLE,
  trackSection,
} from "./bench/section_track.ts";
import {
  WINDOW_LATENCY_TITLE,
  windowLatencySection,
} from "./bench/section_window_latency.ts";

const BENCHMARKS = [
  "sim",
  "kafka",
  "eo",
  "latency",
  "restart",
  "track",
  "window",
  "clickstream",
  "parquet",
  "loader",
  "frames",
  "transactions",
] as const;
type Benchmark = typeof BENCHMARKS[number];

const SPEC = {
  values: {
    only: `comma-separated benchmarks to run: ${
      BENCHMARKS.join(", ")
    } (default: all)`,
    out: "report file (default: BENCHMARKS.md at the repository root)",
  },
  booleans: {
    quick:
      "fewer runs, 50,000 Kafka messages, short latency phases, no profiles (about a minute)",
    "no-profile": "do not profile a candidate that falls short",
    help: "print this help",
  },
};

const HELP =
  `deno task bench: benchmarks as ratios against baselines measured in the same run

Usage: deno task bench [--quick] [--only LIST] [--out FILE] [--no-profile]

Writes the report (default BENCHMARKS.md). Benchmarks 2 to 4 need Kafka, Redis
and S3 on 127.0.0.1 ('deno task services up'); without them they are reported
as skipped. Exit code: 0 when every selected benchmark ran (whether or not it
met its target), 1 when one failed with an error, 2 on a bad flag.

Flags:
${flagHelp(SPEC)}`;

/** Settings of a full run and of a quick one. */
const SETTINGS = {
  full: {
    kafka_messages: 201_000,
    sim_runs: 5,
    sim_coarse_runs: 2,
    kafka_runs: 7,
    eo_runs: 3,
    eo_warmups: 1,
    eo_comparison_runs: 2,
    latency_warmup_ms: 3_000,
    latency_measure_ms: 15_000,
    restart_runs: 3,
    restart_compare: true,
    track_runs: 3,
    track_duration_ms: 10_000,
    window_warmup_ms: 5_000,
    window_measure_ms: 30_000,
    clickstream_messages: 120_000,
    clickstream_runs: 3,
    transactions_messages: 120_000,
    transactions_runs: 3,
    frames_per_resolution: 48,
    frames_runs: 5,
  },
  quick: {
    kafka_messages: 50_000,
    sim_runs: 3,
    sim_coarse_runs: 0,
    kafka_runs: 3,
    eo_runs: 2,
    eo_warmups: 0,
    eo_comparison_runs: 0,
    latency_warmup_ms: 1_000,
    latency_measure_ms: 5_000,
    restart_runs: 1,
    restart_compare: false,
    track_runs: 1,
    track_duration_ms: 5_000,
    window_warmup_ms: 2_000,
    window_measure_ms: 15_000,
    clickstream_messages: 50_000,
    clickstream_runs: 1,
    transactions_messages: 30_000,
    transactions_runs: 1,
    frames_per_resolution: 16,
    frames_runs: 2,
  },
};

const TITLES: Record<Benchmark, [string, string]> = {
  sim: [SIM_TITLE, `≥ ${SIM_TARGET}`],
  kafka: [CONSUME_TITLE, `≥ ${CONSUME_TARGET}`],
  eo: [EO_TITLE, `≥ ${EO_TARGET}`],
  latency: [LATENCY_TITLE, "report p50/p99"],
  restart: [RESTART_TITLE, `< ${RESTART_TARGET_S} s`],
  track: [TRACK_TITLE, `≥ ${TRACK_TARGET}`],
  window: [WINDOW_LATENCY_TITLE, "report p50/p99"],
  parquet: [PARQUET_TITLE, `≥ ${PARQUET_TARGET}`],
  loader: [LOADER_TITLE, `≥ ${LOADER_TARGET}`],
  clickstream: [CLICKSTREAM_TITLE, `≥ ${CLICKSTREAM_TARGET}`],
  transactions: [TRANSACTIONS_TITLE, `≥ ${TRANSACTIONS_TARGET}`],
  frames: [FRAMES_TITLE, `≥ ${FRAMES_TARGET}`],
};

const NOTES = [
  "Each ratio is candidate ÷ baseline of the median rates; baseline and candidate runs alternate, after warm-up runs, so that drift of the machine (page cache, JIT, other load) hits both sides alike.",
  "Throughputs of the Kafka benchmarks are steady-state rates, from the first message delivered to the last; the start-up (connect, group join, first fetch, restoring checkpoints) is shown apart, as it does not grow with the input.",
  "Kafka, Redis, S3Proxy and the benchmark share this machine's CPUs, so a service's work counts against the side that causes it (e.g. Redis executing fenced scripts slows the runner, not the raw kafkajs read).",
  "Each run uses new topics, consumer groups, Redis key prefixes and checkpoint prefixes, and deletes its topics, keys and objects afterwards; repeated runs do not see each other.",
  "Profiles come from a child process running the candidate alone under `deno run --cpu-prof`; its numbers are sampled CPU time of the main thread (the producer worker and the services are not in them).",
  "The load averages under Machine show whether other work shared the CPUs during the run; ratios hold up better than absolute numbers under such load, but a busy machine still hurts the candidates more, as they use more processes (Redis, S3Proxy) and more CPU per event.",
];

function parseOnly(text: string | undefined): Set<Benchmark> {
  if (text === undefined) return new Set(BENCHMARKS);
  const chosen = new Set<Benchmark>();
  for (const part of text.split(",")) {
    const name = part.trim();
    if (!(BENCHMARKS as readonly string[]).includes(name)) {
      throw new UsageError(
        `flag --only must list some of ${BENCHMARKS.join(", ")}: got '${name}'`,
      );
    }
    chosen.add(name as Benchmark);
  }
  return chosen;
}

function failed(which: Benchmark, error: unknown): Section {
  const [title, target] = TITLES[which];
  const message = error instanceof Error ? error.message : String(error);
  return skippedSection(title, target, "failed", message, "failed");
}

async function main(args: string[]): Promise<number> {
  const parsed = parseArgs(args, SPEC);
  if (parsed.booleans.has("help")) {
    console.log(HELP);
    return 0;
  }
  const only = parseOnly(parsed.values.get("only"));
  const quick = parsed.booleans.has("quick");
  const settings = quick ? SETTINGS.quick : SETTINGS.full;
  const profile = !quick && !parsed.booleans.has("no-profile");
  const root = new URL("../", import.meta.url);
  const out = parsed.values.get("out") ??
    new URL("BENCHMARKS.md", root).pathname;
  const log = (line: string) => console.log(`bench: ${line}`);
  const started = performance.now();
  const date = new Date().toISOString();

  const sections = new Map<Benchmark, Section>();
  const facts = await machineFacts(root);
  const extra: Fact[] = [];
  const text = await readFixtureText(root);
  /** Runs benchmark `which` when asked for; a failure becomes its section. */
  const measure = async (which: Benchmark, run: () => Promise<Section>) => {
    if (!only.has(which)) return;
    try {
      sections.set(which, await run());
    } catch (error) {
      sections.set(which, failed(which, error));
    }
  };

  await measure("sim", async () =>
    await simSection(root, {
      runs: settings.sim_runs,
      coarse_runs: settings.sim_coarse_runs,
      profile,
      log,
    }));
  await measure("parquet", async () =>
    await parquetSection({
      rows: quick ? 20_000 : 100_000,
      runs: quick ? 2 : 5,
      log,
    }));
  await measure("loader", async () =>
    await loaderSection({
      rows: quick ? 20_000 : 100_000,
      files: quick ? 4 : 20,
      runs: quick ? 1 : 3,
      log,
    }));

  await measure("frames", async () =>
    await framesSection({
      frames: settings.frames_per_resolution,
      runs: settings.frames_runs,
      log,
    }));

  const kafkaBenchmarks = ([
    "kafka",
    "eo",
    "latency",
    "restart",
    "track",
    "window",
    "clickstream",
    "transactions",
  ] as const).filter((b) => only.has(b));
  if (kafkaBenchmarks.length > 0) {
    const missing = await missingServices();
    if (missing.length > 0) {
      log(`services down: ${missing.join(", ")}`);
      for (const which of kafkaBenchmarks) {
        const [title, target] = TITLES[which];
        sections.set(
          which,
          skippedSection(
            title,
            target,
            "skipped: services down",
            `not reachable: ${
              missing.join(", ")
            }; start them with \`deno task services up\``,
          ),
        );
      }
    } else {
      extra.push(["Redis", await redisVersion()]);
      log(`filling a topic with ${settings.kafka_messages} fixture messages`);
      const ctx = await KafkaContext.open(text, settings.kafka_messages);
      try {
        await measure("kafka", async () =>
          await consumeSection(ctx, {
            runs: settings.kafka_runs,
            profile,
            log,
          }));
        await measure("eo", async () =>
          await eoSection(ctx, {
            runs: settings.eo_runs,
            warmups: settings.eo_warmups,
            comparison_runs: settings.eo_comparison_runs,
            profile,
            log,
          }));
        await measure("restart", async () =>
          await restartSection({
            runs: settings.restart_runs,
            compare: settings.restart_compare,
            log,
          }));
        await measure("latency", async () =>
          await latencySection(ctx, text, {
            warmup_ms: settings.latency_warmup_ms,
            measure_ms: settings.latency_measure_ms,
            log,
          }));
        let track_rate: number | null = null;
        await measure("track", async () => {
          if (!await hasWrk()) {
            throw new Error("wrk is missing: apt-get install wrk");
          }
          const section = await trackSection({
            runs: settings.track_runs,
            duration_ms: settings.track_duration_ms,
            log,
          });
          track_rate = section.rate;
          return section;
        });
        await measure("window", async () =>
          await windowLatencySection({
            track_rate,
            warmup_ms: settings.window_warmup_ms,
            measure_ms: settings.window_measure_ms,
            log,
          }));
        await measure("clickstream", async () =>
          await clickstreamSection(
            await readFixtureText(root, CLICKSTREAM_FIXTURE),
            {
              messages: settings.clickstream_messages,
              runs: settings.clickstream_runs,
              log,
            },
          ));
        await measure("transactions", async () =>
          await transactionsSection(
            await readFixtureText(root, TRANSACTIONS_FIXTURE),
            {
              messages: settings.transactions_messages,
              runs: settings.transactions_runs,
              log,
            },
          ));
      } finally {
        await ctx.close();
      }
    }
  }

  const ordered = BENCHMARKS.map((which) => {
    const section = sections.get(which);
    if (section !== undefined) return section;
    const [title, target] = TITLES[which];
    return skippedSection(
      title,
      target,
      "skipped: not selected",
      `not in \`--only ${[...only].join(",")}\``,
    );
  });
  const command = ["deno task bench", ...args].join(" ");
  const report = renderReport({
    date,
    command,
    duration_s: (performance.now() - started) / 1000,
    facts: [
      ...facts,
      ...extra,
      ["load average at end (1/5/15 min)", loadAverage()],
    ],
    sections: ordered,
    notes: NOTES,
  });
  await Deno.writeTextFile(out, report);
  log(`wrote ${out}`);
  for (const section of ordered) {
    log(
      `${
        section.verdict.padEnd(8)
      } ${section.title}: ratio ${section.summary.ratio} (target ${section.summary.target})`,
    );
  }
  return ordered.some((s) => s.verdict === "failed") ? 1 : 0;
}

if (import.meta.main) {
  let code: number;
  try {
    code = await main(Deno.args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`bench: ${error.message}`);
    code = 2;
  }
  Deno.exitCode = code;
}
