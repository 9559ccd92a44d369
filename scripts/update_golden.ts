/**
 * Golden outputs of the `views` job: replays `fixtures/views/views.jsonl`
 * through the simulator (seed 1, no faults) and writes
 * `fixtures/views/golden/views.digest` (SHA-256 of the canonical outputs) and
 * `fixtures/views/golden/views.summary.json` (what a person can review).
 * `tests/replay/views_golden_test.ts` compares a fresh replay with them.
 *
 * Usage: `deno run --allow-read --allow-write scripts/update_golden.ts`
 * (`--check` compares instead of writing, and exits 1 on a difference).
 *
 * A change of the golden files changes what the job computes: say why in the
 * commit that carries it (see fixtures/views/golden/README.md).
 *
 * @module
 */

import { parseFixture } from "../src/core/fixture.ts";
import { views } from "../src/jobs/views/job.ts";
import type { ScoredMember } from "../src/ports.ts";
import {
  type CanonicalKv,
  type CanonicalOutputs,
  canonicalOutputs,
  digest,
} from "../sim/outputs.ts";
import { type FaultKind, simulate } from "../sim/simulator.ts";

/** Where the fixture and the golden files live, relative to the repository root. */
export const GOLDEN_PATHS = {
  fixture: "fixtures/views/views.jsonl",
  digest: "fixtures/views/golden/views.digest",
  summary: "fixtures/views/golden/views.summary.json",
} as const;

/** The seed of the golden run. */
export const GOLDEN_SEED = 1;

const ROOT = new URL("../", import.meta.url);

/** What a reviewer reads in `views.summary.json`. */
export interface ViewsSummary {
  fixture: string;
  seed: number;
  counts: CanonicalOutputs["counts"];
  /** Keys written, by kind. */
  keys_by_prefix: Record<string, number>;
  /** The 20 most viewed videos of `top_videos`, as "videoId views". */
  top_videos: string[];
  /** Each hourly leaderboard with its top 3, as "videoId views". */
  hour_leaderboards: Record<string, string[]>;
  /** Each daily leaderboard with its top 3. */
  day_leaderboards: Record<string, string[]>;
  /** Dead-letter reasons and how many records got each. */
  dead_letter_reasons: Record<string, number>;
  /** Late-record reasons and how many records got each. */
  late_reasons: Record<string, number>;
}

/** The golden run's outputs, in canonical form and digested. */
export interface Golden {
  outputs: CanonicalOutputs;
  digest: string;
  summary: ViewsSummary;
}

/** The parsed fixture, read once per process. */
let fixtureCache: ReturnType<typeof parseFixture> | undefined;

async function fixture() {
  fixtureCache ??= parseFixture(
    await Deno.readTextFile(new URL(GOLDEN_PATHS.fixture, ROOT)),
  );
  return fixtureCache;
}

const PREFIXES: ReadonlyArray<[RegExp, string]> = [
  [/^video:view:count:/, "video:view:count:<videoId>"],
  [/^top_videos$/, "top_videos"],
  [/^top_videos:hour:/, "top_videos:hour:<yyyyMMddHH>"],
  [/^top_videos:day:/, "top_videos:day:<yyyyMMdd>"],
  [/^top_videos:sliding:/, "top_videos:sliding:<yyyyMMddHHmm>:<partition>"],
  [/^top_videos:heavy:/, "top_videos:heavy:<partition>"],
];

function prefixOf(key: string): string {
  return PREFIXES.find(([pattern]) => pattern.test(key))?.[1] ?? "other";
}

function ranked(entry: CanonicalKv | undefined, n: number): string[] {
  if (entry?.type !== "zset") return [];
  return (entry.value as ScoredMember[]).slice(0, n).map(({ member, score }) =>
    `${member} ${score}`
  );
}

function histogram(messages: readonly string[]): Record<string, number> {
  const counts = new Map<string, number>();
  for (const message of messages) {
    const reason = String(JSON.parse(message).reason);
    counts.set(reason, (counts.get(reason) ?? 0) + 1);
  }
  return Object.fromEntries(
    [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)),
  );
}

/** The human-readable summary of canonical outputs. */
export function summarize(outputs: CanonicalOutputs): ViewsSummary {
  const keys_by_prefix: Record<string, number> = {};
  for (const [, name] of PREFIXES) keys_by_prefix[name] = 0;
  const byKey = new Map<string, CanonicalKv>();
  for (const entry of outputs.kv) {
    const name = prefixOf(entry.key);
    keys_by_prefix[name] = (keys_by_prefix[name] ?? 0) + 1;
    byKey.set(entry.key, entry);
  }
  const leaderboards = (unit: string) =>
    Object.fromEntries(
      outputs.kv
        .filter((e) => e.key.startsWith(`top_videos:${unit}:`))
        .map((e) => [e.key, ranked(e, 3)]),
    );
  const topic = (name: string) =>
    outputs.topics.find((t) => t.topic === name)?.messages ?? [];
  return {
    fixture: GOLDEN_PATHS.fixture,
    seed: GOLDEN_SEED,
    counts: outputs.counts,
    keys_by_prefix,
    top_videos: ranked(byKey.get("top_videos"), 20),
    hour_leaderboards: leaderboards("hour"),
    day_leaderboards: leaderboards("day"),
    dead_letter_reasons: histogram(topic("video-views.dead-letter")),
    late_reasons: histogram(topic("video-views.late")),
  };
}

/** Replays the whole views fixture with `seed` and `faults`. */
export async function viewsGolden(
  options: {
    /** Default: {@linkcode GOLDEN_SEED}. */
    seed?: number;
    /** Default: none. */
    faults?: readonly FaultKind[];
  } = {},
): Promise<Golden> {
  const job = views.create();
  const result = await simulate({
    job,
    fixture: await fixture(),
    seed: options.seed ?? GOLDEN_SEED,
    faults: options.faults ?? [],
  });
  const outputs = await canonicalOutputs(result, [job.topic]);
  return {
    outputs,
    digest: await digest(outputs),
    summary: summarize(outputs),
  };
}

/** The golden files' text for a run. */
export function goldenFiles(
  golden: Golden,
): { digest: string; summary: string } {
  return {
    digest: `${golden.digest}\n`,
    summary: `${JSON.stringify(golden.summary, null, 2)}\n`,
  };
}

async function main(args: string[]): Promise<number> {
  const check = args.includes("--check");
  const files = goldenFiles(await viewsGolden());
  let differs = false;
  for (
    const [path, text] of [
      [GOLDEN_PATHS.digest, files.digest],
      [GOLDEN_PATHS.summary, files.summary],
    ] as const
  ) {
    const url = new URL(path, ROOT);
    const current = await Deno.readTextFile(url).catch(() => null);
    if (current === text) {
      console.log(`${path}: unchanged`);
      continue;
    }
    differs = true;
    if (check) {
      console.log(`${path}: differs from a fresh replay`);
    } else {
      await Deno.mkdir(new URL(".", url), { recursive: true });
      await Deno.writeTextFile(url, text);
      console.log(`${path}: written`);
    }
  }
  if (differs && !check) {
    console.log(
      "Review the change (git diff fixtures/views/golden) and say why it is right in the commit.",
    );
  }
  return check && differs ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
