import assert from "node:assert/strict";
import fc from "fast-check";
import {
  assertDuration,
  formatBucket,
  formatIso,
  parseEventTime,
} from "../../src/core/time.ts";

const GOOD: Array<[unknown, number]> = [
  [0, 0],
  [1_700_000_000_000, 1_700_000_000_000],
  ["1970-01-01T00:00:00Z", 0],
  ["2026-03-14T15:09:26Z", Date.UTC(2026, 2, 14, 15, 9, 26)],
  ["2026-03-14T15:09:26.5Z", Date.UTC(2026, 2, 14, 15, 9, 26, 500)],
  ["2026-03-14T15:09:26.123Z", Date.UTC(2026, 2, 14, 15, 9, 26, 123)],
  // fractions beyond milliseconds are truncated, not rounded
  ["2026-03-14T15:09:26.123999999Z", Date.UTC(2026, 2, 14, 15, 9, 26, 123)],
  ["2026-03-14T17:09:26+02:00", Date.UTC(2026, 2, 14, 15, 9, 26)],
  ["2026-03-14T10:39:26-04:30", Date.UTC(2026, 2, 14, 15, 9, 26)],
  ["2026-03-14T15:09:26+00:00", Date.UTC(2026, 2, 14, 15, 9, 26)],
  ["2024-02-29T00:00:00Z", Date.UTC(2024, 1, 29)],
  ["2000-02-29T23:59:59.999Z", Date.UTC(2000, 1, 29, 23, 59, 59, 999)],
  ["1970-01-01T01:00:00+01:00", 0],
  ["9999-12-31T23:59:59Z", Date.UTC(9999, 11, 31, 23, 59, 59)],
  // no zone: UTC, as the producers these jobs model mean it
  ["2026-03-14T15:09:26", Date.UTC(2026, 2, 14, 15, 9, 26)],
  ["2024-01-15T10:30:00.250", Date.UTC(2024, 0, 15, 10, 30, 0, 250)],
];

const BAD: unknown[] = [
  undefined,
  null,
  true,
  {},
  [],
  -1,
  1.5,
  Number.NaN,
  Infinity,
  2 ** 53,
  "1700000000000", // numeric strings are not epoch ms: only JSON numbers are
  "",
  "yesterday",
  "2026",
  "2026-03-14",
  "2026-03-14T15:09Z", // seconds are required
  "2026-03-14 15:09:26Z",
  "2026-03-14t15:09:26z",
  "2026-3-14T15:09:26Z",
  "2026-03-14T15:09:26.Z",
  "2026-03-14T15:09:26.1234567890Z",
  "2026-03-14T15:09:26+0200",
  "2026-03-14T15:09:26+02",
  "2026-03-14T15:09:26+19:00", // beyond java.time's ±18:00
  "2026-03-14T15:09:26+02:60",
  "2026-13-01T00:00:00Z",
  "2026-00-01T00:00:00Z",
  "2026-02-29T00:00:00Z",
  "2100-02-29T00:00:00Z", // 2100 is not a leap year
  "2026-04-31T00:00:00Z",
  "2026-03-14T24:00:00Z",
  "2026-03-14T23:60:00Z",
  "2026-03-14T23:59:60Z",
  "1969-12-31T23:59:59Z", // before the epoch, like negative epoch ms
  "1970-01-01T00:00:00+00:01",
  " 2026-03-14T15:09:26Z",
  "2026-03-14T15:09:26Z ",
  "+2026-03-14T15:09:26Z",
];

Deno.test("parseEventTime with zoneless 'reject' refuses a time without a zone", () => {
  assert.equal(
    parseEventTime("2026-03-14T15:09:26", { zoneless: "reject" }),
    undefined,
  );
  assert.equal(
    parseEventTime("2026-03-14T15:09:26Z", { zoneless: "reject" }),
    Date.UTC(2026, 2, 14, 15, 9, 26),
  );
});

Deno.test("formatIso prints ISO-8601 UTC, with milliseconds only when there are some", () => {
  assert.equal(formatIso(0), "1970-01-01T00:00:00Z");
  assert.equal(formatIso(Date.UTC(2024, 9, 22, 18)), "2024-10-22T18:00:00Z");
  assert.equal(
    formatIso(Date.UTC(2024, 9, 22, 18, 0, 0, 250)),
    "2024-10-22T18:00:00.250Z",
  );
  assert.equal(
    formatIso(Date.UTC(2000, 1, 29, 23, 59, 59, 7)),
    "2000-02-29T23:59:59.007Z",
  );
  for (const ms of [1, 86_399_999, 951_782_399_999, 1_729_630_800_000]) {
    assert.equal(
      formatIso(ms),
      new Date(ms).toISOString().replace(".000Z", "Z"),
    );
  }
  assert.throws(() => formatIso(1.5), /whole number of epoch milliseconds/);
});

Deno.test("parseEventTime accepts epoch milliseconds and ISO-8601, zone-less as UTC", async (t) => {
  for (const [value, expected] of GOOD) {
    await t.step(JSON.stringify(value), () => {
      assert.equal(parseEventTime(value), expected);
    });
  }
});

Deno.test("parseEventTime rejects anything else", async (t) => {
  for (const value of BAD) {
    await t.step(String(JSON.stringify(value)), () => {
      assert.equal(parseEventTime(value), undefined);
    });
  }
});

Deno.test("parseEventTime reads back what Date.prototype.toISOString writes", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 253_402_300_799_999 }), (ms) => {
      assert.equal(parseEventTime(new Date(ms).toISOString()), ms);
    }),
  );
});

Deno.test("formatBucket writes UTC hour, day and minute buckets", () => {
  const ts = Date.UTC(2026, 2, 4, 5, 7, 59, 999);
  assert.equal(formatBucket(ts, "hour"), "2026030405");
  assert.equal(formatBucket(ts, "day"), "20260304");
  assert.equal(formatBucket(ts, "minute"), "202603040507");
  assert.equal(formatBucket(0, "minute"), "197001010000");
});

Deno.test("formatBucket agrees with Date for any instant", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: -62_135_596_800_000, max: 253_402_300_799_999 }),
      (ms) => {
        const iso = new Date(ms).toISOString();
        const digits = iso.slice(0, 16).replace(/[-T:]/g, "");
        assert.equal(formatBucket(ms, "minute"), digits);
        assert.equal(formatBucket(ms, "hour"), digits.slice(0, 10));
        assert.equal(formatBucket(ms, "day"), digits.slice(0, 8));
      },
    ),
    { numRuns: 500 },
  );
});

Deno.test("formatBucket rejects a time that is not finite", () => {
  assert.throws(
    () => formatBucket(Number.NaN, "day"),
    /'ts' must be a finite epoch time: current value is NaN/,
  );
});

Deno.test("assertDuration names the rule and the value", () => {
  assert.throws(
    () => assertDuration("start window", "size_ms", -5),
    /^RangeError: Cannot start window as 'size_ms' must be a positive duration in whole milliseconds: current value is -5$/,
  );
  assert.throws(() => assertDuration("x", "y", 0), /positive duration/);
  assert.throws(() => assertDuration("x", "y", 1.5), /current value is 1.5/);
  assertDuration("x", "y", 0, { allow_zero: true });
  assertDuration("x", "y", 7);
});
