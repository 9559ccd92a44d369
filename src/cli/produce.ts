/**
 * `freshet produce`: writes a fixture to a job's Kafka topic, as fast as
 * possible or paced, with its progress on stderr (`progress.ts`).
 *
 * @module
 */

import {
  flagHelp,
  type FlagSpec,
  intFlag,
  parseArgs,
  readFixtureText,
  UsageError,
} from "./args.ts";
import { CONFIG_FLAGS, jobOverrides, loadSettings } from "./options.ts";
import { selectJobs } from "./jobs.ts";
import { parseFixture } from "../core/fixture.ts";
import type { LogMessage } from "../ports.ts";
import { closeLogging, logger, setupLogging } from "../logging/setup.ts";
import { LOG_FLAGS, logOptions } from "./log_flags.ts";
import { Progress } from "./progress.ts";
import {
  FRAME_BOOLEAN_FLAGS,
  FRAME_VALUE_FLAGS,
  wantsFrameSource,
} from "./frame_flags.ts";

const PRODUCE_SPEC: FlagSpec = {
  values: {
    job: "job whose input topic receives the fixture (required, or --job-file)",
    "job-file": "a job of your own (module exporting defineJob({...}))",
    fixture: "fixture file (default: the job's own)",
    rate: "messages per second (default: as fast as possible)",
    topic: "topic to write instead of the job's own",
    config: "JSON config file of settings",
    ...FRAME_VALUE_FLAGS,
    ...LOG_FLAGS,
    ...CONFIG_FLAGS,
  },
  booleans: { ...FRAME_BOOLEAN_FLAGS, help: "print this help" },
};

/** Help of `freshet produce`. */
export const PRODUCE_HELP =
  `freshet produce: write a fixture to the job's Kafka topic

Usage: deno task produce --job NAME [--fixture FILE] [--rate N]
       deno task produce --job frames (--images DIR | --video FILE |
         --webcam DEVICE | --mjpeg URL | --synthetic [--size WxH] [--seed N])
         [--fps N] [--source NAME] [--frames N | --duration S] [--loop]

Recorded records keep their key; raw payloads are keyed as the job expects
(views: by videoId). Configured like 'run --prod'.

Flags:
${flagHelp(PRODUCE_SPEC)}`;

/** Runs `freshet produce`; answers the exit code. */
export async function produceCommand(args: readonly string[]): Promise<number> {
  const parsed = parseArgs(args, PRODUCE_SPEC);
  if (parsed.booleans.has("help")) {
    console.log(PRODUCE_HELP);
    return 0;
  }
  const name = parsed.values.get("job");
  const file = parsed.values.get("job-file");
  if (name === undefined && file === undefined) {
    throw new UsageError("produce needs --job NAME or --job-file PATH");
  }
  const [entry] = await selectJobs(name, file);
  if (wantsFrameSource(parsed)) {
    // Loaded here: the frame sources need --allow-ffi (see frame_flags.ts).
    const { produceFramesCommand } = await import("./produce_frames.ts");
    return await produceFramesCommand(parsed, entry!);
  }
  const path = parsed.values.get("fixture") ?? entry!.fixture;
  if (path === undefined) {
    throw new UsageError(
      `job '${
        entry!.name
      }' has no recorded fixture: give one with --fixture FILE`,
    );
  }
  const text = await readFixtureText(path);
  const rate = intFlag(parsed, "rate", 0);
  if (rate < 0) {
    throw new UsageError(`flag --rate must not be negative: got ${rate}`);
  }
  const job = entry!.create(jobOverrides(parsed, [entry!]));
  const settings = await loadSettings(parsed);
  await setupLogging(logOptions(parsed));
  const { KafkaLog } = await import("../adapters/kafka.ts");
  const log = new KafkaLog({ brokers: settings.kafka().brokers });
  try {
    await log.createTopic(job.topic, job.partitions);
    const partitions = await log.partitionCount(job.topic);
    const messages: LogMessage[] = parseFixture(text).map((m) => ({
      key: m.key !== undefined ? m.key : job.route(m.value).key,
      value: m.value,
      ...(m.partition !== undefined && m.partition < partitions
        ? { partition: m.partition }
        : {}),
    }));
    const batch = rate > 0
      ? Math.max(1, Math.min(500, Math.floor(rate / 10)))
      : 500;
    const started = performance.now();
    const progress = new Progress(`produce to '${job.topic}'`, {
      unit: "messages",
    });
    try {
      for (let i = 0; i < messages.length; i += batch) {
        await log.produce(job.topic, messages.slice(i, i + batch));
        progress.update({
          done: Math.min(i + batch, messages.length),
          total: messages.length,
        });
        if (rate > 0) {
          const due_ms = ((i + batch) / rate) * 1000 -
            (performance.now() - started);
          if (due_ms > 0) {
            await new Promise((resolve) => setTimeout(resolve, due_ms));
          }
        }
      }
    } finally {
      progress.finish();
    }
    const seconds = (performance.now() - started) / 1000;
    logger("produce").info(
      "produced {messages} messages from {fixture} to '{topic}' in {seconds} s",
      {
        messages: messages.length,
        fixture: path,
        topic: job.topic,
        seconds: Number(seconds.toFixed(1)),
      },
    );
  } finally {
    await log.close();
    await closeLogging();
  }
  return 0;
}
