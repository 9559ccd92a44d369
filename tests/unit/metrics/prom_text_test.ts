/** The test parser of the exposition format accepts valid text and catches planted errors. */

import assert from "node:assert/strict";
import { ExpositionError, parseExposition, valueOf } from "./prom_text.ts";

const VALID =
  `# HELP http_requests_total Requests \\\\ with "quotes"\\nand a new line.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400",} 3

# A plain comment.
# TYPE temperature gauge
temperature{room="a\\"b\\\\c\\nd"} -1.5e-3
temperature{room="x"} NaN
temperature{room="y"} +Inf
# HELP latency_seconds Latency.
# TYPE latency_seconds histogram
latency_seconds_bucket{le="0.05",job="a"} 24054
latency_seconds_bucket{le="0.1",job="a"} 33444
latency_seconds_bucket{le="+Inf",job="a"} 144320
latency_seconds_sum{job="a"} 53423
latency_seconds_count{job="a"} 144320
untyped_thing 7
`;

Deno.test("parseExposition() reads families, labels, escapes and special values", () => {
  const families = parseExposition(VALID);
  assert.deepEqual([...families.keys()], [
    "http_requests_total",
    "temperature",
    "latency_seconds",
    "untyped_thing",
  ]);
  const requests = families.get("http_requests_total")!;
  assert.equal(requests.type, "counter");
  assert.equal(requests.help, 'Requests \\ with "quotes"\nand a new line.');
  assert.deepEqual(requests.samples[0], {
    name: "http_requests_total",
    labels: { method: "post", code: "200" },
    value: 1027,
    timestamp_ms: 1395066363000,
  });
  assert.equal(
    valueOf(families, "http_requests_total", { method: "post", code: "400" }),
    3,
  );
  assert.equal(
    valueOf(families, "temperature", { room: 'a"b\\c\nd' }),
    -1.5e-3,
  );
  assert.ok(Number.isNaN(valueOf(families, "temperature", { room: "x" })));
  assert.equal(valueOf(families, "temperature", { room: "y" }), Infinity);
  assert.equal(families.get("latency_seconds")!.samples.length, 5);
  assert.equal(
    valueOf(families, "latency_seconds_count", { job: "a" }),
    144320,
  );
  assert.equal(families.get("untyped_thing")!.type, "untyped");
});

const PLANTED: Array<[string, string, RegExp]> = [
  ["a bad metric name", "1abc 1\n", /malformed sample/],
  ["a bad value", "x 1,5\n", /malformed sample/],
  ["an unknown escape", 'x{a="\\t"} 1\n', /malformed sample/],
  ["an unterminated label value", 'x{a="b} 1\n', /malformed sample/],
  ["a reserved label name", 'x{__name__="b"} 1\n', /malformed sample/],
  ["a repeated label", 'x{a="1",a="2"} 1\n', /malformed sample/],
  ["a duplicate series", 'x{a="1"} 1\nx{a="1"} 2\n', /duplicate series/],
  ["a second TYPE", "# TYPE x gauge\n# TYPE x gauge\n", /second TYPE/],
  ["a TYPE after samples", "x 1\n# TYPE x gauge\n", /TYPE after samples/],
  ["an unknown type", "# TYPE x meter\n", /unknown type/],
  ["a split family", 'x 1\ny 1\nx{a="b"} 2\n', /split/],
  ["a negative counter", "# TYPE x_total counter\nx_total -1\n", /below zero/],
  ["a missing final line feed", "x 1", /line feed/],
  [
    "a histogram without +Inf",
    '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n',
    /\+Inf/,
  ],
  [
    "a histogram with decreasing le",
    '# TYPE h histogram\nh_bucket{le="2"} 1\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
    /must increase/,
  ],
  [
    "a histogram with decreasing counts",
    '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
    /must not decrease/,
  ],
  [
    "a histogram whose +Inf is not its count",
    '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n',
    /must equal _count/,
  ],
  [
    "a histogram without _sum",
    '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_count 2\n',
    /_sum and _count/,
  ],
];

for (const [what, text, message] of PLANTED) {
  Deno.test(`parseExposition() rejects ${what}`, () => {
    assert.throws(() => parseExposition(text), (error: unknown) => {
      assert.ok(error instanceof ExpositionError);
      assert.match(error.message, message);
      return true;
    });
  });
}
