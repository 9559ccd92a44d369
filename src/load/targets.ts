/**
 * Which jobs have a loader, and into which table: `freshet load --job`,
 * `run` (which starts the loader beside such a job) and the simulator look
 * a job's target up here.
 *
 * @module
 */

import { type JobOverrides, parseOptions } from "../flow/define.ts";
import { SESSIONS_OPTIONS } from "../jobs/sessions/job.ts";
import type { LoadTarget } from "./loader.ts";
import { sessionsTarget } from "./sessions_target.ts";

/** Jobs with a loader. */
export const LOADED_JOBS: readonly string[] = ["sessions"];

/**
 * The load target of job `name` with its options (the job's
 * `--job-options`: its prefix and gap), or undefined for a job without one.
 */
export function loadTargetOf(
  name: string,
  overrides: JobOverrides = {},
): LoadTarget<unknown> | undefined {
  if (name !== "sessions") return undefined;
  const o = parseOptions(name, SESSIONS_OPTIONS, overrides.options ?? {});
  return sessionsTarget({
    prefix: o.prefix,
    gap_ms: o.gap_ms,
  }) as LoadTarget<unknown>;
}
