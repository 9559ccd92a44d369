/**
 * The loader: copies the files a job published in the object store into a
 * warehouse table, each file exactly once, as a streaming platform's
 * analytics load the data lake into PostgreSQL every minute.
 *
 * A pass lists the published files under the target's prefix, reads the
 * ledger (the files already loaded), and loads each other file in one
 * transaction:
 *
 * 1. `INSERT` the file's ledger row (primary key: target and file);
 * 2. upsert its rows into the table, in multi-row `INSERT ... ON CONFLICT
 *    (key) DO UPDATE` statements of at most 65,535 parameters (PostgreSQL's
 *    limit per statement);
 * 3. `COMMIT`.
 *
 * **Exactly once.** The ledger row and the rows commit together or not at
 * all. A crash anywhere before the commit (between the ledger row and the
 * rows, in the middle of a file's statements) rolls everything back, and the
 * next pass loads the file again from the start. A crash after the commit,
 * or a lost reply to it, leaves the ledger row: the next pass skips the
 * file, and a second loader racing on the same file loses on the ledger's
 * primary key (`WarehouseConstraintError`), its transaction rolled back. The
 * upsert on the table's business key is a second guard: loading the same
 * rows again would change nothing.
 *
 * Files are immutable once published (the file sink's final keys and bytes
 * are functions of the input), so a file loaded is never loaded again; the
 * ledger keeps each file's row count and SHA-256 for audits.
 *
 * Processing time comes only from the {@linkcode Clock} port (the ledger's
 * `loaded_at`, the load lag): no `now()` or `random()` of SQL goes into a
 * row, so a replay in the simulator gives the same table.
 *
 * @module
 */

import {
  type Clock,
  type ObjectStore,
  type Warehouse,
  WarehouseConstraintError,
  WarehouseError,
  type WarehouseTransaction,
} from "../ports.ts";

/** PostgreSQL's limit of bind parameters in one statement. */
export const MAX_PARAMETERS = 65_535;

/** The ledger table every target shares. */
export const LEDGER_TABLE = "freshet_load_ledger";
/** The ledger's primary key constraint (a second loader of a file hits it). */
export const LEDGER_KEY = "freshet_load_ledger_pkey";

/** What a loader loads: files under a prefix into one table. */
export interface LoadTarget<R> {
  /** Names the target in the ledger, e.g. `sessions`. */
  name: string;
  /** Key prefix of the published files, with its trailing `/`. */
  prefix: string;
  /** Only keys ending with this are files (`.parquet`). */
  suffix: string;
  /** The table, a lower-case SQL name. */
  table: string;
  /** Statements creating the table idempotently (`CREATE ... IF NOT EXISTS`). */
  ddl: readonly string[];
  /** The table's columns, in the order of {@linkcode LoadTarget.values}. */
  columns: readonly string[];
  /** The business key (the conflict target of the upsert). */
  key: readonly string[];
  /** The rows of a file; throws when the bytes are not such a file. */
  read(bytes: Uint8Array): Promise<R[]>;
  /** A row's parameters, one per column. */
  values(row: R): unknown[];
  /** When the row's data became final (epoch ms, e.g. its session closed), for the load lag. */
  finalAt?(row: R): number;
}

/** What a pass did. */
export interface PassResult {
  /** Files published under the prefix. */
  published: number;
  /** Files this pass loaded. */
  loaded: string[];
  /** Files another loader loaded first (their ledger row existed). */
  skipped: string[];
  /** Rows this pass upserted. */
  rows: number;
}

/** What the loader reports as it goes (metrics). */
export interface LoaderObserver {
  /** A pass listed `published` files, of which `loaded` are in the ledger. */
  listed?(published: number, loaded: number): void;
  /** A file was committed with `rows` rows; `lags_ms` per row: commit time − finalAt. */
  fileLoaded?(file: string, rows: number, lags_ms: readonly number[]): void;
}

/** Options of {@linkcode Loader}. */
export interface LoaderOptions<R> {
  target: LoadTarget<R>;
  objects: ObjectStore;
  warehouse: Warehouse;
  clock: Clock;
  /**
   * Most rows in one INSERT statement; capped so that rows × columns stays
   * within 65,535 parameters. Default: the cap.
   */
  max_rows_per_statement?: number;
  observer?: LoaderObserver;
}

const SQL_NAME = /^[a-z_][a-z0-9_]*$/;

function assertName(what: string, name: string): void {
  if (!SQL_NAME.test(name)) {
    throw new RangeError(
      `Cannot create a loader as ${what} must be a lower-case SQL name: current value is ${
        JSON.stringify(name)
      }`,
    );
  }
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const hash = new Uint8Array(
    await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>),
  );
  return [...hash].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Loads a target's published files; see the module documentation. */
export class Loader<R> {
  readonly #target: LoadTarget<R>;
  readonly #objects: ObjectStore;
  readonly #warehouse: Warehouse;
  readonly #clock: Clock;
  readonly #rows_per_statement: number;
  readonly #observer: LoaderObserver;
  readonly #upsert_head: string;
  readonly #upsert_tail: string;
  #ready = false;

  constructor(options: LoaderOptions<R>) {
    const target = options.target;
    assertName("'table'", target.table);
    for (const column of [...target.columns, ...target.key]) {
      assertName("every column", column);
    }
    if (!target.key.every((k) => target.columns.includes(k))) {
      throw new RangeError(
        `Cannot create a loader as 'key' must be columns of the table: current value is ${
          JSON.stringify(target.key)
        }`,
      );
    }
    const cap = Math.floor(MAX_PARAMETERS / target.columns.length);
    const wanted = options.max_rows_per_statement ?? cap;
    if (!Number.isSafeInteger(wanted) || wanted < 1) {
      throw new RangeError(
        `Cannot create a loader as 'max_rows_per_statement' must be a positive integer: current value is ${wanted}`,
      );
    }
    this.#target = target;
    this.#objects = options.objects;
    this.#warehouse = options.warehouse;
    this.#clock = options.clock;
    this.#rows_per_statement = Math.min(wanted, cap);
    this.#observer = options.observer ?? {};
    const updates = target.columns.filter((c) => !target.key.includes(c))
      .map((c) => `${c} = EXCLUDED.${c}`);
    this.#upsert_head = `INSERT INTO ${target.table} (${
      target.columns.join(", ")
    }) VALUES `;
    this.#upsert_tail = ` ON CONFLICT (${target.key.join(", ")}) DO ${
      updates.length === 0 ? "NOTHING" : `UPDATE SET ${updates.join(", ")}`
    }`;
  }

  /** Rows per INSERT statement (after the parameter cap). */
  get rows_per_statement(): number {
    return this.#rows_per_statement;
  }

  /** Creates the ledger and the target's table when missing (idempotent). */
  async ensureTables(): Promise<void> {
    const statements = [
      `CREATE TABLE IF NOT EXISTS ${LEDGER_TABLE} (
         target text NOT NULL,
         file text NOT NULL,
         rows integer NOT NULL,
         bytes bigint NOT NULL,
         sha256 text NOT NULL,
         loaded_at timestamptz NOT NULL,
         CONSTRAINT ${LEDGER_KEY} PRIMARY KEY (target, file)
       )`,
      ...this.#target.ddl,
    ];
    for (const sql of statements) {
      for (let attempt = 0;; attempt++) {
        try {
          await this.#warehouse.query(sql);
          break;
        } catch (error) {
          // Two loaders creating one table at once: the loser of
          // PostgreSQL's catalog race gets a unique violation (23505) or
          // "already exists" (42P07); the table exists then.
          const racing = error instanceof WarehouseError &&
            (error.code === "23505" || error.code === "42P07");
          if (!racing || attempt > 0) throw error;
        }
      }
    }
    this.#ready = true;
  }

  /** Published files under the target's prefix, sorted. */
  async published(): Promise<string[]> {
    const { prefix, suffix } = this.#target;
    return (await this.#objects.list(prefix)).filter((k) => k.endsWith(suffix));
  }

  /** Files of the target in the ledger. */
  async loadedFiles(): Promise<Set<string>> {
    const rows = await this.#warehouse.query(
      `SELECT file FROM ${LEDGER_TABLE} WHERE target = $1`,
      [this.#target.name],
    );
    return new Set(rows.map((r) => r.file as string));
  }

  /** One pass: loads every published file not in the ledger, in key order. */
  async pass(): Promise<PassResult> {
    if (!this.#ready) await this.ensureTables();
    const files = await this.published();
    const done = await this.loadedFiles();
    this.#observer.listed?.(
      files.length,
      files.filter((f) => done.has(f)).length,
    );
    const result: PassResult = {
      published: files.length,
      loaded: [],
      skipped: [],
      rows: 0,
    };
    for (const file of files) {
      if (done.has(file)) continue;
      const rows = await this.loadFile(file);
      if (rows === null) result.skipped.push(file);
      else {
        result.loaded.push(file);
        result.rows += rows;
      }
    }
    return result;
  }

  /**
   * Loads one file in one transaction; answers its row count, or null when
   * the ledger already had it (another loader won). Throws when the file is
   * missing or unreadable, or the warehouse fails: nothing of it stays.
   */
  async loadFile(file: string): Promise<number | null> {
    const bytes = await this.#objects.get(file);
    if (bytes === null) {
      throw new Error(
        `Cannot load '${file}' as the object is missing: published files are never deleted by freshet`,
      );
    }
    const target = this.#target;
    const rows = await target.read(bytes);
    const digest = await sha256(bytes);
    const loaded_at = this.#clock.now();
    try {
      await this.#warehouse.transaction(async (tx) => {
        await tx.query(
          `INSERT INTO ${LEDGER_TABLE} (target, file, rows, bytes, sha256, loaded_at)
           VALUES ($1, $2, $3, $4, $5, $6)`,
          [target.name, file, rows.length, bytes.length, digest, loaded_at],
        );
        for (let i = 0; i < rows.length; i += this.#rows_per_statement) {
          await this.#upsert(tx, rows.slice(i, i + this.#rows_per_statement));
        }
      });
    } catch (error) {
      if (
        error instanceof WarehouseConstraintError &&
        error.constraint === LEDGER_KEY
      ) return null;
      throw error;
    }
    const committed_ms = this.#clock.now();
    const finalAt = target.finalAt;
    this.#observer.fileLoaded?.(
      file,
      rows.length,
      finalAt === undefined ? [] : rows.map((r) => committed_ms - finalAt(r)),
    );
    return rows.length;
  }

  async #upsert(tx: WarehouseTransaction, rows: readonly R[]): Promise<void> {
    // Two rows of one key in one statement would be an error (a row
    // affected twice): the later one wins, as it would across statements.
    const key = this.#target.key.map((k) => this.#target.columns.indexOf(k));
    const byKey = new Map<string, unknown[]>();
    for (const row of rows) {
      const values = this.#target.values(row);
      byKey.set(JSON.stringify(key.map((i) => values[i])), values);
    }
    const params: unknown[] = [];
    const tuples: string[] = [];
    const width = this.#target.columns.length;
    for (const values of byKey.values()) {
      if (values.length !== width) {
        throw new RangeError(
          `Cannot load a row into '${this.#target.table}' as it must have ${width} values: current count is ${values.length}`,
        );
      }
      const start = params.length;
      params.push(...values);
      tuples.push(
        `(${values.map((_, i) => `$${start + i + 1}`).join(", ")})`,
      );
    }
    await tx.query(
      `${this.#upsert_head}${tuples.join(", ")}${this.#upsert_tail}`,
      params,
    );
  }
}
