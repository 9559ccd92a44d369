/**
 * Parsing of `transactions` messages, the e-commerce example's
 * `{"transaction_id","user_id","product","category","amount","quantity",
 * "payment_method","timestamp","location"}`. Amounts are kept in millionths
 * (integers), so that sums do not depend on the order they are added in.
 *
 * @module
 */

import {
  eventTime,
  finiteNumber,
  jsonObject,
  nonEmptyString,
} from "../../flow/json.ts";
import type { Parsed } from "../../flow/source.ts";

/** A valid transaction. */
export interface Transaction {
  /** Every field of the message, as given. */
  fields: Record<string, unknown>;
  transaction_id: string;
  user_id: string;
  category: string;
  /** The amount in millionths of the currency unit. */
  amount_micros: number;
  quantity: number;
}

/** Millionths of a unit in a unit. */
export const MICROS = 1_000_000;

/** An amount in millionths, from a number of units (rounded to the millionth). */
export function toMicros(amount: number): number {
  return Math.round(amount * MICROS);
}

/** Millionths as units rounded to cents (half away from zero on exact halves). */
export function cents(micros: number): number {
  const hundredths = Math.sign(micros) * Math.round(Math.abs(micros) / 10_000);
  return hundredths / 100;
}

/** Parses one message payload; never throws. */
export function parseTransaction(payload: string): Parsed<Transaction> {
  const object = jsonObject(payload);
  if (!object.ok) return { error: object.reason };
  const fields = object.value;
  const transaction_id = nonEmptyString(fields, "transaction_id");
  if (!transaction_id.ok) return { error: transaction_id.reason };
  const user_id = nonEmptyString(fields, "user_id");
  if (!user_id.ok) return { error: user_id.reason };
  const category = nonEmptyString(fields, "category");
  if (!category.ok) return { error: category.reason };
  const amount = finiteNumber(fields, "amount", { min: 0 });
  if (!amount.ok) return { error: amount.reason };
  const quantity = finiteNumber(fields, "quantity", { min: 1, integer: true });
  if (!quantity.ok) return { error: quantity.reason };
  const time = eventTime(fields, "timestamp");
  if (!time.ok) return { error: time.reason };
  return {
    value: {
      fields,
      transaction_id: transaction_id.value,
      user_id: user_id.value,
      category: category.value,
      amount_micros: toMicros(amount.value),
      quantity: quantity.value,
    },
    time: time.value,
    key: user_id.value,
  };
}
