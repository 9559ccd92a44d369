/**
 * Fixture files: one JSON line per input message, in arrival order. A line
 * is either a recorded record
 * `{"topic","partition","offset","key","value","timestamp"}` (what
 * `freshet record` writes) or a raw message payload (anything else, taken
 * verbatim). Blank lines are skipped. A fixture file may be gzip-compressed
 * (`.jsonl.gz`): {@linkcode decodeFixture} turns its bytes into text either way.
 *
 * @module
 */

/** One input message of a fixture. */
export interface FixtureMessage {
  /** 1-based line number in the file. */
  line: number;
  /** Recorded partition; undefined for raw payloads (the producer picks). */
  partition?: number;
  /** Recorded key; undefined for raw payloads. */
  key?: string | null;
  /** The message payload: the recorded `value`, or the whole line of a raw payload. */
  value: string;
  /** Recorded append time, epoch ms; undefined for raw payloads. */
  timestamp?: number;
}

function isRecorded(data: unknown): data is {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  value: string;
  timestamp: number;
} {
  if (typeof data !== "object" || data === null) return false;
  const r = data as Record<string, unknown>;
  return typeof r.topic === "string" && Number.isSafeInteger(r.partition) &&
    (r.partition as number) >= 0 && Number.isSafeInteger(r.offset) &&
    (r.key === null || typeof r.key === "string") &&
    typeof r.value === "string" &&
    Number.isSafeInteger(r.timestamp);
}

/** Parses a fixture's text; never throws on a bad line (a raw payload may be anything). */
export function parseFixture(text: string): FixtureMessage[] {
  const messages: FixtureMessage[] = [];
  let line = 0;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf("\n", start);
    if (end === -1) end = text.length;
    line++;
    const raw = text.slice(start, end).replace(/\r$/, "");
    start = end + 1;
    if (raw.trim() === "") continue;
    messages.push(parseLine(raw, line));
  }
  return messages;
}

function parseLine(raw: string, line: number): FixtureMessage {
  // Recorded records start with their topic field; skip JSON.parse otherwise.
  if (raw.startsWith('{"topic"') || raw.includes('"offset"')) {
    try {
      const data: unknown = JSON.parse(raw);
      if (isRecorded(data)) {
        return {
          line,
          partition: data.partition,
          key: data.key,
          value: data.value,
          timestamp: data.timestamp,
        };
      }
    } catch {
      // Not JSON: a raw payload.
    }
  }
  return { line, value: raw };
}

/**
 * The text of a fixture file's bytes, gunzipped when they start with the gzip
 * magic bytes (`1f 8b`). The content decides, not the file name: UTF-8 text
 * never starts with `8b` after `1f`, so a plain file is never mistaken for
 * gzip, and a compressed file keeps working when renamed. Invalid UTF-8 turns
 * into U+FFFD, as `Deno.readTextFile` does.
 */
export async function decodeFixture(bytes: Uint8Array): Promise<string> {
  if (!isGzip(bytes)) return new TextDecoder().decode(bytes);
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new DecompressionStream("gzip"));
  try {
    return await new Response(stream).text();
  } catch (error) {
    throw new Error(
      `Cannot read fixture as its gzip data must be complete and valid: ${
        (error as Error).message
      }`,
    );
  }
}

/** Whether `bytes` start with the gzip magic number. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}
