/**
 * The loader in the simulator: after a job's simulation, replays the
 * loader (`src/load/`) over the files the job published, into an embedded
 * PostgreSQL (PGlite, `warehouse.ts`), with faults drawn from the seed, and
 * answers the loaded tables.
 *
 * The files appear to the loader in a number of passes (a pass every
 * `interval_ms` of virtual time), each showing more of them in publication
 * order, as a loader running every minute beside the job would see them:
 * what matters for exactly-once is that passes see files in any grouping,
 * and that the loader dies anywhere.
 *
 * Faults (with the `crash` and `sink-failure` kinds of the job's run):
 * - `crash`: the loader dies before or after any warehouse call (a table's
 *   creation, the ledger read, the ledger row, a statement of rows — files
 *   span several statements here, so also mid-file — or the commit, whose
 *   reply is then lost) or object read; a new loader starts over;
 * - `sink-failure`: the twin fails a call transiently, before applying it or
 *   after (a lost reply), and the loader's pass fails: the next one retries.
 *
 * The job's own faults are the simulator's (`simulator.ts`); this covers the
 * half of the pipeline after the data lake.
 *
 * @module
 */

import type { ObjectStore, Warehouse, WarehouseRow } from "../src/ports.ts";
import { Loader, type LoadTarget } from "../src/load/loader.ts";
import { loadTargetOf } from "../src/load/targets.ts";
import type { JobOverrides, JobSpec } from "../src/flow/define.ts";
import type { FailMode } from "./errors.ts";
import { TransientError } from "./errors.ts";
import { Rng } from "./random.ts";
import { VirtualClock } from "./clock.ts";
import { jsonLine, WarehouseTwin } from "./warehouse.ts";
import type { FaultKind, FaultRates } from "./simulator.ts";
import { isStagingKey } from "./outputs.ts";

/** Options of {@linkcode simulateLoader}. */
export interface LoaderSimulationOptions {
  /** The published files: the job's output store after its run. */
  objects: ObjectStore;
  target: LoadTarget<unknown>;
  seed: number | string;
  /** `crash` and `sink-failure` strike the loader; others are ignored. Default: none. */
  faults?: readonly FaultKind[];
  /** Rate multipliers, as the simulator's. Default: 1 each. */
  fault_rates?: FaultRates;
  /** Passes over the growing set of files. Default: 8. */
  passes?: number;
  /** Virtual time between passes. Default: 60 000. */
  interval_ms?: number;
  /** Processing time of the first pass. Default: 0. */
  start_ms?: number;
  /** Rows per INSERT statement. Default: 7 (files span several statements). */
  max_rows_per_statement?: number;
  /** Deliberately broken, for tests of the checker: ledger row and rows outside any transaction. */
  unsafe_autocommit?: boolean;
}

/** What a loader simulation left. */
export interface LoaderSimulationResult {
  warehouse: WarehouseTwin;
  /** The target's table, every row as a JSON line, by its key. */
  table: string[];
  /** Files in the ledger. */
  ledger: string[];
  files: number;
  crashes: number;
  failures: number;
  passes: number;
}

/** The loader died at a call (never retried by the loader itself). */
class LoaderCrash extends Error {
  override name = "LoaderCrash";
}

/** Replays the loader over `objects`; see the module documentation. */
export async function simulateLoader(
  options: LoaderSimulationOptions,
): Promise<LoaderSimulationResult> {
  const faults = new Set(options.faults ?? []);
  const rate = (kind: FaultKind) =>
    faults.has(kind) ? options.fault_rates?.[kind] ?? 1 : 0;
  const rng = new Rng(options.seed).fork("loader");
  const crashRng = rng.fork("crash");
  const failRng = rng.fork("sink-failure");
  const crash_p = Math.min(0.2, 0.04 * rate("crash"));
  const fail_p = Math.min(0.2, 0.02 * rate("sink-failure"));
  let crashes = 0;
  let failures = 0;
  // A run must end: past a bound, faults stop.
  const max_faults = 40;
  let running = true;
  const crashPoint = (): FailMode | null => {
    if (!running || crash_p === 0 || crashes >= max_faults) return null;
    if (!crashRng.chance(crash_p)) return null;
    crashes++;
    return crashRng.chance(0.5) ? "before" : "after";
  };
  const warehouse = await WarehouseTwin.open({
    fail: () => {
      if (!running || fail_p === 0 || failures >= max_faults) return false;
      if (!failRng.chance(fail_p)) return false;
      failures++;
      return failRng.chance(0.5) ? "before" : "after";
    },
  });
  const target = options.target;
  const all = (await options.objects.list(target.prefix))
    .filter((k) => k.endsWith(target.suffix) && !isStagingKey(k));
  const passes = options.passes ?? 8;
  const interval_ms = options.interval_ms ?? 60_000;
  const clock = new VirtualClock(options.start_ms ?? 0);
  let shown = 0;
  // The files published by the time of a pass: the store as the loader sees it.
  const view: ObjectStore = {
    put: () => Promise.reject(new Error("the loader never writes objects")),
    putIfAbsent: () =>
      Promise.reject(new Error("the loader never writes objects")),
    copy: () => Promise.reject(new Error("the loader never writes objects")),
    delete: () => Promise.reject(new Error("the loader never writes objects")),
    list: (prefix) =>
      Promise.resolve(all.slice(0, shown).filter((k) => k.startsWith(prefix))),
    get: (key) => options.objects.get(key),
  };
  const crashing = withLoaderCrashes(warehouse, view, crashPoint);
  const newLoader = () =>
    new Loader({
      target,
      objects: crashing.objects,
      warehouse: options.unsafe_autocommit
        ? autocommit(crashing.warehouse)
        : crashing.warehouse,
      clock: {
        now: () => clock.now(),
        sleep: (ms) => Promise.resolve(clock.advanceBy(Math.max(0, ms))),
      },
      max_rows_per_statement: options.max_rows_per_statement ?? 7,
    });
  let loader = newLoader();
  let taken = 0;
  // The last pass (and those after it, while faults strike) sees every file.
  for (let pass = 1; pass <= passes + 1_000; pass++) {
    shown = Math.min(all.length, Math.ceil(all.length * pass / passes));
    taken++;
    try {
      await loader.pass();
      if (pass >= passes) break;
    } catch (error) {
      if (error instanceof LoaderCrash) loader = newLoader();
      else if (!injected(error)) throw error;
    }
    clock.advanceBy(interval_ms);
  }
  running = false;
  const table = (await warehouse.dump(target.table)).map(jsonLine);
  const ledger = (await warehouse.query(
    "SELECT file FROM freshet_load_ledger WHERE target = $1 ORDER BY file",
    [target.name],
  )).map((r: WarehouseRow) => r.file as string);
  return {
    warehouse,
    table,
    ledger,
    files: all.length,
    crashes,
    failures,
    passes: taken,
  };
}

function injected(error: unknown): boolean {
  for (let e = error, depth = 0; e !== undefined && depth < 8; depth++) {
    if (e instanceof TransientError || e instanceof LoaderCrash) return true;
    e = (e as { cause?: unknown } | null)?.cause;
  }
  return false;
}

/** The warehouse and store, each call of which may kill the loader. */
function withLoaderCrashes(
  warehouse: Warehouse,
  objects: ObjectStore,
  crashPoint: () => FailMode | null,
): { warehouse: Warehouse; objects: ObjectStore } {
  const at = async <T>(name: string, call: () => Promise<T>): Promise<T> => {
    const mode = crashPoint();
    if (mode === "before") throw new LoaderCrash(`crash before ${name}`);
    const result = await call();
    if (mode === "after") throw new LoaderCrash(`crash after ${name}`);
    return result;
  };
  return {
    warehouse: {
      query: (sql, params) => at("query", () => warehouse.query(sql, params)),
      async transaction(body) {
        let commit: FailMode | null = null;
        const result = await warehouse.transaction(async (tx) => {
          const value = await body({
            query: (sql, params) =>
              at("transaction.query", () => tx.query(sql, params)),
          });
          commit = crashPoint();
          if (commit === "before") {
            throw new LoaderCrash("crash before transaction.commit");
          }
          return value;
        });
        // Committed; the loader dies before it learns so.
        if (commit === "after") {
          throw new LoaderCrash("crash after transaction.commit");
        }
        return result;
      },
      close: () => warehouse.close(),
    },
    objects: {
      ...objects,
      list: (prefix) => at("list", () => objects.list(prefix)),
      get: (key) => at("get", () => objects.get(key)),
    },
  };
}

/** The broken variant: every statement commits on its own (no transaction). */
function autocommit(warehouse: Warehouse): Warehouse {
  return {
    query: (sql, params) => warehouse.query(sql, params),
    transaction: (body) => body({ query: (s, p) => warehouse.query(s, p) }),
    close: () => warehouse.close(),
  };
}

/** Options of {@linkcode loadedTables}. */
export interface LoadedTablesOptions {
  seed: number | string;
  faults?: readonly FaultKind[];
  fault_rates?: FaultRates;
  overrides?: JobOverrides;
}

/**
 * The tables a job's loader leaves from the job's published files (empty
 * for a job without a loader): `name` → JSON lines sorted by key.
 */
export async function loadedTables(
  spec: JobSpec,
  objects: ObjectStore,
  options: LoadedTablesOptions,
): Promise<Record<string, string[]>> {
  const target = loadTargetOf(spec.name, options.overrides);
  if (target === undefined) return {};
  const result = await simulateLoader({
    objects,
    target,
    seed: options.seed,
    faults: options.faults,
    fault_rates: options.fault_rates,
  });
  await result.warehouse.close();
  return { [target.table]: result.table };
}

/** Writes `DIR/tables/<name>.jsonl` for each table (`--out`). */
export async function writeTables(
  dir: string,
  tables: Record<string, string[]>,
): Promise<void> {
  const names = Object.keys(tables);
  if (names.length === 0) return;
  await Deno.mkdir(`${dir}/tables`, { recursive: true });
  for (const name of names) {
    const lines = tables[name]!;
    await Deno.writeTextFile(
      `${dir}/tables/${name}.jsonl`,
      lines.length > 0 ? `${lines.join("\n")}\n` : "",
    );
  }
}
