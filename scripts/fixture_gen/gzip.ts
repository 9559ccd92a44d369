/**
 * Deterministic gzip for generated fixtures: the same text always gives the
 * same bytes, so a fixture's SHA-256 is a pure function of its generator's
 * flags.
 *
 * Deno's built-in `CompressionStream("gzip")` is stable from run to run (its
 * header carries no time), but its bytes belong to the runtime's deflate
 * implementation and may change with a Deno upgrade. fflate is pure
 * JavaScript pinned to one version here, so the bytes change only when this
 * line does. Readers use the built-in `DecompressionStream` (see
 * `decodeFixture` in `src/core/fixture.ts`): any valid gzip reads the same.
 *
 * @module
 */

import { gzipSync } from "fflate";

/** Compression level of generated fixtures (fflate's best). */
export const GZIP_LEVEL = 9;

/** Gzip of `bytes` at {@linkcode GZIP_LEVEL}, with a zero time and no file name in the header. */
export function gzipDeterministic(bytes: Uint8Array): Uint8Array {
  // fflate's default mtime is the wall clock: pin it, or every run differs.
  return gzipSync(bytes, { level: GZIP_LEVEL, mtime: 0 });
}

/** Lowercase hex SHA-256 of `bytes`. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    bytes as Uint8Array<ArrayBuffer>,
  );
  return Array.from(
    new Uint8Array(digest),
    (byte) => byte.toString(16).padStart(2, "0"),
  ).join("");
}

/** What {@linkcode writeFixtureFile} wrote. */
export interface WrittenFixture {
  /** Bytes of the file as written (compressed when gzipped). */
  bytes: number;
  /** SHA-256 of the file as written. */
  sha256: string;
  /** Bytes of the JSON Lines text before compression. */
  text_bytes: number;
  /** SHA-256 of the JSON Lines text before compression. */
  text_sha256: string;
}

/**
 * Writes `lines` (one JSON line each, a final newline) to `path`, gzipped when
 * the path ends in `.gz`, creating the directory when needed.
 */
export async function writeFixtureFile(
  path: string,
  lines: readonly string[],
): Promise<WrittenFixture> {
  const text = new TextEncoder().encode(lines.join("\n") + "\n");
  const bytes = path.endsWith(".gz") ? gzipDeterministic(text) : text;
  const slash = path.lastIndexOf("/");
  if (slash > 0) await Deno.mkdir(path.slice(0, slash), { recursive: true });
  await Deno.writeFile(path, bytes);
  return {
    bytes: bytes.length,
    sha256: await sha256Hex(bytes),
    text_bytes: text.length,
    text_sha256: await sha256Hex(text),
  };
}
