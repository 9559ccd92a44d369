import assert from "node:assert/strict";
import { jsonLines } from "../../src/sinks/file_format.ts";

Deno.test("jsonLines() writes each record on its own line and stages records as they are", () => {
  const format = jsonLines();
  assert.equal(format.extension, "jsonl");
  assert.equal(
    new TextDecoder().decode(format.encode(['{"a":1}', '{"b":"é"}'])),
    '{"a":1}\n{"b":"é"}\n',
  );
  assert.equal(format.encode([]).length, 0);
  assert.equal(format.size('{"b":"é"}'), 11);
  assert.equal(format.unstage(format.stage('{"a":1}')), '{"a":1}');
  assert.throws(() => format.size('{"a":\r1}'), /without line breaks/);
});
