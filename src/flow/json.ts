/**
 * Checks for parsing JSON events in a source's `parse`: each answers the
 * value or the reason it is not one, worded the same way in every job
 * (`'user_id' must be a non-empty string: current value is 42`), so dead
 * letters read alike.
 *
 * @module
 */

import { parseEventTime } from "../core/time.ts";
import type { Parsed } from "./source.ts";

/** A checked value, or why it is not one. */
export type Check<T> = { ok: true; value: T } | { ok: false; reason: string };

const MAX_SHOWN = 80;

/** A value as shown in a reason: JSON, cut at 80 characters. */
export function shown(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text;
}

function bad<T>(reason: string): Check<T> {
  return { ok: false, reason };
}

/** The payload as a JSON object. */
export function jsonObject(payload: string): Check<Record<string, unknown>> {
  let data: unknown;
  try {
    data = JSON.parse(payload);
  } catch {
    return bad(`payload is not valid JSON: ${shown(payload)}`);
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    return bad(
      `payload must be a JSON object: current value is ${shown(data)}`,
    );
  }
  return { ok: true, value: data as Record<string, unknown> };
}

/** `object[field]` as a string that is not empty (nor only spaces). */
export function nonEmptyString(
  object: Record<string, unknown>,
  field: string,
): Check<string> {
  const value = object[field];
  if (value === undefined || value === null) {
    return bad(`'${field}' is missing`);
  }
  if (typeof value !== "string" || value.trim() === "") {
    return bad(
      `'${field}' must be a non-empty string: current value is ${shown(value)}`,
    );
  }
  return { ok: true, value };
}

/** Options of {@linkcode finiteNumber}. */
export interface NumberRule {
  /** Smallest value allowed. Default: none. */
  min?: number;
  /** Whether the value must be a whole number. Default: false. */
  integer?: boolean;
  /** The value when the field is missing or null; without it, missing is an error. */
  default?: number;
}

/** `object[field]` as a finite JSON number following `rule`. */
export function finiteNumber(
  object: Record<string, unknown>,
  field: string,
  rule: NumberRule = {},
): Check<number> {
  const value = object[field];
  if (value === undefined || value === null) {
    return rule.default === undefined
      ? bad(`'${field}' is missing`)
      : { ok: true, value: rule.default };
  }
  const wanted = [
    rule.integer ? "an integer" : "a finite number",
    rule.min === undefined ? "" : ` >= ${rule.min}`,
  ].join("");
  if (
    typeof value !== "number" || !Number.isFinite(value) ||
    (rule.integer === true && !Number.isInteger(value)) ||
    (rule.min !== undefined && value < rule.min)
  ) {
    return bad(
      `'${field}' must be ${wanted}: current value is ${shown(value)}`,
    );
  }
  return { ok: true, value };
}

/** `object[field]` as an event time: ISO-8601 (zone-less is UTC) or epoch ms. */
export function eventTime(
  object: Record<string, unknown>,
  field: string,
): Check<number> {
  const value = object[field];
  if (value === undefined || value === null) {
    return bad(`'${field}' is missing`);
  }
  const time = parseEventTime(value);
  if (time === undefined) {
    return bad(
      `'${field}' must be ISO-8601 or epoch milliseconds: current value is ${
        shown(value)
      }`,
    );
  }
  return { ok: true, value: time };
}

/** Options of {@linkcode jsonEvents}. */
export interface JsonEventsOptions {
  /** Field holding the event time (ISO-8601 or epoch ms). */
  time: string;
  /** Field holding the element's key, a non-empty string. Default: the record's key. */
  key?: string;
  /** Other fields that must be non-empty strings. Default: none. */
  strings?: readonly string[];
}

/**
 * A source `parse` for JSON-object events: checks the key, time and string
 * fields, and answers the object itself as the element.
 */
export function jsonEvents(
  options: JsonEventsOptions,
): (payload: string) => Parsed<Record<string, unknown>> {
  const strings = [
    ...(options.key === undefined ? [] : [options.key]),
    ...(options.strings ?? []),
  ];
  return (payload) => {
    const object = jsonObject(payload);
    if (!object.ok) return { error: object.reason };
    for (const field of strings) {
      const checked = nonEmptyString(object.value, field);
      if (!checked.ok) return { error: checked.reason };
    }
    const time = eventTime(object.value, options.time);
    if (!time.ok) return { error: time.reason };
    return {
      value: object.value,
      time: time.value,
      ...(options.key === undefined
        ? {}
        : { key: object.value[options.key] as string }),
    };
  };
}
