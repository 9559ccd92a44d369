import assert from "node:assert/strict";
import fc from "fast-check";
import { LogTwin } from "../../sim/log.ts";
import { VirtualClock } from "../../sim/clock.ts";
import { parseFixture } from "../../src/core/fixture.ts";
import { fixtureLine, recordTopic } from "../../src/cli/record_topic.ts";
import { parseSince } from "../../src/cli/record.ts";
import type { LogMessage, LogRecord } from "../../src/ports.ts";
import { UsageError } from "../../src/cli/args.ts";

const TOPIC = "clicks";

async function twin(
  partitions: number,
  messages: LogMessage[],
): Promise<LogTwin> {
  const log = new LogTwin({ clock: new VirtualClock(1_000) });
  await log.createTopic(TOPIC, partitions);
  if (messages.length > 0) await log.produce(TOPIC, messages);
  return log;
}

/** Records into memory; answers the lines and the result. */
async function record(
  log: LogTwin,
  options: Omit<Parameters<typeof recordTopic>[2], "topic">,
  onWrite: (text: string) => Promise<void> = () => Promise.resolve(),
) {
  let text = "";
  const result = await recordTopic(log, async (chunk) => {
    assert.ok(chunk.endsWith("\n"), "writes whole lines");
    text += chunk;
    await onWrite(chunk);
  }, { topic: TOPIC, ...options });
  return { text, lines: text.split("\n").filter((l) => l !== ""), result };
}

/** Every committed record of the topic, from the twin. */
async function allRecords(log: LogTwin): Promise<LogRecord[]> {
  const ends = await log.endOffsets(TOPIC);
  const records: LogRecord[] = [];
  for (let p = 0; p < ends.length; p++) {
    records.push(...await log.read(TOPIC, p, 0, Number.MAX_SAFE_INTEGER));
  }
  return records;
}

/**
 * The order recordTopic() promises, computed the plain way: each partition
 * in offset order, the partitions merged by the timestamp of their next
 * record (ties: the lower partition).
 */
function mergeByTimestamp(records: readonly LogRecord[]): LogRecord[] {
  const queues = new Map<number, LogRecord[]>();
  for (const r of [...records].sort((a, b) => a.offset - b.offset)) {
    queues.set(r.partition, [...queues.get(r.partition) ?? [], r]);
  }
  const merged: LogRecord[] = [];
  for (;;) {
    let best: LogRecord | undefined;
    for (const queue of queues.values()) {
      const head = queue[0];
      if (
        head !== undefined &&
        (best === undefined || head.timestamp < best.timestamp ||
          (head.timestamp === best.timestamp &&
            head.partition < best.partition))
      ) best = head;
    }
    if (best === undefined) return merged;
    merged.push(queues.get(best.partition)!.shift()!);
  }
}

Deno.test("recordTopic() writes every committed record once, partitions merged by timestamp, then partition, each in offset order", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 4 }),
      fc.array(
        fc.record({
          partition: fc.nat(3),
          timestamp: fc.integer({ min: 0, max: 50 }),
          value: fc.string({ maxLength: 5 }),
          aborted: fc.boolean(),
        }),
        { maxLength: 60 },
      ),
      fc.integer({ min: 1, max: 7 }),
      async (partitions, specs, read_records) => {
        const log = await twin(partitions, []);
        for (const s of specs) {
          const message = {
            key: `k${s.partition}`,
            value: s.value,
            partition: s.partition % partitions,
            timestamp: s.timestamp,
          };
          if (s.aborted) {
            const txn = await log.transaction("t");
            await txn.produce(TOPIC, [message]);
            await txn.abort();
          } else {
            await log.produce(TOPIC, [message]);
          }
        }
        // Tiny reads (read_bytes) make the merge refill partitions often.
        const { lines, result } = await record(log, {
          start: { from: "beginning" },
          read_bytes: read_records,
        });
        const expected = mergeByTimestamp(await allRecords(log))
          .map(fixtureLine);
        assert.deepEqual(lines, expected);
        assert.equal(result.stopped, "caught-up");
        assert.equal(result.records, expected.length);
        assert.deepEqual(result.positions, await log.endOffsets(TOPIC));
      },
    ),
    { numRuns: 60 },
  );
});

Deno.test("recordTopic() writes lines parseFixture reads back as the recorded records", async () => {
  const log = await twin(2, [
    { key: "a", value: '{"x":1}', partition: 0, timestamp: 5 },
    { key: null, value: "not json \u00e9", partition: 1, timestamp: 3 },
    {
      key: "b",
      value: "",
      partition: 1,
      timestamp: 7,
      unreadable: "tombstone",
    },
  ]);
  const { text, result } = await record(log, { start: { from: "beginning" } });
  assert.deepEqual(
    parseFixture(text).map(({ partition, key, value, timestamp }) => ({
      partition,
      key,
      value,
      timestamp,
    })),
    [
      { partition: 1, key: null, value: "not json \u00e9", timestamp: 3 },
      { partition: 0, key: "a", value: '{"x":1}', timestamp: 5 },
      { partition: 1, key: "b", value: "", timestamp: 7 },
    ],
  );
  assert.match(text, /"unreadable":"tombstone"/);
  assert.equal(result.unreadable, 1);
});

Deno.test("recordTopic() stops at the end offsets seen at the start although records keep coming", async () => {
  const log = await twin(
    2,
    Array.from({ length: 10 }, (_, i) => ({
      key: null,
      value: `old ${i}`,
      partition: i % 2,
      timestamp: i,
    })),
  );
  let produced = 0;
  const { lines, result } = await record(
    log,
    { start: { from: "beginning" }, read_bytes: 10 },
    async () => {
      // A busy topic: every write is followed by more records.
      await log.produce(TOPIC, [{ key: null, value: `new ${produced++}` }]);
    },
  );
  assert.equal(lines.length, 10);
  assert.ok(lines.every((l) => l.includes('"old ')));
  assert.equal(result.stopped, "caught-up");
  assert.ok(produced > 0);
});

Deno.test("recordTopic() starts at given offsets and stops after max records", async () => {
  const log = await twin(
    2,
    Array.from({ length: 20 }, (_, i) => ({
      key: null,
      value: `v${i}`,
      partition: i % 2,
      timestamp: i,
    })),
  );
  const { lines, result } = await record(log, {
    start: { from: "offsets", offsets: [8, 9] },
    max: 2,
  });
  assert.deepEqual(
    lines.map((l) => JSON.parse(l).value),
    ["v16", "v18"],
  );
  assert.equal(result.stopped, "max");
  // Partition 0 is read to its end; partition 1's v19 (offset 9) is next.
  assert.deepEqual(result.positions, [10, 9]);
  await assert.rejects(
    () => record(log, { start: { from: "offsets", offsets: [0] } }),
    /'offsets' must hold an offset per partition \(2\)/,
  );
});

Deno.test("recordTopic() from the end records only what arrives later, until max or the signal", async () => {
  const log = await twin(2, [{ key: null, value: "before", partition: 0 }]);
  let polls = 0;
  const sleep = async () => {
    polls++;
    await log.produce(TOPIC, [{ key: null, value: `later ${polls}` }]);
  };
  const { lines, result } = await record(log, {
    start: { from: "end" },
    max: 3,
    sleep,
  });
  assert.deepEqual(lines.map((l) => JSON.parse(l).value), [
    "later 1",
    "later 2",
    "later 3",
  ]);
  assert.equal(result.stopped, "max");

  const stop = new AbortController();
  const stopped = await record(log, {
    start: { from: "end" },
    sleep: () => {
      stop.abort();
      return Promise.resolve();
    },
    signal: stop.signal,
  });
  assert.equal(stopped.result.stopped, "signal");
  assert.equal(stopped.lines.length, 0);
});

Deno.test("parseSince() reads ISO-8601, epoch milliseconds and durations ago", () => {
  const now = Date.UTC(2026, 2, 14, 12, 0, 0);
  assert.equal(parseSince("2026-03-14T10:00:00Z", now), now - 7_200_000);
  assert.equal(parseSince("2026-03-14T10:00:00", now), now - 7_200_000);
  assert.equal(parseSince(String(now - 5), now), now - 5);
  assert.equal(parseSince("90s", now), now - 90_000);
  assert.equal(parseSince("15m", now), now - 900_000);
  assert.equal(parseSince("2h", now), now - 7_200_000);
  assert.equal(parseSince("1d", now), now - 86_400_000);
  for (const bad of ["yesterday", "2026-03-14", "-5m", "1w"]) {
    assert.throws(
      () => parseSince(bad, now),
      (e: unknown) =>
        e instanceof UsageError &&
        e.message ===
          `flag --since must be an ISO-8601 time, epoch milliseconds or a duration such as 15m: got '${bad}'`,
    );
  }
});
