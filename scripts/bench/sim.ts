/**
 * Simulator replay throughput of the `views` job against a bare loop over
 * the same fixture text. Both start from the text in memory and both parse
 * it: the baseline splits lines, parses each recorded record and its payload
 * and counts `videoId` in a Map; the candidate parses the fixture and
 * replays it through `simulate()` (twins of Kafka, Redis and S3, virtual
 * clock, checkpoints, no faults).
 *
 * @module
 */

import { simulate } from "../../sim/simulator.ts";
import { parseFixture } from "../../src/core/fixture.ts";
import { views } from "../../src/jobs/views/job.ts";

/** One timed pass over the fixture. */
export interface PassTiming {
  records: number;
  ms: number;
  /** Distinct videoIds (baseline) or poll steps (candidate): a sanity figure. */
  check: number;
}

/** The bare loop: per line, parse the record, parse its value, count `videoId`. */
export function baselinePass(text: string): PassTiming {
  const started = performance.now();
  const counts = new Map<unknown, number>();
  let records = 0;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf("\n", start);
    if (end === -1) end = text.length;
    if (end > start) {
      const record = JSON.parse(text.slice(start, end));
      records++;
      try {
        const id = JSON.parse(record.value)?.videoId;
        counts.set(id, (counts.get(id) ?? 0) + 1);
      } catch {
        // A bad payload: the candidate dead-letters it; here it is skipped.
      }
    }
    start = end + 1;
  }
  return { records, ms: performance.now() - started, check: counts.size };
}

/**
 * The simulator: `simulate({ job: views.create(), fixture: parseFixture(text), seed: 1 })`;
 * `poll_interval_ms` only for comparison runs (default: the simulator's, 1 s).
 */
export async function candidatePass(
  text: string,
  poll_interval_ms?: number,
): Promise<PassTiming> {
  const started = performance.now();
  const result = await simulate({
    job: views.create(),
    fixture: parseFixture(text),
    seed: 1,
    ...(poll_interval_ms === undefined ? {} : { poll_interval_ms }),
  });
  const ms = performance.now() - started;
  return { records: result.counts.in, ms, check: result.steps };
}
