import assert from "node:assert/strict";
import { VirtualClock } from "../../sim/clock.ts";

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

Deno.test("VirtualClock starts at its start time and moves only when advanced", () => {
  const clock = new VirtualClock(1_000);
  assert.equal(clock.now(), 1_000);
  clock.advanceBy(250);
  assert.equal(clock.now(), 1_250);
  clock.advanceTo(2_000);
  assert.equal(clock.now(), 2_000);
});

Deno.test("VirtualClock.sleep() resolves only once the clock reaches its due time", async () => {
  const clock = new VirtualClock(0);
  let done = false;
  const sleeping = clock.sleep(100).then(() => (done = true));
  await settle();
  assert.equal(done, false);
  assert.equal(clock.nextTimer(), 100);
  clock.advanceTo(99);
  await settle();
  assert.equal(done, false);
  clock.advanceTo(100);
  await sleeping;
  assert.equal(done, true);
  assert.equal(clock.nextTimer(), undefined);
  assert.equal(clock.pendingTimers(), 0);
});

Deno.test("VirtualClock releases sleepers in (due time, registration) order", async () => {
  const clock = new VirtualClock(0);
  const order: string[] = [];
  const all = [
    clock.sleep(30).then(() => order.push("c30")),
    clock.sleep(10).then(() => order.push("a10")),
    clock.sleep(30).then(() => order.push("d30")),
    clock.sleep(10).then(() => order.push("b10")),
    clock.sleep(50).then(() => order.push("e50")),
  ];
  assert.equal(clock.nextTimer(), 10);
  clock.advanceTo(40);
  await settle();
  assert.deepEqual(order, ["a10", "b10", "c30", "d30"]);
  assert.equal(clock.nextTimer(), 50);
  clock.advanceBy(10);
  await Promise.all(all);
  assert.deepEqual(order, ["a10", "b10", "c30", "d30", "e50"]);
});

Deno.test("VirtualClock.sleep(0) and a negative sleep are released by advancing to now", async () => {
  const clock = new VirtualClock(5);
  const zero = clock.sleep(0);
  const negative = clock.sleep(-10);
  assert.equal(clock.nextTimer(), 5);
  clock.advanceTo(5);
  await Promise.all([zero, negative]);
  assert.equal(clock.now(), 5);
});

Deno.test("VirtualClock refuses to go backwards", () => {
  const clock = new VirtualClock(100);
  assert.throws(() => clock.advanceTo(99), /current value is 99/);
  assert.throws(() => clock.advanceBy(-1), /non-negative duration/);
  assert.equal(clock.now(), 100);
});
