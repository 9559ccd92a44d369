/**
 * The in-flight budget of `POST /track`: how many events and bytes may be
 * held between arriving and being acknowledged by the log. Request bodies
 * reserve bytes as they are read, and events once parsed; both are released
 * when the request is answered. A request that would overdraw the budget is
 * answered 503 at once, so memory stays bounded whatever the load.
 *
 * @module
 */

/** Options of {@linkcode InFlightBudget}. */
export interface InFlightBudgetOptions {
  /** Most events held at once, parsed and not yet acknowledged. */
  events_max: number;
  /** Most body bytes held at once, from the first byte read to the answer. */
  bytes_max: number;
}

/** Counts events and bytes in flight against fixed maxima. */
export class InFlightBudget {
  readonly events_max: number;
  readonly bytes_max: number;
  #events = 0;
  #bytes = 0;

  constructor(options: InFlightBudgetOptions) {
    for (const [name, value] of Object.entries(options)) {
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new RangeError(
          `Cannot create the in-flight budget as '${name}' must be a positive integer: current value is ${value}`,
        );
      }
    }
    this.events_max = options.events_max;
    this.bytes_max = options.bytes_max;
  }

  /** Events held now. */
  get events(): number {
    return this.#events;
  }

  /** Bytes held now. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Takes `bytes` when they fit and answers whether they did. */
  tryBytes(bytes: number): boolean {
    if (this.#bytes + bytes > this.bytes_max) return false;
    this.#bytes += bytes;
    return true;
  }

  /** Takes `events` when they fit and answers whether they did. */
  tryEvents(events: number): boolean {
    if (this.#events + events > this.events_max) return false;
    this.#events += events;
    return true;
  }

  /** Gives back what a request took. */
  release(events: number, bytes: number): void {
    this.#events -= events;
    this.#bytes -= bytes;
    if (this.#events < 0 || this.#bytes < 0) {
      throw new Error(
        `Cannot release more than was taken from the in-flight budget: now ${this.#events} events and ${this.#bytes} bytes`,
      );
    }
  }
}
