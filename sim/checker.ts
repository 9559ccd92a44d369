/**
 * The invariant checker: a run with faults must leave exactly the outputs of
 * the run without. Separate from the code it checks, it compares canonical
 * outputs (see `outputs.ts`) and names the first differences.
 *
 * @module
 */

import type { CanonicalOutputs } from "./outputs.ts";

/** Differences between two runs' outputs, at most `limit`; empty when equal. */
export function compareOutputs(
  expected: CanonicalOutputs,
  actual: CanonicalOutputs,
  limit = 10,
): string[] {
  const differences: string[] = [];
  const note = (text: string) => {
    if (differences.length < limit) differences.push(text);
  };
  for (
    const field of ["in", "out", "filtered", "dead_lettered", "late"] as const
  ) {
    if (expected.counts[field] !== actual.counts[field]) {
      note(
        `count '${field}': expected ${expected.counts[field]}, got ${
          actual.counts[field]
        }`,
      );
    }
  }
  compareKeyed(
    "key",
    new Map(expected.kv.map((e) => [e.key, JSON.stringify(e)])),
    new Map(actual.kv.map((e) => [e.key, JSON.stringify(e)])),
    note,
  );
  compareKeyed(
    "topic",
    new Map(expected.topics.map((t) => [t.topic, JSON.stringify(t.messages)])),
    new Map(actual.topics.map((t) => [t.topic, JSON.stringify(t.messages)])),
    note,
  );
  compareKeyed(
    "object",
    new Map(expected.objects.map((o) => [o.key, o.body])),
    new Map(actual.objects.map((o) => [o.key, o.body])),
    note,
  );
  return differences;
}

function compareKeyed(
  what: string,
  expected: Map<string, string>,
  actual: Map<string, string>,
  note: (text: string) => void,
): void {
  const shorten = (text: string) =>
    text.length > 160 ? `${text.slice(0, 160)}…` : text;
  for (const [name, value] of expected) {
    const got = actual.get(name);
    if (got === undefined) {
      note(`${what} '${name}' is missing: expected ${shorten(value)}`);
    } else if (got !== value) {
      note(
        `${what} '${name}': expected ${shorten(value)}, got ${shorten(got)}`,
      );
    }
  }
  for (const [name, value] of actual) {
    if (!expected.has(name)) {
      note(`${what} '${name}' is unexpected: ${shorten(value)}`);
    }
  }
}
