import assert from "node:assert/strict";
import { parseFixture } from "../../src/core/fixture.ts";

const RECORDED =
  '{"topic":"video-views","partition":1,"offset":0,"key":"vid-17574","value":"{\\"userId\\":\\"u-10548\\",\\"videoId\\":\\"vid-17574\\",\\"timestamp\\":\\"2026-03-14T05:59:57.307Z\\"}","timestamp":1773468000141}';
const RAW =
  '{"userId":"u-15408","videoId":"vid-15275","timestamp":"2026-03-14T05:59:59.788Z"}';

Deno.test("parseFixture reads a recorded record line as partition, key, value and append time", () => {
  assert.deepEqual(parseFixture(RECORDED), [
    {
      line: 1,
      partition: 1,
      key: "vid-17574",
      value:
        '{"userId":"u-10548","videoId":"vid-17574","timestamp":"2026-03-14T05:59:57.307Z"}',
      timestamp: 1773468000141,
    },
  ]);
});

Deno.test("parseFixture takes any other line verbatim as a raw payload", () => {
  assert.deepEqual(parseFixture(RAW), [{ line: 1, value: RAW }]);
  for (
    const raw of [
      "<html><body>502 Bad Gateway</body></html>",
      "userId=u-1 videoId=vid-1 timestamp=yesterday",
      '{"userId":"u-1","timest',
      "[1,2,3]",
      '"just a string"',
    ]
  ) {
    assert.deepEqual(parseFixture(raw), [{ line: 1, value: raw }], raw);
  }
});

Deno.test("parseFixture takes a line that looks recorded but lacks a field, or has a wrong one, as raw", () => {
  const cases = [
    // no offset
    '{"topic":"t","partition":0,"key":"k","value":"v","timestamp":1}',
    // offset is text
    '{"topic":"t","partition":0,"offset":"0","key":"k","value":"v","timestamp":1}',
    // negative partition
    '{"topic":"t","partition":-1,"offset":0,"key":"k","value":"v","timestamp":1}',
    // value is not a string
    '{"topic":"t","partition":0,"offset":0,"key":"k","value":{"a":1},"timestamp":1}',
    // timestamp is not an integer
    '{"topic":"t","partition":0,"offset":0,"key":"k","value":"v","timestamp":1.5}',
    // key is a number
    '{"topic":"t","partition":0,"offset":0,"key":7,"value":"v","timestamp":1}',
    // mentions "offset" but is not JSON
    '{"topic" "offset"',
  ];
  for (const raw of cases) {
    assert.deepEqual(parseFixture(raw), [{ line: 1, value: raw }], raw);
  }
});

Deno.test("parseFixture accepts a recorded record with a null key and fields in any order", () => {
  const line =
    '{"value":"p","timestamp":5,"key":null,"offset":3,"partition":2,"topic":"t"}';
  assert.deepEqual(parseFixture(line), [
    { line: 1, partition: 2, key: null, value: "p", timestamp: 5 },
  ]);
});

Deno.test("parseFixture mixes both formats in one file, in order", () => {
  const messages = parseFixture(`${RECORDED}\n${RAW}\n${RECORDED}`);
  assert.deepEqual(messages.map((m) => [m.line, m.partition]), [
    [1, 1],
    [2, undefined],
    [3, 1],
  ]);
});

Deno.test("parseFixture skips blank lines but keeps counting them", () => {
  const messages = parseFixture(`\n${RAW}\n\n   \n\t\n${RECORDED}\n`);
  assert.deepEqual(messages.map((m) => m.line), [2, 6]);
});

Deno.test("parseFixture strips CRLF line endings", () => {
  const messages = parseFixture(`${RAW}\r\n${RECORDED}\r\n\r\n`);
  assert.equal(messages.length, 2);
  assert.equal(messages[0]!.value, RAW);
  assert.equal(messages[1]!.partition, 1);
  assert.ok(!messages[1]!.value.endsWith("\r"));
});

Deno.test("parseFixture answers nothing for an empty or blank text, and needs no final newline", () => {
  assert.deepEqual(parseFixture(""), []);
  assert.deepEqual(parseFixture("\n\n\r\n"), []);
  assert.equal(parseFixture(RAW).length, 1);
  assert.equal(parseFixture(`${RAW}\n`).length, 1);
});

Deno.test("parseFixture keeps a raw payload's own spacing", () => {
  const padded = `   ${RAW}\t `;
  assert.deepEqual(parseFixture(padded), [{ line: 1, value: padded }]);
});

Deno.test("parseFixture reads the committed fixtures: every views.jsonl line recorded, every sample-raw.jsonl line raw", async () => {
  const raw = parseFixture(
    await Deno.readTextFile(
      new URL("../../fixtures/views/sample-raw.jsonl", import.meta.url),
    ),
  );
  assert.equal(raw.length, 2_000);
  assert.ok(raw.every((m) => m.partition === undefined && m.key === undefined));

  const text = await Deno.readTextFile(
    new URL("../../fixtures/views/views.jsonl", import.meta.url),
  );
  const recorded = parseFixture(text);
  assert.equal(recorded.length, 201_000);
  const perPartition = [0, 0, 0, 0];
  for (const m of recorded) {
    assert.ok(m.partition !== undefined, `line ${m.line} is recorded`);
    perPartition[m.partition]!++;
  }
  // As documented in fixtures/views/README.md.
  assert.deepEqual(perPartition, [42_710, 50_010, 60_553, 47_727]);
});
