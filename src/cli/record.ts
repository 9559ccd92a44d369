/**
 * `freshet record`: taps a live Kafka topic into a fixture file, so that
 * production traffic replays in the simulator
 * (`deno task sim --job J --fixture FILE`). How it reads, orders and stops:
 * `record_topic.ts`. The file is written as it goes, whole lines at a time,
 * and closed properly on Ctrl-C (gzip too, for a name ending in `.gz`), so
 * an interrupted recording is a valid fixture of what it got.
 *
 * @module
 */

import {
  flagHelp,
  type FlagSpec,
  optionalIntFlag,
  parseArgs,
  UsageError,
} from "./args.ts";
import type { Logger } from "@logtape/logtape";
import { CONFIG_FLAGS, loadSettings } from "./options.ts";
import { LOG_FLAGS, logOptions } from "./log_flags.ts";
import { closeLogging, logger, setupLogging } from "../logging/setup.ts";
import { parseEventTime } from "../core/time.ts";
import { Progress } from "./progress.ts";
import {
  type RecordStart,
  recordTopic,
  type RecordTopicResult,
} from "./record_topic.ts";

const RECORD_SPEC: FlagSpec = {
  values: {
    topic: "topic to record (required)",
    out:
      "fixture file to write, replaced if it exists; gzipped when it ends in .gz (required)",
    since:
      "start at the first record at or after TIME: ISO-8601 (a zone-less time is UTC), epoch ms, or a duration ago (90s, 15m, 2h, 1d)",
    max: "stop after N records (default: no limit)",
    config: "JSON config file of settings",
    ...LOG_FLAGS,
    ...CONFIG_FLAGS,
  },
  booleans: {
    "from-beginning": "start at every partition's first record",
    help: "print this help",
  },
};

/** Help of `freshet record`. */
export const RECORD_HELP =
  `freshet record: tap a Kafka topic into a fixture file the simulator replays

Usage: deno task record --topic T --out FILE [--from-beginning | --since TIME] [--max N]

Writes one line per record, {"topic","partition","offset","key","value",
"timestamp"}, partitions merged by record timestamp (each in offset order):
replay it with 'deno task sim --job J --fixture FILE'.

When it stops:
  --from-beginning, --since TIME
      at the end offsets seen when it started (a busy topic still ends), or
      after --max N records, or on Ctrl-C
  neither
      records what arrives from now on, until --max N records or Ctrl-C

Reads committed records only (isolation.level=read_committed) with a reader
of its own that commits nothing: no consumer group's offsets move. A record
that is not text (a tombstone, bytes that are not UTF-8) is written with an
"unreadable" field naming which. Ctrl-C leaves a valid file of what was
recorded. Configured like 'run --prod' (KAFKA_BROKERS).

Flags:
${flagHelp(RECORD_SPEC)}`;

const DURATION = /^(\d+)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * The instant `--since` names, in epoch ms: an ISO-8601 time, epoch
 * milliseconds, or a duration before `now_ms`.
 */
export function parseSince(text: string, now_ms: number): number {
  const duration = DURATION.exec(text);
  if (duration !== null) {
    return Math.max(0, now_ms - Number(duration[1]) * UNIT_MS[duration[2]!]!);
  }
  const time = /^\d+$/.test(text)
    ? parseEventTime(Number(text))
    : parseEventTime(text);
  if (time === undefined) {
    throw new UsageError(
      `flag --since must be an ISO-8601 time, epoch milliseconds or a duration such as 15m: got '${text}'`,
    );
  }
  return time;
}

/** Runs `freshet record`; answers the exit code. */
export async function recordCommand(args: readonly string[]): Promise<number> {
  const parsed = parseArgs(args, RECORD_SPEC);
  if (parsed.booleans.has("help")) {
    console.log(RECORD_HELP);
    return 0;
  }
  if (parsed.positional.length > 0) {
    throw new UsageError(
      `record takes no positional arguments: got '${parsed.positional[0]}'`,
    );
  }
  const topic = parsed.values.get("topic");
  const out = parsed.values.get("out");
  if (topic === undefined || out === undefined) {
    throw new UsageError("record needs --topic T and --out FILE");
  }
  const since_text = parsed.values.get("since");
  const from_beginning = parsed.booleans.has("from-beginning");
  if (since_text !== undefined && from_beginning) {
    throw new UsageError(
      "flags --from-beginning and --since exclude each other: choose one",
    );
  }
  const since_ms = since_text === undefined
    ? undefined
    : parseSince(since_text, Date.now());
  const max = optionalIntFlag(parsed, "max");
  if (max !== undefined && max < 1) {
    throw new UsageError(`flag --max must be at least 1: got ${max}`);
  }
  const settings = await loadSettings(parsed);
  await setupLogging(logOptions(parsed));
  const log = logger("record");
  const brokers = settings.kafka().brokers;
  const { KafkaLog } = await import("../adapters/kafka.ts");
  const kafka = new KafkaLog({ brokers });
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  let file: FixtureWriter | undefined;
  const progress = new Progress(`record '${topic}'`, { unit: "records" });
  try {
    try {
      await kafka.partitionCount(topic);
    } catch (error) {
      throw new UsageError(
        `cannot record topic '${topic}': ${(error as Error).message}`,
      );
    }
    let start: RecordStart = { from: from_beginning ? "beginning" : "end" };
    if (since_ms !== undefined) {
      const { offsetsForTime } = await import(
        "../adapters/kafka/offsets_by_time.ts"
      );
      start = {
        from: "offsets",
        offsets: await offsetsForTime({ brokers }, topic, since_ms),
      };
    }
    file = await openFixture(out);
    const writer = file;
    const result = await recordTopic(kafka, (text) => writer.write(text), {
      topic,
      start,
      max,
      signal: stop.signal,
      onProgress: (done, total) => progress.update({ done, total }),
    });
    progress.finish();
    await file.close();
    file = undefined;
    logRecorded(log, topic, out, result);
  } finally {
    progress.finish();
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    await file?.close();
    await kafka.close();
    await closeLogging();
  }
  return 0;
}

function logRecorded(
  log: Logger,
  topic: string,
  out: string,
  result: RecordTopicResult,
): void {
  log.info(
    "recorded {records} records of '{topic}' to {out} ({why}); replay: deno task sim --job JOB --fixture {out}",
    {
      event: "recorded",
      records: result.records,
      unreadable: result.unreadable,
      topic,
      out,
      stopped: result.stopped,
      why: result.stopped === "caught-up"
        ? "caught up with the end offsets seen at the start"
        : result.stopped === "max"
        ? "--max reached"
        : "stopped by a signal",
      positions: result.positions,
    },
  );
}

interface FixtureWriter {
  write(text: string): Promise<void>;
  close(): Promise<void>;
}

/** Opens `path` for writing, through gzip when it ends in `.gz`. */
async function openFixture(path: string): Promise<FixtureWriter> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { write: true, create: true, truncate: true });
  } catch (error) {
    throw new UsageError(
      `cannot write fixture '${path}': ${(error as Error).message}`,
    );
  }
  const encoder = new TextEncoder();
  if (!path.endsWith(".gz")) {
    return {
      write: async (text) => {
        const bytes = encoder.encode(text);
        for (let at = 0; at < bytes.length;) {
          at += await file.write(bytes.subarray(at));
        }
      },
      close: () => Promise.resolve(file.close()),
    };
  }
  const gzip = new CompressionStream("gzip");
  const piped = gzip.readable.pipeTo(file.writable);
  const writer = gzip.writable.getWriter();
  return {
    write: (text) => writer.write(encoder.encode(text)),
    close: async () => {
      await writer.close();
      await piped; // closes the file
    },
  };
}
