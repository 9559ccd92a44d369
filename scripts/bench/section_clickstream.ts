/**
 * Benchmark 8: the `clickstream` job exactly once, Kafka → S3 files by
 * two-phase commit, against raw kafkajs consuming the same topic and
 * putting the same payload bytes to S3; and how many objects an hour of
 * input makes at the default roll settings.
 *
 * @module
 */

import {
  type ClickstreamTiming,
  ClickstreamTopic,
  rawConsumeAndPut,
  type RawPutTiming,
  runClickstream,
} from "./clickstream_s3.ts";
import { type Section, table, verdictOf } from "./report.ts";
import { fmt, median, perSecond } from "./stats.ts";

export const CLICKSTREAM_TITLE =
  "8. Exactly-once Kafka → S3 files `clickstream` (two-phase commit)";
export const CLICKSTREAM_TARGET = 0.5;
/** The job's checkpoint interval (issue 9). */
const CHECKPOINT_INTERVAL_MS = 30_000;

/** Options of {@linkcode clickstreamSection}. */
export interface ClickstreamSectionOptions {
  /** Fixture records to produce (plus one closing record per partition). */
  messages: number;
  runs: number;
  log: (line: string) => void;
}

const rate = (t: ClickstreamTiming) => perSecond(t.count, t.measured_ms);
const rawRate = (t: RawPutTiming) => perSecond(t.count, t.steady_ms);

/** Runs benchmark 5 on a topic of its own and writes its section. */
export async function clickstreamSection(
  text: string,
  options: ClickstreamSectionOptions,
): Promise<Section> {
  options.log(
    `clickstream: filling a topic with ${options.messages} fixture messages`,
  );
  const topic = await ClickstreamTopic.open(text, options.messages);
  try {
    const runs: ClickstreamTiming[] = [];
    const raws: RawPutTiming[] = [];
    // Object size of the baseline: the candidate's average file, known
    // after its first run; alternate the two sides after that.
    for (let i = 0; i < options.runs; i++) {
      runs.push(
        await runClickstream(topic.topic, topic.count, {
          checkpoint_interval_ms: CHECKPOINT_INTERVAL_MS,
        }),
      );
      const last = runs.at(-1)!;
      options.log(
        `clickstream: run ${i + 1}/${options.runs}: ${
          fmt(last.measured_ms)
        } ms, ${last.files} files`,
      );
      const object_bytes = Math.max(1, last.file_bytes / last.files);
      raws.push(await rawConsumeAndPut(topic.topic, topic.count, object_bytes));
      options.log(
        `clickstream: raw run ${i + 1}/${options.runs}: ${
          fmt(raws.at(-1)!.steady_ms)
        } ms, ${raws.at(-1)!.objects} objects`,
      );
    }
    const ours = median(runs.map(rate));
    const theirs = median(raws.map(rawRate));
    const ratio = ours / theirs;
    const verdict = verdictOf(ratio, CLICKSTREAM_TARGET);
    const first = runs[0]!;
    const per_hour = first.files / Math.max(first.input_hours, 1e-9);
    const hours = [...first.by_hour].sort((a, b) => a[0] < b[0] ? -1 : 1);
    const s3 = first.objects;
    const body = [
      `**Measured:** records per second through the production runner running \`clickstream.create()\` with \`KafkaLog\`, \`S3ObjectStore\` (files, staging and checkpoints under a prefix of its own per run) and \`SystemClock\`, checkpoints every ${
        fmt(CHECKPOINT_INTERVAL_MS / 1000)
      } s (the job's interval), default roll settings (a file per partition and 5-minute window, 64 MiB at most), reading a topic of the first ${
        fmt(topic.count - 4)
      } \`clickstream\` fixture records (plus a record per partition half an hour of event time later, which closes every window). Rate from the first batch polled until the runner closed: every record handled and every file published (the last checkpoint stages and publishes what is left).`,
      "",
      `- **Baseline:** raw kafkajs (\`eachBatch\`, a new group) reading the same topic and putting the payloads, a line each, to S3 per partition in objects of the candidate's average file size (${
        fmt(first.file_bytes / Math.max(1, first.files))
      } bytes), each put awaited; from the first message to the last put. Same process, runs alternating with the candidate's.`,
      `- ${options.runs} runs each; the ratio is of the medians.`,
      "",
      ...table(
        [
          "run",
          "records",
          "records/s",
          "steady ms",
          "close ms",
          "checkpoints",
          "files",
          "S3 puts",
          "S3 other calls",
          "raw msg/s",
          "raw objects",
        ],
        runs.map((r, i) => [
          String(i + 1),
          fmt(r.count),
          fmt(rate(r)),
          fmt(r.steady_ms),
          fmt(r.close_ms),
          String(r.checkpoints),
          fmt(r.files),
          fmt(r.objects.puts.calls),
          fmt(r.objects.other.calls),
          fmt(rawRate(raws[i]!)),
          fmt(raws[i]!.objects),
        ]),
      ),
      "",
      `**Result:** median ${fmt(ours)} records/s (runner, exactly once) vs ${
        fmt(theirs)
      } msg/s (raw kafkajs + S3 put): ratio **${
        ratio.toFixed(3)
      }**, target ≥ ${CLICKSTREAM_TARGET}: **${verdict}**. First run: in ${
        fmt(first.counts.in)
      } = out ${fmt(first.counts.out)} + dead-lettered ${
        fmt(first.counts.dead_lettered)
      } + late ${fmt(first.counts.late)}; ${fmt(first.lines)} lines in ${
        fmt(first.files)
      } files (${
        fmt(first.file_bytes)
      } bytes), ${first.staging_left} staging objects left.`,
      "",
      `**Objects per hour of input** (default rolls: one file per input partition and 5-minute window of event time, rolled earlier at 64 MiB): ${
        fmt(first.files)
      } files for ${fmt(first.input_hours, 2)} hours of event time = **${
        fmt(per_hour, 1)
      } objects per hour** (at most 12 windows × ${4} partitions = 48 whatever the volume; fewer where a partition had no event in a window). By hour directory: ${
        hours.map(([hour, n]) => `${hour} ${n}`).join(", ")
      }.`,
      "",
      `**S3 calls** (first run, files and checkpoints together): ${
        fmt(s3.puts.calls)
      } puts and conditional puts (${
        fmt(s3.put_bytes)
      } bytes: the staged files, the checkpoints' state and manifests) in ${
        fmt(s3.puts.ms)
      } ms; ${
        fmt(s3.other.calls)
      } copies, gets, lists and deletes (publishing is a server-side copy and a delete of the staging object per file) in ${
        fmt(s3.other.ms)
      } ms.`,
    ];
    return {
      title: CLICKSTREAM_TITLE,
      verdict,
      summary: {
        baseline: `${fmt(theirs)} msg/s`,
        candidate: `${fmt(ours)} records/s; ${
          fmt(per_hour, 1)
        } objects per hour of input`,
        ratio: ratio.toFixed(3),
        target: `≥ ${CLICKSTREAM_TARGET}`,
      },
      body,
    };
  } finally {
    await topic.close();
  }
}
