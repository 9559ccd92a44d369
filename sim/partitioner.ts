/**
 * Which partition a keyed record goes to. The fixture generator uses the same
 * rule, so recorded fixtures and simulated produces agree.
 *
 * Note: this is FNV-1a, not Kafka's default murmur2 partitioner.
 *
 * @module
 */

const UTF8 = new TextEncoder();

/** FNV-1a, 32-bit, over `bytes`; an unsigned integer. */
export function fnv1a32(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const byte of bytes) h = Math.imul(h ^ byte, 0x01000193);
  return h >>> 0;
}

/** Something that picks an integer in [0, n): an `Rng`, or {@linkcode roundRobin}. */
export interface PartitionChooser {
  int(maxExclusive: number): number;
}

/** A chooser that cycles 0, 1, 2, … modulo the partition count. */
export function roundRobin(): PartitionChooser {
  let next = 0;
  return { int: (maxExclusive) => next++ % maxExclusive };
}

/**
 * The partition of `key`: FNV-1a 32-bit over its UTF-8 bytes, modulo
 * `partitions`. A `null` key has no natural partition: `choose` picks one
 * (pass an `Rng` or a {@linkcode roundRobin}); without it, a null key is an
 * error rather than a silent skew onto one partition.
 */
export function partitionFor(
  key: string | null,
  partitions: number,
  choose?: PartitionChooser,
): number {
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw new RangeError(
      `Cannot pick a partition as 'partitions' must be a positive integer: current value is ${partitions}`,
    );
  }
  if (key === null) {
    if (choose === undefined) {
      throw new TypeError(
        "Cannot pick a partition for a null key as 'choose' must be given: current value is undefined",
      );
    }
    return choose.int(partitions);
  }
  return fnv1a32(UTF8.encode(key)) % partitions;
}
