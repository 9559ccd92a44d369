/**
 * `deno task fixtures`: regenerates every job's recorded fixture (and its
 * README) by running each generator, `scripts/gen_<job>_fixture.ts`, with
 * its defaults, one after another. Generators are seeded, so the files come
 * out byte-identical to the committed ones unless a generator changed:
 * `git status fixtures/` shows what did.
 *
 * Each generator runs in a process of its own with only the permissions it
 * needs (the frames generator loads imagescript's native JPEG encoder, hence
 * `--allow-ffi` and `--allow-env`).
 *
 * @module
 */

import {
  flagHelp,
  type FlagSpec,
  parseArgs,
  UsageError,
} from "../src/cli/args.ts";

/** A fixture generator found in `scripts/`. */
export interface Generator {
  /** The job whose fixture it writes. */
  job: string;
  /** Its path from the repository root. */
  script: string;
  /** Deno permission flags it runs with. */
  permissions: string[];
}

const BASE_PERMISSIONS = ["--allow-read", "--allow-write"];
// What a generator needs beyond reading and writing files.
const EXTRA_PERMISSIONS: Record<string, string[]> = {
  frames: ["--allow-ffi", "--allow-env"],
};
const GENERATOR = /^gen_([a-z0-9_]+)_fixture\.ts$/;

/** The generators in `scripts/` (`gen_<job>_fixture.ts`), by job name. */
export function findGenerators(
  root: URL = new URL("../", import.meta.url),
): Generator[] {
  const generators: Generator[] = [];
  for (const entry of Deno.readDirSync(new URL("scripts/", root))) {
    const job = GENERATOR.exec(entry.name)?.[1];
    if (!entry.isFile || job === undefined) continue;
    generators.push({
      job,
      script: `scripts/${entry.name}`,
      permissions: [...BASE_PERMISSIONS, ...(EXTRA_PERMISSIONS[job] ?? [])],
    });
  }
  return generators.sort((a, b) => a.job < b.job ? -1 : a.job > b.job ? 1 : 0);
}

const SPEC: FlagSpec = {
  values: {
    job:
      "regenerate only this job's fixture (comma-separated for several; default: every job's)",
  },
  booleans: { help: "print this help" },
};

function help(generators: readonly Generator[]): string {
  return `deno task fixtures: regenerate the recorded fixtures

Usage: deno task fixtures [--job NAME]

Runs every fixture generator with its defaults, each writing its job's files
under fixtures/<job>/. The generators are seeded: unless one changed, the
files come out byte-identical to the committed ones ('git status fixtures/'
shows what did). A generator's own flags (--seed, --messages, --out, ...):
run it directly with --help, e.g. 'deno run -A scripts/gen_views_fixture.ts --help'.

Generators:
${
    generators.map((g) =>
      `  ${g.job.padEnd(13)} ${g.script} (${g.permissions.join(" ")})`
    ).join("\n")
  }

Flags:
${flagHelp(SPEC)}`;
}

/** Runs `deno task fixtures`; answers the exit code. */
export async function main(args: readonly string[]): Promise<number> {
  const root = new URL("../", import.meta.url);
  const generators = findGenerators(root);
  const parsed = parseArgs(args, SPEC);
  if (parsed.booleans.has("help")) {
    console.log(help(generators));
    return 0;
  }
  if (parsed.positional.length > 0) {
    throw new UsageError(
      `fixtures takes no positional arguments: got '${parsed.positional[0]}'`,
    );
  }
  const wanted = parsed.values.get("job")?.split(",").map((j) => j.trim());
  const known = generators.map((g) => g.job);
  for (const job of wanted ?? []) {
    if (!known.includes(job)) {
      throw new UsageError(
        `flag --job must name a job with a generator (${
          known.join(", ")
        }): got '${job}'`,
      );
    }
  }
  const chosen = generators.filter((g) =>
    wanted === undefined || wanted.includes(g.job)
  );
  for (const generator of chosen) {
    console.log(`fixtures: ${generator.job} (${generator.script})`);
    const { code } = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...generator.permissions, generator.script],
      cwd: root.pathname,
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (code !== 0) {
      console.error(
        `fixtures: ${generator.script} failed with exit code ${code}`,
      );
      return 1;
    }
  }
  console.log(
    `fixtures: regenerated ${chosen.length} of ${generators.length} (${
      chosen.map((g) => g.job).join(", ")
    }); 'git status fixtures/' shows what changed`,
  );
  return 0;
}

if (import.meta.main) {
  let code: number;
  try {
    code = await main(Deno.args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`fixtures: ${error.message}`);
    code = 2;
  }
  Deno.exit(code);
}
