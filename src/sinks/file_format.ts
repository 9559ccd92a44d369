/**
 * File formats of the file sinks (`s3_files.ts`): how records become the
 * bytes of a published file, and how they are kept in staged parts while a
 * file is still open.
 *
 * A row format (JSON Lines) could append parts as they are; a bulk format
 * (Parquet, next) must encode a file from all its records at once. Both fit
 * one interface: the sink keeps an open file's records, stages new ones as
 * lines ({@linkcode FileFormat.stage}), and encodes the whole file once it
 * is finished ({@linkcode FileFormat.encode}).
 *
 * @module
 */

/** How records of type `R` are written as files; see the module doc. */
export interface FileFormat<R> {
  /** File name extension, without the dot (`"jsonl"`, `"parquet"`). */
  readonly extension: string;
  /**
   * Bytes `record` adds to a file, for the sink's size roll (an estimate
   * for bulk formats; it must be a function of the record alone). Throws
   * when the record cannot be written in this format.
   */
  size(record: R): number;
  /** The bytes of a whole file of `records`, in order. */
  encode(records: readonly R[]): Uint8Array;
  /** One record as a line of a staged part (no line breaks). */
  stage(record: R): string;
  /** The record a line of {@linkcode stage} stands for. */
  unstage(line: string): R;
}

import { utf8Length } from "../core/utf8.ts";

const encoder = new TextEncoder();

/**
 * JSON Lines (`.jsonl`): a record is one JSON text, already serialized (the
 * job decides how, e.g. to keep input fields byte for byte); a file is the
 * records, each followed by `\n`. A record holding a line break would split
 * into two lines, so it is refused (the writing step fails on it and its
 * record is dead-lettered).
 */
export function jsonLines(): FileFormat<string> {
  return {
    extension: "jsonl",
    size(line) {
      if (typeof line !== "string" || /[\n\r]/.test(line)) {
        throw new TypeError(
          `Cannot write a JSON Lines record as it must be a string without line breaks: current value is ${
            JSON.stringify(line)?.slice(0, 80)
          }`,
        );
      }
      return utf8Length(line) + 1;
    },
    encode(lines) {
      return encoder.encode(lines.length === 0 ? "" : `${lines.join("\n")}\n`);
    },
    stage: (line) => line,
    unstage: (line) => line,
  };
}
