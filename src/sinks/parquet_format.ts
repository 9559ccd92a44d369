/**
 * Parquet files for the file sinks (`s3_files.ts`), written by
 * hyparquet-writer (pure JavaScript, synchronous, one small dependency:
 * hyparquet, its reader).
 *
 * A bulk format: a file is encoded whole from all its records when it is
 * finished; while it is open its records are staged as JSON lines, so `R`
 * must be a JSON value (numbers, strings, plain objects).
 *
 * Every file has the schema the columns declare (never guessed from the
 * data, which fails on zero rows and may type a float as an integer); every
 * column is `REQUIRED`. Column types:
 *
 * | type | Parquet | value |
 * |---|---|---|
 * | `string` | `BYTE_ARRAY` (`UTF8` / `STRING`) | a string |
 * | `int32` | `INT32` | a 32-bit integer |
 * | `int64` | `INT64` | a safe integer |
 * | `timestamp_ms` | `INT64`, `TIMESTAMP(isAdjustedToUTC=true, MILLIS)` (also `TIMESTAMP_MILLIS`) | epoch milliseconds |
 * | `decimal` | `INT64`, `DECIMAL(18, scale)` | the unscaled safe integer (`165904` for 165.904 at scale 3) |
 *
 * Decimals are exact: a duration of 165.904 s is stored as 165904 at scale
 * 3, never through a float.
 *
 * **Deterministic bytes.** A file's bytes are a function of its records and
 * the options: no write time, random id or library version goes into it
 * (`created_by` is the option's text), so a republished or recomputed file
 * is byte-identical, as the exactly-once checks of the simulator require.
 *
 * @module
 */

import { parquetWriteBuffer } from "hyparquet-writer";
import type { FileFormat } from "./file_format.ts";
import { utf8Length } from "../core/utf8.ts";

/** What a Parquet column holds; see the module documentation. */
export type ParquetColumnType =
  | "string"
  | "int32"
  | "int64"
  | "timestamp_ms"
  | "decimal";

/** One column of a {@linkcode parquetFormat}. */
export interface ParquetColumn<R> {
  /** Column name. */
  name: string;
  type: ParquetColumnType;
  /** For `decimal`: digits after the decimal point (0 to 18). Default: 0. */
  scale?: number;
  /** The column's value in a record. */
  value: (record: R) => string | number;
}

/** Options of {@linkcode parquetFormat}. */
export interface ParquetFormatOptions<R> {
  /** The columns, in file order. */
  columns: readonly ParquetColumn<R>[];
  /** Rows per row group. Default: 100 000. */
  row_group_rows?: number;
  /** Page compression. Default: `"SNAPPY"`. */
  codec?: "SNAPPY" | "UNCOMPRESSED";
  /** The file metadata's `created_by`. Default: `"freshet"`. */
  created_by?: string;
}

/** A Parquet schema element (the subset of parquet-format's written here). */
export interface ParquetSchemaElement {
  name: string;
  num_children?: number;
  type?: "BYTE_ARRAY" | "INT32" | "INT64";
  repetition_type?: "REQUIRED";
  converted_type?: "UTF8" | "TIMESTAMP_MILLIS" | "DECIMAL";
  scale?: number;
  precision?: number;
  logical_type?:
    | { type: "STRING" }
    | { type: "TIMESTAMP"; isAdjustedToUTC: boolean; unit: "MILLIS" }
    | { type: "DECIMAL"; scale: number; precision: number };
}

/** Digits of an INT64 decimal: every 18-digit integer fits in 63 bits. */
const DECIMAL_PRECISION = 18;
const TYPES: readonly ParquetColumnType[] = [
  "string",
  "int32",
  "int64",
  "timestamp_ms",
  "decimal",
];

/** The explicit schema of files of `columns` (root first). */
export function parquetSchemaOf<R>(
  columns: readonly ParquetColumn<R>[],
): ParquetSchemaElement[] {
  const schema: ParquetSchemaElement[] = [{
    name: "root",
    num_children: columns.length,
  }];
  for (const column of columns) {
    const base = { name: column.name, repetition_type: "REQUIRED" as const };
    switch (column.type) {
      case "string":
        schema.push({
          ...base,
          type: "BYTE_ARRAY",
          converted_type: "UTF8",
          logical_type: { type: "STRING" },
        });
        break;
      case "int32":
        schema.push({ ...base, type: "INT32" });
        break;
      case "int64":
        schema.push({ ...base, type: "INT64" });
        break;
      case "timestamp_ms":
        schema.push({
          ...base,
          type: "INT64",
          converted_type: "TIMESTAMP_MILLIS",
          logical_type: {
            type: "TIMESTAMP",
            isAdjustedToUTC: true,
            unit: "MILLIS",
          },
        });
        break;
      case "decimal": {
        const scale = column.scale ?? 0;
        schema.push({
          ...base,
          type: "INT64",
          converted_type: "DECIMAL",
          scale,
          precision: DECIMAL_PRECISION,
          logical_type: {
            type: "DECIMAL",
            scale,
            precision: DECIMAL_PRECISION,
          },
        });
        break;
      }
    }
  }
  return schema;
}

function assertColumns<R>(columns: readonly ParquetColumn<R>[]): void {
  if (columns.length === 0) {
    throw new RangeError(
      "Cannot create a Parquet format as 'columns' must not be empty: current value is []",
    );
  }
  const names = new Set<string>();
  for (const column of columns) {
    if (typeof column.name !== "string" || column.name === "") {
      throw new RangeError(
        `Cannot create a Parquet format as a column's 'name' must be a non-empty string: current value is ${
          JSON.stringify(column.name)
        }`,
      );
    }
    if (names.has(column.name)) {
      throw new RangeError(
        `Cannot create a Parquet format as column names must be unique: '${column.name}' appears twice`,
      );
    }
    names.add(column.name);
    if (!TYPES.includes(column.type)) {
      throw new RangeError(
        `Cannot create a Parquet format as column '${column.name}' must have a type of ${
          TYPES.join(", ")
        }: current value is ${JSON.stringify(column.type)}`,
      );
    }
    const scale = column.scale ?? 0;
    if (
      column.type === "decimal" &&
      (!Number.isInteger(scale) || scale < 0 || scale > DECIMAL_PRECISION)
    ) {
      throw new RangeError(
        `Cannot create a Parquet format as column '${column.name}' must have a 'scale' from 0 to ${DECIMAL_PRECISION}: current value is ${scale}`,
      );
    }
  }
}

const MAX_DECIMAL = 10 ** DECIMAL_PRECISION;

/** The value checked against its column type; throws with the rule. */
function checked<R>(column: ParquetColumn<R>, value: unknown): string | number {
  const refuse = (rule: string): never => {
    throw new TypeError(
      `Cannot write Parquet column '${column.name}' as its value must be ${rule}: current value is ${
        JSON.stringify(value)?.slice(0, 80)
      }`,
    );
  };
  switch (column.type) {
    case "string":
      if (typeof value !== "string") refuse("a string");
      return value as string;
    case "int32":
      if (
        !Number.isInteger(value) || (value as number) < -(2 ** 31) ||
        (value as number) >= 2 ** 31
      ) refuse("a 32-bit integer");
      return value as number;
    case "int64":
    case "timestamp_ms":
      if (!Number.isSafeInteger(value)) refuse("a safe integer");
      return value as number;
    case "decimal":
      if (
        !Number.isSafeInteger(value) || Math.abs(value as number) >= MAX_DECIMAL
      ) refuse(`a safe integer of at most ${DECIMAL_PRECISION} digits`);
      return value as number;
  }
}

/** Parquet files of records `R`; see the module documentation. */
export function parquetFormat<R>(
  options: ParquetFormatOptions<R>,
): FileFormat<R> {
  const columns = [...options.columns];
  assertColumns(columns);
  const row_group_rows = options.row_group_rows ?? 100_000;
  if (!Number.isSafeInteger(row_group_rows) || row_group_rows < 1) {
    throw new RangeError(
      `Cannot create a Parquet format as 'row_group_rows' must be a positive integer: current value is ${row_group_rows}`,
    );
  }
  const codec = options.codec ?? "SNAPPY";
  if (codec !== "SNAPPY" && codec !== "UNCOMPRESSED") {
    throw new RangeError(
      `Cannot create a Parquet format as 'codec' must be "SNAPPY" or "UNCOMPRESSED": current value is ${
        JSON.stringify(codec)
      }`,
    );
  }
  const created_by = options.created_by ?? "freshet";
  const schema = parquetSchemaOf(columns);
  return {
    extension: "parquet",
    size(record) {
      // An estimate of the plain encoding: strings with their length
      // prefix, integers at their width.
      let bytes = 0;
      for (const column of columns) {
        const value = checked(column, column.value(record));
        bytes += typeof value === "string"
          ? 4 + utf8Length(value)
          : column.type === "int32"
          ? 4
          : 8;
      }
      return bytes;
    },
    encode(records) {
      const columnData = columns.map((column) => {
        const data: unknown[] = new Array(records.length);
        const wide = column.type !== "string" && column.type !== "int32";
        for (let i = 0; i < records.length; i++) {
          const value = checked(column, column.value(records[i]!));
          data[i] = wide ? BigInt(value) : value;
        }
        return { name: column.name, data };
      });
      const buffer = parquetWriteBuffer({
        columnData,
        // The writer's own schema type is wider than ours.
        schema: schema as Parameters<typeof parquetWriteBuffer>[0]["schema"],
        codec,
        rowGroupSize: row_group_rows,
        createdBy: created_by,
      });
      return new Uint8Array(buffer);
    },
    stage: (record) => JSON.stringify(record),
    unstage: (line) => JSON.parse(line) as R,
  };
}
