/**
 * The warehouse contract against the PGlite twin, then what only the twin
 * has: injected failures, serialized transactions and `dump`.
 */

import assert from "node:assert/strict";
import {
  jsonLine,
  TransientError,
  WarehouseTwin,
} from "../../sim/warehouse.ts";
import type { FailRule } from "../../sim/errors.ts";
import { warehouseContract } from "./warehouse_contract.ts";

// One twin for the whole suite: each contract test works in a schema of its
// own, and starting PGlite per test would cost seconds each. PostgreSQL's
// own timers (PGlite runs them on setTimeout) outlive a test, hence no
// sanitizers.
let shared: Promise<WarehouseTwin> | undefined;
warehouseContract(
  "WarehouseTwin",
  async () => {
    shared ??= WarehouseTwin.open();
    const warehouse = await shared;
    return { warehouse, peer: warehouse, close: () => Promise.resolve() };
  },
  { sanitize: false },
);

async function withTwin(
  fn: (twin: WarehouseTwin) => Promise<void>,
  fail?: FailRule,
): Promise<void> {
  const twin = await WarehouseTwin.open(fail === undefined ? {} : { fail });
  try {
    await twin.query("CREATE TABLE ledger (file text PRIMARY KEY)");
    await fn(twin);
  } finally {
    await twin.close();
  }
}

const files = async (twin: WarehouseTwin) =>
  (await twin.query("SELECT file FROM ledger ORDER BY file")).map((row) =>
    row.file
  );

const insertIn = (twin: WarehouseTwin, file: string) =>
  twin.transaction((tx) => tx.query("INSERT INTO ledger VALUES ($1)", [file]));

Deno.test("WarehouseTwin: a query failing 'before' applies nothing", async () => {
  await withTwin(async (twin) => {
    twin.failNext(1, "before");
    await assert.rejects(
      twin.query("INSERT INTO ledger VALUES ('a')"),
      (error) =>
        error instanceof TransientError &&
        /nothing was applied/.test(error.message),
    );
    assert.deepEqual(await files(twin), []);
  });
});

Deno.test("WarehouseTwin: a query failing 'after' is applied and its reply lost", async () => {
  await withTwin(async (twin) => {
    twin.failNext(1, "after");
    await assert.rejects(
      twin.query("INSERT INTO ledger VALUES ('a') RETURNING file"),
      (error) =>
        error instanceof TransientError && /was applied/.test(error.message),
    );
    assert.deepEqual(await files(twin), ["a"]);
  });
});

Deno.test(
  "WarehouseTwin: a commit failing 'before' rolls back and one failing 'after' has committed",
  async () => {
    await withTwin(
      async (twin) => {
        await assert.rejects(insertIn(twin, "lost"), TransientError);
        assert.deepEqual(await files(twin), []);
        await assert.rejects(insertIn(twin, "kept"), TransientError);
        assert.deepEqual(await files(twin), ["kept"]);
        // A retry after the lost reply finds the ledger row: the loader's cue to skip.
        await assert.rejects(
          insertIn(twin, "kept"),
          (error) =>
            error instanceof Error && error.name === "WarehouseConstraintError",
        );
      },
      (() => {
        const verdicts: Array<"before" | "after"> = ["before", "after"];
        return (call) =>
          call === "transaction.commit" ? verdicts.shift() : false;
      })(),
    );
  },
);

Deno.test(
  "WarehouseTwin: a statement failing in a transaction dooms it even when the body swallows the error",
  async () => {
    for (const mode of ["before", "after"] as const) {
      await withTwin(
        async (twin) => {
          await assert.rejects(
            twin.transaction(async (tx) => {
              await tx.query("INSERT INTO ledger VALUES ('a')");
              await tx.query("INSERT INTO ledger VALUES ('b')").catch(() => {});
            }),
            TransientError,
          );
          assert.deepEqual(await files(twin), [], `mode ${mode}`);
        },
        (() => {
          let calls = 0;
          return (call) =>
            call === "transaction.query" && ++calls === 2 ? mode : false;
        })(),
      );
    }
  },
);

Deno.test(
  "WarehouseTwin: the fail rule hears every fallible call by name",
  async () => {
    const heard: string[] = [];
    await withTwin(async (twin) => {
      await twin.query("SELECT 1");
      await insertIn(twin, "a");
      await twin.dump("ledger");
    }, (call) => {
      heard.push(call);
      return false;
    });
    // CREATE TABLE in withTwin is the first "query".
    assert.deepEqual(heard, [
      "query",
      "query",
      "transaction.query",
      "transaction.commit",
    ]);
  },
);

Deno.test(
  "WarehouseTwin: concurrent transactions run one after another, never interleaved",
  async () => {
    await withTwin(async (twin) => {
      await twin.query(
        "CREATE TABLE trace (seq serial PRIMARY KEY, caller text)",
      );
      const caller = (name: string) =>
        twin.transaction(async (tx) => {
          for (let i = 0; i < 3; i++) {
            await tx.query("INSERT INTO trace (caller) VALUES ($1)", [name]);
            await new Promise((resolve) => setTimeout(resolve, 1));
          }
        });
      await Promise.all([
        caller("a"),
        caller("b"),
        twin.query("INSERT INTO trace (caller) VALUES ('q')"),
      ]);
      const order = (await twin.query("SELECT caller FROM trace ORDER BY seq"))
        .map((row) => row.caller).join("");
      assert.equal(order, "aaabbbq");
    });
  },
);

Deno.test(
  "WarehouseTwin: dump answers every row by the primary key, ties broken by the whole row",
  async () => {
    await withTwin(async (twin) => {
      await twin.query(
        "CREATE TABLE sessions (day date, id text, ms bigint, at timestamptz, raw bytea, PRIMARY KEY (day, id))",
      );
      await twin.query(
        `INSERT INTO sessions VALUES
          ('2024-01-02', 'b', 9007199254740993, '2024-01-02T00:00:01Z', '\\x00ff'),
          ('2024-01-01', 'z', 1, NULL, NULL),
          ('2024-01-02', 'a', 2, '2024-01-02T00:00:00Z', NULL)`,
      );
      const rows = await twin.dump("sessions");
      assert.deepEqual(rows.map((row) => `${row.day}/${row.id}`), [
        "2024-01-01/z",
        "2024-01-02/a",
        "2024-01-02/b",
      ]);
      assert.equal(
        jsonLine(rows[2]!),
        '{"day":"2024-01-02","id":"b","ms":"9007199254740993","at":"2024-01-02T00:00:01.000Z","raw":"\\\\x00ff"}',
      );
      assert.deepEqual(
        (await twin.dump("sessions", { order_by: ["ms"] })).map((row) =>
          row.id
        ),
        ["z", "a", "b"],
      );
      await twin.query("CREATE TABLE keyless (n int)");
      await twin.query("INSERT INTO keyless VALUES (3), (1), (2), (1)");
      assert.deepEqual((await twin.dump("keyless")).map((row) => row.n), [
        1,
        1,
        2,
        3,
      ]);
      assert.deepEqual(await twin.tables(), ["keyless", "ledger", "sessions"]);
      assert.throws(() => twin.dump("sessions; DROP TABLE ledger"), TypeError);
    });
  },
);

Deno.test("WarehouseTwin: a closed twin rejects calls", async () => {
  const twin = await WarehouseTwin.open();
  await twin.close();
  await assert.rejects(twin.query("SELECT 1"), /closed/);
});
