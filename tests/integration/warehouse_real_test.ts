/**
 * The warehouse contract against the real PostgreSQL through
 * {@linkcode PostgresWarehouse}, then what only the adapter has: connection
 * errors. Each contract test works in a schema of its own, dropped after.
 *
 * Needs `bash scripts/services.sh up`; without PostgreSQL the contract tests
 * are skipped (outside CI) or fail (in CI), see `services.ts`.
 */

import assert from "node:assert/strict";
import { PostgresWarehouse } from "../../src/adapters/postgres.ts";
import { warehouseContract } from "../contract/warehouse_contract.ts";
import { DATABASE_URL, POSTGRES, requireServices } from "./services.ts";

const postgresMissing = await requireServices([POSTGRES]);

warehouseContract(
  "PostgresWarehouse",
  () => {
    const warehouse = new PostgresWarehouse({ url: DATABASE_URL });
    // Another pool: a second loader process, as far as PostgreSQL can tell.
    const peer = new PostgresWarehouse({ url: DATABASE_URL });
    return Promise.resolve({
      warehouse,
      peer,
      close: async () => {
        await peer.close();
        await warehouse.close();
      },
    });
  },
  { ignore: postgresMissing, sanitize: false },
);

/** A local port nothing listens on. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

Deno.test({
  name:
    "PostgresWarehouse: an unreachable server fails with one line naming PostgreSQL and its address, without the password",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const port = closedPort();
    const warehouse = new PostgresWarehouse({
      url: `postgres://loader:s3cret-pw@127.0.0.1:${port}/warehouse`,
      connect_timeout_ms: 2000,
    });
    try {
      for (
        const call of [
          () => warehouse.query("SELECT 1"),
          () => warehouse.transaction((tx) => tx.query("SELECT 1")),
        ]
      ) {
        await assert.rejects(call(), (error) => {
          assert.ok(error instanceof Error);
          assert.match(
            error.message,
            new RegExp(
              `^Cannot reach PostgreSQL at 127\\.0\\.0\\.1:${port}/warehouse: `,
            ),
          );
          assert.doesNotMatch(error.message, /s3cret-pw|loader/);
          assert.doesNotMatch(error.message, /\n/);
          return true;
        });
      }
    } finally {
      await warehouse.close();
    }
  },
});

/** `promise`, or a rejection after `ms`: a client retrying forever must fail the test, not hang it. */
async function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${ms} ms`)),
      ms,
    );
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** A local server that accepts connections and `serve`s each one. */
function fakeServer(serve: (conn: Deno.Conn) => Promise<void>) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const accepting = (async () => {
    for await (const conn of listener) {
      conns.add(conn);
      serve(conn).catch(() => {}).finally(() => conns.delete(conn));
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    close: async () => {
      listener.close();
      for (const conn of conns) {
        try {
          conn.close();
        } catch {
          // Closed by the server already.
        }
      }
      await accepting.catch(() => {});
    },
  };
}

Deno.test({
  name:
    "PostgresWarehouse: a server that accepts and closes without a PostgreSQL reply fails the statement instead of retrying forever",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    // What a proxy without a backend does: a few bytes of its own, then close.
    const server = fakeServer(async (conn) => {
      await conn.write(
        new TextEncoder().encode("HTTP/1.1 403 Forbidden\r\n\r\n"),
      );
      conn.close();
    });
    const warehouse = new PostgresWarehouse({
      url: `postgres://loader:s3cret-pw@127.0.0.1:${server.port}/warehouse`,
    });
    try {
      await assert.rejects(
        within(10_000, warehouse.query("SELECT 1")),
        new RegExp(
          `^Error: Cannot reach PostgreSQL at 127\\.0\\.0\\.1:${server.port}/warehouse: the server closed 3 connections in a row without a PostgreSQL reply`,
        ),
      );
      await assert.rejects(
        within(10_000, warehouse.transaction((tx) => tx.query("SELECT 1"))),
        /Cannot reach PostgreSQL/,
      );
    } finally {
      await warehouse.close();
      await server.close();
    }
  },
});

Deno.test({
  name:
    "PostgresWarehouse: a server that never answers fails the statement after connect_timeout_ms",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const server = fakeServer(() => new Promise(() => {}));
    const warehouse = new PostgresWarehouse({
      url: `postgres://127.0.0.1:${server.port}/warehouse`,
      connect_timeout_ms: 300,
    });
    const started = performance.now();
    try {
      await assert.rejects(
        within(10_000, warehouse.query("SELECT 1")),
        new RegExp(
          `^Error: Cannot reach PostgreSQL at 127\\.0\\.0\\.1:${server.port}/warehouse: .*\\(CONNECT_TIMEOUT\\)$`,
        ),
      );
      const waited_ms = performance.now() - started;
      assert.ok(waited_ms >= 250 && waited_ms < 5000, `waited ${waited_ms} ms`);
    } finally {
      await warehouse.close();
      await server.close();
    }
  },
});

Deno.test("PostgresWarehouse: a URL that is not postgres:// is refused without showing its password", () => {
  assert.throws(
    () => new PostgresWarehouse({ url: "mysql://u:s3cret-pw@db/x" }),
    (error) =>
      error instanceof TypeError && /postgres:\/\//.test(error.message) &&
      !error.message.includes("s3cret-pw"),
  );
  assert.throws(
    () => new PostgresWarehouse({ url: DATABASE_URL, max_connections: 0 }),
    /'max_connections' must be a positive integer: current value is 0/,
  );
});
