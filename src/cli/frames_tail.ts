/**
 * `freshet frames tail`: the `frames` job's outputs live in the terminal.
 * Reads `processed_video_frames` and `video_source_aggregations` as a
 * member of a consumer group of its own (read_committed: only what the
 * job's transactions committed), from now on or from the beginning, and
 * shows a table of per-source statistics redrawn in place with the most
 * recent frames under it (`frames_view.ts`), or one line per record
 * (`--plain`, the default when standard output is not a terminal).
 *
 * @module
 */

import type { Log } from "../ports.ts";
import { flagHelp, type FlagSpec, parseArgs, UsageError } from "./args.ts";
import { CONFIG_FLAGS, loadSettings } from "./options.ts";
import { LOG_FLAGS, logOptions } from "./log_flags.ts";
import { closeLogging, setupLogging } from "../logging/setup.ts";
import {
  frames,
  type FramesTopics,
  PROCESSED_FRAMES,
  SOURCE_AGGREGATIONS,
} from "../jobs/frames/job.ts";
import { FramesView } from "./frames_view.ts";

const TAIL_SPEC: FlagSpec = {
  values: {
    "interval-ms": "milliseconds between redraws of the screen (default 1000)",
    recent: "recent frames listed under the table (default 10)",
    "processed-topic":
      "topic of processed frames (default processed_video_frames)",
    "aggregations-topic":
      "topic of per-source windows (default video_source_aggregations)",
    config: "JSON config file of settings",
    ...LOG_FLAGS,
    ...CONFIG_FLAGS,
  },
  booleans: {
    "from-beginning": "read the topics from their first record, not from now",
    plain: "one line per record instead of a screen redrawn in place",
    help: "print this help",
  },
};

/** Help of `freshet frames`. */
export const FRAMES_HELP = `freshet frames: the frames job's outputs

Usage: deno run -A main.ts frames tail [--from-beginning] [--plain] [--interval-ms N]

  tail   show processed_video_frames and video_source_aggregations live:
         per source the frames seen, their brightness (min/avg/max, last),
         aspect, compression and resolution, and the last window's fps and
         statistics; the most recent frames under it. Reads with
         isolation.level=read_committed; Ctrl-C stops.

Flags of tail:
${flagHelp(TAIL_SPEC)}`;

/** Options of {@linkcode tailFrames}. */
export interface TailFramesOptions {
  /** Read from the first records instead of the end. Default: false. */
  from_beginning?: boolean;
  /** Stops the tail. Default: none (runs until stopped). */
  signal?: AbortSignal;
  /**
   * Stop at the first poll that finds nothing (for tests over the Kafka
   * twin, whose polls answer at once). Default: false.
   */
  until_idle?: boolean;
  /** Consumer group. Default: a new one (`freshet-frames-tail-<uuid>`). */
  group_id?: string;
  /** The job's output topics. Default: the registry job's. */
  topics?: Partial<FramesTopics>;
  /** Called with every record read, in partition order, with its kind. */
  onRecord(kind: keyof FramesTopics, value: string): void;
}

/** Reads the `frames` job's two output topics until stopped. */
export async function tailFrames(
  log: Log,
  options: TailFramesOptions,
): Promise<void> {
  const names: FramesTopics = {
    processed: PROCESSED_FRAMES,
    aggregations: SOURCE_AGGREGATIONS,
    ...options.topics,
  };
  const topics = [names.processed, names.aggregations];
  // Missing topics are created as the job would create them, so a tail
  // started before the job waits for it instead of failing.
  const { partitions } = frames.create();
  for (const topic of topics) await log.createTopic(topic, partitions);
  const consumer = log.consumer({
    groupId: options.group_id ??
      `freshet-frames-tail-${crypto.randomUUID()}`,
    topics,
    hooks: {
      onRevoke: () => Promise.resolve(),
      onAssign: async (assigned) => {
        if (options.from_beginning === true) return assigned.map(() => 0);
        const ends = new Map<string, number[]>();
        for (const { topic } of assigned) {
          if (!ends.has(topic)) ends.set(topic, await log.endOffsets(topic));
        }
        return assigned.map(({ topic, partition }) =>
          ends.get(topic)![partition] ?? 0
        );
      },
    },
  });
  try {
    while (options.signal?.aborted !== true) {
      const batch = await consumer.poll();
      if (batch === null) {
        if (options.until_idle === true) break;
        // Let timers run (a redraw, a stop) when polls answer at once.
        await new Promise((resolve) => setTimeout(resolve, 0));
        continue;
      }
      const kind = batch.topic === names.processed
        ? "processed"
        : "aggregations";
      for (const record of batch.records) {
        options.onRecord(kind, record.value);
      }
    }
  } finally {
    await consumer.close();
  }
}

function positiveInt(
  parsed: ReturnType<typeof parseArgs>,
  flag: string,
  fallback: number,
): number {
  const text = parsed.values.get(flag);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new UsageError(
      `flag --${flag} must be a positive whole number: got '${text}'`,
    );
  }
  return value;
}

/** Runs `freshet frames ...`; answers the exit code. */
export async function framesCommand(args: readonly string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (
    sub === undefined || sub === "--help" || sub === "-h" || sub === "help"
  ) {
    console.log(FRAMES_HELP);
    return 0;
  }
  if (sub !== "tail") {
    throw new UsageError(`unknown frames command '${sub}' (known: tail)`);
  }
  const parsed = parseArgs(rest, TAIL_SPEC);
  if (parsed.booleans.has("help")) {
    console.log(FRAMES_HELP);
    return 0;
  }
  const interval_ms = positiveInt(parsed, "interval-ms", 1000);
  const recent = positiveInt(parsed, "recent", 10);
  const plain = parsed.booleans.has("plain") || !Deno.stdout.isTerminal();
  const settings = await loadSettings(parsed);
  await setupLogging(logOptions(parsed));
  const { KafkaLog } = await import("../adapters/kafka.ts");
  const log = new KafkaLog({ brokers: settings.kafka().brokers });
  const view = new FramesView({ recent_frames: recent });
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  const encoder = new TextEncoder();
  const write = (text: string) => Deno.stdout.writeSync(encoder.encode(text));
  let changed = true;
  const redraw = () => {
    if (!changed) return;
    changed = false;
    // Home, clear the screen, then the view.
    write(`\x1b[H\x1b[2J${view.render()}\n`);
  };
  const timer = plain ? undefined : setInterval(redraw, interval_ms);
  if (!plain) redraw();
  try {
    const topics: Partial<FramesTopics> = {};
    const processed = parsed.values.get("processed-topic");
    const aggregations = parsed.values.get("aggregations-topic");
    if (processed !== undefined) topics.processed = processed;
    if (aggregations !== undefined) topics.aggregations = aggregations;
    await tailFrames(log, {
      topics,
      from_beginning: parsed.booleans.has("from-beginning"),
      signal: stop.signal,
      onRecord(kind, value) {
        const line = view.add(kind, value);
        if (plain) {
          if (line !== null) write(`${line}\n`);
        } else changed = true;
      },
    });
  } finally {
    if (timer !== undefined) clearInterval(timer);
    Deno.removeSignalListener("SIGINT", onSignal);
    if (!plain) {
      changed = true;
      redraw();
    }
    await log.close();
    await closeLogging();
  }
  return 0;
}
