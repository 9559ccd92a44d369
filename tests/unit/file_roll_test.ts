import assert from "node:assert/strict";
import fc from "fast-check";
import {
  FileBatch,
  fileKey,
  FileRoller,
  type RollRules,
  slotDirectory,
  slotOf,
} from "../../src/sinks/file_roll.ts";
import { jsonLines } from "../../src/sinks/file_format.ts";

const MIN = 60_000;
const T0 = Date.UTC(2024, 9, 22, 18, 0, 0);
const RULES: RollRules = {
  interval_ms: 5 * MIN,
  max_bytes: 1_000,
  max_records: Number.POSITIVE_INFINITY,
};

function batch(
  entries: Array<[number, string]>,
  seal?: number,
): FileBatch<string> {
  const b = new FileBatch(jsonLines());
  for (const [time, line] of entries) b.add(time, line);
  if (seal !== undefined) b.seal(seal);
  return b;
}

/** The files finished, as slot, record numbers and lines. */
function finished(roller: FileRoller<string>) {
  return roller.takeFinished().map((f) => ({
    slot: f.slot_ms,
    first: f.first,
    last: f.last,
    lines: f.records,
  }));
}

Deno.test("FileRoller puts records of one event-time slot in one file, numbered in the order received", () => {
  const roller = new FileRoller<string>(RULES);
  roller.write(
    batch([[T0, '"a"'], [T0 + 5 * MIN, '"b"'], [T0 + 4 * MIN, '"c"']]),
    false,
  );
  assert.deepEqual(finished(roller), []);
  assert.deepEqual(
    roller.openFiles().map((f) => [f.slot_ms, f.first, f.last, f.records]),
    [[T0, 0, 2, ['"a"', '"c"']], [T0 + 5 * MIN, 1, 1, ['"b"']]],
  );
  assert.equal(roller.nextRecord(), 3);
});

Deno.test("FileRoller finishes a slot's file at the end of the batch that seals its end, not before", () => {
  const roller = new FileRoller<string>(RULES);
  // The seal comes before the last record of the slot, in the same batch
  // (a window's keys fire together): the file keeps it.
  const b = new FileBatch(jsonLines());
  b.add(T0, '"a"');
  b.seal(T0 + 5 * MIN);
  b.add(T0 + 1, '"b"');
  roller.write(b, false);
  assert.deepEqual(finished(roller), [
    { slot: T0, first: 0, last: 1, lines: ['"a"', '"b"'] },
  ]);
  // A seal short of the slot's end leaves the next slot open.
  roller.write(batch([[T0 + 5 * MIN, '"c"']], T0 + 9 * MIN), false);
  assert.deepEqual(finished(roller), []);
  assert.equal(roller.sealedMs(), T0 + 9 * MIN);
});

Deno.test("FileRoller rolls by size before a record would take a file past max_bytes; a bigger record gets a file alone", () => {
  const roller = new FileRoller<string>({ ...RULES, max_bytes: 10 });
  // Each line is its length + 1 byte.
  roller.write(
    batch([
      [T0, '"1234"'], // 7
      [T0, '"1"'], // 4: 11 > 10, rolls
      [T0, '"12"'], // 5: 9
      [T0, '"123456789012"'], // 15: alone
      [T0, '"x"'],
    ]),
    true,
  );
  assert.deepEqual(finished(roller).map((f) => [f.first, f.last]), [
    [0, 0],
    [1, 2],
    [3, 3],
    [4, 4],
  ]);
});

Deno.test("FileRoller rolls by record count", () => {
  const roller = new FileRoller<string>({ ...RULES, max_records: 2 });
  roller.write(batch([[T0, "1"], [T0, "2"], [T0, "3"]]), true);
  assert.deepEqual(finished(roller).map((f) => f.lines), [["1", "2"], ["3"]]);
});

Deno.test("FileRoller finishes every file at the end of input", () => {
  const roller = new FileRoller<string>(RULES);
  roller.write(batch([[T0, "1"], [T0 + 30 * MIN, "2"]]), false);
  roller.write(new FileBatch(jsonLines()), true);
  assert.deepEqual(finished(roller).map((f) => f.lines), [["1"], ["2"]]);
  assert.deepEqual(roller.openFiles(), []);
});

Deno.test("FileRoller gives a record of an already sealed slot a file of its own, never reusing a name", () => {
  const roller = new FileRoller<string>(RULES);
  roller.write(batch([[T0, "1"]], T0 + 5 * MIN), false);
  roller.write(batch([[T0, "late"]]), false);
  const files = finished(roller);
  assert.deepEqual(files.map((f) => [f.slot, f.first, f.last]), [
    [T0, 0, 0],
    [T0, 1, 1],
  ]);
  const keys = files.map((f) =>
    fileKey("p", 3, { slot_ms: f.slot, ...f }, "jsonl")
  );
  assert.equal(new Set(keys).size, 2);
});

Deno.test("FileRoller makes the same files however the record sequence is cut into batches", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          slot: fc.integer({ min: 0, max: 5 }),
          size: fc.integer({ min: 1, max: 30 }),
          seal: fc.boolean(),
        }),
        { maxLength: 60 },
      ),
      fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1 }),
      (items, cuts) => {
        // Seals follow the records they close: seal the slot of each item
        // where `seal` is drawn (a window firing), in non-decreasing order.
        let high = 0;
        const sequence = items.map((item, i) => {
          const slot = Math.max(item.slot, high);
          if (item.seal) high = slot + 1;
          return {
            time: T0 + slot * 5 * MIN,
            line: `"${String(i).padStart(item.size, "x")}"`,
            seal: item.seal ? T0 + (slot + 1) * 5 * MIN : undefined,
          };
        });
        const run = (sizes: number[]) => {
          const roller = new FileRoller<string>({ ...RULES, max_bytes: 60 });
          let i = 0;
          let k = 0;
          while (i < sequence.length) {
            const n = sizes[k++ % sizes.length]!;
            const b = new FileBatch(jsonLines());
            for (const item of sequence.slice(i, i + n)) {
              b.add(item.time, item.line);
              if (item.seal !== undefined) b.seal(item.seal);
            }
            i += n;
            roller.write(b, false);
          }
          roller.write(new FileBatch(jsonLines()), true);
          return finished(roller).sort((a, b) => a.first - b.first);
        };
        assert.deepEqual(run(cuts), run([sequence.length || 1]));
      },
    ),
  );
});

Deno.test("FileRoller refuses intervals that do not divide an hour and non-positive sizes", () => {
  assert.throws(
    () => new FileRoller({ ...RULES, interval_ms: 7 * MIN }),
    /'interval_ms' must be a positive number of milliseconds dividing an hour .*current value is 420000/,
  );
  assert.throws(
    () => new FileRoller({ ...RULES, interval_ms: 2 * 3_600_000 }),
    /dividing an hour/,
  );
  assert.throws(
    () => new FileRoller({ ...RULES, max_bytes: 0 }),
    /'max_bytes' must be positive: current value is 0/,
  );
  assert.throws(
    () => new FileRoller({ ...RULES, max_records: 1.5 }),
    /'max_records' must be a positive integer or Infinity/,
  );
});

Deno.test("FileBatch refuses a fractional time, a NaN seal and a JSON line with a line break", () => {
  const b = new FileBatch(jsonLines());
  assert.throws(() => b.add(1.5, "1"), /'time_ms' must be whole epoch/);
  assert.throws(() => b.seal(Number.NaN), /'through_ms' must be a time/);
  assert.throws(
    () => b.add(T0, '{"a":\n1}'),
    /must be a string without line breaks/,
  );
  assert.ok(b.isEmpty());
  b.seal(T0);
  assert.ok(!b.isEmpty());
});

Deno.test("slotDirectory and fileKey partition by the slot's UTC date and hour", () => {
  assert.equal(slotOf(T0 + 7 * MIN, 5 * MIN), T0 + 5 * MIN);
  assert.equal(slotDirectory(T0 + 55 * MIN), "dt=2024-10-22/hour=18");
  assert.equal(
    slotDirectory(Date.UTC(2024, 11, 31, 23, 59)),
    "dt=2024-12-31/hour=23",
  );
  assert.equal(
    fileKey(
      "clickstream-events",
      2,
      { slot_ms: T0, first: 17, last: 1_234 },
      "jsonl",
    ),
    "clickstream-events/dt=2024-10-22/hour=18/part-2-0000000017-0000001234.jsonl",
  );
});
