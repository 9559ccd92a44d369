/**
 * What `freshet inspect` reports of a job, gathered from the ports alone (a
 * {@linkcode Log} and an {@linkcode ObjectStore}), so that the simulator's
 * twins drive it as well as Kafka and S3: per partition of every stage's
 * topic, the newest committed checkpoint (its offset, state object, epoch
 * and watermark), the consumer group's committed offset, the end offset and
 * the lag.
 *
 * A stage's checkpoints are in one of two places, as the runner keeps them:
 * - `manifest`: the {@linkcode CheckpointStore}'s newest manifest
 *   (`<prefix>/<job>/<topic>/<partition>/manifest/<seq>.json`) names the
 *   state object;
 * - `offset`: a stage with a Kafka sink commits through its transactions:
 *   the group's committed offset carries the state object's key as metadata
 *   (`src/sinks/kafka.ts`, whose parser this reuses).
 *
 * The watermark is the one the job's own processor has after restoring the
 * snapshot, exactly what the runner reports for a live partition. The
 * {@linkcode ObjectStore} port tells no modification time, and a checkpoint
 * holds no commit time, so the age is measured from the append time of the
 * last record the checkpoint covers (offset − 1): the checkpoint was
 * committed after it, so the true age is at most this; an idle partition's
 * checkpoint looks as old as its last record.
 *
 * @module
 */

import type { Log, ObjectStore } from "../ports.ts";
import type { Job, Stage } from "../core/job.ts";
import { CheckpointStore } from "../core/checkpoint.ts";
import { isKafkaSink, parseMetadata } from "../sinks/kafka.ts";

/** Where a stage keeps its checkpoints; see the module doc. */
export type CheckpointPlace = "manifest" | "offset" | "sink";

/** One partition of a stage's topic, as `freshet inspect` prints it. */
export interface CheckpointRow {
  /** The job's name. */
  job: string;
  /** The stage's topic: the job's input, or an internal (repartition) topic. */
  topic: string;
  /** Index of the stage in the job: 0 reads the input topic. */
  stage: number;
  /** The partition of `topic`. */
  partition: number;
  /** Where the stage keeps its checkpoints. */
  kept_in: CheckpointPlace;
  /** Next offset a restore reads from; null when no checkpoint was committed. */
  offset: number | null;
  /** Epoch of the owner that committed the checkpoint. */
  epoch: number | null;
  /** Key of the checkpoint's state object in the object store. */
  state_key: string | null;
  /** Size of the state object, in bytes. */
  state_bytes: number | null;
  /** The watermark the snapshot restores (epoch ms); null before any event. */
  watermark_ms: number | null;
  /** Append time of the last record the checkpoint covers (offset − 1). */
  last_record_ms: number | null;
  /** `now_ms − last_record_ms`: at least the checkpoint's age (see the module doc). */
  age_ms: number | null;
  /** The consumer group's committed offset; null when it committed none. */
  committed_offset: number | null;
  /** Offset after the partition's last committed record. */
  end_offset: number;
  /**
   * Offsets between where the job resumes (see `lag_from`) and the end, as
   * Kafka's tools count them: a topic written in transactions ends in a
   * commit marker, so a caught-up partition of one may show 1.
   */
  lag: number;
  /**
   * What `lag` counts from: the committed offset, else the checkpoint's
   * (object-store checkpoints commit no group offset), else offset 0.
   */
  lag_from: "committed" | "checkpoint" | "start";
  /** Why part of the row is missing (an unreadable checkpoint, ...), or null. */
  note: string | null;
}

/** A stage topic that could not be read (an internal topic not created yet). */
export interface SkippedTopic {
  /** The stage's topic. */
  topic: string;
  /** What the log answered. */
  reason: string;
}

/** What {@linkcode inspectCheckpoints} found. */
export interface Inspection {
  /** The job's name. */
  job: string;
  /** The consumer group asked for committed offsets. */
  group_id: string;
  /** By stage, then partition. */
  rows: CheckpointRow[];
  /** Internal topics that could not be read. */
  skipped: SkippedTopic[];
}

/** The ports {@linkcode inspectCheckpoints} reads. */
export interface InspectPorts {
  /** The log (Kafka): offsets, and the records checkpoints end at. */
  log: Log;
  /** The object store (S3) holding the checkpoints. */
  objects: ObjectStore;
}

/** Options of {@linkcode inspectCheckpoints}. */
export interface InspectOptions {
  /** The time ages are measured to, in epoch ms. */
  now_ms: number;
  /** Consumer group. Default: `freshet-<job>`, the runner's. */
  group_id?: string;
  /** Key prefix of checkpoints in the object store. Default: `checkpoints`. */
  checkpoint_prefix?: string;
  /** Partitions read at once. Default: 4. */
  concurrency?: number;
}

/**
 * Reads every stage's checkpoints and offsets; reads only, never claims.
 * Rejects when the job's input topic cannot be read; an internal topic that
 * cannot is reported in `skipped`.
 */
export async function inspectCheckpoints(
  job: Job,
  ports: InspectPorts,
  options: InspectOptions,
): Promise<Inspection> {
  const group_id = options.group_id ?? `freshet-${job.name}`;
  const store = new CheckpointStore(ports.objects, {
    prefix: options.checkpoint_prefix,
  });
  const rows: CheckpointRow[] = [];
  const skipped: SkippedTopic[] = [];
  for (const [index, stage] of job.stages.entries()) {
    let partitions: number;
    try {
      partitions = await ports.log.partitionCount(stage.topic);
    } catch (error) {
      if (index === 0) throw error;
      skipped.push({ topic: stage.topic, reason: messageOf(error) });
      continue;
    }
    const ends = await ports.log.endOffsets(stage.topic);
    const committed = await ports.log.committedOffsets(group_id, stage.topic);
    const context: StageContext = {
      job,
      stage,
      index,
      partitions,
      kept_in: placeOf(stage),
      ports,
      store,
      now_ms: options.now_ms,
    };
    rows.push(
      ...await limited(
        Array.from({ length: partitions }, (_, partition) => () => {
          const found = committed.find((c) => c.partition === partition);
          return inspectPartition(context, partition, {
            end_offset: ends[partition] ?? 0,
            committed: found !== undefined && found.offset >= 0 ? found : null,
          });
        }),
        options.concurrency ?? 4,
      ),
    );
  }
  return { job: job.name, group_id, rows, skipped };
}

interface StageContext {
  job: Job;
  stage: Stage;
  index: number;
  partitions: number;
  kept_in: CheckpointPlace;
  ports: InspectPorts;
  store: CheckpointStore;
  now_ms: number;
}

/** As the runner chooses a stage's checkpoint log (`Runner#logOf`). */
function placeOf(stage: Stage): CheckpointPlace {
  if (stage.sinks.some(isKafkaSink)) return "offset";
  if (stage.sinks.some((s) => s.checkpointLog !== undefined)) return "sink";
  return "manifest";
}

async function inspectPartition(
  context: StageContext,
  partition: number,
  offsets: {
    end_offset: number;
    committed: { offset: number; metadata: string | null } | null;
  },
): Promise<CheckpointRow> {
  const { job, stage, ports, store } = context;
  const id = { job: job.name, topic: stage.topic, partition };
  const notes: string[] = [];
  let stored:
    | Awaited<ReturnType<CheckpointStore["readStored"]>>
    | null = null;
  try {
    if (context.kept_in === "manifest") {
      stored = await store.latestStored(id);
    } else if (context.kept_in === "offset" && offsets.committed !== null) {
      const metadata = parseMetadata(offsets.committed.metadata, id);
      stored = await store.readStored(metadata.state_key);
    } else if (context.kept_in === "sink") {
      notes.push(
        "a sink of the stage keeps its checkpoints in a way inspect cannot read",
      );
    }
  } catch (error) {
    notes.push(messageOf(error));
  }
  const checkpoint = stored?.checkpoint ?? null;
  let watermark_ms: number | null = null;
  let last_record_ms: number | null = null;
  if (checkpoint !== null) {
    try {
      watermark_ms = restoredWatermark(
        stage,
        partition,
        context.partitions,
        checkpoint.state,
      );
    } catch (error) {
      notes.push(`watermark unknown: ${messageOf(error)}`);
    }
    try {
      last_record_ms = await lastRecordTime(
        ports.log,
        stage.topic,
        partition,
        checkpoint.position,
      );
    } catch (error) {
      notes.push(`age unknown: ${messageOf(error)}`);
    }
  }
  const committed_offset = offsets.committed?.offset ?? null;
  const from = committed_offset ?? checkpoint?.position ?? 0;
  return {
    job: job.name,
    topic: stage.topic,
    stage: context.index,
    partition,
    kept_in: context.kept_in,
    offset: checkpoint?.position ?? null,
    epoch: checkpoint?.epoch ?? null,
    state_key: stored?.key ?? null,
    state_bytes: stored?.size_bytes ?? null,
    watermark_ms,
    last_record_ms,
    age_ms: last_record_ms === null ? null : context.now_ms - last_record_ms,
    committed_offset,
    end_offset: offsets.end_offset,
    lag: Math.max(0, offsets.end_offset - from),
    lag_from: committed_offset !== null
      ? "committed"
      : checkpoint !== null
      ? "checkpoint"
      : "start",
    note: notes.length === 0 ? null : notes.join("; "),
  };
}

/**
 * The watermark of a snapshot, as the stage's own processor restores it
 * (the snapshot's layout is the processor's business); null before any
 * event or for a processor that tells none.
 */
function restoredWatermark(
  stage: Stage,
  partition: number,
  partitions: number,
  snapshot: unknown,
): number | null {
  const processor = stage.createProcessor(partition, { partitions });
  processor.restore(snapshot);
  const watermark = processor.watermark?.();
  return watermark !== undefined && Number.isFinite(watermark)
    ? watermark
    : null;
}

/**
 * Append time of the record just before `position`: the last one a
 * checkpoint at `position` covers. Null at position 0, or when retention
 * deleted it.
 */
async function lastRecordTime(
  log: Log,
  topic: string,
  partition: number,
  position: number,
): Promise<number | null> {
  if (position <= 0) return null;
  const [record] = await log.read(topic, partition, position - 1, 1);
  return record?.offset === position - 1 ? record.timestamp : null;
}

/** Runs `calls` at most `limit` at a time, answering in their order. */
async function limited<T>(
  calls: ReadonlyArray<() => Promise<T>>,
  limit: number,
): Promise<T[]> {
  const results: T[] = new Array(calls.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, limit) }, async () => {
      while (next < calls.length) {
        const i = next++;
        results[i] = await calls[i]!();
      }
    }),
  );
  return results;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// ---- output ----

/** One JSON object per partition, a line each (the `--json` output). */
export function formatJsonLines(inspection: Inspection): string {
  return inspection.rows.map((row) => JSON.stringify(row) + "\n").join("");
}

const COLUMNS = [
  "TOPIC",
  "PARTITION",
  "OFFSET",
  "AGE",
  "STATE",
  "WATERMARK",
  "COMMITTED",
  "END",
  "LAG",
  "KEPT IN",
] as const;

/** Columns whose values are numbers, aligned right. */
const NUMERIC = new Set(["PARTITION", "OFFSET", "COMMITTED", "END", "LAG"]);

/**
 * The table `freshet inspect` prints: a line naming the job and group, a
 * row per partition ("none" where a partition has no checkpoint or no
 * committed offset), then the rows' notes.
 */
export function formatTable(inspection: Inspection): string {
  const cells = inspection.rows.map((row) => {
    const none = row.offset === null;
    return [
      row.topic,
      String(row.partition),
      none ? "none" : String(row.offset),
      none ? "-" : row.age_ms === null ? "?" : formatDuration(row.age_ms),
      row.state_bytes === null ? "-" : formatBytes(row.state_bytes),
      none
        ? "-"
        : row.watermark_ms === null
        ? "none"
        : formatTime(row.watermark_ms),
      row.committed_offset === null ? "none" : String(row.committed_offset),
      String(row.end_offset),
      String(row.lag),
      row.kept_in,
    ];
  });
  const widths = COLUMNS.map((title, i) =>
    Math.max(title.length, ...cells.map((row) => row[i]!.length))
  );
  const line = (values: readonly string[]) =>
    values.map((value, i) => {
      const width = widths[i]!;
      return NUMERIC.has(COLUMNS[i]!)
        ? value.padStart(width)
        : value.padEnd(width);
    }).join("  ").trimEnd();
  const lines = [
    `job '${inspection.job}', consumer group '${inspection.group_id}'`,
    line(COLUMNS),
    ...cells.map(line),
  ];
  for (const row of inspection.rows) {
    if (row.note !== null) {
      lines.push(`note: ${row.topic} partition ${row.partition}: ${row.note}`);
    }
  }
  return lines.join("\n") + "\n";
}

/** A duration as a person reads it: `850ms`, `42s`, `3m07s`, `2h05m`, `3d04h`. */
export function formatDuration(ms: number): string {
  if (ms < 0) return `-${formatDuration(-ms)}`;
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  const s = Math.floor(ms / 1_000);
  if (s < 60) return `${s}s`;
  const two = (n: number) => String(n).padStart(2, "0");
  if (s < 3_600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  if (s < 86_400) {
    return `${Math.floor(s / 3_600)}h${two(Math.floor(s / 60) % 60)}m`;
  }
  return `${Math.floor(s / 86_400)}d${two(Math.floor(s / 3_600) % 24)}h`;
}

/** A size in bytes as a person reads it: `512 B`, `14.2 KiB`, `3.0 MiB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** An instant as ISO-8601 UTC; a number beyond dates' range as it is. */
function formatTime(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? String(ms) : date.toISOString();
}
