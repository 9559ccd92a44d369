import assert from "node:assert/strict";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { S3ObjectStore } from "../../src/adapters/s3.ts";
import { integration, S3, S3_SETTINGS, uniqueName } from "./services.ts";

function open(maxKeys?: number, prefix = `${uniqueName("test-s3")}/`) {
  const { endpoint, bucket, region, accessKeyId, secretAccessKey } =
    S3_SETTINGS;
  return new S3ObjectStore({
    endpoint,
    bucket,
    region,
    credentials: { accessKeyId, secretAccessKey },
    prefix,
    ...(maxKeys === undefined ? {} : { maxKeys }),
  });
}

/** The first raw ListObjectsV2 page, to show the server really paginates. */
async function firstPage(prefix: string, maxKeys: number) {
  const { endpoint, region, accessKeyId, secretAccessKey, bucket } =
    S3_SETTINGS;
  const client = new S3Client({
    endpoint,
    region,
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
  });
  try {
    const page = await client.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        MaxKeys: maxKeys,
      }),
    );
    return {
      truncated: page.IsTruncated === true,
      count: page.Contents?.length ?? 0,
    };
  } finally {
    client.destroy();
  }
}

await integration(
  "S3ObjectStore.list() follows continuation tokens across pages",
  [S3],
  async () => {
    const prefix = `${uniqueName("test-s3")}/`;
    const store = open(10, prefix);
    const keys = Array.from(
      { length: 25 },
      (_, i) => `page/${String(i).padStart(2, "0")}.json`,
    );
    try {
      await Promise.all(
        keys.map((key) => store.put(key, new TextEncoder().encode(key))),
      );
      await store.put("other/x", new Uint8Array([1]));
      assert.deepEqual(await firstPage(prefix, 10), {
        truncated: true,
        count: 10,
      });
      assert.deepEqual(await store.list("page/"), keys);
      assert.equal((await store.list("")).length, 26);
    } finally {
      await Promise.all([...keys, "other/x"].map((key) => store.delete(key)));
      await store.close();
    }
  },
);

await integration(
  "S3ObjectStore stores bytes as given, answers null for a missing key and deletes idempotently",
  [S3],
  async () => {
    const store = open();
    try {
      const bytes = new Uint8Array([0, 255, 10, 13, 128, 7]);
      await store.put("bin/a", bytes);
      assert.deepEqual(await store.get("bin/a"), bytes);
      await store.put("bin/empty", new Uint8Array());
      assert.deepEqual(await store.get("bin/empty"), new Uint8Array());
      assert.equal(await store.get("bin/missing"), null);
      await store.delete("bin/a");
      await store.delete("bin/a");
      assert.equal(await store.get("bin/a"), null);
      assert.deepEqual(await store.list("bin/"), ["bin/empty"]);
      await store.delete("bin/empty");
    } finally {
      await store.close();
    }
  },
);

await integration(
  "S3ObjectStore.get() reports a missing bucket instead of answering null",
  [S3],
  async () => {
    const { endpoint, region, accessKeyId, secretAccessKey } = S3_SETTINGS;
    const store = new S3ObjectStore({
      endpoint,
      bucket: uniqueName("no-such-bucket").toLowerCase().slice(0, 40),
      region,
      credentials: { accessKeyId, secretAccessKey },
    });
    try {
      await assert.rejects(() => store.get("x"));
    } finally {
      await store.close();
    }
  },
);

await integration(
  "S3ObjectStore errors name the bucket and key and never carry the secret",
  [S3],
  async () => {
    const { endpoint, bucket, region, accessKeyId } = S3_SETTINGS;
    const secret = "wrong-secret-for-this-test-0123456789";
    const prefix = `${uniqueName("test-s3")}/`;
    const store = new S3ObjectStore({
      endpoint,
      bucket,
      region,
      credentials: { accessKeyId, secretAccessKey: secret },
      prefix,
    });
    try {
      const calls: Array<[string, () => Promise<unknown>, string]> = [
        [
          "put",
          () => store.put("a b=c.json", new Uint8Array([1])),
          "a b=c.json",
        ],
        ["putIfAbsent", () => store.putIfAbsent("k", new Uint8Array([1])), "k"],
        ["copy", () => store.copy("from", "to"), "from"],
        ["get", () => store.get("k"), "k"],
        ["list", () => store.list("dir/"), "dir/"],
        ["delete", () => store.delete("k"), "k"],
      ];
      for (const [call, run, key] of calls) {
        const error = await run().then(
          () => assert.fail(`${call} must reject with a wrong secret`),
          (error: Error) => error,
        );
        assert.ok(
          error.message.includes(`'s3://${bucket}/${prefix}${key}'`),
          `${call}: ${error.message}`,
        );
        assert.match(error.message, /SignatureDoesNotMatch/);
        assert.ok(
          !Deno.inspect(error, { depth: 10 }).includes(secret),
          `${call}: the error must not carry the secret`,
        );
      }
    } finally {
      await store.close();
    }
  },
);
