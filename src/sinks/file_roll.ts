/**
 * Rolling records into files, deterministically: which file each record of
 * an input partition goes to, and when a file is finished. The S3 file sink
 * (`s3_files.ts`) stages and publishes the files this decides.
 *
 * A job writes records into a {@linkcode FileBatch}, each with the event
 * time that places it (the window's start for windowed outputs), and seals
 * event time once its watermark has passed (every record placed before the
 * seal has been written). Per input partition the records get numbers 0, 1,
 * 2, ... in the order the sink receives them, and files roll by rules that
 * only look at that sequence:
 *
 * - **event time**: a file holds records of one slot of `interval_ms`
 *   (aligned to the epoch, dividing an hour, so a slot never straddles the
 *   `dt=/hour=` directories);
 * - **size**: a record that would take a file past `max_bytes` (or
 *   `max_records`) starts the slot's next file;
 * - **seals**: once the job seals event time `t`, every open file whose slot
 *   ends at or before `t` is finished, at the end of the batch (the records
 *   a window fires all come in one batch, whichever of its keys comes last);
 * - **end of input**: every open file is finished.
 *
 * None of these look at processing time or at when checkpoints happen, so a
 * replay after a crash, or a run cut into other batches, makes the same
 * files with the same records in the same order. A record for a slot that
 * was sealed already (a job that seals too early) starts a file of its own,
 * finished at the end of its batch: nothing is lost or overwritten, but such
 * files then depend on batch boundaries.
 *
 * A file is named by its slot and by the numbers of its first and last
 * record: unique, and a function of the partition's record sequence.
 *
 * **Buckets.** A file's directory is its slot's (`dt=YYYY-MM-DD/hour=HH`)
 * unless the batch names a bucket per record (Flink's `BucketAssigner`):
 * then records of one slot and one bucket share files, under the bucket's
 * directory. The slot still decides when a file is finished, so a job may
 * place records by the time that lets it seal (e.g. when a session closed)
 * and file them by another (the day the session started).
 *
 * @module
 */

import { formatIso } from "../core/time.ts";
import type { FileFormat } from "./file_format.ts";

const HOUR_MS = 3_600_000;

/** One record to write, with the event time that places it. */
export interface FileEntry<R> {
  /** Event time that places it in a slot (epoch ms): a window's start. */
  time_ms: number;
  /** The record, as the sink's format writes it. */
  record: R;
  /** Bytes it adds to its file ({@linkcode FileFormat.size}). */
  bytes: number;
  /** Directory of its file under the prefix; absent: the slot's. */
  bucket?: string;
}

/** A record's directory under the sink's prefix (see the module doc). */
export type BucketOf<R> = (record: R) => string;

/** A sink buffer: the records of one batch, and the batch's seal. */
export class FileBatch<R> {
  /** The records added by this batch, in the order added. */
  readonly entries: FileEntry<R>[] = [];
  /** The highest event time sealed by the batch; -Infinity when none. */
  sealed_ms: number = Number.NEGATIVE_INFINITY;
  readonly #format: FileFormat<R>;
  readonly #bucket: BucketOf<R> | undefined;

  /**
   * An empty batch writing records in `format` (it measures each record as
   * it is added); `bucket`, when given, picks each record's directory.
   */
  constructor(format: FileFormat<R>, bucket?: BucketOf<R>) {
    this.#format = format;
    this.#bucket = bucket;
  }

  /**
   * Writes `record` into the file of the slot of `time_ms` (epoch ms, the
   * event time that places it: a window's start). Throws when the format
   * refuses the record.
   */
  add(time_ms: number, record: R): void {
    if (!Number.isSafeInteger(time_ms)) {
      throw new RangeError(
        `Cannot add a record to a file as 'time_ms' must be whole epoch milliseconds: current value is ${time_ms}`,
      );
    }
    const bytes = this.#format.size(record);
    if (this.#bucket === undefined) {
      this.entries.push({ time_ms, record, bytes });
      return;
    }
    const bucket = this.#bucket(record);
    assertBucket(bucket);
    this.entries.push({ time_ms, record, bytes, bucket });
  }

  /**
   * Every record placed before `through_ms` has been added: the files of
   * slots ending at or before it are finished at the end of this batch.
   */
  seal(through_ms: number): void {
    if (Number.isNaN(through_ms)) {
      throw new RangeError(
        "Cannot seal files as 'through_ms' must be a time: current value is NaN",
      );
    }
    if (through_ms > this.sealed_ms) this.sealed_ms = through_ms;
  }

  /** Whether the batch writes nothing. */
  isEmpty(): boolean {
    return this.entries.length === 0 &&
      this.sealed_ms === Number.NEGATIVE_INFINITY;
  }
}

/** The roll rules of {@linkcode FileRoller}. */
export interface RollRules {
  /** Event-time span of a file's slot; divides an hour. */
  interval_ms: number;
  /** Largest file, in the format's bytes (a bigger record gets a file of its own). */
  max_bytes: number;
  /** Most records in a file; `Infinity` for no limit. */
  max_records: number;
}

/** A file being written: records not published yet. */
export interface OpenFile<R> {
  /** Start of the file's slot, epoch ms. */
  slot_ms: number;
  /** The file's directory under the prefix; absent: the slot's. */
  bucket?: string;
  /** Number of the file's first record in the partition's sequence. */
  first: number;
  /** Number of its last record so far. */
  last: number;
  records: R[];
  bytes: number;
  /** Staged parts holding `records[0 .. staged)`, oldest first. */
  parts: string[];
  /** Records already in `parts`. */
  staged: number;
}

/** The JSON-compatible description of an open file (its records are in its parts). */
export interface OpenFileState {
  /** Start of the file's slot, epoch ms. */
  slot_ms: number;
  /** The file's directory under the prefix; absent: the slot's. */
  bucket?: string;
  /** Number of the file's first record in the partition's sequence. */
  first: number;
  /** Number of its last record so far. */
  last: number;
  /** Records in the file so far (a restore checks its parts hold exactly these). */
  records: number;
  /** The file's size so far, in the format's bytes. */
  bytes: number;
  /** Keys of the staged parts holding its records, oldest first. */
  parts: string[];
}

/**
 * Decides the files of one input partition; see the module documentation.
 * Open files and finished files are kept in memory until the sink stages
 * them.
 */
export class FileRoller<R> {
  readonly #rules: RollRules;
  /** Open files by {@linkcode fileGroup}. */
  readonly #open = new Map<string, OpenFile<R>>();
  #finished: OpenFile<R>[] = [];
  #next: number;
  #sealed_ms: number;

  constructor(
    rules: RollRules,
    resume: { next_record: number; sealed_ms: number } = {
      next_record: 0,
      sealed_ms: Number.NEGATIVE_INFINITY,
    },
  ) {
    assertRules(rules);
    this.#rules = rules;
    this.#next = resume.next_record;
    this.#sealed_ms = resume.sealed_ms;
  }

  /** Number the next record gets (records received so far). */
  nextRecord(): number {
    return this.#next;
  }

  /** The highest event time sealed so far; -Infinity before any. */
  sealedMs(): number {
    return this.#sealed_ms;
  }

  /** Resumes an open file (after a restore, with its records read back). */
  resume(file: OpenFile<R>): void {
    this.#open.set(fileGroup(file), file);
  }

  /** Takes one batch: its records, then its seal; `end` finishes every file. */
  write(batch: FileBatch<R>, end: boolean): void {
    for (const entry of batch.entries) this.#add(entry);
    if (batch.sealed_ms > this.#sealed_ms) this.#sealed_ms = batch.sealed_ms;
    // Also files reopened by records of sealed slots: they are finished now.
    for (const file of [...this.#open.values()]) {
      if (end || file.slot_ms + this.#rules.interval_ms <= this.#sealed_ms) {
        this.#finish(file);
      }
    }
  }

  /** Finishes every open file (rolling at a checkpoint). */
  finishAll(): void {
    for (const file of [...this.#open.values()]) this.#finish(file);
  }

  /** The open files, by slot. */
  openFiles(): OpenFile<R>[] {
    return [...this.#open.values()].sort((a, b) =>
      a.slot_ms - b.slot_ms || compareText(a.bucket ?? "", b.bucket ?? "")
    );
  }

  /** The files finished since the last call, in the order they finished. */
  takeFinished(): OpenFile<R>[] {
    const finished = this.#finished;
    this.#finished = [];
    return finished;
  }

  /** Files finished and not yet taken (for inspection). */
  finishedCount(): number {
    return this.#finished.length;
  }

  #add(entry: FileEntry<R>): void {
    const rules = this.#rules;
    const slot_ms = slotOf(entry.time_ms, rules.interval_ms);
    const group = fileGroup({ slot_ms, bucket: entry.bucket });
    let file = this.#open.get(group);
    if (
      file !== undefined &&
      (file.records.length + 1 > rules.max_records ||
        file.bytes + entry.bytes > rules.max_bytes)
    ) {
      this.#finish(file);
      file = undefined;
    }
    const number = this.#next++;
    if (file === undefined) {
      file = {
        slot_ms,
        ...(entry.bucket === undefined ? {} : { bucket: entry.bucket }),
        first: number,
        last: number,
        records: [],
        bytes: 0,
        parts: [],
        staged: 0,
      };
      this.#open.set(group, file);
    }
    file.records.push(entry.record);
    file.bytes += entry.bytes;
    file.last = number;
  }

  #finish(file: OpenFile<R>): void {
    this.#open.delete(fileGroup(file));
    this.#finished.push(file);
  }
}

/** The records sharing open files: one slot, one bucket. */
function fileGroup(file: { slot_ms: number; bucket?: string }): string {
  return file.bucket === undefined
    ? String(file.slot_ms)
    : `${file.slot_ms}/${file.bucket}`;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const BUCKET_SEGMENT = /^[A-Za-z0-9._=-]+$/;

/** A bucket is one or more `/`-separated segments of safe characters. */
function assertBucket(bucket: string): void {
  if (
    typeof bucket !== "string" ||
    !bucket.split("/").every((s) =>
      BUCKET_SEGMENT.test(s) && s !== "." && s !== ".."
    )
  ) {
    throw new RangeError(
      `Cannot add a record to a file as its bucket must be '/'-separated segments of [A-Za-z0-9._=-] (no '.' or '..'): current value is ${
        JSON.stringify(bucket)
      }`,
    );
  }
}

/** Start of the slot of `time_ms`. */
export function slotOf(time_ms: number, interval_ms: number): number {
  return time_ms - (((time_ms % interval_ms) + interval_ms) % interval_ms);
}

function assertRules(rules: RollRules): void {
  const { interval_ms, max_bytes, max_records } = rules;
  if (
    !Number.isSafeInteger(interval_ms) || interval_ms <= 0 ||
    HOUR_MS % interval_ms !== 0
  ) {
    throw new RangeError(
      `Cannot roll files as 'interval_ms' must be a positive number of milliseconds dividing an hour (60000, 300000, 900000, 3600000, ...): current value is ${interval_ms}`,
    );
  }
  if (!(max_bytes > 0)) {
    throw new RangeError(
      `Cannot roll files as 'max_bytes' must be positive: current value is ${max_bytes}`,
    );
  }
  if (
    !(max_records === Number.POSITIVE_INFINITY ||
      (Number.isSafeInteger(max_records) && max_records > 0))
  ) {
    throw new RangeError(
      `Cannot roll files as 'max_records' must be a positive integer or Infinity: current value is ${max_records}`,
    );
  }
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

/**
 * The directory of a slot: `dt=YYYY-MM-DD/hour=HH` of its start (UTC), as
 * Hive-style partitions that Athena, Spark and DuckDB (`hive_partitioning`)
 * read as columns.
 */
export function slotDirectory(slot_ms: number): string {
  const iso = formatIso(slot_ms - (((slot_ms % HOUR_MS) + HOUR_MS) % HOUR_MS));
  return `dt=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}`;
}

/**
 * A finished file's key: `<prefix>/dt=YYYY-MM-DD/hour=HH/part-<partition>-<first>-<last>.<extension>`
 * (`<prefix>/<bucket>/part-...` for a file of a bucket), record numbers
 * zero-padded to 10 digits so keys list in order.
 */
export function fileKey(
  prefix: string,
  partition: number,
  file: { slot_ms: number; bucket?: string; first: number; last: number },
  extension: string,
): string {
  const directory = file.bucket ?? slotDirectory(file.slot_ms);
  return `${prefix}/${directory}/part-${partition}-${pad(file.first, 10)}-${
    pad(file.last, 10)
  }.${extension}`;
}
