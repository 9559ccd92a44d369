import assert from "node:assert/strict";
import { parquetMetadata, parquetReadObjects } from "hyparquet";
import {
  type ParquetColumn,
  parquetFormat,
} from "../../src/sinks/parquet_format.ts";

interface Row {
  id: string;
  at: number;
  seconds_ms: number;
  n: number;
  big: number;
}

const COLUMNS: ParquetColumn<Row>[] = [
  { name: "id", type: "string", value: (r) => r.id },
  { name: "at", type: "timestamp_ms", value: (r) => r.at },
  { name: "seconds", type: "decimal", scale: 3, value: (r) => r.seconds_ms },
  { name: "n", type: "int32", value: (r) => r.n },
  { name: "big", type: "int64", value: (r) => r.big },
];

const T = Date.UTC(2026, 2, 14, 18, 0, 3, 667);

function rows(count: number): Row[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `s-${String(i).padStart(4, "0")}-é`,
    at: T + i * 4_001,
    seconds_ms: 165_904 + i,
    n: i,
    big: 2 ** 40 + i,
  }));
}

function buffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(
    bytes.byteOffset,
    bytes.byteOffset + bytes.byteLength,
  ) as ArrayBuffer;
}

Deno.test("parquetFormat writes the declared types and reads back every value exactly", async () => {
  const format = parquetFormat({ columns: COLUMNS });
  const input = rows(3);
  const read = await parquetReadObjects({ file: buffer(format.encode(input)) });
  assert.deepEqual(
    read.map((r) => [
      r.id,
      (r.at as Date).toISOString(),
      r.seconds,
      r.n,
      r.big,
    ]),
    input.map((r) => [
      r.id,
      new Date(r.at).toISOString(),
      r.seconds_ms / 1000,
      r.n,
      BigInt(r.big),
    ]),
  );
  const schema = parquetMetadata(buffer(format.encode(input))).schema;
  assert.deepEqual(schema.slice(1).map((e) => [e.name, e.type]), [
    ["id", "BYTE_ARRAY"],
    ["at", "INT64"],
    ["seconds", "INT64"],
    ["n", "INT32"],
    ["big", "INT64"],
  ]);
  assert.deepEqual(schema[2]!.logical_type, {
    type: "TIMESTAMP",
    isAdjustedToUTC: true,
    unit: "MILLIS",
  });
  assert.deepEqual(schema[3]!.logical_type, {
    type: "DECIMAL",
    scale: 3,
    precision: 18,
  });
  assert.ok(schema.slice(1).every((e) => e.repetition_type === "REQUIRED"));
});

Deno.test("parquetFormat compresses pages, cuts row groups at row_group_rows and writes a file of zero rows", async () => {
  const format = parquetFormat({ columns: COLUMNS, row_group_rows: 100 });
  const meta = parquetMetadata(buffer(format.encode(rows(250))));
  assert.deepEqual(meta.row_groups.map((g) => Number(g.num_rows)), [
    100,
    100,
    50,
  ]);
  for (const group of meta.row_groups) {
    for (const column of group.columns) {
      assert.equal(column.meta_data?.codec, "SNAPPY");
    }
  }
  const empty = format.encode([]);
  assert.equal(Number(parquetMetadata(buffer(empty)).num_rows), 0);
  assert.deepEqual(await parquetReadObjects({ file: buffer(empty) }), []);
});

Deno.test("parquetFormat's bytes are a function of the records: no write time, id or version in the metadata", async () => {
  const format = parquetFormat({ columns: COLUMNS });
  const once = format.encode(rows(40));
  await new Promise((resolve) => setTimeout(resolve, 5));
  const twice = parquetFormat({ columns: COLUMNS }).encode(rows(40));
  assert.deepEqual(twice, once);
  const meta = parquetMetadata(buffer(once));
  assert.equal(meta.created_by, "freshet");
  assert.equal(meta.key_value_metadata, undefined);
  // A different record changes the bytes (the check can fail).
  const other = rows(40);
  other[7]!.n = 1_000;
  assert.notDeepEqual(format.encode(other), once);
});

Deno.test("parquetFormat stages records as JSON lines and sizes them from the record alone", () => {
  const format = parquetFormat({ columns: COLUMNS });
  const [row] = rows(1);
  assert.equal(format.extension, "parquet");
  assert.deepEqual(format.unstage(format.stage(row!)), row);
  assert.ok(!format.stage(row!).includes("\n"));
  // "s-0000-é" is 9 UTF-8 bytes; 4 for its length, 8 per wide integer, 4 for n.
  assert.equal(format.size(row!), 4 + 9 + 8 + 8 + 4 + 8);
});

Deno.test("parquetFormat refuses values of the wrong type and bad column declarations", () => {
  const format = parquetFormat({ columns: COLUMNS });
  const [row] = rows(1);
  for (
    const [bad, rule] of [
      [{ ...row!, id: 5 }, /'id' as its value must be a string/],
      [{ ...row!, at: 1.5 }, /'at' as its value must be a safe integer/],
      [{ ...row!, n: 2 ** 31 }, /'n' as its value must be a 32-bit integer/],
      [{ ...row!, seconds_ms: 1e18 }, /at most 18 digits/],
    ] as const
  ) {
    assert.throws(() => format.size(bad as unknown as Row), rule);
  }
  assert.throws(() => parquetFormat({ columns: [] }), /must not be empty/);
  assert.throws(
    () => parquetFormat({ columns: [COLUMNS[0]!, COLUMNS[0]!] }),
    /'id' appears twice/,
  );
  assert.throws(
    () =>
      parquetFormat({
        columns: [{ name: "x", type: "decimal", scale: 19, value: () => 1 }],
      }),
    /'scale' from 0 to 18/,
  );
  assert.throws(
    () => parquetFormat({ columns: COLUMNS, row_group_rows: 0 }),
    /'row_group_rows' must be a positive integer/,
  );
});
