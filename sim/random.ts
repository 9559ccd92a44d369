/**
 * Seeded randomness for the simulator. Every random choice in `sim/` comes
 * from an {@linkcode Rng}, so a seed fixes the whole run.
 *
 * @module
 */

const UTF8 = new TextEncoder();

/**
 * Hashes a seed text into four well-mixed 32-bit words (four FNV-1a lanes with
 * different bases, each finished with murmur3's avalanche step).
 */
function seedWords(text: string): [number, number, number, number] {
  const bytes = UTF8.encode(text);
  const lanes = [0x811c9dc5, 0x9e3779b9, 0x243f6a88, 0xb7e15162];
  return lanes.map((basis, lane) => {
    let h = (basis ^ lane) >>> 0;
    for (const byte of bytes) h = Math.imul(h ^ byte, 0x01000193);
    h ^= bytes.length;
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return (h ^ (h >>> 16)) >>> 0;
  }) as [number, number, number, number];
}

/**
 * A small, fast pseudo-random generator (sfc32). The same seed yields the same
 * sequence on every machine. A number seed and its decimal text are the same
 * seed (`new Rng(7)` equals `new Rng("7")`).
 */
export class Rng {
  /** The seed text, kept so that {@linkcode Rng.fork} can derive from it. */
  readonly seed: string;
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  /** A generator for `seed`; a number seed is taken as its decimal text. */
  constructor(seed: number | string) {
    this.seed = String(seed);
    [this.#a, this.#b, this.#c, this.#d] = seedWords(this.seed);
    // sfc32's first outputs are correlated with the seed words; burn them.
    for (let i = 0; i < 12; i++) this.#next32();
  }

  #next32(): number {
    const t0 = (this.#a + this.#b) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#d = (this.#d + 1) | 0;
    const t = (t0 + this.#d) | 0;
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** A number in [0, 1). */
  next(): number {
    return this.#next32() / 0x1_0000_0000;
  }

  /** An integer in [0, maxExclusive). */
  int(maxExclusive: number): number {
    if (
      !Number.isInteger(maxExclusive) || maxExclusive < 1 ||
      maxExclusive > 0x1_0000_0000
    ) {
      throw new RangeError(
        `Cannot draw an integer as 'maxExclusive' must be an integer in [1, 2^32]: current value is ${maxExclusive}`,
      );
    }
    return Math.floor(this.next() * maxExclusive);
  }

  /** One element of `xs`, uniformly. */
  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) {
      throw new RangeError(
        "Cannot pick from 'xs' as it must not be empty: current length is 0",
      );
    }
    return xs[this.int(xs.length)] as T;
  }

  /** True with probability `p` (`p <= 0` never, `p >= 1` always). */
  chance(p: number): boolean {
    if (Number.isNaN(p)) {
      throw new RangeError(
        "Cannot draw a chance as 'p' must be a probability: current value is NaN",
      );
    }
    return this.next() < p;
  }

  /**
   * An independent stream derived from this generator's seed and `label` —
   * not from how many numbers were drawn so far, so adding draws in one
   * stream never shifts another. The same label always gives the same
   * stream: put an index in the label to get several.
   */
  fork(label: string): Rng {
    return new Rng(`${this.seed}\u0000${label}`);
  }
}
