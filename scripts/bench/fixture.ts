/**
 * The recorded `views` fixture, as the benchmarks use it.
 *
 * @module
 */

import { decodeFixture, parseFixture } from "../../src/core/fixture.ts";
import type { PlacedMessage } from "./services.ts";

/** The fixture every benchmark replays, relative to the repository root. */
export const VIEWS_FIXTURE = "fixtures/views/views.jsonl";

/** Partitions of the recorded fixture (and of the benchmark topics). */
export const FIXTURE_PARTITIONS = 4;

/**
 * Reads a fixture's text (the views fixture unless `path` names another,
 * relative to `root`), gunzipping a `.jsonl.gz` one.
 */
export async function readFixtureText(
  root: URL,
  path: string = VIEWS_FIXTURE,
): Promise<string> {
  return await decodeFixture(await Deno.readFile(new URL(path, root)));
}

/** The first `limit` recorded messages, keyed and placed as recorded. */
export function placedMessages(text: string, limit: number): PlacedMessage[] {
  const messages: PlacedMessage[] = [];
  for (const m of parseFixture(text)) {
    if (messages.length >= limit) break;
    messages.push({
      key: m.key ?? null,
      value: m.value,
      partition: (m.partition ?? 0) % FIXTURE_PARTITIONS,
    });
  }
  return messages;
}
