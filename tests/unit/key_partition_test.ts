import assert from "node:assert/strict";
import fc from "fast-check";
import { Partitioners } from "kafkajs";
import { keyPartition, murmur2 } from "../../src/sinks/key_partition.ts";

const utf8 = (text: string) => new TextEncoder().encode(text);

Deno.test("murmur2() matches the Java client's published values", () => {
  // Values of Utils.murmur2 quoted in Kafka's own UtilsTest.
  assert.equal(murmur2(utf8("21")), -973932308);
  assert.equal(murmur2(utf8("foobar")), -790332482);
  assert.equal(murmur2(utf8("a-little-bit-long-string")), -985981536);
  assert.equal(murmur2(utf8("a-little-bit-longer-string")), -1486304829);
  assert.equal(
    murmur2(utf8("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8")),
    -58897971,
  );
  assert.equal(murmur2(utf8("abc")), 479470107);
});

Deno.test("keyPartition() picks the partition kafkajs's DefaultPartitioner picks for any key and count", () => {
  const partitioner = Partitioners.DefaultPartitioner();
  fc.assert(
    fc.property(
      fc.fullUnicodeString({ maxLength: 40 }),
      fc.integer({ min: 1, max: 64 }),
      (key, partitions) => {
        const partitionMetadata = Array.from(
          { length: partitions },
          (_, partitionId) => ({
            partitionId,
            leader: 0,
            partitionErrorCode: 0,
            replicas: [0],
            isr: [0],
            offlineReplicas: [],
          }),
        );
        const theirs = partitioner({
          topic: "t",
          partitionMetadata,
          message: { key, value: "v" },
        });
        assert.equal(keyPartition(key, partitions), theirs);
      },
    ),
    { numRuns: 2_000 },
  );
});

Deno.test("keyPartition() refuses a partition count below 1", () => {
  assert.throws(
    () => keyPartition("k", 0),
    /'partitions' must be a positive integer: current value is 0/,
  );
});
