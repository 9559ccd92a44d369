/**
 * Benchmarks 9 and 10, the `sessions` pipeline's two ends:
 * - the Parquet writer of its files (`sessionFormat().encode`: checks,
 *   BigInt conversion, explicit schema) against hyparquet-writer alone
 *   called on ready-made columns of the same rows;
 * - the loader (`src/load/`: Parquet decoding, the ledger row, multi-row
 *   upserts, one transaction per file) against a plain loop of multi-row
 *   INSERTs of the same rows into a table of the same shape, both into the
 *   real PostgreSQL (`DATABASE_URL`, default the local server).
 *
 * @module
 */

import { parquetWriteBuffer } from "hyparquet-writer";
import { PostgresWarehouse } from "../../src/adapters/postgres.ts";
import { sessionFormat, type SessionRow } from "../../src/jobs/sessions/row.ts";
import { parquetSchemaOf } from "../../src/sinks/parquet_format.ts";
import { SESSION_COLUMNS } from "../../src/jobs/sessions/row.ts";
import { Loader, MAX_PARAMETERS } from "../../src/load/loader.ts";
import { secondsText, sessionsTarget } from "../../src/load/sessions_target.ts";
import { ObjectsTwin } from "../../sim/objects.ts";
import { Rng } from "../../sim/random.ts";
import { type Section, table, verdictOf } from "./report.ts";
import { fmt, median, perSecond } from "./stats.ts";

export const PARQUET_TITLE =
  "9. Parquet files of `sessions` (freshet's format vs hyparquet-writer alone)";
export const PARQUET_TARGET = 0.8;
export const LOADER_TITLE =
  "10. Loader of `sessions` into PostgreSQL (ledger, upserts, one transaction per file) vs plain multi-row INSERTs";
export const LOADER_TARGET = 0.5;

/** Seeded sessions shaped like the fixture's. */
export function benchSessions(count: number, seed = 11): SessionRow[] {
  const rng = new Rng(seed);
  const t0 = Date.UTC(2026, 2, 14, 18, 0, 0);
  const devices = ["tv", "mobile", "web", "tablet", "console"];
  return Array.from({ length: count }, (_, i) => {
    const start_ms = t0 + rng.int(5 * 3_600_000);
    return {
      user_id: `u-${String(1 + rng.int(900)).padStart(6, "0")}`,
      program_id: `prog-${String(1 + rng.int(300)).padStart(4, "0")}`,
      session_id: `${i.toString(16).padStart(8, "0")}-9a59-42be-adf6-${
        rng.int(2 ** 30).toString(16).padStart(12, "0")
      }`,
      device: devices[rng.int(devices.length)]!,
      start_ms,
      end_ms: start_ms + rng.int(600_000),
      events: 1 + rng.int(150),
    };
  });
}

/** hyparquet-writer on columns of `rows` with the same schema and settings. */
function plainParquet(rows: readonly SessionRow[]): Uint8Array {
  const columnData = [
    { name: "user_id", data: rows.map((r) => r.user_id) },
    { name: "program_id", data: rows.map((r) => r.program_id) },
    { name: "session_id", data: rows.map((r) => r.session_id) },
    { name: "device", data: rows.map((r) => r.device) },
    { name: "start_time", data: rows.map((r) => BigInt(r.start_ms)) },
    { name: "end_time", data: rows.map((r) => BigInt(r.end_ms)) },
    {
      name: "stream_duration",
      data: rows.map((r) => BigInt(r.end_ms - r.start_ms)),
    },
    { name: "events", data: rows.map((r) => r.events) },
  ];
  return new Uint8Array(parquetWriteBuffer({
    columnData,
    schema: parquetSchemaOf(SESSION_COLUMNS) as Parameters<
      typeof parquetWriteBuffer
    >[0]["schema"],
    codec: "SNAPPY",
    rowGroupSize: 100_000,
    createdBy: "freshet",
  }));
}

/** Options of {@linkcode parquetSection}. */
export interface ParquetSectionOptions {
  rows: number;
  runs: number;
  log: (line: string) => void;
}

/** Benchmark 9. */
export function parquetSection(options: ParquetSectionOptions): Section {
  const rows = benchSessions(options.rows);
  const format = sessionFormat();
  const time = (f: () => Uint8Array) => {
    const started = performance.now();
    const bytes = f();
    return { ms: performance.now() - started, bytes: bytes.length };
  };
  // Warm-up, and a check that both write the same file.
  const ours_bytes = format.encode(rows);
  const plain_bytes = plainParquet(rows);
  const same = ours_bytes.length === plain_bytes.length &&
    ours_bytes.every((b, i) => b === plain_bytes[i]);
  const ours: number[] = [];
  const plain: number[] = [];
  let size = 0;
  for (let i = 0; i < options.runs; i++) {
    const a = time(() => format.encode(rows));
    const b = time(() => plainParquet(rows));
    ours.push(perSecond(rows.length, a.ms));
    plain.push(perSecond(rows.length, b.ms));
    size = a.bytes;
    options.log(
      `parquet: run ${i + 1}/${options.runs}: ${fmt(a.ms)} ms vs ${
        fmt(b.ms)
      } ms`,
    );
  }
  const candidate = median(ours);
  const baseline = median(plain);
  const ratio = candidate / baseline;
  return {
    title: PARQUET_TITLE,
    verdict: verdictOf(ratio, PARQUET_TARGET),
    summary: {
      baseline: `${fmt(baseline)} rows/s`,
      candidate: `${fmt(candidate)} rows/s`,
      ratio: ratio.toFixed(2),
      target: `≥ ${PARQUET_TARGET}`,
    },
    body: [
      `**Measured:** rows per second encoding ${rows.length} seeded sessions into one Parquet file (8 columns, Snappy, one row group), median of ${options.runs} alternating runs. Candidate: \`sessionFormat().encode(rows)\` (value checks per column, numbers to BigInt, the explicit schema). Baseline: hyparquet-writer's \`parquetWriteBuffer\` on columns built from the same rows with the same schema and settings. Both write byte-identical files: ${same}. File size: ${size} bytes (${
        (size / rows.length).toFixed(1)
      } bytes per session).`,
      "",
      ...table(["side", "rows/s (median)"], [
        ["freshet parquetFormat", fmt(candidate)],
        ["hyparquet-writer alone", fmt(baseline)],
      ]),
    ],
  };
}

/** Options of {@linkcode loaderSection}. */
export interface LoaderSectionOptions {
  rows: number;
  files: number;
  runs: number;
  /** Default: `DATABASE_URL`, else the local server. */
  url?: string;
  log: (line: string) => void;
}

/** Benchmark 10: needs PostgreSQL. */
export async function loaderSection(
  options: LoaderSectionOptions,
): Promise<Section> {
  const base = options.url ?? Deno.env.get("DATABASE_URL") ??
    "postgres://postgres@127.0.0.1:5432/postgres";
  const admin = new PostgresWarehouse({ url: base });
  const database = `freshet_bench_${Deno.pid}`;
  const url = base.replace(/\/[^/?]*(\?|$)/, `/${database}$1`);
  await admin.query(`DROP DATABASE IF EXISTS ${database}`);
  await admin.query(`CREATE DATABASE ${database}`);
  const warehouse = new PostgresWarehouse({ url });
  try {
    const rows = benchSessions(options.rows, 23);
    const objects = new ObjectsTwin();
    const per_file = Math.ceil(rows.length / options.files);
    const format = sessionFormat();
    for (let f = 0; f < options.files; f++) {
      await objects.put(
        `sessions/date=2026-03-14/part-0-${
          String(f).padStart(10, "0")
        }.parquet`,
        format.encode(rows.slice(f * per_file, (f + 1) * per_file)),
      );
    }
    const target = sessionsTarget();
    const columns = target.columns;
    const chunk = Math.floor(MAX_PARAMETERS / columns.length);
    const reset = async () => {
      await warehouse.query(
        "DROP TABLE IF EXISTS sessions, freshet_load_ledger, plain_sessions",
      );
      await warehouse.query(
        target.ddl[0]!.replace(
          "IF NOT EXISTS sessions",
          "IF NOT EXISTS plain_sessions",
        ),
      );
    };
    const loaderRun = async () => {
      const loader = new Loader({
        target,
        objects,
        warehouse,
        clock: { now: () => Date.now(), sleep: () => Promise.resolve() },
      });
      await loader.ensureTables();
      const started = performance.now();
      const pass = await loader.pass();
      const ms = performance.now() - started;
      if (pass.rows !== rows.length) {
        throw new Error(
          `the loader loaded ${pass.rows} rows of ${rows.length}`,
        );
      }
      return ms;
    };
    const plainRun = async () => {
      const started = performance.now();
      for (let i = 0; i < rows.length; i += chunk) {
        const params: unknown[] = [];
        const tuples: string[] = [];
        for (const r of rows.slice(i, i + chunk)) {
          const at = params.length;
          params.push(
            r.user_id,
            r.program_id,
            r.session_id,
            r.device,
            r.start_ms,
            r.end_ms,
            secondsText(r.end_ms - r.start_ms),
            r.events,
          );
          tuples.push(
            `(${columns.map((_, c) => `$${at + c + 1}`).join(", ")})`,
          );
        }
        await warehouse.query(
          `INSERT INTO plain_sessions (${columns.join(", ")}) VALUES ${
            tuples.join(", ")
          }`,
          params,
        );
      }
      return performance.now() - started;
    };
    await reset();
    await loaderRun();
    await plainRun();
    const ours: number[] = [];
    const plain: number[] = [];
    for (let i = 0; i < options.runs; i++) {
      await reset();
      const a = await loaderRun();
      const b = await plainRun();
      ours.push(perSecond(rows.length, a));
      plain.push(perSecond(rows.length, b));
      options.log(
        `loader: run ${i + 1}/${options.runs}: ${fmt(a)} ms vs ${fmt(b)} ms`,
      );
    }
    const candidate = median(ours);
    const baseline = median(plain);
    const ratio = candidate / baseline;
    return {
      title: LOADER_TITLE,
      verdict: verdictOf(ratio, LOADER_TARGET),
      summary: {
        baseline: `${fmt(baseline)} rows/s`,
        candidate: `${fmt(candidate)} rows/s`,
        ratio: ratio.toFixed(2),
        target: `≥ ${LOADER_TARGET}`,
      },
      body: [
        `**Measured:** rows per second loading ${rows.length} seeded sessions into the local PostgreSQL (a database of its own), median of ${options.runs} alternating runs. Candidate: one pass of the loader over ${options.files} Parquet files in memory (reading each file, its SHA-256, the ledger row and upserts of up to ${chunk} rows per statement, one transaction per file). Baseline: the same rows as plain multi-row INSERTs of up to ${chunk} rows (65,535 parameters) into a table of the same shape, each statement on its own.`,
        "",
        ...table(["side", "rows/s (median)"], [
          ["loader pass", fmt(candidate)],
          ["plain multi-row INSERT loop", fmt(baseline)],
        ]),
      ],
    };
  } finally {
    await warehouse.close();
    await admin.query(`DROP DATABASE IF EXISTS ${database}`).catch(() => {});
    await admin.close();
  }
}
