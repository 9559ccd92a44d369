import assert from "node:assert/strict";
import {
  flagHelp,
  type FlagSpec,
  intFlag,
  optionalIntFlag,
  parseArgs,
  UsageError,
} from "../../src/cli/args.ts";

const SPEC: FlagSpec = {
  values: { job: "job to run", seed: "seed" },
  booleans: { quiet: "no progress", help: "print this help" },
};

Deno.test("parseArgs() reads values, booleans and positional arguments in any order", () => {
  const parsed = parseArgs(
    ["tail", "--job", "views", "--quiet", "--seed=7", "extra"],
    SPEC,
  );
  assert.deepEqual([...parsed.values], [["job", "views"], ["seed", "7"]]);
  assert.deepEqual([...parsed.booleans], ["quiet"]);
  assert.deepEqual(parsed.positional, ["tail", "extra"]);
});

Deno.test("parseArgs() takes -h for --help when the command has --help", () => {
  assert.ok(parseArgs(["-h"], SPEC).booleans.has("help"));
  assert.ok(parseArgs(["--help"], SPEC).booleans.has("help"));
  assert.throws(
    () => parseArgs(["-h"], { values: {}, booleans: {} }),
    /unknown flag '-h'/,
  );
});

Deno.test("parseArgs() keeps a flag's last value, a value with one dash, and arguments after --", () => {
  const parsed = parseArgs(
    ["--seed", "1", "--seed", "-5", "--job=", "--", "--quiet"],
    SPEC,
  );
  assert.equal(parsed.values.get("seed"), "-5");
  assert.equal(parsed.values.get("job"), "");
  assert.deepEqual(parsed.positional, ["--quiet"]);
  assert.equal(parsed.booleans.size, 0);
});

Deno.test("parseArgs() answers each mistake with one line naming the flag", () => {
  const cases: Array<[string[], string]> = [
    [
      ["--bogus"],
      "unknown flag '--bogus' (known: --job, --seed, --quiet, --help)",
    ],
    [["-x"], "unknown flag '-x' (known: --job, --seed, --quiet, --help)"],
    [["--job"], "flag --job needs a value"],
    [["--job", "--quiet"], "flag --job needs a value"],
    [["--quiet=yes"], "flag --quiet takes no value: got '--quiet=yes'"],
  ];
  for (const [args, message] of cases) {
    assert.throws(
      () => parseArgs(args, SPEC),
      (error: unknown) =>
        error instanceof UsageError && error.message === message &&
        !error.message.includes("\n"),
      args.join(" "),
    );
  }
});

Deno.test("intFlag() and optionalIntFlag() read whole numbers and refuse anything else", () => {
  const parsed = parseArgs(["--seed", "12"], SPEC);
  assert.equal(intFlag(parsed, "seed", 1), 12);
  assert.equal(intFlag(parsed, "job", 3), 3);
  assert.equal(optionalIntFlag(parsed, "seed"), 12);
  assert.equal(optionalIntFlag(parsed, "job"), undefined);
  for (const text of ["1.5", "abc", "1e400"]) {
    assert.throws(
      () => intFlag(parseArgs(["--seed", text], SPEC), "seed", 1),
      new UsageError(`flag --seed must be a whole number: got '${text}'`),
    );
  }
});

Deno.test("flagHelp() lists every flag with its help, --help as -h, --help", () => {
  assert.equal(
    flagHelp(SPEC),
    [
      "  --job VALUE   job to run",
      "  --seed VALUE  seed",
      "  --quiet       no progress",
      "  -h, --help    print this help",
    ].join("\n"),
  );
});
