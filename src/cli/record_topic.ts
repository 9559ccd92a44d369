/**
 * Taps a topic into fixture lines (the recorded-record format of
 * `src/core/fixture.ts`), for `freshet record`.
 *
 * - Reads with `Log.read`: committed records only (read_committed), through
 *   a reader of its own that commits nothing, so no consumer group moves.
 * - Merges the partitions by record timestamp (ties: partition, then
 *   offset), keeping each partition in offset order: the file is in arrival
 *   order, as the simulator replays it (arrival times never go backwards),
 *   and recording the same range twice writes the same bytes.
 * - Bounded (`start` at the beginning or at offsets): stops once every
 *   partition reached the end offset seen at the start, so a busy topic
 *   still ends. Live (`start` at the end): records what arrives from now on,
 *   until `max` or the signal.
 * - A record that is not text (a tombstone, bytes that are not UTF-8) is
 *   written with its `unreadable` kind beside the value as read.
 *
 * @module
 */

import type { Log, LogRecord } from "../ports.ts";

/** Where recording starts. */
export type RecordStart =
  /** Every partition's first record; stops at the end offsets seen at the start. */
  | { from: "beginning" }
  /** These offsets, one per partition; stops at the end offsets seen at the start. */
  | { from: "offsets"; offsets: readonly number[] }
  /** The end: only records appended from now on, until `max` or the signal. */
  | { from: "end" };

/** Options of {@linkcode recordTopic}. */
export interface RecordTopicOptions {
  topic: string;
  start: RecordStart;
  /** Most records to write. Default: no limit. */
  max?: number;
  /** Stops recording; what was written stays whole. Default: none. */
  signal?: AbortSignal;
  /** Records of about this many bytes are read per request and partition. Default: 8 MiB. */
  read_bytes?: number;
  /** Wait between looks for new records when live. Default: 500. */
  poll_ms?: number;
  /** Waits `ms` (resolves early when `signal` aborts). Default: a timer. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Called after each write with the records written and, when known, the most to expect. */
  onProgress?: (written: number, total?: number) => void;
}

/** Why {@linkcode recordTopic} stopped. */
export type RecordStop = "caught-up" | "max" | "signal";

/** What {@linkcode recordTopic} wrote. */
export interface RecordTopicResult {
  /** Lines written. */
  records: number;
  /** Of them, records that are not text (tombstones, not UTF-8). */
  unreadable: number;
  stopped: RecordStop;
  /** Next offset to read per partition when it stopped. */
  positions: number[];
}

/** One fixture line of a record (`{"topic","partition","offset","key","value","timestamp"}`). */
export function fixtureLine(record: LogRecord): string {
  return JSON.stringify({
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    key: record.key,
    value: record.value,
    timestamp: record.timestamp,
    ...(record.unreadable === undefined
      ? {}
      : { unreadable: record.unreadable }),
  });
}

const FLUSH_LINES = 1000;
const CHUNK_MIN = 50;
const CHUNK_MAX = 20_000;

/**
 * Reads `options.topic` as the module doc says and hands the lines to
 * `write` (each call a whole number of lines, each ending in `\n`).
 */
export async function recordTopic(
  log: Log,
  write: (text: string) => Promise<void>,
  options: RecordTopicOptions,
): Promise<RecordTopicResult> {
  const { topic, start, signal } = options;
  const max = options.max ?? Infinity;
  const read_bytes = options.read_bytes ?? 8 * 1024 * 1024;
  const poll_ms = options.poll_ms ?? 500;
  const sleep = options.sleep ?? abortableSleep;
  const partitions = await log.partitionCount(topic);
  let ends = await log.endOffsets(topic);
  const live = start.from === "end";
  const positions = Array.from({ length: partitions }, (_, p) => {
    if (start.from === "beginning") return 0;
    if (start.from === "end") return ends[p] ?? 0;
    const offset = start.offsets[p];
    if (offset === undefined || !Number.isSafeInteger(offset) || offset < 0) {
      throw new RangeError(
        `Cannot record topic '${topic}' as 'offsets' must hold an offset per partition (${partitions}): current value is ${
          JSON.stringify(start.offsets)
        }`,
      );
    }
    return offset;
  });
  const total = live ? (Number.isFinite(max) ? max : undefined) : Math.min(
    max,
    positions.reduce((n, at, p) => n + Math.max(0, (ends[p] ?? 0) - at), 0),
  );
  const buffers: LogRecord[][] = positions.map(() => []);
  const chunks = positions.map(() => 500);
  let records = 0;
  let unreadable = 0;
  let pending: string[] = [];
  const flush = async () => {
    if (pending.length === 0) return;
    const text = pending.join("");
    pending = [];
    await write(text);
    options.onProgress?.(records, total);
  };

  // Fills a partition's empty buffer with its next records below its end.
  const refill = async (p: number): Promise<void> => {
    const from = positions[p]!;
    const end = ends[p] ?? 0;
    const want = live ? chunks[p]! : Math.min(chunks[p]!, end - from);
    const read = await log.read(topic, p, from, want);
    const below = live ? read : read.filter((r) => r.offset < end);
    buffers[p] = below;
    if (below.length > 0) {
      const bytes = below.reduce((n, r) => n + r.value.length, 0);
      chunks[p] = Math.max(
        CHUNK_MIN,
        Math.min(CHUNK_MAX, Math.floor(read_bytes / (bytes / below.length))),
      );
    }
    // Fewer records than asked: the read reached the log's end, which is at
    // least `end`, and what lies between is markers or aborted records.
    positions[p] = read.length < want
      ? Math.max(end, lastOffset(below) + 1)
      : lastOffset(read) + 1;
    if (!live) positions[p] = Math.min(positions[p]!, end);
  };

  let stopped: RecordStop | null = null;
  while (stopped === null) {
    if (signal?.aborted) {
      stopped = "signal";
      break;
    }
    const empty = buffers.flatMap((b, p) =>
      b.length === 0 && positions[p]! < (ends[p] ?? 0) ? [p] : []
    );
    if (empty.length > 0) {
      await flush();
      const reading = Promise.all(empty.map(refill));
      if (await raceAbort(reading, signal) === "aborted") {
        stopped = "signal";
        break;
      }
      continue;
    }
    let next = -1;
    for (let p = 0; p < buffers.length; p++) {
      const head = buffers[p]![0];
      if (head === undefined) continue;
      const best = next < 0 ? undefined : buffers[next]![0]!;
      if (best === undefined || head.timestamp < best.timestamp) next = p;
    }
    if (next < 0) {
      if (!live) {
        stopped = "caught-up";
        break;
      }
      await flush();
      await sleep(poll_ms, signal);
      if (!signal?.aborted) ends = await log.endOffsets(topic);
      continue;
    }
    const record = buffers[next]!.shift()!;
    pending.push(`${fixtureLine(record)}\n`);
    records++;
    if (record.unreadable !== undefined) unreadable++;
    if (records >= max) stopped = "max";
    else if (pending.length >= FLUSH_LINES) await flush();
  }
  await flush();
  // Records read but not written are read again by the next recording.
  const next_positions = positions.map((at, p) => buffers[p]![0]?.offset ?? at);
  return { records, unreadable, stopped, positions: next_positions };
}

function lastOffset(records: readonly LogRecord[]): number {
  return records.at(-1)?.offset ?? -1;
}

async function raceAbort<T>(
  work: Promise<T>,
  signal: AbortSignal | undefined,
): Promise<T | "aborted"> {
  if (signal === undefined) return await work;
  if (signal.aborted) return "aborted";
  let onAbort = () => {};
  const aborted = new Promise<"aborted">((resolve) => {
    onAbort = () => resolve("aborted");
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    signal.removeEventListener("abort", onAbort);
    // A read left behind when stopping must not become an unhandled rejection.
    work.catch(() => {});
  }
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
