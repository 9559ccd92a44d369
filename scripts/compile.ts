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

const bundleOnly = Deno.args.includes("--bundle");
const unknown = Deno.args.filter((a) => a !== "--bundle");
if (unknown.length > 0) {
  console.error(`compile: unknown argument '${unknown[0]}' (known: --bundle)`);
  Deno.exit(2);
}
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
