/**
 * {@linkcode ObjectStore} on S3 or an S3-compatible server (@aws-sdk/client-s3),
 * used both as the checkpoint store and as the output store of file sinks.
 *
 * @module
 */

import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import type { ObjectStore } from "../ports.ts";

/** Options of {@linkcode S3ObjectStore}. */
export interface S3ObjectStoreOptions {
  /** Server URL, e.g. `http://127.0.0.1:9000`. Default: AWS's own endpoint. */
  endpoint?: string;
  bucket: string;
  /** Any string for S3-compatible servers. Default: `"us-east-1"`. */
  region?: string;
  /** Default: the AWS SDK's credential chain (environment, profile, ...). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /**
   * Prepended to every key and stripped from `list()` results, so that several
   * stores share one bucket. Default: `""`.
   */
  prefix?: string;
  /** Keys per ListObjectsV2 page (S3 caps it at 1000). Default: 1000. */
  maxKeys?: number;
  /**
   * Addresses the bucket as a path (`endpoint/bucket/key`), which local
   * servers need. Default: `true`.
   */
  forcePathStyle?: boolean;
}

/** An {@linkcode ObjectStore} in one bucket, optionally under a key prefix. */
export class S3ObjectStore implements ObjectStore {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #maxKeys: number;

  constructor(options: S3ObjectStoreOptions) {
    const maxKeys = options.maxKeys ?? 1000;
    if (!Number.isInteger(maxKeys) || maxKeys < 1 || maxKeys > 1000) {
      throw new Error(
        `Cannot open S3 store as 'maxKeys' must be an integer in 1..1000: current value is ${maxKeys}`,
      );
    }
    this.#client = new S3Client({
      region: options.region ?? "us-east-1",
      forcePathStyle: options.forcePathStyle ?? true,
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      ...(options.credentials === undefined
        ? {}
        : { credentials: options.credentials }),
    });
    this.#bucket = options.bucket;
    this.#prefix = options.prefix ?? "";
    this.#maxKeys = maxKeys;
  }

  async put(key: string, body: Uint8Array): Promise<void> {
    await this.#client.send(
      new PutObjectCommand({
        Bucket: this.#bucket,
        Key: this.#prefix + key,
        Body: body,
      }),
    );
  }

  async putIfAbsent(key: string, body: Uint8Array): Promise<boolean> {
    try {
      await this.#client.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: this.#prefix + key,
          Body: body,
          IfNoneMatch: "*",
        }),
      );
      return true;
    } catch (error) {
      if (statusOf(error) === 412) return false;
      throw error;
    }
  }

  async copy(from: string, to: string): Promise<void> {
    await this.#client.send(
      new CopyObjectCommand({
        Bucket: this.#bucket,
        Key: this.#prefix + to,
        CopySource: copySource(this.#bucket, this.#prefix + from),
      }),
    );
  }

  async get(key: string): Promise<Uint8Array | null> {
    try {
      const reply = await this.#client.send(
        new GetObjectCommand({ Bucket: this.#bucket, Key: this.#prefix + key }),
      );
      if (reply.Body === undefined) return new Uint8Array();
      return await reply.Body.transformToByteArray();
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let continuationToken: string | undefined;
    do {
      const page = await this.#client.send(
        new ListObjectsV2Command({
          Bucket: this.#bucket,
          Prefix: this.#prefix + prefix,
          MaxKeys: this.#maxKeys,
          ...(continuationToken === undefined
            ? {}
            : { ContinuationToken: continuationToken }),
        }),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key !== undefined) {
          keys.push(object.Key.slice(this.#prefix.length));
        }
      }
      continuationToken = page.IsTruncated
        ? page.NextContinuationToken
        : undefined;
    } while (continuationToken !== undefined);
    // S3 lists in UTF-8 byte order; the port promises JavaScript's sort order.
    return keys.sort();
  }

  async delete(key: string): Promise<void> {
    // S3 answers 204 for a missing key too; some compatible servers answer 404.
    try {
      await this.#client.send(
        new DeleteObjectCommand({
          Bucket: this.#bucket,
          Key: this.#prefix + key,
        }),
      );
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  /** Releases the client's sockets. */
  close(): Promise<void> {
    this.#client.destroy();
    return Promise.resolve();
  }
}

function isNotFound(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const { name, $metadata } = error as {
    name?: string;
    $metadata?: { httpStatusCode?: number };
  };
  // A missing bucket is a configuration error, not a missing object.
  if (name === "NoSuchBucket") return false;
  return name === "NoSuchKey" || name === "NotFound" ||
    $metadata?.httpStatusCode === 404;
}

function statusOf(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata
    ?.httpStatusCode;
}

// CopySource is `bucket/key`, URL-encoded except for the key's slashes.
function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;
}
