/**
 * Snappy, LZ4 and zstd for kafkajs, which decodes only gzip by itself.
 *
 * Without more, a batch another client compressed with snappy, LZ4 or zstd
 * crashes kafkajs's consumer, and a restarted instance fetches the same batch
 * and crashes again. {@linkcode registerCompressionCodecs} fills kafkajs's codec table
 * with pure-JavaScript codecs (no native addons to build):
 *
 * - Snappy (`npm:snappyjs`): decodes raw snappy (librdkafka) and the xerial
 *   framing of the Java client (magic `0x82 SNAPPY 0x00`, two version ints,
 *   then blocks of a 4-byte big-endian length and raw snappy). Compresses to
 *   raw snappy, which every client's decoder accepts.
 * - LZ4 (`npm:lz4js`): the LZ4 frame format Kafka uses, both ways. Frames
 *   are read here and only their blocks by lz4js, whose frame reader
 *   misplaces block checksums and trusts block lengths. Checksums are not
 *   verified (the record batch has its own CRC, checked by the broker).
 * - zstd (`npm:fzstd`): decompression only. freshet never produces zstd, and
 *   no pure-JavaScript zstd compressor is mature enough to trust with
 *   Kafka's data; compressing throws {@linkcode CompressionCodecError}.
 *
 * Snappy streams and LZ4 frames are checked before decoding, since both
 * libraries trust their input (a truncated snappy stream would decode to
 * trailing zeros). A batch that still cannot be decoded (corrupt data, a size
 * beyond {@linkcode MAX_DECOMPRESSED_BYTES}) throws a non-retriable
 * {@linkcode CompressionCodecError} naming the codec: kafkajs's consumer
 * crashes and the adapter's `poll()` throws it, rather than kafkajs
 * restarting its consumer forever. kafkajs decodes the whole fetch response
 * before the consumer sees any of it and hands a codec only the compressed
 * bytes, so the topic, partition and offset are not known here.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { CompressionCodecs, CompressionTypes } from "kafkajs";
// Full specifiers until deno.json's import map has these three entries.
import snappy from "snappyjs";
import lz4 from "lz4js";
import { decompress as zstdDecompress } from "fzstd";

/**
 * Largest decompressed batch accepted. A corrupt length field would otherwise
 * ask for gigabytes; Kafka batches are bounded by the broker's
 * `message.max.bytes` (1 MiB by default), compressed.
 */
export const MAX_DECOMPRESSED_BYTES = 256 * 1024 * 1024;

/** The codec shape kafkajs expects behind `CompressionCodecs[type]()`. */
export interface KafkaCompressionCodec {
  /** Compresses the records kafkajs encoded. */
  compress(encoder: { buffer: Uint8Array }): Promise<Buffer>;
  /** Decompresses the records of one batch (or one legacy message). */
  decompress(buffer: Uint8Array): Promise<Buffer>;
}

/** Names of the codecs this module provides. */
export type CodecName = "snappy" | "lz4" | "zstd";

/** Raised when a batch cannot be compressed or decompressed. */
export class CompressionCodecError extends Error {
  /** The codec that failed. */
  readonly codec: CodecName;
  /**
   * Read by kafkajs's retrier: decoding the same bytes again fails again, and
   * a retriable error would make kafkajs restart its consumer forever, out of
   * the runner's sight. Non-retriable, the consumer crashes and `poll()`
   * throws this error.
   */
  readonly retriable = false;

  constructor(codec: CodecName, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CompressionCodecError";
    this.codec = codec;
  }
}

const XERIAL_MAGIC = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00];
/** Magic, version and compatible-version ints. */
const XERIAL_HEADER_BYTES = 16;

/** Snappy: decodes raw and xerial-framed data, encodes raw. */
export const snappyCodec: KafkaCompressionCodec = {
  compress(encoder) {
    return Promise.resolve(
      toBuffer(snappy.compress(encoder.buffer) as Uint8Array),
    );
  },
  decompress(buffer) {
    return decoding("snappy", buffer, () => {
      return isXerialFramed(buffer)
        ? decodeXerial(buffer)
        : decodeRawSnappy(buffer, MAX_DECOMPRESSED_BYTES);
    });
  },
};

/** LZ4 in the frame format, both ways. */
export const lz4Codec: KafkaCompressionCodec = {
  compress(encoder) {
    return Promise.resolve(
      toBuffer(lz4.compress(encoder.buffer) as Uint8Array),
    );
  },
  decompress(buffer) {
    return decoding("lz4", buffer, () => {
      return decodeLz4Frame(buffer);
    });
  },
};

/** zstd: decompression only (see the module doc). */
export const zstdCodec: KafkaCompressionCodec = {
  compress() {
    return Promise.reject(
      new CompressionCodecError(
        "zstd",
        "Cannot compress with zstd as freshet only decompresses it (npm:fzstd has no compressor): produce with gzip, snappy or lz4",
      ),
    );
  },
  decompress(buffer) {
    return decoding("zstd", buffer, () => {
      const output = zstdDecompress(buffer);
      checkSize(output.length);
      return output;
    });
  },
};

/**
 * Registers {@linkcode snappyCodec}, {@linkcode lz4Codec} and
 * {@linkcode zstdCodec} in kafkajs's codec table, which is global to the
 * kafkajs module. Calling it again changes nothing.
 */
export function registerCompressionCodecs(): void {
  const codecs = CompressionCodecs as Record<
    number,
    () => KafkaCompressionCodec
  >;
  codecs[CompressionTypes.Snappy] = snappyFactory;
  codecs[CompressionTypes.LZ4] = lz4Factory;
  codecs[CompressionTypes.ZSTD] = zstdFactory;
}

const snappyFactory = () => snappyCodec;
const lz4Factory = () => lz4Codec;
const zstdFactory = () => zstdCodec;

/** Runs `decode`, turning any failure into a {@linkcode CompressionCodecError}. */
function decoding(
  codec: CodecName,
  input: Uint8Array,
  decode: () => Uint8Array,
): Promise<Buffer> {
  try {
    return Promise.resolve(toBuffer(decode()));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return Promise.reject(
      new CompressionCodecError(
        codec,
        `Cannot decompress a Kafka batch as its ${codec} data is invalid: ${reason} (${input.length} compressed bytes)`,
        { cause: error },
      ),
    );
  }
}

function isXerialFramed(input: Uint8Array): boolean {
  return input.length >= XERIAL_HEADER_BYTES &&
    XERIAL_MAGIC.every((byte, i) => input[i] === byte);
}

/** Concatenates the raw snappy blocks that follow the xerial header. */
function decodeXerial(input: Uint8Array): Uint8Array {
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const blocks: Uint8Array[] = [];
  let total = 0;
  let at = XERIAL_HEADER_BYTES;
  while (at < input.length) {
    if (at + 4 > input.length) {
      throw new Error(
        `xerial block header at byte ${at} must have 4 bytes: ${
          input.length - at
        } left`,
      );
    }
    const length = view.getUint32(at);
    at += 4;
    if (at + length > input.length) {
      throw new Error(
        `xerial block at byte ${at} must fit the input: length is ${length}, ${
          input.length - at
        } bytes left`,
      );
    }
    const block = decodeRawSnappy(
      input.subarray(at, at + length),
      MAX_DECOMPRESSED_BYTES - total,
    );
    blocks.push(block);
    total += block.length;
    at += length;
  }
  const output = new Uint8Array(total);
  let offset = 0;
  for (const block of blocks) {
    output.set(block, offset);
    offset += block.length;
  }
  return output;
}

function decodeRawSnappy(input: Uint8Array, max_bytes: number): Uint8Array {
  checkRawSnappy(input, max_bytes);
  return snappy.uncompress(input, max_bytes) as Uint8Array;
}

/**
 * Walks a raw snappy stream's elements, checking they decode to its declared
 * length (at most `max_bytes`).
 * snappyjs neither checks that the elements fill the declared length nor
 * that a copy stays inside it, so a truncated stream would decode to
 * trailing zeros instead of failing.
 */
function checkRawSnappy(input: Uint8Array, max_bytes: number): void {
  let declared = 0;
  let at = 0;
  for (let shift = 0;; shift += 7) {
    const byte = input[at++];
    if (byte === undefined || shift > 28) {
      throw new Error("snappy length header must be a varint of 1 to 5 bytes");
    }
    declared += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) break;
  }
  if (declared > max_bytes) {
    throw new Error(
      `the decompressed size must be at most ${max_bytes} bytes (MAX_DECOMPRESSED_BYTES): current value is ${declared}`,
    );
  }
  let out = 0;
  while (at < input.length) {
    const tag = input[at++]!;
    let length: number;
    if ((tag & 3) === 0) {
      length = (tag >>> 2) + 1;
      if (length > 60) {
        const size = length - 60;
        if (at + size > input.length) break;
        length = 1;
        for (let i = 0; i < size; i++) length += input[at + i]! * 2 ** (8 * i);
        at += size;
      }
      if (at + length > input.length) {
        throw new Error(
          `snappy literal at byte ${at} must fit the input: length is ${length}, ${
            input.length - at
          } bytes left`,
        );
      }
      at += length;
    } else {
      const offset_bytes = [0, 1, 2, 4][tag & 3]!;
      if (at + offset_bytes > input.length) break;
      let offset = 0;
      for (let i = 0; i < offset_bytes; i++) {
        offset += input[at + i]! * 2 ** (8 * i);
      }
      at += offset_bytes;
      if ((tag & 3) === 1) {
        length = ((tag >>> 2) & 7) + 4;
        offset += (tag >>> 5) << 8;
      } else {
        length = (tag >>> 2) + 1;
      }
      if (offset === 0 || offset > out) {
        throw new Error(
          `snappy copy at byte ${at} must point into the output: offset ${offset}, ${out} bytes decoded`,
        );
      }
    }
    out += length;
    if (out > declared) break;
  }
  if (out !== declared) {
    throw new Error(
      `snappy data must decode to its declared length ${declared}: it decodes to ${out} bytes up to byte ${at} of ${input.length}`,
    );
  }
}

const LZ4_MAGIC = 0x184d2204;
const LZ4_BLOCK_MAX_BYTES = [0, 0, 0, 0, 64 << 10, 256 << 10, 1 << 20, 4 << 20];

interface Lz4Block {
  /** Where the block's data starts in the frame. */
  start: number;
  length: number;
  /** Stored as is, not compressed. */
  stored: boolean;
}

/**
 * Decodes an LZ4 frame, using lz4js only for the blocks. lz4js's own frame
 * reader skips a block checksum before the block instead of after it (so it
 * misreads frames with block checksums) and trusts block lengths.
 */
function decodeLz4Frame(input: Uint8Array): Uint8Array {
  const { blocks, block_max } = parseLz4Frame(input);
  const output = new Uint8Array(
    blocks.reduce((sum, b) => sum + (b.stored ? b.length : block_max), 0),
  );
  let at = 0;
  for (const block of blocks) {
    if (block.stored) {
      output.set(input.subarray(block.start, block.start + block.length), at);
      at += block.length;
      continue;
    }
    const end = lz4.decompressBlock(
      input,
      output,
      block.start,
      block.length,
      at,
    ) as number;
    if (!(end - at <= block_max)) {
      throw new Error(
        `LZ4 block at byte ${block.start} must decode to at most ${block_max} bytes: current value is ${
          end - at
        }`,
      );
    }
    at = end;
  }
  return output.subarray(0, at);
}

/** Checks an LZ4 frame's header and block lengths and lists its blocks. */
function parseLz4Frame(
  input: Uint8Array,
): { blocks: Lz4Block[]; block_max: number } {
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  if (input.length < 7 || view.getUint32(0, true) !== LZ4_MAGIC) {
    throw new Error("LZ4 frame must start with magic 0x184D2204");
  }
  const flags = input[4]!;
  if ((flags >> 6) !== 1) {
    throw new Error(
      `LZ4 frame version must be 1: current value is ${flags >> 6}`,
    );
  }
  if ((flags & 0x01) !== 0) {
    throw new Error("LZ4 frame must not use a dictionary id");
  }
  const block_size_id = (input[5]! >> 4) & 7;
  const block_max = LZ4_BLOCK_MAX_BYTES[block_size_id] ?? 0;
  if (block_max === 0) {
    throw new Error(
      `LZ4 frame block size id must be 4 to 7: current value is ${block_size_id}`,
    );
  }
  const has_block_checksum = (flags & 0x10) !== 0;
  const has_content_size = (flags & 0x08) !== 0;
  const has_content_checksum = (flags & 0x04) !== 0;
  // Magic, FLG, BD, optional content size, header checksum.
  let at = 6 + (has_content_size ? 8 : 0) + 1;
  const blocks: Lz4Block[] = [];
  let bound = 0;
  while (true) {
    if (at + 4 > input.length) {
      throw new Error(
        `LZ4 frame ends at byte ${input.length} before its end mark`,
      );
    }
    const word = view.getUint32(at, true);
    at += 4;
    if (word === 0) break;
    const stored = (word & 0x80000000) !== 0;
    const length = word & 0x7fffffff;
    if (length > block_max) {
      throw new Error(
        `LZ4 block at byte ${
          at - 4
        } must be at most ${block_max} bytes: current value is ${length}`,
      );
    }
    if (at + length + (has_block_checksum ? 4 : 0) > input.length) {
      throw new Error(
        `LZ4 block must fit the input: it ends at byte ${
          at + length
        }, the input at ${input.length}`,
      );
    }
    blocks.push({ start: at, length, stored });
    at += length + (has_block_checksum ? 4 : 0);
    bound += stored ? length : block_max;
    checkSize(bound);
  }
  if (has_content_checksum && at + 4 > input.length) {
    throw new Error("LZ4 frame must end with its content checksum");
  }
  return { blocks, block_max };
}

function checkSize(bytes: number): void {
  if (bytes > MAX_DECOMPRESSED_BYTES) {
    throw new Error(
      `the decompressed size must be at most MAX_DECOMPRESSED_BYTES (${MAX_DECOMPRESSED_BYTES}): current value is ${bytes}`,
    );
  }
}

function toBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data)
    ? data
    : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
