/**
 * A session's row, as the `sessions` job writes it to Parquet and the
 * loader reads it back: one schema for both ends.
 *
 * | column | Parquet | PostgreSQL |
 * |---|---|---|
 * | `user_id` | `STRING` | `text` |
 * | `program_id` | `STRING` | `text` |
 * | `session_id` | `STRING` | `text` |
 * | `device` | `STRING` | `text` |
 * | `start_time` | `INT64` `TIMESTAMP(MILLIS, UTC)` | `timestamptz` |
 * | `end_time` | `INT64` `TIMESTAMP(MILLIS, UTC)` | `timestamptz` |
 * | `stream_duration` | `INT64` `DECIMAL(18,3)`, seconds | `numeric(18,3)` |
 * | `events` | `INT32` | `integer` |
 *
 * @module
 */

import { parquetReadObjects } from "hyparquet";
import {
  type ParquetColumn,
  parquetFormat,
} from "../../sinks/parquet_format.ts";
import type { FileFormat } from "../../sinks/file_format.ts";

/** One session (times in epoch ms). */
export interface SessionRow {
  user_id: string;
  program_id: string;
  session_id: string;
  device: string;
  start_ms: number;
  end_ms: number;
  events: number;
}

/** The columns of a sessions file, in order. */
export const SESSION_COLUMNS: readonly ParquetColumn<SessionRow>[] = [
  { name: "user_id", type: "string", value: (r) => r.user_id },
  { name: "program_id", type: "string", value: (r) => r.program_id },
  { name: "session_id", type: "string", value: (r) => r.session_id },
  { name: "device", type: "string", value: (r) => r.device },
  { name: "start_time", type: "timestamp_ms", value: (r) => r.start_ms },
  { name: "end_time", type: "timestamp_ms", value: (r) => r.end_ms },
  {
    name: "stream_duration",
    type: "decimal",
    scale: 3,
    value: (r) => r.end_ms - r.start_ms,
  },
  { name: "events", type: "int32", value: (r) => r.events },
];

/** The Parquet format of sessions files. */
export function sessionFormat(
  options: { row_group_rows?: number } = {},
): FileFormat<SessionRow> {
  return parquetFormat({
    columns: SESSION_COLUMNS,
    row_group_rows: options.row_group_rows,
  });
}

/**
 * The rows of a sessions file. Throws when the bytes are not a Parquet file
 * of the sessions schema.
 */
export async function readSessionFile(
  bytes: Uint8Array,
): Promise<SessionRow[]> {
  const file = bytes.buffer.slice(
    bytes.byteOffset,
    bytes.byteOffset + bytes.byteLength,
  ) as ArrayBuffer;
  const objects = await parquetReadObjects({ file });
  return objects.map((o, i) => {
    const start = o.start_time;
    const end = o.end_time;
    const duration = o.stream_duration;
    if (
      typeof o.user_id !== "string" || typeof o.program_id !== "string" ||
      typeof o.session_id !== "string" || typeof o.device !== "string" ||
      !(start instanceof Date) || !(end instanceof Date) ||
      typeof duration !== "number" || typeof o.events !== "number"
    ) {
      throw new TypeError(
        `Cannot read a sessions file as row ${i} does not have the sessions schema: current columns are ${
          Object.keys(o).join(", ")
        }`,
      );
    }
    const row: SessionRow = {
      user_id: o.user_id,
      program_id: o.program_id,
      session_id: o.session_id,
      device: o.device,
      start_ms: start.getTime(),
      end_ms: end.getTime(),
      events: o.events,
    };
    if (Math.round(duration * 1000) !== row.end_ms - row.start_ms) {
      throw new TypeError(
        `Cannot read a sessions file as row ${i}'s stream_duration must be end_time - start_time: current value is ${duration}`,
      );
    }
    return row;
  });
}
