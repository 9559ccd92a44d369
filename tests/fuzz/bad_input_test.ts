/**
 * Fuzzing every registered job's parsing and side outputs in the simulator
 * (`JobDriver`): records from the job's own fixture, mutated (cut short,
 * bytes flipped into invalid UTF-8, a field replaced by arbitrary JSON or a
 * huge string, a field removed, turned into a tombstone), mixed with
 * arbitrary bytes and arbitrary JSON. Whatever comes in:
 * - nothing throws, however the input is malformed;
 * - the counts reconcile: `in = out + filtered + dead_lettered + late`, and
 *   the dead-letter and late topics hold exactly as many records as counted;
 * - every record that is not text (a tombstone, bytes that are not UTF-8)
 *   is dead-lettered with its mark;
 * - every side message fits in `MAX_SIDE_MESSAGE_BYTES`, and every message
 *   of every topic under Kafka's default `message.max.bytes`.
 *
 * `FUZZ_RUNS` sets the runs per job (default 12); a failure prints fast-check's
 * seed and path to replay it.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeUtf8 } from "../../src/adapters/kafka/common.ts";
import { decodeFixture, parseFixture } from "../../src/core/fixture.ts";
import type { Job } from "../../src/core/job.ts";
import { JOBS, type JobSpec } from "../../src/jobs/registry.ts";
import type { Unreadable } from "../../src/ports.ts";
import {
  MAX_SIDE_MESSAGE_BYTES,
  type SideRecord,
} from "../../src/sinks/side_topics.ts";
import { JobDriver } from "../../sim/driver.ts";

const RUNS = Number(Deno.env.get("FUZZ_RUNS") ?? 12);
const SEEDS_PER_JOB = 200;
/** Kafka's default `message.max.bytes`. */
const BROKER_MAX_MESSAGE_BYTES = 1_048_588;
/** Inputs as large as Kafka lets them be (a little under its limit). */
const MAX_INPUT_BYTES = 1_000_000;
const ROOT = new URL("../../", import.meta.url);
const encoder = new TextEncoder();

/** A record to pipe: text, or text with the mark of bytes that were not. */
interface Input {
  value: string;
  key?: string | null;
  unreadable?: Unreadable;
}

/** Fixture payloads of a job, and the processing time that suits them. */
async function seedsOf(
  spec: JobSpec,
  job: Job,
): Promise<{ values: string[]; start_ms: number }> {
  if (spec.fixture === undefined) {
    return { values: ['{"id":"x"}'], start_ms: Date.UTC(2026, 2, 14) };
  }
  const text = await decodeFixture(
    await Deno.readFile(new URL(spec.fixture, ROOT)),
  );
  // The first lines only: parsing a whole fixture is not the point.
  const head = text.slice(0, nthNewline(text, SEEDS_PER_JOB));
  const messages = parseFixture(head);
  let latest = 0;
  for (const m of messages) {
    const time = m.timestamp ?? job.route(m.value).timestamp ?? 0;
    if (Number.isFinite(time) && time > latest) latest = time;
  }
  return {
    values: messages.map((m) => m.value),
    start_ms: latest > 0 ? latest + 60_000 : Date.UTC(2026, 2, 14),
  };
}

function nthNewline(text: string, n: number): number {
  let at = 0;
  for (let i = 0; i < n; i++) {
    const next = text.indexOf("\n", at);
    if (next === -1) return text.length;
    at = next + 1;
  }
  return at;
}

/** Bytes as the Kafka adapter would hand them over. */
function fromBytes(bytes: Uint8Array): Input {
  const { text, valid } = decodeUtf8(bytes);
  return valid
    ? { value: text }
    : { value: text, unreadable: "invalid-utf8-value" };
}

const anyJson = fc.jsonValue({ maxDepth: 4 });
const hugeText = fc.tuple(
  fc.constantFrom("\u0001", '"', "\\", "x", "é", "😀", "\uFFFD", "{"),
  fc.integer({ min: 20_000, max: 150_000 }),
).map(([c, n]) => c.repeat(n));

/** A record made from a fixture payload, mutated or not. */
function mutated(seeds: readonly string[]): fc.Arbitrary<Input> {
  const seed = fc.constantFrom(...seeds);
  return fc.oneof(
    { weight: 3, arbitrary: seed.map((value) => ({ value })) },
    // Cut short.
    {
      weight: 2,
      arbitrary: fc.tuple(seed, fc.double({ min: 0, max: 1, noNaN: true })).map(
        (
          [value, at],
        ) => ({ value: value.slice(0, Math.floor(value.length * at)) }),
      ),
    },
    // Bytes flipped: often not UTF-8 any more.
    {
      weight: 2,
      arbitrary: fc.tuple(
        seed,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0x80, max: 0xff })), {
          minLength: 1,
          maxLength: 3,
        }),
      ).map(([value, flips]) => {
        const bytes = encoder.encode(value);
        for (const [at, byte] of flips) {
          if (bytes.length > 0) bytes[at % bytes.length] = byte;
        }
        return fromBytes(bytes);
      }),
    },
    // A field replaced by arbitrary JSON (or a huge string), or removed.
    {
      weight: 3,
      arbitrary: fc.tuple(
        seed,
        fc.nat(),
        fc.oneof(
          { weight: 6, arbitrary: anyJson },
          { weight: 1, arbitrary: hugeText },
          { weight: 1, arbitrary: fc.constant(undefined) },
        ),
      ).map(([value, pick, replacement]) => {
        let data: unknown;
        try {
          data = JSON.parse(value);
        } catch {
          return { value };
        }
        if (typeof data !== "object" || data === null || Array.isArray(data)) {
          return { value };
        }
        const fields = Object.keys(data);
        if (fields.length === 0) return { value };
        const field = fields[pick % fields.length]!;
        const copy = { ...(data as Record<string, unknown>) };
        if (replacement === undefined) delete copy[field];
        else copy[field] = replacement;
        return { value: JSON.stringify(copy) };
      }),
    },
    {
      weight: 1,
      arbitrary: seed.map((): Input => ({
        value: "",
        unreadable: "tombstone",
      })),
    },
  );
}

/** Anything at all. */
const arbitraryInput: fc.Arbitrary<Input> = fc.oneof(
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 200 }).map(fromBytes) },
  { weight: 3, arbitrary: anyJson.map((v) => ({ value: JSON.stringify(v) })) },
  {
    weight: 2,
    arbitrary: fc.string16bits({ maxLength: 100 }).map((value) => ({ value })),
  },
  { weight: 1, arbitrary: hugeText.map((value) => ({ value })) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 20 }), anyJson)
      .map(([key, v]): Input => {
        const decoded = decodeUtf8(key);
        return {
          key: decoded.text,
          value: JSON.stringify(v),
          ...(decoded.valid ? {} : { unreadable: "invalid-utf8-key" }),
        };
      }),
  },
);

function bytes(text: string | null): number {
  return text === null ? 0 : encoder.encode(text).length;
}

for (const spec of JOBS) {
  Deno.test(`${spec.name}: arbitrary and mutated input never crashes the job, counts reconcile and side messages fit`, async () => {
    const job = spec.create();
    const { values, start_ms } = await seedsOf(spec, job);
    const input = fc.array(
      fc.oneof(
        { weight: 2, arbitrary: mutated(values) },
        { weight: 1, arbitrary: arbitraryInput },
      ).filter((i) => bytes(i.value) + bytes(i.key ?? null) < MAX_INPUT_BYTES),
      { minLength: 1, maxLength: 40 },
    );
    let valid = 0;
    await fc.assert(
      fc.asyncProperty(input, async (inputs) => {
        const driver = await JobDriver.open(spec, { start_ms });
        await driver.pipe(inputs.map((i) => ({
          value: i.value,
          ...(i.key === undefined ? {} : { key: i.key }),
          ...(i.unreadable === undefined ? {} : { unreadable: i.unreadable }),
        })));
        await driver.endOfInput();

        const counts = driver.counts();
        assert.equal(
          counts.in,
          counts.out + counts.filtered + counts.dead_lettered + counts.late,
          `counts must reconcile: ${JSON.stringify(counts)}`,
        );
        assert.ok(counts.in >= inputs.length, JSON.stringify(counts));
        valid += counts.out + counts.filtered + counts.late;

        const dead = new Map<string, SideRecord>();
        const late = new Map<string, SideRecord>();
        for (const { topic, partitions } of driver.log.dump().topics) {
          // What was piped in is the input, not an output of the job.
          if (topic === job.topic) continue;
          const side = topic.endsWith(".dead-letter")
            ? dead
            : topic.endsWith(".late")
            ? late
            : null;
          for (const record of partitions.flat()) {
            const size = bytes(record.key) + bytes(record.value);
            assert.ok(
              size <= BROKER_MAX_MESSAGE_BYTES,
              `a message of '${topic}' takes ${size} bytes, over the broker's limit`,
            );
            if (side === null) continue;
            assert.ok(
              size <= MAX_SIDE_MESSAGE_BYTES,
              `a side message of '${topic}' takes ${size} bytes`,
            );
            const parsed = JSON.parse(record.value) as SideRecord;
            // Outputs that failed have no source record (offset -1), and no count.
            if (parsed.source.offset >= 0) side.set(record.key!, parsed);
          }
        }
        assert.equal(
          dead.size,
          counts.dead_lettered,
          "one dead letter per dead-lettered record",
        );
        assert.equal(late.size, counts.late, "one late record per late count");
        const unreadable = inputs.filter((i) => i.unreadable !== undefined);
        const marked = [...dead.values()].filter((d) =>
          d.unreadable !== undefined
        );
        assert.deepEqual(
          marked.map((d) => d.unreadable).sort(),
          unreadable.map((i) => i.unreadable).sort(),
          "every record that is not text is dead-lettered with its mark",
        );
      }),
      { numRuns: RUNS },
    );
    assert.ok(
      valid > 0,
      "some input must get past parsing, not only into dead letters",
    );
  });
}
