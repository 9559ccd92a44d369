/**
 * Progress of long work (`produce`, `sim`) on standard error, never on
 * standard output: what a command prints there (and what tests compare, and
 * what jobs write) stays the same. On a terminal, one line redrawn in place
 * (count, percentage and bar when the total is known, rate, ETA); otherwise
 * a plain line every few seconds, which logs and CI output keep readable.
 *
 * @module
 */

/** Options of {@linkcode Progress}. */
export interface ProgressOptions {
  /** What is counted, plural (`"messages"`). */
  unit: string;
  /**
   * Redraw one line in place (a terminal) instead of printing a line every
   * `interval_ms`. Default: whether standard error is a terminal.
   */
  terminal?: boolean;
  /** Time between plain lines (not on a terminal). Default: 5000. */
  interval_ms?: number;
  /** Time between redraws on a terminal. Default: 100. */
  redraw_ms?: number;
  /** Where the text goes. Default: standard error. */
  write?: (text: string) => void;
  /** Milliseconds of a monotonic clock. Default: `performance.now()`. */
  now?: () => number;
}

/** One report of {@linkcode Progress.update}. */
export interface ProgressUpdate {
  /** Items done so far. */
  done: number;
  /** Items in all, when known: gives the percentage and the ETA. */
  total?: number;
  /**
   * Time left, when the work knows it better than the rate does (a run of
   * fixed duration). Default: from the rate and `total`.
   */
  remaining_ms?: number;
}

const encoder = new TextEncoder();

/** Reports the progress of one piece of work; see the module doc. */
export class Progress {
  readonly #label: string;
  readonly #unit: string;
  readonly #terminal: boolean;
  readonly #interval_ms: number;
  readonly #redraw_ms: number;
  readonly #write: (text: string) => void;
  readonly #now: () => number;
  readonly #started: number;
  #last_shown = Number.NEGATIVE_INFINITY;
  #drawn = false;

  constructor(label: string, options: ProgressOptions) {
    this.#label = label;
    this.#unit = options.unit;
    this.#terminal = options.terminal ?? Deno.stderr.isTerminal();
    this.#interval_ms = options.interval_ms ?? 5000;
    this.#redraw_ms = options.redraw_ms ?? 100;
    this.#write = options.write ??
      ((text) => Deno.stderr.writeSync(encoder.encode(text)));
    this.#now = options.now ?? (() => performance.now());
    this.#started = this.#now();
    // Not on a terminal, the first line comes after one interval: short work
    // prints none.
    if (!this.#terminal) this.#last_shown = this.#started;
  }

  /** Reports how far the work got; shown when the last report is old enough. */
  update(update: ProgressUpdate): void {
    const now = this.#now();
    const every = this.#terminal ? this.#redraw_ms : this.#interval_ms;
    if (now - this.#last_shown < every) return;
    this.#last_shown = now;
    const text = formatProgress(
      this.#label,
      this.#unit,
      update,
      now - this.#started,
    );
    if (this.#terminal) {
      this.#write(`\r\x1b[K${text}`);
      this.#drawn = true;
    } else {
      this.#write(`${text}\n`);
    }
  }

  /** The work ended: a terminal's line is cleared, so what follows starts clean. */
  finish(): void {
    if (this.#terminal && this.#drawn) this.#write("\r\x1b[K");
    this.#drawn = false;
  }
}

/**
 * One progress line: `label: 1,200/5,000 messages (24%) [#####---------------],
 * 812 messages/s, ETA 5s`; without a total, the count, the rate and the
 * time elapsed; in the first second, no rate yet.
 */
export function formatProgress(
  label: string,
  unit: string,
  update: ProgressUpdate,
  elapsed_ms: number,
): string {
  const { done, total } = update;
  const rate = elapsed_ms > 0 ? done / (elapsed_ms / 1000) : 0;
  const parts: string[] = [];
  if (total !== undefined && total > 0) {
    const fraction = Math.min(1, done / total);
    const width = 20;
    const filled = Math.round(width * fraction);
    parts.push(
      `${count(done)}/${count(total)} ${unit} (${
        Math.floor(100 * fraction)
      }%) [${"#".repeat(filled)}${"-".repeat(width - filled)}]`,
    );
  } else {
    parts.push(`${count(done)} ${unit}`);
  }
  // A rate measured over less than a second says little (an ETA of a day
  // after the first record): wait for one.
  if (elapsed_ms < 1000) return `${label}: ${parts[0]}`;
  parts.push(`${count(Math.round(rate))} ${unit}/s`);
  const remaining_ms = update.remaining_ms ??
    (total !== undefined && rate > 0
      ? (Math.max(0, total - done) / rate) * 1000
      : undefined);
  parts.push(
    remaining_ms === undefined
      ? `elapsed ${duration(elapsed_ms)}`
      : `ETA ${duration(remaining_ms)}`,
  );
  return `${label}: ${parts.join(", ")}`;
}

function count(n: number): string {
  return n.toLocaleString("en-US");
}

/** `42s`, `3m05s`, `1h02m`. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) {
    return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  }
  return `${Math.floor(s / 3600)}h${
    String(Math.floor((s % 3600) / 60)).padStart(2, "0")
  }m`;
}
