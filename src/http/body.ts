/**
 * Reads a request body with a size limit enforced while streaming: reading
 * stops (and the stream is cancelled) at the first chunk that crosses the
 * limit, so an oversized body never sits in memory whole.
 *
 * @module
 */

/** The body is larger than the limit. */
export class BodyTooLargeError extends Error {
  override name = "BodyTooLargeError";
  constructor(readonly limit_bytes: number) {
    super(`the body is larger than the limit of ${limit_bytes} bytes`);
  }
}

/** The caller refused to hold more bytes (see {@linkcode ReadBodyOptions.reserve}). */
export class BodyRefusedError extends Error {
  override name = "BodyRefusedError";
}

/** Options of {@linkcode readBody}. */
export interface ReadBodyOptions {
  /** Largest body accepted, in bytes. */
  limit_bytes: number;
  /**
   * Called with each chunk's size before it is kept; answering `false` stops
   * reading with a {@linkcode BodyRefusedError}. Lets the caller count the
   * bytes against a budget as they arrive. Default: always `true`.
   */
  reserve?: (bytes: number) => boolean;
}

/**
 * The whole body as bytes, or an error: {@linkcode BodyTooLargeError} past
 * `limit_bytes`, {@linkcode BodyRefusedError} when `reserve` refuses. Either
 * way the stream is cancelled. A `null` body is empty.
 */
export async function readBody(
  body: ReadableStream<Uint8Array> | null,
  options: ReadBodyOptions,
): Promise<Uint8Array> {
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > options.limit_bytes) {
        throw new BodyTooLargeError(options.limit_bytes);
      }
      if (options.reserve !== undefined && !options.reserve(value.byteLength)) {
        throw new BodyRefusedError(
          "the server holds as many bytes in flight as it may",
        );
      }
      chunks.push(value);
    }
  } catch (error) {
    await reader.cancel().catch(() => {});
    throw error;
  } finally {
    reader.releaseLock();
  }
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}
