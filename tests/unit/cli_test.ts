import assert from "node:assert/strict";

const decoder = new TextDecoder();

async function freshet(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "main.ts", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code,
    stdout: decoder.decode(stdout),
    stderr: decoder.decode(stderr),
  };
}

const RAW = "fixtures/views/sample-raw.jsonl";

Deno.test("freshet sim --help documents every flag", async () => {
  const { code, stdout } = await freshet("sim", "--help");
  assert.equal(code, 0);
  for (
    const flag of [
      "--job",
      "--job-file",
      "--fixture",
      "--seed",
      "--faults",
      "--out",
      "--instances",
      "--checkpoint-interval-ms",
      "--skip",
      "--limit",
      "--quiet",
    ]
  ) {
    assert.ok(stdout.includes(flag), `--help does not mention ${flag}`);
  }
});

Deno.test("freshet sim answers a mistake with one line and exit code 2", async (t) => {
  const cases: Array<[string, string[], RegExp]> = [
    ["an unknown flag", ["--bogus"], /unknown flag '--bogus'/],
    ["an unknown job", ["--job", "nope"], /unknown job 'nope'/],
    ["an unknown fault", [
      "--job",
      "views",
      "--fixture",
      RAW,
      "--faults",
      "meteor",
    ], /meteor/],
    [
      "a seed that is not a number",
      ["--seed", "abc"],
      /--seed must be a whole number/,
    ],
    ["a missing value", ["--job"], /--job needs a value/],
    ["a fixture without a job", ["--fixture", RAW], /--fixture needs --job/],
    [
      "an unknown job option",
      ["--job", "views", "--fixture", RAW, "--job-options", "nope=1"],
      /'nope' is not one of its options/,
    ],
    [
      "a job option out of its range",
      ["--job", "views", "--fixture", RAW, "--job-options", "top_k=0"],
      /'k' must be a positive integer: current value is 0/,
    ],
    [
      "job options without a job",
      ["--job-options", "top_k=3"],
      /--job-options needs --job/,
    ],
    [
      "an unreadable fixture",
      ["--job", "views", "--fixture", "no/such/file.jsonl"],
      /cannot read fixture 'no\/such\/file.jsonl'/,
    ],
    [
      "a job file that does not exist",
      ["--job-file", "no/such/job.ts", "--fixture", RAW],
      /cannot read job file 'no\/such\/job.ts'/,
    ],
    [
      "a job file without a job as default export",
      ["--job-file", "mod.ts", "--fixture", RAW],
      /job file 'mod.ts' must export a job as its default export/,
    ],
    [
      "a job file without a fixture",
      ["--job-file", "examples/clicks_per_minute.ts"],
      /job 'clicks-per-minute' has no recorded fixture: give one with --fixture FILE/,
    ],
    [
      "both --job and --job-file",
      ["--job", "views", "--job-file", "examples/clicks_per_minute.ts"],
      /--job and --job-file exclude each other/,
    ],
  ];
  for (const [what, args, message] of cases) {
    await t.step(what, async () => {
      const { code, stdout, stderr } = await freshet("sim", ...args);
      assert.equal(code, 2, `exit code for ${what}`);
      assert.equal(stdout, "");
      const lines = stderr.trim().split("\n");
      assert.equal(lines.length, 1, `one line for ${what}: ${stderr}`);
      assert.match(lines[0]!, message);
    });
  }
});

Deno.test("freshet sim --out writes every twin in the documented layout", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { code, stdout } = await freshet(
      "sim",
      "--job",
      "views",
      "--fixture",
      RAW,
      "--seed",
      "3",
      "--faults",
      "all",
      "--instances",
      "2",
      "--out",
      dir,
    );
    assert.equal(code, 0, stdout);
    assert.match(stdout, /invariant: outputs equal the fault-free run's/);
    const digest = /output digest: sha256:([0-9a-f]{64})/.exec(stdout)?.[1];
    assert.ok(digest !== undefined, stdout);

    const kv = JSON.parse(await Deno.readTextFile(`${dir}/kv.json`)) as Array<
      { key: string; type: string }
    >;
    const keys = kv.map((e) => e.key);
    assert.deepEqual(keys, [...keys].sort(), "kv.json is sorted by key");
    assert.ok(keys.includes("top_videos"));
    assert.ok(keys.some((k) => k.startsWith("video:view:count:")));

    const topics = [...Deno.readDirSync(`${dir}/topics`)].map((e) => e.name)
      .sort();
    assert.deepEqual(topics, [
      "video-views.dead-letter.jsonl",
      "video-views.jsonl",
      "video-views.late.jsonl",
    ]);
    const dead =
      (await Deno.readTextFile(`${dir}/topics/video-views.dead-letter.jsonl`))
        .trim().split("\n").map((line) => JSON.parse(line));
    assert.ok(dead.length > 0);
    for (const record of dead) {
      assert.deepEqual(Object.keys(record), [
        "partition",
        "offset",
        "key",
        "value",
        "timestamp",
      ]);
      assert.equal(typeof JSON.parse(record.value).reason, "string");
    }

    const manifests = [...walk(`${dir}/checkpoints`)].filter((p) =>
      p.includes("/manifest/")
    );
    assert.ok(manifests.length > 0, "checkpoints are dumped");

    const summary = JSON.parse(await Deno.readTextFile(`${dir}/summary.json`));
    assert.equal(summary.digest, digest);
    assert.equal(summary.seed, 3);
    const c = summary.counts;
    assert.equal(c.in, c.out + c.filtered + c.dead_lettered + c.late);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("freshet sim --job-options changes what the job computes", async () => {
  // The summary's sliding Top-5 merges the partitions' Top-K sets: with K = 1
  // and 4 partitions it can hold 4 videos at most.
  const entries = (text: string) =>
    /top 5 of the sliding window ending \d+ UTC: (.*)/.exec(text)![1]!
      .split(", ").length;
  const k1 = await freshet(
    "sim",
    "--job",
    "views",
    "--fixture",
    RAW,
    "--job-options",
    "top_k=1",
  );
  assert.equal(k1.code, 0, k1.stdout);
  assert.ok(entries(k1.stdout) <= 4, k1.stdout);
  const defaults = await freshet("sim", "--job", "views", "--fixture", RAW);
  assert.equal(entries(defaults.stdout), 5, defaults.stdout);
});

Deno.test("freshet sim gives the same digest on every run of the same seed", async () => {
  const digests = new Set<string>();
  for (let run = 0; run < 2; run++) {
    const { stdout } = await freshet(
      "sim",
      "--job",
      "views",
      "--fixture",
      RAW,
      "--seed",
      "9",
    );
    digests.add(/output digest: (\S+)/.exec(stdout)![1]!);
  }
  assert.equal(digests.size, 1);
});

Deno.test("freshet sim --job-file runs a job of one's own, with faults, and checks it against the fault-free run", async () => {
  const { code, stdout } = await freshet(
    "sim",
    "--job-file",
    "examples/clicks_per_minute.ts",
    "--fixture",
    "examples/clicks.jsonl",
    "--faults",
    "all",
    "--seed",
    "4",
  );
  assert.equal(code, 0, stdout);
  assert.match(stdout, /job clicks-per-minute: fixture examples\/clicks.jsonl/);
  assert.match(stdout, /key-value store: 5 keys \(clicks:\* 5\)/);
  assert.match(
    stdout,
    /records: in 567 = out 562 \+ filtered 0 \+ dead-lettered 5 \+ late 0/,
  );
  assert.match(stdout, /invariant: outputs equal the fault-free run's/);
});

function* walk(dir: string): Generator<string> {
  for (const entry of Deno.readDirSync(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* walk(path);
    else yield path;
  }
}
