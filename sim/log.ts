/**
 * Kafka twin: partitioned topics with offsets, transactions with
 * read-committed visibility, and consumer groups with eager rebalances.
 *
 * @module
 */

import type {
  Clock,
  CommittedOffset,
  ConsumerHooks,
  ConsumerOptions,
  Log,
  LogBatch,
  LogConsumer,
  LogMessage,
  LogRecord,
  LogTransaction,
  OffsetCommit,
  TopicPartition,
  TransactionalProducer,
} from "../src/ports.ts";
import {
  type FailMode,
  type FailRule,
  FailureInjector,
  FencedError,
  injectedFailure,
  TransientError,
} from "./errors.ts";
import { compareUtf8 } from "./order.ts";
import {
  type PartitionChooser,
  partitionFor,
  roundRobin,
} from "./partitioner.ts";

export { FencedError, TransientError } from "./errors.ts";

/** Default of {@linkcode ConsumerOptions.maxBatchRecords} in the twin. */
export const DEFAULT_MAX_BATCH_RECORDS = 500;

/**
 * Longest offset metadata a group commit accepts, in UTF-16 code units: Kafka's
 * default `offset.metadata.max.bytes`, which the broker compares with the
 * Java string's `length()`, not its byte count.
 */
export const MAX_OFFSET_METADATA_LENGTH = 4096;

interface Slot {
  record: LogRecord;
  /** `pending` until its transaction ends; plain produces are `visible` at once. */
  state: "visible" | "pending" | "aborted";
}

interface PartitionLog {
  /** By offset; offsets have gaps where transaction markers were written. */
  slots: Slot[];
  next_offset: number;
  /** First offset each open transaction wrote here: they hold back the LSO. */
  open_first_offset: Map<Txn, number>;
}

interface Topic {
  partitions: PartitionLog[];
  /** Spreads null-keyed messages. */
  chooser: PartitionChooser;
}

interface Txn {
  id: string;
  state: "open" | "committed" | "aborted" | "fenced";
  slots: Slot[];
  partitions: Set<PartitionLog>;
  /** Offsets sent with the transaction: committed for their group on commit only. */
  offsets: PendingOffset[];
}

/** A group's committed offset of one partition. */
interface StoredOffset {
  offset: number;
  metadata: string | null;
  /**
   * When the commit was written (a transaction's offsets: when they were
   * sent). Kafka keeps the later-written of two commits of a partition, so a
   * transaction ending after a plain commit it preceded does not overwrite it.
   */
  seq: number;
}

interface PendingOffset extends StoredOffset {
  groupId: string;
  topic: string;
  partition: number;
}

interface Member {
  seq: number;
  group: Group;
  topics: string[];
  hooks: ConsumerHooks;
  max_batch_records: number;
  status: "live" | "closed" | "killed";
  /** Generation for which this member has revoked what it held. */
  synced_generation: number;
  /** Generation whose assignment this member has taken (and `onAssign`ed). */
  assigned_generation: number;
  owned: TopicPartition[];
  /** Next offset to read, by `tpKey`. */
  positions: Map<string, number>;
  /** Where the fair rotation over `owned` resumes. */
  cursor: number;
}

interface Group {
  id: string;
  /** Live members in join order. */
  members: Member[];
  generation: number;
  assignment_generation: number;
  assignment: Map<Member, TopicPartition[]>;
}

/** Options of {@linkcode LogTwin}. */
export interface LogTwinOptions {
  /** Default record timestamps. */
  clock: Clock;
  /**
   * Injects transient failures: called with `"produce"`,
   * `"transaction.produce"`, `"transaction.sendOffsets"` or
   * `"transaction.commit"` before each such call. Default: never.
   */
  fail?: FailRule;
}

/** Committed records of every topic, for comparing runs. */
export interface LogDump {
  /** Each topic with its partitions' committed records, in offset order. */
  topics: Array<{ topic: string; partitions: LogRecord[][] }>;
}

function tpKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

function firstIndexAtOrAfter(slots: Slot[], offset: number): number {
  let lo = 0;
  let hi = slots.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((slots[mid] as Slot).record.offset < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Last stable offset: nothing at or past it is visible to read-committed readers. */
function lastStableOffset(log: PartitionLog): number {
  let lso = log.next_offset;
  for (const offset of log.open_first_offset.values()) {
    lso = Math.min(lso, offset);
  }
  return lso;
}

/**
 * Range assignment per topic, as Kafka's RangeAssignor: members (in join
 * order) subscribed to a topic get consecutive partition ranges, the first
 * ones one extra when the count does not divide.
 */
function assignRange(
  members: Member[],
  partitionCount: (topic: string) => number,
): Map<Member, TopicPartition[]> {
  const assignment = new Map<Member, TopicPartition[]>(
    members.map((m) => [m, []]),
  );
  const topics = [...new Set(members.flatMap((m) => m.topics))].sort(
    compareUtf8,
  );
  for (const topic of topics) {
    const subscribers = members.filter((m) => m.topics.includes(topic));
    const count = partitionCount(topic);
    const each = Math.floor(count / subscribers.length);
    const extra = count % subscribers.length;
    subscribers.forEach((member, i) => {
      const start = i * each + Math.min(i, extra);
      const size = each + (i < extra ? 1 : 0);
      for (let p = start; p < start + size; p++) {
        (assignment.get(member) as TopicPartition[]).push({
          topic,
          partition: p,
        });
      }
    });
  }
  return assignment;
}

/**
 * A {@linkcode Log} in memory that behaves like Kafka read with
 * `isolation.level=read_committed`:
 *
 * - Records produced in a transaction take their offsets at produce time but
 *   stay invisible until commit and are never visible after abort. Ending a
 *   transaction consumes one offset per partition it wrote (Kafka's control
 *   marker), so offsets are not contiguous. `endOffsets` answers the last
 *   stable offset: an open transaction holds readers back, even past later
 *   plain records.
 * - `transaction(id)` while a transaction with that id is open aborts the open
 *   one; its handle then throws {@linkcode FencedError} on every call.
 * - A transaction call that failed by injection leaves its handle as a failed
 *   kafkajs transaction leaves the Kafka adapter's: `produce`, `sendOffsets`
 *   and `commit` throw from then on. After a failed `produce`/`sendOffsets`,
 *   `abort()` aborts. After a failed `commit` the outcome is unknown to the
 *   caller (`"before"`: still open; `"after"`: committed) and `abort()` does
 *   nothing: the next `transaction(id)` settles it (aborts it if open). A
 *   second `abort()` does nothing; `abort()` after `commit()` throws.
 * - Offsets a transaction sends (`sendOffsets`) become the group's committed
 *   offsets when, and only when, it commits, at the same moment as its
 *   records. A consumer's `commit()` writes the same store (metadata `null`).
 *   Of two commits of one partition the later-written wins: a transaction's
 *   offsets count as written when sent. Empty metadata reads back as `null`
 *   (kafkajs does the same).
 * - Consumer groups rebalance eagerly, like kafkajs. Joining (`consumer()`),
 *   leaving (`close()`, which first revokes), {@linkcode LogTwin.kill} and
 *   creating a subscribed topic start a new generation. As there are no timers,
 *   the rebalance happens inside members' `poll()`: each member first revokes
 *   everything it holds (`onRevoke`); once every live member has done so, the
 *   new range assignment is handed out and each member, at its next `poll()`,
 *   gets `onAssign` and starts from the offsets it answers. Until the last
 *   member has revoked, the others' polls answer `null` — use
 *   {@linkcode LogTwin.rebalancing} to tell that from an exhausted input.
 *   One member must not poll concurrently with itself.
 */
export class LogTwin implements Log {
  #clock: Clock;
  #failures: FailureInjector;
  #topics = new Map<string, Topic>();
  #open = new Map<string, Txn>();
  /** Claims of each transactional id so far: a claim is current while it is the last. */
  #claims = new Map<string, number>();
  #groups = new Map<string, Group>();
  /** Committed offsets by group, then topic, then partition. */
  #committed = new Map<string, Map<string, StoredOffset[]>>();
  #commit_seq = 0;
  #members = new WeakMap<LogConsumer, Member>();
  #seq = 0;

  /**
   * A log with no topics; records produced without a timestamp get
   * `options.clock`'s time.
   */
  constructor(options: LogTwinOptions) {
    this.#clock = options.clock;
    this.#failures = new FailureInjector(options.fail);
  }

  /** Makes the next `n` fallible calls throw a `TransientError` (see `LogTwinOptions.fail`). */
  failNext(n: number, mode: FailMode = "before"): void {
    this.#failures.failNext(n, mode);
  }

  createTopic(topic: string, partitions: number): Promise<void> {
    if (!Number.isInteger(partitions) || partitions < 1) {
      return Promise.reject(
        new RangeError(
          `Cannot create topic '${topic}' as 'partitions' must be a positive integer: current value is ${partitions}`,
        ),
      );
    }
    if (this.#topics.has(topic)) return Promise.resolve();
    this.#topics.set(topic, {
      partitions: Array.from({ length: partitions }, () => ({
        slots: [],
        next_offset: 0,
        open_first_offset: new Map(),
      })),
      chooser: roundRobin(),
    });
    for (const group of this.#groups.values()) {
      if (group.members.some((m) => m.topics.includes(topic))) {
        this.#rebalance(group);
      }
    }
    return Promise.resolve();
  }

  partitionCount(topic: string): Promise<number> {
    return this.#call(() => this.#topic(topic).partitions.length);
  }

  produce(topic: string, messages: LogMessage[]): Promise<void> {
    return this.#fallible("produce", () => {
      this.#append(topic, messages, null);
    });
  }

  transaction(transactionalId: string): Promise<LogTransaction> {
    return this.#begin(transactionalId, this.#claim(transactionalId));
  }

  transactionalProducer(
    transactionalId: string,
  ): Promise<TransactionalProducer> {
    return this.#fallible("transactionalProducer", () => {
      const claim = this.#claim(transactionalId);
      return {
        begin: () => {
          if (this.#claims.get(transactionalId) !== claim) {
            return Promise.reject(
              new FencedError(
                `Cannot begin a transaction of '${transactionalId}' as a newer claim of the id fenced this one`,
              ),
            );
          }
          const open = this.#open.get(transactionalId);
          if (open !== undefined && open.state === "open") {
            return Promise.reject(
              new Error(
                `Cannot begin a transaction of '${transactionalId}' as one is open: commit or abort it first`,
              ),
            );
          }
          return this.#begin(transactionalId, claim);
        },
        close: () => Promise.resolve(),
      };
    });
  }

  /** A new claim of `id`: fences the id's open transaction and older claims. */
  #claim(id: string): number {
    const previous = this.#open.get(id);
    if (previous !== undefined) this.#end(previous, "fenced");
    const claim = (this.#claims.get(id) ?? 0) + 1;
    this.#claims.set(id, claim);
    return claim;
  }

  #begin(transactionalId: string, claim: number): Promise<LogTransaction> {
    const txn: Txn = {
      id: transactionalId,
      state: "open",
      slots: [],
      partitions: new Set(),
      offsets: [],
    };
    this.#open.set(transactionalId, txn);
    // Set when a call failed by injection: the handle is then as unusable as
    // a kafkajs transaction after a failed request (see the class doc).
    let failure: { error: Error; in_commit: boolean } | null = null;
    const usable = (action: string) => {
      if (
        txn.state === "open" && this.#claims.get(transactionalId) !== claim
      ) this.#end(txn, "fenced");
      if (txn.state === "fenced") {
        throw new FencedError(
          `Cannot ${action} transaction '${txn.id}' as a newer transaction with the same id fenced it`,
        );
      }
      if (failure !== null) {
        throw new Error(
          `Cannot ${action} transaction '${txn.id}' as it failed earlier: ${failure.error.message}`,
          { cause: failure.error },
        );
      }
      if (txn.state !== "open") {
        throw new Error(
          `Cannot ${action} transaction '${txn.id}' as it must be open: current state is ${txn.state}`,
        );
      }
    };
    const call = (
      name: string,
      action: string,
      body: () => void,
    ): Promise<void> => {
      try {
        usable(action);
      } catch (error) {
        return Promise.reject(error);
      }
      return this.#fallible(name, body).catch((error) => {
        if (error instanceof TransientError) {
          failure = { error, in_commit: name === "transaction.commit" };
        }
        throw error;
      });
    };
    return Promise.resolve({
      produce: (topic, messages) =>
        call("transaction.produce", "produce in", () => {
          this.#append(topic, messages, txn);
        }),
      sendOffsets: (groupId, offsets) =>
        call("transaction.sendOffsets", "send offsets in", () => {
          const checked = offsets.map((o) => this.#checkOffset(groupId, o));
          for (const o of checked) {
            txn.offsets.push({ ...o, groupId, seq: this.#commit_seq++ });
          }
        }),
      commit: () =>
        call("transaction.commit", "commit", () => {
          this.#end(txn, "committed");
        }),
      abort: () =>
        this.#call(() => {
          if (txn.state === "fenced") usable("abort");
          // In doubt: the next transaction(id) settles it, as in Kafka.
          if (failure?.in_commit || txn.state === "aborted") return;
          if (txn.state === "committed") {
            throw new Error(
              `Cannot abort transaction '${txn.id}' as it has committed`,
            );
          }
          this.#end(txn, "aborted");
        }),
    });
  }

  committedOffsets(
    groupId: string,
    topic: string,
  ): Promise<CommittedOffset[]> {
    return this.#call(() => {
      const stored = this.#committed.get(groupId)?.get(topic) ?? [];
      return this.#topic(topic).partitions.map((_, partition) => {
        const found = stored[partition];
        return found === undefined
          ? { partition, offset: -1, metadata: null }
          : { partition, offset: found.offset, metadata: found.metadata };
      });
    });
  }

  endOffsets(topic: string): Promise<number[]> {
    return this.#call(() =>
      this.#topic(topic).partitions.map(lastStableOffset)
    );
  }

  read(
    topic: string,
    partition: number,
    offset: number,
    max: number,
  ): Promise<LogRecord[]> {
    return this.#call(() => this.#read(topic, partition, offset, max));
  }

  consumer(options: ConsumerOptions): LogConsumer {
    const max_batch_records = options.maxBatchRecords ??
      DEFAULT_MAX_BATCH_RECORDS;
    if (!Number.isInteger(max_batch_records) || max_batch_records < 1) {
      throw new RangeError(
        `Cannot create a consumer as 'maxBatchRecords' must be a positive integer: current value is ${max_batch_records}`,
      );
    }
    let group = this.#groups.get(options.groupId);
    if (group === undefined) {
      group = {
        id: options.groupId,
        members: [],
        generation: 0,
        assignment_generation: 0,
        assignment: new Map(),
      };
      this.#groups.set(options.groupId, group);
    }
    const member: Member = {
      seq: this.#seq++,
      group,
      topics: [...options.topics],
      hooks: options.hooks,
      max_batch_records,
      status: "live",
      synced_generation: -1,
      assigned_generation: -1,
      owned: [],
      positions: new Map(),
      cursor: 0,
    };
    group.members.push(member);
    this.#rebalance(group);
    const consumer: LogConsumer = {
      poll: () => this.#poll(member),
      commit: (offsets) => this.#call(() => this.#commit(member, offsets)),
      close: () => this.#close(member),
    };
    this.#members.set(consumer, member);
    return consumer;
  }

  // ---- twin-only helpers for the simulator and tests ----

  /** Committed records of every topic (topics by name, records by offset). */
  dump(): LogDump {
    const names = [...this.#topics.keys()].sort(compareUtf8);
    return {
      topics: names.map((topic) => ({
        topic,
        partitions: this.#topic(topic).partitions.map((log) =>
          log.slots.filter((s) => s.state === "visible").map((s) => ({
            ...s.record,
          }))
        ),
      })),
    };
  }

  /**
   * Makes `consumer` read `partition` of `topic` again from `offset` (as after
   * a lost commit). The consumer must own the partition.
   */
  rewind(
    consumer: LogConsumer,
    topic: string,
    partition: number,
    offset: number,
  ): void {
    const member = this.#member(consumer);
    const key = tpKey(topic, partition);
    if (!member.positions.has(key)) {
      throw new Error(
        `Cannot rewind as the consumer must own ${topic}/${partition}: it owns ${
          member.owned.map((tp) => `${tp.topic}/${tp.partition}`).join(", ") ||
          "nothing"
        }`,
      );
    }
    this.#checkStart(topic, partition, offset);
    member.positions.set(key, offset);
  }

  /**
   * Removes `consumer` from its group as a crash would: no `onRevoke`; its
   * partitions go to the other members at the next rebalance. Its later calls
   * throw.
   */
  kill(consumer: LogConsumer): void {
    const member = this.#member(consumer);
    if (member.status !== "live") return;
    member.status = "killed";
    this.#leave(member);
  }

  /** True while `groupId` has a rebalance that some live member has not completed. */
  rebalancing(groupId: string): boolean {
    const group = this.#groups.get(groupId);
    if (group === undefined) return false;
    return group.members.some((m) =>
      m.assigned_generation !== group.generation
    );
  }

  /** Partitions `consumer` owns now (after its last completed rebalance). */
  assignment(consumer: LogConsumer): TopicPartition[] {
    return this.#member(consumer).owned.map((tp) => ({ ...tp }));
  }

  // ---- internals ----

  #topic(topic: string): Topic {
    const found = this.#topics.get(topic);
    if (found === undefined) {
      throw new Error(
        `Cannot use topic '${topic}' as it must exist: create it first`,
      );
    }
    return found;
  }

  #partition(topic: string, partition: number): PartitionLog {
    const partitions = this.#topic(topic).partitions;
    const log = Number.isInteger(partition) ? partitions[partition] : undefined;
    if (log === undefined) {
      throw new RangeError(
        `Cannot use partition of topic '${topic}' as 'partition' must be in [0, ${partitions.length}): current value is ${partition}`,
      );
    }
    return log;
  }

  #member(consumer: LogConsumer): Member {
    const member = this.#members.get(consumer);
    if (member === undefined) {
      throw new TypeError(
        "Cannot find the consumer as it must come from this LogTwin",
      );
    }
    return member;
  }

  #call<T>(body: () => T): Promise<T> {
    try {
      return Promise.resolve(body());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #fallible<T>(call: string, body: () => T): Promise<T> {
    const mode = this.#failures.check(call);
    if (mode === "before") {
      return Promise.reject(injectedFailure("LogTwin", call, mode));
    }
    const result = this.#call(body);
    if (mode === "after") {
      return result.then(() =>
        Promise.reject(injectedFailure("LogTwin", call, mode))
      );
    }
    return result;
  }

  #append(topicName: string, messages: LogMessage[], txn: Txn | null): void {
    const topic = this.#topic(topicName);
    // Resolve every partition first so that a bad message appends nothing.
    const targets = messages.map((m) => {
      const partition = m.partition ??
        partitionFor(m.key, topic.partitions.length, topic.chooser);
      return {
        message: m,
        partition,
        log: this.#partition(topicName, partition),
      };
    });
    for (const { message, partition, log } of targets) {
      const slot: Slot = {
        record: {
          topic: topicName,
          partition,
          offset: log.next_offset++,
          key: message.key,
          value: message.value,
          timestamp: message.timestamp ?? this.#clock.now(),
          ...(message.unreadable === undefined
            ? {}
            : { unreadable: message.unreadable }),
        },
        state: txn === null ? "visible" : "pending",
      };
      log.slots.push(slot);
      if (txn !== null) {
        txn.slots.push(slot);
        if (!txn.partitions.has(log)) {
          txn.partitions.add(log);
          log.open_first_offset.set(txn, slot.record.offset);
        }
      }
    }
  }

  #end(txn: Txn, outcome: "committed" | "aborted" | "fenced"): void {
    txn.state = outcome;
    for (const slot of txn.slots) {
      slot.state = outcome === "committed" ? "visible" : "aborted";
    }
    for (const log of txn.partitions) {
      log.open_first_offset.delete(txn);
      log.next_offset++; // the commit/abort marker takes an offset, as in Kafka
    }
    if (outcome === "committed") {
      for (const { groupId, topic, partition, ...stored } of txn.offsets) {
        this.#store(groupId, topic, partition, stored);
      }
    }
    if (this.#open.get(txn.id) === txn) this.#open.delete(txn.id);
  }

  #read(
    topic: string,
    partition: number,
    offset: number,
    max: number,
  ): LogRecord[] {
    const log = this.#partition(topic, partition);
    const lso = lastStableOffset(log);
    const out: LogRecord[] = [];
    for (
      let i = firstIndexAtOrAfter(log.slots, offset);
      i < log.slots.length && out.length < max;
      i++
    ) {
      const slot = log.slots[i] as Slot;
      if (slot.record.offset >= lso) break;
      if (slot.state === "visible") out.push({ ...slot.record });
    }
    return out;
  }

  #checkStart(topic: string, partition: number, offset: number): void {
    const log = this.#partition(topic, partition);
    if (!Number.isInteger(offset) || offset < 0 || offset > log.next_offset) {
      throw new RangeError(
        `Cannot seek ${topic}/${partition} as the offset must be an integer in [0, ${log.next_offset}]: current value is ${offset}`,
      );
    }
  }

  #rebalance(group: Group): void {
    group.generation++;
  }

  #leave(member: Member): void {
    const group = member.group;
    group.members = group.members.filter((m) => m !== member);
    group.assignment.delete(member);
    member.owned = [];
    member.positions.clear();
    this.#rebalance(group);
  }

  #ensureLive(member: Member, action: string): void {
    if (member.status !== "live") {
      throw new Error(
        `Cannot ${action} as the consumer must be in its group: current status is ${member.status}`,
      );
    }
  }

  async #poll(member: Member): Promise<LogBatch | null> {
    this.#ensureLive(member, "poll");
    const group = member.group;
    for (;;) {
      if (member.status !== "live") return null;
      const generation = group.generation;
      if (member.synced_generation !== generation) {
        const lost = member.owned;
        member.owned = [];
        member.positions.clear();
        if (lost.length > 0) await member.hooks.onRevoke(lost);
        if (member.status !== "live") return null;
        member.synced_generation = generation;
        continue;
      }
      if (group.assignment_generation !== generation) {
        if (!group.members.every((m) => m.synced_generation === generation)) {
          return null;
        }
        group.assignment = assignRange(
          group.members,
          (topic) => this.#topics.get(topic)?.partitions.length ?? 0,
        );
        group.assignment_generation = generation;
      }
      if (member.assigned_generation !== generation) {
        const gained = group.assignment.get(member) ?? [];
        member.assigned_generation = generation;
        if (gained.length > 0) {
          const offsets = await member.hooks.onAssign(
            gained.map((tp) => ({ ...tp })),
          );
          if (member.status !== "live") return null;
          if (offsets.length !== gained.length) {
            throw new RangeError(
              `Cannot start consuming as onAssign must answer one offset per partition (${gained.length}): current count is ${offsets.length}`,
            );
          }
          gained.forEach((tp, i) =>
            this.#checkStart(tp.topic, tp.partition, offsets[i] as number)
          );
          member.owned = gained;
          member.cursor = 0;
          gained.forEach((tp, i) =>
            member.positions.set(
              tpKey(tp.topic, tp.partition),
              offsets[i] as number,
            )
          );
        }
        continue;
      }
      break;
    }
    return this.#nextBatch(member);
  }

  #nextBatch(member: Member): LogBatch | null {
    const owned = member.owned;
    for (let k = 0; k < owned.length; k++) {
      const index = (member.cursor + k) % owned.length;
      const { topic, partition } = owned[index] as TopicPartition;
      const key = tpKey(topic, partition);
      const records = this.#read(
        topic,
        partition,
        member.positions.get(key) as number,
        member.max_batch_records,
      );
      const last = records[records.length - 1];
      if (last !== undefined) {
        member.positions.set(key, last.offset + 1);
        member.cursor = index + 1;
        return { topic, partition, records };
      }
    }
    return null;
  }

  #commit(
    member: Member,
    offsets: Array<TopicPartition & { offset: number }>,
  ): void {
    this.#ensureLive(member, "commit");
    const checked = offsets.map((o) => this.#checkOffset(member.group.id, o));
    for (const { topic, partition, offset } of checked) {
      this.#store(member.group.id, topic, partition, {
        offset,
        metadata: null,
        seq: this.#commit_seq++,
      });
    }
  }

  /** Checks one offset to commit before anything is stored; answers it normalized. */
  #checkOffset(groupId: string, commit: OffsetCommit): Required<OffsetCommit> {
    const { topic, partition, offset } = commit;
    this.#partition(topic, partition);
    if (!Number.isInteger(offset) || offset < 0) {
      throw new RangeError(
        `Cannot commit an offset of ${topic}/${partition} for group '${groupId}' as 'offset' must be a non-negative integer: current value is ${offset}`,
      );
    }
    const metadata = commit.metadata ?? null;
    if (metadata !== null && metadata.length > MAX_OFFSET_METADATA_LENGTH) {
      throw new RangeError(
        `Cannot commit an offset of ${topic}/${partition} for group '${groupId}' as 'metadata' must be at most ${MAX_OFFSET_METADATA_LENGTH} UTF-16 code units: current length is ${metadata.length}`,
      );
    }
    return { topic, partition, offset, metadata: metadata || null };
  }

  /** Writes a commit unless a later-written one of the partition is stored. */
  #store(
    groupId: string,
    topic: string,
    partition: number,
    commit: StoredOffset,
  ): void {
    let topics = this.#committed.get(groupId);
    if (topics === undefined) this.#committed.set(groupId, topics = new Map());
    let stored = topics.get(topic);
    if (stored === undefined) topics.set(topic, stored = []);
    const current = stored[partition];
    if (current === undefined || current.seq < commit.seq) {
      stored[partition] = commit;
    }
  }

  async #close(member: Member): Promise<void> {
    if (member.status !== "live") return;
    const lost = member.owned;
    member.owned = [];
    member.positions.clear();
    if (lost.length > 0) await member.hooks.onRevoke(lost);
    if (member.status !== "live") return;
    member.status = "closed";
    this.#leave(member);
  }
}
