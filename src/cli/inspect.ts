/**
 * `freshet inspect`: a job's checkpoints and consumer lag, per partition of
 * its input topic and of its internal (repartition) topics, read from Kafka
 * and S3 without claiming anything (a running job is not disturbed). What
 * it reads and how: `inspect_checkpoints.ts`.
 *
 * @module
 */

import { flagHelp, type FlagSpec, parseArgs, UsageError } from "./args.ts";
import { CONFIG_FLAGS, jobOverrides, loadSettings } from "./options.ts";
import { LOG_FLAGS, logOptions } from "./log_flags.ts";
import { selectJobs } from "./jobs.ts";
import { JOBS } from "../jobs/registry.ts";
import { closeLogging, logger, setupLogging } from "../logging/setup.ts";
import {
  formatJsonLines,
  formatTable,
  inspectCheckpoints,
} from "./inspect_checkpoints.ts";

const INSPECT_SPEC: FlagSpec = {
  values: {
    job: `job to inspect: ${JOBS.map((j) => j.name).join(", ")}`,
    "job-file":
      "a job of your own: a module whose default export is defineJob({...})",
    topic:
      "the input topic the job runs with ('run --topic'; default: the job's own); its internal topics follow it",
    "job-options":
      "the job's options as 'run' was given them, name=value,name=value (some name topics)",
    group: "consumer group (default: freshet-<job>, as 'run')",
    "checkpoint-prefix":
      "key prefix of checkpoints in the S3 bucket (default: checkpoints, as 'run')",
    config: "JSON config file of settings",
    ...LOG_FLAGS,
    ...CONFIG_FLAGS,
  },
  booleans: {
    json: "one JSON object per partition and line instead of the table",
    help: "print this help",
  },
};

/** Help of `freshet inspect`. */
export const INSPECT_HELP =
  `freshet inspect: a job's checkpoints and consumer lag, per partition

Usage: deno task inspect --job J [--topic T] [--group G] [--json]

Prints a row per partition of the job's input topic and of its internal
(repartition) topics:
  OFFSET     the checkpoint's position: the next offset a restore reads
             ("none": no checkpoint committed)
  AGE        time since the last record the checkpoint covers was appended
             (a checkpoint holds no commit time, and inspect reads no S3
             modification time): the most the checkpoint's age can be; an
             idle partition's checkpoint looks as old as its last record
  STATE      size of the checkpoint's state object
  WATERMARK  the event-time watermark the snapshot restores
  COMMITTED  the consumer group's committed offset ("none": none committed)
  END, LAG   the end offset, and end minus COMMITTED (minus OFFSET when the
             group committed none: object-store checkpoints commit no offset);
             offsets, as Kafka's tools count them: a topic written in
             transactions ends in a commit marker, so 1 may mean caught up
  KEPT IN    manifest: S3, <prefix>/<job>/<topic>/<partition>/manifest/;
             offset: the committed offset's metadata names the state object
             (jobs writing to Kafka in transactions)

Reads only: it claims nothing, so a running job goes on undisturbed.
Configured like 'run --prod' (KAFKA_BROKERS, S3_ENDPOINT, S3_BUCKET, ...).
With --json, one JSON object per partition and line (times in epoch ms).

Flags:
${flagHelp(INSPECT_SPEC)}`;

/** Runs `freshet inspect`; answers the exit code. */
export async function inspectCommand(args: readonly string[]): Promise<number> {
  const parsed = parseArgs(args, INSPECT_SPEC);
  if (parsed.booleans.has("help")) {
    console.log(INSPECT_HELP);
    return 0;
  }
  if (parsed.positional.length > 0) {
    throw new UsageError(
      `inspect takes no positional arguments: got '${parsed.positional[0]}'`,
    );
  }
  const job_name = parsed.values.get("job");
  const job_file = parsed.values.get("job-file");
  if (job_name === undefined && job_file === undefined) {
    throw new UsageError("inspect needs --job NAME or --job-file PATH");
  }
  const entries = await selectJobs(job_name, job_file);
  const overrides = jobOverrides(parsed, entries);
  const job = entries[0]!.create(overrides);
  const checkpoint_prefix = parsed.values.get("checkpoint-prefix");
  if (checkpoint_prefix === "") {
    throw new UsageError("flag --checkpoint-prefix must not be empty");
  }
  const settings = await loadSettings(parsed);
  // Logs go to stderr: stdout is the table or the JSON lines.
  await setupLogging({
    ...logOptions(parsed),
    write: (line) => writeAll(Deno.stderr, line),
  });
  const log = logger("inspect");
  const brokers = settings.kafka().brokers;
  const s3 = settings.s3();
  const { KafkaLog } = await import("../adapters/kafka.ts");
  const { S3ObjectStore } = await import("../adapters/s3.ts");
  const kafka = new KafkaLog({ brokers });
  const objects = S3ObjectStore.fromConfig(s3);
  try {
    try {
      await kafka.partitionCount(job.topic);
    } catch (error) {
      throw new UsageError(
        `cannot inspect job '${job.name}' as its input topic cannot be read: ${
          (error as Error).message
        }`,
      );
    }
    const inspection = await retried(() =>
      inspectCheckpoints(job, { log: kafka, objects }, {
        now_ms: Date.now(),
        group_id: parsed.values.get("group"),
        checkpoint_prefix,
      })
    );
    for (const { topic, reason } of inspection.skipped) {
      log.warn("internal topic '{topic}' skipped: {reason}", {
        event: "skipped",
        topic,
        reason,
      });
    }
    const text = parsed.booleans.has("json")
      ? formatJsonLines(inspection)
      : formatTable(inspection);
    writeAll(Deno.stdout, text);
  } finally {
    await kafka.close();
    await objects.close();
    await closeLogging();
  }
  return 0;
}

function writeAll(stream: { writeSync(p: Uint8Array): number }, text: string) {
  const bytes = new TextEncoder().encode(text);
  for (let done = 0; done < bytes.length;) {
    done += stream.writeSync(bytes.subarray(done));
  }
}

/**
 * Runs a read-only `call` again, twice at most, after an error Kafka calls
 * retriable: kafkajs's admin client does not retry an offset fetch answered
 * NOT_COORDINATOR, which a group being created or moved gives.
 */
async function retried<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await call();
    } catch (error) {
      const retriable = (error as { retriable?: unknown } | null)?.retriable;
      if (attempt >= 3 || retriable !== true) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
    }
  }
}
