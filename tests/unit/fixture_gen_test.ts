import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeFixture } from "../../src/core/fixture.ts";
import { parseGeneratorFlags } from "../../scripts/fixture_gen/flags.ts";
import {
  gzipDeterministic,
  writeFixtureFile,
} from "../../scripts/fixture_gen/gzip.ts";
import { LatenessTally } from "../../scripts/fixture_gen/lateness.ts";
import { oddPositions, weighted } from "../../scripts/fixture_gen/random.ts";
import {
  utc,
  withOffset,
  zoneless,
} from "../../scripts/fixture_gen/timestamps.ts";
import { createRandom } from "../../scripts/gen_views_fixture.ts";
import {
  countLate,
  eventTime,
  pinnedHashes,
  structuralProblems,
} from "./fixture_checks.ts";

const DEFAULTS = { seed: 1, messages: 10, out: "fixtures/x/x.jsonl.gz" };

function recorded(
  partition: number,
  offset: number,
  key: string,
  timestamp: number,
  topic = "t",
): string {
  return JSON.stringify({
    topic,
    partition,
    offset,
    key,
    value: "{}",
    timestamp,
  });
}

Deno.test("gzipDeterministic gives the same bytes on every call, with no time in the header, and gunzips back", async () => {
  const text = new TextEncoder().encode("a line\n".repeat(5_000));
  const first = gzipDeterministic(text);
  assert.deepEqual(gzipDeterministic(text), first);
  assert.deepEqual([...first.slice(0, 3)], [0x1f, 0x8b, 8]);
  assert.deepEqual([...first.slice(4, 8)], [0, 0, 0, 0], "mtime is zero");
  assert.equal(await decodeFixture(first), "a line\n".repeat(5_000));
});

Deno.test("writeFixtureFile gzips a .gz path only, and reports the hashes of both forms", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const lines = ['{"a":1}', '{"b":2}'];
    const gz = await writeFixtureFile(`${dir}/deep/f.jsonl.gz`, lines);
    const plain = await writeFixtureFile(`${dir}/f.jsonl`, lines);
    assert.equal(
      await Deno.readTextFile(`${dir}/f.jsonl`),
      '{"a":1}\n{"b":2}\n',
    );
    assert.equal(gz.text_sha256, plain.sha256);
    assert.equal(plain.text_sha256, plain.sha256);
    assert.notEqual(gz.sha256, plain.sha256);
    assert.equal(
      gz.bytes,
      (await Deno.readFile(`${dir}/deep/f.jsonl.gz`)).length,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseGeneratorFlags writes the README beside the default output only when --out is left alone", () => {
  assert.deepEqual(parseGeneratorFlags([], DEFAULTS), {
    ...DEFAULTS,
    readme: "fixtures/x/README.md",
    help: false,
  });
  assert.equal(
    parseGeneratorFlags(["--out", "/tmp/y.gz"], DEFAULTS).readme,
    null,
  );
  assert.equal(
    parseGeneratorFlags(["--out=/tmp/y.gz", "--readme", "/tmp/R.md"], DEFAULTS)
      .readme,
    "/tmp/R.md",
  );
  assert.equal(parseGeneratorFlags(["--seed", "0"], DEFAULTS).seed, 0);
  assert.equal(parseGeneratorFlags(["-h"], DEFAULTS).help, true);
  assert.throws(
    () => parseGeneratorFlags(["--messages", "0"], DEFAULTS),
    /at least 1/,
  );
  assert.throws(
    () => parseGeneratorFlags(["--seed", "1.5"], DEFAULTS),
    /'1.5'/,
  );
  assert.throws(() => parseGeneratorFlags(["stray"], DEFAULTS), /'stray'/);
});

Deno.test("LatenessTally counts the same late records as a brute-force recount", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          partition: fc.integer({ min: 0, max: 1 }),
          // Whole seconds ± 1 ms, so that events often sit on a boundary or
          // next to one.
          event_ms: fc.tuple(
            fc.integer({ min: 1, max: 180 }),
            fc.integer({ min: -1, max: 1 }),
          ).map(([s, ms]) => s * 1_000 + ms),
        }),
        { minLength: 20, maxLength: 200 },
      ),
      fc.integer({ min: 0, max: 40 }).map((s) => s * 1_000),
      fc.constantFrom(1_000, 10_000, 60_000),
      (events, bound_ms, window_size_ms) => {
        const tally = new LatenessTally({
          partitions: 3,
          bound_ms,
          window_size_ms,
        });
        for (const { partition, event_ms } of events) {
          tally.observe(partition, event_ms);
        }
        assert.equal(
          tally.late,
          countLate(events, { bound_ms, window_size_ms }),
        );
      },
    ),
  );
});

Deno.test("LatenessTally takes an event exactly at the bound on time, and one millisecond more behind as late when it closes the window", () => {
  // Window [60 s, 120 s); a later event at 150 s sets watermark 150 − 30 − 0.001 s.
  const at = (behind_ms: number) => {
    const tally = new LatenessTally({
      partitions: 1,
      bound_ms: 30_000,
      window_size_ms: 60_000,
    });
    tally.observe(0, 119_999 + 30_000 + behind_ms);
    return tally.observe(0, 119_999).late;
  };
  assert.equal(at(0), false); // watermark 119,998 < 119,999
  assert.equal(at(1), true); // watermark 119,999 = end − 1
});

Deno.test("every timestamp form names the instant it was made from", () => {
  const ms = Date.UTC(2024, 0, 15, 10, 30, 0, 123);
  const whole = ms - 123;
  assert.equal(zoneless(ms), "2024-01-15T10:30:00");
  assert.equal(zoneless(ms, true), "2024-01-15T10:30:00.123");
  assert.equal(utc(ms), "2024-01-15T10:30:00.123Z");
  assert.equal(withOffset(whole, 330), "2024-01-15T16:00:00+05:30");
  assert.equal(withOffset(whole, -300), "2024-01-15T05:30:00-05:00");
  for (const minutes of [0, 60, -480, 540]) {
    assert.equal(Date.parse(withOffset(whole, minutes)), whole);
    assert.equal(
      eventTime(withOffset(whole, minutes), { zoneless: false }),
      whole,
    );
  }
  assert.equal(eventTime(zoneless(ms), { zoneless: true }), whole);
  assert.equal(eventTime(zoneless(ms), { zoneless: false }), null);
  for (
    const bad of [
      "yesterday",
      "2024-13-45T99:00:00",
      "",
      "2024-10-32T18:00:00Z",
    ]
  ) {
    assert.equal(eventTime(bad, { zoneless: true }), null, bad);
  }
});

Deno.test("weighted draws follow their weights and oddPositions gives every kind in turn", () => {
  const random = createRandom(3);
  const draw = weighted([["a", 3], ["b", 1]] as const, random);
  let a = 0;
  for (let i = 0; i < 4_000; i++) if (draw() === "a") a++;
  assert.ok(a > 2_800 && a < 3_200, `${a} of 4000`);
  const odd = oddPositions(1_000, 7, ["x", "y", "z"], random);
  const positions = [...odd.keys()];
  assert.deepEqual(positions, [...positions].sort((p, q) => p - q));
  assert.deepEqual([...odd.values()].map((o) => `${o.kind}${o.variant}`), [
    "x0",
    "y0",
    "z0",
    "x1",
    "y1",
    "z1",
    "x2",
  ]);
});

Deno.test("structuralProblems catches lines out of arrival order, a wrong partition, a skipped offset, another topic and a raw line", () => {
  // FNV-1a of "a" is 0xe40c292c: partition 0 of 4.
  const good = [recorded(0, 0, "a", 1), recorded(0, 1, "a", 2)];
  assert.deepEqual(
    structuralProblems(good.join("\n"), { topic: "t", partitions: 4 }),
    [],
  );
  const cases: Array<[string, string[], RegExp]> = [
    ["swapped", [good[1]!, good[0]!], /arrives at 1, before 2/],
    ["partition", [recorded(1, 0, "a", 1)], /FNV-1a of 'a' says 0/],
    [
      "offset",
      [recorded(0, 0, "a", 1), recorded(0, 2, "a", 2)],
      /offset 2, expected 1/,
    ],
    ["topic", [recorded(0, 0, "a", 1, "u")], /topic 'u'/],
    ["raw", ['{"user_id":"a"}'], /not a recorded record/],
  ];
  for (const [name, lines, problem] of cases) {
    const found = structuralProblems(lines.join("\n"), {
      topic: "t",
      partitions: 4,
    });
    assert.ok(
      found.some((p) => problem.test(p)),
      `${name}: ${found.join("; ")}`,
    );
  }
});

Deno.test("pinnedHashes reads the sha256sum line and the gunzipped-text row, and nothing from another file's line", () => {
  const a = "a".repeat(64);
  const b = "b".repeat(64);
  const readme =
    `| its JSON Lines text (gunzipped) | 9 | \`${b}\` |\n\n${a}  f.jsonl.gz\n`;
  assert.deepEqual(pinnedHashes(readme, "f.jsonl.gz"), { file: a, text: b });
  assert.deepEqual(pinnedHashes(readme, "g.jsonl.gz").file, null);
  assert.deepEqual(pinnedHashes(readme, "fxjsonl.gz").file, null);
});
