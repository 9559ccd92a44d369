/**
 * A batch of key-value writes that combines commands as they come, so many
 * increments of one key in a batch become one command ("aggregate before
 * writing"). Combining never changes what the batch leaves in the store:
 *
 * - a run of `incrby` on a key is one `incrby` of the sum;
 * - a run of `zincrby`/`zadd` on a key is one command per member: `zadd s`
 *   then `zincrby d` is `zadd s + d`, `zincrby` then `zadd s` is `zadd s`;
 * - a run of `hset` on a key keeps the last value per field;
 * - `pexpire` with a positive time commutes with those once the key exists
 *   (they never clear a TTL), so within a run it moves to the end and the
 *   last one wins; one given before any write of the run stays first (it
 *   applies to what the store holds), and one right after a `del` is
 *   dropped (the key is missing then);
 * - `set`, `del` and `pexpire` of a non-positive time replace everything the
 *   batch did to the key before (a `del` makes earlier writes to the key
 *   dead), and start a new run;
 * - `zremrangebyscore` removes members whatever wrote them, and may empty
 *   (delete) the set and its TTL, so it commutes with little: when every
 *   member the run writes is a `zadd` whose score lies outside its range,
 *   it is dropped after a `del` (it would remove nothing), and moves to the
 *   start of the run (merged with a removal already there when their
 *   ranges overlap) when the run writes no member or sets a TTL after its
 *   writes (else emptying the set earlier could drop the key's TTL).
 *   Otherwise it starts a new run of the key. A sorted set trimmed as it
 *   grows (`zadd` of the new score, `pexpire`, then removal of the old
 *   scores) stays one run: one removal, one `zadd` per member, one
 *   `pexpire`.
 *
 * Keys keep the order in which the batch first touched them.
 *
 * @module
 */

import type { KvOp } from "../ports.ts";

/** The writes of one run of commuting commands on one key. */
interface Run {
  /**
   * What the run starts with: the key replaced (`del`, or `set` of a
   * value), or members removed by score (`zremrangebyscore`).
   */
  reset:
    | { op: "del" }
    | { op: "set"; value: string }
    | { op: "zremrangebyscore"; min: number; max: number }
    | null;
  /** Sum of the run's `incrby` (null: none; an `INCRBY 0` still creates the key). */
  incr: number | null;
  /** `pexpire` given before any write of the run. */
  lead_ttl_ms: number | null;
  /** Member → score to add, or score to set. */
  members: Map<string, { add: boolean; score: number }> | null;
  fields: Map<string, string> | null;
  ttl_ms: number | null;
}

function newRun(reset: Run["reset"]): Run {
  return {
    reset,
    incr: null,
    lead_ttl_ms: null,
    members: null,
    fields: null,
    ttl_ms: null,
  };
}

/** Key-value writes of one batch, combined as described in the module doc. */
export class KvBatch {
  /** Each key's runs, in order; only the last one takes new commands. */
  #runs = new Map<string, Run[]>();
  #count = 0;

  /** Adds `by` to the integer at `key` (Redis `INCRBY`). */
  incrby(key: string, by: number): void {
    const run = this.#run(key);
    run.incr = (run.incr ?? 0) + by;
  }

  /** Adds `by` to `member`'s score in the sorted set `key` (`ZINCRBY`). */
  zincrby(key: string, member: string, by: number): void {
    const members = this.#members(key);
    const current = members.get(member);
    if (current === undefined) members.set(member, { add: true, score: by });
    else current.score += by;
  }

  /** Sets `member`'s score in the sorted set `key` (`ZADD`). */
  zadd(key: string, member: string, score: number): void {
    this.#members(key).set(member, { add: false, score });
  }

  /**
   * Removes the members of the sorted set `key` whose score is in
   * `[min, max]` (`ZREMRANGEBYSCORE`; infinities allowed).
   */
  zremrangebyscore(key: string, min: number, max: number): void {
    const run = this.#run(key);
    const members = [...(run.members?.values() ?? [])];
    const reset = run.reset;
    const zsetOnly = run.incr === null && run.fields === null &&
      reset?.op !== "set";
    // Members the removal cannot touch: set to a score outside its range.
    const untouched = members.every(({ add, score }) =>
      !add && (score < min || score > max)
    );
    // After a del the set holds only the run's members.
    if (zsetOnly && untouched && reset?.op === "del") return;
    // Moved before the members, the removal may empty the set where it
    // would not have, dropping the TTL the key had: only when the run sets
    // one itself after its writes.
    const movable = zsetOnly && untouched &&
      (members.length === 0 || run.ttl_ms !== null);
    if (movable && reset === null) {
      run.reset = { op: "zremrangebyscore", min, max };
      return;
    }
    if (
      movable && reset?.op === "zremrangebyscore" &&
      reset.min <= max && min <= reset.max
    ) {
      reset.min = Math.min(reset.min, min);
      reset.max = Math.max(reset.max, max);
      return;
    }
    this.#runs.get(key)!.push(newRun({ op: "zremrangebyscore", min, max }));
  }

  /** Sets field `field` of the hash `key` (`HSET`). */
  hset(key: string, field: string, value: string): void {
    const run = this.#run(key);
    (run.fields ??= new Map()).set(field, value);
  }

  /** Replaces `key` with a string (`SET`, which also clears its TTL). */
  set(key: string, value: string): void {
    this.#reset(key, { op: "set", value });
  }

  /** Deletes `key` (`DEL`). */
  del(key: string): void {
    this.#reset(key, { op: "del" });
  }

  /** Expires `key` `ms` milliseconds after the write (`PEXPIRE`); ≤ 0 deletes it. */
  pexpire(key: string, ms: number): void {
    if (ms <= 0) {
      this.del(key);
      return;
    }
    const run = this.#run(key);
    const exists = run.reset?.op === "set" || run.incr !== null ||
      run.members !== null || run.fields !== null;
    if (exists) run.ttl_ms = ms;
    // Right after a `del` the key is missing: PEXPIRE does nothing.
    else if (run.reset?.op !== "del") run.lead_ttl_ms = ms;
  }

  /** Whether the batch writes nothing. */
  isEmpty(): boolean {
    return this.#runs.size === 0;
  }

  /** Commands given so far (before combining), for metrics. */
  commandsGiven(): number {
    return this.#count;
  }

  /** The combined writes, keys in first-touched order. */
  ops(): KvOp[] {
    const ops: KvOp[] = [];
    for (const [key, runs] of this.#runs) {
      for (const run of runs) pushRun(ops, key, run);
    }
    return ops;
  }

  /** The last run of `key`, made when the batch has none. */
  #run(key: string): Run {
    this.#count++;
    let runs = this.#runs.get(key);
    if (runs === undefined) {
      runs = [newRun(null)];
      this.#runs.set(key, runs);
    }
    return runs[runs.length - 1]!;
  }

  #members(key: string): Map<string, { add: boolean; score: number }> {
    const run = this.#run(key);
    return run.members ??= new Map();
  }

  #reset(key: string, reset: Run["reset"]): void {
    this.#count++;
    // Earlier writes to the key are dead; the key moves to the end so that
    // its writes still follow those of keys touched before.
    this.#runs.delete(key);
    this.#runs.set(key, [newRun(reset)]);
  }
}

/** Appends the commands of one run of `key`. */
function pushRun(ops: KvOp[], key: string, run: Run): void {
  const reset = run.reset;
  if (reset?.op === "del") ops.push({ op: "del", key });
  if (reset?.op === "set") ops.push({ op: "set", key, value: reset.value });
  if (reset?.op === "zremrangebyscore") {
    ops.push({ op: "zremrangebyscore", key, min: reset.min, max: reset.max });
  }
  if (run.lead_ttl_ms !== null) {
    ops.push({ op: "pexpire", key, ms: run.lead_ttl_ms });
  }
  if (run.incr !== null) ops.push({ op: "incrby", key, by: run.incr });
  if (run.members !== null) {
    for (const [member, { add, score }] of run.members) {
      ops.push(
        add
          ? { op: "zincrby", key, member, by: score }
          : { op: "zadd", key, member, score },
      );
    }
  }
  if (run.fields !== null) {
    for (const [field, value] of run.fields) {
      ops.push({ op: "hset", key, field, value });
    }
  }
  if (run.ttl_ms !== null) ops.push({ op: "pexpire", key, ms: run.ttl_ms });
}
