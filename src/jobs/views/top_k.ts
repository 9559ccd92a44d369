/**
 * Selecting the K largest counts.
 *
 * @module
 */

/** A member and its count. */
export interface Ranked {
  member: string;
  count: number;
}

/** Ranking order: higher count first, then member ascending. */
export function byRank(a: Ranked, b: Ranked): number {
  return b.count - a.count ||
    (a.member < b.member ? -1 : a.member > b.member ? 1 : 0);
}

/**
 * The `k` highest counts, ranked. Keeps a sorted buffer of at most `k`
 * entries, so most entries cost one comparison.
 */
export function topK(counts: Iterable<[string, number]>, k: number): Ranked[] {
  const best: Ranked[] = [];
  if (k <= 0) return best;
  for (const [member, count] of counts) {
    if (count <= 0) continue;
    const candidate = { member, count };
    if (best.length === k) {
      if (byRank(candidate, best[k - 1]!) >= 0) continue;
      best.pop();
    }
    // Insertion into the sorted buffer: k is small.
    let i = best.length;
    best.push(candidate);
    while (i > 0 && byRank(candidate, best[i - 1]!) < 0) {
      best[i] = best[i - 1]!;
      i--;
    }
    best[i] = candidate;
  }
  return best;
}
