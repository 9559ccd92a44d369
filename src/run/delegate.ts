/**
 * Wrapping a port in a few places: {@linkcode delegate} answers an object
 * that is `target` except for the methods given, so a wrapper keeps working
 * when the port's interface grows.
 *
 * @module
 */

/**
 * `target` with some methods replaced; every other property is the
 * target's own (methods bound to it, so private fields keep working).
 */
export function delegate<T extends object>(
  target: T,
  overrides: Partial<T>,
): T {
  return new Proxy(target, {
    get(t, property) {
      if (Object.hasOwn(overrides, property)) {
        return overrides[property as keyof T];
      }
      const value = Reflect.get(t, property, t);
      return typeof value === "function" ? value.bind(t) : value;
    },
  });
}
