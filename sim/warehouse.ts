/**
 * PostgreSQL twin: a real PostgreSQL compiled to WebAssembly (PGlite), in
 * memory, with the value mapping and errors of the production adapter
 * (`src/adapters/postgres_common.ts`) and the failure injection of the other
 * twins.
 *
 * PGlite has one connection, so the twin serializes: a transaction holds the
 * connection from BEGIN to COMMIT and other callers' statements wait for it.
 * The real server runs transactions concurrently; the contract suite checks
 * that callers see the same outcomes either way.
 *
 * Starting PGlite runs initdb (several seconds), so the first twin of a
 * process keeps a snapshot of the fresh data directory and later twins start
 * from it (about a second).
 *
 * @module
 */

import { PGlite, type PGliteOptions } from "@electric-sql/pglite";
import type {
  Warehouse,
  WarehouseRow,
  WarehouseTransaction,
} from "../src/ports.ts";
import {
  PARSERS,
  rolledBackError,
  SERIALIZERS,
  SESSION_SETTINGS,
  toWarehouseError,
} from "../src/adapters/postgres_common.ts";
import {
  type FailMode,
  type FailRule,
  FailureInjector,
  injectedFailure,
} from "./errors.ts";

export { TransientError } from "./errors.ts";

/** Options of {@linkcode WarehouseTwin.open}. */
export interface WarehouseTwinOptions {
  /**
   * Injects transient failures: called with `"query"` (a statement outside
   * a transaction), `"transaction.query"` (a statement inside one) or
   * `"transaction.commit"`. Mode `"before"` applies nothing; `"after"`
   * applies and then loses the reply. A failed statement inside a
   * transaction dooms it whatever the mode (a lost connection aborts the
   * transaction on a real server too); a commit that fails `"after"` has
   * committed. Default: never.
   */
  fail?: FailRule;
}

/** Options of {@linkcode WarehouseTwin.dump}. */
export interface DumpOptions {
  /**
   * Columns to sort by, in order. Rows equal on them are ordered by their
   * whole text form, so the order is total. Default: the primary key's
   * columns (none: the whole text form).
   */
  order_by?: string[];
}

/** A fresh data directory (gzip tar), made once per process. */
let template: Promise<Blob> | undefined;

/** A {@linkcode Warehouse} on an in-memory PGlite. */
export class WarehouseTwin implements Warehouse {
  readonly #db: PGlite;
  readonly #failures: FailureInjector;
  /** Settles when the connection is free: callers queue on it. */
  #tail: Promise<void> = Promise.resolve();
  #closed = false;

  private constructor(db: PGlite, options: WarehouseTwinOptions) {
    this.#db = db;
    this.#failures = new FailureInjector(options.fail);
  }

  /** Starts an empty database (the first call of a process takes the longest). */
  static async open(
    options: WarehouseTwinOptions = {},
  ): Promise<WarehouseTwin> {
    const settings: PGliteOptions = {
      parsers: PARSERS as NonNullable<PGliteOptions["parsers"]>,
      serializers: SERIALIZERS as NonNullable<PGliteOptions["serializers"]>,
    };
    let db: PGlite;
    if (template === undefined) {
      db = new PGlite(settings);
      template = db.waitReady.then(() => db.dumpDataDir("gzip"));
      try {
        await template;
      } catch (error) {
        template = undefined;
        throw error;
      }
    } else {
      db = new PGlite({ ...settings, loadDataDir: await template });
      await db.waitReady;
    }
    for (const [name, value] of Object.entries(SESSION_SETTINGS)) {
      await db.query(`SET ${name} TO '${value}'`);
    }
    return new WarehouseTwin(db, options);
  }

  /** Makes the next `n` fallible calls throw a `TransientError` (see `FailMode`). */
  failNext(n: number, mode: FailMode = "before"): void {
    this.#failures.failNext(n, mode);
  }

  query(sql: string, params: readonly unknown[] = []): Promise<WarehouseRow[]> {
    const mode = this.#failures.check("query");
    return this.#exclusive(async () => {
      if (mode === "before") {
        throw injectedFailure("WarehouseTwin", "query", mode);
      }
      const rows = await this.#run(sql, params);
      if (mode === "after") {
        throw injectedFailure("WarehouseTwin", "query", mode);
      }
      return rows;
    });
  }

  transaction<T>(body: (tx: WarehouseTransaction) => Promise<T>): Promise<T> {
    return this.#exclusive(async () => {
      await this.#run("BEGIN", []);
      let finished = false;
      let doomed = false;
      let failure: unknown = undefined;
      const tx: WarehouseTransaction = {
        query: async (sql, params = []) => {
          if (finished) throw finishedError();
          const mode = this.#failures.check("transaction.query");
          const fail = (error: unknown): never => {
            failure ??= error;
            throw error;
          };
          if (mode !== null) doomed = true;
          if (mode === "before") {
            fail(injectedFailure("WarehouseTwin", "transaction.query", mode));
          }
          const rows = await this.#run(sql, params).catch(fail);
          if (mode === "after") {
            fail(injectedFailure("WarehouseTwin", "transaction.query", mode));
          }
          return rows;
        },
      };
      let result: T;
      try {
        result = await body(tx);
      } catch (error) {
        finished = true;
        await this.#db.query("ROLLBACK");
        throw error;
      }
      finished = true;
      if (doomed) {
        await this.#db.query("ROLLBACK");
        throw failure;
      }
      const mode = this.#failures.check("transaction.commit");
      if (mode === "before") {
        await this.#db.query("ROLLBACK");
        throw injectedFailure("WarehouseTwin", "transaction.commit", mode);
      }
      const reply = await this.#db.query("COMMIT");
      if (reply.command === "ROLLBACK") throw rolledBackError(failure);
      if (mode === "after") {
        throw injectedFailure("WarehouseTwin", "transaction.commit", mode);
      }
      return result;
    });
  }

  /**
   * Every row of `table` (`name` or `schema.name`, unquoted), in a total
   * order, for the simulator's `--out` (see {@linkcode jsonLine}). Never
   * fails by injection.
   */
  dump(table: string, options: DumpOptions = {}): Promise<WarehouseRow[]> {
    const name = qualifiedName(table, "table");
    return this.#exclusive(async () => {
      const keys = options.order_by ?? await this.#primaryKey(table);
      const order = [
        ...keys.map((column) => qualifiedName(column, "order_by column")),
        "t::text",
      ];
      return await this.#run(
        `SELECT * FROM ${name} AS t ORDER BY ${order.join(", ")}`,
        [],
      );
    });
  }

  /** User tables (`name` in schema public, `schema.name` elsewhere), sorted. */
  tables(): Promise<string[]> {
    return this.#exclusive(async () => {
      const rows = await this.#run(
        `SELECT name FROM (
           SELECT CASE WHEN table_schema = 'public' THEN table_name
                  ELSE table_schema || '.' || table_name END AS name
             FROM information_schema.tables
            WHERE table_type = 'BASE TABLE'
              AND table_schema NOT IN ('pg_catalog', 'information_schema')
         ) AS user_tables
         ORDER BY name COLLATE "C"`,
        [],
      );
      return rows.map((row) => row.name as string);
    });
  }

  /** Stops the database; later calls reject. */
  close(): Promise<void> {
    return this.#exclusive(async () => {
      this.#closed = true;
      await this.#db.close();
    });
  }

  async #primaryKey(table: string): Promise<string[]> {
    const rows = await this.#run(
      `SELECT a.attname AS name
         FROM pg_index i
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
        WHERE i.indrelid = $1::regclass AND i.indisprimary
        ORDER BY array_position(i.indkey, a.attnum)`,
      [table],
    );
    return rows.map((row) => row.name as string);
  }

  async #run(sql: string, params: readonly unknown[]): Promise<WarehouseRow[]> {
    try {
      const result = await this.#db.query<WarehouseRow>(sql, [...params]);
      return result.rows;
    } catch (error) {
      throw toWarehouseError(error) ?? error;
    }
  }

  /** Runs `fn` once every earlier call has finished with the connection. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(() => {
      if (this.#closed) {
        throw new Error(
          "Cannot use the warehouse twin as it is closed",
        );
      }
      return fn();
    });
    this.#tail = run.then(() => undefined, () => undefined);
    return run;
  }
}

function finishedError(): Error {
  return new Error(
    "Cannot run a statement as its transaction has finished: use 'tx' only inside the transaction's body",
  );
}

const IDENTIFIER = /^[a-z_][a-z0-9_$]*$/;

/** `schema.name` → `"schema"."name"`, for unquoted lower-case names only. */
function qualifiedName(name: string, what: string): string {
  const parts = name.split(".");
  if (parts.length > 2 || !parts.every((part) => IDENTIFIER.test(part))) {
    throw new TypeError(
      `Cannot dump a table as the ${what} must be a lower-case SQL name, optionally schema-qualified: current value is ${
        JSON.stringify(name)
      }`,
    );
  }
  return parts.map((part) => `"${part}"`).join(".");
}

/**
 * One JSON line for a row from {@linkcode WarehouseTwin.dump}, in column
 * order: a Date as its ISO string, a bigint as its decimal string, bytes as
 * `\x`-prefixed hex (PostgreSQL's text form), ±Infinity and NaN as
 * PostgreSQL spells them.
 */
export function jsonLine(row: WarehouseRow): string {
  return JSON.stringify(row, (_key, value: unknown) => {
    if (typeof value === "bigint") return value.toString();
    if (value instanceof Uint8Array) {
      return `\\x${
        Array.from(value, (byte) => byte.toString(16).padStart(2, "0")).join("")
      }`;
    }
    if (typeof value === "number" && !Number.isFinite(value)) {
      return Number.isNaN(value) ? "NaN" : value > 0 ? "infinity" : "-infinity";
    }
    return value;
  });
}
