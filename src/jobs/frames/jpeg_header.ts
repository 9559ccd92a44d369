/**
 * Reading a JPEG's frame header (its SOF marker segment) without decoding
 * the image: the size and component count are known before any pixel memory
 * is allocated, so an oversized frame can be refused cheaply.
 *
 * A JPEG is a sequence of marker segments: `FF D8` (start of image), then
 * segments `FF xx` each followed by a big-endian 16-bit length that counts
 * itself, up to the first `FF DA` (start of scan), after which entropy-coded
 * data follows. The frame header (`FF C0`..`FF CF` except `C4`, `C8` and
 * `CC`) must come before the first scan.
 *
 * @module
 */

/** What a JPEG's frame header says. */
export interface JpegHeader {
  width: number;
  height: number;
  /** Colour components: 1 (greyscale), 3 (YCbCr or RGB) or 4 (CMYK or YCCK). */
  components: number;
  /** Bits per sample: 8 for almost every JPEG, 12 or 16 for some. */
  precision: number;
  /** The SOF marker's second byte: `0xc0` baseline, `0xc2` progressive, ... */
  sof_marker: number;
}

/** The frame header of `jpeg`, or why it cannot be read. */
export type JpegHeaderResult =
  | { ok: true; header: JpegHeader }
  | { ok: false; reason: string };

/** Whether `marker` (the byte after `FF`) starts a frame header. */
function isStartOfFrame(marker: number): boolean {
  // C4 defines Huffman tables, C8 is reserved (JPG), CC defines arithmetic
  // coding conditioning: the other C0..CF markers are frame headers.
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 &&
    marker !== 0xc8 && marker !== 0xcc;
}

/** Reads the frame header of `jpeg`; never throws. */
export function readJpegHeader(jpeg: Uint8Array): JpegHeaderResult {
  if (jpeg.length < 2 || jpeg[0] !== 0xff || jpeg[1] !== 0xd8) {
    return {
      ok: false,
      reason: "data is not a JPEG: it must start with the SOI marker FF D8",
    };
  }
  let at = 2;
  while (at < jpeg.length) {
    if (jpeg[at] !== 0xff) {
      return {
        ok: false,
        reason:
          `JPEG header is corrupt: expected a marker at byte ${at}, found 0x${
            hex(jpeg[at]!)
          }`,
      };
    }
    // Any number of FF fill bytes may precede a marker.
    while (at < jpeg.length && jpeg[at] === 0xff) at++;
    if (at >= jpeg.length) break;
    const marker = jpeg[at]!;
    at++;
    // Markers without a length: TEM and the restart markers.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (marker === 0xd9) {
      return {
        ok: false,
        reason: "JPEG has no frame header: end of image before any SOF marker",
      };
    }
    if (marker === 0xda) {
      return {
        ok: false,
        reason: "JPEG has no frame header: scan data before any SOF marker",
      };
    }
    if (at + 2 > jpeg.length) break;
    const length = (jpeg[at]! << 8) | jpeg[at + 1]!;
    if (length < 2) {
      return {
        ok: false,
        reason: `JPEG header is corrupt: segment 0x${
          hex(marker)
        } at byte ${at} has length ${length}`,
      };
    }
    if (isStartOfFrame(marker)) {
      if (length < 8 || at + 8 > jpeg.length) break;
      const precision = jpeg[at + 2]!;
      const height = (jpeg[at + 3]! << 8) | jpeg[at + 4]!;
      const width = (jpeg[at + 5]! << 8) | jpeg[at + 6]!;
      const components = jpeg[at + 7]!;
      if (width === 0 || height === 0) {
        // A zero height defers it to a DNL marker after the first scan,
        // which decoders rarely support; a zero width is invalid.
        return {
          ok: false,
          reason:
            `JPEG frame header must give a non-zero size: current value is ${width}x${height}`,
        };
      }
      return {
        ok: true,
        header: { width, height, components, precision, sof_marker: marker },
      };
    }
    at += length;
  }
  return {
    ok: false,
    reason: "JPEG is truncated: it ends before its frame header",
  };
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0").toUpperCase();
}
