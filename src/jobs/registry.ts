/**
 * Every job users can run, by name, with its recorded fixture and a summary
 * of what it computed.
 *
 * @module
 */

import type { Job } from "../core/job.ts";
import type { KeyValue } from "../ports.ts";
import { parseViewsOptions, viewsConfig, viewsJob } from "./views/job.ts";
import { readSlidingTopK, slidingWindowEnds } from "./views/read.ts";

/** Settings a deployment may override for any job (`run`/`produce` flags). */
export interface JobOverrides {
  /**
   * Input topic instead of the job's default; side-output topics follow it
   * (`<topic>.dead-letter`, ...). Lets several deployments or tests share one
   * Kafka cluster.
   */
  topic?: string;
  /** The job's own options as `name` → text, e.g. `{ top_k: "20" }`. */
  options?: Readonly<Record<string, string>>;
}

/** A runnable job and how to present it. */
export interface JobEntry {
  name: string;
  /** The job with its default options, except what `overrides` sets. */
  create(overrides?: JobOverrides): Job;
  /** The job's options with their defaults, as `name=value` (for help). */
  options: readonly string[];
  /** The recorded fixture, relative to the repository root. */
  fixture: string;
  /** Human-readable lines describing what the job left in the key-value store. */
  summarize(kv: KeyValue): Promise<string[]>;
}

/** The jobs that exist, in the order `sim` and `run` take them. */
export const JOBS: readonly JobEntry[] = [
  {
    name: "views",
    create: (overrides = {}) =>
      viewsJob({
        ...parseViewsOptions(overrides.options ?? {}),
        ...(overrides.topic === undefined ? {} : { topic: overrides.topic }),
      }),
    options: Object.entries(viewsConfig())
      .filter(([name]) => name !== "topic")
      .map(([name, value]) => `${name}=${value}`),
    fixture: "fixtures/views/views.jsonl",
    async summarize(kv) {
      const top = await kv.zrevrange("top_videos", 0, 9);
      const lines = ["top 10 videos (top_videos):"];
      top.forEach(({ member, score }, i) => {
        lines.push(
          `  ${String(i + 1).padStart(2)}. ${member.padEnd(24)} ${score}`,
        );
      });
      const hours = await kv.keys("top_videos:hour:*");
      const days = await kv.keys("top_videos:day:*");
      const sliding = await kv.keys("top_videos:sliding:*");
      lines.push(
        `leaderboards: ${hours.length} hourly, ${days.length} daily, ${sliding.length} sliding-window keys`,
      );
      // Trailing windows after the last event hold ever fewer views: show
      // the latest one ending on a whole hour.
      const ends = await slidingWindowEnds(kv);
      const shown = ends.findLast((end) => end.endsWith("00")) ?? ends.at(-1);
      if (shown !== undefined) {
        const top = await readSlidingTopK(kv, shown, 5);
        lines.push(
          `top 5 of the sliding window ending ${shown} UTC: ${
            top.map((r) => `${r.member} ${r.count}`).join(", ")
          }`,
        );
      }
      return lines;
    },
  },
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
export function findJob(name: string): JobEntry {
  const entry = JOBS.find((j) => j.name === name);
  if (entry === undefined) {
    throw new RangeError(
      `unknown job '${name}' (known: ${JOBS.map((j) => j.name).join(", ")})`,
    );
  }
  return entry;
}
