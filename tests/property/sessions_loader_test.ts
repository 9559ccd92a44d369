/**
 * Exactly-once from heartbeats to PostgreSQL: the `sessions` job with
 * faults drawn from the seed (crashes at any service call, redelivery,
 * reordering, failing sinks), then its loader with crashes anywhere
 * (between the ledger row and the commit, between a file's statements,
 * after a commit whose reply is lost) and failing statements, leave exactly
 * the table of a run without faults; every published file is in the ledger
 * once, and the table holds each published session once.
 *
 * Runs: `FRESHET_LOADER_RUNS`, else 4 when `CI` is set, else 2 (each one
 * starts an embedded PostgreSQL). `FRESHET_SEED` and `FRESHET_SLICE` pin one
 * case, as in `exactly_once_test.ts`.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  decodeFixture,
  type FixtureMessage,
  parseFixture,
} from "../../src/core/fixture.ts";
import { sessions } from "../../src/jobs/sessions/job.ts";
import { readSessionFile } from "../../src/jobs/sessions/row.ts";
import { loadTargetOf } from "../../src/load/targets.ts";
import { secondsText } from "../../src/load/sessions_target.ts";
import { compareOutputs } from "../../sim/checker.ts";
import { type CanonicalOutputs, canonicalOutputs } from "../../sim/outputs.ts";
import { simulateLoader } from "../../sim/loader_sim.ts";
import {
  FAULT_KINDS,
  simulate,
  type SimulationResult,
  swarmFaults,
} from "../../sim/simulator.ts";
import type { ObjectsTwin } from "../../sim/objects.ts";

const ROOT = new URL("../../", import.meta.url);
const FIXTURE: FixtureMessage[] = parseFixture(
  await decodeFixture(await Deno.readFile(new URL(sessions.fixture!, ROOT))),
);
const JOB = sessions.create();
const TARGET = loadTargetOf("sessions")!;
const CHECKPOINT_INTERVAL_MS = 60_000;

interface Case {
  seed: number;
  first_line: number;
  last_line: number;
}

function runs(): number {
  const configured = Deno.env.get("FRESHET_LOADER_RUNS");
  if (configured !== undefined) return Number(configured);
  return Deno.env.get("CI") ? 4 : 2;
}

function describe(c: Case): string {
  return `seed ${c.seed}, fixture lines ${c.first_line}:${c.last_line}; reproduce with FRESHET_SEED=${c.seed} FRESHET_SLICE=${c.first_line}:${c.last_line} deno test -A tests/property/sessions_loader_test.ts`;
}

async function runJob(c: Case, faulty: boolean): Promise<SimulationResult> {
  const rates = swarmFaults(c.seed);
  return await simulate({
    job: JOB,
    fixture: FIXTURE.slice(c.first_line - 1, c.last_line),
    seed: c.seed,
    checkpoint_interval_ms: CHECKPOINT_INTERVAL_MS,
    ...(faulty
      ? {
        faults: FAULT_KINDS.filter((k) => rates[k] !== undefined),
        fault_rates: rates,
        instances: 1 + c.seed % 3,
      }
      : {}),
  });
}

/** Every published session as the table's JSON line would show it, sorted. */
async function publishedRows(objects: ObjectsTwin): Promise<string[]> {
  const lines: string[] = [];
  for (const { key, body } of objects.dump()) {
    if (!key.startsWith(TARGET.prefix) || !key.endsWith(".parquet")) continue;
    for (const r of await readSessionFile(body)) {
      lines.push(JSON.stringify({
        user_id: r.user_id,
        program_id: r.program_id,
        session_id: r.session_id,
        device: r.device,
        start_time: new Date(r.start_ms).toISOString(),
        end_time: new Date(r.end_ms).toISOString(),
        stream_duration: secondsText(r.end_ms - r.start_ms),
        events: r.events,
      }));
    }
  }
  return lines;
}

function byKey(a: string, b: string): number {
  const ka = JSON.parse(a);
  const kb = JSON.parse(b);
  return ka.session_id < kb.session_id
    ? -1
    : ka.session_id > kb.session_id
    ? 1
    : Date.parse(ka.start_time) - Date.parse(kb.start_time);
}

/** Fault-free outputs and table depend on the slice only: computed once per slice. */
const faultFree = new Map<
  string,
  Promise<{ outputs: CanonicalOutputs; table: string[] }>
>();

function faultFreeRun(c: Case) {
  const slice = `${c.first_line}:${c.last_line}`;
  let found = faultFree.get(slice);
  if (found === undefined) {
    found = (async () => {
      const job = await runJob(c, false);
      const loaded = await simulateLoader({
        objects: job.objects,
        target: TARGET,
        seed: 1,
      });
      await loaded.warehouse.close();
      return {
        outputs: await canonicalOutputs(job, [JOB.topic]),
        table: loaded.table,
      };
    })();
    faultFree.set(slice, found);
  }
  return found;
}

async function checkCase(c: Case): Promise<void> {
  const clean = await faultFreeRun(c);
  const job = await runJob(c, true);
  // The job's half: its outputs (Parquet bytes included) are the fault-free ones.
  assert.deepEqual(
    compareOutputs(clean.outputs, await canonicalOutputs(job, [JOB.topic])),
    [],
    describe(c),
  );
  const rates = swarmFaults(c.seed);
  const loaded = await simulateLoader({
    objects: job.objects,
    target: TARGET,
    seed: c.seed,
    faults: ["crash", "sink-failure"],
    fault_rates: {
      crash: rates.crash ?? 1,
      "sink-failure": rates["sink-failure"] ?? 1,
    },
  });
  await loaded.warehouse.close();
  assert.deepEqual(loaded.table, clean.table, describe(c));
  // Each published session once; each published file once in the ledger.
  assert.deepEqual(
    loaded.table,
    (await publishedRows(job.objects)).sort(byKey),
    describe(c),
  );
  assert.equal(loaded.ledger.length, loaded.files, describe(c));
  assert.ok(loaded.files > 0, `no file published: ${describe(c)}`);
}

function pinned(): Case | undefined {
  const seed = Deno.env.get("FRESHET_SEED");
  const slice = /^(\d+):(\d+)$/.exec(Deno.env.get("FRESHET_SLICE") ?? "");
  if (seed === undefined || slice === null) return undefined;
  return {
    seed: Number(seed),
    first_line: Number(slice[1]),
    last_line: Number(slice[2]),
  };
}

Deno.test("sessions to PostgreSQL: a run with faults in the job and the loader leaves exactly the table of the run without", async () => {
  const one = pinned();
  if (one !== undefined) return await checkCase(one);
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        lines: fc.integer({ min: 2_000, max: 4_000 }),
        start: fc.nat(FIXTURE.length - 4_000),
      }).map(({ seed, lines, start }) => ({
        seed,
        first_line: start + 1,
        last_line: start + lines,
      })),
      checkCase,
    ),
    { numRuns: runs(), endOnFailure: true },
  );
});

Deno.test("the loader's checker catches a loader without transactions: crashes mid-file then lose rows", async () => {
  const c = { seed: 5, first_line: 40_001, last_line: 43_000 };
  const job = await runJob(c, false);
  const clean = await simulateLoader({
    objects: job.objects,
    target: TARGET,
    seed: 1,
  });
  await clean.warehouse.close();
  let caught = 0;
  let crashed = 0;
  for (let seed = 1; seed <= 6; seed++) {
    const broken = await simulateLoader({
      objects: job.objects,
      target: TARGET,
      seed,
      faults: ["crash"],
      fault_rates: { crash: 4 },
      unsafe_autocommit: true,
    });
    await broken.warehouse.close();
    if (broken.crashes > 0) crashed++;
    if (JSON.stringify(broken.table) !== JSON.stringify(clean.table)) caught++;
  }
  assert.ok(crashed >= 5, `only ${crashed} of 6 broken runs crashed`);
  assert.ok(
    caught >= 3,
    `the checker caught the broken loader in ${caught} of 6 runs`,
  );
});
