import assert from "node:assert/strict";
import fc from "fast-check";
import { KeyedState } from "../../src/core/state.ts";
import { NumberHeap, TimerService } from "../../src/core/timers.ts";

Deno.test("KeyedState without TTL keeps values forever", () => {
  const s = new KeyedState<number>();
  s.set("a", 1, 0);
  assert.equal(s.get("a", 1e15), 1);
  assert.equal(s.expire(1e15), 0);
  assert.equal(s.size(), 1);
});

Deno.test("KeyedState never returns a value once last write + ttl has passed", () => {
  const s = new KeyedState<string>({ ttl_ms: 100 });
  s.set("a", "x", 1000);
  assert.equal(s.get("a", 1099), "x");
  assert.equal(s.get("a", 1100), undefined);
  // reading an expired value removes it
  assert.equal(s.size(), 0);
});

Deno.test("KeyedState TTL restarts on write, not on read (OnCreateAndWrite)", () => {
  const s = new KeyedState<number>({ ttl_ms: 100 });
  s.set("a", 1, 0);
  assert.equal(s.get("a", 90), 1);
  assert.equal(s.get("a", 100), undefined);
  s.set("b", 1, 0);
  s.set("b", 2, 90);
  assert.equal(s.get("b", 189), 2);
  assert.equal(s.get("b", 190), undefined);
});

Deno.test("KeyedState.expire removes expired values and counts them", () => {
  const s = new KeyedState<number>({ ttl_ms: 10 });
  s.set("a", 1, 0);
  s.set("b", 2, 5);
  s.set("c", 3, 20);
  assert.deepEqual(s.keys(), ["a", "b", "c"]);
  assert.deepEqual(s.keys(14), ["b", "c"]);
  assert.equal(s.expire(14), 1);
  assert.deepEqual(s.keys(), ["b", "c"]);
  s.delete("c");
  assert.deepEqual(s.keys(), ["b"]);
});

Deno.test("KeyedState snapshots to JSON with write times, so TTLs survive a restore", () => {
  const s = new KeyedState<Set<string>>({
    ttl_ms: 100,
    encode: (v) => [...v].sort(),
    decode: (d) => new Set(d as string[]),
  });
  s.set("b", new Set(["y", "x"]), 50);
  s.set("a", new Set(["z"]), 0);
  const text = JSON.stringify(s.snapshot());
  assert.deepEqual(JSON.parse(text), {
    entries: [
      { key: "a", value: ["z"], written_ms: 0 },
      { key: "b", value: ["x", "y"], written_ms: 50 },
    ],
  });
  const copy = new KeyedState<Set<string>>({
    ttl_ms: 100,
    decode: (d) => new Set(d as string[]),
  });
  copy.restore(JSON.parse(text));
  assert.equal(copy.get("a", 100), undefined);
  assert.deepEqual(copy.get("b", 100), new Set(["x", "y"]));
  assert.throws(() => copy.restore({}), /must have an 'entries' array/);
  assert.throws(
    () => new KeyedState({ ttl_ms: 0 }),
    /'ttl_ms' must be a positive duration in whole milliseconds: current value is 0/,
  );
});

Deno.test("TimerService pops due timers by timestamp then key, once per (key, timestamp)", () => {
  const t = new TimerService();
  t.register("b", 20);
  t.register("a", 20);
  t.register("a", 20);
  t.register("c", 10);
  t.register("a", 30);
  assert.equal(t.size(), 4);
  assert.equal(t.next(), 10);
  assert.deepEqual(t.due(20), [
    { key: "c", timestamp: 10 },
    { key: "a", timestamp: 20 },
    { key: "b", timestamp: 20 },
  ]);
  assert.deepEqual(t.due(20), []);
  assert.equal(t.size(), 1);
  assert.equal(t.next(), 30);
});

Deno.test("TimerService.delete removes one timer", () => {
  const t = new TimerService();
  t.register("a", 10);
  t.register("b", 10);
  t.register("a", 5);
  t.delete("a", 5);
  t.delete("a", 99);
  assert.equal(t.next(), 10);
  t.delete("a", 10);
  assert.deepEqual(t.due(Infinity), [{ key: "b", timestamp: 10 }]);
  assert.equal(t.next(), undefined);
  assert.equal(t.size(), 0);
});

Deno.test("TimerService restores from a JSON snapshot", () => {
  const t = new TimerService();
  t.register("b", 7);
  t.register("a", 7);
  t.register("z", -3);
  const text = JSON.stringify(t.snapshot());
  assert.deepEqual(JSON.parse(text), {
    timers: [{ key: "z", timestamp: -3 }, { key: "a", timestamp: 7 }, {
      key: "b",
      timestamp: 7,
    }],
  });
  const copy = new TimerService();
  copy.register("old", 1);
  copy.restore(JSON.parse(text));
  assert.equal(copy.size(), 3);
  assert.deepEqual(copy.due(7), JSON.parse(text).timers);
  assert.throws(() => copy.restore(null), /must have a 'timers' array/);
});

Deno.test("TimerService fires exactly the registered, undeleted timers in order", () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({
        del: fc.boolean(),
        key: fc.constantFrom("a", "b", "c"),
        ts: fc.integer({ min: -50, max: 50 }),
      })),
      fc.array(fc.integer({ min: -60, max: 60 })),
      (ops, times) => {
        const t = new TimerService();
        const model = new Set<string>();
        for (const o of ops) {
          const id = JSON.stringify([o.ts, o.key]);
          if (o.del) {
            t.delete(o.key, o.ts);
            model.delete(id);
          } else {
            t.register(o.key, o.ts);
            model.add(id);
          }
        }
        assert.equal(t.size(), model.size);
        const fired: string[] = [];
        for (
          const time of [...times].sort((a, b) => a - b).concat([Infinity])
        ) {
          for (const timer of t.due(time)) {
            fired.push(
              JSON.stringify([timer.timestamp, timer.key]),
            );
          }
        }
        const expected = [...model].sort((x, y) => {
          const [tx, kx] = JSON.parse(x);
          const [ty, ky] = JSON.parse(y);
          return tx - ty || (kx < ky ? -1 : kx > ky ? 1 : 0);
        });
        assert.deepEqual(fired, expected);
      },
    ),
  );
});

Deno.test("NumberHeap pops numbers in ascending order", () => {
  fc.assert(
    fc.property(fc.array(fc.integer()), (xs) => {
      const h = new NumberHeap();
      for (const x of xs) h.push(x);
      const popped: number[] = [];
      for (let v = h.pop(); v !== undefined; v = h.pop()) popped.push(v);
      assert.deepEqual(popped, [...xs].sort((a, b) => a - b));
    }),
  );
});
