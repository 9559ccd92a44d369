/**
 * Every job users can run by name. A job of one's own runs from its file
 * instead (`--job-file ./my_job.ts`, default export from `defineJob`).
 *
 * @module
 */

import type { JobSpec } from "../flow/define.ts";
import { views } from "./views/job.ts";
import { analytics } from "./analytics/job.ts";
import { clickstream } from "./clickstream/job.ts";
import { frames } from "./frames/job.ts";
import { transactions } from "./transactions/job.ts";
import { sessions } from "./sessions/job.ts";

export type { JobOverrides, JobSpec } from "../flow/define.ts";

/** The jobs that exist, in the order `sim` and `run` take them. */
export const JOBS: readonly JobSpec[] = [
  views,
  transactions,
  clickstream,
  analytics,
  frames,
  sessions,
];

/**
 * Parses `name=value,name=value` (the `--job-options` flag) into settings;
 * the job checks names and values when it is created.
 */
export function parseJobOptions(list: string): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const item of list.split(",")) {
    if (item.trim() === "") continue;
    const eq = item.indexOf("=");
    if (eq <= 0) {
      throw new RangeError(
        `job options must be name=value pairs separated by commas: got '${item}'`,
      );
    }
    settings[item.slice(0, eq).trim()] = item.slice(eq + 1).trim();
  }
  return settings;
}

/** The job named `name`, or an error listing the known ones. */
export function findJob(name: string): JobSpec {
  const entry = JOBS.find((j) => j.name === name);
  if (entry === undefined) {
    throw new RangeError(
      `unknown job '${name}' (known: ${JOBS.map((j) => j.name).join(", ")})`,
    );
  }
  return entry;
}
