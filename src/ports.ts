/**
 * The ports every service adapter implements. Jobs and the runtime speak only
 * to these interfaces; production passes adapters (`src/adapters/`), the
 * simulator passes twins (`sim/`). A contract test suite per port
 * (`tests/contract/`) runs against both, so a twin that disagrees with the real
 * service fails a test.
 *
 * @module
 */

/**
 * A newer owner took over what this writer writes to (a fence epoch, a
 * transactional id, a checkpoint sequence): the writer must stop. Thrown by
 * every adapter and twin, so callers test `instanceof FencedError`, never a
 * message.
 */
export class FencedError extends Error {
  /** `"FencedError"`, so logs name the kind of failure. */
  override name = "FencedError";
}

/** Processing time. Production uses the wall clock; the simulator a virtual one. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves once `ms` milliseconds of this clock's time have passed. */
  sleep(ms: number): Promise<void>;
}

/** A record as stored in a log partition. */
export interface LogRecord {
  /** Topic the record was read from. */
  topic: string;
  /** Partition of `topic`, from 0. */
  partition: number;
  /** Position in the partition: increasing, with gaps where transaction markers or compacted records were. */
  offset: number;
  /** The key as UTF-8 text, or `null` when the producer gave none. */
  key: string | null;
  /** The value as UTF-8 text; `""` for a tombstone (see `unreadable`). */
  value: string;
  /** Append (or producer) time in epoch milliseconds. */
  timestamp: number;
  /**
   * Set when the record's bytes are not text a parser may be given; absent
   * for every ordinary record. The runtime dead-letters such a record with
   * the reason, before parsing (so jobs never see it).
   */
  unreadable?: Unreadable;
}

/**
 * Why a record cannot be read as text: `"tombstone"`, a null value (Kafka's
 * delete marker; `value` is `""`, yet the record is not an empty message);
 * `"invalid-utf8-key"` or `"invalid-utf8-value"`, bytes that are not UTF-8
 * (`key`/`value` then hold them decoded with U+FFFD, so different bytes could
 * read the same: such a record is never counted as another's equal).
 */
export type Unreadable =
  | "tombstone"
  | "invalid-utf8-key"
  | "invalid-utf8-value";

/** A record to append. Without `partition`, the log picks one from the key. */
export interface LogMessage {
  /** Key, which also picks the partition when `partition` is absent; `null` for none. */
  key: string | null;
  /** The value as UTF-8 text. */
  value: string;
  /** Partition to append to. Default: chosen from the key (Kafka's default partitioner). */
  partition?: number;
  /** Record time in epoch milliseconds. Default: the producer's clock at the append. */
  timestamp?: number;
  /**
   * `"tombstone"` appends a null value (`value` must be `""`). The other
   * kinds exist for twins, to replay records as an adapter read them; the
   * Kafka adapter refuses them (it has no bytes to write). Default: none.
   */
  unreadable?: Unreadable;
}

/** A (topic, partition) pair. */
export interface TopicPartition {
  /** Topic name. */
  topic: string;
  /** Partition of `topic`, from 0. */
  partition: number;
}

/** Records handed to a task at once: all from one partition, in offset order. */
export interface LogBatch {
  /** Topic of every record. */
  topic: string;
  /** Partition of every record. */
  partition: number;
  /** The records, by ascending offset. */
  records: LogRecord[];
}

/** What a consumer tells its owner about partition ownership. */
export interface ConsumerHooks {
  /**
   * Partitions this consumer is about to lose. The owner checkpoints them;
   * no batch of these partitions is delivered after this resolves.
   */
  onRevoke(partitions: TopicPartition[]): Promise<void>;
  /**
   * Partitions this consumer now owns. The owner restores them and answers,
   * per partition, the next offset to read (the consumer seeks there).
   */
  onAssign(partitions: TopicPartition[]): Promise<number[]>;
}

/** Options of {@linkcode Log.consumer}. */
export interface ConsumerOptions {
  /** Consumer group: partitions of `topics` are shared among its members. */
  groupId: string;
  /** Topics to consume; each must exist. */
  topics: string[];
  /** Called as partitions are revoked and assigned, before any batch of an assigned partition. */
  hooks: ConsumerHooks;
  /** Largest batch handed out by one poll. Default: adapter-specific. */
  maxBatchRecords?: number;
}

/** A member of a consumer group. */
export interface LogConsumer {
  /**
   * The next batch of committed records from a partition this consumer owns,
   * or `null` when none arrived (production: within a short wait; simulation:
   * when the input is exhausted).
   */
  poll(): Promise<LogBatch | null>;
  /** Records progress in the group (informational: checkpoints are the truth). */
  commit(offsets: Array<TopicPartition & { offset: number }>): Promise<void>;
  /** Leaves the group. */
  close(): Promise<void>;
}

/** A consumer group's offset to commit, as Kafka's `OffsetCommit`. */
export interface OffsetCommit {
  /** Topic whose offset the group commits. */
  topic: string;
  /** Partition of `topic`. */
  partition: number;
  /** The next offset to read (last handled offset + 1). */
  offset: number;
  /** Travels with the offset and comes back from `committedOffsets`. Default: none. */
  metadata?: string | null;
}

/** A committed offset of a consumer group, per partition. */
export interface CommittedOffset {
  /** Partition of the topic asked about. */
  partition: number;
  /** Next offset to read; -1 when the group committed nothing for the partition. */
  offset: number;
  /** What was committed with it, or `null`. */
  metadata: string | null;
}

/**
 * An open log transaction: its records, and the offsets sent with it, become
 * visible together on commit, or never. A newer transaction with the same
 * transactional id fences it: every later call throws {@linkcode FencedError}.
 */
export interface LogTransaction {
  /**
   * Appends messages as part of this transaction: readers that read
   * committed records see them only after {@linkcode LogTransaction.commit}.
   */
  produce(topic: string, messages: LogMessage[]): Promise<void>;
  /**
   * Commits `offsets` for consumer group `groupId` as part of this
   * transaction (Kafka's `sendOffsetsToTransaction`).
   */
  sendOffsets(groupId: string, offsets: OffsetCommit[]): Promise<void>;
  /**
   * Makes the records and offsets visible, atomically. Rejects with
   * {@linkcode FencedError} when a newer claim of the id exists; any other
   * rejection leaves it unknown whether the commit happened (read the
   * committed offsets to learn it).
   */
  commit(): Promise<void>;
  /** Discards the records and offsets: they never become visible. */
  abort(): Promise<void>;
}

/**
 * A claim of a transactional id (Kafka's `initTransactions`): it fenced
 * every older claim of the id (their open transaction was aborted, their
 * later calls throw {@linkcode FencedError}). Its transactions run one at a
 * time; a newer claim fences them too.
 */
export interface TransactionalProducer {
  /** Begins the next transaction; rejects with `FencedError` once a newer claim exists. */
  begin(): Promise<LogTransaction>;
  /** Lets go of the claim (an open transaction is left to be aborted). */
  close(): Promise<void>;
}

/** A partitioned, append-only log (Kafka). */
export interface Log {
  /** Creates the topic when missing; an existing topic is left as it is. */
  createTopic(topic: string, partitions: number): Promise<void>;
  /** Number of partitions of an existing topic. */
  partitionCount(topic: string): Promise<number>;
  /** Appends messages (at least once; no transaction). */
  produce(topic: string, messages: LogMessage[]): Promise<void>;
  /**
   * Starts a transaction. A later transaction with the same id fences this
   * one: its commit fails and its records never become visible. (A claim and
   * one transaction: see {@linkcode transactionalProducer}.)
   */
  transaction(transactionalId: string): Promise<LogTransaction>;
  /**
   * Claims a transactional id for a series of transactions, fencing every
   * older claim of it, in this process or another.
   */
  transactionalProducer(
    transactionalId: string,
  ): Promise<TransactionalProducer>;
  /** Offset after the last committed record, per partition. */
  endOffsets(topic: string): Promise<number[]>;
  /** Reads committed records of one partition from `offset`, at most `max`. */
  read(
    topic: string,
    partition: number,
    offset: number,
    max: number,
  ): Promise<LogRecord[]>;
  /** Joins a consumer group. */
  consumer(options: ConsumerOptions): LogConsumer;
  /**
   * Offsets consumer group `groupId` committed for `topic`, one per
   * partition in partition order (offset -1 where none), with metadata.
   */
  committedOffsets(groupId: string, topic: string): Promise<CommittedOffset[]>;
}

/** One write in a key-value batch (the Redis commands the jobs use). */
export type KvOp =
  | { op: "incrby"; key: string; by: number }
  | { op: "zincrby"; key: string; member: string; by: number }
  | { op: "zadd"; key: string; member: string; score: number }
  | { op: "set"; key: string; value: string }
  | { op: "hset"; key: string; field: string; value: string }
  | { op: "del"; key: string }
  /** Expire `ms` milliseconds from now (PEXPIRE). */
  | { op: "pexpire"; key: string; ms: number }
  /**
   * Removes the sorted set's members whose score is in `[min, max]` (both
   * inclusive; `-Infinity`/`Infinity` allowed), as ZREMRANGEBYSCORE; a set
   * left empty is deleted, as Redis does. Nothing happens on a missing key.
   */
  | { op: "zremrangebyscore"; key: string; min: number; max: number };

/** Identifies the writer of a fenced batch: one per (job, input partition). */
export interface Fence {
  /** Key under which the fence's (epoch, offset) is stored. */
  key: string;
  /** The writer's epoch, as {@linkcode KeyValue.claimFence} answered it. */
  epoch: number;
  /**
   * Last input position covered by the batch: a record's offset, or a
   * fractional position between two offsets for a processing-time step
   * (`src/sinks/sink.ts`). Compared as numbers.
   */
  offset: number;
}

/** Outcome of a fenced batch. */
export type FencedResult =
  /** Written, and the fence moved to the batch's offset. */
  | "applied"
  /** The batch's offset is not newer than the stored one: nothing written. */
  | "duplicate"
  /** A newer epoch owns the fence: nothing written; this writer must stop. */
  | "fenced";

/** A sorted-set member and its score. */
export interface ScoredMember {
  /** The member, as stored. */
  member: string;
  /** Its score (a double, as Redis stores it). */
  score: number;
}

/** A key-value store (Redis). */
export interface KeyValue {
  /**
   * Takes ownership of a fence: stores `epoch = stored epoch + 1` and returns
   * it with the stored offset (-1 when none), atomically. From then on batches
   * of older epochs are answered `fenced`.
   */
  claimFence(key: string): Promise<{ epoch: number; offset: number }>;
  /**
   * Applies `ops` in order, atomically, only if `fence.epoch` is the stored
   * epoch (or newer) and `fence.offset` is newer than the stored offset.
   *
   * All or nothing: the batch is checked against a model of the keys it
   * touches before anything is written, and an op that would fail (a wrong
   * type, INCRBY on a non-integer) rejects the whole batch. The model does
   * not follow scores, so after a `zremrangebyscore` of a sorted set it
   * cannot tell whether the set was emptied: a later write of another type
   * to that key in the same batch is rejected (unless a `del` or `set`
   * replaced the key first), although Redis would accept it when the set
   * did become empty.
   */
  applyFenced(fence: Fence, ops: KvOp[]): Promise<FencedResult>;
  /** Applies `ops` in order without a fence (pipelined, not atomic). */
  apply(ops: KvOp[]): Promise<void>;
  /** The string at `key` (GET), or `null` when the key is missing. */
  get(key: string): Promise<string | null>;
  /** Every field of the hash at `key` (HGETALL); `{}` when the key is missing. */
  hgetall(key: string): Promise<Record<string, string>>;
  /** Members by descending score (ties: descending member), ranks `start..stop` inclusive. */
  zrevrange(key: string, start: number, stop: number): Promise<ScoredMember[]>;
  /**
   * Members by ascending score (ties: ascending member), ranks `start..stop`
   * inclusive; a negative rank counts from the end (-1 is the last), as ZRANGE.
   */
  zrange(key: string, start: number, stop: number): Promise<ScoredMember[]>;
  /**
   * Members whose score is in `[min, max]` (both inclusive; `-Infinity` and
   * `Infinity` allowed), by ascending score (ties: ascending member), as
   * ZRANGEBYSCORE. A missing key answers `[]`; `min > max` answers `[]`.
   */
  zrangeByScore(key: string, min: number, max: number): Promise<ScoredMember[]>;
  /** Remaining time to live in ms; -1 without expiry; -2 when the key is missing. */
  pttl(key: string): Promise<number>;
  /** Keys matching a glob pattern (`*` and `?`), sorted. */
  keys(pattern: string): Promise<string[]>;
}

/** An object store (S3). Keys are `/`-separated paths. */
export interface ObjectStore {
  /** Writes the object whole, replacing any object at `key`. */
  put(key: string, body: Uint8Array): Promise<void>;
  /**
   * Creates the object only when `key` does not exist yet (S3's conditional
   * write, `If-None-Match: *`), atomically: of concurrent callers at most
   * one creates it. Answers whether this call created it.
   *
   * A rejection leaves it unknown whether the object was created: the store
   * may have written it and the reply been lost. Retrying then answers
   * `false` although this caller created the object (S3 does the same when
   * a connection drops after the write). A caller that retries must read the
   * object back and compare it with its own body to learn whether it won;
   * bodies that name their writer (an epoch, an id) make that comparison
   * exact.
   */
  putIfAbsent(key: string, body: Uint8Array): Promise<boolean>;
  /**
   * Copies an object within the store, server-side, replacing `to`; `to`
   * appears whole or not at all. A missing `from` is an error. While `from`
   * is unchanged, copying again gives the same result, so a retry after a
   * lost reply is harmless.
   */
  copy(from: string, to: string): Promise<void>;
  /** The object's bytes, or `null` when missing. */
  get(key: string): Promise<Uint8Array | null>;
  /** Keys that start with `prefix`, sorted. */
  list(prefix: string): Promise<string[]>;
  /** Deletes the object; a missing key is not an error. */
  delete(key: string): Promise<void>;
}

/**
 * A row returned by a warehouse query: column name → value. Both the adapter
 * and the twin map PostgreSQL types to the same JavaScript values:
 *
 * | PostgreSQL | JavaScript |
 * |---|---|
 * | smallint, integer, real, double precision, oid | `number` |
 * | bigint | `number` when it is a safe integer, else `bigint` (never rounded) |
 * | numeric | `string`, exactly as PostgreSQL prints it (`"12.50"`) |
 * | timestamptz, timestamp (read as UTC) | `Date`, truncated to milliseconds (`infinity`: `Infinity`) |
 * | date | `string`, `"YYYY-MM-DD"` (a calendar day, not an instant) |
 * | boolean | `boolean` |
 * | json, jsonb | the parsed value |
 * | bytea | `Uint8Array` |
 * | text and every other type | `string` (PostgreSQL's text form) |
 * | NULL | `null` |
 *
 * Parameters may be `string`, `number`, `bigint`, `boolean`, `Date`,
 * `Uint8Array` or `null`; a `number` bound to a timestamptz is epoch
 * milliseconds; a `string` bound to json or jsonb is JSON text, any other
 * value is JSON-encoded. Sessions run with `TimeZone` UTC and `DateStyle` ISO.
 */
export type WarehouseRow = Record<string, unknown>;

/**
 * A statement failed in PostgreSQL. `code` is its SQLSTATE (`"40001"`
 * serialization failure, `"42P01"` undefined table, ...), the same from the
 * adapter and the twin, so callers test codes, never messages.
 */
export class WarehouseError extends Error {
  /** `"WarehouseError"`, so logs name the kind of failure. */
  override name = "WarehouseError";
  /** The five-character SQLSTATE. */
  readonly code: string;

  /** `code` is the statement's SQLSTATE; `options.cause` the driver's error. */
  constructor(message: string, code: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/**
 * A statement broke an integrity constraint (SQLSTATE class 23: unique,
 * primary key, foreign key, not null, check, exclusion). Inside a
 * transaction it dooms the transaction: it rolls back. A ledger with one
 * primary-key row per loaded file relies on it: of two loaders of one file,
 * the loser gets this error (`constraint` names the ledger's key) and
 * nothing of its transaction stays.
 */
export class WarehouseConstraintError extends WarehouseError {
  /** `"WarehouseConstraintError"`, so logs name the kind of failure. */
  override name = "WarehouseConstraintError";
  /** The constraint's name (`"ledger_pkey"`), or `null` when PostgreSQL gives none (not null). */
  readonly constraint: string | null;
  /** The table the constraint belongs to, or `null` when unknown. */
  readonly table: string | null;

  /** `fields` come from PostgreSQL's error report (SQLSTATE, constraint and table names). */
  constructor(
    message: string,
    fields: { code: string; constraint: string | null; table: string | null },
    options?: ErrorOptions,
  ) {
    super(message, fields.code, options);
    this.constraint = fields.constraint;
    this.table = fields.table;
  }
}

/** Statements run inside one warehouse transaction. */
export interface WarehouseTransaction {
  /** Runs one statement with `$1`-style parameters; answers its rows. */
  query(sql: string, params?: readonly unknown[]): Promise<WarehouseRow[]>;
}

/**
 * A relational warehouse (PostgreSQL; the simulator uses PGlite, an embedded
 * PostgreSQL). SQL is PostgreSQL's dialect in both worlds.
 */
export interface Warehouse {
  /** Runs one statement outside any explicit transaction. */
  query(sql: string, params?: readonly unknown[]): Promise<WarehouseRow[]>;
  /**
   * Runs `body` in one transaction: committed when it resolves, rolled back
   * when it throws (the error is rethrown). A statement that failed inside
   * dooms the transaction even when `body` caught its error (PostgreSQL
   * answers COMMIT with ROLLBACK): it rolls back and this rejects with that
   * statement's error, unless `body` rolled back to a savepoint. `tx` must
   * not be used after `body` settles, nor another transaction opened inside
   * `body` (the twin serializes transactions and would wait forever).
   */
  transaction<T>(body: (tx: WarehouseTransaction) => Promise<T>): Promise<T>;
  /** Releases the connections; the warehouse must not be used afterwards. */
  close(): Promise<void>;
}
