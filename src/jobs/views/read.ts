/**
 * Reading the `views` job's outputs back, for the CLI and HTTP readers.
 *
 * @module
 */

import type { KeyValue } from "../../ports.ts";
import { byRank, type Ranked } from "../../flow/aggregates.ts";

const SLIDING_PREFIX = "top_videos:sliding:";

/** Minute buckets (`yyyyMMddHHmm` of the window end) that have a sliding Top-K, ascending. */
export async function slidingWindowEnds(kv: KeyValue): Promise<string[]> {
  const ends = new Set<string>();
  for (const key of await kv.keys(`${SLIDING_PREFIX}*`)) {
    const bucket = key.slice(SLIDING_PREFIX.length).split(":")[0];
    if (bucket !== undefined) ends.add(bucket);
  }
  return [...ends].sort();
}

/**
 * The global Top-K of the sliding window ending at `bucket`: the union of
 * the partitions' Top-K sets, counts of a video summed over partitions (with
 * input keyed by `videoId` each video lives in one partition, and the union
 * is exact).
 */
export async function readSlidingTopK(
  kv: KeyValue,
  bucket: string,
  k: number,
): Promise<Ranked[]> {
  const counts = new Map<string, number>();
  for (const key of await kv.keys(`${SLIDING_PREFIX}${bucket}:*`)) {
    for (const { member, score } of await kv.zrevrange(key, 0, -1)) {
      counts.set(member, (counts.get(member) ?? 0) + score);
    }
  }
  return [...counts].map(([member, count]) => ({ member, count }))
    .sort(byRank).slice(0, k);
}
