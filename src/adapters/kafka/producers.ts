/**
 * Transactional producers: one per `transaction(id)`, or one per claim
 * (`claim(id)`, the port's `transactionalProducer`) that runs a series of
 * transactions.
 *
 * Every transaction (or claim) gets a new producer, whose InitProducerId claims the id:
 * it fences every older producer of the id, in this process or another (the
 * broker aborts their open transaction, or waits for a commit that already
 * reached the coordinator), and from then on their requests fail with
 * INVALID_PRODUCER_EPOCH. kafkajs offers no way to claim again with a producer
 * it already initialized, so reusing one would let a process with a stale
 * producer of the id be fenced instead of fencing: a `transaction(id)` would
 * not mean the same in the twin and in production. The price is a connection
 * and an InitProducerId per transaction (tens of milliseconds).
 *
 * An open transaction of this process that a newer one fences is told at
 * once, so its next call throws `FencedError` without asking the broker. Its
 * producer is disconnected once the call in flight (if any) has settled.
 *
 * @module
 */

import {
  type Kafka,
  Partitioners,
  type Producer,
  type RetryOptions,
} from "kafkajs";
import type { TransactionalProducer } from "../../ports.ts";
import { fencedError } from "./errors.ts";
import { KafkaTransaction } from "./transaction.ts";
import type { TransactionWrites } from "./visibility.ts";

/** Options of {@linkcode TransactionalProducers}. */
export interface TransactionalProducersOptions {
  retry: RetryOptions;
  /** kafkajs's `transactionTimeout`. */
  transaction_timeout_ms: number;
  /** Waits until what a transaction wrote is readable (after commit or abort). */
  awaitVisible(writes: TransactionWrites): Promise<void>;
  /** The topic's `max.message.bytes` (see `batches.ts`). */
  maxMessageBytes(topic: string): Promise<number>;
}

interface Slot {
  producer: Producer;
  connected: Promise<void>;
  open: KafkaTransaction | null;
  /** A newer producer took over while this one was still beginning. */
  superseded: boolean;
  discarded: boolean;
}

/** Transactional producers by transactional id (see the module doc). */
export class TransactionalProducers {
  readonly #kafka: Kafka;
  readonly #options: TransactionalProducersOptions;
  /** The newest producer of each id, until its transaction ends. */
  readonly #latest = new Map<string, Slot>();
  readonly #disconnecting = new Set<Promise<void>>();

  constructor(kafka: Kafka, options: TransactionalProducersOptions) {
    this.#kafka = kafka;
    this.#options = options;
  }

  /** Begins a transaction of `id` with a new producer (see the module doc). */
  async begin(id: string): Promise<KafkaTransaction> {
    const previous = this.#latest.get(id);
    if (previous !== undefined) {
      previous.superseded = true;
      this.#discard(id, previous, previous.open?.fence());
    }
    const slot = this.#create(id);
    this.#latest.set(id, slot);
    try {
      await slot.connected;
      const begun = await slot.producer.transaction();
      const transaction = new KafkaTransaction(id, begun, {
        onEnd: () => this.#discard(id, slot),
        awaitVisible: this.#options.awaitVisible,
        maxMessageBytes: this.#options.maxMessageBytes,
      });
      slot.open = transaction;
      if (slot.superseded) await transaction.fence();
      return transaction;
    } catch (error) {
      this.#discard(id, slot);
      if (slot.superseded) throw fencedError(id, "begin", error);
      throw error;
    }
  }

  /**
   * Claims `id` with a new producer (its InitProducerId fences every older
   * producer of the id) whose transactions run one after another on it, as
   * Java's `initTransactions` then `beginTransaction`. A producer that ends a
   * transaction badly (fenced, failed, in doubt) is discarded: claim again.
   */
  async claim(id: string): Promise<TransactionalProducer> {
    const previous = this.#latest.get(id);
    if (previous !== undefined) {
      previous.superseded = true;
      this.#discard(id, previous, previous.open?.fence());
    }
    const slot = this.#create(id);
    this.#latest.set(id, slot);
    try {
      await slot.connected;
      // kafkajs sends InitProducerId at a producer's first transaction(),
      // not at connect(): without this, the claim would fence no other
      // process until its first begin(), and a caller reading committed
      // offsets in between could miss an older owner's commit. An empty
      // transaction ends without EndTxn, leaving the producer ready.
      const init = await slot.producer.transaction();
      await init.abort();
    } catch (error) {
      this.#discard(id, slot);
      if (slot.superseded) throw fencedError(id, "claim", error);
      throw error;
    }
    return {
      begin: async () => {
        if (slot.superseded) throw fencedError(id, "begin");
        if (slot.discarded) {
          throw new Error(
            `Cannot begin a transaction of '${id}' as its producer ended a transaction badly: claim the id again`,
          );
        }
        if (slot.open !== null) {
          throw new Error(
            `Cannot begin a transaction of '${id}' as one is open: commit or abort it first`,
          );
        }
        let begun;
        try {
          begun = await slot.producer.transaction();
        } catch (error) {
          this.#discard(id, slot);
          if (slot.superseded) throw fencedError(id, "begin", error);
          throw error;
        }
        const transaction = new KafkaTransaction(id, begun, {
          onEnd: (reusable) => {
            slot.open = null;
            if (!reusable) this.#discard(id, slot);
          },
          awaitVisible: this.#options.awaitVisible,
          maxMessageBytes: this.#options.maxMessageBytes,
        });
        slot.open = transaction;
        return transaction;
      },
      close: () => {
        this.#discard(id, slot);
        return Promise.resolve();
      },
    };
  }

  /** Disconnects every producer (open transactions are left to the broker). */
  async close(): Promise<void> {
    for (const [id, slot] of this.#latest) this.#discard(id, slot);
    await Promise.allSettled([...this.#disconnecting]);
  }

  #create(id: string): Slot {
    const producer = this.#kafka.producer({
      transactionalId: id,
      // Transactional sends are idempotent anyway; `idempotent` would only
      // add a second, non-transactional InitProducerId to connect().
      idempotent: false,
      maxInFlightRequests: 1,
      transactionTimeout: this.#options.transaction_timeout_ms,
      retry: this.#options.retry,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    return {
      producer,
      connected: producer.connect(),
      open: null,
      superseded: false,
      discarded: false,
    };
  }

  /** Forgets `slot` and disconnects its producer once `after` settled. */
  #discard(id: string, slot: Slot, after?: Promise<void>): void {
    if (slot.discarded) return;
    slot.discarded = true;
    if (this.#latest.get(id) === slot) this.#latest.delete(id);
    const disconnecting = Promise.resolve(after)
      .then(() => slot.connected)
      .catch(() => {})
      .then(() => slot.producer.disconnect())
      .catch(() => {})
      .finally(() => this.#disconnecting.delete(disconnecting));
    this.#disconnecting.add(disconnecting);
  }
}
