/**
 * What the PostgreSQL adapter and the simulator's PGlite twin share, so that
 * both answer the same values and throw the same errors: the text parsers per
 * type OID (the mapping documented at `WarehouseRow` in `src/ports.ts`) and
 * the translation of a server error into a `WarehouseError`.
 *
 * Both clients (postgres and PGlite) receive values in PostgreSQL's text form;
 * their own defaults differ (postgres answers bigint as a string and bytea as
 * a Node Buffer; both read a zone-less timestamp in the process's local zone),
 * hence one table for both.
 *
 * @module
 */

import { WarehouseConstraintError, WarehouseError } from "../ports.ts";

/** Parses one value from PostgreSQL's text form. */
export type TextParser = (text: string) => unknown;

/** Type OIDs, from PostgreSQL's `pg_type`. */
export const OID = {
  bool: 16,
  bytea: 17,
  int8: 20,
  int2: 21,
  int4: 23,
  oid: 26,
  json: 114,
  float4: 700,
  float8: 701,
  date: 1082,
  timestamp: 1114,
  timestamptz: 1184,
  numeric: 1700,
  jsonb: 3802,
} as const;

const toNumber: TextParser = (text) => Number(text);

function parseInt8(text: string): number | bigint {
  const value = BigInt(text);
  return value >= BigInt(Number.MIN_SAFE_INTEGER) &&
      value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : value;
}

/** PostgreSQL's ISO output: `2024-01-02 10:00:00.123456+05:30`, offset optional, ` BC` for years before 1. */
const TIMESTAMP =
  /^(\d{4,})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:([+-])(\d\d)(?::(\d\d))?(?::(\d\d))?)?( BC)?$/;

/**
 * A timestamp in PostgreSQL's text form (DateStyle ISO) → a Date, truncated
 * to milliseconds; `infinity` → ±Infinity. Parsed by hand: `Date`'s parser
 * rejects PostgreSQL's `+00` offsets and reads a zone-less time in the
 * process's local zone, while a zone-less timestamp here is UTC.
 */
export function parseTimestamp(text: string): Date | number {
  if (text === "infinity") return Infinity;
  if (text === "-infinity") return -Infinity;
  const match = TIMESTAMP.exec(text);
  if (match === null) {
    throw new RangeError(
      `Cannot read a timestamp as it must be in PostgreSQL's ISO form (DateStyle ISO): current value is ${
        JSON.stringify(text)
      }`,
    );
  }
  const [, year, month, day, hour, minute, second, fraction] = match;
  const [sign, offsetH, offsetM, offsetS, bc] = match.slice(8);
  const date = new Date(0);
  const y = Number(year);
  date.setUTCFullYear(
    bc === undefined ? y : 1 - y,
    Number(month) - 1,
    Number(day),
  );
  date.setUTCHours(
    Number(hour),
    Number(minute),
    Number(second),
    Number((fraction ?? "").padEnd(3, "0").slice(0, 3)),
  );
  const offsetMs = (Number(offsetH ?? 0) * 3600 + Number(offsetM ?? 0) * 60 +
    Number(offsetS ?? 0)) *
    1000;
  return new Date(date.getTime() - (sign === "-" ? -offsetMs : offsetMs));
}

function parseBytea(text: string): Uint8Array {
  // Hex output (bytea_output = hex, the default since PostgreSQL 9.0): \x0a1b...
  const hex = text.slice(2);
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) {
    bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  }
  return bytes;
}

/**
 * Parsers by type OID; a type missing here is answered as its text form
 * (numeric, date, text, varchar, uuid, ...).
 */
export const PARSERS: Readonly<Record<number, TextParser>> = {
  [OID.bool]: (text) => text === "t",
  [OID.bytea]: parseBytea,
  [OID.int8]: parseInt8,
  [OID.int2]: toNumber,
  [OID.int4]: toNumber,
  [OID.oid]: toNumber,
  [OID.json]: (text) => JSON.parse(text),
  [OID.jsonb]: (text) => JSON.parse(text),
  [OID.float4]: toNumber,
  [OID.float8]: toNumber,
  [OID.date]: (text) => text,
  [OID.timestamp]: parseTimestamp,
  [OID.timestamptz]: parseTimestamp,
  [OID.numeric]: (text) => text,
};

/** Writes one parameter in PostgreSQL's text form. */
export type TextSerializer = (value: unknown) => string;

function serializeJson(value: unknown): string {
  // A string is JSON text already; anything else is encoded (bigints as numbers' digits).
  if (typeof value === "string") return value;
  return JSON.stringify(
    value,
    (_key, item) => typeof item === "bigint" ? item.toString() : item,
  );
}

function serializeTime(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === Infinity) return "infinity";
  if (value === -Infinity) return "-infinity";
  if (typeof value === "number" || value instanceof Date) {
    const date = new Date(value);
    if (!Number.isNaN(date.getTime())) return date.toISOString();
  }
  throw new TypeError(
    `Cannot bind a timestamp as it must be a Date, epoch milliseconds or a string: current value is ${
      String(value)
    }`,
  );
}

/**
 * Serializers by type OID of the parameter PostgreSQL expects, where the two
 * clients' own would differ (postgres JSON-encodes a string bound to jsonb a
 * second time and binds any non-`true` value to a boolean as false).
 */
export const SERIALIZERS: Readonly<Record<number, TextSerializer>> = {
  [OID.bool]: (value) =>
    typeof value === "boolean" ? (value ? "t" : "f") : String(value),
  [OID.json]: serializeJson,
  [OID.jsonb]: serializeJson,
  [OID.date]: serializeTime,
  [OID.timestamp]: serializeTime,
  [OID.timestamptz]: serializeTime,
};

/** Session settings both implementations run with (the parsers rely on them). */
export const SESSION_SETTINGS = {
  TimeZone: "UTC",
  DateStyle: "ISO, MDY",
} as const;

/** A SQLSTATE: five digits or upper-case letters. */
const SQLSTATE = /^[0-9A-Z]{5}$/;

/**
 * The `WarehouseError` for an error PostgreSQL reported (it carries a
 * SQLSTATE `code`), or `undefined` for anything else (a broken connection, a
 * client-side error). Reads the fields of both clients: postgres names them
 * `constraint_name` and `table_name`, PGlite `constraint` and `table`.
 */
export function toWarehouseError(error: unknown): WarehouseError | undefined {
  if (error instanceof WarehouseError) return error;
  if (typeof error !== "object" || error === null) return undefined;
  const fields = error as Record<string, unknown>;
  const code = fields.code;
  if (typeof code !== "string" || !SQLSTATE.test(code)) return undefined;
  const message = typeof fields.message === "string"
    ? fields.message
    : `PostgreSQL error ${code}`;
  if (code.startsWith("23")) {
    return new WarehouseConstraintError(message, {
      code,
      constraint: text(fields.constraint_name ?? fields.constraint),
      table: text(fields.table_name ?? fields.table),
    }, { cause: error });
  }
  return new WarehouseError(message, code, { cause: error });
}

function text(value: unknown): string | null {
  return typeof value === "string" && value !== "" ? value : null;
}

/**
 * The error for a COMMIT that PostgreSQL answered with ROLLBACK (the
 * transaction had failed): `failure`, the first statement error seen inside
 * it, when there was one.
 */
export function rolledBackError(failure: unknown): Error {
  if (failure instanceof Error) return failure;
  return new WarehouseError(
    "Cannot commit the transaction as PostgreSQL rolled it back: a statement inside it failed",
    "25P02",
  );
}
