/**
 * Benchmark 2: reading Kafka through freshet's consumer into a null sink,
 * against raw kafkajs `eachBatch`.
 *
 * @module
 */

import { consumeFreshet, consumeRaw, type ConsumeTiming } from "./consume.ts";
import { SERVICE_CATEGORIES } from "./kafka_categories.ts";
import type { KafkaContext } from "./kafka_context.ts";
import { profileChild, type ProfileSummary } from "./profile.ts";
import { profileSections, type Section, table, verdictOf } from "./report.ts";
import { fmt, median, perSecond } from "./stats.ts";

export const CONSUME_TITLE = "2. Kafka → null sink through freshet's consumer";
export const CONSUME_TARGET = 0.9;

/** Options of {@linkcode consumeSection}. */
export interface ConsumeSectionOptions {
  runs: number;
  profile: boolean;
  log: (line: string) => void;
}

const rate = (t: ConsumeTiming) => perSecond(t.count, t.steady_ms);

/** Runs benchmark 2 on the filled topic and writes its section. */
export async function consumeSection(
  ctx: KafkaContext,
  options: ConsumeSectionOptions,
): Promise<Section> {
  options.log("kafka: warm-up");
  await consumeRaw(ctx.topic, ctx.count);
  await consumeFreshet(ctx.topic, ctx.count);
  const raw: ConsumeTiming[] = [];
  const ours: ConsumeTiming[] = [];
  for (let i = 0; i < options.runs; i++) {
    raw.push(await consumeRaw(ctx.topic, ctx.count));
    ours.push(await consumeFreshet(ctx.topic, ctx.count));
    options.log(
      `kafka: run ${i + 1}/${options.runs}: kafkajs ${
        fmt(raw.at(-1)!.steady_ms)
      } ms, freshet ${fmt(ours.at(-1)!.steady_ms)} ms`,
    );
  }
  ctx.raw.push(...raw);
  const raw_rate = median(raw.map(rate));
  const our_rate = median(ours.map(rate));
  const ratio = our_rate / raw_rate;
  const verdict = verdictOf(ratio, CONSUME_TARGET);

  let profile: ProfileSummary | { error: string } | null = null;
  if (verdict === "short" && options.profile) {
    options.log("kafka: profiling the freshet consumer (child process)");
    profile = await profileChild([
      "--target",
      "consume",
      "--topic",
      ctx.topic,
      "--expected",
      String(ctx.count),
      "--runs",
      "3",
    ]);
  }

  const body = [
    `**Measured:** messages per second reading a topic of ${
      fmt(ctx.count)
    } fixture messages (${ctx.partitions} partitions, filled once before in ${
      fmt(ctx.fill_ms)
    } ms) from the beginning to the last message, each side in a new consumer group. The rate is taken from the first message delivered to the last one (steady state); "start" is the time from creating the consumer to its first message (connect, group join, first fetch), shown apart.`,
    "",
    "- **Baseline:** raw kafkajs 2.2.4 consumer, `eachBatch`, `JSON.parse` of every message and a count of its `videoId` in a `Map`; kafkajs defaults otherwise (read committed, auto-commit).",
    "- **Candidate:** `KafkaLog.consumer()` (`src/adapters/kafka.ts`, `kafka_consumer.ts`) with its defaults (batches of at most 5000 records), polled in a loop as the runner polls it; each record's value parsed and counted the same way, then dropped (a null sink). Partitions are assigned at offset 0 by the `onAssign` hook.",
    `- ${options.runs} runs of each, alternating, after one warm-up run of each; the ratio is of the medians.`,
    "",
    ...table(
      [
        "run",
        "kafkajs ms",
        "kafkajs msg/s",
        "kafkajs start ms",
        "kafkajs batches",
        "freshet ms",
        "freshet msg/s",
        "freshet start ms",
        "freshet polls",
        "ratio",
      ],
      raw.map((r, i) => {
        const o = ours[i]!;
        return [
          String(i + 1),
          fmt(r.steady_ms),
          fmt(rate(r)),
          fmt(r.startup_ms),
          fmt(r.batches),
          fmt(o.steady_ms),
          fmt(rate(o)),
          fmt(o.startup_ms),
          fmt(o.batches),
          (rate(o) / rate(r)).toFixed(3),
        ];
      }),
    ),
    "",
    `**Result:** median ${fmt(our_rate)} msg/s (freshet) vs ${
      fmt(raw_rate)
    } msg/s (raw kafkajs): ratio **${
      ratio.toFixed(3)
    }**, target ≥ ${CONSUME_TARGET}: **${verdict}**. Both sides read ${
      fmt(raw[0]!.distinct)
    } distinct \`videoId\` values (a check that every payload was parsed).`,
  ];
  body.push(
    ...profileSections(profile, {
      heading: "**Where the time goes** (self time of the profile, grouped):",
      categories: SERVICE_CATEGORIES,
      how:
        "3 reads through the freshet consumer in a child process under `deno run --cpu-prof`",
    }),
  );
  return {
    title: CONSUME_TITLE,
    verdict,
    summary: {
      baseline: `${fmt(raw_rate)} msg/s`,
      candidate: `${fmt(our_rate)} msg/s`,
      ratio: ratio.toFixed(3),
      target: `≥ ${CONSUME_TARGET}`,
    },
    body,
  };
}
