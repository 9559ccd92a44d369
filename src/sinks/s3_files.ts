/**
 * The S3 file sink: files in an object store, exactly once, by two-phase
 * commit. Records roll into files by deterministic rules (`file_roll.ts`:
 * event-time slots, size, seals, end of input); each finished file is
 * staged, recorded in the checkpoint, and published under its final key
 * once that checkpoint is durable.
 *
 * Protocol (`at-checkpoint`, as Flink's `TwoPhaseCommitSinkFunction` and
 * Arroyo's `TwoPhaseCommitter`):
 * - **write**: each batch's records go to their files in memory; a file
 *   the batch finished is written whole to a staging object in the
 *   background, while the job goes on (no reader looks there);
 * - **prepare** (at a checkpoint, the pre-commit): background staging is
 *   awaited (its failure is the prepare's, which the runner retries), what
 *   is still unstaged is staged, and the records an open file received since the last
 *   checkpoint go to a staged part. The answer, stored in the checkpoint,
 *   names the files to publish (final key and staging object), the open
 *   files with their parts, and how many records the partition gave the
 *   sink;
 * - **commit** (after the checkpoint is durable): each named file is copied
 *   from its staging object to its final key, then the staging object is
 *   deleted; parts no open file of this checkpoint needs are deleted;
 * - **open** (taking the partition, with the restored checkpoint's answer):
 *   publishes again every file that checkpoint names (its commit may never
 *   have run: recovery redoes publishing), reads the open files' parts back,
 *   and deletes staged objects that no durable checkpoint references.
 *
 * Publishing is idempotent: a file's final key and bytes are functions of
 * the partition's record sequence, so copying again writes the same bytes;
 * a staging object that is already gone was copied before it was deleted,
 * so its final object exists (checked with a listing) and the copy is
 * skipped.
 *
 * A stale instance can never publish: it publishes only in `commit`, which
 * the runner calls only after the checkpoint log accepted the checkpoint,
 * and a newer owner's claim makes the log refuse the older owner's next
 * checkpoint (`FencedError`). A file it stages and never gets to record
 * stays in the staging area until a later owner deletes it, as does a file
 * staged by a batch that no checkpoint recorded before a crash.
 *
 * **Why cleanup at `open` is safe.** Staging objects live under
 * `<staging_prefix>/<job>/<topic>/<partition>/`, their names starting with
 * the epoch of the owner that wrote them. A new owner claims the partition
 * (epoch `e`, larger than every earlier claim's) and restores the newest
 * durable checkpoint `C`; from then on no owner with an epoch below `e` can
 * commit a checkpoint (the log fences it). So an object of an epoch below
 * `e` that `C` does not reference can never be referenced by a durable
 * checkpoint: later checkpoints come from owners of epoch `e` or above, and
 * reference what they staged themselves or what the checkpoint they
 * restored references, which is `C` or a checkpoint descending from it. The
 * new owner deletes exactly those: only its partition's directory, never an
 * object of its own epoch or a newer one (a newer owner may be staging it
 * for a checkpoint it is about to commit). An older owner still running may
 * stage more objects after the listing; the next owner's cleanup deletes
 * them. At `commit`, the deleted parts are those of the previous durable
 * checkpoint that the new one no longer names: recovery only ever reads the
 * newest checkpoint.
 *
 * Final keys are partitioned by the slot of each record's event time (the
 * window's start, not processing time):
 * `<prefix>/dt=YYYY-MM-DD/hour=HH/part-<partition>-<first>-<last>.<ext>`,
 * `<first>` and `<last>` the numbers of the file's first and last record in
 * the partition's sequence of records (not input offsets: a file's records
 * come from many input records, and reordering within the out-of-orderness
 * bound moves offsets but not that sequence). Lines keep the order the job
 * wrote them in. With a `bucket` option, a record's directory is the
 * bucket it names instead (`<prefix>/<bucket>/part-...`), while its slot
 * still decides when its file is finished (`file_roll.ts`).
 *
 * The file format is pluggable (`file_format.ts`): JSON Lines here, a bulk
 * encoder (Parquet) for the sessions job.
 *
 * @module
 */

import type { ObjectStore } from "../ports.ts";
import { TICKS_PER_POSITION } from "../core/runner.ts";
import type { FileFormat } from "./file_format.ts";
import {
  type BucketOf,
  FileBatch,
  fileKey,
  FileRoller,
  type OpenFile,
  type OpenFileState,
} from "./file_roll.ts";
import {
  missingPort,
  type Sink,
  type SinkContext,
  type SinkWriter,
} from "./sink.ts";

export { FileBatch } from "./file_roll.ts";

/** Default {@linkcode S3FilesSinkOptions.staging_prefix}. */
export const DEFAULT_STAGING_PREFIX = "freshet-staging";

/** Options of {@linkcode s3FilesSink}. */
export interface S3FilesSinkOptions<R> {
  /** Unique within the job: it keys the sink's handle in checkpoints. Default: `"s3-files"`. */
  name?: string;
  /** Key prefix of published files, e.g. `clickstream-events` (a trailing `/` is dropped). */
  prefix: string;
  /** How records become file bytes, e.g. `jsonLines()`. */
  format: FileFormat<R>;
  /**
   * The directory of a record's file under `prefix` (Flink's bucket
   * assigner), e.g. `date=2026-03-14`: one or more `/`-separated segments
   * of `[A-Za-z0-9._=-]`; a function of the record alone. Records of one
   * slot and bucket share files. Default: the slot's
   * `dt=YYYY-MM-DD/hour=HH`.
   */
  bucket?: (record: R) => string;
  /**
   * Event-time span of a file: records whose time falls in one slot of this
   * length (aligned to the epoch) share files. Must divide an hour. Default:
   * 300 000 (5 minutes).
   */
  roll_interval_ms?: number;
  /** A file rolls before a record would take it past this size. Default: 67 108 864 (64 MiB). */
  roll_max_bytes?: number;
  /** A file rolls before it would hold more records. Default: `Infinity`. */
  roll_max_records?: number;
  /**
   * Also finishes every open file at each checkpoint (Flink's
   * `OnCheckpointRollingPolicy`): nothing stays open between checkpoints,
   * but file boundaries and keys then depend on when checkpoints happen, so
   * two runs of the same input (a replay, a restart) cut files differently;
   * every record is still published exactly once. Default: false.
   */
  roll_at_checkpoint?: boolean;
  /**
   * Where staged files and parts go, per job, topic and partition; keep it
   * outside `prefix` so readers of the outputs never see staging objects.
   * Default: `freshet-staging`.
   */
  staging_prefix?: string;
  /**
   * Object store requests in flight at once while staging, publishing and
   * deleting (files are independent; each file's copy still precedes its
   * delete). Default: 16.
   */
  concurrency?: number;
  /**
   * Deliberately broken, for tests of the exactly-once checker only:
   * publishes finished files in `prepare`, before the checkpoint recording
   * them is durable. Default: false.
   */
  unsafe_publish_before_checkpoint?: boolean;
}

/** A file to publish, as a checkpoint records it. */
export interface PublishEntry {
  /** Final key. */
  key: string;
  /** Staging object holding the whole file. */
  staged: string;
}

/** What the sink stores in a checkpoint (its `prepare` answer). */
export interface FilesHandle {
  /** Format version: a restore refuses any other, rather than misread it. */
  version: 1;
  /** Records the partition gave the sink up to the checkpoint: the next record's number. */
  records: number;
  /** The highest event time sealed, or null before any seal. */
  sealed_ms: number | null;
  /** Files finished in the interval: published at commit, and again by recovery. */
  publish: PublishEntry[];
  /** Files still open, their records in staged parts. */
  open: OpenFileState[];
}

const END_OF_INPUT_FRACTION = (TICKS_PER_POSITION - 1) / TICKS_PER_POSITION;
const EPOCH_NAME = /^(\d{10})-/;
const decoder = new TextDecoder();
const encoder = new TextEncoder();

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

/** The epoch a staging object's name starts with, or undefined for a foreign object. */
function epochOf(name: string): number | undefined {
  const match = EPOCH_NAME.exec(name);
  return match === null ? undefined : Number(match[1]);
}

/** Whether `position` is the end of a bounded input (see `sink.ts`). */
function isEndOfInput(position: number): boolean {
  return position - Math.floor(position) === END_OF_INPUT_FRACTION;
}

/**
 * Copies a staged file to its final key and deletes the staging object;
 * idempotent (see the module documentation).
 */
async function publish(
  objects: ObjectStore,
  entry: PublishEntry,
): Promise<void> {
  try {
    await objects.copy(entry.staged, entry.key);
  } catch (error) {
    // Already published (and the staging object deleted), or the copy
    // landed and its reply was lost: the final object exists.
    const found = await objects.list(entry.key);
    if (!found.includes(entry.key)) throw error;
  }
  await objects.delete(entry.staged);
}

/**
 * Runs `task` for each item, at most `limit` at once. After a failure no
 * new task starts; the running ones are awaited (none keeps going after
 * the call settles), then the first error is thrown.
 */
async function eachLimit<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | null = null;
  const worker = async () => {
    while (failure === null && next < items.length) {
      const item = items[next++]!;
      try {
        await task(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  const workers = Math.min(limit, items.length);
  await Promise.all(Array.from({ length: workers }, worker));
  if (failure !== null) throw (failure as { error: unknown }).error;
}

/** The restored handle, checked; an empty one without a checkpoint. */
function restoredHandle(sink: string, restored: unknown): FilesHandle {
  if (restored === undefined || restored === null) {
    return { version: 1, records: 0, sealed_ms: null, publish: [], open: [] };
  }
  const h = restored as Partial<FilesHandle>;
  if (
    typeof h !== "object" || h.version !== 1 ||
    !Number.isSafeInteger(h.records) || !Array.isArray(h.publish) ||
    !Array.isArray(h.open)
  ) {
    throw new TypeError(
      `Cannot open sink '${sink}' as its checkpoint handle must be a version 1 files handle: current value is ${
        JSON.stringify(restored)?.slice(0, 200)
      }`,
    );
  }
  return h as FilesHandle;
}

/**
 * A sink writing files to the object store port, exactly once; see the
 * module documentation. Its buffer is a {@linkcode FileBatch}: `add(time_ms,
 * record)` and `seal(through_ms)`.
 */
export function s3FilesSink<R>(
  options: S3FilesSinkOptions<R>,
): Sink<FileBatch<R>> {
  const name = options.name ?? "s3-files";
  const prefix = options.prefix.replace(/\/+$/, "");
  if (prefix === "") {
    throw new RangeError(
      `Cannot create sink '${name}' as 'prefix' must not be empty: current value is '${options.prefix}'`,
    );
  }
  const staging_root = (options.staging_prefix ?? DEFAULT_STAGING_PREFIX)
    .replace(/\/+$/, "");
  if (
    staging_root === "" || staging_root === prefix ||
    staging_root.startsWith(`${prefix}/`)
  ) {
    throw new RangeError(
      `Cannot create sink '${name}' as 'staging_prefix' must be a non-empty prefix outside 'prefix' ('${prefix}'): current value is '${options.staging_prefix}'`,
    );
  }
  const format = options.format;
  const bucket: BucketOf<R> | undefined = options.bucket;
  const rules = {
    interval_ms: options.roll_interval_ms ?? 300_000,
    max_bytes: options.roll_max_bytes ?? 67_108_864,
    max_records: options.roll_max_records ?? Number.POSITIVE_INFINITY,
  };
  // Bad rules fail when the job is built, not at the first record.
  new FileRoller(rules);
  const roll_at_checkpoint = options.roll_at_checkpoint ?? false;
  const early = options.unsafe_publish_before_checkpoint ?? false;
  const concurrency = options.concurrency ?? 16;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
    throw new RangeError(
      `Cannot create sink '${name}' as 'concurrency' must be a positive integer: current value is ${concurrency}`,
    );
  }

  return {
    name,
    protocol: "at-checkpoint",
    buffer: () => new FileBatch(format, bucket),
    isEmpty: (batch) => batch.isEmpty(),
    async open(context: SinkContext): Promise<SinkWriter<FileBatch<R>>> {
      const objects = context.ports.objects;
      if (objects === undefined) throw missingPort(name, "objects");
      const { epoch, partition } = context;
      const dir =
        `${staging_root}/${context.job}/${context.topic}/${partition}/`;
      const restored = restoredHandle(name, context.restored);

      // Recovery redoes publishing: the restored checkpoint's commit may
      // not have run, or not to its end.
      await eachLimit(
        restored.publish,
        concurrency,
        (entry) => publish(objects, entry),
      );

      const roller = new FileRoller<R>(rules, {
        next_record: restored.records,
        sealed_ms: restored.sealed_ms ?? Number.NEGATIVE_INFINITY,
      });
      for (const state of restored.open) {
        const records: R[] = [];
        for (const part of state.parts) {
          const body = await objects.get(part);
          if (body === null) {
            throw new Error(
              `Cannot open sink '${name}' for partition ${partition} as the staged part '${part}' of an open file is missing`,
            );
          }
          const text = decoder.decode(body);
          for (const line of text.split("\n")) {
            if (line !== "") records.push(format.unstage(line));
          }
        }
        if (records.length !== state.records) {
          throw new Error(
            `Cannot open sink '${name}' for partition ${partition} as the staged parts of the open file starting at record ${state.first} hold ${records.length} records: expected ${state.records}`,
          );
        }
        roller.resume({ ...state, records, staged: records.length });
      }

      // Staged objects of fenced owners that the newest durable checkpoint
      // does not reference can never be referenced again (module doc).
      const referenced = new Set(restored.open.flatMap((o) => o.parts));
      const garbage = (await objects.list(dir)).filter((key) => {
        const owner = epochOf(key.slice(dir.length));
        return owner !== undefined && owner < epoch && !referenced.has(key);
      });
      await eachLimit(garbage, concurrency, (key) => objects.delete(key));

      /** Parts the last durable checkpoint references. */
      let durable_parts = referenced;
      /** Files finished and not staged yet. */
      let unstaged: OpenFile<R>[] = [];
      /** Files staged since the last successful prepare. */
      let staged: PublishEntry[] = [];
      /** Position of the last batch the roller took (a retried write repeats it). */
      let taken = Number.NEGATIVE_INFINITY;
      const stagedName = (file: OpenFile<R>) =>
        `${dir}${pad(epoch, 10)}-${pad(file.first, 10)}-${
          pad(file.last, 10)
        }.${format.extension}`;
      const partName = (file: OpenFile<R>) =>
        `${dir}${pad(epoch, 10)}-${pad(file.first, 10)}-part-${
          pad(file.parts.length, 6)
        }.lines`;
      /** Stages every finished file; a failure leaves the rest to a retry. */
      const stageFinished = async () => {
        const files = unstaged;
        const entries = files.map((file) => ({
          key: fileKey(prefix, partition, file, format.extension),
          staged: stagedName(file),
        }));
        await eachLimit(
          files.map((file, i) => [file, entries[i]!.staged] as const),
          concurrency,
          ([file, key]) => objects.put(key, format.encode(file.records)),
        );
        // Staged: only the names are kept, the records are let go.
        staged = [...staged, ...entries];
        unstaged = unstaged.slice(files.length);
      };
      /** Staging in the background, and why it stopped if it failed. */
      let staging: Promise<void> | null = null;
      let staging_failure: { error: unknown } | null = null;
      const stageInBackground = () => {
        if (staging !== null || staging_failure !== null) return;
        staging = (async () => {
          try {
            while (unstaged.length > 0) await stageFinished();
          } catch (error) {
            staging_failure = { error };
          } finally {
            staging = null;
          }
        })();
      };
      /** Waits for background staging; its failure is this call's. */
      const settleStaging = async () => {
        if (staging !== null) await staging;
        if (staging_failure !== null) {
          const { error } = staging_failure;
          staging_failure = null;
          throw error;
        }
      };

      const write = (batch: FileBatch<R>, position: number) => {
        // A retried write repeats its batch: the roller takes it once.
        if (position > taken) {
          roller.write(batch, isEndOfInput(position));
          taken = position;
          unstaged = [...unstaged, ...roller.takeFinished()];
        }
        // Finished files are staged while the job goes on; the
        // checkpoint waits for them (and a failure surfaces there).
        stageInBackground();
        return Promise.resolve();
      };
      return {
        write,
        // Every open file finishes at the end of input, whether or not the
        // job wrote anything there (a write there already finished them).
        endOfInput: (position) =>
          write(new FileBatch(format, bucket), position),
        async prepare(): Promise<FilesHandle> {
          // A failure of background staging fails this prepare; the
          // runner's retry stages what is left here.
          await settleStaging();
          if (roll_at_checkpoint) roller.finishAll();
          unstaged = [...unstaged, ...roller.takeFinished()];
          await stageFinished();
          const publishing = staged;
          const open = roller.openFiles();
          const parts = open
            .filter((file) => file.staged < file.records.length)
            .map((file) => [file, partName(file)] as const);
          await eachLimit(parts, concurrency, ([file, key]) => {
            const lines = file.records.slice(file.staged).map(format.stage);
            return objects.put(key, encoder.encode(`${lines.join("\n")}\n`));
          });
          // Only once every object is staged: a retried prepare stages the
          // same objects again under the same names.
          for (const [file, key] of parts) {
            file.parts.push(key);
            file.staged = file.records.length;
          }
          staged = [];
          if (early) {
            // The deliberate bug: visible before the checkpoint is durable.
            await eachLimit(
              publishing,
              concurrency,
              (entry) => publish(objects, entry),
            );
          }
          const sealed = roller.sealedMs();
          return {
            version: 1,
            records: roller.nextRecord(),
            sealed_ms: Number.isFinite(sealed) ? sealed : null,
            publish: publishing,
            open: open.map((file) => ({
              slot_ms: file.slot_ms,
              ...(file.bucket === undefined ? {} : { bucket: file.bucket }),
              first: file.first,
              last: file.last,
              records: file.records.length,
              bytes: file.bytes,
              parts: [...file.parts],
            })),
          };
        },
        async commit(handle) {
          const h = handle as FilesHandle;
          await eachLimit(
            h.publish,
            concurrency,
            (entry) => publish(objects, entry),
          );
          const kept = new Set(h.open.flatMap((o) => o.parts));
          const retired = [...durable_parts].filter((part) => !kept.has(part));
          await eachLimit(retired, concurrency, (part) => objects.delete(part));
          durable_parts = kept;
        },
        async close() {
          // Nothing runs on after the task lets go; what was staged and
          // never recorded is a later owner's to delete.
          if (staging !== null) await staging;
        },
      };
    },
  };
}
