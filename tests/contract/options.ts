/**
 * What every contract suite accepts besides its `open` function, and the
 * helpers they share.
 *
 * @module
 */

/** Options of the contract suites. */
export interface ContractOptions {
  /** Registers the tests as ignored (e.g. when the real service is not running). Default: false. */
  ignore?: boolean;
  /**
   * Lets Deno's op and resource sanitizers run. Client libraries with
   * background timers may need `false`. Default: true.
   */
  sanitize?: boolean;
}

let counter = 0;

/**
 * A name no other test run uses, so suites can share a real service:
 * `<suite>-<random>-<counter>`, restricted to characters Kafka, Redis and S3
 * all accept.
 */
export function uniqueName(suite: string): string {
  const safe = suite.replace(/[^A-Za-z0-9._-]+/g, "-");
  return `contract-${safe}-${crypto.randomUUID().slice(0, 8)}-${counter++}`;
}

/** `Deno.test` options derived from {@linkcode ContractOptions}. */
export function testOptions(options: ContractOptions): {
  ignore: boolean;
  sanitizeOps: boolean;
  sanitizeResources: boolean;
} {
  const sanitize = options.sanitize ?? true;
  return {
    ignore: options.ignore ?? false,
    sanitizeOps: sanitize,
    sanitizeResources: sanitize,
  };
}
