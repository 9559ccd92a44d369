/**
 * Benchmark 3: the exactly-once runner (Kafka → Redis `views`, checkpoints
 * in S3) against the raw kafkajs read rate of benchmark 2, and the Redis
 * commands it spends per event.
 *
 * @module
 */

import { type RunnerTiming, runViews } from "./exactly_once.ts";
import { SERVICE_CATEGORIES } from "./kafka_categories.ts";
import type { KafkaContext } from "./kafka_context.ts";
import { profileChild, type ProfileSummary } from "./profile.ts";
import {
  pct,
  profileSections,
  type Section,
  table,
  verdictOf,
} from "./report.ts";
import {
  type CommandStat,
  commandStatsDelta,
  redisCommandStats,
} from "./services.ts";
import { fmt, median, perSecond } from "./stats.ts";

export const EO_TITLE = "3. Exactly-once Kafka → Redis `views` (the runner)";
export const EO_TARGET = 0.7;

/** `max_batch_records` of the comparison runs (the Kafka consumer's default is 5000). */
export const COMPARISON_BATCH = 500;

/** Options of {@linkcode eoSection}. */
export interface EoSectionOptions {
  runs: number;
  /** Warm-up runs before the measured ones. */
  warmups: number;
  /** Runs with other batches ({@linkcode COMPARISON_BATCH}), for comparison only; 0 skips them. */
  comparison_runs: number;
  profile: boolean;
  log: (line: string) => void;
}

const rate = (t: RunnerTiming) => perSecond(t.count, t.steady_ms);

function addDelta(
  total: Map<string, CommandStat>,
  delta: Map<string, CommandStat>,
): void {
  for (const [name, stat] of delta) {
    const sum = total.get(name) ?? { calls: 0, usec: 0 };
    total.set(name, {
      calls: sum.calls + stat.calls,
      usec: sum.usec + stat.usec,
    });
  }
}

/** Runs benchmark 3 on the filled topic and writes its section. */
export async function eoSection(
  ctx: KafkaContext,
  options: EoSectionOptions,
): Promise<Section> {
  const raw_rate = await ctx.rawRate(3);
  const expected = ctx.count;
  const stop = (handled: number) => handled >= expected;
  for (let i = 0; i < options.warmups; i++) {
    options.log("eo: warm-up");
    await runViews(ctx.topic, { stop });
  }
  const runs: RunnerTiming[] = [];
  const server = new Map<string, CommandStat>();
  for (let i = 0; i < options.runs; i++) {
    const before = await redisCommandStats();
    runs.push(await runViews(ctx.topic, { stop }));
    addDelta(server, commandStatsDelta(before, await redisCommandStats()));
    options.log(
      `eo: run ${i + 1}/${options.runs}: ${fmt(runs.at(-1)!.steady_ms)} ms`,
    );
  }
  const our_rate = median(runs.map(rate));
  ctx.runner_rate = our_rate;
  const comparison: RunnerTiming[] = [];
  for (let i = 0; i < options.comparison_runs; i++) {
    options.log(
      `eo: comparison run with max_batch_records ${COMPARISON_BATCH}`,
    );
    comparison.push(
      await runViews(ctx.topic, { stop, max_batch_records: COMPARISON_BATCH }),
    );
  }
  const ratio = our_rate / raw_rate;
  const verdict = verdictOf(ratio, EO_TARGET);

  let profile: ProfileSummary | { error: string } | null = null;
  if (verdict === "short" && options.profile) {
    options.log("eo: profiling the runner (child process)");
    profile = await profileChild([
      "--target",
      "eo",
      "--topic",
      ctx.topic,
      "--expected",
      String(expected),
      "--runs",
      "2",
    ]);
  }

  // Totals over the measured runs.
  const records = runs.reduce((n, r) => n + r.count, 0);
  const batches = runs.reduce((n, r) => n + r.kv.fenced.calls, 0);
  const ops = runs.reduce((n, r) => n + r.kv.ops, 0);
  const by_op = new Map<string, number>();
  for (const r of runs) {
    for (const [op, n] of Object.entries(r.kv.by_op)) {
      by_op.set(op, (by_op.get(op) ?? 0) + n);
    }
  }
  const server_calls = [...server.values()].reduce((n, s) => n + s.calls, 0);
  const evalsha = server.get("evalsha") ?? { calls: 0, usec: 0 };
  // Our own script calls: one per fenced batch and per fence claim.
  const our_scripts = batches + runs.length * ctx.partitions;
  const others_scripted = evalsha.calls - our_scripts;

  const sum = (f: (r: RunnerTiming) => number) =>
    runs.reduce((n, r) => n + f(r), 0);
  const wall = sum((r) => r.steady_ms);
  const poll_ms = sum((r) => r.steady.poll_ms);
  const redis_ms = sum((r) => r.steady.redis_ms);
  const redis_sync_ms = sum((r) => r.steady.redis_sync_ms);
  const preempted = sum((r) => r.steady.preempted);
  const produce_ms = sum((r) => r.steady.produce_ms);
  const s3_ms = sum((r) => r.steady.s3_ms);
  // Writes run while the next batch is polled and processed (the runner
  // pipelines them), so only poll() and S3 are awaited in the loop itself.
  const rest_ms = wall - poll_ms - s3_ms;
  const first = runs[0]!;
  // Redis runs the scripts one at a time: its time per event bounds the rate.
  // Per call, then times our calls: other clients' scripts may have run too.
  const script_us_per_call = evalsha.usec / Math.max(1, evalsha.calls);
  const server_us_per_event = (script_us_per_call * batches) / records;
  const redis_cap = 1e6 / server_us_per_event;
  const awaited_per_batch = redis_ms / Math.max(1, batches);

  const body = [
    `**Measured:** records per second through the production runner (\`src/core/runner.ts\`) running \`views.create()\` with \`KafkaLog\`, \`RedisKeyValue\` (a key prefix of its own per run), \`CheckpointStore\` on \`S3ObjectStore\` (a prefix of its own per run) and \`SystemClock\`, with the defaults (batches of at most 5000 records, the Kafka consumer's; a checkpoint per partition every 10 s of wall time), reading the same ${
      fmt(ctx.count)
    }-message topic as benchmark 2 from the beginning, in a new consumer group per run. Rate from the first batch polled to the last record handled; "start" (group join, checkpoint lookup, fence claims) apart. Each run's Redis keys and checkpoint objects are deleted afterwards.`,
    "",
    `- **Baseline:** the raw kafkajs read rate of benchmark 2 (median ${
      fmt(raw_rate)
    } msg/s, same topic, same process).`,
    `- ${options.runs} runs after ${options.warmups} warm-up run(s); the ratio is of the medians.`,
    "",
    ...table(
      [
        "run",
        "records",
        "steady ms",
        "records/s",
        "start ms",
        "fenced batches",
        "records/batch",
        "checkpoints",
        "close ms",
      ],
      runs.map((r, i) => [
        String(i + 1),
        fmt(r.count),
        fmt(r.steady_ms),
        fmt(rate(r)),
        fmt(r.startup_ms),
        fmt(r.kv.fenced.calls),
        fmt(r.count / Math.max(1, r.kv.fenced.calls), 1),
        String(r.checkpoints),
        fmt(r.close_ms),
      ]),
    ),
    "",
    `**Result:** median ${fmt(our_rate)} records/s (runner) vs ${
      fmt(raw_rate)
    } msg/s (raw kafkajs): ratio **${
      ratio.toFixed(3)
    }**, target ≥ ${EO_TARGET}: **${verdict}**. Every run classified all records: in ${
      fmt(first.counts.in)
    } = out ${fmt(first.counts.out)} + dead-lettered ${
      fmt(first.counts.dead_lettered)
    } + late ${fmt(first.counts.late)} (first run).`,
    "",
    "**Redis commands per event** (totals over the measured runs):",
    "",
    ...table(["figure", "value"], [
      ["events (records handled)", fmt(records)],
      [
        "fenced batches (one EVALSHA round trip each)",
        `${fmt(batches)} = ${fmt(batches / records, 4)} per event`,
      ],
      [
        "ops in fenced batches (commands the job asked for)",
        `${fmt(ops)} = **${fmt(ops / records, 3)} per event**`,
      ],
      [
        "… by command",
        [...by_op].sort((a, b) => b[1] - a[1]).map(([op, n]) =>
          `${op} ${fmt(n / records, 3)}`
        ).join(", "),
      ],
      [
        "commands Redis executed, scripts' inner calls included (INFO commandstats, all clients)",
        `${fmt(server_calls)} = **${
          fmt(server_calls / records, 3)
        } per event**`,
      ],
      [
        "… by command",
        [...server].sort((a, b) => b[1].calls - a[1].calls).slice(0, 8).map((
          [name, s],
        ) => `${name} ${fmt(s.calls / records, 3)}`).join(", "),
      ],
      [
        "Redis server time in the scripts (commandstats usec of evalsha)",
        `${fmt(evalsha.usec / 1000)} ms for ${fmt(evalsha.calls)} calls = ${
          fmt(script_us_per_call / 1000, 2)
        } ms per call`,
      ],
    ]),
    "",
    others_scripted === 0
      ? "No other client ran scripts during the measured runs (EVALSHA calls = fenced batches + fence claims), so the server-side figures are this benchmark's alone."
      : `Other clients were active on this Redis during the runs (${others_scripted} EVALSHA calls not ours), so the server-side figures include some of their commands.`,
    "The gap between the job's ops and Redis's commands is the fenced script's validation pass: before writing, it reads each distinct key with one `GET` (plus a `TYPE` for keys that are not strings) so that a batch that would fail half-way writes nothing.",
    "",
    `**A ceiling set by Redis:** the scripts kept Redis busy ${
      fmt(server_us_per_event, 2)
    } µs per event. Redis runs one script at a time and the runner awaits each fenced batch before polling the next, so even if everything else took no time the runner could not pass ${
      fmt(redis_cap)
    } events/s = ${
      (redis_cap / raw_rate).toFixed(2)
    }× the raw read. Each fenced batch was awaited ${
      fmt(awaited_per_batch, 2)
    } ms on average (encode, socket write, script, reply), against ${
      fmt(script_us_per_call / 1000, 2)
    } ms of script time in Redis (commandstats' average per EVALSHA). Of those, ${
      fmt(redis_sync_ms / Math.max(1, batches), 2)
    } ms per batch passed before \`applyFenced\` even returned its promise (encoding ~${
      fmt(ops / Math.max(1, batches))
    } ops into EVALSHA arguments, ioredis building the RESP string, the socket write), blocking the event loop.${
      Number.isFinite(preempted)
        ? ` The runner's main thread was preempted ${
          fmt(preempted / Math.max(1, batches), 1)
        } times per fenced batch (Linux \`nonvoluntary_ctxt_switches\`): on this 2-core machine Redis, Kafka and the runner take turns on the CPUs, and a write to Redis's socket wakes Redis, which may run in the writer's place, so the time a profiler charges to the socket write includes Redis executing the script.`
        : ""
    }`,
    "",
    "**Where the wall time goes** (the steady windows, first batch to last record, totals over the measured runs; measured by wrappers around the ports). A partition's write runs while the runner polls and processes the next batch, so the two write rows are time in flight, overlapping the other rows, and the shares do not add up to 100 %:",
    "",
    ...table(["what", "ms", "share"], [
      [
        "waiting in `poll()` for the next batch (fetches, kafkajs decoding, the consumer bridge)",
        fmt(poll_ms),
        pct(poll_ms / wall),
      ],
      [
        "in flight: fenced batches, `applyFenced` round trips (encode, send, script, reply)",
        fmt(redis_ms),
        pct(redis_ms / wall),
      ],
      [
        "in flight: side outputs, `produce` of dead letters and late views (acks=all)",
        fmt(produce_ms),
        pct(produce_ms / wall),
      ],
      [
        "S3: checkpoint puts, lists, gets, deletes",
        fmt(s3_ms),
        pct(s3_ms / wall),
      ],
      [
        "the rest: the job's processing, the runner's own work, and waiting for a partition's previous write",
        fmt(rest_ms),
        pct(rest_ms / wall),
      ],
      ["total: the steady windows of the runs", fmt(wall), "100 %"],
    ]),
    ...(s3_ms === 0
      ? [
        "",
        'No checkpoint fell inside the steady windows (each run is shorter than the 10 s checkpoint interval); the final checkpoints are in "close ms" above, and benchmark 4\'s longer runs include periodic ones.',
      ]
      : []),
  ];
  if (comparison.length > 0) {
    const comparison_rate = median(comparison.map(rate));
    const comparison_records = comparison.reduce((n, r) => n + r.count, 0);
    const comparison_ops = comparison.reduce((n, r) => n + r.kv.ops, 0);
    body.push(
      "",
      `**Smaller batches, for comparison** (not the verdict): with \`max_batch_records: ${COMPARISON_BATCH}\` (the runner's option; the Kafka consumer's default is 5000) the runner reached a median ${
        fmt(comparison_rate)
      } records/s over ${comparison.length} run(s) = ${
        (comparison_rate / raw_rate).toFixed(3)
      }× the raw read (${
        (comparison_rate / our_rate).toFixed(2)
      }× the default), with ${
        fmt(comparison_ops / comparison_records, 3)
      } ops per event: more views of the same video fold into one command per batch.`,
    );
  }
  body.push(
    ...profileSections(profile, {
      heading: "**CPU profile, grouped** (self time):",
      categories: SERVICE_CATEGORIES,
      how: "2 runner runs in a child process under `deno run --cpu-prof`",
    }),
  );
  return {
    title: EO_TITLE,
    verdict,
    summary: {
      baseline: `${fmt(raw_rate)} msg/s`,
      candidate: `${fmt(our_rate)} records/s; ${
        fmt(ops / records, 2)
      } ops/event in ${
        fmt(batches / records * 1000, 2)
      } batches per 1,000 events`,
      ratio: ratio.toFixed(3),
      target: `≥ ${EO_TARGET}`,
    },
    body,
  };
}
