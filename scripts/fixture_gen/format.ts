/**
 * Small helpers the fixture generators share to count and to print facts.
 *
 * @module
 */

/** A record of `kinds`, each counted from zero. */
export function zeroes<K extends string>(
  kinds: readonly K[],
): Record<K, number> {
  return Object.fromEntries(kinds.map((kind) => [kind, 0])) as Record<
    K,
    number
  >;
}

/** Adds one to `key`'s count. */
export function bump<K>(counts: Map<K, number>, key: K): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/** Entries by count descending, then key ascending (a stable, seed-only order). */
export function byCount(counts: Map<string, number>): Array<[string, number]> {
  return [...counts.entries()].sort((a, b) =>
    b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)
  );
}

/** `2024-01-15T10:30:00.000Z`. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** `120,000`. */
export function thousands(n: number): string {
  return n.toLocaleString("en-US");
}

/** `43.9%` of `whole` (one decimal). */
export function percent(part: number, whole: number): string {
  return `${(100 * part / Math.max(1, whole)).toFixed(1)}%`;
}

/** `name value` rows aligned in two columns, as the generators print them. */
export function alignedRows(rows: ReadonlyArray<[string, string]>): string {
  const width = Math.max(0, ...rows.map(([name]) => name.length));
  return rows.map(([name, value]) => `${name.padEnd(width)}  ${value}`).join(
    "\n",
  );
}

/** `| name | value |` rows of a Markdown table. */
export function tableRows(rows: ReadonlyArray<[string, string]>): string {
  return rows.map(([name, value]) => `| ${name} | ${value} |`).join("\n");
}
