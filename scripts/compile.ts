/**
 * `deno task compile`: builds the `freshet` binary (dist/freshet) from
 * main.ts with `deno compile`.
 *
 * `deno compile` downloads a runtime base (denort) for the target from
 * Deno's own download host on first use. Where that host is unreachable, this
 * script says so in one line and exits 1; `deno task compile --bundle` still
 * builds dist/freshet.js, a single-file bundle runnable with
 * `deno run -A dist/freshet.js`, which needs no download.
 *
 * @module
 */

import {
  flagHelp,
  type FlagSpec,
  parseArgs,
  type ParsedArgs,
  UsageError,
} from "../src/cli/args.ts";

const SPEC: FlagSpec = {
  values: {},
  booleans: {
    bundle:
      "build dist/freshet.js, a single-file bundle (deno run -A dist/freshet.js), instead of a binary: needs no download",
    help: "print this help",
  },
};

const HELP = `deno task compile: build the freshet command

Usage: deno task compile [--bundle]

Builds dist/freshet, a self-contained binary, from main.ts with
'deno compile'. Its first use downloads Deno's runtime base (denort) from
Deno's download host: where that host is unreachable, it says so and exits 1.
With --bundle, builds dist/freshet.js instead, which needs no download.

Flags:
${flagHelp(SPEC)}`;

let parsed: ParsedArgs;
try {
  parsed = parseArgs(Deno.args, SPEC);
  if (parsed.positional.length > 0) {
    throw new UsageError(
      `compile takes no positional arguments: got '${parsed.positional[0]}'`,
    );
  }
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  console.error(`compile: ${error.message}`);
  Deno.exit(2);
}
if (parsed.booleans.has("help")) {
  console.log(HELP);
  Deno.exit(0);
}
const bundleOnly = parsed.booleans.has("bundle");
await Deno.mkdir("dist", { recursive: true });

async function deno(args: string[]): Promise<{ code: number; stderr: string }> {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    stdout: "inherit",
    stderr: "piped",
  }).output();
  return { code, stderr: new TextDecoder().decode(stderr) };
}

if (bundleOnly) {
  const { code, stderr } = await deno([
    "bundle",
    "--platform",
    "deno",
    "main.ts",
    "-o",
    "dist/freshet.js",
  ]);
  if (code !== 0) {
    console.error(stderr);
    Deno.exit(code);
  }
  console.log(
    "built dist/freshet.js (run it with: deno run -A dist/freshet.js --help)",
  );
  Deno.exit(0);
}

const { code, stderr } = await deno([
  "compile",
  "--allow-all",
  "--output",
  "dist/freshet",
  "main.ts",
]);
if (code === 0) {
  console.log("built dist/freshet (try: dist/freshet --help)");
  Deno.exit(0);
}
const offline =
  /dns error|failed to lookup address|error sending request|Connection refused|timed out/i
    .test(stderr);
if (offline) {
  console.error(
    "compile: deno compile must download the Deno runtime base (denort) and this machine cannot reach Deno's download host; build on a connected machine, or run 'deno task compile --bundle' for a single-file bundle (deno run -A dist/freshet.js)",
  );
} else {
  console.error(stderr);
}
Deno.exit(1);
