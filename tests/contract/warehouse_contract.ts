/**
 * The behaviour of a {@linkcode Warehouse} the `sessions` loader relies on,
 * as PostgreSQL has it. Run against the PGlite twin
 * (`warehouse_twin_test.ts`) and the PostgreSQL adapter
 * (`tests/integration/warehouse_real_test.ts`).
 *
 * Every test works in a schema of its own, dropped afterwards, so runs can
 * share a real database. The loader's exactly-once rests on the "ledger"
 * cases: one primary-key row per loaded file, written in the same
 * transaction as the file's rows.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  type Warehouse,
  WarehouseConstraintError,
  WarehouseError,
  type WarehouseTransaction,
} from "../../src/ports.ts";
import { type ContractOptions, testOptions, uniqueName } from "./options.ts";

/** A warehouse under test. */
export interface WarehouseHarness {
  warehouse: Warehouse;
  /**
   * A second caller of the same database: another pool of connections
   * against a real server, the same twin in simulation.
   */
  peer: Warehouse;
  close(): Promise<void>;
}

/** An error planted by a test, to tell it apart from any other. */
class PlantedError extends Error {
  override name = "PlantedError";
}

const sleep = (ms: number) =>
  new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Registers the warehouse contract tests for the warehouse that `open` returns. */
export function warehouseContract(
  name: string,
  open: () => Promise<WarehouseHarness>,
  options: ContractOptions = {},
): void {
  const test = (
    title: string,
    body: (wh: Warehouse, s: string, h: WarehouseHarness) => Promise<void>,
  ) =>
    Deno.test({
      name: `${name}: ${title}`,
      ...testOptions(options),
      fn: async () => {
        const harness = await open();
        const schema = uniqueName(name).toLowerCase().replace(
          /[^a-z0-9]/g,
          "_",
        );
        try {
          await harness.warehouse.query(`CREATE SCHEMA ${schema}`);
          await body(harness.warehouse, schema, harness);
        } finally {
          try {
            await harness.warehouse.query(
              `DROP SCHEMA IF EXISTS ${schema} CASCADE`,
            );
          } finally {
            await harness.close();
          }
        }
      },
    });

  const count = async (wh: Warehouse, table: string): Promise<number> => {
    const [row] = await wh.query(`SELECT count(*) AS n FROM ${table}`);
    return row?.n as number;
  };

  const tableExists = async (wh: Warehouse, table: string) => {
    const [row] = await wh.query(
      "SELECT to_regclass($1) IS NOT NULL AS found",
      [
        table,
      ],
    );
    return row?.found as boolean;
  };

  test(
    "CREATE TABLE IF NOT EXISTS leaves an existing table and its rows as they are",
    async (wh, s) => {
      const ddl =
        `CREATE TABLE IF NOT EXISTS ${s}.ledger (file text PRIMARY KEY, rows bigint NOT NULL)`;
      await wh.query(ddl);
      await wh.query(`INSERT INTO ${s}.ledger VALUES ('a.parquet', 3)`);
      await wh.query(ddl);
      await wh.transaction((tx) => tx.query(ddl));
      assert.deepEqual(await wh.query(`SELECT * FROM ${s}.ledger`), [
        { file: "a.parquet", rows: 3 },
      ]);
    },
  );

  test(
    "a transaction commits all its statements and answers its body's result",
    async (wh, s, h) => {
      const result = await wh.transaction(async (tx) => {
        await tx.query(
          `CREATE TABLE ${s}.sessions (id text PRIMARY KEY, n int)`,
        );
        await tx.query(`INSERT INTO ${s}.sessions VALUES ($1, $2), ($3, $4)`, [
          "s1",
          1,
          "s2",
          2,
        ]);
        const rows = await tx.query(
          `UPDATE ${s}.sessions SET n = n * 10 WHERE id = $1 RETURNING n`,
          ["s2"],
        );
        return rows[0]?.n;
      });
      assert.equal(result, 20);
      // Committed: visible to another caller too.
      assert.deepEqual(
        await h.peer.query(`SELECT id, n FROM ${s}.sessions ORDER BY id`),
        [{ id: "s1", n: 1 }, { id: "s2", n: 20 }],
      );
    },
  );

  test(
    "a body that throws rolls back every statement and its error is rethrown as is",
    async (wh, s) => {
      await wh.query(`CREATE TABLE ${s}.sessions (id text PRIMARY KEY)`);
      const planted = new PlantedError("planted");
      await assert.rejects(
        wh.transaction(async (tx) => {
          await tx.query(`INSERT INTO ${s}.sessions VALUES ('s1')`);
          await tx.query(`CREATE TABLE ${s}.created_inside (x int)`);
          throw planted;
        }),
        (error) => error === planted,
      );
      assert.equal(await count(wh, `${s}.sessions`), 0);
      assert.equal(await tableExists(wh, `${s}.created_inside`), false);
      // The warehouse is usable afterwards (no transaction left open).
      await wh.query(`INSERT INTO ${s}.sessions VALUES ('s2')`);
      assert.equal(await count(wh, `${s}.sessions`), 1);
    },
  );

  test(
    "a unique violation in a transaction rolls it back and names the constraint",
    async (wh, s) => {
      await wh.query(`CREATE TABLE ${s}.ledger (file text PRIMARY KEY)`);
      await wh.query(`CREATE TABLE ${s}.sessions (id text, file text)`);
      await wh.query(`INSERT INTO ${s}.ledger VALUES ('a.parquet')`);
      await assert.rejects(
        wh.transaction(async (tx) => {
          await tx.query(
            `INSERT INTO ${s}.sessions VALUES ('s1', 'a.parquet')`,
          );
          await tx.query(`INSERT INTO ${s}.ledger VALUES ($1)`, ["a.parquet"]);
        }),
        (error) => {
          assert.ok(
            error instanceof WarehouseConstraintError,
            `expected a WarehouseConstraintError, got ${error}`,
          );
          assert.ok(error instanceof WarehouseError);
          assert.equal(error.code, "23505");
          assert.equal(error.constraint, "ledger_pkey");
          assert.equal(error.table, "ledger");
          assert.match(error.message, /ledger_pkey/);
          return true;
        },
      );
      assert.equal(await count(wh, `${s}.sessions`), 0);
    },
  );

  test(
    "a constraint violation outside a transaction is a WarehouseConstraintError too",
    async (wh, s) => {
      await wh.query(
        `CREATE TABLE ${s}.t (id int CONSTRAINT t_id_key UNIQUE, n int NOT NULL CONSTRAINT n_positive CHECK (n > 0))`,
      );
      await wh.query(`INSERT INTO ${s}.t VALUES (1, 1)`);
      const rejects = async (
        sql: string,
        code: string,
        constraint: string | null,
      ) =>
        await assert.rejects(wh.query(sql), (error) => {
          assert.ok(error instanceof WarehouseConstraintError, `${error}`);
          assert.equal(error.code, code);
          assert.equal(error.constraint, constraint);
          return true;
        });
      await rejects(`INSERT INTO ${s}.t VALUES (1, 2)`, "23505", "t_id_key");
      await rejects(`INSERT INTO ${s}.t VALUES (2, 0)`, "23514", "n_positive");
      await rejects(`INSERT INTO ${s}.t VALUES (3, NULL)`, "23502", null);
      assert.equal(await count(wh, `${s}.t`), 1);
    },
  );

  test(
    "a failed statement dooms its transaction even when the body catches the error",
    async (wh, s) => {
      await wh.query(`CREATE TABLE ${s}.ledger (file text PRIMARY KEY)`);
      await wh.query(`CREATE TABLE ${s}.sessions (id text)`);
      await wh.query(`INSERT INTO ${s}.ledger VALUES ('a.parquet')`);
      let caught: unknown;
      await assert.rejects(
        wh.transaction(async (tx) => {
          await tx.query(`INSERT INTO ${s}.sessions VALUES ('s1')`);
          try {
            await tx.query(`INSERT INTO ${s}.ledger VALUES ('a.parquet')`);
          } catch (error) {
            caught = error; // swallowed: the commit must still not happen
          }
        }),
        (error) =>
          error === caught && error instanceof WarehouseConstraintError,
      );
      assert.equal(await count(wh, `${s}.sessions`), 0);
    },
  );

  test(
    "a savepoint rolled back to keeps the transaction alive",
    async (wh, s) => {
      await wh.query(`CREATE TABLE ${s}.ledger (file text PRIMARY KEY)`);
      await wh.query(`INSERT INTO ${s}.ledger VALUES ('a')`);
      await wh.transaction(async (tx) => {
        await tx.query(`INSERT INTO ${s}.ledger VALUES ('b')`);
        await tx.query("SAVEPOINT before_a");
        await assert.rejects(
          tx.query(`INSERT INTO ${s}.ledger VALUES ('a')`),
          WarehouseConstraintError,
        );
        await tx.query("ROLLBACK TO SAVEPOINT before_a");
        await tx.query(`INSERT INTO ${s}.ledger VALUES ('c')`);
      });
      assert.deepEqual(
        await wh.query(`SELECT file FROM ${s}.ledger ORDER BY file`),
        [{ file: "a" }, { file: "b" }, { file: "c" }],
      );
    },
  );

  test(
    "INSERT ... ON CONFLICT DO NOTHING skips a duplicate and DO UPDATE updates it",
    async (wh, s) => {
      await wh.query(
        `CREATE TABLE ${s}.ledger (file text PRIMARY KEY, loads int NOT NULL)`,
      );
      const claim =
        `INSERT INTO ${s}.ledger VALUES ($1, 1) ON CONFLICT (file) DO NOTHING RETURNING file`;
      assert.deepEqual(await wh.query(claim, ["a"]), [{ file: "a" }]);
      assert.deepEqual(await wh.query(claim, ["a"]), []);
      const upsert = `INSERT INTO ${s}.ledger VALUES ($1, 1)
        ON CONFLICT (file) DO UPDATE SET loads = ${s}.ledger.loads + EXCLUDED.loads
        RETURNING loads`;
      assert.deepEqual(await wh.query(upsert, ["a"]), [{ loads: 2 }]);
      assert.deepEqual(
        await wh.transaction((tx) => tx.query(upsert, ["b"])),
        [{ loads: 1 }],
      );
      assert.deepEqual(
        await wh.query(`SELECT * FROM ${s}.ledger ORDER BY file`),
        [{ file: "a", loads: 2 }, { file: "b", loads: 1 }],
      );
    },
  );

  test(
    "values round-trip with the JavaScript types documented at WarehouseRow",
    async (wh, s) => {
      await wh.query(`CREATE TABLE ${s}.v (
        id int PRIMARY KEY, big bigint, dbl double precision, txt text,
        num numeric(12, 2), ts timestamptz, ts_local timestamp, day date,
        flag boolean, doc jsonb, raw bytea, small smallint, real_n real)`);
      const at = new Date("2024-03-10T12:34:56.789Z");
      await wh.query(
        `INSERT INTO ${s}.v VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
        [
          1,
          1_700_000_000_123,
          0.1 + 0.2,
          "naïve 🚀 'quoted'",
          "12345.5",
          at,
          at,
          "2024-03-10",
          true,
          JSON.stringify({ a: [1, "x"], b: null }),
          new Uint8Array([0, 1, 254, 255]),
          -7,
          1.5,
        ],
      );
      // A number bound to a timestamptz is epoch milliseconds; NULL is null.
      await wh.query(`INSERT INTO ${s}.v (id, ts, big) VALUES ($1, $2, $3)`, [
        2,
        at.getTime(),
        null,
      ]);
      const rows = await wh.query(`SELECT * FROM ${s}.v ORDER BY id`);
      assert.deepEqual(rows[0], {
        id: 1,
        big: 1_700_000_000_123,
        dbl: 0.30000000000000004,
        txt: "naïve 🚀 'quoted'",
        num: "12345.50",
        ts: at,
        ts_local: at,
        day: "2024-03-10",
        flag: true,
        doc: { a: [1, "x"], b: null },
        raw: new Uint8Array([0, 1, 254, 255]),
        small: -7,
        real_n: 1.5,
      });
      assert.ok(rows[0]?.ts instanceof Date);
      assert.equal(Object.getPrototypeOf(rows[0]?.raw), Uint8Array.prototype);
      assert.deepEqual(rows[1]?.ts, at);
      assert.equal(rows[1]?.big, null);
      assert.deepEqual(
        await wh.query(
          "SELECT current_setting('TimeZone') AS tz, current_setting('DateStyle') AS style",
        ),
        [{ tz: "UTC", style: "ISO, MDY" }],
      );
    },
  );

  test(
    "a bigint outside the safe integer range comes back as a bigint, never rounded",
    async (wh) => {
      const big = 2n ** 62n + 1n;
      assert.deepEqual(
        await wh.query(
          "SELECT $1::bigint AS big, $2::bigint AS safe, $3::bigint AS negative, count(*) AS n",
          [big, Number.MAX_SAFE_INTEGER, -big],
        ),
        [{ big, safe: Number.MAX_SAFE_INTEGER, negative: -big, n: 1 }],
      );
    },
  );

  test(
    "a failing statement answers a WarehouseError with its SQLSTATE",
    async (wh, s) => {
      await assert.rejects(wh.query(`SELECT * FROM ${s}.missing`), (error) => {
        assert.ok(error instanceof WarehouseError, `${error}`);
        assert.ok(!(error instanceof WarehouseConstraintError));
        assert.equal(error.code, "42P01");
        return true;
      });
      await assert.rejects(
        wh.transaction((tx) => tx.query("SELEC 1")),
        (error) => error instanceof WarehouseError && error.code === "42601",
      );
    },
  );

  test(
    "tx cannot run statements after its transaction finished",
    async (wh, s) => {
      await wh.query(`CREATE TABLE ${s}.t (n int)`);
      let escaped: WarehouseTransaction | undefined;
      await wh.transaction((tx) => {
        escaped = tx;
        return Promise.resolve();
      });
      await assert.rejects(
        escaped!.query(`INSERT INTO ${s}.t VALUES (1)`),
        /transaction has finished/,
      );
      assert.equal(await count(wh, `${s}.t`), 0);
    },
  );

  test(
    "a multi-row INSERT binds thousands of parameters in one statement",
    async (wh, s) => {
      await wh.query(
        `CREATE TABLE ${s}.sessions (id text PRIMARY KEY, start_ms bigint, ends timestamptz, duration double precision)`,
      );
      const rows = 3000;
      const values: string[] = [];
      const params: unknown[] = [];
      for (let i = 0; i < rows; i++) {
        const p = params.length;
        values.push(`($${p + 1}, $${p + 2}, $${p + 3}, $${p + 4})`);
        params.push(
          `s${i}`,
          1_700_000_000_000 + i,
          1_700_000_000_000 + i,
          i / 4,
        );
      }
      await wh.transaction((tx) =>
        tx.query(
          `INSERT INTO ${s}.sessions VALUES ${values.join(", ")}`,
          params,
        )
      );
      assert.deepEqual(
        await wh.query(
          `SELECT count(*) AS n, sum(duration) AS total, max(ends) AS last FROM ${s}.sessions`,
        ),
        [{
          n: rows,
          total: (rows * (rows - 1)) / 8,
          last: new Date(1_700_000_000_000 + rows - 1),
        }],
      );
    },
  );

  test(
    "two loaders racing over the same files load each file exactly once (ledger primary key)",
    async (wh, s, h) => {
      await wh.query(
        `CREATE TABLE ${s}.ledger (file text PRIMARY KEY, rows int NOT NULL)`,
      );
      await wh.query(`CREATE TABLE ${s}.sessions (id text, file text, n int)`);
      const files = Array.from({ length: 12 }, (_, i) => `f${i}.parquet`);
      const load = (caller: Warehouse, delay_ms: number) =>
        Promise.all(files.map(async (file, i) => {
          try {
            await caller.transaction(async (tx) => {
              await tx.query(`INSERT INTO ${s}.ledger VALUES ($1, 3)`, [file]);
              // Widen the window in which the other loader can collide.
              await sleep((delay_ms + i) % 4);
              await tx.query(
                `INSERT INTO ${s}.sessions VALUES ($1, $4, 1), ($2, $4, 2), ($3, $4, 3)`,
                [`${file}#1`, `${file}#2`, `${file}#3`, file],
              );
            });
            return "loaded";
          } catch (error) {
            if (
              error instanceof WarehouseConstraintError &&
              error.constraint === "ledger_pkey"
            ) return "skipped";
            throw error;
          }
        }));
      const [mine, theirs] = await Promise.all([load(wh, 0), load(h.peer, 2)]);
      for (let i = 0; i < files.length; i++) {
        assert.deepEqual(
          [mine[i], theirs[i]].sort(),
          ["loaded", "skipped"],
          `file ${files[i]}: exactly one loader must load it`,
        );
      }
      assert.deepEqual(
        await wh.query(
          `SELECT count(*) AS n, sum(n) AS total, count(DISTINCT id) AS ids FROM ${s}.sessions`,
        ),
        [{
          n: files.length * 3,
          total: files.length * 6,
          ids: files.length * 3,
        }],
      );
      assert.equal(await count(wh, `${s}.ledger`), files.length);
    },
  );

  test(
    "two loaders claiming files with ON CONFLICT DO NOTHING load each file exactly once",
    async (wh, s, h) => {
      await wh.query(`CREATE TABLE ${s}.ledger (file text PRIMARY KEY)`);
      await wh.query(`CREATE TABLE ${s}.sessions (id text, file text)`);
      const files = Array.from({ length: 12 }, (_, i) => `f${i}.parquet`);
      const load = (caller: Warehouse) =>
        Promise.all(files.map((file, i) =>
          caller.transaction(async (tx) => {
            const claimed = await tx.query(
              `INSERT INTO ${s}.ledger VALUES ($1) ON CONFLICT DO NOTHING RETURNING file`,
              [file],
            );
            if (claimed.length === 0) return "skipped";
            await sleep(i % 3);
            await tx.query(`INSERT INTO ${s}.sessions VALUES ($1, $2)`, [
              `${file}#1`,
              file,
            ]);
            return "loaded";
          })
        ));
      const [mine, theirs] = await Promise.all([load(wh), load(h.peer)]);
      for (let i = 0; i < files.length; i++) {
        assert.deepEqual([mine[i], theirs[i]].sort(), ["loaded", "skipped"]);
      }
      assert.equal(await count(wh, `${s}.sessions`), files.length);
    },
  );

  test(
    "concurrent increments of one progress row by two callers lose no update",
    async (wh, s, h) => {
      await wh.query(
        `CREATE TABLE ${s}.progress (job text PRIMARY KEY, loaded bigint NOT NULL)`,
      );
      await wh.query(`INSERT INTO ${s}.progress VALUES ('sessions', 0)`);
      const bump = (caller: Warehouse) =>
        Promise.all(
          Array.from({ length: 15 }, (_, i) =>
            caller.transaction(async (tx) => {
              await sleep(i % 2);
              await tx.query(
                `UPDATE ${s}.progress SET loaded = loaded + $1 WHERE job = 'sessions'`,
                [i + 1],
              );
            })),
        );
      await Promise.all([bump(wh), bump(h.peer)]);
      assert.deepEqual(await wh.query(`SELECT loaded FROM ${s}.progress`), [
        { loaded: 2 * (15 * 16) / 2 },
      ]);
    },
  );
}
