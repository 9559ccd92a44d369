/**
 * Splitting a byte stream of concatenated JPEGs (ffmpeg's `image2pipe`, the
 * parts of an MJPEG stream) into whole JPEGs.
 *
 * A JPEG starts with SOI (`FF D8`) and ends with EOI (`FF D9`), but `FF D9`
 * may also occur inside a marker segment (an EXIF thumbnail is a whole JPEG
 * inside APP1), so the splitter walks the structure: marker segments are
 * skipped by their length, and only in entropy-coded data, where a real
 * `FF` byte is always stuffed as `FF 00`, does `FF D9` end the image. Bytes
 * between images (multipart headers, junk) are skipped.
 *
 * @module
 */

/** Options of {@linkcode JpegStreamSplitter}. */
export interface JpegStreamSplitterOptions {
  /**
   * Largest JPEG accepted, bytes; a longer one means a broken stream and
   * throws (it would otherwise grow the buffer without bound).
   * Default: 67,108,864 (64 MiB).
   */
  max_bytes?: number;
}

type State =
  /** Looking for SOI. */
  | "seek"
  /** At a marker (or fill bytes) between segments. */
  | "marker"
  /** In entropy-coded data after a start-of-scan segment. */
  | "entropy";

/** Incremental splitter: push chunks, get the JPEGs they complete. */
export class JpegStreamSplitter {
  readonly #max_bytes: number;
  #buffer = new Uint8Array(1 << 16);
  /** Bytes of `#buffer` in use. */
  #length = 0;
  /** Where parsing resumes. */
  #at = 0;
  /** Start of the current JPEG in `#buffer`, when one has begun. */
  #start = 0;
  #state: State = "seek";

  constructor(options: JpegStreamSplitterOptions = {}) {
    const { max_bytes = 64 * 1024 * 1024 } = options;
    this.#max_bytes = max_bytes;
  }

  /** Bytes held for an unfinished JPEG (or unparsed input). */
  get pending(): number {
    return this.#length - this.#start;
  }

  /** Appends `chunk` and returns the JPEGs it completes (copies). */
  push(chunk: Uint8Array): Uint8Array[] {
    this.#append(chunk);
    const out: Uint8Array[] = [];
    for (;;) {
      const done = this.#parse();
      if (done === undefined) break;
      out.push(done);
    }
    this.#compact();
    if (this.pending > this.#max_bytes) {
      throw new RangeError(
        `Cannot split JPEG stream as a JPEG must be at most ${this.#max_bytes} bytes: current value is ${this.pending} bytes without an end marker`,
      );
    }
    return out;
  }

  /** Parses on from `#at`; returns a completed JPEG, or undefined for more data. */
  #parse(): Uint8Array | undefined {
    // A view of the bytes in use, so searches never see stale capacity.
    const b = this.#buffer.subarray(0, this.#length);
    const end = b.length;
    while (this.#at < end) {
      if (this.#state === "seek") {
        const soi = findSoi(b, this.#at);
        if (soi === -1) {
          // Keep a trailing FF: it may begin the next SOI.
          this.#at = b[end - 1] === 0xff ? end - 1 : end;
          this.#start = this.#at;
          return undefined;
        }
        this.#start = soi;
        this.#at = soi + 2;
        this.#state = "marker";
        continue;
      }
      if (this.#state === "marker") {
        let i = this.#at;
        while (i < end && b[i] === 0xff) i++;
        if (i >= end) return undefined;
        if (i === this.#at) {
          // Not a marker where one must be: drop this image, look again.
          this.#state = "seek";
          this.#at = this.#start + 1;
          continue;
        }
        const marker = b[i]!;
        if (marker === 0xd9) {
          this.#at = i + 1;
          return this.#emit();
        }
        if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {
          if (marker === 0xd8) {
            // A new SOI inside a header: the previous image was cut short.
            this.#start = i - 1;
          }
          this.#at = i + 1;
          continue;
        }
        if (i + 3 > end) return undefined;
        const length = (b[i + 1]! << 8) | b[i + 2]!;
        if (length < 2) {
          this.#state = "seek";
          this.#at = this.#start + 1;
          continue;
        }
        if (i + 1 + length > end) return undefined;
        this.#at = i + 1 + length;
        if (marker === 0xda) this.#state = "entropy";
        continue;
      }
      // Entropy-coded data: only a marker ends it.
      let i = b.indexOf(0xff, this.#at);
      if (i === -1) {
        this.#at = end;
        return undefined;
      }
      if (i + 1 >= end) {
        this.#at = i;
        return undefined;
      }
      const next = b[i + 1]!;
      if (next === 0x00 || (next >= 0xd0 && next <= 0xd7)) {
        this.#at = i + 2;
        continue;
      }
      if (next === 0xff) {
        // Fill bytes before a marker.
        while (i + 1 < end && b[i + 1] === 0xff) i++;
        this.#at = i;
        if (i + 1 >= end) return undefined;
        continue;
      }
      // A marker: EOI ends the image; any other (DHT, another SOS of a
      // progressive JPEG) is a segment.
      this.#at = i;
      this.#state = "marker";
    }
    return undefined;
  }

  #emit(): Uint8Array {
    const jpeg = this.#buffer.slice(this.#start, this.#at);
    this.#start = this.#at;
    this.#state = "seek";
    return jpeg;
  }

  #append(chunk: Uint8Array): void {
    const needed = this.#length + chunk.length;
    if (needed > this.#buffer.length) {
      let capacity = this.#buffer.length;
      while (capacity < needed) capacity *= 2;
      const grown = new Uint8Array(capacity);
      grown.set(this.#buffer.subarray(0, this.#length));
      this.#buffer = grown;
    }
    this.#buffer.set(chunk, this.#length);
    this.#length = needed;
  }

  /** Drops the bytes before the current JPEG (or the parse point). */
  #compact(): void {
    const keep = Math.min(this.#start, this.#at);
    if (keep === 0) return;
    this.#buffer.copyWithin(0, keep, this.#length);
    this.#length -= keep;
    this.#at -= keep;
    this.#start -= keep;
  }
}

/** Index of the next `FF D8` in `bytes` from `from`, or -1. */
function findSoi(bytes: Uint8Array, from: number): number {
  let i = bytes.indexOf(0xff, from);
  while (i !== -1 && i + 1 < bytes.length) {
    if (bytes[i + 1] === 0xd8) return i;
    i = bytes.indexOf(0xff, i + 1);
  }
  return -1;
}
