/**
 * The recorded `views` fixture, as the benchmarks use it.
 *
 * @module
 */

import { parseFixture } from "../../src/core/fixture.ts";
import type { PlacedMessage } from "./services.ts";

/** The fixture every benchmark replays, relative to the repository root. */
export const VIEWS_FIXTURE = "fixtures/views/views.jsonl";

/** Partitions of the recorded fixture (and of the benchmark topics). */
export const FIXTURE_PARTITIONS = 4;

/** Reads the fixture's text. */
export async function readFixtureText(root: URL): Promise<string> {
  return await Deno.readTextFile(new URL(VIEWS_FIXTURE, root));
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
