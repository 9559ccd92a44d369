/**
 * Checks of generated recorded fixtures, written apart from the generators so
 * that a generator's own bookkeeping never vouches for itself: the partition
 * rule comes from `sim/partitioner.ts`, lateness is recomputed from the lines
 * with plain arithmetic, and each job's validity rules are restated by the
 * test that uses them.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  decodeFixture,
  type FixtureMessage,
  parseFixture,
} from "../../src/core/fixture.ts";
import { partitionFor } from "../../sim/partitioner.ts";

/** A recorded record as a fixture line holds it. */
export interface RecordedLine {
  line: number;
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  value: string;
  timestamp: number;
}

/**
 * The structural problems of a recorded fixture's text: a line that
 * `parseFixture` does not take as a recorded record, another topic, arrival
 * times going backwards, a partition that is not FNV-1a of the key, offsets
 * not 0, 1, 2, … per partition in line order. Empty when all is well.
 */
export function structuralProblems(
  text: string,
  options: { topic: string; partitions: number },
): string[] {
  const problems: string[] = [];
  const next_offset: number[] = new Array(options.partitions).fill(0);
  let last_arrival = -Infinity;
  const messages = parseFixture(text);
  const lines = text.split("\n").filter((line) => line.trim() !== "");
  if (messages.length !== lines.length) {
    problems.push(
      `${lines.length} non-blank lines but ${messages.length} messages`,
    );
  }
  messages.forEach((message: FixtureMessage, i) => {
    const at = `line ${message.line}`;
    if (message.partition === undefined || message.timestamp === undefined) {
      problems.push(`${at} is not a recorded record`);
      return;
    }
    const data = JSON.parse(lines[i]!) as RecordedLine;
    if (data.topic !== options.topic) {
      problems.push(`${at} has topic '${data.topic}'`);
    }
    if (message.timestamp < last_arrival) {
      problems.push(
        `${at} arrives at ${message.timestamp}, before ${last_arrival}`,
      );
    }
    last_arrival = Math.max(last_arrival, message.timestamp);
    if (typeof message.key !== "string") {
      problems.push(`${at} has no string key`);
      return;
    }
    const expected = partitionFor(message.key, options.partitions);
    if (message.partition !== expected) {
      problems.push(
        `${at} is in partition ${message.partition}, FNV-1a of '${message.key}' says ${expected}`,
      );
      return;
    }
    if (data.offset !== next_offset[expected]) {
      problems.push(
        `${at} has offset ${data.offset}, expected ${next_offset[expected]}`,
      );
    }
    next_offset[expected] = data.offset + 1;
  });
  return problems;
}

/** The recorded records of a fixture's text, in line order. */
export function recordedLines(text: string): RecordedLine[] {
  return text.split("\n").filter((line) => line.trim() !== "").map((
    line,
    i,
  ) => ({ ...JSON.parse(line), line: i + 1 }));
}

/**
 * How many events are late, recomputed by brute force: per partition in line
 * order, the watermark before an event is `max − bound − 1` over the earlier
 * events of its partition, and the event is late when its tumbling window
 * `[start, start + size)` has `start + size − 1 <= watermark`.
 */
export function countLate(
  events: ReadonlyArray<{ partition: number; event_ms: number }>,
  options: { bound_ms: number; window_size_ms: number },
): number {
  const max = new Map<number, number>();
  let late = 0;
  for (const { partition, event_ms } of events) {
    const seen = max.get(partition);
    if (seen !== undefined) {
      const watermark = seen - options.bound_ms - 1;
      const start = event_ms -
        (((event_ms % options.window_size_ms) + options.window_size_ms) %
          options.window_size_ms);
      if (start + options.window_size_ms - 1 <= watermark) late++;
    }
    max.set(partition, Math.max(seen ?? -Infinity, event_ms));
  }
  return late;
}

const ISO =
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})?$/;

/**
 * Epoch ms of a payload `timestamp` by the jobs' rules: an integer (epoch ms),
 * or ISO-8601 date and time, zone-less meaning UTC; null when invalid.
 */
export function eventTime(
  value: unknown,
  options: { zoneless: boolean },
): number | null {
  if (typeof value === "number") {
    return Number.isSafeInteger(value) ? value : null;
  }
  if (typeof value !== "string") return null;
  const match = ISO.exec(value);
  if (match === null) return null;
  if (match[2] === undefined && !options.zoneless) return null;
  const ms = Date.parse(match[2] === undefined ? `${value}Z` : value);
  return Number.isNaN(ms) ? null : ms;
}

/** SHA-256 of `bytes` as lowercase hex. */
export async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    bytes as Uint8Array<ArrayBuffer>,
  );
  return Array.from(
    new Uint8Array(digest),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
}

/**
 * The SHA-256 a README pins for `file` (a `sha256sum` line, `<hex>  <file>`)
 * and for its gunzipped text (the table row `its JSON Lines text`).
 */
export function pinnedHashes(
  readme: string,
  file: string,
): { file: string | null; text: string | null } {
  const escaped = file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const fileHash = new RegExp(`^([0-9a-f]{64})  ${escaped}$`, "m").exec(readme);
  const textHash = /^\| its JSON Lines text[^|]*\|[^|]*\| `([0-9a-f]{64})` \|$/m
    .exec(readme);
  return { file: fileHash?.[1] ?? null, text: textHash?.[1] ?? null };
}

/** What {@linkcode generatorSuite} needs to know about a generator. */
export interface GeneratorSuiteOptions {
  /** Name in test titles, e.g. `gen_transactions_fixture`. */
  name: string;
  /** The generator's `main`: runs it with command-line arguments. */
  main: (args: readonly string[]) => Promise<string>;
  /** Topic of every record. */
  topic: string;
  /** Partitions of the topic. */
  partitions: number;
  /** The committed fixture, relative to the repository root. */
  committed: string;
  /** Its README, relative to the repository root. */
  readme: string;
  /** Lines the issue asks of the committed fixture, at least. */
  committed_lines_min: number;
}

const ROOT = new URL("../../", import.meta.url);

/**
 * The tests every recorded-fixture generator must pass: same flags, same
 * bytes; README pins what was written; recorded lines in arrival order,
 * partitioned by FNV-1a of their keys; the committed file matches its README;
 * `--help` and bad flags.
 */
export function generatorSuite(options: GeneratorSuiteOptions): void {
  const { name, main, topic, partitions } = options;
  const MESSAGES = 3_000;

  async function generateInto(dir: string, ...args: string[]) {
    await main([
      "--messages",
      String(MESSAGES),
      "--out",
      `${dir}/f.jsonl.gz`,
      "--readme",
      `${dir}/README.md`,
      ...args,
    ]);
    return {
      fixture: await Deno.readFile(`${dir}/f.jsonl.gz`),
      readme: await Deno.readTextFile(`${dir}/README.md`),
    };
  }

  async function inTempDir(body: (dir: string) => Promise<void>) {
    const dir = await Deno.makeTempDir();
    try {
      await body(dir);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }

  Deno.test(`${name} writes the same bytes for the same flags and other bytes for another seed`, () =>
    inTempDir(async (dir) => {
      const first = await generateInto(`${dir}/a`);
      const second = await generateInto(`${dir}/b`);
      assert.deepEqual(second.fixture, first.fixture);
      assert.equal(second.readme, first.readme);
      const other = await generateInto(`${dir}/c`, "--seed", "7");
      assert.notDeepEqual(other.fixture, first.fixture);
      assert.deepEqual([...first.fixture.slice(0, 2)], [0x1f, 0x8b], "gzip");
    }));

  Deno.test(`${name} pins the SHA-256 of what it wrote in the README it wrote`, () =>
    inTempDir(async (dir) => {
      const { fixture, readme } = await generateInto(dir);
      const pinned = pinnedHashes(readme, "f.jsonl.gz");
      assert.equal(pinned.file, await sha256(fixture));
      const text = new TextEncoder().encode(await decodeFixture(fixture));
      assert.equal(pinned.text, await sha256(text));
    }));

  Deno.test(`every line ${name} writes is a recorded ${topic} record in arrival order, partitioned by FNV-1a of its key`, () =>
    inTempDir(async (dir) => {
      const text = await decodeFixture((await generateInto(dir)).fixture);
      assert.deepEqual(structuralProblems(text, { topic, partitions }), []);
      assert.equal(recordedLines(text).length, MESSAGES);
    }));

  Deno.test(`the committed ${topic} fixture matches the SHA-256 pinned in its README and holds at least ${options.committed_lines_min} records`, async () => {
    const fixture = await Deno.readFile(new URL(options.committed, ROOT));
    const readme = await Deno.readTextFile(new URL(options.readme, ROOT));
    const file = options.committed.slice(
      options.committed.lastIndexOf("/") + 1,
    );
    assert.equal(await sha256(fixture), pinnedHashes(readme, file).file);
    // The bytes are pinned and the generator's lines are checked on small
    // runs above; here only what the issue asks of this file.
    const text = await decodeFixture(fixture);
    let lines = 0;
    for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) {
      lines++;
    }
    assert.ok(lines >= options.committed_lines_min, `${lines} lines`);
    assert.ok(
      readme.includes(`| ${lines.toLocaleString("en-US")} |`),
      `the README does not state ${lines} lines`,
    );
    const first = text.slice(0, text.indexOf("\n"));
    assert.deepEqual(structuralProblems(first, { topic, partitions }), []);
  });

  Deno.test(`${name} answers --help and -h without writing, and rejects a bad flag with its rule and value`, async () => {
    for (const flag of ["--help", "-h"]) {
      const help = await main([flag]);
      for (const known of ["--seed", "--messages", "--out", "--readme"]) {
        assert.ok(help.includes(known), `${flag} does not mention ${known}`);
      }
    }
    await assert.rejects(
      () => main(["--messages", "-5"]),
      /'--messages' as it must be an integer of at least 1: current value is '-5'/,
    );
    await assert.rejects(() => main(["--sed", "1"]), /unknown flag '--sed'/);
  });
}
