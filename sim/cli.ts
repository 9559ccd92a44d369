/**
 * `freshet sim`: replays recorded fixtures through jobs with the twins, and
 * prints what they computed. See docs/SIM.md for the `--out` layout.
 *
 * @module
 */

import {
  flagHelp,
  type FlagSpec,
  intFlag,
  parseArgs,
  readFixtureText,
  UsageError,
} from "../src/cli/args.ts";
import { parseFixture } from "../src/core/fixture.ts";
import {
  type JobOverrides,
  JOBS,
  type JobSpec,
  parseJobOptions,
} from "../src/jobs/registry.ts";
import { selectJobs } from "../src/cli/jobs.ts";
import { Progress } from "../src/cli/progress.ts";
import {
  FAULT_KINDS,
  parseFaults,
  simulate,
  type SimulationResult,
} from "./simulator.ts";
import {
  type CanonicalOutputs,
  canonicalOutputs,
  digest,
  isStagingKey,
} from "./outputs.ts";
import { compareOutputs } from "./checker.ts";
import { writeDump } from "./dump.ts";
import { loadedTables, writeTables } from "./loader_sim.ts";

const SPEC: FlagSpec = {
  values: {
    job: `job to replay: ${
      JOBS.map((j) => j.name).join(", ")
    } (default: every job)`,
    "job-file":
      "a job of your own: a module whose default export is defineJob({...}) (needs --fixture unless it names one)",
    fixture:
      "fixture file: JSONL of recorded records or raw payloads (default: the job's own)",
    seed: "seed of every random choice (default: 1)",
    faults: `comma-separated faults to inject: ${
      FAULT_KINDS.join(", ")
    }, or 'all' (default: none)`,
    out:
      "directory to write the final contents of every twin to (see docs/SIM.md)",
    "checkpoint-interval-ms":
      "virtual time between checkpoints (default: 600000)",
    instances:
      "instances of the job sharing its partitions in one consumer group (default: 1)",
    "job-options":
      "the job's options as name=value,name=value (needs --job; see below)",
    skip: "fixture messages to skip from the start (default: 0)",
    limit: "fixture messages to replay at most (default: all)",
    "progress-ms":
      "time between progress lines when stderr is not a terminal (default: 5000)",
  },
  booleans: {
    help: "print this help",
    quiet:
      "print no progress (on stderr: a line redrawn on a terminal, else one every --progress-ms)",
  },
};

/** Help of `freshet sim`. */
export const SIM_HELP =
  `freshet sim: replay recorded fixtures through jobs on a virtual clock

Usage: deno task sim [flags]

Runs with embedded twins of Kafka, Redis and S3: no service is needed. Given
a seed, the outputs are byte-identical on every run; with faults, they must
equal the outputs of the run without (the simulator checks it and prints the
command to reproduce a failure).

Flags:
${flagHelp(SPEC)}

Job options (--job-options), with their defaults:
${JOBS.map((j) => `  ${j.name}: ${j.optionHelp().join(", ")}`).join("\n")}`;

/** Runs `freshet sim`; answers the exit code. */
export async function simCommand(args: readonly string[]): Promise<number> {
  const parsed = parseArgs(args, SPEC);
  if (parsed.booleans.has("help")) {
    console.log(SIM_HELP);
    return 0;
  }
  if (parsed.positional.length > 0) {
    throw new UsageError(
      `sim takes no positional arguments: got '${parsed.positional[0]}'`,
    );
  }
  const jobName = parsed.values.get("job") ?? parsed.values.get("job-file");
  const entries = await selectJobs(
    parsed.values.get("job"),
    parsed.values.get("job-file"),
  );
  const fixturePath = parsed.values.get("fixture");
  if (fixturePath !== undefined && jobName === undefined) {
    throw new UsageError(
      "flag --fixture needs --job: a fixture belongs to one job",
    );
  }
  const optionList = parsed.values.get("job-options");
  if (optionList !== undefined && jobName === undefined) {
    throw new UsageError(
      "flag --job-options needs --job: options belong to one job",
    );
  }
  let overrides: JobOverrides = {};
  try {
    overrides = { options: parseJobOptions(optionList ?? "") };
    for (const entry of entries) entry.create(overrides);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const seed = intFlag(parsed, "seed", 1);
  let faults;
  try {
    faults = parseFaults(parsed.values.get("faults") ?? "none");
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const checkpoint_interval_ms = intFlag(
    parsed,
    "checkpoint-interval-ms",
    600_000,
  );
  const out = parsed.values.get("out");
  const quiet = parsed.booleans.has("quiet");
  const progress_ms = intFlag(parsed, "progress-ms", 5_000);
  if (progress_ms < 1) {
    throw new UsageError(
      `flag --progress-ms must be at least 1: got ${progress_ms}`,
    );
  }

  let failed = false;
  for (const entry of entries) {
    const path = fixturePath ?? entry.fixture;
    if (path === undefined) {
      throw new UsageError(
        `job '${entry.name}' has no recorded fixture: give one with --fixture FILE`,
      );
    }
    const text = await readFixtureText(path);
    const instances = intFlag(parsed, "instances", 1);
    if (instances < 1) {
      throw new UsageError(
        `flag --instances must be at least 1: got ${instances}`,
      );
    }
    const skip = intFlag(parsed, "skip", 0);
    const limit = intFlag(parsed, "limit", Number.MAX_SAFE_INTEGER);
    if (skip < 0 || limit < 0) {
      throw new UsageError(
        `flags --skip and --limit must not be negative: got ${skip} and ${limit}`,
      );
    }
    const fixture = parseFixture(text).slice(skip, skip + limit);
    const job = entry.create(overrides);
    // With faults, the fault-free run comes first: the contract compares
    // against it, and its service calls aim the crashes (expected_calls).
    const clean = faults.length > 0
      ? await withProgress(
        quiet ? null : progress_ms,
        `${entry.name} (fault-free run)`,
        (onProgress) =>
          simulate({
            job: entry.create(overrides),
            fixture,
            seed,
            checkpoint_interval_ms,
            onProgress,
          }),
      )
      : null;
    const started = performance.now();
    const result = await withProgress(
      quiet ? null : progress_ms,
      entry.name,
      (onProgress) =>
        simulate({
          job,
          fixture,
          seed,
          faults,
          checkpoint_interval_ms,
          instances,
          expected_calls: clean?.calls,
          onProgress,
        }),
    );
    const elapsed_ms = performance.now() - started;
    const canonical = await canonicalOutputs(result, [job.topic]);
    const sha = await digest(canonical);
    await printSummary(
      entry,
      path,
      fixture.length,
      seed,
      faults,
      result,
      sha,
      elapsed_ms,
      overrides,
      canonical,
    );
    if (clean !== null) {
      // The contract: faults change nothing users can read.
      const differences = compareOutputs(
        await canonicalOutputs(clean, [job.topic]),
        canonical,
      );
      if (differences.length === 0) {
        console.log("  invariant: outputs equal the fault-free run's");
      } else {
        failed = true;
        const slice = (skip > 0 ? ` --skip ${skip}` : "") +
          (limit < Number.MAX_SAFE_INTEGER ? ` --limit ${limit}` : "");
        console.log(
          [
            `  INVARIANT BROKEN: outputs differ from the fault-free run (seed ${seed}):`,
            ...differences.map((d) => `    ${d}`),
            `  reproduce: deno task sim ${
              parsed.values.has("job-file")
                ? `--job-file ${parsed.values.get("job-file")}`
                : `--job ${entry.name}`
            } --fixture ${path} --seed ${seed} --faults ${
              faults.join(",")
            } --instances ${instances} --checkpoint-interval-ms ${checkpoint_interval_ms}${slice}`,
          ].join("\n"),
        );
      }
    }
    if (out !== undefined) {
      const dir = entries.length > 1 ? `${out}/${entry.name}` : out;
      await writeDump(dir, result, {
        job: entry.name,
        fixture: path,
        seed,
        faults,
        counts: result.counts,
        digest: sha,
        checkpoints_taken: result.checkpoints_taken,
        injected: result.injected,
      });
      // The loaded tables of a job with a loader (sessions: DIR/tables/).
      await writeTables(
        dir,
        await loadedTables(entry, result.objects, { seed, faults, overrides }),
      );
      console.log(`  wrote every twin's contents to ${dir}/`);
    }
  }
  return failed ? 1 : 0;
}

async function printSummary(
  entry: JobSpec,
  path: string,
  lines: number,
  seed: number,
  faults: readonly string[],
  result: SimulationResult,
  sha: string,
  elapsed_ms: number,
  overrides: JobOverrides,
  canonical: CanonicalOutputs,
): Promise<void> {
  const c = result.counts;
  const out: string[] = [
    `job ${entry.name}: fixture ${path} (${lines} messages), seed ${seed}, faults ${
      faults.length > 0 ? faults.join(",") : "none"
    }`,
    ...(await entry.summarize({
      kv: result.kv,
      log: result.log,
      objects: result.objects,
    }, overrides)).map((line) => `  ${line}`),
    ...outputLines(result, canonical).map((line) => `  ${line}`),
    `  records: in ${c.in} = out ${c.out} + filtered ${c.filtered} + dead-lettered ${c.dead_lettered} + late ${c.late}${
      c.in === c.out + c.filtered + c.dead_lettered + c.late
        ? ""
        : "  (DOES NOT RECONCILE)"
    }`,
    ...result.counts_by_stage.slice(1).map((s, i) =>
      `  after repartition ${
        result.stage_topics[i + 1]
      }: in ${s.in} = out ${s.out} + filtered ${s.filtered} + dead-lettered ${s.dead_lettered} + late ${s.late}`
    ),
    `  checkpoints taken: ${result.checkpoints_taken}`,
    `  faults injected: ${result.injected.crashes} crashes, ${result.injected.redeliveries} redeliveries, ${result.injected.reorders} reorders, ${result.injected.sink_failures} sink failures`,
    `  output digest: sha256:${sha}`,
    `  replayed in ${(elapsed_ms / 1000).toFixed(2)} s (${
      Math.round(lines / (elapsed_ms / 1000))
    } messages/s)`,
  ];
  console.log(out.join("\n"));
}

/** What any job left, by kind: keys by their first segment, topics, objects. */
function outputLines(
  result: SimulationResult,
  canonical: CanonicalOutputs,
): string[] {
  const lines: string[] = [];
  if (canonical.kv.length > 0) {
    const byPrefix = new Map<string, number>();
    for (const { key } of canonical.kv) {
      const colon = key.indexOf(":");
      const prefix = colon < 0 ? key : `${key.slice(0, colon)}:*`;
      byPrefix.set(prefix, (byPrefix.get(prefix) ?? 0) + 1);
    }
    lines.push(
      `key-value store: ${canonical.kv.length} keys (${
        [...byPrefix].map(([p, n]) => `${p} ${n}`).join(", ")
      })`,
    );
  }
  const topics = canonical.topics.filter((t) => t.messages.length > 0);
  if (topics.length > 0) {
    lines.push(
      `topics: ${
        topics.map((t) => `${t.topic} ${t.messages.length}`).join(", ")
      }`,
    );
  }
  if (canonical.objects.length > 0) {
    // Published objects only, as canonical.objects (staging is bookkeeping).
    const bytes = result.objects.dump()
      .filter((o) => !isStagingKey(o.key))
      .reduce((n, o) => n + o.body.length, 0);
    lines.push(`objects: ${canonical.objects.length} (${bytes} bytes)`);
  }
  return lines;
}

/**
 * Runs a simulation with its progress on stderr (never on stdout, whose
 * summary tests compare): see `src/cli/progress.ts`.
 */
async function withProgress<T>(
  /** Time between plain lines, or null for no progress (`--quiet`). */
  interval_ms: number | null,
  label: string,
  run: (
    onProgress: ((delivered: number, total: number) => void) | undefined,
  ) => Promise<T>,
): Promise<T> {
  if (interval_ms === null) return await run(undefined);
  const progress = new Progress(label, { unit: "messages", interval_ms });
  try {
    return await run((done, total) => progress.update({ done, total }));
  } finally {
    progress.finish();
  }
}
