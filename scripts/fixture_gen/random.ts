/**
 * Draws from the seeded generator of `scripts/gen_views_fixture.ts`
 * (`createRandom`): the distributions the fixture generators share.
 *
 * @module
 */

/** A seeded generator of floats in [0, 1). */
export type Random = () => number;

/** Exponential with mean 1. */
export function exponential(random: Random): number {
  return -Math.log(1 - random());
}

/** Uniform in [low, high). */
export function uniform(random: Random, low: number, high: number): number {
  return low + random() * (high - low);
}

/** An integer uniform in [low, high]. */
export function integer(random: Random, low: number, high: number): number {
  return low + Math.floor(random() * (high - low + 1));
}

/** Standard normal (Box–Muller; one draw of the pair is discarded, so each call takes two uniforms). */
export function normal(random: Random): number {
  const u = 1 - random(); // (0, 1]: log(0) would be -Infinity
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Log-normal with the given median and σ of the underlying normal. */
export function logNormal(
  random: Random,
  median: number,
  sigma: number,
): number {
  return median * Math.exp(sigma * normal(random));
}

/**
 * A sampler of `items` by weight (weights need not sum to 1; order decides
 * ties, so the result depends only on the draws).
 */
export function weighted<T>(
  entries: ReadonlyArray<readonly [T, number]>,
  random: Random,
): () => T {
  if (entries.length === 0) {
    throw new RangeError(
      "Cannot sample by weight as 'entries' must not be empty: current value is []",
    );
  }
  const total = entries.reduce((sum, [, weight]) => sum + weight, 0);
  return () => {
    let target = random() * total;
    for (const [item, weight] of entries) {
      target -= weight;
      if (target < 0) return item;
    }
    return entries[entries.length - 1]![0];
  };
}

/** `count` distinct integers in [0, limit), in drawing order. */
export function distinctIndices(
  limit: number,
  count: number,
  random: Random,
): number[] {
  const chosen = new Set<number>();
  const wanted = Math.min(count, limit);
  while (chosen.size < wanted) chosen.add(Math.floor(random() * limit));
  return [...chosen];
}

/** Shuffles `items` in place (Fisher–Yates) and returns them. */
export function shuffled<T>(items: T[], random: Random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/**
 * Positions of odd records: `count` distinct line indices in [0, limit), in
 * line order, each given a kind round-robin and the kind's variant number
 * (how many of that kind came before), so every kind and variant appears.
 */
export function oddPositions<K>(
  limit: number,
  count: number,
  kinds: readonly K[],
  random: Random,
): Map<number, { kind: K; variant: number }> {
  const positions = distinctIndices(limit, count, random).sort((a, b) => a - b);
  return new Map(
    positions.map((position, i) => [position, {
      kind: kinds[i % kinds.length]!,
      variant: Math.floor(i / kinds.length),
    }]),
  );
}
