/**
 * Choosing the jobs a command works on: the registry's (`--job NAME`, or all
 * of them) or one of the user's own (`--job-file PATH`, a module whose
 * default export comes from `defineJob`).
 *
 * @module
 */

import { isJobSpec, type JobSpec } from "../flow/define.ts";
import { findJob, JOBS } from "../jobs/registry.ts";
import { UsageError } from "./args.ts";

/** Loads a job file: its default export must be a job (`defineJob(...)`). */
export async function loadJobFile(path: string): Promise<JobSpec> {
  let url: URL;
  try {
    url = new URL(path, `file://${Deno.cwd()}/`);
    await Deno.stat(url);
  } catch (error) {
    throw new UsageError(
      `cannot read job file '${path}': ${(error as Error).message}`,
    );
  }
  let module: Record<string, unknown>;
  try {
    module = await import(url.href);
  } catch (error) {
    throw new UsageError(
      `cannot load job file '${path}': ${(error as Error).message}`,
    );
  }
  const spec = module.default;
  if (!isJobSpec(spec)) {
    throw new UsageError(
      `job file '${path}' must export a job as its default export (export default defineJob({...}))`,
    );
  }
  return spec;
}

/** The jobs named by `--job` or `--job-file`, or every registered job. */
export async function selectJobs(
  job: string | undefined,
  job_file: string | undefined,
): Promise<readonly JobSpec[]> {
  if (job !== undefined && job_file !== undefined) {
    throw new UsageError(
      "flags --job and --job-file exclude each other: choose one",
    );
  }
  if (job_file !== undefined) return [await loadJobFile(job_file)];
  try {
    return job === undefined ? JOBS : [findJob(job)];
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
