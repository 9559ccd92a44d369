/**
 * Benchmark 12: the `transactions` job exactly once, Kafka → Kafka (two
 * stages, a repartition, Kafka transactions), against a raw kafkajs consume
 * → produce loop doing the same parsing at least once, on one topic filled
 * with the fixture.
 *
 * @module
 */

import { type Section, table, verdictOf } from "./report.ts";
import { fmt, median, perSecond } from "./stats.ts";
import {
  rawConsumeProduce,
  type RawLoopTiming,
  runTransactions,
  type TransactionsTiming,
  TransactionsTopic,
} from "./transactions_kafka.ts";

export const TRANSACTIONS_TITLE =
  "12. Exactly-once Kafka → Kafka `transactions` (transactions, repartition)";
export const TRANSACTIONS_TARGET = 0.5;

/** Options of {@linkcode transactionsSection}. */
export interface TransactionsSectionOptions {
  /** Fixture records to produce (plus one closing record per partition). */
  messages: number;
  runs: number;
  log: (line: string) => void;
}

const rate = (t: TransactionsTiming) => perSecond(t.count, t.measured_ms);
const rawRate = (t: RawLoopTiming) => perSecond(t.count, t.steady_ms);

/** Runs benchmark 12 on a topic of its own and writes its section. */
export async function transactionsSection(
  text: string,
  options: TransactionsSectionOptions,
): Promise<Section> {
  options.log(
    `transactions: filling a topic with ${options.messages} fixture messages`,
  );
  const topic = await TransactionsTopic.open(text, options.messages);
  try {
    const runs: TransactionsTiming[] = [];
    const raws: RawLoopTiming[] = [];
    // Alternate the two sides, so that drift of the machine hits both.
    for (let i = 0; i < options.runs; i++) {
      raws.push(await rawConsumeProduce(topic));
      options.log(
        `transactions: raw loop ${i + 1}/${options.runs}: ${
          fmt(raws.at(-1)!.steady_ms)
        } ms`,
      );
      // As `deno task run --prod --job transactions` runs it.
      runs.push(await runTransactions(topic));
      options.log(
        `transactions: run ${i + 1}/${options.runs}: ${
          fmt(runs.at(-1)!.measured_ms)
        } ms`,
      );
    }
    const ours = median(runs.map(rate));
    const theirs = median(raws.map(rawRate));
    const ratio = ours / theirs;
    const verdict = verdictOf(ratio, TRANSACTIONS_TARGET);
    const first = runs[0]!;
    const c = first.counts;
    const body = [
      `${
        fmt(topic.count)
      } messages of \`fixtures/transactions/transactions.jsonl.gz\` (the first ${
        fmt(options.messages)
      } lines and a closing record per partition; 4 partitions; ${
        fmt(topic.kept)
      } transactions kept, which cross the repartition), read from the start by a new consumer group in each run; the two sides alternate.`,
      "",
      ...table(
        [
          "run",
          "runner msg/s",
          "start-up ms",
          "steady ms",
          "final commit ms",
          "checkpoints",
          "raw msg/s",
          "raw produced",
        ],
        runs.map((r, i) => [
          String(i + 1),
          fmt(rate(r)),
          fmt(r.startup_ms),
          fmt(r.steady_ms),
          fmt(r.close_ms),
          String(r.checkpoints),
          fmt(rawRate(raws[i]!)),
          fmt(raws[i]!.produced),
        ]),
      ),
      "",
      `**Result:** median ${
        fmt(ours)
      } messages/s (runner, exactly once: first batch to the final commit) vs ${
        fmt(theirs)
      } msg/s (raw kafkajs consume → produce, at least once: first message to the last batch acknowledged): ratio **${
        ratio.toFixed(3)
      }**, target ≥ ${TRANSACTIONS_TARGET}: **${verdict}**. First run, both stages: in ${
        fmt(c.in)
      } = out ${fmt(c.out)} + filtered ${fmt(c.filtered)} + dead-lettered ${
        fmt(c.dead_lettered)
      } + late ${fmt(c.late)}.`,
      "",
      `The runner does more than the baseline: per-user and per-category windows, a second stage reading the internal topic, four output topics and two side topics, a state snapshot in S3 and a Kafka transaction per partition, stage and checkpoint (every ${
        first.checkpoint_interval_ms / 1000
      } s, the job's default, as \`deno task run\` runs it). The baseline writes only the two per-transaction topics, keeps no state, and can write outputs twice after a crash.`,
    ];
    return {
      title: TRANSACTIONS_TITLE,
      verdict,
      summary: {
        baseline: `${fmt(theirs)} msg/s`,
        candidate: `${fmt(ours)} msg/s`,
        ratio: ratio.toFixed(3),
        target: `≥ ${TRANSACTIONS_TARGET}`,
      },
      body,
    };
  } finally {
    await topic.close();
  }
}
