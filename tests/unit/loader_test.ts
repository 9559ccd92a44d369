import assert from "node:assert/strict";
import { Loader } from "../../src/load/loader.ts";
import { secondsText, sessionsTarget } from "../../src/load/sessions_target.ts";
import { sessionFormat, type SessionRow } from "../../src/jobs/sessions/row.ts";
import type { Clock, Warehouse } from "../../src/ports.ts";
import { ObjectsTwin } from "../../sim/objects.ts";
import { jsonLine, WarehouseTwin } from "../../sim/warehouse.ts";

const T0 = Date.UTC(2026, 2, 14, 18, 0, 0);
const clock: Clock = {
  now: () => T0 + 3_600_000,
  sleep: () => Promise.resolve(),
};

function session(i: number, extra: Partial<SessionRow> = {}): SessionRow {
  return {
    user_id: `u-${i % 7}`,
    program_id: `prog-${i % 11}`,
    session_id: `s-${String(i).padStart(5, "0")}`,
    device: "tv",
    start_ms: T0 + i * 1_000,
    end_ms: T0 + i * 1_000 + 165_904,
    events: 40 + i,
    ...extra,
  };
}

/** Three files: 3, 2 and 4 sessions (the last shares a session id with the first, later). */
async function published(): Promise<ObjectsTwin> {
  const objects = new ObjectsTwin();
  const format = sessionFormat();
  await objects.put(
    "sessions/date=2026-03-14/part-0-0000000000-0000000002.parquet",
    format.encode([session(1), session(2), session(3)]),
  );
  await objects.put(
    "sessions/date=2026-03-14/part-1-0000000000-0000000001.parquet",
    format.encode([session(4), session(5)]),
  );
  await objects.put(
    "sessions/date=2026-03-15/part-0-0000000003-0000000006.parquet",
    format.encode([
      session(6),
      session(7),
      session(8),
      session(1, { start_ms: T0 + 900_000, end_ms: T0 + 900_001, events: 1 }),
    ]),
  );
  // Not files of the target: staging, other suffixes.
  await objects.put("freshet-staging/sessions/x.parquet", new Uint8Array([1]));
  await objects.put("sessions/_SUCCESS", new Uint8Array());
  return objects;
}

async function table(w: WarehouseTwin): Promise<string[]> {
  return (await w.dump("sessions")).map(jsonLine);
}

async function ledger(w: WarehouseTwin): Promise<string[]> {
  return (await w.query(
    "SELECT file, rows FROM freshet_load_ledger ORDER BY file",
  )).map((r) => `${r.file} ${r.rows}`);
}

Deno.test("Loader loads each published file once, in one transaction with its ledger row, and a second pass loads nothing", async () => {
  const objects = await published();
  const w = await WarehouseTwin.open();
  const loader = new Loader({
    target: sessionsTarget(),
    objects,
    warehouse: w,
    clock,
  });
  const first = await loader.pass();
  assert.equal(first.published, 3);
  assert.equal(first.loaded.length, 3);
  assert.equal(first.rows, 9);
  const second = await loader.pass();
  assert.deepEqual([second.loaded, second.rows], [[], 0]);
  const rows = await table(w);
  assert.equal(rows.length, 9);
  assert.deepEqual(JSON.parse(rows[0]!), {
    user_id: "u-1",
    program_id: "prog-1",
    session_id: "s-00001",
    device: "tv",
    start_time: "2026-03-14T18:00:01.000Z",
    end_time: "2026-03-14T18:02:46.904Z",
    stream_duration: "165.904",
    events: 41,
  });
  // Two sessions of one id are two rows.
  assert.equal(rows.filter((r) => r.includes('"s-00001"')).length, 2);
  assert.equal((await ledger(w)).length, 3);
  await w.close();
});

Deno.test("Loader loads every file exactly once whatever statement fails, before or after it applies", async () => {
  const objects = await published();
  const clean = await WarehouseTwin.open();
  await new Loader({
    target: sessionsTarget(),
    objects,
    warehouse: clean,
    clock,
  }).pass();
  const expected = await table(clean);
  const expected_ledger = await ledger(clean);
  await clean.close();
  const w = await WarehouseTwin.open();
  const reset = () =>
    w.query("DROP TABLE IF EXISTS sessions, freshet_load_ledger");
  const loader = (warehouse: Warehouse) =>
    new Loader({
      target: sessionsTarget(),
      objects,
      warehouse,
      clock,
      max_rows_per_statement: 2,
    });
  for (const mode of ["before", "after"] as const) {
    // Failing call k of a pass: a table's creation, the ledger read, a
    // ledger row, a statement of rows (2 rows per statement: files span
    // several), a commit. Then a new loader (a restart) runs a pass.
    let k = 0;
    for (;; k++) {
      await reset();
      let failed = false;
      try {
        await loader(failOnce(w, k, mode)).pass();
      } catch {
        failed = true;
      }
      await loader(w).pass();
      assert.deepEqual(await table(w), expected, `${mode} call ${k}`);
      assert.deepEqual(await ledger(w), expected_ledger, `${mode} call ${k}`);
      if (!failed) break;
    }
    // 2 tables, the ledger read, 3 files of 4, 3 and 4 calls.
    assert.equal(k, 14, mode);
  }
  await w.close();
});

/** `w`, with its `k`-th call (query, transaction statement or commit) failing once. */
function failOnce(
  w: Warehouse,
  k: number,
  mode: "before" | "after",
): Warehouse {
  let n = 0;
  const strike = () => n++ === k;
  const fail = () => {
    throw new Error(`injected ${mode} failure of call ${k}`);
  };
  return {
    async query(sql, params) {
      const now = strike();
      if (now && mode === "before") fail();
      const rows = await w.query(sql, params);
      if (now) fail();
      return rows;
    },
    async transaction(body) {
      let doomed = false;
      const result = await w.transaction(async (tx) => {
        const value = await body({
          async query(sql, params) {
            const now = strike();
            if (now && mode === "before") fail();
            const rows = await tx.query(sql, params);
            // A lost reply inside a transaction: the caller sees an error
            // and gives up on the transaction.
            if (now) fail();
            return rows;
          },
        });
        if (strike()) {
          if (mode === "before") fail();
          doomed = true;
        }
        return value;
      });
      // The commit applied, and its reply was lost.
      if (doomed) fail();
      return result;
    },
    close: () => w.close(),
  };
}

Deno.test("Loader: of two loaders racing on one file, one loads it and the other skips it on the ledger's key", async () => {
  const objects = await published();
  const w = await WarehouseTwin.open();
  const a = new Loader({
    target: sessionsTarget(),
    objects,
    warehouse: w,
    clock,
  });
  const b = new Loader({
    target: sessionsTarget(),
    objects,
    warehouse: w,
    clock,
  });
  await a.ensureTables();
  await b.ensureTables();
  const file = "sessions/date=2026-03-14/part-1-0000000000-0000000001.parquet";
  const [ra, rb] = await Promise.all([a.loadFile(file), b.loadFile(file)]);
  assert.deepEqual([ra, rb].sort(), [2, null]);
  assert.equal((await table(w)).length, 2);
  await w.close();
});

Deno.test("Loader writes multi-row INSERTs within 65,535 parameters per statement", async () => {
  const objects = new ObjectsTwin();
  const many = Array.from({ length: 9_000 }, (_, i) => session(i));
  await objects.put(
    "sessions/date=2026-03-14/part-0-0000000000-0000008999.parquet",
    sessionFormat().encode(many),
  );
  const w = await WarehouseTwin.open();
  const statements: number[] = [];
  const counting: Warehouse = {
    query: (sql, params) => w.query(sql, params),
    transaction: (body) =>
      w.transaction((tx) =>
        body({
          query(sql, params) {
            if (sql.startsWith("INSERT INTO sessions")) {
              statements.push(params?.length ?? 0);
            }
            return tx.query(sql, params);
          },
        })
      ),
    close: () => w.close(),
  };
  const loader = new Loader({
    target: sessionsTarget(),
    objects,
    warehouse: counting,
    clock,
  });
  assert.equal(loader.rows_per_statement, 8_191);
  await loader.pass();
  assert.deepEqual(statements, [8_191 * 8, (9_000 - 8_191) * 8]);
  assert.ok(statements.every((n) => n <= 65_535));
  assert.equal(
    (await w.query("SELECT count(*)::int AS n FROM sessions"))[0]!.n,
    9_000,
  );
  await w.close();
});

Deno.test("Loader creates its tables idempotently, and upserting a row again changes nothing", async () => {
  const objects = await published();
  const w = await WarehouseTwin.open();
  const loader = new Loader({
    target: sessionsTarget(),
    objects,
    warehouse: w,
    clock,
  });
  await loader.ensureTables();
  await loader.ensureTables();
  await loader.pass();
  const before = await table(w);
  // The ledger lost (as if restored from an old backup): the upsert guards.
  await w.query("DELETE FROM freshet_load_ledger");
  await loader.pass();
  assert.deepEqual(await table(w), before);
  assert.deepEqual(await w.tables(), ["freshet_load_ledger", "sessions"]);
  await w.close();
});

Deno.test("secondsText writes milliseconds as exact seconds with three decimals", () => {
  assert.equal(secondsText(165_904), "165.904");
  assert.equal(secondsText(0), "0.000");
  assert.equal(secondsText(60_001), "60.001");
  assert.equal(secondsText(5_895_889), "5895.889");
});
