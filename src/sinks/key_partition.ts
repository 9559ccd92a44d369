/**
 * The partition of a keyed Kafka message, as Kafka's default partitioner
 * picks it (the Java client's, and kafkajs's `DefaultPartitioner`): murmur2
 * of the key's UTF-8 bytes, made positive, modulo the partition count.
 *
 * The Kafka sink sets it on every keyed message itself rather than leaving
 * the choice to the log: the simulator's log twin partitions keyed records
 * by another hash (its fixtures were recorded with it), and a repartition's
 * elements must reach the same downstream partition in both, or the stage
 * after it cuts its outputs differently in production than in a replay.
 *
 * @module
 */

const UTF8 = new TextEncoder();

/** Kafka's murmur2 (`org.apache.kafka.common.utils.Utils.murmur2`), as a signed 32-bit integer. */
export function murmur2(data: Uint8Array): number {
  const m = 0x5bd1e995;
  const length = data.length;
  let h = 0x9747b28c ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) |
      (data[i + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  // The last one to three bytes, as the Java switch falls through them.
  const rest = length & 3;
  if (rest === 3) h ^= data[whole + 2]! << 16;
  if (rest >= 2) h ^= data[whole + 1]! << 8;
  if (rest >= 1) h = Math.imul(h ^ data[whole]!, m);
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition of `key` among `partitions`, as Kafka's default partitioner. */
export function keyPartition(key: string, partitions: number): number {
  if (!Number.isSafeInteger(partitions) || partitions < 1) {
    throw new RangeError(
      `Cannot pick a partition as 'partitions' must be a positive integer: current value is ${partitions}`,
    );
  }
  return (murmur2(UTF8.encode(key)) & 0x7fffffff) % partitions;
}
