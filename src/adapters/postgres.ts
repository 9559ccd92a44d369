/**
 * {@linkcode Warehouse} on PostgreSQL (npm:postgres), the warehouse the
 * `sessions` job loads into.
 *
 * Statements are sent with the extended protocol and `$1`-style parameters,
 * never spliced into SQL. Bulk loads are multi-row INSERTs (a statement takes
 * at most 65,535 parameters), not COPY: COPY streams of this client in Deno
 * have broken several times (see PITFALLS.md).
 *
 * A transaction holds one pooled connection from BEGIN to COMMIT; other
 * callers use other connections, so transactions run concurrently and
 * PostgreSQL's locks decide (a second insert of the same primary key waits
 * for the first transaction, then fails with a `WarehouseConstraintError`).
 *
 * @module
 */

import { Socket } from "node:net";
import postgres from "postgres";
import type {
  Warehouse,
  WarehouseRow,
  WarehouseTransaction,
} from "../ports.ts";
import { redact } from "./config.ts";
import {
  PARSERS,
  rolledBackError,
  SERIALIZERS,
  SESSION_SETTINGS,
  toWarehouseError,
} from "./postgres_common.ts";

/** Options of {@linkcode PostgresWarehouse}. */
export interface PostgresWarehouseOptions {
  /**
   * `postgres://user:password@host:port/database` (`DATABASE_URL`). The
   * password never appears in errors.
   */
  url: string;
  /** Connections in the pool; one per concurrent transaction. Default: 4. */
  max_connections?: number;
  /** How long to wait for a connection to open before failing. Default: 10000. */
  connect_timeout_ms?: number;
  /** Idle connections close after this long. Default: 60000. */
  idle_timeout_ms?: number;
  /** Shown in `pg_stat_activity`. Default: `"freshet"`. */
  application_name?: string;
}

/**
 * Error codes of a connection that could not be opened or was lost: the
 * socket's (`ECONNREFUSED`, ...) and the client's (`CONNECTION_CLOSED`, ...).
 */
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
]);

/**
 * First bytes of a PostgreSQL server's first reply: Authentication (`R`),
 * ErrorResponse (`E`), NegotiateProtocolVersion (`v`), SSL yes or no (`S`, `N`).
 */
const FIRST_REPLIES = new Set([..."REvSN"].map((c) => c.charCodeAt(0)));

/** What the client passes to its `socket` option: its parsed settings. */
interface SocketSettings {
  host: string[];
  port: number[];
  /** A Unix socket's path, when the host is a directory. */
  path?: string | false;
}

/** A {@linkcode Warehouse} on a pool of connections to one database. */
export class PostgresWarehouse implements Warehouse {
  readonly #sql: postgres.Sql;
  /** `host:port/database`, for error messages (no user, no password). */
  readonly #address: string;
  /** Connections in a row that closed without a PostgreSQL reply. */
  #closedUnanswered = 0;

  constructor(options: PostgresWarehouseOptions) {
    const max = options.max_connections ?? 4;
    const connectTimeout = options.connect_timeout_ms ?? 10_000;
    const idleTimeout = options.idle_timeout_ms ?? 60_000;
    positive("max_connections", max, true);
    positive("connect_timeout_ms", connectTimeout, false);
    positive("idle_timeout_ms", idleTimeout, false);
    this.#address = addressOf(options.url);
    const types: Record<string, postgres.PostgresType> = {};
    const oids = new Set([
      ...Object.keys(PARSERS),
      ...Object.keys(SERIALIZERS),
    ]);
    for (const oid of [...oids].map(Number)) {
      const serialize = SERIALIZERS[oid];
      // Without `serialize` the client's own serializer stays for that type.
      types[`oid_${oid}`] = {
        to: oid,
        from: [oid],
        parse: PARSERS[oid] ?? ((text: string) => text),
        ...(serialize === undefined ? {} : { serialize }),
      } as unknown as postgres.PostgresType;
    }
    const settings: postgres.Options<Record<string, postgres.PostgresType>> & {
      socket: (settings: SocketSettings) => Promise<Socket>;
    } = {
      max,
      connect_timeout: connectTimeout / 1000,
      idle_timeout: idleTimeout / 1000,
      // Named prepared statements would pile up: bulk INSERTs differ in length.
      prepare: false,
      types,
      // The client prints notices ("relation already exists, skipping") by default.
      onnotice: () => {},
      // Documented in the client's README ("Custom socket"), missing from its types.
      socket: (settings) => this.#connect(settings, connectTimeout),
      connection: {
        application_name: options.application_name ?? "freshet",
        ...SESSION_SETTINGS,
      },
    };
    this.#sql = postgres(options.url, settings);
  }

  async query(
    sql: string,
    params: readonly unknown[] = [],
  ): Promise<WarehouseRow[]> {
    try {
      return await this.#run(this.#sql, sql, params);
    } catch (error) {
      throw this.#error(error);
    }
  }

  async transaction<T>(
    body: (tx: WarehouseTransaction) => Promise<T>,
  ): Promise<T> {
    let connection: postgres.ReservedSql;
    try {
      connection = await this.#sql.reserve();
    } catch (error) {
      throw this.#error(error);
    }
    let finished = false;
    let failure: unknown = undefined;
    try {
      await this.#run(connection, "BEGIN", []).catch((error) => {
        throw this.#error(error);
      });
      const tx: WarehouseTransaction = {
        query: async (sql, params = []) => {
          if (finished) {
            throw new Error(
              "Cannot run a statement as its transaction has finished: use 'tx' only inside the transaction's body",
            );
          }
          try {
            return await this.#run(connection, sql, params);
          } catch (error) {
            const mapped = this.#error(error);
            failure ??= mapped;
            throw mapped;
          }
        },
      };
      let result: T;
      try {
        result = await body(tx);
      } catch (error) {
        finished = true;
        // The original error matters more than a failed ROLLBACK (the
        // server rolls back anyway when the connection is gone).
        await this.#run(connection, "ROLLBACK", []).catch(() => {});
        throw error;
      }
      finished = true;
      let reply: postgres.RowList<postgres.Row[]>;
      try {
        reply = await connection.unsafe("COMMIT");
      } catch (error) {
        throw this.#error(error);
      }
      if (reply.command === "ROLLBACK") throw rolledBackError(failure);
      return result;
    } finally {
      finished = true;
      connection.release();
    }
  }

  /**
   * Opens one TCP connection for the client. The client's own connecting
   * retries forever, without a word, when the server accepts and closes the
   * connection without speaking PostgreSQL (a proxy or balancer without a
   * backend; every outside address on some sandboxes): so after three such
   * connections in a row the waiting statement fails.
   */
  async #connect(
    settings: SocketSettings,
    timeout_ms: number,
  ): Promise<Socket> {
    if (this.#closedUnanswered >= 3) {
      this.#closedUnanswered = 0;
      throw this.#error(Object.assign(
        new Error(
          "the server closed 3 connections in a row without a PostgreSQL reply",
        ),
        { code: "CONNECTION_CLOSED" },
      ));
    }
    const socket = new Socket();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(Object.assign(
          new Error(`no connection within ${timeout_ms} ms`),
          { code: "CONNECT_TIMEOUT" },
        ));
      }, timeout_ms);
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.removeAllListeners("error");
        resolve();
      });
      socket.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      if (settings.path) socket.connect(settings.path);
      else {socket.connect(
          settings.port[0] ?? 5432,
          settings.host[0] ?? "localhost",
        );}
    }).catch((error) => {
      throw this.#error(error);
    });
    // Read by the client for TLS's server name.
    Object.assign(socket, { host: settings.host[0] });
    let speaksPostgres = false;
    // A server answers the client's first message (startup or SSL request)
    // with one of these message types; anything else is not PostgreSQL.
    socket.once("data", (chunk: Uint8Array) => {
      speaksPostgres = chunk.length > 0 && FIRST_REPLIES.has(chunk[0]!);
    });
    socket.once("close", () => {
      this.#closedUnanswered = speaksPostgres ? 0 : this.#closedUnanswered + 1;
    });
    return socket;
  }

  /** Closes the pool, waiting up to 5 s for running statements. */
  async close(): Promise<void> {
    await this.#sql.end({ timeout: 5 });
  }

  async #run(
    sql: postgres.Sql,
    text: string,
    params: readonly unknown[],
  ): Promise<WarehouseRow[]> {
    const rows = await sql.unsafe(
      text,
      params as postgres.ParameterOrJSON<never>[],
    );
    // A RowList is an Array with extra fields (count, command, columns).
    return Array.from(rows) as WarehouseRow[];
  }

  /** A `WarehouseError`, a one-line connection error, or `error` unchanged. */
  #error(error: unknown): unknown {
    const mapped = toWarehouseError(error);
    if (mapped !== undefined) return mapped;
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code === "string" && CONNECTION_CODES.has(code)) {
      return new Error(
        `Cannot reach PostgreSQL at ${this.#address}: ${
          redact((error as Error).message)
        } (${code})`,
        { cause: error },
      );
    }
    return error;
  }
}

/** `host:port/database` of a connection URL; never its user or password. */
function addressOf(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(
      `Cannot connect to PostgreSQL as 'url' must be a postgres:// URL: current value is ${
        JSON.stringify(redact(url))
      }`,
    );
  }
  if (!["postgres:", "postgresql:"].includes(parsed.protocol)) {
    throw new TypeError(
      `Cannot connect to PostgreSQL as 'url' must be a postgres:// URL: current value is ${
        JSON.stringify(redact(url))
      }`,
    );
  }
  const host = parsed.hostname || "localhost";
  const port = parsed.port || "5432";
  const database = parsed.pathname.slice(1) ||
    decodeURIComponent(parsed.username);
  return `${host}:${port}/${decodeURIComponent(database)}`;
}

function positive(name: string, value: number, integer: boolean): void {
  if (
    !(value > 0 && Number.isFinite(value)) ||
    (integer && !Number.isInteger(value))
  ) {
    throw new RangeError(
      `Cannot connect to PostgreSQL as '${name}' must be a positive ${
        integer ? "integer" : "number"
      }: current value is ${value}`,
    );
  }
}
