/**
 * A debugging aid of `freshet run`: `FRESHET_DEBUG_COMMIT_DELAY_MS=N` makes
 * every Kafka transaction that commits consumer offsets wait N ms between
 * `sendOffsets` and `commit`. The Kafka sink writes a checkpoint's state
 * object before `sendOffsets`, so the wait holds the process in the window
 * where the state is written but not committed, and a line
 * (`event: "debug-commit-delay"`) says when it starts: a test can aim a
 * SIGKILL there. Not for production; read only here, in the CLI.
 *
 * @module
 */

import type { Log, LogTransaction, TransactionalProducer } from "../ports.ts";

/** The environment variable naming the delay. */
export const COMMIT_DELAY_ENV = "FRESHET_DEBUG_COMMIT_DELAY_MS";

/** The delay `FRESHET_DEBUG_COMMIT_DELAY_MS` asks for; 0 when unset. */
export function commitDelayFromEnv(
  env: { get(name: string): string | undefined } = Deno.env,
): number {
  const text = env.get(COMMIT_DELAY_ENV);
  if (text === undefined || text === "") return 0;
  const ms = Number(text);
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw new RangeError(
      `Cannot delay commits as '${COMMIT_DELAY_ENV}' must be a whole number of milliseconds >= 0: current value is '${text}'`,
    );
  }
  return ms;
}

/** Options of {@linkcode withCommitDelay}. */
export interface CommitDelayOptions {
  /** Wait between `sendOffsets` and `commit`. */
  delay_ms: number;
  /** Called as the wait starts, with the transactional id. */
  onDelay: (transactional_id: string) => void;
  /** Default: a timer. */
  sleep?: (ms: number) => Promise<void>;
}

/** `log`, whose transactions that commit offsets wait before committing. */
export function withCommitDelay(log: Log, options: CommitDelayOptions): Log {
  const sleep = options.sleep ??
    ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const delayed = (txn: LogTransaction, id: string): LogTransaction => {
    let offsets = false;
    return {
      produce: (topic, messages) => txn.produce(topic, messages),
      sendOffsets: async (group, commits) => {
        await txn.sendOffsets(group, commits);
        offsets = true;
      },
      commit: async () => {
        if (offsets) {
          options.onDelay(id);
          await sleep(options.delay_ms);
        }
        await txn.commit();
      },
      abort: () => txn.abort(),
    };
  };
  return new Proxy(log, {
    get(target, property) {
      if (property === "transaction") {
        return async (id: string) => delayed(await target.transaction(id), id);
      }
      if (property === "transactionalProducer") {
        return async (id: string): Promise<TransactionalProducer> => {
          const producer = await target.transactionalProducer(id);
          return {
            begin: async () => delayed(await producer.begin(), id),
            close: () => producer.close(),
          };
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
